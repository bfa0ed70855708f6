# lambda.recompute's swap (src/batch_build.c, build_swap): the batch table of
# a view whose keys are of fixed length gets a new heap, filled and indexed
# beside it, whose storage is swapped in. Checked here: a cursor of the same
# session that reads the view across the recompute, another session (and
# its prepared statement) that read the view before it, an index a user
# created on the batch table, a recompute cancelled while it waits for the
# swap's lock, an immediate shutdown right after a recompute and in the
# middle of one (swapped, not committed), and a streaming standby that
# replays it. Each time the view answers its defining query and nothing of
# the recompute is left behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('swap_primary');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', slurp_file("$FindBin::RealBin/../pg_lambda.conf"));
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_lambda;
	CREATE TABLE ev (g int, h int, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	INSERT INTO ev SELECT i % 500, i % 7, i, now() FROM generate_series(1, 20000) i;
	INSERT INTO ev SELECT 1000 + i % 3, i % 7, (i * 7919) % 1000003, now() FROM generate_series(1, 20000) i;
	CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT g, h, count(*) AS n, sum(x) AS s FROM ev GROUP BY g, h;
});
my $batch = $node->safe_psql('postgres', q{SELECT batch_table FROM lambda.views WHERE view = 'v'::regclass});
# an index of the user's on the batch table (docs/views.md)
$node->safe_psql('postgres', "CREATE INDEX v_batch_h ON $batch (h)");

my $diff_sql = q{
	SELECT count(*) FROM (
	  (SELECT g, h, n, s FROM v EXCEPT ALL SELECT g, h, count(*), sum(x) FROM ev GROUP BY g, h)
	  UNION ALL
	  (SELECT g, h, count(*), sum(x) FROM ev GROUP BY g, h EXCEPT ALL SELECT g, h, n, s FROM v)) d};

sub exact
{
	my ($n, $what) = @_;
	is($n->safe_psql('postgres', $diff_sql), '0', "the view answers its defining query ($what)");
}

# what a recompute may leave: its new table, indexes named *_new, a TOAST
# table without its table
sub leftovers
{
	my ($n) = @_;
	return $n->safe_psql('postgres', q{
		SELECT count(*) FROM pg_class c
		 WHERE c.relname LIKE 'pg_temp_%' AND c.relnamespace = 'lambda_catalog'::regnamespace
		    OR c.relname LIKE '%_new%' AND c.relnamespace = 'lambda_catalog'::regnamespace
		    OR c.relkind = 't' AND NOT EXISTS (SELECT FROM pg_class o WHERE o.reltoastrelid = c.oid)});
}

# the batch table read through each of its indexes gives its rows
sub indexes_ok
{
	my ($n, $what) = @_;
	my $all = $n->safe_psql('postgres', "SELECT count(*), md5(string_agg(s::text, ',' ORDER BY g, h)) FROM $batch");
	my $by_h = $n->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*), md5(string_agg(s::text, ',' ORDER BY g, h)) FROM $batch WHERE h >= 0");
	my $by_key = $n->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*), md5(string_agg(s::text, ',' ORDER BY g, h)) FROM $batch WHERE g >= 0");
	is("$by_h / $by_key", "$all / $all", "the batch table's indexes find its rows ($what)");
}

sub filenode
{
	my ($n) = @_;
	return $n->safe_psql('postgres', "SELECT relfilenode FROM pg_class WHERE oid = '$batch'::regclass");
}

# states stored out of line (in the TOAST table the swap exchanges too)
$node->safe_psql('postgres', q{
	CREATE MATERIALIZED VIEW vt WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT h, count(DISTINCT x) AS d, min(x) AS lo FROM ev GROUP BY h;
});
my $toast_sql = q{SELECT count(*) FROM (
	  (SELECT h, d, lo FROM vt EXCEPT ALL SELECT h, count(DISTINCT x), min(x) FROM ev GROUP BY h)
	  UNION ALL
	  (SELECT h, count(DISTINCT x), min(x) FROM ev GROUP BY h EXCEPT ALL SELECT h, d, lo FROM vt)) d};
sub toast_ok
{
	my ($n, $what) = @_;
	is($n->safe_psql('postgres', $toast_sql), '0', "a view of out-of-line states answers its query ($what)");
}
ok($node->safe_psql('postgres', q{
	SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class
	 WHERE oid = (SELECT batch_table FROM lambda.views WHERE view = 'vt'::regclass)}) eq 't',
	'the states of vt are out of line');

my $before = filenode($node);
$node->safe_psql('postgres', q{INSERT INTO ev SELECT i % 600, i % 7, i, now() FROM generate_series(1, 3000) i});
$node->safe_psql('postgres', q{SELECT lambda.recompute('v'); SELECT lambda.recompute('vt')});
isnt(filenode($node), $before, 'the recompute swapped new storage into the batch table');
exact($node, 'after a recompute');
indexes_ok($node, 'after a recompute');
is(leftovers($node), '0', 'a recompute leaves no relation behind');
toast_ok($node, 'after a recompute');

# the statistics of the storage go with it: the new rows are neither all
# visible nor frozen yet (relallfrozen since 18)
$node->safe_psql('postgres', "VACUUM (FREEZE) $batch");
my $vis_sql = qq{SELECT relallvisible || ' ' || coalesce((to_jsonb(c) ->> 'relallfrozen')::int, relallvisible)
	FROM pg_class c WHERE oid = '$batch'::regclass};
like($node->safe_psql('postgres', $vis_sql), qr/^[1-9]\d* [1-9]\d*$/, 'VACUUM (FREEZE) marked the pages of the batch table');
$node->safe_psql('postgres', q{SELECT lambda.recompute('v')});
is($node->safe_psql('postgres', $vis_sql), '0 0', 'the swap gives the batch table the counts of its new pages');

# twice in one transaction
$node->safe_psql('postgres', q{INSERT INTO ev SELECT i % 650, i % 7, i, now() FROM generate_series(1, 2000) i});
$node->safe_psql('postgres', q{BEGIN; SELECT lambda.recompute('v'); SELECT lambda.recompute('v');
	SELECT lambda.recompute('vt'); SELECT lambda.recompute('vt'); COMMIT});
exact($node, 'two recomputes in one transaction');
indexes_ok($node, 'two recomputes in one transaction');
toast_ok($node, 'two recomputes in one transaction');

# a swap rolled back with its savepoint: the transaction reads the old
# storage again, through the heap and through the indexes
$node->safe_psql('postgres', q{INSERT INTO ev SELECT i % 640, i % 7, i, now() FROM generate_series(1, 500) i});
$before = filenode($node);
like($node->safe_psql('postgres', qq{
	BEGIN;
	SAVEPOINT s;
	SELECT lambda.recompute('v');
	ROLLBACK TO SAVEPOINT s;
	$diff_sql;
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	SELECT (SELECT count(*) FROM $batch WHERE g >= 0) = (SELECT count(*) FROM $batch WHERE h >= 0);
	COMMIT}), qr/(^|\n)0\nt$/, 'a swap rolled back to a savepoint: the transaction reads the old batch layer');
is(filenode($node), $before, 'the rolled back swap left the old storage');
exact($node, 'a swap rolled back to a savepoint');
indexes_ok($node, 'a swap rolled back to a savepoint');
is(leftovers($node), '0', 'a swap rolled back to a savepoint leaves no relation behind');

# another session that read the view (and prepared a statement) before
my $other = $node->background_psql('postgres');
$other->query_safe(q{PREPARE p AS SELECT count(*), sum(n), sum(s) FROM v WHERE g < 1000});
my $old = $other->query_safe(q{EXECUTE p});
$node->safe_psql('postgres', q{INSERT INTO ev SELECT i % 700, i % 7, i, now() FROM generate_series(1, 3000) i});
$node->safe_psql('postgres', q{SELECT lambda.recompute('v')});
my $expected = $node->safe_psql('postgres', q{SELECT count(*), sum(n), sum(s) FROM (SELECT g, h, count(*) AS n, sum(x) AS s FROM ev GROUP BY g, h) q WHERE g < 1000});
isnt($old, $expected, 'the events changed the answer');
is($other->query_safe(q{EXECUTE p}), $expected, 'a prepared statement of another session reads the new batch layer');
is($other->query_safe(q{SELECT count(*), sum(n), sum(s) FROM v WHERE g < 1000}), $expected,
	'another session that read the view before the recompute reads the new batch layer');

# a cursor of this session open across the recompute
my ($stdout, $stderr);
$node->safe_psql('postgres', q{INSERT INTO ev SELECT i % 750, i % 7, i, now() FROM generate_series(1, 1000) i});
my $declared = $node->safe_psql('postgres', q{SELECT count(*) || ' ' || sum(s) FROM v});
$node->psql('postgres', q{
	BEGIN;
	DECLARE c CURSOR FOR SELECT g, h, n, s FROM v;
	FETCH 5 FROM c;
	SELECT lambda.recompute('v');
	FETCH ALL FROM c;
	COMMIT;
}, stdout => \$stdout, stderr => \$stderr);
my ($rows, $sum) = (0, 0);
for my $line (split /\n/, $stdout)
{
	next unless $line =~ /^\d+\|\d+\|\d+\|(\d+)$/;
	$rows++;
	$sum += $1;
}
$stderr =~ s/^.*NOTICE:.*\n?//mg;
like("$stderr / $rows $sum", qr/^ \/ \Q$declared\E$|being used by active queries/,
	'a cursor open across a recompute reads the rows it began with, or the recompute refuses');
exact($node, 'after a recompute beside a cursor');
indexes_ok($node, 'after a recompute beside a cursor');

# a recompute cancelled while it waits for the swap's lock
my $reader = $node->background_psql('postgres');
$reader->query_safe(q{BEGIN; SELECT count(*) FROM v});
my $recompute = $node->background_psql('postgres', on_error_stop => 0);
$recompute->query_until(qr/started/, q{\echo started
SELECT lambda.recompute('v');
});
ok($node->poll_query_until('postgres', qq{
	SELECT pg_cancel_backend(pid) FROM pg_locks
	 WHERE relation = '$batch'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted}),
	'the recompute waits for the swap lock; cancelled');
$reader->query_safe('COMMIT');
$reader->quit;
$recompute->quit;
is(leftovers($node), '0', 'a cancelled recompute leaves no relation behind');
exact($node, 'after a cancelled recompute');

# an immediate shutdown right after a recompute
$node->safe_psql('postgres', q{INSERT INTO ev SELECT i % 800, i % 7, i, now() FROM generate_series(1, 3000) i});
$node->safe_psql('postgres', q{SELECT lambda.recompute('v'); SELECT lambda.recompute('vt')});
$node->stop('immediate');
$node->start;
exact($node, 'a recompute, then an immediate shutdown');
indexes_ok($node, 'a recompute, then an immediate shutdown');
is(leftovers($node), '0', 'no relation left after a recompute and a crash');
toast_ok($node, 'a recompute, then an immediate shutdown');

# an immediate shutdown in the middle of one (swapped, not committed)
$before = filenode($node);
my $mid = $node->background_psql('postgres');
$mid->query_safe(q{SET client_min_messages = warning; BEGIN; SELECT lambda.recompute('v')});
$node->stop('immediate');
eval { $mid->quit };
$node->start;
is(filenode($node), $before, 'the uncommitted swap is undone');
exact($node, 'a recompute interrupted by an immediate shutdown');
indexes_ok($node, 'a recompute interrupted by an immediate shutdown');
is(leftovers($node), '0', 'no relation left after a crash during a recompute');

# a streaming standby replays the swap; a session of its that read the view
# before reads the new batch layer after
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('swap_standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);
exact($standby, 'standby, before');
my $sb = $standby->background_psql('postgres');
$sb->query_safe(q{PREPARE p AS SELECT count(*), sum(n), sum(s) FROM v});
$sb->query_safe(q{EXECUTE p});
$node->safe_psql('postgres', q{INSERT INTO ev SELECT i % 900, i % 7, i, now() FROM generate_series(1, 3000) i});
$node->safe_psql('postgres', q{SELECT lambda.recompute('v'); SELECT lambda.recompute('vt')});
$node->wait_for_catchup($standby);
is(filenode($standby), filenode($node), 'the standby replayed the swap');
is($sb->query_safe(q{EXECUTE p}),
	$node->safe_psql('postgres', q{SELECT count(*), sum(n), sum(s) FROM v}),
	'a standby session that read the view before reads the new batch layer');
# a REPEATABLE READ snapshot of the standby taken before the recompute
# replayed, reading the view only after: a serialization failure
my $rr = $standby->background_psql('postgres', on_error_stop => 0);
$rr->query_safe(q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1});
$node->safe_psql('postgres', q{INSERT INTO ev SELECT i % 950, i % 7, i, now() FROM generate_series(1, 500) i});
$node->safe_psql('postgres', q{SELECT lambda.recompute('v')});
$node->wait_for_catchup($standby);
$rr->query(q{SELECT count(*) FROM v});
like($rr->{stderr}, qr/could not serialize access due to a concurrent recompute/,
	'a standby snapshot older than the replayed recompute gets a serialization failure');
$rr->quit;
$sb->quit;
exact($standby, 'standby, after a recompute');
indexes_ok($standby, 'standby, after a recompute');
toast_ok($standby, 'standby, after a recompute');
$standby->stop;
$other->quit;

# wal_level = minimal: the swapped-in storage is new in the recompute's
# transaction, written without WAL and synced at its commit; an immediate
# shutdown right after loses nothing
my $minimal = PostgreSQL::Test::Cluster->new('swap_minimal');
$minimal->init;
$minimal->append_conf('postgresql.conf', slurp_file("$FindBin::RealBin/../pg_lambda.conf"));
$minimal->append_conf('postgresql.conf', "wal_level = minimal\nmax_wal_senders = 0\nwal_skip_threshold = 0");
$minimal->start;
$minimal->safe_psql('postgres', q{
	CREATE EXTENSION pg_lambda;
	CREATE TABLE ev (g int, h int, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	INSERT INTO ev SELECT i % 500, i % 7, i, now() FROM generate_series(1, 20000) i;
	CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT g, h, count(*) AS n, sum(x) AS s FROM ev GROUP BY g, h;
});
$minimal->safe_psql('postgres', "CREATE INDEX v_batch_h ON $batch (h)");
$minimal->safe_psql('postgres', q{INSERT INTO ev SELECT i % 900, i % 7, i, now() FROM generate_series(1, 3000) i});
$minimal->safe_psql('postgres', q{SELECT lambda.recompute('v')});
$minimal->stop('immediate');
$minimal->start;
exact($minimal, 'wal_level = minimal: a recompute, then an immediate shutdown');
indexes_ok($minimal, 'wal_level = minimal: a recompute, then an immediate shutdown');
is(leftovers($minimal), '0', 'wal_level = minimal: no relation left');
$minimal->stop;

done_testing();
