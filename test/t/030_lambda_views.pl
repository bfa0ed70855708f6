# Lambda views, exactly once (DESIGN invariant 1): whenever ingestion has
# quiesced, every continuous view answers exactly what its defining query
# answers over the event table, row for row - across concurrent inserting
# sessions with aborted transactions, rolled-back subtransactions and
# two-phase commits, COPY (committed, failed and rolled back), Kafka
# ingestion, scheduled and manual refreshes and recomputes while events
# arrive, late events, an immediate stop in the middle of all that (before
# and after the scheduler rebuilds the speed layer), and DROP.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use LambdaNode;
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { ev => 2 });
my $node = LambdaNode->new_node('views', conf => "log_statement = 'ddl'\n");
my $connstr = $node->connstr('postgres');

$node->safe_psql('postgres', q{
	CREATE TABLE ev (
		id   bigint NOT NULL,
		k    text,
		x    int,
		f    float8,
		ok   boolean,
		ts   timestamptz NOT NULL,
		src  text NOT NULL DEFAULT 'sql');
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	-- checked at commit: a duplicate fails the transaction after the
	-- capture trigger has seen its events
	ALTER TABLE ev ADD CONSTRAINT ev_id_key UNIQUE (id) DEFERRABLE INITIALLY DEFERRED;
});

# ---------------------------------------------------------------------------
# The views. "query" is the defining query, "cols" the projection both sides
# are compared through (float results rounded: combining partial states in
# another order may change their last digits).
my %views = (
	v_hourly => {
		with => q{lambda.continuous, lambda.refresh_interval = '1 second'},
		query => q{SELECT k, date_trunc('hour', ts) AS hour,
			count(*) AS n, count(x) AS nx, sum(x) AS s, avg(x) AS a, min(x) AS lo, max(x) AS hi,
			min(ts) AS first, max(ts) AS last, bool_and(ok) AS all_ok, bool_or(ok) AS any_ok,
			stddev(x) AS sd, variance(x) AS var, avg(f) AS af, stddev_samp(f) AS sdf, var_pop(f) AS vpf
		  FROM ev GROUP BY k, date_trunc('hour', ts)},
		cols => q{k, hour, n, nx, s, round(a, 6) AS a, lo, hi, first, last, all_ok, any_ok,
			round(sd, 6) AS sd, round(var, 6) AS var, round(af::numeric, 6) AS af,
			round(sdf::numeric, 6) AS sdf, round(vpf::numeric, 6) AS vpf},
		# the read shapes the speed layer's column indexes serve
		shapes => [
			q{k = 'k1'},
			q{k IN ('k2', 'k3', 'ghost', NULL)},
			q{hour >= '2025-01-01 02:00+00' AND hour < '2025-01-01 05:00+00'},
			q{k = 'k4' AND hour > '2025-01-01 01:00+00'},
			q{k IS NULL AND hour = '2025-01-01 03:00+00'},
		],
		# ORDER BY <keys> LIMIT n over the whole view (merge_order.c)
		orders => [ q{k, hour}, q{k DESC, hour DESC}, q{hour DESC, k} ],
		# plain joins that probe the view per outer row (merge_probe.c)
		probes => [
			q{VALUES ('k1'), ('k2'), ('ghost'), (NULL), ('k1')},
			q{SELECT 'k' || i FROM generate_series(0, 9) i},
		],
	},
	v_filtered => {
		with => q{lambda.continuous},
		query => q{SELECT k, date_bin('15 minutes', ts, '2025-01-01 00:00+00') AS w,
			count(*) AS n, sum(x) AS s, max(f) AS hi_f, bit_or(x) AS bits
		  FROM ev WHERE x % 3 = 0 AND ok AND k IS DISTINCT FROM 'k0'
		  GROUP BY k, date_bin('15 minutes', ts, '2025-01-01 00:00+00')},
		cols => q{k, w, n, s, hi_f, bits},
		shapes => [ q{k = 'k5'}, q{w >= '2025-01-01 04:30+00'}, q{k > 'k7' AND w < '2025-01-01 01:00+00'} ],
		orders => [ q{k, w}, q{k DESC, w DESC} ],
	},
	v_global => {
		with => q{lambda.continuous},
		query => q{SELECT count(*) AS n, count(k) AS nk, sum(x) AS s, min(x) AS lo, max(x) AS hi,
			avg(x) AS a, bool_and(ok) AS all_ok, max(ts) AS latest, count(DISTINCT x) AS dx FROM ev},
		cols => q{n, nk, s, lo, hi, round(a, 6) AS a, all_ok, latest, dx},
	},
	# count(DISTINCT) is exact while a group's distinct values fit in 16 kB
	# (x has at most 1000 values: 12 bytes each as int, 16 as float8)
	v_distinct => {
		with => q{lambda.continuous, lambda.refresh_interval = '2 seconds'},
		query => q{SELECT date_trunc('hour', ts) AS hour, count(*) AS n, count(DISTINCT x) AS dx,
			count(DISTINCT k) AS dk, count(DISTINCT f) AS df, count(DISTINCT x) FILTER (WHERE ok) AS dx_ok
		  FROM ev GROUP BY date_trunc('hour', ts)},
		cols => q{hour, n, dx, dk, df, dx_ok},
	},
	v_expr => {
		with => q{lambda.continuous},
		query => q{SELECT k, x % 20 AS bucket, count(*) AS n, sum(x)::float8 / count(*) AS ratio,
			max(x) - min(x) AS spread, count(*) FILTER (WHERE ok) AS n_ok
		  FROM ev WHERE x IS NOT NULL GROUP BY k, x % 20 HAVING count(*) > 60},
		cols => q{k, bucket, n, round(ratio::numeric, 9) AS ratio, spread, n_ok},
	},
);

sub create_view
{
	my ($name) = @_;
	$node->safe_psql('postgres',
		"CREATE MATERIALIZED VIEW $name WITH ($views{$name}{with}) AS $views{$name}{query}");
	$views{$name}{exists} = 1;
	return;
}

# Compares view $name with its defining query, in one statement (one
# snapshot): counts of both sides and EXCEPT ALL both ways; only the rows
# meeting $where when it is given. Returns the number of rows the defining
# query gives.
sub compare_view
{
	my ($name, $what, $where) = @_;
	my $v = $views{$name};
	my $cond = defined $where ? "WHERE $where" : '';
	$what .= " (WHERE $where)" if defined $where;
	my $with = qq{WITH a AS MATERIALIZED (SELECT $v->{cols} FROM $name $cond),
		b AS MATERIALIZED (SELECT $v->{cols} FROM ($v->{query}) d $cond)};
	my $got = $node->safe_psql('postgres', qq{$with
		SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b),
		       (SELECT count(*) FROM (TABLE a EXCEPT ALL TABLE b) x),
		       (SELECT count(*) FROM (TABLE b EXCEPT ALL TABLE a) y)});
	my (undef, $rows) = split /\|/, $got;
	$rows //= -1;
	if (!is($got, "$rows|$rows|0|0", "$what: $name equals its defining query ($rows rows)"))
	{
		diag("view rows not in the query:\n"
			  . $node->safe_psql('postgres', "$with (TABLE a EXCEPT ALL TABLE b) LIMIT 10"));
		diag("query rows not in the view:\n"
			  . $node->safe_psql('postgres', "$with (TABLE b EXCEPT ALL TABLE a) LIMIT 10"));
	}
	return $rows;
}

# Compares the first rows of view $name in the order $order (all its keys:
# one answer) with the defining query's, row for row and in order, in one
# statement.
sub compare_order
{
	my ($name, $what, $order) = @_;
	my $v = $views{$name};
	my $with = qq{WITH a AS MATERIALIZED (SELECT row_number() OVER () AS rn, t.* FROM
			(SELECT $v->{cols} FROM $name ORDER BY $order LIMIT 25) t),
		b AS MATERIALIZED (SELECT row_number() OVER () AS rn, t.* FROM
			(SELECT $v->{cols} FROM ($v->{query}) d ORDER BY $order LIMIT 25) t)};
	my $got = $node->safe_psql('postgres', qq{$with
		SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b),
		       (SELECT count(*) FROM (TABLE a EXCEPT ALL TABLE b) x),
		       (SELECT count(*) FROM (TABLE b EXCEPT ALL TABLE a) y)});
	my (undef, $rows) = split /\|/, $got;
	$rows //= -1;
	if (!is($got, "$rows|$rows|0|0", "$what: $name ORDER BY $order LIMIT 25 equals its defining query's"))
	{
		diag("view rows not in the query:\n"
			  . $node->safe_psql('postgres', "$with (TABLE a EXCEPT ALL TABLE b) LIMIT 10"));
		diag("query rows not in the view:\n"
			  . $node->safe_psql('postgres', "$with (TABLE b EXCEPT ALL TABLE a) LIMIT 10"));
	}
	return;
}

# Compares a plain (left) join of the outer rows $outer (one column, the key k) with
# view $name against the same join with its defining query, in one
# statement. Without hash and merge joins and materialization, the view's
# join is a nested loop probing the view (Custom Scan (LambdaProbe)) once
# the view has rows, which the first such call checks (an empty view is
# cheaper to read whole).
my %probe_checked;

sub compare_probe
{
	my ($name, $what, $outer) = @_;
	my $v = $views{$name};
	my $set = q{SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_material = off;};
	my $cols = join(', ', map { "v.$_" } split /\s*,\s*/, 'k, hour, n, nx, s, lo, hi, first, last');
	my $a = "SELECT p.pk, $cols FROM ($outer) p(pk) LEFT JOIN $name v ON v.k = p.pk";
	my $b = "SELECT p.pk, $cols FROM ($outer) p(pk) LEFT JOIN ($v->{query}) v ON v.k = p.pk";
	if ($what ne 'empty event table' && !$probe_checked{"$name $outer"}++)
	{
		like($node->safe_psql('postgres', "$set EXPLAIN (COSTS OFF) $a"),
			qr/Custom Scan \(LambdaProbe\)/, "a join with $name probes it per outer row");
	}
	my $got = $node->safe_psql('postgres', qq{$set
		WITH a AS MATERIALIZED ($a), b AS MATERIALIZED ($b)
		SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b),
		       (SELECT count(*) FROM (TABLE a EXCEPT ALL TABLE b) x),
		       (SELECT count(*) FROM (TABLE b EXCEPT ALL TABLE a) y)});
	my (undef, $rows) = split /\|/, $got;
	$rows //= -1;
	is($got, "$rows|$rows|0|0", "$what: join probing $name equals the join with its defining query ($rows rows)");
	return;
}

# Every existing view; each must have rows unless listed in $empty.
sub check_all
{
	my ($what, %empty) = @_;
	my %rows;
	foreach my $name (sort keys %views)
	{
		next unless $views{$name}{exists};
		$rows{$name} = compare_view($name, $what);
		cmp_ok($rows{$name}, '>', 0, "$what: $name is not empty") unless $empty{$name};
		compare_view($name, $what, $_) foreach @{ $views{$name}{shapes} // [] };
		compare_order($name, $what, $_) foreach @{ $views{$name}{orders} // [] };
		compare_probe($name, $what, $_) foreach @{ $views{$name}{probes} // [] };
	}
	return \%rows;
}

sub query { return $node->safe_psql('postgres', $_[0]); }

# Runs refreshes or recomputes: one that fails is a failed test, and the
# test goes on. Returns the error, if any.
sub refresh_ok
{
	my ($sql, $what) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 1);
	my $ok = $ret == 0 && $err !~ /ERROR/;
	if (defined $what)
	{
		ok($ok, $what) or diag($err);
	}
	return $ok ? undef : $err;
}

# ---------------------------------------------------------------------------
# Events. Real events spread over six hours of 2025-01-01 (ok is false only
# in hour 3, so bool_and differs between windows), with NULL keys and values
# now and then. "Ghost" events are only ever inserted by transactions or
# subtransactions that roll back: x = 99999, ok false, some with key
# 'ghost', some in a window of their own; any trace of one shows.
# Event ids: sessions <phase>_<session>_<transaction>_<n> (2e9 and up), COPY
# 5e8, single statements 6e8 and 7e8, ghosts of COPY 8e8, Kafka 9e8.
my %total = (n => 0, s => 0);    # committed events the test knows of

sub real_event
{
	my ($id) = @_;
	my $hour = int(rand(6));
	my $ts = sprintf('2025-01-01 %02d:%02d:%02d+00', $hour, int(rand(60)), int(rand(60)));
	my $x = rand() < 0.05 ? undef : int(rand(1000));
	return {
		id => $id,
		k => rand() < 0.04 ? undef : 'k' . int(rand(10)),
		x => $x,
		f => defined $x ? $x / 4 : (rand() < 0.5 ? undef : 1.25),
		ok => rand() < 0.03 ? undef : ($hour == 3 && rand() < 0.5 ? 'f' : 't'),
		ts => $ts,
	};
}

sub ghost_event
{
	my ($id) = @_;
	my $own = rand() < 0.5;
	return {
		id => $id,
		k => $own ? 'ghost' : 'k3',
		x => 99999,
		f => 99999.5,
		ok => 'f',
		ts => $own ? '2031-06-01 12:00:00+00' : '2025-01-01 01:30:00+00',
	};
}

sub lit { return defined $_[0] ? "'$_[0]'" : 'NULL'; }

# An INSERT of the given events; counts real ones in %$count.
sub insert_sql
{
	my ($count, @events) = @_;
	foreach my $e (@events)
	{
		next if $e->{x} && $e->{x} == 99999;
		$count->{n}++;
		$count->{s} += $e->{x} // 0;
	}
	return 'INSERT INTO ev (id, k, x, f, ok, ts) VALUES '
	  . join(', ', map { '(' . join(', ', $_->{id}, lit($_->{k}), lit($_->{x}), lit($_->{f}), lit($_->{ok}), lit($_->{ts})) . ')' } @events)
	  . ";\n";
}

# A psql script of $ntx small transactions for session $s of phase $phase:
# committed ones, aborted ones, and subtransactions rolled back or released,
# each followed by a 2 ms pause (so that sessions last a while on any
# machine). Returns the script and the count and sum(x) of the events it
# commits.
sub session_script
{
	my ($phase, $s, $ntx) = @_;
	srand(1000 * $phase + $s);
	my %c = (n => 0, s => 0);
	my %ghosts;    # ghost events do not count
	my $base = $phase * 1_000_000_000 + $s * 10_000_000;
	my $sql = '';
	for my $t (1 .. $ntx)
	{
		my $id = $base + $t * 10;
		my $type = $t % 10;
		if ($type == 0)
		{
			$sql .= "BEGIN;\n" . insert_sql(\%ghosts, ghost_event($id), ghost_event($id + 1)) . "ROLLBACK;\n";
		}
		elsif ($type == 1)
		{
			$sql .= "BEGIN;\n" . insert_sql(\%c, real_event($id))
			  . "SAVEPOINT s1;\n" . insert_sql(\%ghosts, ghost_event($id + 1))
			  . "ROLLBACK TO SAVEPOINT s1;\n" . insert_sql(\%c, real_event($id + 2)) . "COMMIT;\n";
		}
		elsif ($type == 2)
		{
			$sql .= "BEGIN;\nSAVEPOINT a;\n" . insert_sql(\%c, real_event($id))
			  . "SAVEPOINT b;\n" . insert_sql(\%ghosts, ghost_event($id + 1), ghost_event($id + 2))
			  . "ROLLBACK TO SAVEPOINT b;\nRELEASE SAVEPOINT a;\nCOMMIT;\n";
		}
		elsif ($type == 3 || $type == 4)
		{
			$sql .= insert_sql(\%c, map { real_event($id + $_) } 0 .. 4);
		}
		elsif ($type == 5)
		{
			$sql .= "BEGIN;\n" . insert_sql(\%c, real_event($id))
			  . "SAVEPOINT s1;\n" . insert_sql(\%c, real_event($id + 1))
			  . "RELEASE SAVEPOINT s1;\nCOMMIT;\n";
		}
		elsif ($type == 6)
		{
			$sql .= "BEGIN;\n" . insert_sql(\%ghosts, ghost_event($id))
			  . "SAVEPOINT s1;\n" . insert_sql(\%ghosts, ghost_event($id + 1))
			  . "RELEASE SAVEPOINT s1;\nROLLBACK;\n";
		}
		elsif ($type == 7)
		{
			$sql .= "BEGIN;\n" . insert_sql(\%c, real_event($id))
			  . "SAVEPOINT s1;\n" . insert_sql(\%ghosts, ghost_event($id + 1))
			  . "ROLLBACK TO SAVEPOINT s1;\n" . insert_sql(\%ghosts, ghost_event($id + 2))
			  . "ROLLBACK TO SAVEPOINT s1;\n" . insert_sql(\%c, real_event($id + 3)) . "COMMIT;\n";
		}
		else
		{
			$sql .= insert_sql(\%c, real_event($id));
		}
		$sql .= "SELECT pg_sleep(0.002);\n";
	}
	return ($sql, $c{n}, $c{s});
}

# Starts $n psql sessions running their scripts of phase $phase concurrently.
# Returns the handles and the count and sum(x) they commit when they finish.
sub start_sessions
{
	my ($phase, $n, $ntx) = @_;
	my (@h, $count, $sum);
	for my $s (1 .. $n)
	{
		my ($sql, $c, $sm) = session_script($phase, $s, $ntx);
		my $file = $node->basedir . "/session_${phase}_$s.sql";
		open(my $fh, '>', $file) or die "$file: $!";
		print $fh $sql;
		close $fh;
		my ($out, $err) = ('', '');
		push @h, {
			err => \$err,
			h => IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-f', $file ],
				'<', \undef, '>', \$out, '2>', \$err)
		};
		$count += $c;
		$sum += $sm;
	}
	return (\@h, $count, $sum);
}

sub sessions_running
{
	my ($h) = @_;
	return scalar grep { $_->{h}->pumpable && do { $_->{h}->pump_nb; $_->{h}->pumpable } } @$h;
}

my $ghosts_sql = q{SELECT count(*) FROM ev WHERE x = 99999 OR k = 'ghost'};

# Kafka messages: JSON events with ids [$from, $to).
sub kafka_events
{
	my ($from, $to) = @_;
	srand($from);
	my @msgs;
	for my $id ($from .. $to - 1)
	{
		my $e = real_event($id);
		$total{n}++;
		$total{s} += $e->{x} // 0;
		my ($date, $time) = split / /, substr($e->{ts}, 0, 19);
		push @msgs, sprintf('{"id": %d, "k": %s, "x": %s, "f": %s, "ok": %s, "ts": "%sT%sZ", "src": "kafka"}',
			$id, defined $e->{k} ? qq("$e->{k}") : 'null', $e->{x} // 'null', $e->{f} // 'null',
			!defined $e->{ok} ? 'null' : $e->{ok} eq 't' ? 'true' : 'false', $date, $time);
	}
	return \@msgs;
}

# COPY files (text format): real events, or ghosts.
sub copy_file
{
	my ($name, $from, $to, $ghost, $bad_last_line) = @_;
	my $file = $node->basedir . "/$name.copy";
	srand($from);
	open(my $fh, '>', $file) or die "$file: $!";
	my ($n, $s) = (0, 0);
	for my $id ($from .. $to - 1)
	{
		my $e = $ghost ? ghost_event($id) : real_event($id);
		$n++;
		$s += $e->{x} // 0;
		print $fh join("\t", map { $_ // '\N' } $id, $e->{k}, $e->{x}, $e->{f}, $e->{ok}, $e->{ts}, 'copy'), "\n";
	}
	print $fh "$to\tk1\tnot a number\t1\tt\t2025-01-01 00:00:00+00\tcopy\n" if $bad_last_line;
	close $fh;
	return ($file, $n, $s);
}

# ---------------------------------------------------------------------------
# Views over an empty event table; the global one has its one row already.
create_view($_) for qw(v_hourly v_filtered v_global);
is(query('SELECT n, nk, s, lo, hi, a, all_ok, latest FROM v_global'), '0|0||||||',
	'a global view over no events is one row: count 0, the rest NULL');
check_all('empty event table', v_hourly => 1, v_filtered => 1);
is(query(q{SELECT string_agg(view::text || ':' || state || ':' || refresh_interval, ',' ORDER BY view::text)
	FROM lambda.view_status}),
	'v_filtered:active:00:01:00,v_global:active:00:01:00,v_hourly:active:00:00:01',
	'view_status: three active views, with their refresh intervals');

# ---------------------------------------------------------------------------
# COPY: a committed one, a rolled-back one, one that fails on its last line.
my ($copy1, $copy_n, $copy_s) = copy_file('copy1', 500_000_001, 500_020_001);
$node->safe_psql('postgres', "COPY ev FROM '$copy1'");
$total{n} += $copy_n;
$total{s} += $copy_s;
my ($copy_ghost) = copy_file('ghost', 800_000_001, 800_002_001, 1);
$node->safe_psql('postgres', "BEGIN; COPY ev FROM '$copy_ghost'; ROLLBACK;");
my ($copy_bad) = copy_file('bad', 500_020_001, 500_021_001, 0, 1);
my ($ret, $out, $err) = $node->psql('postgres', "COPY ev FROM '$copy_bad'");
like($err, qr/invalid input syntax for type integer/, 'a COPY failing on its last line fails');
is(query('SELECT count(*), sum(x) FROM ev'), "$total{n}|$total{s}",
	'only the committed COPY reached the event table');
check_all('after COPY');

# A view created over existing events starts with all of them.
create_view($_) for qw(v_expr v_distinct);
my $rows = check_all('after COPY, a view created over existing events');
cmp_ok($rows->{v_expr}, '<',
	query('SELECT count(*) FROM (SELECT DISTINCT k, x % 20 FROM ev WHERE x IS NOT NULL) g'),
	'HAVING leaves some groups out of v_expr');

# ---------------------------------------------------------------------------
# Concurrent sessions, Kafka, scheduled and manual refreshes, all at once.
my $bootstrap = $kafka->bootstrap;
$node->safe_psql('postgres', qq{
	SELECT lambda.create_kafka_source(
		name => 'ev_src', target => 'ev', brokers => '$bootstrap', topic => 'ev',
		format => 'json', start_from => 'earliest',
		-- small fetches: many small transactions
		options => '{"fetch.message.max.bytes": 4096}');
});
my $t_alter = query('SELECT clock_timestamp()');
$node->safe_psql('postgres', q{ALTER MATERIALIZED VIEW v_filtered SET (lambda.refresh_interval = '1 second')});
is(query(q{SELECT refresh_interval FROM lambda.view_status WHERE view = 'v_filtered'::regclass}), '00:00:01',
	'ALTER MATERIALIZED VIEW ... SET (lambda.refresh_interval) shows in view_status');

# While the sessions insert, this process produces Kafka messages in chunks
# and refreshes or recomputes one view after another (v_filtered is left to
# the scheduler). The sessions have enough transactions to outlast several
# rounds on a fast machine too (with 1,000 each, PostgreSQL 17's run once
# saw them end after 4 rounds).
my ($sessions, $sess_n, $sess_s) = start_sessions(2, 4, 3000);
my @ops = (
	'REFRESH MATERIALIZED VIEW v_hourly',
	q{SELECT lambda.recompute('v_expr')},
	'REFRESH MATERIALIZED VIEW v_global',
	'REFRESH MATERIALIZED VIEW v_expr',
	q{SELECT lambda.recompute('v_hourly')});
my ($rounds, $rounds_during, $kafka_total) = (0, 0, 0);
my @refresh_errors;
my $deadline = time() + 60;
while (sessions_running($sessions) && time() < $deadline)
{
	if ($kafka_total < 3000)
	{
		$kafka->produce('ev', kafka_events(900_000_001 + $kafka_total, 900_000_501 + $kafka_total), spread => 1);
		$kafka_total += 500;
	}
	my $error = refresh_ok($ops[ $rounds % @ops ]);
	push @refresh_errors, "$ops[ $rounds % @ops ]: $error" if defined $error;
	$rounds++;
	$rounds_during++ if sessions_running($sessions);
	usleep(50_000);
}
while ($kafka_total < 3000)
{
	$kafka->produce('ev', kafka_events(900_000_001 + $kafka_total, 900_000_501 + $kafka_total), spread => 1);
	$kafka_total += 500;
}
foreach my $s (@$sessions)
{
	ok($s->{h}->finish, 'an inserting session ran its script without error')
	  or diag(${ $s->{err} });
}
$total{n} += $sess_n;
$total{s} += $sess_s;
cmp_ok($rounds_during, '>=', 5, "manual refreshes and recomputes ran while sessions inserted ($rounds_during of $rounds rounds)");
is(scalar(@refresh_errors), 0, 'every refresh and recompute during ingestion succeeded')
  or diag(join("\n", @refresh_errors[ 0 .. ($#refresh_errors > 4 ? 4 : $#refresh_errors) ]));
ok(LambdaNode::wait_for($node, q{SELECT count(*) FROM ev WHERE src = 'kafka'}, $kafka_total, timeout => 60),
	'every Kafka message became an event');
is(query('SELECT count(*), sum(x) FROM ev'), "$total{n}|$total{s}",
	'the event table holds exactly the committed events');
is(query($ghosts_sql), '0', 'no event of an aborted transaction or subtransaction is in the event table');
ok(LambdaNode::wait_for($node, qq{SELECT last_refresh > '$t_alter' AND last_refresh_mode = 'incremental'
	FROM lambda.view_status WHERE view = 'v_filtered'::regclass}, 't', timeout => 15),
	'the scheduler refreshed v_filtered incrementally after its interval became 1 second');
check_all('concurrent sessions, Kafka and refreshes');
is(query(q{SELECT count(*) FROM v_hourly WHERE k = 'ghost' OR hi = 99999}), '0',
	'no aborted event shows in the view');

# The same after a refresh of every view, and after a recompute.
refresh_ok("REFRESH MATERIALIZED VIEW $_", "REFRESH MATERIALIZED VIEW $_") for qw(v_hourly v_filtered v_global v_expr);
is(query(q{SELECT string_agg(last_refresh_mode, ',' ORDER BY view::text) FROM lambda.view_status
	WHERE view IN ('v_expr'::regclass, 'v_global'::regclass)}), 'incremental,incremental',
	'view_status: REFRESH MATERIALIZED VIEW refreshes incrementally');
check_all('after REFRESH of every view');
refresh_ok("SELECT lambda.recompute('$_')", "lambda.recompute('$_')") for qw(v_hourly v_filtered v_global v_expr);
is(query(q{SELECT string_agg(last_refresh_mode, ',' ORDER BY view::text) FROM lambda.view_status
	WHERE view IN ('v_expr'::regclass, 'v_global'::regclass)}), 'recompute,recompute',
	'view_status: lambda.recompute recomputes');
check_all('after lambda.recompute of every view');

# Refreshes back to back, an event before each.
my @back_to_back;
for my $i (1 .. 10)
{
	$node->safe_psql('postgres', insert_sql(\%total, real_event(630_000_000 + $i)));
	my $error = refresh_ok('REFRESH MATERIALIZED VIEW v_global');
	push @back_to_back, "REFRESH $i: $error" if defined $error;
}
is(scalar(@back_to_back), 0, 'ten REFRESHes of a view back to back, an event before each, all succeed')
  or diag($back_to_back[0]);
check_all('after ten REFRESHes back to back');

# ---------------------------------------------------------------------------
# A transaction open across refreshes and recomputes: its events count when
# it commits, not before, and not twice.
my $refresh_all = join('', map { "REFRESH MATERIALIZED VIEW $_;\n" } qw(v_hourly v_filtered v_global v_expr));
my $bg = $node->background_psql('postgres');
my %pending;
$bg->query_safe('BEGIN; ' . insert_sql(\%pending, map { real_event(620_000_000 + $_) } 1 .. 5));
refresh_ok($refresh_all . q{SELECT lambda.recompute('v_expr');}, 'refreshes while a transaction is open');
$bg->query_safe(insert_sql(\%pending, real_event(620_000_010)) . 'SAVEPOINT s1; '
	  . insert_sql({}, ghost_event(620_000_011)) . 'ROLLBACK TO SAVEPOINT s1;');
check_all('a transaction open across refreshes, before it commits');
$bg->query_safe('COMMIT');
$total{$_} += $pending{$_} for qw(n s);
is(query('SELECT count(*), sum(x) FROM ev'), "$total{n}|$total{s}", 'the open transaction committed');
check_all('a transaction open across refreshes, after it commits');
refresh_ok($refresh_all, 'refreshes after it committed');
check_all('a transaction open across refreshes, committed and refreshed');
$bg->quit;

# Two-phase commit: a prepared transaction's events count when it commits
# (from another session, after refreshes), never when it rolls back.
$node->safe_psql('postgres', 'BEGIN; ' . insert_sql(\%total, map { real_event(600_000_000 + $_) } 1 .. 5)
	  . q{PREPARE TRANSACTION 'two_phase_commit';});
$node->safe_psql('postgres', 'BEGIN; ' . insert_sql({}, map { ghost_event(600_000_010 + $_) } 1 .. 5)
	  . q{PREPARE TRANSACTION 'two_phase_abort';});
refresh_ok($refresh_all . q{SELECT lambda.recompute('v_hourly');}, 'refreshes while transactions are prepared');
check_all('prepared transactions pending');
$node->safe_psql('postgres', q{COMMIT PREPARED 'two_phase_commit'; ROLLBACK PREPARED 'two_phase_abort';});
check_all('after COMMIT PREPARED and ROLLBACK PREPARED');

# A transaction failing at COMMIT (its deferred unique check) leaves no trace.
($ret, $out, $err) = $node->psql('postgres', 'BEGIN; ' . insert_sql({}, ghost_event(500_000_001)) . 'COMMIT;');
like($err, qr/duplicate key value violates unique constraint "ev_id_key"/, 'a transaction fails at COMMIT');
is(query('SELECT count(*), sum(x) FROM ev'), "$total{n}|$total{s}", 'the event table holds the committed events');
check_all('after a transaction failed at COMMIT');

# ---------------------------------------------------------------------------
# Late events: an old window already in the batch table is corrected, and a
# window older than every other appears.
refresh_ok('REFRESH MATERIALIZED VIEW v_hourly', 'REFRESH before the late events');
my $window = q{FROM v_hourly WHERE k = 'k1' AND hour = '2025-01-01 00:00+00'};
my $before = query("SELECT n, s $window");
my ($bn, $bs) = split /\|/, $before;
$node->safe_psql('postgres', insert_sql(\%total,
	{ id => 700_000_001, k => 'k1', x => 5, f => 1.25, ok => 't', ts => '2025-01-01 00:30:00+00' },
	{ id => 700_000_002, k => 'k1', x => 7, f => 1.75, ok => 't', ts => '2024-06-01 08:00:00+00' }));
is(query("SELECT n, s $window"), ($bn + 1) . '|' . ($bs + 5), 'a late event corrects its old window');
is(query(q{SELECT n, s FROM v_hourly WHERE k = 'k1' AND hour = '2024-06-01 08:00+00'}), '1|7',
	'a late event older than every window makes its own');
check_all('late events');
refresh_ok('REFRESH MATERIALIZED VIEW v_hourly', 'REFRESH after the late events');
is(query("SELECT n, s $window"), ($bn + 1) . '|' . ($bs + 5), 'the corrected window stays corrected after a refresh');
check_all('late events, refreshed');

# ---------------------------------------------------------------------------
# An immediate stop in the middle of everything: sessions inserting, Kafka
# consuming slowly, refreshes running. Prepared transactions survive it: one
# with events, one with ghosts, and one holding the batch tables' lock so
# that the scheduler cannot rebuild the speed layer until we let it.
my $file = $node->basedir . '/kafka2.json';
open(my $kfh, '>', $file) or die "$file: $!";
print $kfh "$_\n" for @{ kafka_events(900_003_001, 900_009_001) };
close $kfh;
$kafka_total += 6000;
# small record batches and a slow broker: consuming them takes seconds
$node->safe_psql('postgres', q{SELECT lambda.stop_source('ev_src')});
$kafka->produce_file('ev', $file, spread => 1, config => { 'batch.num.messages' => 10 });
$kafka->command('rtt all 30');
$node->safe_psql('postgres', q{SELECT lambda.start_source('ev_src')});
@refresh_errors = ();
my ($crash_sessions, $crash_n) = start_sessions(4, 4, 5000);
my $in_phase4 = q{SELECT count(*) FROM ev WHERE id BETWEEN 4000000000 AND 4999999999};
$deadline = time() + 60;
while ((query($in_phase4) < 3000 || query(q{SELECT count(*) FROM ev WHERE src = 'kafka'}) < 3300)
	&& time() < $deadline)
{
	my $error = refresh_ok(q{REFRESH MATERIALIZED VIEW v_global; SELECT lambda.recompute('v_expr');});
	push @refresh_errors, $error if defined $error;
	usleep(100_000);
}
$node->safe_psql('postgres', 'BEGIN; ' . insert_sql(\%total, map { real_event(610_000_000 + $_) } 1 .. 5)
	  . q{PREPARE TRANSACTION 'events_across_crash';});
$node->safe_psql('postgres', 'BEGIN; ' . insert_sql({}, map { ghost_event(610_000_010 + $_) } 1 .. 5)
	  . q{PREPARE TRANSACTION 'ghosts_across_crash';});
$node->safe_psql('postgres', q{BEGIN;
	LOCK TABLE lambda_catalog.v_hourly_batch, lambda_catalog.v_filtered_batch,
	           lambda_catalog.v_global_batch, lambda_catalog.v_expr_batch,
	           lambda_catalog.v_distinct_batch IN SHARE UPDATE EXCLUSIVE MODE;
	PREPARE TRANSACTION 'hold_rebuild';});
is(scalar(@refresh_errors), 0, 'every refresh and recompute before the crash succeeded')
  or diag(join("\n", @refresh_errors[ 0 .. ($#refresh_errors > 4 ? 4 : $#refresh_errors) ]));
my $sql_before = query($in_phase4);
my $kafka_before = query(q{SELECT count(*) FROM ev WHERE src = 'kafka'});
$node->stop('immediate');
cmp_ok($sql_before, '<', $crash_n, "the crash hit the sessions mid-stream ($sql_before of $crash_n events in)");
cmp_ok($kafka_before, '<', $kafka_total, "the crash hit Kafka ingestion mid-stream ($kafka_before of $kafka_total)");
$_->{h}->finish foreach @$crash_sessions;    # they lost their connections
$kafka->command('rtt all 0');
$node->start;

my $not_rebuilt = q{SELECT count(*) FILTER (WHERE state IN ('not loaded', 'rebuilding')), count(*) FROM lambda.view_status};
is(query($not_rebuilt), '5|5', 'after the restart no speed layer is rebuilt yet');
check_all('after the crash, before the speed layer is rebuilt');
is(query($ghosts_sql), '0', 'no aborted event is in the event table after the crash');

# New events while the speed layer is not rebuilt: sessions and Kafka.
my ($after_sessions, $after_n, $after_s) = start_sessions(5, 2, 100);
foreach my $s (@$after_sessions)
{
	ok($s->{h}->finish, 'a session inserting before the rebuild ran without error')
	  or diag(${ $s->{err} });
}
ok(LambdaNode::wait_for($node, q{SELECT count(*) FROM ev WHERE src = 'kafka'}, $kafka_total, timeout => 60),
	'Kafka ingestion resumes after the crash and completes, nothing twice');
is(query(q{SELECT count(*) - count(DISTINCT id) FROM ev}), '0', 'no event is in the table twice');
is(query($not_rebuilt), '5|5', 'the speed layers are still not rebuilt');
check_all('new events before the rebuild');
$node->safe_psql('postgres', q{COMMIT PREPARED 'events_across_crash'; ROLLBACK PREPARED 'ghosts_across_crash';});
is(query(q{SELECT count(*) FROM ev WHERE id BETWEEN 610000001 AND 610000005}), '5',
	'a transaction prepared before the crash commits after it');
check_all('prepared transactions resolved before the rebuild');

# Let the scheduler rebuild.
$node->safe_psql('postgres', q{COMMIT PREPARED 'hold_rebuild';});
ok(LambdaNode::wait_for($node, q{SELECT string_agg(state, ',') FROM lambda.view_status}, 'active,active,active,active,active',
	timeout => 30), 'the scheduler rebuilds every speed layer: all views active again');
check_all('after the scheduler rebuilt the speed layers');
is(query($ghosts_sql), '0', 'no aborted event is in the event table');

# Life goes on: more events, a refresh, a recompute.
my ($late_sessions) = start_sessions(6, 2, 100);
refresh_ok(q{REFRESH MATERIALIZED VIEW v_hourly; SELECT lambda.recompute('v_global');},
	'a refresh and a recompute while sessions insert after the rebuild');
foreach my $s (@$late_sessions)
{
	ok($s->{h}->finish, 'a session after the rebuild ran without error')
	  or diag(${ $s->{err} });
}
check_all('more events and refreshes after the rebuild');
refresh_ok($refresh_all, 'REFRESH of every view after the rebuild');
check_all('after a REFRESH of every view');

# ---------------------------------------------------------------------------
# DROP MATERIALIZED VIEW removes the view, its batch and speed tables and
# its status; the other views go on.
$node->safe_psql('postgres', 'DROP MATERIALIZED VIEW v_expr');
$views{v_expr}{exists} = 0;
is(query(q{SELECT to_regclass('v_expr'), to_regclass('lambda_catalog.v_expr_batch'), to_regclass('lambda_catalog.v_expr_speed')}),
	'||', 'DROP MATERIALIZED VIEW removes the view and its batch and speed tables');
is(query(q{SELECT string_agg(view::text, ',' ORDER BY view::text) FROM lambda.view_status}),
	'v_distinct,v_filtered,v_global,v_hourly', '... and its row in lambda.view_status');
$node->safe_psql('postgres', insert_sql(\%total, map { real_event(710_000_000 + $_) } 1 .. 20));
check_all('after DROP of another view');

$kafka->stop;
done_testing();
