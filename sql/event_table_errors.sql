--
-- Event tables: everything that must be refused, each with its SQLSTATE,
-- and proof that the refused statements changed nothing.
--
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
\set SHOW_CONTEXT never

CREATE TABLE pageviews (id int, url text NOT NULL, ts timestamptz NOT NULL);
INSERT INTO pageviews SELECT g, 'u' || g, '2025-01-01'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, 100) g;
CREATE VIEW pv_view AS SELECT * FROM pageviews;
CREATE TABLE parted (id int, ts timestamptz) PARTITION BY RANGE (ts);
CREATE TABLE parted_2025 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE parted_2026 PARTITION OF parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TEMP TABLE tmp_events (ts timestamptz);

-- bad arguments to create_event_table
SELECT lambda.create_event_table(NULL, 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('pageviews', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('no_such_table', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('pv_view', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('parted_2025', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('tmp_events', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('pg_class', 'relname');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('pageviews', 'no_such_column');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('pageviews', 'ctid');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('pageviews', 'url');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nothing was recorded by any of those
SELECT count(*) FROM lambda.event_tables;

-- only the owner may make a table an event table
CREATE ROLE lambda_regress_other;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON pageviews TO lambda_regress_other;
SET ROLE lambda_regress_other;
SELECT lambda.create_event_table('pageviews', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- and nobody writes the catalog directly
INSERT INTO lambda_catalog.event_table VALUES ('pageviews', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT lambda.create_event_table('pageviews', 'ts');
SELECT lambda.create_event_table('pageviews', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- a fingerprint of the events, compared at the end
CREATE TEMP TABLE before_errors AS
  SELECT count(*) AS n, sum(id) AS ids, string_agg(url || ts, ',' ORDER BY id) AS body FROM pageviews;

-- no UPDATE, not even one that matches nothing
UPDATE pageviews SET url = 'changed' WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE pageviews SET url = 'changed' WHERE false;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- no DELETE
DELETE FROM pageviews WHERE id < 10;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- not through a data-modifying CTE
WITH d AS (DELETE FROM pageviews RETURNING *) SELECT count(*) FROM d;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- not through a view
UPDATE pv_view SET url = 'changed';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- not through a prepared statement
PREPARE del(int) AS DELETE FROM pageviews WHERE id = $1;
EXECUTE del(5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DEALLOCATE del;
-- not through a function
CREATE FUNCTION sneaky() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM pageviews; END $$;
SELECT sneaky();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- not through a rule on another table
CREATE TABLE trap (id int);
CREATE RULE trap_rule AS ON INSERT TO trap DO ALSO DELETE FROM pageviews WHERE id = NEW.id;
INSERT INTO trap VALUES (1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TABLE trap;
-- no MERGE that updates or deletes
MERGE INTO pageviews p USING (VALUES (1)) s(id) ON p.id = s.id
  WHEN MATCHED THEN UPDATE SET url = 'changed';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
MERGE INTO pageviews p USING (VALUES (1)) s(id) ON p.id = s.id
  WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'x', now());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- no upsert that updates
CREATE UNIQUE INDEX pageviews_id ON pageviews (id);
INSERT INTO pageviews VALUES (1, 'changed', now()) ON CONFLICT (id) DO UPDATE SET url = excluded.url;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- no TRUNCATE, directly or by CASCADE
TRUNCATE pageviews;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- an inheritance child is no event table (see event_table_paths_errors)
CREATE TABLE parent_ev (id int, url text, ts timestamptz);
CREATE TABLE child_ev () INHERITS (parent_ev);
SELECT lambda.create_event_table('child_ev', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE users (id int PRIMARY KEY);
CREATE TABLE logins (user_id int REFERENCES users, ts timestamptz);
SELECT lambda.create_event_table('logins', 'ts');
TRUNCATE users CASCADE;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- no dropping or retyping a column
ALTER TABLE pageviews DROP COLUMN url;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE pageviews ALTER COLUMN id TYPE bigint;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE pageviews ADD COLUMN note text, DROP COLUMN id;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- a partitioned event table: no changes through the root or a partition,
-- and no removing a partition
SELECT lambda.create_event_table('parted', 'ts');
INSERT INTO parted VALUES (1, '2025-06-01'), (2, '2026-06-01');
UPDATE parted SET id = 3;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM parted_2026;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE parted_2025;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE parted DETACH PARTITION parted_2025;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TABLE parted_2025;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE parted DROP COLUMN id;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM parted ORDER BY id;

-- bad arguments to drop_events_before
SELECT lambda.drop_events_before(NULL, now());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_events_before('pageviews', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_events_before('parent_ev', now());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_events_before(0, now());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET ROLE lambda_regress_other;
SELECT lambda.drop_events_before('pageviews', 'infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a non-owner with every privilege still cannot change events
DELETE FROM pageviews;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE pageviews SET url = 'x';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

-- the events are exactly as they were
SELECT n = (SELECT count(*) FROM pageviews) AS same_count,
       body = (SELECT string_agg(url || ts, ',' ORDER BY id) FROM pageviews) AS same_events
  FROM before_errors;
SELECT table_name, time_column FROM lambda.event_tables ORDER BY 1;

DROP TABLE pageviews CASCADE;
DROP TABLE parent_ev, child_ev, logins, users, parted;
REVOKE ALL ON SCHEMA public FROM lambda_regress_other;
DROP ROLE lambda_regress_other;
DROP EXTENSION pg_lambda;
