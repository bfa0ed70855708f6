/* pg_lambda 0.2.0 -> 0.3.0: sliding windows, count(DISTINCT x), percentiles */

\echo Use "ALTER EXTENSION pg_lambda UPDATE TO '0.3.0'" to load this file. \quit

-------------------------------------------------------------------------------
-- Sliding windows: a view with sliding_window keeps one group per key and
-- window step (of window_step, aligned to 2000-01-01 00:00 UTC), and answers
-- the steps in the last sliding_window at read time.
ALTER TABLE lambda_catalog.continuous_view
    ADD COLUMN sliding_window interval,
    ADD COLUMN window_step interval,
    ADD CONSTRAINT continuous_view_window_check
        CHECK ((sliding_window IS NULL) = (window_step IS NULL));

-------------------------------------------------------------------------------
-- count(DISTINCT x) in a continuous view runs as count_distinct(x): the
-- distinct values, which the speed layer turns into a HyperLogLog sketch
-- past a bound. distinct_add_exact is the batch layer's transition.
CREATE FUNCTION lambda_catalog.distinct_add(internal, anyelement) RETURNS internal
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_distinct_add';
CREATE FUNCTION lambda_catalog.distinct_add_exact(internal, anyelement) RETURNS internal
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_distinct_add_exact';
CREATE FUNCTION lambda_catalog.distinct_combine(internal, internal) RETURNS internal
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_distinct_combine';
CREATE FUNCTION lambda_catalog.distinct_serialize(internal) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_distinct_serialize';
CREATE FUNCTION lambda_catalog.distinct_deserialize(bytea, internal) RETURNS internal
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_distinct_deserialize';
CREATE FUNCTION lambda_catalog.distinct_final(internal) RETURNS bigint
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_distinct_final';
CREATE AGGREGATE lambda_catalog.count_distinct(anyelement) (
    SFUNC = lambda_catalog.distinct_add,
    STYPE = internal,
    COMBINEFUNC = lambda_catalog.distinct_combine,
    SERIALFUNC = lambda_catalog.distinct_serialize,
    DESERIALFUNC = lambda_catalog.distinct_deserialize,
    FINALFUNC = lambda_catalog.distinct_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE lambda_catalog.count_distinct(anyelement) IS
    'pg_lambda: count(DISTINCT x) of a continuous view: exact while the values fit, then a HyperLogLog estimate';

-------------------------------------------------------------------------------
-- percentile_cont(p) WITHIN GROUP (ORDER BY x) in a continuous view runs as
-- percentile_sketch(x, p): a relative-error quantile sketch.
CREATE FUNCTION lambda_catalog.quantile_add(internal, double precision, double precision) RETURNS internal
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_quantile_add';
CREATE FUNCTION lambda_catalog.quantile_combine(internal, internal) RETURNS internal
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_quantile_combine';
CREATE FUNCTION lambda_catalog.quantile_serialize(internal) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_quantile_serialize';
CREATE FUNCTION lambda_catalog.quantile_deserialize(bytea, internal) RETURNS internal
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_quantile_deserialize';
CREATE FUNCTION lambda_catalog.quantile_final(internal) RETURNS double precision
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_quantile_final';
CREATE AGGREGATE lambda_catalog.percentile_sketch(double precision, double precision) (
    SFUNC = lambda_catalog.quantile_add,
    STYPE = internal,
    COMBINEFUNC = lambda_catalog.quantile_combine,
    SERIALFUNC = lambda_catalog.quantile_serialize,
    DESERIALFUNC = lambda_catalog.quantile_deserialize,
    FINALFUNC = lambda_catalog.quantile_final,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE lambda_catalog.percentile_sketch(double precision, double precision) IS
    'pg_lambda: percentile_cont(p) WITHIN GROUP (ORDER BY x) of a continuous view, within 1 % of the value at each rank';

-------------------------------------------------------------------------------
-- Status: the bound on one group's sketch bytes, and the window.
CREATE FUNCTION lambda_catalog.sketch_bytes_per_key(batch_table regclass) RETURNS bigint
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_sketch_bytes_per_key';

CREATE OR REPLACE VIEW lambda.views AS
    SELECT v.view, v.event_table, v.refresh_interval, v.definition,
           v.batch_table, v.speed_table, v.created_at,
           v.sliding_window, v.window_step
      FROM lambda_catalog.continuous_view v;

CREATE OR REPLACE VIEW lambda.view_status AS
    SELECT v.view,
           v.event_table,
           s.state,
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
           v.window_step
      FROM lambda_catalog.continuous_view v,
           LATERAL lambda_catalog.speed_status(v.batch_table) s;
