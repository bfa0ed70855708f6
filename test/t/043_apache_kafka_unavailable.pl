# A test that needs the real Apache Kafka broker and cannot get it fails,
# loudly and with the reason; it never passes silently. Simulated here with
# an empty jar cache and an "mvn" that cannot reach Maven Central (a stand-in
# script first in PATH), which is what a machine without network access sees.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use LambdaApacheKafka;

my $tmp = PostgreSQL::Test::Utils::tempdir('no_kafka');
mkdir "$tmp/bin" or die;
open(my $fh, '>', "$tmp/bin/mvn") or die;
print $fh <<'EOF';
#!/bin/sh
echo "[ERROR] Failed to execute goal on project apache-kafka-broker: Could not resolve dependencies: Could not transfer artifact org.apache.kafka:kafka_2.13:pom from/to central: Network is unreachable"
exit 1
EOF
close $fh;
chmod 0755, "$tmp/bin/mvn";

local $ENV{PATH} = "$tmp/bin:$ENV{PATH}";
local $ENV{PG_LAMBDA_KAFKA_CACHE} = "$tmp/cache";

# The script itself: a non-zero exit, the reason, Maven's own words.
my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ 'sh', LambdaApacheKafka::script(), 'start', "$tmp/broker" ],
	'<', \undef, '>', \$out, '2>', \$err);
ok(!$ok, 'apache_kafka.sh start fails without Maven Central');
like($err, qr/could not fetch Apache Kafka \S+ from Maven Central \(mvn failed; whole log: /,
	'... saying why');
like($err, qr/Network is unreachable/, '... with Maven\'s error');
is($out, '', '... and prints no bootstrap address');
ok(!-e "$tmp/cache/" . ($ENV{PG_LAMBDA_KAFKA_VERSION} // '4.3.2') . '/libs/.complete',
	'no half-fetched cache is left to be taken as complete');

# What every real-broker test does first: LambdaApacheKafka->start dies with
# the reason, so the test fails instead of passing without a broker.
my $started = eval { LambdaApacheKafka->start(name => 'unavailable'); 1 };
ok(!$started, 'LambdaApacheKafka->start dies without the broker');
like($@, qr/could not start the Apache Kafka broker.*could not fetch Apache Kafka/s,
	'... with apache_kafka.sh\'s reason');

done_testing();
