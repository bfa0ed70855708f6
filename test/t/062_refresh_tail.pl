# lambda.refresh_tail_fraction: the scheduler refreshes a continuous view
# early, long before its refresh_interval, once its speed layer holds more
# keys than that fraction of the view's batch rows (and at least 1000
# keys); below either threshold, or with the parameter at 0 (the default),
# the tail stays in the speed layer until the interval. Whatever the
# scheduler does, the view answers exactly what its defining query answers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

my $node = LambdaNode->new_node('refresh_tail');

# 4000 batch rows (keys k0 .. k3999), refreshed once at CREATE
$node->safe_psql('postgres', q{
	CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	INSERT INTO ev SELECT 'k' || i, i, now() FROM generate_series(0, 3999) i;
	CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k;
});

sub status
{
	return $node->safe_psql('postgres',
		q{SELECT speed_keys || ' ' || batch_rows || ' ' || last_refresh_groups
		    FROM lambda.view_status WHERE view = 'v'::regclass});
}

sub exact
{
	my ($what) = @_;
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM (
		  (SELECT k, n, s FROM v EXCEPT ALL SELECT k, count(*), sum(x) FROM ev GROUP BY k)
		  UNION ALL
		  (SELECT k, count(*), sum(x) FROM ev GROUP BY k EXCEPT ALL SELECT k, n, s FROM v)) d}),
		'0', "the view answers its defining query ($what)");
}

is(status(), '0 4000 4000', 'after CREATE: 4000 batch rows, an empty speed layer');

# off (the default): 3000 keys in the speed layer stay there
$node->safe_psql('postgres',
	q{INSERT INTO ev SELECT 'k' || i, 1, now() FROM generate_series(0, 2999) i});
sleep(3);
is(status(), '3000 4000 4000', 'parameter off: the tail stays in the speed layer');
exact('tail of 3000 keys');

# 0.5: 3000 keys > 0.5 x 4000 batch rows: refreshed within a scheduler turn
$node->append_conf('postgresql.conf', "lambda.refresh_tail_fraction = 0.5");
$node->reload;
ok($node->poll_query_until('postgres',
		q{SELECT speed_keys = 0 AND last_refresh_groups = 3000
		    FROM lambda.view_status WHERE view = 'v'::regclass}),
	'a tail of more than 0.5 x the batch rows is refreshed early');
is(status(), '0 4000 3000', 'the refresh folded the 3000 keys into the batch table');
exact('after the early refresh');

# below the fraction (1500 keys < 0.5 x 4000): stays
$node->safe_psql('postgres',
	q{INSERT INTO ev SELECT 'k' || i, 2, now() FROM generate_series(0, 1499) i});
sleep(3);
is(status(), '1500 4000 3000', 'a tail below the fraction stays in the speed layer');
exact('tail below the fraction');

# above the fraction but under 1000 keys: stays
$node->safe_psql('postgres', q{
	CREATE TABLE ev2 (k text, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev2', time_column => 'ts');
	INSERT INTO ev2 VALUES ('a', now());
	CREATE MATERIALIZED VIEW v2 WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT k, count(*) AS n FROM ev2 GROUP BY k;
	INSERT INTO ev2 SELECT 'b' || i, now() FROM generate_series(1, 999) i;
});
sleep(3);
is($node->safe_psql('postgres',
		q{SELECT speed_keys || ' ' || batch_rows FROM lambda.view_status WHERE view = 'v2'::regclass}),
	'999 1', 'a tail of fewer than 1000 keys stays, whatever the fraction');
# one more key: 1000 keys, refreshed
$node->safe_psql('postgres', q{INSERT INTO ev2 VALUES ('c', now())});
ok($node->poll_query_until('postgres',
		q{SELECT speed_keys = 0 AND batch_rows = 1001 FROM lambda.view_status WHERE view = 'v2'::regclass}),
	'at 1000 keys the tail is refreshed');

# the first view's tail grows past the fraction: refreshed too
$node->safe_psql('postgres',
	q{INSERT INTO ev SELECT 'new' || i, 3, now() FROM generate_series(1, 1000) i});
ok($node->poll_query_until('postgres',
		q{SELECT speed_keys = 0 AND batch_rows = 5000 FROM lambda.view_status WHERE view = 'v'::regclass}),
	'a tail that grows past the fraction is refreshed');
exact('after the second early refresh');

$node->stop;
done_testing();
