#!/bin/sh
# A real Apache Kafka 4.x broker for pg_lambda's tests, benchmarks and for
# trying pg_lambda by hand: one KRaft node (broker and controller in one
# JVM) on loopback ports, with its data, configuration and log under DIR.
#
#   test/apache_kafka.sh fetch            fetch the jars (once), print their folder
#   test/apache_kafka.sh start DIR        start a broker in DIR (format it first if new),
#                                         print its bootstrap address (127.0.0.1:PORT)
#   test/apache_kafka.sh stop DIR         stop it cleanly (SIGTERM, then SIGKILL after 60 s)
#   test/apache_kafka.sh kill DIR         SIGKILL it (a broker crash); start DIR brings it back
#   test/apache_kafka.sh run CLASS [ARGS...]
#                                         run a Kafka tool class (kafka.tools.*,
#                                         org.apache.kafka.tools.*) on the broker's classpath
#
# start on a DIR that holds a stopped broker restarts that broker with its
# data, on the same ports. The broker listens on
#   PLAINTEXT       127.0.0.1:PORT     (printed; also in DIR/bootstrap)
#   SASL_PLAINTEXT  127.0.0.1:PORT+    SCRAM-SHA-256 and PLAIN, user DIR/sasl_user with
#                                      password DIR/sasl_password (DIR/sasl_bootstrap).
#                                      librdkafka before 2.6.1 cannot log in with SCRAM
#                                      to Kafka 4.x (it repeats the client nonce, which
#                                      4.x rejects); PLAIN works with any librdkafka.
#   SASL_SSL        127.0.0.1:PORT++   the same over TLS (DIR/ssl_bootstrap); the broker's
#                                      certificate (for 127.0.0.1 and localhost) is signed
#                                      by a CA made for DIR: clients trust DIR/ca.pem
#   CONTROLLER      127.0.0.1:PORT+++  KRaft, internal
# Topics are not created automatically (auto.create.topics.enable=false).
#
# The jars come from Maven Central through test/kafka/pom.xml
# (mvn dependency:copy-dependencies), once per version, into
#   $PG_LAMBDA_KAFKA_CACHE/<version>/libs   (default cache: /var/cache/pg_lambda/kafka
#                                            when it can be written or already holds the
#                                            version, else ~/.cache/pg_lambda/kafka)
# Maven also keeps them in its own ~/.m2. Nothing else is downloaded.
#
# Environment:
#   PG_LAMBDA_KAFKA_VERSION   Kafka version (default: the pom's, 4.3.2)
#   PG_LAMBDA_KAFKA_CACHE     jar cache folder (see above)
#   PG_LAMBDA_KAFKA_HEAP      broker heap (default 512m)
#   PG_LAMBDA_KAFKA_OWNER     a process id: the broker is killed when that process
#                             is gone (tests pass their own pid, so a killed test
#                             never leaves a broker behind)
#   PG_LAMBDA_KAFKA_LOG_LEVEL log4j level of DIR/server.log (default INFO)
#   PG_LAMBDA_KAFKA_PROPERTIES extra server.properties lines, for a new DIR
#
# Every failure says why and exits non-zero: a test that needs this broker and
# cannot get one (Maven Central unreachable, no java, a port taken) fails.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
pom="$src/test/kafka/pom.xml"
# The default version is the pom's property, so the two cannot disagree.
default_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
version=${PG_LAMBDA_KAFKA_VERSION:-$default_version}
heap=${PG_LAMBDA_KAFKA_HEAP:-512m}
start_timeout=${PG_LAMBDA_KAFKA_START_TIMEOUT:-120}

die() { echo "apache_kafka.sh: $*" >&2; exit 1; }

# The cache folder: the machine-wide one when usable (root fills it once and
# every user, e.g. "postgres" running the tests, reads it), else per user.
cache_root() {
    if [ -n "${PG_LAMBDA_KAFKA_CACHE:-}" ]; then
        echo "$PG_LAMBDA_KAFKA_CACHE"
    elif [ -f "/var/cache/pg_lambda/kafka/$version/libs/.complete" ]; then
        echo /var/cache/pg_lambda/kafka
    elif mkdir -p /var/cache/pg_lambda/kafka 2>/dev/null && [ -w /var/cache/pg_lambda/kafka ]; then
        echo /var/cache/pg_lambda/kafka
    else
        echo "${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/pg_lambda/kafka"
    fi
}

# Fetches the broker's jars once (under a lock, so that concurrent callers
# wait for one download) and prints the folder holding them.
fetch() {
    command -v java >/dev/null || die "java not found (install a JRE >= 17: test/install_deps.sh)"
    libs="$(cache_root)/$version/libs"
    if [ -f "$libs/.complete" ]; then
        echo "$libs"
        return
    fi
    command -v mvn >/dev/null || die "mvn not found, needed once to fetch Apache Kafka $version (test/install_deps.sh installs maven)"
    mkdir -p "$(dirname "$libs")" || die "cannot create $(dirname "$libs")"
    exec 8>"$(dirname "$libs")/.lock"
    flock 8
    if [ ! -f "$libs/.complete" ]; then
        tmp="$libs.tmp.$$"
        rm -rf "$tmp"
        echo "apache_kafka.sh: fetching Apache Kafka $version from Maven Central into $libs" >&2
        # -B: no progress bars; the log is kept for when it fails
        if ! mvn -B -q -f "$pom" -Dkafka.version="$version" \
                dependency:copy-dependencies -DoutputDirectory="$tmp" \
                >"$(dirname "$libs")/fetch.log" 2>&1; then
            rm -rf "$tmp"
            tail -n 20 "$(dirname "$libs")/fetch.log" >&2
            die "could not fetch Apache Kafka $version from Maven Central (mvn failed; whole log: $(dirname "$libs")/fetch.log)"
        fi
        ls "$tmp"/kafka_2.13-"$version".jar >/dev/null 2>&1 ||
            die "Maven fetched no kafka_2.13-$version.jar into $tmp"
        touch "$tmp/.complete"
        chmod -R a+rX "$tmp"
        rm -rf "$libs"
        mv "$tmp" "$libs"
    fi
    flock -u 8
    echo "$libs"
}

# The class of the storage tool: kafka.tools.StorageTool (Scala, Kafka 3.x
# and 4.0-4.3) or org.apache.kafka.tools.StorageTool (where it moved to
# Java). Jars list their entries uncompressed, so grep finds the name.
storage_tool_class() {
    if grep -q -a 'org/apache/kafka/tools/StorageTool.class' "$1"/*.jar; then
        echo org.apache.kafka.tools.StorageTool
    elif grep -q -a 'kafka/tools/StorageTool.class' "$1"/*.jar; then
        echo kafka.tools.StorageTool
    else
        die "no StorageTool class in the jars of $1"
    fi
}

# Four free TCP ports on 127.0.0.1, asked of the kernel (bound at once and
# released, so another process could still take one; start then fails loudly).
free_ports() {
    perl -MIO::Socket::INET -e '
        my @s = map { IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                            Proto => "tcp", Listen => 1, ReuseAddr => 0)
                      or die "cannot bind a port: $!\n" } 1 .. 4;
        print join(" ", map { $_->sockport } @s), "\n";'
}

# A KRaft cluster id: 16 random bytes in URL-safe base64 without padding,
# as Kafka's "random-uuid" prints (saves starting a JVM for it).
cluster_id() {
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c 1-22)
    case $id in -*) cluster_id ;; *) echo "$id" ;; esac
}

# A CA of DIR's own and a certificate for 127.0.0.1/localhost signed by it;
# the broker reads its key and chain from one PEM file (Kafka's PEM key
# store), clients trust DIR/ca.pem. Nothing is encrypted at rest: test keys.
make_certificates() {
    dir=$1
    command -v openssl >/dev/null || die "openssl not found, needed for the TLS listener (test/install_deps.sh installs it)"
    (
        cd "$dir" && umask 077 &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pg_lambda test CA" \
            -keyout ca.key -out ca.pem &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext &&
        openssl x509 -req -days 3650 -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -extfile server.ext -out server.pem &&
        cat server.key server.pem ca.pem >server_keystore.pem &&
        chmod 644 ca.pem
    ) >"$dir/certificates.log" 2>&1 || { cat "$dir/certificates.log" >&2; die "could not make the TLS certificates in $dir"; }
}

# Writes DIR's configuration and formats its storage, with the SCRAM user.
configure() {
    dir=$1 libs=$2
    set -- $(free_ports)
    port=$1 sasl_port=$2 ssl_port=$3 controller_port=$4
    user=pg_lambda
    password=$(head -c 18 /dev/urandom | base64 | tr -d '+/=' | cut -c 1-20)
    mkdir -p "$dir/data"
    make_certificates "$dir"
    (umask 077; : >"$dir/server.properties")
    cat >>"$dir/server.properties" <<EOF
# Written by test/apache_kafka.sh: one KRaft node, broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port,SASL_SSL://127.0.0.1:$ssl_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port,SASL_SSL://127.0.0.1:$ssl_port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
# SCRAM-SHA-256 (the credential is added at format time) and PLAIN (its
# users are listed here: this file holds a password, so it is private)
sasl.enabled.mechanisms=SCRAM-SHA-256,PLAIN
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user="$password";
# the same logins over TLS: key and certificate chain from one PEM file
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user="$password";
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$dir/server_keystore.pem
log.dirs=$dir/data
# one node: every internal topic has one replica; few partitions start fast
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# tests create their topics explicitly, with the partitions they mean
auto.create.topics.enable=false
num.partitions=1
# a consumer group forms at once instead of waiting 3 s for more members
group.initial.rebalance.delay.ms=0
# both consumer-group protocols: classic, and KIP-848's (group.protocol=consumer
# on the client), which is Kafka 4.x's default too; under KIP-848 the broker
# owns the session timeout and heartbeat interval: a crashed member is noticed
# after 6 s, as the tests' classic sources ask with session.timeout.ms
group.coordinator.rebalance.protocols=classic,consumer
group.consumer.min.session.timeout.ms=6000
group.consumer.session.timeout.ms=6000
group.consumer.min.heartbeat.interval.ms=1000
group.consumer.heartbeat.interval.ms=1000
# retention runs every 5 s (tests with small retention.ms see it soon)
log.retention.check.interval.ms=5000
# two cores shared with PostgreSQL: fewer threads than the defaults
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
    if [ -n "${PG_LAMBDA_KAFKA_PROPERTIES:-}" ]; then
        printf '%s\n' "$PG_LAMBDA_KAFKA_PROPERTIES" >>"$dir/server.properties"
    fi
    cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${PG_LAMBDA_KAFKA_LOG_LEVEL:-INFO}
rootLogger.appenderRef.file.ref = FILE
EOF
    echo "127.0.0.1:$port" >"$dir/bootstrap"
    echo "127.0.0.1:$sasl_port" >"$dir/sasl_bootstrap"
    echo "127.0.0.1:$ssl_port" >"$dir/ssl_bootstrap"
    echo "$user" >"$dir/sasl_user"
    (umask 077; echo "$password" >"$dir/sasl_password")
    # The format command prints the salted credential, never the password;
    # its output goes to a file all the same.
    if ! java -Xmx256m -cp "$libs/*" "$(storage_tool_class "$libs")" format \
            --config "$dir/server.properties" --cluster-id "$(cluster_id)" \
            --add-scram "SCRAM-SHA-256=[name=$user,password=$password]" \
            >"$dir/format.log" 2>&1; then
        cat "$dir/format.log" >&2
        die "could not format the storage in $dir/data"
    fi
}

broker_pid() {
    [ -f "$1/kafka.pid" ] || return 1
    pid=$(cat "$1/kafka.pid")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

start() {
    dir=$1
    mkdir -p "$dir" || die "cannot create $dir"
    dir=$(cd "$dir" && pwd)
    if pid=$(broker_pid "$dir"); then
        die "a broker already runs in $dir (pid $pid)"
    fi
    command -v kcat >/dev/null || die "kcat not found (test/install_deps.sh installs it)"
    libs=$(fetch)
    # a folder whose storage was never formatted (an earlier start failed
    # there) is configured afresh
    [ -f "$dir/data/meta.properties" ] || configure "$dir" "$libs"
    bootstrap=$(cat "$dir/bootstrap")

    # setsid: its own session, so a terminal's ^C or the caller's process
    # group signals do not reach it; stdin/stdout/stderr never the caller's,
    # so that $(apache_kafka.sh start DIR) returns.
    setsid java -Xmx"$heap" -Xms128m -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$dir/log4j2.properties" \
        -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
        </dev/null >>"$dir/stdout.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/kafka.pid"

    if [ -n "${PG_LAMBDA_KAFKA_OWNER:-}" ]; then
        # The watchdog: kill the broker once its owner is gone.
        owner=$PG_LAMBDA_KAFKA_OWNER
        setsid sh -c "while kill -0 $owner 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 2; done;
                      kill -9 $pid 2>/dev/null" </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi

    # Ready when its PLAINTEXT port accepts connections (polled every 0.2 s)
    # and it answers a metadata request there.
    port=${bootstrap##*:}
    tries=0
    until perl -MIO::Socket::INET -e 'exit !IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0], Timeout => 1)' "$port" &&
          kcat -L -b "$bootstrap" -m 5 >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
            die "the broker in $dir exited during start-up (logs above)"
        fi
        if [ "$tries" -ge $((start_timeout * 5)) ]; then
            tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
            kill -9 "$pid" 2>/dev/null || true
            die "the broker in $dir did not answer on $bootstrap within ${start_timeout}s"
        fi
        sleep 0.2
        tries=$((tries + 1))
    done
    echo "$bootstrap"
}

# Stops the broker of DIR: with SIGTERM (a clean shutdown) or SIGKILL.
stop() {
    dir=$1 signal=$2
    if [ -f "$dir/watchdog.pid" ]; then
        kill "$(cat "$dir/watchdog.pid")" 2>/dev/null || true
        rm -f "$dir/watchdog.pid"
    fi
    pid=$(broker_pid "$dir") || { rm -f "$dir/kafka.pid"; return 0; }
    kill -"$signal" "$pid" 2>/dev/null || true
    waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge 600 ]; then        # 60 s in tenths
            echo "apache_kafka.sh: the broker in $dir ignored SIGTERM for 60 s; killing it" >&2
            kill -9 "$pid" 2>/dev/null || true
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    rm -f "$dir/kafka.pid"
}

cmd=${1:-}
case $cmd in
    fetch) fetch ;;
    start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
    stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" TERM ;;
    kill) [ $# -eq 2 ] || die "usage: $0 kill DIR"; stop "$2" KILL ;;
    run)
        [ $# -ge 2 ] || die "usage: $0 run CLASS [ARGS...]"
        class=$2
        shift 2
        libs=$(fetch)
        exec java -Xmx256m -cp "$libs/*" "$class" "$@"
        ;;
    *) die "usage: $0 fetch | start DIR | stop DIR | kill DIR | run CLASS [ARGS...]" ;;
esac
