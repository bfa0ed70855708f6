#!/bin/bash
# Retention benchmark: lambda.drop_events_before() on an event table
# partitioned by day, dropping the half of its events that lie in whole
# partitions before the cut, against the same call with
# drop_partitions => false (the row-by-row DELETE every event table had
# before 0.4.0), for several table sizes. Dropping partitions should cost
# the same whatever they hold; the DELETE grows with the rows.
#
#   bench/retention_bench.sh
#   (run as root or as a user that can run initdb; installs this tree into a
#   private copy of PostgreSQL, so it needs neither "make install" nor the
#   install lock)
#
# Sizes are environment variables (defaults in brackets):
#   ROWS    ["100000 1000000 5000000"]  events per table (one run per value)
#
# Each run builds two identical tables ev_drop and ev_delete (k int, x int,
# ts timestamptz), RANGE-partitioned by ts into 10 daily partitions
# (2025-01-01 .. 2025-01-10), the events spread evenly over the ten days,
# each with a continuous view (count(*), sum(x) GROUP BY k, 1000 keys) over
# it, then VACUUM ANALYZE and CHECKPOINT; then times
# drop_events_before(t, '2025-01-06') once on each: 5 partitions whole,
# nothing straddles the cut. It prints the ms of each and their ratio.
# Autovacuum is off (its locks would delay the drop). Timings are taken under flock /tmp/pg_lambda_bench.lock.
set -eu
ROWS=${ROWS:-"100000 1000000 5000000"}
port=${BENCH_PORT:-54361}

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
. "$src/bench/lib.sh"
conf="$bench_conf
client_min_messages = warning
autovacuum = off"

scratch_install_private
scratch_start retentionbench "$port" "$conf"
psql_ -c "CREATE EXTENSION pg_lambda"
echo "pg_lambda retention benchmark: $(nproc) cores, $(uname -r), $("$bindir/postgres" --version)"
printf '%10s %14s %16s %8s\n' rows "drop ms" "row-by-row ms" ratio

exec 8>/tmp/pg_lambda_bench.lock
for n in $ROWS; do
    for t in ev_drop ev_delete; do
        psql_ <<SQL
DROP TABLE IF EXISTS $t CASCADE;
CREATE TABLE $t (k int NOT NULL, x int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
DO \$\$
BEGIN
    FOR d IN 0 .. 9 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF $t FOR VALUES FROM (%L) TO (%L)', '${t}_' || d,
                       '2025-01-01 00:00+00'::timestamptz + d * interval '1 day',
                       '2025-01-01 00:00+00'::timestamptz + (d + 1) * interval '1 day');
    END LOOP;
END \$\$;
SELECT lambda.create_event_table('$t', time_column => 'ts') \g /dev/null
INSERT INTO $t SELECT g % 1000, g % 997, '2025-01-01 00:00+00'::timestamptz + (g::float8 / $n) * interval '10 days'
  FROM generate_series(0, $n - 1) g;
CREATE MATERIALIZED VIEW ${t}_v WITH (lambda.continuous, lambda.refresh_interval = '1 day') AS
  SELECT k, count(*), sum(x) FROM $t GROUP BY k;
VACUUM ANALYZE $t;
SQL
    done
    flock 8
    psql_ -c "CHECKPOINT"
    t_drop=$(sql_ms "SELECT lambda.drop_events_before('ev_drop', '2025-01-06 00:00+00')")
    psql_ -c "CHECKPOINT"
    t_delete=$(sql_ms "SELECT lambda.drop_events_before('ev_delete', '2025-01-06 00:00+00', drop_partitions => false)")
    flock -u 8
    left=$(psql_ -c "SELECT (SELECT count(*) FROM ev_drop) = (SELECT count(*) FROM ev_delete)")
    [ "$left" = t ] || { echo "the two tables hold different events after retention" >&2; exit 1; }
    printf '%10d %14.1f %16.1f %8.3f\n' "$n" "$t_drop" "$t_delete" "$(echo "$t_drop / $t_delete" | bc -l)"
done
