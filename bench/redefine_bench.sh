#!/bin/bash
# Redefinition and rollup benchmark: what CALL lambda.alter_view_query costs
# beside lambda.recompute of the same view, and what a point query on a
# rollup of a view costs beside the same query on the view, in one run.
#
#   bench/redefine_bench.sh
#   (run as root or as a user that can run initdb; installs this tree into a
#   private copy of PostgreSQL, so it needs neither "make install" nor the
#   install lock)
#
# Sizes are environment variables (defaults in brackets):
#   EVENTS  [1000000]  events (id bigint, k int, g int, x int, ts timestamptz)
#   KEYS    [100000]   distinct values of k
#   ROUNDS  [3]        timings per operation (median reported)
#   QUERY_SECONDS [5]  how long each point query runs (pgbench, one client)
#
# The view: SELECT k, date_trunc('day', ts, 'UTC') AS day, count(*), sum(x),
# avg(x), min(x), max(x) FROM events GROUP BY 1, 2. It prints the median ms of
#   recompute        SELECT lambda.recompute('lv')
#   redefine         CALL lambda.alter_view_query('lv', ...) to the view with
#                    one more aggregate (sum(g)) and back, alternately
# and redefine / recompute. Then it makes the weekly rollup of the view
# (SELECT k, date_trunc('week', day, 'UTC') AS week, sum(count), max(max)
# FROM lv GROUP BY 1, 2) and prints the median and p95 ms of the point query
# WHERE k = :k (random k, prepared) on the view and on the rollup. The server is a throwaway one (fsync on,
# shared_buffers = 1GB, maintenance_work_mem = 512MB); a CHECKPOINT runs
# before each timing, under flock /tmp/pg_lambda_bench.lock.
set -eu
EVENTS=${EVENTS:-1000000}
KEYS=${KEYS:-100000}
ROUNDS=${ROUNDS:-3}
QUERY_SECONDS=${QUERY_SECONDS:-5}
port=${BENCH_PORT:-54353}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"
conf="$bench_conf
client_min_messages = warning"


scratch_install_private
scratch_start redefinebench "$port" "$conf"
psql_ -c "CREATE EXTENSION pg_lambda"
echo "pg_lambda redefinition benchmark: $(nproc) cores, $(uname -r), $("$bindir/postgres" --version)"
echo "EVENTS=$EVENTS KEYS=$KEYS ROUNDS=$ROUNDS (median ms)"
awk -v n="$EVENTS" -v keys="$KEYS" 'BEGIN {
    srand(21);
    for (i = 1; i <= n; i++)
        printf "%d,%d,%d,%d,2025-01-%02d %02d:%02d:%02d+00\n", i, 1 + int(rand() * keys), int(rand() * 100),
            int(rand() * 1000), 1 + int(rand() * 28), int(rand() * 24), int(rand() * 60), int(rand() * 60);
}' > "$work/events.csv"
chmod 644 "$work/events.csv"
a="SELECT k, date_trunc('day', ts, 'UTC') AS day, count(*), sum(x), avg(x), min(x), max(x) FROM events GROUP BY 1, 2"
b="SELECT k, date_trunc('day', ts, 'UTC') AS day, count(*), sum(x), avg(x), min(x), max(x), sum(g) AS sg FROM events GROUP BY 1, 2"
psql_ <<SQL
CREATE TABLE events (id bigint, k int, g int, x int, ts timestamptz NOT NULL);
SELECT lambda.create_event_table('events', time_column => 'ts') \g /dev/null
COPY events FROM '$work/events.csv' (FORMAT csv);
VACUUM ANALYZE events;
CREATE MATERIALIZED VIEW lv WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS $a;
SQL

exec 8>/tmp/pg_lambda_bench.lock
flock 8
recompute="" redefine=""
for r in $(seq 1 "$ROUNDS"); do
    psql_ -c "CHECKPOINT"
    recompute="$recompute $(sql_ms "SELECT lambda.recompute('lv')")"
    q=$b; [ $((r % 2)) -eq 0 ] && q=$a
    psql_ -c "CHECKPOINT"
    redefine="$redefine $(sql_ms "CALL lambda.alter_view_query('lv', \$q\$$q\$q\$)")"
done
flock -u 8
groups=$(psql_ -c "SELECT count(*) FROM lv")
last=$a; [ $((ROUNDS % 2)) -eq 1 ] && last=$b
diff=$(psql_ -c "SELECT count(*) FROM ((SELECT * FROM lv EXCEPT ALL $last) UNION ALL ($last EXCEPT ALL SELECT * FROM lv)) d")
t_rc=$(echo "$recompute" | median)
t_rd=$(echo "$redefine" | median)
awk -v rc="$t_rc" -v rd="$t_rd" -v groups="$groups" -v diff="$diff" 'BEGIN {
    printf "  %-28s %9.0f\n", "lambda.recompute", rc;
    printf "  %-28s %9.0f  %5.2fx recompute\n", "lambda.alter_view_query", rd, rd / rc;
    printf "  groups: %d; rows differing from the new defining query: %s\n", groups, diff;
}'

# a point query on the rollup beside the same on the view it rolls up
psql_ -c "CREATE MATERIALIZED VIEW lw WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
          SELECT k, date_trunc('week', day, 'UTC') AS week, sum(count) AS n, max(max) AS top FROM lv GROUP BY 1, 2"
psql_ -c "VACUUM ANALYZE"
flock 8
lower=$(pgbench_q lower prepared "\\set k random(1, $KEYS)
SELECT * FROM lv WHERE k = :k;")
upper=$(pgbench_q upper prepared "\\set k random(1, $KEYS)
SELECT * FROM lw WHERE k = :k;")
flock -u 8
echo "$lower" | awk '{ printf "  %-28s %9.3f ms median, %.3f p95 (%d queries)\n", "point query on the view", $1, $2, $3 }'
echo "$upper" | awk '{ printf "  %-28s %9.3f ms median, %.3f p95 (%d queries)\n", "point query on its rollup", $1, $2, $3 }'
