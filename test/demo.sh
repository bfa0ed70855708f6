#!/bin/sh
# "make demo": builds pg_lambda, installs it into a private copy of the
# system's PostgreSQL (the system's installation is not changed), starts a
# throwaway server with it preloaded and a local Kafka-protocol broker
# (test/kafka_broker), then walks through what pg_lambda does: an append-only
# event table, a Kafka source streaming sample events into it, its status and
# dead letters, and a continuous (lambda) view that answers while more events
# stream in.
# Everything it starts is stopped and removed when it ends, unless
# SCRATCH_KEEP=1: then the server and the broker keep running and the demo
# prints how to connect.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/test/scratch.sh"
port=${DEMO_PORT:-54329}

# Bold headings and coloured statements on a terminal only: piped into a
# file or a pager, the output carries no escape codes.
if [ -t 1 ]; then
    bold=$(printf '\033[1m'); cyan=$(printf '\033[36m'); off=$(printf '\033[0m')
else
    bold=""; cyan=""; off=""
fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
say() { printf '%s\n' "$*"; }
# sql <statement>: shows the statement, then its result (or its error).
sql() {
    printf '%s%s%s\n' "$cyan" "$1" "$off"
    scratch_psql -q -v ON_ERROR_STOP=0 -c "$1" 2>&1 || true
}
# run <statement>: for calls that return nothing (void functions): shows the
# statement and any notice or error, but not an empty result table.
run() {
    printf '%s%s%s\n' "$cyan" "$1" "$off"
    scratch_psql -q -v ON_ERROR_STOP=0 -o /dev/null -c "$1" 2>&1 || true
}

cd "$src"
step "Building pg_lambda"
make -s PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" test/kafka_broker
scratch_install_private
say "Installed into a private copy of PostgreSQL $("$PG_CONFIG" --version | sed 's/^PostgreSQL //'): $private"
say "(the PostgreSQL that $PG_CONFIG names is not changed; 'make install' installs there)"

step "Starting a throwaway PostgreSQL server with shared_preload_libraries = 'pg_lambda'"
scratch_start demo "$port"
say "data directory $work/data, socket in $work, port $port"

step "Starting a local Kafka broker (librdkafka's mock cluster) with a 4-partition topic"
scratch_broker pageviews:4
say "bootstrap servers: $bootstrap"

step "1. The master dataset: an append-only event table"
run "CREATE EXTENSION pg_lambda;"
run "CREATE TABLE pageviews (user_ip inet, url text NOT NULL, ts timestamptz NOT NULL);"
run "SELECT lambda.create_event_table('pageviews', time_column => 'ts');"
run "INSERT INTO pageviews VALUES ('10.0.0.1', 'foo.com/blog', now()), ('10.0.0.2', 'foo.com/', now());"
sql "SELECT * FROM lambda.event_tables;"
step "Events are immutable: UPDATE, DELETE and TRUNCATE are refused"
run "UPDATE pageviews SET url = 'bar.com/' WHERE user_ip = '10.0.0.1';"
run "TRUNCATE pageviews;"

step "2. Kafka ingestion: a source streams the topic into the event table, exactly once"
run "SELECT lambda.create_kafka_source(name => 'pageviews_src', target => 'pageviews',
       brokers => '$bootstrap', topic => 'pageviews', format => 'json', parallelism => 2);"
sql "SELECT pid, backend_type, application_name FROM pg_stat_activity WHERE backend_type LIKE 'pg_lambda%';"

# sample page views: $1 events from random seed $2, on 2025-06-01
page_views() {
    awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); for (i = 1; i <= n; i++)
        printf "{\"user_ip\": \"10.0.%d.%d\", \"url\": \"foo.com/page/%d\", \"ts\": \"2025-06-01T%02d:%02d:00Z\"}\n",
               int(rand() * 4), int(rand() * 250), int(rand() * 50), int(rand() * 24), int(rand() * 60) }'
}
# produce <file>: sends each line of the file to the topic as one message
produce() {
    kcat -P -b "$bootstrap" -t pageviews -X sticky.partitioning.linger.ms=0 -l "$1"
}
# waits until the source has consumed $1 messages in all
wait_consumed() {
    for _ in $(seq 1 300); do
        n=$(scratch_psql -At -c "SELECT sum(events + dead_letters) FROM lambda.source_status")
        [ "$n" = "$1" ] && return 0
        sleep 0.1
    done
    echo "the source consumed $n of $1 messages" >&2
}

step "Producing 20000 sample page views (and one malformed message) with kcat"
page_views 20000 42 > "$work/events.json"
echo 'this is not json' >> "$work/events.json"
produce "$work/events.json"
wait_consumed 20001
sql "SELECT * FROM lambda.source_status;"
sql "SELECT count(*) AS events, count(DISTINCT url) AS urls FROM pageviews;"
sql "SELECT source, partition, \"offset\", convert_from(payload, 'UTF8') AS payload, error FROM lambda.dead_letters;"
sql "SELECT url, count(*) AS views, count(DISTINCT user_ip) AS uniques
       FROM pageviews GROUP BY url ORDER BY views DESC LIMIT 5;"

step "3. A continuous (lambda) view: page views per URL and hour, always up to date"
# The refresh interval is longer than the demo: every change below comes from
# the speed layer, until the explicit REFRESH further down.
sql "CREATE MATERIALIZED VIEW pageviews_hourly
       WITH (lambda.continuous, lambda.refresh_interval = '10 minutes') AS
       SELECT url, date_bin('1 hour', ts, '2025-01-01') AS hour,
              count(*) AS views, count(DISTINCT user_ip) AS uniques, max(ts) AS last_view
         FROM pageviews GROUP BY url, date_bin('1 hour', ts, '2025-01-01');"
sql "SELECT * FROM pageviews_hourly WHERE url = 'foo.com/page/7' ORDER BY hour LIMIT 3;"
sql "SELECT view, state, speed_keys, batch_rows, last_refresh_mode, last_refresh FROM lambda.view_status;"

step "The view updates live: five bursts of 3000 page views through Kafka, each followed by a query"
say "No REFRESH runs in between (the refresh interval is 10 minutes): each new count is"
say "the batch table merged with the speed layer, which every committed batch of"
say "Kafka messages updates. lambda.view_status.last_refresh stays where it was."
say ""
page_views 15000 7 | split -l 3000 - "$work/burst."
# One line per query: the server's clock, the whole view's total, one group,
# the speed layer's keys and the time of the last refresh.
q="SELECT to_char(clock_timestamp(), 'HH24:MI:SS.MS'),
          (SELECT sum(views) FROM pageviews_hourly),
          (SELECT coalesce(sum(views), 0) FROM pageviews_hourly
            WHERE url = 'foo.com/page/7' AND hour = '2025-06-01 12:00+00'),
          speed_keys, to_char(last_refresh, 'HH24:MI:SS.MS')
     FROM lambda.view_status WHERE view = 'pageviews_hourly'::regclass"
row() {
    scratch_psql -At -F ' ' -c "$q" |
        while read -r t total one keys refreshed; do
            printf '%-22s %-12s %12s %18s %11s   %s\n' "$1" "$t" "$total" "$one" "$keys" "$refreshed"
        done
}
last_refresh() {
    scratch_psql -At -c "SELECT last_refresh FROM lambda.view_status WHERE view = 'pageviews_hourly'::regclass"
}
refreshed_before=$(last_refresh)
printf '%-22s %-12s %12s %18s %11s   %s\n' "" "time" "views" "page/7 at noon" "speed keys" "last_refresh"
row "before the stream"
consumed=20001
i=0
for f in "$work"/burst.*; do
    i=$((i + 1))
    produce "$f"
    consumed=$((consumed + 3000))
    wait_consumed "$consumed"
    row "after burst $i (+3000)"
done
say ""
if [ "$(last_refresh)" = "$refreshed_before" ]; then
    say "last_refresh is still $refreshed_before: no refresh ran while the counts grew."
else
    say "last_refresh moved from $refreshed_before to $(last_refresh): a refresh ran meanwhile."
fi
say "$consumed messages consumed so far: $((consumed - 1)) page views and the malformed one (a dead letter)."

step "REFRESH folds the speed layer into the batch table; the answer does not change"
sql "SELECT view, state, speed_keys, speed_bytes, batch_rows, last_refresh_mode, last_refresh FROM lambda.view_status;"
run "REFRESH MATERIALIZED VIEW pageviews_hourly;"
sql "SELECT view, state, speed_keys, batch_rows, last_refresh_mode, last_refresh_duration, last_refresh FROM lambda.view_status;"
sql "SELECT sum(views) AS views FROM pageviews_hourly;"

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
run "INSERT INTO pageviews SELECT ('10.1.0.' || i % 200)::inet, 'foo.com/page/' || i % 5,
       now() - random() * interval '30 minutes' FROM generate_series(1, 20000) i;"
sql "CREATE MATERIALIZED VIEW active_urls
       WITH (lambda.continuous, lambda.sliding_window = '10 minutes', lambda.window_step = '30 seconds') AS
       SELECT url, count(*) AS views, count(DISTINCT user_ip) AS uniques FROM pageviews GROUP BY url;"
run "INSERT INTO pageviews SELECT ('10.2.0.' || i % 100)::inet, 'foo.com/page/' || i % 5, now()
       FROM generate_series(1, 1000) i;"
sql "SELECT * FROM active_urls ORDER BY url;"
sql "SELECT url, count(*) AS views, count(DISTINCT user_ip) AS uniques FROM pageviews
      WHERE ts >= date_bin('30 seconds', now() - interval '10 minutes', '2000-01-01 00:00+00')
        AND ts < date_bin('30 seconds', now(), '2000-01-01 00:00+00') + interval '30 seconds'
      GROUP BY url ORDER BY url;"
sql "SELECT view, state, speed_keys, batch_rows, sliding_window, window_step, sketch_bytes_per_key FROM lambda.view_status;"

if [ -n "${SCRATCH_KEEP:-}" ]; then
    step "Kept running (SCRATCH_KEEP): the server, the broker, the source and the views"
    say "Connect with:"
    say "  $run $("$PG_CONFIG" --bindir)/psql -X -h $work -p $port -d postgres" | sed 's/  */ /g; s/^ /  /'
    say "Produce more page views (one JSON object per line) with:"
    say "  kcat -P -b $bootstrap -t pageviews"
    say "Stop and remove everything with:"
    say "  $run $bindir/pg_ctl -D $work/data stop; kill $broker_pid; rm -rf $work $private" | sed 's/  */ /g; s/^ /  /'
    exit 0
fi

step "Stopping and dropping the source (no restart needed)"
run "SELECT lambda.stop_source('pageviews_src');"
sql "SELECT DISTINCT source, state FROM lambda.source_status;"
run "SELECT lambda.drop_source('pageviews_src');"

run "DROP MATERIALIZED VIEW pageviews_hourly;"
run "DROP MATERIALIZED VIEW active_urls;"

step "Done: the demo server and broker are stopped and removed"
say "To keep them running and explore: SCRATCH_KEEP=1 make demo"
