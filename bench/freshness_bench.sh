#!/bin/bash
# Freshness benchmark: how long after a message is produced to Kafka it is
# visible in a continuous view fed by a Kafka source, at a steady produce
# rate, with the same figure for the event table alone as a baseline.
#
#   bash bench/freshness_bench.sh
#   (run as root or as a user that can run initdb; needs "make install" and
#    test/kafka_broker)
#
# Parameters are environment variables (defaults in brackets):
#   RATE        [50000]  events produced per second, steadily
#   DURATION    [60]     seconds of producing, per phase
#   BATCH_WAIT  [50]     the source's batch_wait, ms (50 is lambda.kafka_batch_wait's default)
#   BATCH_SIZE  [10000]  the source's batch_size (10000 is the default)
#   PARTS       [4]      partitions of each topic
#   PAR         [1]      the source's parallelism (workers)
#   FETCH_WAIT  [100]    librdkafka's fetch.wait.max.ms for the consumers (100 is what
#                        pg_lambda sets; see below why it matters with the test broker)
#   KEYS        [1000]   distinct keys k (groups of v); a multiple of PARTS
#   POLL_MS     [5]      sleep between two probes of the database
#   WARMUP      [2]      seconds at the start of each phase left out of the figures
#   PHASES      ["broker events view"]  which phases to run
#   REFRESH_INTERVAL ["1 minute"]  v's lambda.refresh_interval (1 minute is the default)
#
# The test broker (test/kafka_broker, librdkafka's mock cluster) and a
# throwaway server (fsync on, synchronous_commit on) are started. A Perl
# producer writes RATE events/s for DURATION s: every 2 ms it hands the
# events due so far to one kcat producer per partition (lz4, linger.ms=5),
# round robin over the partitions, each event a JSON object
#   {"p": <partition>, "k": <key>, "seq": <n-th event of its partition, from 0>,
#    "produced_at": <epoch microseconds when handed to kcat>}
# with k = p + PARTS * (seq mod KEYS/PARTS), so k mod PARTS is the partition.
# produced_at comes from the same machine clock the server's clock_timestamp()
# reads. Each phase uses a topic of its own:
#
#   broker  kcat -C (fetch.wait.max.ms=FETCH_WAIT, unbuffered output) reads
#           the topic while it is produced; a Perl reader takes the time each
#           message arrives. Produce -> consumed: the floor any consumer of
#           this broker starts from. Note that the test broker answers a fetch
#           that finds no new data after fetch.wait.max.ms, empty, even if
#           data arrives meanwhile (a real broker answers as soon as data
#           arrives), and returns one produce batch per partition per fetch,
#           so with it messages reach a consumer in bursts up to
#           fetch.wait.max.ms apart.
#   events  an event table events (p int, k int, seq bigint, produced_at bigint,
#           ts timestamptz; index on (p, seq); ts = the Kafka timestamp) and
#           a Kafka source into it (event_time => 'kafka', the given
#           parallelism, batch_size and batch_wait, options =>
#           {"fetch.wait.max.ms": FETCH_WAIT}); no continuous view.
#   view    the same, plus the continuous view
#             v: SELECT k, count(*) AS n, max(seq) AS last_seq FROM events GROUP BY k
#           with lambda.refresh_interval = REFRESH_INTERVAL (by default the
#           default, 1 minute, so the scheduler refreshes it about once
#           during the phase; the notes after the table say when).
#
# In the events and view phases the source is created and running (every
# partition fetched once) before producing starts. One session runs a
# procedure that probes the database until every event is visible: each
# probe (a new transaction) reads, per partition, the largest seq visible
#   in v:      max(last_seq) over the keys of the partition (view phase only)
#   in events: max(seq) of the partition (an index probe)
# then sleeps POLL_MS. Since a partition is consumed and committed in order,
# the event (p, seq) is visible exactly when that maximum is >= seq, so every
# event gets a visibility time: the end of the first probe that saw it (an
# upper bound; the start of the previous probe is a lower bound, and the
# probe interval is the resolution). Latency = visibility time - produced_at,
# over every event produced after the first WARMUP seconds. Each probe of v
# also checks that each partition's sum(n) = max(last_seq) + 1 (a batch is
# never half visible) and that nothing visible disappears.
#
# The table printed: events counted, the achieved produce rate, how often
# visibility advanced (~ one commit per batch) and the mean time between two
# advances (~ batch_wait + the batch's insert and commit), the mean probe
# interval and query time, latency percentiles in ms (upper bounds), and CPU
# during the phase in % of one core (2 cores = 200 %): the server's without
# the probing backend, the probing backend's (read from its /proc/self/stat),
# the test broker's, the producer's (Perl and its kcat processes) and the
# whole machine's (all of these, the broker phase's kcat consumer, and any
# other work on the machine).
set -eu
RATE=${RATE:-50000}
DURATION=${DURATION:-60}
BATCH_WAIT=${BATCH_WAIT:-50}
BATCH_SIZE=${BATCH_SIZE:-10000}
PARTS=${PARTS:-4}
PAR=${PAR:-1}
FETCH_WAIT=${FETCH_WAIT:-100}
KEYS=${KEYS:-1000}
POLL_MS=${POLL_MS:-5}
WARMUP=${WARMUP:-2}
PHASES=${PHASES:-"broker events view"}
REFRESH_INTERVAL=${REFRESH_INTERVAL:-"1 minute"}
port=${BENCH_PORT:-54343}

[ $((KEYS % PARTS)) -eq 0 ] || { echo "KEYS ($KEYS) must be a multiple of PARTS ($PARTS)" >&2; exit 1; }
KPP=$((KEYS / PARTS))
N=$((RATE * DURATION))

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
psql_() { scratch_psql -At -q -v ON_ERROR_STOP=1 "$@"; }
has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

scratch_start fresh "$port" "shared_buffers = '1GB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'
client_min_messages = warning"
scratch_broker "fresh_broker:$PARTS" "fresh_events:$PARTS" "fresh_view:$PARTS"
echo "pg_lambda freshness benchmark: $(nproc) cores, $(uname -r), $("$bindir/postgres" --version)"
echo "rate $RATE events/s for $DURATION s per phase ($N events), $PARTS partitions, $PAR worker(s), batch_wait $BATCH_WAIT ms,"
echo "batch_size $BATCH_SIZE, fetch.wait.max.ms $FETCH_WAIT, $KEYS keys, probe sleep $POLL_MS ms, first $WARMUP s left out"

# The producer: prints "<events> <seconds> <largest events handed over at once>
# <CPU seconds of the producer and its kcat processes>".
cat > "$work/produce.pl" <<'EOF'
use strict;
use warnings;
use IO::Handle;
use Time::HiRes qw(time sleep);
my ($rate, $dur, $parts, $kpp, $bootstrap, $topic) = @ARGV;
my @fh;
for my $p (0 .. $parts - 1) {
    open(my $f, '|-', 'kcat', '-P', '-b', $bootstrap, '-t', $topic, '-p', $p, '-z', 'lz4',
         '-X', 'linger.ms=5', '-X', 'message.timeout.ms=60000') or die "kcat: $!";
    push @fh, $f;
}
my $n = int($rate * $dur);
my @seq = (0) x $parts;
my ($i, $burst, $now) = (0, 0, 0);
my $t0 = time;
while ($i < $n) {
    $now = time;
    my $due = int(($now - $t0) * $rate);
    $due = $n if $due > $n;
    $burst = $due - $i if $due - $i > $burst;
    my $us = int($now * 1e6);
    my @buf = ('') x $parts;
    while ($i < $due) {
        my $p = $i % $parts;
        my $s = $seq[$p]++;
        $buf[$p] .= '{"p": ' . $p . ', "k": ' . ($p + $parts * ($s % $kpp)) . ', "seq": ' . $s
                  . ', "produced_at": ' . $us . "}\n";
        $i++;
    }
    for my $p (0 .. $parts - 1) {
        next if $buf[$p] eq '';
        print { $fh[$p] } $buf[$p];
        $fh[$p]->flush;
    }
    sleep(0.002) if $i < $n;
}
my $elapsed = $now - $t0;
for my $f (@fh) { close($f) or die "kcat failed: $?"; }
my ($u, $sy, $cu, $cs) = times;
printf "%d %.3f %d %.2f\n", $n, $elapsed, $burst, $u + $sy + $cu + $cs;
EOF

# The broker phase's reader: prints "count p50 p90 p99 p99.9 max" in ms.
cat > "$work/consume.pl" <<'EOF'
use strict;
use warnings;
use Time::HiRes qw(time);
my ($warmup) = @ARGV;
my (@h, $first, $max);
my ($all, $cnt) = (0, 0);
while (my $line = <STDIN>) {
    my $now = time;
    $line =~ /"produced_at": (\d+)/ or die "unexpected message: $line";
    $all++;
    $first //= $1;
    next if $1 < $first + $warmup * 1e6;
    my $us = $now * 1e6 - $1;
    $h[int($us / 10)]++;              # 10 us buckets
    $cnt++;
    $max = $us if !defined $max || $us > $max;
}
my @q = (0.5, 0.9, 0.99, 0.999);
my @r;
my ($acc, $b) = (0, 0);
for my $q (@q) {
    while ($acc < $q * $cnt) { $acc += $h[$b++] // 0; }
    push @r, $b * 10 / 1000;        # upper edge of the bucket, ms
}
printf "%d %d %s %.1f\n", $all, $cnt, join(' ', map { sprintf '%.1f', $_ } @r), $max / 1000;
EOF

# CPU time of the whole server in clock ticks (as in ingest_bench.sh), and of
# the whole machine (busy ticks over all cores).
server_ticks() {
    pm=$(head -n 1 "$work/data/postmaster.pid")
    { cat "/proc/$pm/stat"; for c in $(cat /proc/$pm/task/*/children 2>/dev/null); do
          cat "/proc/$c/stat" 2>/dev/null; done; } |
        awk '{ sub(/^.*\) /, ""); t += $12 + $13; if ($0 != "" && NR == 1) t += $14 + $15 } END { print t }'
}
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
broker_ticks() { sed 's/^.*) //' "/proc/$broker_pid/stat" | awk '{ print $12 + $13 }'; }
hz=$(getconf CLK_TCK)

# want: the last seq of each partition, as a SQL array
want="{$(awk -v n="$N" -v parts="$PARTS" 'BEGIN { for (p = 0; p < parts; p++) printf "%s%d", p ? "," : "", int((n - 1 - p) / parts) }')}"

out="$work/results.txt"
: > "$out"

###############################################################################
if has_phase broker; then
    kcat -C -b "$bootstrap" -t fresh_broker -o beginning -u -c "$N" -q -X fetch.wait.max.ms="$FETCH_WAIT" \
        -f '%s\n' | perl "$work/consume.pl" "$WARMUP" > "$work/consume.out" &
    consumer=$!
    sleep 2
    m0=$(machine_ticks); b0=$(broker_ticks); w0=$(date +%s%3N)
    read -r produced secs burst prod_cpu < <(perl "$work/produce.pl" "$RATE" "$DURATION" "$PARTS" "$KPP" "$bootstrap" fresh_broker)
    wait "$consumer"
    m1=$(machine_ticks); b1=$(broker_ticks); w1=$(date +%s%3N)
    read -r all cnt p50 p90 p99 p999 max < "$work/consume.out"
    [ "$all" -eq "$N" ] || { echo "kcat read $all of $N messages" >&2; exit 1; }
    echo "broker $cnt $produced $secs - - - - $p50 $p90 $p99 $p999 $max - - - - $(( (b1 - b0) * 100000 / hz / (w1 - w0) ))" \
         "$(awk -v c="$prod_cpu" -v w=$((w1 - w0)) 'BEGIN { printf "%d", c * 100000 / w }') $(( (m1 - m0) * 100000 / hz / (w1 - w0) ))" >> "$out"
    echo "broker phase: $produced events in $secs s (largest hand-over $burst)" >&2
fi

###############################################################################
if has_phase events || has_phase view; then
    psql_ <<SQL
CREATE EXTENSION pg_lambda;
CREATE TABLE poll_log (phase text, rel text, t timestamptz, tprev timestamptz, p int, prev bigint, seq bigint);
CREATE TABLE probe_stats (phase text, polls int, seconds float8, v_query_ms float8, e_query_ms float8,
                          torn int, backwards int, cpu_ticks bigint);
-- CPU time (utime + stime, clock ticks) of this backend
CREATE FUNCTION backend_ticks() RETURNS bigint LANGUAGE sql AS \$\$
    SELECT f[12]::bigint + f[13]::bigint
      FROM (SELECT string_to_array(substr(s, strpos(s, ') ') + 2), ' ') AS f
              FROM pg_read_file('/proc/self/stat') s) x
\$\$;
-- probe(phase, with_view, want, poll_ms, timeout_s): polls until every
-- partition's last seq (want) is visible; logs each advance of visibility
CREATE PROCEDURE probe(phase text, with_view bool, want bigint[], poll_ms int, timeout_s int)
LANGUAGE plpgsql AS \$\$
DECLARE
    np int := cardinality(want);
    lv bigint[] := array_fill(-1::bigint, ARRAY[np]);
    le bigint[] := array_fill(-1::bigint, ARRAY[np]);
    cur bigint[]; bad int; t timestamptz; t_start timestamptz;
    tpv timestamptz := clock_timestamp(); tpe timestamptz := clock_timestamp();
    r_rel text[] := '{}'; r_t timestamptz[] := '{}'; r_tp timestamptz[] := '{}';
    r_p int[] := '{}'; r_prev bigint[] := '{}'; r_seq bigint[] := '{}';
    polls int := 0; q_v float8 := 0; q_e float8 := 0; torn int := 0; backwards int := 0;
    began timestamptz := clock_timestamp();
    ticks0 bigint := backend_ticks();
    stop timestamptz := clock_timestamp() + timeout_s * interval '1 s';
BEGIN
    LOOP
        IF with_view THEN
            t_start := clock_timestamp();
            SELECT array_agg(coalesce(x.m, -1) ORDER BY i), count(*) FILTER (WHERE x.c <> x.m + 1)
              INTO cur, bad
              FROM generate_series(0, np - 1) i
              LEFT JOIN (SELECT k % np AS p, max(last_seq) AS m, sum(n) AS c FROM v GROUP BY 1) x ON x.p = i;
            t := clock_timestamp();
            q_v := q_v + extract(epoch FROM t - t_start);
            torn := torn + bad;
            FOR j IN 1 .. np LOOP
                IF cur[j] > lv[j] THEN
                    r_rel := r_rel || 'v'::text; r_t := r_t || t; r_tp := r_tp || tpv;
                    r_p := r_p || (j - 1); r_prev := r_prev || lv[j]; r_seq := r_seq || cur[j];
                ELSIF cur[j] < lv[j] THEN
                    backwards := backwards + 1;
                END IF;
            END LOOP;
            lv := cur; tpv := t_start;
        END IF;
        t_start := clock_timestamp();
        SELECT array_agg((SELECT coalesce(max(e.seq), -1) FROM events e WHERE e.p = i) ORDER BY i)
          INTO cur FROM generate_series(0, np - 1) i;
        t := clock_timestamp();
        q_e := q_e + extract(epoch FROM t - t_start);
        FOR j IN 1 .. np LOOP
            IF cur[j] > le[j] THEN
                r_rel := r_rel || 'events'::text; r_t := r_t || t; r_tp := r_tp || tpe;
                r_p := r_p || (j - 1); r_prev := r_prev || le[j]; r_seq := r_seq || cur[j];
            ELSIF cur[j] < le[j] THEN
                backwards := backwards + 1;
            END IF;
        END LOOP;
        le := cur; tpe := t_start;
        polls := polls + 1;
        EXIT WHEN le = want AND (NOT with_view OR lv = want);
        IF clock_timestamp() > stop THEN
            RAISE EXCEPTION 'not everything visible after % s: events %, v %, want %', timeout_s, le, lv, want;
        END IF;
        COMMIT;
        PERFORM pg_sleep(poll_ms / 1000.0);
    END LOOP;
    INSERT INTO poll_log SELECT phase, * FROM unnest(r_rel, r_t, r_tp, r_p, r_prev, r_seq);
    INSERT INTO probe_stats VALUES (phase, polls, extract(epoch FROM clock_timestamp() - began),
        q_v / polls * 1000, q_e / polls * 1000, torn, backwards, backend_ticks() - ticks0);
END
\$\$;
SQL
fi

# latency <phase> <rel>: "count p50 p90 p99 p99.9 max max_at p99_lower_bound advances mean_advance_ms"
# (max_at: when the slowest event was produced, seconds after the first)
latency() {
    psql_ -F ' ' <<SQL
SET enable_hashjoin = off;
SET enable_mergejoin = off;
WITH ch AS (SELECT * FROM poll_log WHERE phase = '$1' AND rel = '$2'),
t0 AS (SELECT min(produced_at) AS t0 FROM events),
lat AS (SELECT (extract(epoch FROM ch.t) * 1e6 - e.produced_at) / 1000 AS ms,
               greatest(extract(epoch FROM ch.tprev) * 1e6 - e.produced_at, 0) / 1000 AS lo_ms,
               (e.produced_at - t0.t0) / 1e6 AS at_s
          FROM ch JOIN events e ON e.p = ch.p AND e.seq > ch.prev AND e.seq <= ch.seq, t0
         WHERE e.produced_at >= t0.t0 + $WARMUP * 1000000),
adv AS (SELECT DISTINCT t FROM ch)
SELECT count(*),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(percentile_cont(0.999) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(max(ms)::numeric, 1),
       (SELECT round(at_s::numeric, 1) FROM lat ORDER BY ms DESC LIMIT 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lo_ms)::numeric, 1),
       (SELECT count(*) FROM adv),
       (SELECT round((extract(epoch FROM max(t) - min(t)) * 1000 / greatest(count(*) - 1, 1))::numeric, 1) FROM adv)
  FROM lat
SQL
}

# run_phase <events|view>
run_phase() {
    local phase=$1 with_view=false
    [ "$phase" = view ] && with_view=true
    psql_ <<SQL
CREATE TABLE events (p int NOT NULL, k int NOT NULL, seq bigint NOT NULL, produced_at bigint NOT NULL,
                     ts timestamptz NOT NULL);
CREATE INDEX ON events (p, seq);
SELECT lambda.create_event_table('events', time_column => 'ts') \g /dev/null
SQL
    if $with_view; then
        psql_ -c "CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '$REFRESH_INTERVAL') AS
                  SELECT k, count(*) AS n, max(seq) AS last_seq FROM events GROUP BY k"
    fi
    psql_ -c "CHECKPOINT" -c "SELECT lambda.create_kafka_source(name => 'src', target => 'events',
                  brokers => '$bootstrap', topic => 'fresh_$phase', format => 'json', parallelism => $PAR,
                  event_time => 'kafka', batch_size => $BATCH_SIZE, batch_wait => '$BATCH_WAIT ms',
                  options => '{\"fetch.wait.max.ms\": \"$FETCH_WAIT\"}')" >/dev/null
    # running, and every partition fetched once
    for i in $(seq 1 300); do
        ready=$(psql_ -c "SELECT count(*) FROM lambda.source_status WHERE state = 'running' AND high_watermark IS NOT NULL")
        [ "$ready" -eq "$PARTS" ] && break
        [ "$i" -lt 300 ] || { echo "the source did not start:" >&2; psql_ -c "SELECT * FROM lambda.source_status" >&2; exit 1; }
        sleep 0.1
    done
    c0=$(server_ticks); m0=$(machine_ticks); b0=$(broker_ticks); w0=$(date +%s%3N)
    psql_ -c "CALL probe('$phase', $with_view, '$want', $POLL_MS, $((DURATION + 120)))" &
    prober=$!
    sleep 1
    start=$(psql_ -c "SELECT clock_timestamp()")
    read -r produced secs burst prod_cpu < <(perl "$work/produce.pl" "$RATE" "$DURATION" "$PARTS" "$KPP" "$bootstrap" "fresh_$phase")
    wait "$prober" || { echo "the probe failed" >&2; exit 1; }
    sleep 1    # the probe's backend exits and is reaped: its CPU is then in the postmaster's
    c1=$(server_ticks); m1=$(machine_ticks); b1=$(broker_ticks); w1=$(date +%s%3N)
    echo "$phase phase: $produced events in $secs s (largest hand-over $burst)" >&2
    read -r polls psecs vq eq torn backwards probe_ticks <<EOF
$(psql_ -F ' ' -c "SELECT polls, round(seconds::numeric, 1), round(v_query_ms::numeric, 2), round(e_query_ms::numeric, 2), torn, backwards, cpu_ticks
                   FROM probe_stats WHERE phase = '$phase'")
EOF
    server_cpu=$(( (c1 - c0 - probe_ticks) * 100000 / hz / (w1 - w0) ))
    probe_cpu=$(( probe_ticks * 100000 / hz / (w1 - w0) ))
    machine_cpu=$(( (m1 - m0) * 100000 / hz / (w1 - w0) ))
    broker_cpu=$(( (b1 - b0) * 100000 / hz / (w1 - w0) ))
    producer_cpu=$(awk -v c="$prod_cpu" -v w=$((w1 - w0)) 'BEGIN { printf "%d", c * 100000 / w }')
    poll_ms=$(awk -v s="$psecs" -v n="$polls" 'BEGIN { printf "%.1f", s * 1000 / n }')
    rows=$(psql_ -c "SELECT count(*) FROM events")
    dead=$(psql_ -c "SELECT count(*) FROM lambda.dead_letters")
    [ "$rows" -eq "$N" ] && [ "$dead" -eq 0 ] || { echo "$rows rows and $dead dead letters for $N events" >&2; exit 1; }
    rels=events
    $with_view && rels="v events"
    for rel in $rels; do
        read -r cnt p50 p90 p99 p999 max max_at lo99 changes change_ms <<EOF
$(latency "$phase" "$rel")
EOF
        q=$eq; [ "$rel" = v ] && q=$vq
        echo "$phase/$rel $cnt $produced $secs $changes $change_ms $poll_ms $q $p50 $p90 $p99 $p999 $max $max_at $lo99 $server_cpu $probe_cpu $broker_cpu $producer_cpu $machine_cpu" >> "$out"
    done
    if $with_view; then
        wrong=$(psql_ -c "SELECT count(*) FROM ((TABLE v EXCEPT ALL SELECT k, count(*), max(seq) FROM events GROUP BY k)
                          UNION ALL (SELECT k, count(*), max(seq) FROM events GROUP BY k EXCEPT ALL TABLE v)) d")
        refreshes=$(psql_ -c "SELECT CASE WHEN last_refresh > '$start' THEN format('%s s after producing began (%s, %s ms, %s groups)',
                                round(extract(epoch FROM last_refresh - '$start')::numeric, 1), last_refresh_mode,
                                round(extract(epoch FROM last_refresh_duration)::numeric * 1000), last_refresh_groups)
                              ELSE 'none while producing' END
                              FROM lambda.view_status WHERE view = 'v'::regclass")
        echo "view phase: $polls probes; torn batches seen in v: $torn; visible seq going backwards: $backwards; v vs defining query at the end: $wrong rows differ; last refresh of v: $refreshes" >> "$out.notes"
    else
        echo "events phase: $polls probes; visible seq going backwards: $backwards" >> "$out.notes"
    fi
    psql_ -c "SELECT lambda.drop_source('src')" -c "DROP TABLE events CASCADE" >/dev/null
}

has_phase events && run_phase events
has_phase view && run_phase view

echo
echo "Freshness, ms from produced (handed to kcat) to visible: the end of the first probe that saw the event"
echo "(an upper bound; p99 lo: the same from the start of the previous probe, a lower bound). max at: when the"
echo "slowest event was produced, s after the first. advances: probes that saw more (~ commits); advance: their"
echo "mean interval, ms; probe every / query: mean interval and query time of the probes, ms."
fmt="%-22s %8s %7s %8s %7s %6s %6s | %6s %6s %6s %6s %6s %6s %6s | %6s %6s %6s %6s %7s\n"
printf "$fmt" "" "" "" "" "" "probe" "probe" "" "" "" "" "" "max" "p99" "CPU %:" "" "" "" ""
printf "$fmt" "visible in" "events" "ev/s" "advances" "advance" "every" "query" "p50" "p90" "p99" "p99.9" "max" "at s" "lo" "server" "probe" "broker" "produc" "machine"
awk -v fmt="$fmt" '{
    name["broker"] = "kcat consumer (broker)"; name["events/events"] = "events, no view";
    name["view/v"] = "v"; name["view/events"] = "events, with view v";
    printf fmt, name[$1], $2, sprintf("%.0f", $3 / $4), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20
}' "$out"
[ -f "$out.notes" ] && cat "$out.notes"
true
