-- Continuous views: what is refused, with which error; nothing is left behind.
CREATE EXTENSION pg_lambda;
-- errors show message, detail and hint (SQLSTATEs are in the source and docs)
CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
CREATE TABLE plain (k text, x int);
CREATE TABLE parted (k text, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
SELECT lambda.create_event_table('parted', time_column => 'ts');

-- shapes that cannot be maintained
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM plain GROUP BY k;
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM parted_1 GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT ev.k, count(*) FROM ev JOIN plain USING (k) GROUP BY ev.k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*), rank() OVER () FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k ORDER BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k LIMIT 3;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, sum(DISTINCT x) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(DISTINCT to_tsvector('simple', k)) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, json_agg(x) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, sum(x ORDER BY ts) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY x) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, percentile_cont(x / 100.0) WITHIN GROUP (ORDER BY x) FROM ev GROUP BY k, x;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, percentile_cont(1.5) WITHIN GROUP (ORDER BY x) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, percentile_cont(0.5) WITHIN GROUP (ORDER BY ts - ts) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev WHERE random() < 0.5 GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev WHERE ts > now() - interval '1 hour' GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev WHERE k = CURRENT_USER GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev WHERE x IN (SELECT x FROM plain) GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS WITH e AS (SELECT * FROM ev) SELECT k, count(*) FROM e GROUP BY k;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY ROLLUP (k);
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT DISTINCT k, count(*) FROM ev GROUP BY k;
-- options
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '-1 minute') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = 'soon') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refreshinterval = '1 minute') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.refresh_interval = '1 minute') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, fillfactor = 50) AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.sliding_window = '1 month') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.sliding_window = '0 seconds') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.sliding_window = '10 minutes', lambda.window_step = '1 hour') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.sliding_window = '10 days', lambda.window_step = '1 second') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.window_step = '1 minute') AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT count(*) FROM ev WITH NO DATA;
CREATE MATERIALIZED VIEW pg_temp.v WITH (lambda.continuous) AS SELECT count(*) FROM ev;
CREATE MATERIALIZED VIEW plain WITH (lambda.continuous) AS SELECT count(*) FROM ev;
-- nothing was left behind
SELECT count(*) FROM lambda.views;
SELECT count(*) FROM pg_class WHERE relnamespace = 'lambda_catalog'::regnamespace AND relname ~ '_(batch|speed)$';
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ev'::regclass;

-- statements on an existing view
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
ALTER MATERIALIZED VIEW v SET (lambda.refresh_interval = '0 seconds');
ALTER MATERIALIZED VIEW v SET (lambda.continuous = false);
ALTER MATERIALIZED VIEW v SET (lambda.sliding_window = '1 hour');
ALTER MATERIALIZED VIEW v SET (fillfactor = 10);
ALTER MATERIALIZED VIEW v ALTER COLUMN k SET STATISTICS 10;
REFRESH MATERIALIZED VIEW v WITH NO DATA;
SELECT lambda.recompute('plain');
BEGIN ISOLATION LEVEL REPEATABLE READ;
REFRESH MATERIALIZED VIEW v;
ROLLBACK;
BEGIN;
INSERT INTO ev VALUES ('a', 1, now());
REFRESH MATERIALIZED VIEW v;
ROLLBACK;
UPDATE ev SET x = 2;
-- the event table keeps feeding the view: no renames, no disabled or dropped capture trigger
ALTER TABLE ev RENAME TO ev2;
ALTER TABLE ev RENAME COLUMN k TO kk;
ALTER TABLE ev SET SCHEMA lambda;
ALTER SCHEMA public RENAME TO public2;
ALTER TABLE ev DISABLE TRIGGER ALL;
ALTER TABLE ev DISABLE TRIGGER lambda_capture_v_batch;
ALTER TABLE ev ENABLE REPLICA TRIGGER lambda_capture_v_batch;
DROP TRIGGER lambda_capture_v_batch ON ev;
ALTER TRIGGER lambda_capture_v_batch ON ev RENAME TO t;
-- a partitioned event table with a view: no non-empty table attached, no
-- capture trigger of a partition disabled
CREATE MATERIALIZED VIEW pv WITH (lambda.continuous) AS SELECT k, count(*) FROM parted GROUP BY k;
CREATE TABLE parted_2 (k text, ts timestamptz NOT NULL);
INSERT INTO parted_2 VALUES ('x', '2026-05-01');
ALTER TABLE parted ATTACH PARTITION parted_2 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE parted_1 DISABLE TRIGGER ALL;
DROP TRIGGER lambda_capture_pv_batch ON parted_1;
DROP MATERIALIZED VIEW pv;
DROP TABLE parted_2;
-- the time column and other tables can still be renamed
ALTER TABLE plain RENAME COLUMN x TO y;
-- the internal parts are not the user's to change
SELECT lambda_catalog.capture();
CREATE ROLE lambda_view_stranger;
SET ROLE lambda_view_stranger;
INSERT INTO lambda_catalog.v_batch (k) VALUES ('x');
SELECT * FROM v;
-- refused with PostgreSQL's own error for a materialized view, which differs
-- by major (15: must be owner; 17+: permission denied, MAINTAIN would do):
-- the SQLSTATE only here, the messages in test/t/060_majors.pl
\set VERBOSITY sqlstate
REFRESH MATERIALIZED VIEW v;
SELECT lambda.recompute('v');
\set VERBOSITY default
DROP MATERIALIZED VIEW v;
ALTER MATERIALIZED VIEW v SET (lambda.refresh_interval = '5 minutes');
CREATE MATERIALIZED VIEW v2 WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
RESET ROLE;
DROP ROLE lambda_view_stranger;
SELECT view, refresh_interval FROM lambda.views;
DROP MATERIALIZED VIEW v;
DROP TABLE ev, plain, parted;
DROP EXTENSION pg_lambda;
