
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
