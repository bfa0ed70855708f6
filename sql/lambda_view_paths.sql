-- Continuous views and every path into their event tables: rows written as
-- a replica (as logical replication's apply workers and table
-- synchronizations write them) are captured once, by the row-level
-- trigger; views whose long names share a prefix get capture triggers of
-- their own; an installation updated from 0.3.0 keeps its views. Every
-- answer is compared with the defining query.
SET timezone = 'UTC';
-- installed at 0.3.0, with views, then updated
CREATE EXTENSION pg_lambda VERSION '0.3.0';
CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', 'ts');
CREATE TABLE pev (x int, k text, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
CREATE TABLE pev_2025 PARTITION OF pev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
-- a partition with its columns in another order
CREATE TABLE pev_2026 (k text, ts timestamptz NOT NULL, x int);
ALTER TABLE pev ATTACH PARTITION pev_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT lambda.create_event_table('pev', 'ts');
INSERT INTO ev SELECT 'k' || (i % 3), i, '2025-01-01'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, 30) i;
INSERT INTO pev SELECT i, 'k' || (i % 3), '2025-06-01'::timestamptz + i * interval '10 days'
  FROM generate_series(1, 40) i;
CREATE MATERIALIZED VIEW old_v WITH (lambda.continuous) AS
  SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW old_pv WITH (lambda.continuous) AS
  SELECT k, count(*) AS n, sum(x) AS s FROM pev GROUP BY k;
ALTER EXTENSION pg_lambda UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_lambda';

-- pg_lambda's triggers: guards that fire always ('A'), statement capture as
-- origin ('O'), row capture as replica ('R') on the tables that hold rows
CREATE VIEW lambda_triggers AS
  SELECT tgrelid::regclass AS rel, tgname, tgenabled,
         tgfoid::regproc AS function,
         CASE WHEN tgtype & 1 = 1 THEN 'row' ELSE 'statement' END AS level
    FROM pg_trigger
   WHERE tgfoid::regproc::text IN ('lambda_catalog.capture', 'lambda_catalog.capture_row',
                                   'lambda_catalog.refuse_change');
SELECT * FROM lambda_triggers ORDER BY 1, 2;

-- compares a view with its defining query, both ways
CREATE FUNCTION same(v regclass, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  nv bigint;
  nq bigint;
  nd bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %s', v) INTO nv;
  EXECUTE format('SELECT count(*) FROM (%s) q', q) INTO nq;
  EXECUTE format('SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL SELECT * FROM %s)) d',
                 v, q, q, v) INTO nd;
  RETURN format('%s rows, query %s rows, %s differ', nv, nq, nd);
END
$$;
SELECT same('old_v', 'SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k');
SELECT same('old_pv', 'SELECT k, count(*) AS n, sum(x) AS s FROM pev GROUP BY k');

-- rows written as a replica reach the views once: INSERT, COPY, a
-- partition directly, rolled back transactions and subtransactions
SET session_replication_role = replica;
INSERT INTO ev VALUES ('k1', 1000, '2025-03-01'), ('k9', 5, '2025-03-02');
COPY ev FROM stdin;
k2	7	2025-03-03 00:00:00+00
k9	8	2025-03-04 00:00:00+00
\.
INSERT INTO pev VALUES (500, 'k1', '2025-07-01'), (600, 'k7', '2026-07-01');
INSERT INTO pev_2026 VALUES ('k8', '2026-08-01', 9);
COPY pev FROM stdin;
11	k8	2026-09-01 00:00:00+00
\.
BEGIN;
INSERT INTO ev VALUES ('k1', 100000, '2025-03-01');
ROLLBACK;
BEGIN;
INSERT INTO ev VALUES ('k3', 1, '2025-03-01');
SAVEPOINT s;
INSERT INTO ev VALUES ('k3', 99999, '2025-03-01');
ROLLBACK TO s;
COMMIT;
RESET session_replication_role;
-- and from an ordinary session, once too
INSERT INTO ev VALUES ('k1', 1, '2025-03-05');
INSERT INTO pev_2026 VALUES ('k8', '2026-10-01', 10);
SELECT same('old_v', 'SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k');
SELECT same('old_pv', 'SELECT k, count(*) AS n, sum(x) AS s FROM pev GROUP BY k');
SELECT * FROM old_v ORDER BY k;
-- a partition created now gets every trigger, and its rows count once
CREATE TABLE pev_2027 PARTITION OF pev FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
SELECT * FROM lambda_triggers WHERE rel = 'pev_2027'::regclass ORDER BY 2;
SET session_replication_role = replica;
INSERT INTO pev VALUES (7, 'k1', '2027-02-01');
RESET session_replication_role;
INSERT INTO pev_2027 VALUES (8, 'k1', '2027-03-01');
SELECT same('old_pv', 'SELECT k, count(*) AS n, sum(x) AS s FROM pev GROUP BY k');
-- the batch layer agrees
REFRESH MATERIALIZED VIEW old_v;
SELECT same('old_v', 'SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k');
SELECT lambda.recompute('old_pv');
SELECT same('old_pv', 'SELECT k, count(*) AS n, sum(x) AS s FROM pev GROUP BY k');
-- the capture triggers stay as they are
ALTER TABLE ev ENABLE TRIGGER lambda_capture_row_old_v_batch;
ALTER TABLE ev ENABLE ALWAYS TRIGGER lambda_capture_old_v_batch;
ALTER TABLE ev ENABLE TRIGGER ALL;
DROP TRIGGER lambda_capture_row_old_v_batch ON ev;
-- as they are made (as a pg_dump script sets them) is fine
ALTER TABLE ev ENABLE REPLICA TRIGGER lambda_capture_row_old_v_batch;
ALTER TABLE ev ENABLE TRIGGER lambda_capture_old_v_batch;
-- a row capture trigger on another table feeds nothing
CREATE TABLE not_ev (k text, x int, ts timestamptz NOT NULL);
CREATE TRIGGER t AFTER INSERT ON not_ev FOR EACH ROW
  EXECUTE FUNCTION lambda_catalog.capture_row('lambda_catalog.old_v_batch');
INSERT INTO not_ev VALUES ('k1', 1, '2025-01-01');
DROP TABLE not_ev;
SELECT same('old_v', 'SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k');

-- three views whose 63-character names share their first 48 characters
-- (and two of them their first 57): each has capture triggers of its own
CREATE MATERIALIZED VIEW events_per_key_for_the_dashboard_of_the_operations_team_counts1
  WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW events_per_key_for_the_dashboard_of_the_operations_desk_counts1
  WITH (lambda.continuous) AS SELECT k, sum(x) AS s FROM ev GROUP BY k;
CREATE MATERIALIZED VIEW events_per_key_for_the_dashboard_of_the_operations_team_counts2
  WITH (lambda.continuous) AS SELECT count(*) AS n, max(x) AS hi FROM ev;
SELECT view, batch_table, speed_table FROM lambda.views WHERE event_table = 'ev'::regclass ORDER BY 1;
SELECT * FROM lambda_triggers WHERE rel = 'ev'::regclass ORDER BY 2;
INSERT INTO ev VALUES ('k1', 2, '2025-04-01'), ('k4', 3, '2025-04-02');
SET session_replication_role = replica;
INSERT INTO ev VALUES ('k4', 4, '2025-04-03');
RESET session_replication_role;
SELECT same('events_per_key_for_the_dashboard_of_the_operations_team_counts1',
            'SELECT k, count(*) AS n FROM ev GROUP BY k');
SELECT same('events_per_key_for_the_dashboard_of_the_operations_desk_counts1',
            'SELECT k, sum(x) AS s FROM ev GROUP BY k');
SELECT same('events_per_key_for_the_dashboard_of_the_operations_team_counts2',
            'SELECT count(*) AS n, max(x) AS hi FROM ev');
-- dropping one leaves the others whole
DROP MATERIALIZED VIEW events_per_key_for_the_dashboard_of_the_operations_team_counts1;
INSERT INTO ev VALUES ('k5', 5, '2025-04-04');
SELECT same('events_per_key_for_the_dashboard_of_the_operations_desk_counts1',
            'SELECT k, sum(x) AS s FROM ev GROUP BY k');
SELECT same('events_per_key_for_the_dashboard_of_the_operations_team_counts2',
            'SELECT count(*) AS n, max(x) AS hi FROM ev');
DROP VIEW events_per_key_for_the_dashboard_of_the_operations_team_counts2;
INSERT INTO ev VALUES ('k5', 6, '2025-04-05');
SELECT same('events_per_key_for_the_dashboard_of_the_operations_desk_counts1',
            'SELECT k, sum(x) AS s FROM ev GROUP BY k');
SELECT * FROM lambda_triggers WHERE rel = 'ev'::regclass ORDER BY 2;
DROP MATERIALIZED VIEW events_per_key_for_the_dashboard_of_the_operations_desk_counts1;
SELECT same('old_v', 'SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k');

-- a view whose batch table is dropped directly takes its triggers along
CREATE MATERIALIZED VIEW gone WITH (lambda.continuous) AS SELECT k, count(*) AS n FROM ev GROUP BY k;
DROP TABLE lambda_catalog.gone_batch CASCADE;
INSERT INTO ev VALUES ('k6', 6, '2025-04-06');
SELECT same('old_v', 'SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k');
SELECT * FROM lambda_triggers WHERE rel = 'ev'::regclass ORDER BY 2;

DROP MATERIALIZED VIEW old_v, old_pv;
SELECT * FROM lambda_triggers WHERE function::text <> 'lambda_catalog.refuse_change' ORDER BY 1, 2;
DROP VIEW lambda_triggers;
DROP FUNCTION same(regclass, text);
DROP TABLE ev, pev;
DROP EXTENSION pg_lambda;
