# pg_partman beside pg_lambda: an event table partitioned by day whose
# partitions pg_partman creates ahead of the events (premake) keeps feeding
# its continuous view (the new partitions get the capture triggers), Kafka
# aside; lambda.drop_events_before drops pg_partman's partitions wholly
# before the cut; pg_partman's own retention (drop or detach) is refused, as
# docs/operations.md says. Runs with the pg_partman of the major under test
# (Debian's postgresql-NN-partman: 4.x on 15, 5.x on 17 and 18).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

my $node = LambdaNode->new_node('partman');
sub query { return $node->safe_psql('postgres', $_[0]); }

$node->safe_psql('postgres', q{ALTER DATABASE postgres SET timezone = 'UTC'});
$node->safe_psql('postgres', q{CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman});
my ($partman) = split /\./, query(q{SELECT extversion FROM pg_extension WHERE extname = 'pg_partman'});
note("pg_partman $partman");
$node->safe_psql('postgres', q{CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts)});
# create_parent's arguments changed in pg_partman 5
$node->safe_psql('postgres', $partman >= 5
	? q{SELECT partman.create_parent('public.ev', 'ts', '1 day', p_premake := 2,
	                                  p_start_partition := (current_date - 5)::text)}
	: q{SELECT partman.create_parent('public.ev', 'ts', 'native', 'daily', p_premake := 2,
	                                  p_start_partition := (current_date - 5)::text)});
$node->safe_psql('postgres', q{
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	INSERT INTO ev SELECT 'k' || (i % 4), i, current_date - 5 + (i % 140) * interval '1 hour'
	  FROM generate_series(1, 1000) i;
	CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
	  SELECT k, date_trunc('day', ts, 'UTC') AS day, count(*) AS n, sum(x) AS s FROM ev GROUP BY 1, 2;
});
my $diff = q{SELECT count(*) FROM ((SELECT k, day, n, s FROM v EXCEPT ALL
	  SELECT k, date_trunc('day', ts, 'UTC'), count(*), sum(x) FROM ev GROUP BY 1, 2)
	UNION ALL (SELECT k, date_trunc('day', ts, 'UTC'), count(*), sum(x) FROM ev GROUP BY 1, 2
	  EXCEPT ALL SELECT k, day, n, s FROM v)) d};
is(query($diff), '0', 'the view over pg_partman\'s partitions equals its defining query');

# pg_partman makes partitions further ahead: they feed the view
my $partitions = q{SELECT count(*) FROM pg_inherits WHERE inhparent = 'ev'::regclass};
my $before = query($partitions);
$node->safe_psql('postgres', q{UPDATE partman.part_config SET premake = 6 WHERE parent_table = 'public.ev'});
$node->safe_psql('postgres', q{CALL partman.run_maintenance_proc()});
cmp_ok(query($partitions), '>', $before, 'run_maintenance_proc made new partitions ahead');
is(query(q{SELECT count(*) FROM pg_inherits i
	WHERE i.inhparent = 'ev'::regclass AND NOT EXISTS (SELECT 1 FROM pg_trigger t
	  WHERE t.tgrelid = i.inhrelid AND t.tgname LIKE 'lambda_capture%')}), '0',
	'every partition, pg_partman\'s new ones too, has the capture triggers');
$node->safe_psql('postgres', q{INSERT INTO ev SELECT 'k9', i, current_date + 5 + i * interval '1 minute'
	FROM generate_series(1, 50) i});
is(query(q{SELECT n FROM v WHERE k = 'k9'}), '50', 'events in a partition made by maintenance reach the view');
is(query($diff), '0', 'and the view equals its defining query');

# retention through pg_lambda drops pg_partman's partitions
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT lambda.drop_events_before('ev', current_date - 2)});
is($ret, 0, 'drop_events_before on pg_partman\'s table');
like($err, qr/NOTICE:  dropped 3 partitions of "ev" lying wholly before the cut\n.*DETAIL:  Dropped: public\.ev_p/,
	'a NOTICE names the three dropped partitions');
is(query(q{SELECT count(*) FROM ev WHERE ts < current_date - 2}), '0', 'the events before the cut are gone');
$node->safe_psql('postgres', q{SELECT lambda.recompute('v')});
is(query($diff), '0', 'after a recompute the view equals its defining query over the remaining events');

# pg_partman's own retention is refused, in both modes, and changes nothing
my $left = query($partitions);
$node->safe_psql('postgres', q{UPDATE partman.part_config SET retention = '1 day', retention_keep_table = false
	WHERE parent_table = 'public.ev'});
($ret, $out, $err) = $node->psql('postgres', q{CALL partman.run_maintenance_proc()});
like($err, qr/cannot drop partition "ev_p[^"]*" of event table "ev"/, 'pg_partman cannot drop a partition');
$node->safe_psql('postgres', q{UPDATE partman.part_config SET retention_keep_table = true WHERE parent_table = 'public.ev'});
($ret, $out, $err) = $node->psql('postgres', q{CALL partman.run_maintenance_proc()});
like($err, qr/cannot detach a partition/, 'nor detach one');
is(query($partitions), $left, 'no partition went');
is(query($diff), '0', 'the view still equals its defining query');

$node->stop;
done_testing();
