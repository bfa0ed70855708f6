# Authentication against a real Apache Kafka 4.x broker: a SASL_PLAINTEXT
# listener with PLAIN and SCRAM-SHA-256, and the same over TLS (SASL_SSL)
# (test/apache_kafka.sh). Credentials given in a source's options work; a
# wrong password, or a broker certificate the source does not trust, shows
# as a clear last_error in source_status; the password never reaches the
# server log, source_status or sources, nor roles other than the catalog's
# owner.
#
# SCRAM-SHA-256 logins from librdkafka before 2.6.1 are refused by Kafka 4.x
# (librdkafka repeated the client nonce in its final message, which 4.x
# rejects). On such a librdkafka (Debian 12's 2.0) the SCRAM source must fail
# visibly, which is checked; from 2.6.1 on (Debian sid's 2.14, make test
# PG=18) SCRAM ingests, and a wrong SCRAM password shows as a clear last_error.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaApacheKafka;

my $kafka = LambdaApacheKafka->start(name => 'sasl', topics => { sec => 1 });
my $sasl = $kafka->sasl_bootstrap;
my $user = $kafka->sasl_user;
my $password = $kafka->sasl_password;
my $wrong = 'Wr0ng-' . $password;
# log_statement = 'all' (the test default) logs every statement's text by design
my $node = LambdaNode->new_node('real_sasl',
	conf => "log_statement = 'none'\nlambda.worker_restart_interval = 1");

$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	GRANT lambda_source_admin TO alice;
	CREATE TABLE ev_plain (id int NOT NULL, ts timestamptz NOT NULL);
	CREATE TABLE ev_bad (id int NOT NULL, ts timestamptz NOT NULL);
	CREATE TABLE ev_scram (id int NOT NULL, ts timestamptz NOT NULL);
	CREATE TABLE ev_scram_bad (id int NOT NULL, ts timestamptz NOT NULL);
	CREATE TABLE ev_tls (id int NOT NULL, ts timestamptz NOT NULL);
	CREATE TABLE ev_untrusted (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table(t, 'ts')
	  FROM unnest(ARRAY['ev_plain', 'ev_bad', 'ev_scram', 'ev_scram_bad', 'ev_tls', 'ev_untrusted']) t;
	GRANT SELECT, INSERT ON ev_plain, ev_bad, ev_scram, ev_scram_bad, ev_tls, ev_untrusted TO alice;
	GRANT SELECT ON ev_plain, ev_bad, ev_scram, ev_scram_bad, ev_tls, ev_untrusted TO bob;
});
$kafka->produce('sec', [ map { qq({"id": $_, "ts": "2025-01-01T00:00:00Z"}) } 1 .. 50 ]);

# Creates a source as alice with the given SASL mechanism and password;
# over TLS when $tls is given (a JSON fragment of ssl.* options, or '').
sub create_source
{
	my ($name, $table, $mechanism, $pw, $tls) = @_;
	my ($brokers, $protocol) = defined $tls
	  ? ($kafka->ssl_bootstrap, 'SASL_SSL') : ($sasl, 'SASL_PLAINTEXT');
	my $ssl = defined $tls && $tls ne '' ? ", $tls" : '';
	$node->safe_psql('postgres', qq{SET ROLE alice;
		SELECT lambda.create_kafka_source('$name', '$table', '$brokers', 'sec', batch_wait => '20 ms',
			options => '{"security.protocol": "$protocol", "sasl.mechanisms": "$mechanism",
			             "sasl.username": "$user", "sasl.password": "$pw"$ssl}')});
}

# PLAIN with the right password: the source ingests everything.
create_source('plain_src', 'ev_plain', 'PLAIN', $password);
ok(LambdaNode::wait_for($node, 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ev_plain', '50|50|1|50', timeout => 60),
	'SASL/PLAIN with the credentials from options: every message, once');
is($node->safe_psql('postgres', q{SELECT state, lag FROM lambda.source_status WHERE source = 'plain_src'}),
	'running|0', 'the authenticated source runs with no lag');

# A wrong password: nothing is ingested, and source_status says why.
create_source('bad_src', 'ev_bad', 'PLAIN', $wrong);
ok(LambdaNode::wait_for($node,
	q{SELECT state = 'retrying' AND last_error LIKE '%SASL authentication error: Authentication failed: Invalid username or password%'
	    FROM lambda.source_status WHERE source = 'bad_src'}, 't', timeout => 60),
	'a wrong password: state retrying, last_error says the authentication failed');
note('last_error: ' . $node->safe_psql('postgres', q{SELECT last_error FROM lambda.source_status WHERE source = 'bad_src'}));
is($node->safe_psql('postgres', 'SELECT count(*) FROM ev_bad'), '0', '... and nothing is ingested');

# SCRAM-SHA-256.
create_source('scram_src', 'ev_scram', 'SCRAM-SHA-256', $password);
my $librdkafka = LambdaApacheKafka->librdkafka_version;
if (LambdaApacheKafka->librdkafka_at_least('2.6.1'))
{
	ok(LambdaNode::wait_for($node, 'SELECT count(*), count(DISTINCT id) FROM ev_scram', '50|50', timeout => 60),
		"librdkafka $librdkafka: SASL/SCRAM-SHA-256 with the credentials from options: every message, once");
	# a wrong SCRAM password: the broker refuses the proof, and source_status says so
	create_source('scram_bad_src', 'ev_scram_bad', 'SCRAM-SHA-256', $wrong);
	ok(LambdaNode::wait_for($node,
		q{SELECT state = 'retrying' AND last_error LIKE '%SASL authentication error%Authentication failed%invalid credentials%SCRAM-SHA-256%'
		    FROM lambda.source_status WHERE source = 'scram_bad_src'}, 't', timeout => 60),
		'SCRAM-SHA-256 with a wrong password: state retrying, last_error says the credentials were invalid');
	note('last_error: ' . $node->safe_psql('postgres', q{SELECT last_error FROM lambda.source_status WHERE source = 'scram_bad_src'}));
	is($node->safe_psql('postgres', 'SELECT count(*) FROM ev_scram_bad'), '0', '... and nothing is ingested');
}
else
{
	ok(LambdaNode::wait_for($node,
		q{SELECT state = 'retrying' AND last_error LIKE '%Authentication failed%SCRAM-SHA-256%'
		    FROM lambda.source_status WHERE source = 'scram_src'}, 't', timeout => 60),
		"librdkafka $librdkafka < 2.6.1 cannot log in with SCRAM to Kafka 4.x (it repeats the client nonce), and source_status says so");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM ev_scram'), '0', '... and nothing is ingested');
}

# TLS (SASL_SSL): with the broker's CA the source ingests; without it the
# broker's certificate is not trusted and source_status says so. The CA is
# passed inline (ssl.ca.pem): a source whose owner is not a superuser may
# not name files the server would read (ssl.ca.location).
my $ca_pem = slurp_file($kafka->ca_file);
$ca_pem =~ s/\r?\n/\\n/g;
create_source('tls_src', 'ev_tls', 'PLAIN', $password, qq{"ssl.ca.pem": "$ca_pem"});
ok(LambdaNode::wait_for($node, 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ev_tls', '50|50|1|50', timeout => 60),
	'SASL_SSL: TLS with the broker\'s CA, PLAIN login: every message, once');
create_source('untrusted_src', 'ev_untrusted', 'PLAIN', $password, '');
ok(LambdaNode::wait_for($node,
	q{SELECT state = 'retrying' AND last_error LIKE '%certificate verify failed%'
	    FROM lambda.source_status WHERE source = 'untrusted_src'}, 't', timeout => 60),
	'SASL_SSL without the CA: state retrying, last_error says the certificate was not trusted');
note('last_error: ' . $node->safe_psql('postgres', q{SELECT last_error FROM lambda.source_status WHERE source = 'untrusted_src'}));
is($node->safe_psql('postgres', 'SELECT count(*) FROM ev_untrusted'), '0', '... and nothing is ingested');

# Nobody but the catalog's owner (a superuser) sees the password.
for my $role ('alice', 'bob')
{
	my ($ret, $out, $err) = $node->psql('postgres', "SET ROLE $role; SELECT options FROM lambda_catalog.source_secret");
	like($err, qr/permission denied/, "$role cannot read the sources' options");
	($ret, $out, $err) = $node->psql('postgres',
		"SET ROLE $role; SELECT s::text FROM lambda.source_status s UNION ALL SELECT s::text FROM lambda.sources s");
	is($ret, 0, "$role can read source_status and sources");
	unlike($out, qr/\Q$password\E/, '... which show neither password');
}
# The password is not in the server log (which holds the failed logins).
my $log = slurp_file($node->logfile);
like($log, qr/bad_src/, 'the server log mentions the failing source');
unlike($log, qr/\Q$password\E/, 'the server log does not show the password');

$node->safe_psql('postgres', q{SELECT lambda.drop_source(name) FROM lambda.sources});
$kafka->stop;
done_testing();
