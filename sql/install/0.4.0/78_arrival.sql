
-------------------------------------------------------------------------------
-- Arrival order of events (issue 13): a refresh that reads events reads only
-- the pages of events its cut does not hold. lambda.add_arrival_index() gives
-- an event table the stored generated column _lambda_xact (the inserting
-- transaction's 64-bit id) and a BRIN index on it (src/event_table.c).
-- Nothing changes existing event tables by itself: adding the column
-- rewrites the table, which is the owner's decision (docs/operations.md).
-- IMMUTABLE only because a stored generated column requires it: PostgreSQL
-- evaluates the expression in the inserting transaction, once per statement,
-- which is exactly the value wanted (see event_table.c).
CREATE FUNCTION lambda_catalog.inserting_xact() RETURNS bigint
    LANGUAGE c IMMUTABLE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'lambda_inserting_xact';
COMMENT ON FUNCTION lambda_catalog.inserting_xact() IS
    'pg_lambda: the 64-bit id of the inserting transaction, the value of an event table''s arrival column _lambda_xact';

CREATE FUNCTION lambda.add_arrival_index("table" pg_catalog.regclass) RETURNS boolean
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'lambda_add_arrival_index';
COMMENT ON FUNCTION lambda.add_arrival_index(pg_catalog.regclass) IS
    'Gives an event table the arrival column _lambda_xact and its BRIN index, so that a refresh that reads events reads only the new ones; rewrites the table and recomputes the views over it; false when it had them already';
