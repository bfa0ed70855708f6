# Who may manage Kafka sources, as whom workers write, and where credentials
# in options may (not) be seen.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use LambdaNode;
use LambdaKafka;

my $kafka = LambdaKafka->start(topics => { sec => 1 }, brokers => 1);
my $bootstrap = $kafka->bootstrap;
# log_statement = 'all' (the test default) would log every statement's text by design
my $node = LambdaNode->new_node('security', conf => "log_statement = 'none'");
my $secret = 'Xyzzy-s3cret-pw';

$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	GRANT lambda_source_admin TO alice;
	CREATE TABLE ev (id int NOT NULL, ts timestamptz NOT NULL);
	SELECT lambda.create_event_table('ev', 'ts');
	GRANT SELECT ON ev TO alice, bob;
});
my $create = qq{SELECT lambda.create_kafka_source('s', 'ev', '$bootstrap', 'sec',
	options => '{"sasl.username": "svc", "sasl.password": "$secret", "socket.keepalive.enable": true}')};

my ($ret, $out, $err) = $node->psql('postgres', "SET ROLE bob; $create");
like($err, qr/permission denied to create a Kafka source/, 'a role outside lambda_source_admin cannot create a source');
like($err, qr/HINT:.*GRANT lambda_source_admin TO bob/s, '... and is told what to do');

($ret, $out, $err) = $node->psql('postgres', "SET ROLE alice; $create");
like($err, qr/permission denied for table ev/, 'the creator needs INSERT on the target');

$node->safe_psql('postgres', 'GRANT INSERT ON ev TO alice');
$node->safe_psql('postgres', "SET ROLE alice; $create");
is($node->safe_psql('postgres', q{SELECT owner FROM lambda.sources WHERE name = 's'}), 'alice',
	'the source belongs to its creator');

$kafka->produce('sec', [ map { qq({"id": $_, "ts": "2025-01-01T00:00:00Z"}) } 1 .. 10 ]);
ok(LambdaNode::wait_for($node, 'SELECT count(*) FROM ev', '10'), 'the source ingests as its owner');

# Workers write as the owner: take INSERT away and the source fails, visibly.
$node->safe_psql('postgres', 'REVOKE INSERT ON ev FROM alice');
$kafka->produce('sec', [ map { qq({"id": $_, "ts": "2025-01-01T00:00:00Z"}) } 11 .. 20 ]);
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) > 0 FROM lambda.source_status WHERE last_error LIKE '%permission denied for table ev%'}, 't', timeout => 60),
	'without INSERT the owner\'s source fails and says why');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ev'), '10', '... and writes nothing');
$node->safe_psql('postgres', 'GRANT INSERT ON ev TO alice');
ok(LambdaNode::wait_for($node, 'SELECT count(*), count(DISTINCT id) FROM ev', '20|20', timeout => 60),
	'with INSERT back it resumes, nothing lost or duplicated');

# Credentials: nobody but the catalog owner reads them.
for my $role ('alice', 'bob')
{
	($ret, $out, $err) = $node->psql('postgres', "SET ROLE $role; SELECT options FROM lambda_catalog.source_secret");
	like($err, qr/permission denied/, "$role cannot read source options");
	($ret, $out, $err) = $node->psql('postgres', "SET ROLE $role; SELECT s::text FROM lambda.source_status s UNION ALL SELECT s::text FROM lambda.sources s");
	is($ret, 0, "$role can read source_status and sources");
	unlike($out, qr/\Q$secret\E/, '... which do not show the password');
}
($ret, $out, $err) = $node->psql('postgres', "SET ROLE bob; SELECT * FROM lambda.dead_letters");
like($err, qr/permission denied/, 'dead letters are for source admins only');

# bob cannot stop or drop alice's source either.
($ret, $out, $err) = $node->psql('postgres', q{SET ROLE bob; SELECT lambda.stop_source('s')});
like($err, qr/permission denied to stop a Kafka source/, 'an outsider cannot stop a source');
($ret, $out, $err) = $node->psql('postgres', q{SET ROLE bob; SELECT lambda.drop_source('s')});
like($err, qr/permission denied to drop a Kafka source/, 'an outsider cannot drop a source');

# Options a role that is not superuser may not set never reach librdkafka,
# also when they are in the catalog already (a source from before 0.4.0, or
# an owner who lost superuser): the worker refuses to load the source. Here,
# Kerberos with a kinit command that would leave a file behind if it ran.
my $marker = PostgreSQL::Test::Utils::tempdir() . '/kinit_ran';
$node->safe_psql('postgres', qq{
	UPDATE lambda_catalog.source_secret
	   SET options = '{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI",
	                   "sasl.kerberos.kinit.cmd": "touch $marker"}'
	 WHERE source_id = (SELECT id FROM lambda_catalog.source WHERE name = 's');
	SET ROLE alice;
	SELECT lambda.stop_source('s');
});
# the running worker exits first: started again before it noticed the stop,
# it would go on with the options it loaded (a restart, not a reload)
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pg_lambda source s/%'}, '0',
	timeout => 60), 'the stopped source\'s worker exits');
$node->safe_psql('postgres', q{SET ROLE alice; SELECT lambda.start_source('s')});
ok(LambdaNode::wait_for($node,
	q{SELECT count(*) > 0 FROM lambda.source_status
	   WHERE source = 's' AND last_error LIKE 'permission denied to set Kafka option "sasl.mechanism"%'}, 't', timeout => 60),
	'a worker refuses options its source\'s owner may not set, and says so');
ok(!-e $marker, '... and librdkafka never ran the kinit command');
$node->safe_psql('postgres', q{SET ROLE alice; SELECT lambda.drop_source('s')});

# The password is not in the server log.
my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$secret\E/, 'the server log does not show the password');

$kafka->stop;
done_testing();
