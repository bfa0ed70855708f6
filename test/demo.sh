#!/bin/sh
# "make demo": builds and installs pg_lambda, starts a throwaway PostgreSQL
# server with it preloaded and a local Kafka-protocol broker (test/kafka_broker),
# then walks through what pg_lambda does: an append-only event table, a Kafka
# source streaming sample events into it, its status and dead letters, and a
# continuous (lambda) view that answers while more events stream in.
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

# sample page views: $1 events from random seed $2, on 2025-06-01
page_views() {
    awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); for (i = 1; i <= n; i++)
        printf "{\"user_ip\": \"10.0.%d.%d\", \"url\": \"foo.com/page/%d\", \"ts\": \"2025-06-01T%02d:%02d:00Z\"}\n",
               int(rand() * 4), int(rand() * 250), int(rand() * 50), int(rand() * 24), int(rand() * 60) }'
}
# waits until the source has consumed $1 messages in all
wait_consumed() {
    for _ in $(seq 1 150); do
        n=$(scratch_psql -At -c "SELECT sum(events + dead_letters) FROM lambda.source_status")
        [ "$n" = "$1" ] && return 0
        sleep 0.2
    done
    echo "the source consumed $n of $1 messages" >&2
}

step "Producing 20000 sample page views (and one malformed message) with kcat"
page_views 20000 42 > "$work/events.json"
echo 'this is not json' >> "$work/events.json"
kcat -P -b "$bootstrap" -t pageviews -X sticky.partitioning.linger.ms=0 -l "$work/events.json"
wait_consumed 20001
sql "SELECT * FROM lambda.source_status;"
sql "SELECT count(*) AS events, count(DISTINCT url) AS urls FROM pageviews;"
sql "SELECT source, partition, \"offset\", convert_from(payload, 'UTF8') AS payload, error FROM lambda.dead_letters;"
sql "SELECT url, count(*) AS views, count(DISTINCT user_ip) AS uniques
       FROM pageviews GROUP BY url ORDER BY views DESC LIMIT 5;"

step "3. A continuous (lambda) view: page views per URL and hour, always up to date"
sql "CREATE MATERIALIZED VIEW pageviews_hourly
       WITH (lambda.continuous, lambda.refresh_interval = '1 minute') AS
       SELECT url, date_bin('1 hour', ts, '2025-01-01') AS hour,
              count(*) AS views, count(DISTINCT user_ip) AS uniques, max(ts) AS last_view
         FROM pageviews GROUP BY url, date_bin('1 hour', ts, '2025-01-01');"
sql "SELECT * FROM pageviews_hourly WHERE url = 'foo.com/page/7' ORDER BY hour LIMIT 3;"
sql "SELECT view, state, speed_keys, batch_rows, last_refresh_mode FROM lambda.view_status;"

step "Streaming 30000 more page views through Kafka while we query the view"
page_views 30000 7 | split -l 2000 - "$work/more."
(
    for f in "$work"/more.*; do
        kcat -P -b "$bootstrap" -t pageviews -X sticky.partitioning.linger.ms=0 -l "$f"
        sleep 0.4
    done
) &
producer=$!
q="SELECT sum(views) AS views, sum(views) FILTER (WHERE url = 'foo.com/page/7') AS \"foo.com/page/7\",
          (SELECT views FROM pageviews_hourly WHERE url = 'foo.com/page/7' AND hour = '2025-06-01 12:00+00') AS \"... at noon\"
     FROM pageviews_hourly;"
printf '\033[36m%s\033[0m\n' "$q"
scratch_psql -q -P footer=off -c "$q" | sed -n 1,3p   # before the stream, with the header
for _ in 1 2 3 4 5 6; do                             # once a second while it streams
    sleep 1
    scratch_psql -q -P footer=off -c "$q" | sed -n 3p
done
wait "$producer"
wait_consumed 50001
scratch_psql -q -P footer=off -c "$q" | sed -n 3p     # once all 30000 are in

step "The speed layer holds what arrived since the last refresh; REFRESH folds it into the batch table"
sql "SELECT view, state, speed_keys, speed_bytes, batch_rows, last_refresh_mode FROM lambda.view_status;"
sql "REFRESH MATERIALIZED VIEW pageviews_hourly;"
sql "SELECT view, state, speed_keys, batch_rows, last_refresh_mode, last_refresh_duration FROM lambda.view_status;"

step "The view gives the same answer as its defining query over all events"
sql "SELECT url, sum(views) AS views FROM pageviews_hourly GROUP BY url ORDER BY views DESC, url LIMIT 3;"
sql "SELECT url, count(*) AS views FROM pageviews GROUP BY url ORDER BY views DESC, url LIMIT 3;"
sql "SELECT count(*) AS rows_that_differ FROM (
       (TABLE pageviews_hourly EXCEPT ALL
        SELECT url, date_bin('1 hour', ts, '2025-01-01'), count(*), count(DISTINCT user_ip), max(ts)
          FROM pageviews GROUP BY 1, 2)
       UNION ALL
       (SELECT url, date_bin('1 hour', ts, '2025-01-01'), count(*), count(DISTINCT user_ip), max(ts)
          FROM pageviews GROUP BY 1, 2
        EXCEPT ALL TABLE pageviews_hourly)) d;"

step "4. A sliding window: the last 10 minutes of event time, per URL, at read time"
sql "INSERT INTO pageviews SELECT ('10.1.0.' || i % 200)::inet, 'foo.com/page/' || i % 5,
       now() - random() * interval '30 minutes' FROM generate_series(1, 20000) i;"
sql "CREATE MATERIALIZED VIEW active_urls
       WITH (lambda.continuous, lambda.sliding_window = '10 minutes', lambda.window_step = '30 seconds') AS
       SELECT url, count(*) AS views, count(DISTINCT user_ip) AS uniques FROM pageviews GROUP BY url;"
sql "INSERT INTO pageviews SELECT ('10.2.0.' || i % 100)::inet, 'foo.com/page/' || i % 5, now()
       FROM generate_series(1, 1000) i;"
sql "SELECT * FROM active_urls ORDER BY url;"
sql "SELECT url, count(*) AS views, count(DISTINCT user_ip) AS uniques FROM pageviews
      WHERE ts >= date_bin('30 seconds', now() - interval '10 minutes', '2000-01-01 00:00+00')
        AND ts < date_bin('30 seconds', now(), '2000-01-01 00:00+00') + interval '30 seconds'
      GROUP BY url ORDER BY url;"
sql "SELECT view, state, speed_keys, batch_rows, sliding_window, window_step, sketch_bytes_per_key FROM lambda.view_status;"

step "Stopping and dropping the source (no restart needed)"
sql "SELECT lambda.stop_source('pageviews_src');"
sql "SELECT DISTINCT source, state FROM lambda.source_status;"
sql "SELECT lambda.drop_source('pageviews_src');"

sql "DROP MATERIALIZED VIEW pageviews_hourly;"
sql "DROP MATERIALIZED VIEW active_urls;"

step "Done: the demo server and broker are stopped and removed"
