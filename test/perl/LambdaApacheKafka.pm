
=pod

=head1 NAME

LambdaApacheKafka - a real Apache Kafka broker for pg_lambda's TAP tests

=head1 SYNOPSIS

  use LambdaApacheKafka;

  my $kafka = LambdaApacheKafka->start(topics => { events => 4 });
  $kafka->create_topic('ret', 1, 'segment.bytes' => 16384);
  $kafka->produce('events', [ ... ], spread => 1);     # LambdaKafka's kcat methods
  my $txns = $kafka->txn_produce('tx', 'producer-1', 1, 'c:100,a:50');
  my $low = $kafka->delete_records('ret', 0, 250);
  $kafka->restart;                                     # same data, same ports
  $kafka->kill; $kafka->start_again;                   # a broker crash
  $kafka->stop;

=head1 DESCRIPTION

Runs one Apache Kafka 4.x node (KRaft, broker and controller in one JVM)
through test/apache_kafka.sh in a folder under the test's tmp_check, so that
its server.log stays there for a failed test. A subclass of LambdaKafka: the
kcat methods (produce, produce_file, consume, high_watermarks,
low_watermarks, partition_count) work unchanged; the mock broker's control
commands (command) do not exist here.

The broker is stopped by stop(), at object destruction and in an END block;
test/apache_kafka.sh also kills it when this process is gone (its watchdog
watches our pid), so not even a killed test leaves a broker behind.

If the broker cannot be had (no java, Maven Central unreachable on the first
run, a port taken), start() dies with apache_kafka.sh's reason: the test
fails, it never passes without the broker.

Operations kcat cannot do (topics with settings, delete-records,
transactional producing) go through test/kafka_client, C<$ENV{PG_LAMBDA_TEST_DIR}/kafka_client>
when that variable is set.

=head1 METHODS

=cut

package LambdaApacheKafka;

use strict;
use warnings;

use parent -norequire, 'LambdaKafka';
use LambdaKafka;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;
use IPC::Run ();
use PostgreSQL::Test::Utils ();
use Scalar::Util qw(weaken refaddr);

my $test_dir = dirname(dirname(abs_path(__FILE__)));
my %running;
my $count = 0;

# Runs a command; returns (exit status, stdout, stderr). Never dies.
sub _run
{
	my ($cmd, $timeout) = @_;
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run($cmd, '<', \undef, '>', \$out, '2>', \$err,
			IPC::Run::timeout($timeout // 180));
		1;
	};
	return (-1, $out, $err . "\n[timed out or failed: $@]") unless $ok;
	return ($? >> 8, $out, $err);
}

=pod

=head2 LambdaApacheKafka->script, ->client_binary

Paths of test/apache_kafka.sh and of the kafka_client program.

=cut

sub script { return File::Spec->catfile($test_dir, 'apache_kafka.sh'); }

sub client_binary
{
	return File::Spec->catfile($ENV{PG_LAMBDA_TEST_DIR}, 'kafka_client')
	  if defined $ENV{PG_LAMBDA_TEST_DIR} && $ENV{PG_LAMBDA_TEST_DIR} ne '';
	return File::Spec->catfile($test_dir, 'kafka_client');
}

=pod

=head2 LambdaApacheKafka->librdkafka_version

librdkafka's version as "2.0.2" (what the extension links, as kafka_client
links the same library), and LambdaApacheKafka->librdkafka_at_least('2.6.1').

=cut

sub librdkafka_version
{
	my ($rc, $out, $err) = _run([ client_binary(), 'version' ], 30);
	croak "kafka_client version failed: $err" if $rc != 0;
	chomp $out;
	return $out;
}

sub librdkafka_at_least
{
	my ($class, $want) = @_;
	my @have = split /\./, $class->librdkafka_version;
	my @need = split /\./, $want;
	for my $i (0 .. 2)
	{
		my ($h, $n) = ($have[$i] // 0, $need[$i] // 0);
		return $h > $n if $h != $n;
	}
	return 1;
}

=pod

=head2 LambdaApacheKafka->start(topics => { name => partitions }, name => 'kafka')

Starts a broker in tmp_check/apache_kafka_<name>_<n> and creates the topics.
Dies with the reason if it cannot.

=cut

sub start
{
	my ($class, %args) = @_;
	my $name = $args{name} // 'kafka';
	my $dir = File::Spec->catdir($PostgreSQL::Test::Utils::tmp_check,
		"apache_kafka_${name}_" . $$ . '_' . $count++);
	make_path($dir);
	my $self = bless { dir => $dir, owner_pid => $$, brokers => 1 }, $class;
	$self->_start_broker;
	$running{ refaddr($self) } = $self;
	weaken($running{ refaddr($self) });
	foreach my $t (sort keys %{ $args{topics} // {} })
	{
		$self->create_topic($t, $args{topics}{$t});
	}
	return $self;
}

# apache_kafka.sh start on our folder; records the addresses it wrote.
sub _start_broker
{
	my ($self) = @_;
	local $ENV{PG_LAMBDA_KAFKA_OWNER} = $$;
	my $t0 = time;
	my ($rc, $out, $err) = _run([ 'sh', script(), 'start', $self->{dir} ], 300);
	croak "could not start the Apache Kafka broker (test/apache_kafka.sh start $self->{dir}, "
	  . "exit $rc):\n$err" if $rc != 0;
	chomp $out;
	$self->{bootstrap} = $out;
	foreach my $f ('sasl_bootstrap', 'ssl_bootstrap', 'sasl_user', 'sasl_password')
	{
		$self->{$f} = PostgreSQL::Test::Utils::slurp_file("$self->{dir}/$f");
		chomp $self->{$f};
	}
	$self->{running} = 1;
	LambdaKafka::_log("Apache Kafka broker in $self->{dir} answers on $self->{bootstrap} after "
		  . (time - $t0) . " s");
	return;
}

=pod

=head2 $kafka->bootstrap, ->sasl_bootstrap, ->ssl_bootstrap, ->sasl_user, ->sasl_password, ->ca_file, ->dir

The PLAINTEXT listener, the SASL_PLAINTEXT listener (SCRAM-SHA-256 and
PLAIN) with its one user, the same over TLS (SASL_SSL), the CA certificate
that TLS clients trust, and the broker's folder.

=cut

sub sasl_bootstrap { return $_[0]->{sasl_bootstrap}; }
sub ssl_bootstrap  { return $_[0]->{ssl_bootstrap}; }
sub ca_file        { return "$_[0]->{dir}/ca.pem"; }
sub sasl_user      { return $_[0]->{sasl_user}; }
sub sasl_password  { return $_[0]->{sasl_password}; }
sub dir            { return $_[0]->{dir}; }

sub command
{
	croak "command() drives the mock broker only; the Apache Kafka broker has no control commands";
}

# Runs kafka_client against the PLAINTEXT listener; dies on failure.
sub _client
{
	my ($self, @args) = @_;
	my ($rc, $out, $err) =
	  _run([ client_binary(), '-b', $self->{bootstrap}, @args ], 120);
	croak "kafka_client @args failed (exit $rc): $err" if $rc != 0;
	return $out;
}

=pod

=head2 $kafka->create_topic($name, $partitions, config => value, ...)

Creates a topic (replication factor 1) with topic-level settings.

=cut

sub create_topic
{
	my ($self, $topic, $partitions, %config) = @_;
	$self->_client('create-topic', $topic, $partitions,
		map { "$_=$config{$_}" } sort keys %config);
	return;
}

=pod

=head2 $kafka->delete_records($topic, $partition, $offset)

Deletes the records before $offset (-1: all), as retention would; returns the
partition's new log start offset.

=cut

sub delete_records
{
	my ($self, $topic, $partition, $offset) = @_;
	my $out = $self->_client('delete-records', $topic, $partition, $offset);
	croak "delete-records printed '$out'" unless $out =~ /^low_watermark (\d+)$/m;
	return $1;
}

=pod

=head2 $kafka->txn_produce($topic, $transactional_id, $first_id, $plan)

Produces JSON messages {"id": i, "txn": t, "ts": ...} in transactions that
commit or abort as $plan says ("c:100,a:20,..."; see test/kafka_client.c);
message i goes to partition i % partitions. Returns an array ref of
{ txn, fate => 'commit'|'abort', from, to } (id ranges).

=cut

sub txn_produce
{
	my ($self, $topic, $txn_id, $first, $plan) = @_;
	my $out = $self->_client('txn-produce', $topic, $txn_id, $first, $plan);
	my @txns;
	while ($out =~ /^txn (\d+) (commit|abort) ids (\d+)-(\d+)$/mg)
	{
		push @txns, { txn => $1, fate => $2, from => $3, to => $4 };
	}
	my $want = scalar(split /,/, $plan);
	croak "txn-produce reported " . scalar(@txns) . " of $want transactions: $out"
	  unless @txns == $want;
	return \@txns;
}

=pod

=head2 $kafka->run_tool($class, @args)

Runs a Kafka tool class (e.g. org.apache.kafka.tools.DeleteRecordsCommand)
with the broker's jars; returns its stdout, dies on failure.

=cut

sub run_tool
{
	my ($self, $class, @args) = @_;
	my ($rc, $out, $err) = _run([ 'sh', script(), 'run', $class, @args ], 300);
	croak "$class @args failed (exit $rc): $err" if $rc != 0;
	return $out;
}

=pod

=head2 $kafka->stop, ->kill, ->start_again, ->restart

stop: a clean shutdown (SIGTERM). kill: SIGKILL, a broker crash.
start_again: start the stopped broker with its data on the same ports.
restart: stop, then start_again.

=cut

sub stop
{
	my ($self) = @_;
	return unless $self->{running} && $$ == $self->{owner_pid};
	my ($rc, $out, $err) = _run([ 'sh', script(), 'stop', $self->{dir} ], 120);
	croak "apache_kafka.sh stop failed: $err" if $rc != 0;
	$self->{running} = 0;
	return;
}

sub kill
{
	my ($self) = @_;
	my ($rc, $out, $err) = _run([ 'sh', script(), 'kill', $self->{dir} ], 120);
	croak "apache_kafka.sh kill failed: $err" if $rc != 0;
	$self->{running} = 0;
	return;
}

sub start_again
{
	my ($self) = @_;
	croak "the broker is running" if $self->{running};
	$self->_start_broker;
	return;
}

sub restart
{
	my ($self) = @_;
	$self->stop;
	$self->start_again;
	return;
}

sub DESTROY
{
	my ($self) = @_;
	local ($@, $?, $!);
	eval { $self->stop };
	return;
}

END
{
	local ($@, $?, $!);
	foreach my $k (keys %running)
	{
		my $b = $running{$k};
		eval { $b->stop } if $b;
	}
}

1;
