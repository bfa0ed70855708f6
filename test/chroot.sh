#!/bin/sh
# Build and test pg_lambda against a PostgreSQL major in a chroot of the
# Debian suite that ships it ("make test PG=NN", "make test-deb PG=NN").
#
#   test/chroot.sh MAJOR test      build with -Werror and run the whole suite
#                                  (test/run_tests.sh: pg_regress, isolation,
#                                  TAP with Kafka), then the package test
#                                  (test/deb_test.sh)
#   test/chroot.sh MAJOR deb       the package test only
#   test/chroot.sh MAJOR prepare   only make (or check) the chroot and its packages
#   test/chroot.sh MAJOR sh [CMD]  a shell (or CMD) as root in a fresh copy of
#                                  the tree inside the chroot, for debugging
#
# Newer PostgreSQL majors need a newer libc than the host's, so each major is
# built and tested in a chroot of its suite:
#
#   15  bookworm    17  trixie    18  sid
#
# (16 is in no suite the Debian mirror serves.) The chroot is made once with
# debootstrap and kept in $PG_LAMBDA_CHROOT_CACHE/chroot-<suite> (default
# /var/cache/pg_lambda); a later run reuses it when it is healthy (the stamp
# written after its packages were installed is there and a program runs in it)
# and makes it again otherwise. "rm -rf /var/cache/pg_lambda/chroot-sid" makes
# the next run start from a fresh sid.
#
# Everything, debootstrap included, runs in a private mount and PID namespace
# (unshare): /proc, /dev/shm, /dev/pts and the host's cache of Apache Kafka
# jars are mounted inside the chroot only for this run, and when the run ends -- normally, on error or killed -- the
# kernel kills every process left in it (servers, the test broker) and drops
# the mounts with the namespace. Nothing stays mounted on the host.
#
# One run at a time per chroot (flock on chroot-<suite>.lock): runs for other
# majors, or the host's "make test", go on in parallel without sharing a
# server, a port or an installed library.
#
# Environment:
#   PG_LAMBDA_CHROOT_CACHE  where chroots live (default /var/cache/pg_lambda)
#   PG_LAMBDA_MIRROR        the Debian mirror (default: the one the host's
#                           /etc/apt/sources.list* use for Debian)
#
# Exits non-zero, saying why, when the chroot cannot be made (an unreachable
# mirror included): a major that cannot be tested fails, it is never skipped.
set -eu

# The whole script is one function, read in full before it runs: editing this
# file while a run is under way cannot derail that run.
main() {

die() { echo "pg_lambda chroot: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: $0 MAJOR test|deb|prepare|sh [CMD...]"
major=$1; action=$2; shift 2
case $major in
    15) suite=bookworm ;;
    17) suite=trixie ;;
    18) suite=sid ;;
    16) die "PostgreSQL 16 is packaged by no Debian suite the mirror serves; it cannot be tested here" ;;
    *) die "no Debian suite known for PostgreSQL '$major' (15, 17 and 18 are)" ;;
esac
case $action in test|deb|prepare|sh) ;; *) die "unknown action '$action' (test, deb, prepare or sh)" ;; esac
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and mounts need it)"

src=$(cd "$(dirname "$0")/.." && pwd)
cache=${PG_LAMBDA_CHROOT_CACHE:-/var/cache/pg_lambda}
root=$cache/chroot-$suite

# Stage 1, on the host: debootstrap, then the same script again in a private
# mount and PID namespace (stage 2 below).
if [ -z "${PG_LAMBDA_CHROOT_NS:-}" ]; then
    mkdir -p "$cache"
    if ! command -v debootstrap >/dev/null 2>&1; then
        # One run at a time installs it (CI makes several chroots at once).
        (
            flock 9
            command -v debootstrap >/dev/null 2>&1 && exit 0
            echo "pg_lambda chroot: installing debootstrap"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
                { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
        ) 9>"$cache/host-apt.lock" || die "cannot install debootstrap on the host"
    fi
    command -v unshare >/dev/null 2>&1 || die "unshare (util-linux) is missing"
    PG_LAMBDA_CHROOT_NS=1
    export PG_LAMBDA_CHROOT_NS
    # --fork: the shell becomes PID 1 of the namespace, so its exit ends every
    # process started inside. --propagation private: our mounts stay ours.
    exec unshare --mount --pid --fork --propagation private sh "$0" "$major" "$action" "$@"
fi

# Stage 2, in the namespace.
exec 8>"$cache/chroot-$suite.lock"
if ! flock -n 8; then
    echo "pg_lambda chroot: waiting for another run in $root to finish"
    flock 8
fi

# The Debian mirror: the host's (its apt sources name the one this machine may
# reach), unless PG_LAMBDA_MIRROR says otherwise.
mirror=${PG_LAMBDA_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}//p' |
        tr ' ' '\n' | grep -E '^(https?|file)://.*/debian/?$' | head -n 1)
    mirror=${mirror:-http://deb.debian.org/debian}
fi

stamp=$root/etc/pg_lambda-chroot
healthy() {
    [ -f "$stamp" ] && [ -x "$root/usr/lib/postgresql/$major/bin/pg_config" ] &&
        chroot "$root" /bin/true 2>/dev/null
}

# Undo this run's mounts (they would go with the namespace anyway; removing
# a chroot needs them gone first).
unmount_ours() {
    for m in "$root/var/cache/pg_lambda/kafka" "$root/dev/pts" "$root/dev/shm" "$root/sys" "$root/proc"; do
        if grep -q " $m " /proc/mounts; then umount "$m" || die "cannot unmount $m"; fi
    done
}

# Remove a chroot that is broken or half made. --one-file-system: never
# descend into anything mounted below it.
remove_root() {
    [ -n "$root" ] && [ "$root" != / ] || die "refusing to remove '$root'"
    unmount_ours
    if grep -q " $root/" /proc/mounts; then
        die "something is mounted below $root; unmount it before the chroot can be made again"
    fi
    rm -rf --one-file-system "$root"
}

t0=$(date +%s)
if [ -d "$root" ] && ! healthy; then
    echo "pg_lambda chroot: $root is incomplete or broken; making it again"
    remove_root
fi
made=0
if [ ! -d "$root" ]; then
    echo "pg_lambda chroot: debootstrap $suite from $mirror into $root"
    log=$cache/chroot-$suite.debootstrap.log
    if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        remove_root
        die "cannot make the $suite chroot: debootstrap from $mirror failed (log above and in $log; is the mirror reachable?)"
    fi
    made=1
fi

# Device nodes: debootstrap makes /dev/null etc. with mknod; check, because
# without them nothing works and the errors would be obscure.
for d in null zero random urandom; do
    [ -c "$root/dev/$d" ] || die "$root/dev/$d is not a device node (debootstrap could not mknod?)"
done
mkdir -p "$root/dev/shm" "$root/dev/pts" "$root/proc" "$root/sys"
# /proc for this namespace's processes; /sys read-only (the kernel's
# settings a test reads, such as transparent huge pages); POSIX shared
# memory (PostgreSQL's dynamic shared memory) in a tmpfs of its own; ptys in
# a devpts instance of their own. All vanish with the namespace.
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
[ -e "$root/dev/ptmx" ] || ln -s pts/ptmx "$root/dev/ptmx"
# The real Apache Kafka broker's jars (test/apache_kafka.sh) are the same for
# every major: the chroot sees the host's cache of them, so Maven fetches them
# once per machine, not once per chroot.
kafka_cache=${PG_LAMBDA_KAFKA_CACHE:-/var/cache/pg_lambda/kafka}
mkdir -p "$kafka_cache" "$root/var/cache/pg_lambda/kafka"
mount --bind "$kafka_cache" "$root/var/cache/pg_lambda/kafka"
# Services never start in the chroot (package postinst scripts ask here).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/hosts "$root/etc/hosts"
# The mirror may be a snapshot (this machine's is): sid's Release file then
# carries a Valid-Until date already past, which apt would refuse. The
# signatures are still checked.
echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99pg-lambda-snapshot"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# A fresh copy of the tree (no build products of the host's build).
tree=$root/build/pg_lambda
rm -rf --one-file-system "$tree"
sh "$src/test/copy_tree.sh" "$src" "$tree"

in_root() {
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive PG_MAJOR="$major" PG_LAMBDA_IN_CHROOT=1 \
        PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" "$@"
}

# The packages building, testing and packaging need (install_deps.sh installs
# only what is missing, so a healthy chroot costs nothing here).
if ! in_root sh /build/pg_lambda/test/install_deps.sh --deb; then
    [ $made -eq 1 ] && remove_root
    die "cannot install the packages PostgreSQL $major needs in the $suite chroot (is $mirror reachable?)"
fi
[ -x "$root/usr/lib/postgresql/$major/bin/pg_config" ] ||
    die "the $suite chroot has no PostgreSQL $major after installing postgresql-server-dev-$major"
echo "$suite PostgreSQL $major, made $(date -u +%Y-%m-%dT%H:%M:%SZ) from $mirror" > "$stamp"
echo "pg_lambda chroot: $suite ready in $(( $(date +%s) - t0 )) s ($( [ $made -eq 1 ] && echo made || echo reused)); PostgreSQL $(in_root "/usr/lib/postgresql/$major/bin/pg_config" --version), librdkafka $(in_root pkg-config --modversion rdkafka)"

status=0
case $action in
    test)
        t1=$(date +%s)
        in_root sh -c 'cd /build/pg_lambda && sh test/run_tests.sh' || status=$?
        echo "pg_lambda chroot: PostgreSQL $major suite: status $status in $(( $(date +%s) - t1 )) s"
        if [ $status -eq 0 ]; then
            t1=$(date +%s)
            in_root sh -c 'cd /build/pg_lambda && sh test/deb_test.sh' || status=$?
            echo "pg_lambda chroot: PostgreSQL $major package test: status $status in $(( $(date +%s) - t1 )) s"
        fi
        ;;
    deb)
        t1=$(date +%s)
        in_root sh -c 'cd /build/pg_lambda && sh test/deb_test.sh' || status=$?
        echo "pg_lambda chroot: PostgreSQL $major package test: status $status in $(( $(date +%s) - t1 )) s"
        ;;
    prepare)
        ;;
    sh)
        if [ $# -eq 0 ]; then
            in_root sh -c 'cd /build/pg_lambda && exec bash -i' || status=$?
        else
            in_root sh -c 'cd /build/pg_lambda && exec "$@"' sh "$@" || status=$?
        fi
        ;;
esac
[ $status -eq 0 ] || echo "pg_lambda chroot: PostgreSQL $major ($suite): FAILED (status $status); the tree is in $tree" >&2
exit $status
}

main "$@"
