--
-- A partitioned table as an event table: rows route to partitions as usual,
-- partitions come and go only by attaching (new events) and retention.
-- Negative cases are in event_table_errors.
--
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';

CREATE TABLE readings (sensor int NOT NULL, value float8, ts timestamptz NOT NULL)
  PARTITION BY RANGE (ts);
CREATE TABLE readings_2025_01 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE readings_2025_02 PARTITION OF readings FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
SELECT lambda.create_event_table('readings', 'ts');
SELECT table_name, time_column FROM lambda.event_tables;

-- INSERT and COPY route rows to partitions
INSERT INTO readings SELECT g % 3, g * 1.5, '2025-01-01'::timestamptz + g * interval '12 hours'
  FROM generate_series(0, 100) g WHERE '2025-01-01'::timestamptz + g * interval '12 hours' < '2025-03-01';
COPY readings FROM stdin;
9	0.5	2025-02-15 00:00:00+00
\.
SELECT tableoid::regclass AS partition, count(*) FROM readings GROUP BY 1 ORDER BY 1;

-- a partition created later, or attached with its rows, adds events
CREATE TABLE readings_2025_03 PARTITION OF readings FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
INSERT INTO readings VALUES (1, 1.0, '2025-03-10');
CREATE TABLE readings_2025_04 (LIKE readings);
INSERT INTO readings_2025_04 VALUES (2, 2.0, '2025-04-10'), (3, 3.0, '2025-04-11');
ALTER TABLE readings ATTACH PARTITION readings_2025_04 FOR VALUES FROM ('2025-04-01') TO ('2025-05-01');
SELECT count(*) FROM readings;

-- retention drops the partition wholly before the cut and deletes rows only
-- in the one that straddles it; the result counts the rows deleted
SELECT lambda.drop_events_before('readings', '2025-02-10');
SELECT tableoid::regclass AS partition, count(*), min(ts) FROM readings GROUP BY 1 ORDER BY 1;

-- dropping the whole event table is allowed, partitions included
DROP TABLE readings;
SELECT count(*) FROM lambda.event_tables;
DROP EXTENSION pg_lambda;
