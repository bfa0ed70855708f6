-- Capture folds a statement's rows 16 at a time (partial_add_shaped_batch:
-- views of fixed-length columns, their WHERE and key expressions evaluated
-- over the columns they read), looking for each batch's groups in memory
-- before it folds its rows. Every row must still be folded once, into its
-- own group: statements of a size around the batch's, several views on one
-- table, rows with NULLs (folded the general way) in the middle of a batch,
-- rows the WHERE leaves out, rows read back from the transition table's
-- file, and states moved to shared memory mid-statement. Every answer is
-- compared with the defining query.
CREATE EXTENSION pg_lambda;
CREATE TABLE cb (k int, g int, x int, y bigint, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('cb', time_column => 'ts');

-- views that capture batches (one read of the rows feeds them all): by
-- columns, with a WHERE, and by expressions (one of them NULL for some rows)
-- under a WHERE on a column nothing else reads
CREATE MATERIALIZED VIEW cb_k WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, count(x) AS nx, sum(x) AS sx, min(x) AS lx, max(x) AS hx,
         avg(x) AS ax, min(y) AS ly, max(y) AS hy
    FROM cb GROUP BY k;
CREATE MATERIALIZED VIEW cb_g WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT g, k, count(*) AS n, sum(x) AS sx, max(y) AS hy
    FROM cb GROUP BY g, k;
CREATE MATERIALIZED VIEW cb_w WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT g, count(*) AS n, sum(x) AS sx
    FROM cb WHERE x > 3 GROUP BY g;
CREATE MATERIALIZED VIEW cb_e WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k / 10 AS kd, g % 2 AS gm, x > 100 AS big, nullif(k % 3, 0) AS nz,
         width_bucket(x, 0, 1000, 10) AS wb, count(*) AS n, sum(x) AS sx, max(y) AS hy
    FROM cb WHERE y % 3 <> 0 AND ts >= '2025-01-02' GROUP BY 1, 2, 3, 4, 5;
-- aggregates that are not computed inline but take columns only: their
-- transition functions are called with the columns read where they lie in
-- the row (sets of distinct values, numeric and int128 states)
CREATE MATERIALIZED VIEW cb_d WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, count(DISTINCT x) AS dx, count(DISTINCT g) AS dg, sum(y) AS sy,
         stddev_samp(x) AS sdx
    FROM cb GROUP BY k;
-- FILTER clauses on the shaped path too: evaluated over the columns they
-- read, of the row being folded (not of the batch's last row)
CREATE MATERIALIZED VIEW cb_f2 WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, count(*) FILTER (WHERE x > 500) AS big, sum(x) FILTER (WHERE g = 1) AS s1,
         count(DISTINCT x) FILTER (WHERE y % 2 = 0) AS dx, max(y) FILTER (WHERE x % 3 = 0) AS hy
    FROM cb GROUP BY k;
CREATE FUNCTION cb_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('rows %s; k: %s differ; g: %s differ; w: %s differ; e: %s differ; d: %s differ; f: %s differ',
    (SELECT count(*) FROM cb),
    (SELECT count(*) FROM ((SELECT * FROM cb_k EXCEPT ALL
                              SELECT k, count(*), count(x), sum(x), min(x), max(x), avg(x), min(y), max(y)
                                FROM cb GROUP BY k)
                           UNION ALL
                           (SELECT k, count(*), count(x), sum(x), min(x), max(x), avg(x), min(y), max(y)
                              FROM cb GROUP BY k
                            EXCEPT ALL SELECT * FROM cb_k)) d),
    (SELECT count(*) FROM ((SELECT * FROM cb_g EXCEPT ALL
                              SELECT g, k, count(*), sum(x), max(y) FROM cb GROUP BY g, k)
                           UNION ALL
                           (SELECT g, k, count(*), sum(x), max(y) FROM cb GROUP BY g, k
                            EXCEPT ALL SELECT * FROM cb_g)) d),
    (SELECT count(*) FROM ((SELECT * FROM cb_w EXCEPT ALL
                              SELECT g, count(*), sum(x) FROM cb WHERE x > 3 GROUP BY g)
                           UNION ALL
                           (SELECT g, count(*), sum(x) FROM cb WHERE x > 3 GROUP BY g
                            EXCEPT ALL SELECT * FROM cb_w)) d),
    (SELECT count(*) FROM ((SELECT * FROM cb_e EXCEPT ALL
                              SELECT k / 10, g % 2, x > 100, nullif(k % 3, 0), width_bucket(x, 0, 1000, 10), count(*), sum(x), max(y)
                                FROM cb WHERE y % 3 <> 0 AND ts >= '2025-01-02' GROUP BY 1, 2, 3, 4, 5)
                           UNION ALL
                           (SELECT k / 10, g % 2, x > 100, nullif(k % 3, 0), width_bucket(x, 0, 1000, 10), count(*), sum(x), max(y)
                              FROM cb WHERE y % 3 <> 0 AND ts >= '2025-01-02' GROUP BY 1, 2, 3, 4, 5
                            EXCEPT ALL SELECT * FROM cb_e)) d),
    (SELECT count(*) FROM ((SELECT * FROM cb_d EXCEPT ALL
                              SELECT k, count(*), count(DISTINCT x), count(DISTINCT g), sum(y), stddev_samp(x)
                                FROM cb GROUP BY k)
                           UNION ALL
                           (SELECT k, count(*), count(DISTINCT x), count(DISTINCT g), sum(y), stddev_samp(x)
                              FROM cb GROUP BY k
                            EXCEPT ALL SELECT * FROM cb_d)) d),
    (SELECT count(*) FROM ((SELECT * FROM cb_f2 EXCEPT ALL
                              SELECT k, count(*), count(*) FILTER (WHERE x > 500), sum(x) FILTER (WHERE g = 1),
                                     count(DISTINCT x) FILTER (WHERE y % 2 = 0), max(y) FILTER (WHERE x % 3 = 0)
                                FROM cb GROUP BY k)
                           UNION ALL
                           (SELECT k, count(*), count(*) FILTER (WHERE x > 500), sum(x) FILTER (WHERE g = 1),
                                   count(DISTINCT x) FILTER (WHERE y % 2 = 0), max(y) FILTER (WHERE x % 3 = 0)
                              FROM cb GROUP BY k
                            EXCEPT ALL SELECT * FROM cb_f2)) d))
$$;

-- statements of 1, 15, 16, 17, 31, 32, 33 and 1,025 rows, each row of a
-- statement with a value of its own (its position), groups of 1 to 7 rows;
-- every row must be counted once, in its own group
DO $$
DECLARE
  s int;
  base int := 0;
BEGIN
  FOREACH s IN ARRAY ARRAY[1, 15, 16, 17, 31, 32, 33, 1025] LOOP
    INSERT INTO cb SELECT (base + i) % (s % 7 + 1) + s * 10, i % 3, base + i, (base + i)::bigint * 1000000007, '2025-01-01'
      FROM generate_series(1, s) i;
    base := base + s;
  END LOOP;
END $$;
SELECT cb_same();
SELECT k, n, sx FROM cb_k WHERE k BETWEEN 10 AND 179 ORDER BY k;

-- NULLs send single rows the general way: the first, the last, and rows in
-- the middle of a batch; a NULL key (in both views) and a NULL argument
INSERT INTO cb SELECT CASE WHEN i IN (1, 8, 33) THEN NULL ELSE i % 5 END, i % 2,
                      CASE WHEN i IN (16, 17, 40) THEN NULL ELSE i END, i, '2025-01-02'
  FROM generate_series(1, 40) i;
SELECT cb_same();
SELECT k, n, nx, sx FROM cb_k WHERE k IS NULL OR k BETWEEN 0 AND 4 ORDER BY k;

-- one group taking every row: a batch's rows look for the same entry
INSERT INTO cb SELECT 7, 7, i, i, '2025-01-03' FROM generate_series(1, 100) i;
SELECT cb_same();

-- the transition table past work_mem: its rows are read back from a file,
-- each batch's rows held in slots of their own
SET work_mem = '64kB';
INSERT INTO cb SELECT i % 997 + 100000, i % 5, i, -i, '2025-01-04' FROM generate_series(1, 20000) i;
RESET work_mem;
SELECT cb_same();

-- past lambda.capture_memory the states move to shared memory every 1,024
-- rows, in the middle of the statement; the rows after that start new groups
SET lambda.capture_memory = '1MB';
BEGIN;
INSERT INTO cb SELECT i + 200000, i % 3, i % 1000, i, '2025-01-05' FROM generate_series(1, 30001) i;
INSERT INTO cb SELECT i + 200000, i % 3, -(i % 1000), -i, '2025-01-05' FROM generate_series(1, 30001, 7) i;
COMMIT;
RESET lambda.capture_memory;
SELECT cb_same();

SELECT count(*) AS groups, sum(n) AS n, count(*) FILTER (WHERE nz IS NULL) AS null_groups FROM cb_e;

-- a WHERE that reads no column is evaluated for every row all the same
CREATE MATERIALIZED VIEW cb_f WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT g, count(*) AS n FROM cb WHERE current_setting('cb.skip', true) IS DISTINCT FROM 'on' GROUP BY g;
SET cb.skip = 'on';
INSERT INTO cb SELECT i, i % 2, i, i, '2025-01-06' FROM generate_series(1, 100) i;
SELECT sum(n) - (SELECT count(*) FROM cb WHERE ts < '2025-01-06') AS counted_while_skipping FROM cb_f;
RESET cb.skip;
INSERT INTO cb SELECT i, i % 2, i, i, '2025-01-06' FROM generate_series(1, 50) i;
SELECT sum(n) - (SELECT count(*) FROM cb WHERE ts < '2025-01-06') AS counted_after FROM cb_f;
DROP MATERIALIZED VIEW cb_f;

-- a key expression's error is the expression's own, the statement's rows
-- none of the view's; the view's rows before it stay
CREATE TABLE co (k int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('co', time_column => 'ts');
CREATE MATERIALIZED VIEW co_v WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k * 1000000 AS big, count(*) AS n FROM co WHERE k <> 7 GROUP BY 1;
INSERT INTO co SELECT i % 20, '2025-01-01' FROM generate_series(1, 100) i;
INSERT INTO co SELECT CASE WHEN i = 40 THEN 5000 ELSE i % 20 END, '2025-01-01' FROM generate_series(1, 100) i;
SELECT count(*) AS groups, sum(n) AS n FROM co_v;
SELECT big, n FROM co_v ORDER BY big LIMIT 3;

DROP MATERIALIZED VIEW co_v;
DROP TABLE co;

-- an aggregate of two columns on the shaped path: each argument read at its
-- own offset (b lies after an unread column; the results rounded, as the
-- speed layer combines float states in another order than the query)
CREATE TABLE cf (k int, a float8, skip int, b float8, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('cf', time_column => 'ts');
CREATE MATERIALIZED VIEW cf_v WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, regr_slope(b, a) AS slope, regr_intercept(b, a) AS icpt, covar_pop(a, b) AS cov
    FROM cf GROUP BY k;
INSERT INTO cf SELECT i % 7, i % 13, -1, 3 * (i % 13) + i % 5, '2025-01-01' FROM generate_series(1, 1000) i;
INSERT INTO cf SELECT i % 7, i % 11, -1, 2 - (i % 11), '2025-01-01' FROM generate_series(1, 33) i;
SELECT count(*) AS differ FROM (
  (SELECT k, n, round(slope::numeric, 9), round(icpt::numeric, 9), round(cov::numeric, 9) FROM cf_v
   EXCEPT ALL
   SELECT k, count(*), round(regr_slope(b, a)::numeric, 9), round(regr_intercept(b, a)::numeric, 9),
          round(covar_pop(a, b)::numeric, 9) FROM cf GROUP BY k)
  UNION ALL
  (SELECT k, count(*), round(regr_slope(b, a)::numeric, 9), round(regr_intercept(b, a)::numeric, 9),
          round(covar_pop(a, b)::numeric, 9) FROM cf GROUP BY k
   EXCEPT ALL
   SELECT k, n, round(slope::numeric, 9), round(icpt::numeric, 9), round(cov::numeric, 9) FROM cf_v)) d;
SELECT k, n, round(slope::numeric, 6) AS slope FROM cf_v ORDER BY k LIMIT 3;
DROP MATERIALIZED VIEW cf_v;
DROP TABLE cf;
DROP MATERIALIZED VIEW cb_k;
DROP MATERIALIZED VIEW cb_g;
DROP MATERIALIZED VIEW cb_w;
DROP MATERIALIZED VIEW cb_e;
DROP MATERIALIZED VIEW cb_d;
DROP MATERIALIZED VIEW cb_f2;
DROP EXTENSION pg_lambda CASCADE;
