/* pg_lambda 0.1.0: event tables, Kafka sources */

\echo Use "CREATE EXTENSION pg_lambda" to load this file. \quit

-- Schema "lambda" (the extension's schema) holds what users call and read.
-- Schema "lambda_catalog" holds the extension's own tables; users read them
-- through the views in "lambda" and never write them directly.
CREATE SCHEMA lambda_catalog;
COMMENT ON SCHEMA lambda_catalog IS 'pg_lambda internal catalog; read it through the views in schema lambda';
GRANT USAGE ON SCHEMA lambda TO PUBLIC;
GRANT USAGE ON SCHEMA lambda_catalog TO PUBLIC;

-------------------------------------------------------------------------------
-- Event tables
-------------------------------------------------------------------------------

CREATE TABLE lambda_catalog.event_table (
    relid       pg_catalog.regclass PRIMARY KEY,
    time_column pg_catalog.name NOT NULL,
    created_at  pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE lambda_catalog.event_table IS 'pg_lambda: the append-only event tables';
SELECT pg_catalog.pg_extension_config_dump('lambda_catalog.event_table', '');
REVOKE ALL ON lambda_catalog.event_table FROM PUBLIC;
GRANT SELECT ON lambda_catalog.event_table TO PUBLIC;

CREATE FUNCTION lambda_catalog.event_table_changed() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'lambda_event_table_changed';
CREATE TRIGGER event_table_changed
    AFTER INSERT OR UPDATE OR DELETE ON lambda_catalog.event_table
    FOR EACH ROW EXECUTE FUNCTION lambda_catalog.event_table_changed();

CREATE FUNCTION lambda.create_event_table("table" pg_catalog.regclass, time_column pg_catalog.name)
    RETURNS void
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_create_event_table';
COMMENT ON FUNCTION lambda.create_event_table(pg_catalog.regclass, pg_catalog.name) IS
    'Turns a table into an immutable, append-only event table whose event time is time_column';

CREATE FUNCTION lambda.drop_events_before("table" pg_catalog.regclass, before pg_catalog.timestamptz)
    RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_drop_events_before';
COMMENT ON FUNCTION lambda.drop_events_before(pg_catalog.regclass, pg_catalog.timestamptz) IS
    'Retention: removes the events of an event table whose event time is before the given time; returns how many';

CREATE VIEW lambda.event_tables AS
    SELECT e.relid AS event_table,
           n.nspname AS schema_name,
           c.relname AS table_name,
           e.time_column,
           pg_catalog.format_type(a.atttypid, a.atttypmod) AS time_column_type,
           e.created_at
      FROM lambda_catalog.event_table e
      JOIN pg_catalog.pg_class c ON c.oid = e.relid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_catalog.pg_attribute a
             ON a.attrelid = e.relid AND a.attname = e.time_column AND NOT a.attisdropped;
COMMENT ON VIEW lambda.event_tables IS 'pg_lambda: the append-only event tables of this database';
GRANT SELECT ON lambda.event_tables TO PUBLIC;

-- Dropping an event table removes its catalog row.
CREATE FUNCTION lambda_catalog.on_sql_drop() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM lambda_catalog.event_table e
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid = 0
       AND e.relid::pg_catalog.oid = d.objid;
END
$$;
CREATE EVENT TRIGGER lambda_on_sql_drop ON sql_drop
    EXECUTE FUNCTION lambda_catalog.on_sql_drop();
