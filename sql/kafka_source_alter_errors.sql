--
-- Kafka sources: column lists and lambda.alter_kafka_source refuse what they
-- cannot do, with a clear error, and change nothing.
--
CREATE EXTENSION pg_lambda;
\set SHOW_CONTEXT never
CREATE TABLE ev (
    id    bigint GENERATED ALWAYS AS IDENTITY,
    kind  text NOT NULL,
    n     int NOT NULL,
    twice int GENERATED ALWAYS AS (n * 2) STORED,
    ts    timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', 'ts');

-- column lists at creation
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => ARRAY['kind', 'n', 'nope', 'ts']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => ARRAY['kind', 'n', 'ts', 'kind']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => ARRAY['kind', 'n', 'twice', 'ts']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a system column is no column of the list's kind
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => ARRAY['kind', 'n', 'ctid', 'ts']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- names are matched exactly, as stored
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => ARRAY['Kind', 'n', 'ts']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => ARRAY['kind', 'ts']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the time column is NOT NULL without a default: needed unless Kafka fills it
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => ARRAY['kind', 'n']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => '{}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    columns => ARRAY['kind', NULL]);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM lambda.sources;

SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't', format => 'csv',
    event_time => 'kafka', columns => ARRAY['kind', 'n']);

-- alter: what cannot be named or found
SELECT lambda.alter_kafka_source(NULL, batch_size => 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('nope', batch_size => 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- what would invalidate the stored offsets
SELECT lambda.alter_kafka_source('s', topic => 'other');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', group_id => 'g');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- bad values, as create_kafka_source refuses them
SELECT lambda.alter_kafka_source('s', brokers => 'nohost');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', format => 'xml');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', parallelism => 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', start_from => 'middle');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', event_time => 'wallclock');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', batch_size => 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', batch_wait => '2 minutes');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', columns => ARRAY['kind', 'nope']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', columns => '{}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the list is checked again when the event time changes
SELECT lambda.alter_kafka_source('s', event_time => 'payload');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', reset => '{topic}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', reset => ARRAY['batch_size', NULL]);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', batch_size => 5, reset => '{batch_size}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', columns => ARRAY['kind', 'n'], reset => '{columns}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', options => '[1]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', options => '{"group.id": "sneaky"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', options => '{"fetch.min.bytes": "many"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('s', options => '{"client.rack": {"x": 1}}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nothing changed
SELECT name, brokers, format, parallelism, start_from, event_time, batch_size, batch_wait,
       columns, altered_at FROM lambda.sources;
SELECT x.options FROM lambda_catalog.source_secret x;

-- Privileges: lambda_source_admin, the owner's privileges, and the option
-- allowlist for the caller and for the owner.
CREATE ROLE lambda_regress_alice;
CREATE ROLE lambda_regress_bob;
CREATE ROLE lambda_regress_outsider;
GRANT lambda_source_admin TO lambda_regress_alice, lambda_regress_bob;
GRANT INSERT ON ev TO lambda_regress_alice;
SET ROLE lambda_regress_alice;
SELECT lambda.create_kafka_source('alices', 'ev', '127.0.0.1:1', 't');
SET ROLE lambda_regress_outsider;
SELECT lambda.alter_kafka_source('alices', batch_size => 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET ROLE lambda_regress_bob;
SELECT lambda.alter_kafka_source('alices', batch_size => 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the owner may set only allowlisted options, as at creation
SET ROLE lambda_regress_alice;
SELECT lambda.alter_kafka_source('alices', options => '{"debug": "all"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('alices', options => '{"security.protocol": "SASL_SSL"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a superuser may not give alice's source an option alice may not have
RESET ROLE;
SELECT lambda.alter_kafka_source('alices', options => '{"ssl.key.location": "/etc/passwd"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT x.options FROM lambda_catalog.source_secret x JOIN lambda_catalog.source s ON s.id = x.source_id
 WHERE s.name = 'alices';
-- an option the owner may not have (set before 0.4.0, say) can be removed by alter
UPDATE lambda_catalog.source_secret SET options = '{"debug": "all", "client.rack": "r"}'
 WHERE source_id = (SELECT id FROM lambda_catalog.source WHERE name = 'alices');
SET ROLE lambda_regress_alice;
SELECT lambda.alter_kafka_source('alices', batch_size => 3);
SELECT lambda.alter_kafka_source('alices', options => '{"client.rack": "s"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.alter_kafka_source('alices', options => '{"debug": null}');
RESET ROLE;
SELECT s.batch_size, x.options FROM lambda_catalog.source_secret x
  JOIN lambda_catalog.source s ON s.id = x.source_id WHERE s.name = 'alices';

SELECT lambda.drop_source('alices');
SELECT lambda.drop_source('s');
DROP TABLE ev;
REVOKE lambda_source_admin FROM lambda_regress_alice, lambda_regress_bob;
DROP ROLE lambda_regress_alice, lambda_regress_bob, lambda_regress_outsider;
DROP EXTENSION pg_lambda;
