
-- Feels like PostgreSQL (issue 17): lambda.recompute(NULL) is an error
-- (22004) rather than a silent no-op of a STRICT function.
ALTER FUNCTION lambda.recompute(regclass) CALLED ON NULL INPUT;
