-- Redefining a continuous view online (issue 18): CALL
-- lambda.alter_view_query(view, query) builds the new definition from all
-- events beside the old one and swaps it in; grants, comment, owner and
-- options are carried over; errors change nothing. The view is compared
-- with its new defining query after each step.
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
CREATE TABLE rv_ev (url text, ts timestamptz NOT NULL, n int);
SELECT lambda.create_event_table('rv_ev', time_column => 'ts');
INSERT INTO rv_ev SELECT 'u' || (i % 7), '2025-01-01 00:00+00'::timestamptz + i * interval '1 minute', i % 100
  FROM generate_series(1, 5000) i;
CREATE MATERIALIZED VIEW rv WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
  SELECT url, count(*) AS views FROM rv_ev GROUP BY url;
COMMENT ON MATERIALIZED VIEW rv IS 'views per url';
CREATE ROLE lambda_rv_reader;
GRANT SELECT ON rv TO lambda_rv_reader;
-- events after the last refresh are in the speed layer only
INSERT INTO rv_ev SELECT 'u' || (i % 9), '2025-01-05 00:00+00'::timestamptz + i * interval '1 minute', i % 50
  FROM generate_series(1, 700) i;

-- new output columns, another grouping
CALL lambda.alter_view_query('rv', $$
  SELECT url, date_trunc('day', ts, 'UTC') AS day, count(*) AS views, sum(n) AS total, max(n) AS top
    FROM rv_ev GROUP BY url, date_trunc('day', ts, 'UTC')$$);
SELECT count(*) AS mismatches FROM (
  (SELECT url, day, views, total, top FROM rv EXCEPT ALL
   SELECT url, date_trunc('day', ts, 'UTC'), count(*), sum(n), max(n) FROM rv_ev GROUP BY 1, 2)
  UNION ALL
  (SELECT url, date_trunc('day', ts, 'UTC'), count(*), sum(n), max(n) FROM rv_ev GROUP BY 1, 2
   EXCEPT ALL SELECT url, day, views, total, top FROM rv)) d;
SELECT count(*) FROM rv;
SELECT refresh_interval, definition LIKE '%max(n)%' AS new_definition FROM lambda.views WHERE view = 'rv'::regclass;
SELECT obj_description('rv'::regclass, 'pg_class');
SET ROLE lambda_rv_reader;
SELECT count(*) FROM rv;
RESET ROLE;
-- no leftover: one view, its layers, its capture trigger
SELECT count(*) AS views FROM lambda.views;
SELECT relname FROM pg_class WHERE relname LIKE 'rv%' ORDER BY 1;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'rv_ev'::regclass AND NOT tgisinternal ORDER BY 1;
-- writers after the swap reach the new definition
INSERT INTO rv_ev VALUES ('u1', '2025-02-01 00:00+00', 5);
SELECT * FROM rv WHERE url = 'u1' AND day = '2025-02-01';
REFRESH MATERIALIZED VIEW rv;
SELECT * FROM rv WHERE url = 'u1' AND day = '2025-02-01';

-- errors change nothing
CALL lambda.alter_view_query('rv', $$SELECT url, count(*) FROM no_such_table GROUP BY url$$);
CALL lambda.alter_view_query('rv', $$SELECT url, random() FROM rv_ev$$);
CALL lambda.alter_view_query('rv', $$SELECT url, count(*) FROM rv_ev GROUP BY url; SELECT 1$$);
CALL lambda.alter_view_query('rv', $$DELETE FROM rv_ev$$);
CALL lambda.alter_view_query('rv_ev', $$SELECT url, count(*) FROM rv_ev GROUP BY url$$);
CALL lambda.alter_view_query(NULL, $$SELECT url, count(*) FROM rv_ev GROUP BY url$$);
BEGIN;
CALL lambda.alter_view_query('rv', $$SELECT url, count(*) FROM rv_ev GROUP BY url$$);
ROLLBACK;
CREATE VIEW rv_top AS SELECT * FROM rv WHERE views > 100;
CALL lambda.alter_view_query('rv', $$SELECT url, count(*) FROM rv_ev GROUP BY url$$);
DROP VIEW rv_top;
CREATE ROLE lambda_rv_other;
SET ROLE lambda_rv_other;
CALL lambda.alter_view_query('rv', $$SELECT url, count(*) FROM rv_ev GROUP BY url$$);
RESET ROLE;
SELECT count(*) AS views, bool_and(definition LIKE '%max(n)%') AS unchanged FROM lambda.views;
SELECT relname FROM pg_class WHERE relname LIKE 'rv%' ORDER BY 1;

-- a build that fails (here: an error in the aggregate over old events)
-- drops the new definition and leaves the old one answering
INSERT INTO rv_ev VALUES ('zero', '2025-03-01 00:00+00', 0);
CALL lambda.alter_view_query('rv', $$SELECT url, sum(100 / n) AS q FROM rv_ev GROUP BY url$$);
SELECT count(*) AS views, bool_and(definition LIKE '%max(n)%') AS unchanged FROM lambda.views;
SELECT relname FROM pg_class WHERE relname LIKE 'rv%' ORDER BY 1;
SELECT count(*) FROM rv;

-- CALL from a DO block (not a transaction block) works
DO $$BEGIN CALL lambda.alter_view_query('rv', $q$SELECT url, count(*) AS views FROM rv_ev GROUP BY url$q$); END$$;
SELECT count(*) AS mismatches FROM (
  (SELECT url, views FROM rv EXCEPT ALL SELECT url, count(*) FROM rv_ev GROUP BY 1)
  UNION ALL
  (SELECT url, count(*) FROM rv_ev GROUP BY 1 EXCEPT ALL SELECT url, views FROM rv)) d;

-- a sliding window keeps its options
CREATE MATERIALIZED VIEW rw WITH (lambda.continuous, lambda.sliding_window = '1 day', lambda.window_step = '1 hour') AS
  SELECT url, count(*) FROM rv_ev GROUP BY url;
CALL lambda.alter_view_query('rw', $$SELECT url, sum(n) AS total FROM rv_ev GROUP BY url$$);
SELECT sliding_window, window_step FROM lambda.views WHERE view = 'rw'::regclass;

DROP TABLE rv_ev CASCADE;
DROP ROLE lambda_rv_reader, lambda_rv_other;
DROP EXTENSION pg_lambda;
