
-------------------------------------------------------------------------------
-- Batch tables hold keys of any size. A key too large for a btree entry
-- (a few kB) is kept out of the unique index: the generated column
-- _lambda_long marks it, and it is found through an index on key_hash (and,
-- for point queries, a hash index per variable-length key column). Batch
-- tables of existing views whose keys can be that long are moved to this
-- design here.
CREATE FUNCTION lambda_catalog.key_is_long(VARIADIC "any") RETURNS boolean
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_key_is_long';
COMMENT ON FUNCTION lambda_catalog.key_is_long(VARIADIC "any") IS
    'pg_lambda: whether a continuous view''s group key is too large for the unique index of its batch table';
CREATE FUNCTION lambda_catalog.key_hash(VARIADIC "any") RETURNS bigint
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_key_hash';
COMMENT ON FUNCTION lambda_catalog.key_hash(VARIADIC "any") IS
    'pg_lambda: a 64-bit hash of a continuous view''s group key, by each key type''s hash function';

CREATE FUNCTION lambda_catalog.upgrade_batch_table(batch_table regclass) RETURNS boolean
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_upgrade_batch_table';
REVOKE ALL ON FUNCTION lambda_catalog.upgrade_batch_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION lambda_catalog.upgrade_batch_table(regclass) IS
    'pg_lambda: moves a batch table made before 0.4.0 to the design that holds keys of any size';

SELECT lambda_catalog.upgrade_batch_table(v.batch_table)
  FROM lambda_catalog.continuous_view v ORDER BY v.batch_table::pg_catalog.oid;

-------------------------------------------------------------------------------
-- Refreshes that keep failing. The scheduler records each failed refresh of
-- a view here, in a transaction of its own after the failed one; a
-- successful refresh (scheduled or not) clears them. lambda.view_status
-- shows them, and state 'failing' while a view's refreshes fail.
ALTER TABLE lambda_catalog.continuous_view
    ADD COLUMN failing_since timestamptz,
    ADD COLUMN failed_refreshes integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text,
    ADD COLUMN last_error_at timestamptz;

CREATE OR REPLACE VIEW lambda.view_status AS
    SELECT v.view,
           v.event_table,
           CASE WHEN v.failed_refreshes > 0 THEN 'failing' ELSE s.state END AS state,
           s.keys AS speed_keys,
           s.bytes AS speed_bytes,
           s.generations AS speed_generations,
           v.batch_rows,
           v.cut_generation,
           v.last_refresh,
           -- a sliding window is refreshed at least once per window
           v.last_refresh + least(v.refresh_interval, v.sliding_window) AS next_refresh,
           v.last_refresh_duration,
           v.last_refresh_mode,
           v.last_refresh_groups,
           v.refresh_interval,
           s.last_apply AS last_speed_update,
           s.note,
           lambda_catalog.sketch_bytes_per_key(v.batch_table) AS sketch_bytes_per_key,
           v.sliding_window,
           v.window_step,
           v.failing_since,
           v.failed_refreshes,
           v.last_error,
           v.last_error_at,
           p.pid AS rebuild_pid,
           p.m[1]::bigint AS rebuild_events_done,
           p.m[2]::bigint AS rebuild_events_total,
           p.m[3]::integer AS rebuild_seconds,
           p.m[4]::integer AS rebuild_seconds_left,
           p.m[5] IS NOT NULL AS rebuild_indexing
      FROM lambda_catalog.continuous_view v,
           LATERAL lambda_catalog.speed_status(v.batch_table) s
           -- a recompute running now: its progress is its query text
           -- (src/batch_build.c) while it reads the events and indexes the
           -- new rows, which pg_stat_activity shows to its own user and to
           -- pg_read_all_stats
           LEFT JOIN LATERAL (
             SELECT a.pid,
                    pg_catalog.regexp_match(a.query,
                      ': ([0-9]+) (?:of about ([0-9]+) )?events(?: \([0-9]+%\))?, ([0-9]+) s(?:, about ([0-9]+) s left)?(, indexing)?$') AS m
               FROM pg_catalog.pg_stat_activity a, pg_catalog.pg_class c, pg_catalog.pg_namespace n
              WHERE c.oid = v.view AND n.oid = c.relnamespace
                AND a.datname = pg_catalog.current_database() AND a.state = 'active'
                AND pg_catalog.starts_with(a.query, 'recomputing continuous view ' ||
                      pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || ': ')
              LIMIT 1) p ON true;
