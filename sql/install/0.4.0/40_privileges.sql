
-------------------------------------------------------------------------------
-- Privileges: an event table can be made an ordinary table again.
CREATE FUNCTION lambda.drop_event_table("table" pg_catalog.regclass)
    RETURNS void
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_drop_event_table';
COMMENT ON FUNCTION lambda.drop_event_table(pg_catalog.regclass) IS
    'Makes an event table an ordinary table again (the table and its events stay); refused while continuous views or Kafka sources use it';
