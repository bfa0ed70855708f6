--
-- lambda.drop_event_table(): a table stops being an event table; it and its
-- rows stay.
--
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
CREATE ROLE lambda_drop_owner;
GRANT CREATE ON SCHEMA public TO lambda_drop_owner;
SET ROLE lambda_drop_owner;
CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev VALUES ('a', 1, '2025-01-01'), ('b', 2, '2025-01-02'), ('c', 3, '2025-01-03');
-- a view over it came and went
CREATE MATERIALIZED VIEW v WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
DROP MATERIALIZED VIEW v;
-- its owner (an ordinary role) unregisters it
SELECT lambda.drop_event_table('ev');
SELECT count(*) FROM lambda.event_tables;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ev'::regclass;
SELECT k, x FROM ev ORDER BY k;
-- an ordinary table again
UPDATE ev SET x = x * 10 WHERE k = 'a';
DELETE FROM ev WHERE k = 'b';
SELECT k, x FROM ev ORDER BY k;
-- and it can be registered again
SELECT lambda.create_event_table('ev', time_column => 'ts');
SELECT table_name, time_column FROM lambda.event_tables;
UPDATE ev SET x = 0;
SELECT lambda.drop_event_table('ev');
TRUNCATE ev;
SELECT count(*) FROM ev;
RESET ROLE;

-- a partitioned event table: its partitions are released with it
CREATE TABLE parted (k text, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT lambda.create_event_table('parted', time_column => 'ts');
INSERT INTO parted VALUES ('a', '2025-03-01');
DELETE FROM parted_1;
SELECT lambda.drop_event_table('parted');
DELETE FROM parted_1;
SELECT count(*) FROM parted;

-- after its Kafka source is dropped, the table can be unregistered
CREATE TABLE clicks (url text, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('clicks', time_column => 'ts');
BEGIN;
SELECT lambda.create_kafka_source(name => 'clicks_src', target => 'clicks', brokers => '127.0.0.1:1', topic => 'clicks');
SELECT lambda.drop_source('clicks_src');
SELECT lambda.drop_event_table('clicks');
COMMIT;
SELECT count(*) FROM lambda.event_tables;

DROP TABLE ev, parted, clicks;
REVOKE CREATE ON SCHEMA public FROM lambda_drop_owner;
DROP ROLE lambda_drop_owner;
DROP EXTENSION pg_lambda;
