
-------------------------------------------------------------------------------
-- Batch tables get REPLICA IDENTITY FULL (src/view.c): a refresh updates
-- their rows, which a publication that publishes updates (FOR ALL TABLES
-- among them) refuses for a table without a replica identity; their keys may
-- be NULL, so no index can serve as one. A batch table whose owner chose
-- another identity keeps it.
DO $$
DECLARE
    b regclass;
BEGIN
    FOR b IN SELECT cv.batch_table FROM lambda_catalog.continuous_view cv
               JOIN pg_catalog.pg_class c ON c.oid = cv.batch_table
              WHERE c.relreplident = 'd'
                AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                                 WHERE i.indrelid = c.oid AND i.indisprimary)
              ORDER BY cv.batch_table::pg_catalog.oid LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s REPLICA IDENTITY FULL', b);
    END LOOP;
END $$;
