# LambdaNode: PostgreSQL test servers with pg_lambda preloaded, for TAP tests.
#
#   use LambdaNode;
#   my $node = LambdaNode->new_node('main');          # initdb, preload, start, CREATE EXTENSION
#   my $node = LambdaNode->new_node('bare', preload => 0, extension => 0);
#   LambdaNode::wait_for($node, $sql, $expected, timeout => 60);
#
# Nodes are PostgreSQL::Test::Cluster objects configured from test/pg_lambda.conf
# (the same configuration pg_regress uses), plus any extra settings given.
package LambdaNode;

use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $test_dir = File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), '..'));

# new_node($name, preload => 1, extension => 1, conf => "extra lines", dbname => 'postgres')
# Creates, configures and starts a node; creates the extension unless told not to.
sub new_node
{
	my ($class, $name, %opts) = @_;
	my $preload = $opts{preload} // 1;
	my $extension = $opts{extension} // $preload;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	if ($preload)
	{
		$node->append_conf('postgresql.conf',
			PostgreSQL::Test::Utils::slurp_file("$test_dir/pg_lambda.conf"));
	}
	$node->append_conf('postgresql.conf', $opts{conf}) if $opts{conf};
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pg_lambda') if $extension;
	return $node;
}

# wait_for($node, $sql, $expected, timeout => seconds, dbname => 'postgres')
# Polls $sql until it returns $expected; reports a failed test (showing the
# last value) when it does not within the timeout. Returns true on success.
sub wait_for
{
	my ($node, $sql, $expected, %opts) = @_;
	my $timeout = $opts{timeout} // 120;
	my $dbname = $opts{dbname} // 'postgres';
	my $last;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		$last = $node->safe_psql($dbname, $sql);
		return 1 if $last eq $expected;
		select(undef, undef, undef, 0.2);
	}
	diag("wait_for timed out after ${timeout}s: $sql\n  expected: $expected\n  last:     $last");
	return 0;
}

1;
