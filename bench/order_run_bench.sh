#!/bin/bash
# What ORDER BY <keys> LIMIT 10 over a whole lambda view costs along the life
# of its ordered run (merge_run.c): the read that makes the run, the reads
# that keep it, and those after commits that update known groups, add a
# group, and after a refresh, in one session at a speed-layer tail.
#
#   bench/order_run_bench.sh
#   (as root or a user that can run initdb; installs this tree into a private
#   copy of PostgreSQL, so it needs no "make install")
#
# Sizes (defaults in brackets), the view and events as in bench/read_bench.sh:
#   EVENTS [1000000] events materialized; TAIL [1000000] events in the speed
#   layer; KEYS [6000]; HOURS [60]; QUERY [ORDER BY k, hour LIMIT 10]
# Each step prints EXPLAIN ANALYZE's planning + execution ms (median of
# REPEAT [5] runs where the step repeats a read) and its "Speed Layer Read"
# line.
set -eu
EVENTS=${EVENTS:-1000000}
TAIL=${TAIL:-1000000}
KEYS=${KEYS:-6000}
HOURS=${HOURS:-60}
QUERY=${QUERY:-"ORDER BY k, hour LIMIT 10"}
REPEAT=${REPEAT:-5}
port=${BENCH_PORT:-54352}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"

scratch_install_private
scratch_start orderrun "$port" "shared_buffers = '1GB'
max_wal_size = '8GB'
jit = off
lambda.speed_layer_memory = '2GB'
client_min_messages = warning"
echo "pg_lambda ordered-run benchmark: $(nproc) cores, $("$bindir/postgres" --version)"
echo "EVENTS=$EVENTS TAIL=$TAIL KEYS=$KEYS HOURS=$HOURS QUERY=\"$QUERY\""
echo "pg_lambda $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?')"

# events_sql <first> <count>: events first .. first+count-1 (read_bench.sh's)
events_sql() {
    echo "INSERT INTO ev SELECT i, 'k' || (i % $KEYS),
            '2026-01-01'::timestamptz + ((i / $KEYS) % $HOURS) * interval '1 hour'
                + ((i * 7919) % 3600) * interval '1 second', (i * 31) % 1000
            FROM generate_series($1::bigint, $1::bigint + $2 - 1) i;"
}

psql_ <<SQL
CREATE EXTENSION pg_lambda;
CREATE TABLE ev (id bigint, k text, ts timestamptz NOT NULL, x int);
SELECT lambda.create_event_table('ev', time_column => 'ts') \g /dev/null
$(events_sql 1 "$EVENTS")
CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, date_trunc('hour', ts) AS hour, count(*) AS n, sum(x) AS sx FROM ev GROUP BY k, date_trunc('hour', ts);
CREATE INDEX ON lambda_catalog.v_batch (hour, k);
VACUUM ANALYZE lambda_catalog.v_batch;
$(events_sql $((EVENTS + 1)) "$TAIL")
SQL
psql_ -F ' ' -c "SELECT 'speed-layer keys', speed_keys FROM lambda.view_status WHERE view = 'v'::regclass"

# One session: "step <label>" lines, then EXPLAIN ANALYZE output.
q="EXPLAIN (ANALYZE, TIMING OFF) SELECT * FROM v $QUERY;"
reads() { for _ in $(seq 1 "$1"); do echo "$q"; done; }
{
    echo "\\echo step first read"; reads 1
    echo "\\echo step reads after it"; reads "$REPEAT"
    events_sql $((EVENTS + 1)) 1000
    echo "\\echo step after 1000 events of known groups"; reads "$REPEAT"
    echo "INSERT INTO ev VALUES (0, 'k-new', '2026-01-01', 1);"
    echo "\\echo step after an event of a new group"; reads 1
    echo "\\echo step reads after it"; reads "$REPEAT"
    echo "\\echo step each after 100 new groups"
    for i in $(seq 1 "$REPEAT"); do
        echo "INSERT INTO ev SELECT 0, 'k-new$i-' || j, '2026-01-01', 1 FROM generate_series(1, 100) j;"
        reads 1
    done
    echo "REFRESH MATERIALIZED VIEW v;"
    echo "\\echo step after a refresh"; reads 1
    events_sql $((EVENTS + 1)) 1000
    echo "\\echo step after 1000 events of groups just folded"; reads 1
    echo "\\echo step reads after it"; reads "$REPEAT"
} | psql_ | awk '
    # the median of the times of a step (an insertion sort: mawk has no asort)
    function flush(   i, j, t) {
        if (label == "") return
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && ms[j - 1] > ms[j]; j--) { t = ms[j]; ms[j] = ms[j - 1]; ms[j - 1] = t }
        printf "%-40s %9.3f  %s\n", label, ms[int((n + 1) / 2)], how
        n = 0; label = ""
    }
    /^step / { flush(); label = substr($0, 6); how = "-"; next }
    /Speed Layer Read/ { how = $0; sub(/^ */, "", how) }
    /Planning Time/ { p = $3 }
    /Execution Time/ { ms[++n] = p + $3 }
    END { flush() }'
