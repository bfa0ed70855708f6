-- Group keys of any size. A btree index entry holds at most about 2.7 kB,
-- so a group whose key is longer (here 2.9 kB and 100 kB of incompressible
-- text, a 6000-digit numeric, a 3.2 kB jsonb) is kept out of the batch
-- table's unique index and found through a hash of its key instead
-- (docs/views.md, "How a view is stored"). REFRESH, recompute and the
-- scheduler's refreshes fold such groups in like any other; every answer is
-- compared with the defining query; a point query on a short key still
-- reads the unique index.

-- installed at 0.3.0 with a view over short and long keys, then updated:
-- the update moves the view's batch table to the new design
CREATE EXTENSION pg_lambda VERSION '0.3.0';
CREATE TABLE hits (url text, num numeric, tags jsonb, ts timestamptz NOT NULL, x int, u int);
SELECT lambda.create_event_table('hits', time_column => 'ts');
-- deterministic, incompressible text: md5 digests of a series (32 characters each)
CREATE FUNCTION long_text(parts int, seed int) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$SELECT string_agg(md5((seed * 1000000 + i)::text), '' ORDER BY i) FROM generate_series(1, parts) i$$;
-- a numeric of 1 + 4 * parts significant digits
CREATE FUNCTION long_num(parts int, seed int) RETURNS numeric LANGUAGE sql IMMUTABLE AS
  $$SELECT ('1' || string_agg(lpad((abs(hashint4(seed * 100000 + i)) % 10000)::text, 4, '0'), '' ORDER BY i))::numeric
      FROM generate_series(1, parts) i$$;
SELECT length(long_text(91, 1)) AS short_poison, length(long_text(3200, 2)) AS long_poison,
       pg_column_size(long_num(1500, 1)) AS numeric_bytes;

INSERT INTO hits SELECT 'u' || (i % 7), i % 3, jsonb_build_array('t' || (i % 2)),
       '2025-01-01 00:00+00'::timestamptz + i * interval '7 minutes', i, i % 11
  FROM generate_series(1, 200) i;
CREATE MATERIALIZED VIEW by_url WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT url, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du FROM hits GROUP BY url;
-- a 0.3.0 view with a long key already in its batch table: its text
-- compresses, so it fitted in the old index
INSERT INTO hits VALUES (repeat('compressible/', 400), 0, NULL, '2025-01-01 00:00+00', 1, 1);
REFRESH MATERIALIZED VIEW by_url;
ALTER EXTENSION pg_lambda UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_lambda';
SELECT indexdef FROM pg_indexes WHERE tablename = 'by_url_batch' ORDER BY indexdef;

-- compares a continuous view with its defining query (both ways), leaving
-- out the named columns
CREATE FUNCTION differ(v regclass, direct text, skip text[] DEFAULT '{}') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  cols text;
  nv bigint;
  nd bigint;
  diff bigint;
BEGIN
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = v AND attnum > 0 AND NOT attisdropped AND attname <> ALL (skip);
  EXECUTE format('SELECT count(*) FROM %s', v) INTO nv;
  EXECUTE format('SELECT count(*) FROM (%s) d', direct) INTO nd;
  EXECUTE format('SELECT count(*) FROM ((SELECT %1$s FROM %2$s EXCEPT ALL SELECT %1$s FROM (%3$s) d)
                   UNION ALL (SELECT %1$s FROM (%3$s) d EXCEPT ALL SELECT %1$s FROM %2$s)) x', cols, v, direct)
    INTO diff;
  RETURN format('view %s rows, query %s rows, %s differ', nv, nd, diff);
END $$;
SELECT differ('by_url', 'SELECT url, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du FROM hits GROUP BY url');

-- keys of several columns and types, with NULLs, created after the update
CREATE MATERIALIZED VIEW by_all WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT url, num, tags, date_trunc('day', ts AT TIME ZONE 'UTC') AS day,
         count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS p50
    FROM hits GROUP BY url, num, tags, date_trunc('day', ts AT TIME ZONE 'UTC');
CREATE VIEW by_all_direct AS
  SELECT url, num, tags, date_trunc('day', ts AT TIME ZONE 'UTC') AS day,
         count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS p50
    FROM hits GROUP BY url, num, tags, date_trunc('day', ts AT TIME ZONE 'UTC');
-- percentiles are within 1 % (a quantile sketch)
CREATE FUNCTION by_all_same() RETURNS text LANGUAGE sql AS $$
  SELECT differ('by_all', 'SELECT * FROM by_all_direct', '{p50}') || ', p50 within 1 %: ' ||
         (SELECT coalesce(bool_and(abs(v.p50 - d.p50) <= 0.01 * abs(d.p50)), true)
            FROM by_all v JOIN by_all_direct d
              ON v.url IS NOT DISTINCT FROM d.url AND v.num IS NOT DISTINCT FROM d.num
             AND v.tags IS NOT DISTINCT FROM d.tags AND v.day = d.day)
$$;

-- a sliding window (its hidden key _lambda_step is one more key column)
CREATE MATERIALIZED VIEW recent WITH (lambda.continuous, lambda.sliding_window = '1 day',
                                      lambda.refresh_interval = '1 hour') AS
  SELECT url, count(*) AS n, sum(x) AS s FROM hits GROUP BY url;
CREATE VIEW recent_direct AS
  SELECT url, count(*) AS n, sum(x) AS s FROM hits
   WHERE ts >= date_bin(interval '1 day' / 20, now() - interval '1 day', '2000-01-01 00:00+00')
     AND ts < date_bin(interval '1 day' / 20, now(), '2000-01-01 00:00+00') + interval '1 day' / 20
   GROUP BY url;

-- a recent time, m minutes ago, but never in a day before the one that
-- holds ten minutes ago: the events this test adds "now" fall in one day
-- (group key "day") whenever it runs, also just after midnight UTC
CREATE FUNCTION ago(m int) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT least(now() - m * interval '1 minute',
               date_trunc('day', now() - interval '10 minutes', 'UTC') + interval '1 day' - m * interval '1 second')
$$;

-- the poison events: each makes a key no btree entry can hold
INSERT INTO hits VALUES
  (long_text(91, 1), 1, '["t0"]', '2025-01-02 00:00+00', 5, 1),
  (long_text(91, 1), 1, '["t0"]', '2025-01-02 00:10+00', 6, 2),
  (long_text(3200, 2), 2, '["t1"]', '2025-01-02 01:00+00', 7, 3),
  ('u1', long_num(1500, 1), '["t0"]', '2025-01-02 02:00+00', 8, 4),
  (NULL, NULL, jsonb_build_array(long_text(100, 3)), '2025-01-02 03:00+00', 9, 5),
  (NULL, NULL, NULL, '2025-01-02 04:00+00', 10, 6),
  (long_text(91, 1), 3, NULL, ago(1), 11, 7),
  (long_text(3200, 2), 3, NULL, ago(2), 12, 8),
  ('u2', 3, NULL, ago(3), 13, 9);
SELECT by_all_same();
REFRESH MATERIALIZED VIEW by_url;
REFRESH MATERIALIZED VIEW by_all;
REFRESH MATERIALIZED VIEW recent;
SELECT differ('by_url', 'SELECT url, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du FROM hits GROUP BY url');
SELECT by_all_same();
SELECT differ('recent', 'SELECT * FROM recent_direct');
SELECT view, state, batch_rows, last_refresh_mode FROM lambda.view_status ORDER BY view::text;

-- the same long keys again (their batch rows are updated) and new ones,
-- also in one statement with equal keys
INSERT INTO hits VALUES
  (long_text(91, 1), 1, '["t0"]', '2025-01-02 00:20+00', 100, 10),
  (long_text(3200, 2), 2, '["t1"]', '2025-01-02 01:30+00', 101, 3),
  (long_text(3200, 4), 2, '["t1"]', '2025-01-02 01:30+00', 102, 3),
  (long_text(3200, 4), 2, '["t1"]', '2025-01-02 01:40+00', 103, 4),
  (NULL, NULL, jsonb_build_array(long_text(100, 3)), '2025-01-02 03:30+00', 104, 5),
  ('u1', long_num(1500, 1), '["t0"]', '2025-01-02 02:50+00', 105, 11),
  (long_text(3200, 2), 3, NULL, ago(5), 106, 8);
REFRESH MATERIALIZED VIEW by_url;
REFRESH MATERIALIZED VIEW by_all;
REFRESH MATERIALIZED VIEW recent;
SELECT differ('by_url', 'SELECT url, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du FROM hits GROUP BY url');
SELECT by_all_same();
SELECT differ('recent', 'SELECT * FROM recent_direct');
-- one batch row per group
SELECT (SELECT count(*) FROM lambda_catalog.by_url_batch) AS by_url_rows,
       (SELECT count(*) FROM (SELECT DISTINCT url FROM hits) d) AS by_url_groups,
       (SELECT count(*) FROM lambda_catalog.by_all_batch) AS by_all_rows,
       (SELECT count(*) FROM by_all_direct) AS by_all_groups,
       (SELECT count(*) FILTER (WHERE _lambda_long) FROM lambda_catalog.by_all_batch) AS by_all_long;

-- recompute rebuilds every group from the events
SELECT lambda.recompute('by_url');
SELECT lambda.recompute('by_all');
SET client_min_messages = warning;  -- its group count depends on whether the recent events straddle a step boundary
SELECT lambda.recompute('recent');
RESET client_min_messages;
SELECT differ('by_url', 'SELECT url, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du FROM hits GROUP BY url');
SELECT by_all_same();
SELECT differ('recent', 'SELECT * FROM recent_direct');

-- point queries on the long keys find them, in the batch table and in the
-- speed layer
INSERT INTO hits VALUES (long_text(3200, 2), 2, '["t1"]', '2025-01-02 01:50+00', 1000, 12);
SELECT n, s, du FROM by_url WHERE url = long_text(3200, 2);
SELECT count(*), sum(x), count(DISTINCT u) FROM hits WHERE url = long_text(3200, 2);
SELECT n, s FROM by_all WHERE url IS NULL AND tags = jsonb_build_array(long_text(100, 3));
SELECT n, s FROM by_all WHERE num = long_num(1500, 1);
SELECT n, s FROM recent WHERE url = long_text(91, 1);
SELECT length(url), n, s FROM by_url WHERE url = repeat('compressible/', 400);

-- a point query on a short key reads the unique index of the short keys,
-- and a hash index of the long ones (with enough groups that the planner
-- prefers indexes to reading the whole table); when every key column of
-- variable length is a short constant, no long key can match and the branch
-- of long keys is left out (by_url; by_all's numeric key compares equal
-- values of different sizes, so it keeps the branch), but a parameter's
-- value is not known to a generic plan, which keeps it
INSERT INTO hits SELECT 'bulk' || i, i % 3, '["t1"]', '2025-01-01 00:00+00', i, i
  FROM generate_series(1, 5000) i;
REFRESH MATERIALIZED VIEW by_url;
REFRESH MATERIALIZED VIEW by_all;
ANALYZE lambda_catalog.by_url_batch, lambda_catalog.by_all_batch;
-- EXPLAIN without "Group Key" lines: PostgreSQL 15 prints the grouping keys
-- that WHERE fixes to constants, 17 and later leave them out
CREATE FUNCTION plan_lines(query text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    CONTINUE WHEN line ~ '^ *Group Key: ';
    RETURN NEXT line;
  END LOOP;
END $f$;
SELECT plan_lines($q$SELECT n FROM by_url WHERE url = 'u3'$q$);
SELECT plan_lines($q$SELECT n FROM by_all WHERE url = 'u3' AND num = 1 AND tags = '["t1"]' AND day = '2025-01-01'$q$);
PREPARE by_url_at(text) AS SELECT n FROM by_url WHERE url = $1;
SET plan_cache_mode = force_generic_plan;
SELECT plan_lines($q$EXECUTE by_url_at('u3')$q$);
EXECUTE by_url_at('u3');
EXECUTE by_url_at(long_text(3200, 2));
RESET plan_cache_mode;
DEALLOCATE by_url_at;
DROP FUNCTION plan_lines(text);
SELECT n, s FROM by_url WHERE url = 'u3';

-- a refresh writes the groups of short keys straight into the batch table,
-- and those of long keys through statements: each short key's row is under
-- the unique index (it is NOT _lambda_long), every btree index holds every
-- row it covers, and rows updated and inserted beside long keys are right
INSERT INTO hits SELECT 'bulk' || i, i % 3, '["t1"]', '2025-01-01 00:00+00', i, i
  FROM generate_series(4000, 6000) i;
INSERT INTO hits VALUES (long_text(3200, 6), 2, '["t1"]', '2025-01-02 01:30+00', 1, 1),
                        (long_text(3200, 2), 2, '["t1"]', '2025-01-02 01:30+00', 2, 2);
REFRESH MATERIALIZED VIEW by_url;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS short_keys, count(b.url) AS found_through_the_unique_index
  FROM (SELECT DISTINCT url FROM hits WHERE url IS NOT NULL AND NOT lambda_catalog.key_is_long(url)) h
  LEFT JOIN LATERAL (SELECT b.url FROM lambda_catalog.by_url_batch b
                      WHERE b.url = h.url AND NOT b._lambda_long) b ON true;
RESET enable_seqscan;
RESET enable_bitmapscan;
CREATE EXTENSION amcheck;
SELECT c.relname, bt_index_check(c.oid, true)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
  WHERE i.indrelid = 'lambda_catalog.by_url_batch'::regclass AND a.amname = 'btree'
  ORDER BY 1;
DROP EXTENSION amcheck;
SELECT count(*) FILTER (WHERE _lambda_long) AS long_rows, count(*) AS rows
  FROM lambda_catalog.by_url_batch;

SELECT differ('by_url', 'SELECT url, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du FROM hits GROUP BY url');
SELECT by_all_same();

-- bit strings have no hash function, so every long one has the same key
-- hash: only comparing the keys tells these groups apart
CREATE TABLE bits (b varbit, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('bits', time_column => 'ts');
CREATE MATERIALIZED VIEW by_bits WITH (lambda.continuous) AS SELECT b, count(*) AS n, sum(x) AS s FROM bits GROUP BY b;
INSERT INTO bits SELECT ('x' || long_text(140, i % 3))::varbit, i, now() FROM generate_series(1, 9) i;
INSERT INTO bits VALUES (B'101', 100, now()), (NULL, 200, now());
REFRESH MATERIALIZED VIEW by_bits;
INSERT INTO bits SELECT ('x' || long_text(140, i % 4))::varbit, i, now() FROM generate_series(1, 8) i;
REFRESH MATERIALIZED VIEW by_bits;
SELECT differ('by_bits', 'SELECT b, count(*) AS n, sum(x) AS s FROM bits GROUP BY b');
SELECT count(*) AS batch_rows, count(*) FILTER (WHERE _lambda_long) AS long_rows,
       count(DISTINCT lambda_catalog.key_hash(b)) FILTER (WHERE _lambda_long) AS long_hashes
  FROM lambda_catalog.by_bits_batch;
SELECT lambda.recompute('by_bits');
SELECT differ('by_bits', 'SELECT b, count(*) AS n, sum(x) AS s FROM bits GROUP BY b');
DROP TABLE bits CASCADE;

-- the scheduler's refreshes fold long keys in too
ALTER MATERIALIZED VIEW by_all SET (lambda.refresh_interval = '1 second');
INSERT INTO hits VALUES (long_text(3200, 5), 2, '["t1"]', '2025-01-02 01:30+00', 7, 3),
                        (long_text(91, 1), 1, '["t0"]', '2025-01-02 00:30+00', 8, 4);
DO $$
DECLARE
  t0 timestamptz := clock_timestamp();
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN (SELECT last_refresh > t0 AND speed_keys = 0 FROM lambda.view_status WHERE view = 'by_all'::regclass);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT state, speed_keys, last_refresh_mode FROM lambda.view_status WHERE view = 'by_all'::regclass;
SELECT by_all_same();

-- the indexes of long keys of a view built over many short keys are made
-- while its batch table is empty and left so, at CREATE and at a recompute
-- (a hash index sized for no row, not for every short key); a long key that
-- comes later is found through each of them; a recompute or a CREATE over a
-- long key builds them from the rows
CREATE TABLE pages (url text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('pages', time_column => 'ts');
INSERT INTO pages SELECT 'p' || i, i, '2025-01-01 00:00+00' FROM generate_series(1, 20000) i;
CREATE MATERIALIZED VIEW by_page WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT url, count(*) AS n, sum(x) AS s FROM pages GROUP BY url;
-- each index of long keys: its kind and whether it holds a page or two
CREATE FUNCTION long_indexes(batch regclass) RETURNS TABLE (am name, small boolean) LANGUAGE sql AS $$
  SELECT a.amname, pg_relation_size(c.oid) <= 4 * current_setting('block_size')::int
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
   WHERE i.indrelid = batch AND pg_get_expr(i.indpred, i.indrelid) = '_lambda_long'
   ORDER BY 1
$$;
-- each long row of a batch table (read from its heap) looked up through the
-- hash index on its url and through the btree index of its key hash (keys:
-- the view's key columns); and amcheck's check of every btree index of the
-- table against its rows
CREATE FUNCTION long_rows_found(batch regclass, keys text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  nlong bigint;
  by_hash bigint;
  by_key_hash bigint;
BEGIN
  EXECUTE format('CREATE TEMP TABLE long_rows AS SELECT url, lambda_catalog.key_hash(%2$s) AS h, b::text AS r
                    FROM %1$s b WHERE _lambda_long', batch, keys);
  SET LOCAL enable_seqscan = off;
  SET LOCAL enable_bitmapscan = off;
  EXECUTE format('SELECT count(*),
                         count(*) FILTER (WHERE EXISTS (SELECT FROM %1$s b WHERE b._lambda_long AND b.url = l.url
                                                           AND b::text = l.r)),
                         count(*) FILTER (WHERE EXISTS (SELECT FROM %1$s b WHERE b._lambda_long
                                                           AND lambda_catalog.key_hash(%2$s) = l.h AND b::text = l.r))
                    FROM long_rows l', batch, keys)
    INTO nlong, by_hash, by_key_hash;
  SET LOCAL enable_seqscan = on;
  SET LOCAL enable_bitmapscan = on;
  DROP TABLE long_rows;
  PERFORM bt_index_check(i.indexrelid, true)
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
    WHERE i.indrelid = batch AND a.amname = 'btree';
  RETURN format('%s long rows, %s found through the hash index, %s through the key hashes, btree indexes checked',
                nlong, by_hash, by_key_hash);
END $$;
CREATE EXTENSION amcheck;
SELECT * FROM long_indexes('lambda_catalog.by_page_batch');
SELECT lambda.recompute('by_page');
SELECT * FROM long_indexes('lambda_catalog.by_page_batch');
INSERT INTO pages VALUES (long_text(91, 7), 1, '2025-01-01 01:00+00'), (long_text(91, 7), 2, '2025-01-01 02:00+00'),
                         (long_text(3200, 8), 3, '2025-01-01 03:00+00');
REFRESH MATERIALIZED VIEW by_page;
SELECT long_rows_found('lambda_catalog.by_page_batch', 'b.url');
-- (the look-ups read those indexes)
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE by_url(text) AS SELECT n FROM lambda_catalog.by_page_batch WHERE _lambda_long AND url = $1;
PREPARE by_key_hash(text) AS SELECT n FROM lambda_catalog.by_page_batch
  WHERE _lambda_long AND lambda_catalog.key_hash(url) = lambda_catalog.key_hash($1);
EXPLAIN (COSTS OFF) EXECUTE by_url(long_text(91, 7));
EXPLAIN (COSTS OFF) EXECUTE by_key_hash(long_text(91, 7));
DEALLOCATE by_url;
DEALLOCATE by_key_hash;
RESET plan_cache_mode;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT lambda.recompute('by_page');
SELECT long_rows_found('lambda_catalog.by_page_batch', 'b.url');
SELECT differ('by_page', 'SELECT url, count(*) AS n, sum(x) AS s FROM pages GROUP BY url');
CREATE MATERIALIZED VIEW by_page_x WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT url, x % 2 AS odd, count(*) AS n FROM pages GROUP BY url, x % 2;
SELECT long_rows_found('lambda_catalog.by_page_x_batch', 'b.url, b.odd');
SELECT n FROM by_page_x WHERE url = long_text(91, 7) ORDER BY odd;
DROP EXTENSION amcheck;
DROP FUNCTION long_rows_found(regclass, text);
DROP FUNCTION long_indexes(regclass);
DROP TABLE pages CASCADE;

DROP FUNCTION by_all_same();
DROP TABLE hits CASCADE;
DROP FUNCTION differ(regclass, text, text[]);
DROP FUNCTION long_text(int, int);
DROP FUNCTION long_num(int, int);
DROP FUNCTION ago(int);
DROP EXTENSION pg_lambda;
