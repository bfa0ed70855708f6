# Kafka ingestion, exactly once: a 4-partition topic with 100k good JSON events
# mixed with malformed ones; then more events across an immediate stop of the
# server while it consumes. Every good event becomes exactly one row, every bad
# one exactly one dead letter.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { events => 4 }, brokers => 3);
my $node = LambdaNode->new_node('ingest');

$node->safe_psql('postgres', q{
	CREATE TABLE events (
		id      bigint NOT NULL,
		kind    text,
		amount  int CHECK (amount >= 0),
		attrs   jsonb,
		ts      timestamptz NOT NULL,
		note    text DEFAULT 'none');
	SELECT lambda.create_event_table('events', time_column => 'ts');
});

# Writes a file of JSON lines: good events with ids [$from, $to), and every
# 997th position a bad message of one of several kinds. Returns (good, bad).
my %bad_kinds = (
	0 => 'not json at all',
	1 => '[1, 2, 3]',
	2 => '{"id": 1, "kind": "x", "amount": "lots", "ts": "2025-01-01T00:00:00Z"}',
	3 => '{"id": 1, "kind": "x", "amount": -5, "ts": "2025-01-01T00:00:00Z"}',
	4 => '{"kind": "no id", "amount": 1, "ts": "2025-01-01T00:00:00Z"}',
	5 => '{"id": 1, "ts": "not a time"}',
	6 => '{"id": 1, "ts": "2025-01-01T00:00:00Z"',
);
sub write_events
{
	my ($path, $from, $to) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	my ($good, $bad) = (0, 0);
	for my $id ($from .. $to - 1)
	{
		if ($id % 997 == 0)
		{
			print $fh $bad_kinds{ $bad % 7 }, "\n";
			$bad++;
		}
		my $sec = $id % 86400;
		printf $fh
		  qq({"id": %d, "kind": "k%d", "amount": %d, "attrs": {"n": %d, "tags": ["a", "b"]}, "ts": "2025-01-%02dT%02d:%02d:%02dZ", "extra": "ignored"}\n),
		  $id, $id % 5, $id % 100, $id, 1 + $id % 28, $sec / 3600, ($sec / 60) % 60, $sec % 60;
		$good++;
	}
	close $fh;
	return ($good, $bad);
}

my $file = $node->basedir . '/events1.json';
my ($good1, $bad1) = write_events($file, 1, 100_001);
$kafka->produce_file('events', $file, spread => 1);

my $bootstrap = $kafka->bootstrap;
$node->safe_psql('postgres', qq{
	SELECT lambda.create_kafka_source(
		name => 'ev_src', target => 'events',
		brokers => '$bootstrap', topic => 'events',
		format => 'json', parallelism => 2, start_from => 'earliest',
		-- small fetches, so that the crash below lands mid-stream
		options => '{"fetch.message.max.bytes": 4096}');
});

my $consumed = q{SELECT coalesce(sum(events + dead_letters), 0) FROM lambda.source_status WHERE source = 'ev_src'};
ok(LambdaNode::wait_for($node, $consumed, $good1 + $bad1, timeout => 180),
	'every message was consumed');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id) FROM events'),
	"$good1|$good1", 'every good event is one row, none twice');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lambda.dead_letters'), $bad1,
	'every bad message is one dead letter');
is($node->safe_psql('postgres', q{SELECT sum(events), sum(dead_letters) FROM lambda.source_status}),
	"$good1|$bad1", 'source_status counts events and dead letters');
is($node->safe_psql('postgres', 'SELECT min(id), max(id) FROM events'), '1|100000',
	'no event is missing');

# The rows carry what the payloads said.
is($node->safe_psql('postgres', q{SELECT kind, amount, attrs->>'n', attrs->'tags'->>1, ts AT TIME ZONE 'UTC', note
	FROM events WHERE id = 4242}),
	'k2|42|4242|b|2025-01-15 01:10:42|none', 'columns, nested JSON and defaults are right');

# Dead letters keep the payload and say what was wrong.
my $errors = $node->safe_psql('postgres', q{
	SELECT string_agg(k, ',' ORDER BY k) FROM (SELECT DISTINCT
	         CASE WHEN error ~* 'not an object' THEN 'object'
	              WHEN error ~* 'json' THEN 'json'
	              WHEN error ~* 'integer' THEN 'integer'
	              WHEN error ~* 'check' THEN 'check'
	              WHEN error ~* 'null' THEN 'null'
	              WHEN error ~* 'timestamp|time zone|date' THEN 'time'
	              ELSE error END AS k
	  FROM lambda.dead_letters) s});
is($errors, 'check,integer,json,null,object,time', 'dead letters give the reason of each kind');
is($node->safe_psql('postgres', q{SELECT count(*) FROM lambda.dead_letters
	WHERE convert_from(payload, 'UTF8') = 'not json at all'}),
	int(($bad1 + 6) / 7), 'dead letters keep the payload');
is($node->safe_psql('postgres', q{SELECT count(*) FROM (SELECT partition, "offset" FROM lambda.dead_letters
	GROUP BY 1, 2 HAVING count(*) > 1) d}), '0', 'no message is a dead letter twice');

# source_status: one row per partition, caught up, running; workers are visible.
is($node->safe_psql('postgres', q{SELECT count(*), sum(lag), min(state), max(state), bool_and(committed_offset = high_watermark)
	FROM lambda.source_status WHERE source = 'ev_src'}),
	'4|0|running|running|t', 'source_status: 4 partitions, no lag, running');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'pg_lambda source worker' AND application_name LIKE 'pg_lambda source ev_src/%'}),
	'2', 'both workers show in pg_stat_activity');

# More events, and an immediate stop while they are being consumed.
$file = $node->basedir . '/events2.json';
my ($good2, $bad2) = write_events($file, 100_001, 200_001);
# small record batches and a slow broker: the second file takes seconds to
# consume. The source waits while the file is produced (which can take as
# long as consuming it, on a loaded machine or a newer librdkafka) and starts
# once the broker is slow.
$node->safe_psql('postgres', q{SELECT lambda.stop_source('ev_src')});
$kafka->produce_file('events', $file, spread => 1, config => { 'batch.num.messages' => 100 });
$kafka->command('rtt all 10');
$node->safe_psql('postgres', q{SELECT lambda.start_source('ev_src')});
LambdaNode::wait_for($node, 'SELECT count(*) > ' . ($good1 + 2000) . ' FROM events', 't', timeout => 120);
my $before_crash = $node->safe_psql('postgres', 'SELECT count(*) FROM events');
$node->stop('immediate');
cmp_ok($before_crash, '<', $good1 + $good2, "the crash hit mid-stream ($before_crash events in)");
$kafka->command('rtt all 0');
$node->start;

ok(LambdaNode::wait_for($node, $consumed, $good1 + $bad1 + $good2 + $bad2, timeout => 180),
	'after the crash, consumption resumes and completes');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM events'),
	($good1 + $good2) . '|' . ($good1 + $good2) . '|1|200000',
	'exactly once across the crash: nothing lost, nothing twice');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lambda.dead_letters'), $bad1 + $bad2,
	'dead letters exactly once across the crash');

# A clean restart resumes from the stored offsets: nothing is read twice.
$node->restart;
$kafka->produce('events', [ map { qq({"id": $_, "ts": "2025-02-01T00:00:00Z"}) } 200_001 .. 200_010 ], partition => 3);
ok(LambdaNode::wait_for($node, 'SELECT count(*) FROM events', $good1 + $good2 + 10, timeout => 60),
	'after a restart only the new events arrive');
is($node->safe_psql('postgres', 'SELECT count(*) - count(DISTINCT id) FROM events'), '0',
	'still no duplicates');

$kafka->stop;
done_testing();
