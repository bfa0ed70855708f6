
-- Feels like PostgreSQL (issue 17): lambda.recompute(NULL) is an error
-- (22004) rather than a silent no-op of a STRICT function.
ALTER FUNCTION lambda.recompute(regclass) CALLED ON NULL INPUT;

-- Telling an estimate from an exact answer (src/estimate.c): the groups of a
-- view of which a count(DISTINCT) is an estimate now.
CREATE FUNCTION lambda_catalog.distinct_is_sketch(batch_table regclass, aggno integer, state bytea) RETURNS boolean
    LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'lambda_distinct_is_sketch';
COMMENT ON FUNCTION lambda_catalog.distinct_is_sketch(regclass, integer, bytea) IS
    'pg_lambda: whether a serialized count(DISTINCT) state of a continuous view is a sketch (since 0.4.0)';
REVOKE ALL ON FUNCTION lambda_catalog.distinct_is_sketch(regclass, integer, bytea) FROM PUBLIC;

CREATE FUNCTION lambda.estimated_groups(view regclass) RETURNS bigint
    LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'lambda_estimated_groups';
COMMENT ON FUNCTION lambda.estimated_groups(regclass) IS
    'pg_lambda: the groups of a continuous view of which a count(DISTINCT) is an estimate now; 0 when every one is exact';
