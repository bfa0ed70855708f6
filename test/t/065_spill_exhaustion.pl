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
my $refreshed = query(q{SELECT last_refresh FROM lambda.view_status WHERE view = 'v'::regclass});
query(q{
	SET lambda.capture_memory = '1MB';
	INSERT INTO ev SELECT i, i % 1000, '2025-01-07' FROM generate_series(1, 6000) i;
});
is(state(), 'active', 'the same transaction fits again: nothing stayed behind');
# (they hold more than half of lambda.speed_layer_memory, so the scheduler
# may have refreshed them into the batch table already)
is(query(qq{SELECT speed_keys = 6000 OR (speed_keys = 0 AND last_refresh > '$refreshed')
	FROM lambda.view_status WHERE view = 'v'::regclass}), 't',
	'its groups are in the speed layer (or a refresh since folded them)');
is(differing(), '0', 'the view equals its defining query');
is(query('SELECT sum(n) FROM v'), '312000', 'every event is counted once');

$node->stop;

# A combine function that fails while the commit links a spilled generation
# into the open one (generation_absorb): the view degrades, and the spilled
# entries, including those left unlinked and the one whose combine failed
# (a key of 500 kB, first in the statement so that the first spill takes
# it: an entry of its own, not in a chunk), are freed: sixteen such commits
# would otherwise leave more than lambda.speed_layer_memory behind, and the
# later ones would find no room for their spills. (A combine function in
# PL/pgSQL fails at commit anyway, for want of a snapshot; test.boom makes
# it fail should it ever run there.)
my $node2 = LambdaNode->new_node('spill_combine');
$node2->append_conf('postgresql.conf', "lambda.speed_layer_memory = '6MB'");
$node2->reload;

sub query2 { return $node2->safe_psql('postgres', $_[0]); }

query2(q{
	CREATE FUNCTION boom_add(int8, int8) RETURNS int8 LANGUAGE plpgsql STRICT AS $$
	BEGIN
		IF current_setting('test.boom', true) = 'on' THEN
			RAISE EXCEPTION 'boom';
		END IF;
		RETURN $1 + $2;
	END $$;
	CREATE AGGREGATE boom_sum(int8) (sfunc = int8pl, stype = int8, combinefunc = boom_add);
	CREATE TABLE ev2 (k text, x int8, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev2', time_column => 'ts');
	CREATE MATERIALIZED VIEW v2 WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
		SELECT k, boom_sum(x) AS s FROM ev2 GROUP BY k;
});

sub state2
{
	return query2(q{SELECT state FROM lambda.view_status WHERE view = 'v2'::regclass});
}

my $big = q{repeat('x', 500000)};
my $failed = 0;
for my $round (1 .. 16)
{
	query2(qq{INSERT INTO ev2 VALUES ($big, 1, '2025-01-05')});
	$node2->psql('postgres', qq{
		SET lambda.capture_memory = '1MB';
		SET test.boom = 'on';
		INSERT INTO ev2 SELECT $big, 1, '2025-01-05'::timestamptz
			UNION ALL SELECT 'k' || i, 1, '2025-01-05' FROM generate_series(1, 30000) i;
	}, stdout => \$stdout, stderr => \$stderr);
	$failed++ if $stderr =~ /speed layer degraded: combining states failed/;
	query2('REFRESH MATERIALIZED VIEW v2');
}
is($failed, 16, 'each combine that fails while spilled states are linked in degrades the view, never memory');
is(state2(), 'active', 'a refresh makes the view active again');
query2(qq{
	SET lambda.capture_memory = '1MB';
	INSERT INTO ev2 SELECT $big, 1, '2025-01-06'::timestamptz
		UNION ALL SELECT 'k' || i, 1, '2025-01-06' FROM generate_series(1, 30000) i;
});
is(state2(), 'active', 'the same transaction fits again: the failed links left nothing behind');
is(query2(q{SELECT s FROM v2 WHERE k = 'k1'}), '17', 'every event is counted once');
is(query2(q{SELECT s FROM v2 WHERE length(k) = 500000}), '33', 'the large key too');

# (docs/views.md, "Bounded memory and degradation") a combine function in
# PL/pgSQL cannot run at commit: a commit that meets a group of the speed
# layer degrades the view, which answers exactly, and a refresh makes it
# active again
query2(q{INSERT INTO ev2 VALUES ('k1', 1, '2025-01-06')});
is(state2(), 'degraded', 'a combine function in PL/pgSQL met at commit degrades the view');
is(query2(q{SELECT s FROM v2 WHERE k = 'k1'}), '18', 'degraded, it answers exactly');
query2('REFRESH MATERIALIZED VIEW v2');
is(state2(), 'active', 'refreshed, it is active again');

# Prepared transactions whose states spilled (generations of their own,
# copied into their images at PREPARE), across a crash that loses those
# images: one commits after it, one rolls back. The view answers exactly
# throughout and, once rebuilt from the events, is active again.
my $def2 = 'SELECT k, boom_sum(x) AS s FROM ev2 GROUP BY k';
sub differing2
{
	return query2("SELECT count(*) FROM ((TABLE v2 EXCEPT ALL $def2) UNION ALL ($def2 EXCEPT ALL TABLE v2)) d");
}
query2(q{
	SET lambda.capture_memory = '1MB';
	BEGIN;
	INSERT INTO ev2 SELECT 'p' || i, 2, '2025-01-07' FROM generate_series(1, 30000) i;
	PREPARE TRANSACTION 'spilled_commit';
	BEGIN;
	INSERT INTO ev2 SELECT 'k' || i, 1000, '2025-01-07' FROM generate_series(1, 30000) i;
	PREPARE TRANSACTION 'spilled_rollback';
});
is(differing2(), '0', 'prepared transactions with spilled states pending: exact');
$node2->stop('immediate');
$node2->start;
query2(q{COMMIT PREPARED 'spilled_commit'; ROLLBACK PREPARED 'spilled_rollback';});
is(differing2(), '0', 'committed and rolled back after the crash: exact');
is(query2(q{SELECT count(*), sum(s) FROM v2 WHERE k LIKE 'p%'}), '30000|60000',
	'the committed transaction counts once');
is(query2(q{SELECT s FROM v2 WHERE k = 'k1'}), '18', 'the rolled-back one does not count');
ok(LambdaNode::wait_for($node2, q{SELECT state FROM lambda.view_status WHERE view = 'v2'::regclass}, 'active',
	timeout => 60), 'the speed layer is rebuilt: active');
is(differing2(), '0', 'rebuilt: exact');

$node2->stop;
done_testing();
