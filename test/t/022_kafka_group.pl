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

my $create = qq{SELECT lambda.create_kafka_source('grp', 'ev', '$bootstrap', 'shared', group_id => 'pg_lambda_test_group')};

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

$kafka->stop;
done_testing();
