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
-- a partitioned event table is a target like any other (since 0.4.0)
SELECT lambda.create_kafka_source('s_parted', 'ev_parted', 'localhost:9092', 't');
SELECT lambda.drop_source('s_parted');
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

-- Options that would have librdkafka act as the server's operating-system
-- user (run a command, load a library, read a file, use the server's
-- Kerberos identity, fetch URLs, write the server log) need a superuser,
-- refused before any of them reaches librdkafka.
GRANT INSERT ON ev TO lambda_regress_user;
SET ROLE lambda_regress_user;
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"sasl.kerberos.kinit.cmd": "touch /tmp/pg_lambda_regress_kinit"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"plugin.library.paths": "/tmp/pg_lambda_regress_no_such_plugin"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"ssl.key.location": "/etc/passwd"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"security.protocol": "SASL_SSL", "sasl.mechanism": "GSSAPI"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- SASL without a mechanism is GSSAPI, librdkafka's default
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"security.protocol": "sasl_ssl", "sasl.username": "u", "sasl.password": "p"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"sasl.oauthbearer.token.endpoint.url": "file:///etc/passwd"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"debug": "all"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"offset.store.path": "/tmp"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- anything not on the list, even if harmless-looking
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"topic.blacklist": "x"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- what pg_lambda sets itself stays refused, first
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"group.id": "x", "debug": "all"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM lambda.sources WHERE name = 'mine';
-- the allowlist: inline credentials and the source's own connection tuning
BEGIN;
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
                 "sasl.username": "u", "sasl.password": "p",
                 "ssl.ca.pem": "-----BEGIN CERTIFICATE-----", "ssl.key.password": "k",
                 "ssl.endpoint.identification.algorithm": "none",
                 "socket.keepalive.enable": true, "fetch.max.bytes": 1048576,
                 "isolation.level": "read_committed", "session.timeout.ms": 6000}');
SELECT name, owner FROM lambda.sources WHERE name = 'mine';
ROLLBACK;
-- a superuser may set the others
RESET ROLE;
BEGIN;
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"ssl.ca.location": "/nonexistent/ca.pem", "debug": "consumer",
                 "security.protocol": "SASL_SSL"}');
SELECT count(*) FROM lambda.sources WHERE name = 'mine';
ROLLBACK;
-- isolation.level is read_committed, whoever asks: messages of aborted
-- transactions never become rows
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"isolation.level": "read_uncommitted"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- group.protocol is classic (any librdkafka) or consumer (KIP-848, TAP test
-- 041 checks it where librdkafka has it and the refusal where not)
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't',
    options => '{"group.protocol": "eager"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
BEGIN;
SELECT lambda.create_kafka_source('mine', 'ev', '127.0.0.1:1', 't', group_id => 'g',
    options => '{"group.protocol": "classic", "isolation.level": "read_committed"}');
SELECT lambda.alter_kafka_source('mine', options => '{"isolation.level": "read_uncommitted"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;

-- A source is managed by its owner, a role with the owner's privileges or a
-- superuser; membership in lambda_source_admin lets a role create sources,
-- not stop, start or drop those of other roles.
CREATE ROLE lambda_regress_alice;
CREATE ROLE lambda_regress_bob;
GRANT lambda_source_admin TO lambda_regress_alice, lambda_regress_bob;
CREATE TABLE ev_a (id bigint NOT NULL, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev_a', 'ts');
CREATE TABLE ev_b (id bigint NOT NULL, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev_b', 'ts');
GRANT INSERT, SELECT ON ev_a TO lambda_regress_alice;
GRANT INSERT, SELECT ON ev_b TO lambda_regress_bob;
SET ROLE lambda_regress_alice;
SELECT lambda.create_kafka_source('src_a', 'ev_a', '127.0.0.1:1', 't');
SET ROLE lambda_regress_bob;
SELECT lambda.create_kafka_source('src_b', 'ev_b', '127.0.0.1:1', 't');
SELECT lambda.stop_source('src_a');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.start_source('src_a');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.drop_source('src_a');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT lambda.stop_source('src_b');
RESET ROLE;
SELECT name, owner, enabled FROM lambda.sources WHERE name LIKE 'src_%' ORDER BY name;
-- a member of the owning role may
GRANT lambda_regress_alice TO lambda_regress_user;
SET ROLE lambda_regress_user;
SELECT lambda.stop_source('src_a');
RESET ROLE;
-- and a superuser may manage any source
SELECT lambda.start_source('src_b');
SELECT name, owner, enabled FROM lambda.sources WHERE name LIKE 'src_%' ORDER BY name;

-- Dead letters: a role sees those of the sources whose target it may SELECT.
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error)
    SELECT id, 0, 7, convert_to('payload of ' || name, 'UTF8'), 'test'
      FROM lambda_catalog.source WHERE name IN ('src_a', 'src_b');
SET ROLE lambda_regress_bob;
SELECT source, "offset", convert_from(payload, 'UTF8') AS payload FROM lambda.dead_letters ORDER BY source;
SELECT count(*) FROM lambda_catalog.dead_letter;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a cheap function of bob's in WHERE does not see rows the view hides
CREATE FUNCTION pg_temp.lambda_regress_leak(bytea) RETURNS boolean
    LANGUAGE plpgsql COST 0.0000001
    AS $$BEGIN RAISE NOTICE 'saw %', convert_from($1, 'UTF8'); RETURN true; END$$;
SELECT source FROM lambda.dead_letters WHERE pg_temp.lambda_regress_leak(payload);
DROP FUNCTION pg_temp.lambda_regress_leak(bytea);
SET ROLE lambda_regress_alice;
SELECT source, convert_from(payload, 'UTF8') AS payload FROM lambda.dead_letters ORDER BY source;
SELECT count(*) FROM lambda_catalog.dead_letter;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON ev_a TO lambda_regress_bob;
SET ROLE lambda_regress_bob;
SELECT source, convert_from(payload, 'UTF8') AS payload FROM lambda.dead_letters ORDER BY source;
RESET ROLE;
SELECT source, convert_from(payload, 'UTF8') AS payload FROM lambda.dead_letters ORDER BY source;

SELECT lambda.drop_source('src_a');
SELECT lambda.drop_source('src_b');
SELECT lambda.drop_source('s');
DROP TABLE ev, plain, ev_parted, ev_a, ev_b;
REVOKE lambda_source_admin FROM lambda_regress_user, lambda_regress_alice, lambda_regress_bob;
DROP ROLE lambda_regress_user, lambda_regress_alice, lambda_regress_bob;
DROP EXTENSION pg_lambda;
