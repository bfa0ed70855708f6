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
DROP EXTENSION pg_lambda;
