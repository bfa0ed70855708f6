-- The read paths of a continuous view: conditions on part of the group key
-- (equality, IN, ranges, parameters) are served by the speed layer's column
-- indexes instead of a read of every key, EXPLAIN says which, the planner
-- estimates the scan from them, and every answer equals the defining
-- query's: for groups only in the batch table, only in the speed layer and
-- in both, NULL keys, views whose keys are not compared by image (numeric)
-- and sliding windows.
SET timezone = 'UTC';
SET client_min_messages = warning;
CREATE EXTENSION pg_lambda;
CREATE TABLE ev (k text, g int, num numeric, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');

-- 40 keys k0..k39 x 4 values of g x 24 hours, and NULL keys
INSERT INTO ev SELECT 'k' || (i % 40), i % 4, (i % 3)::numeric / 2, i % 100,
                      '2025-01-01'::timestamptz + (i % 24) * interval '1 hour' + (i % 7) * interval '1 minute'
  FROM generate_series(1, 20000) i;
INSERT INTO ev VALUES (NULL, 1, 1, 5, '2025-01-01 03:00'), ('k1', NULL, NULL, 6, '2025-01-01 04:00');

CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, g, date_trunc('hour', ts) AS hour, count(*) AS n, sum(x) AS s, max(x) AS mx
    FROM ev GROUP BY k, g, date_trunc('hour', ts);
CREATE VIEW v_direct AS
  SELECT k, g, date_trunc('hour', ts) AS hour, count(*) AS n, sum(x) AS s, max(x) AS mx
    FROM ev GROUP BY k, g, date_trunc('hour', ts);
-- numeric keys: equal values may have different images (1.0, 1.00)
CREATE MATERIALIZED VIEW vn WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT num, k, count(*) AS n FROM ev GROUP BY num, k;
CREATE VIEW vn_direct AS SELECT num, k, count(*) AS n FROM ev GROUP BY num, k;

-- the tail: keys in both layers, keys only in the speed layer (k40..k49, g 7)
INSERT INTO ev SELECT 'k' || (i % 50), CASE WHEN i % 50 >= 40 THEN 7 ELSE i % 4 END,
                      (i % 3)::numeric / 2 + 0.00, i % 100,
                      '2025-01-01'::timestamptz + (i % 30) * interval '1 hour'
  FROM generate_series(1, 5000) i;
INSERT INTO ev VALUES (NULL, 2, 1.0, 7, '2025-01-02 03:00'), ('k1', NULL, 1.00, 8, '2025-01-01 04:00'),
                      (NULL, NULL, NULL, 9, '2025-01-01 05:00');
-- and k30..k39 get no new events: they are only in the batch table

-- compares the view's answer with the defining query's, both ways
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
-- the speed-layer lines of EXPLAIN ANALYZE (keys read: see speed_keys_read)
CREATE FUNCTION speed_path(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    CONTINUE WHEN line !~ '^ *Speed Layer' OR line ~ 'Keys Read';
    RETURN NEXT btrim(line);
  END LOOP;
END
$$;
-- how many speed-layer keys the scans of q examined, against all it holds
CREATE FUNCTION speed_keys_read(q text, OUT keys_read bigint, OUT speed_keys bigint) LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  keys_read := 0;
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line ~ 'Speed Layer Keys Read' THEN
      keys_read := keys_read + substring(line from '(\d+)$')::bigint;
    END IF;
  END LOOP;
  SELECT s.speed_keys INTO speed_keys FROM lambda.view_status s WHERE view = 'v'::regclass;
END
$$;

SELECT speed_keys > 1000 AS speed_layer_full FROM lambda.view_status WHERE view = 'v'::regclass;

-- equality on one key column, on two, IN lists, ranges, and combinations
SELECT same($$SELECT * FROM v WHERE k = 'k1'$$, $$SELECT * FROM v_direct WHERE k = 'k1'$$);
SELECT speed_path($$SELECT * FROM v WHERE k = 'k1'$$);
SELECT keys_read <= 2 * 30 * 5 AS few, keys_read < speed_keys AS not_all
  FROM speed_keys_read($$SELECT * FROM v WHERE k = 'k1'$$);
SELECT same($$SELECT * FROM v WHERE k = 'k45'$$, $$SELECT * FROM v_direct WHERE k = 'k45'$$);
SELECT same($$SELECT * FROM v WHERE k = 'k35'$$, $$SELECT * FROM v_direct WHERE k = 'k35'$$);
SELECT same($$SELECT * FROM v WHERE g = 7$$, $$SELECT * FROM v_direct WHERE g = 7$$);
SELECT speed_path($$SELECT * FROM v WHERE g = 7$$);
SELECT same($$SELECT * FROM v WHERE k = 'k2' AND g = 2$$, $$SELECT * FROM v_direct WHERE k = 'k2' AND g = 2$$);
SELECT same($$SELECT * FROM v WHERE k IN ('k1', 'k45', 'k35', 'k1', NULL, 'nope')$$,
            $$SELECT * FROM v_direct WHERE k IN ('k1', 'k45', 'k35', 'k1', NULL, 'nope')$$);
SELECT speed_path($$SELECT * FROM v WHERE k IN ('k1', 'k45', 'k35', 'k1', NULL, 'nope')$$);
SELECT same($$SELECT * FROM v WHERE hour >= '2025-01-01 20:00' AND hour < '2025-01-02 02:00'$$,
            $$SELECT * FROM v_direct WHERE hour >= '2025-01-01 20:00' AND hour < '2025-01-02 02:00'$$);
SELECT speed_path($$SELECT * FROM v WHERE hour >= '2025-01-01 20:00' AND hour < '2025-01-02 02:00'$$);
SELECT same($$SELECT * FROM v WHERE k = 'k3' AND hour > '2025-01-01 12:00'$$,
            $$SELECT * FROM v_direct WHERE k = 'k3' AND hour > '2025-01-01 12:00'$$);
SELECT speed_path($$SELECT * FROM v WHERE k = 'k3' AND hour > '2025-01-01 12:00'$$);
-- a bound of another type (date), an expression, text ranges
SELECT same($$SELECT * FROM v WHERE hour >= '2025-01-02'::date$$, $$SELECT * FROM v_direct WHERE hour >= '2025-01-02'::date$$);
SELECT same($$SELECT * FROM v WHERE k = 'k' || 4$$, $$SELECT * FROM v_direct WHERE k = 'k' || 4$$);
SELECT speed_path($$SELECT * FROM v WHERE k = 'k' || 4$$);
SELECT same($$SELECT * FROM v WHERE k > 'k47' AND g >= 3$$, $$SELECT * FROM v_direct WHERE k > 'k47' AND g >= 3$$);
-- ORDER BY ... LIMIT over a fixed part of the key
SELECT hour, n FROM v WHERE k = 'k45' ORDER BY hour DESC, g LIMIT 3;
SELECT hour, n FROM v_direct WHERE k = 'k45' ORDER BY hour DESC, g LIMIT 3;

-- NULL keys, NULL values, contradictions
SELECT same($$SELECT * FROM v WHERE k IS NULL$$, $$SELECT * FROM v_direct WHERE k IS NULL$$);
SELECT same($$SELECT * FROM v WHERE g IS NULL AND k = 'k1'$$, $$SELECT * FROM v_direct WHERE g IS NULL AND k = 'k1'$$);
SELECT same($$SELECT * FROM v WHERE g = NULL::int$$, $$SELECT * FROM v_direct WHERE g = NULL::int$$);
SELECT same($$SELECT * FROM v WHERE k = 'k1' AND k = 'k2'$$, $$SELECT * FROM v_direct WHERE k = 'k1' AND k = 'k2'$$);
SELECT same($$SELECT * FROM v WHERE k = 'k1' AND k IN ('k1', 'k2') AND g = 1$$,
            $$SELECT * FROM v_direct WHERE k = 'k1' AND k IN ('k1', 'k2') AND g = 1$$);
SELECT same($$SELECT * FROM v WHERE k IN (NULL)$$, $$SELECT * FROM v_direct WHERE k IN (NULL)$$);

-- parameters: a generic plan, and a nested loop probing the view
PREPARE q(text, timestamptz) AS SELECT * FROM v WHERE k = $1 AND hour >= $2;
CREATE FUNCTION vq(kk text, hh timestamptz) RETURNS SETOF v LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT * FROM v WHERE k = kk AND hour >= hh;
END
$$;
SET plan_cache_mode = force_generic_plan;
SELECT same($$SELECT * FROM vq('k46', '2025-01-01 10:00')$$,
            $$SELECT * FROM v_direct WHERE k = 'k46' AND hour >= '2025-01-01 10:00'$$);
SELECT same($$SELECT * FROM vq('k1', NULL)$$, $$SELECT * FROM v_direct WHERE k = 'k1' AND hour >= NULL$$);
SELECT speed_path($$EXECUTE q('k46', '2025-01-01 10:00')$$);
RESET plan_cache_mode;
CREATE TABLE probe (k text);
INSERT INTO probe VALUES ('k1'), ('k45'), ('k35'), (NULL);
ANALYZE probe;
SELECT same($$SELECT p.k AS pk, x.* FROM probe p CROSS JOIN LATERAL (SELECT * FROM v WHERE v.k = p.k OFFSET 0) x$$,
            $$SELECT p.k AS pk, x.* FROM probe p CROSS JOIN LATERAL (SELECT * FROM v_direct d WHERE d.k = p.k) x$$);
SELECT speed_path($$SELECT * FROM probe p CROSS JOIN LATERAL (SELECT * FROM v WHERE v.k = p.k OFFSET 0) x$$);

-- a plain join probes the view per outer row (Custom Scan (LambdaProbe)):
-- the batch table's index and the speed layer's column index with the
-- outer row's key, as the LATERAL form above does
CREATE TABLE urls (k text, tag int);
INSERT INTO urls VALUES ('k1', 1), ('k45', 2), ('k35', 3), ('nope', 4), (NULL, 5), ('k1', 6);
ANALYZE urls;
-- the join's strategy, the probe and the speed layer's path under it
CREATE FUNCTION probe_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    CONTINUE WHEN line !~ '(Nested Loop|Hash.*Join|Merge.*Join|LambdaProbe|Lambda Probe|Speed Layer: )'
               OR line ~ '(Filter|Cond):';
    RETURN NEXT regexp_replace(line, '^\s*(->\s*)?', '');
  END LOOP;
END
$$;
-- the planner chooses it for an outer row or two
SELECT probe_plan($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k WHERE u.tag = 2$$);
SELECT same($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k WHERE u.tag = 2$$,
            $$SELECT u.tag, d.* FROM urls u JOIN v_direct d ON d.k = u.k WHERE u.tag = 2$$);
-- and reads the view once for many
CREATE TABLE many_urls AS SELECT 'k' || (i % 60) AS k, i AS tag FROM generate_series(1, 20000) i;
ANALYZE many_urls;
SELECT probe_plan($$SELECT m.tag, v.* FROM many_urls m JOIN v ON v.k = m.k$$);
SELECT same($$SELECT m.tag, v.* FROM many_urls m JOIN v ON v.k = m.k$$,
            $$SELECT m.tag, d.* FROM many_urls m JOIN v_direct d ON d.k = m.k$$);
-- The test view is small: for six outer rows one read of it costs less
-- than six probes. Without hash and merge joins and materialization, the
-- planner probes, and the probe's answers are checked: keys only in the
-- batch table (k35), only in the speed layer (k45), in both (k1, twice),
-- absent, NULL.
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT probe_plan($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k$$);
SELECT same($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k$$,
            $$SELECT u.tag, d.* FROM urls u JOIN v_direct d ON d.k = u.k$$);
SELECT same($$SELECT u.tag, v.* FROM urls u JOIN v USING (k)$$,
            $$SELECT u.tag, d.* FROM urls u JOIN v_direct d USING (k)$$);
-- two key columns; a condition the probe leaves to its filter; LEFT JOIN
SELECT probe_plan($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k AND v.g = u.tag % 4$$);
SELECT same($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k AND v.g = u.tag % 4$$,
            $$SELECT u.tag, d.* FROM urls u JOIN v_direct d ON d.k = u.k AND d.g = u.tag % 4$$);
SELECT same($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k AND v.n > 40 * u.tag$$,
            $$SELECT u.tag, d.* FROM urls u JOIN v_direct d ON d.k = u.k AND d.n > 40 * u.tag$$);
SELECT probe_plan($$SELECT u.tag, v.hour, v.n FROM urls u LEFT JOIN v ON v.k = u.k$$);
SELECT same($$SELECT u.tag, v.hour, v.n FROM urls u LEFT JOIN v ON v.k = u.k$$,
            $$SELECT u.tag, d.hour, d.n FROM urls u LEFT JOIN v_direct d ON d.k = u.k$$);
-- numeric keys: equal values of different images (1.0, 1.00) meet
CREATE TABLE nums (num numeric);
INSERT INTO nums VALUES (1.0), (0.50), (NULL), (7);
ANALYZE nums;
SELECT probe_plan($$SELECT n.num AS probe, vn.* FROM nums n JOIN vn ON vn.num = n.num$$);
SELECT same($$SELECT n.num AS probe, vn.* FROM nums n JOIN vn ON vn.num = n.num$$,
            $$SELECT n.num AS probe, d.* FROM nums n JOIN vn_direct d ON d.num = n.num$$);
-- a generic plan of a prepared join
PREPARE pj(int) AS SELECT u.tag, v.hour, v.n FROM urls u JOIN v ON v.k = u.k WHERE u.tag <= $1;
SET plan_cache_mode = force_generic_plan;
SELECT probe_plan($$EXECUTE pj(3)$$);
CREATE FUNCTION run_pj(lim int) RETURNS TABLE (tag int, hour timestamptz, cnt bigint) LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('EXECUTE pj(%s)', lim);
END
$$;
SELECT same($$SELECT * FROM run_pj(3)$$,
            $$SELECT u.tag, d.hour, d.n FROM urls u JOIN v_direct d ON d.k = u.k WHERE u.tag <= 3$$);
RESET plan_cache_mode;
-- conditions on the view alone, which PostgreSQL moves into the view's
-- query, are the probe's too: a key and a time range per outer row
SELECT probe_plan($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k WHERE v.g = 1$$);
SELECT same($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k WHERE v.g = 1$$,
            $$SELECT u.tag, d.* FROM urls u JOIN v_direct d ON d.k = u.k WHERE d.g = 1$$);
SELECT probe_plan($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k WHERE v.hour >= '2025-01-01 20:00'$$);
SELECT same($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k WHERE v.hour >= '2025-01-01 20:00'$$,
            $$SELECT u.tag, d.* FROM urls u JOIN v_direct d ON d.k = u.k WHERE d.hour >= '2025-01-01 20:00'$$);
SELECT same($$SELECT u.tag, v.* FROM urls u JOIN v ON v.k = u.k WHERE v.g IN (SELECT 1) AND v.n > 2$$,
            $$SELECT u.tag, d.* FROM urls u JOIN v_direct d ON d.k = u.k WHERE d.g IN (SELECT 1) AND d.n > 2$$);
-- not offered: a join on an aggregate column
SELECT probe_plan($$SELECT u.tag, v.k FROM urls u JOIN v ON v.n = u.tag$$);
SELECT same($$SELECT u.tag, v.k FROM urls u JOIN v ON v.n = u.tag$$,
            $$SELECT u.tag, d.k FROM urls u JOIN v_direct d ON d.n = u.tag$$);
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
DEALLOCATE pj;
DROP FUNCTION run_pj(int);
DROP TABLE many_urls, nums;

-- the planner's estimate of a filtered speed-layer scan is near the truth,
-- so that a join with a selective condition probes the other table's index
ANALYZE lambda_catalog.v_batch;
CREATE TABLE big (g int PRIMARY KEY, label text);
INSERT INTO big SELECT i, 'g' || i FROM generate_series(0, 99999) i;
ANALYZE big;
CREATE FUNCTION speed_estimate(q text, OUT planned float8, OUT actual float8) LANGUAGE plpgsql AS $$
DECLARE
  plan json;
  node json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF) ' || q INTO plan;
  -- the first Foreign Scan node, depth first
  WITH RECURSIVE nodes(n) AS (
    SELECT plan -> 0 -> 'Plan'
    UNION ALL
    SELECT c FROM nodes, json_array_elements(nodes.n -> 'Plans') c)
  SELECT n INTO node FROM nodes WHERE n ->> 'Node Type' = 'Foreign Scan' LIMIT 1;
  planned := (node ->> 'Plan Rows')::float8;
  actual := (node ->> 'Actual Rows')::float8;
END
$$;
SELECT planned BETWEEN actual / 10 AND actual * 10 AS within_10x
  FROM speed_estimate($$SELECT * FROM v WHERE k = 'k45'$$);
SELECT planned BETWEEN actual / 10 AND actual * 10 AS within_10x
  FROM speed_estimate($$SELECT * FROM v WHERE k IN ('k45', 'k46', 'k1')$$);
SELECT planned BETWEEN actual / 10 AND actual * 10 AS within_10x
  FROM speed_estimate($$SELECT * FROM v WHERE k = 'k45' AND g = 7$$);
-- ranges with bounds known at plan time are counted in the column index
SELECT planned BETWEEN actual / 10 AND actual * 10 AS within_10x
  FROM speed_estimate($$SELECT * FROM v WHERE hour >= '2025-01-01 20:00' AND hour < '2025-01-02 02:00'$$);
SELECT planned BETWEEN actual / 10 AND actual * 10 AS within_10x
  FROM speed_estimate($$SELECT * FROM v WHERE k = 'k45' AND hour > '2025-01-01 12:00'$$);
-- the number of groups of the view and of a rollup over it: the batch
-- table's column statistics stand for the view's columns (PostgreSQL has
-- none for a UNION ALL or a grouped subquery, and assumed 200 values)
CREATE FUNCTION top_estimate(q text, OUT planned float8, OUT actual float8) LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF) ' || q INTO plan;
  planned := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
  actual := (plan -> 0 -> 'Plan' ->> 'Actual Rows')::float8;
END
$$;
SELECT planned BETWEEN actual / 10 AND actual * 10 AS within_10x
  FROM top_estimate($$SELECT g, sum(n) FROM v GROUP BY g$$);
SELECT planned BETWEEN actual / 10 AND actual * 10 AS within_10x
  FROM top_estimate($$SELECT hour, sum(n) FROM v GROUP BY hour$$);
SELECT planned BETWEEN actual / 10 AND actual * 10 AS within_10x
  FROM top_estimate($$SELECT * FROM v$$);
-- the whole view: its batch rows and speed-layer keys are groups each
-- (PostgreSQL's estimate for a GROUP BY of a union without statistics is
-- at most a tenth of its rows)
SELECT planned BETWEEN actual / 2 AND actual * 2 AS within_2x
  FROM top_estimate($$SELECT * FROM v$$);
DROP FUNCTION top_estimate(text);
-- the plan without its Group Key lines, which PostgreSQL 17+ shortens
CREATE FUNCTION plan_lines(query text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
  line text;
BEGIN
  -- the join's strategy, its probe of big and the speed layer's path; how
  -- the layers are merged under the join differs by major (17 and later
  -- drop a grouping key that WHERE fixes, and group through a projection)
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    CONTINUE WHEN line !~ '(Nested Loop|Hash Join|Merge Join| on big|Speed Layer: )';
    RETURN NEXT regexp_replace(line, '^\s*(->\s*)?', '');
  END LOOP;
END $f$;
SELECT plan_lines($q$SELECT v.hour, v.n, big.label FROM v JOIN big ON big.g = v.n WHERE v.k = 'k45'$q$);
DROP FUNCTION plan_lines(text);
SELECT same($$SELECT v.hour, v.n, big.label FROM v JOIN big ON big.g = v.n WHERE v.k = 'k45'$$,
            $$SELECT v.hour, v.n, big.label FROM v_direct v JOIN big ON big.g = v.n WHERE v.k = 'k45'$$);

-- whole-view reads: the merged scan (batch rows streamed, the speed layer's
-- keys hashed) answers what the GROUP BY answered, for keys in both layers,
-- in one of them, and NULL keys
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT k, sum(n), max(mx) FROM v GROUP BY k', 'SELECT k, sum(n), max(mx) FROM v_direct GROUP BY k');
SELECT same('SELECT * FROM vn', 'SELECT * FROM vn_direct');
EXPLAIN (COSTS OFF) SELECT count(*), sum(s) FROM v;
-- it probes the speed scan's copy of the speed layer by key image, whatever
-- work_mem (its memory is that copy, which any read of the speed layer
-- makes); EXPLAIN ANALYZE says how many entries it merged
SELECT speed_path('SELECT count(*), sum(s) FROM v');
-- a read that stops early lets go of the batch rows it read ahead
SELECT count(*) FROM (SELECT * FROM v LIMIT 5) s;
-- a view whose keys are not compared by image (numeric) hashes the speed
-- rows itself: only when they fit in a hash aggregate's memory; with less
-- memory the view groups as written, with the same answer
CREATE FUNCTION uses_merged_scan(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    IF line ~ 'LambdaMerge' THEN
      RETURN true;
    END IF;
  END LOOP;
  RETURN false;
END
$$;
CREATE TABLE nev (num numeric, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('nev', time_column => 'ts');
INSERT INTO nev SELECT i % 50, '2025-01-01' FROM generate_series(1, 1000) i;
CREATE MATERIALIZED VIEW vnb WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT num, count(*) AS n FROM nev GROUP BY num;
INSERT INTO nev SELECT i / 2, '2025-01-01' FROM generate_series(1, 6000) i;
SET work_mem = '64kB';
SET hash_mem_multiplier = 1;
SELECT uses_merged_scan('SELECT * FROM v');
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT uses_merged_scan('SELECT * FROM vnb');
SELECT same('SELECT * FROM vnb', 'SELECT num, count(*) AS n FROM nev GROUP BY num');
RESET work_mem;
RESET hash_mem_multiplier;
SELECT uses_merged_scan('SELECT * FROM v');
-- and with a condition that fixes a key (on 17 and later the grouping then
-- reads the UNION ALL's columns through a projection, in another order)
SELECT uses_merged_scan($$SELECT * FROM v WHERE k = 'k45'$$);
SELECT uses_merged_scan($$SELECT * FROM v WHERE k = 'k2' AND g = 2$$);
SELECT same($$SELECT * FROM v WHERE k = 'k2' AND g = 2$$, $$SELECT * FROM v_direct WHERE k = 'k2' AND g = 2$$);
SELECT uses_merged_scan('SELECT * FROM vnb');
SELECT same('SELECT * FROM vnb', 'SELECT num, count(*) AS n FROM nev GROUP BY num');
DROP MATERIALIZED VIEW vnb;
DROP TABLE nev;
DROP FUNCTION uses_merged_scan(text);

-- numeric keys: conditions are checked with the type's operators
SELECT same($$SELECT * FROM vn WHERE num = 1$$, $$SELECT * FROM vn_direct WHERE num = 1$$);
SELECT speed_path($$SELECT * FROM vn WHERE num = 1$$);
SELECT same($$SELECT * FROM vn WHERE num IN (0.5, 1.000)$$, $$SELECT * FROM vn_direct WHERE num IN (0.5, 1.000)$$);
SELECT same($$SELECT * FROM vn WHERE num >= 0.5 AND k = 'k45'$$, $$SELECT * FROM vn_direct WHERE num >= 0.5 AND k = 'k45'$$);

-- after a refresh (the tail in the batch table), then a new tail
REFRESH MATERIALIZED VIEW v;
REFRESH MATERIALIZED VIEW vn;
INSERT INTO ev VALUES ('k45', 7, 2, 1, '2025-01-01 01:00'), ('k99', 9, 2, 1, '2025-01-03 00:00');
SELECT same($$SELECT * FROM v WHERE k IN ('k45', 'k99')$$, $$SELECT * FROM v_direct WHERE k IN ('k45', 'k99')$$);
SELECT same($$SELECT * FROM v WHERE g >= 7$$, $$SELECT * FROM v_direct WHERE g >= 7$$);
SELECT speed_path($$SELECT * FROM v WHERE g >= 7$$);
SELECT same($$SELECT * FROM vn WHERE num = 2$$, $$SELECT * FROM vn_direct WHERE num = 2$$);
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT * FROM vn', 'SELECT * FROM vn_direct');
-- a refresh that rolls back leaves its closed generation unfolded: a key
-- then has an entry in two generations, both merged once with the batch
-- row, oldest first (max, sum and count over both)
BEGIN;
REFRESH MATERIALIZED VIEW v;
ROLLBACK;
INSERT INTO ev VALUES ('k45', 7, 2, 1000, '2025-01-01 01:00'), ('k98', 9, 2, 1, '2025-01-03 00:00'),
                      ('k99', 9, 2, 3, '2025-01-03 00:00'), ('k3', 3, 1, 99, '2025-01-01 03:00');
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT k, sum(n), max(mx) FROM v GROUP BY k', 'SELECT k, sum(n), max(mx) FROM v_direct GROUP BY k');
SELECT same($$SELECT * FROM v WHERE k IN ('k45', 'k99', 'k3')$$, $$SELECT * FROM v_direct WHERE k IN ('k45', 'k99', 'k3')$$);

-- a sliding window: a condition on a key column besides the window's steps
CREATE TABLE sev (k text, g int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('sev', time_column => 'ts');
INSERT INTO sev SELECT 'k' || (i % 5), i % 3, now() - i * interval '3 seconds' FROM generate_series(0, 600) i;
CREATE MATERIALIZED VIEW sw WITH (lambda.continuous, lambda.sliding_window = '10 minutes',
                                  lambda.window_step = '1 minute', lambda.refresh_interval = '1 hour') AS
  SELECT k, g, count(*) AS n FROM sev GROUP BY k, g;
INSERT INTO sev SELECT 'k' || (i % 7), i % 3, now() - i * interval '2 seconds' FROM generate_series(0, 300) i;
BEGIN;
SELECT same($$SELECT * FROM sw WHERE g = 1$$,
            $$SELECT k, g, count(*) AS n FROM sev
               WHERE ts >= date_bin('1 minute', now() - interval '10 minutes', '2000-01-01 00:00+00')
                 AND ts < date_bin('1 minute', now(), '2000-01-01 00:00+00') + interval '1 minute'
                 AND g = 1 GROUP BY k, g$$);
SELECT speed_path($$SELECT * FROM sw WHERE g = 1$$);
COMMIT;

-- ORDER BY <keys> LIMIT n over the whole view: the ordered merged scan
-- (LambdaOrder) reads the batch table in the order of an index on it and
-- merges the sorted speed layer, in the order asked, row for row as the
-- defining query answers (ORDER BY on all the keys: one answer)
CREATE FUNCTION same_order(q_view text, q_direct text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  av text[];
  ad text[];
BEGIN
  EXECUTE format('SELECT array(SELECT q::text FROM (%s) q)', q_view) INTO av;
  EXECUTE format('SELECT array(SELECT q::text FROM (%s) q)', q_direct) INTO ad;
  RETURN format('%s rows, %s', cardinality(av), CASE WHEN av IS NOT DISTINCT FROM ad THEN 'same order' ELSE 'differ' END);
END
$$;
-- the ordered scan's lines of EXPLAIN, or that there is none
CREATE FUNCTION order_path(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
  found boolean := false;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    CONTINUE WHEN line !~ 'LambdaOrder|Lambda Order';
    found := true;
    RETURN NEXT btrim(regexp_replace(line, '^ *->', ''));
  END LOOP;
  IF NOT found THEN
    RETURN NEXT 'no LambdaOrder';
  END IF;
END
$$;
-- long keys (the batch table's _lambda_long rows): one only in the batch,
-- one in both layers, one only in the speed layer; an index on hour
-- and 30,000 groups after them in each order used below (keys zz*, an
-- older hour, num 7), so that reading the first groups in order is clearly
-- cheaper than reading every group on every major
INSERT INTO ev VALUES (repeat('kz', 1600) || md5('a'), 1, 1, 1, '2025-01-01 02:00'),
                      ('k' || repeat(md5('b'), 90), 1, 1, 2, '2025-01-01 02:00');
INSERT INTO ev SELECT 'zz' || i, 1, 7, 1, '2024-06-01' FROM generate_series(1, 30000) i;
REFRESH MATERIALIZED VIEW v;
REFRESH MATERIALIZED VIEW vn;
CREATE INDEX ON lambda_catalog.v_batch (hour);
ANALYZE lambda_catalog.v_batch, lambda_catalog.vn_batch;
SELECT count(*) AS long_batch_rows FROM lambda_catalog.v_batch WHERE _lambda_long;
INSERT INTO ev SELECT 'k' || (i % 50), CASE WHEN i % 50 >= 40 THEN 8 ELSE i % 4 END, 1, i % 100,
                      '2025-01-01'::timestamptz + (i % 30) * interval '1 hour'
  FROM generate_series(1, 40) i;
INSERT INTO ev VALUES (repeat('kz', 1600) || md5('a'), 1, 1, 10, '2025-01-01 02:00'),
                      (repeat('kz', 1600) || md5('c'), 1, 1, 11, '2025-01-01 02:00'),
                      (NULL, 3, 1, 12, '2025-01-03 00:00'), ('aa', NULL, 1.000, 13, '2025-01-01 00:00'),
                      ('k5', 0, 0.50, 14, '2024-12-31 00:00');
-- a refresh rolled back: keys with entries in two generations
BEGIN;
REFRESH MATERIALIZED VIEW v;
ROLLBACK;
INSERT INTO ev VALUES ('aa', NULL, 1, 15, '2025-01-01 00:00'), ('k5', 0, 0.5, 16, '2024-12-31 00:00'),
                      (repeat('kz', 1600) || md5('c'), 1, 1, 17, '2025-01-01 02:00');
SELECT order_path($$SELECT * FROM v ORDER BY k, g, hour LIMIT 10$$);
SELECT same_order($$SELECT k, g, hour, n, s, mx FROM v ORDER BY k, g, hour LIMIT 10$$,
                  $$SELECT k, g, hour, n, s, mx FROM v_direct ORDER BY k, g, hour LIMIT 10$$);
-- past the long keys (kz*, k + 2880 characters), into the zz* keys
SELECT order_path($$SELECT * FROM v ORDER BY k, g, hour LIMIT 600$$);
SELECT same_order($$SELECT * FROM v ORDER BY k, g, hour LIMIT 600$$,
                  $$SELECT * FROM v_direct ORDER BY k, g, hour LIMIT 600$$);
SELECT k, g, hour, n, s, mx FROM v ORDER BY k, g, hour LIMIT 3;
SELECT order_path($$SELECT * FROM v ORDER BY k DESC, g DESC, hour DESC LIMIT 10$$);
SELECT same_order($$SELECT * FROM v ORDER BY k DESC, g DESC, hour DESC LIMIT 10$$,
                  $$SELECT * FROM v_direct ORDER BY k DESC, g DESC, hour DESC LIMIT 10$$);
SELECT order_path($$SELECT * FROM v ORDER BY hour DESC, k, g LIMIT 10$$);
SELECT same_order($$SELECT * FROM v ORDER BY hour DESC, k, g LIMIT 10$$,
                  $$SELECT * FROM v_direct ORDER BY hour DESC, k, g LIMIT 10$$);
SELECT same_order($$SELECT * FROM v ORDER BY hour, k, g LIMIT 10$$,
                  $$SELECT * FROM v_direct ORDER BY hour, k, g LIMIT 10$$);
-- every hour of the tail and of the batch before the 30,000 groups of 2024-06-01
SELECT order_path($$SELECT * FROM v ORDER BY hour DESC, k, g LIMIT 600$$);
SELECT same_order($$SELECT * FROM v ORDER BY hour DESC, k, g LIMIT 600$$,
                  $$SELECT * FROM v_direct ORDER BY hour DESC, k, g LIMIT 600$$);
SELECT same_order($$SELECT * FROM v WHERE g IS NULL OR k IS NULL ORDER BY k, g, hour LIMIT 20$$,
                  $$SELECT * FROM v_direct WHERE g IS NULL OR k IS NULL ORDER BY k, g, hour LIMIT 20$$);
-- conditions on the view move into the branches read in order
SELECT same_order($$SELECT * FROM v WHERE g = 1 ORDER BY k, g, hour LIMIT 10$$,
                  $$SELECT * FROM v_direct WHERE g = 1 ORDER BY k, g, hour LIMIT 10$$);
SELECT same_order($$SELECT * FROM v WHERE k > 'k3' AND k < 'zz' AND hour < '2025-01-01 05:00' ORDER BY k DESC, g DESC, hour DESC LIMIT 10$$,
                  $$SELECT * FROM v_direct WHERE k > 'k3' AND k < 'zz' AND hour < '2025-01-01 05:00' ORDER BY k DESC, g DESC, hour DESC LIMIT 10$$);
SELECT same_order($$SELECT * FROM vn WHERE num < 1 ORDER BY num DESC, k DESC LIMIT 300$$,
                  $$SELECT * FROM vn_direct WHERE num < 1 ORDER BY num DESC, k DESC LIMIT 300$$);
-- another NULLS placement or collation than the index's is another order: not served by it
SELECT order_path($$SELECT * FROM v ORDER BY k NULLS FIRST, g, hour LIMIT 10$$);
SELECT same_order($$SELECT * FROM v ORDER BY k NULLS FIRST, g, hour LIMIT 10$$,
                  $$SELECT * FROM v_direct ORDER BY k NULLS FIRST, g, hour LIMIT 10$$);
SELECT order_path($$SELECT * FROM v ORDER BY k COLLATE "C", g, hour LIMIT 10$$);
SELECT same_order($$SELECT * FROM v ORDER BY k COLLATE "C" DESC, g, hour LIMIT 10$$,
                  $$SELECT * FROM v_direct ORDER BY k COLLATE "C" DESC, g, hour LIMIT 10$$);
-- numeric keys: equal values of different images are one group
SELECT order_path($$SELECT * FROM vn ORDER BY num, k LIMIT 300$$);
SELECT same_order($$SELECT * FROM vn ORDER BY num, k LIMIT 300$$,
                  $$SELECT * FROM vn_direct ORDER BY num, k LIMIT 300$$);
SELECT same_order($$SELECT * FROM vn ORDER BY num DESC, k DESC LIMIT 7$$,
                  $$SELECT * FROM vn_direct ORDER BY num DESC, k DESC LIMIT 7$$);
-- the whole view in order (without a LIMIT the planner compares the ordered
-- read of every group with the unordered one and a sort), and a rollup
SELECT same_order($$SELECT * FROM v ORDER BY k, g, hour$$, $$SELECT * FROM v_direct ORDER BY k, g, hour$$);
SELECT same_order($$SELECT * FROM v ORDER BY k DESC, g DESC, hour DESC$$,
                  $$SELECT * FROM v_direct ORDER BY k DESC, g DESC, hour DESC$$);
SELECT same('SELECT k, sum(n), max(mx) FROM v GROUP BY k', 'SELECT k, sum(n), max(mx) FROM v_direct GROUP BY k');

-- ORDER BY ... LIMIT reads the speed layer along an ordered run of its
-- keys (merge_run.c), kept by the session between queries: made at the
-- first read, kept while commits only update keys it holds, given the keys
-- commits add, made again after a refresh
CREATE TABLE evo (k text, h int, x int, ts timestamptz NOT NULL DEFAULT '2025-01-01');
SELECT lambda.create_event_table('evo', time_column => 'ts');
CREATE MATERIALIZED VIEW vo WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, h, count(*) AS n, sum(x) AS s FROM evo GROUP BY k, h;
CREATE VIEW vo_direct AS SELECT k, h, count(*) AS n, sum(x) AS s FROM evo GROUP BY k, h;
INSERT INTO evo SELECT 'b' || (i % 3000), i % 7, i FROM generate_series(1, 20000) i;
REFRESH MATERIALIZED VIEW vo;
ANALYZE lambda_catalog.vo_batch;
INSERT INTO evo SELECT 'c' || (i % 40), i % 3, i FROM generate_series(1, 200) i;
INSERT INTO evo SELECT 'b' || (i % 20), 9, i FROM generate_series(1, 100) i;
-- how the ordered scan (the only one that says so) read the speed layer
CREATE FUNCTION order_read(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    CONTINUE WHEN line !~ 'Speed Layer Read|Speed Layer Rows Ordered';
    RETURN NEXT btrim(line);
  END LOOP;
END
$$;
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k, h LIMIT 30$$);
-- lambda.order_run_memory bounds what the session keeps: a run larger
-- serves its query and is not kept (0: none is), and the order is the same
SET lambda.order_run_memory = 0;
SELECT order_read($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 5$$);
SELECT order_read($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k DESC, h DESC LIMIT 30$$);
RESET lambda.order_run_memory;
-- the run kept before is still there
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo WHERE k >= 'c' ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct WHERE k >= 'c' ORDER BY k, h LIMIT 30$$);
-- a condition the speed layer's scan checks: read whole, no run (where
-- the planner takes the ordered scan for it at all: 15 does, 17 and 18 not)
SELECT bool_and(r !~ 'ordered run') IS NOT FALSE AS no_run
  FROM order_read($$SELECT * FROM vo WHERE k >= 'c' ORDER BY k, h LIMIT 5$$) r;
-- commits to keys the run holds: kept, their new states read
INSERT INTO evo SELECT 'b' || (i % 20), 9, 1000 FROM generate_series(1, 50) i;
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k, h LIMIT 30$$);
-- new keys, first in the order and among the run's: added to it
INSERT INTO evo (k, h, x) VALUES ('a', 1, 5), ('b1', 8, 6), ('b10', 9, 7), ('c5', 7, 8);
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k, h LIMIT 30$$);
SELECT same_order($$SELECT * FROM vo WHERE k >= 'c' ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct WHERE k >= 'c' ORDER BY k, h LIMIT 30$$);
-- the other direction: a run of its own
SELECT order_read($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k DESC, h DESC LIMIT 30$$);
-- new keys added to a run that reads went into: one before the part read,
-- one after it (among the batch table's keys)
INSERT INTO evo (k, h, x) VALUES ('d0', 1, 1), ('b999', 8, 2);
SELECT order_read($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 200$$,
                  $$SELECT * FROM vo_direct ORDER BY k DESC, h DESC LIMIT 200$$);
-- a refresh folds every key into the batch table: a run of the keys
-- after the new cut (none)
REFRESH MATERIALIZED VIEW vo;
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k, h LIMIT 30$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k DESC, h DESC LIMIT 30$$);
-- a key in two generations (a refresh rolled back between its commits)
INSERT INTO evo (k, h, x) VALUES ('a', 1, 100), ('b1', 9, 200), ('d', 1, 1);
BEGIN;
REFRESH MATERIALIZED VIEW vo;
ROLLBACK;
INSERT INTO evo (k, h, x) VALUES ('a', 1, 1000), ('b1', 9, 2000), ('d', 1, 10), ('d', 2, 20);
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k, h LIMIT 30$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k DESC, h DESC LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k DESC, h DESC LIMIT 30$$);
-- a cursor reads on along its run while its transaction's refresh makes
-- the next query a run of its own (the cursor's goes at commit)
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM vo ORDER BY k, h LIMIT 30;
FETCH 2 FROM c;
REFRESH MATERIALIZED VIEW vo;
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k, h LIMIT 30$$);
FETCH 2 FROM c;
COMMIT;
SELECT same_order($$SELECT * FROM vo ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k, h LIMIT 30$$);
-- a session keeps at most eight runs, the least recently used dropped
-- first: ten runs (five views, both directions), then the first of them is
-- made again and the last is kept
CREATE MATERIALIZED VIEW vo1 WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, h, count(*) AS n, sum(x) AS s FROM evo GROUP BY k, h;
CREATE MATERIALIZED VIEW vo2 WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, h, count(*) AS n, sum(x) AS s FROM evo GROUP BY k, h;
CREATE MATERIALIZED VIEW vo3 WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, h, count(*) AS n, sum(x) AS s FROM evo GROUP BY k, h;
CREATE MATERIALIZED VIEW vo4 WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, h, count(*) AS n, sum(x) AS s FROM evo GROUP BY k, h;
ANALYZE lambda_catalog.vo1_batch, lambda_catalog.vo2_batch, lambda_catalog.vo3_batch, lambda_catalog.vo4_batch;
INSERT INTO evo (k, h, x) VALUES ('a', 1, 1), ('e', 2, 2);
SELECT v, d, (SELECT string_agg(r, '; ') FROM order_read(format('SELECT * FROM %s ORDER BY k %s, h %2$s LIMIT 5', v, d)) r)
  FROM unnest(ARRAY['vo', 'vo1', 'vo2', 'vo3', 'vo4']) v, unnest(ARRAY['ASC', 'DESC']) d
 ORDER BY v, d;
SELECT order_read($$SELECT * FROM vo4 ORDER BY k DESC, h DESC LIMIT 5$$);
SELECT order_read($$SELECT * FROM vo ORDER BY k, h LIMIT 5$$);
SELECT same_order($$SELECT * FROM vo ORDER BY k, h LIMIT 30$$,
                  $$SELECT * FROM vo_direct ORDER BY k, h LIMIT 30$$);
DROP MATERIALIZED VIEW vo1, vo2, vo3, vo4;
DROP VIEW vo_direct;
DROP MATERIALIZED VIEW vo;
DROP TABLE evo;
DROP FUNCTION order_read(text);

DEALLOCATE q;
DROP FUNCTION vq(text, timestamptz);
DROP VIEW v_direct, vn_direct;
DROP MATERIALIZED VIEW v, vn, sw;
DROP TABLE ev, sev, probe, big, urls;
DROP FUNCTION same(text, text), same_order(text, text), order_path(text), probe_plan(text), speed_path(text), speed_keys_read(text), speed_estimate(text);
DROP EXTENSION pg_lambda;
