
-------------------------------------------------------------------------------
-- State images (src/image.c, src/sketch.c, src/merge.c). Every state passed
-- to the internal functions is checked before use, and only for a view the
-- caller can read: the result depends on privileges and the catalog, so the
-- functions are no longer immutable.
ALTER FUNCTION lambda_catalog.combine_states(regclass, integer, bytea, bytea) STABLE;
ALTER FUNCTION lambda_catalog.combine_step(bytea, regclass, integer, bytea) STABLE;

CREATE FUNCTION lambda_catalog.states_in_binary_form(batch_table regclass) RETURNS boolean
    LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'lambda_states_in_binary_form';
COMMENT ON FUNCTION lambda_catalog.states_in_binary_form(regclass) IS
    'pg_lambda: whether a continuous view keeps states or count(DISTINCT) values in their type''s binary form (since 0.4.0)';
REVOKE ALL ON FUNCTION lambda_catalog.states_in_binary_form(regclass) FROM PUBLIC;

-- Views that keep such states kept them as raw bytes before 0.4.0, which
-- cannot be checked: their batch layer is rebuilt in the new form. A view
-- that cannot be rebuilt now stays as it is (reading it says to run
-- lambda.recompute), rather than failing the update.
DO $$
DECLARE
    v regclass;
    b regclass;
BEGIN
    FOR v, b IN SELECT view, batch_table FROM lambda_catalog.continuous_view ORDER BY view::oid LOOP
        BEGIN
            IF lambda_catalog.states_in_binary_form(b) THEN
                RAISE NOTICE 'recomputing continuous view % (its states are now kept in binary form)', v;
                PERFORM lambda.recompute(v);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'could not recompute continuous view %: %', v, SQLERRM
                USING HINT = 'Run lambda.recompute() on the view after the update.';
        END;
    END LOOP;
END $$;
