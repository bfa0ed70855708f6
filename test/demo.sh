#!/bin/sh
# "make demo": builds and installs pg_lambda, starts a throwaway PostgreSQL
# server with it preloaded and a local Kafka-protocol broker (test/kafka_broker),
# then walks through what pg_lambda does: an append-only event table, a Kafka
# source streaming sample events into it, its status and dead letters.
# Everything it starts is stopped and removed when it ends.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"

cd "$src"
make -s PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" test/kafka_broker
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
sql() {
    printf '\033[36m%s\033[0m\n' "$1"
    scratch_psql -q -v ON_ERROR_STOP=0 -c "$1" 2>&1 || true
}

step "Starting a throwaway PostgreSQL server with shared_preload_libraries = 'pg_lambda'"
scratch_start demo "${DEMO_PORT:-54329}"

step "Starting a local Kafka broker (librdkafka's mock cluster) with a 4-partition topic"
scratch_broker pageviews:4
echo "bootstrap servers: $bootstrap"

step "1. The master dataset: an append-only event table"
sql "CREATE EXTENSION pg_lambda;"
sql "CREATE TABLE pageviews (user_ip inet, url text NOT NULL, ts timestamptz NOT NULL);"
sql "SELECT lambda.create_event_table('pageviews', time_column => 'ts');"
sql "INSERT INTO pageviews VALUES ('10.0.0.1', 'foo.com/blog', now()), ('10.0.0.2', 'foo.com/', now());"
sql "SELECT * FROM lambda.event_tables;"
step "Events are immutable: UPDATE, DELETE and TRUNCATE are refused"
sql "UPDATE pageviews SET url = 'bar.com/' WHERE user_ip = '10.0.0.1';"
sql "TRUNCATE pageviews;"

step "2. Kafka ingestion: a source streams the topic into the event table, exactly once"
sql "SELECT lambda.create_kafka_source(name => 'pageviews_src', target => 'pageviews',
       brokers => '$bootstrap', topic => 'pageviews', format => 'json', parallelism => 2);"
sql "SELECT pid, backend_type, application_name FROM pg_stat_activity WHERE backend_type LIKE 'pg_lambda%';"

step "Producing 20000 sample page views (and one malformed message) with kcat"
awk 'BEGIN { srand(42); for (i = 1; i <= 20000; i++)
    printf "{\"user_ip\": \"10.0.%d.%d\", \"url\": \"foo.com/page/%d\", \"ts\": \"2025-06-01T%02d:%02d:00Z\"}\n",
           int(rand() * 4), int(rand() * 250), int(rand() * 50), int(rand() * 24), int(rand() * 60) }' \
    > "$work/events.json"
echo 'this is not json' >> "$work/events.json"
kcat -P -b "$bootstrap" -t pageviews -X sticky.partitioning.linger.ms=0 -l "$work/events.json"
for i in $(seq 1 100); do
    n=$(scratch_psql -At -c "SELECT sum(events + dead_letters) FROM lambda.source_status")
    [ "$n" = "20001" ] && break
    sleep 0.2
done
sql "SELECT * FROM lambda.source_status;"
sql "SELECT count(*) AS events, count(DISTINCT url) AS urls FROM pageviews;"
sql "SELECT source, partition, \"offset\", convert_from(payload, 'UTF8') AS payload, error FROM lambda.dead_letters;"
sql "SELECT url, count(*) AS views, count(DISTINCT user_ip) AS uniques
       FROM pageviews GROUP BY url ORDER BY views DESC LIMIT 5;"

step "Stopping and dropping the source (no restart needed)"
sql "SELECT lambda.stop_source('pageviews_src');"
sql "SELECT DISTINCT source, state FROM lambda.source_status;"
sql "SELECT lambda.drop_source('pageviews_src');"

step "Done: the demo server and broker are stopped and removed"
