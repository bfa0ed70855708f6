--
-- Kafka sources: every bad argument is refused with a clear error and
-- changes nothing.
--
CREATE EXTENSION pg_lambda;
\set SHOW_CONTEXT never
CREATE TABLE ev (id bigint NOT NULL, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev', 'ts');
CREATE TABLE plain (id bigint, ts timestamptz);

SELECT lambda.create_kafka_source(NULL, 'ev', 'localhost:9092', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', NULL, 'localhost:9092', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', NULL, 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('', 'ev', 'localhost:9092', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'no_such_table', 'localhost:9092', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'plain', 'localhost:9092', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE ev_parted (id bigint NOT NULL, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
SELECT lambda.create_event_table('ev_parted', 'ts');
SELECT lambda.create_kafka_source('s', 'ev_parted', 'localhost:9092', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:99999', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', ',', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 'bad topic!');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', format => 'xml');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', group_id => '');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', parallelism => 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', parallelism => 1000);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', start_from => 'middle');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', options => '[1]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', options => '{"no.such.property": "1"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', options => '{"fetch.min.bytes": "many"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', options => '{"group.id": "sneaky"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', options => '{"client.rack": {"x": 1}}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', event_time => 'wallclock');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', batch_size => 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('s', 'ev', 'localhost:9092', 't', batch_wait => '2 minutes');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nothing was created by any of those
SELECT count(*) FROM lambda.sources;

SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't');
SELECT lambda.create_kafka_source('s', 'ev', '127.0.0.1:1', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.start_source('nope');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.stop_source('nope');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_source('nope');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_source(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- managing sources takes lambda_source_admin
CREATE ROLE lambda_regress_user;
GRANT INSERT ON ev TO lambda_regress_user;
SET ROLE lambda_regress_user;
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.stop_source('s');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM lambda_catalog.source_secret;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM lambda.dead_letters;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT lambda_source_admin TO lambda_regress_user;
REVOKE INSERT ON ev FROM lambda_regress_user;
SET ROLE lambda_regress_user;
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT name FROM lambda.sources;

SELECT lambda.drop_source('s');
DROP TABLE ev, plain, ev_parted;
REVOKE lambda_source_admin FROM lambda_regress_user;
DROP ROLE lambda_regress_user;
DROP EXTENSION pg_lambda;
