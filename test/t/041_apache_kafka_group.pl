# Two PostgreSQL servers in one consumer group of a real Apache Kafka 4.x
# broker split a topic: the group coordinator assigns partitions, rebalances
# when the second server joins and when one crashes and comes back; every
# batch is committed here and to the group together (two-phase commit).
# Together the servers hold every event exactly once: no overlap, no gap.
#
# Classic group protocol (mandatory), then KIP-848 (group.protocol=consumer):
# the same scenario where librdkafka supports it (>= 2.12, e.g. Debian sid),
# and otherwise the clear refusal of it (SQLSTATE 0A000) is checked, never
# skipped.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaApacheKafka;

my $kafka = LambdaApacheKafka->start(name => 'group', topics => { shared => 4 });
my $bootstrap = $kafka->bootstrap;

my @nodes = map { LambdaNode->new_node("real_group_$_", conf => "lambda.worker_restart_interval = 1") } ('a', 'b');
for my $node (@nodes)
{
	$node->safe_psql('postgres', q{
		CREATE TABLE ev (id int NOT NULL, ts timestamptz NOT NULL);
		SELECT lambda.create_event_table('ev', 'ts');
		CREATE TABLE ev848 (id int NOT NULL, ts timestamptz NOT NULL);
		SELECT lambda.create_event_table('ev848', 'ts');
		-- every batch sleeps 30 ms (statement triggers fire once per batch),
		-- so that the crash below lands mid-stream
		CREATE FUNCTION slow_batch() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN PERFORM pg_sleep(0.03); RETURN NULL; END$$;
		CREATE TRIGGER slow AFTER INSERT ON ev FOR EACH STATEMENT EXECUTE FUNCTION slow_batch();
		CREATE TRIGGER slow AFTER INSERT ON ev848 FOR EACH STATEMENT EXECUTE FUNCTION slow_batch();
	});
}

sub produce_ids
{
	my ($topic, $from, $to) = @_;
	my $path = $nodes[0]->basedir . "/ids_${topic}_$from.json";
	open(my $fh, '>', $path) or die;
	print $fh qq({"id": $_, "ts": "2025-03-01T00:00:00Z"}\n) for $from .. $to;
	close $fh;
	# small record batches: the consumers' fetches stay small too
	$kafka->produce_file($topic, $path, spread => 1, compression => 'none',
		config => { 'batch.num.messages' => 200 });
}

# Every id in both servers' tables: [total rows, distinct ids, ids on both].
sub census
{
	my ($table) = @_;
	my (%seen, $rows);
	for my $node (@nodes)
	{
		for my $id (split /\n/, $node->safe_psql('postgres', "SELECT id FROM $table"))
		{
			$seen{$id}++;
			$rows++;
		}
	}
	return ($rows // 0, scalar(keys %seen), scalar(grep { $seen{$_} > 1 } keys %seen), \%seen);
}

sub wait_total
{
	my ($table, $want, $timeout) = @_;
	my $deadline = time() + $timeout;
	my $rows = 0;
	while (time() < $deadline)
	{
		$rows = 0;
		$rows += $_->safe_psql('postgres', "SELECT count(*) FROM $table") for @nodes;
		return $rows if $rows >= $want;
		select(undef, undef, undef, 0.2);
	}
	return $rows;
}

# Runs the whole scenario for one group protocol on one topic and table.
sub scenario
{
	my ($label, $topic, $table, $group, $extra) = @_;
	my $create = qq{SELECT lambda.create_kafka_source('$table', '$table', '$bootstrap', '$topic',
		group_id => '$group', batch_size => 100, batch_wait => '50 ms', options => '$extra')};

	# Server A alone gets every partition.
	$nodes[0]->safe_psql('postgres', $create);
	produce_ids($topic, 1, 10_000);
	ok(LambdaNode::wait_for($nodes[0], "SELECT count(*) FROM $table", '10000', timeout => 120),
		"$label: the first server alone consumes everything");

	# Server B joins: the group rebalances while events keep coming.
	$nodes[1]->safe_psql('postgres', $create);
	produce_ids($topic, 10_001, 15_000);
	ok(LambdaNode::wait_for($nodes[1],
		"SELECT count(*) > 0 FROM lambda.source_status WHERE source = '$table' AND worker_pid IS NOT NULL AND partition IS NOT NULL",
		't', timeout => 120), "$label: the second server is assigned partitions");
	produce_ids($topic, 15_001, 30_000);
	is(wait_total($table, 30_000, 180), 30_000, "$label: together the servers ingested 30000 rows");
	my ($rows, $distinct, $both) = census($table);
	is("$distinct|$both", '30000|0', "$label: ids 1..30000 each on exactly one server");
	cmp_ok($nodes[1]->safe_psql('postgres', "SELECT count(*) FROM $table"), '>', 0,
		"$label: the second server took its share");

	# A crash of server A mid-stream: its partitions move to B (after the
	# session timeout) and back when A returns.
	produce_ids($topic, 30_001, 60_000);
	wait_total($table, 32_000, 60);
	$rows = $nodes[0]->safe_psql('postgres', "SELECT count(*) FROM $table");
	$nodes[0]->stop('immediate');
	$rows += $nodes[1]->safe_psql('postgres', "SELECT count(*) FROM $table");
	cmp_ok($rows, '<', 60_000, "$label: server A crashed mid-stream ($rows rows in)");
	produce_ids($topic, 60_001, 70_000);
	$nodes[0]->start;
	is(wait_total($table, 70_000, 240), 70_000, "$label: after the crash, together they hold 70000 rows");
	my $seen;
	($rows, $distinct, $both, $seen) = census($table);
	is("$rows|$distinct|$both", '70000|70000|0', "$label: no overlap after the crash");
	is(scalar(grep { !$seen->{$_} } 1 .. 70_000), 0, "$label: no gap after the crash");
	for my $node (@nodes)
	{
		ok(LambdaNode::wait_for($node,
			q{SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'pg_lambda:%'}, '0', timeout => 30),
			"$label: no batch is left prepared on " . $node->name);
	}

	# Kafka's own view of the group: every partition committed to the end.
	my $describe = '';
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		$describe = $kafka->run_tool('org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
			'--bootstrap-server', $bootstrap, '--describe', '--group', $group);
		my @lags = ($describe =~ /^\s*\Q$group\E\s+\Q$topic\E\s+\d+\s+\d+\s+\d+\s+(\d+)/mg);
		last if @lags == 4 && !grep { $_ != 0 } @lags;
		sleep 1;
	}
	my @lags = ($describe =~ /^\s*\Q$group\E\s+\Q$topic\E\s+\d+\s+\d+\s+\d+\s+(\d+)/mg);
	is(join(',', @lags), '0,0,0,0', "$label: kafka-consumer-groups shows lag 0 on all 4 partitions")
	  or diag($describe);
	return;
}

scenario('classic', 'shared', 'ev', 'pg_lambda_real_classic', '{"session.timeout.ms": 6000}');

# Retention overtaking a stopped group-mode source: the same policy as in
# assigned mode (040), here through the group's assignment (the stopped
# partition is assigned again in full, as the classic protocol requires).
$kafka->create_topic('gret', 1);
$nodes[1]->safe_psql('postgres', qq{
	CREATE TABLE gret (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('gret', 'ts');
	SELECT lambda.create_kafka_source('gret', 'gret', '$bootstrap', 'gret',
		group_id => 'pg_lambda_real_gret', batch_wait => '20 ms', options => '{"session.timeout.ms": 6000}');
});
sub produce_gret
{
	my ($from, $to) = @_;
	$kafka->produce('gret', [ map { qq({"id": $_, "ts": "2025-01-01T00:00:00Z"}) } $from .. $to ], partition => 0);
}
produce_gret(1, 100);
ok(LambdaNode::wait_for($nodes[1], 'SELECT count(*) FROM gret', '100', timeout => 60),
	'group mode: the first 100 arrive');
$nodes[1]->safe_psql('postgres', q{SELECT lambda.stop_source('gret')});
ok(LambdaNode::wait_for($nodes[1],
	q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg_lambda source gret/%'}, '0', timeout => 30),
	'group mode: the source is stopped');
produce_gret(101, 300);
is($kafka->delete_records('gret', 0, 250), '250', 'group mode: the log start moved to offset 250');
$nodes[1]->safe_psql('postgres', q{SELECT lambda.start_source('gret')});
ok(LambdaNode::wait_for($nodes[1],
	q{SELECT count(*), min(id) FILTER (WHERE id > 100), max(id), (SELECT skipped_offsets FROM lambda.source_status WHERE source = 'gret') FROM gret},
	'150|251|300|150', timeout => 90),
	'group mode: offsets 100..249 skipped and counted, ids 251..300 ingested once');
is($nodes[1]->safe_psql('postgres', q{SELECT count(*), count(DISTINCT id) FROM gret}), '150|150',
	'group mode: nothing twice');

# KIP-848: the consumer group protocol where the broker assigns partitions
# and rebalances incrementally (group.protocol=consumer; the broker enables it
# in test/apache_kafka.sh). librdkafka implements it from 2.12 on; an older
# one must refuse it, clearly, when the source is created.
$kafka->create_topic('shared848', 4);
my $librdkafka = LambdaApacheKafka->librdkafka_version;
if (LambdaApacheKafka->librdkafka_at_least('2.12.0'))
{
	note("librdkafka $librdkafka: KIP-848 runs");
	# the classic protocol's own settings belong to the broker under KIP-848
	my ($ret, $out, $err) = $nodes[0]->psql('postgres', qq{
		SELECT lambda.create_kafka_source('ev848', 'ev848', '$bootstrap', 'shared848',
			group_id => 'pg_lambda_real_848',
			options => '{"group.protocol": "consumer", "session.timeout.ms": 6000}')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  22023: Kafka option "session.timeout.ms" cannot be used with group.protocol "consumer"/,
		'KIP-848: session.timeout.ms with group.protocol consumer is refused (22023)');
	like($err, qr/DETAIL:  .*group.consumer.session.timeout.ms/, '... the detail names the broker setting');

	scenario('KIP-848', 'shared848', 'ev848', 'pg_lambda_real_848', '{"group.protocol": "consumer"}');

	# The rebalances were incremental: when B joined, A gave up some of its
	# partitions and kept the others (the classic protocol revokes all).
	like(slurp_file($nodes[0]->logfile),
		qr/Kafka source "ev848" worker 0 gave up [1-3] partition\(s\), and now owns [1-3]\b/,
		'KIP-848: server A gave up only some partitions when B joined (incremental rebalance)');
}
else
{
	note("librdkafka $librdkafka: KIP-848 must be refused");
	my ($ret, $out, $err) = $nodes[0]->psql('postgres', qq{
		SELECT lambda.create_kafka_source('ev848', 'ev848', '$bootstrap', 'shared848',
			group_id => 'pg_lambda_real_848', options => '{"group.protocol": "consumer"}')},
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  0A000: Kafka option "group.protocol": "consumer" is not supported by this server/,
		"librdkafka $librdkafka < 2.12: group.protocol consumer is refused (0A000)");
	like($err, qr/DETAIL:  The consumer-group protocol of KIP-848 needs librdkafka 2.12 or later; pg_lambda here runs with librdkafka \Q$librdkafka\E\./,
		'... the detail names the version needed and the one here');
	like($err, qr/HINT:  Leave group.protocol out to use the classic protocol/, '... the hint says what to do');
	is($nodes[0]->safe_psql('postgres', q{SELECT count(*) FROM lambda.sources WHERE name = 'ev848'}), '0',
		'... and no source is created');
	# the classic protocol, named, works with any librdkafka
	$nodes[0]->safe_psql('postgres', qq{
		SELECT lambda.create_kafka_source('ev848', 'ev848', '$bootstrap', 'shared848',
			group_id => 'pg_lambda_real_848c', options => '{"group.protocol": "classic"}')});
	$kafka->produce('shared848', [ map { qq({"id": $_, "ts": "2025-01-01T00:00:00Z"}) } 1 .. 40 ]);
	ok(LambdaNode::wait_for($nodes[0], 'SELECT count(*), count(DISTINCT id) FROM ev848', '40|40', timeout => 60),
		"librdkafka $librdkafka: group.protocol classic, named, runs the classic protocol");
}

$kafka->stop;
done_testing();
