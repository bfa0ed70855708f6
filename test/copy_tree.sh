#!/bin/sh
# Copies the source tree at $1 into the directory $2 (made if missing),
# leaving out what builds and tests leave behind: a chroot run and a package
# build start from the sources alone, whatever state the tree is in.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 SRC DEST" >&2; exit 1; }
mkdir -p "$2"
tar -C "$1" -cf - \
    --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude='./src/*.d' \
    --exclude=./results --exclude=./tmp_check --exclude=./tmp_check_regress \
    --exclude=./tmp_check_iso --exclude=./output_iso --exclude=./log \
    --exclude=./regression.diffs --exclude=./regression.out \
    --exclude=./test/kafka_broker --exclude=./deb-build \
    --exclude=./sql/install/pg_lambda--0.3.0--0.4.0.sql \
    --exclude=./debian/.debhelper --exclude='./debian/postgresql-*-lambda' \
    --exclude=./debian/files --exclude='./debian/*.substvars' \
    --exclude='./debian/*.debhelper.log' --exclude=./debian/debhelper-build-stamp \
    . | tar -C "$2" -xf -
