-- The write path: the capture trigger's partial states (a hash of groups,
-- built-in transition functions computed inline) and their application to
-- the speed layer at commit. Every answer is compared with the defining query.
CREATE EXTENSION pg_lambda;
CREATE TABLE wev (k int, g int, x int, y bigint, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('wev', time_column => 'ts');

-- count, sum, min, max, avg of int4 and int8 (computed inline), NULLs
-- included, and aggregates that still call their functions
CREATE MATERIALIZED VIEW wv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, count(x) AS nx, sum(x) AS sx, min(x) AS lx, max(x) AS hx,
         avg(x) AS ax, count(y) AS ny, min(y) AS ly, max(y) AS hy, sum(y) AS sy,
         avg(y) AS ay, min(x) FILTER (WHERE g = 1) AS lx1
    FROM wev GROUP BY k;
CREATE VIEW wv_direct AS
  SELECT k, count(*) AS n, count(x) AS nx, sum(x) AS sx, min(x) AS lx, max(x) AS hx,
         avg(x) AS ax, count(y) AS ny, min(y) AS ly, max(y) AS hy, sum(y) AS sy,
         avg(y) AS ay, min(x) FILTER (WHERE g = 1) AS lx1
    FROM wev GROUP BY k;
CREATE FUNCTION wv_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, query %s rows, %s differ',
    (SELECT count(*) FROM wv), (SELECT count(*) FROM wv_direct),
    (SELECT count(*) FROM ((SELECT * FROM wv EXCEPT ALL SELECT * FROM wv_direct)
                            UNION ALL (SELECT * FROM wv_direct EXCEPT ALL SELECT * FROM wv)) d))
$$;

-- group 1 sees only NULLs, group 2 NULLs first, then values; extremes of
-- int4 and int8 (sum(int4) is an int8, so it does not overflow)
INSERT INTO wev VALUES
  (1, 0, NULL, NULL, '2025-01-01'), (1, 1, NULL, NULL, '2025-01-01'),
  (2, 1, NULL, NULL, '2025-01-01'), (2, 1, 7, -7, '2025-01-01'),
  (2, 0, 2147483647, 9223372036854775807, '2025-01-01'),
  (2, 1, -2147483648, -9223372036854775808, '2025-01-01'),
  (3, 1, 2147483647, 1, '2025-01-01'), (3, 1, 2147483647, 2, '2025-01-01');
SELECT wv_same();
SELECT * FROM wv WHERE k IN (1, 2) ORDER BY k;

-- several statements, a subtransaction that commits and one that rolls back
BEGIN;
INSERT INTO wev SELECT i % 7, i % 3, nullif(i % 11, 0) * 1000, (i % 13) * 100000000000, '2025-01-02'
  FROM generate_series(1, 2000) i;
SAVEPOINT a;
INSERT INTO wev SELECT i % 9, i % 3, -i, -i, '2025-01-02' FROM generate_series(1, 500) i;
RELEASE SAVEPOINT a;
SAVEPOINT b;
INSERT INTO wev SELECT i % 5, 1, 123456, 123456, '2025-01-02' FROM generate_series(1, 500) i;
ROLLBACK TO SAVEPOINT b;
INSERT INTO wev SELECT i % 7, 1, i, NULL, '2025-01-02' FROM generate_series(1, 100) i;
COMMIT;
SELECT wv_same();

-- one statement with many groups: the hash of groups grows, the
-- generation's buckets are sized for all its keys at once; a second one
-- combines with every key it left
INSERT INTO wev SELECT i, i % 3, i % 1000, i, '2025-01-03' FROM generate_series(1, 60000) i;
SELECT wv_same();
INSERT INTO wev SELECT i, i % 3, -(i % 1000), -i, '2025-01-03' FROM generate_series(1, 60000, 2) i;
SELECT wv_same();
SELECT state, speed_keys > 60000 AS all_in_speed_layer FROM lambda.view_status WHERE view = 'wv'::regclass;

-- after a refresh, the batch table holds them
REFRESH MATERIALIZED VIEW wv;
SELECT wv_same();
INSERT INTO wev SELECT i % 100, i % 3, i, i, '2025-01-04' FROM generate_series(1, 1000) i;
SELECT wv_same();


DROP MATERIALIZED VIEW wv;
DROP VIEW wv_direct;
DROP FUNCTION wv_same();

-- a large transaction: past lambda.capture_memory its states move into the
-- speed layer's shared memory while it runs (spills), so the backend holds
-- at most about that much; the commit applies the spills; a subtransaction
-- that rolls back drops its own
CREATE MATERIALIZED VIEW mv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, sum(x) AS s, avg(x) AS a, count(DISTINCT g) AS dg FROM wev GROUP BY k;
CREATE FUNCTION mv_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, query %s rows, %s differ',
    (SELECT count(*) FROM mv), (SELECT count(DISTINCT k) FROM wev),
    (SELECT count(*) FROM ((SELECT * FROM mv EXCEPT ALL
                            SELECT k, count(*), sum(x), avg(x), count(DISTINCT g) FROM wev GROUP BY k)
                           UNION ALL (SELECT k, count(*), sum(x), avg(x), count(DISTINCT g) FROM wev GROUP BY k
                                      EXCEPT ALL SELECT * FROM mv)) d))
$$;
SET lambda.capture_memory = '1MB';
BEGIN;
INSERT INTO wev SELECT i % 30000, i % 7, i % 1000, i, '2025-01-05' FROM generate_series(1, 150000) i;
SELECT sum(total_bytes) <= 1024 * 1024 AS within_bound
  FROM pg_backend_memory_contexts WHERE name = 'pg_lambda partial states';
SAVEPOINT s;
INSERT INTO wev SELECT i % 30000, 99, 777777, i, '2025-01-05' FROM generate_series(1, 150000) i;
ROLLBACK TO SAVEPOINT s;
INSERT INTO wev SELECT i % 20000, 8, -1, i, '2025-01-05' FROM generate_series(1, 40000) i;
COMMIT;
SELECT state, speed_keys >= 30000 AS in_speed_layer FROM lambda.view_status WHERE view = 'mv'::regclass;
SELECT mv_same();

-- without the bound the same statement keeps them all in the backend
RESET lambda.capture_memory;
BEGIN;
INSERT INTO wev SELECT i % 30000, i % 7, i % 1000, i, '2025-01-06' FROM generate_series(1, 150000) i;
SELECT sum(total_bytes) > 4 * 1024 * 1024 AS unbounded
  FROM pg_backend_memory_contexts WHERE name = 'pg_lambda partial states';
COMMIT;
SELECT mv_same();

-- a prepared transaction keeps its spills with the rest of its states
SET lambda.capture_memory = '1MB';
BEGIN;
INSERT INTO wev SELECT i % 30000, i % 5, i % 100, i, '2025-01-07' FROM generate_series(1, 100000) i;
PREPARE TRANSACTION 'lambda_write_path';
SELECT mv_same();
COMMIT PREPARED 'lambda_write_path';
SELECT state FROM lambda.view_status WHERE view = 'mv'::regclass;
SELECT mv_same();
RESET lambda.capture_memory;

-- the same with states that need no serialization function (count, sum,
-- avg, min, max): a spill is a generation of its own in the speed layer's
-- area, whose entries the commit links into the view's open generation
-- (keys it has are combined); a rolled-back subtransaction or transaction
-- frees its spills, a prepared transaction keeps them in its image
CREATE MATERIALIZED VIEW mp WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, sum(x) AS s, avg(x) AS a, min(y) AS lo, max(y) AS hi FROM wev GROUP BY k;
CREATE FUNCTION mp_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, query %s rows, %s differ',
    (SELECT count(*) FROM mp), (SELECT count(DISTINCT k) FROM wev),
    (SELECT count(*) FROM ((SELECT * FROM mp EXCEPT ALL
                            SELECT k, count(*), sum(x), avg(x), min(y), max(y) FROM wev GROUP BY k)
                           UNION ALL (SELECT k, count(*), sum(x), avg(x), min(y), max(y) FROM wev GROUP BY k
                                      EXCEPT ALL SELECT * FROM mp)) d))
$$;
SET lambda.capture_memory = '1MB';
BEGIN;
INSERT INTO wev SELECT i % 40000, i % 7, i % 1000, i, '2025-01-08' FROM generate_series(1, 150000) i;
SELECT bool_and(total_bytes <= 1024 * 1024) AS within_bound
  FROM pg_backend_memory_contexts WHERE name = 'pg_lambda partial states';
SAVEPOINT s;
INSERT INTO wev SELECT i % 50000, 99, 777777, -i, '2025-01-08' FROM generate_series(1, 150000) i;
ROLLBACK TO SAVEPOINT s;
-- keys the spills hold and keys they do not, with new minima and maxima
INSERT INTO wev SELECT 20000 + i % 30000, 8, -1, i * 1000, '2025-01-08' FROM generate_series(1, 90000) i;
COMMIT;
SELECT state, speed_keys >= 50000 AS in_speed_layer FROM lambda.view_status WHERE view = 'mp'::regclass;
SELECT mp_same();
BEGIN;
INSERT INTO wev SELECT 60000 + i % 30000, 1, 1, i, '2025-01-08' FROM generate_series(1, 100000) i;
ROLLBACK;
SELECT mp_same();
BEGIN;
INSERT INTO wev SELECT i % 45000, i % 5, i % 100, -i, '2025-01-09' FROM generate_series(1, 100000) i;
PREPARE TRANSACTION 'lambda_write_path_mp';
SELECT mp_same();
COMMIT PREPARED 'lambda_write_path_mp';
SELECT state FROM lambda.view_status WHERE view = 'mp'::regclass;
SELECT mp_same(), mv_same();
-- spills at several levels, NULL states among them: a released level's
-- spills join its parent's (which goes on spilling into the last of them),
-- a level rolled back to frees only its own
BEGIN;
INSERT INTO wev SELECT 20000 + i % 40000, i % 3, CASE WHEN i % 11 <> 0 THEN i % 900 END,
  CASE WHEN i % 13 <> 0 THEN -i END, '2025-01-10' FROM generate_series(1, 90000) i;
SAVEPOINT a;
INSERT INTO wev SELECT 10000 + i % 50000, 4, NULL, CASE WHEN i % 2 = 0 THEN i * 7 END,
  '2025-01-10' FROM generate_series(1, 90000) i;
SAVEPOINT b;
INSERT INTO wev SELECT i % 40000, 5, i % 17, NULL, '2025-01-10' FROM generate_series(1, 90000) i;
RELEASE SAVEPOINT b;
SAVEPOINT c;
INSERT INTO wev SELECT i % 60000, 99, 777777, 777777, '2025-01-10' FROM generate_series(1, 90000) i;
ROLLBACK TO SAVEPOINT c;
INSERT INTO wev SELECT 30000 + i % 30000, 6, i % 5, i, '2025-01-10' FROM generate_series(1, 90000) i;
RELEASE SAVEPOINT a;
SAVEPOINT d;
INSERT INTO wev SELECT i % 60000, 98, 888888, 888888, '2025-01-10' FROM generate_series(1, 90000) i;
ROLLBACK TO SAVEPOINT d;
INSERT INTO wev SELECT i % 60001, 8, CASE WHEN i % 3 = 0 THEN 1 END, i % 1000, '2025-01-10'
  FROM generate_series(1, 90000) i;
COMMIT;
SELECT state FROM lambda.view_status WHERE view IN ('mp'::regclass, 'mv'::regclass);
SELECT mp_same(), mv_same();
RESET lambda.capture_memory;
DROP MATERIALIZED VIEW mp;
DROP FUNCTION mp_same();

-- a statement of many groups under a larger bound: once its states take a
-- few MB, its arena blocks grow up to an eighth of the bound and its slot
-- arrays and blocks ask for huge pages; it spills on the way, keeps its memory
-- near the bound, and stays exact
CREATE TABLE wbig (k int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('wbig', time_column => 'ts');
CREATE MATERIALIZED VIEW wb WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, sum(x) AS s, avg(x) AS a, min(x) AS lo, max(x) AS hi FROM wbig GROUP BY k;
SET lambda.capture_memory = '32MB';
BEGIN;
INSERT INTO wbig SELECT i, i % 1000, '2025-01-12' FROM generate_series(1, 400000) i;
INSERT INTO wbig SELECT i * 7, -i, '2025-01-12' FROM generate_series(1, 50000) i;
SELECT sum(total_bytes) <= 40 * 1024 * 1024 AS within_bound,
       sum(total_bytes) > 16 * 1024 * 1024 AS large
  FROM pg_backend_memory_contexts WHERE name = 'pg_lambda partial states';
-- advised for huge pages (a mapping flagged "hg"), unless the kernel offers
-- none (or says nothing of them); whether it then finds free huge pages for
-- them at that moment is the kernel's affair (under memory pressure it falls
-- back to small pages), so AnonHugePages is not what this checks
SELECT coalesce(pg_read_file('/sys/kernel/mm/transparent_hugepage/enabled', 0, 200, true),
                '[never]') LIKE '%[never]%'
    OR pg_read_file('/proc/' || pg_backend_pid() || '/smaps') ~ 'VmFlags:[^\n]* hg' AS huge_pages;
COMMIT;
RESET lambda.capture_memory;
SELECT state, speed_keys FROM lambda.view_status WHERE view = 'wb'::regclass;
SELECT count(*) AS differ FROM ((SELECT * FROM wb EXCEPT ALL
    SELECT k, count(*), sum(x), avg(x), min(x), max(x) FROM wbig GROUP BY k)
  UNION ALL (SELECT k, count(*), sum(x), avg(x), min(x), max(x) FROM wbig GROUP BY k
    EXCEPT ALL SELECT * FROM wb)) d;
DROP TABLE wbig CASCADE;

-- a transaction whose spilled states hold more keys than the view's open
-- generation: at commit the two exchange their tables, so that the fewer
-- entries are linked or combined one by one (here ms's 100 keys, which the
-- spills hold too). m2 has two key columns and an empty open generation:
-- its column indexes take every key of the spills, so that reads that fix
-- one key column find them all
CREATE MATERIALIZED VIEW ms WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, sum(x) AS s, min(y) AS lo, max(y) AS hi FROM wev GROUP BY k;
INSERT INTO wev SELECT 70000 + i, 3, i, i, '2025-01-11' FROM generate_series(1, 100) i;
CREATE MATERIALIZED VIEW m2 WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, g, count(*) AS n, sum(x) AS s, max(y) AS hi FROM wev GROUP BY k, g;
CREATE FUNCTION ms_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('ms: %s rows, %s differ; m2: %s rows, %s differ',
    (SELECT count(*) FROM ms),
    (SELECT count(*) FROM ((SELECT * FROM ms EXCEPT ALL
                            SELECT k, count(*), sum(x), min(y), max(y) FROM wev GROUP BY k)
                           UNION ALL (SELECT k, count(*), sum(x), min(y), max(y) FROM wev GROUP BY k
                                      EXCEPT ALL SELECT * FROM ms)) d),
    (SELECT count(*) FROM m2),
    (SELECT count(*) FROM ((SELECT * FROM m2 EXCEPT ALL
                            SELECT k, g, count(*), sum(x), max(y) FROM wev GROUP BY k, g)
                           UNION ALL (SELECT k, g, count(*), sum(x), max(y) FROM wev GROUP BY k, g
                                      EXCEPT ALL SELECT * FROM m2)) d))
$$;
SET lambda.capture_memory = '1MB';
INSERT INTO wev SELECT 70000 + i % 30000, i % 3, i % 1000, -i, '2025-01-11'
  FROM generate_series(1, 90000) i;
RESET lambda.capture_memory;
SELECT view::text, state, speed_keys FROM lambda.view_status
 WHERE view IN ('ms'::regclass, 'm2'::regclass) ORDER BY 1;
SELECT ms_same();
SELECT (SELECT (count(*), sum(n)::bigint, sum(s)::bigint) FROM m2 WHERE g = 1) =
       (SELECT (count(DISTINCT k), count(*), sum(x)) FROM wev WHERE g = 1) AS one_column,
       (SELECT (count(*), sum(n)::bigint, max(hi)) FROM m2 WHERE k = 70002) =
       (SELECT (count(DISTINCT g), count(*), max(y)) FROM wev WHERE k = 70002) AS other_column,
       (SELECT count(*) FROM m2 WHERE g = 2 AND k BETWEEN 75000 AND 75099) AS in_range;
DROP MATERIALIZED VIEW ms;
DROP MATERIALIZED VIEW m2;
DROP FUNCTION ms_same();

-- two views of one table are fed from one pass over a statement's rows: the
-- first capture trigger reads them for both, the second finds its view
-- done. A statement trigger that fires between the two (by name) inserts
-- rows in statements of its own, one of them in a subtransaction that
-- rolls back; session_replication_role = replica captures row by row
CREATE MATERIALIZED VIEW mw WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT g, count(*) AS n, sum(x) AS s, max(y) AS hy FROM wev GROUP BY g;
CREATE FUNCTION mw_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, %s differ', (SELECT count(*) FROM mw),
    (SELECT count(*) FROM ((SELECT * FROM mw EXCEPT ALL
                            SELECT g, count(*), sum(x), max(y) FROM wev GROUP BY g)
                           UNION ALL (SELECT g, count(*), sum(x), max(y) FROM wev GROUP BY g
                                      EXCEPT ALL SELECT * FROM mw)) d))
$$;
CREATE FUNCTION wev_between() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF pg_trigger_depth() = 1 THEN
    INSERT INTO wev SELECT i % 10, 42, i, i, '2025-01-08' FROM generate_series(1, 300) i;
    BEGIN
      INSERT INTO wev SELECT i % 10, 43, i, i, '2025-01-08' FROM generate_series(1, 300) i;
      RAISE EXCEPTION 'undone';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER lambda_capture_mv_c AFTER INSERT ON wev
  FOR EACH STATEMENT EXECUTE FUNCTION wev_between();
SELECT tgname FROM pg_trigger
 WHERE tgrelid = 'wev'::regclass AND tgname LIKE 'lambda_capture%' AND tgname NOT LIKE '%row%'
 ORDER BY tgname COLLATE "C";
INSERT INTO wev SELECT i % 50, i % 4, i, i, '2025-01-08' FROM generate_series(1, 1000) i;
SELECT mv_same(), mw_same();
SELECT count(*) FILTER (WHERE g = 42) AS nested, count(*) FILTER (WHERE g = 43) AS undone FROM wev;
BEGIN;
SAVEPOINT a;
INSERT INTO wev SELECT i % 50, 5, i, i, '2025-01-08' FROM generate_series(1, 500) i;
ROLLBACK TO SAVEPOINT a;
INSERT INTO wev SELECT i % 50, 6, i, i, '2025-01-08' FROM generate_series(1, 500) i;
COMMIT;
SELECT mv_same(), mw_same();
DROP TRIGGER lambda_capture_mv_c ON wev;
SET session_replication_role = replica;
INSERT INTO wev SELECT i % 50, 7, i, i, '2025-01-08' FROM generate_series(1, 200) i;
RESET session_replication_role;
SELECT mv_same(), mw_same();
-- at commit, states of mw's form (count, sum(int4), max(int8)) combine in
-- place in the speed layer; a NULL state meeting a value does not
INSERT INTO wev VALUES (1, 77, NULL, NULL, '2025-01-08');
INSERT INTO wev VALUES (1, 77, 5, 6, '2025-01-08');
INSERT INTO wev VALUES (1, 77, 7, -8, '2025-01-08'), (2, 77, -2147483648, 9223372036854775807, '2025-01-08');
SELECT * FROM mw WHERE g = 77;
SELECT mv_same(), mw_same();
DROP FUNCTION wev_between();
DROP MATERIALIZED VIEW mw;
DROP FUNCTION mw_same();

-- keys and arguments that are plain fixed-length columns, with only such
-- columns before them, are read from each row at offsets known in advance
-- (int2, int8, bool, int4 and int2 laid out with padding); a row with a
-- NULL in any column, read or not, is read the general way; so is every
-- row of a table with a dropped column before them
CREATE TABLE fev (a int2, b int8, c bool, d int4, e int2, f text, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('fev', time_column => 'ts');
CREATE MATERIALIZED VIEW fv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT e, c, count(*) AS n, count(a) AS na, sum(d) AS sd, min(d) AS ld, max(d) AS hd,
         min(b) AS lb, max(b) AS hb, avg(d) AS ad
    FROM fev GROUP BY e, c;
CREATE FUNCTION fv_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, query %s rows, %s differ',
    (SELECT count(*) FROM fv), (SELECT count(*) FROM (SELECT DISTINCT e, c FROM fev) g),
    (SELECT count(*) FROM ((SELECT * FROM fv EXCEPT ALL
                            SELECT e, c, count(*), count(a), sum(d), min(d), max(d), min(b), max(b), avg(d)
                              FROM fev GROUP BY e, c)
                           UNION ALL
                           (SELECT e, c, count(*), count(a), sum(d), min(d), max(d), min(b), max(b), avg(d)
                              FROM fev GROUP BY e, c
                            EXCEPT ALL SELECT * FROM fv)) d))
$$;
INSERT INTO fev SELECT i % 300, i * 1000000007::int8, i % 3 = 0, i % 100000 - 50000, i % 7, 'x', '2025-01-09'
  FROM generate_series(1, 5000) i;
SELECT fv_same();
INSERT INTO fev SELECT -i, -i, i % 2 = 0, i, i % 7, NULL, '2025-01-09' FROM generate_series(1, 300) i;
INSERT INTO fev SELECT 1, 2, NULL, NULL, i % 7, 'y', '2025-01-09' FROM generate_series(1, 50) i;
INSERT INTO fev VALUES (32767, 9223372036854775807, true, 2147483647, 32767, 'z', '2025-01-09'),
  (-32768, -9223372036854775808, false, -2147483648, -32768, 'z', '2025-01-09'),
  (7, 7, true, 7, 32767, 'z', '2025-01-09');
SELECT fv_same();
SELECT * FROM fv WHERE e IN (32767, -32768) ORDER BY e, c;
BEGIN;
SAVEPOINT a;
INSERT INTO fev SELECT 1, 1, true, 1, 1, 'r', '2025-01-09' FROM generate_series(1, 100) i;
ROLLBACK TO SAVEPOINT a;
INSERT INTO fev SELECT 2, 2, false, 2, 2, 'c', '2025-01-09' FROM generate_series(1, 100) i;
COMMIT;
SELECT fv_same();
CREATE TABLE gev (z int8, k int4, x int4, ts timestamptz NOT NULL);
ALTER TABLE gev DROP COLUMN z;
SELECT lambda.create_event_table('gev', time_column => 'ts');
CREATE MATERIALIZED VIEW gv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, sum(x) AS sx, max(x) AS hx FROM gev GROUP BY k;
INSERT INTO gev SELECT i % 10, i, '2025-01-09' FROM generate_series(1, 1000) i;
SELECT (SELECT array_agg(row(k, n, sx, hx) ORDER BY k) FROM gv) =
       (SELECT array_agg(row(k, n, sx, hx) ORDER BY k)
          FROM (SELECT k, count(*) AS n, sum(x) AS sx, max(x) AS hx FROM gev GROUP BY k) s) AS gv_same;
DROP MATERIALIZED VIEW gv;
DROP TABLE gev;
DROP MATERIALIZED VIEW fv;
DROP FUNCTION fv_same();
DROP TABLE fev;

DROP MATERIALIZED VIEW mv;
DROP FUNCTION mv_same();
DROP TABLE wev;
DROP EXTENSION pg_lambda;
