
# Tests for the test Kafka broker (test/kafka_broker, librdkafka's mock
# cluster) and its Perl driver LambdaKafka: produce/consume with kcat,
# partitioning and keys, arbitrary payload bytes, broker outages, leader
# moves, injected protocol errors, consumer groups with committed offsets,
# bulk volume under the mock's retention cap, and the binary's command line.
# No PostgreSQL server is started here.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";

use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use Time::HiRes qw(time);
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { events => 4 }, brokers => 3);

like(
	$kafka->bootstrap,
	qr/^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/,
	'three brokers listening on loopback');
is($kafka->command('ping'), 'OK pong', 'control channel answers');
like($kafka->command('no_such_command', allow_error => 1),
	qr/^ERR /, 'unknown control command is rejected');
like($kafka->command('down 99', allow_error => 1),
	qr/^ERR /, 'unknown broker id is rejected');
like($kafka->command('error NoSuchApi REQUEST_TIMED_OUT 1', allow_error => 1),
	qr/^ERR unknown api/, 'unknown API name is rejected');
ok(!eval { $kafka->command('error Fetch NO_SUCH_ERROR 1'); 1 },
	'command() dies on ERR by default');
is($kafka->partition_count('events'), 4, 'topic created with 4 partitions');

# Pin partition leaders so the outage tests below know who leads what.
$kafka->command("leader events $_->[0] $_->[1]")
  foreach ([ 0, 1 ], [ 1, 2 ], [ 2, 3 ], [ 3, 1 ]);
is_deeply($kafka->leaders('events'), { 0 => 1, 1 => 2, 2 => 3, 3 => 1 },
	'partition leaders moved as asked');

# Every payload that should be in "events", in no particular order.
my @expected;

# 1000 numbered messages: 1..400 pinned 100 per partition, 401..700 keyed
# (ten distinct keys), 701..1000 keyless and scattered by the partitioner.
foreach my $p (0 .. 3)
{
	my @batch = map { "msg-$_" } ($p * 100 + 1 .. $p * 100 + 100);
	$kafka->produce('events', \@batch, partition => $p);
	push @expected, @batch;
}
{
	my @n = (401 .. 700);
	$kafka->produce(
		'events',
		[ map { "msg-$_" } @n ],
		keys => [ map { 'key-' . ($_ % 10) } @n ]);
	push @expected, map { "msg-$_" } @n;
}
{
	my @batch = map { "msg-$_" } (701 .. 1000);
	$kafka->produce('events', \@batch, spread => 1);
	push @expected, @batch;
}

my $recs = $kafka->consume_records('events', timeout => 30);
is(scalar @$recs, 1000, 'consumed 1000 messages');
ok(!$kafka->{last_timed_out}, 'consumer reached the end without timing out');

my %seen;
$seen{ $_->{payload} }++ foreach @$recs;
my @not_once = grep { ($seen{"msg-$_"} // 0) != 1 } 1 .. 1000;
is_deeply(\@not_once, [], 'every number 1..1000 consumed exactly once');
is(scalar keys %seen, 1000, 'no unexpected payloads');

my %by_payload = map { $_->{payload} => $_ } @$recs;
my @misplaced = grep {
	my $n = $_;
	my $r = $by_payload{"msg-$n"};
	!$r || $r->{partition} != int(($n - 1) / 100)
} 1 .. 400;
is_deeply(\@misplaced, [], 'pinned messages are in the partitions asked for');

my @badkey = grep {
	my $r = $by_payload{"msg-$_"};
	!$r || !defined $r->{key} || $r->{key} ne 'key-' . ($_ % 10)
} 401 .. 700;
is_deeply(\@badkey, [], 'keyed messages carry their keys');
is(scalar(grep { defined $_->{key} } @$recs), 300, 'only 300 messages have keys');

my %key_parts;
$key_parts{ $_->{key} }{ $_->{partition} } = 1
  foreach grep { defined $_->{key} } @$recs;
is(scalar keys %key_parts, 10, 'ten distinct keys');
is(scalar(grep { keys %{ $key_parts{$_} } != 1 } keys %key_parts),
	0, 'each key maps to a single partition');

my %spread_parts;
$spread_parts{ $by_payload{"msg-$_"}{partition} } = 1 foreach 701 .. 1000;
cmp_ok(scalar keys %spread_parts, '>', 1,
	'keyless messages were spread over several partitions');

my %per_part;
$per_part{ $_->{partition} }++ foreach @$recs;
my $sum = 0;
$sum += $_ foreach values %per_part;
is($sum, 1000, 'per-partition counts sum to 1000');
is_deeply([ sort keys %per_part ], [ 0 .. 3 ], 'all four partitions used');
is(scalar(grep { $per_part{$_} < 100 } 0 .. 3),
	0, 'every partition has at least its 100 pinned messages');
is_deeply($kafka->high_watermarks('events'),
	\%per_part, 'high watermarks match the per-partition counts');
is_deeply($kafka->low_watermarks('events'),
	{ map { $_ => 0 } 0 .. 3 }, 'nothing was trimmed from the logs');

my @gaps = grep {
	my $p = $_;
	my @o = sort { $a <=> $b }
	  map { $_->{offset} } grep { $_->{partition} == $p } @$recs;
	join(',', @o) ne join(',', 0 .. $#o)
} 0 .. 3;
is_deeply(\@gaps, [], 'offsets are contiguous from 0 in every partition');

# Payloads with newlines, tabs, NUL and high bytes, and a large one.
is($kafka->command('create odd 1'), 'OK', 'create command makes a topic');
like($kafka->command('create odd 1', allow_error => 1),
	qr/^ERR .*TOPIC_ALREADY_EXISTS/, 'creating it again fails');
my @odd = ("two\nlines", "tab\there", "bytes \x00\x01\x7f\x80\xff",
	'x' x 100000, "\n");
$kafka->produce('odd', \@odd);
is_deeply($kafka->consume('odd', timeout => 30),
	\@odd, 'arbitrary payload bytes round-trip unchanged');

# All brokers down: clients fail fast; back up: everything works again.
is($kafka->command('down all'), 'OK', 'all brokers down');
my $t0 = time;
ok(!$kafka->produce('events', ['during-outage'], timeout => 3, allow_fail => 1),
	'produce fails while all brokers are down');
cmp_ok(time - $t0, '<', 20, 'the failure is reported quickly');
ok(!eval { $kafka->partition_count('events', timeout => 2); 1 },
	'metadata request fails while all brokers are down');
is($kafka->command('up all'), 'OK', 'all brokers up');
ok($kafka->produce('events', [ 'after-outage-1', 'after-outage-2' ]),
	'produce works again after the outage');
push @expected, 'after-outage-1', 'after-outage-2';

# One broker down: partitions it leads are unavailable (the mock does not
# fail over by itself), others keep working; moving the leader fixes it.
is($kafka->command('down 1'), 'OK', 'broker 1 down');
ok($kafka->produce('events', ['p1-while-b1-down'], partition => 1),
	'partition led by broker 2 still accepts messages');
push @expected, 'p1-while-b1-down';
ok( !$kafka->produce(
		'events', ['p0-while-b1-down'],
		partition  => 0,
		timeout    => 3,
		allow_fail => 1),
	'partition led by the down broker does not');
is($kafka->command('leader events 0 2'), 'OK', 'move partition 0 to broker 2');
ok($kafka->produce('events', ['p0-after-move'], partition => 0),
	'partition 0 accepts messages on its new leader');
push @expected, 'p0-after-move';
is($kafka->command('up 1'), 'OK', 'broker 1 up');

my $all = $kafka->consume('events', timeout => 30);
is_deeply([ sort @$all ], [ sort @expected ],
	'after the outages the topic holds exactly the delivered messages');

# Injected Fetch errors that librdkafka handles by itself (refresh metadata,
# reconnect, retry): the consumer still gets everything.
my $l3 = $kafka->leaders('events')->{3};
like($kafka->command("berror $l3 Fetch NOT_LEADER_FOR_PARTITION 3"),
	qr/^OK 3 x NOT_LEADER_FOR_PARTITION on Fetch/,
	'queue Fetch errors on the leader of partition 3');
is($kafka->command("pending $l3 Fetch"), 'OK 3', 'three errors pending');
like($kafka->command('error Fetch LEADER_NOT_AVAILABLE 2'),
	qr/^OK 2 x LEADER_NOT_AVAILABLE on Fetch\(1\)/,
	'queue cluster-wide Fetch errors');
like($kafka->command('error 1 TRANSPORT 1'),
	qr/^OK 1 x _TRANSPORT on Fetch\(1\)/,
	'queue a disconnect on Fetch (API and error given loosely)');
$all = $kafka->consume('events', timeout => 30);
is_deeply([ sort @$all ], [ sort @expected ],
	'consumer gets every message despite the Fetch errors');
is($kafka->{last_status}, 0, '... and kcat exits successfully');
is($kafka->command("pending $l3 Fetch"), 'OK 0',
	'all injected broker Fetch errors were served to the consumer');
$kafka->command('clear Fetch');

# An error librdkafka passes up to the application does reach the client
# (kcat gives up on any per-partition consumer error).
$kafka->command('error Fetch REQUEST_TIMED_OUT 1');
$all = $kafka->consume('events', timeout => 30, exit_on_error => 1);
isnt($kafka->{last_status}, 0, 'injected REQUEST_TIMED_OUT stops kcat');
like($kafka->{last_stderr}, qr/Request timed out/, '... with that error');
cmp_ok(scalar @$all, '<', scalar @expected, '... before it read everything');
$kafka->command('clear Fetch');

# A consumer started during an outage waits and catches up afterwards.
$kafka->command('down all');
my $waiting = $kafka->consume_start('events', timeout => 40);
sleep 2;
is_deeply($waiting->records_so_far, [], 'nothing consumed while down');
$kafka->command('up all');
my $caught_up = $waiting->wait;
ok(!$waiting->{timed_out}, 'consumer started during the outage finished');
is(scalar @$caught_up, scalar @expected, '... with every message');

# A non-retriable injected error reaches the producer, once.
$kafka->command('error Produce TOPIC_AUTHORIZATION_FAILED 1');
ok(!$kafka->produce('events', ['denied'], timeout => 5, allow_fail => 1),
	'injected TOPIC_AUTHORIZATION_FAILED fails the produce');
like($kafka->{last_stderr}, qr/authoriz/i, '... with that error');
ok($kafka->produce('events', ['allowed']), 'the next produce succeeds');
push @expected, 'allowed';
$kafka->command('error Produce 29 1');    # same error, by number
ok(!$kafka->produce('events', ['denied-again'], timeout => 5, allow_fail => 1),
	'errors can be given by number');
$kafka->command('error Produce TOPIC_AUTHORIZATION_FAILED 5');
is($kafka->command('clear Produce'), 'OK', 'clear pending Produce errors');
ok($kafka->produce('events', ['after-clear']),
	'produce succeeds after clearing the errors');
push @expected, 'after-clear';

# Consumer groups: two members split the partitions between them.
#
# Two quirks of librdkafka 2.0.2's mock group coordinator shape this part:
# - It completes SyncGroup as soon as the leader's SyncGroup (carrying every
#   member's assignment) arrives; a follower whose SyncGroup comes later gets
#   INVALID_REQUEST and forces a rebalance.  The leader is the first member to
#   join, so pin the coordinator and delay the response to the first
#   JoinGroup by 500 ms: the follower then always syncs first.
# - A member leaving (kcat -e at the end of its partitions) triggers a
#   rebalance during which the mock rejects OffsetCommit, so the other
#   member's progress is lost and re-read.  So the members run without -e
#   and are stopped together once they have read everything.
is($kafka->command('coordinator group pair 2'), 'OK', 'pin group coordinator');
like($kafka->command('berror 2 JoinGroup NO_ERROR 1 500'),
	qr/^OK 1 x NO_ERROR on JoinGroup\(11\) at broker 2/,
	'delay the first JoinGroup response');
my @members = map {
	$kafka->consume_start('events', group => 'pair', timeout => 40, eof => 0)
} 1 .. 2;
my @got;
my $deadline = time + 40;
while (time < $deadline)
{
	@got = map { $_->records_so_far } @members;
	last if @{ $got[0] } + @{ $got[1] } >= @expected;
	Time::HiRes::sleep(0.2);
}
$_->kill foreach @members;
$_->wait foreach @members;
cmp_ok(scalar @{ $got[$_] }, '>', 0, "group member $_ got messages")
  foreach 0 .. 1;
my %parts_of;
foreach my $i (0 .. 1)
{
	$parts_of{ $_->{partition} }{$i} = 1 foreach @{ $got[$i] };
}
is(scalar(grep { keys %{ $parts_of{$_} } > 1 } keys %parts_of),
	0, 'no partition was read by both members');
is_deeply(
	[ sort map { $_->{payload} } @{ $got[0] }, @{ $got[1] } ],
	[ sort @expected ],
	'together the members read every message exactly once');

# Committed offsets: a group resumes where it stopped.
$all = $kafka->consume('events', group => 'resume', timeout => 40);
is(scalar @$all, scalar @expected, 'new group reads the whole topic');
my @late = map { "late-$_" } 1 .. 5;
$kafka->produce('events', \@late, spread => 1);
$all = $kafka->consume('events', group => 'resume', timeout => 40);
is_deeply([ sort @$all ], [ sort @late ],
	'the group resumes from its committed offsets');

# Bulk: 200000 lines through produce_file (lz4) stay within the mock's
# retention cap, nothing is trimmed and everything comes back.
my $tmpdir = PostgreSQL::Test::Utils::tempdir();
my $bulk   = "$tmpdir/bulk.txt";
open(my $fh, '>', $bulk) or die "cannot write $bulk: $!";
print $fh "bulk-$_\n" foreach 1 .. 200000;
close($fh) or die "cannot close $bulk: $!";
$kafka->command('create bulk 4');
ok($kafka->produce_file('bulk', $bulk, config => { 'sticky.partitioning.linger.ms' => 0 }),
	'produce 200000 messages from a file');
my $hw = $kafka->high_watermarks('bulk');
my $bulk_sum = 0;
$bulk_sum += $_ foreach values %$hw;
is($bulk_sum, 200000, 'high watermarks add up to 200000');
is_deeply($kafka->low_watermarks('bulk'), { map { $_ => 0 } 0 .. 3 },
	'no bulk messages were trimmed');
my $bulk_got = $kafka->consume('bulk', timeout => 60);
is(scalar @$bulk_got, 200000, 'consumed all 200000 bulk messages');
my %bulk_seen;
$bulk_seen{$_}++ foreach @$bulk_got;
is(scalar(grep { ($bulk_seen{"bulk-$_"} // 0) != 1 } 1 .. 200000),
	0, 'every bulk message exactly once');

# Clean shutdown; afterwards nothing listens on the bootstrap ports.
my $bootstrap = $kafka->bootstrap;
is($kafka->stop, 0, 'broker exits cleanly on quit');
is($kafka->stop, undef, 'stopping twice is harmless');
ok(!eval { $kafka->partition_count('events', timeout => 2); 1 },
	'brokers are gone after stop');

# The binary on its own: --port is refused with a clear message, and with
# stdin at EOF it keeps serving until SIGTERM, then exits 0.
my $bin = LambdaKafka::broker_binary();
my ($out, $err) = ('', '');
IPC::Run::run([ $bin, '--port', '9092', 'x' ], '<', \undef, '>', \$out, '2>', \$err);
is($? >> 8, 2, '--port is rejected');
like($err, qr/--port is not supported/, '... with an explanation');

$out = '';
$err = '';
my $timer = IPC::Run::timeout(30);
my $h = IPC::Run::start([ $bin, '--brokers', '2', 'daemon:2' ],
	'<', '/dev/null', '>', \$out, '2>', \$err, $timer);
$h->pump until $out =~ /^BOOTSTRAP (\S+)\n/m;
my $daemon_bootstrap = $1;
is(scalar(() = $out =~ /\n/g), 1, 'exactly one line on stdout');
my $daemon = LambdaKafka->attach($daemon_bootstrap);
sleep 1;    # stdin hit EOF long ago; it must still be serving
is($daemon->partition_count('daemon'), 2, 'still serving after stdin EOF');
$h->signal('TERM');
$timer->start(30);
$h->finish;
is($h->full_result(0), 0, 'exits 0 on SIGTERM');

done_testing();
