# Kafka ingestion against a real Apache Kafka 4.x broker (test/apache_kafka.sh),
# not librdkafka's mock: exactly once across a PostgreSQL crash and across a
# broker crash, both mid-stream; transactional producers (only committed
# messages become rows, and lag reaches 0 over the offsets that transaction
# markers and aborted messages take); and the retention policy when the
# topic's log start overtakes a stopped source's stored offset.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaApacheKafka;

my $kafka = LambdaApacheKafka->start(name => 'ingest', topics => { events => 4 });
my $bootstrap = $kafka->bootstrap;
my $node = LambdaNode->new_node('real_ingest', conf => "lambda.worker_restart_interval = 1");

# Every batch sleeps 20 ms in a statement trigger (statement triggers fire
# once per batch): the topic takes seconds to consume, so the crashes below
# land mid-stream, deterministically.
$node->safe_psql('postgres', q{
	CREATE TABLE events (id bigint NOT NULL, kind text, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('events', time_column => 'ts');
	CREATE FUNCTION slow_batch() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END$$;
	CREATE TRIGGER slow AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION slow_batch();
});

# Writes JSON lines: good events with ids [$from, $to] and, every 997th id,
# a malformed message before it. Returns (good, bad).
sub write_events
{
	my ($path, $from, $to) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	my ($good, $bad) = (0, 0);
	for my $id ($from .. $to)
	{
		if ($id % 997 == 0)
		{
			print $fh qq({"id": "not a number $id", "ts": "2025-01-01T00:00:00Z"}\n);
			$bad++;
		}
		print $fh qq({"id": $id, "kind": "k@{[ $id % 7 ]}", "ts": "2025-01-01T00:00:00Z"}\n);
		$good++;
	}
	close $fh;
	return ($good, $bad);
}

# Produces in small record batches (no compression), so that fetches are small too.
sub produce_events
{
	my ($from, $to) = @_;
	my $path = $node->basedir . "/events_$from.json";
	my @n = write_events($path, $from, $to);
	$kafka->produce_file('events', $path, spread => 1, compression => 'none',
		config => { 'batch.num.messages' => 200 });
	return @n;
}

my $consumed = q{SELECT coalesce(sum(events + dead_letters), 0) FROM lambda.source_status WHERE source = 'ev_src'};
my $rows = 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM events';

# 1. A PostgreSQL crash (immediate stop) while the source consumes.
my ($good1, $bad1) = produce_events(1, 25_000);
$node->safe_psql('postgres', qq{
	SELECT lambda.create_kafka_source(
		name => 'ev_src', target => 'events', brokers => '$bootstrap', topic => 'events',
		parallelism => 2, batch_size => 100, batch_wait => '50 ms',
		-- little read-ahead: librdkafka keeps fetching while the batches are
		-- slow, so without a limit it would hold the whole topic in memory
		-- before the broker crash below and the crash would interrupt nothing
		options => '{"fetch.message.max.bytes": 4096, "queued.max.messages.kbytes": 64}');
});
LambdaNode::wait_for($node, 'SELECT count(*) > 3000 FROM events', 't', timeout => 120);
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM events');
$node->stop('immediate');
cmp_ok($before, '<', $good1, "the server crashed mid-stream ($before of $good1 events in)");
$node->start;
ok(LambdaNode::wait_for($node, $consumed, $good1 + $bad1, timeout => 180),
	'after the crash every message is consumed');
is($node->safe_psql('postgres', $rows), "$good1|$good1|1|25000",
	'exactly once across the server crash: ids 1..25000, each once');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT (partition, "offset")) FROM lambda.dead_letters'),
	"$bad1|$bad1", 'every malformed message is one dead letter');

# 2. A broker crash (SIGKILL) while the source consumes, then the broker
# comes back on the same port with its data.
my ($good2, $bad2) = produce_events(25_001, 50_000);
LambdaNode::wait_for($node, 'SELECT count(*) > ' . ($good1 + 3000) . ' FROM events', 't', timeout => 120);
$kafka->kill;
my $at_kill = $node->safe_psql('postgres', 'SELECT count(*) FROM events');
cmp_ok($at_kill, '<', $good1 + $good2, "the broker crashed mid-stream ($at_kill events in)");
ok(LambdaNode::wait_for($node,
	q{SELECT bool_or(state = 'retrying' AND last_error IS NOT NULL) FROM lambda.source_status WHERE source = 'ev_src'},
	't', timeout => 60), 'without its broker the source is retrying and says why');
$kafka->start_again;
ok(LambdaNode::wait_for($node, $consumed, $good1 + $bad1 + $good2 + $bad2, timeout => 180),
	'with the broker back every message is consumed');
is($node->safe_psql('postgres', $rows), ($good1 + $good2) . '|' . ($good1 + $good2) . '|1|50000',
	'exactly once across the broker crash: ids 1..50000, each once');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT (partition, "offset")) FROM lambda.dead_letters'),
	($bad1 + $bad2) . '|' . ($bad1 + $bad2), 'dead letters exactly once too');
ok(LambdaNode::wait_for($node,
	q{SELECT bool_and(state = 'running') AND sum(lag) = 0 FROM lambda.source_status WHERE source = 'ev_src'},
	't', timeout => 60), 'the source runs again with no lag');
my $hw = $kafka->high_watermarks('events');
is($node->safe_psql('postgres', q{SELECT string_agg(partition || ':' || committed_offset, ',' ORDER BY partition)
	FROM lambda.source_status WHERE source = 'ev_src'}),
	join(',', map { "$_:$hw->{$_}" } sort { $a <=> $b } keys %$hw),
	'the stored offsets are the broker\'s high watermarks');
$node->safe_psql('postgres', 'DROP TRIGGER slow ON events');

# 3. Transactional producers: only committed transactions become rows. The
# source reads with isolation.level=read_committed (librdkafka's default,
# which pg_lambda leaves in place).
$kafka->create_topic('tx', 2);
my $txns = $kafka->txn_produce('tx', 'pg-lambda-test-producer', 1,
	'c:500,a:200,c:300,a:100,c:1,a:50');
my (@committed, @aborted);
for my $t (@$txns)
{
	push @{ $t->{fate} eq 'commit' ? \@committed : \@aborted }, $t->{from} .. $t->{to};
}
$node->safe_psql('postgres', qq{
	CREATE TABLE txev (id int NOT NULL, txn int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('txev', 'ts');
	SELECT lambda.create_kafka_source('tx_src', 'txev', '$bootstrap', 'tx', batch_wait => '20 ms');
});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM txev}, scalar(@committed), timeout => 60), 'the committed messages arrive');
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) = 2 AND bool_and(lag = 0) FROM lambda.source_status WHERE source = 'tx_src'}, 't', timeout => 30),
	'lag reaches 0 on both partitions despite transaction markers and aborted messages');
is($node->safe_psql('postgres', q{SELECT string_agg(id::text, ',' ORDER BY id) FROM txev}),
	join(',', sort { $a <=> $b } @committed), 'the rows are exactly the committed messages');
is($node->safe_psql('postgres', 'SELECT count(*) FROM txev WHERE id IN (' . join(',', @aborted) . ')'),
	'0', 'no message of an aborted transaction is a row');
is($node->safe_psql('postgres', q{SELECT count(*) FROM lambda.dead_letters WHERE source = 'tx_src'}),
	'0', '... nor a dead letter');
# The log ends with an aborted transaction and its marker: offsets that are
# never delivered lie between the stored offset and the high watermark.
is($node->safe_psql('postgres', q{SELECT bool_and(high_watermark > committed_offset) FROM lambda.source_status WHERE source = 'tx_src'}),
	't', 'the stored offsets stop before the trailing markers, which the lag does not count');
# After a restart the worker resumes behind those markers: nothing new, nothing twice.
$node->restart;
$kafka->txn_produce('tx', 'pg-lambda-test-producer', 10_001, 'c:10');
ok(LambdaNode::wait_for($node, q{SELECT count(*), count(DISTINCT id) FROM txev},
	(@committed + 10) . '|' . (@committed + 10), timeout => 60),
	'after a restart only the next committed transaction arrives');

# 4. Retention overtakes a stopped source: offsets the log no longer holds
# are skipped, counted and announced; never silently.
$kafka->create_topic('ret', 1, 'retention.ms' => 3_600_000, 'segment.bytes' => 1_048_576);
$node->safe_psql('postgres', qq{
	CREATE TABLE retev (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('retev', 'ts');
	SELECT lambda.create_kafka_source('ret_src', 'retev', '$bootstrap', 'ret', batch_wait => '20 ms');
});
sub produce_ret
{
	my ($from, $to) = @_;
	$kafka->produce('ret', [ map { qq({"id": $_, "ts": "2025-01-01T00:00:00Z"}) } $from .. $to ], partition => 0);
}
produce_ret(1, 100);
ok(LambdaNode::wait_for($node, 'SELECT count(*) FROM retev', '100', timeout => 60), 'the first 100 arrive');
$node->safe_psql('postgres', q{SELECT lambda.stop_source('ret_src')});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg_lambda source ret_src/%'}, '0', timeout => 30),
	'the source is stopped');
produce_ret(101, 300);
# What retention does while the source is stopped: the log now starts at offset 250.
is($kafka->delete_records('ret', 0, 250), '250', 'the log start moved to offset 250');
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', q{SELECT lambda.start_source('ret_src')});
ok(LambdaNode::wait_for($node, 'SELECT count(*) FROM retev', '150', timeout => 60),
	'the source continues at the log start');
is($node->safe_psql('postgres', q{SELECT string_agg(id::text, ',' ORDER BY id) FROM retev}),
	join(',', 1 .. 100, 251 .. 300), 'the rows are ids 1..100 and 251..300: nothing twice, only the deleted ones missing');
ok(LambdaNode::wait_for($node,
	q{SELECT committed_offset, lag, skipped_offsets, state FROM lambda.source_status WHERE source = 'ret_src'},
	'300|0|150|running', timeout => 30), 'source_status counts the 150 skipped offsets');
like($node->safe_psql('postgres', q{SELECT last_error FROM lambda.source_status WHERE source = 'ret_src'}),
	qr/^offsets 100 to 249 of partition 0 were deleted by retention before they were consumed; 150 skipped$/,
	'last_error names the lost range');
like(substr(slurp_file($node->logfile), $log_offset),
	qr/WARNING:  Kafka source "ret_src" skipped offsets 100 to 249 of partition 0 of topic "ret"/,
	'the log warns with the range');

# A stored offset past the end of the partition (a recreated topic) is never
# skipped: the worker fails with the reason until an operator acts.
$node->safe_psql('postgres', q{SELECT lambda.stop_source('ret_src')});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg_lambda source ret_src/%'}, '0', timeout => 30),
	'stopped again');
$node->safe_psql('postgres', q{UPDATE lambda_catalog.source_offset SET next_offset = 1000
	WHERE source_id = (SELECT id FROM lambda_catalog.source WHERE name = 'ret_src')});
$node->safe_psql('postgres', q{SELECT lambda.start_source('ret_src')});
ok(LambdaNode::wait_for($node,
	q{SELECT last_error LIKE 'offset 1000 of partition 0 of Kafka source "ret_src" is past the end of the partition (offset 300)' FROM lambda.source_status WHERE source = 'ret_src'},
	't', timeout => 60), 'a stored offset past the end fails the worker with the reason');
produce_ret(301, 310);
sleep 2;
is($node->safe_psql('postgres', 'SELECT count(*), max(skipped_offsets) FROM retev, lambda.source_status WHERE source = \'ret_src\''),
	'150|150', 'nothing is skipped or ingested meanwhile');
$node->safe_psql('postgres', q{SELECT lambda.stop_source('ret_src');
	UPDATE lambda_catalog.source_offset SET next_offset = 300
	 WHERE source_id = (SELECT id FROM lambda_catalog.source WHERE name = 'ret_src');
	SELECT lambda.start_source('ret_src')});
ok(LambdaNode::wait_for($node, 'SELECT count(*), max(id) FROM retev', '160|310', timeout => 60),
	'once the operator sets the offset back in range it resumes');

$kafka->stop;
done_testing();
