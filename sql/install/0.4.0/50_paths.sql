
-------------------------------------------------------------------------------
-- Every path into an event table reaches its views, and none changes events
-- (src/triggers.c).
--
-- Logical replication's apply workers run with session_replication_role =
-- replica, insert row by row without firing statement triggers, and apply
-- UPDATE, DELETE and TRUNCATE past pg_lambda's executor and utility checks.
-- So each continuous view gets a row-level capture trigger that fires only
-- as replica (the statement-level one now fires only as origin/local, so a
-- row is captured once), and each event table gets append-only guards that
-- fire always. Like capture(), the trigger functions stay executable by
-- everyone, so that a pg_restore run by a table's owner recreates the
-- triggers; capture_row() refuses to fire on anything but its view's event
-- table, and refuse_change() only refuses.
CREATE FUNCTION lambda_catalog.capture_row() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'lambda_capture_row';
COMMENT ON FUNCTION lambda_catalog.capture_row() IS 'pg_lambda: folds each event inserted under session_replication_role = replica (logical replication) into the speed layer of a continuous view';

CREATE FUNCTION lambda_catalog.refuse_change() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'lambda_refuse_change';
COMMENT ON FUNCTION lambda_catalog.refuse_change() IS 'pg_lambda: refuses UPDATE, DELETE and TRUNCATE of an event table by any writer, logical replication included';

-- Capture triggers are found by function and argument, not by name (names
-- derived from long view names used to collide).
CREATE FUNCTION lambda_catalog.drop_capture_triggers(batch_table oid) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_drop_capture_triggers';
COMMENT ON FUNCTION lambda_catalog.drop_capture_triggers(oid) IS 'pg_lambda: drops the capture triggers of a dropped continuous view';
REVOKE ALL ON FUNCTION lambda_catalog.drop_capture_triggers(oid) FROM PUBLIC;

-- For this update, and for databases restored from a dump of an older version.
CREATE FUNCTION lambda_catalog.add_event_table_triggers(event_table regclass) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_add_event_table_triggers';
COMMENT ON FUNCTION lambda_catalog.add_event_table_triggers(regclass) IS 'pg_lambda: gives an event table and its partitions the append-only triggers they lack';
REVOKE ALL ON FUNCTION lambda_catalog.add_event_table_triggers(regclass) FROM PUBLIC;

CREATE FUNCTION lambda_catalog.add_capture_triggers(batch_table regclass) RETURNS boolean
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_add_capture_triggers';
COMMENT ON FUNCTION lambda_catalog.add_capture_triggers(regclass) IS 'pg_lambda: gives a continuous view the capture triggers it lacks; true when a statement-level one was missing (the view needs lambda.recompute)';
REVOKE ALL ON FUNCTION lambda_catalog.add_capture_triggers(regclass) FROM PUBLIC;

-- Dropping a continuous view (in any way) drops its batch and speed tables
-- and capture triggers, and frees its speed layer when the transaction
-- commits.
CREATE OR REPLACE FUNCTION lambda_catalog.on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cv record;
BEGIN
    DELETE FROM lambda_catalog.event_table e
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid = 0
       AND e.relid::pg_catalog.oid = d.objid;
    -- a Kafka source whose target table is gone goes with it (its workers exit)
    DELETE FROM lambda_catalog.source s
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid = 0
       AND s.target::pg_catalog.oid = d.objid;
    FOR cv IN
        DELETE FROM lambda_catalog.continuous_view v
         USING pg_catalog.pg_event_trigger_dropped_objects() d
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
           AND d.objsubid = 0
           AND d.objid IN (v.view::pg_catalog.oid, v.batch_table::pg_catalog.oid,
                           v.speed_table::pg_catalog.oid)
        RETURNING v.view::pg_catalog.oid AS view, v.batch_table::pg_catalog.oid AS batch,
                  v.speed_table::pg_catalog.oid AS speed, v.event_table::pg_catalog.oid AS event
    LOOP
        PERFORM lambda_catalog.view_dropped(cv.batch);
        -- the capture triggers, on the event table and on each of its partitions
        PERFORM lambda_catalog.drop_capture_triggers(cv.batch);
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = cv.view) THEN
            EXECUTE pg_catalog.format('DROP VIEW %s', cv.view::pg_catalog.regclass);
        END IF;
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = cv.speed) THEN
            EXECUTE pg_catalog.format('DROP FOREIGN TABLE %s', cv.speed::pg_catalog.regclass);
        END IF;
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = cv.batch) THEN
            EXECUTE pg_catalog.format('DROP TABLE %s', cv.batch::pg_catalog.regclass);
        END IF;
    END LOOP;
END
$$;

-- Existing event tables get their guards; existing views their row-level
-- capture triggers (and statement-level ones that fire as origin only). A
-- view that lacked its statement-level trigger somewhere (the second of two
-- views whose long names shared their first 48 characters shared the
-- first's trigger) never saw those events: it is recomputed. Inheritance
-- involving an event table, refused from now on, is reported.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT relid FROM lambda_catalog.event_table ORDER BY relid::pg_catalog.oid LOOP
        PERFORM lambda_catalog.add_event_table_triggers(r.relid);
    END LOOP;
    FOR r IN SELECT view, batch_table FROM lambda_catalog.continuous_view
              ORDER BY batch_table::pg_catalog.oid LOOP
        IF lambda_catalog.add_capture_triggers(r.batch_table) THEN
            RAISE WARNING 'continuous view % had no capture trigger of its own and is recomputed', r.view
                USING DETAIL = 'Another view''s capture trigger had its name, so the events inserted since it was created were missing from it.';
            PERFORM lambda.recompute(r.view);
        END IF;
    END LOOP;
    FOR r IN
        SELECT i.inhrelid::pg_catalog.regclass AS child, i.inhparent::pg_catalog.regclass AS parent
          FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
         WHERE NOT c.relispartition
           AND EXISTS (SELECT 1 FROM lambda_catalog.event_table e
                        WHERE e.relid::pg_catalog.oid IN (i.inhrelid, i.inhparent))
         ORDER BY 1, 2
    LOOP
        RAISE WARNING 'table % inherits from table %, and one of them is an event table', r.child, r.parent
            USING DETAIL = 'Rows inserted into an inheritance child never reach the continuous views of its parent, and statements on the parent reach the child.',
                  HINT = 'Move the events into a partitioned event table; table inheritance involving event tables is refused from pg_lambda 0.4.0 on.';
    END LOOP;
END
$$;
