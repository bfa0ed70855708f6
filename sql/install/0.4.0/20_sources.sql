
-------------------------------------------------------------------------------
-- Kafka sources: dead letters follow the target table's privileges
-------------------------------------------------------------------------------

-- A dead letter holds a raw message meant for a source's target table, so a
-- role sees those of the sources whose target it may SELECT (superusers see
-- all). security_barrier keeps a caller's own functions in WHERE from seeing
-- rows before that filter has run. The view reads the catalog as its owner;
-- nobody else reads lambda_catalog.dead_letter directly any more.
CREATE OR REPLACE VIEW lambda.dead_letters WITH (security_barrier = true) AS
    SELECT s.name AS source, d.partition, d."offset", d.key, d.payload, d.error, d.received_at
      FROM lambda_catalog.dead_letter d
      JOIN lambda_catalog.source s ON s.id = d.source_id
     WHERE pg_catalog.has_table_privilege(s.target::pg_catalog.oid, 'SELECT');
COMMENT ON VIEW lambda.dead_letters IS
    'pg_lambda: Kafka messages that could not become rows, with the reason (only of sources whose target table you may SELECT)';
REVOKE ALL ON lambda.dead_letters FROM PUBLIC;
GRANT SELECT ON lambda.dead_letters TO lambda_source_admin;
REVOKE ALL ON lambda_catalog.dead_letter FROM lambda_source_admin;
