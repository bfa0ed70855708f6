# Kafka sources as an operator lives with them: source_status after a broker
# outage (last_error_at, last_batch_at), column lists in the workers' csv,
# text and json parsing, lambda.alter_kafka_source on a running source (new
# brokers, parallelism 1 -> 2 -> 1, batch size) with nothing lost or
# duplicated, and dead letters replayed after the table was fixed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { st => 1, cols => 1, txt => 1, js => 1, al => 4, gr => 4, dl => 2 },
	brokers => 1);
my $bootstrap = $kafka->bootstrap;
my $node = LambdaNode->new_node('source_ux');

# ---------------------------------------------------------------------------
# 1. source_status across a broker outage
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', qq{
	CREATE TABLE st (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('st', 'ts');
	SELECT lambda.create_kafka_source('st_src', 'st', '$bootstrap', 'st', batch_wait => '20 ms');
});
sub produce_st
{
	my ($from, $to) = @_;
	$kafka->produce('st', [ map { qq({"id": $_, "ts": "2025-03-01T00:00:00Z"}) } $from .. $to ]);
}
produce_st(1, 100);
ok(LambdaNode::wait_for($node, 'SELECT count(*) FROM st', '100'), 'events arrive');
is($node->safe_psql('postgres', q{SELECT state, last_error IS NULL, last_error_at IS NULL,
		last_batch_at > now() - interval '5 minutes'
	FROM lambda.source_status WHERE source = 'st_src'}),
	'running|t|t|t', 'a healthy source: running, no error, a recent batch');

my $before_outage = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
$kafka->command('down all');
ok(LambdaNode::wait_for($node, q{SELECT state, last_error IS NOT NULL, last_error_at IS NOT NULL
	FROM lambda.source_status WHERE source = 'st_src'}, 'retrying|t|t', timeout => 60),
	'brokers down: retrying, with the error and its time');
is($node->safe_psql('postgres', qq{SELECT last_error_at > '$before_outage' AND last_error_at <= clock_timestamp()
		AND last_error_at > last_batch_at
	FROM lambda.source_status WHERE source = 'st_src'}),
	't', 'the error is newer than the last batch while the brokers are down');

$kafka->command('up all');
produce_st(101, 200);
ok(LambdaNode::wait_for($node, q{SELECT count(*), count(DISTINCT id) FROM st}, '200|200', timeout => 90),
	'brokers up: it resumes with nothing lost or duplicated');
ok(LambdaNode::wait_for($node, q{SELECT state, last_batch_at > last_error_at
	FROM lambda.source_status WHERE source = 'st_src'}, 'running|t', timeout => 60),
	'running again, and the last batch is newer than the error');
# messages produced now are newer than any error seen before the recovery
produce_st(201, 210);
ok(LambdaNode::wait_for($node, q{SELECT count(*) FROM st}, '210', timeout => 60), 'more events arrive');
is($node->safe_psql('postgres', q{SELECT state, last_error IS NOT NULL, last_error_at < last_message_at,
		last_error_at < last_batch_at
	FROM lambda.source_status WHERE source = 'st_src'}),
	'running|t|t|t', 'the old error stays visible, older than the newest message and the last batch');

# ---------------------------------------------------------------------------
# 2. Column lists in the workers' csv, text and json parsing
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', qq{
	CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY, sku text NOT NULL,
	                     qty int NOT NULL DEFAULT 1, note text, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('orders', 'ts');
	SELECT lambda.create_kafka_source('cols_src', 'orders', '$bootstrap', 'cols', format => 'csv',
	    event_time => 'kafka', columns => ARRAY['sku', 'qty']);
	SELECT lambda.create_kafka_source('txt_src', 'orders', '$bootstrap', 'txt', format => 'text',
	    event_time => 'payload_or_kafka', columns => ARRAY['note', 'sku', 'ts']);
	SELECT lambda.create_kafka_source('js_src', 'orders', '$bootstrap', 'js',
	    event_time => 'kafka', columns => ARRAY['sku', 'note']);
});
$kafka->produce('cols', [ 'widget,3', 'gadget', 'bolt,x', 'a,1,extra' ]);
ok(LambdaNode::wait_for($node, q{SELECT sum(events + dead_letters) FROM lambda.source_status
	WHERE source = 'cols_src'}, '4', timeout => 60), 'csv messages are consumed');
$kafka->produce('txt', [ "fragile\tbox\t2025-04-01 00:00:00+00", "\\N\tcrate" ]);
$kafka->produce('js', [ '{"id": 99, "sku": "lamp", "qty": 7, "note": "n"}' ]);
ok(LambdaNode::wait_for($node, q{SELECT sum(events + dead_letters) FROM lambda.source_status
	WHERE source IN ('txt_src', 'js_src')}, '3', timeout => 60), 'text and json messages are consumed');
is($node->safe_psql('postgres', q{SELECT sku, qty, note FROM orders ORDER BY sku}),
	"box|1|fragile\ncrate|1|\ngadget|1|\nlamp|1|n\nwidget|3|",
	'fields fill the listed columns in list order; json reads only listed keys');
is($node->safe_psql('postgres', q{SELECT count(DISTINCT id), count(*) FILTER (WHERE ts IS NULL),
		(SELECT ts FROM orders WHERE sku = 'box') = '2025-04-01 00:00:00+00'
	FROM orders}), '5|0|t', 'the identity fills itself; the time comes from the list or Kafka');
is($node->safe_psql('postgres', q{SELECT string_agg(error, ' / ' ORDER BY "offset") FROM lambda.dead_letters
	WHERE source = 'cols_src'}),
	q{invalid input syntax for type integer: "x" (column "qty") / CSV payload has more fields than the source's column list has columns (2)},
	'bad csv rows are dead letters that say why');

# ---------------------------------------------------------------------------
# 3. lambda.alter_kafka_source on running sources
# ---------------------------------------------------------------------------
# Wrong brokers: retrying; altered to the right ones, it consumes.
$node->safe_psql('postgres', q{
	CREATE TABLE al (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('al', 'ts');
	SELECT lambda.create_kafka_source('al_src', 'al', '127.0.0.1:1', 'al', batch_size => 100);
});
ok(LambdaNode::wait_for($node, q{SELECT state FROM lambda.source_status WHERE source = 'al_src'},
	'retrying', timeout => 60), 'a source with wrong brokers retries');

my $file = $node->basedir . '/al1.json';
sub write_al
{
	my ($path, $from, $to) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh qq({"id": $_, "ts": "2025-03-01T00:00:00Z"}\n) for $from .. $to;
	close $fh;
}
write_al($file, 1, 20000);
# small record batches, small fetches and a slow broker: consuming takes
# seconds, so that the next alter lands mid-stream
$kafka->produce_file('al', $file, spread => 1, compression => 'none',
	config => { 'batch.num.messages' => 100 });
$kafka->command('rtt all 100');
$node->safe_psql('postgres', qq{SELECT lambda.alter_kafka_source('al_src', brokers => '$bootstrap',
	options => '{"fetch.message.max.bytes": 4096}')});
ok(LambdaNode::wait_for($node, 'SELECT count(*) > 0 FROM al', 't', timeout => 60),
	'altered to the right brokers, it consumes');

# Parallelism 1 -> 2 and a bigger batch while it consumes, then more events.
my $mid = $node->safe_psql('postgres', 'SELECT count(*) FROM al');
$node->safe_psql('postgres', q{SELECT lambda.alter_kafka_source('al_src', parallelism => 2, batch_size => 500)});
cmp_ok($mid, '<', 20000, "the alter came while the source was consuming ($mid of 20000 in)");
$kafka->command('rtt all 0');
$file = $node->basedir . '/al2.json';
write_al($file, 20001, 30000);
$kafka->produce_file('al', $file, spread => 1);
ok(LambdaNode::wait_for($node, 'SELECT count(*) FROM al', '30000', timeout => 180),
	'every event arrives after the alter');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM al'),
	'30000|30000|1|30000', 'nothing lost, nothing duplicated');
is($node->safe_psql('postgres', q{SELECT sum(events), count(*), bool_and(committed_offset = high_watermark)
	FROM lambda.source_status WHERE source = 'al_src'}), '30000|4|t',
	'the counters went on from the stored offsets, on all 4 partitions');
ok(LambdaNode::wait_for($node, q{SELECT count(*) FROM pg_stat_activity
	WHERE application_name LIKE 'pg_lambda source al_src/%'}, '2', timeout => 30),
	'two workers consume it');
is($node->safe_psql('postgres', q{SELECT count(DISTINCT worker_pid), bool_and(state = 'running')
	FROM lambda.source_status WHERE source = 'al_src'}), '2|t', 'the partitions are split between them');
is($node->safe_psql('postgres', q{SELECT parallelism, batch_size, brokers <> '127.0.0.1:1'
	FROM lambda.sources WHERE name = 'al_src'}), '2|500|t', 'lambda.sources shows the new settings');
like(slurp_file($node->logfile), qr/Kafka source "al_src" worker 0 loads the source again after it was altered/,
	'the running worker loaded the source again');

# And back to one worker.
$node->safe_psql('postgres', q{SELECT lambda.alter_kafka_source('al_src', parallelism => 1, reset => '{batch_size}')});
ok(LambdaNode::wait_for($node, q{SELECT count(*) FROM pg_stat_activity
	WHERE application_name LIKE 'pg_lambda source al_src/%'}, '1', timeout => 30),
	'parallelism 1: the second worker leaves');
$file = $node->basedir . '/al3.json';
write_al($file, 30001, 31000);
$kafka->produce_file('al', $file, spread => 1);
ok(LambdaNode::wait_for($node, 'SELECT count(*), count(DISTINCT id) FROM al', '31000|31000', timeout => 90),
	'one worker consumes every partition again, exactly once');

# Consumer-group mode: the workers leave the group, join it again with the
# new settings, and every partition resumes where the last batch ended.
$node->safe_psql('postgres', qq{
	CREATE TABLE gr (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('gr', 'ts');
	SELECT lambda.create_kafka_source('gr_src', 'gr', '$bootstrap', 'gr', group_id => 'pg_lambda_ux_group',
	    options => '{"session.timeout.ms": 6000}');
});
sub produce_gr
{
	my ($from, $to) = @_;
	$kafka->produce('gr', [ map { qq({"id": $_, "ts": "2025-03-01T00:00:00Z"}) } $from .. $to ], spread => 1);
}
produce_gr(1, 2000);
ok(LambdaNode::wait_for($node, 'SELECT count(*) FROM gr', '2000', timeout => 120), 'group mode: events arrive');
$node->safe_psql('postgres', q{SELECT lambda.alter_kafka_source('gr_src', parallelism => 2, batch_size => 100)});
produce_gr(2001, 4000);
ok(LambdaNode::wait_for($node, 'SELECT count(*), count(DISTINCT id) FROM gr', '4000|4000', timeout => 120),
	'group mode: after the alter every event arrives once');
ok(LambdaNode::wait_for($node, q{SELECT count(DISTINCT w.worker) FROM lambda_catalog.source_workers() w
	JOIN lambda_catalog.source s ON s.id = w.source_id WHERE s.name = 'gr_src' AND w.partition IS NOT NULL},
	'2', timeout => 120), 'group mode: the group gives both workers partitions');
is($node->safe_psql('postgres', q{SELECT sum(events) FROM lambda.source_status WHERE source = 'gr_src'}),
	'4000', 'group mode: the counters went on from the stored offsets');

# ---------------------------------------------------------------------------
# 4. Dead letters replayed after the table was fixed
# ---------------------------------------------------------------------------
$node->safe_psql('postgres', qq{
	CREATE TABLE dl (id int NOT NULL, amount int CONSTRAINT small CHECK (amount < 1000),
	                 ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('dl', 'ts');
	CREATE MATERIALIZED VIEW dl_totals WITH (lambda.continuous) AS
	    SELECT count(*) AS events, sum(amount) AS amount FROM dl;
	SELECT lambda.create_kafka_source('dl_src', 'dl', '$bootstrap', 'dl',
	    event_time => 'payload_or_kafka');
});
$kafka->produce('dl', [ map { qq({"id": $_, "amount": ) . ($_ % 10 == 0 ? 5000 : $_) . qq(, "ts": "2025-02-01T00:00:00Z"}) }
	1 .. 200 ], spread => 1);
# one without a time of its own: the replay must use its Kafka timestamp
$kafka->produce_timestamped('dl', 1, [ [ 1735689600000, '{"id":201,"amount":7000}' ] ]);
ok(LambdaNode::wait_for($node, q{SELECT sum(events), sum(dead_letters) FROM lambda.source_status
	WHERE source = 'dl_src'}, '180|21', timeout => 60), 'messages over the limit are dead letters');
is($node->safe_psql('postgres', q{SELECT count(*), count(kafka_timestamp) FROM lambda_catalog.dead_letter
	WHERE source_id = (SELECT id FROM lambda_catalog.source WHERE name = 'dl_src')}),
	'21|21', 'the worker keeps each dead letter\'s Kafka timestamp');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT * FROM lambda.replay_dead_letters('dl_src')});
is($out, '0|21', 'a replay before the fix replays nothing');

$node->safe_psql('postgres', 'ALTER TABLE dl DROP CONSTRAINT small');
($ret, $out, $err) = $node->psql('postgres', q{SELECT * FROM lambda.replay_dead_letters('dl_src')});
is($out, '21|0', 'after the fix every dead letter replays');
like($err, qr/NOTICE:  replayed 21 of 21 dead letters of Kafka source "dl_src" into table "dl"/,
	'and says so');
is($node->safe_psql('postgres', q{SELECT count(*), count(DISTINCT id), sum(amount) FROM dl}),
	'201|201|' . (20100 - 2100 + 20 * 5000 + 7000), 'each message is one row');
is($node->safe_psql('postgres', q{SELECT ts FROM dl WHERE id = 201}), '2025-01-01 00:00:00+00',
	'a replayed message without a time gets its Kafka timestamp');
is($node->safe_psql('postgres', q{SELECT count(*) FROM lambda.dead_letters WHERE source = 'dl_src'}), '0',
	'no dead letter is left');
is($node->safe_psql('postgres', q{SELECT * FROM dl_totals}),
	$node->safe_psql('postgres', q{SELECT count(*), sum(amount) FROM dl}),
	'the continuous view has the replayed rows');
is($node->safe_psql('postgres', q{SELECT sum(events), sum(dead_letters) FROM lambda.source_status
	WHERE source = 'dl_src'}), '180|21', 'the counters keep the workers\' history');
# the worker goes on, unaffected
$kafka->produce('dl', [ map { qq({"id": $_, "amount": 5000, "ts": "2025-02-01T00:00:00Z"}) } 202 .. 210 ], spread => 1);
ok(LambdaNode::wait_for($node, 'SELECT count(*), count(DISTINCT id) FROM dl', '210|210', timeout => 60),
	'the source consumes on after the replay');

$kafka->stop;
done_testing();
