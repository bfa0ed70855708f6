-- Recompute through the executor (src/batch_build.c): CREATE over existing
-- events and lambda.recompute fill the batch table with one INSERT ...
-- SELECT ... GROUP BY. Its rows must be byte for byte those the incremental
-- path stores, and every answer that of the defining query.
CREATE EXTENSION pg_lambda;
CREATE TABLE ev (k text, g int, x int, b bigint, n numeric, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');

-- v_inc exists before the events: its batch rows come from the speed layer
-- (an incremental refresh); v_build is created over them (the statement).
CREATE MATERIALIZED VIEW v_inc WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, g % 2 AS parity, count(*) AS cnt, sum(x) AS sx, sum(b) AS sb, sum(n) AS sn,
         avg(x) AS ax, avg(b) AS ab, min(k) AS lo, max(ts) AS hi, bool_and(x > 3) AS allbig,
         count(*) FILTER (WHERE x > 1000) AS none_cnt, sum(x) FILTER (WHERE x > 1000) AS none_sum,
         avg(x) FILTER (WHERE x > 1000) AS none_avg, stddev(b) AS sd
    FROM ev WHERE g <> 3 GROUP BY k, g % 2;
-- the same with keys that are never too long for the unique index
CREATE MATERIALIZED VIEW vi_inc WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT g, x % 3 AS r, count(*) AS cnt, sum(x) AS sx, sum(b) AS sb, avg(n) AS an, min(k) AS lo,
         max(ts) AS hi, count(*) FILTER (WHERE x > 1000) AS none_cnt, stddev(b) AS sd
    FROM ev WHERE g <> 3 GROUP BY g, x % 3;
INSERT INTO ev SELECT 'k' || (i % 7), i % 5, i % 100, i * 1000000000::bigint, i / 3.0,
       '2025-01-01 00:00+00'::timestamptz + i * interval '1 minute'
  FROM generate_series(1, 2000) i;
INSERT INTO ev VALUES (NULL, 1, NULL, NULL, NULL, '2025-01-03 00:00+00'),
                      ('k1', NULL, 5, 5, 5, '2025-01-03 00:00+00');
REFRESH MATERIALIZED VIEW v_inc;
SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'v_inc'::regclass;
CREATE MATERIALIZED VIEW v_build WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, g % 2 AS parity, count(*) AS cnt, sum(x) AS sx, sum(b) AS sb, sum(n) AS sn,
         avg(x) AS ax, avg(b) AS ab, min(k) AS lo, max(ts) AS hi, bool_and(x > 3) AS allbig,
         count(*) FILTER (WHERE x > 1000) AS none_cnt, sum(x) FILTER (WHERE x > 1000) AS none_sum,
         avg(x) FILTER (WHERE x > 1000) AS none_avg, stddev(b) AS sd
    FROM ev WHERE g <> 3 GROUP BY k, g % 2;

-- rows of two batch tables that differ, both ways
CREATE FUNCTION batch_diff(a regclass, b regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  ta text := (SELECT batch_table FROM lambda.views WHERE view = a);
  tb text := (SELECT batch_table FROM lambda.views WHERE view = b);
  n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM ((TABLE %s EXCEPT ALL TABLE %s) UNION ALL (TABLE %s EXCEPT ALL TABLE %s)) d',
                 ta, tb, tb, ta) INTO n;
  RETURN n;
END $$;
-- rows of a view that differ from a query, both ways
CREATE FUNCTION query_diff(v regclass, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  rows bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM ((TABLE %s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL TABLE %s)) d', v, q, q, v) INTO n;
  EXECUTE format('SELECT count(*) FROM %s', v) INTO rows;
  RETURN format('%s rows, %s differ', rows, n);
END $$;

SELECT batch_diff('v_inc', 'v_build');
SELECT query_diff('v_build', $q$
  SELECT k, g % 2 AS parity, count(*) AS cnt, sum(x) AS sx, sum(b) AS sb, sum(n) AS sn,
         avg(x) AS ax, avg(b) AS ab, min(k) AS lo, max(ts) AS hi, bool_and(x > 3) AS allbig,
         count(*) FILTER (WHERE x > 1000) AS none_cnt, sum(x) FILTER (WHERE x > 1000) AS none_sum,
         avg(x) FILTER (WHERE x > 1000) AS none_avg, stddev(b) AS sd
    FROM ev WHERE g <> 3 GROUP BY k, g % 2 $q$);
-- a group whose rows all fail a FILTER holds the aggregate's initial state
SELECT k, parity, none_cnt, none_sum, none_avg FROM v_build WHERE k = 'k1' ORDER BY parity;

-- keys that are never too long for the unique index (no _lambda_long): the
-- batch table created over the events gets the rows by multi-insert and its
-- index afterwards (REINDEX, so it has storage of its own: relfilenode <>
-- oid); a recompute inserts them the same way and swaps in a new index; the
-- rows are those of the incremental path, and the index finds each of them
REFRESH MATERIALIZED VIEW vi_inc;
CREATE MATERIALIZED VIEW vi_build WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT g, x % 3 AS r, count(*) AS cnt, sum(x) AS sx, sum(b) AS sb, avg(n) AS an, min(k) AS lo,
         max(ts) AS hi, count(*) FILTER (WHERE x > 1000) AS none_cnt, stddev(b) AS sd
    FROM ev WHERE g <> 3 GROUP BY g, x % 3;
SELECT batch_diff('vi_inc', 'vi_build');
SELECT lambda.recompute('vi_inc');
SELECT batch_diff('vi_inc', 'vi_build');
SELECT i.relfilenode <> i.oid AS indexed_after, h.relfilenode = h.oid AS same_heap, x.indisunique, x.indisvalid
  FROM lambda.views v JOIN pg_index x ON x.indrelid = v.batch_table
  JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class h ON h.oid = x.indrelid
 WHERE v.view = 'vi_build'::regclass;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE EXISTS (SELECT FROM lambda_catalog.vi_build_batch b WHERE b.g = q.g AND b.r = q.r)) AS found_by_index
  FROM (SELECT DISTINCT g, x % 3 AS r FROM ev WHERE g <> 3 AND g IS NOT NULL AND x IS NOT NULL) q;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT query_diff('vi_build', $q$
  SELECT g, x % 3 AS r, count(*) AS cnt, sum(x) AS sx, sum(b) AS sb, avg(n) AS an, min(k) AS lo,
         max(ts) AS hi, count(*) FILTER (WHERE x > 1000) AS none_cnt, stddev(b) AS sd
    FROM ev WHERE g <> 3 GROUP BY g, x % 3 $q$);
-- a recompute fills a new table, indexes it and swaps its storage in: the
-- batch table and its index keep their oids and names and get new storage,
-- and the table it filled is gone
SELECT x.indexrelid AS old_index, i.relname AS old_index_name, i.relfilenode AS old_index_file,
       h.relfilenode AS old_heap_file
  FROM lambda.views v JOIN pg_index x ON x.indrelid = v.batch_table JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class h ON h.oid = x.indrelid
 WHERE v.view = 'vi_build'::regclass \gset
SELECT lambda.recompute('vi_build');
SELECT batch_diff('vi_inc', 'vi_build');
SELECT count(*) AS indexes, bool_and(x.indexrelid = :old_index) AS same_index,
       bool_and(i.relname = :'old_index_name') AS same_name, bool_and(x.indisunique AND x.indisvalid) AS unique_valid,
       bool_and(i.relfilenode <> :old_index_file) AS new_index_storage,
       bool_and(h.relfilenode <> :old_heap_file) AS new_heap_storage
  FROM lambda.views v JOIN pg_index x ON x.indrelid = v.batch_table JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class h ON h.oid = x.indrelid
 WHERE v.view = 'vi_build'::regclass;
SELECT count(*) AS leftover_tables FROM pg_class
 WHERE relnamespace = 'lambda_catalog'::regnamespace AND relname LIKE 'pg\_temp\_%';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE EXISTS (SELECT FROM lambda_catalog.vi_build_batch b WHERE b.g = q.g AND b.r = q.r)) AS found_by_index
  FROM (SELECT DISTINCT g, x % 3 AS r FROM ev WHERE g <> 3 AND g IS NOT NULL AND x IS NOT NULL) q;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- called from a query of the view, which holds its batch table open (no
-- index can be rebuilt then): INSERT ... SELECT
SELECT lambda.recompute('vi_build') FROM vi_build LIMIT 1;
SELECT batch_diff('vi_inc', 'vi_build');
-- an index that reads a column of variable length (here one an
-- administrator put on a state column) is built on the new table too, from
-- the values where they lie (the new table's own TOAST table), and swapped
-- in with the others
CREATE INDEX vi_build_state_idx ON lambda_catalog.vi_build_batch (sx);
SELECT h.relfilenode AS old_heap_file, i.relfilenode AS old_index_file
  FROM pg_class h, pg_class i
 WHERE h.oid = 'lambda_catalog.vi_build_batch'::regclass AND i.oid = 'lambda_catalog.vi_build_state_idx'::regclass \gset
SELECT lambda.recompute('vi_build');
SELECT batch_diff('vi_inc', 'vi_build');
SELECT h.relfilenode <> :old_heap_file AS new_heap_storage, i.relfilenode <> :old_index_file AS new_index_storage
  FROM pg_class h, pg_class i
 WHERE h.oid = 'lambda_catalog.vi_build_batch'::regclass AND i.oid = 'lambda_catalog.vi_build_state_idx'::regclass;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS groups_with_sum,
       count(*) FILTER (WHERE EXISTS (SELECT FROM lambda_catalog.vi_build_batch b WHERE b.sx = v.sx)) AS found_by_state_index
  FROM lambda_catalog.vi_build_batch v WHERE v.sx IS NOT NULL;
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX lambda_catalog.vi_build_state_idx;
DROP MATERIALIZED VIEW vi_inc, vi_build;

-- a recompute gives the same rows again, and so does the incremental view's
SELECT lambda.recompute('v_build');
SELECT lambda.recompute('v_inc');
SELECT batch_diff('v_inc', 'v_build');
SELECT last_refresh_mode, batch_rows FROM lambda.view_status WHERE view = 'v_build'::regclass;

-- count(DISTINCT) (exact sets in the batch layer), percentile_cont with an
-- implicit cast of its argument, a key with an implicit cast
CREATE MATERIALIZED VIEW v_sk WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT g, count(DISTINCT x) AS dx, count(DISTINCT k) FILTER (WHERE x > 50) AS dk,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS med
    FROM ev GROUP BY g;
-- (distinct counts exact; the median from a quantile sketch, within 1%)
SELECT count(*) AS groups,
       count(*) FILTER (WHERE v.dx = q.dx AND v.dk IS NOT DISTINCT FROM q.dk) AS exact_distinct,
       count(*) FILTER (WHERE abs(v.med - q.med) <= 0.01 * 100) AS median_within_1pct
  FROM v_sk v JOIN (SELECT g, count(DISTINCT x) AS dx, count(DISTINCT k) FILTER (WHERE x > 50) AS dk,
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS med
                      FROM ev GROUP BY g) q ON v.g IS NOT DISTINCT FROM q.g;

-- a global view over no event has its one row, with initial states
CREATE MATERIALIZED VIEW v_none WITH (lambda.continuous) AS
  SELECT count(*) AS n, avg(x) AS a, count(DISTINCT x) AS d FROM ev WHERE k = 'none';
SELECT * FROM v_none;
SELECT lambda.recompute('v_none');
SELECT * FROM v_none;

-- a partitioned event table
CREATE TABLE pev (k int, x int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE pev_1 PARTITION OF pev FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE pev_2 PARTITION OF pev FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
SELECT lambda.create_event_table('pev', time_column => 'ts');
INSERT INTO pev SELECT i % 3, i, '2025-01-15'::timestamptz + i * interval '1 hour' FROM generate_series(1, 1000) i;
CREATE MATERIALIZED VIEW v_p WITH (lambda.continuous) AS SELECT k, count(*) AS n, avg(x) AS a FROM pev GROUP BY k;
SELECT query_diff('v_p', 'SELECT k, count(*) AS n, avg(x) AS a FROM pev GROUP BY k');

-- states stored out of line (exact sets of 10000 values): a recompute
-- writes them into the new table's TOAST table, which the batch table takes
-- with the new table's storage, and the view reads them back exactly, after a refresh
-- combined new values into them too, and after a second recompute
CREATE TABLE tev (g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('tev', time_column => 'ts');
INSERT INTO tev SELECT i % 3, i, '2025-01-01' FROM generate_series(1, 30000) i;
CREATE MATERIALIZED VIEW v_toast WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT g, count(DISTINCT x) AS d, count(*) AS n FROM tev GROUP BY g;
SELECT h.relfilenode AS old_heap_file, t.relfilenode AS old_toast_file, t.oid AS toast_oid
  FROM lambda.views v JOIN pg_class h ON h.oid = v.batch_table JOIN pg_class t ON t.oid = h.reltoastrelid
 WHERE v.view = 'v_toast'::regclass \gset
SELECT lambda.recompute('v_toast');
SELECT h.relfilenode <> :old_heap_file AS new_heap_storage, t.relfilenode <> :old_toast_file AS new_toast_storage,
       t.oid <> :toast_oid AS new_toast_table, t.relname = 'pg_toast_' || h.oid AS toast_name
  FROM lambda.views v JOIN pg_class h ON h.oid = v.batch_table JOIN pg_class t ON t.oid = h.reltoastrelid
 WHERE v.view = 'v_toast'::regclass;
SELECT h.reltoastrelid::regclass AS toast_table FROM lambda.views v JOIN pg_class h ON h.oid = v.batch_table
 WHERE v.view = 'v_toast'::regclass \gset
SELECT count(DISTINCT chunk_id) AS values_out_of_line FROM :toast_table;
SELECT query_diff('v_toast', 'SELECT g, count(DISTINCT x) AS d, count(*) AS n FROM tev GROUP BY g');
INSERT INTO tev SELECT i % 3, i, '2025-01-01' FROM generate_series(30001, 30030) i;
REFRESH MATERIALIZED VIEW v_toast;
SELECT query_diff('v_toast', 'SELECT g, count(DISTINCT x) AS d, count(*) AS n FROM tev GROUP BY g');
SELECT lambda.recompute('v_toast');
SELECT query_diff('v_toast', 'SELECT g, count(DISTINCT x) AS d, count(*) AS n FROM tev GROUP BY g');
-- a session's default_tablespace does not move the new indexes: they go
-- where the batch table's are, and their storage is swapped in
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE lambda_recompute_ts LOCATION '';
SET default_tablespace = lambda_recompute_ts;
SELECT lambda.recompute('v_toast');
RESET default_tablespace;
SELECT query_diff('v_toast', 'SELECT g, count(DISTINCT x) AS d, count(*) AS n FROM tev GROUP BY g');
SELECT count(*) AS relations_in_tablespace FROM pg_class
 WHERE reltablespace = (SELECT oid FROM pg_tablespace WHERE spcname = 'lambda_recompute_ts');
DROP TABLESPACE lambda_recompute_ts;
RESET allow_in_place_tablespaces;
DROP MATERIALIZED VIEW v_toast;
DROP TABLE tev;

-- text keys: the batch table has the generated column _lambda_long and
-- the indexes of long keys (a hash index on the key and a btree index on
-- key_hash(key), both WHERE _lambda_long, which read the key where it lies,
-- out of line included). CREATE fills it by multi-insert and REINDEX, a
-- recompute fills a new table, indexes it and swaps its storage and TOAST
-- table in; _lambda_long is computed as INSERT computes it (the rows equal
-- the incremental path's). Keys of 3,200 incompressible bytes, longer than
-- the unique index holds, are stored out of line in the TOAST table.
CREATE EXTENSION amcheck;
CREATE TABLE lev (u text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('lev', time_column => 'ts');
CREATE FUNCTION long_key(i int) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT string_agg(md5(i || '/' || j), '') FROM generate_series(1, 100) j $$;
CREATE MATERIALIZED VIEW vl_inc WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT u, count(*) AS n, sum(x) AS sx, count(DISTINCT x) AS dx FROM lev GROUP BY u;
INSERT INTO lev SELECT CASE WHEN i % 10 = 0 THEN long_key(i % 200) ELSE 'u' || (i % 50) END, i % 97, '2025-01-01'
  FROM generate_series(1, 3000) i;
INSERT INTO lev VALUES (NULL, 1, '2025-01-01');
REFRESH MATERIALIZED VIEW vl_inc;
CREATE MATERIALIZED VIEW vl_build WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT u, count(*) AS n, sum(x) AS sx, count(DISTINCT x) AS dx FROM lev GROUP BY u;
SELECT batch_diff('vl_inc', 'vl_build');
SELECT count(*) FILTER (WHERE _lambda_long) AS long_keys, count(*) FILTER (WHERE NOT _lambda_long) AS short_keys
  FROM lambda_catalog.vl_build_batch;
-- created over the events: indexed afterwards (new index storage, same heap)
SELECT count(*) AS indexes, bool_and(i.relfilenode <> i.oid) AS indexed_after, bool_and(h.relfilenode = h.oid) AS same_heap
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class h ON h.oid = x.indrelid
 WHERE x.indrelid = 'lambda_catalog.vl_build_batch'::regclass;
SELECT string_agg(x.indexrelid::text || ':' || i.relfilenode, ',' ORDER BY x.indexrelid) AS old_index_files,
       h.relfilenode AS old_heap_file, h.reltoastrelid AS old_toast
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class h ON h.oid = x.indrelid
 WHERE x.indrelid = 'lambda_catalog.vl_build_batch'::regclass GROUP BY h.relfilenode, h.reltoastrelid \gset
SELECT lambda.recompute('vl_build');
-- the same relations (oids, names), new storage for the heap and each
-- index, and another TOAST table, named as the one it replaced, holding
-- the long keys
SELECT count(*) AS indexes, bool_and(i.relfilenode <> i.oid) AS indexed_after,
       bool_and(position(x.indexrelid::text || ':' || i.relfilenode IN :'old_index_files') = 0
                AND position(x.indexrelid::text || ':' IN :'old_index_files') > 0) AS same_indexes_new_storage,
       bool_and(h.relfilenode <> :old_heap_file) AS new_heap_storage,
       bool_and(h.reltoastrelid <> :old_toast) AS new_toast_table,
       bool_and(t.relname = 'pg_toast_' || h.oid) AS toast_name,
       bool_and(EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = t.oid
                          AND d.refobjid = h.oid AND d.deptype = 'i')) AS toast_depends_on_batch
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class h ON h.oid = x.indrelid
  JOIN pg_class t ON t.oid = h.reltoastrelid
 WHERE x.indrelid = 'lambda_catalog.vl_build_batch'::regclass;
SELECT count(*) AS old_toast_left FROM pg_class WHERE oid = :old_toast;
SELECT reltoastrelid::regclass AS toast_table FROM pg_class WHERE oid = 'lambda_catalog.vl_build_batch'::regclass \gset
SELECT count(DISTINCT chunk_id) AS values_out_of_line FROM :toast_table;
SELECT batch_diff('vl_inc', 'vl_build');
SELECT query_diff('vl_build', 'SELECT u, count(*) AS n, sum(x) AS sx, count(DISTINCT x) AS dx FROM lev GROUP BY u');
-- the btree indexes hold every row (amcheck), and each long key is found
-- through the hash index and through key_hash
SELECT count(*) AS btree_indexes_checked,
       count(bt_index_check(x.indexrelid, true)) AS consistent
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = i.relam
 WHERE x.indrelid = 'lambda_catalog.vl_build_batch'::regclass AND a.amname = 'btree';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS long_keys,
       count(*) FILTER (WHERE EXISTS (SELECT FROM lambda_catalog.vl_build_batch b WHERE b._lambda_long AND b.u = q.u)) AS found_by_hash,
       count(*) FILTER (WHERE EXISTS (SELECT FROM lambda_catalog.vl_build_batch b
                                      WHERE b._lambda_long AND lambda_catalog.key_hash(b.u) = lambda_catalog.key_hash(q.u))) AS found_by_key_hash
  FROM (SELECT DISTINCT u FROM lev WHERE octet_length(u) > 2048) q;
SELECT n, sx FROM vl_build WHERE u = long_key(10);
RESET enable_seqscan;
RESET enable_bitmapscan;
-- a refresh updates long and short rows of the swapped-in table and adds
-- new ones; a second recompute gives the same rows again
INSERT INTO lev SELECT CASE WHEN i % 3 = 0 THEN long_key(i % 400) ELSE 'u' || (i % 70) END, i % 89, '2025-01-02'
  FROM generate_series(1, 600) i;
REFRESH MATERIALIZED VIEW vl_build;
REFRESH MATERIALIZED VIEW vl_inc;
SELECT batch_diff('vl_inc', 'vl_build');
SELECT query_diff('vl_build', 'SELECT u, count(*) AS n, sum(x) AS sx, count(DISTINCT x) AS dx FROM lev GROUP BY u');
SELECT lambda.recompute('vl_build');
SELECT batch_diff('vl_inc', 'vl_build');
SELECT query_diff('vl_build', 'SELECT u, count(*) AS n, sum(x) AS sx, count(DISTINCT x) AS dx FROM lev GROUP BY u');
SELECT count(*) AS btree_indexes_checked, count(bt_index_check(x.indexrelid, true)) AS consistent
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = i.relam
 WHERE x.indrelid = 'lambda_catalog.vl_build_batch'::regclass AND a.amname = 'btree';
DROP MATERIALIZED VIEW vl_inc, vl_build;
DROP TABLE lev;
DROP FUNCTION long_key(int);
DROP EXTENSION amcheck;

-- the statement's functions refuse what pg_lambda would not give them
SELECT lambda_catalog.batch_image((SELECT batch_table FROM lambda.views WHERE view = 'v_build'::regclass), 1, 'x'::text);
SELECT lambda_catalog.batch_image((SELECT batch_table FROM lambda.views WHERE view = 'v_build'::regclass), 99, 1::bigint);
SELECT lambda_catalog.batch_state((SELECT batch_table FROM lambda.views WHERE view = 'v_build'::regclass), 6, true, x) FROM ev;
SELECT lambda_catalog.batch_state((SELECT batch_table FROM lambda.views WHERE view = 'v_build'::regclass), 6, true, b, x) FROM ev;
SELECT lambda_catalog.batch_image(NULL, 1, 1::bigint);


-- a view whose owner does not have the catalog owner's rights is recomputed
-- with its own: its expressions never run as the catalog's owner
CREATE ROLE lambda_recompute_owner;
GRANT CREATE ON SCHEMA public TO lambda_recompute_owner;
SET ROLE lambda_recompute_owner;
CREATE FUNCTION who() RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT current_user::text';
CREATE TABLE oev (x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('oev', time_column => 'ts');
INSERT INTO oev VALUES (1, now()), (2, now());
CREATE MATERIALIZED VIEW v_owner WITH (lambda.continuous) AS SELECT who() AS w, count(*) AS n FROM oev GROUP BY who();
SELECT w, n FROM v_owner;
SELECT lambda.recompute('v_owner');
SELECT w, n FROM v_owner;
DROP MATERIALIZED VIEW v_owner;
DROP TABLE oev;
DROP FUNCTION who();
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM lambda_recompute_owner;
DROP ROLE lambda_recompute_owner;
DROP MATERIALIZED VIEW v_inc, v_build, v_sk, v_none, v_p;
DROP TABLE ev, pev;
DROP FUNCTION batch_diff(regclass, regclass), query_diff(regclass, text);
DROP EXTENSION pg_lambda;
