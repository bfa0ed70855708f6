# Helpers shared by the benchmarks that query a scratch server (sourced after
# test/scratch.sh; they need $work, $port, $bindir, $run and QUERY_SECONDS).

psql_() { scratch_psql -At -q -v ON_ERROR_STOP=1 "$@"; }

# The median of the numbers on standard input (separated by blanks).
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# Wall-clock ms of one SQL statement, commit included (psql's \timing).
sql_ms() {
    psql_ -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1
}

# median_p95 <log prefix>: "median_ms p95_ms count" of a pgbench -l log.
median_p95() {
    cat "$1".* | awk '{ print $3 }' | sort -n |
        awk '{ a[NR] = $1 } END { printf "%.3f %.3f %d\n", a[int((NR + 1) / 2)] / 1000, a[int(NR * 0.95 + 0.5)] / 1000, NR }'
    rm -f "$1".*
}

# pgbench_q <name> <mode> <script text>: runs the script for QUERY_SECONDS
# with one client and prints "median_ms p95_ms count".
pgbench_q() {
    printf '%s\n' "$3" > "$work/$1.sql"
    chmod 644 "$work/$1.sql"
    $run "$bindir/pgbench" -n -h "$work" -p "$port" -M "$2" -T "$QUERY_SECONDS" \
        -f "$work/$1.sql" -l --log-prefix="$work/log_$1" postgres >/dev/null 2>"$work/pgbench.err" ||
        { cat "$work/pgbench.err" >&2; exit 1; }
    median_p95 "$work/log_$1"
}

# The server settings every benchmark starts from (a script adds its own).
bench_conf="shared_buffers = '1GB'
maintenance_work_mem = '512MB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'"

# gen_events <file> <first id> <count> <seed>: CSV events (id, k in 1..KEYS,
# two ints, a time in January 2025), readable by the server.
gen_events() {
    awk -v first="$2" -v n="$3" -v keys="$KEYS" -v seed="$4" 'BEGIN {
        srand(seed);
        for (i = 0; i < n; i++)
            printf "%d,%d,%d,%d,2025-01-%02d %02d:%02d:%02d+00\n", first + i,
                1 + int(rand() * keys), int(rand() * 100), int(rand() * 1000),
                1 + int(rand() * 28), int(rand() * 24), int(rand() * 60), int(rand() * 60);
    }' > "$1"
    chmod 644 "$1"
}

# gen_wrows <file> <count>: the CSV rows of view_bench.sh part w (id, k1 in
# 1..1000, k2 in 1..100000, k3 unique in a scrambled order, x, a time in
# January 2025), readable by the server.
gen_wrows() {
    awk -v n="$2" 'BEGIN {
        srand(31);
        for (i = 0; i < n; i++)
            printf "%d,%d,%d,%d,%d,2025-01-%02d %02d:%02d:%02d+00\n", i + 1,
                1 + int(rand() * 1000), 1 + int(rand() * 100000), (i * 7919) % n + 1, int(rand() * 1000),
                1 + int(rand() * 28), int(rand() * 24), int(rand() * 60), int(rand() * 60);
    }' > "$1"
    chmod 644 "$1"
}

# w_selects <configuration>: the select lists of view_bench.sh part w's
# views of that configuration over gen_wrows' rows, one a line (g1k, g100k,
# g1m, two, distinct, filter, day, hour, url; none for none, or any other
# name). A line
# "list#groups" is grouped by those columns, any other by its first one
# (w_query).
w_selects() {
    local five="count(*), sum(x), avg(x), min(x), max(x)"
    case $1 in
        g1k) echo "k1, $five" ;;
        g100k) echo "k2, $five" ;;
        g1m) echo "k3, $five" ;;
        two) echo "k2, $five"; echo "k3, $five" ;;
        distinct) echo "k2, count(*) AS n, count(DISTINCT x) AS nx" ;;
        # aggregates with FILTER clauses (100k groups)
        filter) echo "k2, count(*) AS n, count(*) FILTER (WHERE x > 500) AS big, sum(x) FILTER (WHERE k1 < 500) AS s1, max(x) FILTER (WHERE x % 3 = 0) AS m3" ;;
        # a key and a time bucket, both expressions (~270k groups of 1M rows)
        day) echo "k2 / 10 AS k, date_trunc('day', ts, 'UTC') AS day, $five#1, 2" ;;
        # a key and the hour (~1M groups of 1M rows: nearly every row a new
        # group, each in the speed layer's column indexes)
        hour) echo "k2, date_trunc('hour', ts) AS hour, count(*), max(x)#1, 2" ;;
        # a text key of ~30 bytes (100k groups)
        url) echo "'https://example.com/page/' || k2 AS url, $five" ;;
    esac
}

# w_query <line of w_selects> <table>: that view's defining query
w_query() {
    local sel=$1 groups=1
    case $sel in
        *"#"*) groups=${sel#*#}; sel=${sel%%#*} ;;
    esac
    echo "SELECT $sel FROM $2 GROUP BY $groups"
}

# smalltx_setup: the tables of the small-transaction runs (view_bench.sh
# part s, smalltx_cpu.sh): event tables s_none (no view) and s_two (two
# views of count(*), sum(x), avg(x), min(x), max(x), by k1 and by k2), and
# a pgbench script $work/s_<table>.sql for each, one INSERT of 1-10 rows.
smalltx_setup() {
    local c sel five="count(*), sum(x), avg(x), min(x), max(x)"
    for c in none two; do
        psql_ <<SQL
CREATE TABLE s_$c (id bigint, k1 int, k2 int, k3 int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('s_$c', time_column => 'ts') \g /dev/null
SQL
        cat > "$work/s_$c.sql" <<SQL
\set n random(1, 10)
INSERT INTO s_$c SELECT i, 1 + (random() * 999)::int, 1 + (random() * 99999)::int, i,
  (random() * 999)::int, '2025-01-05 10:00:00+00' FROM generate_series(1, :n) i;
SQL
        chmod 644 "$work/s_$c.sql"
    done
    for sel in k1 k2; do
        psql_ -c "CREATE MATERIALIZED VIEW s_$sel WITH (lambda.continuous, lambda.refresh_interval = '1 hour') AS SELECT $sel, $five FROM s_two GROUP BY 1"
    done
}
