-- lambda.add_arrival_index: bad input gets a clear error and changes nothing.
CREATE EXTENSION pg_lambda;
SELECT lambda.add_arrival_index(NULL);
SELECT lambda.add_arrival_index(4000000000::oid::regclass);
CREATE TABLE not_events (k int, ts timestamptz NOT NULL);
SELECT lambda.add_arrival_index('not_events');
CREATE TABLE parted (k int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT lambda.create_event_table('parted', time_column => 'ts');
SELECT lambda.add_arrival_index('parted_1');
-- a column of that name that is not pg_lambda's
CREATE TABLE taken (k int, ts timestamptz NOT NULL, _lambda_xact bigint);
SELECT lambda.create_event_table('taken', time_column => 'ts');
SELECT lambda.add_arrival_index('taken');
-- not the owner
CREATE ROLE arrival_stranger;
GRANT SELECT ON parted TO arrival_stranger;
SET ROLE arrival_stranger;
SELECT lambda.add_arrival_index('parted');
RESET ROLE;
SELECT count(*) FROM pg_attribute WHERE attrelid = 'parted'::regclass AND attname = '_lambda_xact';
REVOKE ALL ON parted FROM arrival_stranger;
DROP ROLE arrival_stranger;
DROP TABLE not_events, parted, taken;

-- An ALTER TABLE that rewrites an event table that views read is refused
-- (add_arrival_index recomputes them instead): the rewritten events would
-- belong to the rewriting transaction, after every view's cut.
CREATE TABLE rw (k int, ts timestamptz NOT NULL DEFAULT '2025-01-01 00:00+00');
SELECT lambda.create_event_table('rw', time_column => 'ts');
INSERT INTO rw (k) SELECT g % 3 FROM generate_series(1, 30) g;
-- no view reads it yet: allowed
ALTER TABLE rw ADD COLUMN early timestamptz DEFAULT clock_timestamp();
CREATE MATERIALIZED VIEW rwv WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, count(*) AS n FROM rw GROUP BY k;
ALTER TABLE rw ADD COLUMN z timestamptz DEFAULT clock_timestamp();
ALTER TABLE rw ADD COLUMN twice bigint GENERATED ALWAYS AS (k * 2) STORED;
ALTER TABLE rw SET UNLOGGED;
-- what the hint says works, and changes no answer
ALTER TABLE rw ADD COLUMN z timestamptz;
ALTER TABLE rw ALTER COLUMN z SET DEFAULT clock_timestamp();
ALTER TABLE rw ADD COLUMN note text DEFAULT 'none';
SELECT count(*) FILTER (WHERE z IS NULL) AS without_z, count(*) AS events FROM rw;
REFRESH MATERIALIZED VIEW rwv;
SELECT sum(n) FROM rwv;
DROP MATERIALIZED VIEW rwv;
DROP TABLE rw;
DROP EXTENSION pg_lambda;
