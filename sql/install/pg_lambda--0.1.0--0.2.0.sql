/* pg_lambda 0.1.0 -> 0.2.0: continuous (lambda) views */

\echo Use "ALTER EXTENSION pg_lambda UPDATE TO '0.2.0'" to load this file. \quit

-------------------------------------------------------------------------------
-- Catalog: one row per continuous view. The cut says which events the batch
-- table holds: those visible to the snapshot (cut_xmin, cut_xmax, cut_xip),
-- and the speed-layer generations up to cut_generation. cut_origin names the
-- server and database whose transaction ids these are: a restored dump's
-- cut means nothing, and the view is recomputed. Column order is relied on
-- by src/batch.c.
CREATE TABLE lambda_catalog.continuous_view (
    batch_table           regclass PRIMARY KEY,
    view                  regclass NOT NULL UNIQUE,
    speed_table           regclass NOT NULL,
    event_table           regclass NOT NULL,
    definition            text NOT NULL,
    refresh_interval      interval NOT NULL,
    cut_generation        bigint NOT NULL DEFAULT 0,
    cut_xmin              xid8,
    cut_xmax              xid8,
    cut_xip               xid8[],
    last_refresh          timestamptz,
    last_refresh_duration interval,
    last_refresh_mode     text,
    last_refresh_groups   bigint,
    batch_rows            bigint NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
    cut_origin            text
);
REVOKE ALL ON lambda_catalog.continuous_view FROM PUBLIC;
GRANT SELECT ON lambda_catalog.continuous_view TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('lambda_catalog.continuous_view', '');
COMMENT ON TABLE lambda_catalog.continuous_view IS 'pg_lambda: continuous views, their definitions and the batch layer''s cut';

-------------------------------------------------------------------------------
-- Speed layer: the capture trigger, and a foreign data wrapper that reads
-- the shared-memory states.
CREATE FUNCTION lambda_catalog.capture() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'lambda_capture';
COMMENT ON FUNCTION lambda_catalog.capture() IS 'pg_lambda: folds inserted events into the speed layer of a continuous view';

CREATE FUNCTION lambda_catalog.speed_fdw_handler() RETURNS fdw_handler
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_speed_fdw_handler';
CREATE FOREIGN DATA WRAPPER lambda_speed HANDLER lambda_catalog.speed_fdw_handler;
CREATE SERVER lambda_speed FOREIGN DATA WRAPPER lambda_speed;
COMMENT ON SERVER lambda_speed IS 'pg_lambda: the speed layer of continuous views, in shared memory';

-------------------------------------------------------------------------------
-- Merging partial states.
CREATE FUNCTION lambda_catalog.merge_trans(internal, regclass, integer, bytea, anyelement)
    RETURNS internal LANGUAGE c AS 'MODULE_PATHNAME', 'lambda_merge_trans';
CREATE FUNCTION lambda_catalog.merge_final(internal, regclass, integer, bytea, anyelement)
    RETURNS anyelement LANGUAGE c AS 'MODULE_PATHNAME', 'lambda_merge_final';
CREATE AGGREGATE lambda_catalog.merge(regclass, integer, bytea, anyelement) (
    SFUNC = lambda_catalog.merge_trans,
    STYPE = internal,
    FINALFUNC = lambda_catalog.merge_final,
    FINALFUNC_EXTRA,
    FINALFUNC_MODIFY = READ_WRITE
);
COMMENT ON AGGREGATE lambda_catalog.merge(regclass, integer, bytea, anyelement) IS
    'pg_lambda: combines partial states of one aggregate of a continuous view and returns its result';

CREATE FUNCTION lambda_catalog.combine_states(regclass, integer, bytea, bytea)
    RETURNS bytea LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'lambda_combine_states';
COMMENT ON FUNCTION lambda_catalog.combine_states(regclass, integer, bytea, bytea) IS
    'pg_lambda: combines two partial states of one aggregate of a continuous view';
CREATE FUNCTION lambda_catalog.combine_step(bytea, regclass, integer, bytea)
    RETURNS bytea LANGUAGE c IMMUTABLE AS 'MODULE_PATHNAME', 'lambda_combine_step';
CREATE AGGREGATE lambda_catalog.combine_agg(regclass, integer, bytea) (
    SFUNC = lambda_catalog.combine_step,
    STYPE = bytea
);
COMMENT ON AGGREGATE lambda_catalog.combine_agg(regclass, integer, bytea) IS
    'pg_lambda: combines partial states of one aggregate of a continuous view';

-------------------------------------------------------------------------------
-- User-facing functions and views.
CREATE FUNCTION lambda.recompute(view regclass) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_recompute';
COMMENT ON FUNCTION lambda.recompute(regclass) IS
    'pg_lambda: rebuilds the batch layer of a continuous view from all events';

CREATE FUNCTION lambda_catalog.view_dropped(batch_table oid) RETURNS void
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_view_dropped';
REVOKE ALL ON FUNCTION lambda_catalog.view_dropped(oid) FROM PUBLIC;

CREATE FUNCTION lambda_catalog.speed_status(batch_table regclass,
    OUT state text, OUT keys bigint, OUT bytes bigint, OUT generations integer,
    OUT note text, OUT last_apply timestamptz)
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_speed_status';

CREATE VIEW lambda.views AS
    SELECT v.view, v.event_table, v.refresh_interval, v.definition,
           v.batch_table, v.speed_table, v.created_at
      FROM lambda_catalog.continuous_view v;
COMMENT ON VIEW lambda.views IS 'pg_lambda: continuous views and their definitions';
GRANT SELECT ON lambda.views TO PUBLIC;

CREATE VIEW lambda.view_status AS
    SELECT v.view,
           v.event_table,
           s.state,
           s.keys AS speed_keys,
           s.bytes AS speed_bytes,
           s.generations AS speed_generations,
           v.batch_rows,
           v.cut_generation,
           v.last_refresh,
           v.last_refresh + v.refresh_interval AS next_refresh,
           v.last_refresh_duration,
           v.last_refresh_mode,
           v.last_refresh_groups,
           v.refresh_interval,
           s.last_apply AS last_speed_update,
           s.note
      FROM lambda_catalog.continuous_view v,
           LATERAL lambda_catalog.speed_status(v.batch_table) s;
COMMENT ON VIEW lambda.view_status IS 'pg_lambda: per continuous view, the speed layer (keys, bytes, state) and the batch layer (rows, cut, refreshes)';
GRANT SELECT ON lambda.view_status TO PUBLIC;

-------------------------------------------------------------------------------
-- Dropping a continuous view (in any way) drops its batch and speed tables
-- and capture trigger, and frees its speed layer when the transaction
-- commits.
CREATE OR REPLACE FUNCTION lambda_catalog.on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cv record;
    tg record;
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
        -- the capture trigger, on the event table and on each of its partitions
        FOR tg IN
            SELECT t.tgname, t.tgrelid FROM pg_catalog.pg_trigger t
             WHERE t.tgname = ('lambda_capture_' || (SELECT c.relname FROM pg_catalog.pg_class c
                                                      WHERE c.oid = cv.batch))::pg_catalog.name
        LOOP
            EXECUTE pg_catalog.format('DROP TRIGGER %I ON %s', tg.tgname, tg.tgrelid::pg_catalog.regclass);
        END LOOP;
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
