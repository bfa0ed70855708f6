
-------------------------------------------------------------------------------
-- Kafka sources: status with the time of the last error and of the last batch
-------------------------------------------------------------------------------

-- The workers' shared-memory state, now with the time each worker's last
-- error was seen (last_error_at). Same C function as worker_partitions(),
-- which keeps its 0.1.0 declaration (it ignores the extra column).
CREATE FUNCTION lambda_catalog.source_workers(
    OUT source_id integer, OUT worker integer, OUT pid integer, OUT state text,
    OUT last_error text, OUT state_since pg_catalog.timestamptz,
    OUT partition integer, OUT high_watermark bigint, OUT lag bigint,
    OUT last_message_at pg_catalog.timestamptz, OUT last_error_at pg_catalog.timestamptz)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'lambda_worker_partitions';

-- last_error stays after a worker recovers (as pg_stat_archiver keeps
-- last_failed_wal): last_error_at says when it was seen, last_batch_at when
-- the partition's last batch committed, so an error older than the last
-- batch is visibly history while state says 'running'. The earlier columns
-- are unchanged; last_error_at belongs to the same worker as last_error.
CREATE OR REPLACE VIEW lambda.source_status AS
    WITH w AS (SELECT * FROM lambda_catalog.source_workers()),
    parts AS (
        SELECT o.source_id, o.partition FROM lambda_catalog.source_offset o
        UNION
        SELECT w.source_id, w.partition FROM w WHERE w.partition IS NOT NULL)
    SELECT s.name AS source,
           s.topic,
           p.partition,
           o.next_offset AS committed_offset,
           wp.high_watermark,
           COALESCE(wp.lag, CASE WHEN wp.high_watermark IS NOT NULL AND o.next_offset IS NOT NULL
                                 THEN GREATEST(wp.high_watermark - o.next_offset, 0) END) AS lag,
           COALESCE(o.events, 0) AS events,
           COALESCE(o.dead_letters, 0) AS dead_letters,
           CASE WHEN NOT s.enabled THEN 'stopped'
                ELSE COALESCE(wp.state, ww.state, 'starting') END AS state,
           COALESCE(wp.last_error, ww.last_error) AS last_error,
           COALESCE(wp.last_message_at, o.last_message_at) AS last_message_at,
           COALESCE(wp.pid, ww.pid) AS worker_pid,
           CASE WHEN wp.last_error IS NOT NULL THEN wp.last_error_at
                ELSE ww.last_error_at END AS last_error_at,
           o.updated_at AS last_batch_at
      FROM lambda_catalog.source s
      LEFT JOIN parts p ON p.source_id = s.id
      LEFT JOIN lambda_catalog.source_offset o ON o.source_id = s.id AND o.partition = p.partition
      LEFT JOIN w wp ON wp.source_id = s.id AND wp.partition = p.partition
      LEFT JOIN LATERAL (SELECT * FROM w WHERE w.source_id = s.id AND w.partition IS NULL
                          ORDER BY (w.state = 'running'), w.worker LIMIT 1) ww ON true;
COMMENT ON VIEW lambda.source_status IS
    'pg_lambda: one row per Kafka source and partition: committed offset, high watermark, lag, events, dead letters, state, last error and when it was seen, time of the last batch';

-------------------------------------------------------------------------------
-- Kafka sources: column lists, lambda.alter_kafka_source, replaying and
-- deleting dead letters
-------------------------------------------------------------------------------

-- columns: the source's column list (NULL: every column, in table order), by
-- name; a rename of a listed column renames it here too. altered_at: when
-- the source's settings last changed; a worker that sees it change loads the
-- source again. kafka_timestamp: the dead message's Kafka timestamp
-- (milliseconds since 1970; NULL when it had none), for a replay.
ALTER TABLE lambda_catalog.source
    ADD COLUMN columns text[],
    ADD COLUMN altered_at pg_catalog.timestamptz;
ALTER TABLE lambda_catalog.dead_letter
    ADD COLUMN kafka_timestamp bigint;

CREATE OR REPLACE VIEW lambda.sources AS
    SELECT name, target, brokers, topic, format, group_id, parallelism, start_from,
           event_time, batch_size,
           batch_wait * interval '1 millisecond' AS batch_wait,
           owner, enabled, created_at, columns, altered_at
      FROM lambda_catalog.source;
COMMENT ON VIEW lambda.sources IS 'pg_lambda: Kafka sources and their settings (options, which may hold credentials, are not shown)';

-- A new last parameter, columns: the function is created again (positional
-- and named calls written for 0.1.0 to 0.3.0 work unchanged).
DROP FUNCTION lambda.create_kafka_source(text, pg_catalog.regclass, text, text, text, text, integer, text, jsonb, text, integer, pg_catalog.interval);
CREATE FUNCTION lambda.create_kafka_source(
    name        text,
    target      pg_catalog.regclass,
    brokers     text,
    topic       text,
    format      text DEFAULT 'json',
    group_id    text DEFAULT NULL,
    parallelism integer DEFAULT 1,
    start_from  text DEFAULT 'earliest',
    options     jsonb DEFAULT '{}',
    event_time  text DEFAULT 'payload',
    batch_size  integer DEFAULT NULL,
    batch_wait  pg_catalog.interval DEFAULT NULL,
    columns     text[] DEFAULT NULL)
    RETURNS void
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_create_kafka_source';
COMMENT ON FUNCTION lambda.create_kafka_source(text, pg_catalog.regclass, text, text, text, text, integer, text, jsonb, text, integer, pg_catalog.interval, text[]) IS
    'Creates a Kafka source that background workers consume into an event table; it starts when the transaction commits';

-- NULL leaves a setting as it is; reset names settings to return to their
-- defaults. topic and group_id are parameters only to be refused with a
-- reason when they would change.
CREATE FUNCTION lambda.alter_kafka_source(
    name        text,
    brokers     text DEFAULT NULL,
    topic       text DEFAULT NULL,
    format      text DEFAULT NULL,
    group_id    text DEFAULT NULL,
    parallelism integer DEFAULT NULL,
    start_from  text DEFAULT NULL,
    options     jsonb DEFAULT NULL,
    event_time  text DEFAULT NULL,
    batch_size  integer DEFAULT NULL,
    batch_wait  pg_catalog.interval DEFAULT NULL,
    columns     text[] DEFAULT NULL,
    reset       text[] DEFAULT NULL)
    RETURNS void
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_alter_kafka_source';
COMMENT ON FUNCTION lambda.alter_kafka_source(text, text, text, text, text, integer, text, jsonb, text, integer, pg_catalog.interval, text[], text[]) IS
    'Changes the settings of a Kafka source, keeping its offsets; its workers load it again when the transaction commits';

-- The replayed rows are inserted as the source's owner, security-restricted,
-- with this search_path, as PostgreSQL 17 runs REFRESH MATERIALIZED VIEW.
CREATE FUNCTION lambda.replay_dead_letters(
    source      text,
    partition   integer DEFAULT NULL,
    "offset"    bigint DEFAULT NULL,
    OUT replayed bigint,
    OUT still_failing bigint)
    RETURNS record
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_replay_dead_letters';
COMMENT ON FUNCTION lambda.replay_dead_letters(text, integer, bigint) IS
    'Parses dead letters of a Kafka source again into its target; those that now make rows are deleted, the others keep their new reason';

CREATE FUNCTION lambda.delete_dead_letters(
    source      text,
    partition   integer DEFAULT NULL,
    "offset"    bigint DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_delete_dead_letters';
COMMENT ON FUNCTION lambda.delete_dead_letters(text, integer, bigint) IS
    'Deletes dead letters of a Kafka source; returns how many';
