#!/bin/bash
# Small transactions (issue 14, item 2) measured by what the backends spend
# rather than by throughput alone, which a shared 2-core machine makes too
# noisy to compare: pgbench as view_bench.sh's part s (one INSERT of 1-10
# rows per transaction, an event table with no view against one with two
# views of count(*), sum(x), avg(x), min(x), max(x) by k1 and by k2), and
# over the middle of each run (from 1 s after it starts to 1 s before it
# ends) the utime + stime of the pgbench sessions' backends (/proc), their
# context switches and minor page faults, divided by the transactions that
# pgbench's log shows ending in that window. With PERF=1 it also records
# perf record -e cpu-clock -g of those backends over the same window
# (PERF_DIR/perf.<table>.<round>.data; a sample is 250 us of CPU).
#
#   bench/smalltx_cpu.sh
#   (run as root or as a user that can run initdb; installs this tree into
#   a private copy of PostgreSQL first, test/scratch.sh)
#
# CLIENTS [16] pgbench clients; SECS [10] seconds per run; ROUNDS [3]
# rounds, the order of the two tables alternating; PERF [0]; PERF_DIR
# [/tmp/smalltx_perf]. Prints, per round and table: tps, p99 latency (ms),
# transactions in the window, CPU us per transaction, voluntary and
# involuntary context switches and minor faults per transaction.
set -eu
CLIENTS=${CLIENTS:-16}
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}
PERF=${PERF:-0}
PERF_DIR=${PERF_DIR:-/tmp/smalltx_perf}
port=${BENCH_PORT:-54771}
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"
scratch_install_private
scratch_start smalltx "$port" "$bench_conf
client_min_messages = warning"
psql_() { scratch_psql -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE EXTENSION pg_lambda"
[ "$PERF" = 1 ] && mkdir -p "$PERF_DIR"
smalltx_setup
postmaster=$(head -n 1 "$work/data/postmaster.pid")
hz=$(getconf CLK_TCK)
# the pgbench sessions' backends (on the Unix socket: "[local]" in their title)
backends() {
    for p in $(pgrep -P "$postmaster"); do
        grep -q 'local' "/proc/$p/cmdline" 2>/dev/null && echo "$p"
    done
    return 0
}
# utime + stime (ticks), voluntary and involuntary context switches, minor faults
usage() {
    local cpu=0 vcs=0 ivcs=0 flt=0 p s
    for p in $(backends); do
        s=$(awk '{ print $10, $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
        flt=$((flt + ${s% *})); cpu=$((cpu + ${s#* }))
        s=$(awk '/^voluntary_ctxt/ { v = $2 } /^nonvoluntary_ctxt/ { n = $2 } END { print v, n }' "/proc/$p/status" 2>/dev/null) || continue
        vcs=$((vcs + ${s% *})); ivcs=$((ivcs + ${s#* }))
    done
    echo "$cpu $vcs $ivcs $flt"
}
printf "%-5s %-5s %9s %8s %8s %12s %7s %7s %7s\n" round table tps "p99 ms" xacts "CPU us/xact" vcs/x ivcs/x flt/x
for r in $(seq 1 "$ROUNDS"); do
    order="none two"
    [ $((r % 2)) -eq 0 ] && order="two none"
    for c in $order; do
        rm -f "$work"/slog.*
        $run "$bindir/pgbench" -n -h "$work" -p "$port" -c "$CLIENTS" -j 2 -T "$SECS" \
            -f "$work/s_$c.sql" -l --log-prefix="$work/slog" postgres > "$work/pgbench.out" 2>&1 &
        pb=$!
        sleep 1
        t0=$(date +%s.%N); u0=$(usage)
        if [ "$PERF" = 1 ]; then
            perf record -e cpu-clock -g -p "$(backends | paste -sd,)" -o "$PERF_DIR/perf.$c.$r.data" \
                -- sleep $((SECS - 2)) >/dev/null 2>&1 &
            pp=$!
        fi
        sleep $((SECS - 2))
        t1=$(date +%s.%N); u1=$(usage)
        [ "$PERF" = 1 ] && wait "$pp"
        wait "$pb" || { cat "$work/pgbench.out" >&2; exit 1; }
        tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.out" | head -n 1)
        # pgbench's log: client, transaction, latency (us), script, end time (s, us)
        n=$(cat "$work"/slog.* | awk -v a="$t0" -v b="$t1" '{ t = $5 + $6 / 1e6; if (t >= a && t <= b) n++ } END { print n + 0 }')
        p99=$(cat "$work"/slog.* | awk '{ print $3 }' | sort -n |
            awk '{ a[NR] = $1 } END { printf "%.3f", a[int(NR * 0.99 + 0.5)] / 1000 }')
        echo "$u0 $u1" | awk -v r="$r" -v c="$c" -v tps="$tps" -v p99="$p99" -v n="$n" -v hz="$hz" '{
            printf "%-5s %-5s %9.0f %8s %8d %12.1f %7.2f %7.2f %7.2f\n", r, c, tps, p99, n,
                ($5 - $1) / hz * 1e6 / n, ($6 - $2) / n, ($7 - $3) / n, ($8 - $4) / n }'
    done
done
