#!/bin/bash
# The write path in instructions: what a COPY costs with each view shape of
# view_bench.sh part w, counted by valgrind's callgrind (repeatable on a
# shared, noisy machine, unlike wall-clock times; blind to cache misses).
#
#   bench/write_callgrind.sh
#   (run as root or as a user that can run initdb; needs valgrind)
#
# CONFIGS ["g1k g100k guniq two distinct"] which configurations to
# run (none, the baseline, always runs first); also "day" (ab_cpu.sh's: by
# k2 / 10 and date_trunc('day', ts, 'UTC')) and "hour" (by k2 and
# date_trunc('hour', ts) in the server's TimeZone: count, max), "bin"
# (the same by date_bin('5 minutes', ts, '2000-01-01 00:00+00')) and
# "hourdst" and "monthdst" (by date_trunc('hour' or 'month', ts,
# 'Europe/Berlin')), "where" (g100k's view WHERE x < 900) and "filter"
# (by k2: count(*), and three aggregates with FILTER clauses).
# XACTS [0] when set, instead of the COPY: XACTS transactions of XACT_ROWS
# [5] rows each (INSERT ... VALUES), counted as the whole session less the
# same session without them; prints instructions per transaction (the
# small-transaction path's fixed costs).
# CG_DIR [unset] when set, the callgrind outputs (cg.CONFIG.out, and with
# XACTS the run without the transactions, cg.CONFIG.pre) are kept there for
# callgrind_annotate.
# WORK_MEM [unset] when set, the COPY runs with this work_mem (the
# transition table's tuplestore spills to a temporary file beyond it).
# ROWS [100000] rows per COPY, as in part w (k1 in 1..1000, k2 in 1..100000,
# k3 unique, x in 0..999). Installs this tree into a private copy of
# PostgreSQL (test/scratch.sh), makes a cluster with the event table, then
# for each configuration copies the cluster and runs a single-user backend
# under callgrind: it creates the views (in that session, so that their
# speed layer is complete and the commit applies to it) and COPYs the rows;
# only the COPY and capture's transaction callback are counted
# (--toggle-collect=DoCopy, capture_xact_callback). Prints instructions per
# configuration, the ratio to the COPY without a view, and per row: the
# capture trigger's, the commit's (serializing the states and applying them
# to the speed layer) and the rest over the baseline (the transition table's
# tuplestore, mostly).
set -eu
ROWS=${ROWS:-100000}
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
scratch_install_private
scratch_start writecg "${BENCH_PORT:-54395}" "shared_buffers = '512MB'
lambda.speed_layer_memory = '2GB'
max_wal_size = '8GB'"
awk -v n="$ROWS" 'BEGIN {
    srand(31);
    for (i = 0; i < n; i++)
        printf "%d,%d,%d,%d,%d,2025-01-%02d %02d:%02d:%02d+00\n", i + 1,
            1 + int(rand() * 1000), 1 + int(rand() * 100000), i + 1, int(rand() * 1000),
            1 + int(rand() * 28), int(rand() * 24), int(rand() * 60), int(rand() * 60);
}' > "$work/w.csv"
chmod 644 "$work/w.csv"
scratch_psql -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
CREATE EXTENSION pg_lambda;
CREATE TABLE t (id bigint, k1 int, k2 int, k3 int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('t', time_column => 'ts');
SQL
$run "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
five="count(*), sum(x), avg(x), min(x), max(x)"
declare -A views
views[none]=""
views[g1k]="k1, $five"
views[g100k]="k2, $five"
views[guniq]="k3, $five"
views[two]="k2, $five|k3, $five"
views[distinct]="k2, count(*) AS n, count(DISTINCT x) AS nx"
views[filter]="k2, count(*) AS n, count(*) FILTER (WHERE x > 500) AS big, sum(x) FILTER (WHERE k1 < 500) AS s1, max(x) FILTER (WHERE x % 3 = 0) AS m3"
# after '#': the GROUP BY when it is not "1" (the keys of ab_cpu.sh's "day"
# and of view_bench.sh's views by hour)
views[day]="k2 / 10 AS k, date_trunc('day', ts, 'UTC') AS day, $five#1, 2"
views[hour]="k2, date_trunc('hour', ts) AS hour, count(*), max(x)#1, 2"
views[bin]="k2, date_bin('5 minutes', ts, '2000-01-01 00:00+00') AS bin, count(*), max(x)#1, 2"
views[hourdst]="k2, date_trunc('hour', ts, 'Europe/Berlin') AS hour, count(*), max(x)#1, 2"
# after a second '#': a WHERE
views[where]="k2, $five#1#x < 900"
views[monthdst]="k2, date_trunc('month', ts, 'Europe/Berlin') AS month, count(*), max(x)#1, 2"
per=row
[ "${XACTS:-0}" -gt 0 ] && per=xact
printf "%-10s %14s %7s %14s %14s %14s\n" config instructions ratio "capture/$per" "commit/$per" "other/$per"
CONFIGS=${CONFIGS:-g1k g100k guniq two distinct}
for c in none ${CONFIGS/none/}; do
    d=$work/cg_$c
    cp -a "$work/data" "$d"
    : > "$work/$c.sql"
    n=0
    IFS='|' read -ra sels <<< "${views[$c]}"
    for sel in "${sels[@]}"; do
        n=$((n + 1))
        group=1
        where=""
        case $sel in *'#'*) group=${sel#*#}; sel=${sel%%#*} ;; esac
        case $group in *'#'*) where=" WHERE ${group#*#}"; group=${group%%#*} ;; esac
        echo "CREATE MATERIALIZED VIEW v$n WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS SELECT $sel FROM t$where GROUP BY $group;" >> "$work/$c.sql"
    done
    toggle="--collect-atstart=no --toggle-collect=DoCopy --toggle-collect=capture_xact_callback"
    pre=0
    if [ "${XACTS:-0}" -gt 0 ]; then
        # everything counted, less a run of the same session without the transactions
        toggle=--collect-atstart=yes
        chmod 644 "$work/$c.sql"
        (cd "$work" && $run valgrind --tool=callgrind $toggle --callgrind-out-file="$work/cg.$c.pre" \
            "$bindir/postgres" --single -D "$d" postgres < "$work/$c.sql" > "$work/$c.log" 2>&1)
        rm -rf "$d"
        cp -a "$work/data" "$d"
        pre=$(callgrind_annotate --threshold=100 "$work/cg.$c.pre" 2>/dev/null |
            awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
        awk -v n="$XACTS" -v r="${XACT_ROWS:-5}" 'BEGIN {
            srand(7);
            for (i = 0; i < n; i++) {
                s = "BEGIN; INSERT INTO t VALUES ";
                for (j = 0; j < r; j++)
                    s = s sprintf("%s(%d,%d,%d,%d,%d,'\''2025-01-05 10:00:00+00'\'')", j ? "," : "",
                        i * r + j, 1 + int(rand() * 1000), 1 + int(rand() * 100000), i * r + j, int(rand() * 1000));
                print s "; COMMIT;";
            }
        }' >> "$work/$c.sql"
    else
        [ -n "${WORK_MEM:-}" ] && echo "SET work_mem = '$WORK_MEM';" >> "$work/$c.sql"
        echo "COPY t FROM '$work/w.csv' (FORMAT csv);" >> "$work/$c.sql"
    fi
    chmod 644 "$work/$c.sql"
    (cd "$work" && $run valgrind --tool=callgrind $toggle \
        --callgrind-out-file="$work/cg.$c.out" \
        "$bindir/postgres" --single -D "$d" postgres < "$work/$c.sql" > "$work/$c.log" 2>&1)
    rm -rf "$d"
    [ -n "${CG_DIR:-}" ] && mkdir -p "$CG_DIR" && cp "$work/cg.$c.out" "$CG_DIR/" &&
        { [ ! -f "$work/cg.$c.pre" ] || cp "$work/cg.$c.pre" "$CG_DIR/"; }
    ann=$(callgrind_annotate --threshold=100 --inclusive=yes "$work/cg.$c.out" 2>/dev/null)
    tot=$(echo "$ann" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    tot=$((tot - pre))
    cap=$(echo "$ann" | awk '/capture.c:lambda_capture / { gsub(",", "", $1); print $1; exit }')
    com=$(echo "$ann" | awk '/capture.c:capture_xact_callback / { gsub(",", "", $1); print $1; exit }')
    [ "$c" = none ] && base=$tot
    n=$ROWS
    [ "${XACTS:-0}" -gt 0 ] && n=$XACTS
    awk -v c="$c" -v t="$tot" -v b="$base" -v cap="${cap:-0}" -v com="${com:-0}" -v n="$n" 'BEGIN {
        printf "%-10s %14.0f %7.2f %14.0f %14.0f %14.0f\n", c, t, t / b, cap / n, com / n, (t - b - cap - com) / n }'
done
