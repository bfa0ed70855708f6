# Kafka message timestamps PostgreSQL cannot hold: a producer may write any
# 64-bit number as a message's CreateTime. With event_time taken from Kafka,
# such a message must become exactly one dead letter that says why, never a
# row with a wrong time (a wrapped-around multiplication) or a row that
# cannot be read back; the good messages around it become rows.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { tsk => 1, tsp => 1, tst => 1 }, brokers => 1);
my $bootstrap = $kafka->bootstrap;
my $node = LambdaNode->new_node('timestamps', conf => "timezone = 'UTC'");

# PostgreSQL's range in milliseconds since 1970: [4714-11-24 BC, 294277-01-01)
my $pg_min_ms = '-210866803200000';
my $pg_end_ms = '9224318016000000';

$node->safe_psql('postgres', qq{
	CREATE TABLE ev_k (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev_k', 'ts');
	SELECT lambda.create_kafka_source('src_k', 'ev_k', '$bootstrap', 'tsk', event_time => 'kafka');
	CREATE TABLE ev_p (id int NOT NULL, ts timestamp(0) NOT NULL);
	SELECT lambda.create_event_table('ev_p', 'ts');
	SELECT lambda.create_kafka_source('src_p', 'ev_p', '$bootstrap', 'tsp', event_time => 'payload_or_kafka');
	CREATE DATABASE tokyo;
	ALTER DATABASE tokyo SET timezone = 'Asia/Tokyo';
});
$node->safe_psql('tokyo', qq{
	CREATE EXTENSION pg_lambda;
	CREATE TABLE ev_t (id int NOT NULL, ts timestamp NOT NULL);
	SELECT lambda.create_event_table('ev_t', 'ts');
	SELECT lambda.create_kafka_source('src_t', 'ev_t', '$bootstrap', 'tst', event_time => 'kafka');
});
my $before = $node->safe_psql('postgres', 'SELECT now()');

# event_time => 'kafka' into timestamptz
$kafka->produce_timestamped('tsk', 0, [
	[ '1735689600000',        '{"id":1}' ],     # 2025-01-01
	[ '9223372036854775807',  '{"id":2}' ],     # int64 max: * 1000 overflows
	[ $pg_end_ms,             '{"id":3}' ],     # 294277-01-01: just past the end
	[ $pg_end_ms - 1,         '{"id":4}' ],     # the last millisecond that fits
	[ '9000000000000000000',  '{"id":5}' ],     # * 1000 overflows the other way
	[ $pg_min_ms - 1,         '{"id":6}' ],     # just before 4714-11-24 BC
	[ $pg_min_ms,             '{"id":7}' ],     # the first millisecond that fits
	[ '-9223372036854775808', '{"id":8}' ],     # int64 min
	[ '-1',                   '{"id":9}' ],     # Kafka's "no timestamp": arrival
	[ '-2',                   '{"id":10}' ], ]); # an ordinary time before 1970

# event_time => 'payload_or_kafka' into timestamp(0): the payload's time wins;
# a Kafka time that rounds past the end of the range is refused too
$kafka->produce_timestamped('tsp', 0, [
	[ '9223372036854775807', '{"id":1,"ts":"2025-01-01T00:00:00"}' ],
	[ '1735689600400',       '{"id":2}' ],
	[ $pg_end_ms - 1,        '{"id":3}' ],
	[ '9223372036854775807', '{"id":4,"ts":null}' ],
	[ '-1',                  '{"id":5}' ], ]);

# event_time => 'kafka' into timestamp, in a database whose time zone is
# nine hours east of UTC: the last UTC millisecond no longer fits
$kafka->produce_timestamped('tst', 0, [
	[ $pg_end_ms - 1,              '{"id":1}' ],
	[ $pg_end_ms - 1 - 9 * 3600000, '{"id":2}' ],
	[ '1735689600000',             '{"id":3}' ], ]);

ok(LambdaNode::wait_for($node,
	q{SELECT string_agg(source || ':' || (events + dead_letters), ' ' ORDER BY source)
	    FROM lambda.source_status},
	'src_k:10 src_p:5', timeout => 60),
	'every message of both sources is consumed');
ok(LambdaNode::wait_for($node,
	q{SELECT sum(events + dead_letters) FROM lambda.source_status}, '3', timeout => 60, dbname => 'tokyo'),
	'... and of the source in the other time zone');

# timestamptz: the good messages are rows with exactly their time
is($node->safe_psql('postgres', q{SELECT string_agg(id || '=' || ts, ' | ' ORDER BY id) FROM ev_k WHERE id <> 9}),
	'1=2025-01-01 00:00:00+00 | 4=294276-12-31 23:59:59.999+00 | 7=4714-11-24 00:00:00+00 BC | 10=1969-12-31 23:59:59.998+00',
	'timestamptz: times in range become rows, the first and last millisecond included');
is($node->safe_psql('postgres', qq{SELECT ts BETWEEN '$before' AND now() FROM ev_k WHERE id = 9}),
	't', 'a message without a timestamp gets its arrival time');
is($node->safe_psql('postgres', q{
	SELECT count(*), count(DISTINCT "offset"), string_agg(convert_from(payload, 'UTF8'), ' ' ORDER BY "offset")
	  FROM lambda.dead_letters WHERE source = 'src_k'}),
	'5|5|{"id":2} {"id":3} {"id":5} {"id":6} {"id":8}',
	'timestamptz: exactly one dead letter per timestamp out of range, no row');
is($node->safe_psql('postgres', q{SELECT error FROM lambda.dead_letters WHERE source = 'src_k' AND "offset" = 1}),
	'Kafka message timestamp 9223372036854775807 (milliseconds since 1970) is out of range for type timestamp with time zone (column "ts")',
	'... which says why');
is($node->safe_psql('postgres', q{
	SELECT o.last_message_at FROM lambda_catalog.source_offset o JOIN lambda_catalog.source s ON s.id = o.source_id
	 WHERE s.name = 'src_k'}),
	'294276-12-31 23:59:59.999+00', 'last_message_at is the newest time that fits');

# timestamp(0), payload or Kafka
is($node->safe_psql('postgres', q{SELECT string_agg(id || '=' || ts, ' | ' ORDER BY id) FROM ev_p WHERE id <> 5}),
	'1=2025-01-01 00:00:00 | 2=2025-01-01 00:00:00',
	'payload_or_kafka: the payload\'s time wins over a Kafka time out of range; Kafka times are rounded');
is($node->safe_psql('postgres', qq{SELECT ts BETWEEN date_trunc('second', '$before'::timestamptz)::timestamp AND now()::timestamp + interval '1 second' FROM ev_p WHERE id = 5}),
	't', '... a message without either gets its arrival time');
is($node->safe_psql('postgres', q{
	SELECT string_agg(convert_from(payload, 'UTF8') || ' ' || error, ' | ' ORDER BY "offset")
	  FROM lambda.dead_letters WHERE source = 'src_p'}),
	'{"id":3} Kafka message timestamp 9224318015999999 (milliseconds since 1970) is out of range for type timestamp(0) without time zone once rounded (column "ts")'
	  . ' | {"id":4,"ts":null} Kafka message timestamp 9223372036854775807 (milliseconds since 1970) is out of range for type timestamp with time zone (column "ts")',
	'... a Kafka time that rounds past the end, or is used for a null, is a dead letter');

# timestamp in Asia/Tokyo
is($node->safe_psql('tokyo', q{SELECT string_agg(id || '=' || ts, ' | ' ORDER BY id) FROM ev_t}),
	'2=294276-12-31 23:59:59.999 | 3=2025-01-01 09:00:00',
	'timestamp: Kafka times are local times of the database\'s time zone');
is($node->safe_psql('tokyo', q{SELECT string_agg(convert_from(payload, 'UTF8') || ' ' || error, ' | ') FROM lambda.dead_letters}),
	'{"id":1} Kafka message timestamp 9224318015999999 (milliseconds since 1970) is out of range for type timestamp without time zone in time zone "Asia/Tokyo" (column "ts")',
	'... and one past the end there is a dead letter');

# nothing unreadable anywhere
is($node->safe_psql('postgres', q{SELECT count(*) FROM (SELECT ts::text FROM ev_k UNION ALL SELECT ts::text FROM ev_p) x}),
	'8', 'every stored time reads back');

$kafka->stop;
done_testing();
