# A transaction whose states do not fit lambda.speed_layer_memory degrades
# its view's speed layer: the committing session gets a WARNING whose DETAIL
# names the view (by the name it has now, after a RENAME), the view's status
# says degraded, the transaction commits, and the view still answers exactly
# what its defining query answers (recent events read from the event table).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

my $node = LambdaNode->new_node('degraded');
$node->append_conf('postgresql.conf', "lambda.speed_layer_memory = '1MB'");
$node->reload;

$node->safe_psql('postgres', q{
	CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	CREATE MATERIALIZED VIEW first_name WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
	  SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k;
	ALTER MATERIALIZED VIEW first_name RENAME TO by_key;
	INSERT INTO ev VALUES ('small', 1, now());
});

my ($stdout, $stderr);
$node->psql('postgres',
	q{INSERT INTO ev SELECT 'k' || i, i, now() FROM generate_series(1, 100000) i},
	stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/WARNING:  continuous view speed layer degraded: /,
	'a transaction that does not fit the speed layer warns at commit');
like($stderr, qr/DETAIL:  Generation \d+ of continuous view "by_key" no longer holds all its events/,
	'the DETAIL names the view by its current name, not its batch table');
unlike($stderr, qr/batch table \d+/, 'no batch table OID in the message');

is($node->safe_psql('postgres', q{SELECT count(*) FROM ev}), '100001', 'the transaction committed');
is($node->safe_psql('postgres', q{SELECT state FROM lambda.view_status WHERE view = 'by_key'::regclass}),
	'degraded', 'view_status says degraded');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	  (SELECT k, n, s FROM by_key EXCEPT ALL SELECT k, count(*), sum(x) FROM ev GROUP BY k)
	  UNION ALL
	  (SELECT k, count(*), sum(x) FROM ev GROUP BY k EXCEPT ALL SELECT k, n, s FROM by_key)) d}),
	'0', 'the degraded view answers exactly what its defining query answers');

# a whole-view read in parallel (merge_group.c): the leader's read of the
# speed layer into shared memory finds it degraded, reads the events, and
# shares that copy instead
my $par = q{SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
	SET min_parallel_table_scan_size = 0; SET cpu_tuple_cost = 0.0001;
	SET max_parallel_workers_per_gather = 2;};
like($node->safe_psql('postgres', $par . q{EXPLAIN (COSTS OFF) SELECT count(*), sum(n), sum(s) FROM by_key}),
	qr/Parallel Custom Scan \(LambdaMerge\)/, 'the whole-view read is planned in parallel');
is($node->safe_psql('postgres', $par . q{SELECT count(*), sum(n), sum(s) FROM by_key}),
	$node->safe_psql('postgres', q{SELECT count(*), sum(n), sum(s) FROM (SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k) d}),
	'the parallel whole-view read of a degraded view answers what its defining query answers');

# after a restart a view has no speed-layer slot until the scheduler
# rebuilds it or a read makes it; a parallel read's leader, which reads the
# speed layer in parallel mode, still answers (the slot made there reads the
# catalog's cut with the query's snapshot). With one worker process (pg_lambda's
# launcher), no scheduler starts to make the slot first; the Gather runs
# without workers, its leader reading the speed layer in parallel mode all
# the same.
$node->safe_psql('postgres', q{
	CREATE TABLE ev3 (k text, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev3', time_column => 'ts');
	CREATE MATERIALIZED VIEW fresh WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
	  SELECT k, count(*) AS n, sum(x) AS s FROM ev3 GROUP BY k;
	INSERT INTO ev3 SELECT 'k' || (i % 100), i, now() FROM generate_series(1, 1000) i;
	CREATE TABLE big AS SELECT 'k' || (i % 200) AS k FROM generate_series(1, 20000) i;
	ANALYZE big;
});
$node->append_conf('postgresql.conf', 'max_worker_processes = 1');
$node->restart;
is($node->safe_psql('postgres', $par . q{SELECT count(*), sum(n), sum(s) FROM fresh}),
	'100|1000|500500', 'the first parallel whole-view read after a restart answers what its defining query answers');

# the same for any read of the view by the leader of a parallel query: a
# join whose other side is read in parallel under a Gather (the executor
# is in parallel mode throughout), the view read serially beside it (this
# failed with "cannot update SecondarySnapshot during a parallel operation")
$node->restart;
my $parjoin = $par . q{SET cpu_tuple_cost = 0.01;};
my $join = q{SELECT count(*), sum(f.n), sum(f.s) FROM big b JOIN %s f ON f.k = b.k WHERE f.k IN ('k5', 'k7')};
is($node->safe_psql('postgres', $parjoin . sprintf($join, 'fresh')),
	$node->safe_psql('postgres', sprintf($join, '(SELECT k, count(*) AS n, sum(x) AS s FROM ev3 GROUP BY k)')),
	'the first read after a restart by a parallel query\'s leader answers what its defining query answers');
like($node->safe_psql('postgres', $parjoin . 'EXPLAIN (COSTS OFF) ' . sprintf($join, 'fresh')),
	qr/Gather.*Parallel Seq Scan on big.*Foreign Scan on fresh_speed/s,
	'that join reads the other table in parallel, the view serially');

$node->stop;
done_testing();
