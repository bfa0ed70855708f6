--
-- Kafka sources: the SQL API and catalog. (Consumption itself is tested
-- against a real broker by the TAP tests in test/t.) The brokers named here
-- do not exist: the workers keep retrying until the source is dropped.
--
CREATE EXTENSION pg_lambda;
CREATE TABLE clicks (id bigint NOT NULL, url text, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('clicks', 'ts');

SELECT lambda.create_kafka_source(
    name => 'clicks_src', target => 'clicks',
    brokers => '127.0.0.1:1', topic => 'clicks');
SELECT lambda.create_kafka_source(
    name => 'clicks_grouped', target => 'clicks',
    brokers => '127.0.0.1:1,127.0.0.1:2', topic => 'clicks.v2',
    format => 'csv', group_id => 'analytics', parallelism => 3, start_from => 'latest',
    options => '{"fetch.min.bytes": 1, "client.rack": "eu-1", "socket.keepalive.enable": true}',
    event_time => 'payload_or_kafka', batch_size => 500, batch_wait => '250 ms');
SELECT name, target, brokers, topic, format, group_id, parallelism, start_from,
       event_time, batch_size, batch_wait, owner = current_user::regrole AS owned, enabled
  FROM lambda.sources ORDER BY name;

-- the options are stored apart from the rest
SELECT s.name, x.options FROM lambda_catalog.source s
  JOIN lambda_catalog.source_secret x ON x.source_id = s.id ORDER BY s.name;

-- a source with no partitions known yet has one status row
SELECT source, topic, partition, committed_offset, events, dead_letters
  FROM lambda.source_status ORDER BY source;

SELECT lambda.stop_source('clicks_src');
SELECT name, enabled FROM lambda.sources ORDER BY name;
SELECT source, state FROM lambda.source_status WHERE source = 'clicks_src';
-- stopping twice is fine, so is starting a running source
SELECT lambda.stop_source('clicks_src');
SELECT lambda.start_source('clicks_src');
SELECT lambda.start_source('clicks_src');
SELECT name, enabled FROM lambda.sources ORDER BY name;

-- sources' catalog rows go with them
SELECT lambda.drop_source('clicks_grouped');
SELECT name FROM lambda.sources;
SELECT count(*) FROM lambda_catalog.source_secret;

-- dropping the target table drops its sources
DROP TABLE clicks;
SELECT count(*) FROM lambda.sources;
DROP EXTENSION pg_lambda;
