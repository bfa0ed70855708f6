
=pod

=head1 NAME

LambdaKafka - run pg_lambda's test Kafka broker and talk to it with kcat

=head1 SYNOPSIS

  use LambdaKafka;

  my $kafka = LambdaKafka->start(topics => { events => 4 }, brokers => 3);
  my $bootstrap = $kafka->bootstrap;          # "127.0.0.1:p1,127.0.0.1:p2,..."

  $kafka->produce('events', [ map { "msg $_" } 1 .. 100 ]);
  my $payloads = $kafka->consume('events', count => 100, timeout => 30);

  $kafka->command('down all');                # control the broker
  $kafka->command('up all');
  $kafka->stop;

=head1 DESCRIPTION

Starts test/kafka_broker (librdkafka's mock cluster on 127.0.0.1, see the
header of test/kafka_broker.c for its control protocol and limits) under
IPC::Run, and wraps the kcat command line client for producing, consuming and
querying offsets.  The broker runs with --exit-on-eof, so it also exits when
this process dies and its stdin pipe closes; stop(), DESTROY and an END block
stop it explicitly, so a test never leaves a broker behind.

The broker's stderr (librdkafka diagnostics) is inherited, which under
PostgreSQL::Test::Utils means it lands in the test's regress_log file.

The broker binary is C<$ENV{PG_LAMBDA_TEST_DIR}/kafka_broker> when that
variable is set, otherwise C<kafka_broker> in the parent directory of this
module's directory (test/kafka_broker).  kcat is C<$ENV{KCAT}> or C<kcat>.

=head1 METHODS

=cut

package LambdaKafka;

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp ();
use IPC::Run ();
use JSON::PP ();
use Scalar::Util qw(weaken refaddr);
use Time::HiRes ();

our $KCAT = $ENV{KCAT} // 'kcat';

# Directory holding this module (test/perl), resolved at load time.
my $module_dir = dirname(abs_path(__FILE__));

# Weak references to every running broker, stopped by the END block.
my %running;

=pod

=head2 LambdaKafka->broker_binary

Path of the kafka_broker executable that start() runs.

=cut

sub broker_binary
{
	if (defined $ENV{PG_LAMBDA_TEST_DIR} && $ENV{PG_LAMBDA_TEST_DIR} ne '')
	{
		return File::Spec->catfile($ENV{PG_LAMBDA_TEST_DIR}, 'kafka_broker');
	}
	return File::Spec->catfile(dirname($module_dir), 'kafka_broker');
}

=pod

=head2 LambdaKafka->start(%args)

Start a broker and wait (up to C<timeout> seconds, default 30) for its
BOOTSTRAP line.  Arguments:

  topics  => { name => partitions, ... }   topics to create (default none)
  brokers => N                             number of brokers (default 1)
  timeout => seconds                       startup timeout (default 30)
  debug   => 'mock,protocol'               librdkafka debug contexts (stderr)

Dies if the broker cannot be started.  Returns the LambdaKafka object.

=cut

sub start
{
	my ($class, %args) = @_;
	my $topics  = $args{topics}  // {};
	my $brokers = $args{brokers} // 1;
	my $timeout = $args{timeout} // 30;
	my $bin     = $args{binary}  // broker_binary();

	croak "kafka_broker not found or not executable at $bin "
	  . "(build it with \"make test/kafka_broker\")"
	  unless -x $bin;

	my @cmd = ($bin, '--brokers', $brokers, '--exit-on-eof');
	push @cmd, '--debug', $args{debug} if $args{debug};
	foreach my $t (sort keys %$topics)
	{
		croak "bad topic name '$t'" if $t eq '' || $t =~ /[\s:]/;
		push @cmd, "$t:" . ($topics->{$t} // 1);
	}

	my $self = bless {
		in        => '',
		out       => '',
		brokers   => $brokers,
		owner_pid => $$,
		cmd       => \@cmd,
	}, $class;

	$self->{timer} =
	  IPC::Run::timeout($timeout, name => 'kafka_broker reply timeout');
	$self->{handle} = IPC::Run::start(\@cmd, '<', \$self->{in}, '>',
		\$self->{out}, $self->{timer});

	my $ok = eval {
		$self->_pump_until(qr/^BOOTSTRAP (\S+)\n/m, $timeout);
		1;
	};
	if (!$ok)
	{
		my $err = $@;
		eval { $self->{handle}->kill_kill(grace => 1) };
		delete $self->{handle};
		croak "kafka_broker did not start (@cmd): $err"
		  . "output so far: '$self->{out}'";
	}
	$self->{out} =~ s/^(?:.*\n)*?BOOTSTRAP (\S+)\n//;
	$self->{bootstrap} = $1;

	$running{ refaddr($self) } = $self;
	weaken($running{ refaddr($self) });
	return $self;
}

=pod

=head2 LambdaKafka->attach($bootstrap)

An object for a broker this process did not start (e.g. one started by
hand or by a demo script): produce/consume/watermark methods work, command()
and stop() do not.

=cut

sub attach
{
	my ($class, $bootstrap) = @_;
	croak "attach needs a bootstrap servers string" unless $bootstrap;
	return bless { bootstrap => $bootstrap, owner_pid => $$ }, $class;
}

# Pump the broker's pipes until its stdout buffer matches $re, dying on
# timeout or if the broker exits.
sub _pump_until
{
	my ($self, $re, $timeout) = @_;
	my $h = $self->{handle} or die "kafka_broker is not running\n";

	$self->{timer}->start($timeout);
	while ($self->{out} !~ $re)
	{
		die "kafka_broker exited\n" unless $h->pumpable;
		$h->pump;
	}
	return;
}

=pod

=head2 $kafka->bootstrap

The bootstrap.servers string, e.g. "127.0.0.1:40001,127.0.0.1:40002".

=head2 $kafka->brokers

Number of brokers in the cluster.

=cut

sub bootstrap { return $_[0]->{bootstrap}; }
sub brokers   { return $_[0]->{brokers}; }

=pod

=head2 $kafka->command($line, %opts)

Send one control command (see test/kafka_broker.c, e.g. "down 1",
"up all", "error Fetch NOT_LEADER_FOR_PARTITION 3", "create t 2") and wait
for its reply line, which is returned without the newline.  Dies if the
reply starts with ERR unless C<allow_error =E<gt> 1>, or if no reply arrives
within C<timeout> seconds (default 30).

=cut

sub command
{
	my ($self, $line, %opts) = @_;
	croak "kafka_broker is not running" unless $self->{handle};
	croak "control command must be one line" if $line =~ /\n/;

	$self->{in} .= "$line\n";
	eval { $self->_pump_until(qr/\n/, $opts{timeout} // 30); 1 }
	  or croak "kafka_broker: no reply to '$line': $@";
	$self->{out} =~ s/^([^\n]*)\n//;
	my $reply = $1;
	croak "kafka_broker: '$line' failed: $reply"
	  if $reply =~ /^ERR/ && !$opts{allow_error};
	return $reply;
}

# Write a diagnostic to STDERR, which under PostgreSQL::Test::Utils goes to
# the test's regress_log file only.
sub _log
{
	my ($msg) = @_;
	$msg =~ s/\n+$//;
	$msg =~ s/^/# LambdaKafka: /mg;
	print STDERR "$msg\n";
	return;
}

# Render one byte as a kcat delimiter argument (-D / -K).
sub _delim_arg
{
	my ($byte) = @_;
	return '\n' if $byte eq "\n";
	return sprintf('\x%02x', ord($byte));
}

# Pick a byte that occurs in none of @strings and is not in %$avoid.
sub _free_byte
{
	my ($strings, $avoid) = @_;
	my %used = %$avoid;
	foreach my $s (@$strings)
	{
		next unless defined $s;
		$used{$_} = 1 foreach split //, $s;
	}
	foreach my $c ("\n", map { chr } 1 .. 255)
	{
		return $c unless $used{$c};
	}
	croak "messages use every byte value; cannot pick a kcat delimiter";
}

# Run a kcat command with a timeout.  Returns (success, stdout, stderr).
# Never dies on kcat failure or timeout (a timed-out kcat is killed).
sub _run_kcat
{
	my ($self, $args, $timeout, $stdin) = @_;
	my ($out, $err) = ('', '');
	my $in = $stdin // '';
	my @cmd = ($KCAT, '-b', $self->{bootstrap}, @$args);
	my $t = IPC::Run::timeout($timeout, name => 'kcat timeout');
	my $h = IPC::Run::start(\@cmd, '<', \$in, '>', \$out, '2>', \$err, $t);
	my $ok = eval { $h->finish; 1 };
	if (!$ok)
	{
		$err .= "\n[LambdaKafka: $@]";
		eval { $h->kill_kill(grace => 1) };
		return (0, $out, $err);
	}
	my $status = $h->full_result(0);
	$self->{last_status} = $status;
	return ($status == 0 ? 1 : 0, $out, $err);
}

=pod

=head2 $kafka->produce($topic, \@messages, %opts)

Produce the messages (byte strings; any bytes, including newlines, but not
empty: kcat skips empty messages) with kcat and wait until every message has
been acknowledged by the broker.  Options:

  partition   => N        send every message to partition N (default: the
                          client's partitioner; without keys librdkafka's
                          sticky partitioner fills one partition at a time,
                          so pass spread => 1 to scatter keyless messages)
  key         => $key     one key for all messages
  keys        => \@keys   a key per message (undef = no key)
  spread      => 1        keyless messages to random partitions each
  compression => 'lz4'    kcat -z (none by default)
  timeout     => seconds  delivery timeout (message.timeout.ms; default 30)
  config      => { prop => value }   extra librdkafka properties
  allow_fail  => 1        return false instead of dying on failure

Returns 1 on success.  On failure dies (or returns 0 with allow_fail); the
kcat stderr of the last call is in C<< $kafka->{last_stderr} >>.

=cut

sub produce
{
	my ($self, $topic, $messages, %opts) = @_;
	my @msgs = @$messages;
	my $keys = $opts{keys};

	croak "produce: keys must have one entry per message"
	  if $keys && @$keys != @msgs;
	foreach (@msgs)
	{
		croak "produce: undefined or empty message (kcat skips them)"
		  if !defined $_ || $_ eq '';
	}
	return 1 unless @msgs;

	my @all = (@msgs, $keys ? @$keys : ());
	my $delim = _free_byte(\@all, {});
	my $kdelim = $keys ? _free_byte(\@all, { $delim => 1 }) : undef;

	my $tmp = File::Temp->new(TEMPLATE => 'lambda_kafka_XXXXXX', TMPDIR => 1);
	binmode $tmp;
	for my $i (0 .. $#msgs)
	{
		print $tmp $keys->[$i], $kdelim if $keys && defined $keys->[$i];
		print $tmp $msgs[$i], $delim;
	}
	close $tmp or croak "produce: writing $tmp: $!";

	my @args = ('-D', _delim_arg($delim));
	push @args, '-K', _delim_arg($kdelim) if $keys;
	return $self->_produce_with_kcat($topic, "$tmp", \@args, %opts);
}

=pod

=head2 $kafka->produce_timestamped($topic, $partition, \@messages)

Produce messages with explicit Kafka timestamps (CreateTime, milliseconds
since 1970; any 64-bit number, -1 meaning "no timestamp"), one request per
message and in order, through the broker's "produce" command (kcat cannot set
timestamps).  @messages holds [timestamp, payload] pairs; a payload must not
contain whitespace.  Returns the offsets.  Dies on failure.

=cut

sub produce_timestamped
{
	my ($self, $topic, $partition, $messages) = @_;
	my @offsets;
	foreach my $m (@$messages)
	{
		my ($ts, $payload) = @$m;
		croak "produce_timestamped: bad timestamp '$ts'" unless $ts =~ /^-?\d+$/;
		croak "produce_timestamped: payload must be one token: '$payload'"
		  if !defined $payload || $payload eq '' || $payload =~ /\s/;
		my $reply = $self->command("produce $topic $partition $ts $payload");
		croak "produce_timestamped: unexpected reply '$reply'"
		  unless $reply =~ /^OK (\d+)$/;
		push @offsets, $1;
	}
	return \@offsets;
}

=pod

=head2 $kafka->produce_file($topic, $path, %opts)

Produce one message per line of $path (newline-delimited, empty lines are
skipped by kcat).  Meant for large volumes: it compresses with lz4 by default
(compression => 'none' to disable) and batches generously, which keeps the
mock broker under its per-partition retention cap (5 MiB of stored batches,
100000 batches; older data is silently deleted beyond that - see
kafka_broker.c).  Options as for produce() except keys; C<key_delimiter>
=E<gt> "\t" reads "key<TAB>value" lines.  Default timeout 120 s.

=cut

sub produce_file
{
	my ($self, $topic, $path, %opts) = @_;
	croak "produce_file: cannot read $path" unless -r $path;
	$opts{compression} //= 'lz4';
	delete $opts{compression} if $opts{compression} eq 'none';
	$opts{timeout} //= 120;
	my %config = (
		'linger.ms'          => 50,
		'batch.num.messages' => 100000,
		%{ $opts{config} // {} });
	$opts{config} = \%config;
	my @args = ('-D', '\n');
	push @args, '-K', _delim_arg($opts{key_delimiter})
	  if defined $opts{key_delimiter};
	return $self->_produce_with_kcat($topic, $path, \@args, %opts);
}

# Common part of produce/produce_file: run "kcat -P -l $file" and check it.
sub _produce_with_kcat
{
	my ($self, $topic, $file, $args, %opts) = @_;
	my $timeout = $opts{timeout} // 30;
	my @args = ('-P', '-t', $topic, '-l', $file, @$args, '-m', $timeout,
		'-X', 'message.timeout.ms=' . int($timeout * 1000));
	push @args, '-p', $opts{partition} if defined $opts{partition};
	push @args, '-k', $opts{key}       if defined $opts{key};
	push @args, '-z', $opts{compression} if $opts{compression};
	# Keyless messages stick to one partition for a while unless told not to.
	push @args, '-X', 'sticky.partitioning.linger.ms=0' if $opts{spread};
	foreach my $k (sort keys %{ $opts{config} // {} })
	{
		push @args, '-X', "$k=$opts{config}{$k}";
	}

	my ($ok, $out, $err) = $self->_run_kcat(\@args, $timeout + 30);
	# kcat exits non-zero when a message could not be delivered (it also
	# prints "Delivery failed for message: ..."); check both to be safe.
	# Other "% ERROR:" lines can be transient connection errors that the
	# client recovered from, so they alone do not mean failure.
	$ok = 0 if $err =~ /Delivery failed/;
	$self->{last_stderr} = $err;
	return 1 if $ok;
	_log("kcat -P to $topic failed:\n$err");
	croak "kcat could not produce to $topic: $err" unless $opts{allow_fail};
	return 0;
}

=pod

=head2 $kafka->consume($topic, %opts)

Consume with kcat and return an array ref of payloads (byte strings; undef
for NULL payloads), in the order kcat printed them (ordered per partition).
Options:

  count     => N        stop after N messages (no default: read to the end)
  timeout   => seconds  give up after this long and return what arrived
                        (default 30); see $kafka->{last_timed_out}
  group     => 'name'   consume as a member of this consumer group (kcat
                        -G, balanced consumer with offset commits); offsets
                        are committed when kcat closes
  offset    => 'beginning'  start offset (beginning|end|stored|N), default
                        'beginning' (for a group: where it starts when it has
                        no committed offset)
  partition => N        only this partition (not with group)
  eof       => 0|1      exit at the end of the partitions (kcat -e);
                        default 1 unless count is given
  config    => { prop => value }   extra librdkafka properties (for a
                        group, session.timeout.ms defaults to 6000: see
                        kafka_broker.c on how the mock re-forms groups)
  debug     => 'fetch'  librdkafka debug contexts; the log is in
                        $kafka->{last_stderr}
  unbuffered => 0|1     kcat -u, so records_so_far() sees every record at
                        once; default 1 when eof is 0
  exit_on_error => 1    let kcat exit on the first consumer error (by
                        default it is run with -E and keeps going)
  records   => 1        return hashrefs { partition, offset, key, payload }
                        instead of payloads

Afterwards C<< $kafka->{last_stderr} >>, C<< {last_status} >> (kcat's wait
status) and C<< {last_timed_out} >> describe the kcat run; failures and
timeouts are also logged to STDERR.

kcat 1.7.1 quirk: it exits (status 1) on any per-partition error that
librdkafka passes up to the application, -E or not.  Errors librdkafka
handles itself (NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE,
UNKNOWN_TOPIC_OR_PART, _TRANSPORT disconnects, brokers down) are retried
silently, but an injected Fetch REQUEST_TIMED_OUT or NOT_COORDINATOR stops
kcat early.  -E does keep it alive through "all brokers down".

=head2 $kafka->consume_records($topic, %opts)

Same as consume(..., records => 1).

=cut

sub consume
{
	my ($self, $topic, %opts) = @_;
	my $c = $self->consume_start($topic, %opts);
	my $recs = $c->wait;
	$self->{last_stderr}    = $c->{err};
	$self->{last_timed_out} = $c->{timed_out};
	$self->{last_status}    = $c->{status};
	return $recs if $opts{records};
	return [ map { $_->{payload} } @$recs ];
}

sub consume_records
{
	my ($self, $topic, %opts) = @_;
	return $self->consume($topic, %opts, records => 1);
}

=pod

=head2 $kafka->consume_start($topic, %opts)

Start a kcat consumer in the background (options as for consume) and return
a LambdaKafka::Consumer; call C<< ->wait >> on it to get the records
(hashrefs as with records => 1) once it has finished or timed out, or
C<< ->records_so_far >> to peek.  Useful for several concurrent consumers in
one group.

=cut

sub consume_start
{
	my ($self, $topic, %opts) = @_;
	my $timeout = $opts{timeout} // 30;
	my $eof = $opts{eof} // (defined $opts{count} ? 0 : 1);
	my $offset = $opts{offset} // 'beginning';
	my @args;

	# Length-prefixed records: a header line, then key and payload bytes.
	my $fmt = 'P%p O%o K%K S%S\n%k%s\n';
	if (defined $opts{group})
	{
		croak "consume: partition cannot be combined with group"
		  if defined $opts{partition};
		@args = ('-G', $opts{group});
		# The mock re-forms a group that all members have left only after
		# the old members' session.timeout.ms - 1 s (45 s by default), so
		# keep it short; config can override.
		$opts{config} = {
			'session.timeout.ms'    => 6000,
			'heartbeat.interval.ms' => 1000,
			%{ $opts{config} // {} } };
		push @args, '-X',
		  'auto.offset.reset='
		  . ($offset eq 'end' ? 'latest' : 'earliest')
		  if $offset eq 'beginning' || $offset eq 'end';
	}
	else
	{
		@args = ('-C', '-t', $topic, '-o', $offset);
		push @args, '-p', $opts{partition} if defined $opts{partition};
	}
	# -E: keep consuming through errors the client reports (e.g. injected
	# Fetch errors, which librdkafka retries) instead of exiting.
	push @args, '-E' unless $opts{exit_on_error};
	push @args, '-f', $fmt, '-q';
	push @args, '-c', $opts{count} if defined $opts{count};
	push @args, '-e' if $eof;
	# Unbuffered output so records_so_far() sees every record as it arrives
	# (by default only for consumers that do not stop at the end).
	push @args, '-u' if $opts{unbuffered} // !$eof;
	push @args, '-d', $opts{debug} if $opts{debug};
	foreach my $k (sort keys %{ $opts{config} // {} })
	{
		push @args, '-X', "$k=$opts{config}{$k}";
	}
	push @args, $topic if defined $opts{group};

	my $c = bless {
		out       => '',
		err       => '',
		in        => '',
		owner_pid => $$,
	}, 'LambdaKafka::Consumer';
	my @cmd = ($KCAT, '-b', $self->{bootstrap}, @args);
	$c->{cmd} = \@cmd;
	$c->{timer} = IPC::Run::timeout($timeout, name => 'kcat consumer timeout');
	$c->{handle} = IPC::Run::start(\@cmd, '<', \$c->{in}, '>', \$c->{out},
		'2>', \$c->{err}, $c->{timer});
	return $c;
}

=pod

=head2 $kafka->partition_count($topic, timeout => S)

Number of partitions of $topic according to the cluster's metadata (0 if the
topic does not exist).  Dies if the metadata cannot be fetched within
C<timeout> seconds (default 10).  Note that the mock broker auto-creates a
topic (4 partitions) named in a metadata request, as Kafka does with
auto.create.topics.enable.

=cut

sub partition_count
{
	my ($self, $topic, %opts) = @_;
	my $md = $self->_metadata($topic, $opts{timeout});
	foreach my $t (@{ $md->{topics} // [] })
	{
		next unless $t->{topic} eq $topic;
		return 0 if $t->{error};
		return scalar @{ $t->{partitions} // [] };
	}
	return 0;
}

=pod

=head2 $kafka->leaders($topic, timeout => S)

Hash ref { partition => leader broker id } from the cluster's metadata.

=cut

sub leaders
{
	my ($self, $topic, %opts) = @_;
	my $md = $self->_metadata($topic, $opts{timeout});
	my %l;
	foreach my $t (@{ $md->{topics} // [] })
	{
		next unless $t->{topic} eq $topic;
		$l{ $_->{partition} } = $_->{leader} foreach @{ $t->{partitions} };
	}
	return \%l;
}

# kcat -L -J for one topic, decoded; dies if no broker answers in $timeout s.
sub _metadata
{
	my ($self, $topic, $timeout) = @_;
	$timeout //= 10;
	my ($ok, $out, $err) = $self->_run_kcat(
		[ '-L', '-J', '-m', $timeout, '-t', $topic ], $timeout + 30);
	croak "kcat -L failed: $err" unless $ok;
	return JSON::PP->new->decode($out);
}

=pod

=head2 $kafka->high_watermarks($topic)

Hash ref { partition => high watermark } (the offset the next message will
get, i.e. the number of messages ever produced to a partition).

=head2 $kafka->low_watermarks($topic)

Hash ref { partition => log start offset }; above 0 means the broker has
deleted old messages (the mock's retention cap).

=cut

sub high_watermarks { return $_[0]->_watermarks($_[1], -1); }
sub low_watermarks  { return $_[0]->_watermarks($_[1], -2); }

# Query every partition's offset for timestamp $ts (-1 end, -2 beginning).
sub _watermarks
{
	my ($self, $topic, $ts) = @_;
	my $n = $self->partition_count($topic);
	croak "topic $topic does not exist" unless $n;
	my ($ok, $out, $err) = $self->_run_kcat(
		[ '-Q', map { ('-t', "$topic:$_:$ts") } 0 .. $n - 1 ], 30);
	croak "kcat -Q failed: $err" unless $ok;
	my %wm;
	while ($out =~ /^\Q$topic\E \[(\d+)\] offset (-?\d+)$/mg)
	{
		$wm{$1} = $2;
	}
	croak "kcat -Q returned " . scalar(keys %wm) . " of $n partitions: $out"
	  unless keys %wm == $n;
	return \%wm;
}

=pod

=head2 $kafka->stop

Send "quit", wait for the broker to exit (killing it if it does not within
10 s) and return its exit status (0 = clean).  Called automatically from
DESTROY and at program end; calling it twice is harmless.

=cut

sub stop
{
	my ($self) = @_;
	my $h = delete $self->{handle};
	return undef unless $h;
	delete $running{ refaddr($self) };
	return undef if $$ != $self->{owner_pid};    # forked child: not ours

	my $ok = eval {
		$self->{in} .= "quit\n";
		$self->{timer}->start(10);
		$h->finish;
		1;
	};
	if (!$ok)
	{
		eval { $h->kill_kill(grace => 2) };
		return -1;
	}
	return $h->full_result(0);
}

sub DESTROY
{
	my ($self) = @_;
	local ($@, $?, $!);
	$self->stop if $self->{handle};
	return;
}

END
{
	local ($@, $?, $!);
	foreach my $k (keys %running)
	{
		my $b = $running{$k};
		$b->stop if $b;
	}
}


=pod

=head1 LambdaKafka::Consumer

Returned by consume_start().

=head2 $consumer->wait

Wait until kcat exits or its timeout expires (then it is killed and
C<< $consumer->{timed_out} >> is set) and return an array ref of records
{ partition, offset, key, payload }.  kcat's stderr is in
C<< $consumer->{err} >>.

=head2 $consumer->records_so_far

Records parsed from what kcat has printed up to now (pumps without blocking).

=head2 $consumer->kill

Stop the consumer right away (SIGTERM, so a group member leaves its group and
commits).

=cut

package LambdaKafka::Consumer;

use strict;
use warnings;

# Parse kcat output in the 'P%p O%o K%K S%S\n%k%s\n' format.  An incomplete
# trailing record (kcat killed mid-write) is ignored.
sub _parse
{
	my ($buf) = @_;
	my @recs;
	my $pos = 0;
	my $len = length $buf;
	while ($pos < $len)
	{
		my $nl = index($buf, "\n", $pos);
		last if $nl < 0;
		my $hdr = substr($buf, $pos, $nl - $pos);
		die "LambdaKafka: unparsable kcat output at byte $pos: '$hdr'\n"
		  unless $hdr =~ /^P(-?\d+) O(-?\d+) K(-?\d+) S(-?\d+)$/;
		my ($p, $o, $klen, $vlen) = ($1, $2, $3, $4);
		my $need = ($klen > 0 ? $klen : 0) + ($vlen > 0 ? $vlen : 0) + 1;
		last if $nl + 1 + $need > $len;
		my $at = $nl + 1;
		my $key = $klen >= 0 ? substr($buf, $at, $klen) : undef;
		$at += $klen if $klen > 0;
		my $val = $vlen >= 0 ? substr($buf, $at, $vlen) : undef;
		$at += $vlen if $vlen > 0;
		push @recs,
		  { partition => $p, offset => $o, key => $key, payload => $val };
		$pos = $at + 1;
	}
	return \@recs;
}

sub wait
{
	my ($self) = @_;
	my $h = delete $self->{handle};
	if ($h)
	{
		my $ok = eval { $h->finish; 1 };
		if (!$ok)
		{
			$self->{timed_out} = 1;
			$self->{err} .= "\n[LambdaKafka: $@]";
			eval { $h->signal('TERM'); };
			$self->{timer}->start(5);
			eval { $h->finish; 1 } or eval { $h->kill_kill(grace => 1) };
		}
		$self->{status} = eval { $h->full_result(0) };
		LambdaKafka::_log("consumer @{$self->{cmd}} "
			  . ($self->{timed_out} ? 'timed out' : "exited with $self->{status}")
			  . ":\n$self->{err}")
		  if $self->{timed_out} || !defined $self->{status} || $self->{status};
	}
	return _parse($self->{out});
}

sub records_so_far
{
	my ($self) = @_;
	eval { $self->{handle}->pump_nb } if $self->{handle};
	return _parse($self->{out});
}

sub kill
{
	my ($self) = @_;
	return unless $self->{handle};
	eval { $self->{handle}->signal('TERM') };
	return;
}

sub DESTROY
{
	my ($self) = @_;
	local ($@, $?, $!);
	my $h = delete $self->{handle};
	return unless $h && $$ == $self->{owner_pid};
	eval { $h->kill_kill(grace => 1) };
	return;
}

1;
