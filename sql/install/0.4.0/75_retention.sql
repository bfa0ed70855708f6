
-- Retention by partition (issue 18): on an event table partitioned by range
-- of its time column, lambda.drop_events_before() drops the partitions lying
-- wholly before the cut; drop_partitions => false keeps the row-by-row
-- deletion. Same name and leading arguments, so existing calls keep working.
DROP FUNCTION lambda.drop_events_before(pg_catalog.regclass, pg_catalog.timestamptz);
CREATE FUNCTION lambda.drop_events_before(
    "table"         pg_catalog.regclass,
    before          pg_catalog.timestamptz,
    drop_partitions boolean DEFAULT true)
    RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_drop_events_before';
COMMENT ON FUNCTION lambda.drop_events_before(pg_catalog.regclass, pg_catalog.timestamptz, boolean) IS
    'Retention: removes the events of an event table whose event time is before the given time, dropping partitions that lie wholly before it; returns how many events were deleted row by row';
