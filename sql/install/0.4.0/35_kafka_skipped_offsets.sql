
-- Kafka: offsets that the topic's retention deleted before a source consumed
-- them (the stored offset fell behind the partition's log start). The worker
-- skips to the log start, warns with the range, and counts them here, in the
-- same guarded way it advances next_offset.
ALTER TABLE lambda_catalog.source_offset
    ADD COLUMN skipped_offsets bigint NOT NULL DEFAULT 0;

-- source_status shows them, as its last column (the earlier columns, those of
-- 25_sources_ux.sql included, are unchanged).
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
           o.updated_at AS last_batch_at,
           COALESCE(o.skipped_offsets, 0) AS skipped_offsets
      FROM lambda_catalog.source s
      LEFT JOIN parts p ON p.source_id = s.id
      LEFT JOIN lambda_catalog.source_offset o ON o.source_id = s.id AND o.partition = p.partition
      LEFT JOIN w wp ON wp.source_id = s.id AND wp.partition = p.partition
      LEFT JOIN LATERAL (SELECT * FROM w WHERE w.source_id = s.id AND w.partition IS NULL
                          ORDER BY (w.state = 'running'), w.worker LIMIT 1) ww ON true;
COMMENT ON VIEW lambda.source_status IS
    'pg_lambda: one row per Kafka source and partition: committed offset, high watermark, lag, events, dead letters, state, last error, offsets skipped because retention deleted them';
