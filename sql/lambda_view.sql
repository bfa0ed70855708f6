-- Continuous (lambda) views: creation, merged reads, refresh, recompute,
-- ALTER, DROP. Every answer is compared with the defining query.
-- installed at 0.1.0 and updated, as an existing installation would be
CREATE EXTENSION pg_lambda VERSION '0.1.0';
ALTER EXTENSION pg_lambda UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_lambda';
CREATE TABLE ev (k text, g int, x int, ts timestamptz NOT NULL, f float8);
SELECT lambda.create_event_table('ev', time_column => 'ts');

-- events that exist before the view are included from the start
INSERT INTO ev SELECT 'k' || (i % 5), i % 4, i % 100,
       '2025-01-01 00:00+00'::timestamptz + i * interval '1 minute', i / 4.0
  FROM generate_series(1, 300) i;

CREATE MATERIALIZED VIEW byk WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT k, date_bin('1 hour', ts, '2000-01-01 00:00+00') AS w,
         count(*) AS n, sum(x) AS s, avg(x) AS a, min(x) AS lo, max(k) AS mk,
         bool_and(x > 5) AS allbig, bool_or(x > 90) AS anyhuge,
         round(stddev(x), 6) AS sd, count(*) FILTER (WHERE x % 2 = 0) AS evens,
         sum(f) / count(*) AS ratio
    FROM ev WHERE g <> 3
   GROUP BY k, date_bin('1 hour', ts, '2000-01-01 00:00+00')
  HAVING count(*) > 1;

CREATE VIEW byk_direct AS
  SELECT k, date_bin('1 hour', ts, '2000-01-01 00:00+00') AS w,
         count(*) AS n, sum(x) AS s, avg(x) AS a, min(x) AS lo, max(k) AS mk,
         bool_and(x > 5) AS allbig, bool_or(x > 90) AS anyhuge,
         round(stddev(x), 6) AS sd, count(*) FILTER (WHERE x % 2 = 0) AS evens,
         sum(f) / count(*) AS ratio
    FROM ev WHERE g <> 3
   GROUP BY k, date_bin('1 hour', ts, '2000-01-01 00:00+00')
  HAVING count(*) > 1;

-- compares the view with its defining query, both ways
CREATE FUNCTION same_as_direct() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, query %s rows, %s differ',
    (SELECT count(*) FROM byk), (SELECT count(*) FROM byk_direct),
    (SELECT count(*) FROM ((SELECT * FROM byk EXCEPT ALL SELECT * FROM byk_direct)
                            UNION ALL (SELECT * FROM byk_direct EXCEPT ALL SELECT * FROM byk)) d))
$$;
SELECT same_as_direct();

-- a global view exists with one row before any event of its own
CREATE MATERIALIZED VIEW totals WITH (lambda.continuous) AS
  SELECT count(*) AS n, sum(x) AS s, max(ts) AS latest FROM ev WHERE k = 'none';
SELECT * FROM totals;

-- new events, an aborted transaction, a rolled-back subtransaction
INSERT INTO ev VALUES ('k1', 1, 50, '2025-01-01 00:30+00', 1), ('k9', 1, 95, '2025-01-02 00:30+00', 2);
BEGIN;
INSERT INTO ev VALUES ('k1', 1, 1000, '2025-01-01 00:30+00', 1);
ROLLBACK;
BEGIN;
INSERT INTO ev VALUES ('k1', 1, 7, '2025-01-01 00:40+00', 1);
SAVEPOINT a;
INSERT INTO ev VALUES ('k1', 1, 5000, '2025-01-01 00:40+00', 1);
ROLLBACK TO a;
SAVEPOINT b;
INSERT INTO ev VALUES ('k9', 1, 8, '2025-01-02 00:31+00', 1);
RELEASE b;
COMMIT;
COPY ev FROM stdin;
k2	2	33	2025-01-01 02:10:00+00	3.5
k2	2	34	2025-01-01 02:20:00+00	4.5
none	0	1	2025-03-01 00:00:00+00	0
\.
SELECT same_as_direct();
SELECT * FROM byk WHERE k = 'k9';
SELECT * FROM totals;

-- a late event corrects its old window
SELECT n FROM byk WHERE k = 'k1' AND w = '2025-01-01 00:00+00';
INSERT INTO ev VALUES ('k1', 1, 3, '2025-01-01 00:01+00', 1);
SELECT n FROM byk WHERE k = 'k1' AND w = '2025-01-01 00:00+00';

-- refresh folds the speed layer into the batch table; the answer stays
REFRESH MATERIALIZED VIEW byk;
SELECT same_as_direct();
SELECT view, state, batch_rows, last_refresh_mode FROM lambda.view_status ORDER BY view::text;
INSERT INTO ev VALUES ('k3', 0, 77, '2025-01-01 03:00+00', 1), ('k3', 0, 78, '2025-01-01 03:00+00', 1);
REFRESH MATERIALIZED VIEW byk;
SELECT same_as_direct();
SELECT lambda.recompute('byk');
SELECT same_as_direct();
SELECT view, state, last_refresh_mode FROM lambda.view_status WHERE view = 'byk'::regclass;

-- a point query reads one key from the batch index and the speed layer
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
-- (a few rows: the batch table's statistics, exact since the recompute,
-- would make a sequential scan cheaper)
SET enable_seqscan = off;
SELECT plan_lines($q$SELECT n FROM byk WHERE k = 'k1' AND w = '2025-01-01 00:00+00'$q$);
RESET enable_seqscan;

-- column aliases and an expression over aggregates
CREATE MATERIALIZED VIEW per_g (grp, events, mean_x) WITH (lambda.continuous) AS
  SELECT g, count(*), sum(x)::float8 / count(*) FROM ev GROUP BY g;
SELECT * FROM per_g ORDER BY grp;
SELECT g, count(*), sum(x)::float8 / count(*) FROM ev GROUP BY g ORDER BY g;

-- ALTER changes the refresh interval
ALTER MATERIALIZED VIEW per_g SET (lambda.refresh_interval = '10 minutes');
SELECT view, refresh_interval FROM lambda.view_status WHERE view = 'per_g'::regclass;
ALTER MATERIALIZED VIEW per_g RESET (lambda.refresh_interval);
SELECT view, refresh_interval FROM lambda.view_status WHERE view = 'per_g'::regclass;
ALTER MATERIALIZED VIEW per_g RENAME TO per_group;
SELECT view FROM lambda.views ORDER BY view::text;

-- events inserted with session_replication_role = replica (logical
-- replication) still reach the view
SET session_replication_role = replica;
INSERT INTO ev VALUES ('k1', 0, 1, '2025-01-01 00:05+00', 1);
RESET session_replication_role;
SELECT * FROM per_group ORDER BY grp;
SELECT g, count(*), sum(x)::float8 / count(*) FROM ev GROUP BY g ORDER BY g;

-- a view created by an ordinary role is readable by it, and by a new owner
CREATE ROLE lambda_view_alice;
CREATE ROLE lambda_view_bob;
GRANT SELECT ON ev TO lambda_view_alice;
GRANT CREATE ON SCHEMA public TO lambda_view_alice;
SET ROLE lambda_view_alice;
CREATE MATERIALIZED VIEW alice_counts WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev GROUP BY k;
SELECT * FROM alice_counts WHERE k = 'k2';
RESET ROLE;
-- (its new owner must be able to read the event table)
GRANT SELECT ON ev TO lambda_view_bob;
ALTER MATERIALIZED VIEW alice_counts OWNER TO lambda_view_bob;
GRANT SELECT ON alice_counts TO lambda_view_alice;
SET ROLE lambda_view_alice;
SELECT * FROM alice_counts WHERE k = 'k2';
RESET ROLE;
DROP MATERIALIZED VIEW alice_counts;
REVOKE CREATE ON SCHEMA public FROM lambda_view_alice;
REVOKE SELECT ON ev FROM lambda_view_alice, lambda_view_bob;
DROP ROLE lambda_view_alice, lambda_view_bob;

-- a partitioned event table: rows through the root, directly into a
-- partition, into partitions created or attached after the view
CREATE TABLE pev (k text, x int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE pev_2024 PARTITION OF pev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT lambda.create_event_table('pev', time_column => 'ts');
INSERT INTO pev VALUES ('a', 1, '2024-05-01');
CREATE MATERIALIZED VIEW pv WITH (lambda.continuous) AS SELECT k, count(*) AS n, sum(x) AS s FROM pev GROUP BY k;
INSERT INTO pev VALUES ('a', 2, '2024-06-01'), ('b', 3, '2024-07-01');
INSERT INTO pev_2024 VALUES ('b', 4, '2024-08-01');
CREATE TABLE pev_2025 (x int, k text, ts timestamptz NOT NULL);
ALTER TABLE pev ATTACH PARTITION pev_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO pev_2025 VALUES (5, 'a', '2025-02-01');
CREATE TABLE pev_2026 PARTITION OF pev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO pev_2026 VALUES ('c', 6, '2026-02-01');
COPY pev FROM stdin;
c	7	2026-03-01 00:00:00+00
\.
SELECT * FROM pv ORDER BY k;
SELECT k, count(*) AS n, sum(x) AS s FROM pev GROUP BY k ORDER BY k;
SELECT lambda.recompute('pv');
SELECT * FROM pv ORDER BY k;
SELECT tgrelid::regclass AS capture_trigger_on FROM pg_trigger
 WHERE tgname = 'lambda_capture_pv_batch' ORDER BY 1;
DROP MATERIALIZED VIEW pv;
SELECT count(*) FROM pg_trigger WHERE tgname = 'lambda_capture_pv_batch';
DROP TABLE pev;

-- IF NOT EXISTS
CREATE MATERIALIZED VIEW IF NOT EXISTS totals WITH (lambda.continuous) AS SELECT count(*) FROM ev;

-- dropping an event table needs CASCADE, which takes the views along
DROP TABLE ev;
-- DROP MATERIALIZED VIEW (and DROP VIEW) remove every layer
DROP MATERIALIZED VIEW per_group;
DROP VIEW totals;
SELECT relname FROM pg_class WHERE relnamespace = 'lambda_catalog'::regnamespace
   AND relname ~ '^(per_g|totals)' ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'ev'::regclass ORDER BY 1;
DROP TABLE ev CASCADE;
SELECT count(*) FROM lambda.view_status;
SELECT relname FROM pg_class WHERE relnamespace = 'lambda_catalog'::regnamespace
   AND relname ~ '^byk' ORDER BY 1;
DROP FUNCTION same_as_direct();
DROP FUNCTION plan_lines(text);
DROP EXTENSION pg_lambda;
