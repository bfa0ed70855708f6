#!/bin/bash
# Batch-layer benchmark: what CREATE over existing events, lambda.recompute
# and REFRESH of a continuous view cost, beside PostgreSQL doing the same
# work itself in the same run: a plain CREATE / REFRESH MATERIALIZED VIEW of
# the same defining query, and the defining query alone.
#
#   bench/batch_bench.sh
#   (run as root or as a user that can run initdb; installs this tree into a
#   private copy of PostgreSQL, so it needs neither "make install" nor the
#   install lock)
#
# Sizes are environment variables (defaults in brackets):
#   EVENTS  ["1000000"]  events loaded before the views are created (one run
#                        per value, e.g. EVENTS="1000000 10000000")
#   KEYS    [100000]     distinct values of k
#   NEW     [1000000]    events inserted before the timed REFRESH
#   ROUNDS  [3]          timings per operation (median reported)
#   VIEWS   ["plain sketch"]  which definitions to run
#   REFRESH_ONLY [unset]  1: time only the REFRESH after NEW events and the
#                        query over them, ROUNDS times each (a fresh event
#                        table and view per round), and skip the rest
#
# Every event is (id bigint, k int, g int, x int, ts timestamptz): k uniform
# in 1..KEYS, g in 0..99, x in 0..999, ts in January 2025. Definitions:
#   plain   SELECT k, date_trunc('day', ts) AS day, count(*), sum(x), avg(x),
#           min(x), max(x) FROM events GROUP BY k, day
#           (built-in aggregates; ~KEYS*28 groups at most)
#   text    the same with a text key: SELECT 'https://example.com/page/' || k
#           AS url, date_trunc('day', ts) AS day, ... GROUP BY url, day
#           (a batch table with _lambda_long and indexes for long keys)
#   sketch  SELECT g, count(*), count(DISTINCT k), percentile_cont(0.5)
#           WITHIN GROUP (ORDER BY x) FROM events GROUP BY g
#           (pg_lambda's exact distinct sets and quantile sketches)
# For each definition and size it prints the median wall-clock ms and the
# median CPU ms of the backend (user + system, from /proc/<pid>/stat: on a
# machine shared with other work the CPU time moves much less than the wall
# clock; a parallel worker's CPU is not counted, which can only flatter
# PostgreSQL's own commands) of
#   query          the defining query (EXPLAIN (ANALYZE, TIMING OFF): run
#                  whole, every aggregate computed, no rows sent; SELECT
#                  count(*) FROM (query) would let the planner drop the
#                  aggregates nobody reads)
#   plain CREATE   CREATE MATERIALIZED VIEW ... AS query
#   plain REFRESH  REFRESH MATERIALIZED VIEW of it
#   + unique index the same REFRESH with a unique index on the view's keys,
#                  as a batch table has one (for its point reads); the
#                  index is dropped again after these timings
#   lambda CREATE  CREATE MATERIALIZED VIEW ... WITH (lambda.continuous)
#   recompute      SELECT lambda.recompute(view)
# and each pg_lambda figure divided by its reference (CREATE and recompute by
# the plain CREATE / REFRESH, and for sketch by the query). Then NEW events
# are inserted (COPY) and it times, once, REFRESH of the continuous view
# (its mode, from lambda.view_status), the defining query over just those
# NEW events (a table holding only them) and the plain REFRESH over all,
# and, once each, what PostgreSQL itself takes to write the groups of those
# NEW events (the floor of any refresh that puts them into an indexed
# table): CREATE TABLE AS the query over them (no index), INSERT of its rows
# in key order into an empty table with a unique index on the keys, and,
# but for sketch, INSERT ... ON CONFLICT DO UPDATE of them in key order
# into a summary table of the older events' groups with that index (avg as
# a sum and a count: incremental maintenance written in plain SQL); the
# REFRESH is also given as a ratio to each (REFRESH_ONLY too).
# Last, NEW/10 more events go into the view's speed layer and it times a read
# of the whole view (EXPLAIN ANALYZE of SELECT * FROM it: batch rows merged
# with the speed layer's states, every group finalized) beside the defining
# query over all events, ROUNDS times each.
# The server is a throwaway one (fsync on, shared_buffers = 1GB,
# maintenance_work_mem = 512MB, lambda.speed_layer_memory = 1GB); VACUUM ANALYZE and CHECKPOINT run before
# each timing. Timings are taken under flock /tmp/pg_lambda_bench.lock
# (BENCH_LOCKED=1 when the caller holds it).
set -eu
EVENTS=${EVENTS:-1000000}
KEYS=${KEYS:-100000}
NEW=${NEW:-1000000}
ROUNDS=${ROUNDS:-3}
VIEWS=${VIEWS:-"plain sketch"}
port=${BENCH_PORT:-54351}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"
# a speed layer large enough for NEW events of ~840,000 text-keyed groups
# (~160 MB): short of memory, the scheduler would refresh the view itself,
# and the timed REFRESH would only wait for it
conf="$bench_conf
client_min_messages = warning
lambda.speed_layer_memory = '1GB'"

# keys <definition>: the grouping columns of its materialized view
keys() {
    case $1 in
        plain) echo "k, day" ;;
        text) echo "url, day" ;;
        sketch) echo "g" ;;
    esac
}

definition() {
    case $1 in
        plain) echo "SELECT k, date_trunc('day', ts) AS day, count(*), sum(x), avg(x), min(x), max(x) FROM $2 GROUP BY k, date_trunc('day', ts)" ;;
        text) echo "SELECT 'https://example.com/page/' || k AS url, date_trunc('day', ts) AS day, count(*), sum(x), avg(x), min(x), max(x) FROM $2 GROUP BY 'https://example.com/page/' || k, date_trunc('day', ts)" ;;
        sketch) echo "SELECT g, count(*), count(DISTINCT k) AS users, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS median FROM $2 GROUP BY g" ;;
    esac
}


# sql_wall_cpu <sql>: "wall_ms cpu_ms" of one statement: psql's \timing,
# and the user + system CPU time its backend spent (/proc/<pid>/stat; a
# parallel worker's is not counted)
tck=$(getconf CLK_TCK)
sql_wall_cpu() {
    psql_ <<SQL | awk -v tck="$tck" '/^Time: / { wall = $2 } /^cpu / { cpu = $2 * 1000 / tck } END { printf "%s %s\n", wall, cpu }'
SELECT pg_backend_pid() AS pid \gset
SELECT s[14]::bigint + s[15]::bigint AS c0 FROM pg_catalog.string_to_array(pg_catalog.pg_read_file('/proc/' || :pid || '/stat'), ' ') s \gset
\timing on
$1;
\timing off
SELECT 'cpu ' || (s[14]::bigint + s[15]::bigint - :c0) FROM pg_catalog.string_to_array(pg_catalog.pg_read_file('/proc/' || :pid || '/stat'), ' ') s;
SQL
}

# timed <sql> [setup sql]: "wall_ms cpu_ms", medians of ROUNDS runs (setup
# and a CHECKPOINT before each)
timed() {
    local walls="" cpus="" r w c
    for r in $(seq 1 "$ROUNDS"); do
        [ -n "${2:-}" ] && psql_ -c "$2"
        psql_ -c "CHECKPOINT"
        read -r w c <<< "$(sql_wall_cpu "$1")"
        walls="$walls $w"; cpus="$cpus $c"
    done
    echo "$(echo "$walls" | median) $(echo "$cpus" | median)"
}

scratch_install_private
scratch_start batchbench "$port" "$conf"
psql_ -c "CREATE EXTENSION pg_lambda"
echo "pg_lambda batch-layer benchmark: $(nproc) cores, $(uname -r), $("$bindir/postgres" --version)"
echo "KEYS=$KEYS NEW=$NEW ROUNDS=$ROUNDS (medians; load average $(cut -d' ' -f1-3 /proc/loadavg))"

# timings under the machine's benchmark lock (BENCH_LOCKED=1: the caller
# holds it around the whole run)
exec 8>/tmp/pg_lambda_bench.lock
lock() { [ -n "${BENCH_LOCKED:-}" ] || flock 8; }
unlock() { [ -n "${BENCH_LOCKED:-}" ] || flock -u 8; }
# fresh_events: a new event table "events" holding events.csv (event tables are append-only)
fresh_events() {
    psql_ <<SQL
DROP TABLE IF EXISTS events CASCADE;
CREATE TABLE events (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('events', time_column => 'ts') \g /dev/null
COPY events FROM '$work/events.csv' (FORMAT csv);
VACUUM ANALYZE events;
SQL
}

# summary <definition> <table> [where]: the definition as a summary table a
# PostgreSQL user would keep up to date with INSERT ... ON CONFLICT: avg as
# its sum and count (sum(x) and count(x)); nothing for sketch, whose
# count(DISTINCT) and percentile cannot be combined so
summary() {
    local key
    case $1 in
        plain) key="k, date_trunc('day', ts) AS day" ;;
        text) key="'https://example.com/page/' || k AS url, date_trunc('day', ts) AS day" ;;
        *) return 0 ;;
    esac
    echo "SELECT $key, count(*) AS n, sum(x) AS s, count(x) AS ac, min(x) AS mi, max(x) AS ma FROM $2 ${3:-} GROUP BY 1, 2"
}

# floors <definition> <old events>: what PostgreSQL itself takes to write
# the groups of the new events (table news), one run each after a
# CHECKPOINT, "wall cpu" three times: (a) CREATE TABLE AS the defining
# query over them (the groups written, no index); (b) INSERT of the same
# rows in key order into an empty table with a unique index on the keys, as
# the batch table has one; (c) INSERT ... ON CONFLICT DO UPDATE of the
# summary over them, in key order, into a summary table of the old events'
# groups with that index (incremental maintenance in plain SQL; "- -" for
# sketch). Takes the lock's place of the caller (called under it).
floors() {
    local v=$1 n=$2 w c out="" sum
    psql_ -c "DROP TABLE IF EXISTS w_ctas, w_idx, w_sum" >/dev/null
    psql_ -c "CHECKPOINT"
    read -r w c <<< "$(sql_wall_cpu "CREATE TABLE w_ctas AS $(definition "$v" news)")"
    out="$w $c"
    psql_ -c "CREATE TABLE w_idx (LIKE w_ctas)" -c "CREATE UNIQUE INDEX ON w_idx ($(keys "$v"))" -c "CHECKPOINT"
    read -r w c <<< "$(sql_wall_cpu "INSERT INTO w_idx $(definition "$v" news) ORDER BY $(keys "$v")")"
    out="$out $w $c"
    sum=$(summary "$v" news)
    if [ -n "$sum" ]; then
        psql_ -c "CREATE TABLE w_sum AS $(summary "$v" events "WHERE id <= $n")" \
              -c "CREATE UNIQUE INDEX ON w_sum ($(keys "$v"))" -c "VACUUM ANALYZE w_sum" -c "CHECKPOINT"
        read -r w c <<< "$(sql_wall_cpu "INSERT INTO w_sum AS t $sum ORDER BY $(keys "$v") ON CONFLICT ($(keys "$v")) DO UPDATE
            SET n = t.n + excluded.n, s = t.s + excluded.s, ac = t.ac + excluded.ac,
                mi = least(t.mi, excluded.mi), ma = greatest(t.ma, excluded.ma)")"
        out="$out $w $c"
    else
        out="$out - -"
    fi
    psql_ -c "DROP TABLE IF EXISTS w_ctas, w_idx, w_sum" >/dev/null
    echo "$out"
}

# floor_rows <refresh "wall cpu"> <query "wall cpu"> <floors' output>: the
# lines that print them beside the REFRESH
floor_rows() {
    awk -v rf="$1" -v nq="$2" -v fl="$3" '
    function show(name, w, c) {
        split(nq, q, " ");
        if (w == "-") { printf "  %-36s %9s %9s\n", name, "-", "-"; return }
        printf "  %-36s %9.0f %9.0f  %5.2fx / %5.2fx query over the new events", name, w, c, w / q[1], c / q[2];
        split(rf, r, " ");
        printf "  REFRESH %5.2fx / %5.2fx of it\n", r[1] / w, r[2] / c;
    }
    BEGIN {
        split(fl, f, " ");
        print "  PostgreSQL writing the same groups:";
        show("  CREATE TABLE AS (no index)", f[1], f[2]);
        show("  INSERT, key order, unique index", f[3], f[4]);
        show("  upsert into the old groups", f[5], f[6]);
    }'
}

# refresh_only <definition> <events>: ROUNDS fresh views, each refreshed
# once after NEW events; medians of the REFRESH and of the query over them
refresh_only() {
    local v=$1 n=$2 q r w c walls="" cpus="" nwalls="" ncpus="" mode diff
    q=$(definition "$v" events)
    for r in $(seq 1 "$ROUNDS"); do
        fresh_events
        psql_ <<SQL
CREATE MATERIALIZED VIEW lv WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS $q;
COPY events FROM '$work/new.csv' (FORMAT csv);
VACUUM ANALYZE events;
SQL
        lock
        psql_ -c "CHECKPOINT"
        read -r w c <<< "$(sql_wall_cpu "REFRESH MATERIALIZED VIEW lv")"
        walls="$walls $w"; cpus="$cpus $c"
        psql_ -c "CHECKPOINT"
        read -r w c <<< "$(sql_wall_cpu "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $(definition "$v" news)")"
        nwalls="$nwalls $w"; ncpus="$ncpus $c"
        [ "$r" = "$ROUNDS" ] && fl=$(floors "$v" "$n")
        unlock
        mode=$(psql_ -c "SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'lv'::regclass")
        echo "  round $r: REFRESH ($mode) $(echo "$walls" | awk '{ print $NF }') ms wall, $(echo "$cpus" | awk '{ print $NF }') ms CPU"
    done
    cols="*"; [ "$v" = sketch ] && cols="g, count, users"
    diff=$(psql_ -c "SELECT count(*) FROM ((SELECT $cols FROM lv EXCEPT ALL SELECT $cols FROM ($q) q)
                                           UNION ALL (SELECT $cols FROM ($q) q EXCEPT ALL SELECT $cols FROM lv)) d")
    echo "$v, $n events, REFRESH after $NEW new: $q"
    awk -v rf="$(echo "$walls" | median) $(echo "$cpus" | median)" -v nq="$(echo "$nwalls" | median) $(echo "$ncpus" | median)" -v diff="$diff" '
    BEGIN {
        split(rf, a, " "); split(nq, b, " ");
        printf "  %-36s %9s %9s\n", "(medians)", "wall ms", "CPU ms";
        printf "  %-36s %9.0f %9.0f  %5.2fx / %5.2fx query over the new events\n", "REFRESH", a[1], a[2], a[1] / b[1], a[2] / b[2];
        printf "  %-36s %9.0f %9.0f\n", "query over the new events", b[1], b[2];
        printf "  rows differing from the defining query: %s\n", diff;
    }'
    floor_rows "$(echo "$walls" | median) $(echo "$cpus" | median)" "$(echo "$nwalls" | median) $(echo "$ncpus" | median)" "$fl"
    psql_ -c "DROP MATERIALIZED VIEW IF EXISTS lv"
}

for n in $EVENTS; do
    gen_events "$work/events.csv" 1 "$n" 21
    gen_events "$work/new.csv" $((n + 1)) "$NEW" 22
    gen_events "$work/tail.csv" $((n + NEW + 1)) $((NEW / 10)) 23
    psql_ <<SQL
DROP TABLE IF EXISTS news;
CREATE TABLE news (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
COPY news FROM '$work/new.csv' (FORMAT csv);
VACUUM ANALYZE news;
SQL
    for v in $VIEWS; do
        if [ -n "${REFRESH_ONLY:-}" ]; then
            refresh_only "$v" "$n"
            continue
        fi
        fresh_events
        q=$(definition "$v" events)
        lock
        read -r w_query c_query <<< "$(timed "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $q")"
        read -r w_pcreate c_pcreate <<< "$(timed "CREATE MATERIALIZED VIEW m AS $q" "DROP MATERIALIZED VIEW IF EXISTS m")"
        read -r w_prefresh c_prefresh <<< "$(timed "REFRESH MATERIALIZED VIEW m")"
        psql_ -c "CREATE UNIQUE INDEX m_keys ON m ($(keys "$v"))"
        read -r w_prefreshi c_prefreshi <<< "$(timed "REFRESH MATERIALIZED VIEW m")"
        psql_ -c "DROP INDEX m_keys"
        read -r w_lcreate c_lcreate <<< "$(timed "CREATE MATERIALIZED VIEW lv WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS $q" \
                    "DROP MATERIALIZED VIEW IF EXISTS lv")"
        read -r w_recompute c_recompute <<< "$(timed "SELECT lambda.recompute('lv')")"
        groups=$(psql_ -c "SELECT count(*) FROM m")
        unlock
        # NEW events after the cut: REFRESH folds them in
        psql_ -c "COPY events FROM '$work/new.csv' (FORMAT csv)"
        psql_ -c "VACUUM ANALYZE events"
        lock
        psql_ -c "CHECKPOINT"
        read -r w_lrefresh c_lrefresh <<< "$(sql_wall_cpu "REFRESH MATERIALIZED VIEW lv")"
        mode=$(psql_ -c "SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'lv'::regclass" 2>/dev/null || echo "?")
        psql_ -c "CHECKPOINT"
        read -r w_newquery c_newquery <<< "$(sql_wall_cpu "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $(definition "$v" news)")"
        read -r w_prefresh2 c_prefresh2 <<< "$(timed "REFRESH MATERIALIZED VIEW m")"
        fl=$(floors "$v" "$n")
        unlock
        # a whole-view read with NEW/10 events in the speed layer
        psql_ -c "COPY events FROM '$work/tail.csv' (FORMAT csv)"
        psql_ -c "VACUUM ANALYZE events"
        lock
        read -r w_read c_read <<< "$(timed "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT * FROM lv")"
        read -r w_allq c_allq <<< "$(timed "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $q")"
        unlock
        # the view answers what the defining query answers (but for the
        # median, which comes from a quantile sketch)
        cols="*"; [ "$v" = sketch ] && cols="g, count, users"
        diff=$(psql_ -c "SELECT count(*) FROM ((SELECT $cols FROM lv EXCEPT ALL SELECT $cols FROM ($q) q)
                                               UNION ALL (SELECT $cols FROM ($q) q EXCEPT ALL SELECT $cols FROM lv)) d" 2>/dev/null || echo "?")
        echo
        echo "$v, $n events ($groups groups): $q"
        echo "  (wall ms, then the backend's CPU ms; x: the ratio of each)"
        awk -v q="$w_query $c_query" -v pc="$w_pcreate $c_pcreate" -v pr="$w_prefresh $c_prefresh" \
            -v pri="$w_prefreshi $c_prefreshi" -v lc="$w_lcreate $c_lcreate" -v lr="$w_recompute $c_recompute" -v rf="$w_lrefresh $c_lrefresh" \
            -v nq="$w_newquery $c_newquery" -v pr2="$w_prefresh2 $c_prefresh2" -v mode="$mode" -v new="$NEW" -v diff="$diff" \
            -v rd="$w_read $c_read" -v aq="$w_allq $c_allq" '
        function row(name, t) { split(t, a, " "); printf "  %-36s %9.0f %9.0f\n", name, a[1], a[2]; }
        function rel(name, t, ref, refname, ref2, refname2) {
            split(t, a, " "); split(ref, b, " "); split(ref2, c, " ");
            printf "  %-36s %9.0f %9.0f  %5.2fx / %5.2fx %s", name, a[1], a[2], a[1] / b[1], a[2] / b[2], refname;
            if (refname2 != "") printf "  %5.2fx / %5.2fx %s", a[1] / c[1], a[2] / c[2], refname2;
            printf "\n";
        }
        BEGIN {
            row("defining query", q);
            row("plain CREATE MATERIALIZED VIEW", pc);
            row("plain REFRESH MATERIALIZED VIEW", pr);
            row("  + unique index on the keys", pri);
            rel("lambda CREATE", lc, pc, "plain CREATE", q, "query");
            rel("lambda.recompute", lr, pr, "plain REFRESH", q, "query");
            rel("  (against REFRESH + unique index)", lr, pri, "plain REFRESH + index", "", "");
            rel(sprintf("REFRESH after %d new (%s)", new, mode), rf, nq, "query over the new events", pr2, "plain REFRESH");
            row("query over the new events", nq);
            row("plain REFRESH after them", pr2);
            rel(sprintf("read of the view, %d in speed layer", new / 10), rd, aq, "query over all events", "", "");
            row("query over all events", aq);
            printf "  rows differing from the defining query: %s\n", diff;
        }'
        floor_rows "$w_lrefresh $c_lrefresh" "$w_newquery $c_newquery" "$fl"
        psql_ -c "DROP MATERIALIZED VIEW IF EXISTS lv" -c "DROP MATERIALIZED VIEW IF EXISTS m"
    done
done
