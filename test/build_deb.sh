#!/bin/sh
# "make deb": builds the Debian packages postgresql-NN-lambda with
# pg_buildext (debian/), as apt.postgresql.org builds extensions, from a
# clean copy of the tree in $DEB_DIR (default ./deb-build), where the .deb
# files land.
#
# PG_SUPPORTED_VERSIONS chooses the majors (pg_buildext reads it): by default
# "installed", every major whose postgresql-server-dev-NN is installed (and
# that debian/pgversions allows: 15 and newer). On Debian 12 that is 15.
#
# As root it installs what the build needs when it is missing
# (test/install_deps.sh --deb); otherwise it says what is missing and stops.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${DEB_DIR:-$src/deb-build}
PG_SUPPORTED_VERSIONS=${PG_SUPPORTED_VERSIONS:-installed}
export PG_SUPPORTED_VERSIONS

sh "$src/test/install_deps.sh" --deb

case $out in /|"") echo "build_deb: refusing DEB_DIR='$out'" >&2; exit 1 ;; esac
rm -rf "$out"
sh "$src/test/copy_tree.sh" "$src" "$out/pg-lambda"
cd "$out/pg-lambda"
# debian/control lists one package per major, generated from control.in
# for the majors chosen above.
pg_buildext updatecontrol
echo "build_deb: building $(sed -n 's/^Package: //p' debian/control | tr '\n' ' ')"
dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1 || {
    tail -n 60 "$out/build.log" >&2
    echo "build_deb: dpkg-buildpackage failed (whole log in $out/build.log)" >&2
    exit 1
}
ls "$out"/*.deb >/dev/null 2>&1 || { echo "build_deb: no .deb was built" >&2; exit 1; }
for d in "$out"/*.deb; do echo "build_deb: $d"; done
