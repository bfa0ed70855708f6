# Event tables across a server's lifecycle: a crash (immediate stop) and
# restart, pg_dump/pg_restore, and loading without shared_preload_libraries.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

my $node = LambdaNode->new_node('events');
$node->safe_psql('postgres', q{
	CREATE TABLE pageviews (id bigint, url text NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('pageviews', time_column => 'ts');
	INSERT INTO pageviews SELECT g, 'u' || (g % 7), '2025-01-01'::timestamptz + g * interval '1 second'
	  FROM generate_series(1, 10000) g;
});

# An uncommitted transaction's rows must not survive the crash; committed ones must.
my $bg = $node->background_psql('postgres');
$bg->query_safe(q{BEGIN; INSERT INTO pageviews VALUES (-1, 'uncommitted', now());});

$node->stop('immediate');
$node->start;

is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM pageviews'),
	'10000|50005000', 'committed events survive a crash, uncommitted ones do not');
is($node->safe_psql('postgres', 'SELECT table_name, time_column FROM lambda.event_tables'),
	'pageviews|ts', 'the event table is still registered after the crash');
my ($ret, $out, $err) = $node->psql('postgres', q{UPDATE pageviews SET url = 'x' WHERE id = 1});
isnt($ret, 0, 'UPDATE still fails after the crash');
like($err, qr/cannot update event table "pageviews"/, '... with the append-only error');
($ret, $out, $err) = $node->psql('postgres', q{TRUNCATE pageviews});
like($err, qr/cannot truncate event table/, 'TRUNCATE still fails after the crash');
$node->safe_psql('postgres', q{INSERT INTO pageviews VALUES (10001, 'after', now())});
is($node->safe_psql('postgres', 'SELECT count(*) FROM pageviews'), '10001',
	'INSERT works after the crash');

# pg_dump / pg_restore round-trips the event table, which stays append-only.
my $dump = $node->basedir . '/events.dump';
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres')], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(['pg_restore', '-d', $node->connstr('restored'), $dump], 'pg_restore');
is($node->safe_psql('restored', 'SELECT count(*), sum(id) FROM pageviews'),
	$node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM pageviews'),
	'restored events equal the originals');
is($node->safe_psql('restored', 'SELECT event_table, time_column FROM lambda.event_tables'),
	'pageviews|ts', 'the restored table is registered as an event table');
($ret, $out, $err) = $node->psql('restored', q{DELETE FROM pageviews WHERE id < 100});
like($err, qr/cannot delete from event table "pageviews"/, 'the restored table is append-only');
is($node->safe_psql('restored', q{SELECT lambda.drop_events_before('pageviews', '2025-01-01 00:00:10+00')}),
	'9', 'retention works on the restored table');

# Without shared_preload_libraries the library refuses to load, with a hint.
my $bare = LambdaNode->new_node('bare', preload => 0);
($ret, $out, $err) = $bare->psql('postgres', 'CREATE EXTENSION pg_lambda');
isnt($ret, 0, 'CREATE EXTENSION fails when the library is not preloaded');
like($err, qr/pg_lambda must be loaded via shared_preload_libraries/, '... saying why');
like($err, qr/HINT:\s+Add pg_lambda to shared_preload_libraries/, '... and what to do');
is($bare->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_lambda'}),
	'0', '... and leaves nothing behind');

$bg->quit;
done_testing();
