# A continuous view whose refreshes keep failing says so: lambda.view_status
# shows state 'failing', the error, since when and how many refreshes in a
# row failed; the log has a WARNING naming the view for each failure; the
# scheduler backs off instead of retrying every second, keeps refreshing the
# other views, and the view keeps answering exactly. Once the cause is gone
# the next refresh succeeds and clears it all.
#
# The failure: a trigger on the view's batch table that raises while a
# switch is on, so every refresh that writes a group fails (as a key too
# long for an index did before 0.4.0, or any error in an aggregate's
# combine function).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use LambdaNode;

my $node = LambdaNode->new_node('failures');

$node->safe_psql('postgres', q{
	CREATE TABLE ev (k text, x int, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	INSERT INTO ev SELECT 'k' || (i % 5), i, now() FROM generate_series(1, 100) i;
	CREATE MATERIALIZED VIEW bad WITH (lambda.continuous, lambda.refresh_interval = '1 second') AS
	  SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k;
	CREATE MATERIALIZED VIEW good WITH (lambda.continuous, lambda.refresh_interval = '1 second') AS
	  SELECT k, count(*) AS n, sum(x) AS s FROM ev GROUP BY k;
	CREATE TABLE refresh_switch (fail boolean NOT NULL);
	INSERT INTO refresh_switch VALUES (true);
	CREATE FUNCTION refuse_batch_write() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	  IF (SELECT fail FROM public.refresh_switch) THEN
	    RAISE EXCEPTION 'batch writes are switched off' USING DETAIL = 'refresh_switch.fail is true';
	  END IF;
	  RETURN NEW;
	END $$;
	CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON lambda_catalog.bad_batch
	  FOR EACH ROW EXECUTE FUNCTION refuse_batch_write();
});

my $status = q{SELECT state, failed_refreshes > 0, failing_since IS NOT NULL, last_error, last_error_at IS NOT NULL
	FROM lambda.view_status WHERE view = 'bad'::regclass};
my $same = q{SELECT count(*) FROM ((SELECT * FROM bad EXCEPT ALL SELECT k, count(*), sum(x) FROM ev GROUP BY k)
	UNION ALL (SELECT k, count(*), sum(x) FROM ev GROUP BY k EXCEPT ALL SELECT * FROM bad)) d};

# healthy to begin with
is($node->safe_psql('postgres', $status), 'active|f|f||f', 'a healthy view has no failure recorded');

# new events: every refresh of bad fails from now on
my $log_offset = -s $node->logfile;
my $t0 = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres', q{INSERT INTO ev SELECT 'k' || (i % 7), i, now() FROM generate_series(1, 50) i});
ok(LambdaNode::wait_for($node, $status, 'failing|t|t|batch writes are switched off|t', timeout => 60),
	'view_status shows the failing refreshes, the error and since when');
ok(LambdaNode::wait_for($node,
		"SELECT last_refresh > '$t0' AND state = 'active' AND speed_keys = 0 FROM lambda.view_status WHERE view = 'good'::regclass",
		't', timeout => 60),
	'the scheduler keeps refreshing the other views');
is($node->safe_psql('postgres', $same), '0', 'the failing view still answers exactly (from the speed layer)');
is($node->safe_psql('postgres', q{SELECT note FROM lambda.view_status WHERE view = 'bad'::regclass}),
	'last scheduled refresh failed: batch writes are switched off', 'note has the last error too');
ok($node->wait_for_log(qr/WARNING:  refresh of continuous view "bad" failed: batch writes are switched off/, $log_offset),
	'each failure is logged as a WARNING naming the view');

# backing off: the failures come at growing intervals, not every second
my $first = $node->safe_psql('postgres',
	q{SELECT extract(epoch FROM failing_since) FROM lambda.view_status WHERE view = 'bad'::regclass});
sleep(10);
my ($failures, $span) = split /\|/, $node->safe_psql('postgres',
	qq{SELECT failed_refreshes, extract(epoch FROM now()) - $first FROM lambda.view_status WHERE view = 'bad'::regclass});
cmp_ok($failures, '>=', 3, "the scheduler retries ($failures failures in $span s)");
cmp_ok($failures, '<=', 6, "the scheduler backs off ($failures failures in $span s, not one a second)");
my $logged = () = slurp_file($node->logfile, $log_offset) =~ /refresh of continuous view "bad" failed/g;
diag("$failures failures in $span s, $logged logged; the first: " .
	(slurp_file($node->logfile, $log_offset) =~ /(WARNING:  refresh of continuous view "bad".*\n(?:.*(?:DETAIL|HINT).*\n)*)/)[0]);
cmp_ok($logged, '<=', $failures + 1, "one log entry per failure ($logged)");

# a manual REFRESH or recompute fails with the error itself (its
# transaction rolls back; the note says it failed), and the view stays
# failing. (Not due for an hour meanwhile: the scheduler leaves it alone.)
$node->safe_psql('postgres', q{ALTER MATERIALIZED VIEW bad SET (lambda.refresh_interval = '1 hour')});
my ($rc, $out, $err) = $node->psql('postgres', 'REFRESH MATERIALIZED VIEW bad');
like($err, qr/ERROR:  batch writes are switched off/, 'a manual REFRESH reports the error');
is($node->safe_psql('postgres', q{SELECT state, note FROM lambda.view_status WHERE view = 'bad'::regclass}),
	'failing|last REFRESH failed: batch writes are switched off', 'still failing after a failed manual REFRESH');
($rc, $out, $err) = $node->psql('postgres', q{SELECT lambda.recompute('bad')});
like($err, qr/ERROR:  batch writes are switched off/, 'lambda.recompute reports the error');
is($node->safe_psql('postgres', q{SELECT state, note FROM lambda.view_status WHERE view = 'bad'::regclass}),
	'failing|last recompute failed: batch writes are switched off', 'still failing after a failed recompute');

# the cause is fixed: the next scheduled refresh succeeds and clears it all
$node->safe_psql('postgres', q{UPDATE refresh_switch SET fail = false;
	ALTER MATERIALIZED VIEW bad SET (lambda.refresh_interval = '1 second')});
ok(LambdaNode::wait_for($node,
		q{SELECT state, failed_refreshes, failing_since, last_error, last_error_at, speed_keys, note
		    FROM lambda.view_status WHERE view = 'bad'::regclass},
		'active|0||||0|', timeout => 120),
	'after the cause is fixed the scheduler refreshes the view and the failure is cleared');
is($node->safe_psql('postgres', $same), '0', 'the view answers exactly');
ok($node->log_contains(qr/continuous view "bad" refreshed again after \d+ failed refreshes/, $log_offset),
	'the recovery is logged');

# a failure after recovery starts a new count; a manual REFRESH that
# succeeds clears it too
$node->safe_psql('postgres', q{UPDATE refresh_switch SET fail = true;
	INSERT INTO ev VALUES ('k1', 1, now())});
ok(LambdaNode::wait_for($node, q{SELECT state FROM lambda.view_status WHERE view = 'bad'::regclass},
		'failing', timeout => 60), 'failing again');
cmp_ok($node->safe_psql('postgres', q{SELECT failed_refreshes FROM lambda.view_status WHERE view = 'bad'::regclass}),
	'<=', 2, 'a new failure counts from one again');
$node->safe_psql('postgres', 'UPDATE refresh_switch SET fail = false; REFRESH MATERIALIZED VIEW bad');
is($node->safe_psql('postgres',
		q{SELECT state, failed_refreshes, last_error FROM lambda.view_status WHERE view = 'bad'::regclass}),
	'active|0|', 'a successful manual REFRESH clears the failure');
is($node->safe_psql('postgres', $same), '0', 'the view answers exactly');

$node->stop;
done_testing();
