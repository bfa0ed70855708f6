--
-- Retention by partition: lambda.drop_events_before() on an event table
-- partitioned by range of its time column drops the partitions lying wholly
-- before the cut and deletes rows only where a partition straddles it.
-- Views keep what they folded in until recomputed; a recompute sees the
-- events that are left. Other partitionings delete row by row, as before.
--
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';

CREATE TABLE ev (k int NOT NULL, x int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE ev_d1 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2025-01-02');
CREATE TABLE ev_d2 PARTITION OF ev FOR VALUES FROM ('2025-01-02') TO ('2025-01-03');
-- a partition that is itself partitioned goes as a whole
CREATE TABLE ev_d3 PARTITION OF ev FOR VALUES FROM ('2025-01-03') TO ('2025-01-04') PARTITION BY LIST (k);
CREATE TABLE ev_d3_even PARTITION OF ev_d3 FOR VALUES IN (0, 2);
CREATE TABLE ev_d3_odd PARTITION OF ev_d3 FOR VALUES IN (1, 3);
CREATE TABLE ev_d4 PARTITION OF ev FOR VALUES FROM ('2025-01-04') TO ('2025-01-05');
CREATE TABLE ev_later PARTITION OF ev FOR VALUES FROM ('2025-01-05') TO (MAXVALUE);
SELECT lambda.create_event_table('ev', 'ts');
CREATE MATERIALIZED VIEW ev_v WITH (lambda.continuous) AS
  SELECT k, count(*) AS n, sum(x) AS sx, min(ts) AS first FROM ev GROUP BY k;
INSERT INTO ev SELECT g % 4, g, '2025-01-01'::timestamptz + g * interval '1 hour'
  FROM generate_series(0, 6 * 24 - 1) g;
SELECT tableoid::regclass AS partition, count(*) FROM ev GROUP BY 1 ORDER BY 1;
REFRESH MATERIALIZED VIEW ev_v;

-- the cut inside day 4: days 1-3 (with day 3's own partitions) are dropped,
-- day 4's events before noon deleted; the result counts only those
SELECT lambda.drop_events_before('ev', '2025-01-04 12:00');
SELECT c.relname FROM pg_class c WHERE c.relname LIKE 'ev\_%' AND c.relkind IN ('r', 'p') ORDER BY 1;
SELECT tableoid::regclass AS partition, count(*), min(ts) FROM ev GROUP BY 1 ORDER BY 1;

-- views keep counting the dropped events (batch and speed layer alike) ...
INSERT INTO ev VALUES (1, 1000, '2025-01-06 00:00');
SELECT k, n, sx, first FROM ev_v ORDER BY k;
-- ... until recomputed, when they see the events that are left
SELECT lambda.recompute('ev_v');
SELECT count(*) AS differ FROM (
  (TABLE ev_v EXCEPT ALL SELECT k, count(*), sum(x), min(ts) FROM ev GROUP BY k)
  UNION ALL
  (SELECT k, count(*), sum(x), min(ts) FROM ev GROUP BY k EXCEPT ALL TABLE ev_v)) d;
SELECT k, n, sx, first FROM ev_v ORDER BY k;

-- a cut exactly on a bound drops that partition and deletes nothing
SELECT lambda.drop_events_before('ev', '2025-01-05');
SELECT tableoid::regclass AS partition, count(*) FROM ev GROUP BY 1 ORDER BY 1;
-- MAXVALUE: never wholly before any cut; its rows are deleted
SELECT lambda.drop_events_before('ev', '2025-01-05 06:00');
SELECT c.relname FROM pg_class c WHERE c.relname LIKE 'ev\_%' AND c.relkind IN ('r', 'p') ORDER BY 1;

-- drop_partitions => false: row by row, every partition stays
CREATE TABLE keep (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE keep_1 PARTITION OF keep FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE keep_2 PARTITION OF keep FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
SELECT lambda.create_event_table('keep', 'ts');
INSERT INTO keep SELECT '2025-01-01'::timestamptz + g * interval '1 day' FROM generate_series(0, 58) g;
SELECT lambda.drop_events_before('keep', '2025-02-10', drop_partitions => false);
SELECT c.relname, (SELECT count(*) FROM keep WHERE tableoid = c.oid) FROM pg_class c
 WHERE c.relname LIKE 'keep\_%' ORDER BY 1;

-- a timestamp (without time zone) time column, and a DEFAULT partition,
-- whose rows are deleted row by row
CREATE TABLE loc (ts timestamp NOT NULL, v int) PARTITION BY RANGE (ts);
CREATE TABLE loc_1 PARTITION OF loc FOR VALUES FROM ('2025-01-01') TO ('2025-01-02');
CREATE TABLE loc_2 PARTITION OF loc FOR VALUES FROM ('2025-01-02') TO ('2025-01-03');
CREATE TABLE loc_other PARTITION OF loc DEFAULT;
SELECT lambda.create_event_table('loc', 'ts');
INSERT INTO loc VALUES ('2024-12-31 10:00', 1), ('2025-01-01 10:00', 2), ('2025-01-02 10:00', 3), ('2025-02-01', 4);
SELECT lambda.drop_events_before('loc', '2025-01-02 00:00');
SELECT tableoid::regclass AS partition, ts, v FROM loc ORDER BY ts;

-- partitioned otherwise (LIST, or range over an expression): row by row
CREATE TABLE bylist (k int NOT NULL, ts timestamptz NOT NULL) PARTITION BY LIST (k);
CREATE TABLE bylist_1 PARTITION OF bylist FOR VALUES IN (1);
CREATE TABLE bylist_2 PARTITION OF bylist FOR VALUES IN (2);
SELECT lambda.create_event_table('bylist', 'ts');
INSERT INTO bylist VALUES (1, '2025-01-01'), (2, '2025-01-01'), (2, '2025-03-01');
SELECT lambda.drop_events_before('bylist', '2025-02-01');
SELECT tableoid::regclass AS partition, count(*) FROM bylist GROUP BY 1 ORDER BY 1;
CREATE TABLE byexpr (ts timestamptz NOT NULL) PARTITION BY RANGE ((ts AT TIME ZONE 'UTC'));
CREATE TABLE byexpr_1 PARTITION OF byexpr FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
SELECT lambda.create_event_table('byexpr', 'ts');
INSERT INTO byexpr VALUES ('2025-01-02'), ('2025-01-03');
SELECT lambda.drop_events_before('byexpr', '2025-03-01');
SELECT count(*) FROM pg_class WHERE relname = 'byexpr_1';

-- dropping a partition directly is still refused; null drop_partitions too
DROP TABLE keep_1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_events_before('keep', '2025-03-01', drop_partitions => NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM keep;

DROP MATERIALIZED VIEW ev_v;
DROP TABLE ev, keep, loc, bylist, byexpr;
DROP EXTENSION pg_lambda;
