-- count(DISTINCT x) and percentile_cont in continuous views: exact answers
-- while a group's distinct values fit, HyperLogLog estimates past that,
-- exact again once the group is wholly in the batch layer; percentiles
-- within 1 % of the exact percentile_cont. Every answer is compared with
-- the defining query run over the event table.
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
CREATE TABLE ev (k text, u int, n numeric, t text, x float8, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');

INSERT INTO ev SELECT 'k' || (i % 4), i % 37, (i % 5) / 2.0, 'v' || (i % 11), i * 1.5,
       '2025-01-01 00:00+00'::timestamptz + i * interval '1 minute'
  FROM generate_series(1, 1000) i;

CREATE MATERIALIZED VIEW dv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, date_trunc('hour', ts) AS h, count(*) AS c,
         count(DISTINCT u) AS du, count(DISTINCT n) AS dn, count(DISTINCT t) AS dt,
         count(DISTINCT u) FILTER (WHERE u > 10) AS dbig
    FROM ev GROUP BY k, date_trunc('hour', ts);
CREATE VIEW dv_direct AS
  SELECT k, date_trunc('hour', ts) AS h, count(*) AS c,
         count(DISTINCT u) AS du, count(DISTINCT n) AS dn, count(DISTINCT t) AS dt,
         count(DISTINCT u) FILTER (WHERE u > 10) AS dbig
    FROM ev GROUP BY k, date_trunc('hour', ts);
CREATE FUNCTION dv_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, query %s rows, %s differ',
    (SELECT count(*) FROM dv), (SELECT count(*) FROM dv_direct),
    (SELECT count(*) FROM ((SELECT * FROM dv EXCEPT ALL SELECT * FROM dv_direct)
                            UNION ALL (SELECT * FROM dv_direct EXCEPT ALL SELECT * FROM dv)) d))
$$;
SELECT dv_same();

-- new events in the speed layer: small groups stay exact (numeric 1.0 and
-- 1.00 are one value, NULLs do not count, a group of only NULLs counts 0)
INSERT INTO ev SELECT 'k' || (i % 4), i % 53, (i % 5) / 2.00, NULL, i,
       '2025-01-01 00:00+00'::timestamptz + i * interval '1 minute'
  FROM generate_series(500, 1500) i;
INSERT INTO ev VALUES ('nulls', NULL, NULL, NULL, NULL, '2025-01-01 00:00+00');
SELECT dv_same();
SELECT du, dn, dt, dbig FROM dv WHERE k = 'nulls';
REFRESH MATERIALIZED VIEW dv;
SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'dv'::regclass;
SELECT dv_same();

-- one group with 100,000 distinct values in the speed layer: an estimate
-- within 2 % (the values outgrew 16 kB and became a HyperLogLog sketch)
INSERT INTO ev SELECT 'big', i, NULL, NULL, NULL, '2025-02-01 00:00+00'
  FROM generate_series(1, 100000) i;
INSERT INTO ev SELECT 'big', i, NULL, NULL, NULL, '2025-02-01 00:00+00'
  FROM generate_series(1, 50000) i;
SELECT c, abs(du - 100000) / 100000.0 <= 0.02 AS within_2_percent, du <> 100000 AS estimated
  FROM dv WHERE k = 'big';
-- the small groups are still exact
SELECT count(*) AS differ FROM ((SELECT * FROM dv WHERE k <> 'big' EXCEPT ALL SELECT * FROM dv_direct)
  UNION ALL (SELECT * FROM dv_direct WHERE k <> 'big' EXCEPT ALL SELECT * FROM dv WHERE k <> 'big')) d;
-- a refresh cannot fold a sketch into the batch layer: it reads the events,
-- and the group is exact again
REFRESH MATERIALIZED VIEW dv;
SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'dv'::regclass;
SELECT c, du FROM dv WHERE k = 'big';
SELECT dv_same();
-- new events for the group: exact while they fit
INSERT INTO ev VALUES ('big', 100001, NULL, NULL, NULL, '2025-02-01 00:00+00'),
                      ('big', 7, NULL, NULL, NULL, '2025-02-01 00:00+00');
SELECT c, du FROM dv WHERE k = 'big';
REFRESH MATERIALIZED VIEW dv;
SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'dv'::regclass;
SELECT dv_same();
SELECT lambda.recompute('dv');
SELECT dv_same();
SELECT sketch_bytes_per_key FROM lambda.view_status WHERE view = 'dv'::regclass;

-- the sketch's memory is bounded: a key of the speed layer holds no more
-- than the bound view_status reports, plus its key and at most 1 kB of room
-- to grow (and each generation has an 8 kB table of buckets)
CREATE TABLE mev (u int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('mev', time_column => 'ts');
CREATE MATERIALIZED VIEW mv WITH (lambda.continuous) AS SELECT count(DISTINCT u) AS d FROM mev;
INSERT INTO mev SELECT i, '2025-01-01' FROM generate_series(1, 100000) i;
INSERT INTO mev SELECT i, '2025-01-01' FROM generate_series(100000, 200000) i;
SELECT speed_keys, sketch_bytes_per_key,
       speed_bytes <= speed_keys * (sketch_bytes_per_key + 1024 + 256) + speed_generations * 8192 AS bounded
  FROM lambda.view_status WHERE view = 'mv'::regclass;
SELECT abs(d - 200000) / 200000.0 <= 0.02 AS within_2_percent FROM mv;

-- percentile_cont through a quantile sketch: within 1 % of the exact value
CREATE TABLE lat (svc text, ms float8, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('lat', time_column => 'ts');
SELECT setseed(0.25);
INSERT INTO lat SELECT 's' || (i % 3), exp(random() * 8), '2025-01-01 00:00+00'
  FROM generate_series(1, 30000) i;
CREATE MATERIALIZED VIEW pv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT svc, count(*) AS c,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
         percentile_cont(0) WITHIN GROUP (ORDER BY ms) AS lo,
         percentile_cont(1) WITHIN GROUP (ORDER BY ms) AS hi
    FROM lat GROUP BY svc;
CREATE VIEW pv_direct AS
  SELECT svc, count(*) AS c,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
         percentile_cont(0) WITHIN GROUP (ORDER BY ms) AS lo,
         percentile_cont(1) WITHIN GROUP (ORDER BY ms) AS hi
    FROM lat GROUP BY svc;
CREATE FUNCTION pv_error() RETURNS TABLE (svc text, c_equal bool, p50_ok bool, p99_ok bool, lo_exact bool, hi_exact bool)
LANGUAGE sql AS $$
  SELECT d.svc, v.c = d.c, abs(v.p50 - d.p50) <= 0.01 * abs(d.p50), abs(v.p99 - d.p99) <= 0.01 * abs(d.p99),
         v.lo = d.lo, v.hi = d.hi
    FROM pv_direct d FULL JOIN pv v USING (svc) ORDER BY 1
$$;
SELECT * FROM pv_error();
-- half of it in the speed layer, with negative values and zeros
INSERT INTO lat SELECT 's' || (i % 3), CASE WHEN i % 7 = 0 THEN 0 ELSE (random() - 0.3) * 1000 END, '2025-01-01 00:00+00'
  FROM generate_series(1, 30000) i;
SELECT * FROM pv_error();
REFRESH MATERIALIZED VIEW pv;
SELECT * FROM pv_error();
-- not exact, but the same estimate however the events were split
CREATE TEMP TABLE before_recompute AS SELECT * FROM pv;
SELECT lambda.recompute('pv');
SELECT count(*) AS differ FROM ((SELECT * FROM pv EXCEPT SELECT * FROM before_recompute)
  UNION ALL (SELECT * FROM before_recompute EXCEPT SELECT * FROM pv)) d;
-- NaN sorts last and infinities at the ends, as in percentile_cont
INSERT INTO lat VALUES ('odd', 'NaN', '2025-01-01'), ('odd', '-Infinity', '2025-01-01'),
  ('odd', 1, '2025-01-01'), ('odd', 'Infinity', '2025-01-01');
SELECT v.lo, v.hi, v.p50, d.p50 AS exact_p50 FROM pv v JOIN pv_direct d USING (svc) WHERE svc = 'odd';
SELECT sketch_bytes_per_key FROM lambda.view_status WHERE view = 'pv'::regclass;
-- ORDER BY x DESC counts the fraction from the top
CREATE MATERIALIZED VIEW pdesc WITH (lambda.continuous) AS
  SELECT svc, percentile_cont(0.01) WITHIN GROUP (ORDER BY ms DESC) AS p FROM lat GROUP BY svc;
SELECT svc, abs(v.p - d.p) <= 0.01 * abs(d.p) AS within_1_percent
  FROM pdesc v JOIN (SELECT svc, percentile_cont(0.01) WITHIN GROUP (ORDER BY ms DESC) AS p
                       FROM lat GROUP BY svc) d USING (svc) ORDER BY svc;

-- both kinds in a global view over no events
CREATE TABLE quiet (x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('quiet', time_column => 'ts');
CREATE MATERIALIZED VIEW qv WITH (lambda.continuous) AS
  SELECT count(DISTINCT x) AS d, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS m FROM quiet;
SELECT * FROM qv;
SELECT count(DISTINCT x) AS d, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS m FROM quiet;
INSERT INTO quiet VALUES (1, now()), (1, now()), (3, now());
SELECT * FROM qv;

-- A refresh merges each group's new distinct values into its stored set
-- (sketch.c, sketch_distinct_union): sets that overlap, that are disjoint,
-- an empty stored set, only NULLs, values whose hashes collide (bigint
-- i * (2^32 + 1) all hash alike), and a set large enough to be stored out
-- of line; with the new values still a set (incremental) and read from the
-- events (from events); the view compared with its defining query each time.
CREATE TABLE mg (k text, x bigint, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('mg', time_column => 'ts');
INSERT INTO mg SELECT 'overlap', i, '2025-01-01' FROM generate_series(1, 300) i;
INSERT INTO mg SELECT 'disjoint', i, '2025-01-01' FROM generate_series(1, 300) i;
INSERT INTO mg SELECT 'collide', i * 4294967297, '2025-01-01' FROM generate_series(0, 40) i;
INSERT INTO mg VALUES ('nulls', NULL, '2025-01-01'), ('empty', NULL, '2025-01-01');
INSERT INTO mg SELECT 'large', i, '2025-01-01' FROM generate_series(1, 30000) i;
SELECT count(DISTINCT hashint8extended(x, 0)) AS hashes, count(DISTINCT x) AS values
  FROM mg WHERE k = 'collide';
CREATE MATERIALIZED VIEW mgv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(DISTINCT x) AS dx, count(DISTINCT x::text) AS dt, count(DISTINCT x::numeric) AS dn
    FROM mg GROUP BY k;
CREATE VIEW mgv_direct AS
  SELECT k, count(DISTINCT x) AS dx, count(DISTINCT x::text) AS dt, count(DISTINCT x::numeric) AS dn
    FROM mg GROUP BY k;
CREATE FUNCTION mg_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, query %s rows, %s differ',
    (SELECT count(*) FROM mgv), (SELECT count(*) FROM mgv_direct),
    (SELECT count(*) FROM ((SELECT * FROM mgv EXCEPT ALL SELECT * FROM mgv_direct)
                            UNION ALL (SELECT * FROM mgv_direct EXCEPT ALL SELECT * FROM mgv)) d))
$$;
-- new values, few enough to stay sets in the speed layer
INSERT INTO mg SELECT 'overlap', i, '2025-01-02' FROM generate_series(200, 400) i;
INSERT INTO mg SELECT 'overlap', i, '2025-01-02' FROM generate_series(390, 410) i;
INSERT INTO mg SELECT 'disjoint', i, '2025-01-02' FROM generate_series(1001, 1100) i;
INSERT INTO mg SELECT 'collide', i * 4294967297, '2025-01-02' FROM generate_series(30, 60) i;
INSERT INTO mg SELECT 'collide', i * 4294967297, '2025-01-02' FROM generate_series(55, 70) i;
INSERT INTO mg VALUES ('nulls', NULL, '2025-01-02'), ('collide', NULL, '2025-01-02');
INSERT INTO mg SELECT 'empty', i, '2025-01-02' FROM generate_series(1, 5) i;
INSERT INTO mg SELECT 'large', i, '2025-01-02' FROM generate_series(29990, 30100) i;
INSERT INTO mg SELECT 'new', i, '2025-01-02' FROM generate_series(1, 10) i;
REFRESH MATERIALIZED VIEW mgv;
SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'mgv'::regclass;
SELECT mg_same();
SELECT * FROM mgv ORDER BY k;
-- many new values: the large group's become a sketch, the refresh reads the
-- events and merges exact sets of them into the stored ones
INSERT INTO mg SELECT 'large', i, '2025-01-03' FROM generate_series(25000, 40000) i;
INSERT INTO mg SELECT 'overlap', i, '2025-01-03' FROM generate_series(350, 2000) i;
INSERT INTO mg SELECT 'collide', i * 4294967297, '2025-01-03' FROM generate_series(65, 90) i;
INSERT INTO mg SELECT 'collide', i * 4294967297 + 1, '2025-01-03' FROM generate_series(0, 20) i;
INSERT INTO mg VALUES ('nulls', NULL, '2025-01-03');
REFRESH MATERIALIZED VIEW mgv;
SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'mgv'::regclass;
SELECT mg_same();
SELECT * FROM mgv ORDER BY k;
-- and once more, where every group's stored set overlaps its new values
INSERT INTO mg SELECT k, x, '2025-01-04' FROM mg WHERE k <> 'large';
INSERT INTO mg SELECT 'large', i, '2025-01-04' FROM generate_series(39000, 41000) i;
REFRESH MATERIALIZED VIEW mgv;
SELECT mg_same();

-- ten count(DISTINCT) views on one event table, fed by the same statements:
-- each view's sets come from a pool of its own memory (more views than the
-- pools a backend keeps), of int and text values, sets of a few values and
-- of hundreds (tables beyond the first, bitmaps apart from the state), a
-- statement rolled back to a savepoint between two that count
CREATE TABLE tv (k int, x int, t text, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('tv', time_column => 'ts') \g /dev/null
DO $$
BEGIN
  FOR i IN 1..10 LOOP
    EXECUTE format('CREATE MATERIALIZED VIEW tv%s WITH (lambda.continuous, lambda.refresh_interval = ''1 hour'') AS '
                   'SELECT k %% %s AS g, count(*) AS n, count(DISTINCT x) AS dx, count(DISTINCT t) AS dt FROM tv GROUP BY 1',
                   i, i * 97);
  END LOOP;
END $$;
CREATE FUNCTION tv_differ() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  total bigint := 0;
  d bigint;
BEGIN
  FOR i IN 1..10 LOOP
    EXECUTE format('SELECT count(*) FROM ((SELECT * FROM tv%s EXCEPT ALL '
                   'SELECT k %% %s, count(*), count(DISTINCT x), count(DISTINCT t) FROM tv GROUP BY 1) UNION ALL '
                   '(SELECT k %% %s, count(*), count(DISTINCT x), count(DISTINCT t) FROM tv GROUP BY 1 EXCEPT ALL '
                   'SELECT * FROM tv%s)) d', i, i * 97, i * 97, i) INTO d;
    total := total + d;
  END LOOP;
  RETURN total;
END $$;
BEGIN;
INSERT INTO tv SELECT i, (i * 7) % 300, 'v' || ((i * 13) % 500), '2025-01-01' FROM generate_series(1, 20000) i;
SAVEPOINT s;
INSERT INTO tv SELECT i, 100000 + i, 'gone' || i, '2025-01-01' FROM generate_series(1, 5000) i;
ROLLBACK TO SAVEPOINT s;
INSERT INTO tv SELECT i % 50, i, 'w' || (i % 700), '2025-01-01' FROM generate_series(1, 20000) i;
COMMIT;
SELECT tv_differ() AS rows_differing, (SELECT count(*) FROM tv10) AS groups_tv10;
SELECT max(dx) > 64 AS beyond_64_values FROM tv10;

-- a refresh from events of many groups (the tail scan folds the events a
-- batch at a time once it holds 8,192 groups): one group's distinct values
-- become a sketch in the speed layer, 20,000 others get a few each, text
-- keys with NULLs among them
CREATE TABLE fe (k text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('fe', time_column => 'ts') \g /dev/null
CREATE MATERIALIZED VIEW fev WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, count(DISTINCT x) AS dx, sum(x) AS sx FROM fe GROUP BY k;
INSERT INTO fe SELECT CASE WHEN i % 997 = 0 THEN NULL ELSE 'key' || (i % 20000) END, i % 7, '2025-01-01'
  FROM generate_series(1, 60000) i;
INSERT INTO fe SELECT 'big', i, '2025-01-01' FROM generate_series(1, 5000) i;
REFRESH MATERIALIZED VIEW fev;
SELECT last_refresh_mode, last_refresh_groups FROM lambda.view_status WHERE view = 'fev'::regclass;
SELECT count(*) AS rows_differing
  FROM ((SELECT * FROM fev EXCEPT ALL SELECT k, count(*), count(DISTINCT x), sum(x) FROM fe GROUP BY k)
        UNION ALL (SELECT k, count(*), count(DISTINCT x), sum(x) FROM fe GROUP BY k EXCEPT ALL SELECT * FROM fev)) d;

-- the hashes of a set's values are the types' own extended hash functions'
-- (seed 0, then mixed): sets stored in batch tables and sketches keep them,
-- so they may not change from one version to the next. Sets past the speed
-- layer's cap become HyperLogLog sketches, whose estimates follow every bit
-- of the hashes: integers of each width, dates, timestamps, oids and "char",
-- negative values too
CREATE TABLE hx (k int, b bigint, i int, s smallint, d date, t timestamptz, o oid, c "char",
                 ts timestamptz NOT NULL);
SELECT lambda.create_event_table('hx', time_column => 'ts') \g /dev/null
CREATE MATERIALIZED VIEW hxv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(DISTINCT b) AS db, count(DISTINCT i) AS di, count(DISTINCT s) AS ds,
         count(DISTINCT d) AS dd, count(DISTINCT t) AS dt, count(DISTINCT o) AS do_,
         count(DISTINCT c) AS dc
    FROM hx GROUP BY k;
INSERT INTO hx SELECT g % 2, (g - 6000) * 7919::bigint * 1000003, (g - 6000) * 104729,
                      (g % 30000 - 15000)::smallint, date '1990-01-01' + (g - 6000),
                      timestamptz '1999-12-31 00:00+00' + (g - 6000) * interval '7 hours 3 seconds',
                      (g * 2654435761::bigint % 4294967296)::oid, chr(32 + g % 90)::"char", '2025-01-01'
  FROM generate_series(1, 12000) g;
SELECT * FROM hxv ORDER BY k;
DROP MATERIALIZED VIEW hxv;
DROP TABLE hx;

DROP EXTENSION pg_lambda CASCADE;
DROP TABLE ev, lat, quiet, mev, mg, tv, fe CASCADE;
