# Monitoring with Prometheus: Debian's prometheus-postgres-exporter, run with
# docs/monitoring/pg_lambda-prometheus-queries.yaml against a node with a
# Kafka source and a continuous view, exposes exactly what lambda.source_status
# and lambda.view_status say, with no scrape errors; the Grafana dashboard
# only uses metrics the exporter really exposes, and docs/operations.md
# documents every one of them.
#
# The exporter is a test dependency (test/install_deps.sh installs it): when
# it is missing this test fails and says so, it never skips.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use File::Spec;
use HTTP::Tiny;
use IPC::Run ();
use JSON::PP ();
use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaKafka;

my $exporter = $ENV{PROMETHEUS_POSTGRES_EXPORTER} // '/usr/bin/prometheus-postgres-exporter';
my $top = File::Spec->rel2abs("$FindBin::RealBin/../..");
my $queries = "$top/docs/monitoring/pg_lambda-prometheus-queries.yaml";
my $dashboard = "$top/docs/monitoring/pg_lambda-grafana-dashboard.json";

if (!-x $exporter)
{
	fail("prometheus-postgres-exporter is installed");
	diag("$exporter not found: this test needs Debian's prometheus-postgres-exporter "
		  . "(apt-get install prometheus-postgres-exporter, or run test/install_deps.sh as root)");
	done_testing();
	exit 1;
}

# "make install" installs the queries file and the dashboard (DOCS) into
# $(pg_config --docdir)/extension; the copies there are this tree's.
my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
my $docdir = `$pg_config --docdir`;
chomp $docdir;
foreach my $f ($queries, $dashboard)
{
	my $name = (File::Spec->splitpath($f))[2];
	my $installed = "$docdir/extension/$name";
	ok(-f $installed && slurp_file($installed) eq slurp_file($f), "make install put $name in $docdir/extension");
}

my $kafka = LambdaKafka->start(topics => { pv => 2 });
my $bootstrap = $kafka->bootstrap;
my $node = LambdaNode->new_node('prom');

# refresh_interval of an hour: the scheduler does not refresh during the test,
# so the speed layer and the batch table hold exactly what the test put there.
$node->safe_psql('postgres', qq{
	CREATE TABLE pv (id int NOT NULL, url text NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('pv', 'ts');
	CREATE MATERIALIZED VIEW pv_by_url WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
	  SELECT url, count(*) AS views FROM pv GROUP BY url;
	SELECT lambda.create_kafka_source('pv_src', 'pv', '$bootstrap', 'pv', batch_wait => '20 ms');
	-- the exporter logs in as a role without any privilege: every status view
	-- the queries read is readable by everyone
	CREATE ROLE prom_monitor LOGIN;
});

sub event { my ($id, $url) = @_; return qq({"id": $id, "url": "$url", "ts": "2025-06-01T12:00:00Z"}); }
my $consumed = q{SELECT sum(events + dead_letters) FROM lambda.source_status WHERE source = 'pv_src'};
my $produced_at = time();

# Round 1: six events, three URLs, three per partition; then a refresh folds
# them into the batch table (3 groups).
$kafka->produce('pv', [ event(1, '/a'), event(2, '/b'), event(3, '/c') ], partition => 0);
$kafka->produce('pv', [ event(4, '/a'), event(5, '/b'), event(6, '/c') ], partition => 1);
ok(LambdaNode::wait_for($node, $consumed, '6', timeout => 60), 'round 1 is consumed');
$node->safe_psql('postgres', 'REFRESH MATERIALIZED VIEW pv_by_url');
my $refreshed_at = time();

# Round 2: four more events (URLs /a and /d: two speed-layer keys) and one
# malformed message, which becomes a dead letter.
$kafka->produce('pv', [ event(7, '/a'), event(8, '/d'), 'this is not json' ], partition => 0);
$kafka->produce('pv', [ event(9, '/d'), event(10, '/d') ], partition => 1);
ok(LambdaNode::wait_for($node, $consumed, '11', timeout => 60), 'round 2 is consumed');
# lag is published by the worker about once a second: wait until both
# partitions report it caught up
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FILTER (WHERE lag = 0 AND state = 'running') FROM lambda.source_status WHERE source = 'pv_src'},
	'2', timeout => 60), 'both partitions are caught up');
# The scheduler frees the generation the refresh folded shortly after it;
# wait for that too, so that the speed layer's bytes stay put while the
# exporter reads them twice (per view, and summed for the memory metric).
ok(LambdaNode::wait_for($node, q{SELECT state, speed_keys, batch_rows, speed_generations FROM lambda.view_status},
	'active|2|3|1', timeout => 60), 'the view is active with 2 speed-layer keys, 3 batch rows, one generation');
is($node->safe_psql('postgres', 'SELECT url, views FROM pv_by_url ORDER BY url'),
	"/a|3\n/b|2\n/c|2\n/d|3", 'the view answers over all 10 events');
is_deeply($kafka->high_watermarks('pv'), { 0 => 6, 1 => 5 }, 'Kafka holds 6 and 5 messages');

# The exporter, as its Debian service would run it, on a free loopback port.
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $log = "$PostgreSQL::Test::Utils::tmp_check/prometheus_exporter.log";
# Its built-in collectors differ by version (Debian 12's 0.11: database and
# bgwriter; 0.17 in Debian 13 and later: stat_bgwriter, locks, wal, roles,
# replication, ...): every one its --help lists as enabled by default is
# turned off.
my $help = join(' ', split(/\s+/, scalar `$exporter --help 2>&1`));
my @collectors = ($help =~ /--collector\.(\w+) Enable the \w+ collector \(default: enabled\)/g);
ok(grep($_ eq 'database', @collectors), 'the exporter lists its default collectors (' . join(', ', @collectors) . ')');
# Its own configuration file (authentication modules, 0.17 and later) is not
# used, but those versions warn when it is missing: give them an empty one.
my @config;
if ($help =~ / --config\.file=/)
{
	my $config = "$PostgreSQL::Test::Utils::tmp_check/postgres_exporter.yml";
	PostgreSQL::Test::Utils::append_to_file($config, "auth_modules: {}\n");
	@config = ("--config.file=$config");
}
my @cmd = ($exporter, @config,
	"--extend.query-path=$queries",
	"--web.listen-address=127.0.0.1:$port",
	# only pg_lambda's metrics and the exporter's own: no built-in
	# PostgreSQL metrics, pg_settings or collectors
	'--disable-default-metrics', '--disable-settings-metrics',
	map { "--no-collector.$_" } @collectors);
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' user=prom_monitor dbname=postgres sslmode=disable';
note("DATA_SOURCE_NAME='$dsn' @cmd");
my $h;
{
	local $ENV{DATA_SOURCE_NAME} = $dsn;
	$h = IPC::Run::start(\@cmd, '<', \undef, '>&', $log);
}
END { eval { $h->kill_kill(grace => 2) } if $h; }

my $http = HTTP::Tiny->new(timeout => 20);

# Fetches /metrics (waiting up to 30 s for the exporter to listen) and parses
# the text format into { families => { name => { help, type } },
# samples => [ { name, labels => {..}, value } ] }.
sub scrape
{
	my $res;
	my $deadline = time() + 30;
	while (1)
	{
		$res = $http->get("http://127.0.0.1:$port/metrics");
		last if $res->{success} || time() > $deadline;
		select(undef, undef, undef, 0.2);
	}
	BAIL_OUT("the exporter did not answer on 127.0.0.1:$port ($res->{status} $res->{reason}):\n"
		  . slurp_file($log))
	  unless $res->{success};
	my %families;
	my @samples;
	foreach my $line (split /\n/, $res->{content})
	{
		if ($line =~ /^# (HELP|TYPE) (\S+) (.*)$/)
		{
			$families{$2}{ lc $1 } = $3;
			next;
		}
		next if $line =~ /^#/ || $line eq '';
		$line =~ /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/
		  or die "unparsable metrics line: $line";
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %l;
		while ($labels =~ /\G([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)",?/gc)
		{
			(my $v = $2) =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
			$l{$1} = $v;
		}
		die "unparsable labels: $line" if (pos($labels) // 0) != length $labels;
		push @samples, { name => $name, labels => \%l, value => $value };
	}
	return { families => \%families, samples => \@samples };
}

# The samples of metric $name whose labels include %want.
sub series
{
	my ($m, $name, %want) = @_;
	return grep {
		my $s = $_;
		$s->{name} eq $name && !grep { ($s->{labels}{$_} // "\0") ne $want{$_} } keys %want
	} @{ $m->{samples} };
}

# The value of the one sample of $name with labels %want (undef, and a
# failed test, unless there is exactly one).
sub value
{
	my ($m, $name, %want) = @_;
	my @s = series($m, $name, %want);
	return $s[0]{value} if @s == 1;
	fail("one sample of " . $name . "{" . join(',', map { "$_=$want{$_}" } sort keys %want) . '}, found ' . scalar(@s));
	return undef;
}

# The text format writes numbers in Go's shortest form (3600, 2.68435456e+08,
# NaN): compare them as numbers.
sub is_num
{
	my ($got, $want, $name) = @_;
	ok(defined $got && $got ne 'NaN' && $got == $want, $name)
	  or diag('got ' . ($got // 'undef') . ", want $want");
}

my $m = scrape();
my $scraped_at = time();

# The exporter itself: connected, no failed query, queries file loaded.
is_num(value($m, 'pg_up'), 1, 'pg_up is 1');
is_num(value($m, 'pg_exporter_last_scrape_error'), 0, 'pg_exporter_last_scrape_error is 0');
is_num(value($m, 'pg_exporter_user_queries_load_error', filename => $queries), 0,
	'the queries file loads');
is(scalar(grep { $_->{name} =~ /_up$/ && $_->{value} ne '1' } @{ $m->{samples} }), 0, 'no *_up metric is 0');

# Sources, per partition: exact counts.
my %src = (datname => 'postgres', source => 'pv_src', topic => 'pv');
is_num(value($m, 'pg_lambda_source_partition_events_total', %src, partition => 0), 5, 'events on partition 0');
is_num(value($m, 'pg_lambda_source_partition_events_total', %src, partition => 1), 5, 'events on partition 1');
is_num(value($m, 'pg_lambda_source_partition_dead_letters_total', %src, partition => 0), 1,
	'the malformed message is a dead letter on partition 0');
is_num(value($m, 'pg_lambda_source_partition_dead_letters_total', %src, partition => 1), 0, 'none on partition 1');
is_num(value($m, 'pg_lambda_source_partition_committed_offset', %src, partition => 0), 6,
	'committed offset of partition 0 is its high watermark');
is_num(value($m, 'pg_lambda_source_partition_committed_offset', %src, partition => 1), 5,
	'committed offset of partition 1 is its high watermark');
is_num(value($m, 'pg_lambda_source_partition_high_watermark', %src, partition => $_), (6, 5)[$_],
	"high watermark of partition $_") for 0, 1;
is_num(value($m, 'pg_lambda_source_partition_lag', %src, partition => $_), 0, "lag of partition $_ is 0") for 0, 1;
is(scalar(series($m, 'pg_lambda_source_partition_lag', source => 'pv_src')), 2, 'one lag series per partition');
foreach my $p (0, 1)
{
	my $age = value($m, 'pg_lambda_source_partition_last_message_age_seconds', %src, partition => $p);
	my $at = value($m, 'pg_lambda_source_partition_last_message_timestamp_seconds', %src, partition => $p);
	# The Kafka timestamp is the producer's clock (this machine's).
	ok($age >= -1 && $age <= $scraped_at - $produced_at + 1,
		"seconds since the last message on partition $p ($age) is within the test's run");
	ok($at >= $produced_at - 1 && $at <= $scraped_at + 1, "last message timestamp of partition $p ($at) is sane");
}

# Source state: 1 for running, 0 for the six other states.
my @states = series($m, 'pg_lambda_source_in_state', datname => 'postgres', source => 'pv_src');
is(join(',', map { "$_->{labels}{state}=$_->{value}" } sort { $a->{labels}{state} cmp $b->{labels}{state} } @states),
	'failed=0,restarting=0,retrying=0,running=1,starting=0,stopped=0,waiting for partitions=0',
	'the source is running, and in no other state');

# The view.
my %v = (datname => 'postgres', view => 'pv_by_url', event_table => 'pv');
is_num(value($m, 'pg_lambda_view_speed_keys', %v), 2, 'speed-layer keys: /a and /d since the refresh');
is_num(value($m, 'pg_lambda_view_batch_rows', %v), 3, 'batch rows: /a, /b and /c');
is_num(value($m, 'pg_lambda_view_last_refresh_groups', %v), 3, 'the refresh folded 3 groups');
is_num(value($m, 'pg_lambda_view_refresh_interval_seconds', %v), 3600, 'refresh interval of an hour');
my $speed_bytes = value($m, 'pg_lambda_view_speed_bytes', %v);
ok($speed_bytes > 0, "speed-layer bytes ($speed_bytes) are counted");
is_num(value($m, 'pg_lambda_view_speed_generations', %v), 1, 'one generation: the open one');
my $age = value($m, 'pg_lambda_view_last_refresh_age_seconds', %v);
ok($age >= 0 && $age <= $scraped_at - $refreshed_at + 1,
	"freshness: ${age}s since the refresh, which ran " . sprintf('%.1f', $scraped_at - $refreshed_at) . 's before the scrape');
my $at = value($m, 'pg_lambda_view_last_refresh_timestamp_seconds', %v);
ok(abs($at - $refreshed_at) < 2, 'last refresh timestamp is when the test refreshed');
my $duration = value($m, 'pg_lambda_view_last_refresh_duration_seconds', %v);
ok($duration >= 0 && $duration < 30, "last refresh duration ($duration s) is sane");
my @vstates = series($m, 'pg_lambda_view_in_state', datname => 'postgres', view => 'pv_by_url');
is(join(',', map { "$_->{labels}{state}=$_->{value}" } sort { $a->{labels}{state} cmp $b->{labels}{state} } @vstates),
	'active=1,degraded=0,not loaded=0,rebuilding=0', 'the view is active, and in no other state');

# Speed-layer memory against its limit.
is_num(value($m, 'pg_lambda_speed_layer_memory_used_bytes', datname => 'postgres'), $speed_bytes,
	'speed-layer memory used is the one view\'s bytes');
is_num(value($m, 'pg_lambda_speed_layer_memory_limit_bytes', datname => 'postgres'),
	$node->safe_psql('postgres', q{SELECT pg_size_bytes(current_setting('lambda.speed_layer_memory'))}),
	'the limit is lambda.speed_layer_memory in bytes');

# Types and descriptions.
my @ours = sort grep { /^pg_lambda_/ } keys %{ $m->{families} };
is(join(' ', grep { $m->{families}{$_}{type} eq 'counter' } @ours),
	'pg_lambda_source_partition_dead_letters_total pg_lambda_source_partition_events_total',
	'the two counters are counters');
is(join(' ', grep { $m->{families}{$_}{type} !~ /^(?:counter|gauge)$/ } @ours), '', 'everything else is a gauge');
is(scalar(@ours), 20, 'the exporter exposes 20 pg_lambda metrics');

# The dashboard uses only these metrics, through its data source variable.
my $dash = JSON::PP->new->decode(slurp_file($dashboard));
my ($dsvar) = grep { $_->{type} eq 'datasource' } @{ $dash->{templating}{list} };
ok($dsvar && $dsvar->{query} eq 'prometheus', 'the dashboard has a Prometheus data source variable');
my (%used, @bad_ds);
foreach my $p (@{ $dash->{panels} })
{
	next if $p->{type} eq 'row';
	push @bad_ds, $p->{title} unless ($p->{datasource}{uid} // '') eq "\${$dsvar->{name}}";
	$used{$_} = 1 foreach map { $_->{expr} =~ /\b(pg_lambda_[a-z_]+)/g } @{ $p->{targets} };
}
is("@bad_ds", '', 'every panel reads the data source variable');
is(join(' ', grep { !$m->{families}{$_} } sort keys %used), '', 'every metric the dashboard uses is exposed');
foreach my $want (qw(pg_lambda_source_partition_lag pg_lambda_source_partition_events_total
	pg_lambda_source_partition_dead_letters_total pg_lambda_view_last_refresh_age_seconds
	pg_lambda_speed_layer_memory_used_bytes pg_lambda_speed_layer_memory_limit_bytes
	pg_lambda_view_last_refresh_duration_seconds))
{
	ok($used{$want}, "the dashboard shows $want");
}

# docs/operations.md describes every metric.
my $ops = slurp_file("$top/docs/operations.md");
is(join(' ', grep { index($ops, "`$_`") < 0 } @ours), '', 'docs/operations.md documents every metric');

# Stopping the source: state stopped, lag unknown (NaN), counters kept.
$node->safe_psql('postgres', q{SELECT lambda.stop_source('pv_src')});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_lambda source worker'}, '0', timeout => 30),
	'the source\'s worker exits');
$m = scrape();
is_num(value($m, 'pg_lambda_source_in_state', source => 'pv_src', state => 'stopped'), 1, 'a stopped source is stopped');
is_num(value($m, 'pg_lambda_source_in_state', source => 'pv_src', state => 'running'), 0, '... and not running');
is(value($m, 'pg_lambda_source_partition_lag', source => 'pv_src', partition => $_), 'NaN',
	"lag of partition $_ is unknown (NaN) while stopped") for 0, 1;
is_num(value($m, 'pg_lambda_source_partition_events_total', source => 'pv_src', partition => $_), 5,
	"events of partition $_ are kept") for 0, 1;
is_num(value($m, 'pg_exporter_last_scrape_error'), 0, 'still no scrape error');

# The exporter logs a query that fails, or a column it cannot convert, as
# "err=..." without failing the scrape: there must be none.
$h->signal('TERM');
$h->finish;
my @errors = grep { /\berr=|level=error/ } split /\n/, slurp_file($log);
is(join("\n", @errors), '', 'the exporter logged no error');

done_testing();
