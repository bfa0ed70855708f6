#!/bin/bash
# Benchmark of what extension version 0.3.0 added to continuous views:
# count(DISTINCT x), percentile_cont and sliding windows. Accuracy against
# the exact answer computed from the event table, ingest cost against a
# plain COPY and point queries against the defining query, each measured in
# the same run.
#
#   bash bench/sketch_bench.sh
#   (run as root or as a user that can run initdb; needs "make install")
#
# Sizes are environment variables (defaults in brackets):
#   DISTINCT_NS   ["1000 10000 100000 1000000"]  part 1: distinct values per group
#   DISTINCT_SETS ["sequential scrambled"]       part 1: value sets
#   DISTINCT_TXNS [10]        part 1: transactions each group's values arrive in
#   Q_ROWS        [200000]    part 2: rows per distribution
#   INGEST_ROWS   [1000000]   part 3: rows per COPY
#   INGEST_KEYS   [10000]     part 3: distinct values of k
#   ROUNDS        [2]         part 3: rounds (median reported)
#   SW_KEYS       [100000]    part 4: keys
#   SW_EVENTS     [2000000]   part 4: events before the refresh
#   SW_TAIL       [100000]    part 4: events after it
#   QUERY_SECONDS [3]         part 4: seconds each point query runs, in each timing
#   PARTS         ["1 2 3 4"] which parts to run
#
# The server is a throwaway one (fsync on, shared_buffers = 1GB,
# lambda.speed_layer_memory at its default of 256 MB). Every view has
# lambda.refresh_interval = '1 hour', so that the scheduler does not refresh
# it during a part: the script refreshes when it says so.
#
# 1. count(DISTINCT x). Event table e (k int, x bigint, ts timestamptz) and
#      d: SELECT k, count(DISTINCT x) AS u FROM e GROUP BY k
#    For each value set, e and d are created empty; then for the n-th size N
#    of DISTINCT_NS, group k = n receives the values f(1..N) in DISTINCT_TXNS
#    transactions and f(1..N/10) once more (1.1 N rows, N distinct values),
#    f(i) = i (sequential) or hashtext(i::text)::bigint * 7919 (scrambled;
#    hashtext collides now and then, so "exact" may be a little below N).
#    These events are only in the speed layer (a REFRESH before each group
#    folds the previous one's tail in, and the script waits until the
#    scheduler has freed the folded generations, so that speed_bytes is
#    this group's alone). The script prints d's answer
#    for k (a point query, with its time), the exact count(DISTINCT x) of the
#    event table and the relative error; then REFRESH MATERIALIZED VIEW d
#    (timed), d's answer again, last_refresh_mode; then a tail of N/10 new
#    values and N/10 of the old ones in one transaction (batch layer + speed
#    layer) and d's answer again. At the end of each set a last REFRESH, and
#    all of d against the defining query.
# 2. percentile_cont. Event table e2 (k int, v float8, ts timestamptz) and
#      q: SELECT k, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) p50,
#                percentile_cont(0.99) WITHIN GROUP (ORDER BY v) p99 FROM e2 GROUP BY k
#    Q_ROWS rows (setseed(0.42)) for each of k = 1 uniform random() * 1000,
#    k = 2 exp(random() * 12), k = 3 55 % -random() * 1000 and 45 %
#    random() * 1000 (p50 negative, p99 positive). Half of each before q is
#    created (batch layer), half after, in 4 transactions (speed layer).
#    q's answers against the exact percentile_cont of the event table, before
#    and after a REFRESH.
# 3. Ingest. COPY of INGEST_ROWS rows (k in 1..INGEST_KEYS, x a random
#    bigint below 2^40, v random() * 1000 with 3 decimals, ts in January
#    2025) from a CSV file generated once, into a fresh event table with
#      none      no view (baseline)
#      count     SELECT k, count(*) FROM ev GROUP BY k
#      distinct  SELECT k, count(DISTINCT x) FROM ev GROUP BY k
#      pct       SELECT k, percentile_cont(0.99) WITHIN GROUP (ORDER BY v) FROM ev GROUP BY k
#    ROUNDS rounds, order rotated per round, CHECKPOINT before each COPY,
#    commit included. After each COPY: the view's speed_keys, speed_bytes and
#    sketch_bytes_per_key (lambda.view_status), and a check of the view
#    against the defining query.
# 4. Sliding window. Event table e3 (k int, x int, ts timestamptz) with
#    SW_EVENTS events, k uniform in 1..SW_KEYS, ts = now() - random() *
#    '10 minutes'; then
#      v WITH (lambda.sliding_window = '10 minutes', lambda.window_step = '30 seconds'):
#        SELECT k, count(*), sum(x) FROM e3 GROUP BY k
#    REFRESH, and SW_TAIL more events the same way (speed layer). Point
#    queries for random keys, each for QUERY_SECONDS, timed as in
#    bench/view_bench.sh: "server", a PL/pgSQL loop around each execution
#    (plan cached), and "pgbench", one client, -M prepared:
#      v                      SELECT * FROM v WHERE k = $1
#      defining, no index     SELECT k, count(*), sum(x) FROM e3 WHERE k = $1
#                               AND ts >= date_bin('30 seconds', now() - interval '10 minutes', '2000-01-01 00:00:00+00')
#                               AND ts <  date_bin('30 seconds', now(), '2000-01-01 00:00:00+00') + interval '30 seconds'
#                             GROUP BY k
#      defining, index (k, ts) the same with an index on e3 (k, ts)
#    v is checked against the exact window query (in the same statement, so
#    with the same now()) for every key, and key by key with point queries
#    for 1000 random keys, before and after the timings (the window has
#    moved by then).
set -eu
DISTINCT_NS=${DISTINCT_NS:-"1000 10000 100000 1000000"}
DISTINCT_SETS=${DISTINCT_SETS:-"sequential scrambled"}
DISTINCT_TXNS=${DISTINCT_TXNS:-10}
Q_ROWS=${Q_ROWS:-200000}
INGEST_ROWS=${INGEST_ROWS:-1000000}
INGEST_KEYS=${INGEST_KEYS:-10000}
ROUNDS=${ROUNDS:-2}
SW_KEYS=${SW_KEYS:-100000}
SW_EVENTS=${SW_EVENTS:-2000000}
SW_TAIL=${SW_TAIL:-100000}
QUERY_SECONDS=${QUERY_SECONDS:-3}
PARTS=${PARTS:-"1 2 3 4"}
port=${BENCH_PORT:-54345}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
conf="$bench_conf
client_min_messages = warning"

# val_ms <query>: "<the query's one value> <ms>"
val_ms() {
    psql_ -c '\timing on' -c "$1" | awk '/^Time: / { ms = $2; next } { v = $0 } END { print v, ms }'
}


# wait_empty <view>: until the view's speed layer holds no bytes (folded
# generations are freed by the scheduler about once a second), 10 s at most
wait_empty() {
    for _ in $(seq 1 100); do
        [ "$(psql_ -c "SELECT speed_bytes FROM lambda.view_status WHERE view = '$1'::regclass")" = 0 ] && return 0
        sleep 0.1
    done
    echo "the speed layer of $1 was not freed within 10 s" >&2
}

scratch_start sketchbench "$port" "$conf"
psql_ -c "CREATE EXTENSION pg_lambda"
echo "pg_lambda sketch benchmark: $(nproc) cores, $(uname -r), $("$bindir/postgres" --version)," \
     "extension $(psql_ -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_lambda'")"
if rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null); then
    [ -z "$(git -C "$src" status --porcelain -- src sql/install Makefile pg_lambda.control)" ] ||
        rev="$rev (src/ or sql/install/ modified in the work tree: the installed build may differ)"
    lib="$("$PG_CONFIG" --pkglibdir)/pg_lambda.so"
    newer=$(find "$src/src" -name '*.[ch]' -newer "$lib" -printf '%f ' 2>/dev/null || true)
    [ -z "$newer" ] || rev="$rev; changed after $lib was installed: ${newer% }"
    echo "tree at commit $rev"
fi
t_start=$(date +%s)

###############################################################################
# 1. count(DISTINCT x): speed layer (sketch), after a refresh (exact), with a tail
if has_part 1; then
    out="$work/p1.txt"
    : > "$out"
    final=""
    for set in $DISTINCT_SETS; do
        case $set in
            sequential) f='i::bigint' ;;
            scrambled) f='hashtext(i::text)::bigint * 7919' ;;
            *) echo "unknown value set $set" >&2; exit 1 ;;
        esac
        psql_ <<SQL
CREATE TABLE e (k int, x bigint, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('e', time_column => 'ts') \g /dev/null
CREATE MATERIALIZED VIEW d WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
    SELECT k, count(DISTINCT x) AS u FROM e GROUP BY k;
SQL
        k=0
        for n in $DISTINCT_NS; do
            k=$((k + 1))
            # fold the previous group's tail in, and wait until the scheduler
            # has freed the folded generations: the speed layer then holds
            # this group alone
            psql_ -c "REFRESH MATERIALIZED VIEW d"
            wait_empty d
            for j in $(seq 0 $((DISTINCT_TXNS - 1))); do
                psql_ -c "INSERT INTO e SELECT $k, $f, now() FROM generate_series($((j * n / DISTINCT_TXNS + 1)), $(((j + 1) * n / DISTINCT_TXNS))) i"
            done
            psql_ -c "INSERT INTO e SELECT $k, $f, now() FROM generate_series(1, $((n / 10))) i"
            exact=$(psql_ -c "SELECT count(DISTINCT x) FROM e WHERE k = $k")
            read -r u1 ms1 <<<"$(val_ms "SELECT u FROM d WHERE k = $k")"
            read -r skeys sbytes sketchb <<<"$(psql_ -F ' ' -c "SELECT speed_keys, speed_bytes, sketch_bytes_per_key FROM lambda.view_status WHERE view = 'd'::regclass")"
            rms=$(sql_ms "REFRESH MATERIALIZED VIEW d")
            mode=$(psql_ -c "SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'd'::regclass")
            read -r u2 ms2 <<<"$(val_ms "SELECT u FROM d WHERE k = $k")"
            psql_ -c "INSERT INTO e SELECT $k, $f, now() FROM generate_series($((n + 1)), $((n + n / 10))) i
                      UNION ALL SELECT $k, $f, now() FROM generate_series($((n / 10 + 1)), $((2 * n / 10))) i"
            exact3=$(psql_ -c "SELECT count(DISTINCT x) FROM e WHERE k = $k")
            read -r u3 ms3 <<<"$(val_ms "SELECT u FROM d WHERE k = $k")"
            echo "$set $n $k $exact $u1 $ms1 $skeys $sbytes $sketchb $rms ${mode// /_} $u2 $ms2 $exact3 $u3 $ms3" >> "$out"
        done
        rms=$(sql_ms "REFRESH MATERIALIZED VIEW d")
        mode=$(psql_ -c "SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'd'::regclass")
        wrong=$(psql_ -c "SELECT count(*) FROM ((SELECT * FROM d EXCEPT ALL SELECT k, count(DISTINCT x) FROM e GROUP BY k)
                          UNION ALL (SELECT k, count(DISTINCT x) FROM e GROUP BY k EXCEPT ALL SELECT * FROM d)) z")
        rows=$(psql_ -c "SELECT count(*) FROM e")
        final="$final   $set: last REFRESH ($rows events) $rms ms, $mode; then d vs the defining query: $wrong rows differ
"
        psql_ -c "DROP TABLE e CASCADE"
    done
    echo
    echo "1. count(DISTINCT x) per group: d's answer against count(DISTINCT x) of the event table"
    echo "   speed layer: N values in $DISTINCT_TXNS transactions + N/10 repeated, only in the speed layer | then REFRESH |"
    echo "   then + tail: N/10 new and N/10 repeated values in one transaction. ms: the point query on d (psql \\timing)"
    awk '
        function err(v, x) { return x == 0 ? 0 : (v - x) / x * 100 }
        BEGIN {
            printf "%-28s | %-44s | %-50s | %s\n", "", "speed layer", "after REFRESH", "+ tail";
            printf "%-10s %8s %8s | %8s %8s %7s %9s %9s | %10s %-12s %8s %8s %7s | %8s %8s %8s %7s\n",
                "set", "N", "exact", "speed", "err %", "ms", "bytes", "sketch B",
                "refresh ms", "mode", "answer", "err %", "ms", "exact", "answer", "err %", "ms";
        }
        { printf "%-10s %8d %8d | %8d %+8.3f %7.2f %9d %9d | %10.0f %-12s %8d %+8.3f %7.2f | %8d %8d %+8.3f %7.2f\n",
              $1, $2, $4, $5, err($5, $4), $6, $8, $9, $10, $11, $12, err($12, $4), $13, $14, $15, err($15, $14), $16 }' "$out" |
        sed 's/^/   /'
    echo "   (bytes: speed_bytes of d after the group's inserts, the group's key alone, with the generation's hash"
    echo "    buckets; sketch B: sketch_bytes_per_key)"
    printf '%s' "$final"
fi

###############################################################################
# 2. percentile_cont: quantile sketch against the exact percentile
if has_part 2; then
    half=$((Q_ROWS / 2))
    psql_ <<SQL
CREATE TABLE e2 (k int, v float8, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('e2', time_column => 'ts') \g /dev/null
SELECT setseed(0.42) \g /dev/null
CREATE TABLE e2_src AS
    SELECT k, i, CASE k WHEN 1 THEN random() * 1000
                        WHEN 2 THEN exp(random() * 12)
                        ELSE CASE WHEN random() < 0.55 THEN -random() * 1000 ELSE random() * 1000 END END AS v
      FROM generate_series(1, 3) k, generate_series(1, $Q_ROWS) i;
INSERT INTO e2 SELECT k, v, now() FROM e2_src WHERE i <= $half;
CREATE MATERIALIZED VIEW q WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
    SELECT k, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY v) p99 FROM e2 GROUP BY k;
SQL
    for j in 0 1 2 3; do
        psql_ -c "INSERT INTO e2 SELECT k, v, now() FROM e2_src
                  WHERE i > $((half + j * (Q_ROWS - half) / 4)) AND i <= $((half + (j + 1) * (Q_ROWS - half) / 4))"
    done
    read -r batch_rows skeys sbytes sketchb <<<"$(psql_ -F ' ' -c "SELECT batch_rows, speed_keys, speed_bytes, sketch_bytes_per_key FROM lambda.view_status WHERE view = 'q'::regclass")"
    exact_sql="SELECT k, percentile_cont(0.5) WITHIN GROUP (ORDER BY v), percentile_cont(0.99) WITHIN GROUP (ORDER BY v) FROM e2 GROUP BY k ORDER BY k"
    psql_ -F ' ' -c "$exact_sql" > "$work/p2_exact.txt"
    psql_ -F ' ' -c "SELECT k, p50, p99 FROM q ORDER BY k" > "$work/p2_speed.txt"
    rms=$(sql_ms "REFRESH MATERIALIZED VIEW q")
    mode=$(psql_ -c "SELECT last_refresh_mode FROM lambda.view_status WHERE view = 'q'::regclass")
    psql_ -F ' ' -c "SELECT k, p50, p99 FROM q ORDER BY k" > "$work/p2_refreshed.txt"
    rows=$(psql_ -c "SELECT count(*) FROM e2")
    echo
    echo "2. percentile_cont, $Q_ROWS rows per distribution ($rows events), half in the batch layer, half in the speed layer"
    echo "   (speed layer: $skeys keys, $sbytes bytes, sketch_bytes_per_key $sketchb); then REFRESH ($rms ms, $mode)"
    paste -d ' ' "$work/p2_exact.txt" "$work/p2_speed.txt" "$work/p2_refreshed.txt" | awk '
        function err(v, x) { return (v - x) / (x < 0 ? -x : x) * 100 }
        function abs(x) { return x < 0 ? -x : x }
        BEGIN {
            name[1] = "uniform 0..1000"; name[2] = "exp(random()*12)"; name[3] = "55% neg, 45% pos";
            printf "%-18s %5s %16s %16s %9s %16s %9s %8s\n", "distribution", "p", "exact", "view", "err %", "after REFRESH", "err %", "<= 1 %";
        }
        {
            # k e50 e99 k v50 v99 k r50 r99
            for (c = 0; c < 2; c++) {
                x = $(2 + c); v = $(5 + c); r = $(8 + c);
                ok = abs(err(v, x)) <= 1 && abs(err(r, x)) <= 1 ? "yes" : "NO";
                printf "%-18s %5s %16.6g %16.6g %+9.4f %16.6g %+9.4f %8s\n", name[$1], c ? "0.99" : "0.5", x, v, err(v, x), r, err(r, x), ok;
            }
        }' | sed 's/^/   /'
    psql_ -c "DROP TABLE e2 CASCADE" -c "DROP TABLE e2_src"
fi

###############################################################################
# 3. Ingest cost of a count(*), a count(DISTINCT x) and a percentile_cont view
if has_part 3; then
    # x: %.0f, since mawk's %d stops at 2^31 - 1
    awk -v n="$INGEST_ROWS" -v keys="$INGEST_KEYS" 'BEGIN {
        srand(31);
        for (i = 0; i < n; i++)
            printf "%d,%.0f,%.3f,2025-01-%02d %02d:%02d:%02d+00\n", 1 + int(rand() * keys),
                int(rand() * 1099511627776), rand() * 1000,
                1 + int(rand() * 28), int(rand() * 24), int(rand() * 60), int(rand() * 60);
    }' > "$work/ingest.csv"
    chmod 644 "$work/ingest.csv"
    configs="none count distinct pct"
    declare -A ms_of stat_of
    for r in $(seq 1 "$ROUNDS"); do
        for c in $configs; do
            psql_ <<SQL
CREATE TABLE ev_$c (k int, x bigint, v float8, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('ev_$c', time_column => 'ts') \g /dev/null
SQL
            case $c in
                count) agg='count(*)' ;;
                distinct) agg='count(DISTINCT x)' ;;
                pct) agg='percentile_cont(0.99) WITHIN GROUP (ORDER BY v)' ;;
                *) agg="" ;;
            esac
            [ -z "$agg" ] || psql_ -c "CREATE MATERIALIZED VIEW v_$c WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS
                SELECT k, $agg AS a FROM ev_$c GROUP BY k"
        done
        order=$(echo $configs | awk -v r="$r" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
        for c in $order; do
            psql_ -c "CHECKPOINT"
            ms_of[$c,$r]=$(sql_ms "COPY ev_$c FROM '$work/ingest.csv' (FORMAT csv)")
            if [ "$c" != none ]; then
                case $c in
                    count) agg='count(*)' ;;
                    distinct) agg='count(DISTINCT x)' ;;
                    pct) agg='percentile_cont(0.99) WITHIN GROUP (ORDER BY v)' ;;
                esac
                read -r skeys sbytes sketchb <<<"$(psql_ -F ' ' -c "SELECT speed_keys, speed_bytes, sketch_bytes_per_key FROM lambda.view_status WHERE view = 'v_$c'::regclass")"
                # percentile_cont: within 1 % of the exact value; the others equal
                wrong=$(psql_ -c "SELECT count(*) FROM v_$c FULL JOIN (SELECT k, $agg AS a FROM ev_$c GROUP BY k) x USING (k)
                                  WHERE NOT coalesce(CASE WHEN '$c' = 'pct' THEN abs(v_$c.a - x.a) <= 0.01 * abs(x.a)
                                                          ELSE v_$c.a = x.a END, false)")
                stat_of[$c,$r]="$skeys $sbytes $sketchb $wrong"
                [ "$c" != distinct ] || [ "$r" != 1 ] ||
                    per_key=$(psql_ -c "SELECT round(avg(n), 1) || ' rows, ' || round(avg(u), 1) || ' distinct x'
                                        FROM (SELECT count(*) n, count(DISTINCT x) u FROM ev_$c GROUP BY k) z")
            fi
        done
        for c in $configs; do psql_ -c "DROP TABLE ev_$c CASCADE"; done
    done
    echo
    echo "3. COPY of $INGEST_ROWS rows (k in 1..$INGEST_KEYS) into an event table, by the view on it ($ROUNDS rounds, median ms)"
    [ -z "${per_key:-}" ] || echo "   per key on average: $per_key"
    for c in $configs; do
        vals=""
        st="- - - -"
        for r in $(seq 1 "$ROUNDS"); do
            vals="$vals ${ms_of[$c,$r]}"
            [ "$c" = none ] && continue
            [ "$r" = 1 ] || [ "${stat_of[$c,$r]}" = "$st" ] ||
                echo "   $c: round $r: speed_keys, speed_bytes, sketch_bytes_per_key, wrong $st -> ${stat_of[$c,$r]}" >&2
            st="${stat_of[$c,$r]}"
        done
        echo "$c $st $vals"
    done | awk -v n="$INGEST_ROWS" '
        function median(s,   a, m, i, j, t) {
            m = split(s, a, " ");
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
            return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2;
        }
        { c = $1; sk[c] = $2; sb[c] = $3; sx[c] = $4; wr[c] = $5; $1 = $2 = $3 = $4 = $5 = ""; med[c] = median($0); runs[c] = $0; order[++k] = c }
        END {
            name["none"] = "no view (baseline)"; name["count"] = "count(*)";
            name["distinct"] = "count(DISTINCT x)"; name["pct"] = "percentile_cont(0.99)";
            printf "%-22s %8s %10s %12s %11s %12s %10s %14s %7s   %s\n", "view", "ms", "rows/s", "vs baseline",
                "speed_keys", "speed_bytes", "bytes/key", "sketch B/key", "wrong", "ms of each round";
            for (i = 1; i <= k; i++) {
                c = order[i];
                rel = (med[c] - med["none"]) / med["none"] * 100;
                printf "%-22s %8.0f %10.0f %12s %11s %12s %10s %14s %7s  %s\n", name[c], med[c], n / (med[c] / 1000),
                    c == "none" ? "-" : sprintf("%+.0f %%", rel), sk[c], sb[c],
                    c == "none" ? "-" : sprintf("%.0f", sb[c] / sk[c]), sx[c], wr[c], runs[c];
            }
        }' | sed 's/^/   /'
    echo "   (speed_keys, speed_bytes, sketch_bytes_per_key after each COPY, the same in every round unless noted above;"
    echo "    wrong: keys where the view differed from the defining query after it (percentile_cont: by more than 1 %))"
    rm -f "$work/ingest.csv"
fi

###############################################################################
# 4. Sliding window: point query on v against the defining query with the window filter
if has_part 4; then
    win="ts >= date_bin('30 seconds', now() - interval '10 minutes', '2000-01-01 00:00:00+00')
         AND ts < date_bin('30 seconds', now(), '2000-01-01 00:00:00+00') + interval '30 seconds'"
    psql_ <<SQL
CREATE TABLE e3 (k int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('e3', time_column => 'ts') \g /dev/null
SELECT setseed(0.17) \g /dev/null
INSERT INTO e3 SELECT 1 + floor(random() * $SW_KEYS)::int, floor(random() * 1000)::int,
                      now() - random() * interval '10 minutes'
                 FROM generate_series(1, $SW_EVENTS);
VACUUM ANALYZE e3;
SQL
    create_ms=$(sql_ms "CREATE MATERIALIZED VIEW v WITH (lambda.continuous, lambda.refresh_interval = '1 hour',
                        lambda.sliding_window = '10 minutes', lambda.window_step = '30 seconds') AS
                        SELECT k, count(*), sum(x) FROM e3 GROUP BY k")
    refresh_ms=$(sql_ms "REFRESH MATERIALIZED VIEW v")
    psql_ <<SQL
INSERT INTO e3 SELECT 1 + floor(random() * $SW_KEYS)::int, floor(random() * 1000)::int,
                      now() - random() * interval '10 minutes'
                 FROM generate_series(1, $SW_TAIL);
VACUUM ANALYZE e3;
VACUUM ANALYZE lambda_catalog.v_batch;
SQL
    read -r batch_rows skeys sbytes state mode <<<"$(psql_ -F ' ' -c "SELECT batch_rows, speed_keys, speed_bytes, state, last_refresh_mode FROM lambda.view_status WHERE view = 'v'::regclass")"
    def_sql="SELECT k, count(*), sum(x) FROM e3 WHERE k = KEY AND $win GROUP BY k"
    v_sql="SELECT * FROM v WHERE k = KEY"
    v_perform=${v_sql#SELECT }; def_perform=${def_sql#SELECT }
    psql_ <<SQL
CREATE FUNCTION time_query(kind text, seconds float8, OUT median_ms float8, OUT p95_ms float8, OUT n int)
LANGUAGE plpgsql AS \$\$
DECLARE
    d float8[] := '{}'; key int; t timestamptz;
    stop timestamptz := clock_timestamp() + seconds * interval '1 s';
BEGIN
    LOOP
        key := 1 + floor(random() * $SW_KEYS)::int;
        t := clock_timestamp();
        CASE kind
        WHEN 'v' THEN PERFORM ${v_perform//KEY/key};
        WHEN 'def' THEN PERFORM ${def_perform//KEY/key};
        END CASE;
        d := array_append(d, extract(epoch FROM clock_timestamp() - t)::float8 * 1000);
        EXIT WHEN clock_timestamp() >= stop OR cardinality(d) >= 200000;
    END LOOP;
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x), percentile_disc(0.95) WITHIN GROUP (ORDER BY x), count(*)
      INTO median_ms, p95_ms, n FROM unnest(d) x;
END
\$\$;
-- check_points(n): of n random keys, how many point queries on v differ from
-- the exact window query (one transaction: the same now() for both)
CREATE FUNCTION check_points(n int) RETURNS int LANGUAGE plpgsql AS \$\$
DECLARE
    key int; kk int; c1 bigint; s1 bigint; c2 bigint; s2 bigint; wrong int := 0;
BEGIN
    FOR i IN 1..n LOOP
        key := 1 + floor(random() * $SW_KEYS)::int;
        SELECT v.count, v.sum INTO c1, s1 FROM v WHERE k = key;
        ${def_sql//KEY/key} INTO kk, c2, s2;
        IF c1 IS DISTINCT FROM c2 OR s1 IS DISTINCT FROM s2 THEN wrong := wrong + 1; END IF;
    END LOOP;
    RETURN wrong;
END
\$\$;
SQL
    check() {
        local all points
        all=$(psql_ -c "SELECT count(*) FROM ((SELECT * FROM v EXCEPT ALL SELECT k, count(*), sum(x) FROM e3 WHERE $win GROUP BY k)
                        UNION ALL (SELECT k, count(*), sum(x) FROM e3 WHERE $win GROUP BY k EXCEPT ALL SELECT * FROM v)) z")
        points=$(psql_ -c "SELECT check_points(1000)")
        echo "$1: all keys, v vs the exact window query: $all rows differ; 1000 random point queries: $points differ"
    }
    checks=$(check "before the timings")
    plan=$(psql_ -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM v WHERE k = 42" | grep -E 'Speed Layer|Index|Foreign Scan')
    out="$work/p4.txt"
    : > "$out"
    measure() {
        local server client
        server=$(psql_ -F ' ' -c "SELECT round(median_ms::numeric, 4), round(p95_ms::numeric, 4), n FROM time_query('$2', $QUERY_SECONDS)")
        client=$(pgbench_q "$1" prepared "\\set k random(1, $SW_KEYS)
${3//KEY/:k};")
        echo "$1 $server $client" >> "$out"
    }
    measure v v "$v_sql"
    measure def_noindex def "$def_sql"
    index_ms=$(sql_ms "CREATE INDEX e3_k_ts ON e3 (k, ts)")
    psql_ -c "ANALYZE e3"
    measure def_index def "$def_sql"
    checks="$checks
$(check "after the timings")"
    echo
    echo "4. Sliding window (10 minutes, step 30 seconds), $SW_EVENTS events over $SW_KEYS keys in the last 10 minutes,"
    echo "   REFRESH, then $SW_TAIL more (speed layer). v created in $create_ms ms, refreshed in $refresh_ms ms ($mode)"
    echo "   batch_rows $batch_rows; speed layer: $skeys keys, $sbytes bytes, state $state; index (k, ts) built in $index_ms ms"
    echo "$checks" | sed 's/^/   /'
    echo "   plan of SELECT * FROM v WHERE k = 42:"
    echo "$plan" | sed 's/^/     /'
    echo "   server: execution time inside the server (PL/pgSQL loop, plan cached); pgbench: 1 client, -M prepared; ${QUERY_SECONDS} s each, ms"
    awk '
        { k = $1; med[k] = $2; p95[k] = $3; n[k] = $4; bmed[k] = $5; bp95[k] = $6; bn[k] = $7 }
        END {
            name["v"] = "v (sliding window view)"; name["def_noindex"] = "defining query, no index";
            name["def_index"] = "defining query, index (k, ts)";
            split("v def_noindex def_index", kinds, " ");
            printf "%-32s %9s %9s %7s %9s %9s %7s %11s %12s\n", "", "server", "", "", "pgbench", "", "", "server", "pgbench";
            printf "%-32s %9s %9s %7s %9s %9s %7s %11s %12s\n", "query", "median", "p95", "n", "median", "p95", "n", "median / v", "median / v";
            for (j = 1; j <= 3; j++) {
                kd = kinds[j];
                printf "%-32s %9.3f %9.3f %7d %9.3f %9.3f %7d %11.1f %12.1f\n", name[kd], med[kd], p95[kd], n[kd],
                    bmed[kd], bp95[kd], bn[kd], med[kd] / med["v"], bmed[kd] / bmed["v"];
            }
        }' "$out" | sed 's/^/   /'
fi

echo
echo "total $(( $(date +%s) - t_start )) s"
