# A large transaction whose states outgrow lambda.capture_memory moves them
# into the speed layer's shared memory while it runs; for count, sum, avg,
# min and max they move into a generation of the transaction's own
# (capture.c, speed_spill_gen_put). When lambda.speed_layer_memory has no
# room for them, the transaction still commits, its view degrades at commit
# (a WARNING, view_status 'degraded') and answers exactly from the event
# table; a rolled-back transaction's moved states are freed. Once a refresh
# has folded the events, the view is active again and later transactions
# fit: nothing the failed or rolled-back moves took stays behind in shared
# memory.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

my $node = LambdaNode->new_node('spill_exhaustion');
$node->append_conf('postgresql.conf', "lambda.speed_layer_memory = '1MB'");
$node->reload;

sub query { return $node->safe_psql('postgres', $_[0]); }

my $def = 'SELECT k, count(*) AS n, sum(x) AS s, avg(x) AS a, min(x) AS lo, max(x) AS hi FROM ev GROUP BY k';
query(qq{
	CREATE TABLE ev (k int, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS $def;
});

sub differing
{
	return query("SELECT count(*) FROM ((TABLE v EXCEPT ALL $def) UNION ALL ($def EXCEPT ALL TABLE v)) d");
}

sub state
{
	return query(q{SELECT state FROM lambda.view_status WHERE view = 'v'::regclass});
}

# rolled back: its moved states are freed, the view stays active
query(q{
	SET lambda.capture_memory = '1MB';
	BEGIN;
	INSERT INTO ev SELECT i, i % 1000, '2025-01-05' FROM generate_series(1, 20000) i;
	ROLLBACK;
});
is(state(), 'active', 'a rolled-back transaction leaves the view active');

# 6,000 groups fit in 1 MB of speed layer
query(q{
	SET lambda.capture_memory = '1MB';
	INSERT INTO ev SELECT i, i % 1000, '2025-01-05' FROM generate_series(1, 6000) i;
});
is(state(), 'active', 'a transaction that fits leaves the view active');
is(differing(), '0', 'the view equals its defining query');

# 300,000 groups do not: the moves run out of room while the statement runs
my ($stdout, $stderr);
$node->psql('postgres', q{
	SET lambda.capture_memory = '1MB';
	INSERT INTO ev SELECT i, i % 1000, '2025-01-06' FROM generate_series(1, 300000) i;
}, stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/WARNING:  continuous view speed layer degraded: lambda.speed_layer_memory had no room for the states of a large transaction while it ran/,
	'the commit warns that the moved states did not fit');
is(query('SELECT count(*) FROM ev'), '306000', 'the transaction committed');
is(state(), 'degraded', 'view_status says degraded');
is(differing(), '0', 'the degraded view answers exactly what its defining query answers');

# a refresh folds the events; what the moves took is free again
query('REFRESH MATERIALIZED VIEW v');
is(state(), 'active', 'after a refresh the view is active again');
query(q{
	SET lambda.capture_memory = '1MB';
	INSERT INTO ev SELECT i, i % 1000, '2025-01-07' FROM generate_series(1, 6000) i;
});
is(state(), 'active', 'the same transaction fits again: nothing stayed behind');
is(query(q{SELECT speed_keys FROM lambda.view_status WHERE view = 'v'::regclass}), '6000',
	'its groups are in the speed layer');
is(differing(), '0', 'the view equals its defining query');
is(query('SELECT sum(n) FROM v'), '312000', 'every event is counted once');

$node->stop;
done_testing();
