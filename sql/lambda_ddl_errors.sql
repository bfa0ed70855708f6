-- PostgreSQL's statements on continuous views (issue 17): what is refused,
-- with which error; nothing is left behind. The SQLSTATE follows every
-- refused statement.
\set SHOW_CONTEXT never
-- a catalog older than the library: CREATE says to update the extension
CREATE EXTENSION pg_lambda VERSION '0.1.0';
SET timezone = 'UTC';
CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL, d interval);
SELECT lambda.create_event_table('ev', time_column => 'ts');
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER EXTENSION pg_lambda UPDATE;
INSERT INTO ev VALUES ('a', 1, '2025-01-01', '1 second'), ('b', 2, '2025-01-01', '2 seconds');

-- lambda.continuous and its companions
CREATE MATERIALIZED VIEW v WITH (lambda.continuous = 'maybe') AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW v WITH (lambda.continuous = 2) AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW v WITH (lambda.continuous = false, lambda.refresh_interval = '1 hour') AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW v WITH (lambda.refresh_interval = '1 hour') AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- output columns of the same name, by AS or by the column list
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) AS n, sum(x) AS n FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW v (k, n) WITH (lambda.continuous) AS SELECT k, count(*), sum(x) AS n FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- not an event table: the hint says what to pass instead (a continuous view
-- is accepted as a rollup's source, lambda_rollup; here its rows are counted)
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev GROUP BY k;
CREATE VIEW pv AS SELECT * FROM ev;
CREATE TABLE plain (k text);
CREATE MATERIALIZED VIEW w WITH (lambda.continuous) AS SELECT k, count(*) FROM v GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW w WITH (lambda.continuous) AS SELECT k, count(*) FROM pv GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW w WITH (lambda.continuous) AS SELECT k, count(*) FROM plain GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_events_before('v', now());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_events_before('pv', now());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_event_table('v');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- percentile_cont over an interval, and over an array of fractions
CREATE MATERIALIZED VIEW w WITH (lambda.continuous) AS SELECT k, percentile_cont(0.5) WITHIN GROUP (ORDER BY d) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW w WITH (lambda.continuous) AS SELECT k, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY d) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW w WITH (lambda.continuous) AS SELECT k, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY x) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- lambda.recompute and lambda.estimated_groups
SELECT lambda.recompute(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.recompute('pv');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.estimated_groups('pv');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- ALTER MATERIALIZED VIEW forms that stay refused
ALTER MATERIALIZED VIEW v ALTER COLUMN k SET STATISTICS 100;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW v SET TABLESPACE pg_default;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW v SET WITHOUT CLUSTER;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- and PostgreSQL's own errors of the supported ones
ALTER MATERIALIZED VIEW v RENAME COLUMN n TO k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW v RENAME COLUMN nothing TO m;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW v SET SCHEMA nowhere;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW v SET SCHEMA pg_temp;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- CREATE INDEX on a view: key columns of it only (by its owner, an
-- ordinary role: a superuser owns the batch table and drops its indexes as
-- PostgreSQL lets it)
CREATE ROLE lambda_ddl_maker;
GRANT SELECT ON ev TO lambda_ddl_maker;
GRANT CREATE ON SCHEMA public TO lambda_ddl_maker;
ALTER MATERIALIZED VIEW v OWNER TO lambda_ddl_maker;
SET ROLE lambda_ddl_maker;
CREATE INDEX ON v (n);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE INDEX ON v (nothing);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE INDEX ON v (lower(k));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE UNIQUE INDEX ON v (k);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY ON v (k);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE INDEX ON v (k) WHERE k > 'a';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE INDEX ON v (k) INCLUDE (n);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE INDEX ON v (k) WITH (fillfactor = 50);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE INDEX ON ONLY v (k);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- DROP INDEX: only the view's secondary indexes, alone
CREATE INDEX v_k ON v (k);
RESET ROLE;
CREATE INDEX plain_k ON plain (k);
ALTER TABLE plain OWNER TO lambda_ddl_maker;
SET ROLE lambda_ddl_maker;
DROP INDEX lambda_catalog.v_batch_k_idx;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP INDEX lambda_catalog.v_batch_long_idx;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP INDEX lambda_catalog.v_k, plain_k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP INDEX CONCURRENTLY lambda_catalog.v_k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the batch table itself is pg_lambda's
CREATE INDEX ON lambda_catalog.v_batch (k);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

-- by other roles
CREATE ROLE lambda_ddl_stranger;
GRANT CREATE ON SCHEMA public TO lambda_ddl_stranger;
SET ROLE lambda_ddl_stranger;
COMMENT ON MATERIALIZED VIEW v IS 'mine';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW v SET SCHEMA public;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW v RENAME COLUMN n TO m;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE INDEX ON v (k);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP INDEX lambda_catalog.v_k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.estimated_groups('v');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

-- nothing changed
SELECT view, definition FROM lambda.views;
SELECT obj_description('v'::regclass, 'pg_class');
SELECT attname FROM pg_attribute WHERE attrelid = 'lambda_catalog.v_batch'::regclass AND attnum > 0 ORDER BY attnum;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'lambda_catalog.v_batch'::regclass ORDER BY indexrelid::regclass::text;
SELECT relname FROM pg_class WHERE relnamespace = 'lambda_catalog'::regnamespace AND relname LIKE 'w\_%';
SELECT * FROM v ORDER BY k;

REVOKE CREATE ON SCHEMA public FROM lambda_ddl_stranger;
DROP ROLE lambda_ddl_stranger;
DROP MATERIALIZED VIEW v;
DROP TABLE ev, plain CASCADE;
REVOKE CREATE ON SCHEMA public FROM lambda_ddl_maker;
DROP ROLE lambda_ddl_maker;
DROP EXTENSION pg_lambda;
