--
-- Kafka sources: column lists and lambda.alter_kafka_source. The brokers do
-- not exist; what a column list does to a payload is seen through
-- lambda.replay_dead_letters, which parses like the workers (consumption
-- itself is tested by test/t/025_kafka_source_ux.pl).
--
CREATE EXTENSION pg_lambda;
\set SHOW_CONTEXT never
SET timezone = 'UTC';
CREATE TABLE orders (
    id   bigint GENERATED ALWAYS AS IDENTITY,
    sku  text NOT NULL,
    qty  int NOT NULL DEFAULT 1,
    note text,
    ts   timestamptz NOT NULL DEFAULT '2025-05-01 00:00:00+00');
SELECT lambda.create_event_table('orders', 'ts');

-- A column list skips the identity and default columns, as COPY's does.
SELECT lambda.create_kafka_source('orders_csv', 'orders', '127.0.0.1:1', 'orders',
    format => 'csv', columns => ARRAY['sku', 'qty']);
SELECT lambda.create_kafka_source('orders_text', 'orders', '127.0.0.1:1', 'orders',
    format => 'text', columns => '{note,sku}');
-- json: only listed keys are read; "id" and "qty" are ignored like unknown keys
SELECT lambda.create_kafka_source('orders_json', 'orders', '127.0.0.1:1', 'orders',
    columns => ARRAY['sku', 'note']);
-- calls written before the column list keep working, positional and named
SELECT lambda.create_kafka_source('orders_old', 'orders', '127.0.0.1:1', 'orders',
    'json', NULL, 1, 'earliest', '{}', 'payload', 100, '1 s');
SELECT lambda.create_kafka_source(name => 'orders_named', target => 'orders',
    brokers => '127.0.0.1:1', topic => 'orders', batch_size => 10);
SELECT name, format, columns, batch_size, batch_wait, altered_at IS NULL AS never_altered
  FROM lambda.sources ORDER BY name;

-- The time column may stay out of the list when Kafka timestamps fill it.
CREATE TABLE readings (sensor int NOT NULL, value numeric, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('readings', 'ts');
SELECT lambda.create_kafka_source('readings_src', 'readings', '127.0.0.1:1', 'readings',
    format => 'csv', event_time => 'kafka', columns => ARRAY['sensor', 'value']);

-- What the lists do to payloads: dead letters replayed through the same
-- parser the workers use (as a superuser may seed them).
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error, kafka_timestamp)
SELECT s.id, 0, v.off, convert_to(v.payload, 'UTF8'), 'seeded', 1746057600000
  FROM lambda_catalog.source s
  JOIN (VALUES ('orders_csv', 1, 'widget,3'),
               ('orders_csv', 2, 'gadget'),
               ('orders_csv', 3, 'a,1,extra'),
               ('orders_text', 1, E'fragile\tbox'),
               ('orders_json', 1, '{"id": 99, "sku": "lamp", "qty": 7, "note": "n"}'),
               ('readings_src', 1, '7,1.5')) v(src, off, payload) ON v.src = s.name;
SELECT * FROM lambda.replay_dead_letters('orders_csv');
SELECT * FROM lambda.replay_dead_letters('orders_text');
SELECT * FROM lambda.replay_dead_letters('orders_json');
SELECT * FROM lambda.replay_dead_letters('readings_src');
SELECT id, sku, qty, note, ts FROM orders ORDER BY id;
SELECT sensor, value, ts FROM readings;
SELECT source, "offset", error FROM lambda.dead_letters ORDER BY source, "offset";

-- ALTER: settings change, offsets and counters stay.
INSERT INTO lambda_catalog.source_offset (source_id, partition, next_offset, events, dead_letters)
    SELECT id, 0, 42, 40, 2 FROM lambda_catalog.source WHERE name = 'orders_csv';
SELECT lambda.alter_kafka_source('orders_csv', brokers => '127.0.0.1:2,127.0.0.1:3',
    parallelism => 2, batch_size => 500, batch_wait => '250 ms', start_from => 'latest',
    event_time => 'payload_or_kafka', columns => ARRAY['qty', 'sku', 'note']);
SELECT name, brokers, format, parallelism, start_from, event_time, batch_size, batch_wait,
       columns, enabled, altered_at IS NOT NULL AS altered
  FROM lambda.sources WHERE name = 'orders_csv';
SELECT o.partition, o.next_offset, o.events, o.dead_letters
  FROM lambda_catalog.source_offset o JOIN lambda_catalog.source s ON s.id = o.source_id
 WHERE s.name = 'orders_csv';
-- the new column list is used at once
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error)
    SELECT id, 0, 10, convert_to('5,bolt,new list', 'UTF8'), 'seeded'
      FROM lambda_catalog.source WHERE name = 'orders_csv';
SELECT * FROM lambda.replay_dead_letters('orders_csv', 0, 10);
SELECT sku, qty, note FROM orders WHERE sku = 'bolt';

-- NULL leaves a setting alone; reset returns it to its default.
SELECT lambda.alter_kafka_source('orders_csv', reset => '{batch_size, batch_wait, columns}');
SELECT name, parallelism, batch_size, batch_wait, columns FROM lambda.sources WHERE name = 'orders_csv';
SELECT lambda.alter_kafka_source('orders_csv', format => 'TEXT');
SELECT name, format FROM lambda.sources WHERE name = 'orders_csv';
-- nothing to change: a notice, and nothing changes
SELECT altered_at AS before FROM lambda.sources WHERE name = 'orders_csv' \gset
SELECT lambda.alter_kafka_source('orders_csv');
SELECT lambda.alter_kafka_source('orders_csv', topic => 'orders');
SELECT altered_at = :'before' AS untouched FROM lambda.sources WHERE name = 'orders_csv';

-- Options are merged; a null removes one; with reset they are replaced.
SELECT lambda.alter_kafka_source('orders_csv', options => '{"fetch.min.bytes": 1, "client.rack": "eu-1"}');
SELECT lambda.alter_kafka_source('orders_csv', options => '{"client.rack": "eu-2", "socket.keepalive.enable": true}');
SELECT x.options FROM lambda_catalog.source_secret x JOIN lambda_catalog.source s ON s.id = x.source_id
 WHERE s.name = 'orders_csv';
SELECT lambda.alter_kafka_source('orders_csv', options => '{"fetch.min.bytes": null, "no.such.option": null}');
SELECT x.options FROM lambda_catalog.source_secret x JOIN lambda_catalog.source s ON s.id = x.source_id
 WHERE s.name = 'orders_csv';
SELECT lambda.alter_kafka_source('orders_csv', options => '{"fetch.max.bytes": 1048576}', reset => '{options}');
SELECT x.options FROM lambda_catalog.source_secret x JOIN lambda_catalog.source s ON s.id = x.source_id
 WHERE s.name = 'orders_csv';
SELECT lambda.alter_kafka_source('orders_csv', reset => '{options}');
SELECT x.options FROM lambda_catalog.source_secret x JOIN lambda_catalog.source s ON s.id = x.source_id
 WHERE s.name = 'orders_csv';

-- A stopped source stays stopped; an alter that rolls back changes nothing.
SELECT lambda.stop_source('orders_json');
SELECT lambda.alter_kafka_source('orders_json', parallelism => 3);
SELECT name, parallelism, enabled FROM lambda.sources WHERE name = 'orders_json';
BEGIN;
SELECT lambda.alter_kafka_source('orders_json', parallelism => 4, columns => ARRAY['sku']);
ROLLBACK;
SELECT name, parallelism, columns FROM lambda.sources WHERE name = 'orders_json';

-- Renaming a listed column renames it in the list (and counts as an alter).
SELECT name, altered_at IS NULL AS never_altered FROM lambda.sources WHERE name = 'orders_text';
ALTER TABLE orders RENAME COLUMN note TO remark;
SELECT name, columns FROM lambda.sources WHERE columns IS NOT NULL ORDER BY name;
SELECT name, altered_at IS NOT NULL AS altered FROM lambda.sources WHERE name = 'orders_text';
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error)
    SELECT id, 0, 20, convert_to(E'after rename\tcrate', 'UTF8'), 'seeded'
      FROM lambda_catalog.source WHERE name = 'orders_text';
SELECT * FROM lambda.replay_dead_letters('orders_text');
SELECT sku, remark FROM orders WHERE sku = 'crate';

-- A member of the owning role may alter the owner's source.
CREATE ROLE lambda_regress_owner;
CREATE ROLE lambda_regress_member;
GRANT lambda_source_admin TO lambda_regress_owner, lambda_regress_member;
GRANT lambda_regress_owner TO lambda_regress_member;
GRANT INSERT ON readings TO lambda_regress_owner;
SET ROLE lambda_regress_owner;
SELECT lambda.create_kafka_source('owned_src', 'readings', '127.0.0.1:1', 'readings');
SET ROLE lambda_regress_member;
SELECT lambda.alter_kafka_source('owned_src', batch_size => 7,
    options => '{"sasl.username": "u", "sasl.password": "p"}');
RESET ROLE;
SELECT name, owner, batch_size FROM lambda.sources WHERE name = 'owned_src';

SELECT lambda.drop_source(name) FROM lambda.sources ORDER BY name;
DROP TABLE orders, readings;
REVOKE lambda_source_admin FROM lambda_regress_owner, lambda_regress_member;
DROP ROLE lambda_regress_member, lambda_regress_owner;
DROP EXTENSION pg_lambda;

-- A source made before 0.4.0 keeps working after ALTER EXTENSION UPDATE, and
-- its old dead letters (recorded without a Kafka timestamp) can be replayed.
CREATE EXTENSION pg_lambda VERSION '0.3.0';
CREATE TABLE old_ev (id int NOT NULL, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('old_ev', 'ts');
SELECT lambda.create_kafka_source('old_src', 'old_ev', '127.0.0.1:1', 'old', batch_size => 5);
INSERT INTO lambda_catalog.dead_letter (source_id, partition, "offset", payload, error, received_at)
    SELECT id, 0, 3, convert_to('{"id": 1}', 'UTF8'), 'null value in column "ts"', '2025-02-03 04:05:06.789+00'
      FROM lambda_catalog.source;
ALTER EXTENSION pg_lambda UPDATE;
SELECT name, batch_size, columns, altered_at FROM lambda.sources;
SELECT lambda.alter_kafka_source('old_src', event_time => 'payload_or_kafka', columns => ARRAY['id']);
SELECT * FROM lambda.replay_dead_letters('old_src');
SELECT id, ts FROM old_ev;
SELECT lambda.drop_source('old_src');
DROP TABLE old_ev;
DROP EXTENSION pg_lambda;
