-- Whole-view reads in parallel (merge_group.c, "Parallel execution"): a
-- Gather over a parallel LambdaMerge, whose batch table is read by a
-- parallel sequential scan and whose speed layer the leader copies once
-- into shared memory for every participant; the keys only in the speed
-- layer come from the last participant to finish its batch rows. Each
-- answer is compared with the defining query's, row by row both ways (a key
-- lost or returned twice differs): at tail 0, with a tail in two
-- generations (keys in both layers, keys only in the speed layer), with
-- NULL keys and long keys, with parallel_leader_participation off, and
-- under rescans (the view inside a correlated subquery and on the inner
-- side of a nested loop).
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
CREATE FUNCTION same(q_view text, q_direct text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  nv bigint;
  nd bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM (%s) q', q_view) INTO nv;
  EXECUTE format('SELECT count(*) FROM (((%s) EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL (%s))) d',
                 q_view, q_direct, q_direct, q_view) INTO nd;
  RETURN format('%s rows, %s differ', nv, nd);
END
$$;
-- the plan's nodes that say how q runs, and its workers launched
CREATE FUNCTION par_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line ~ 'Gather|LambdaMerge|Parallel Seq Scan|Foreign Scan|Workers Planned|Loop|SubPlan' THEN
      RETURN NEXT regexp_replace(line, '\s*\(actual.*$', '');
    END IF;
  END LOOP;
END
$$;

CREATE TABLE ev (k text, g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev SELECT 'k' || (i % 30000), i % 4, i % 1000, '2025-01-01'
  FROM generate_series(1, 300000) i;
INSERT INTO ev VALUES (NULL, 0, 5, '2025-01-01'), (NULL, NULL, 6, '2025-01-01'),
                      (repeat('L', 3000), 1, 7, '2025-01-01');
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, g, count(*) AS n, sum(x) AS sx, max(x) AS mx FROM ev GROUP BY k, g;
CREATE VIEW v_direct AS
  SELECT k, g, count(*) AS n, sum(x) AS sx, max(x) AS mx FROM ev GROUP BY k, g;
ANALYZE lambda_catalog.v_batch;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

-- the plans: a Gather over the parallel merged scan, for a rollup, a count
-- and the whole view
EXPLAIN (COSTS OFF) SELECT count(*), sum(n), sum(sx) FROM v;
EXPLAIN (COSTS OFF) SELECT g, sum(n) FROM v GROUP BY g;
EXPLAIN (COSTS OFF) SELECT * FROM v;

-- tail 0
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT g, sum(n), max(mx) FROM v GROUP BY g', 'SELECT g, sum(n), max(mx) FROM v_direct GROUP BY g');
SELECT same('SELECT count(*), sum(n), sum(sx) FROM v', 'SELECT count(*), sum(n), sum(sx) FROM v_direct');

-- a tail in two generations: keys in both layers, keys only in the speed
-- layer (new k, a new NULL group, a new long key)
INSERT INTO ev SELECT CASE WHEN i % 5 = 0 THEN 'n' ELSE 'k' END || (i % 700), i % 4, i % 997, '2025-01-02'
  FROM generate_series(1, 3000) i;
INSERT INTO ev VALUES (NULL, 7, 1, '2025-01-02'), (repeat('M', 3000), 2, 8, '2025-01-02'),
                      (repeat('L', 3000), 1, 9, '2025-01-02');
-- a refresh that rolls back leaves its generation unfolded: a key then has
-- an entry in each generation
BEGIN;
REFRESH MATERIALIZED VIEW v;
ROLLBACK;
INSERT INTO ev SELECT CASE WHEN i % 3 = 0 THEN 'm' ELSE 'k' END || (i % 900), i % 4, i % 991, '2025-01-03'
  FROM generate_series(1, 2000) i;
INSERT INTO ev VALUES (NULL, NULL, 2, '2025-01-03'), (repeat('N', 3000), 3, 10, '2025-01-03');
SELECT * FROM par_plan('SELECT count(*), sum(n), sum(sx) FROM v');
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT g, sum(n), max(mx) FROM v GROUP BY g', 'SELECT g, sum(n), max(mx) FROM v_direct GROUP BY g');
SELECT same('SELECT count(*), sum(n), sum(sx) FROM v', 'SELECT count(*), sum(n), sum(sx) FROM v_direct');
SELECT same('SELECT k, g, n FROM v WHERE k IS NULL OR length(k) > 100',
            'SELECT k, g, n FROM v_direct WHERE k IS NULL OR length(k) > 100');

-- the leader reads no batch rows: the workers do all, one of them the rest
SET parallel_leader_participation = off;
SELECT * FROM par_plan('SELECT * FROM v');
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT count(*), sum(n), sum(sx) FROM v', 'SELECT count(*), sum(n), sum(sx) FROM v_direct');
RESET parallel_leader_participation;

-- no worker to be had: the leader alone, with its shared copy
SET max_parallel_workers = 0;
SELECT same('SELECT g, sum(n), max(mx) FROM v GROUP BY g', 'SELECT g, sum(n), max(mx) FROM v_direct GROUP BY g');
RESET max_parallel_workers;

-- rescans: the Gather started again for each outer row (the correlation is
-- in the aggregate above it, so the Gather itself has no parameter)
CREATE TABLE gs (g int);
INSERT INTO gs VALUES (0), (1), (2), (3), (7), (NULL);
ANALYZE gs;
SELECT * FROM par_plan('SELECT g, (SELECT count(*) FILTER (WHERE v.g IS NOT DISTINCT FROM gs.g) FROM v) FROM gs');
SELECT same('SELECT g, (SELECT count(*) FILTER (WHERE v.g IS NOT DISTINCT FROM gs.g) FROM v) FROM gs',
            'SELECT g, (SELECT count(*) FILTER (WHERE v.g IS NOT DISTINCT FROM gs.g) FROM v_direct v) FROM gs');
SELECT same('SELECT g, (SELECT sum(n) FILTER (WHERE v.g = gs.g) FROM v) FROM gs',
            'SELECT g, (SELECT sum(n) FILTER (WHERE v.g = gs.g) FROM v_direct v) FROM gs');
SELECT same('SELECT g, (SELECT array_agg(k || n ORDER BY k, n) FILTER (WHERE v.g = gs.g AND k > ''n6'') FROM v) FROM gs',
            'SELECT g, (SELECT array_agg(k || n ORDER BY k, n) FILTER (WHERE v.g = gs.g AND k > ''n6'') FROM v_direct v) FROM gs');
SET parallel_leader_participation = off;
SELECT same('SELECT g, (SELECT sum(n) FILTER (WHERE v.g = gs.g) FROM v) FROM gs',
            'SELECT g, (SELECT sum(n) FILTER (WHERE v.g = gs.g) FROM v_direct v) FROM gs');
RESET parallel_leader_participation;

-- after a refresh: the tail folded into the batch table
REFRESH MATERIALIZED VIEW v;
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT count(*), sum(n), sum(sx) FROM v', 'SELECT count(*), sum(n), sum(sx) FROM v_direct');

-- a speed layer larger than the batch table: the leader's copy of it would
-- cost more than the workers save, so the merged scan stays serial
INSERT INTO ev SELECT 'big' || i, i % 4, i, '2025-01-04' FROM generate_series(1, 40000) i;
SELECT * FROM par_plan('SELECT count(*), sum(n), sum(sx) FROM v');
SELECT same('SELECT count(*), sum(n), sum(sx) FROM v', 'SELECT count(*), sum(n), sum(sx) FROM v_direct');

-- without parallelism, the serial merged scan
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT count(*), sum(n), sum(sx) FROM v;

DROP VIEW v_direct;
DROP MATERIALIZED VIEW v;
DROP TABLE ev, gs;
DROP FUNCTION same(text, text), par_plan(text);
DROP EXTENSION pg_lambda;
