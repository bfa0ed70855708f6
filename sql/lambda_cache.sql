--
-- A backend's cache of compiled view definitions: a definition is
-- recompiled after its batch table is invalidated, and the old one's memory
-- is freed (not kept for the life of the backend, as it was).
--
CREATE EXTENSION pg_lambda;
CREATE TABLE cache_ev (k text, x int, ts timestamptz NOT NULL DEFAULT '2025-01-01 00:00+00');
SELECT lambda.create_event_table('cache_ev', time_column => 'ts');
INSERT INTO cache_ev (k, x) SELECT 'k' || (i % 3), i FROM generate_series(1, 30) i;
CREATE MATERIALIZED VIEW cache_v WITH (lambda.continuous) AS
  SELECT k, count(*) AS n, sum(x) AS s FROM cache_ev GROUP BY k;

-- 1,000 rounds, each its own transaction: invalidate the batch table
-- (a storage parameter changes its pg_class row), then read and write
-- through the view, which recompiles the definition.
CREATE PROCEDURE cache_churn(rounds int) LANGUAGE plpgsql AS $$
DECLARE
  batch regclass := (SELECT batch_table FROM lambda.views WHERE view = 'cache_v'::regclass);
BEGIN
  FOR i IN 1..rounds LOOP
    EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = %s)', batch, i % 2 = 0);
    PERFORM sum(n) FROM cache_v;
    INSERT INTO cache_ev (k, x) VALUES ('k' || (i % 3), i);
    COMMIT;
  END LOOP;
END $$;

CREATE TEMP TABLE cache_mem AS
  SELECT count(*) AS contexts, sum(total_bytes) AS bytes
    FROM pg_backend_memory_contexts WHERE name = 'pg_lambda view';
CALL cache_churn(1000);
SELECT sum(n) FROM cache_v;   -- a new transaction uses the cache once more
-- at most the live definition and the one this transaction retired remain,
-- and their memory is what one or two definitions take
SELECT m.contexts AS contexts_now, m.contexts <= 2 AS contexts_flat,
       m.bytes <= 2 * (SELECT max(bytes) FROM cache_mem) + 65536 AS bytes_flat
  FROM (SELECT count(*) AS contexts, sum(total_bytes) AS bytes
          FROM pg_backend_memory_contexts WHERE name = 'pg_lambda view') m;
-- and the view is still exact
SELECT count(*) AS differing FROM (
  (SELECT k, n, s FROM cache_v EXCEPT ALL SELECT k, count(*), sum(x) FROM cache_ev GROUP BY k)
  UNION ALL
  (SELECT k, count(*), sum(x) FROM cache_ev GROUP BY k EXCEPT ALL SELECT k, n, s FROM cache_v)) d;

DROP PROCEDURE cache_churn(int);
DROP MATERIALIZED VIEW cache_v;
DROP TABLE cache_ev;
DROP EXTENSION pg_lambda;
