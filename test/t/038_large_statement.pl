# One 10-million-row statement into an event table with two continuous
# views (issue 14): the backend's partial states of each view stay within
# lambda.capture_memory (docs/configuration.md: moved into the speed layer's
# shared memory whenever they outgrow it), so the backend's private memory
# stays bounded however many rows and groups the statement brings; and the
# views answer exactly afterwards, from their speed layers.
#
# The backend's private memory is read from /proc (RssAnon: anonymous pages
# the process has touched, shared memory excluded) while the statement runs.
# With the bound the backend peaked at ~40 MB here; without it (capture_memory
# '4GB') at ~330 MB, so the test fails if the bound stops working.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

plan skip_all => 'reads the backend\'s memory from /proc (Linux)' unless -r "/proc/$$/status";

my $rows = 10_000_000;
my $groups = 1_000_000;
my $capture_mb = 16;

my $node = LambdaNode->new_node('large_statement',
	conf => "lambda.speed_layer_memory = '1GB'\n");

sub query { return $node->safe_psql('postgres', $_[0]); }

my %def = (
	va => 'SELECT k, count(*) AS n, sum(x) AS s, avg(x) AS a, min(x) AS lo, max(x) AS hi FROM ev GROUP BY k',
	vb => 'SELECT k2, count(*) AS n, sum(x) AS s FROM ev GROUP BY k2');

query(q{
	CREATE TABLE ev (k int, k2 int, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
});
query("CREATE MATERIALIZED VIEW $_ WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS $def{$_}")
	foreach sort keys %def;

# the statement, in a session of its own, pausing first so that its
# backend's memory is read before it starts
my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
		'-c', "SET application_name = 'large_statement'",
		'-c', "SET lambda.capture_memory = '${capture_mb}MB'",
		'-c', 'SELECT pg_sleep(1)',
		'-c', "INSERT INTO ev SELECT i % $groups, i % 1000, i % 100, '2025-01-01' FROM generate_series(1, $rows) i"
	],
	'>', \$out, '2>', \$err);

my $pid;
for (1 .. 100)
{
	$pid = query("SELECT pid FROM pg_stat_activity WHERE application_name = 'large_statement'");
	last if $pid ne '';
	select(undef, undef, undef, 0.05);
}
ok($pid ne '', 'the statement\'s backend is found');

sub rss_anon_kb
{
	open(my $f, '<', "/proc/$pid/status") or return undef;
	while (<$f>) { return $1 if /^RssAnon:\s+(\d+)\s+kB/; }
	return undef;
}

my $base = rss_anon_kb();
my $peak = $base // 0;
while ($h->pumpable)
{
	my $r = rss_anon_kb();
	$peak = $r if defined $r && $r > $peak;
	$h->pump_nb;
	select(undef, undef, undef, 0.1);
}
$h->finish;
is($h->result(0), 0, "the $rows-row INSERT ... SELECT succeeds") or diag($err);

# two views' states of at most capture_memory each, plus one serialized copy
# of them while they move, plus the executor, the transition table's
# work_mem and the caches: 2 x 2 x 16 MB + 32 MB
my $bound_kb = (2 * 2 * $capture_mb + 32) * 1024;
ok(defined $base && $peak - $base <= $bound_kb,
	"the backend's private memory grew by at most " . ($bound_kb / 1024) . ' MB')
	or diag("RssAnon before: $base kB, peak: $peak kB");
note('RssAnon before ' . ($base // '?') . " kB, peak $peak kB");

is(query(q{SELECT string_agg(view || ' ' || state || ' ' || speed_keys, ', ' ORDER BY view)
	FROM lambda.view_status}),
	"va active $groups, vb active 1000",
	'both views hold the statement\'s groups in their speed layers');
foreach my $v (sort keys %def)
{
	is(query("SELECT count(*) FROM ((TABLE $v EXCEPT ALL $def{$v}) UNION ALL ($def{$v} EXCEPT ALL TABLE $v)) d"),
		'0', "$v equals its defining query over the $rows events");
}
is(query('SELECT sum(n) FROM va'), $rows, 'every event is counted once');

done_testing();
