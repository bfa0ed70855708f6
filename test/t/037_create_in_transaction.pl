# A continuous view created in the transaction that inserted its events:
# the build folds them in, so its cut must see that transaction, although
# the snapshot of a transaction leaves its own ids out. After a restart the
# speed layer is rebuilt from the events after the cut; counted there too,
# they would be counted twice. Two views of each kind of batch table (one
# filled by multi-insert, one by INSERT ... SELECT because of _lambda_long),
# before and after the restart, before and after the scheduler's rebuild, and
# after a recompute. Events the transaction inserts after a CREATE, a
# REFRESH or a recompute are not in that cut: counted after it, in the speed
# layer and when the events after the cut are read.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

my $node = LambdaNode->new_node('create_in_xact');

sub query { return $node->safe_psql('postgres', $_[0]); }

# (events in the transaction and in a subtransaction of it)
$node->safe_psql('postgres', q{
	CREATE TABLE ev (k int, t text, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
});
$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO ev SELECT i % 7, 't' || (i % 5), i, '2025-01-01' FROM generate_series(1, 1000) i;
	SAVEPOINT s;
	INSERT INTO ev SELECT i % 7, 't' || (i % 5), i, '2025-01-02' FROM generate_series(1, 10) i;
	RELEASE s;
	SAVEPOINT across;
	INSERT INTO ev VALUES (3, 't3', 30, '2025-01-02');
	CREATE MATERIALIZED VIEW v_int WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k;
	INSERT INTO ev VALUES (3, 't3', 31, '2025-01-02');
	RELEASE across;
	INSERT INTO ev SELECT i % 7, 't' || (i % 5), i, '2025-01-02' FROM generate_series(1, 20) i;
	CREATE MATERIALIZED VIEW v_text WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT t, count(*) AS n, sum(x) AS s FROM ev GROUP BY t;
	INSERT INTO ev SELECT i % 9, 't' || (i % 6), i, '2025-01-03' FROM generate_series(1, 30) i;
	SAVEPOINT after;
	INSERT INTO ev VALUES (8, 't8', 80, '2025-01-03');
	RELEASE after;
	COMMIT;
});

my %def = (
	v_int => 'SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k',
	v_text => 'SELECT t, count(*) AS n, sum(x) AS s FROM ev GROUP BY t');

sub check
{
	my ($what) = @_;
	foreach my $v (sort keys %def)
	{
		is(query("SELECT count(*) FROM ((TABLE $v EXCEPT ALL $def{$v}) UNION ALL ($def{$v} EXCEPT ALL TABLE $v)) d"),
			'0', "$what: $v equals its defining query");
	}
}

check('created with its events, and more after each CREATE');
$node->safe_psql('postgres', q{INSERT INTO ev VALUES (1, 't1', 5, '2025-01-03')});
check('one more event');
$node->restart;
check('after a restart');
ok(LambdaNode::wait_for($node, q{SELECT string_agg(state, ',') FROM lambda.view_status}, 'active,active',
	timeout => 60), 'the scheduler rebuilds both speed layers');
check('after the speed layers were rebuilt from the events after the cut');
$node->safe_psql('postgres', q{SELECT lambda.recompute('v_int'); SELECT lambda.recompute('v_text');});
check('after a recompute');

# A refresh and a recompute, each followed by more events in its
# transaction (a refresh after events in its transaction is refused): the
# events after each are not in its cut (read from the events after a
# restart, as above)
$node->safe_psql('postgres', q{
	INSERT INTO ev SELECT i % 13, 't' || (i % 3), i, '2025-01-04' FROM generate_series(1, 60) i;
	BEGIN;
	REFRESH MATERIALIZED VIEW v_int;
	INSERT INTO ev SELECT i % 11, 't' || (i % 4), i, '2025-01-05' FROM generate_series(1, 40) i;
	COMMIT;
	BEGIN;
	SELECT lambda.recompute('v_text');
	INSERT INTO ev SELECT i % 5, 't' || (i % 7), i, '2025-01-06' FROM generate_series(1, 50) i;
	COMMIT;
});
check('refreshed, recomputed, each in a transaction that inserted events after it');
$node->restart;
check('after a restart, from the events after the cuts');
ok(LambdaNode::wait_for($node, q{SELECT string_agg(state, ',') FROM lambda.view_status}, 'active,active',
	timeout => 60), 'the scheduler rebuilds both speed layers again');
check('after the speed layers were rebuilt again');
$node->safe_psql('postgres', q{REFRESH MATERIALIZED VIEW v_int; REFRESH MATERIALIZED VIEW v_text;});
check('after refreshes');
done_testing();
