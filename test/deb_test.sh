#!/bin/sh
# The package test ("make test-deb PG=NN", and the end of "make test PG=NN"):
# builds postgresql-NN-lambda (test/build_deb.sh), checks what it holds,
# installs it with apt (which resolves its dependencies), checks that the
# installed files are the package's, runs debian/tests/smoke (a clean cluster
# with the library preloaded: CREATE EXTENSION, a continuous view, the update
# path from 0.1.0), and purges it again.
#
# It installs and removes packages, so it runs only inside a chroot made by
# test/chroot.sh (PG_LAMBDA_IN_CHROOT=1), never on a shared machine.
set -eu
die() { echo "deb_test: $*" >&2; exit 1; }
[ "${PG_LAMBDA_IN_CHROOT:-}" = 1 ] || die "installs packages: run it through 'make test-deb PG=NN' (test/chroot.sh)"
[ "$(id -u)" -eq 0 ] || die "must run as root"
major=${PG_MAJOR:?PG_MAJOR must name the PostgreSQL major}
src=$(cd "$(dirname "$0")/.." && pwd)
out=/tmp/pg_lambda_deb
pkg=postgresql-$major-lambda

# One version everywhere: the control file's default_version, the package's
# (debian/changelog) and PGXN's (META.json).
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$src/pg_lambda.control")
[ -n "$version" ] || die "no default_version in pg_lambda.control"
[ "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)" = "$version" ] ||
    die "debian/changelog's version is not $version (pg_lambda.control's default_version)"
grep -q "^   \"version\": \"$version\",\$" "$src/META.json" ||
    die "META.json's version is not $version (pg_lambda.control's default_version)"

# Anything "make install" left must not stand in for the package's files.
dpkg -s "$pkg" >/dev/null 2>&1 && apt-get purge -y -qq "$pkg" >/dev/null
DEB_DIR=$out PG_SUPPORTED_VERSIONS=$major sh "$src/test/build_deb.sh"
set -- "$out/${pkg}_"*.deb
[ $# -eq 1 ] && [ -f "$1" ] || die "expected exactly one ${pkg}_*.deb in $out"
deb=$1

# The package holds the library, the control file and every install and
# update script, the 0.3.0 -> 0.4.0 one assembled by the Makefile included,
# and the monitoring files (Makefile DOCS) as they are, not gzipped.
contents=$(dpkg-deb -c "$deb")
lib=$(/usr/lib/postgresql/$major/bin/pg_config --pkglibdir)
share=$(/usr/lib/postgresql/$major/bin/pg_config --sharedir)
doc=$(/usr/lib/postgresql/$major/bin/pg_config --docdir)
for f in "$lib/pg_lambda.so" "$share/extension/pg_lambda.control" \
         "$doc/extension/pg_lambda-prometheus-queries.yaml" \
         "$doc/extension/pg_lambda-grafana-dashboard.json" \
         $(cd "$src/sql/install" && ls pg_lambda--*.sql | sed "s|^|$share/extension/|") \
         "$share/extension/pg_lambda--0.3.0--0.4.0.sql"; do
    echo "$contents" | grep -q " \.$f\$" || die "$deb lacks $f"
done
dpkg-deb -f "$deb" Depends | grep -q "postgresql-$major" || die "$deb does not depend on postgresql-$major"
echo "deb_test: $deb holds the library, control file, every script and the monitoring files; depends on $(dpkg-deb -f "$deb" Depends)"

apt-get install -y -qq "$deb" >/dev/null || die "apt-get install $deb failed"
[ "$(dpkg-query -W -f='${Status}' "$pkg")" = "install ok installed" ] || die "$pkg is not installed"
dpkg --verify "$pkg" || die "installed files differ from the package's"
[ "$(dpkg -S "$lib/pg_lambda.so" | cut -d: -f1)" = "$pkg" ] || die "$lib/pg_lambda.so does not belong to $pkg"

status=0
(cd "$src" && sh debian/tests/smoke) || status=$?
apt-get purge -y -qq "$pkg" >/dev/null || die "apt-get purge $pkg failed"
[ $status -eq 0 ] || die "debian/tests/smoke failed for $pkg"
echo "deb_test: $pkg passed"
