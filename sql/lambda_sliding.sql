-- Sliding windows: the aggregates over the window steps from the one
-- holding now() - window to the one holding now(), per key. The exact
-- answer is the defining query over
--   ts >= date_bin(step, now() - window, origin)
--   AND ts < date_bin(step, now(), origin) + step
-- and every answer is compared with it in the same transaction (now() is
-- the transaction's start).
CREATE EXTENSION pg_lambda;
-- group counts in NOTICEs depend on where now() falls in a step
SET client_min_messages = warning;
CREATE TABLE ev (k text, u int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');

-- events spread over the last 40 minutes, and some from tomorrow
INSERT INTO ev SELECT 'k' || (i % 5), i % 17, i, now() - (i * interval '2 seconds')
  FROM generate_series(0, 1200) i;
INSERT INTO ev VALUES ('k1', 1, 1, now() + interval '1 day');

-- (a time before the CREATE's now(), for the check of expired steps below)
SELECT now() AS sw_t0 \gset
CREATE MATERIALIZED VIEW sw WITH (lambda.continuous, lambda.sliding_window = '10 minutes',
                                  lambda.window_step = '1 minute', lambda.refresh_interval = '1 hour') AS
  SELECT k, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du, max(ts) AS last
    FROM ev GROUP BY k HAVING count(*) > 0;
CREATE VIEW sw_direct AS
  SELECT k, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du, max(ts) AS last
    FROM ev
   WHERE ts >= date_bin('1 minute', now() - interval '10 minutes', '2000-01-01 00:00+00')
     AND ts < date_bin('1 minute', now(), '2000-01-01 00:00+00') + interval '1 minute'
   GROUP BY k HAVING count(*) > 0;
CREATE FUNCTION sw_same() RETURNS text LANGUAGE sql AS $$
  SELECT format('view %s rows, query %s rows, %s differ',
    (SELECT count(*) FROM sw), (SELECT count(*) FROM sw_direct),
    (SELECT count(*) FROM ((SELECT * FROM sw EXCEPT ALL SELECT * FROM sw_direct)
                            UNION ALL (SELECT * FROM sw_direct EXCEPT ALL SELECT * FROM sw)) d))
$$;
SELECT sw_same();
-- the view covers between 10 and 11 minutes of events, never the future
SELECT bool_and(n BETWEEN 60 AND 67) AS window_sized, max(last) <= now() AS no_future FROM sw;
-- events older than the window (with one step of slack) were never folded in:
-- ages as of a time before the CREATE's (now() here may be in the next step)
SELECT count(*) FILTER (WHERE _lambda_step < :'sw_t0'::timestamptz - interval '12 minutes') AS expired,
       count(*) FILTER (WHERE _lambda_step > now()) AS future
  FROM lambda_catalog.sw_batch;

-- new events in the speed layer, late events inside the window correct
-- their step, a late event outside the window counts nowhere
INSERT INTO ev SELECT 'k' || (i % 7), i % 23, i, now() - (i * interval '1 second')
  FROM generate_series(0, 300) i;
INSERT INTO ev VALUES ('k2', 999, 5, now() - interval '8 minutes'),
                      ('late', 1, 1, now() - interval '9 minutes'),
                      ('ancient', 1, 1, now() - interval '3 hours');
SELECT sw_same();
SELECT k, n, du FROM sw WHERE k IN ('late', 'ancient') ORDER BY k;
-- a value seen in two steps counts once
INSERT INTO ev VALUES ('late', 1, 1, now() - interval '1 minute');
SELECT k, n, du FROM sw WHERE k = 'late';

-- a point query looks the key up in each window step of the speed layer
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
-- (a few rows: the batch table's statistics, exact since it was built over
-- the events, would make a sequential scan cheaper)
SET enable_seqscan = off;
SELECT plan_lines($q$SELECT * FROM sw WHERE k = 'k3'$q$);
RESET enable_seqscan;
DROP FUNCTION plan_lines(text);
SELECT count(*) AS differ FROM ((SELECT * FROM sw WHERE k = 'k3' EXCEPT ALL SELECT * FROM sw_direct WHERE k = 'k3')
  UNION ALL (SELECT * FROM sw_direct WHERE k = 'k3' EXCEPT ALL SELECT * FROM sw WHERE k = 'k3')) d;

REFRESH MATERIALIZED VIEW sw;
SELECT sw_same();
SELECT now() AS sw_t1 \gset
SELECT lambda.recompute('sw');
SELECT sw_same();
SELECT count(*) FILTER (WHERE _lambda_step < :'sw_t1'::timestamptz - interval '12 minutes') AS expired
  FROM lambda_catalog.sw_batch;
SELECT sliding_window, window_step, sketch_bytes_per_key FROM lambda.view_status WHERE view = 'sw'::regclass;
SELECT sliding_window, window_step FROM lambda.views WHERE view = 'sw'::regclass;

-- time passes: a 3-second window empties, and a refresh expires its steps
CREATE TABLE tev (u int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('tev', time_column => 'ts');
CREATE MATERIALIZED VIEW tick WITH (lambda.continuous, lambda.sliding_window = '3 seconds',
                                    lambda.window_step = '1 second') AS
  SELECT count(*) AS n, count(DISTINCT u) AS du FROM tev;
SELECT * FROM tick;
INSERT INTO tev VALUES (1, now()), (2, now()), (2, now() - interval '2 seconds');
SELECT * FROM tick;
REFRESH MATERIALIZED VIEW tick;
SELECT * FROM tick;
SELECT count(*) AS batch_rows FROM lambda_catalog.tick_batch;
SELECT pg_sleep(4.5);
SELECT * FROM tick;
REFRESH MATERIALIZED VIEW tick;
SELECT * FROM tick;
-- the step 6.5 seconds old is gone; the one 4.5 seconds old may be kept
-- (one step of slack); ages as of the REFRESH's own now(), its last_refresh
-- (a loaded machine may take a second between statements)
SELECT count(*) <= 1 AS expired,
       count(*) FILTER (WHERE _lambda_step < (SELECT last_refresh FROM lambda.view_status
                                              WHERE view = 'tick'::regclass) - interval '5 seconds') AS too_old
  FROM lambda_catalog.tick_batch;
SELECT batch_rows <= 1 AS counted FROM lambda.view_status WHERE view = 'tick'::regclass;

-- a timestamp (without time zone) event time uses LOCALTIMESTAMP
CREATE TABLE lev (k int, ts timestamp NOT NULL);
SELECT lambda.create_event_table('lev', time_column => 'ts');
INSERT INTO lev SELECT i % 3, localtimestamp - i * interval '10 seconds' FROM generate_series(0, 200) i;
CREATE MATERIALIZED VIEW lsw WITH (lambda.continuous, lambda.sliding_window = '5 minutes') AS
  SELECT k, count(*) AS n FROM lev GROUP BY k;
INSERT INTO lev VALUES (1, localtimestamp - interval '2 minutes');
SELECT count(*) AS differ FROM ((SELECT * FROM lsw EXCEPT ALL
  SELECT k, count(*) FROM lev WHERE ts >= date_bin('15 seconds', localtimestamp - interval '5 minutes', '2000-01-01')
                                AND ts < date_bin('15 seconds', localtimestamp, '2000-01-01') + interval '15 seconds' GROUP BY k)
  UNION ALL (SELECT k, count(*) FROM lev WHERE ts >= date_bin('15 seconds', localtimestamp - interval '5 minutes', '2000-01-01')
                                AND ts < date_bin('15 seconds', localtimestamp, '2000-01-01') + interval '15 seconds' GROUP BY k
             EXCEPT ALL SELECT * FROM lsw)) d;
SELECT window_step FROM lambda.views WHERE view = 'lsw'::regclass;

DROP MATERIALIZED VIEW sw;
SELECT count(*) FROM lambda.views;
DROP EXTENSION pg_lambda CASCADE;
DROP TABLE ev, tev, lev CASCADE;
