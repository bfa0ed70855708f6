# Continuous views restored from a dump, or copied with their database from a
# template: their cut refers to transactions of another database, so they
# must be recomputed before they answer. Reads start no process: while no
# scheduler runs in the database (none does until the server restarts, or a
# REFRESH or lambda.recompute starts it), a read fails with a hint to
# recompute. The recompute starts the scheduler, which recomputes the other
# views by itself; a read while it is at it says so.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use LambdaNode;

my $node = LambdaNode->new_node('restore');
$node->safe_psql('postgres', q{
	CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	SELECT lambda.add_arrival_index('ev');
	INSERT INTO ev SELECT 'k' || (i % 5), i, now() FROM generate_series(1, 100) i;
	CREATE MATERIALIZED VIEW v1 WITH (lambda.continuous) AS
	  SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k;
	CREATE MATERIALIZED VIEW v2 WITH (lambda.continuous) AS
	  SELECT k, count(*) AS n, max(x) AS m FROM ev GROUP BY k;
	INSERT INTO ev SELECT 'k' || (i % 7), i, now() FROM generate_series(101, 150) i;
	-- a rollup of v1
	CREATE MATERIALIZED VIEW v3 WITH (lambda.continuous) AS SELECT sum(n) AS n, sum(s) AS s FROM v1;
});

# rows of the view that its defining query does not return, and the reverse
my %same = (
	v1 => q{SELECT count(*) FROM ((SELECT * FROM v1 EXCEPT ALL SELECT k, count(*), sum(x) FROM ev GROUP BY k)
		UNION ALL (SELECT k, count(*), sum(x) FROM ev GROUP BY k EXCEPT ALL SELECT * FROM v1)) d},
	v2 => q{SELECT count(*) FROM ((SELECT * FROM v2 EXCEPT ALL SELECT k, count(*), max(x) FROM ev GROUP BY k)
		UNION ALL (SELECT k, count(*), max(x) FROM ev GROUP BY k EXCEPT ALL SELECT * FROM v2)) d},
	v3 => q{SELECT count(*) FROM ((SELECT * FROM v3 EXCEPT ALL SELECT count(*)::numeric, sum(x)::numeric FROM ev)
		UNION ALL (SELECT count(*)::numeric, sum(x)::numeric FROM ev EXCEPT ALL SELECT * FROM v3)) d});
my $schedulers = q{SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'pg_lambda scheduler' AND datname = current_database()};

is($node->safe_psql('postgres', $same{v1}), '0', 'v1 answers exactly in the original database');
is($node->safe_psql('postgres', $schedulers), '1', 'the original database has its scheduler');

my $dump = $node->basedir . '/views.dump';
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres')], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(['pg_restore', '-d', $node->connstr('restored'), $dump], 'pg_restore');
is($node->safe_psql('restored', $schedulers), '0', 'the restored database has no scheduler yet');

# A read asks for a recompute, and starts nothing.
my ($ret, $out, $err) = $node->psql('restored', 'SELECT * FROM v1');
isnt($ret, 0, 'a restored view does not answer before it is recomputed');
like($err, qr/continuous view "v1" was restored from a dump and must be recomputed/, '... and says so');
like($err, qr/DETAIL:\s+.*no scheduler runs in this database/, '... and why');
like($err, qr/HINT:\s+Run SELECT lambda\.recompute\('v1'\), which also starts the database's scheduler/,
	'... with a hint to recompute it');
sleep(2);
is($node->safe_psql('restored', $schedulers), '0', 'the read started no scheduler');

# A database copied from the restored one (a template) is in the same state.
$node->safe_psql('postgres', 'CREATE DATABASE copied TEMPLATE restored');
($ret, $out, $err) = $node->psql('copied', 'SELECT * FROM v2');
like($err, qr/continuous view "v2" was restored from a dump and must be recomputed/,
	'a view copied from a template asks for a recompute too');
$node->safe_psql('copied', q{SELECT lambda.recompute('v2')});
is($node->safe_psql('copied', $same{v2}), '0', 'after lambda.recompute the copied view answers exactly');
ok(LambdaNode::wait_for($node, $schedulers, '1', dbname => 'copied', timeout => 30),
	'lambda.recompute started the copied database\'s scheduler');

# The recompute of one view starts the scheduler, which recomputes the other.
# Hold it back from v2 for a while (a refresh takes this lock) to see a read
# of v2 meanwhile.
my $hold = $node->background_psql('restored');
$hold->query_safe(q{BEGIN; LOCK TABLE lambda_catalog.v2_batch IN SHARE UPDATE EXCLUSIVE MODE});
$node->safe_psql('restored', q{SELECT lambda.recompute('v1')});
is($node->safe_psql('restored', $same{v1}), '0', 'after lambda.recompute the restored view answers exactly');
ok(LambdaNode::wait_for($node, $schedulers, '1', dbname => 'restored', timeout => 30),
	'lambda.recompute started the restored database\'s scheduler');
($ret, $out, $err) = $node->psql('restored', 'SELECT * FROM v2');
like($err, qr/continuous view "v2" was restored from a dump and is being recomputed/,
	'a read while the scheduler is at it says the view is being recomputed');
like($err, qr/HINT:\s+Wait for the scheduler to recompute it/, '... and to wait');
$hold->query_safe('COMMIT');
$hold->quit;

my $deadline = time() + 60;
my $v2 = '';
while (time() < $deadline)
{
	($ret, $v2, $err) = $node->psql('restored', $same{v2});
	last if $ret == 0 && $v2 eq '0';
	usleep(200_000);
}
is($v2, '0', 'the scheduler recomputed the other restored view, which answers exactly');

# New events reach both views through the speed layer.
$node->safe_psql('restored', q{INSERT INTO ev SELECT 'k' || (i % 3), i, now() FROM generate_series(151, 180) i});
is($node->safe_psql('restored', $same{v1}), '0', 'v1 answers exactly after new events');
is($node->safe_psql('restored', $same{v2}), '0', 'v2 answers exactly after new events');
is($node->safe_psql('restored', $schedulers), '1', 'one scheduler runs in the restored database');

# The arrival column and its index come back with the event table; pg_restore
# leaves the column out of the data and PostgreSQL computes it again (the
# restoring transaction's id), so every event has a value no newer than now.
is($node->safe_psql('restored', q{SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
	JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
	WHERE d.adrelid = 'ev'::regclass AND a.attname = '_lambda_xact'}),
	'lambda_catalog.inserting_xact()', 'the restored event table has its arrival column');
is($node->safe_psql('restored', q{SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'ev'::regclass AND a.amname = 'brin'}),
	'1', 'and its BRIN index');
is($node->safe_psql('restored', q{SELECT count(*) FROM ev
	WHERE _lambda_xact IS NULL OR _lambda_xact > pg_current_xact_id()::text::bigint}),
	'0', 'every restored event has an arrival value');
$node->safe_psql('restored', 'REFRESH MATERIALIZED VIEW v1');
is($node->safe_psql('restored', $same{v1}), '0', 'v1 answers exactly after a refresh');

# The rollup's dependency on v1 is not in the dump: in the original database
# v1 cannot be dropped while v3 rolls it up; in the restored one it can, and
# v3 (maintained from the events) stays exact.
ok(LambdaNode::wait_for($node, $same{v3}, '0', dbname => 'restored'), 'the restored rollup answers exactly');
($ret, $out, $err) = $node->psql('postgres', 'DROP MATERIALIZED VIEW v1');
like($err, qr/cannot drop view v1 because other objects depend on it/, 'the original rollup holds v1');
$node->safe_psql('restored', 'DROP MATERIALIZED VIEW v1');
$node->safe_psql('restored', q{INSERT INTO ev SELECT 'k' || (i % 3), i, now() FROM generate_series(181, 200) i});
is($node->safe_psql('restored', $same{v3}), '0', 'after v1 is dropped in the restored database, v3 answers exactly');

done_testing();
