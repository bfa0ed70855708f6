-- Arrival order (issue 13): a refresh that reads events (mode "from events")
-- reads only the pages of the events after its cut when the event table has
-- an arrival index (lambda.add_arrival_index), and every one of those once.
-- The refresh's DEBUG1 line says how many events it read.
CREATE EXTENSION pg_lambda;
CREATE TABLE ev (k int, u int, ts timestamptz NOT NULL DEFAULT '2025-01-01 00:00+00');
SELECT lambda.create_event_table('ev', time_column => 'ts');
-- the same events in a table without the index: a refresh reads them all
CREATE TABLE plain (k int, u int, ts timestamptz NOT NULL DEFAULT '2025-01-01 00:00+00');
SELECT lambda.create_event_table('plain', time_column => 'ts');
SELECT lambda.add_arrival_index('ev');
SELECT lambda.add_arrival_index('ev');
SELECT attname, attgenerated, pg_get_expr(adbin, adrelid)
  FROM pg_attribute JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
 WHERE attrelid = 'ev'::regclass;
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'ev'::regclass;
-- a COPY and an INSERT without a column list still work (the column is generated)
COPY ev FROM stdin;
1	1	2025-01-01 00:00:00+00
\.
INSERT INTO ev VALUES (1, 2);
-- and the column cannot be given a value
INSERT INTO ev (k, u, _lambda_xact) VALUES (1, 3, 0);
SELECT count(*) FROM ev WHERE _lambda_xact IS NULL;

INSERT INTO ev (k, u) SELECT g % 10, g FROM generate_series(3, 20000) g;
INSERT INTO plain (k, u) SELECT k, u FROM ev;
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, count(*) AS n, count(DISTINCT u) AS d FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW vp WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, count(*) AS n, count(DISTINCT u) AS d FROM plain GROUP BY k;
-- 5,000 new distinct values in group 1: its speed-layer set becomes a
-- sketch, so the refresh reads the events after the cut
INSERT INTO ev (k, u) SELECT 1, 100000 + g FROM generate_series(1, 5000) g;
INSERT INTO plain (k, u) SELECT 1, 100000 + g FROM generate_series(1, 5000) g;
-- what autovacuum does to the block ranges (it may have done it already):
-- the refresh then reads the new events' pages and the block range whose
-- last page took the first of them (32 pages, 4,928 older events), not the
-- 15,000 events of the other ranges
SELECT brin_summarize_new_values('ev__lambda_xact_idx') >= 0 AS summarized;
SET client_min_messages = debug1;
REFRESH MATERIALIZED VIEW v;
REFRESH MATERIALIZED VIEW vp;
RESET client_min_messages;
SELECT view, last_refresh_mode FROM lambda.view_status WHERE view IN ('v'::regclass, 'vp'::regclass) ORDER BY 1;
SELECT (SELECT count(*) FROM ev) AS events, pg_relation_size('ev') / 8192 AS pages;
-- exact
(SELECT k, n, d FROM v EXCEPT ALL SELECT k, count(*), count(DISTINCT u) FROM ev GROUP BY k)
UNION ALL
(SELECT k, count(*), count(DISTINCT u) FROM ev GROUP BY k EXCEPT ALL SELECT k, n, d FROM v);
SELECT k, n, d FROM v WHERE k IN (0, 1) ORDER BY k;

-- the next one reads the next 5,000 and the range they share with the
-- previous ones
INSERT INTO ev (k, u) SELECT 2, 200000 + g FROM generate_series(1, 5000) g;
SELECT brin_summarize_new_values('ev__lambda_xact_idx') >= 0 AS summarized;
SET client_min_messages = debug1;
REFRESH MATERIALIZED VIEW v;
RESET client_min_messages;
SELECT k, n, d FROM v WHERE k = 2;

-- An existing event table with a view gets the index: the table is
-- rewritten and the view recomputed in the same transaction, so no event
-- counts twice.
INSERT INTO plain (k, u) VALUES (3, -1);
SELECT lambda.add_arrival_index('plain');
SELECT view, last_refresh_mode FROM lambda.view_status WHERE view = 'vp'::regclass;
(SELECT k, n, d FROM vp EXCEPT ALL SELECT k, count(*), count(DISTINCT u) FROM plain GROUP BY k)
UNION ALL
(SELECT k, count(*), count(DISTINCT u) FROM plain GROUP BY k EXCEPT ALL SELECT k, n, d FROM vp);
INSERT INTO plain (k, u) SELECT 3, 300000 + g FROM generate_series(1, 5000) g;
REFRESH MATERIALIZED VIEW vp;
(SELECT k, n, d FROM vp EXCEPT ALL SELECT k, count(*), count(DISTINCT u) FROM plain GROUP BY k)
UNION ALL
(SELECT k, count(*), count(DISTINCT u) FROM plain GROUP BY k EXCEPT ALL SELECT k, n, d FROM vp);

-- A partitioned event table: the column and the index reach every
-- partition, also one created later.
CREATE TABLE parted (k int, u int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE parted_2025 PARTITION OF parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT lambda.create_event_table('parted', time_column => 'ts');
SELECT lambda.add_arrival_index('parted');
CREATE TABLE parted_2026 PARTITION OF parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT c.relname, i.indexrelid::regclass IS NOT NULL AS indexed
  FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid
 WHERE c.relname LIKE 'parted%' AND c.relkind IN ('r', 'p') ORDER BY 1;
INSERT INTO parted SELECT g % 10, g, '2025-06-01'::timestamptz + g * interval '10 minutes'
  FROM generate_series(1, 20000) g;
CREATE MATERIALIZED VIEW vpart WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, count(*) AS n, count(DISTINCT u) AS d FROM parted GROUP BY k;
INSERT INTO parted SELECT 4, 400000 + g, '2026-03-01' FROM generate_series(1, 5000) g;
-- only the new partition's events are read
SELECT brin_summarize_new_values(i.indexrelid) >= 0 FROM pg_index i
  WHERE i.indrelid IN ('parted_2025'::regclass, 'parted_2026'::regclass) ORDER BY 1;
SET client_min_messages = debug1;
REFRESH MATERIALIZED VIEW vpart;
RESET client_min_messages;
(SELECT k, n, d FROM vpart EXCEPT ALL SELECT k, count(*), count(DISTINCT u) FROM parted GROUP BY k)
UNION ALL
(SELECT k, count(*), count(DISTINCT u) FROM parted GROUP BY k EXCEPT ALL SELECT k, n, d FROM vpart);

-- The value is the inserting transaction's id, also through a generic plan
-- prepared in an earlier transaction; a subtransaction's rows get the id of
-- the transaction above it (not newer than their xmin).
CREATE TABLE ev2 (k int, ts timestamptz NOT NULL DEFAULT '2025-01-01 00:00+00');
SELECT lambda.create_event_table('ev2', time_column => 'ts');
SELECT lambda.add_arrival_index('ev2');
SET plan_cache_mode = force_generic_plan;
PREPARE ins AS INSERT INTO ev2 (k) VALUES ($1);
EXECUTE ins(1);
EXECUTE ins(2);
BEGIN;
SAVEPOINT s;
EXECUTE ins(3);
RELEASE SAVEPOINT s;
COMMIT;
RESET plan_cache_mode;
SELECT k, _lambda_xact % 4294967296 = xmin::text::bigint AS own_xid,
       _lambda_xact % 4294967296 <= xmin::text::bigint AS not_newer
  FROM ev2 ORDER BY k;
SELECT count(DISTINCT _lambda_xact) FROM ev2;
DEALLOCATE ins;
DROP TABLE ev2;

-- Only a BRIN index whose operator class answers >= counts: with a bloom
-- one the refresh reads every event; add_arrival_index then adds its own.
CREATE TABLE ev3 (k int, u int, ts timestamptz NOT NULL DEFAULT '2025-01-01 00:00+00');
SELECT lambda.create_event_table('ev3', time_column => 'ts');
SELECT lambda.add_arrival_index('ev3');
DROP INDEX ev3__lambda_xact_idx;
CREATE INDEX ev3_bloom ON ev3 USING brin (_lambda_xact int8_bloom_ops);
INSERT INTO ev3 (k, u) SELECT 1, g FROM generate_series(1, 3000) g;
CREATE MATERIALIZED VIEW v3 WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, count(*) AS n, count(DISTINCT u) AS d FROM ev3 GROUP BY k;
INSERT INTO ev3 (k, u) SELECT 1, 10000 + g FROM generate_series(1, 5000) g;
SET client_min_messages = debug1;
REFRESH MATERIALIZED VIEW v3;
RESET client_min_messages;
SELECT lambda.add_arrival_index('ev3');
SELECT brin_summarize_new_values('ev3__lambda_xact_idx') >= 0 AS summarized;
INSERT INTO ev3 (k, u) SELECT 1, 20000 + g FROM generate_series(1, 5000) g;
SET client_min_messages = debug1;
REFRESH MATERIALIZED VIEW v3;
RESET client_min_messages;
SELECT n, d FROM v3;
DROP MATERIALIZED VIEW v3;
DROP TABLE ev3;

DROP MATERIALIZED VIEW v;
DROP MATERIALIZED VIEW vp;
DROP MATERIALIZED VIEW vpart;
DROP TABLE ev, plain, parted;
DROP EXTENSION pg_lambda;
