-- Rollups of rollups (issue 18): a continuous view over another continuous
-- view is the same query over its event table, maintained from the events;
-- it equals its defining query over the lower view's answers, and over the
-- events, under inserts, refreshes and recomputes of either view. DROP of
-- the lower view is refused while an upper one depends on it.
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
CREATE TABLE ro_ev (url text, ts timestamptz NOT NULL, n int);
SELECT lambda.create_event_table('ro_ev', time_column => 'ts');
INSERT INTO ro_ev SELECT 'u' || (i % 6), '2025-01-01 00:00+00'::timestamptz + i * interval '7 minutes',
       CASE WHEN i % 11 = 0 THEN NULL ELSE i % 97 - 3 END
  FROM generate_series(1, 3000) i;
CREATE MATERIALIZED VIEW hourly WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT url, date_trunc('hour', ts, 'UTC') AS hour, count(*) AS views, count(n) AS counted, sum(n) AS total,
         min(n) AS low, max(n) AS top, avg(n) AS mean, count(DISTINCT n) AS distinct_n
    FROM ro_ev WHERE n IS DISTINCT FROM 5 GROUP BY 1, 2;
CREATE MATERIALIZED VIEW daily WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT url, date_trunc('day', hour, 'UTC') AS day, sum(views) AS views, sum(counted) AS counted,
         sum(total) AS total, min(low) AS low, max(top) AS top, count(DISTINCT hour) AS active_hours,
         max(hour) AS last_hour
    FROM hourly WHERE url <> 'u0' GROUP BY 1, 2;
-- a rollup of the rollup
CREATE MATERIALIZED VIEW weekly WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT date_trunc('week', day, 'UTC') AS week, sum(views) AS views, max(top) AS top, count(DISTINCT url) AS urls
    FROM daily GROUP BY 1 HAVING sum(views) > 10;
-- rows that differ from the defining query over the lower view, and over the events, both ways
CREATE FUNCTION rollup_diff() RETURNS TABLE (over_hourly bigint, over_events bigint, weekly_over_daily bigint)
LANGUAGE sql AS $$
  WITH d AS (SELECT url, date_trunc('day', hour, 'UTC') AS day, sum(views) AS views, sum(counted) AS counted,
                    sum(total) AS total, min(low) AS low, max(top) AS top, count(DISTINCT hour) AS active_hours,
                    max(hour) AS last_hour
               FROM hourly WHERE url <> 'u0' GROUP BY 1, 2),
       e AS (SELECT url, date_trunc('day', ts, 'UTC') AS day, count(*)::numeric AS views, count(n)::numeric AS counted,
                    sum(n)::numeric AS total, min(n) AS low, max(n) AS top,
                    count(DISTINCT date_trunc('hour', ts, 'UTC')) AS active_hours, max(date_trunc('hour', ts, 'UTC')) AS last_hour
               FROM ro_ev WHERE n IS DISTINCT FROM 5 AND url <> 'u0' GROUP BY 1, 2),
       w AS (SELECT date_trunc('week', day, 'UTC') AS week, sum(views) AS views, max(top) AS top, count(DISTINCT url) AS urls
               FROM daily GROUP BY 1 HAVING sum(views) > 10)
  SELECT (SELECT count(*) FROM ((SELECT * FROM daily EXCEPT ALL SELECT * FROM d) UNION ALL (SELECT * FROM d EXCEPT ALL SELECT * FROM daily)) x),
         (SELECT count(*) FROM ((SELECT * FROM daily EXCEPT ALL SELECT * FROM e) UNION ALL (SELECT * FROM e EXCEPT ALL SELECT * FROM daily)) x),
         (SELECT count(*) FROM ((SELECT * FROM weekly EXCEPT ALL SELECT * FROM w) UNION ALL (SELECT * FROM w EXCEPT ALL SELECT * FROM weekly)) x)
$$;
SELECT * FROM rollup_diff();
SELECT count(*) FROM daily;
\d daily
SELECT definition FROM lambda.views WHERE view = 'daily'::regclass;
-- new events, in the speed layers only
INSERT INTO ro_ev SELECT 'u' || (i % 8), '2025-01-03 00:00+00'::timestamptz + i * interval '3 minutes', i % 50
  FROM generate_series(1, 2000) i;
SELECT * FROM rollup_diff();
REFRESH MATERIALIZED VIEW hourly;
SELECT * FROM rollup_diff();
INSERT INTO ro_ev VALUES ('u1', '2025-01-02 10:30+00', NULL), ('u9', '2025-02-01 00:00+00', 1000);
REFRESH MATERIALIZED VIEW daily;
SELECT * FROM rollup_diff();
SELECT lambda.recompute('hourly');
SELECT lambda.recompute('weekly');
SELECT * FROM rollup_diff();
-- a point query on the upper view
SELECT * FROM daily WHERE url = 'u9';

-- the lower view cannot be dropped or redefined while upper ones depend on it
DROP MATERIALIZED VIEW hourly;
CALL lambda.alter_view_query('hourly', $$SELECT url, count(*) AS views FROM ro_ev GROUP BY url$$);

-- what does not compose is refused
CREATE MATERIALIZED VIEW r1 WITH (lambda.continuous) AS SELECT url, avg(mean) FROM hourly GROUP BY url;
CREATE MATERIALIZED VIEW r2 WITH (lambda.continuous) AS SELECT url, count(*) FROM hourly GROUP BY url;
CREATE MATERIALIZED VIEW r3 WITH (lambda.continuous) AS SELECT url, sum(distinct_n) FROM hourly GROUP BY url;
CREATE MATERIALIZED VIEW r4 WITH (lambda.continuous) AS SELECT url, sum(views) FROM hourly WHERE views > 3 GROUP BY url;
CREATE MATERIALIZED VIEW r5 WITH (lambda.continuous) AS SELECT top, sum(views) FROM hourly GROUP BY top;
CREATE MATERIALIZED VIEW r6 WITH (lambda.continuous) AS SELECT url, count(hour) FROM hourly GROUP BY url;
CREATE MATERIALIZED VIEW r7 WITH (lambda.continuous) AS SELECT url, max(views) FROM hourly GROUP BY url;
CREATE MATERIALIZED VIEW r8 WITH (lambda.continuous) AS SELECT url, sum(total) FILTER (WHERE url > 'u2') FROM hourly GROUP BY url;
CREATE MATERIALIZED VIEW hv WITH (lambda.continuous) AS SELECT url, count(*) AS views FROM ro_ev GROUP BY url HAVING count(*) > 1;
CREATE MATERIALIZED VIEW r9 WITH (lambda.continuous) AS SELECT url, sum(views) FROM hv GROUP BY url;
DROP MATERIALIZED VIEW hv;
CREATE MATERIALIZED VIEW sw WITH (lambda.continuous, lambda.sliding_window = '1 hour') AS SELECT url, count(*) AS views FROM ro_ev GROUP BY url;
CREATE MATERIALIZED VIEW r10 WITH (lambda.continuous) AS SELECT url, sum(views) FROM sw GROUP BY url;
DROP MATERIALIZED VIEW sw;
-- a role that may not read the lower view
CREATE ROLE lambda_rollup_user;
GRANT SELECT ON ro_ev TO lambda_rollup_user;
GRANT CREATE ON SCHEMA public TO lambda_rollup_user;
SET ROLE lambda_rollup_user;
CREATE MATERIALIZED VIEW r11 WITH (lambda.continuous) AS SELECT url, sum(views) FROM hourly GROUP BY url;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM lambda_rollup_user;
SELECT view FROM lambda.views ORDER BY view::text;

-- CASCADE drops the upper views with it
DROP MATERIALIZED VIEW hourly CASCADE;
SELECT view FROM lambda.views ORDER BY view::text;
DROP FUNCTION rollup_diff();
REVOKE ALL ON ro_ev FROM lambda_rollup_user;
DROP TABLE ro_ev;
DROP ROLE lambda_rollup_user;
DROP EXTENSION pg_lambda;
