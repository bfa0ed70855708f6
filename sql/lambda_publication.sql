-- Continuous views in a database with a FOR ALL TABLES publication, which
-- publishes updates and deletes of every table, pg_lambda's own included
-- (docs/views.md, "Publications on a server with continuous views"): batch
-- tables have REPLICA IDENTITY FULL, so that refreshes (the direct upsert
-- and the statements alike), recomputes and the scheduler work; a view of
-- 0.3.0 gets it from the update. Every answer is compared with the
-- defining query.
CREATE EXTENSION pg_lambda VERSION '0.3.0';
CREATE TABLE ev (k int, t text, ts timestamptz NOT NULL, x int);
SELECT lambda.create_event_table('ev', 'ts');
CREATE MATERIALIZED VIEW vold WITH (lambda.continuous) AS
  SELECT k, count(*) AS n FROM ev GROUP BY k;
ALTER EXTENSION pg_lambda UPDATE;
SET client_min_messages = error;   -- wal_level's warning depends on the server
CREATE PUBLICATION allpub FOR ALL TABLES;
RESET client_min_messages;
-- PostgreSQL 18 takes a stored generated column (vt's _lambda_long) into a
-- replica identity only when the publication publishes them
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 180000 THEN
    EXECUTE 'ALTER PUBLICATION allpub SET (publish_generated_columns = stored)';
  END IF;
END $$;

-- short integer keys and text keys (the direct upsert; the text keys'
-- table has a _lambda_long column), numeric keys (the statements: 1.0 and
-- 1.00 are one group), no key
CREATE MATERIALIZED VIEW vk WITH (lambda.continuous) AS
  SELECT k, count(*) AS n, sum(x) AS sx FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW vt WITH (lambda.continuous) AS
  SELECT t, count(*) AS n, max(x) AS mx FROM ev GROUP BY t;
CREATE MATERIALIZED VIEW vn WITH (lambda.continuous) AS
  SELECT (k % 30)::numeric / 2 AS h, count(*) AS n FROM ev GROUP BY (k % 30)::numeric / 2;
CREATE MATERIALIZED VIEW vall WITH (lambda.continuous) AS
  SELECT count(*) AS n, sum(x) AS sx FROM ev;
SELECT v.view, c.relreplident
  FROM lambda.views v JOIN pg_class c ON c.oid = v.batch_table ORDER BY v.view::text;

CREATE FUNCTION differ() RETURNS TABLE (view text, differ bigint) LANGUAGE sql AS $$
  SELECT 'vold', count(*) FROM ((TABLE vold EXCEPT ALL SELECT k, count(*) FROM ev GROUP BY k)
    UNION ALL (SELECT k, count(*) FROM ev GROUP BY k EXCEPT ALL TABLE vold)) d
  UNION ALL
  SELECT 'vk', count(*) FROM ((TABLE vk EXCEPT ALL SELECT k, count(*), sum(x) FROM ev GROUP BY k)
    UNION ALL (SELECT k, count(*), sum(x) FROM ev GROUP BY k EXCEPT ALL TABLE vk)) d
  UNION ALL
  SELECT 'vt', count(*) FROM ((TABLE vt EXCEPT ALL SELECT t, count(*), max(x) FROM ev GROUP BY t)
    UNION ALL (SELECT t, count(*), max(x) FROM ev GROUP BY t EXCEPT ALL TABLE vt)) d
  UNION ALL
  SELECT 'vn', count(*) FROM ((TABLE vn EXCEPT ALL SELECT (k % 30)::numeric / 2, count(*) FROM ev GROUP BY 1)
    UNION ALL (SELECT (k % 30)::numeric / 2, count(*) FROM ev GROUP BY 1 EXCEPT ALL TABLE vn)) d
  UNION ALL
  SELECT 'vall', count(*) FROM ((TABLE vall EXCEPT ALL SELECT count(*), sum(x) FROM ev)
    UNION ALL (SELECT count(*), sum(x) FROM ev EXCEPT ALL TABLE vall)) d
$$;

-- the first refreshes insert groups, the second ones update them
INSERT INTO ev SELECT i % 50, 't' || (i % 40), '2026-01-01'::timestamptz + i * interval '1 minute', i
  FROM generate_series(1, 2000) i;
REFRESH MATERIALIZED VIEW vold;
REFRESH MATERIALIZED VIEW vk;
REFRESH MATERIALIZED VIEW vt;
REFRESH MATERIALIZED VIEW vn;
REFRESH MATERIALIZED VIEW vall;
INSERT INTO ev SELECT i % 60, 't' || (i % 45), '2026-01-03'::timestamptz + i * interval '1 minute', i
  FROM generate_series(1, 2000) i;
REFRESH MATERIALIZED VIEW vold;
REFRESH MATERIALIZED VIEW vk;
REFRESH MATERIALIZED VIEW vt;
REFRESH MATERIALIZED VIEW vn;
REFRESH MATERIALIZED VIEW vall;
SELECT * FROM differ();
SELECT last_refresh_mode, count(*) FROM lambda.view_status GROUP BY 1 ORDER BY 1;

SELECT lambda.recompute('vk');
SELECT lambda.recompute('vt');
SELECT lambda.recompute('vn');
SELECT v.view, c.relreplident     -- kept by the recompute's storage swap
  FROM lambda.views v JOIN pg_class c ON c.oid = v.batch_table ORDER BY v.view::text;
INSERT INTO ev SELECT i % 70, 't' || (i % 50), '2026-01-05'::timestamptz + i * interval '1 minute', i
  FROM generate_series(1, 500) i;
REFRESH MATERIALIZED VIEW vk;
REFRESH MATERIALIZED VIEW vt;
REFRESH MATERIALIZED VIEW vn;
SELECT * FROM differ();

-- an owner's own choice is obeyed: without a replica identity the refresh
-- fails as PostgreSQL's own UPDATE does, on either path, and changes nothing
\set VERBOSITY terse
ALTER TABLE lambda_catalog.vk_batch REPLICA IDENTITY NOTHING;
ALTER TABLE lambda_catalog.vt_batch REPLICA IDENTITY NOTHING;
ALTER TABLE lambda_catalog.vn_batch REPLICA IDENTITY NOTHING;
INSERT INTO ev VALUES (1, 't1', '2026-01-06', 1);
REFRESH MATERIALIZED VIEW vk;
REFRESH MATERIALIZED VIEW vt;
REFRESH MATERIALIZED VIEW vn;
SELECT * FROM differ();
ALTER TABLE lambda_catalog.vk_batch REPLICA IDENTITY FULL;
ALTER TABLE lambda_catalog.vt_batch REPLICA IDENTITY FULL;
ALTER TABLE lambda_catalog.vn_batch REPLICA IDENTITY FULL;
REFRESH MATERIALIZED VIEW vk;
REFRESH MATERIALIZED VIEW vt;
REFRESH MATERIALIZED VIEW vn;
SELECT * FROM differ();

-- retention deletes events: a published event table needs a replica
-- identity of its own, as any table PostgreSQL deletes from
SELECT lambda.drop_events_before('ev', '2026-01-02');
ALTER TABLE ev REPLICA IDENTITY FULL;
SELECT lambda.drop_events_before('ev', '2026-01-02');
SELECT count(*) FROM ev;
\set VERBOSITY default

DROP PUBLICATION allpub;
SET client_min_messages = warning;
DROP EXTENSION pg_lambda CASCADE;
RESET client_min_messages;
DROP FUNCTION differ();
DROP TABLE ev;
