#!/bin/bash
# Continuous-view benchmark: what a lambda view costs on ingest and what it
# buys on reads, each measured against its baseline in the same run.
#
#   bench/view_bench.sh
#   (run as root or as a user that can run initdb; needs "make install")
#
# Sizes are environment variables (defaults in brackets):
#   INGEST_ROWS [1000000]   rows per COPY in part a
#   ROUNDS      [3]         rounds of part a (median reported)
#   EVENTS      [10000000]  events in the big event table (parts b-d)
#   KEYS        [1000000]   distinct values of the grouping key k
#   TAILS       ["0 100000 1000000"]         part b: speed-layer tails
#   REFRESHES   ["0 10000 100000 1000000"]   part c: new events per refresh
#   REBUILD_TAIL [1000000]  part d: events after the cut at the crash
#   QUERY_SECONDS [4]       part b: whole seconds each query runs, in each timing
#   PARTS       ["a b c d"] which parts to run (c and d run after b's load;
#                           parts w and s run only when named: PARTS=w)
#   W_ROWS      [1000000]   rows per COPY in part w
#   W_CONFIGS   [all]       part w's configurations to run (names below;
#                           keep "none", the baseline)
#   BENCH_PRIVATE [unset]   1: install this tree into a private copy of
#                           PostgreSQL first (test/scratch.sh), so that no
#                           "make install" is needed
#
# Every event is (id bigint, k int, g int, x int, ts timestamptz): k uniform
# in 1..KEYS, g in 0..99, x in 0..999, ts in January 2025. The server is a
# throwaway one (fsync on, shared_buffers = 1GB); autovacuum stays on, the
# script runs VACUUM ANALYZE itself after each load.
#
# a. Ingest: COPY INGEST_ROWS rows from a CSV file into fresh event tables
#    with no continuous view, view A (GROUP BY k: count, sum), view B
#    (GROUP BY g, date_trunc('hour', ts): count, max) and both; for
#    reference also into one with a no-op statement-level AFTER INSERT
#    trigger with a transition table (the capture mechanism's floor). Each
#    round creates the five tables, times the five COPYs (order rotated per
#    round, commit included, CHECKPOINT before each) and drops them. Prints
#    rows/s and the cost per view: (time - time with no view) / views / time
#    with no view.
# b. Point query: EVENTS events loaded, then view v (GROUP BY k: count(*),
#    sum(x)) created over them, so its batch table holds ~KEYS groups. At each
#    tail size (events inserted after the last refresh, so only in the speed
#    layer) each query below runs for random keys, QUERY_SECONDS twice: in a
#    PL/pgSQL loop that times each execution inside the server ("server":
#    plan cached, as with a prepared statement), and with pgbench, one
#    client ("pgbench": the latency a client sees, round trip included):
#      v, prepared        SELECT * FROM v WHERE k = $1   (pgbench -M prepared)
#      v, simple          the same, parsed and planned each time (EXECUTE in
#                         the loop, pgbench -M simple)
#      mat + tail (id)    a plain table of the aggregate over events up to
#                         the cut, UNION ALL the defining query over events
#                         with id > cut (index on id), combined per key
#      defining, no index SELECT k, count(*), sum(x) FROM events WHERE k = $1
#                         GROUP BY k, with no index on k (parallel seq scan)
#      defining, index k  the same with an index on k
#      mat + tail (id, k) the mat + tail query with indexes on id and k
#    and prints medians and 95th percentiles, and each server median divided
#    by v's. It checks v against the defining query for the keys 1..1000 at
#    each tail.
# c. Refresh: with v's batch table full, insert REFRESHES new events and time
#    REFRESH MATERIALIZED VIEW v after each (CHECKPOINT before it, WAL
#    written by it); then lambda.recompute('v') over all events for
#    comparison.
# d. Rebuild: REFRESH, CHECKPOINT, insert REBUILD_TAIL events, pg_ctl stop -m
#    immediate, start; times the start (crash recovery), the first exact
#    answer of a point query for a key in the tail, and view_status.state =
#    'active'; then checks all of v against the defining query.
# w. Write path (issue 14): COPY W_ROWS rows of (id, k1, k2, k3, x, ts) into
#    fresh event tables, k1 in 1..1000, k2 in 1..100000 (uniform), k3 unique
#    (W_ROWS groups), x in 0..999. Configurations: no view (baseline), the
#    no-op transition-table trigger (reference), one view of count(*),
#    sum(x), avg(x), min(x), max(x) grouped by k1, k2 or k3 (1k, 100k, 1M
#    groups), the k2 and k3 views together, and a view of count(*),
#    count(DISTINCT x) grouped by k2 (lambda.speed_layer_memory = 2GB, so
#    that W_ROWS groups fit). Rounds and order as in part a; prints
#    the median, the ratio to the baseline and the extra cost per row (ns).
# s. Small transactions (issue 14): pgbench with S_CLIENTS ["4 16"] clients
#    for S_SECONDS [10] s, each transaction one INSERT of 1-10 rows (random)
#    of the shape of part w, into an event table with no view (baseline) and
#    into one with two views (part w's five aggregates by k1 and by k2);
#    ROUNDS rounds, the order alternating. Prints the median tps, the ratio
#    to the baseline and the p99 latency of each (from pgbench's log).
set -eu
INGEST_ROWS=${INGEST_ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
EVENTS=${EVENTS:-10000000}
KEYS=${KEYS:-1000000}
TAILS=${TAILS:-"0 100000 1000000"}
REFRESHES=${REFRESHES:-"0 10000 100000 1000000"}
REBUILD_TAIL=${REBUILD_TAIL:-1000000}
QUERY_SECONDS=${QUERY_SECONDS:-4}
PARTS=${PARTS:-"a b c d"}
port=${BENCH_PORT:-54341}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"
now_ms() { date +%s%3N; }
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
conf="$bench_conf
client_min_messages = warning"



[ "${BENCH_PRIVATE:-}" = 1 ] && scratch_install_private
scratch_start viewbench "$port" "$conf"
psql_ -c "CREATE EXTENSION pg_lambda"
echo "pg_lambda view benchmark: $(nproc) cores, $(uname -r), $("$bindir/postgres" --version)"

###############################################################################
# a. Speed-layer cost per view on ingest
if has_part a; then
    gen_events "$work/ingest.csv" 1 "$INGEST_ROWS" 11
    declare -A ms_of
    # none: no view; T: a statement trigger with a transition table that does
    # nothing (what the capture mechanism costs before any aggregation);
    # A, B, AB: the continuous views
    configs="none T A B AB"
    psql_ -c "CREATE FUNCTION noop_trigger() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"
    for r in $(seq 1 "$ROUNDS"); do
        for c in $configs; do
            psql_ <<SQL
CREATE TABLE ev_$c (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev_$c', time_column => 'ts') \g /dev/null
SQL
            case $c in T) psql_ -c "CREATE TRIGGER noop AFTER INSERT ON ev_$c REFERENCING NEW TABLE AS new
                FOR EACH STATEMENT EXECUTE FUNCTION noop_trigger()" ;; esac
            case $c in *A*) psql_ -c "CREATE MATERIALIZED VIEW va_$c WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
                SELECT k, count(*), sum(x) FROM ev_$c GROUP BY k" ;; esac
            case $c in *B*) psql_ -c "CREATE MATERIALIZED VIEW vb_$c WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
                SELECT g, date_trunc('hour', ts) AS hour, count(*), max(x) FROM ev_$c GROUP BY g, date_trunc('hour', ts)" ;; esac
        done
        # rotate the order so that no configuration always goes first
        order=$(echo $configs | awk -v r="$r" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
        for c in $order; do
            psql_ -c "CHECKPOINT"
            ms_of[$c,$r]=$(sql_ms "COPY ev_$c FROM '$work/ingest.csv' (FORMAT csv)")
        done
        for c in $configs; do
            case $c in *A*) psql_ -c "DROP MATERIALIZED VIEW va_$c" ;; esac
            case $c in *B*) psql_ -c "DROP MATERIALIZED VIEW vb_$c" ;; esac
            psql_ -c "DROP TABLE ev_$c"
        done
    done
    echo
    echo "a. COPY of $INGEST_ROWS rows into an event table, by continuous views on it ($ROUNDS rounds, median ms)"
    echo "   A: GROUP BY k (~$KEYS keys): count(*), sum(x); B: GROUP BY g, date_trunc('hour', ts) (~67k keys): count(*), max(x)"
    for c in $configs; do
        vals=""
        for r in $(seq 1 "$ROUNDS"); do vals="$vals ${ms_of[$c,$r]}"; done
        echo "$c $vals"
    done | awk -v n="$INGEST_ROWS" '
        function median(s,   a, m, i, j, t) {
            m = split(s, a, " ");
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2;
        }
        { c = $1; $1 = ""; med[c] = median($0); runs[c] = $0; order[++k] = c }
        END {
            name["none"] = "no view (baseline)"; name["T"] = "no-op trigger (ref.)";
            name["A"] = "view A"; name["B"] = "view B"; name["AB"] = "views A and B";
            views["A"] = 1; views["B"] = 1; views["AB"] = 2;
            printf "%-22s %8s %10s %12s %14s   %s\n", "views", "ms", "rows/s", "vs baseline", "cost per view", "ms of each round";
            for (i = 1; i <= k; i++) {
                c = order[i];
                rel = (med[c] - med["none"]) / med["none"] * 100;
                printf "%-22s %8.0f %10.0f %12s %14s  %s\n", name[c], med[c], n / (med[c] / 1000),
                    c == "none" ? "-" : sprintf("%+.0f %%", rel), views[c] ? sprintf("%+.0f %%", rel / views[c]) : "-", runs[c];
            }
        }'
    psql_ -c "DROP FUNCTION noop_trigger()"
fi

###############################################################################
# b. Point query on v, against the defining query and mat + tail
if has_part b || has_part c || has_part d; then
    gen_events "$work/events.csv" 1 "$EVENTS" 21
    psql_ <<SQL
CREATE TABLE events (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('events', time_column => 'ts') \g /dev/null
COPY events FROM '$work/events.csv' (FORMAT csv);
VACUUM ANALYZE events;
SQL
    rm -f "$work/events.csv"
    t0=$(now_ms)
    psql_ -c "CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
              SELECT k, count(*), sum(x) FROM events GROUP BY k"
    create_ms=$(( $(now_ms) - t0 ))
    psql_ -c "VACUUM ANALYZE lambda_catalog.v_batch"
    next_id=$((EVENTS + 1))
    seed=100
    # insert_events <n>: n more events, the next ids, a fresh seed
    insert_events() {
        [ "$1" -gt 0 ] || return 0
        gen_events "$work/more.csv" "$next_id" "$1" "$seed"
        psql_ -c "COPY events FROM '$work/more.csv' (FORMAT csv)"
        rm -f "$work/more.csv"
        next_id=$((next_id + $1)); seed=$((seed + 1))
    }
fi

if has_part b; then
    cut=$((next_id - 1))
    mat_sql="SELECT k, sum(count)::bigint AS count, sum(sum)::bigint AS sum
  FROM (SELECT k, count, sum FROM mat WHERE k = KEY
        UNION ALL
        SELECT k, count(*), sum(x) FROM events WHERE id > $cut AND k = KEY GROUP BY k) t
 GROUP BY k"
    def_sql="SELECT k, count(*), sum(x) FROM events WHERE k = KEY GROUP BY k"
    v_sql="SELECT * FROM v WHERE k = KEY"
    # the same as PL/pgSQL PERFORM statements (SELECT replaced by PERFORM)
    v_perform=${v_sql#SELECT }; mat_perform=${mat_sql#SELECT }; def_perform=${def_sql#SELECT }
    # time_query(kind, seconds): runs one kind of point query for random keys
    # inside the server for the given time and returns the median and 95th
    # percentile of its execution time (clock_timestamp() around each one).
    # Static SQL, so PL/pgSQL prepares it once (like -M prepared), except
    # v_simple, which EXECUTEs a new statement each time (parse and plan
    # included, like -M simple).
    psql_ <<SQL
CREATE INDEX events_id ON events (id);
CREATE TABLE mat AS SELECT k, count(*) AS count, sum(x) AS sum FROM events WHERE id <= $cut GROUP BY k;
CREATE UNIQUE INDEX ON mat (k);
VACUUM ANALYZE mat;
CREATE FUNCTION time_query(kind text, seconds float8, OUT median_ms float8, OUT p95_ms float8, OUT n int)
LANGUAGE plpgsql AS \$\$
DECLARE
    d float8[] := '{}'; key int; t timestamptz;
    stop timestamptz := clock_timestamp() + seconds * interval '1 s';
BEGIN
    LOOP
        key := 1 + floor(random() * $KEYS)::int;
        t := clock_timestamp();
        CASE kind
        WHEN 'v_prepared' THEN PERFORM ${v_perform//KEY/key};
        WHEN 'v_simple' THEN EXECUTE replace('$v_sql', 'KEY', key::text);
        WHEN 'mat' THEN PERFORM ${mat_perform//KEY/key};
        WHEN 'def' THEN PERFORM ${def_perform//KEY/key};
        END CASE;
        d := array_append(d, extract(epoch FROM clock_timestamp() - t)::float8 * 1000);
        EXIT WHEN clock_timestamp() >= stop OR cardinality(d) >= 200000;
    END LOOP;
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x), percentile_disc(0.95) WITHIN GROUP (ORDER BY x), count(*)
      INTO median_ms, p95_ms, n FROM unnest(d) x;
END
\$\$;
SQL
    # measure <row name> <kind> <pgbench mode> <query>: both timings of one query
    measure() {
        local server client
        server=$(psql_ -F ' ' -c "SELECT round(median_ms::numeric, 4), round(p95_ms::numeric, 4), n
                                   FROM time_query('$2', $QUERY_SECONDS)")
        client=$(pgbench_q "$2" "$3" "\\set k random(1, $KEYS)
${4//KEY/:k};")
        echo "$1 $t $server $client" >> "$out"
    }
    out="$work/b.txt"
    : > "$out"
    tail_now=0
    for t in $TAILS; do
        insert_events $((t - tail_now))
        tail_now=$t
        psql_ -c "VACUUM ANALYZE events"
        read -r keys bytes batch_rows state <<EOF
$(psql_ -F ' ' -c "SELECT speed_keys, speed_bytes, batch_rows, state FROM lambda.view_status WHERE view = 'v'::regclass")
EOF
        wrong=$(psql_ -c "SELECT count(*) FROM ((SELECT * FROM v WHERE k <= 1000 EXCEPT ALL
                          SELECT k, count(*), sum(x) FROM events WHERE k <= 1000 GROUP BY k)
                         UNION ALL (SELECT k, count(*), sum(x) FROM events WHERE k <= 1000 GROUP BY k
                          EXCEPT ALL SELECT * FROM v WHERE k <= 1000)) d")
        echo "tail $t: speed_keys $keys, speed_bytes $bytes, batch_rows $batch_rows, state $state; v vs defining query for k <= 1000: $wrong rows differ" >> "$out"
        measure v_prepared v_prepared prepared "$v_sql"
        measure v_simple v_simple simple "$v_sql"
        measure mat_id mat prepared "$mat_sql"
        measure def_noindex def prepared "$def_sql"
        psql_ -c "CREATE INDEX events_k ON events (k)"
        psql_ -c "ANALYZE events"
        measure def_index def prepared "$def_sql"
        measure mat_idk mat prepared "$mat_sql"
        psql_ -c "DROP INDEX events_k"
    done
    psql_ -c "DROP TABLE mat" -c "DROP INDEX events_id" -c "DROP FUNCTION time_query"
    echo
    echo "b. Point query, $EVENTS events over ~$KEYS keys in the batch layer (view created over them in $create_ms ms),"
    echo "   by speed-layer tail (events after the last refresh). server: execution time inside the server (PL/pgSQL"
    echo "   loop); pgbench: latency seen by pgbench, 1 client, round trip included. ${QUERY_SECONDS} s each; ms"
    grep '^tail' "$out" | sed 's/^/   /'
    awk '
        /^tail/ { next }
        { k = $1; t = $2; med[k, t] = $3; p95[k, t] = $4; n[k, t] = $5; bmed[k, t] = $6; bp95[k, t] = $7; bn[k, t] = $8
          if (!(t in seen)) { seen[t] = 1; tails[++nt] = t } }
        END {
            name["v_prepared"] = "v (lambda view), prepared"; name["v_simple"] = "v (lambda view), simple";
            name["mat_id"] = "mat UNION ALL tail, index on id"; name["mat_idk"] = "mat UNION ALL tail, index id, k";
            name["def_noindex"] = "defining query, no index"; name["def_index"] = "defining query, index on k";
            split("v_prepared v_simple mat_id mat_idk def_noindex def_index", kinds, " ");
            printf "%8s  %-32s %9s %9s %7s %9s %9s %7s %11s\n", "", "", "server", "", "", "pgbench", "", "", "server";
            printf "%8s  %-32s %9s %9s %7s %9s %9s %7s %11s\n", "tail", "query", "median", "p95", "n", "median", "p95", "n", "median / v";
            for (i = 1; i <= nt; i++) {
                t = tails[i];
                for (j = 1; j <= 6; j++) {
                    kd = kinds[j];
                    printf "%8d  %-32s %9.3f %9.3f %7d %9.3f %9.3f %7d %11.1f\n", t, name[kd], med[kd, t], p95[kd, t], n[kd, t],
                        bmed[kd, t], bp95[kd, t], bn[kd, t], med[kd, t] / med["v_prepared", t];
                }
            }
        }' "$out"
fi

###############################################################################
# c. Refresh cost against new events
if has_part c; then
    psql_ -c "REFRESH MATERIALIZED VIEW v"
    wal_lsn() { psql_ -c "SELECT pg_current_wal_insert_lsn()"; }
    wal_mb() { psql_ -c "SELECT round(pg_wal_lsn_diff('$2', '$1') / 1048576.0, 1)"; }
    echo
    echo "c. REFRESH MATERIALIZED VIEW v by events since the last refresh (batch table of ~$KEYS groups;"
    echo "   CHECKPOINT before each refresh, so every batch page it touches is logged in full once, as after any checkpoint)"
    printf "%12s %12s %12s %14s %12s %16s %10s\n" "new events" "batch rows" "refresh ms" "mode" "groups" "ms per 1k events" "WAL MB"
    for n in $REFRESHES; do
        insert_events "$n"
        psql_ -c "CHECKPOINT"
        rows=$(psql_ -c "SELECT batch_rows FROM lambda.view_status WHERE view = 'v'::regclass")
        l0=$(wal_lsn)
        ms=$(sql_ms "REFRESH MATERIALIZED VIEW v")
        wal=$(wal_mb "$l0" "$(wal_lsn)")
        read -r mode groups <<EOF
$(psql_ -F ' ' -c "SELECT last_refresh_mode, last_refresh_groups FROM lambda.view_status WHERE view = 'v'::regclass")
EOF
        awk -v n="$n" -v rows="$rows" -v ms="$ms" -v mode="$mode" -v groups="$groups" -v wal="$wal" 'BEGIN {
            printf "%12d %12d %12.0f %14s %12d %16s %10.1f\n", n, rows, ms, mode, groups, n ? sprintf("%.2f", ms / (n / 1000)) : "-", wal }'
    done
    total=$(psql_ -c "SELECT count(*) FROM events")
    psql_ -c "CHECKPOINT"
    l0=$(wal_lsn)
    ms=$(sql_ms "SELECT lambda.recompute('v')")
    wal=$(wal_mb "$l0" "$(wal_lsn)")
    read -r mode groups rows <<EOF
$(psql_ -F ' ' -c "SELECT last_refresh_mode, last_refresh_groups, batch_rows FROM lambda.view_status WHERE view = 'v'::regclass")
EOF
    awk -v n="$total" -v rows="$rows" -v ms="$ms" -v mode="$mode" -v wal="$wal" 'BEGIN {
        printf "%12s %12d %12.0f %14s %12s %16.2f %10.1f   lambda.recompute over all %d events\n", "(all)", rows, ms, mode, "-", ms / (n / 1000), wal, n }'
fi

###############################################################################
# d. Rebuild of the speed layer after a crash
if has_part d; then
    psql_ <<'SQL'
REFRESH MATERIALIZED VIEW v;
CHECKPOINT;
CREATE FUNCTION wait_rebuild(probe int, want_count bigint, want_sum bigint,
    OUT first_exact float8, OUT exact_query_ms float8, OUT active float8,
    OUT polls int, OUT wrong int, OUT rebuild_query_ms float8, OUT states text)
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz; q float8; c bigint; s bigint; st text; last_st text; q_sum float8 := 0; q_n int := 0;
BEGIN
    polls := 0; wrong := 0; states := '';
    LOOP
        t := clock_timestamp();
        SELECT v.count, v.sum INTO c, s FROM v WHERE k = probe;
        q := extract(epoch FROM clock_timestamp() - t) * 1000;
        polls := polls + 1;
        IF c IS NOT DISTINCT FROM want_count AND s IS NOT DISTINCT FROM want_sum THEN
            IF first_exact IS NULL THEN
                first_exact := extract(epoch FROM clock_timestamp()) * 1000; exact_query_ms := q;
            END IF;
        ELSE
            wrong := wrong + 1;
        END IF;
        SELECT state INTO st FROM lambda.view_status WHERE view = 'v'::regclass;
        IF st IS DISTINCT FROM last_st THEN states := states || coalesce(st, 'null') || ' '; last_st := st; END IF;
        IF st = 'active' THEN
            IF active IS NULL THEN active := extract(epoch FROM clock_timestamp()) * 1000; END IF;
        ELSE
            q_sum := q_sum + q; q_n := q_n + 1;
        END IF;
        EXIT WHEN active IS NOT NULL AND first_exact IS NOT NULL;
        IF polls > 30000 THEN RAISE EXCEPTION 'no exact answer or not active after % polls (states: %)', polls, states; END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    rebuild_query_ms := CASE WHEN q_n > 0 THEN q_sum / q_n END;
END
$$;
SQL
    insert_events "$REBUILD_TAIL"
    probe=$(psql_ -c "SELECT k FROM events WHERE id = $((next_id - 1))")
    read -r want_count want_sum <<EOF
$(psql_ -F ' ' -c "SELECT count(*), sum(x) FROM events WHERE k = $probe")
EOF
    read -r keys_before <<EOF
$(psql_ -c "SELECT speed_keys FROM lambda.view_status WHERE view = 'v'::regclass")
EOF
    $run "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null
    t0=$(now_ms)
    $run "$bindir/pg_ctl" -D "$work/data" -o "-p $port" -l "$work/server.log" -w start >/dev/null
    t1=$(now_ms)
    IFS='|' read -r first_exact exact_q active polls wrong rebuild_q states <<EOF
$(psql_ -c "SELECT * FROM wait_rebuild($probe, $want_count, $want_sum)")
EOF
    read -r keys_after <<EOF
$(psql_ -c "SELECT speed_keys FROM lambda.view_status WHERE view = 'v'::regclass")
EOF
    t2=$(now_ms)
    mismatch=$(psql_ -c "SELECT count(*) FROM ((SELECT * FROM v EXCEPT ALL SELECT k, count(*), sum(x) FROM events GROUP BY k)
                         UNION ALL (SELECT k, count(*), sum(x) FROM events GROUP BY k EXCEPT ALL SELECT * FROM v)) d")
    check_ms=$(( $(now_ms) - t2 ))
    q_after=$(pgbench_q v prepared '\set k random(1, '"$KEYS"')
SELECT * FROM v WHERE k = :k;')
    echo
    echo "d. Crash (pg_ctl stop -m immediate) with $REBUILD_TAIL events after the cut ($keys_before speed-layer keys), then start"
    awk -v t0="$t0" -v t1="$t1" -v fe="$first_exact" -v eq="$exact_q" -v ac="$active" -v polls="$polls" -v wrong="$wrong" \
        -v rq="$rebuild_q" -v states="$states" -v keys="$keys_after" -v mismatch="$mismatch" -v check_ms="$check_ms" \
        -v q_after="$q_after" 'BEGIN {
        printf "%-52s %10s\n", "event", "ms";
        printf "%-52s %10d   (pg_ctl -w checks every 100 ms)\n", "pg_ctl start returns (crash recovery)", t1 - t0;
        printf "%-52s %10d   (that query took %.1f ms)\n", "first exact answer for a key in the tail", fe - t0, eq;
        printf "%-52s %10d   (%d ms after the server accepted connections)\n", "view_status.state = active", ac - t0, ac - t1;
        split(q_after, qa, " ");
        printf "states seen: %s; %d polls, %d wrong answers; point query while not active: %s ms on average\n",
            states, polls, wrong, rq == "" ? "-" : sprintf("%.1f", rq);
        printf "after the rebuild: %d speed-layer keys; v vs the defining query over all events: %d rows differ (checked in %d ms);\n", keys, mismatch, check_ms;
        printf "point query on v: median %.3f ms, p95 %.3f ms\n", qa[1], qa[2];
    }'
fi

###############################################################################
# w. The write path: what each view shape costs a COPY, as a ratio
if has_part w; then
    W_ROWS=${W_ROWS:-1000000}
    gen_wrows "$work/w.csv" "$W_ROWS"
    declare -A wms
    wconfigs="${W_CONFIGS:-none T g1k g100k g1m two distinct day url}"
    # two views of W_ROWS groups need more than the default 256 MB
    psql_ -c "ALTER SYSTEM SET lambda.speed_layer_memory = '2GB'" -c "SELECT pg_reload_conf()" >/dev/null
    psql_ -c "CREATE FUNCTION noop_trigger() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"
    wviews() {   # wviews <configuration> <table>: its views, wv1_<c> and wv2_<c>
        local n=1 sel
        while read -r sel; do
            psql_ -c "CREATE MATERIALIZED VIEW wv${n}_$1 WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS $(w_query "$sel" "$2")"
            n=$((n + 1))
        done < <(w_selects "$1")
    }
    for r in $(seq 1 "$ROUNDS"); do
        # rotate the order so that no configuration always goes first; each
        # table (and its views' speed layer) is dropped before the next COPY
        order=$(echo $wconfigs | awk -v r="$r" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
        for c in $order; do
            psql_ <<SQL
CREATE TABLE w_$c (id bigint, k1 int, k2 int, k3 int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('w_$c', time_column => 'ts') \g /dev/null
SQL
            [ "$c" = T ] && psql_ -c "CREATE TRIGGER noop AFTER INSERT ON w_$c REFERENCING NEW TABLE AS new
                    FOR EACH STATEMENT EXECUTE FUNCTION noop_trigger()"
            wviews "$c" "w_$c"
            psql_ -c "CHECKPOINT"
            wms[$c,$r]=$(sql_ms "COPY w_$c FROM '$work/w.csv' (FORMAT csv)")
            for v in wv1_$c wv2_$c; do
                psql_ -c "DROP MATERIALIZED VIEW IF EXISTS $v"
            done
            psql_ -c "DROP TABLE w_$c"
        done
    done
    echo
    echo "w. COPY of $W_ROWS rows into an event table, by continuous views on it ($ROUNDS rounds, median ms)"
    echo "   one view: count(*), sum(x), avg(x), min(x), max(x) GROUP BY k1 (1k groups), k2 (100k) or k3 ($W_ROWS);"
    echo "   two views: the k2 and k3 ones; distinct: count(*), count(DISTINCT x) GROUP BY k2;"
    echo "   day: the five GROUP BY k2 / 10, date_trunc('day', ts, 'UTC') (~270k groups);"
    echo "   url: the five GROUP BY 'https://example.com/page/' || k2 (100k groups, a text key)"
    for c in $wconfigs; do
        vals=""
        for r in $(seq 1 "$ROUNDS"); do vals="$vals ${wms[$c,$r]}"; done
        echo "$c $vals"
    done | awk -v n="$W_ROWS" '
        function median(s,   a, m, i, j, t) {
            m = split(s, a, " ");
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2;
        }
        { c = $1; $1 = ""; med[c] = median($0); runs[c] = $0; order[++k] = c }
        END {
            name["none"] = "no view (baseline)"; name["T"] = "no-op trigger (ref.)";
            name["g1k"] = "one view, 1k groups"; name["g100k"] = "one view, 100k groups";
            name["g1m"] = "one view, " n " groups"; name["two"] = "two views (100k, " n ")";
            name["distinct"] = "count(DISTINCT), 100k";
            name["day"] = "key and day, expressions";
            name["url"] = "text key, 100k groups";
            target["g100k"] = "1.25"; target["g1m"] = "1.25"; target["two"] = "1.5"; target["distinct"] = "1.6"; target["day"] = "1.25"; target["url"] = "1.25";
            printf "%-28s %8s %8s %8s %12s   %s\n", "configuration", "ms", "ratio", "target", "ns/row extra", "ms of each round";
            for (i = 1; i <= k; i++) {
                c = order[i];
                printf "%-28s %8.0f %8.2f %8s %12s  %s\n", name[c], med[c], med[c] / med["none"],
                    c in target ? "<= " target[c] : "-", c == "none" ? "-" : sprintf("%.0f", (med[c] - med["none"]) * 1e6 / n), runs[c];
            }
        }'
    psql_ -c "DROP FUNCTION noop_trigger()"
fi

###############################################################################
# s. Small transactions: two views against none, with pgbench
if has_part s; then
    S_CLIENTS=${S_CLIENTS:-"4 16"}
    S_SECONDS=${S_SECONDS:-10}
    declare -A stps sp99
    smalltx_setup
    for cl in $S_CLIENTS; do
        for r in $(seq 1 "$ROUNDS"); do
            order="none two"
            [ $((r % 2)) -eq 0 ] && order="two none"
            for c in $order; do
                out=$($run "$bindir/pgbench" -n -h "$work" -p "$port" -c "$cl" -j 2 -T "$S_SECONDS" \
                    -f "$work/s_$c.sql" -l --log-prefix="$work/slog_$c" postgres 2>"$work/pgbench.err") ||
                    { cat "$work/pgbench.err" >&2; exit 1; }
                stps[$cl,$c,$r]=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
                sp99[$cl,$c,$r]=$(cat "$work"/slog_$c.* | awk '{ print $3 }' | sort -n |
                    awk '{ a[NR] = $1 } END { printf "%.3f", a[int(NR * 0.99 + 0.5)] / 1000 }')
                rm -f "$work"/slog_$c.*
            done
        done
    done
    echo
    echo "s. Small transactions: one INSERT of 1-10 rows each, $S_SECONDS s per run, $ROUNDS rounds (median)"
    echo "   two views: count(*), sum(x), avg(x), min(x), max(x) GROUP BY k1 and GROUP BY k2 (targets: tps >= 0.9x, p99 <= +20 %)"
    for cl in $S_CLIENTS; do
        for c in none two; do
            t=""; p=""
            for r in $(seq 1 "$ROUNDS"); do t="$t ${stps[$cl,$c,$r]}"; p="$p ${sp99[$cl,$c,$r]}"; done
            echo "$cl $c |$t |$p"
        done
    done | awk -F'|' '
        function median(s,   a, m, i, j, t) {
            m = split(s, a, " ");
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2;
        }
        BEGIN { printf "%-8s %-10s %10s %8s %10s %8s   %s\n", "clients", "views", "tps", "ratio", "p99 ms", "p99 +%", "tps of each round" }
        { split($1, h, " "); cl = h[1]; c = h[2]; t = median($2); p = median($3);
          if (c == "none") { bt = t; bp = p }
          printf "%-8s %-10s %10.0f %8.2f %10.3f %8s  %s\n", cl, c, t, t / bt, p,
              c == "none" ? "-" : sprintf("%+.0f", (p / bp - 1) * 100), $2 }'
    psql_ -c "DROP TABLE s_none" -c "DROP MATERIALIZED VIEW s_k1" -c "DROP MATERIALIZED VIEW s_k2" -c "DROP TABLE s_two"
fi
