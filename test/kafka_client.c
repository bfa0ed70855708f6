/*
 * kafka_client: the few Kafka client operations pg_lambda's tests need
 * against a real Apache Kafka broker that kcat cannot do: create topics
 * with per-topic settings, delete records (move a partition's log start, as
 * retention does), produce with transactions that commit or abort, and
 * report the librdkafka version. Built by "make test/kafka_client"; used by
 * test/perl/LambdaApacheKafka.pm and test/apache_kafka.sh.
 *
 *   kafka_client -b BOOTSTRAP [-X prop=value ...] COMMAND ARGS...
 *
 *   version
 *       print librdkafka's version ("2.0.2"); needs no broker (-b may be "-")
 *   create-topic TOPIC PARTITIONS [config=value ...]
 *       create a topic (replication factor 1) with topic-level settings,
 *       e.g. segment.bytes=1048576; waits until the broker answers
 *   delete-records TOPIC PARTITION OFFSET
 *       delete every record of the partition before OFFSET (-1: before the
 *       high watermark); prints "low_watermark N", the new log start
 *   txn-produce TOPIC TRANSACTIONAL_ID FIRST_ID PLAN
 *       PLAN is a comma-separated list of transactions, each "c:N" (N
 *       messages, then commit) or "a:N" (N messages, then abort). Message i
 *       (counting from FIRST_ID) is the JSON object
 *           {"id": i, "txn": t, "ts": "2025-01-01T00:00:00Z"}
 *       sent to partition i % partitions (partitions from the topic's
 *       metadata), so which ids are in which partition is deterministic.
 *       Each transaction is committed or aborted only after every message
 *       of it was acknowledged. Prints one line per transaction:
 *           txn T commit|abort ids A-B
 *
 * Every failure prints the reason to stderr and exits 1; nothing is retried
 * silently beyond what librdkafka itself does.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define TIMEOUT_MS 30000

static const char *bootstrap;
static char *props[64];			/* -X prop=value, as given */
static int nprops;

/* Prints the reason and exits 1. */
static void
die(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fprintf(stderr, "kafka_client: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* Sets one property or dies. */
static void
conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char		err[512];

	if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		die("%s: %s", name, err);
}

/* A configuration with the bootstrap servers and every -X property. */
static rd_kafka_conf_t *
base_conf(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int			i;

	conf_set(conf, "bootstrap.servers", bootstrap);
	for (i = 0; i < nprops; i++)
	{
		char	   *eq = strchr(props[i], '=');

		if (eq == NULL)
			die("-X %s: expected prop=value", props[i]);
		*eq = '\0';
		conf_set(conf, props[i], eq + 1);
		*eq = '=';
	}
	return conf;
}

/* Creates a client of the given type or dies. */
static rd_kafka_t *
new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
	char		err[512];
	rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));

	if (rk == NULL)
		die("could not create a client: %s", err);
	return rk;
}

/* Waits for the admin result event of the given type on q, or dies. */
static rd_kafka_event_t *
wait_admin(rd_kafka_queue_t *q, rd_kafka_event_type_t type, const char *what)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS + 5000);

	if (ev == NULL)
		die("%s: no answer within %d ms", what, TIMEOUT_MS + 5000);
	if (rd_kafka_event_type(ev) != type)
		die("%s: unexpected event %s", what, rd_kafka_event_name(ev));
	if (rd_kafka_event_error(ev))
		die("%s: %s", what, rd_kafka_event_error_string(ev));
	return ev;
}

static int
cmd_create_topic(int argc, char **argv)
{
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	rd_kafka_NewTopic_t *nt;
	rd_kafka_AdminOptions_t *opts;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	size_t		nres;
	char		err[512];
	int			i;

	if (argc < 2)
		die("usage: create-topic TOPIC PARTITIONS [config=value ...]");
	rk = new_client(RD_KAFKA_PRODUCER, base_conf());
	q = rd_kafka_queue_new(rk);
	nt = rd_kafka_NewTopic_new(argv[0], atoi(argv[1]), 1, err, sizeof(err));
	if (nt == NULL)
		die("topic %s: %s", argv[0], err);
	for (i = 2; i < argc; i++)
	{
		char	   *eq = strchr(argv[i], '=');

		if (eq == NULL)
			die("%s: expected config=value", argv[i]);
		*eq = '\0';
		if (rd_kafka_NewTopic_set_config(nt, argv[i], eq + 1))
			die("topic config %s refused", argv[i]);
	}
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_operation_timeout(opts, TIMEOUT_MS, err, sizeof(err));
	rd_kafka_AdminOptions_set_request_timeout(opts, TIMEOUT_MS, err, sizeof(err));
	rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
	ev = wait_admin(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, "create-topic");
	res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nres);
	for (i = 0; i < (int) nres; i++)
	{
		if (rd_kafka_topic_result_error(res[i]))
			die("create-topic %s: %s", rd_kafka_topic_result_name(res[i]),
				rd_kafka_topic_result_error_string(res[i]));
	}
	rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return 0;
}

static int
cmd_delete_records(int argc, char **argv)
{
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_DeleteRecords_t *del;
	rd_kafka_AdminOptions_t *opts;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_partition_list_t *offsets;
	char		err[512];

	if (argc != 3)
		die("usage: delete-records TOPIC PARTITION OFFSET");
	rk = new_client(RD_KAFKA_PRODUCER, base_conf());
	q = rd_kafka_queue_new(rk);
	parts = rd_kafka_topic_partition_list_new(1);
	/* RD_KAFKA_OFFSET_END (-1): up to the high watermark, as Kafka's tool */
	rd_kafka_topic_partition_list_add(parts, argv[0], atoi(argv[1]))->offset = strtoll(argv[2], NULL, 10);
	del = rd_kafka_DeleteRecords_new(parts);
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETERECORDS);
	rd_kafka_AdminOptions_set_operation_timeout(opts, TIMEOUT_MS, err, sizeof(err));
	rd_kafka_AdminOptions_set_request_timeout(opts, TIMEOUT_MS, err, sizeof(err));
	rd_kafka_DeleteRecords(rk, &del, 1, opts, q);
	ev = wait_admin(q, RD_KAFKA_EVENT_DELETERECORDS_RESULT, "delete-records");
	offsets = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
	if (offsets == NULL || offsets->cnt != 1)
		die("delete-records: no result for %s [%s]", argv[0], argv[1]);
	if (offsets->elems[0].err)
		die("delete-records %s [%s]: %s", argv[0], argv[1], rd_kafka_err2str(offsets->elems[0].err));
	printf("low_watermark %" PRId64 "\n", offsets->elems[0].offset);
	rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_DeleteRecords_destroy(del);
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return 0;
}

/* Delivery report: counts failures (the message's opaque is the counter). */
static void
dr_cb(rd_kafka_t *rk __attribute__((unused)), const rd_kafka_message_t *m, void *opaque)
{
	if (m->err)
	{
		fprintf(stderr, "kafka_client: delivery failed: %s\n", rd_kafka_err2str(m->err));
		(*(int *) opaque)++;
	}
}

/* Dies with the text of a transactional API error. */
static void
check_txn(rd_kafka_error_t *error, const char *what)
{
	if (error)
		die("%s: %s", what, rd_kafka_error_string(error));
}

static int
cmd_txn_produce(int argc, char **argv)
{
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *rkt;
	int			failed = 0;
	int			partitions;
	long long	id;
	char	   *plan;
	char	   *tok;
	char	   *save = NULL;
	int			t = 0;

	if (argc != 4)
		die("usage: txn-produce TOPIC TRANSACTIONAL_ID FIRST_ID PLAN");
	conf = base_conf();
	conf_set(conf, "transactional.id", argv[1]);
	/* idempotence comes with transactions; keep delivery prompt */
	conf_set(conf, "linger.ms", "5");
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, &failed);
	rk = new_client(RD_KAFKA_PRODUCER, conf);

	rkt = rd_kafka_topic_new(rk, argv[0], NULL);
	if (rd_kafka_metadata(rk, 0, rkt, &md, TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1)
		die("txn-produce: no metadata for topic %s", argv[0]);
	partitions = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);

	check_txn(rd_kafka_init_transactions(rk, TIMEOUT_MS), "init_transactions");
	id = strtoll(argv[2], NULL, 10);
	plan = strdup(argv[3]);
	for (tok = strtok_r(plan, ",", &save); tok; tok = strtok_r(NULL, ",", &save), t++)
	{
		int			commit;
		long long	n;
		long long	first = id;
		long long	i;

		if ((tok[0] != 'c' && tok[0] != 'a') || tok[1] != ':' || (n = atoll(tok + 2)) <= 0)
			die("bad transaction \"%s\" in the plan (expected c:N or a:N)", tok);
		commit = (tok[0] == 'c');
		check_txn(rd_kafka_begin_transaction(rk), "begin_transaction");
		for (i = 0; i < n; i++, id++)
		{
			char		buf[128];
			int			len = snprintf(buf, sizeof(buf),
									   "{\"id\": %lld, \"txn\": %d, \"ts\": \"2025-01-01T00:00:00Z\"}",
									   id, t);

			while (rd_kafka_produce(rkt, (int32_t) (id % partitions), RD_KAFKA_MSG_F_COPY,
									buf, len, NULL, 0, NULL) != 0)
			{
				if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
					die("produce: %s", rd_kafka_err2str(rd_kafka_last_error()));
				rd_kafka_poll(rk, 100);
			}
		}
		/* every message of the transaction acknowledged before it ends */
		if (rd_kafka_flush(rk, TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR || failed)
			die("txn-produce: transaction %d was not delivered", t);
		if (commit)
			check_txn(rd_kafka_commit_transaction(rk, TIMEOUT_MS), "commit_transaction");
		else
			check_txn(rd_kafka_abort_transaction(rk, TIMEOUT_MS), "abort_transaction");
		printf("txn %d %s ids %lld-%lld\n", t, commit ? "commit" : "abort", first, id - 1);
		fflush(stdout);
	}
	free(plan);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return 0;
}

int
main(int argc, char **argv)
{
	int			c;

	while ((c = getopt(argc, argv, "+b:X:")) != -1)
	{
		switch (c)
		{
			case 'b':
				bootstrap = optarg;
				break;
			case 'X':
				if (nprops == (int) (sizeof(props) / sizeof(props[0])))
					die("too many -X");
				props[nprops++] = optarg;
				break;
			default:
				die("usage: kafka_client -b BOOTSTRAP [-X prop=value ...] COMMAND ARGS...");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		die("usage: kafka_client -b BOOTSTRAP [-X prop=value ...] COMMAND ARGS...");
	if (strcmp(argv[0], "version") == 0)
	{
		printf("%s\n", rd_kafka_version_str());
		return 0;
	}
	if (bootstrap == NULL)
		die("-b BOOTSTRAP is required for %s", argv[0]);
	if (strcmp(argv[0], "create-topic") == 0)
		return cmd_create_topic(argc - 1, argv + 1);
	if (strcmp(argv[0], "delete-records") == 0)
		return cmd_delete_records(argc - 1, argv + 1);
	if (strcmp(argv[0], "txn-produce") == 0)
		return cmd_txn_produce(argc - 1, argv + 1);
	die("unknown command %s", argv[0]);
	return 1;
}
