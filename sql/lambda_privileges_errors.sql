--
-- Privileges of continuous views: what is refused, with which error. Every
-- role here is an ordinary (non-superuser) role made by this file:
--   alice    owns the event table
--   mallory  may read it and owns views
--   other    owns nothing and may read nothing
--
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
\set SHOW_CONTEXT never
CREATE ROLE lambda_priv_alice;
CREATE ROLE lambda_priv_mallory;
CREATE ROLE lambda_priv_other;
GRANT CREATE ON SCHEMA public TO lambda_priv_alice, lambda_priv_mallory, lambda_priv_other;
SET ROLE lambda_priv_alice;
CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev VALUES ('a', 1, '2025-01-01'), ('b', 2, '2025-01-01'), ('c', 3, '2025-01-01'),
                      ('lambda_priv_mallory', 4, '2025-01-01');
GRANT SELECT ON ev TO lambda_priv_mallory;
RESET ROLE;

-------------------------------------------------------------------------------
-- 1. Row-level security that applies to a view's owner
-------------------------------------------------------------------------------
SET ROLE lambda_priv_alice;
ALTER TABLE ev ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON ev FOR SELECT USING (k = current_user::text);
SET ROLE lambda_priv_mallory;
-- what mallory's defining query sees: one row
SELECT k, count(*) FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW mallory_counts WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the table's owner is exempt (no FORCE): its view counts every event
SET ROLE lambda_priv_alice;
CREATE MATERIALIZED VIEW alice_counts WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
-- ... until the table forces row-level security on its owner too
ALTER TABLE ev FORCE ROW LEVEL SECURITY;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
-- nor may the view go to a role that row-level security applies to
ALTER MATERIALIZED VIEW alice_counts OWNER TO lambda_priv_mallory;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER VIEW alice_counts OWNER TO lambda_priv_mallory;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE alice_counts OWNER TO lambda_priv_mallory;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'alice_counts'::regclass;
-- giving the event table away would leave alice's view without access
ALTER TABLE ev OWNER TO lambda_priv_other;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pg_get_userbyid(relowner), relforcerowsecurity FROM pg_class WHERE oid = 'ev'::regclass;
-- without row-level security mallory's view is fine, and then enabling it
-- is refused
SET ROLE lambda_priv_alice;
ALTER TABLE ev DISABLE ROW LEVEL SECURITY;
SET ROLE lambda_priv_mallory;
CREATE MATERIALIZED VIEW mallory_counts WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
SET ROLE lambda_priv_alice;
ALTER TABLE ev ENABLE ROW LEVEL SECURITY;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE ev ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'ev'::regclass;
DROP MATERIALIZED VIEW mallory_counts;
-- a role that bypassed row-level security and no longer does: its view
-- refuses to refresh
CREATE ROLE lambda_priv_bypass BYPASSRLS;
GRANT SELECT ON ev TO lambda_priv_bypass;
GRANT CREATE ON SCHEMA public TO lambda_priv_bypass;
SET ROLE lambda_priv_alice;
ALTER TABLE ev ENABLE ROW LEVEL SECURITY;
SET ROLE lambda_priv_bypass;
CREATE MATERIALIZED VIEW bypass_counts WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
RESET ROLE;
ALTER ROLE lambda_priv_bypass NOBYPASSRLS;
SET ROLE lambda_priv_bypass;
REFRESH MATERIALIZED VIEW bypass_counts;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.recompute('bypass_counts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP MATERIALIZED VIEW bypass_counts;
SET ROLE lambda_priv_alice;
ALTER TABLE ev DISABLE ROW LEVEL SECURITY;
RESET ROLE;

-------------------------------------------------------------------------------
-- 2. The owner's SELECT on the event table
-------------------------------------------------------------------------------
SET ROLE lambda_priv_other;
CREATE MATERIALIZED VIEW other_counts WITH (lambda.continuous) AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
-- with SELECT on some columns only, a view over other columns is refused
GRANT SELECT (k) ON ev TO lambda_priv_other;
SET ROLE lambda_priv_other;
CREATE MATERIALIZED VIEW other_sums WITH (lambda.continuous) AS SELECT k, sum(x) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW other_sums WITH (lambda.continuous) AS SELECT k, count(*) FROM ev WHERE x > 1 GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a sliding window reads the time column too
CREATE MATERIALIZED VIEW other_recent WITH (lambda.continuous, lambda.sliding_window = '1 hour') AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE SELECT (k) ON ev FROM lambda_priv_other;
SELECT count(*) FROM lambda.views;
-- a view whose owner loses SELECT no longer refreshes, whoever asks
SET ROLE lambda_priv_mallory;
CREATE MATERIALIZED VIEW mallory_counts WITH (lambda.continuous, lambda.refresh_interval = '1 second') AS
  SELECT k, count(*) FROM ev GROUP BY k;
SET ROLE lambda_priv_alice;
REVOKE SELECT ON ev FROM lambda_priv_mallory;
INSERT INTO ev VALUES ('d', 5, '2025-01-02');
SET ROLE lambda_priv_mallory;
REFRESH MATERIALIZED VIEW mallory_counts;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.recompute('mallory_counts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
REFRESH MATERIALIZED VIEW mallory_counts;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the scheduler's refresh fails the same way, is recorded, and the
-- scheduler goes on refreshing the other views
ALTER MATERIALIZED VIEW alice_counts SET (lambda.refresh_interval = '1 second');
CREATE TEMP TABLE alice_mark AS
  SELECT last_refresh FROM lambda.view_status WHERE view = 'alice_counts'::regclass;
DO $$
BEGIN
    FOR i IN 1 .. 600 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM lambda.view_status WHERE view = 'mallory_counts'::regclass
                           AND note LIKE '%permission denied for table ev%')
              AND EXISTS (SELECT 1 FROM lambda.view_status s, alice_mark m
                           WHERE s.view = 'alice_counts'::regclass AND s.last_refresh > m.last_refresh);
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT view, note LIKE '%permission denied for table ev%' AS refresh_refused
  FROM lambda.view_status WHERE view = 'mallory_counts'::regclass;
SELECT s.last_refresh > m.last_refresh AS alice_refreshed
  FROM lambda.view_status s, alice_mark m WHERE s.view = 'alice_counts'::regclass;
SELECT batch_rows FROM lambda.view_status WHERE view = 'mallory_counts'::regclass;
-- nor may a view go to a role without SELECT on its event table
ALTER MATERIALIZED VIEW alice_counts OWNER TO lambda_priv_other;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'alice_counts'::regclass;
-- nor through REASSIGN OWNED
REASSIGN OWNED BY lambda_priv_mallory TO lambda_priv_other;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'mallory_counts'::regclass;
DROP MATERIALIZED VIEW mallory_counts;

-------------------------------------------------------------------------------
-- 4. The user-facing view keeps its query
-------------------------------------------------------------------------------
CREATE OR REPLACE VIEW alice_counts AS SELECT k, count(*) FROM ev GROUP BY k;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE OR REPLACE VIEW alice_counts AS SELECT 'x'::text AS k, 0::bigint AS count;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE RULE "_RETURN" AS ON SELECT TO alice_counts DO INSTEAD SELECT 'x'::text AS k, 0::bigint AS count;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE OR REPLACE RULE "_RETURN" AS ON SELECT TO alice_counts DO INSTEAD SELECT 'x'::text AS k, 0::bigint AS count;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER VIEW alice_counts SET (security_invoker = true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER VIEW alice_counts SET (security_invoker);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE alice_counts SET (security_invoker = on);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the view still answers from both layers
SELECT reloptions FROM pg_class WHERE oid = 'alice_counts'::regclass;
SELECT pg_get_viewdef('alice_counts') LIKE '%lambda_catalog.alice_counts_batch%' AS reads_batch;
SELECT * FROM alice_counts ORDER BY k;

-------------------------------------------------------------------------------
-- 5. Only the owner refreshes, recomputes and alters a view
-------------------------------------------------------------------------------
SET ROLE lambda_priv_mallory;
-- PostgreSQL's own refusal for a materialized view, whose wording differs by
-- major (15: must be owner; 17+: permission denied, as MAINTAIN would do);
-- the messages are checked in test/t/060_majors.pl
\set VERBOSITY sqlstate
REFRESH MATERIALIZED VIEW alice_counts;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.recompute('alice_counts');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set VERBOSITY default
ALTER MATERIALIZED VIEW alice_counts SET (lambda.refresh_interval = '5 minutes');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW alice_counts RESET (lambda.refresh_interval);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW alice_counts OWNER TO lambda_priv_mallory;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER VIEW alice_counts SET (security_barrier = true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP MATERIALIZED VIEW alice_counts;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT refresh_interval FROM lambda.views WHERE view = 'alice_counts'::regclass;

DROP MATERIALIZED VIEW alice_counts;
DROP TABLE ev;
REVOKE ALL ON SCHEMA public FROM lambda_priv_alice, lambda_priv_mallory, lambda_priv_other, lambda_priv_bypass;
DROP ROLE lambda_priv_alice, lambda_priv_mallory, lambda_priv_other, lambda_priv_bypass;
DROP EXTENSION pg_lambda;
