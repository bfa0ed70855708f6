--
-- Dead letters: replay_dead_letters and delete_dead_letters refuse bad
-- arguments and roles that may not read or manage the dead letters, and
-- change nothing then.
--
CREATE EXTENSION pg_lambda;
\set SHOW_CONTEXT never
CREATE TABLE ev (id int NOT NULL, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', 'ts');
CREATE ROLE lambda_regress_alice;
CREATE ROLE lambda_regress_bob;
CREATE ROLE lambda_regress_outsider;
GRANT lambda_source_admin TO lambda_regress_alice, lambda_regress_bob;
GRANT INSERT, SELECT ON ev TO lambda_regress_alice;
SET ROLE lambda_regress_alice;
SELECT lambda.create_kafka_source('src', 'ev', '127.0.0.1:1', 'ev');
RESET ROLE;
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error)
    SELECT id, 0, 5, convert_to('{"id": 1, "ts": "2025-01-01T00:00:00Z"}', 'UTF8'), 'seeded'
      FROM lambda_catalog.source WHERE name = 'src';

SELECT * FROM lambda.replay_dead_letters(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.delete_dead_letters(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM lambda.replay_dead_letters('nope');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.delete_dead_letters('nope');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM lambda.replay_dead_letters('src', -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM lambda.replay_dead_letters('src', "offset" => 5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.delete_dead_letters('src', "offset" => 5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM lambda.replay_dead_letters('src', 0, -5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- not in a read-only transaction
BEGIN TRANSACTION READ ONLY;
SELECT * FROM lambda.replay_dead_letters('src');
ROLLBACK;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- A role outside lambda_source_admin may not, ...
SET ROLE lambda_regress_outsider;
SELECT * FROM lambda.replay_dead_letters('src');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.delete_dead_letters('src');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ... nor an admin without the owner's privileges, even with SELECT on the target,
RESET ROLE;
GRANT SELECT, INSERT ON ev TO lambda_regress_bob;
SET ROLE lambda_regress_bob;
SELECT * FROM lambda.replay_dead_letters('src');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.delete_dead_letters('src');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ... nor the owner once it may no longer read the target,
RESET ROLE;
REVOKE SELECT ON ev FROM lambda_regress_alice;
SET ROLE lambda_regress_alice;
SELECT * FROM lambda.replay_dead_letters('src');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.delete_dead_letters('src');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- ... nor replay without INSERT on it (deleting needs only SELECT).
RESET ROLE;
GRANT SELECT ON ev TO lambda_regress_alice;
REVOKE INSERT ON ev FROM lambda_regress_alice;
SET ROLE lambda_regress_alice;
SELECT * FROM lambda.replay_dead_letters('src');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a superuser replaying for an owner without INSERT: the owner's privileges count
SELECT * FROM lambda.replay_dead_letters('src');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nothing was replayed or deleted by any of those
SELECT source, partition, "offset", error FROM lambda.dead_letters;
SELECT count(*) FROM ev;

-- with the privileges back, the owner may
GRANT INSERT ON ev TO lambda_regress_alice;
SET ROLE lambda_regress_alice;
SELECT * FROM lambda.replay_dead_letters('src');
RESET ROLE;
SELECT id FROM ev;

SELECT lambda.drop_source('src');
DROP TABLE ev;
REVOKE lambda_source_admin FROM lambda_regress_alice, lambda_regress_bob;
DROP ROLE lambda_regress_alice, lambda_regress_bob, lambda_regress_outsider;
DROP EXTENSION pg_lambda;
