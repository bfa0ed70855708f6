-- PostgreSQL's materialized-view statements on continuous views (issue 17):
-- COMMENT, SET SCHEMA, RENAME, RENAME COLUMN, OWNER TO; what psql's \dm,
-- \dv and \d+ show; CREATE INDEX on a view (a secondary index of its batch
-- table) and DROP INDEX; lambda.estimated_groups; lambda.continuous values;
-- a sliding window over a timestamp refreshed from another time zone. Every
-- view is compared with its defining query after each change.
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
CREATE TABLE ev (url text, ts timestamptz NOT NULL, n int);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev SELECT 'u' || (i % 5), '2025-01-01 00:00+00'::timestamptz + i * interval '1 minute', i % 300
  FROM generate_series(1, 1000) i;

CREATE MATERIALIZED VIEW hits WITH (lambda.continuous) AS
  SELECT url, date_bin('1 hour', ts, '2000-01-01 00:00+00') AS h, count(*) AS c,
         count(DISTINCT n) AS d, sum(n) / count(*) AS ratio
    FROM ev GROUP BY url, date_bin('1 hour', ts, '2000-01-01 00:00+00');
CREATE VIEW hits_direct AS
  SELECT url, date_bin('1 hour', ts, '2000-01-01 00:00+00') AS h, count(*) AS c,
         count(DISTINCT n) AS d, sum(n) / count(*) AS ratio
    FROM ev GROUP BY url, date_bin('1 hour', ts, '2000-01-01 00:00+00');
-- the view (wherever it is, whatever its columns are called) against the query
CREATE FUNCTION same_as_direct(v regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  a bigint; b bigint; diff bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %s', v) INTO a;
  SELECT count(*) INTO b FROM hits_direct;
  EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL SELECT * FROM hits_direct)
                   UNION ALL (SELECT * FROM hits_direct EXCEPT ALL SELECT * FROM %s)) d', v, v) INTO diff;
  RETURN format('view %s rows, query %s rows, %s differ', a, b, diff);
END $$;
SELECT same_as_direct('hits');

-- psql: \dm lists relations of relkind m (none here); a continuous view is
-- a plain view (relkind v), which \dv lists with pg_lambda's comment (the
-- catalog is queried as psql does: its output differs by major)
SELECT count(*) AS what_dm_lists FROM pg_class WHERE relkind = 'm';
SELECT relname, relkind, obj_description(oid, 'pg_class') FROM pg_class
 WHERE relname IN ('hits', 'hits_direct') ORDER BY 1;
SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY 1;
SELECT count(*) AS in_pg_matviews FROM pg_matviews;

-- COMMENT ON MATERIALIZED VIEW (and on its columns)
COMMENT ON MATERIALIZED VIEW hits IS 'page views per URL and hour';
COMMENT ON COLUMN hits.c IS 'views';
SELECT obj_description('hits'::regclass, 'pg_class'), col_description('hits'::regclass, 3);
COMMENT ON MATERIALIZED VIEW hits IS NULL;
SELECT obj_description('hits'::regclass, 'pg_class');

-- SET SCHEMA: the view moves, its batch and speed tables stay in lambda_catalog
CREATE SCHEMA reports;
ALTER MATERIALIZED VIEW hits SET SCHEMA reports;
SELECT view, batch_table, speed_table FROM lambda.views;
INSERT INTO ev VALUES ('u1', '2025-01-01 00:30+00', 7), ('u9', '2025-01-01 05:10+00', 8);
SELECT same_as_direct('reports.hits');
REFRESH MATERIALIZED VIEW reports.hits;
SELECT same_as_direct('reports.hits');
ALTER MATERIALIZED VIEW IF EXISTS reports.nothing SET SCHEMA public;
ALTER VIEW reports.hits SET SCHEMA public;
ALTER MATERIALIZED VIEW hits SET SCHEMA reports;

-- RENAME COLUMN (in all three spellings): the definition and the batch and
-- speed tables follow, two columns may swap names, and the view stays exact
-- through inserts, REFRESH and recompute
ALTER MATERIALIZED VIEW reports.hits RENAME COLUMN c TO views;
ALTER VIEW reports.hits RENAME COLUMN url TO page;
ALTER TABLE reports.hits RENAME COLUMN d TO tmp;
ALTER MATERIALIZED VIEW reports.hits RENAME COLUMN views TO d;
ALTER MATERIALIZED VIEW reports.hits RENAME COLUMN tmp TO views;
ALTER MATERIALIZED VIEW reports.hits RENAME COLUMN ratio TO per_hit;
SELECT definition FROM lambda.views WHERE view = 'reports.hits'::regclass;
SELECT attname FROM pg_attribute WHERE attrelid = 'lambda_catalog.hits_batch'::regclass AND attnum > 0 ORDER BY attnum;
SELECT attname FROM pg_attribute WHERE attrelid = 'lambda_catalog.hits_speed'::regclass AND attnum > 0 ORDER BY attnum;
SELECT page, h, d, views, per_hit FROM reports.hits ORDER BY page, h LIMIT 3;
INSERT INTO ev VALUES ('u1', '2025-01-01 00:40+00', 299), ('u2', '2025-01-01 06:00+00', 1);
SELECT same_as_direct('reports.hits');
REFRESH MATERIALIZED VIEW reports.hits;
SELECT same_as_direct('reports.hits');
SELECT lambda.recompute('reports.hits');
SELECT same_as_direct('reports.hits');
-- the stored definition is the view's query: a view made from it answers the same
DO $$ BEGIN EXECUTE 'CREATE VIEW from_definition AS ' ||
  (SELECT definition FROM lambda.views WHERE view = 'reports.hits'::regclass); END $$;
SELECT count(*) FROM ((SELECT * FROM from_definition EXCEPT ALL SELECT * FROM reports.hits)
                      UNION ALL (SELECT * FROM reports.hits EXCEPT ALL SELECT * FROM from_definition)) x;
DROP VIEW from_definition;

-- RENAME and OWNER TO as before
ALTER MATERIALIZED VIEW reports.hits RENAME TO hourly;
CREATE ROLE lambda_ddl_owner;
GRANT SELECT ON ev TO lambda_ddl_owner;
GRANT CREATE, USAGE ON SCHEMA reports TO lambda_ddl_owner;
ALTER MATERIALIZED VIEW reports.hourly OWNER TO lambda_ddl_owner;
SELECT view, pg_get_userbyid(c.relowner) FROM lambda.views v JOIN pg_class c ON c.oid = v.view;

-- CREATE INDEX on the view: a secondary index of the batch table over key
-- columns, named by PostgreSQL or by the statement, used by a query on the
-- second key alone; DROP INDEX removes it (by the view's owner)
SET ROLE lambda_ddl_owner;
CREATE INDEX ON reports.hourly (h);
CREATE INDEX hourly_page_desc ON reports.hourly (page DESC NULLS LAST, h);
CREATE INDEX IF NOT EXISTS hourly_page_desc ON reports.hourly (page);
RESET ROLE;
SELECT indexrelid::regclass, indisunique, pg_get_indexdef(indexrelid)
  FROM pg_index WHERE indrelid = 'lambda_catalog.hits_batch'::regclass ORDER BY indexrelid::regclass::text;
ANALYZE lambda_catalog.hits_batch;
SET enable_seqscan = off;
-- the plan's lines (the plan's shape differs by major: only the index is checked)
CREATE FUNCTION plan_lines(query text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    RETURN NEXT line;
  END LOOP;
END $f$;
SELECT count(*) > 0 AS scans_the_new_index
  FROM plan_lines($q$SELECT * FROM reports.hourly WHERE h = '2025-01-01 03:00+00'$q$) l
 WHERE l ~ 'Index Scan (using|on) hits_batch_h_idx';
SELECT count(*) AS scans_of_the_new_index
  FROM plan_lines($q$SELECT * FROM reports.hourly WHERE page = 'u1'$q$) l
 WHERE l ~ 'Index Scan (using|on) hits_batch_h_idx';
RESET enable_seqscan;
SELECT same_as_direct('reports.hourly');
SET ROLE lambda_ddl_owner;
DROP INDEX lambda_catalog.hits_batch_h_idx, lambda_catalog.hourly_page_desc;
DROP INDEX IF EXISTS lambda_catalog.hits_batch_h_idx;
RESET ROLE;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'lambda_catalog.hits_batch'::regclass ORDER BY indexrelid::regclass::text;
CREATE INDEX hourly_h ON reports.hourly (h);
BEGIN;
DROP INDEX lambda_catalog.hourly_h;
ROLLBACK;
-- the index goes with the view
DROP MATERIALIZED VIEW reports.hourly;
SELECT count(*) FROM pg_class WHERE relname IN ('hourly_h', 'hits_batch');

-- lambda.estimated_groups: 0 while every count(DISTINCT) is exact; a group
-- whose speed-layer set became a sketch counts until a REFRESH reads the
-- events again; a global view and a sliding window alike; a view without
-- count(DISTINCT) has none (refreshed here only: no scheduled refresh in between)
CREATE TABLE dv (k text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('dv', time_column => 'ts');
CREATE MATERIALIZED VIEW dk WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS SELECT k, count(DISTINCT x) AS n, count(*) AS c FROM dv GROUP BY k;
CREATE MATERIALIZED VIEW dg WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS SELECT count(DISTINCT x) AS n FROM dv;
CREATE MATERIALIZED VIEW ds WITH (lambda.continuous, lambda.refresh_interval = '1 day', lambda.sliding_window = '1 day') AS SELECT k, count(DISTINCT x) AS n FROM dv GROUP BY k;
CREATE MATERIALIZED VIEW dn WITH (lambda.continuous) AS SELECT k, count(*) FROM dv GROUP BY k;
SELECT lambda.estimated_groups('dk') AS dk, lambda.estimated_groups('dg') AS dg,
       lambda.estimated_groups('ds') AS ds, lambda.estimated_groups('dn') AS dn;
INSERT INTO dv SELECT 'small', i, now() FROM generate_series(1, 50) i;
SELECT lambda.estimated_groups('dk') AS dk, lambda.estimated_groups('dg') AS dg,
       lambda.estimated_groups('ds') AS ds, lambda.estimated_groups('dn') AS dn;
INSERT INTO dv SELECT 'big', i, now() FROM generate_series(1, 5000) i;
SELECT lambda.estimated_groups('dk') AS dk, lambda.estimated_groups('dg') AS dg,
       lambda.estimated_groups('ds') AS ds, lambda.estimated_groups('dn') AS dn;
SELECT k, c, abs(n - c) <= c * 0.02 AS within_2_percent, n = c AS exact FROM dk ORDER BY k;
REFRESH MATERIALIZED VIEW dk;
REFRESH MATERIALIZED VIEW dg;
REFRESH MATERIALIZED VIEW ds;
SELECT lambda.estimated_groups('dk') AS dk, lambda.estimated_groups('dg') AS dg,
       lambda.estimated_groups('ds') AS ds, lambda.estimated_groups('dn') AS dn;
SELECT k, n FROM dk ORDER BY k;
SELECT lambda.estimated_groups(NULL);
-- any role that may read the view
CREATE ROLE lambda_ddl_reader;
GRANT SELECT ON dk TO lambda_ddl_reader;
SET ROLE lambda_ddl_reader;
SELECT lambda.estimated_groups('dk');
RESET ROLE;

-- lambda.continuous takes the Boolean values a storage parameter takes;
-- = false alone makes an ordinary materialized view
CREATE MATERIALIZED VIEW yes_view WITH (lambda.continuous = 'yes') AS SELECT k, count(*) FROM dv GROUP BY k;
CREATE MATERIALIZED VIEW on_view WITH (lambda.continuous = on) AS SELECT k, count(*) FROM dv GROUP BY k;
CREATE MATERIALIZED VIEW plain_mv WITH (lambda.continuous = false) AS SELECT k, count(*) FROM dv GROUP BY k;
SELECT relname, relkind FROM pg_class WHERE relname IN ('yes_view', 'on_view', 'plain_mv') ORDER BY 1;
SELECT view FROM lambda.views ORDER BY view::text;
DROP MATERIALIZED VIEW plain_mv;
DROP MATERIALIZED VIEW yes_view;
DROP MATERIALIZED VIEW on_view;

-- an output column named like pg_lambda's own columns gets a batch column of another name
CREATE MATERIALIZED VIEW own_names WITH (lambda.continuous) AS
  SELECT k AS _lambda_key, count(*) AS _lambda_long FROM dv GROUP BY k;
SELECT attname FROM pg_attribute WHERE attrelid = 'lambda_catalog.own_names_batch'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM own_names ORDER BY 1;
ALTER MATERIALIZED VIEW own_names RENAME COLUMN _lambda_long TO _lambda_step;
SELECT * FROM own_names ORDER BY 1;
DROP MATERIALIZED VIEW own_names;

-- a sliding window over a timestamp column keeps its steps through a REFRESH
-- and a recompute in a session set to a time zone east of the one it
-- started in (PST8PDT under pg_regress)
RESET timezone;
CREATE TABLE lt (k text, ts timestamp NOT NULL);
SELECT lambda.create_event_table('lt', time_column => 'ts');
INSERT INTO lt SELECT 'a', LOCALTIMESTAMP - i * interval '5 minutes' FROM generate_series(0, 5) i;
CREATE MATERIALIZED VIEW ltw WITH (lambda.continuous, lambda.refresh_interval = '1 day', lambda.sliding_window = '1 hour') AS
  SELECT k, count(*) FROM lt GROUP BY k;
INSERT INTO lt SELECT 'b', LOCALTIMESTAMP - i * interval '5 minutes' FROM generate_series(0, 5) i;
SELECT * FROM ltw ORDER BY k;
SET timezone = 'Pacific/Kiritimati';
REFRESH MATERIALIZED VIEW ltw;
RESET timezone;
SELECT * FROM ltw ORDER BY k;
SET timezone = 'Pacific/Kiritimati';
SELECT lambda.recompute('ltw');
-- an event inserted there, ten minutes old in PST8PDT, 22 hours in Kiritimati
INSERT INTO lt VALUES ('c', (now() AT TIME ZONE 'PST8PDT') - interval '10 minutes');
RESET timezone;
SELECT * FROM ltw ORDER BY k;
SELECT count(DISTINCT k) FROM lambda_catalog.ltw_batch;
-- and in a session that starts in such a zone (its connection's TimeZone,
-- here PGTZ; or ALTER ROLE/DATABASE ... SET timezone): expiry never passes
-- the local time of the zone the view was created in, which lambda.views
-- shows
SELECT window_time_zone = current_setting('TimeZone') AS created_zone FROM lambda.views WHERE view = 'ltw'::regclass;
\getenv regress_tz PGTZ
\setenv PGTZ Pacific/Kiritimati
\c
SHOW timezone;
REFRESH MATERIALIZED VIEW ltw;
SELECT lambda.recompute('ltw');
-- read there, the window ends 22 hours later: nothing is in it
SELECT * FROM ltw ORDER BY k;
\setenv PGTZ :regress_tz
\c
SELECT current_setting('TimeZone') = :'regress_tz' AS back_home;
SELECT * FROM ltw ORDER BY k;
SELECT count(DISTINCT k) FROM lambda_catalog.ltw_batch;
SELECT k, count(*) FROM lt WHERE ts >= date_bin('3 minutes', LOCALTIMESTAMP - interval '1 hour', '2000-01-01')
  GROUP BY k ORDER BY k;
SELECT window_time_zone IS NULL AS no_zone FROM lambda.views WHERE view = 'dk'::regclass;
SET timezone = 'UTC';

-- a grouping key that depends on TimeZone: a WARNING at CREATE (not for
-- date_trunc with its zone, AT TIME ZONE or date_bin)
SET timezone = 'UTC';
CREATE MATERIALIZED VIEW tz_hour WITH (lambda.continuous) AS
  SELECT date_trunc('hour', ts) AS hour, ts::date AS day, count(*) FROM ev GROUP BY 1, 2;
CREATE MATERIALIZED VIEW tz_fixed WITH (lambda.continuous) AS
  SELECT date_trunc('hour', ts, 'UTC') AS hour, date_trunc('day', ts AT TIME ZONE 'UTC') AS day,
         date_bin('1 hour', ts, '2000-01-01 00:00+00') AS bin, count(*) FROM ev GROUP BY 1, 2, 3;

-- retention: a NOTICE names the views that may still count the removed events
SELECT lambda.drop_events_before('dv', now() + interval '2 days');
SELECT lambda.drop_events_before('dv', now() + interval '2 days');
SELECT k, n FROM dk ORDER BY k;

DROP TABLE ev, dv, lt CASCADE;
DROP SCHEMA reports;
DROP FUNCTION same_as_direct(regclass), plan_lines(text);
DROP ROLE lambda_ddl_reader;
DROP ROLE lambda_ddl_owner;
DROP EXTENSION pg_lambda;

-- a transaction that creates the extension and a view keeps the view's
-- speed layer while the database's scheduler (which the CREATE starts, and
-- which looks at the database every second) finds no extension yet: the
-- events inserted after the CREATE are counted once
BEGIN;
CREATE EXTENSION pg_lambda;
CREATE TABLE ev1 (k text, ts timestamptz NOT NULL DEFAULT '2025-01-01 00:00+00');
SELECT lambda.create_event_table('ev1', time_column => 'ts');
INSERT INTO ev1 (k) VALUES ('a'), ('b');
CREATE MATERIALIZED VIEW v1 WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev1 GROUP BY k;
INSERT INTO ev1 (k) VALUES ('a'), ('c');
SELECT pg_sleep(3);
COMMIT;
SELECT * FROM v1 ORDER BY k;
SELECT k, count(*) AS n FROM ev1 GROUP BY k ORDER BY k;
DROP TABLE ev1 CASCADE;
DROP EXTENSION pg_lambda;
