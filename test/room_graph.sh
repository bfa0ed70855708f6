#!/bin/sh
# The rooms of src/ and what each depends on; fails on a circle.
#
#   test/room_graph.sh [srcdir]        (default: the src/ of this tree)
#
# A room is a file name under src/ without its extension: X.c and X.h are one
# room (compat.h and ddl.h count too). Room A depends on room B when A.c or
# A.h has #include "B.h". docs/architecture.md promises that no two rooms
# depend on each other, directly or through others: this prints every room
# with its dependencies (one line each, in an order where every room comes
# after those it depends on), and exits 1 naming the rooms of a circle when
# there is one. "make test" (test/run_tests.sh) runs it before building.
# Needs only perl-base.
set -eu
src=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
exec perl -e '
use strict;
use warnings;

my $dir = shift;
opendir(my $dh, $dir) or die "room_graph: cannot read $dir: $!\n";
my @files = sort grep { /^[A-Za-z0-9_]+\.[ch]$/ } readdir($dh);
closedir($dh);
my %rooms = map { (my $r = $_) =~ s/\.[ch]$//; ($r => 1) } @files;
my %deps = map { ($_ => {}) } keys %rooms;
for my $f (@files)
{
	(my $room = $f) =~ s/\.[ch]$//;
	open(my $fh, "<", "$dir/$f") or die "room_graph: cannot read $dir/$f: $!\n";
	while (my $line = <$fh>)
	{
		next unless $line =~ /^\s*#\s*include\s+"([A-Za-z0-9_]+)\.h"/;
		my $to = $1;
		next if $to eq $room || !-e "$dir/$to.h";
		$deps{$room}{$to} = 1;
	}
	close($fh);
}

# Depth-first search: a room met again while still on the path closes a
# circle (every such back edge is reported).
my (%state, @order, @path, @circles);
sub visit
{
	my ($r) = @_;
	$state{$r} = 1;
	push @path, $r;
	for my $d (sort keys %{$deps{$r}})
	{
		if (($state{$d} // 0) == 1)
		{
			my @from = @path;
			shift @from while $from[0] ne $d;
			push @circles, join(" -> ", @from, $d);
		}
		elsif (!$state{$d})
		{
			visit($d);
		}
	}
	pop @path;
	$state{$r} = 2;
	push @order, $r;
}
for my $r (sort keys %rooms)
{
	visit($r) unless $state{$r};
}
if (@circles)
{
	print STDERR "room_graph: circle between rooms of $dir: $_\n" for @circles;
	for my $r (sort keys %rooms)
	{
		print STDERR "  $r -> ", join(" ", sort keys %{$deps{$r}}), "\n";
	}
	exit 1;
}
for my $r (@order)
{
	my @d = sort keys %{$deps{$r}};
	print "$r", (@d ? " -> @d" : ""), "\n";
}
printf "room_graph: %d rooms, %d dependencies, no circle\n",
	scalar(@order), scalar(map { keys %$_ } values %deps);
' "$src"
