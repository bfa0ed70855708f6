# Shell helpers shared by "make demo" (test/demo.sh) and the benchmarks
# (bench/*.sh): a throwaway PostgreSQL server with pg_lambda preloaded and the
# test Kafka broker, both removed by scratch_cleanup (installed as an EXIT
# trap). Source it after setting $src (the tree's top directory).
#
#   scratch_start <name> <port> [extra postgresql.conf lines]
#       sets $work (a fresh directory), $bindir, $run (runs a command as the
#       server's owner) and starts the server on the Unix socket in $work
#   scratch_broker <topic[:partitions]> ...
#       starts test/kafka_broker and sets $bootstrap
#   scratch_apache_kafka <topic:partitions> ...
#       starts a real Apache Kafka broker (test/apache_kafka.sh) in $work/kafka,
#       creates the topics (test/kafka_client) and sets $bootstrap
#   scratch_psql [psql options]
#       psql on the scratch server as its owner
#   scratch_install_private
#       (before scratch_start) installs this tree into a private copy of the
#       PostgreSQL that $PG_CONFIG names, sets $private and points $bindir there
#   SCRATCH_KEEP=1 keeps everything for inspection instead of removing it.

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$PG_CONFIG" --bindir)
broker_pid=""
kafka_dir=""
work=""
run=""
private=""

scratch_cleanup() {
    [ -n "$work$private" ] || return 0
    if [ -n "${SCRATCH_KEEP:-}" ]; then
        echo "kept $work $private" >&2
        return 0
    fi
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
    [ -n "$kafka_dir" ] && sh "$src/test/apache_kafka.sh" stop "$kafka_dir" || true
    [ -n "$work" ] && $run "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work" "$private"
}

# scratch_overlay <dir> <private dir>: symbolic links in <private dir> to every
# entry of <dir> it does not have yet, merging subdirectories both have.
# pg_lambda's own files are never linked: only this tree's are used.
scratch_overlay() {
    for f in "$1"/*; do
        n=$2/${f##*/}
        case ${f##*/} in pg_lambda*) continue ;; esac
        if [ ! -e "$n" ] && [ ! -L "$n" ]; then
            ln -s "$f" "$n"
        elif [ -d "$f" ] && [ -d "$n" ] && [ ! -L "$n" ]; then
            scratch_overlay "$f" "$n"
        fi
    done
}

# PostgreSQL finds its share and lib directories relative to its executable
# when they sit where they sat relative to the bin directory at build time
# (PostgreSQL installations are relocatable). So copies of postgres, initdb
# and pg_ctl in $private/<bindir>, beside $private/<sharedir> and
# $private/<pkglibdir> holding "make install DESTDIR=$private" and symbolic
# links to the rest of the system's installation, make a PostgreSQL that
# loads this tree's pg_lambda without writing to the system's directories.
# (The executables are copied, not linked: PostgreSQL resolves symbolic
# links to find itself.) scratch_start checks that the server really uses it.
scratch_install_private() {
    private=$(mktemp -d /tmp/pg_lambda_private.XXXXXX)
    chmod 755 "$private"
    trap scratch_cleanup EXIT INT TERM
    make -s -C "$src" PG_CONFIG="$PG_CONFIG" install DESTDIR="$private" >/dev/null
    sys_bindir=$("$PG_CONFIG" --bindir)
    mkdir -p "$private$sys_bindir"
    for f in postgres initdb pg_ctl; do cp "$sys_bindir/$f" "$private$sys_bindir/"; done
    for d in "$sys_bindir" "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)"; do
        scratch_overlay "$d" "$private$d"
    done
    bindir=$private$sys_bindir
}

scratch_start() {
    name=$1; scratch_port=$2; extra=${3:-}
    work=$(mktemp -d "/tmp/pg_lambda_$name.XXXXXX")
    chmod 755 "$work"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$work"
        run="runuser -u postgres --"
    fi
    trap scratch_cleanup EXIT INT TERM
    $run "$bindir/initdb" -D "$work/data" -A trust >/dev/null
    {
        cat "$src/test/pg_lambda.conf"
        echo "unix_socket_directories = '$work'"
        echo "listen_addresses = ''"
        [ -n "$extra" ] && printf '%s\n' "$extra"
    } | $run tee -a "$work/data/postgresql.conf" >/dev/null
    $run "$bindir/pg_ctl" -D "$work/data" -o "-p $scratch_port" -l "$work/server.log" -w start >/dev/null
    if [ -n "$private" ]; then
        libdir=$(scratch_psql -At -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")
        case $libdir in
            "$private"/*) ;;
            *) echo "the server in $private loads its libraries from $libdir, not from the private copy" >&2
               exit 1 ;;
        esac
    fi
}

scratch_broker() {
    mkfifo "$work/broker.in"
    "$src/test/kafka_broker" "$@" <"$work/broker.in" >"$work/broker.out" 2>"$work/broker.err" &
    broker_pid=$!
    exec 9>"$work/broker.in"    # keep the control pipe open while we run
    for _ in $(seq 1 100); do
        grep -q '^BOOTSTRAP' "$work/broker.out" 2>/dev/null && break
        sleep 0.1
    done
    bootstrap=$(sed -n 's/^BOOTSTRAP //p' "$work/broker.out")
    [ -n "$bootstrap" ] || { echo "the test broker did not start:" >&2; cat "$work/broker.err" >&2; exit 1; }
}

scratch_apache_kafka() {
    kafka_dir="$work/kafka"
    # the broker dies with this script even if the EXIT trap cannot run
    bootstrap=$(PG_LAMBDA_KAFKA_OWNER=$$ sh "$src/test/apache_kafka.sh" start "$kafka_dir") ||
        { echo "the Apache Kafka broker did not start (see above)" >&2; exit 1; }
    for t in "$@"; do
        "$src/test/kafka_client" -b "$bootstrap" create-topic "${t%%:*}" "${t#*:}" || exit 1
    done
}

scratch_psql() {
    $run "$bindir/psql" -X -h "$work" -p "$scratch_port" -d postgres "$@"
}
