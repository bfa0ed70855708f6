
-------------------------------------------------------------------------------
-- A cut made in a transaction that goes on inserting events (CREATE
-- MATERIALIZED VIEW, REFRESH or lambda.recompute, then INSERT, in one
-- transaction): the cut holds that transaction's events up to the command it
-- was made in, not those inserted after it. cut_own_xids are the ids of the
-- transaction (top level and subtransactions) that the cut sees;
-- cut_command_id the cutting snapshot's command id: an event of one of those
-- ids with a command id at or above it is after the cut (src/batch.c,
-- cut_sees). NULL for cuts made outside such a transaction and before 0.4.0.
ALTER TABLE lambda_catalog.continuous_view
    ADD COLUMN cut_own_xids xid8[],
    ADD COLUMN cut_command_id bigint;
