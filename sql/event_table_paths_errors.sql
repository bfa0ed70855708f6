--
-- Event tables and the paths around pg_lambda's checks: table inheritance
-- (refused in both directions; partitions are the supported way), and the
-- append-only triggers that stop writers the checks do not see (logical
-- replication's apply workers), which cannot be disabled or dropped.
--
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
\set SHOW_CONTEXT never

-- a table that takes part in inheritance cannot become an event table
CREATE TABLE parent_ev (id int, ts timestamptz NOT NULL);
CREATE TABLE child_ev () INHERITS (parent_ev);
SELECT lambda.create_event_table('parent_ev', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('child_ev', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS event_tables FROM lambda.event_tables;

-- an event table gets no inheritance children, and does not become one
CREATE TABLE ev (id int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', 'ts');
INSERT INTO ev VALUES (1, '2025-01-01'), (2, '2025-01-02');
CREATE TABLE ev_child () INHERITS (ev);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE ev_child (extra int) INHERITS (parent_ev, ev);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE ev_foreign () INHERITS (ev) SERVER lambda_speed;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE loose (id int, ts timestamptz NOT NULL);
ALTER TABLE loose INHERIT ev;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ev INHERIT parent_ev;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS inheritance_links FROM pg_inherits
 WHERE inhparent = 'ev'::regclass OR inhrelid = 'ev'::regclass;
-- ordinary tables inherit as before
CREATE TABLE child_ev2 () INHERITS (parent_ev);
ALTER TABLE loose INHERIT parent_ev;
SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'parent_ev'::regclass ORDER BY 1;

-- partitioned event tables keep working: partitions are not inheritance children
CREATE TABLE pev (id int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE pev_2025 PARTITION OF pev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT lambda.create_event_table('pev', 'ts');
CREATE TABLE pev_2026 PARTITION OF pev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE pev_2027 (id int, ts timestamptz NOT NULL);
ALTER TABLE pev ATTACH PARTITION pev_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
INSERT INTO pev VALUES (1, '2025-06-01'), (2, '2026-06-01'), (3, '2027-06-01');
SELECT tableoid::regclass, id FROM pev ORDER BY id;
CREATE TABLE pev_child () INHERITS (pev_2025);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- every event table and partition has the append-only triggers, firing
-- for every session_replication_role ('A')
SELECT tgrelid::regclass AS rel, tgname, tgenabled, tgfoid::regproc AS function
  FROM pg_trigger WHERE tgrelid IN ('ev'::regclass, 'pev'::regclass, 'pev_2025'::regclass,
                                    'pev_2026'::regclass, 'pev_2027'::regclass)
 ORDER BY 1, 2;
-- which cannot be dropped, disabled or made to fire for one role only
DROP TRIGGER lambda_append_only ON ev;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TRIGGER lambda_append_only_truncate ON pev_2026;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ev DISABLE TRIGGER lambda_append_only;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ev ENABLE TRIGGER lambda_append_only;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ev ENABLE REPLICA TRIGGER lambda_append_only_truncate;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ev DISABLE TRIGGER ALL;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ev DISABLE TRIGGER USER;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ev ENABLE TRIGGER ALL;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE pev_2027 DISABLE TRIGGER lambda_append_only;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- setting the mode they have (as a pg_dump script does) and renaming are fine
ALTER TABLE ev ENABLE ALWAYS TRIGGER lambda_append_only;
ALTER TRIGGER lambda_append_only_truncate ON ev RENAME TO ev_no_truncate;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'ev'::regclass ORDER BY 1;
-- other triggers are the user's
CREATE FUNCTION ev_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER ev_user BEFORE INSERT ON ev FOR EACH ROW EXECUTE FUNCTION ev_noop();
ALTER TABLE ev DISABLE TRIGGER ev_user;
ALTER TABLE ev ENABLE REPLICA TRIGGER ev_user;
DROP TRIGGER ev_user ON ev;

-- writing as a replica (as logical replication's apply workers do) changes nothing either
SET session_replication_role = replica;
UPDATE ev SET id = 10;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM ev;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE ev;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM pev_2026;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO ev VALUES (3, '2025-01-03');
RESET session_replication_role;
SELECT * FROM ev ORDER BY id;
-- retention still works, through the guards
SELECT lambda.drop_events_before('ev', '2025-01-02');
SELECT lambda.drop_events_before('pev', '2026-01-01', drop_partitions => false);
SELECT * FROM ev ORDER BY id;
SELECT id FROM pev ORDER BY id;

-- the trigger function is pg_lambda's own
SELECT lambda_catalog.refuse_change();
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- a table that is no event table any more (its catalog row gone) keeps
-- inert triggers, which may be dropped
DELETE FROM lambda_catalog.event_table WHERE relid = 'pev'::regclass;
SET session_replication_role = replica;
UPDATE pev SET id = id + 10;
RESET session_replication_role;
SELECT id FROM pev ORDER BY id;
DROP TRIGGER lambda_append_only ON pev_2026;
DROP TRIGGER lambda_append_only_truncate ON pev_2026;
TRUNCATE pev_2026;
SELECT id FROM pev ORDER BY id;

-- DROP EXTENSION still turns event tables back into ordinary tables
DROP TABLE parent_ev, child_ev, child_ev2, loose;
DROP FUNCTION ev_noop();
DROP EXTENSION pg_lambda;
SELECT count(*) AS triggers_left FROM pg_trigger
 WHERE tgrelid IN ('ev'::regclass, 'pev'::regclass, 'pev_2025'::regclass);
UPDATE ev SET id = id + 100;
SELECT * FROM ev ORDER BY id;
DROP TABLE ev, pev;
