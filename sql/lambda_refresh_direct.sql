-- An incremental REFRESH that changes many groups of a large part of the
-- batch table: existing groups get their states combined in place, new ones
-- are inserted, in the unique index's key order, without INSERT ... ON
-- CONFLICT (docs/views.md, "Refreshes"). Views with NULL keys, a key of
-- several columns, no key, count(DISTINCT) sets large enough to be TOASTed,
-- a secondary index, and (through the statements instead) long keys and
-- keys with several images; every answer is compared with the defining
-- query, and amcheck verifies that every batch row has its index entries.
CREATE EXTENSION pg_lambda;
CREATE EXTENSION amcheck;
CREATE TABLE ev (k int, t text, n numeric, ts timestamptz NOT NULL, x int, u int);
SELECT lambda.create_event_table('ev', time_column => 'ts');

-- compares a continuous view with its defining query (both ways)
CREATE FUNCTION differ(v regclass, direct text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  nv bigint;
  nd bigint;
  diff bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %s', v) INTO nv;
  EXECUTE format('SELECT count(*) FROM (%s) d', direct) INTO nd;
  EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %1$s EXCEPT ALL SELECT * FROM (%2$s) d)
                   UNION ALL (SELECT * FROM (%2$s) d EXCEPT ALL SELECT * FROM %1$s)) x', v, direct)
    INTO diff;
  RETURN format('view %s rows, query %s rows, %s differ', nv, nd, diff);
END $$;

-- every index of a view's batch table holds every row (heapallindexed)
CREATE FUNCTION indexes_ok(v regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  i regclass;
  n int := 0;
BEGIN
  FOR i IN SELECT indexrelid::regclass FROM pg_index
            WHERE indrelid = (SELECT batch_table FROM lambda.views WHERE view = v)
            ORDER BY indexrelid LOOP
    IF (SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid WHERE c.oid = i) = 'btree' THEN
      PERFORM bt_index_check(i, true);
      n := n + 1;
    END IF;
  END LOOP;
  RETURN format('%s btree indexes checked', n);
END $$;

-- 3,000 groups of (k, day), k NULL for some; states of every kind
INSERT INTO ev SELECT nullif(i % 1000, 7), 't' || (i % 13), (i % 5)::numeric / 2,
       '2025-01-01 00:00+00'::timestamptz + (i % 3) * interval '1 day', i % 997, i % 301
  FROM generate_series(1, 30000) i;
CREATE MATERIALIZED VIEW by_kd WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, date_trunc('day', ts AT TIME ZONE 'UTC') AS day, count(*) AS n, sum(x) AS s,
         avg(x) AS a, min(x) AS lo, max(x) AS hi, count(DISTINCT u) AS du
  FROM ev GROUP BY k, date_trunc('day', ts AT TIME ZONE 'UTC');
CREATE INDEX ON by_kd (day);
-- one view without keys: a count(DISTINCT) set of thousands of values (TOASTed)
CREATE MATERIALIZED VIEW whole WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT count(*) AS n, sum(x) AS s, count(DISTINCT x * 1000 + u) AS du FROM ev;
-- text keys (long ones among them later) and numeric keys (1.0 and 1.00)
CREATE MATERIALIZED VIEW by_t WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT t, count(*) AS n, sum(x) AS s FROM ev GROUP BY t;
CREATE MATERIALIZED VIEW by_n WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT n, count(*) AS c, max(x) AS hi FROM ev GROUP BY n;
SELECT view, batch_rows FROM lambda.view_status ORDER BY view::text;

-- new events: half of them into existing groups, half into new ones (k
-- beyond 1000, a new day), NULL keys of both kinds; a few groups get
-- many new distinct values
INSERT INTO ev SELECT CASE WHEN i % 2 = 0 THEN nullif(i % 1000, 7) ELSE 1000 + i % 1500 END,
       't' || (i % 17), (i % 7)::numeric / 2 + CASE WHEN i % 2 = 0 THEN 0.00 ELSE 0.0 END,
       '2025-01-01 00:00+00'::timestamptz + (i % 4) * interval '1 day', i % 991, i % 3001
  FROM generate_series(1, 40000) i;
INSERT INTO ev VALUES (NULL, NULL, NULL, '2025-01-09 00:00+00', 5, 5),
                      (NULL, repeat(md5('long'), 100), NULL, '2025-01-01 00:00+00', 6, 6);
REFRESH MATERIALIZED VIEW by_kd;
REFRESH MATERIALIZED VIEW whole;
REFRESH MATERIALIZED VIEW by_t;
REFRESH MATERIALIZED VIEW by_n;
SELECT view, last_refresh_mode, last_refresh_groups, batch_rows FROM lambda.view_status ORDER BY view::text;
SELECT differ('by_kd', $$SELECT k, date_trunc('day', ts AT TIME ZONE 'UTC') AS day, count(*) AS n, sum(x) AS s,
         avg(x) AS a, min(x) AS lo, max(x) AS hi, count(DISTINCT u) AS du
  FROM ev GROUP BY k, date_trunc('day', ts AT TIME ZONE 'UTC')$$);
SELECT differ('whole', 'SELECT count(*) AS n, sum(x) AS s, count(DISTINCT x * 1000 + u) AS du FROM ev');
SELECT differ('by_t', 'SELECT t, count(*) AS n, sum(x) AS s FROM ev GROUP BY t');
SELECT differ('by_n', 'SELECT n, count(*) AS c, max(x) AS hi FROM ev GROUP BY n');
SELECT indexes_ok('by_kd'), indexes_ok('whole'), indexes_ok('by_t'), indexes_ok('by_n');
-- the batch table alone (the speed layer is empty now) holds the answers:
-- a point read through the unique index and one through the secondary one
SET enable_seqscan = off;
SELECT k, day, n, s, lo, hi, du FROM by_kd WHERE k IS NULL ORDER BY day;
SELECT count(*), sum(n), sum(s) FROM by_kd WHERE day = '2025-01-04';
SELECT count(*), sum(x) FROM ev WHERE date_trunc('day', ts AT TIME ZONE 'UTC') = '2025-01-04';
RESET enable_seqscan;

-- a second round into the rows the first one inserted and updated
INSERT INTO ev SELECT 1000 + i % 2000, 't' || (i % 5), 1, '2025-01-04 00:00+00', i, i
  FROM generate_series(1, 6000) i;
REFRESH MATERIALIZED VIEW by_kd;
REFRESH MATERIALIZED VIEW whole;
SELECT differ('by_kd', $$SELECT k, date_trunc('day', ts AT TIME ZONE 'UTC') AS day, count(*) AS n, sum(x) AS s,
         avg(x) AS a, min(x) AS lo, max(x) AS hi, count(DISTINCT u) AS du
  FROM ev GROUP BY k, date_trunc('day', ts AT TIME ZONE 'UTC')$$);
SELECT differ('whole', 'SELECT count(*) AS n, sum(x) AS s, count(DISTINCT x * 1000 + u) AS du FROM ev');
SELECT indexes_ok('by_kd'), indexes_ok('whole');

-- a refresh in a transaction that then rolls back leaves the rows as they were
INSERT INTO ev SELECT i, 'r', 1, '2025-01-05 00:00+00', i, i FROM generate_series(1, 3000) i;
BEGIN;
REFRESH MATERIALIZED VIEW by_kd;
SELECT count(*) FROM by_kd WHERE day = '2025-01-05';
ROLLBACK;
SELECT count(*) FROM by_kd WHERE day = '2025-01-05';
REFRESH MATERIALIZED VIEW by_kd;
SELECT differ('by_kd', $$SELECT k, date_trunc('day', ts AT TIME ZONE 'UTC') AS day, count(*) AS n, sum(x) AS s,
         avg(x) AS a, min(x) AS lo, max(x) AS hi, count(DISTINCT u) AS du
  FROM ev GROUP BY k, date_trunc('day', ts AT TIME ZONE 'UTC')$$);
SELECT indexes_ok('by_kd');

-- The upsert walks the unique index beside the groups (both in key order)
-- rather than descending it for each group: refreshes whose groups are
-- sparse in the index (the walk descends again past 32 entries) and dense,
-- NULL first keys (last in the index), dead versions of earlier refreshes
-- and of a rolled back one in the index. Rows updated off their page get
-- index entries (amcheck: heapallindexed); a fillfactor set on the batch
-- table is kept by lambda.recompute and keeps the updates on their page
-- (HOT: only state columns change).
CREATE TABLE ev2 (a int, b int, ts timestamptz NOT NULL, x int);
SELECT lambda.create_event_table('ev2', time_column => 'ts');
-- 10,000 groups: a in 1..399 and NULL, b in 0..24
INSERT INTO ev2 SELECT nullif(i % 400, 0), (i / 400) % 25, '2025-01-01 00:00+00', i
  FROM generate_series(1, 20000) i;
CREATE MATERIALIZED VIEW w WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT a, b, count(*) AS n, sum(x) AS s, min(x) AS lo FROM ev2 GROUP BY a, b;
CREATE INDEX ON w (b);
SELECT batch_table AS w_batch FROM lambda.views WHERE view = 'w'::regclass \gset
CREATE FUNCTION w_differ() RETURNS text LANGUAGE sql AS
  $$SELECT differ('w', 'SELECT a, b, count(*) AS n, sum(x) AS s, min(x) AS lo FROM ev2 GROUP BY a, b')$$;
-- where each batch row is (its page) before a refresh, and how many of the
-- rows the refresh updated (their count state changed) are on the same page
-- after it
CREATE TEMP TABLE placed (a int, b int, n bytea, blk float8);
CREATE FUNCTION w_batch_rows() RETURNS TABLE (a int, b int, n bytea, ctid tid) LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('SELECT a, b, n, ctid FROM %s',
                              (SELECT batch_table FROM lambda.views WHERE view = 'w'::regclass));
END $$;
CREATE FUNCTION place() RETURNS void LANGUAGE sql AS $$
  DELETE FROM placed;
  INSERT INTO placed SELECT a, b, n, (ctid::text::point)[0] FROM w_batch_rows();
$$;
CREATE FUNCTION stayed() RETURNS text LANGUAGE sql AS $$
  SELECT format('%s updated, on their page: %s', count(*),
                CASE WHEN count(*) FILTER (WHERE same) = count(*) THEN 'all'
                     WHEN count(*) FILTER (WHERE same) * 10 < count(*) THEN 'under 10%'
                     ELSE 'some' END)
  FROM (SELECT (r.ctid::text::point)[0] = p.blk AS same
          FROM w_batch_rows() r JOIN placed p ON r.a IS NOT DISTINCT FROM p.a AND r.b = p.b AND r.n <> p.n) u;
$$;
-- sparse: every 20th a, one b, existing and new (b 100) groups, NULL a
INSERT INTO ev2 SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE i * 20 END, CASE WHEN i % 2 = 0 THEN 3 ELSE 100 END,
       '2025-01-02 00:00+00', i FROM generate_series(1, 19) i;
REFRESH MATERIALIZED VIEW w;
SELECT w_differ(), indexes_ok('w');
-- dense: every group (full pages: the updates move their rows), new ones
INSERT INTO ev2 SELECT nullif(i % 410, 0), (i / 410) % 26, '2025-01-03 00:00+00', -i
  FROM generate_series(1, 10660) i;
SELECT place();
REFRESH MATERIALIZED VIEW w;
SELECT stayed();
SELECT w_differ(), indexes_ok('w');
-- rolled back, then redone: the rolled back versions stay in the index
INSERT INTO ev2 SELECT nullif(i % 420, 0), i % 27, '2025-01-04 00:00+00', i FROM generate_series(1, 5000) i;
BEGIN;
REFRESH MATERIALIZED VIEW w;
ROLLBACK;
REFRESH MATERIALIZED VIEW w;
SELECT w_differ(), indexes_ok('w');
-- a fillfactor on the batch table: kept by a recompute, updates stay on their page
ALTER TABLE :w_batch SET (fillfactor = 40);
SELECT lambda.recompute('w');
SELECT reloptions FROM pg_class WHERE oid = :'w_batch'::regclass;
SELECT w_differ(), indexes_ok('w');
INSERT INTO ev2 SELECT nullif(i % 420, 0), i % 27, '2025-01-05 00:00+00', i FROM generate_series(1, 3780) i;
SELECT place();
REFRESH MATERIALIZED VIEW w;
SELECT stayed();
SELECT w_differ(), indexes_ok('w');
-- and again, into the versions the last refresh made
INSERT INTO ev2 SELECT nullif(i % 420, 0), i % 27, '2025-01-06 00:00+00', i FROM generate_series(1, 3780) i;
SELECT place();
REFRESH MATERIALIZED VIEW w;
SELECT stayed();
SELECT reloptions FROM pg_class WHERE oid = :'w_batch'::regclass;
SELECT w_differ(), indexes_ok('w');
-- keys the sort compares as integers: negative smallints, dates, booleans, NULLs
CREATE MATERIALIZED VIEW w2 WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT (a - 200)::smallint AS i, ('2000-01-01'::date + (x % 5) * 10000 - 20000) AS d, b % 2 = 0 AS f, count(*) AS n
  FROM ev2 GROUP BY 1, 2, 3;
INSERT INTO ev2 SELECT nullif(i % 430, 0), CASE WHEN i % 3 = 0 THEN NULL ELSE i % 7 END, '2025-01-07 00:00+00', i
  FROM generate_series(1, 9000) i;
REFRESH MATERIALIZED VIEW w2;
SELECT differ('w2', $$SELECT (a - 200)::smallint AS i, ('2000-01-01'::date + (x % 5) * 10000 - 20000) AS d,
                             b % 2 = 0 AS f, count(*) AS n FROM ev2 GROUP BY 1, 2, 3$$), indexes_ok('w2');
SELECT count(*) FILTER (WHERE i < 0) > 0 AS negative, count(*) FILTER (WHERE d < '2000-01-01') > 0 AS early,
       count(*) FILTER (WHERE f IS NULL) > 0 AS null_bool FROM w2;
SET enable_seqscan = off;
SELECT a, b, n, s, lo FROM w WHERE a IS NULL AND b IN (0, 3, 25, 26, 100) ORDER BY b;
SELECT a, b, n, s, lo FROM w WHERE a = 400 ORDER BY b;
RESET enable_seqscan;

-- Indexes and a constraint put on the batch table itself by an
-- administrator (partial, on an expression, an exclusion constraint): the
-- refresh gives them the entries of the rows it inserts and of those its
-- updates move off their pages as the executor would, and checks the
-- constraint. Read through each index, the batch table holds the groups the
-- events make (amcheck: every row has its entries in every index).
CREATE MATERIALIZED VIEW w3 WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT a, b, count(*) AS n, sum(x) AS s FROM ev2 GROUP BY a, b;
SELECT batch_table AS w3_batch FROM lambda.views WHERE view = 'w3'::regclass \gset
CREATE INDEX w3_part ON :w3_batch (b) WHERE a > 300;
CREATE INDEX w3_expr ON :w3_batch ((a * 100 + b));
ALTER TABLE :w3_batch ADD CONSTRAINT w3_one_big EXCLUDE USING btree (b WITH =) WHERE (a >= 5000);
CREATE FUNCTION w3_differ() RETURNS text LANGUAGE sql AS
  $$SELECT differ('w3', 'SELECT a, b, count(*) AS n, sum(x) AS s FROM ev2 GROUP BY a, b')$$;
-- the groups with a > 300 and b = 5, and those whose a * 100 + b is in a
-- range, read through the partial and the expression index, against the events
CREATE FUNCTION w3_through_indexes() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  batch text := (SELECT batch_table FROM lambda.views WHERE view = 'w3'::regclass);
  part_ok bool;
  expr_ok bool;
  part_plan text;
  expr_plan text;
BEGIN
  SET LOCAL enable_seqscan = off;
  SET LOCAL enable_bitmapscan = off;
  EXECUTE format('EXPLAIN (COSTS OFF) SELECT a FROM %s WHERE b = 5 AND a > 300', batch) INTO part_plan;
  EXECUTE format('EXPLAIN (COSTS OFF) SELECT a, b FROM %s WHERE a * 100 + b BETWEEN 31000 AND 52000', batch)
    INTO expr_plan;
  EXECUTE format($q$SELECT (SELECT array_agg(a ORDER BY a) FROM %s WHERE b = 5 AND a > 300)
                         IS NOT DISTINCT FROM
                         (SELECT array_agg(DISTINCT a ORDER BY a) FROM ev2 WHERE b = 5 AND a > 300)$q$, batch)
    INTO part_ok;
  EXECUTE format($q$SELECT (SELECT array_agg(ARRAY[a, b] ORDER BY a, b) FROM %s
                             WHERE a * 100 + b BETWEEN 31000 AND 52000)
                         IS NOT DISTINCT FROM
                         (SELECT array_agg(DISTINCT ARRAY[a, b] ORDER BY ARRAY[a, b]) FROM ev2
                           WHERE a * 100 + b BETWEEN 31000 AND 52000)$q$, batch)
    INTO expr_ok;
  RETURN format('%s: %s, %s: %s', part_plan, part_ok, expr_plan, expr_ok);
END $$;
SELECT w3_through_indexes();
-- dense: most groups get new events (full pages: their rows move), new
-- groups with a beyond 430, some of them in the partial index
INSERT INTO ev2 SELECT nullif(i % 600, 0), i % 27, '2025-01-08 00:00+00', i FROM generate_series(1, 16200) i;
REFRESH MATERIALIZED VIEW w3;
SELECT w3_differ(), indexes_ok('w3'), w3_through_indexes();
-- the exclusion constraint: one group with a >= 5000 per b. A new one, then
-- events into it (its row updated, checked against its own old version)
INSERT INTO ev2 VALUES (5000, 2, '2025-01-09 00:00+00', 1);
REFRESH MATERIALIZED VIEW w3;
INSERT INTO ev2 SELECT 5000, 2, '2025-01-09 00:00+00', i FROM generate_series(1, 3) i;
INSERT INTO ev2 SELECT nullif(i % 600, 0), i % 27, '2025-01-09 00:00+00', i FROM generate_series(1, 5400) i;
REFRESH MATERIALIZED VIEW w3;
SELECT w3_differ(), indexes_ok('w3'), w3_through_indexes();
-- a second group with a >= 5000 and b = 2 breaks it: the refresh fails and
-- changes nothing
INSERT INTO ev2 VALUES (5001, 2, '2025-01-09 00:00+00', 1), (7, 2, '2025-01-09 00:00+00', 1);
REFRESH MATERIALIZED VIEW w3;
SELECT a, b FROM :w3_batch WHERE a >= 5000;
ALTER TABLE :w3_batch DROP CONSTRAINT w3_one_big;
REFRESH MATERIALIZED VIEW w3;
SELECT w3_differ(), indexes_ok('w3'), w3_through_indexes();

DROP MATERIALIZED VIEW by_kd, whole, by_t, by_n, w, w2, w3;
DROP FUNCTION w3_differ(), w3_through_indexes();
DROP FUNCTION w_differ(), place(), stayed(), w_batch_rows();
DROP TABLE ev, ev2;
DROP FUNCTION differ(regclass, text), indexes_ok(regclass);
DROP EXTENSION amcheck;
DROP EXTENSION pg_lambda;
