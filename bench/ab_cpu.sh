#!/bin/bash
# Two builds of pg_lambda side by side, in the backend's CPU time: on a
# shared or noisy machine the wall clock of one build against another moves
# more than a change does, the CPU time of the statement's own backend much
# less. Each tree is installed into a private copy of PostgreSQL and gets a
# server of its own; every round runs each configuration on A, then on B,
# so both see the same state of the machine.
#
#   bench/ab_cpu.sh <tree A> <tree B>
#   (run as root or as a user that can run initdb; A is "before", B "after")
#
# MODE [copy]  copy: a COPY of W_ROWS [1000000] rows (view_bench.sh part w's
#              rows) into a new event table with the views of each of
#              CONFIGS [none g100k g1m] (bench/lib.sh w_selects' names:
#              none, g1k, g100k, g1m, two, distinct, filter, day, hour,
#              url); each
#              is also given as a ratio to the
#              plain COPY (none) of the same build and round.
#              refresh: REFRESH of batch_bench.sh's "plain" view (its day
#              in UTC) after EVENTS [1000000] new events over as many old
#              ones (KEYS [100000] keys; a new event table each round).
# ROUNDS [7]
# SQL_A, SQL_B [unset]  statements run before the measured one on A, on B
#              (e.g. SQL_B="SET work_mem = '1GB'" with the same tree as A
#              and B: a setting's effect)
#
# Prints each round's CPU ms and minor page faults of the backend (from
# /proc/self/schedstat and /proc/self/stat, read by the backend itself
# before and after the statement, its commit included), then medians.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 <tree A> <tree B>" >&2; exit 2; }
MODE=${MODE:-copy}
ROUNDS=${ROUNDS:-7}
CONFIGS=${CONFIGS:-none g100k g1m}
W_ROWS=${W_ROWS:-1000000}
EVENTS=${EVENTS:-1000000}
KEYS=${KEYS:-100000}
src=$(cd "$(dirname "$0")/.." && pwd)
trees=("$(cd "$1" && pwd)" "$(cd "$2" && pwd)")
state=$(mktemp -d /tmp/pg_lambda_abcpu.XXXXXX)
chmod 755 "$state"
run=""
[ "$(id -u)" -eq 0 ] && run="runuser -u postgres --"

# one kept server per tree (test/scratch.sh, in a subshell each)
stop_all() {
    local f
    for f in "$state"/srv_*; do
        [ -f "$f" ] || continue
        read -r w b p < "$f"
        $run "$b/pg_ctl" -D "$w/data" -m fast stop >/dev/null 2>&1 || true
        rm -rf "$w" "$p"
    done
    rm -rf "$state"
}
trap stop_all EXIT INT TERM
for i in 0 1; do
    (
        src=${trees[$i]}
        . "$src/test/scratch.sh"
        scratch_install_private
        SCRATCH_KEEP=1
        scratch_start "abcpu$i" "$((54431 + i))" "shared_buffers = '1GB'
lambda.speed_layer_memory = '2GB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'"
        scratch_psql -q -c "CREATE EXTENSION pg_lambda"
        echo "$work $bindir $private" > "$state/srv_$i"
    ) 2>&1 | grep -v '^kept ' || true
    [ -f "$state/srv_$i" ] || { echo "the server of ${trees[$i]} did not start" >&2; exit 1; }
done
q() {   # q <server 0|1>: runs standard input there, prints the rows
    local w b p
    read -r w b p < "$state/srv_$1"
    $run "$b/psql" -X -At -q -h "$w" -p "$((54431 + $1))" -d postgres -v ON_ERROR_STOP=1 2>"$state/err" ||
        { cat "$state/err" >&2; exit 1; }
}
mark="SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1) || ' ' || split_part(pg_read_file('/proc/self/stat'), ' ', 10);"

# the rows
. "$src/bench/lib.sh"
if [ "$MODE" = copy ]; then
    gen_wrows "$state/w.csv" "$W_ROWS"
else
    gen_events "$state/old.csv" 1 "$EVENTS" 21
    gen_events "$state/new.csv" $((EVENTS + 1)) "$EVENTS" 22
    CONFIGS=refresh
fi

views() {   # the CREATE statements of configuration $1 on table t (w_selects)
    local i=1 sel
    case $1 in
        none|g1k|g100k|g1m|two|distinct|filter|day|hour|url) ;;
        *) echo "unknown configuration $1" >&2; exit 2 ;;
    esac
    while read -r sel; do
        echo "CREATE MATERIALIZED VIEW v$i WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS $(w_query "$sel" t);"
        i=$((i + 1))
    done < <(w_selects "$1")
}
round_sql() {   # the statements of configuration $1 on build $2, the two marks around the one measured
    local pre
    if [ "$2" = 0 ]; then pre=${SQL_A:-}; else pre=${SQL_B:-}; fi
    if [ "$1" = refresh ]; then
        cat <<SQL
DROP TABLE IF EXISTS events CASCADE;
CREATE TABLE events (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('events', time_column => 'ts') \g /dev/null
COPY events FROM '$state/old.csv' (FORMAT csv);
CREATE MATERIALIZED VIEW lv WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, date_trunc('day', ts, 'UTC') AS day, count(*), sum(x), avg(x), min(x), max(x)
  FROM events GROUP BY k, date_trunc('day', ts, 'UTC');
COPY events FROM '$state/new.csv' (FORMAT csv);
VACUUM ANALYZE events;
CHECKPOINT;
$pre
$mark
REFRESH MATERIALIZED VIEW lv;
$mark
SQL
    else
        cat <<SQL
DROP TABLE IF EXISTS t CASCADE;
CREATE TABLE t (id bigint, k1 int, k2 int, k3 int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('t', time_column => 'ts') \g /dev/null
$(views "$1")
CHECKPOINT;
$pre
$mark
COPY t FROM '$state/w.csv' (FORMAT csv);
$mark
SQL
    fi
}

echo "pg_lambda A/B in backend CPU: $MODE, $ROUNDS rounds; A ${trees[0]}, B ${trees[1]}; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round configuration build cpu_ms minor_faults"
for r in $(seq 1 "$ROUNDS"); do
    for c in $CONFIGS; do
        for i in 0 1; do
            set -- $(round_sql "$c" "$i" | q "$i")
            echo "$r $c $(echo AB | cut -c$((i + 1))) $((($3 - $1) / 1000000)) $(($4 - $2))"
        done
    done
done | tee "$state/rounds"
awk '
    function median(s,   a, m, i, j, t) {
        m = split(s, a, " ");
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2;
    }
    NR > 0 { cpu[$2, $3] = cpu[$2, $3] " " $4; flt[$2, $3] = flt[$2, $3] " " $5; v[$1, $2, $3] = $4
             if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } rounds = $1 }
    END {
        printf "\n%-14s %12s %12s %9s %14s %14s\n", "configuration", "CPU ms A", "CPU ms B", "B / A", "faults A", "faults B";
        for (i = 1; i <= k; i++) {
            c = order[i]; a = median(cpu[c, "A"]); b = median(cpu[c, "B"]);
            printf "%-14s %12.0f %12.0f %9.3f %14.0f %14.0f\n", c, a, b, b / a, median(flt[c, "A"]), median(flt[c, "B"]);
        }
        if (!("none" in seen)) exit;
        printf "\nratio to the plain COPY of the same build and round (medians over the rounds)\n";
        for (i = 1; i <= k; i++) {
            c = order[i]; if (c == "none") continue;
            ra = ""; rb = "";
            for (r = 1; r <= rounds; r++) { ra = ra " " v[r, c, "A"] / v[r, "none", "A"]; rb = rb " " v[r, c, "B"] / v[r, "none", "B"] }
            printf "%-14s A %.2f  B %.2f\n", c, median(ra), median(rb);
        }
    }' "$state/rounds"
