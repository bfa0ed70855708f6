--
-- Event tables: creating one, appending to it, retention, schema evolution,
-- dropping it. Negative cases are in event_table_errors.
--
CREATE EXTENSION pg_lambda;
SELECT extname, extversion, nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'pg_lambda';
SET timezone = 'UTC';

CREATE TABLE pageviews (user_ip inet, url text NOT NULL, ts timestamptz NOT NULL);
-- rows that exist before the table becomes an event table are events too
INSERT INTO pageviews VALUES
  ('10.0.0.1', 'a.com/', '2024-12-30 10:00'),
  ('10.0.0.2', 'b.com/', '2024-12-31 11:00');
SELECT lambda.create_event_table('pageviews', time_column => 'ts');
SELECT event_table, schema_name, table_name, time_column, time_column_type
  FROM lambda.event_tables;

-- INSERT and COPY work as usual
INSERT INTO pageviews VALUES ('10.0.0.3', 'a.com/x', '2025-01-01 00:00');
INSERT INTO pageviews SELECT '10.0.1.1', 'c.com/' || g, '2025-01-02'::timestamptz + g * interval '1 hour'
  FROM generate_series(1, 10) g;
COPY pageviews FROM stdin;
10.0.0.9	d.com/	2025-01-03 00:00:00+00
\N	e.com/	2025-01-04 00:00:00+00
\.
SELECT count(*), min(ts), max(ts) FROM pageviews;

-- MERGE that only inserts is an append
MERGE INTO pageviews p
USING (VALUES ('10.0.2.1'::inet, 'f.com/', '2025-01-05 00:00'::timestamptz)) AS s(ip, url, ts)
   ON p.url = s.url
 WHEN NOT MATCHED THEN INSERT VALUES (s.ip, s.url, s.ts);
-- so is ON CONFLICT DO NOTHING
CREATE UNIQUE INDEX pageviews_url_ts ON pageviews (url, ts);
INSERT INTO pageviews VALUES ('10.0.0.3', 'a.com/x', '2025-01-01 00:00') ON CONFLICT DO NOTHING;
SELECT count(*) FROM pageviews;

-- reading, locking and explaining are not changes
SELECT count(*) FROM (SELECT * FROM pageviews FOR UPDATE) s;
EXPLAIN (COSTS OFF) DELETE FROM pageviews;

-- schemas evolve: a nullable column can be added; new events carry it
ALTER TABLE pageviews ADD COLUMN referrer text;
INSERT INTO pageviews VALUES ('10.0.0.4', 'a.com/y', '2025-01-06 00:00', 'news.example');
SELECT count(*) AS with_referrer FROM pageviews WHERE referrer IS NOT NULL;
-- constraints, defaults, comments are fine too
ALTER TABLE pageviews ALTER COLUMN referrer SET DEFAULT 'direct';
COMMENT ON TABLE pageviews IS 'page views';

-- renaming the time column keeps the event table intact
ALTER TABLE pageviews RENAME COLUMN ts TO event_time;
SELECT table_name, time_column, time_column_type FROM lambda.event_tables;
-- renaming the table too
ALTER TABLE pageviews RENAME TO page_views;
SELECT table_name, time_column FROM lambda.event_tables;
ALTER TABLE page_views RENAME TO pageviews;

-- retention: the one sanctioned removal, returning how many it removed
SELECT lambda.drop_events_before('pageviews', '2025-01-01 00:00');
SELECT count(*), min(event_time) FROM pageviews;
SELECT lambda.drop_events_before('pageviews', '2025-01-01 00:00');
-- it removed; it did not make the table writable
DELETE FROM pageviews;
SELECT count(*) FROM pageviews;

-- a timestamp (without time zone) time column; a table in another schema
CREATE SCHEMA app;
CREATE TABLE app."Clicks" (id bigint GENERATED ALWAYS AS IDENTITY, at timestamp NOT NULL, what text);
SELECT lambda.create_event_table('app."Clicks"', 'at');
INSERT INTO app."Clicks" (at, what)
  SELECT '2025-03-01'::timestamp + g * interval '1 day', 'click ' || g FROM generate_series(1, 5) g;
SELECT lambda.drop_events_before('app."Clicks"', '2025-03-04 00:00+00');
SELECT id, at, what FROM app."Clicks" ORDER BY id;
SELECT event_table, schema_name, table_name, time_column, time_column_type
  FROM lambda.event_tables ORDER BY table_name;

-- dropping an event table removes it from the catalog
DROP TABLE app."Clicks";
SELECT table_name FROM lambda.event_tables ORDER BY table_name;
DROP SCHEMA app;

-- a new table with the same name is an ordinary table until made an event table
DROP TABLE pageviews;
CREATE TABLE pageviews (url text, ts timestamptz);
INSERT INTO pageviews VALUES ('x', now());
DELETE FROM pageviews;
SELECT count(*) FROM lambda.event_tables;
DROP TABLE pageviews;

-- without the extension, tables are ordinary again
CREATE TABLE ev (ts timestamptz);
SELECT lambda.create_event_table('ev', 'ts');
INSERT INTO ev VALUES (now());
DROP EXTENSION pg_lambda;
DELETE FROM ev;
DROP TABLE ev;
