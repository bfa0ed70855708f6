
-------------------------------------------------------------------------------
-- Redefining a continuous view online (issue 18, src/view_redefine.c):
-- CALL lambda.alter_view_query(view, query) builds the new definition as a
-- continuous view of its own beside the old one, which keeps answering, and
-- swaps it in. redefines is the old view's oid while the new one is being
-- built: a build left by a session that ended (a crash, a lost connection)
-- is dropped by the next alter_view_query of the same view.
ALTER TABLE lambda_catalog.continuous_view
    ADD COLUMN redefines oid;

CREATE PROCEDURE lambda.alter_view_query(view regclass, query text)
    LANGUAGE c AS 'MODULE_PATHNAME', 'lambda_alter_view_query';
COMMENT ON PROCEDURE lambda.alter_view_query(regclass, text) IS
    'pg_lambda: changes the defining query of a continuous view online (the old definition answers until the new one is built from all events)';
