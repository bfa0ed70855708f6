# Sliding windows and sketches over real time: while events arrive from
# concurrent sessions (with rolled-back transactions and subtransactions,
# late events inside and outside the window, events from the future), the
# scheduler refreshes, time moves the window on and a crash empties the
# speed layer, every sliding view answers exactly what its defining query
# answers over the window's steps at the same now(); old steps leave both
# layers; count(DISTINCT) is within 2 % while a large group is in the speed
# layer and exact once it is in the batch layer; percentile_cont stays
# within 1 %.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use LambdaNode;

my $node = LambdaNode->new_node('sliding');
my $connstr = $node->connstr('postgres');

$node->safe_psql('postgres', q{
	CREATE TABLE ev (k text, u int, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
});

sub query { return $node->safe_psql('postgres', $_[0]); }

# The exact answer: the defining query over the steps from the one holding
# now() - window to the one holding now().
sub window_where
{
	my ($window, $step) = @_;
	return qq{ts >= date_bin('$step', now() - interval '$window', '2000-01-01 00:00+00')
		AND ts < date_bin('$step', now(), '2000-01-01 00:00+00') + interval '$step'};
}

my %views = (
	sw_keys => {
		window => '8 seconds', step => '1 second',
		select => q{k, count(*) AS n, sum(x) AS s, count(DISTINCT u) AS du, min(x) AS lo, max(ts) AS last},
		group => 'GROUP BY k',
		cols => q{k, n, s, du, lo, last},
	},
	sw_global => {
		window => '5 seconds', step => '500 milliseconds',
		select => q{count(*) AS n, count(DISTINCT k) AS dk, max(x) AS hi},
		group => '',
		cols => q{n, dk, hi},
	},
);
foreach my $name (sort keys %views)
{
	my $v = $views{$name};
	$node->safe_psql('postgres', qq{CREATE MATERIALIZED VIEW $name WITH (lambda.continuous,
		lambda.sliding_window = '$v->{window}', lambda.window_step = '$v->{step}',
		lambda.refresh_interval = '2 seconds') AS SELECT $v->{select} FROM ev $v->{group}});
}

# Compares a view with the exact window query in one statement (one
# snapshot, one now()). Returns the number of rows.
sub compare_view
{
	my ($name, $what) = @_;
	my $v = $views{$name};
	my $where = window_where($v->{window}, $v->{step});
	my $with = qq{WITH a AS MATERIALIZED (SELECT $v->{cols} FROM $name),
		b AS MATERIALIZED (SELECT $v->{cols} FROM (SELECT $v->{select} FROM ev WHERE $where $v->{group}) d)};
	my $got = query(qq{$with
		SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b),
		       (SELECT count(*) FROM (TABLE a EXCEPT ALL TABLE b) x),
		       (SELECT count(*) FROM (TABLE b EXCEPT ALL TABLE a) y)});
	my (undef, $rows) = split /\|/, $got;
	$rows //= -1;
	if (!is($got, "$rows|$rows|0|0", "$what: $name equals the window query ($rows rows)"))
	{
		diag("view rows not in the query:\n" . query("$with (TABLE a EXCEPT ALL TABLE b) LIMIT 10"));
		diag("query rows not in the view:\n" . query("$with (TABLE b EXCEPT ALL TABLE a) LIMIT 10"));
	}
	return $rows;
}

sub check_all
{
	my ($what) = @_;
	compare_view($_, $what) foreach sort keys %views;
	return;
}

# A psql script of small transactions for one session: events timed up to
# 9 s in the past (some late, past the window's edge), a few from the
# future, rolled-back transactions and subtransactions whose events
# ("ghosts", x = -1) must never show.
sub session_script
{
	my ($seed, $ntx) = @_;
	srand($seed);
	my $sql = '';
	for my $t (1 .. $ntx)
	{
		my @rows;
		for (1 .. 1 + int(rand(4)))
		{
			my $age = rand() < 0.05 ? -1 : rand(9.5);
			push @rows, sprintf("('k%d', %d, %d, now() - interval '%.3f seconds')",
				int(rand(6)), int(rand(300)), int(rand(1000)), $age);
		}
		my $ins = 'INSERT INTO ev VALUES ' . join(', ', @rows) . ";\n";
		my $ghost = "INSERT INTO ev VALUES ('k1', 7, -1, now() - interval '1 second');\n";
		my $type = $t % 6;
		if ($type == 0) { $sql .= "BEGIN;\n$ghost${ins}ROLLBACK;\n"; }
		elsif ($type == 1) { $sql .= "BEGIN;\n${ins}SAVEPOINT s;\n${ghost}ROLLBACK TO SAVEPOINT s;\n${ins}COMMIT;\n"; }
		else { $sql .= $ins; }
		$sql .= "SELECT pg_sleep(0.01);\n";
	}
	return $sql;
}

sub run_sessions
{
	my ($seed, $n, $ntx) = @_;
	my @h;
	foreach my $s (1 .. $n)
	{
		my ($out, $err) = ('', '');
		push @h, { err => \$err, h => IPC::Run::start(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr ],
			'<', \(session_script($seed * 10 + $s, $ntx)), '>', \$out, '2>', \$err) };
	}
	foreach my $s (@h)
	{
		ok($s->{h}->finish, 'an inserting session ran without error') or diag(${ $s->{err} });
	}
	return;
}

check_all('no events');
is(query('SELECT n, dk, hi FROM sw_global'), '0|0|', 'a global window over no events: one row, count 0');

# Rounds of concurrent events, each followed by a comparison; the window
# moves on between rounds and the scheduler refreshes every 2 seconds.
my $start = time;
my $round = 0;
while (time - $start < 14)
{
	$round++;
	run_sessions($round, 2, 30);
	check_all("round $round");
}
cmp_ok($round, '>=', 3, "$round rounds of events over 14 seconds");
is(query(q{SELECT count(*) FROM sw_keys WHERE lo = -1}), '0', 'no rolled-back event is in a window');
ok(LambdaNode::wait_for($node,
	q{SELECT bool_and(last_refresh_mode IS NOT NULL AND last_refresh > now() - interval '5 seconds') FROM lambda.view_status},
	't', timeout => 15), 'the scheduler refreshes the sliding views');

# Old steps leave both layers: the batch table holds at most the steps of
# the window, with one step of slack and the refresh interval's worth.
ok(LambdaNode::wait_for($node, q{SELECT count(*) = 0 FROM lambda_catalog.sw_keys_batch
	WHERE _lambda_step < now() - interval '8 seconds' - interval '2 seconds' - interval '2 seconds'},
	't', timeout => 10), 'expired steps are deleted from the batch table');
cmp_ok(query(q{SELECT count(*) FROM lambda_catalog.sw_keys_batch}), '<=', 6 * 16,
	'the batch table holds no more than keys x steps in reach');

# Time passes without events (the newest are from 1 second in the future):
# the windows empty, and so do the batch tables.
sleep(11);
check_all('the window moved past every event');
is(query(q{SELECT count(*) FROM sw_keys}), '0', 'nothing is left in the keyed window');
is(query(q{SELECT n FROM sw_global}), '0', 'the global window counts 0');
ok(LambdaNode::wait_for($node, q{SELECT count(*) FROM lambda_catalog.sw_keys_batch}, '0', timeout => 10),
	'after a refresh the batch table is empty');
ok(LambdaNode::wait_for($node, q{SELECT speed_keys FROM lambda.view_status WHERE view = 'sw_keys'::regclass}, '0',
	timeout => 10), 'and so is the speed layer');

# A large group in the window: an estimate within 2 % while it is in the
# speed layer, exact once it is in the batch layer.
$node->safe_psql('postgres', q{ALTER MATERIALIZED VIEW sw_keys SET (lambda.refresh_interval = '1 hour')});
$node->safe_psql('postgres', q{REFRESH MATERIALIZED VIEW sw_keys});
$node->safe_psql('postgres', q{INSERT INTO ev SELECT 'big', i, 1, now() - (i % 5) * interval '1 second'
	FROM generate_series(1, 100000) i});
my ($du, $exact) = split /\|/, query(qq{SELECT (SELECT du FROM sw_keys WHERE k = 'big'),
	(SELECT count(DISTINCT u) FROM ev WHERE k = 'big' AND @{[ window_where('8 seconds', '1 second') ]})});
ok(abs($du - $exact) <= 0.02 * $exact, "100k distinct values in the speed layer: $du for $exact (within 2 %)");
$node->safe_psql('postgres', q{REFRESH MATERIALIZED VIEW sw_keys});
is(query(q{SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'sw_keys'::regclass}), 'from events',
	'the refresh reads the events of a group whose values became a sketch');
compare_view('sw_keys', 'the large group wholly in the batch layer');
$node->safe_psql('postgres', q{ALTER MATERIALIZED VIEW sw_keys SET (lambda.refresh_interval = '2 seconds')});

# A crash: the speed layer is gone; the views answer from the events after
# the cut, then from the rebuilt speed layer.
run_sessions(100, 2, 20);
$node->stop('immediate');
$node->start;
check_all('after a crash, before the rebuild');
ok(LambdaNode::wait_for($node, q{SELECT string_agg(state, ',') FROM lambda.view_status}, 'active,active',
	timeout => 30), 'the scheduler rebuilds the speed layers');
check_all('after the rebuild');
run_sessions(200, 2, 20);
check_all('new events after the rebuild');

# percentile_cont in a sliding window: within 1 % of the exact value.
$node->safe_psql('postgres', q{CREATE MATERIALIZED VIEW sw_pct WITH (lambda.continuous,
	lambda.sliding_window = '1 minute', lambda.window_step = '5 seconds') AS
	SELECT k, percentile_cont(0.9) WITHIN GROUP (ORDER BY x) AS p90 FROM ev GROUP BY k});
run_sessions(300, 2, 20);
is(query(qq{SELECT count(*) FILTER (WHERE abs(v.p90 - d.p90) > 0.01 * abs(d.p90) OR v.p90 IS NULL), count(*)
	FROM (SELECT k, percentile_cont(0.9) WITHIN GROUP (ORDER BY x) AS p90 FROM ev
	       WHERE @{[ window_where('1 minute', '5 seconds') ]} GROUP BY k) d LEFT JOIN sw_pct v USING (k)}) =~ /^0\|(\d+)$/ && $1 > 0
	? 'ok' : 'off', 'ok', 'percentile_cont in a sliding window is within 1 % for every key');

# A refresh interval longer than the window: the scheduler still refreshes
# the view once per window, so that expired steps leave both layers.
$node->safe_psql('postgres', q{ALTER MATERIALIZED VIEW sw_global SET (lambda.refresh_interval = '1 hour');
	REFRESH MATERIALIZED VIEW sw_global});
my $refreshed = query(q{SELECT last_refresh FROM lambda.view_status WHERE view = 'sw_global'::regclass});
is(query(q{SELECT next_refresh - last_refresh FROM lambda.view_status WHERE view = 'sw_global'::regclass}), '00:00:05',
	'view_status: the next refresh of a sliding window is due after the window');
ok(LambdaNode::wait_for($node, qq{SELECT last_refresh > '$refreshed' FROM lambda.view_status WHERE view = 'sw_global'::regclass},
	't', timeout => 15), 'the scheduler refreshes a sliding window once per window, whatever its refresh interval');

$node->stop;
done_testing();
