
-------------------------------------------------------------------------------
-- Recompute through the executor (src/batch_build.c). A recompute, and the
-- build at CREATE over existing events, is one INSERT ... SELECT ... GROUP
-- BY into the batch table: aggregates without a final function and with a
-- state that is not "internal" run themselves and batch_image turns their
-- result (their state) into its stored form; every other aggregate runs
-- inside batch_state, whose transition calls the aggregate's own and whose
-- final function returns the stored form of the state. pg_lambda calls
-- them, as the owner of lambda_catalog; nobody else needs to.
CREATE FUNCTION lambda_catalog.batch_image(regclass, integer, "any") RETURNS bytea
    LANGUAGE c PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'lambda_batch_image';
REVOKE ALL ON FUNCTION lambda_catalog.batch_image(regclass, integer, "any") FROM PUBLIC;
COMMENT ON FUNCTION lambda_catalog.batch_image(regclass, integer, "any") IS
    'pg_lambda: the stored form of a state of one aggregate of a continuous view (recompute)';

CREATE FUNCTION lambda_catalog.batch_state_final(internal) RETURNS bytea
    LANGUAGE c PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'lambda_batch_state_final';
REVOKE ALL ON FUNCTION lambda_catalog.batch_state_final(internal) FROM PUBLIC;

CREATE FUNCTION lambda_catalog.batch_state_trans(internal, regclass, integer, boolean)
    RETURNS internal LANGUAGE c PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'lambda_batch_state_trans';
CREATE FUNCTION lambda_catalog.batch_state_trans(internal, regclass, integer, boolean, "any")
    RETURNS internal LANGUAGE c PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'lambda_batch_state_trans';
CREATE FUNCTION lambda_catalog.batch_state_trans(internal, regclass, integer, boolean, "any", "any")
    RETURNS internal LANGUAGE c PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'lambda_batch_state_trans';
CREATE FUNCTION lambda_catalog.batch_state_trans(internal, regclass, integer, boolean, "any", "any", "any")
    RETURNS internal LANGUAGE c PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'lambda_batch_state_trans';
REVOKE ALL ON FUNCTION lambda_catalog.batch_state_trans(internal, regclass, integer, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION lambda_catalog.batch_state_trans(internal, regclass, integer, boolean, "any") FROM PUBLIC;
REVOKE ALL ON FUNCTION lambda_catalog.batch_state_trans(internal, regclass, integer, boolean, "any", "any") FROM PUBLIC;
REVOKE ALL ON FUNCTION lambda_catalog.batch_state_trans(internal, regclass, integer, boolean, "any", "any", "any") FROM PUBLIC;

CREATE AGGREGATE lambda_catalog.batch_state(regclass, integer, boolean) (
    SFUNC = lambda_catalog.batch_state_trans, STYPE = internal,
    FINALFUNC = lambda_catalog.batch_state_final, PARALLEL = RESTRICTED
);
CREATE AGGREGATE lambda_catalog.batch_state(regclass, integer, boolean, "any") (
    SFUNC = lambda_catalog.batch_state_trans, STYPE = internal,
    FINALFUNC = lambda_catalog.batch_state_final, PARALLEL = RESTRICTED
);
CREATE AGGREGATE lambda_catalog.batch_state(regclass, integer, boolean, "any", "any") (
    SFUNC = lambda_catalog.batch_state_trans, STYPE = internal,
    FINALFUNC = lambda_catalog.batch_state_final, PARALLEL = RESTRICTED
);
CREATE AGGREGATE lambda_catalog.batch_state(regclass, integer, boolean, "any", "any", "any") (
    SFUNC = lambda_catalog.batch_state_trans, STYPE = internal,
    FINALFUNC = lambda_catalog.batch_state_final, PARALLEL = RESTRICTED
);
REVOKE ALL ON FUNCTION lambda_catalog.batch_state(regclass, integer, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION lambda_catalog.batch_state(regclass, integer, boolean, "any") FROM PUBLIC;
REVOKE ALL ON FUNCTION lambda_catalog.batch_state(regclass, integer, boolean, "any", "any") FROM PUBLIC;
REVOKE ALL ON FUNCTION lambda_catalog.batch_state(regclass, integer, boolean, "any", "any", "any") FROM PUBLIC;
COMMENT ON AGGREGATE lambda_catalog.batch_state(regclass, integer, boolean, "any") IS
    'pg_lambda: the stored form of the state of one aggregate of a continuous view over a group (recompute)';

-- Counts the events a recompute reads, for its progress in
-- pg_stat_activity.query; its support function tells the planner it keeps
-- every row.
CREATE FUNCTION lambda_catalog.batch_progress_support(internal) RETURNS internal
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_batch_progress_support';
REVOKE ALL ON FUNCTION lambda_catalog.batch_progress_support(internal) FROM PUBLIC;
CREATE FUNCTION lambda_catalog.batch_progress(regclass) RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED SUPPORT lambda_catalog.batch_progress_support
    AS 'MODULE_PATHNAME', 'lambda_batch_progress';
REVOKE ALL ON FUNCTION lambda_catalog.batch_progress(regclass) FROM PUBLIC;
COMMENT ON FUNCTION lambda_catalog.batch_progress(regclass) IS
    'pg_lambda: counts the events a recompute reads (progress in pg_stat_activity)';
