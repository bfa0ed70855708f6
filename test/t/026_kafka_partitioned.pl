# Kafka into a partitioned event table: rows are routed to their partitions
# (one with another column order, one with a BEFORE ROW trigger), exactly
# once across an immediate stop; an event no partition takes is a dead letter
# that names its partition key, not a failed batch, and is replayed once a
# partition for it exists. A continuous view over the table equals its
# defining query throughout.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { events => 3 });
my $node = LambdaNode->new_node('kafka_partitioned');

# Daily partitions for 2025-01-01 .. 2025-01-10; events of the 11th and 12th
# find none at first.
$node->safe_psql('postgres', q{
	CREATE TABLE events (
		id      bigint NOT NULL,
		kind    text,
		amount  int CHECK (amount >= 0),
		ts      timestamptz NOT NULL,
		note    text DEFAULT 'none')
	  PARTITION BY RANGE (ts);
	DO $$
	BEGIN
		FOR d IN 1 .. 10 LOOP
			CONTINUE WHEN d = 5;
			EXECUTE format('CREATE TABLE events_%s PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
			               lpad(d::text, 2, '0'),
			               make_timestamptz(2025, 1, d, 0, 0, 0, 'UTC'),
			               make_timestamptz(2025, 1, d, 0, 0, 0, 'UTC') + interval '1 day');
		END LOOP;
	END $$;
	-- a partition whose columns differ from the table's: rows are converted
	CREATE TABLE events_05 (ts timestamptz NOT NULL, gone int, note text DEFAULT 'none',
	                        amount int CONSTRAINT events_amount_check CHECK (amount >= 0), kind text, id bigint NOT NULL);
	ALTER TABLE events_05 DROP COLUMN gone;
	ALTER TABLE events ATTACH PARTITION events_05
	  FOR VALUES FROM ('2025-01-05 00:00:00+00') TO ('2025-01-06 00:00:00+00');
	-- a partition with a BEFORE ROW trigger: its rows go in one by one
	CREATE FUNCTION mark_p7() RETURNS trigger LANGUAGE plpgsql AS
	  $$BEGIN NEW.note := 'p7:' || (SELECT count(*) FROM public.events_07); RETURN NEW; END$$;
	CREATE TRIGGER mark_p7 BEFORE INSERT ON events_07 FOR EACH ROW EXECUTE FUNCTION mark_p7();
	SELECT lambda.create_event_table('events', time_column => 'ts');
	-- the arrival column reaches every partition, whatever its column order
	SELECT lambda.add_arrival_index('events');
	CREATE MATERIALIZED VIEW ev_daily WITH (lambda.continuous) AS
	  SELECT kind, date_bin('1 day', ts, '2025-01-01 00:00:00+00') AS day,
	         count(*) AS n, sum(amount) AS total, min(id) AS lo, max(id) AS hi
	    FROM events GROUP BY kind, date_bin('1 day', ts, '2025-01-01 00:00:00+00');
});

my $direct = q{SELECT kind, date_bin('1 day', ts, '2025-01-01 00:00:00+00') AS day,
	         count(*) AS n, sum(amount) AS total, min(id) AS lo, max(id) AS hi
	    FROM events GROUP BY kind, date_bin('1 day', ts, '2025-01-01 00:00:00+00')};
my $view_differs = qq{SELECT count(*) FROM ((TABLE ev_daily EXCEPT ALL ($direct))
	UNION ALL (($direct) EXCEPT ALL TABLE ev_daily)) d};

# Events with ids [$from, $to), spread over 2025-01-01 .. 2025-01-12 (ids
# that fall on the 11th or 12th have no partition yet), and every 501st
# position a malformed message. Returns (good, no partition, malformed).
sub write_events
{
	my ($path, $from, $to) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	my ($good, $nopart, $bad) = (0, 0, 0);
	for my $id ($from .. $to - 1)
	{
		if ($id % 501 == 0)
		{
			print $fh ($bad % 2 ? '{"id": 1, "ts": "not a time"}' : '{"id": 1, "amount": -1, "ts": "2025-01-02T00:00:00Z"}'), "\n";
			$bad++;
		}
		my $day = 1 + $id % 12;
		my $sec = ($id * 7) % 86400;
		printf $fh qq({"id": %d, "kind": "k%d", "amount": %d, "ts": "2025-01-%02dT%02d:%02d:%02dZ"}\n),
		  $id, $id % 4, $id % 100, $day, $sec / 3600, ($sec / 60) % 60, $sec % 60;
		if ($day <= 10) { $good++ } else { $nopart++ }
	}
	close $fh;
	return ($good, $nopart, $bad);
}

my $file = $node->basedir . '/events1.json';
my ($good1, $nopart1, $bad1) = write_events($file, 1, 30_001);
$kafka->produce_file('events', $file, spread => 1);

my $bootstrap = $kafka->bootstrap;
$node->safe_psql('postgres', qq{
	SELECT lambda.create_kafka_source(
		name => 'ev_src', target => 'events',
		brokers => '$bootstrap', topic => 'events',
		format => 'json', start_from => 'earliest',
		options => '{"fetch.message.max.bytes": 8192}');
});

my $consumed = q{SELECT coalesce(sum(events + dead_letters), 0) FROM lambda.source_status WHERE source = 'ev_src'};
ok(LambdaNode::wait_for($node, $consumed, $good1 + $nopart1 + $bad1, timeout => 180),
	'every message was consumed');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id) FROM events'),
	"$good1|$good1", 'every event with a partition is one row, none twice');
is($node->safe_psql('postgres', q{SELECT count(*) FROM lambda.dead_letters
	WHERE error LIKE 'no partition of relation "events" found for row: partition key of the failing row contains (ts) = (2025-01-1%'}),
	$nopart1, 'an event no partition takes is a dead letter naming its partition key');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lambda.dead_letters'), $nopart1 + $bad1,
	'malformed messages are dead letters as before');
is($node->safe_psql('postgres', q{SELECT count(*) FROM events
	WHERE tableoid <> format('events_%s', lpad(extract(day FROM ts AT TIME ZONE 'UTC')::text, 2, '0'))::regclass}),
	'0', 'every row is in the partition of its day');
is($node->safe_psql('postgres', q{SELECT count(*), sum(amount), sum(id), min(note), max(note) FROM events_05}),
	$node->safe_psql('postgres', q{SELECT count(*), sum(id % 100), sum(id), 'none', 'none' FROM generate_series(1, 30000) id WHERE 1 + id % 12 = 5}),
	'a partition with another column order gets the right values');
is($node->safe_psql('postgres', q{SELECT count(*) = count(DISTINCT note), bool_and(note LIKE 'p7:%') FROM events_07}),
	't|t', "a partition's BEFORE ROW trigger runs per row and sees the rows before it");
is($node->safe_psql('postgres', $view_differs), '0', 'the view equals its defining query');

# More events, and an immediate stop while they are being consumed.
$file = $node->basedir . '/events2.json';
my ($good2, $nopart2, $bad2) = write_events($file, 30_001, 60_001);
$node->safe_psql('postgres', q{SELECT lambda.stop_source('ev_src')});
$kafka->produce_file('events', $file, spread => 1, config => { 'batch.num.messages' => 100 });
$kafka->command('rtt all 10');
$node->safe_psql('postgres', q{SELECT lambda.start_source('ev_src')});
LambdaNode::wait_for($node, 'SELECT count(*) > ' . ($good1 + 1000) . ' FROM events', 't', timeout => 120);
my $before_crash = $node->safe_psql('postgres', 'SELECT count(*) FROM events');
$node->stop('immediate');
cmp_ok($before_crash, '<', $good1 + $good2, "the crash hit mid-stream ($before_crash events in)");
$kafka->command('rtt all 0');
$node->start;

my $all = $good1 + $nopart1 + $bad1 + $good2 + $nopart2 + $bad2;
ok(LambdaNode::wait_for($node, $consumed, $all, timeout => 180),
	'after the crash, consumption resumes and completes');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id) FROM events'),
	($good1 + $good2) . '|' . ($good1 + $good2), 'exactly once across the crash');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT (partition, "offset")) FROM lambda.dead_letters'),
	($nopart1 + $bad1 + $nopart2 + $bad2) . '|' . ($nopart1 + $bad1 + $nopart2 + $bad2),
	'dead letters exactly once across the crash');
is($node->safe_psql('postgres', $view_differs), '0', 'the view equals its defining query after the crash');

# A partition for the 11th and 12th; replaying the dead letters routes them there.
$node->safe_psql('postgres', q{
	CREATE TABLE events_11 PARTITION OF events FOR VALUES FROM ('2025-01-11 00:00:00+00') TO ('2025-01-13 00:00:00+00')});
is($node->safe_psql('postgres', q{SELECT replayed, still_failing FROM lambda.replay_dead_letters('ev_src')}),
	($nopart1 + $nopart2) . '|' . ($bad1 + $bad2), 'replayed dead letters find the new partition');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id) FROM events_11'),
	($nopart1 + $nopart2) . '|' . ($nopart1 + $nopart2), 'the new partition holds them');
is($node->safe_psql('postgres', $view_differs), '0', 'the view counts the replayed events');

# New events of the 12th now go straight in.
$kafka->produce('events', [ map { qq({"id": $_, "kind": "k1", "amount": 1, "ts": "2025-01-12T10:00:00Z"}) } 70_001 .. 70_050 ], partition => 1);
ok(LambdaNode::wait_for($node, 'SELECT count(*) FROM events_11 WHERE id > 70000', '50', timeout => 60),
	'new events reach the new partition');
# Every event the workers inserted carries its transaction's id in the
# arrival column (a subtransaction's rows: the id of the transaction above).
is($node->safe_psql('postgres', q{SELECT count(*) FROM events
	WHERE _lambda_xact IS NULL OR _lambda_xact % 4294967296 > xmin::text::bigint}),
	'0', 'Kafka-ingested events carry their arrival value');
$node->safe_psql('postgres', 'REFRESH MATERIALIZED VIEW ev_daily');
is($node->safe_psql('postgres', $view_differs), '0', 'the view equals its defining query after a refresh');
$node->safe_psql('postgres', q{SELECT lambda.recompute('ev_daily')});
is($node->safe_psql('postgres', $view_differs), '0', 'the view equals its defining query after a recompute');

$kafka->stop;
done_testing();
