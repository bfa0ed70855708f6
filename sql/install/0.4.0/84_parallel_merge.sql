
-------------------------------------------------------------------------------
-- Parallel reads of a whole view: a query that uses merge is planned in
-- parallel only when merge is PARALLEL SAFE (PostgreSQL checks every function
-- of the query, the view's included). merge only computes (and checks the
-- reader's privilege), so it may run in a worker; the speed layer's scan, a
-- foreign table, never does (src/merge_group.c reads it in the leader).
ALTER FUNCTION lambda_catalog.merge_trans(internal, regclass, integer, bytea, anyelement) PARALLEL SAFE;
ALTER FUNCTION lambda_catalog.merge_final(internal, regclass, integer, bytea, anyelement) PARALLEL SAFE;
CREATE OR REPLACE AGGREGATE lambda_catalog.merge(regclass, integer, bytea, anyelement) (
    SFUNC = lambda_catalog.merge_trans,
    STYPE = internal,
    FINALFUNC = lambda_catalog.merge_final,
    FINALFUNC_EXTRA,
    FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE
);
