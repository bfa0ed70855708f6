# Behaviour that differs by PostgreSQL major, checked on the major under test
# ("make test" runs it on 15, "make test PG=17" and "make test PG=18" on the
# others): what a major added works through pg_lambda as PostgreSQL defines
# it there, and where it does not exist yet, pg_lambda behaves as before.
#
#   16+  array_agg and string_agg have combine functions: continuous views
#        accept them (15 refuses them)
#   17+  REFRESH MATERIALIZED VIEW needs MAINTAIN, not ownership: the same
#        for continuous views and lambda.recompute
#   17+  MERGE ... WHEN NOT MATCHED BY SOURCE, and MERGE into views: refused
#        when they would change events, fed to the views when they insert
#   17+  COPY ... (ON_ERROR ignore): skipped rows never reach a view
#   18+  virtual generated columns in an event table, in a view's keys,
#        aggregate arguments and WHERE, with events from INSERT, COPY and Kafka
#   18+  GROUP BY queries carry an RTE_GROUP (every view here has GROUP BY)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaKafka;
use LambdaNode;

my $node = LambdaNode->new_node('majors');
my $major = int($node->safe_psql('postgres', 'SHOW server_version_num') / 10000);
note "PostgreSQL $major";
ok($major >= 15, "PostgreSQL $major is one pg_lambda builds for");

$node->safe_psql('postgres', q{
	CREATE TABLE ev (k text NOT NULL, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', 'ts');
	INSERT INTO ev SELECT 'k' || g % 4, g, '2025-01-01'::timestamptz + g * interval '1 minute'
	  FROM generate_series(1, 200) g;
	CREATE MATERIALIZED VIEW byk WITH (lambda.continuous) AS
	  SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k;
});

# Rows in which view $view (a name, or a subquery with an alias) and query
# $query differ (0: the same multiset).
sub differ
{
	my ($view, $query) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM ((SELECT * FROM $view EXCEPT ALL $query)
		                      UNION ALL ($query EXCEPT ALL SELECT * FROM $view)) d});
}
my $byk_query = 'SELECT k, count(*), sum(x) FROM ev GROUP BY k';
is(differ('byk', $byk_query), 0, 'a view over the event table equals its query');

# --- 16: array_agg and string_agg gained combine (and serial) functions ----
my ($ret, $out, $err) = $node->psql('postgres', q{
	CREATE MATERIALIZED VIEW agg WITH (lambda.continuous) AS
	  SELECT k, array_agg(x) AS a, string_agg(x::text, ',') AS s FROM ev GROUP BY k});
if ($major >= 16)
{
	is($ret, 0, '16+: a view with array_agg and string_agg is created') or diag($err);
	# The order of the elements is not defined (as in the query): compare them sorted.
	my $sorted = q{SELECT k, (SELECT array_agg(e ORDER BY e) FROM unnest(a) e),
	                         (SELECT array_agg(e ORDER BY e) FROM unnest(string_to_array(s, ',')::int[]) e)};
	my $agg_query = "$sorted FROM (SELECT k, array_agg(x) AS a, string_agg(x::text, ',') AS s FROM ev GROUP BY k) q";
	my $agg_view = "($sorted FROM agg) v";
	$node->safe_psql('postgres', q{INSERT INTO ev SELECT 'k' || g % 5, g, now() FROM generate_series(201, 300) g});
	is(differ($agg_view, $agg_query), 0, '16+: array_agg and string_agg from batch and speed layer equal the query');
	$node->safe_psql('postgres', 'REFRESH MATERIALIZED VIEW agg');
	is(differ($agg_view, $agg_query), 0, '... and after REFRESH');
	is($node->safe_psql('postgres', q{SELECT cardinality(a) FROM agg WHERE k = 'k4'}), '20',
		'... with every element once');
	$node->safe_psql('postgres', 'DROP MATERIALIZED VIEW agg');
}
else
{
	isnt($ret, 0, '15: a view with array_agg is refused');
	like($err, qr/aggregate array_agg\(anynonarray\) has no combine function/, '... for want of a combine function');
	$node->safe_psql('postgres', q{INSERT INTO ev SELECT 'k' || g % 5, g, now() FROM generate_series(201, 300) g});
}
is(differ('byk', $byk_query), 0, 'the first view still equals its query');

# --- 17: REFRESH needs MAINTAIN (owners have it; so do members of pg_maintain) ---
$node->safe_psql('postgres', q{
	CREATE ROLE maint LOGIN;
	GRANT SELECT ON byk TO maint;
	CREATE MATERIALIZED VIEW plain_mv AS SELECT k, count(*) FROM ev GROUP BY k;
});
# Runs $sql as role maint; returns (status, stderr).
sub as_maint
{
	my ($sql) = @_;
	my ($r, $o, $e) = $node->psql('postgres', "SET ROLE maint; $sql");
	return ($r, $e);
}
my ($r1, $e1) = as_maint('REFRESH MATERIALIZED VIEW plain_mv');
my ($r2, $e2) = as_maint('REFRESH MATERIALIZED VIEW byk');
my ($r3, $e3) = as_maint(q{SELECT lambda.recompute('byk')});
isnt($r1, 0, 'a role without MAINTAIN may not refresh an ordinary materialized view');
isnt($r2, 0, '... nor a continuous view');
isnt($r3, 0, '... nor recompute it');
my $refused = $major >= 17 ? qr/permission denied for materialized view/ : qr/must be owner of materialized view/;
like($e1, $refused, "PostgreSQL $major\'s own error for the ordinary one");
like($e2, $refused, '... the same for the continuous view');
like($e3, $refused, '... and for recompute');
if ($major >= 17)
{
	$node->safe_psql('postgres', 'GRANT MAINTAIN ON plain_mv, byk TO maint');
	($r1, $e1) = as_maint('REFRESH MATERIALIZED VIEW plain_mv');
	($r2, $e2) = as_maint('REFRESH MATERIALIZED VIEW byk');
	($r3, $e3) = as_maint(q{SELECT lambda.recompute('byk')});
	is($r1, 0, '17+: with MAINTAIN a role refreshes an ordinary materialized view') or diag($e1);
	is($r2, 0, '... and a continuous view') or diag($e2);
	is($r3, 0, '... and recomputes it') or diag($e3);
	$node->safe_psql('postgres', 'REVOKE MAINTAIN ON plain_mv, byk FROM maint; GRANT pg_maintain TO maint');
	($r2, $e2) = as_maint('REFRESH MATERIALIZED VIEW byk');
	is($r2, 0, '17+: so does a member of pg_maintain') or diag($e2);
	$node->safe_psql('postgres', 'REVOKE pg_maintain FROM maint');
	($r2, $e2) = as_maint('REFRESH MATERIALIZED VIEW byk');
	like($e2, $refused, '... and nobody once it is revoked');
	is(differ('byk', $byk_query), 0, 'the view refreshed by others still equals its query');
}

# --- 17: MERGE ... WHEN NOT MATCHED BY SOURCE, and MERGE into a view --------
$node->safe_psql('postgres', 'CREATE VIEW ev_v AS SELECT * FROM ev');
my $events = $node->safe_psql('postgres', 'SELECT count(*), sum(x) FROM ev');
if ($major >= 17)
{
	($ret, $out, $err) = $node->psql('postgres', q{
		MERGE INTO ev USING (VALUES ('k1')) s(k) ON ev.k = s.k
		  WHEN NOT MATCHED BY SOURCE THEN DELETE});
	like($err, qr/cannot MERGE with UPDATE or DELETE actions into event table "ev"/,
		'17+: MERGE ... WHEN NOT MATCHED BY SOURCE THEN DELETE is refused');
	($ret, $out, $err) = $node->psql('postgres', q{
		MERGE INTO ev_v USING (VALUES ('k1')) s(k) ON ev_v.k = s.k
		  WHEN MATCHED THEN UPDATE SET x = 0});
	like($err, qr/cannot MERGE with UPDATE or DELETE actions into event table "ev"/,
		'17+: MERGE into a view over the event table with UPDATE is refused');
	is($node->safe_psql('postgres', 'SELECT count(*), sum(x) FROM ev'), $events, '... and no event changed');
	$node->safe_psql('postgres', q{
		MERGE INTO ev_v USING (SELECT 'merged' AS k, g AS x FROM generate_series(1, 10) g) s ON false
		  WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.x, now())});
	is($node->safe_psql('postgres', q{SELECT n, s FROM byk WHERE k = 'merged'}), '10|55',
		'17+: MERGE ... INSERT through a view reaches the continuous view');
}
else
{
	($ret, $out, $err) = $node->psql('postgres', q{
		MERGE INTO ev_v USING (VALUES ('k1')) s(k) ON ev_v.k = s.k
		  WHEN MATCHED THEN UPDATE SET x = 0});
	isnt($ret, 0, '15: MERGE into a view is refused (by PostgreSQL)');
	is($node->safe_psql('postgres', 'SELECT count(*), sum(x) FROM ev'), $events, '... and no event changed');
}
is(differ('byk', $byk_query), 0, 'the view equals its query after the MERGE statements');

# --- 17: COPY FROM ... (ON_ERROR ignore) -------------------------------------
my $file = $node->basedir . '/copy.tsv';
PostgreSQL::Test::Utils::append_to_file($file,
	join('', map { "copied\t" . ($_ % 10 == 0 ? 'bad' : $_) . "\t2025-03-01 00:00:00+00\n" } 1 .. 100));
($ret, $out, $err) = $node->psql('postgres', "COPY ev FROM '$file' WITH (ON_ERROR ignore)");
if ($major >= 17)
{
	is($ret, 0, '17+: COPY with ON_ERROR ignore skips the bad rows') or diag($err);
	is($node->safe_psql('postgres', q{SELECT n, s FROM byk WHERE k = 'copied'}),
		$node->safe_psql('postgres', q{SELECT count(*), sum(x) FROM ev WHERE k = 'copied'}),
		'... and the view counts exactly the rows COPY kept');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM ev WHERE k = 'copied'}), '90',
		'... which are the 90 good ones');
}
else
{
	isnt($ret, 0, '15: COPY has no ON_ERROR option');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM byk WHERE k = 'copied'}), '0',
		'... and nothing reached the view');
}
is(differ('byk', $byk_query), 0, 'the view equals its query after COPY');
$node->safe_psql('postgres', 'REFRESH MATERIALIZED VIEW byk');
is(differ('byk', $byk_query), 0, '... and after REFRESH');

# --- generated columns: STORED everywhere, VIRTUAL since 18 ----------------
# Events arrive by INSERT, COPY and Kafka (ingest.c's own insert path).
my $kafka = LambdaKafka->start(topics => { gen_stored => 1, gen_virtual => 1 });
my @kinds = ('STORED');
push @kinds, 'VIRTUAL' if $major >= 18;
for my $kind (@kinds)
{
	my $t = lc("gen_$kind");
	my $copy = $node->basedir . "/$t.tsv";
	PostgreSQL::Test::Utils::append_to_file($copy,
		join('', map { "k$_\t$_\t2025-01-01 00:00:00+00\n" } 151 .. 160));
	$node->safe_psql('postgres', qq{
		CREATE TABLE $t (k text NOT NULL, x int NOT NULL,
		                 x2 int GENERATED ALWAYS AS (x * 2) $kind, ts timestamptz NOT NULL);
		SELECT lambda.create_event_table('$t', 'ts');
		INSERT INTO $t (k, x, ts) SELECT 'k' || g % 3, g, now() FROM generate_series(1, 100) g;
		CREATE MATERIALIZED VIEW ${t}_v WITH (lambda.continuous) AS
		  SELECT x2 % 4 AS m, count(*) AS n, sum(x2) AS s, max(x2) AS hi
		    FROM $t WHERE x2 > 10 GROUP BY x2 % 4;
		INSERT INTO $t (k, x, ts) SELECT 'k' || g % 3, g, now() FROM generate_series(101, 150) g;
		COPY $t (k, x, ts) FROM '$copy';
		SELECT lambda.create_kafka_source('${t}_src', '$t', '@{[ $kafka->bootstrap ]}', '$t');
	});
	$kafka->produce($t, [ map { qq({"k": "kafka", "x": $_, "ts": "2025-01-01T00:00:00Z"}) } 161 .. 200 ]);
	ok(LambdaNode::wait_for($node, "SELECT count(*) FROM $t", '200', timeout => 60),
		"$kind generated column: every Kafka message became an event");
	my $q = "SELECT x2 % 4, count(*), sum(x2), max(x2) FROM $t WHERE x2 > 10 GROUP BY x2 % 4";
	is(differ("${t}_v", $q), 0, "... the view's keys, arguments and WHERE equal the query");
	is($node->safe_psql('postgres', "SELECT sum(s), max(hi) FROM ${t}_v"), '40170|400',
		"... every event counted with its generated value");
	$node->safe_psql('postgres', "REFRESH MATERIALIZED VIEW ${t}_v");
	is(differ("${t}_v", $q), 0, '... and after REFRESH');
}
$kafka->stop;

$node->stop;
done_testing();
