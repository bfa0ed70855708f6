#!/bin/bash
# REFRESH that reads events (mode "from events"): what it costs with and
# without the event table's arrival index (lambda.add_arrival_index), beside
# the defining query over just the new events, in the same run.
#
#   bench/refresh_bench.sh
#   (run as root or as a user that can run initdb; installs this tree into a
#   private copy of PostgreSQL, so it needs neither "make install" nor the
#   install lock)
#
# Sizes are environment variables (defaults in brackets):
#   OLD     ["5000000"]  events loaded before the view is created (one run
#                        per value, e.g. OLD="1000000 5000000")
#   NEW     [1000000]    events inserted before each timed REFRESH
#   KEYS    [100000]     distinct values of k
#   ROUNDS  [3]          REFRESHes timed per table (NEW more events before
#                        each one); the query over the new events is timed
#                        as often (medians reported)
#   VIEW    [bounded]    the definition: bounded or sketch
#
# Every event is (id bigint, k int, g int, x int, ts timestamptz), as in
# bench/batch_bench.sh. The definitions:
#   sketch   batch_bench.sh's: SELECT g, count(*), count(DISTINCT k),
#            percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM events
#            GROUP BY g. Each group's batch state holds every distinct k it
#            ever saw (up to KEYS), which a refresh merges its new values
#            into: that part grows with the distinct values seen, not with
#            the new events.
#   bounded  SELECT g, count(*), sum(x), avg(x), count(DISTINCT k % 5000)
#            FROM events GROUP BY g: states of a size that does not grow.
# In both, each group gets ~NEW/100 new values of the distinct argument:
# their speed-layer sets become sketches, so every REFRESH reads the events
# after its cut.
# Two event tables get the same events: "indexed" (with the arrival index)
# and "unindexed" (without, a whole-table scan as before). For each it
# prints the median wall-clock ms and backend CPU ms (user + system, from
# /proc/<pid>/stat) of the REFRESH, the mode it ran in and the events it
# read (its DEBUG1 line), and the ratio to the defining query over a table
# holding only NEW events (EXPLAIN (ANALYZE, TIMING OFF): every aggregate
# computed, no rows sent). VACUUM ANALYZE (which also summarizes the BRIN
# index's full block ranges, as autovacuum does) and CHECKPOINT run before
# each timing. Timings are taken under flock /tmp/pg_lambda_bench.lock.
set -eu
OLD=${OLD:-5000000}
NEW=${NEW:-1000000}
KEYS=${KEYS:-100000}
ROUNDS=${ROUNDS:-3}
VIEW=${VIEW:-bounded}
port=${BENCH_PORT:-54352}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"
conf="$bench_conf
autovacuum = off
client_min_messages = warning"

definition() {
    case $VIEW in
        sketch) echo "SELECT g, count(*), count(DISTINCT k) AS users, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS median FROM $1 GROUP BY g" ;;
        bounded) echo "SELECT g, count(*), sum(x) AS sx, avg(x) AS ax, count(DISTINCT k % 5000) AS users FROM $1 GROUP BY g" ;;
    esac
}
# the columns compared with the defining query (not sketch's median, an estimate)
cols="g, count, users"; [ "$VIEW" = bounded ] && cols="g, count, sx, ax, users"

# sql_wall_cpu <sql>: "wall_ms cpu_ms events_read" of one statement: psql's
# \timing, the CPU time of its backend, and the events a refresh read (its
# DEBUG1 line; - for other statements)
tck=$(getconf CLK_TCK)
sql_wall_cpu() {
    psql_ 2>&1 <<SQL | awk -v tck="$tck" '/^Time: / { wall = $2 } /^cpu / { cpu = $2 * 1000 / tck }
        /events read/ { for (i = 1; i <= NF; i++) if ($i == "events" && $(i + 1) == "read") read = $(i - 1) }
        END { printf "%s %s %s\n", wall, cpu, read == "" ? "-" : read }'
SELECT pg_backend_pid() AS pid \gset
SELECT s[14]::bigint + s[15]::bigint AS c0 FROM pg_catalog.string_to_array(pg_catalog.pg_read_file('/proc/' || :pid || '/stat'), ' ') s \gset
SET client_min_messages = debug1;
\timing on
$1;
\timing off
RESET client_min_messages;
SELECT 'cpu ' || (s[14]::bigint + s[15]::bigint - :c0) FROM pg_catalog.string_to_array(pg_catalog.pg_read_file('/proc/' || :pid || '/stat'), ' ') s;
SQL
}

scratch_install_private
scratch_start refreshbench "$port" "$conf"
psql_ -c "CREATE EXTENSION pg_lambda"
echo "pg_lambda REFRESH-from-events benchmark: $(nproc) cores, $(uname -r), $("$bindir/postgres" --version)"
echo "VIEW=$VIEW NEW=$NEW KEYS=$KEYS ROUNDS=$ROUNDS (medians; load average $(cut -d' ' -f1-3 /proc/loadavg))"
exec 8>/tmp/pg_lambda_bench.lock
q=$(definition news)
for old in $OLD; do
    gen_events "$work/old.csv" 1 "$old" 21
    psql_ <<SQL
DROP TABLE IF EXISTS indexed, unindexed CASCADE;
CREATE TABLE indexed (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('indexed', time_column => 'ts') \g /dev/null
SELECT lambda.add_arrival_index('indexed') \g /dev/null
CREATE TABLE unindexed (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('unindexed', time_column => 'ts') \g /dev/null
COPY indexed (id, k, g, x, ts) FROM '$work/old.csv' (FORMAT csv);
COPY unindexed FROM '$work/old.csv' (FORMAT csv);
VACUUM ANALYZE indexed;
VACUUM ANALYZE unindexed;
CREATE MATERIALIZED VIEW v_indexed WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS $(definition indexed);
CREATE MATERIALIZED VIEW v_unindexed WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS $(definition unindexed);
SQL
    w_i=""; c_i=""; w_u=""; c_u=""; w_q=""; c_q=""; r_i=""; r_u=""; modes=""
    for r in $(seq 1 "$ROUNDS"); do
        gen_events "$work/new.csv" $((old + (r - 1) * NEW + 1)) "$NEW" $((100 + r))
        psql_ <<SQL
DROP TABLE IF EXISTS news;
CREATE TABLE news (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
COPY news FROM '$work/new.csv' (FORMAT csv);
COPY indexed (id, k, g, x, ts) FROM '$work/new.csv' (FORMAT csv);
COPY unindexed FROM '$work/new.csv' (FORMAT csv);
VACUUM ANALYZE news;
VACUUM ANALYZE indexed;
VACUUM ANALYZE unindexed;
SQL
        flock 8
        psql_ -c "CHECKPOINT"
        read -r w c n <<< "$(sql_wall_cpu "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $q")"
        w_q="$w_q $w"; c_q="$c_q $c"
        psql_ -c "CHECKPOINT"
        read -r w c n <<< "$(sql_wall_cpu "REFRESH MATERIALIZED VIEW v_indexed")"
        w_i="$w_i $w"; c_i="$c_i $c"; r_i="$r_i $n"
        modes="$modes $(psql_ -c "SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'v_indexed'::regclass" | tr ' ' _)"
        psql_ -c "CHECKPOINT"
        read -r w c n <<< "$(sql_wall_cpu "REFRESH MATERIALIZED VIEW v_unindexed")"
        w_u="$w_u $w"; c_u="$c_u $c"; r_u="$r_u $n"
        modes="$modes $(psql_ -c "SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'v_unindexed'::regclass" | tr ' ' _)"
        flock -u 8
    done
    diff=$(psql_ -c "SELECT count(*) FROM ((SELECT $cols FROM v_indexed EXCEPT ALL SELECT $cols FROM ($(definition indexed)) q)
                                           UNION ALL (SELECT $cols FROM ($(definition indexed)) q EXCEPT ALL SELECT $cols FROM v_indexed)) d")
    echo
    echo "$VIEW: $(definition events)"
    echo "$old old events, then $ROUNDS x $NEW new; modes:$modes"
    echo "  (median wall ms, backend CPU ms; x: ratio to the query over the new events)"
    awk -v q="$(echo "$w_q" | median) $(echo "$c_q" | median)" \
        -v i="$(echo "$w_i" | median) $(echo "$c_i" | median)" -v ri="$r_i" \
        -v u="$(echo "$w_u" | median) $(echo "$c_u" | median)" -v ru="$r_u" -v diff="$diff" '
    function row(name, t, read) { split(t, a, " "); printf "  %-44s %9.0f %9.0f", name, a[1], a[2];
        if (read != "") printf "  events read:%s", read; printf "\n"; }
    function rel(name, t, read) { split(t, a, " "); split(q, b, " ");
        printf "  %-44s %9.0f %9.0f  %5.2fx / %5.2fx  events read:%s\n", name, a[1], a[2], a[1] / b[1], a[2] / b[2], read; }
    BEGIN {
        row("defining query over the new events", q, "");
        rel("REFRESH, arrival index", i, ri);
        rel("REFRESH, no arrival index (whole table)", u, ru);
        printf "  rows of v_indexed differing from the defining query: %s\n", diff;
    }'
done
