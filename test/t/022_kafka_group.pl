# Two PostgreSQL servers in one Kafka consumer group split a topic's
# partitions: together they ingest every event exactly once, with no overlap
# and no gap, across the rebalance that happens when the second one joins.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { shared => 4 }, brokers => 1);
my $bootstrap = $kafka->bootstrap;

my @nodes = map { LambdaNode->new_node("group_$_") } ('a', 'b');
for my $node (@nodes)
{
	$node->safe_psql('postgres', q{
		CREATE TABLE ev (id int NOT NULL, ts timestamptz NOT NULL);
		SELECT lambda.create_event_table('ev', 'ts');
	});
}

sub produce_ids
{
	my ($from, $to) = @_;
	my $path = $nodes[0]->basedir . "/ids_$from.json";
	open(my $fh, '>', $path) or die;
	print $fh qq({"id": $_, "ts": "2025-03-01T00:00:00Z"}\n) for $from .. $to;
	close $fh;
	$kafka->produce_file('shared', $path, spread => 1);
}

# A short session timeout, so that the group notices a crashed member soon.
my $create = qq{SELECT lambda.create_kafka_source('grp', 'ev', '$bootstrap', 'shared',
	group_id => 'pg_lambda_test_group', options => '{"session.timeout.ms": 6000}')};

# Server A alone gets every partition.
$nodes[0]->safe_psql('postgres', $create);
produce_ids(1, 10000);
ok(LambdaNode::wait_for($nodes[0], 'SELECT count(*) FROM ev', '10000', timeout => 120),
	'the first server alone consumes everything');

# Server B joins: the group rebalances; events keep coming meanwhile.
$nodes[1]->safe_psql('postgres', $create);
produce_ids(10001, 15000);
ok(LambdaNode::wait_for($nodes[1],
	q{SELECT count(*) > 0 FROM lambda.source_status WHERE worker_pid IS NOT NULL AND partition IS NOT NULL}, 't', timeout => 120),
	'the second server is assigned partitions');
produce_ids(15001, 30000);

my $total = sub {
	$nodes[0]->safe_psql('postgres', 'SELECT count(*) FROM ev') +
	  $nodes[1]->safe_psql('postgres', 'SELECT count(*) FROM ev');
};
my $deadline = time() + 180;
sleep 1 while $total->() < 30000 && time() < $deadline;
is($total->(), 30000, 'together the servers ingested every event exactly once');

my %seen;
my $dups = 0;
for my $node (@nodes)
{
	for my $id (split /\n/, $node->safe_psql('postgres', 'SELECT id FROM ev'))
	{
		$dups++ if $seen{$id}++;
	}
}
is($dups, 0, 'no event is on both servers (no overlap)');
is(scalar(keys %seen), 30000, 'no event is missing (no gap)');
cmp_ok($nodes[1]->safe_psql('postgres', 'SELECT count(*) FROM ev'), '>', 0,
	'the second server took its share');

# A crash of one server while both consume: the group moves its partitions
# to the other and back; each batch is committed here and to the group
# together (two-phase commit), so still nothing is lost or read twice.
produce_ids(30001, 60000);
my $deadline2 = time() + 60;
sleep 0.1 while $total->() < 31000 && time() < $deadline2;
$nodes[0]->stop('immediate');
produce_ids(60001, 70000);
$nodes[0]->start;
$deadline = time() + 240;
sleep 1 while $total->() < 70000 && time() < $deadline;
is($total->(), 70000, 'after a crash of one server, together they still hold every event once');
%seen = ();
$dups = 0;
for my $node (@nodes)
{
	for my $id (split /\n/, $node->safe_psql('postgres', 'SELECT id FROM ev'))
	{
		$dups++ if $seen{$id}++;
	}
}
is($dups, 0, 'no overlap after the crash');
is(scalar(keys %seen), 70000, 'no gap after the crash');
for my $node (@nodes)
{
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'pg_lambda:%'}),
		'0', 'no batch is left prepared on ' . $node->name);
}

$kafka->stop;
done_testing();
