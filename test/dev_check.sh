#!/bin/sh
# Developers' quick check: build this tree, install it and run only the named
# tests, holding a lock so that several trees on one machine (git worktrees)
# do not install over each other's library while a test runs.
#
#   test/dev_check.sh [regress_name ...] [test/t/NNN_x.pl ...]
#
# Names ending in .pl are TAP tests, names ending in .spec isolation specs
# (specs/<name>.spec); the rest are pg_regress files (sql/<name>.sql).
# With no names it runs what "make test" runs. Run as root (the tests run as
# "postgres" in a scratch copy of the tree) or as a user who can install.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG
regress=""; tap=""; iso=""
for a in "$@"; do
    case $a in
        *.pl) tap="$tap $a" ;;
        *.spec) iso="$iso $(basename "$a" .spec)" ;;
        *) regress="$regress $a" ;;
    esac
done
cd "$src"
sh test/room_graph.sh >/dev/null
make -s PG_CONFIG="$PG_CONFIG" WERROR=1
make -s PG_CONFIG="$PG_CONFIG" WERROR=1 test/kafka_broker test/kafka_client
# The real Apache Kafka broker's jars, fetched once into the machine-wide
# cache (as root, before the tests run as "postgres"): a failure here stops
# the run with the reason, rather than failing every Kafka test one by one.
sh test/apache_kafka.sh fetch >/dev/null
exec 9>/tmp/pg_lambda_install.lock
flock 9
make -s PG_CONFIG="$PG_CONFIG" install
run_dir=$src
as_user=""
if [ "$(id -u)" -eq 0 ]; then
    run_dir=$(mktemp -d /tmp/pg_lambda_dev.XXXXXX)
    cp -a "$src"/. "$run_dir"/
    rm -rf "$run_dir/tmp_check" "$run_dir/tmp_check_regress" "$run_dir/results"
    chown -R postgres:postgres "$run_dir"
    as_user="runuser -u postgres --"
fi
cd "$run_dir"
status=0
if [ -z "$regress$tap$iso" ]; then
    $as_user make -s PG_CONFIG="$PG_CONFIG" installcheck || status=$?
else
    if [ -n "$regress" ]; then
        $as_user make -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS="$regress" ISOLATION= TAP_TESTS= || status=$?
        [ -f regression.diffs ] && cat regression.diffs
    fi
    if [ -n "$iso" ] && [ $status -eq 0 ]; then
        $as_user make -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS= ISOLATION="$iso" TAP_TESTS= || status=$?
        [ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs
    fi
    if [ -n "$tap" ] && [ $status -eq 0 ]; then
        $as_user make -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS= ISOLATION= PROVE_TESTS="$tap" || status=$?
        [ $status -ne 0 ] && for f in tmp_check/log/regress_log_*; do
            [ -f "$f" ] && { echo "----- $f (last 60 lines)"; tail -n 60 "$f"; }
        done
    fi
fi
if [ $status -eq 0 ] && [ "$run_dir" != "$src" ]; then rm -rf "$run_dir"; else echo "dev_check: results kept in $run_dir"; fi
echo "dev_check: status $status"
exit $status
