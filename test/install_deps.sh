#!/bin/sh
# Installs what building and testing pg_lambda needs, when it is missing.
# As root it uses apt-get; otherwise it only reports what is missing.
#
#   PG_MAJOR=NN test/install_deps.sh [--deb]
#
# PG_MAJOR (default 15, Debian 12's) chooses the PostgreSQL major; test/chroot.sh
# runs this inside a chroot of the suite that ships it. --deb adds what
# building the Debian package needs (dpkg-buildpackage, debhelper, pg_buildext).
set -eu

# default-jre-headless (OpenJDK 17 on Debian 12, 21 on 13), maven and openssl:
# the real Apache Kafka broker that the Kafka tests run (test/apache_kafka.sh;
# Maven fetches its jars once). postgresql-NN-partman: pg_partman, which
# test/t/027_pg_partman.pl runs beside pg_lambda.
major=${PG_MAJOR:-15}
PKGS="postgresql-$major postgresql-server-dev-$major librdkafka-dev kcat pkg-config
      libipc-run-perl make gcc perl prometheus-postgres-exporter postgresql-$major-partman
      default-jre-headless maven openssl"
if [ "${1:-}" = --deb ]; then
    PKGS="$PKGS build-essential dpkg-dev debhelper postgresql-server-dev-all"
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "pg_lambda: missing Debian packages:$missing" >&2
    echo "pg_lambda: run 'sudo apt-get install$missing' (or run make as root)" >&2
    exit 1
fi
echo "pg_lambda: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Do not create the default cluster: tests and the demo start their own servers.
mkdir -p /etc/postgresql-common
if [ ! -f /etc/postgresql-common/createcluster.conf ] ||
   ! grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    echo "create_main_cluster = false" >> /etc/postgresql-common/createcluster.conf
fi
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold $missing >/dev/null
