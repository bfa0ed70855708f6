#!/bin/bash
# Read-path benchmark: the query shapes users write against a lambda view
# (part of the group key fixed, IN lists, time-bucket ranges, ORDER BY ...
# LIMIT, joins), each on the view, on an ordinary materialized view of the
# same definition and on the defining query over the events, at several
# speed-layer tails, in one run.
#
#   bench/read_bench.sh
#   (as root or a user that can run initdb; installs this tree into a private
#   copy of PostgreSQL, so it needs no "make install")
#
# Sizes are environment variables (defaults in brackets):
#   EVENTS        [5000000]  events materialized in the batch table
#   KEYS          [10000]    distinct values of k
#   HOURS         [60]       distinct hours (so a key has HOURS groups)
#   TAILS         ["0 100000 1000000"]  events only in the speed layer
#   QUERY_SECONDS [3]        seconds of pgbench per query and mode
#   SHAPES        [all]      which shapes to run (names below)
#   TARGETS       ["v mv def"]
#   PLOT          [unset]    a PNG file: gnuplot draws each shape's median
#                            server time on v against the tail (and mv's)
#
# Events are (id bigint, k text, ts timestamptz, x int): k = 'k' || (0 ..
# KEYS-1), ts in HOURS hours from 2026-01-01. The view and the materialized
# view are
#   SELECT k, date_trunc('hour', ts) AS hour, count(*) AS n, sum(x) AS sx
#     FROM ev GROUP BY k, date_trunc('hour', ts)
# v:   the lambda view (refresh_interval '1 day': the tail stays in the
#      speed layer); its batch table gets indexes on (hour) and (hour, k) too
# mv:  an ordinary materialized view, indexes on (k, hour), (hour), (hour, k),
#      refreshed at each tail (not timed)
# def: the defining query over ev, indexes on (k) and (ts)
# Shapes ($r is a random key number; 60 groups unless said):
#   eq       WHERE k = $k
#   in       WHERE k IN ($k1, $k2)                       (120 groups)
#   keyrange WHERE k = $k AND hour >= <the last 30 hours>     (30 groups)
#   range    WHERE hour = <a random hour>                (KEYS groups)
#   limit    WHERE k = $k ORDER BY hour DESC LIMIT 10     (10 groups)
#   top      ORDER BY k, hour LIMIT 10  (10 groups of the whole view)
#   tophour  ORDER BY hour DESC, k DESC LIMIT 10  (10 groups of the whole view)
#   lateral  FROM probe p CROSS JOIN LATERAL (SELECT * FROM v WHERE k = p.k OFFSET 0)
#            (probe: a one-row table of keys; 60 groups)
#   join     FROM probe p JOIN v USING (k)  (the same join, written plainly)
#   rollup   SELECT k, sum(n) FROM v GROUP BY k      (KEYS groups, whole view)
#   scan     SELECT count(*), sum(n), sum(sx) FROM v  (1 row, whole view)
# For each: "server" = the median of EXPLAIN ANALYZE's planning + execution
# time over 5 runs in one session (after one warm-up run) for k = 'k42';
# "simple" and "prepared" = pgbench's median latency (one client, random
# keys). "faults" = minor page faults of a new backend over its first 20
# executions of the shape on v, per query (from /proc/self/stat).
set -eu
EVENTS=${EVENTS:-5000000}
KEYS=${KEYS:-10000}
HOURS=${HOURS:-60}
TAILS=${TAILS:-"0 100000 1000000"}
QUERY_SECONDS=${QUERY_SECONDS:-3}
SHAPES=${SHAPES:-"eq in keyrange range limit top tophour lateral join rollup scan"}
TARGETS=${TARGETS:-"v mv def"}
port=${BENCH_PORT:-54351}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"

scratch_install_private
scratch_start readbench "$port" "shared_buffers = '1GB'
maintenance_work_mem = '512MB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'
jit = off
lambda.speed_layer_memory = '2GB'
client_min_messages = warning"
echo "pg_lambda read benchmark: $(nproc) cores, $(uname -r), $("$bindir/postgres" --version)"
echo "EVENTS=$EVENTS KEYS=$KEYS HOURS=$HOURS TAILS=\"$TAILS\" QUERY_SECONDS=$QUERY_SECONDS"
echo "pg_lambda $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?')"

# insert_events <first> <count>: events first .. first+count-1 (deterministic)
insert_events() {
    psql_ -c "INSERT INTO ev SELECT i, 'k' || (i % $KEYS),
                '2026-01-01'::timestamptz + ((i / $KEYS) % $HOURS) * interval '1 hour'
                    + ((i * 7919) % 3600) * interval '1 second', (i * 31) % 1000
                FROM generate_series($1::bigint, $1::bigint + $2 - 1) i"
}

psql_ <<SQL
CREATE EXTENSION pg_lambda;
CREATE TABLE ev (id bigint, k text, ts timestamptz NOT NULL, x int);
SELECT lambda.create_event_table('ev', time_column => 'ts') \g /dev/null
CREATE TABLE probe (k text);
INSERT INTO probe VALUES ('k42');
SQL
insert_events 1 "$EVENTS"
psql_ <<SQL
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, date_trunc('hour', ts) AS hour, count(*) AS n, sum(x) AS sx FROM ev GROUP BY k, date_trunc('hour', ts);
CREATE INDEX ON lambda_catalog.v_batch (hour);
CREATE INDEX ON lambda_catalog.v_batch (hour, k);
CREATE MATERIALIZED VIEW mv AS
  SELECT k, date_trunc('hour', ts) AS hour, count(*) AS n, sum(x) AS sx FROM ev GROUP BY k, date_trunc('hour', ts);
CREATE UNIQUE INDEX ON mv (k, hour);
CREATE INDEX ON mv (hour);
CREATE INDEX ON mv (hour, k);
CREATE INDEX ON ev (k);
CREATE INDEX ON ev (ts);
VACUUM ANALYZE ev;
VACUUM ANALYZE lambda_catalog.v_batch;
VACUUM ANALYZE mv;
VACUUM ANALYZE probe;
SQL
next=$((EVENTS + 1))
# storage: the batch table against the materialized view (heap; with indexes)
psql_ -F ' ' -c "SELECT 'storage: batch table ' || pg_size_pretty(pg_relation_size('lambda_catalog.v_batch'))
                   || ' (with indexes ' || pg_size_pretty(pg_total_relation_size('lambda_catalog.v_batch'))
                   || '), mv ' || pg_size_pretty(pg_relation_size('mv'))
                   || ' (with indexes ' || pg_size_pretty(pg_total_relation_size('mv')) || ')'"

# shape_sql <shape> <target> <key number expression> <2nd key> <hour number>
shape_sql() {
    local rel=$2 k="'k' || ($3)::int" k2="'k' || ($4)::int" h="'2026-01-01'::timestamptz + ($5)::int * interval '1 hour'"
    local last30="'2026-01-01'::timestamptz + $((HOURS - 30)) * interval '1 hour'"
    if [ "$2" = def ]; then
        rel="(SELECT k, date_trunc('hour', ts) AS hour, count(*) AS n, sum(x) AS sx FROM ev GROUP BY k, date_trunc('hour', ts)) d"
    fi
    case $1 in
        eq) echo "SELECT * FROM $rel WHERE k = $k" ;;
        in) echo "SELECT * FROM $rel WHERE k IN ($k, $k2)" ;;
        keyrange) echo "SELECT * FROM $rel WHERE k = $k AND hour >= $last30" ;;
        range) echo "SELECT * FROM $rel WHERE hour = $h" ;;
        limit) echo "SELECT * FROM $rel WHERE k = $k ORDER BY hour DESC LIMIT 10" ;;
        top) echo "SELECT * FROM $rel ORDER BY k, hour LIMIT 10" ;;
        tophour) echo "SELECT * FROM $rel ORDER BY hour DESC, k DESC LIMIT 10" ;;
        lateral) echo "SELECT * FROM probe p CROSS JOIN LATERAL (SELECT * FROM $rel WHERE k = p.k OFFSET 0) x" ;;
        join) echo "SELECT * FROM probe p JOIN $rel USING (k)" ;;
        rollup) echo "SELECT k, sum(n) FROM $rel GROUP BY k" ;;
        scan) echo "SELECT count(*), sum(n), sum(sx) FROM $rel" ;;
    esac
}

# server_ms <sql>: median planning + execution ms of EXPLAIN ANALYZE, 5 runs
server_ms() {
    { echo "EXPLAIN (ANALYZE, TIMING OFF) $1;"
      for _ in 1 2 3 4 5; do echo "EXPLAIN (ANALYZE, TIMING OFF) $1;"; done; } |
        psql_ | awk '/Planning Time/ { p = $3 } /Execution Time/ { if (n++) print p + $3 }' |
        sort -n | sed -n 3p
}

# faults <sql>: minor page faults per query over a new backend's first 20
faults() {
    { echo "SELECT split_part(pg_read_file('/proc/self/stat'), ' ', 10);"
      for _ in $(seq 1 20); do echo "$1 \\g /dev/null"; done
      echo "SELECT split_part(pg_read_file('/proc/self/stat'), ' ', 10);"; } |
        psql_ | awk 'NR == 1 { a = $1 } END { printf "%.0f", ($1 - a) / 20 }'
}

out="$work/results.txt"
: > "$out"
tail_now=0
for t in $TAILS; do
    [ "$t" -gt "$tail_now" ] && insert_events "$next" $((t - tail_now))
    next=$((next + t - tail_now)); tail_now=$t
    # the materialized view's new heap vacuumed, as the batch table's was:
    # a scan of pages not yet all-visible checks each row's visibility
    psql_ -c "REFRESH MATERIALIZED VIEW mv" -c "ANALYZE ev" -c "VACUUM ANALYZE mv"
    read -r keys state <<EOF
$(psql_ -F ' ' -c "SELECT speed_keys, state FROM lambda.view_status WHERE view = 'v'::regclass")
EOF
    # v must answer what the defining query answers, for every shape
    for s in $SHAPES; do
        a="($(shape_sql "$s" v 42 43 7))"; b="($(shape_sql "$s" def 42 43 7))"
        wrong=$(psql_ -c "SELECT count(*) FROM (($a EXCEPT ALL $b) UNION ALL ($b EXCEPT ALL $a)) d")
        [ "$wrong" = 0 ] || { echo "tail $t: shape $s on v differs from the defining query in $wrong rows" >&2; exit 1; }
    done
    for s in $SHAPES; do
        for tg in $TARGETS; do
            srv=$(server_ms "$(shape_sql "$s" "$tg" 42 43 7)")
            script="\\set r random(0, $((KEYS - 1)))
\\set r2 random(0, $((KEYS - 1)))
\\set h random(0, $((HOURS - 1)))
$(shape_sql "$s" "$tg" :r :r2 :h);"
            if [ "$s" = lateral ] || [ "$s" = join ]; then
                script="$(shape_sql "$s" "$tg" 42 43 7);"
            fi
            simple=$(pgbench_q "${s}_$tg" simple "$script" | cut -d' ' -f1)
            prepared=$(pgbench_q "${s}_$tg" prepared "$script" | cut -d' ' -f1)
            f=-
            [ "$tg" = v ] && f=$(faults "$(shape_sql "$s" v 42 43 7)")
            echo "$t $s $tg $srv $simple $prepared $f" >> "$out"
        done
    done
    echo "tail $t: speed-layer keys $keys, state $state" >&2
done

echo
echo "Median ms: server = EXPLAIN ANALYZE planning + execution; simple/prepared = pgbench latency"
printf "%-8s %-9s %-4s %9s %9s %9s %7s\n" tail shape on server simple prepared faults
sort -s -k2,2 -k1,1n "$out" | awk '{ printf "%-8s %-9s %-4s %9s %9s %9s %7s\n", $1, $2, $3, $4, $5, $6, $7 }'
cp "$out" "${READ_BENCH_OUT:-/tmp/read_bench_results.txt}" 2>/dev/null || true

if [ -n "${PLOT:-}" ] && command -v gnuplot >/dev/null; then
    plots=""
    for s in $SHAPES; do
        for tg in v mv; do
            awk -v s="$s" -v tg="$tg" '$2 == s && $3 == tg { print $1, $4 }' "$out" > "$work/plot_${s}_$tg.dat"
            [ "$tg" = v ] && style="linespoints lw 2" || style="linespoints dt 2"
            plots="$plots${plots:+, }'$work/plot_${s}_$tg.dat' using (\$1 + 1):2 with $style title '$s ($tg)'"
        done
    done
    gnuplot <<GP
set terminal pngcairo size 900,560 noenhanced
set output '$PLOT'
set title "Read path: median server time (EXPLAIN ANALYZE planning + execution) against the speed-layer tail"
set xlabel "events in the speed layer (tail, + 1)"
set ylabel "ms"
set logscale xy
set key outside right
set grid
plot $plots
GP
    echo "plot: $PLOT"
fi
