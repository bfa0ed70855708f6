# Kafka sources under faults and operations: brokers down and up again,
# failing requests, stop/start/drop without a server restart, and the csv and
# text formats with the Kafka message timestamp as event time.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { f => 2, c => 1, t => 1 }, brokers => 1);
my $bootstrap = $kafka->bootstrap;
my $node = LambdaNode->new_node('faults');
$node->safe_psql('postgres', qq{
	CREATE TABLE ev (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', 'ts');
	SELECT lambda.create_kafka_source('f_src', 'ev', '$bootstrap', 'f', batch_wait => '20 ms');
});

# Produces JSON events with ids [$from, $to] to topic f.
sub produce_ids
{
	my ($from, $to) = @_;
	$kafka->produce('f', [ map { qq({"id": $_, "ts": "2025-03-01T00:00:00Z"}) } $from .. $to ], spread => 1);
}
my $count = 'SELECT count(*), count(DISTINCT id) FROM ev';

produce_ids(1, 500);
ok(LambdaNode::wait_for($node, $count, '500|500'), 'first events arrive');

# Brokers down: the source shows it is retrying, with the error.
$kafka->command('down all');
ok(LambdaNode::wait_for($node,
	q{SELECT bool_and(state = 'retrying' AND last_error IS NOT NULL) FROM lambda.source_status WHERE source = 'f_src'},
	't', timeout => 60), 'with the brokers down the source is retrying and says why');
$kafka->command('up all');
produce_ids(501, 1000);
ok(LambdaNode::wait_for($node, $count, '1000|1000', timeout => 90),
	'after the brokers return it resumes with nothing lost or duplicated');
ok(LambdaNode::wait_for($node,
	q{SELECT bool_and(state = 'running') FROM lambda.source_status WHERE source = 'f_src'}, 't', timeout => 60),
	'and it is running again');

# Failing fetch requests are retried.
$kafka->command('error Fetch NOT_LEADER_FOR_PARTITION 5');
produce_ids(1001, 1500);
ok(LambdaNode::wait_for($node, $count, '1500|1500', timeout => 90), 'failing fetches lose nothing');

# stop_source: workers leave, nothing more is ingested; start_source resumes.
$node->safe_psql('postgres', q{SELECT lambda.stop_source('f_src')});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_lambda source worker'}, '0', timeout => 30),
	'stop_source stops the workers');
is($node->safe_psql('postgres', q{SELECT DISTINCT state FROM lambda.source_status WHERE source = 'f_src'}),
	'stopped', 'source_status says stopped');
produce_ids(1501, 1600);
sleep 2;
is($node->safe_psql('postgres', 'SELECT count(*) FROM ev'), '1500', 'a stopped source ingests nothing');
$node->safe_psql('postgres', q{SELECT lambda.start_source('f_src')});
ok(LambdaNode::wait_for($node, $count, '1600|1600', timeout => 60), 'start_source resumes from the stored offsets');

# An oversized payload is a dead letter; the limit follows a reload.
$node->safe_psql('postgres', q{ALTER SYSTEM SET lambda.kafka_max_message_bytes = 200; SELECT pg_reload_conf()});
$kafka->produce('f', [ qq({"id": 1601, "ts": "2025-03-01T00:00:00Z", "pad": ") . ('x' x 300) . '"}',
	qq({"id": 1602, "ts": "2025-03-01T00:00:00Z"}) ], partition => 0);
ok(LambdaNode::wait_for($node, $count, '1601|1601', timeout => 60), 'a message under the limit still arrives');
is($node->safe_psql('postgres', q{SELECT error FROM lambda.dead_letters WHERE source = 'f_src'}),
	'payload of 353 bytes exceeds lambda.kafka_max_message_bytes (200)', 'an oversized message is a dead letter');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET lambda.kafka_max_message_bytes; SELECT pg_reload_conf()});

# A source created in a transaction that rolls back never starts.
$node->safe_psql('postgres', qq{
	BEGIN;
	SELECT lambda.create_kafka_source('ghost', 'ev', '$bootstrap', 'f');
	ROLLBACK;
});
sleep 1;
is($node->safe_psql('postgres', q{SELECT count(*) FROM lambda.sources WHERE name = 'ghost'}), '0',
	'a rolled-back source does not exist');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg_lambda source ghost%'}),
	'0', '... and runs no worker');

# csv and text formats, event time from the Kafka message timestamp.
$node->safe_psql('postgres', qq{
	CREATE TABLE rows_csv (id int NOT NULL, name text, price numeric, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('rows_csv', 'ts');
	SELECT lambda.create_kafka_source('c_src', 'rows_csv', '$bootstrap', 'c', format => 'csv',
	                                  event_time => 'payload_or_kafka');
	CREATE TABLE rows_text (id int NOT NULL, name text, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('rows_text', 'ts');
	SELECT lambda.create_kafka_source('t_src', 'rows_text', '$bootstrap', 't', format => 'text',
	                                  event_time => 'kafka');
});
$kafka->produce('c', [
	'1,plain,1.50,2025-01-01 00:00:00+00',
	'2,"quoted, with comma",2.25,2025-01-02 00:00:00+00',
	'3,"say ""hi""",,',
	'4,missing time',
	'x,bad id,1,2025-01-01 00:00:00+00',
	'5,"unterminated,1,2025-01-01 00:00:00+00',
	'6,too,many,fields,here,2025-01-01 00:00:00+00',
]);
$kafka->produce('t', [ "1\ttab\\tseparated", "2\t\\N", "3\tback\\\\slash", "bad\tx" ]);
ok(LambdaNode::wait_for($node,
	q{SELECT sum(events + dead_letters) FROM lambda.source_status WHERE source IN ('c_src', 't_src')},
	'11', timeout => 60), 'csv and text messages are consumed');
is($node->safe_psql('postgres', q{SELECT id, name, price FROM rows_csv ORDER BY id}),
	"1|plain|1.50\n2|quoted, with comma|2.25\n3|say \"hi\"|\n4|missing time|",
	'csv fields, quoting and empty fields');
is($node->safe_psql('postgres', q{SELECT count(*) FROM rows_csv
	WHERE id IN (3, 4) AND ts > now() - interval '10 minutes' AND ts <= now()}),
	'2', 'csv rows without a time take the Kafka timestamp');
is($node->safe_psql('postgres', q{SELECT count(*) FROM lambda.dead_letters WHERE source = 'c_src'}),
	'3', 'bad csv rows are dead letters');
is($node->safe_psql('postgres', q{SELECT id, name, name IS NULL FROM rows_text ORDER BY id}),
	"1|tab\tseparated|f\n2||t\n3|back\\slash|f", 'text format escapes and NULL');
is($node->safe_psql('postgres', q{SELECT count(*) FROM lambda.dead_letters WHERE source = 't_src'}),
	'1', 'bad text rows are dead letters');

# start_from => 'latest': a new source skips what the topic already holds.
$node->safe_psql('postgres', qq{
	CREATE TABLE ev_latest (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev_latest', 'ts');
	SELECT lambda.create_kafka_source('latest_src', 'ev_latest', '$bootstrap', 'f', start_from => 'latest');
});
ok(LambdaNode::wait_for($node,
	q{SELECT count(high_watermark) = 2 AND bool_and(state = 'running') FROM lambda.source_status WHERE source = 'latest_src'}, 't',
	timeout => 60), 'the latest-offset source is fetching from both partitions');
produce_ids(5001, 5010);
ok(LambdaNode::wait_for($node, 'SELECT count(*), min(id) FROM ev_latest', '10|5001', timeout => 60),
	'it ingests only the messages produced after it started');
$node->safe_psql('postgres', q{SELECT lambda.drop_source('latest_src')});

# drop_source: workers exit, catalog rows go, events stay.
$node->safe_psql('postgres', q{SELECT lambda.drop_source('f_src')});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg_lambda source f_src%'}, '0', timeout => 30),
	'drop_source stops its workers');
is($node->safe_psql('postgres', q{SELECT count(*) FROM lambda.source_status WHERE source = 'f_src'}), '0',
	'the dropped source has no status');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ev'), '1611', 'its events stay');

# Dropping the target table drops its sources.
$node->safe_psql('postgres', q{DROP TABLE rows_text});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg_lambda source t_src%'}, '0', timeout => 30),
	'dropping the target table stops its source');
is($node->safe_psql('postgres', q{SELECT string_agg(name, ',') FROM lambda.sources}), 'c_src',
	'and removes it');

# A database with running sources can be dropped: its workers leave first.
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', qq{
	CREATE EXTENSION pg_lambda;
	CREATE TABLE ev (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', 'ts');
	SELECT lambda.create_kafka_source('o_src', 'ev', '$bootstrap', 'f', parallelism => 2);
});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM pg_stat_activity WHERE datname = 'other' AND backend_type = 'pg_lambda source worker'},
	'2', timeout => 30), 'the other database has two source workers');
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE other');
is($ret, 0, 'DROP DATABASE succeeds while its sources run') or diag($err);
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_lambda source worker'
	AND application_name LIKE 'pg_lambda source o_src%'}), '0', '... and its workers are gone');

$kafka->stop;
done_testing();
