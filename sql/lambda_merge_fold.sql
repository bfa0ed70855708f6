-- Whole-view reads that merge count, sum(int4), min and max (int4, int8)
-- straight from their states' bytes (mergestate.c: merge_state_fold_images),
-- beside aggregates merged through their functions (avg, sum of int8), in
-- both merged scans: probing the speed layer's copy by key image, and
-- hashing the speed rows (numeric keys). Each answer is compared with the
-- defining query's: keys in both layers, in one of them, in several
-- generations, NULL keys, NULL states (a group whose x are all NULL), long
-- keys, numeric keys equal but written differently (1.0 and 1.00). A read
-- of the whole view reads the batch table in one scan (merge_group.c).
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
-- which merged scan answers q: by key image, hashing the speed rows, or none
CREATE FUNCTION merged_by(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  line text;
  merge boolean := false;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF line ~ 'Merged By Key Image' THEN
      RETURN 'key image';
    END IF;
    merge := merge OR line ~ 'LambdaMerge';
  END LOOP;
  RETURN CASE WHEN merge THEN 'hashed speed rows' ELSE 'none' END;
END
$$;

CREATE TABLE ev (k text, g int, x int, y bigint, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev SELECT 'k' || (i % 40), i % 3, CASE WHEN i % 7 = 0 THEN NULL ELSE i - 300 END,
                      (i - 300) * 10000000000, '2025-01-01'
  FROM generate_series(1, 600) i;
INSERT INTO ev VALUES ('nullx', 0, NULL, NULL, '2025-01-01'), (NULL, NULL, 5, 5, '2025-01-01'),
                      (NULL, 1, NULL, NULL, '2025-01-01'), (repeat('L', 3000), 1, 7, 7, '2025-01-01'),
                      ('batchonly', 1, 2147483647, 9223372036854775807, '2025-01-01');
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, g, count(*) AS n, count(x) AS nx, sum(x) AS sx, min(x) AS mnx, max(x) AS mxx,
         min(y) AS mny, max(y) AS mxy, avg(x) AS ax, sum(y) AS sy
    FROM ev GROUP BY k, g;
CREATE VIEW v_direct AS
  SELECT k, g, count(*) AS n, count(x) AS nx, sum(x) AS sx, min(x) AS mnx, max(x) AS mxx,
         min(y) AS mny, max(y) AS mxy, avg(x) AS ax, sum(y) AS sy
    FROM ev GROUP BY k, g;

-- tail 0: batch rows alone
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
-- a read of the whole view reads the batch table once (its two branches,
-- NOT _lambda_long and _lambda_long, as one scan without a filter), its
-- rows as they lie (no Subquery Scan, no projection: the columns read are
-- the table's first); a condition keeps both branches
EXPLAIN (COSTS OFF) SELECT * FROM v;
EXPLAIN (COSTS OFF) SELECT k, sum(n) FROM v GROUP BY k;
SELECT same('SELECT k, sum(n) FROM v GROUP BY k', 'SELECT k, sum(n) FROM v_direct GROUP BY k');
-- columns read that are not the first ones: the scan returns the table's
-- rows as they lie, a Subquery Scan picks the columns
EXPLAIN (COSTS OFF, VERBOSE) SELECT k, sum(mxy) FROM v GROUP BY k;
SELECT same('SELECT k, sum(mxy) FROM v GROUP BY k', 'SELECT k, sum(mxy) FROM v_direct GROUP BY k');
SELECT same('SELECT k, g, n, nx FROM v', 'SELECT k, g, n, nx FROM v_direct');
-- every aggregate foldable: each batch row's states read as they lie
-- (count, sum(int4), min and max of int4 and int8), NULL states among them
SELECT same('SELECT k, g, n, nx, sx, mnx, mxx, mny, mxy FROM v', 'SELECT k, g, n, nx, sx, mnx, mxx, mny, mxy FROM v_direct');
SELECT same('SELECT * FROM v WHERE g = 1', 'SELECT * FROM v_direct WHERE g = 1');
-- a whole-view read rescanned (a subquery run again per outer row): the
-- batch table's scan starts again each time
SELECT same('SELECT i, (SELECT sum(n) FROM v WHERE i > 0), (SELECT max(mxy) FROM v WHERE i < 3) FROM generate_series(0, 3) i',
            'SELECT i, (SELECT sum(n) FROM v_direct WHERE i > 0), (SELECT max(mxy) FROM v_direct WHERE i < 3) FROM generate_series(0, 3) i');
-- a tail: keys in both layers (some with NULL x in one layer only), keys
-- only in the speed layer, the NULL key and the long key in both, a state
-- that becomes larger or smaller than the batch's
INSERT INTO ev SELECT 'k' || (i % 60), i % 3, CASE WHEN i % 5 = 0 THEN NULL ELSE 1000 - i END,
                      i * -20000000000, '2025-01-01'
  FROM generate_series(1, 400) i;
INSERT INTO ev VALUES ('nullx', 0, 3, 3, '2025-01-01'), (NULL, NULL, NULL, NULL, '2025-01-01'),
                      (NULL, 1, -8, -8, '2025-01-01'), (repeat('L', 3000), 1, -2147483648, -9223372036854775808, '2025-01-01'),
                      ('speedonly', 2, NULL, NULL, '2025-01-01');
SELECT merged_by('SELECT * FROM v');
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT k, sum(n), sum(sx), min(mnx), max(mxy) FROM v GROUP BY k',
            'SELECT k, sum(n), sum(sx), min(mnx), max(mxy) FROM v_direct GROUP BY k');
SELECT same('SELECT k, sum(n) FROM v GROUP BY k', 'SELECT k, sum(n) FROM v_direct GROUP BY k');
SELECT same('SELECT k, g, n, nx FROM v', 'SELECT k, g, n, nx FROM v_direct');
SELECT same('SELECT * FROM v WHERE g = 1', 'SELECT * FROM v_direct WHERE g = 1');
SELECT left(k, 9) AS k, length(k) AS len, g, n, nx, sx, mnx, mxx, mny, mxy, ax, sy FROM v
  WHERE k IS NULL OR k IN ('nullx', 'speedonly', 'batchonly') OR length(k) > 100 ORDER BY k, g;
-- several generations: a refresh that rolls back leaves its generation
-- unfolded, so a key then has an entry in each, merged oldest first
BEGIN;
REFRESH MATERIALIZED VIEW v;
ROLLBACK;
INSERT INTO ev SELECT 'k' || (i % 70), i % 3, CASE WHEN i % 3 = 0 THEN NULL ELSE i * 7 END,
                      i * 30000000000, '2025-01-01'
  FROM generate_series(1, 300) i;
INSERT INTO ev VALUES ('nullx', 0, NULL, NULL, '2025-01-01'), (NULL, 1, 100, 100, '2025-01-01'),
                      (repeat('L', 3000), 1, 2147483647, 9223372036854775807, '2025-01-01');
SELECT merged_by('SELECT * FROM v');
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');
SELECT same('SELECT g, sum(n), sum(nx), min(mny), max(mxx) FROM v GROUP BY g',
            'SELECT g, sum(n), sum(nx), min(mny), max(mxx) FROM v_direct GROUP BY g');
SELECT same('SELECT k, sum(n) FROM v GROUP BY k', 'SELECT k, sum(n) FROM v_direct GROUP BY k');
SELECT same('SELECT k, g, n, nx FROM v', 'SELECT k, g, n, nx FROM v_direct');
SELECT same('SELECT i, (SELECT sum(n) FROM v WHERE i > 0), (SELECT max(mxy) FROM v WHERE i < 3) FROM generate_series(0, 3) i',
            'SELECT i, (SELECT sum(n) FROM v_direct WHERE i > 0), (SELECT max(mxy) FROM v_direct WHERE i < 3) FROM generate_series(0, 3) i');
SELECT left(k, 9) AS k, length(k) AS len, g, n, nx, sx, mnx, mxx, mny, mxy, ax, sy FROM v
  WHERE k IS NULL OR k IN ('nullx', 'speedonly', 'batchonly') OR length(k) > 100 ORDER BY k, g;
-- after a refresh: the batch rows alone again
REFRESH MATERIALIZED VIEW v;
SELECT same('SELECT * FROM v', 'SELECT * FROM v_direct');

-- numeric keys (not compared by image): the merged scan hashes the speed
-- rows; 1.0 in the batch table and 1.00 in the speed layer are one group
CREATE TABLE nev (num numeric, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('nev', time_column => 'ts');
INSERT INTO nev SELECT ((i % 10) || '.0')::numeric, i, '2025-01-01' FROM generate_series(1, 100) i;
INSERT INTO nev VALUES (NULL, NULL, '2025-01-01');
CREATE MATERIALIZED VIEW vn WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT num, count(*) AS n, sum(x) AS sx, min(x) AS mnx, max(x) AS mxx FROM nev GROUP BY num;
INSERT INTO nev SELECT ((i % 12) || '.00')::numeric, CASE WHEN i % 4 = 0 THEN NULL ELSE -i END, '2025-01-01'
  FROM generate_series(1, 100) i;
INSERT INTO nev VALUES (NULL, 3, '2025-01-01');
BEGIN;
REFRESH MATERIALIZED VIEW vn;
ROLLBACK;
INSERT INTO nev VALUES (1.000, 1000, '2025-01-01'), (11, NULL, '2025-01-01');
SELECT merged_by('SELECT * FROM vn');
SELECT same('SELECT * FROM vn', 'SELECT num, count(*) AS n, sum(x) AS sx, min(x) AS mnx, max(x) AS mxx FROM nev GROUP BY num');
SELECT round(num) AS num, n, sx, mnx, mxx FROM vn WHERE num IN (1, 11) OR num IS NULL ORDER BY num;

-- Whole-view reads of a speed layer whose entries were carved in order,
-- then partly moved (their states outgrew their room: max(t) growing), then
-- joined by a large statement's spilled generation (absorbed at its
-- commit), then after a refresh. Each answer is the defining query's.
CREATE TABLE sev (k int, t text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('sev', time_column => 'ts');
CREATE MATERIALIZED VIEW vs WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, count(*) AS n, sum(x) AS sx, max(t) AS mt FROM sev GROUP BY k;
CREATE VIEW vs_direct AS SELECT k, count(*) AS n, sum(x) AS sx, max(t) AS mt FROM sev GROUP BY k;
INSERT INTO sev SELECT i % 500, 'a', i, '2025-01-01' FROM generate_series(1, 2000) i;
INSERT INTO sev SELECT i % 700, 'b', -i, '2025-01-01' FROM generate_series(1, 1400) i;
SELECT merged_by('SELECT * FROM vs');
SELECT same('SELECT * FROM vs', 'SELECT * FROM vs_direct');
SELECT same('SELECT sum(n), sum(sx), max(mt), count(*) FROM vs', 'SELECT sum(n), sum(sx), max(mt), count(*) FROM vs_direct');
-- a third of the groups' states outgrow their room and move
INSERT INTO sev SELECT i, repeat('z', 100 + i % 50), 1000000 + i, '2025-01-01'
  FROM generate_series(0, 699, 3) i;
SELECT same('SELECT * FROM vs', 'SELECT * FROM vs_direct');
SELECT k, n, sx, length(mt) AS len FROM vs WHERE k IN (0, 1, 3, 699) ORDER BY k;
-- a large statement's states spilled, then absorbed at its commit
SET lambda.capture_memory = '1MB';
INSERT INTO sev SELECT 1000 + i % 30000, 'c', i, '2025-01-01' FROM generate_series(1, 60000) i;
RESET lambda.capture_memory;
SELECT same('SELECT * FROM vs', 'SELECT * FROM vs_direct');
-- after a refresh, new keys and old ones
REFRESH MATERIALIZED VIEW vs;
INSERT INTO sev SELECT 50000 + i, 'd', i, '2025-01-01' FROM generate_series(1, 300) i;
INSERT INTO sev SELECT i, 'e', i, '2025-01-01' FROM generate_series(1, 40) i;
SELECT same('SELECT * FROM vs', 'SELECT * FROM vs_direct');

DROP VIEW v_direct, vs_direct;
DROP MATERIALIZED VIEW v, vn, vs;
DROP TABLE ev, nev, sev;
DROP FUNCTION same(text, text), merged_by(text);
DROP EXTENSION pg_lambda;
