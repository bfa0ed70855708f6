--
-- Privileges of continuous views: who may create, refresh, recompute, alter
-- and own them, and what their owner needs. The roles are ordinary
-- (non-superuser) roles made by this file:
--   alice    owns the event table
--   mallory  may read it and owns views
--   team     a group role; carol is a member of it
--
CREATE EXTENSION pg_lambda;
SET timezone = 'UTC';
CREATE ROLE lambda_priv_alice;
CREATE ROLE lambda_priv_mallory;
CREATE ROLE lambda_priv_team;
CREATE ROLE lambda_priv_carol IN ROLE lambda_priv_team;
CREATE ROLE lambda_priv_bypass BYPASSRLS;
GRANT CREATE ON SCHEMA public TO lambda_priv_alice, lambda_priv_mallory, lambda_priv_team, lambda_priv_bypass;
SET ROLE lambda_priv_alice;
CREATE TABLE ev (k text, x int, secret text, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', time_column => 'ts');
INSERT INTO ev VALUES ('a', 1, 's', '2025-01-01'), ('b', 2, 's', '2025-01-01'), ('b', 3, 's', '2025-01-02'),
                      ('lambda_priv_mallory', 4, 's', '2025-01-01');
GRANT SELECT ON ev TO lambda_priv_mallory, lambda_priv_team, lambda_priv_bypass;
RESET ROLE;

-- row-level security that does not apply to the owner: the table's owner
-- (without FORCE) and a BYPASSRLS role count every event, exactly as their
-- defining queries do
SET ROLE lambda_priv_alice;
ALTER TABLE ev ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON ev FOR SELECT USING (k = current_user::text);
CREATE MATERIALIZED VIEW alice_counts WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev GROUP BY k;
SELECT * FROM alice_counts ORDER BY k;
SELECT k, count(*) AS n FROM ev GROUP BY k ORDER BY k;
SET ROLE lambda_priv_bypass;
CREATE MATERIALIZED VIEW bypass_counts WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev GROUP BY k;
SET ROLE lambda_priv_alice;
INSERT INTO ev VALUES ('c', 5, 's', '2025-01-03');
SET ROLE lambda_priv_bypass;
SELECT * FROM bypass_counts ORDER BY k;
SELECT k, count(*) AS n FROM ev GROUP BY k ORDER BY k;
REFRESH MATERIALIZED VIEW bypass_counts;
SELECT * FROM bypass_counts ORDER BY k;
RESET ROLE;
-- policies may be added and changed: they never apply to these owners
SET ROLE lambda_priv_alice;
CREATE POLICY no_rows ON ev FOR SELECT USING (false);
ALTER TABLE ev NO FORCE ROW LEVEL SECURITY;
REFRESH MATERIALIZED VIEW alice_counts;
ALTER TABLE ev DISABLE ROW LEVEL SECURITY;
DROP POLICY own_rows ON ev;
DROP POLICY no_rows ON ev;
RESET ROLE;
DROP MATERIALIZED VIEW bypass_counts;

-- SELECT on the columns the view reads is enough, as for any query
CREATE ROLE lambda_priv_cols;
GRANT CREATE ON SCHEMA public TO lambda_priv_cols;
GRANT SELECT (k, x) ON ev TO lambda_priv_cols;
SET ROLE lambda_priv_cols;
CREATE MATERIALIZED VIEW cols_sums WITH (lambda.continuous) AS
  SELECT k, sum(x) AS total FROM ev WHERE x > 1 GROUP BY k;
CREATE MATERIALIZED VIEW cols_total WITH (lambda.continuous) AS SELECT count(*) AS n FROM ev;
SELECT lambda.recompute('cols_sums');
SELECT * FROM cols_sums ORDER BY k;
SELECT * FROM cols_total;
RESET ROLE;
DROP MATERIALIZED VIEW cols_sums, cols_total;
REVOKE SELECT (k, x) ON ev FROM lambda_priv_cols;
REVOKE CREATE ON SCHEMA public FROM lambda_priv_cols;
DROP ROLE lambda_priv_cols;

-- a view whose owner lost SELECT refreshes again once it is granted back
SET ROLE lambda_priv_mallory;
CREATE MATERIALIZED VIEW mallory_counts WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev GROUP BY k;
SET ROLE lambda_priv_alice;
REVOKE SELECT ON ev FROM lambda_priv_mallory;
INSERT INTO ev VALUES ('d', 6, 's', '2025-01-04');
GRANT SELECT ON ev TO lambda_priv_mallory;
SET ROLE lambda_priv_mallory;
REFRESH MATERIALIZED VIEW mallory_counts;
SELECT * FROM mallory_counts ORDER BY k;
SELECT batch_rows FROM lambda.view_status WHERE view = 'mallory_counts'::regclass;
RESET ROLE;

-- a new owner that may read the event table; the old one keeps no access
-- to the view's internal tables
ALTER MATERIALIZED VIEW mallory_counts OWNER TO lambda_priv_team;
SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'mallory_counts'::regclass;
SELECT has_table_privilege('lambda_priv_mallory', 'lambda_catalog.mallory_counts_batch', 'SELECT') AS old_batch,
       has_table_privilege('lambda_priv_mallory', 'lambda_catalog.mallory_counts_speed', 'SELECT') AS old_speed,
       has_table_privilege('lambda_priv_team', 'lambda_catalog.mallory_counts_batch', 'SELECT') AS new_batch,
       has_table_privilege('lambda_priv_team', 'lambda_catalog.mallory_counts_speed', 'SELECT') AS new_speed;
SET ROLE lambda_priv_mallory;
SELECT * FROM lambda_catalog.mallory_counts_batch;
RESET ROLE;

-- REASSIGN OWNED gives views away like OWNER TO: the new owner reads them
SET ROLE lambda_priv_mallory;
CREATE MATERIALIZED VIEW mallory_totals WITH (lambda.continuous) AS SELECT count(*) AS n FROM ev;
RESET ROLE;
REASSIGN OWNED BY lambda_priv_mallory TO lambda_priv_team;
SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'mallory_totals'::regclass;
SET ROLE lambda_priv_carol;
SELECT * FROM mallory_totals;
RESET ROLE;
DROP MATERIALIZED VIEW mallory_totals;

-- a member of the owning role may refresh, recompute and alter the view,
-- as PostgreSQL allows for a materialized view
SET ROLE lambda_priv_alice;
INSERT INTO ev VALUES ('e', 7, 's', '2025-01-05');
SET ROLE lambda_priv_carol;
REFRESH MATERIALIZED VIEW mallory_counts;
SELECT lambda.recompute('mallory_counts');
ALTER MATERIALIZED VIEW mallory_counts SET (lambda.refresh_interval = '7 minutes');
SELECT * FROM mallory_counts ORDER BY k;
RESET ROLE;
SELECT refresh_interval FROM lambda.views WHERE view = 'mallory_counts'::regclass;
-- and so may a superuser
ALTER MATERIALIZED VIEW mallory_counts RESET (lambda.refresh_interval);
REFRESH MATERIALIZED VIEW mallory_counts;
SELECT refresh_interval FROM lambda.views WHERE view = 'mallory_counts'::regclass;

-- what may change on the user-facing view: column defaults, comments,
-- security_barrier, security_invoker off
ALTER VIEW alice_counts ALTER COLUMN k SET DEFAULT 'z';
ALTER VIEW alice_counts SET (security_barrier = true);
ALTER VIEW alice_counts SET (security_invoker = false);
ALTER VIEW alice_counts RESET (security_invoker);
COMMENT ON VIEW alice_counts IS 'counts';
SELECT reloptions FROM pg_class WHERE oid = 'alice_counts'::regclass;
SELECT * FROM alice_counts ORDER BY k;

-- a recompute computes the batch layer with the rights of the view's owner,
-- whoever calls it: a function of the definition runs as the view's owner
-- (here a superuser recomputes mallory's view)
CREATE TABLE ev_who (k text, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev_who', time_column => 'ts');
INSERT INTO ev_who VALUES ('a', '2025-01-01'), ('b', '2025-01-01'), ('b', '2025-01-02');
GRANT SELECT ON ev_who TO lambda_priv_mallory;
SET ROLE lambda_priv_mallory;
CREATE FUNCTION lambda_priv_who(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF t = 'a' THEN
        RAISE NOTICE 'lambda_priv_who runs as %', current_user;
    END IF;
    RETURN t;
END $$;
CREATE MATERIALIZED VIEW mallory_who WITH (lambda.continuous) AS
    SELECT lambda_priv_who(k) AS k, count(*) AS n FROM ev_who GROUP BY 1;
RESET ROLE;
SELECT lambda.recompute('mallory_who');
SELECT * FROM mallory_who ORDER BY k;
DROP MATERIALIZED VIEW mallory_who;
DROP FUNCTION lambda_priv_who(text);
DROP TABLE ev_who;

DROP MATERIALIZED VIEW alice_counts, mallory_counts;
DROP TABLE ev;
REVOKE ALL ON SCHEMA public FROM lambda_priv_alice, lambda_priv_mallory, lambda_priv_team, lambda_priv_bypass;
DROP ROLE lambda_priv_alice, lambda_priv_mallory, lambda_priv_carol, lambda_priv_team, lambda_priv_bypass;
DROP EXTENSION pg_lambda;
