#!/bin/sh
# Ingest benchmark: Kafka JSON -> event table, against plain COPY of the same
# rows into an identical table, in one run on one machine.
#
#   bench/ingest_bench.sh [events] [partitions] [parallelism]
#   BENCH_BROKER=apache bench/ingest_bench.sh ...   (a real Apache Kafka broker)
#   VIEWS=2 bench/ingest_bench.sh ...   (two continuous views on both tables)
#   BENCH_PRIVATE=1 ...   (this tree in a private copy of PostgreSQL, no
#                          "make install"; see test/scratch.sh)
#   BATCH_SIZE=n ...   (the source's batch_size; default: lambda.kafka_batch_size)
#   OPTIONS='{"queued.max.messages.kbytes": "4096"}' ...   (the source's
#                          librdkafka options; default: none)
#   BENCH_PERF=<dir> ...   (a CPU profile of each path: see perf_start below)
#   (defaults: 1000000 events, 16 partitions, 2 workers; run as root or as a
#    user that can run initdb; needs "make install" and test/kafka_broker,
#    or with BENCH_BROKER=apache test/kafka_client, java and the jars that
#    test/apache_kafka.sh fetches)
#
# BENCH_BROKER=mock (the default) is the test broker, librdkafka's mock
# cluster; BENCH_BROKER=apache is one Apache Kafka 4.x node (KRaft) started
# by test/apache_kafka.sh, with its default 512 MB heap
# (PG_LAMBDA_KAFKA_HEAP), on the same machine as PostgreSQL.
#
# It starts a throwaway server and the broker, produces the events to
# the broker first (not timed), then times:
#   copy   COPY pageviews_copy FROM '<file>' (FORMAT csv) of the same rows
#   kafka  a source with the given parallelism consuming the topic into
#          pageviews_kafka: from the source's creation until every event is
#          committed ("total"), and between 10 % and 90 % of the events
#          ("steady", excluding worker start-up and the last partial batch)
# and prints rows/s for each and the ratios kafka/copy. The baseline is COPY
# of the same rows in CSV (COPY parses them; the Kafka path parses the JSON),
# into an identical event table with the same views; "end to end" runs from
# create_kafka_source (all messages already in the topic) until the last
# batch is committed. It also prints the time until the first batch was
# committed, the number of batches (see below), and the server's CPU and
# minor page faults per million rows of each path.
# It also times kcat reading the whole topic: what the test broker (librdkafka's mock cluster)
# can deliver at all, the ceiling for any consumer on this machine, and the
# server's CPU time in each path (rows per CPU-second), which does not
# depend on the broker (the Kafka path's figure includes the librdkafka
# threads, and the one session that polls the progress). With the real
# broker it also runs Kafka's own consumer benchmark
# (org.apache.kafka.tools.ConsumerPerformance, a Java consumer in a group):
# what the broker delivers to Kafka's reference client on this machine.
#
# BENCH_TARGET=partitioned makes pageviews_kafka a partitioned event table
# (RANGE on ts, one partition per day of January 2025) while the COPY
# baseline stays an ordinary table: what routing rows to partitions costs.
# The events' days rotate message by message (day = 1 + i % 28), so every
# row goes to another partition than the one before: the worst case for
# ingest.c, which multi-inserts runs of rows bound for one partition.
set -eu
TARGET=${BENCH_TARGET:-ordinary}
N=${1:-1000000}
PARTS=${2:-16}
PAR=${3:-2}
BROKER=${BENCH_BROKER:-mock}
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
psql_() { scratch_psql -At -q -v ON_ERROR_STOP=1 "$@"; }
now_ms() { date +%s%3N; }

[ "${BENCH_PRIVATE:-}" = 1 ] && scratch_install_private
scratch_start bench "${BENCH_PORT:-54339}" "shared_buffers = '1GB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'"
# BENCH_CALLGRIND=<dir>: the server runs under valgrind's callgrind (every
# process it forks too), each process writing <dir>/callgrind.<pid> when it
# exits; <dir>/copy_pid and <dir>/pids name the COPY backend and the
# server's processes. Instructions executed do not depend on the machine's
# load as times do; use about 100000 events (callgrind runs ~50x slower).
if [ -n "${BENCH_CALLGRIND:-}" ]; then
    mkdir -p "$BENCH_CALLGRIND"
    chmod 777 "$BENCH_CALLGRIND"
    $run "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
    $run valgrind --tool=callgrind -q --callgrind-out-file="$BENCH_CALLGRIND/callgrind.%p" \
        "$bindir/postgres" -D "$work/data" -p "$scratch_port" >"$work/valgrind.log" 2>&1 &
    i=0
    until scratch_psql -At -c "SELECT 1" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 600 ] || { echo "the server did not start under valgrind" >&2; exit 1; }
        sleep 0.1
    done
fi
case $BROKER in
    mock) scratch_broker "bench:$PARTS" ;;
    apache) scratch_apache_kafka "bench:$PARTS" ;;
    *) echo "BENCH_BROKER must be mock or apache, not $BROKER" >&2; exit 1 ;;
esac

# The same rows as JSON messages and as CSV.
awk -v n="$N" -v parts="$PARTS" -v json="$work/events.json" -v csv="$work/events.csv" 'BEGIN {
    srand(7);
    for (i = 1; i <= n; i++) {
        ip = sprintf("10.%d.%d.%d", int(rand() * 4), int(rand() * 250), int(rand() * 250));
        url = sprintf("example.com/page/%d", int(rand() * 10000));
        ts = sprintf("2025-01-%02dT%02d:%02d:%02dZ", 1 + i % 28, int(rand() * 24), int(rand() * 60), int(rand() * 60));
        printf "{\"user_ip\": \"%s\", \"url\": \"%s\", \"ts\": \"%s\", \"n\": %d}\n", ip, url, ts, i % 100 > (json "." (i % parts));
        printf "%s,%s,%s,%d\n", ip, url, ts, i % 100 > csv;
    } }'
chmod 644 "$work/events.csv"
# one file per partition: an even spread, and each partition stays under the
# test broker's retention cap (5 MiB of compressed batches per partition)
p=0
while [ $p -lt "$PARTS" ]; do
    kcat -P -b "$bootstrap" -t bench -p $p -z lz4 -X linger.ms=50 -X batch.num.messages=100000 \
         -X message.timeout.ms=300000 -l "$work/events.json.$p"
    p=$((p + 1))
done


psql_ <<'EOF'
CREATE EXTENSION pg_lambda;
CREATE TABLE pageviews_copy (user_ip inet, url text NOT NULL, ts timestamptz NOT NULL, n int);
CREATE TABLE pageviews_kafka (user_ip inet, url text NOT NULL, ts timestamptz NOT NULL, n int);
SELECT lambda.create_event_table('pageviews_copy', 'ts');
SELECT lambda.create_event_table('pageviews_kafka', 'ts');
CHECKPOINT;
EOF
if [ "$TARGET" = partitioned ]; then
    psql_ <<'EOF'
DROP TABLE pageviews_kafka;
CREATE TABLE pageviews_kafka (user_ip inet, url text NOT NULL, ts timestamptz NOT NULL, n int) PARTITION BY RANGE (ts);
DO $$
BEGIN
    FOR d IN 1 .. 31 LOOP
        EXECUTE format('CREATE TABLE pageviews_kafka_%s PARTITION OF pageviews_kafka FOR VALUES FROM (%L) TO (%L)', d,
                       make_timestamptz(2025, 1, d, 0, 0, 0, 'UTC'), make_timestamptz(2025, 1, d, 0, 0, 0, 'UTC') + interval '1 day');
    END LOOP;
END $$;
SELECT lambda.create_event_table('pageviews_kafka', 'ts');
CHECKPOINT;
EOF
fi
# VIEWS=2: the same two continuous views on both tables (count, sum, avg,
# min, max of n by url, ~10k groups, and by user_ip, ~250k groups)
if [ "${VIEWS:-0}" = 2 ]; then
    for t in copy kafka; do
        for k in url user_ip; do
            psql_ -c "CREATE MATERIALIZED VIEW v_${k}_$t WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
                      SELECT $k, count(*), sum(n), avg(n), min(n), max(n) FROM pageviews_$t GROUP BY 1" >/dev/null
        done
    done
fi

# CPU time of the whole server, in clock ticks: the postmaster with its
# reaped children, plus every live child (workers with their librdkafka
# threads, backends). Tells what a path costs, whatever the broker's speed.
server_ticks() {
    pm=$(head -n 1 "$work/data/postmaster.pid")
    cat /proc/[0-9]*/stat 2>/dev/null |
        awk -v pm="$pm" '{ pid = $1; sub(/^.*\) /, "");
                           if (pid == pm) t += $12 + $13 + $14 + $15; else if ($2 == pm) t += $12 + $13 }
                         END { print t }'
}
hz=$(getconf CLK_TCK)
# Minor page faults of the whole server, counted the same way: each is a
# page the kernel mapped in, most of them zeroed first (librdkafka's fetch
# buffers in a worker, the table's pages in shared_buffers at first touch).
server_faults() {
    pm=$(head -n 1 "$work/data/postmaster.pid")
    cat /proc/[0-9]*/stat 2>/dev/null |
        awk -v pm="$pm" '{ pid = $1; sub(/^.*\) /, "");
                           if (pid == pm) t += $8 + $9; else if ($2 == pm) t += $8 }
                         END { print t }'
}

# BENCH_PERF=<dir>: a system-wide CPU profile (perf record -a -g) of each
# timed path into <dir>/copy.data and <dir>/kafka.data, with the server's
# process ids in <dir>/pids (perf report --pid=... --stdio reads them).
perf_pid=""
perf_start() {
    [ -n "${BENCH_PERF:-}" ] || return 0
    mkdir -p "$BENCH_PERF"
    perf record -a -g -F 999 -o "$BENCH_PERF/$1.data" >/dev/null 2>&1 &
    perf_pid=$!
    sleep 1
}
perf_stop() {
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid"; wait "$perf_pid" || true
        perf_pid=""
    fi
    for d in ${BENCH_PERF:-} ${BENCH_CALLGRIND:-}; do
        echo "$copy_pid" > "$d/copy_pid"
        pm=$(head -n 1 "$work/data/postmaster.pid")
        { echo "$pm"; cat /proc/$pm/task/*/children; } | tr -s ' \n' ',' > "$d/pids"
    done
}

# What the broker can deliver at all: kcat reading the whole topic.
t0=$(now_ms)
got=$(kcat -C -b "$bootstrap" -t bench -o beginning -e -q -X fetch.wait.max.ms=10 | wc -l)
t1=$(now_ms)
kcat_ms=$((t1 - t0))
[ "$got" -eq "$N" ] || { echo "kcat read $got of $N messages" >&2; exit 1; }

# Kafka's own consumer benchmark (real broker only). Its figures exclude the
# JVM's start and the group join: nMsg.sec over the whole run and
# fetch.nMsg.sec over the fetching alone; the latter is reported.
perf_ms=0
if [ "$BROKER" = apache ]; then
    perf=$(sh "$src/test/apache_kafka.sh" run org.apache.kafka.tools.ConsumerPerformance \
               --bootstrap-server "$bootstrap" --topic bench --messages "$N" \
               --group "perf_$$" --timeout 60000) ||
        { echo "ConsumerPerformance failed: $perf" >&2; exit 1; }
    # header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
    # nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    # (the data line is the one that starts with a date: 4.x also prints a
    # deprecation warning for --messages on stdout, kept for 4.0's sake)
    perf_n=$(echo "$perf" | awk -F', *' '/^[0-9][0-9][0-9][0-9]-/ { print $5 }')
    perf_ms=$(echo "$perf" | awk -F', *' '/^[0-9][0-9][0-9][0-9]-/ { print $8 }')
    [ "$perf_n" = "$N" ] || { echo "ConsumerPerformance read $perf_n of $N messages: $perf" >&2; exit 1; }
fi

perf_start copy
c0=$(server_ticks)
f0=$(server_faults)
t0=$(now_ms)
copy_pid=$(psql_ -c "SELECT pg_backend_pid()" -c "COPY pageviews_copy FROM '$work/events.csv' (FORMAT csv)")
t1=$(now_ms)
copy_ms=$((t1 - t0))
copy_cpu=$(( ($(server_ticks) - c0) * 1000 / hz ))
copy_faults=$(( $(server_faults) - f0 ))
perf_stop
psql_ -c "CHECKPOINT"

# The Kafka path, timed from inside the server by one session that polls
# source_status every 10 ms (a new connection per poll would cost more CPU
# than it measures): total time, and the time from 10 % to 90 % of the events.
perf_start kafka
c0=$(server_ticks)
f0=$(server_faults)
result=$(psql_ -F ' ' <<SQL
CREATE FUNCTION pg_temp.wait_for_ingest(total bigint, t0 timestamptz,
    OUT total_ms bigint, OUT steady_ms bigint, OUT steady_n bigint, OUT first_ms bigint)
LANGUAGE plpgsql AS \$\$
DECLARE
    n bigint; last_n bigint := -1; last_change timestamptz := clock_timestamp();
    t1 timestamptz; t10 timestamptz; n10 bigint; t90 timestamptz; n90 bigint;
BEGIN
    LOOP
        SELECT coalesce(sum(events + dead_letters), 0) INTO n FROM lambda.source_status;
        IF t1 IS NULL AND n > 0 THEN t1 := clock_timestamp(); END IF;
        IF t10 IS NULL AND n >= total / 10 THEN t10 := clock_timestamp(); n10 := n; END IF;
        IF t90 IS NULL AND n >= total * 9 / 10 THEN t90 := clock_timestamp(); n90 := n; END IF;
        EXIT WHEN n >= total;
        IF n <> last_n THEN last_n := n; last_change := clock_timestamp(); END IF;
        IF clock_timestamp() - last_change > interval '30 s' THEN
            RAISE EXCEPTION 'stalled at % of % events: did the broker drop messages (its per-partition retention cap)? use more partitions', n, total;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    total_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
    steady_ms := extract(epoch FROM t90 - t10) * 1000;
    steady_n := n90 - n10;
    first_ms := extract(epoch FROM t1 - t0) * 1000;
END
\$\$;
SELECT clock_timestamp() AS t0 \gset
SELECT lambda.create_kafka_source('bench_src', 'pageviews_kafka', '$bootstrap', 'bench',
       parallelism => $PAR${BATCH_SIZE:+, batch_size => $BATCH_SIZE}${OPTIONS:+, options => '$OPTIONS'}) \g /dev/null
SELECT * FROM pg_temp.wait_for_ingest($N, :'t0');
SQL
)
kafka_cpu=$(( ($(server_ticks) - c0) * 1000 / hz ))
kafka_faults=$(( $(server_faults) - f0 ))
perf_stop
set -- $result
kafka_ms=$1; steady_ms=$2; steady_n=$3; first_ms=$4
# batches: a batch inserts its rows in one subtransaction (ingest.c's
# ing_try), so its rows share an xmin; without dead letters the distinct
# xmins are the batches. (Counting transaction ids counted ~2.2 per batch:
# the batch's own and its subtransaction's, and made full batches of 10,000
# look like ~4,700.)
batches=$(psql_ -c "SELECT count(DISTINCT xmin::text) FROM pageviews_kafka")
rows=$(psql_ -c "SELECT count(*) FROM pageviews_kafka")
dead=$(psql_ -c "SELECT count(*) FROM lambda.dead_letters")

awk -v copy_faults="$copy_faults" -v kafka_faults="$kafka_faults" -v target="$TARGET" -v broker="$BROKER" -v perf_ms="$perf_ms" -v copy_cpu="$copy_cpu" -v kafka_cpu="$kafka_cpu" -v n="$N" -v kcat_ms="$kcat_ms" -v copy_ms="$copy_ms" -v kafka_ms="$kafka_ms" -v steady_ms="$steady_ms" \
    -v steady_n="$steady_n" -v batches="$batches" -v first_ms="$first_ms" -v rows="$rows" -v dead="$dead" -v parts="$PARTS" -v par="$PAR" 'BEGIN {
    copy = n / (copy_ms / 1000); kafka = n / (kafka_ms / 1000); steady = steady_n / (steady_ms / 1000);
    printf "broker: %s, target: %s, events: %d, partitions: %d, workers: %d, rows ingested: %d, dead letters: %d\n", broker, target, n, parts, par, rows, dead;
    printf "%-28s %12s %12s %8s\n", "path", "ms", "rows/s", "ratio";
    printf "%-28s %12d %12.0f %8.2f\n", "COPY csv (baseline)", copy_ms, copy, 1;
    printf "%-28s %12d %12.0f %8.2f\n", "kcat consume (broker only)", kcat_ms, n / (kcat_ms / 1000), n / (kcat_ms / 1000) / copy;
    if (perf_ms > 0)
        printf "%-28s %12d %12.0f %8.2f\n", "Kafka ConsumerPerformance", perf_ms, n / (perf_ms / 1000), n / (perf_ms / 1000) / copy;
    printf "%-28s %12d %12.0f %8.2f\n", "Kafka json, total", kafka_ms, kafka, kafka / copy;
    printf "%-28s %12d %12.0f %8.2f\n", "Kafka json, steady 10-90%", steady_ms, steady, steady / copy;
    printf "Kafka: first batch committed after %d ms (worker start, partition assignment, first fetch)\n", first_ms;
    printf "Kafka batches: %d, %.0f rows each\n", batches, n / batches;
    printf "server CPU: COPY %d ms (%.0f rows per CPU-second), Kafka %d ms (%.0f rows per CPU-second), ratio %.2f\n",
        copy_cpu, n / (copy_cpu / 1000), kafka_cpu, n / (kafka_cpu / 1000), copy_cpu / kafka_cpu;
    printf "server CPU per million rows: COPY %.0f ms, Kafka %.0f ms\n", copy_cpu * 1e6 / n, kafka_cpu * 1e6 / n;
    printf "server minor page faults per million rows: COPY %.0f, Kafka %.0f\n", copy_faults * 1e6 / n, kafka_faults * 1e6 / n;
}'
