#!/bin/bash
# Batch-layer memory: how much private memory the backend of a CREATE over
# existing events and of a lambda.recompute takes, against
# maintenance_work_mem, with many groups.
#
#   bench/batch_memory.sh
#   (run as root or as a user that can run initdb; installs this tree into a
#   private copy of PostgreSQL, so it needs neither "make install" nor the
#   install lock)
#
# Environment (defaults in brackets):
#   EVENTS  [10000000]  events (id bigint, k int, x int, ts timestamptz)
#   NGROUPS [1000000]   distinct values of k: the view's groups
#   MWM     [64MB]      maintenance_work_mem of the server
#
# The view is SELECT k, count(*), sum(x), avg(x), min(x), max(x) FROM events
# GROUP BY k. For CREATE and for recompute it prints the wall time, the
# backend's peak private memory (RssAnon in /proc/<pid>/status, sampled
# every 0.2 s: every palloc'd byte, not shared buffers) and the temporary
# files written (pg_stat_database.temp_bytes), beside the same for the
# defining query alone at the same work_mem (= maintenance_work_mem, what a
# build runs with).
set -eu
EVENTS=${EVENTS:-10000000}
NGROUPS=${NGROUPS:-1000000}
MWM=${MWM:-64MB}
port=${BENCH_PORT:-54352}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"

scratch_install_private
scratch_start batchmem "$port" "shared_buffers = '256MB'
maintenance_work_mem = '$MWM'
max_wal_size = '8GB'
checkpoint_timeout = '30min'
client_min_messages = warning"
psql_ -c "CREATE EXTENSION pg_lambda"
echo "pg_lambda batch-layer memory: $(nproc) cores, $("$bindir/postgres" --version)"
echo "EVENTS=$EVENTS NGROUPS=$NGROUPS maintenance_work_mem=$MWM hash_mem_multiplier=$(psql_ -c 'SHOW hash_mem_multiplier')"

awk -v n="$EVENTS" -v groups="$NGROUPS" 'BEGIN {
    srand(31);
    for (i = 1; i <= n; i++)
        printf "%d,%d,%d,2025-01-%02d 00:00:00+00\n", i, 1 + int(rand() * groups), int(rand() * 1000), 1 + int(rand() * 28);
}' > "$work/events.csv"
chmod 644 "$work/events.csv"
psql_ <<SQL
CREATE TABLE events (id bigint, k int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('events', time_column => 'ts') \g /dev/null
COPY events FROM '$work/events.csv' (FORMAT csv);
VACUUM ANALYZE events;
SQL
rm -f "$work/events.csv"
q="SELECT k, count(*), sum(x), avg(x), min(x), max(x) FROM events GROUP BY k"

# measure <label> <sql>: wall ms, peak RssAnon MB, temp MB of one statement
measure() {
    local before after t0 t1 pid="" peak=0 rss
    psql_ -c "CHECKPOINT"
    before=$(psql_ -c "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
    t0=$(date +%s%N)
    scratch_psql -At -q -v ON_ERROR_STOP=1 -c "SET application_name = 'batchmem'" -c "$2" >/dev/null &
    local client=$!
    while kill -0 "$client" 2>/dev/null; do
        [ -z "$pid" ] && pid=$(psql_ -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'batchmem'")
        if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
            rss=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
            [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
        fi
        sleep 0.2
    done
    wait "$client"
    t1=$(date +%s%N)
    psql_ -c "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
    sleep 1
    after=$(psql_ -c "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
    printf "  %-44s %8.0f ms  peak private memory %6.0f MB  temp files %6.0f MB\n" \
        "$1" "$(( (t1 - t0) / 1000000 ))" "$(echo "$peak / 1024" | bc -l)" "$(echo "($after - $before) / 1048576" | bc -l)"
}

measure "defining query (work_mem = $MWM)" "SET work_mem = '$MWM'; EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $q"
measure "lambda CREATE" "CREATE MATERIALIZED VIEW lv WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS $q"
measure "lambda.recompute" "SELECT lambda.recompute('lv')"
echo "  groups: $(psql_ -c "SELECT batch_rows FROM lambda.view_status WHERE view = 'lv'::regclass")"
