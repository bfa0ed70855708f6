
-------------------------------------------------------------------------------
-- Batch tables hold keys of any size. A key too large for a btree entry
-- (a few kB) is kept out of the unique index: the generated column
-- _lambda_long marks it, and it is found through an index on key_hash (and,
-- for point queries, a hash index per variable-length key column). Batch
-- tables of existing views whose keys can be that long are moved to this
-- design here.
CREATE FUNCTION lambda_catalog.key_is_long(VARIADIC "any") RETURNS boolean
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_key_is_long';
COMMENT ON FUNCTION lambda_catalog.key_is_long(VARIADIC "any") IS
    'pg_lambda: whether a continuous view''s group key is too large for the unique index of its batch table';
CREATE FUNCTION lambda_catalog.key_hash(VARIADIC "any") RETURNS bigint
    LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'lambda_key_hash';
COMMENT ON FUNCTION lambda_catalog.key_hash(VARIADIC "any") IS
    'pg_lambda: a 64-bit hash of a continuous view''s group key, by each key type''s hash function';

CREATE FUNCTION lambda_catalog.upgrade_batch_table(batch_table regclass) RETURNS boolean
    LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'lambda_upgrade_batch_table';
REVOKE ALL ON FUNCTION lambda_catalog.upgrade_batch_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION lambda_catalog.upgrade_batch_table(regclass) IS
    'pg_lambda: moves a batch table made before 0.4.0 to the design that holds keys of any size';

SELECT lambda_catalog.upgrade_batch_table(v.batch_table)
  FROM lambda_catalog.continuous_view v ORDER BY v.batch_table::pg_catalog.oid;
