--
-- Registering and unregistering event tables: what is refused, with which
-- error, and proof that nothing changed.
--
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev VALUES ('a', 1, '2025-01-01'), ('b', 2, '2025-01-02');
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
CREATE TABLE plain_parted (k text, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE plain_parted_1 PARTITION OF plain_parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE parted (k text, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT lambda.create_event_table('parted', time_column => 'ts');

-- pg_lambda's own tables, and a view's parts, are not event tables
SELECT lambda.create_event_table('lambda_catalog.event_table', 'created_at');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('lambda_catalog.continuous_view', 'created_at');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('lambda_catalog.dead_letter', 'received_at');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('lambda_catalog.v_batch', 'k');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('lambda_catalog.v_speed', 'k');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('v', 'k');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nor are tables that came with the server
SELECT lambda.create_event_table('pg_catalog.pg_class', 'relname');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('information_schema.sql_features', 'comments');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a partition is registered through its root
SELECT lambda.create_event_table('plain_parted_1', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_event_table('parted_1', 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nor is another session's temporary table
CREATE EXTENSION dblink;
SELECT dblink_connect('other', 'dbname=' || current_database());
SELECT dblink_exec('other', 'CREATE TEMP TABLE other_tmp (ts timestamptz)');
SELECT lambda.create_event_table((SELECT oid FROM pg_class WHERE relname = 'other_tmp'), 'ts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT dblink_disconnect('other');
DROP EXTENSION dblink;
SELECT table_name FROM lambda.event_tables ORDER BY 1;
-- so the catalog stays writable: dropping a view and a table still work
CREATE TABLE scratch (k text, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('scratch', 'ts');
DROP TABLE scratch;
SELECT table_name FROM lambda.event_tables ORDER BY 1;

-- drop_event_table: bad arguments
SELECT lambda.drop_event_table(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_event_table(0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_event_table('plain_parted');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_event_table('parted_1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- not while continuous views or Kafka sources use it
SELECT lambda.drop_event_table('ev');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW v2 WITH (lambda.continuous) AS SELECT count(*) FROM ev;
SELECT lambda.drop_event_table('ev');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP MATERIALIZED VIEW v, v2;
BEGIN;
SELECT lambda.create_kafka_source(name => 'ev_src', target => 'ev', brokers => '127.0.0.1:1', topic => 'ev');
SELECT lambda.drop_event_table('ev');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT lambda.create_kafka_source(name => 'parted_src', target => 'parted_1', brokers => '127.0.0.1:1', topic => 'p');
SELECT lambda.drop_event_table('parted');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
-- only the table's owner
CREATE ROLE lambda_drop_other;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ev TO lambda_drop_other;
SET ROLE lambda_drop_other;
SELECT lambda.drop_event_table('ev');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
-- ev is still an event table
SELECT table_name FROM lambda.event_tables ORDER BY 1;
UPDATE ev SET x = 0;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT k, x FROM ev ORDER BY k;

DROP TABLE ev, plain_parted, parted;
DROP ROLE lambda_drop_other;
DROP EXTENSION pg_lambda;
