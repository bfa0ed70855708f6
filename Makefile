# pg_lambda — PGXS build.
#
#   make && make install     build and install into the PostgreSQL that pg_config names
#   make test                everything CI runs against the host's PostgreSQL 15
#                            (installs missing packages when run as root)
#   make test PG=17          the same against PostgreSQL 17 (or 15, 18) in a chroot of the
#                            Debian suite that ships it, then the package test (as root)
#   make deb                 Debian packages postgresql-NN-lambda for the installed majors
#   make test-deb PG=NN      build, install and smoke-test the package in that chroot
#   make demo                a throwaway server and broker, streaming sample events
#                            (from a private copy of that PostgreSQL: installs nothing there)

# This tree's directory, known before PGXS is loaded (on a fresh machine
# pg_config is not installed yet when "make test" or "make demo" starts).
LAMBDA_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

EXTENSION = pg_lambda
MODULE_big = pg_lambda
PGFILEDESC = "pg_lambda - lambda architecture (Kafka, event tables, continuous views) in PostgreSQL"

OBJS = \
	src/pg_lambda.o \
	src/aggstate.o \
	src/batch.o \
	src/batch_build.o \
	src/batch_upsert.o \
	src/capture.o \
	src/catalog.o \
	src/catalog_source.o \
	src/cview.o \
	src/cview_validate.o \
	src/cview_rollup.o \
	src/ddl.o \
	src/dead_letter.o \
	src/estimate.o \
	src/event_table.o \
	src/format.o \
	src/generation.o \
	src/speed_index.o \
	src/speed_read.o \
	src/speed_set.o \
	src/guc.o \
	src/image.o \
	src/ingest.o \
	src/ingest_route.o \
	src/kafka.o \
	src/keyimage.o \
	src/keytrunc.o \
	src/launcher.o \
	src/merge.o \
	src/merge_group.o \
	src/merge_order.o \
	src/merge_probe.o \
	src/merge_run.o \
	src/merge_prune.o \
	src/merge_image.o \
	src/mergestate.o \
	src/partial.o \
	src/privilege.o \
	src/quantile.o \
	src/retention.o \
	src/scheduler.o \
	src/sketch.o \
	src/source.o \
	src/source_args.o \
	src/speed.o \
	src/stateimage.o \
	src/triggers.o \
	src/view.o \
	src/view_admin.o \
	src/view_redefine.o \
	src/view_ddl.o \
	src/view_guard.o \
	src/view_parts.o \
	src/view_stats.o \
	src/worker.o \
	src/worker_batch.o \
	src/worker_state.o

# The install script lives in its own folder under sql/ (sql/ also holds the
# pg_regress inputs); DATA installs it under its base name.
DATA = sql/install/pg_lambda--0.1.0.sql sql/install/pg_lambda--0.1.0--0.2.0.sql sql/install/pg_lambda--0.2.0--0.3.0.sql

# The 0.3.0 -> 0.4.0 upgrade script is assembled from one part per concern
# under sql/install/0.4.0/ (concatenated in file-name order), as TimescaleDB
# builds its update scripts; DATA_built installs the result.
UPGRADE_0_4_0 = sql/install/pg_lambda--0.3.0--0.4.0.sql
DATA_built = $(UPGRADE_0_4_0)

# Monitoring files for users (docs/monitoring/): the Prometheus exporter's
# queries file and a Grafana dashboard. PGXS installs DOCS, flattened to their
# base names, into $(pg_config --docdir)/extension/ (on Debian
# /usr/share/doc/postgresql-doc-15/extension/), hence the pg_lambda- prefix.
DOCS = docs/monitoring/pg_lambda-prometheus-queries.yaml docs/monitoring/pg_lambda-grafana-dashboard.json

# pg_regress inputs are sql/<name>.sql with expected output expected/<name>.out.
REGRESS = event_table event_table_errors event_table_partitioned event_table_retention event_table_paths_errors kafka_source kafka_source_errors kafka_source_alter kafka_source_alter_errors kafka_dead_letters kafka_dead_letters_errors lambda_view lambda_view_errors lambda_view_paths lambda_sketch lambda_sliding lambda_privileges lambda_privileges_errors event_table_drop event_table_drop_errors lambda_cache lambda_long_keys lambda_images lambda_images_fuzz lambda_read_paths lambda_recompute lambda_refresh_arrival lambda_refresh_arrival_errors lambda_write_path lambda_capture_batch lambda_capture_cache lambda_ddl lambda_redefine lambda_rollup lambda_merge_fold lambda_merge_parallel lambda_refresh_direct lambda_publication lambda_key_trunc lambda_ddl_errors
# The regression tests start their own server with the library preloaded
# (pg_lambda refuses to load any other way), as pg_cron's do.
REGRESS_OPTS = --temp-config=$(srcdir)/test/pg_lambda.conf --temp-instance=$(CURDIR)/tmp_check_regress

# Isolation specs (specs/<name>.spec, expected/<name>.out): the orderings
# exactness relies on (a commit racing a refresh's cut, two-phase commit and
# subtransactions across a refresh, DROP racing a commit), run by
# pg_isolation_regress against its own preloaded temp instance.
ISOLATION = cut_race twophase_subxact drop_commit recompute_race redefine_race refresh_arrival recompute_snapshot order_run
ISOLATION_OPTS = --temp-config=$(srcdir)/test/pg_lambda.conf --temp-instance=$(CURDIR)/tmp_check_iso

# TAP tests (server lifecycle, Kafka) live in test/t; PGXS runs them with prove
# after the pg_regress suite in "make installcheck".
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# librdkafka through pkg-config (only src/kafka.c includes its header).
RDKAFKA_CFLAGS := $(shell pkg-config --cflags rdkafka 2>/dev/null)
RDKAFKA_LIBS := $(shell pkg-config --libs rdkafka 2>/dev/null || echo -lrdkafka)
PG_CPPFLAGS = -I$(srcdir)/src $(RDKAFKA_CFLAGS)
SHLIB_LINK = $(RDKAFKA_LIBS)

# CI builds with warnings as errors: "make WERROR=1" (make test does).
# PostgreSQL's own headers are not -Wextra clean (unused parameters in
# static inline functions), so they are read as system headers; our code
# gets every warning.
ifdef WERROR
PG_CFLAGS += -Wall -Wextra -Werror
PG_CPPFLAGS += -isystem $(shell $(PG_CONFIG) --includedir-server 2>/dev/null)
endif

EXTRA_CLEAN = $(OBJS:.o=.d) test/kafka_broker test/kafka_client tmp_check_regress tmp_check_iso output_iso deb-build

# PGXS does not track header dependencies (unless PostgreSQL was configured
# with --enable-depend): have the compiler write them (src/*.d; included
# after PGXS, so that its "all" stays the default goal), so changing a
# header rebuilds every file that includes it.
PG_CFLAGS += -MMD -MP

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
# Without pg_config (a fresh machine) only deps, test and demo can run:
# they install it first, then call make again.
ifneq ($(PGXS),)
include $(PGXS)
-include $(OBJS:.o=.d)
# Our Perl test helpers (broker, preloaded node) live beside the tests; prove
# shows each test's time as it ends. (Set after PGXS, whose Makefile.global
# empties PROVE_FLAGS.)
PROVE_FLAGS = -I $(srcdir)/test/perl --timer
endif

# PGXS's uninstall removes DOCS by their path in this tree rather than by the
# base name they were installed under; remove the installed copies by name.
uninstall: uninstall-monitoring
.PHONY: uninstall-monitoring
uninstall-monitoring:
	rm -f $(addprefix '$(DESTDIR)$(docdir)/$(docmoduledir)'/, $(notdir $(DOCS)))

$(UPGRADE_0_4_0): $(sort $(wildcard $(LAMBDA_DIR)/sql/install/0.4.0/*.sql))
	cat $^ > $@

# The Kafka-protocol broker the tests run: librdkafka's mock cluster on loopback.
test/kafka_broker: test/kafka_broker.c
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< $(RDKAFKA_CFLAGS) $(RDKAFKA_LIBS) -lpthread

# Admin operations and transactional producing against a real Apache Kafka
# broker (test/apache_kafka.sh), for the tests that kcat cannot serve.
test/kafka_client: test/kafka_client.c
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< $(RDKAFKA_CFLAGS) $(RDKAFKA_LIBS)

# The architecture pictures in docs/img (Graphviz's dot; not needed to build
# or test): docs/img/*.dot -> docs/img/*.svg, committed.
docs-images:
	for f in $(LAMBDA_DIR)/docs/img/*.dot; do dot -Tsvg "$$f" -o "$${f%.dot}.svg"; done

# PG: the PostgreSQL major "make test" and "make test-deb" run against. Unset,
# "make test" uses the host's PostgreSQL 15 directly; set (15, 17 or 18), both
# run in a chroot of the Debian suite that packages that major (bookworm,
# trixie, sid), made with debootstrap and cached (test/chroot.sh).
PG ?=

.PHONY: test test-deb deb demo deps docs-images
deps:
	@sh $(LAMBDA_DIR)/test/install_deps.sh

ifeq ($(PG),)
test: deps
	@sh $(LAMBDA_DIR)/test/run_tests.sh
else
test:
	@sh $(LAMBDA_DIR)/test/chroot.sh $(PG) test
endif

# The package test always runs in a chroot (it installs and purges the
# package); without PG, for the host's major.
test-deb:
	@sh $(LAMBDA_DIR)/test/chroot.sh $(if $(PG),$(PG),15) deb

deb:
	@sh $(LAMBDA_DIR)/test/build_deb.sh

demo: deps
	@sh $(LAMBDA_DIR)/test/demo.sh
