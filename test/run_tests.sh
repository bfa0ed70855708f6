#!/bin/sh
# "make test": build with warnings as errors, install, then run every test —
# pg_regress and the isolation specs against their own preloaded temp
# instances, then the TAP tests (server lifecycle, Kafka through the mock
# broker and a real Apache Kafka broker). PostgreSQL refuses to run its
# server as root, so as root the suite runs as the "postgres" user in a
# scratch copy of the tree. Exits non-zero on any failure and prints what failed.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG

cd "$src"
# The rooms of src/ must not include each other in a circle (docs/architecture.md).
sh test/room_graph.sh >/dev/null
make -s PG_CONFIG="$PG_CONFIG" WERROR=1
make -s PG_CONFIG="$PG_CONFIG" WERROR=1 test/kafka_broker test/kafka_client
# The real Apache Kafka broker's jars, fetched once into the machine-wide
# cache (as root, before the tests run as "postgres"): a failure here stops
# the run with the reason, rather than failing every Kafka test one by one.
sh test/apache_kafka.sh fetch >/dev/null
make -s PG_CONFIG="$PG_CONFIG" install

run_dir=$src
if [ "$(id -u)" -eq 0 ]; then
    run_dir=$(mktemp -d /tmp/pg_lambda_test.XXXXXX)
    cp -a "$src"/. "$run_dir"/
    rm -rf "$run_dir/tmp_check" "$run_dir/tmp_check_regress" "$run_dir/results"
    chown -R postgres:postgres "$run_dir"
    as_user="runuser -u postgres --"
else
    as_user=""
fi

cd "$run_dir"
status=0
$as_user make -s PG_CONFIG="$PG_CONFIG" installcheck || status=$?
if [ $status -ne 0 ]; then
    echo "=========== pg_lambda: tests failed ==========="
    if [ -f regression.diffs ]; then
        echo "----- regression.diffs -----"
        cat regression.diffs
    fi
    if [ -f output_iso/regression.diffs ]; then
        echo "----- output_iso/regression.diffs (isolation) -----"
        cat output_iso/regression.diffs
    fi
    for f in tmp_check/log/regress_log_* tmp_check_regress/log/*.log; do
        [ -f "$f" ] || continue
        echo "----- $f (last 80 lines) -----"
        tail -n 80 "$f"
    done
    for f in tmp_check/log/*.log; do
        [ -f "$f" ] || continue
        echo "----- $f (last 40 lines) -----"
        tail -n 40 "$f"
    done
    # What failed, once more at the end: CI may keep only the output's tail.
    echo "=========== pg_lambda: what failed ==========="
    for f in regression.diffs output_iso/regression.diffs; do
        [ -f "$f" ] || continue
        echo "----- $f (first 60 lines) -----"
        head -n 60 "$f"
    done
    for f in tmp_check/log/regress_log_*; do
        [ -f "$f" ] || continue
        grep -q '^not ok\|^# Looks like\|died\|^Bail out' "$f" || continue
        echo "----- $f: failed assertions -----"
        grep -A 12 '^not ok\|^Bail out' "$f" | head -n 60
        grep 'died\|exited with' "$f" | head -n 5
    done
fi
[ "$run_dir" != "$src" ] && [ $status -eq 0 ] && rm -rf "$run_dir"
exit $status
