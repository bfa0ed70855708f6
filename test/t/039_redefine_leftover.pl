# lambda.alter_view_query and a session that ends in the middle of it: the
# new definition, registered in its own transaction, is left behind (it
# still captures events); the old view answers exactly all the while; the
# next alter_view_query of the view drops the leftover (with a NOTICE) and
# redefines the view.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

my $node = LambdaNode->new_node('redefine');

sub query { return $node->safe_psql('postgres', $_[0]); }

$node->safe_psql('postgres', q{
	CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL DEFAULT now());
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	INSERT INTO ev (k, x) SELECT 'k' || (i % 5), i FROM generate_series(1, 1000) i;
	CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT k, count(*) AS n FROM ev GROUP BY k;
});
my $old_diff = q{SELECT count(*) FROM ((SELECT k, n FROM v EXCEPT ALL SELECT k, count(*) FROM ev GROUP BY k)
	UNION ALL (SELECT k, count(*) FROM ev GROUP BY k EXCEPT ALL SELECT k, n FROM v)) d};
my $new_diff = q{SELECT count(*) FROM ((SELECT k, n, s FROM v EXCEPT ALL SELECT k, count(*), sum(x) FROM ev GROUP BY k)
	UNION ALL (SELECT k, count(*), sum(x) FROM ev GROUP BY k EXCEPT ALL SELECT k, n, s FROM v)) d};
my $redefine = q{CALL lambda.alter_view_query('v', $$SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k$$);};

# a reader holds the old view, so the redefinition waits to swap
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN; SELECT count(*) FROM v;');
my $redefiner = $node->background_psql('postgres', on_error_stop => 0);
$redefiner->query_until(qr/started/, "\\echo started\n$redefine\n");
ok(LambdaNode::wait_for($node, q{SELECT count(*) FROM pg_stat_activity
	WHERE query LIKE 'redefining continuous view v:%' AND wait_event_type = 'Lock'}, '1'),
	'the redefinition is built and waits for the reader to swap');
is(query(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'redefining continuous view v:%'}),
	't', 'the redefining session is terminated');
ok(LambdaNode::wait_for($node, q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'redefining continuous view v:%'}, '0'),
	'the redefining session is gone');
eval { $redefiner->quit; };
$reader->query_safe('COMMIT');
$reader->quit;

is(query(q{SELECT count(*) FROM lambda_catalog.continuous_view WHERE redefines = 'v'::regclass}), '1',
	'the registered new definition is left behind');
$node->safe_psql('postgres', q{INSERT INTO ev (k, x) SELECT 'k' || (i % 7), i FROM generate_series(1, 100) i});
is(query($old_diff), '0', 'the old view answers exactly beside the leftover');

my ($ret, $out, $err) = $node->psql('postgres', $redefine);
is($ret, 0, 'the next redefinition succeeds');
like($err, qr/NOTICE:  dropping "v_redefine", left by an unfinished redefinition of "v"/, 'it drops the leftover first');
like($err, qr/NOTICE:  continuous view "v" redefined: 7 groups/, 'and says how many groups the view has');
is(query($new_diff), '0', 'the view answers its new definition exactly');
is(query(q{SELECT count(*) FROM lambda.views}), '1', 'one continuous view is left');
is(query(q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ev'::regclass AND tgname LIKE 'lambda_capture%'}), '2',
	'the event table has the capture triggers of one view');

$node->stop;
done_testing();
