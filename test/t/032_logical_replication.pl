# Logical replication into event tables (CDC): a subscription on this
# server whose target tables are event tables with continuous views. The
# subscription's initial table synchronization and every replicated INSERT
# reach the views exactly (each view equals its defining query on the
# subscriber, through scheduled refreshes); a replicated UPDATE, DELETE or
# TRUNCATE is refused - the apply worker logs the error and retries, the
# events stay as they were - until the subscription skips the offending
# transaction, after which replication continues. One target is a plain
# event table, the other a partitioned one whose partitions have their
# columns in different orders.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;

my $pub = LambdaNode->new_node('publisher', preload => 0,
	conf => "wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\nmax_prepared_transactions = 10\n");
# a refused change makes the apply worker exit; restart it quickly
my $sub = LambdaNode->new_node('subscriber', conf => "wal_retrieve_retry_interval = '200ms'\n");

my $columns = q{id bigint NOT NULL, k text NOT NULL, x int, ts timestamptz NOT NULL};
$pub->safe_psql('postgres', qq{
	CREATE TABLE ev ($columns, PRIMARY KEY (id));
	CREATE TABLE pev ($columns, PRIMARY KEY (id, ts));
	INSERT INTO ev SELECT i, 'k' || (i % 4), i, '2025-01-01'::timestamptz + i * interval '1 minute'
	  FROM generate_series(1, 10) i;
	INSERT INTO pev SELECT i, 'k' || (i % 3), i, '2025-06-01'::timestamptz + i * interval '40 days'
	  FROM generate_series(1, 10) i;
	CREATE PUBLICATION p FOR TABLE ev, pev;
});

$sub->safe_psql('postgres', qq{
	CREATE TABLE ev ($columns, PRIMARY KEY (id));
	SELECT lambda.create_event_table('ev', time_column => 'ts');
	CREATE TABLE pev ($columns, PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts);
	CREATE TABLE pev_2025 PARTITION OF pev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
	CREATE TABLE pev_2026 (ts timestamptz NOT NULL, x int, id bigint NOT NULL, k text NOT NULL,
	                       PRIMARY KEY (id, ts));
	ALTER TABLE pev ATTACH PARTITION pev_2026 FOR VALUES FROM ('2026-01-01') TO ('2028-01-01');
	SELECT lambda.create_event_table('pev', time_column => 'ts');
});

# The views, by their defining queries.
my %views = (
	v_keys => q{SELECT k, count(*) AS n, sum(x) AS s, max(ts) AS last FROM ev GROUP BY k},
	v_total => q{SELECT count(*) AS n, sum(x) AS s FROM ev},
	v_years => q{SELECT k, date_trunc('year', ts) AS y, count(*) AS n, sum(x) AS s FROM pev GROUP BY k, date_trunc('year', ts)},
);
for my $v (sort keys %views)
{
	$sub->safe_psql('postgres',
		"CREATE MATERIALIZED VIEW $v WITH (lambda.continuous, lambda.refresh_interval = '1 second') AS $views{$v}");
}

# Every view against its defining query, both ways.
sub check_views
{
	my ($label, $db) = @_;
	$db //= 'postgres';
	for my $v (sort keys %views)
	{
		my $q = $views{$v};
		is( $sub->safe_psql($db,
				"SELECT count(*) FROM ((SELECT * FROM $v EXCEPT ALL ($q)) UNION ALL (($q) EXCEPT ALL SELECT * FROM $v)) d"),
			'0', "$label: $v equals its defining query");
	}
}

# Refreshes every view now (as the scheduler may at any time).
sub refresh_views
{
	$sub->safe_psql('postgres', "REFRESH MATERIALIZED VIEW $_") for sort keys %views;
}

# The subscriber's events, for comparing before and after a refused change.
my $events_sql = q{SELECT count(*) || ' ' || coalesce(string_agg(id || ':' || x || ':' || ts, ',' ORDER BY id, ts), '')
	FROM (SELECT id, x, ts FROM ev UNION ALL SELECT id, x, ts FROM pev) e};

# ---------------------------------------------------------------------------
# The initial table synchronization (COPY, as a replica) is captured.
my $pub_conn = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres', "CREATE SUBSCRIPTION s CONNECTION '$pub_conn' PUBLICATION p");
$sub->wait_for_subscription_sync($pub, 's');
check_views('after the table synchronization');
is($sub->safe_psql('postgres', 'SELECT n, s FROM v_total'), '10|55',
	'the synchronized rows are in the view');

# ---------------------------------------------------------------------------
# Replicated inserts in several transactions, small and large, while the
# scheduler refreshes every second.
for my $t (1 .. 3)
{
	my $lo = 100 * $t;
	$pub->safe_psql('postgres', qq{
		INSERT INTO ev SELECT i, 'k' || (i % 5), i % 97, '2025-02-01'::timestamptz + i * interval '1 minute'
		  FROM generate_series($lo, $lo + 9) i;
		INSERT INTO pev VALUES ($lo, 'k$t', $t, '2026-03-01'), ($lo + 1, 'k$t', $t, '2025-03-01');
	});
}
$pub->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO ev SELECT i, 'k' || (i % 7), i % 13, '2025-03-01'::timestamptz + i * interval '1 second'
	  FROM generate_series(10000, 14999) i;
	INSERT INTO pev SELECT i, 'k' || (i % 2), i % 11, '2025-01-01'::timestamptz + i * interval '1 hour'
	  FROM generate_series(10000, 11999) i;
	COMMIT;
});
$pub->safe_psql('postgres', q{INSERT INTO ev VALUES (20000, 'k1', 1, '2025-04-01')});
$pub->wait_for_catchup('s');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM ev'), '5041', 'every replicated row arrived');
check_views('after replicated inserts');
is($sub->safe_psql('postgres', 'SELECT n FROM v_total'), '5041', 'the view counts every replicated row');
sleep(2);    # a refresh or two fold the speed layer into the batch layer
check_views('after scheduled refreshes');

# ---------------------------------------------------------------------------
# A replicated UPDATE, DELETE or TRUNCATE is refused and never applied; once
# the subscription skips it, replication goes on.
my $next_id = 30000;
sub refused_then_skipped
{
	my ($label, $sql, $message) = @_;
	my $before = $sub->safe_psql('postgres', $events_sql);
	my $offset = -s $sub->logfile;
	$pub->safe_psql('postgres', $sql);
	$offset = $sub->wait_for_log(qr/ERROR:  \Q$message\E/, $offset);
	ok($offset, "$label: the apply worker reports the refusal");
	my $log = slurp_file($sub->logfile);
	my @lsns = $log =~ /finished at ([0-9A-F]+\/[0-9A-F]+)/g;
	ok(@lsns, "$label: the log names the transaction's LSN");
	# it is retried, and refused again
	$sub->wait_for_log(qr/ERROR:  \Q$message\E/, $offset);
	is($sub->safe_psql('postgres', $events_sql), $before, "$label: the events are unchanged");
	check_views("$label, refused");
	$sub->safe_psql('postgres', "ALTER SUBSCRIPTION s SKIP (lsn = '$lsns[-1]')");
	$pub->safe_psql('postgres', qq{
		INSERT INTO ev VALUES ($next_id, 'k1', 3, '2025-05-01'), ($next_id + 1, 'k2', 4, '2025-05-02');
		INSERT INTO pev VALUES ($next_id, 'k1', 5, '2027-05-01');
	});
	$pub->wait_for_catchup('s');
	is($sub->safe_psql('postgres', "SELECT count(*) FROM ev WHERE id IN ($next_id, $next_id + 1)"), '2',
		"$label: replication continues after the skip");
	my $after = $sub->safe_psql('postgres',
		"SELECT count(*) || ' ' || coalesce(string_agg(id || ':' || x || ':' || ts, ',' ORDER BY id, ts), '')
		   FROM (SELECT id, x, ts FROM ev UNION ALL SELECT id, x, ts FROM pev) e WHERE id < $next_id");
	is($after, $before, "$label: the skipped change was never applied");
	check_views("$label, skipped");
	$next_id += 10;
}

refused_then_skipped('UPDATE', q{UPDATE ev SET x = x + 1000 WHERE id = 5},
	'cannot update event table "ev"');
refused_then_skipped('DELETE', q{DELETE FROM ev WHERE id <= 3},
	'cannot delete from event table "ev"');
refused_then_skipped('DELETE from a partition', q{DELETE FROM pev WHERE id = 100},
	'cannot delete from event table "pev_2026"');
refused_then_skipped('TRUNCATE', q{TRUNCATE ev},
	'cannot truncate event table "ev"');
like(slurp_file($sub->logfile), qr/HINT:  Publish only inserts to this table/,
	'the refusal says how to publish only inserts');
ok($sub->safe_psql('postgres',
		"SELECT apply_error_count > 0 FROM pg_stat_subscription_stats WHERE subname = 's'") eq 't',
	'the errors are counted in pg_stat_subscription_stats');

# ---------------------------------------------------------------------------
# A publication of inserts only: the publisher may update, delete and
# truncate its copy; the event tables keep every event.
$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s');
$pub->safe_psql('postgres', q{
	CREATE PUBLICATION p_inserts FOR TABLE ev, pev WITH (publish = 'insert');
});
my $count_before = $sub->safe_psql('postgres', 'SELECT count(*) FROM ev');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s2 CONNECTION '$pub_conn' PUBLICATION p_inserts WITH (copy_data = false)");
$sub->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_subscription WHERE subname = 's2' AND pid IS NOT NULL")
  or die 'the new subscription did not start';
$pub->safe_psql('postgres', q{
	INSERT INTO ev VALUES (40000, 'k9', 9, '2025-06-01');
	UPDATE ev SET x = -1;
	DELETE FROM ev WHERE id < 40000;
	INSERT INTO ev VALUES (40001, 'k9', 10, '2025-06-02');
	TRUNCATE pev;
});
$pub->wait_for_catchup('s2');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM ev'), $count_before + 2,
	'inserts only: new events arrive, nothing else is applied');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM ev WHERE x = -1'), '0',
	'inserts only: no event was updated');
check_views('inserts only');
$sub->safe_psql('postgres', 'SELECT lambda.recompute(v) FROM unnest(ARRAY[\'v_keys\', \'v_total\', \'v_years\']::regclass[]) v');
check_views('after recompute');

$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s2');

# ---------------------------------------------------------------------------
# A two-phase subscription: the apply worker prepares and commits prepared
# transactions itself; the views stay exact.
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s3 CONNECTION '$pub_conn' PUBLICATION p_inserts WITH (copy_data = false, two_phase = true)");
$sub->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_subscription WHERE subname = 's3' AND pid IS NOT NULL")
  or die 'the two-phase subscription did not start';
$sub->poll_query_until('postgres', "SELECT subtwophasestate = 'e' FROM pg_subscription WHERE subname = 's3'")
  or die 'two-phase did not become enabled';
$pub->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO ev SELECT i, 'k2pc', i, '2025-08-01' FROM generate_series(41000, 41099) i;
	INSERT INTO pev VALUES (41000, 'k2pc', 1, '2027-08-01');
	PREPARE TRANSACTION 'cdc_2pc';
});
# The subscriber's apply worker prepares it too, a way that leaves its
# states unknown to pg_lambda (the views read its events from the event
# table once it commits). A refresh (as the scheduler may run one) while it
# is prepared cuts before it: its events come after that cut, though its
# commit applies nothing to the speed layer.
$sub->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pg_prepared_xacts')
  or die 'the subscriber did not prepare the transaction';
refresh_views();
is( $sub->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT state || ' (' || note || ')', ', ') FROM lambda.view_status WHERE view::text LIKE 'v\_%'}),
	'degraded (degraded: a transaction prepared by a path pg_lambda does not see is still prepared)',
	'two-phase: while it is prepared the views say why they read their recent events from the event table');
$pub->safe_psql('postgres', q{COMMIT PREPARED 'cdc_2pc'});
$pub->wait_for_catchup('s3');
is($sub->safe_psql('postgres', "SELECT count(*) FROM ev WHERE k = 'k2pc'"), '100',
	'two-phase: the prepared transaction arrived');
check_views('two-phase');
refresh_views();
check_views('two-phase, refreshed after the commit');

# One the apply worker prepared before the subscriber restarted (its states
# went with the shared memory) and commits after: the first cut after the
# start (here a refresh; else the scheduler's rebuild) finds it prepared.
$pub->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO ev SELECT i, 'k2pcr', i, '2025-08-02' FROM generate_series(42000, 42049) i;
	INSERT INTO pev VALUES (42000, 'k2pcr', 1, '2027-08-02');
	PREPARE TRANSACTION 'cdc_2pc_restart';
});
$sub->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pg_prepared_xacts')
  or die 'the subscriber did not prepare the transaction';
$sub->restart;
refresh_views();
$pub->safe_psql('postgres', q{COMMIT PREPARED 'cdc_2pc_restart'});
$pub->wait_for_catchup('s3');
is($sub->safe_psql('postgres', "SELECT count(*) FROM ev WHERE k = 'k2pcr'"), '50',
	'two-phase across a restart: the prepared transaction arrived');
check_views('two-phase across a restart');
refresh_views();
check_views('two-phase across a restart, refreshed after the commit');
$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s3');

# ---------------------------------------------------------------------------
# pg_dump / pg_restore keeps every trigger firing as it did, and the
# restored views capture rows written as a replica once.
my $triggers_sql = q{SELECT string_agg(c.relname || '.' || t.tgname || '=' || t.tgenabled::text, ',' ORDER BY c.relname, t.tgname)
	FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	WHERE t.tgfoid::regproc::text IN ('lambda_catalog.capture', 'lambda_catalog.capture_row', 'lambda_catalog.refuse_change')};
my $dump = $sub->basedir . '/subscriber.dump';
$sub->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $sub->connstr('postgres')], 'pg_dump of the subscriber');
$sub->safe_psql('postgres', 'CREATE DATABASE restored');
$sub->command_ok(['pg_restore', '-d', $sub->connstr('restored'), $dump], 'pg_restore');
like($sub->safe_psql('restored', $triggers_sql), qr/ev\.lambda_append_only=A,.*ev\.lambda_capture_row_v_keys_batch=R,.*pev_2026\.lambda_capture_row_v_years_batch=R/,
	'the restored database has every trigger');
is($sub->safe_psql('restored', $triggers_sql), $sub->safe_psql('postgres', $triggers_sql),
	'the restored triggers fire as the originals');
$sub->safe_psql('restored',
	q{SELECT lambda.recompute(v) FROM unnest(ARRAY['v_keys', 'v_total', 'v_years']::regclass[]) v});
$sub->safe_psql('restored', q{
	SET session_replication_role = replica;
	INSERT INTO ev VALUES (50000, 'k1', 1, '2025-07-01');
	INSERT INTO pev VALUES (50000, 'k1', 1, '2026-07-01');
	RESET session_replication_role;
	INSERT INTO ev VALUES (50001, 'k1', 1, '2025-07-02');
});
check_views('restored', 'restored');

$sub->stop;
$pub->stop;
done_testing();
