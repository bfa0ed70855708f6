/*
 * kafka_broker.c - a small Kafka-protocol broker for pg_lambda's tests.
 *
 * It runs librdkafka's built-in mock cluster (rdkafka_mock.h) inside a
 * standalone process: N brokers, each listening on its own ephemeral TCP port
 * on 127.0.0.1 only, speaking enough of the Kafka protocol for ordinary
 * clients (kcat, librdkafka-based code such as pg_lambda) to produce, fetch,
 * list offsets and run consumer groups.  A test drives it over stdin/stdout.
 *
 * Command line
 * ------------
 *   kafka_broker [--brokers N] [--exit-on-eof] [--debug CONTEXTS]
 *                topic[:partitions] ...
 *
 *   --brokers N      number of brokers (ids 1..N); default 1.
 *   --exit-on-eof    exit when stdin reaches EOF (by default the broker keeps
 *                    serving, so "kafka_broker t </dev/null &" works as a
 *                    daemon).  The Perl helper uses this so a broker can
 *                    never outlive the test that started it.
 *   --debug CTXS     librdkafka debug contexts for the mock's own log
 *                    (e.g. "mock" or "mock,protocol"); written to stderr.
 *   --port P         NOT SUPPORTED: librdkafka 2.0.2's mock cluster always
 *                    binds each broker to 127.0.0.1 port 0 (an ephemeral
 *                    port) and has no API to choose one, so --port exits with
 *                    an error rather than silently ignoring the request.
 *   topic[:parts]    topics to create before reporting ready; default 1
 *                    partition.  Replication factor is min(N, 3) (the mock
 *                    always uses its cluster default for replica placement).
 *
 * Once the cluster is up it prints exactly one line
 *
 *   BOOTSTRAP 127.0.0.1:port1,127.0.0.1:port2,...
 *
 * to stdout and then serves until SIGINT/SIGTERM or the "quit" command,
 * exiting 0.  Diagnostics go to stderr; stdout carries only the BOOTSTRAP
 * line and command replies, each flushed as soon as it is written.
 *
 * Control protocol (stdin, one command per line; every command gets exactly
 * one reply line on stdout, "OK[ detail]" or "ERR <reason>")
 * ----------------------------------------------------------------------
 *   ping                          OK pong (a no-op, for synchronising)
 *   bootstrap                     OK <bootstrap servers>
 *   down <broker_id|all>          take broker(s) down: connections are closed
 *                                 and new ones refused (port kept).  Does NOT
 *                                 move partition leadership.
 *   up <broker_id|all>            let broker(s) accept connections again
 *   rtt <broker_id|all> <ms>      set broker round-trip delay
 *   error <api> <error> [count]   the next <count> (default 1) requests of
 *                                 <api> to any broker fail with <error>
 *   berror <broker_id> <api> <error> <count> [rtt_ms]
 *                                 same, but only on one broker, optionally
 *                                 delaying each of those responses
 *   pending <broker_id> <api>     OK <n>: how many "berror" errors are still
 *                                 queued on that broker for <api> (the
 *                                 cluster-wide "error" queue cannot be read)
 *   clear <api|all>               drop pending cluster-wide injected errors
 *   create <topic> <partitions>   create a topic (fails if it exists)
 *   leader <topic> <partition> <broker_id|-1>
 *                                 move a partition's leader (-1: none)
 *   topicerror <topic> <error>    error returned for the topic in Metadata
 *                                 (NO_ERROR to clear)
 *   coordinator <group|transaction> <key> <broker_id>
 *                                 pin a group/transaction coordinator
 *   produce <topic> <partition> <timestamp_ms> <payload>
 *                                 OK <offset>: produce one message whose
 *                                 CreateTime is <timestamp_ms> (any 64-bit
 *                                 number, e.g. beyond what a clock gives;
 *                                 0 means "now" to librdkafka), through a
 *                                 producer client inside this process, and
 *                                 wait for the broker's acknowledgement
 *                                 (kcat cannot set timestamps).  The
 *                                 payload is one token: no whitespace.
 *   help                          OK <command list>
 *   quit                          OK bye, then exit 0
 *
 *   <api> is a Kafka API name (Produce, Fetch, ListOffsets, Metadata,
 *   OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat,
 *   LeaveGroup, SyncGroup, ApiVersions, InitProducerId, ...; case-insensitive)
 *   or its numeric key.  <error> is a librdkafka error name as printed by
 *   rd_kafka_err2name() (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT,
 *   LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PART, _TRANSPORT, ...), with or
 *   without the leading underscore of librdkafka-internal errors and with or
 *   without an "RD_KAFKA_RESP_ERR_" prefix, or a number.  _TRANSPORT makes
 *   the broker drop the connection instead of answering.
 *
 * Limits of librdkafka 2.0.2's mock cluster (read from its source,
 * src/rdkafka_mock.c and rdkafka_mock_handlers.c)
 * ---------------------------------------------------------------
 *   - Retention: each partition keeps at most 100000 message *batches*
 *     (one ProduceRequest's record batch each) and at most 5 MiB of batch
 *     bytes (as sent, i.e. after compression).  When either cap is exceeded
 *     the OLDEST batches are silently deleted and the log start offset moves
 *     forward (the newest batch is always kept).  The caps are hard-coded in
 *     rd_kafka_mock_partition_init() and there is no public API to change
 *     them, so this program cannot lift them.  Work around it in tests: keep
 *     under ~5 MiB per partition by spreading over more partitions, and
 *     produce large volumes compressed (kcat -z lz4; LambdaKafka's
 *     produce_file does so by default) - e.g. 300000 short numbered lines
 *     compress to well under 1 MiB.  A test can detect trimming because the
 *     low watermark of a partition becomes > 0.
 *   - Consumer groups ARE supported for external clients: FindCoordinator,
 *     JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit and
 *     OffsetFetch are implemented (classic protocol, client-side assignors).
 *     The first join of a group waits 3 s (like
 *     group.initial.rebalance.delay.ms) before the group forms.  Beware:
 *     once every member has left, the group re-forms for the next joiner
 *     only after (session.timeout.ms of the last member - 1 s), i.e. 44 s
 *     with librdkafka's default 45 s, so test consumers should use a short
 *     session.timeout.ms (LambdaKafka uses 6000).  Two more quirks: the
 *     mock finishes SyncGroup as soon as the leader's SyncGroup arrives, so
 *     a follower whose SyncGroup comes later gets INVALID_REQUEST and forces
 *     a rebalance (about 1 in 3 when members join together; avoid it with
 *     "coordinator group <g> <b>" plus "berror <b> JoinGroup NO_ERROR 1 500",
 *     which delays the first joiner, i.e. the leader); and while a group is
 *     rebalancing (JOINING) it rejects OffsetCommit with
 *     REBALANCE_IN_PROGRESS, so offsets committed on revoke are lost and
 *     re-read.  Committed offsets live only in memory.
 *   - Supported APIs (versions): Produce 0-7, Fetch 0-11, ListOffsets 0-5,
 *     Metadata 0-2, OffsetCommit 0-7, OffsetFetch 0-5, FindCoordinator 0-2,
 *     JoinGroup 0-5, SyncGroup 0-3, Heartbeat 0-3, LeaveGroup 0-1,
 *     ApiVersions 0-2, InitProducerId 0-4 and the transactional APIs.  There is no CreateTopics /
 *     DeleteTopics / DescribeConfigs (admin clients fail); topics are
 *     created here, or auto-created (4 partitions) by Metadata requests.
 *   - Taking a broker down does not move leadership: partitions it leads
 *     are unavailable until it is up again (or "leader" moves them).
 *   - Everything lives in memory and disappears when the process exits.
 *
 * Build:
 *   gcc -Wall -Wextra -Werror -O2 -o test/kafka_broker test/kafka_broker.c \
 *       $(pkg-config --cflags --libs rdkafka) -lpthread
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_LINE 4096
#define MAX_TOKENS 16

/* Kafka protocol API keys by name (names as in the Kafka protocol guide). */
static const struct
{
	int16_t		key;
	const char *name;
}			api_names[] = {
	{0, "Produce"}, {1, "Fetch"}, {2, "ListOffsets"}, {2, "Offsets"},
	{3, "Metadata"}, {4, "LeaderAndIsr"}, {5, "StopReplica"},
	{6, "UpdateMetadata"}, {7, "ControlledShutdown"}, {8, "OffsetCommit"},
	{9, "OffsetFetch"}, {10, "FindCoordinator"}, {10, "GroupCoordinator"},
	{11, "JoinGroup"}, {12, "Heartbeat"}, {13, "LeaveGroup"},
	{14, "SyncGroup"}, {15, "DescribeGroups"}, {16, "ListGroups"},
	{17, "SaslHandshake"}, {18, "ApiVersions"}, {18, "ApiVersion"},
	{19, "CreateTopics"}, {20, "DeleteTopics"}, {21, "DeleteRecords"},
	{22, "InitProducerId"}, {23, "OffsetForLeaderEpoch"},
	{24, "AddPartitionsToTxn"}, {25, "AddOffsetsToTxn"}, {26, "EndTxn"},
	{27, "WriteTxnMarkers"}, {28, "TxnOffsetCommit"}, {29, "DescribeAcls"},
	{30, "CreateAcls"}, {31, "DeleteAcls"}, {32, "DescribeConfigs"},
	{33, "AlterConfigs"}, {34, "AlterReplicaLogDirs"},
	{35, "DescribeLogDirs"}, {36, "SaslAuthenticate"},
	{37, "CreatePartitions"}, {38, "CreateDelegationToken"},
	{39, "RenewDelegationToken"}, {40, "ExpireDelegationToken"},
	{41, "DescribeDelegationToken"}, {42, "DeleteGroups"},
	{43, "ElectLeaders"}, {44, "IncrementalAlterConfigs"},
	{45, "AlterPartitionReassignments"}, {46, "ListPartitionReassignments"},
	{47, "OffsetDelete"},
};

static volatile sig_atomic_t stop_requested = 0;	/* set by signals/quit */
static rd_kafka_mock_cluster_t *mcluster = NULL;
static rd_kafka_t *mock_rk = NULL;
static int	broker_cnt = 1;

/*
 * Write one reply line to stdout and flush it.  Write errors (a reader that
 * went away) are ignored: the broker keeps serving until told to stop.
 */
static void
reply(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Print a diagnostic line to stderr, prefixed with the program name. */
static void
diag(const char *fmt,...)
{
	va_list		ap;

	fputs("kafka_broker: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* Signal handler for SIGINT/SIGTERM: ask the main loop to stop. */
static void
on_signal(int signo)
{
	(void) signo;
	stop_requested = 1;
}

/* librdkafka log callback: forward the mock's log lines to stderr. */
static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void) rk;
	fprintf(stderr, "kafka_broker: rdkafka[%d] %s: %s\n", level, fac, buf);
	fflush(stderr);
}

/*
 * Parse a whole string as a base-10 integer within [min, max].
 * Returns true and stores it in *out on success.
 */
static bool
parse_long(const char *s, long min, long max, long *out)
{
	char	   *end;
	long		v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * Parse a broker id, or "all" (stored as -1, the mock API's "every broker").
 * Ids are not range-checked here; the mock rejects unknown ids itself.
 */
static bool
parse_broker(const char *s, int32_t *out)
{
	long		v;

	if (s != NULL && strcasecmp(s, "all") == 0)
	{
		*out = -1;
		return true;
	}
	if (!parse_long(s, 0, INT32_MAX, &v))
		return false;
	*out = (int32_t) v;
	return true;
}

/* Parse an API name (case-insensitive) or numeric API key into *out. */
static bool
parse_api(const char *s, int16_t *out)
{
	long		v;
	size_t		i;

	if (s == NULL)
		return false;
	if (parse_long(s, 0, INT16_MAX, &v))
	{
		*out = (int16_t) v;
		return true;
	}
	for (i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++)
	{
		if (strcasecmp(s, api_names[i].name) == 0)
		{
			*out = api_names[i].key;
			return true;
		}
	}
	return false;
}

/* Return the first name of an API key for messages, or "?" if unknown. */
static const char *
api_name(int16_t key)
{
	size_t		i;

	for (i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++)
		if (api_names[i].key == key)
			return api_names[i].name;
	return "?";
}

/*
 * Parse an error given as a number or as a librdkafka error name.  The name
 * may carry an "RD_KAFKA_RESP_ERR_" prefix and may omit the leading
 * underscore of librdkafka-internal errors ("TRANSPORT" = "_TRANSPORT").
 * An exact match wins; otherwise broker errors are preferred over internal
 * ones.  NOT_LEADER_OR_FOLLOWER is accepted as the newer Kafka name of
 * NOT_LEADER_FOR_PARTITION.
 */
static bool
parse_error(const char *s, rd_kafka_resp_err_t *out)
{
	const struct rd_kafka_err_desc *descs;
	size_t		cnt;
	size_t		i;
	long		v;
	const char *name;
	const char *bare;
	bool		found = false;

	if (s == NULL)
		return false;
	if (parse_long(s, INT_MIN, INT_MAX, &v))
	{
		*out = (rd_kafka_resp_err_t) v;
		return true;
	}

	name = s;
	if (strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18) == 0)
		name += 18;
	if (strcasecmp(name, "NOT_LEADER_OR_FOLLOWER") == 0)
	{
		*out = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
		return true;
	}
	bare = name;
	while (*bare == '_')
		bare++;

	rd_kafka_get_err_descs(&descs, &cnt);

	/* Exact (case-insensitive) match first. */
	for (i = 0; i < cnt; i++)
	{
		if (descs[i].name != NULL && strcasecmp(descs[i].name, name) == 0)
		{
			*out = descs[i].code;
			return true;
		}
	}
	/* Then ignoring leading underscores; broker errors (>= 0) win. */
	for (i = 0; i < cnt; i++)
	{
		const char *dn = descs[i].name;

		if (dn == NULL)
			continue;
		while (*dn == '_')
			dn++;
		if (strcasecmp(dn, bare) != 0)
			continue;
		if (!found || descs[i].code >= 0)
		{
			*out = descs[i].code;
			found = true;
		}
	}
	return found;
}

/*
 * Reply for the result of a mock API call: "OK" on success, otherwise
 * "ERR <what>: <error name> (<description>)".
 */
static void
reply_result(rd_kafka_resp_err_t err, const char *what)
{
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		reply("OK");
	else
		reply("ERR %s: %s (%s)", what, rd_kafka_err2name(err),
			  rd_kafka_err2str(err));
}

/*
 * Create a topic on the mock cluster with replication factor min(N, 3).
 * Returns the mock's error code.
 */
static rd_kafka_resp_err_t
create_topic(const char *name, int partitions)
{
	int			rf = broker_cnt < 3 ? broker_cnt : 3;

	return rd_kafka_mock_topic_create(mcluster, name, partitions, rf);
}

/* "down"/"up" command: take broker(s) down or bring them back up. */
static void
cmd_updown(char **tok, int ntok, bool up)
{
	int32_t		id;

	if (ntok != 2 || !parse_broker(tok[1], &id))
	{
		reply("ERR usage: %s <broker_id|all>", tok[0]);
		return;
	}
	reply_result(up ? rd_kafka_mock_broker_set_up(mcluster, id)
				 : rd_kafka_mock_broker_set_down(mcluster, id),
				 up ? "up" : "down");
}

/* "rtt" command: set a broker's (or every broker's) round-trip delay. */
static void
cmd_rtt(char **tok, int ntok)
{
	int32_t		id;
	long		ms;

	if (ntok != 3 || !parse_broker(tok[1], &id) ||
		!parse_long(tok[2], 0, INT_MAX, &ms))
	{
		reply("ERR usage: rtt <broker_id|all> <ms>");
		return;
	}
	reply_result(rd_kafka_mock_broker_set_rtt(mcluster, id, (int) ms), "rtt");
}

/* "error" command: push <count> cluster-wide errors for an API. */
static void
cmd_error(char **tok, int ntok)
{
	int16_t		api;
	rd_kafka_resp_err_t err;
	long		count = 1;
	rd_kafka_resp_err_t *errs;
	long		i;

	if (ntok < 3 || ntok > 4)
	{
		reply("ERR usage: error <api> <error> [count]");
		return;
	}
	if (!parse_api(tok[1], &api))
	{
		reply("ERR unknown api '%s'", tok[1]);
		return;
	}
	if (!parse_error(tok[2], &err))
	{
		reply("ERR unknown error '%s'", tok[2]);
		return;
	}
	if (ntok == 4 && !parse_long(tok[3], 1, 1000000, &count))
	{
		reply("ERR bad count '%s'", tok[3]);
		return;
	}
	errs = malloc(sizeof(*errs) * (size_t) count);
	if (errs == NULL)
	{
		reply("ERR out of memory");
		return;
	}
	for (i = 0; i < count; i++)
		errs[i] = err;
	rd_kafka_mock_push_request_errors_array(mcluster, api, (size_t) count,
											errs);
	free(errs);
	reply("OK %ld x %s on %s(%d)", count, rd_kafka_err2name(err),
		  api_name(api), (int) api);
}

/* "berror" command: push <count> errors (with optional delay) on a broker. */
static void
cmd_berror(char **tok, int ntok)
{
	int32_t		id;
	int16_t		api;
	rd_kafka_resp_err_t err;
	long		count;
	long		rtt = 0;
	long		i;

	if (ntok < 5 || ntok > 6 || !parse_broker(tok[1], &id) || id < 0)
	{
		reply("ERR usage: berror <broker_id> <api> <error> <count> [rtt_ms]");
		return;
	}
	if (!parse_api(tok[2], &api))
	{
		reply("ERR unknown api '%s'", tok[2]);
		return;
	}
	if (!parse_error(tok[3], &err))
	{
		reply("ERR unknown error '%s'", tok[3]);
		return;
	}
	if (!parse_long(tok[4], 1, 1000000, &count) ||
		(ntok == 6 && !parse_long(tok[5], 0, INT_MAX, &rtt)))
	{
		reply("ERR bad count or rtt");
		return;
	}
	for (i = 0; i < count; i++)
	{
		rd_kafka_resp_err_t r;

		r = rd_kafka_mock_broker_push_request_error_rtts(mcluster, id, api, 1,
														 err, (int) rtt);
		if (r != RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			reply_result(r, "berror");
			return;
		}
	}
	reply("OK %ld x %s on %s(%d) at broker %d", count, rd_kafka_err2name(err),
		  api_name(api), (int) api, (int) id);
}

/* "pending" command: report how many broker-level errors are still queued. */
static void
cmd_pending(char **tok, int ntok)
{
	int32_t		id;
	int16_t		api;
	size_t		cnt = 0;
	rd_kafka_resp_err_t r;

	if (ntok != 3 || !parse_broker(tok[1], &id) || id < 0)
	{
		reply("ERR usage: pending <broker_id> <api>");
		return;
	}
	if (!parse_api(tok[2], &api))
	{
		reply("ERR unknown api '%s'", tok[2]);
		return;
	}
	r = rd_kafka_mock_broker_error_stack_cnt(mcluster, id, api, &cnt);
	if (r != RD_KAFKA_RESP_ERR_NO_ERROR)
		reply_result(r, "pending");
	else
		reply("OK %zu", cnt);
}

/*
 * "clear" command: drop pending cluster-wide errors for one API, or for
 * every known API key with "all".
 */
static void
cmd_clear(char **tok, int ntok)
{
	int16_t		api;

	if (ntok != 2)
	{
		reply("ERR usage: clear <api|all>");
		return;
	}
	if (strcasecmp(tok[1], "all") == 0)
	{
		for (api = 0; api < 100; api++)
			rd_kafka_mock_clear_request_errors(mcluster, api);
		reply("OK");
		return;
	}
	if (!parse_api(tok[1], &api))
	{
		reply("ERR unknown api '%s'", tok[1]);
		return;
	}
	rd_kafka_mock_clear_request_errors(mcluster, api);
	reply("OK");
}

/* "create" command: create a topic with the given partition count. */
static void
cmd_create(char **tok, int ntok)
{
	long		parts;

	if (ntok != 3 || !parse_long(tok[2], 1, 100000, &parts))
	{
		reply("ERR usage: create <topic> <partitions>");
		return;
	}
	reply_result(create_topic(tok[1], (int) parts), "create");
}

/* "leader" command: move a partition's leader to another broker (or none). */
static void
cmd_leader(char **tok, int ntok)
{
	long		part;
	long		id;

	if (ntok != 4 || !parse_long(tok[2], 0, INT32_MAX, &part) ||
		!parse_long(tok[3], -1, INT32_MAX, &id))
	{
		reply("ERR usage: leader <topic> <partition> <broker_id|-1>");
		return;
	}
	reply_result(rd_kafka_mock_partition_set_leader(mcluster, tok[1],
													(int32_t) part,
													(int32_t) id),
				 "leader");
}

/* "topicerror" command: set (or clear) a topic-level Metadata error. */
static void
cmd_topicerror(char **tok, int ntok)
{
	rd_kafka_resp_err_t err;

	if (ntok != 3)
	{
		reply("ERR usage: topicerror <topic> <error>");
		return;
	}
	if (!parse_error(tok[2], &err))
	{
		reply("ERR unknown error '%s'", tok[2]);
		return;
	}
	rd_kafka_mock_topic_set_error(mcluster, tok[1], err);
	reply("OK");
}

/* "coordinator" command: pin the coordinator of a group or transaction. */
static void
cmd_coordinator(char **tok, int ntok)
{
	long		id;

	if (ntok != 4 ||
		(strcmp(tok[1], "group") != 0 && strcmp(tok[1], "transaction") != 0) ||
		!parse_long(tok[3], 0, INT32_MAX, &id))
	{
		reply("ERR usage: coordinator <group|transaction> <key> <broker_id>");
		return;
	}
	reply_result(rd_kafka_mock_coordinator_set(mcluster, tok[1], tok[2],
											   (int32_t) id),
				 "coordinator");
}

/* The in-process producer of the "produce" command, made on first use. */
static rd_kafka_t *producer_rk = NULL;

/*
 * Delivery report callback of that producer: stores the message's error
 * and offset where its opaque points.
 */
static void
produce_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	int64_t    *result = (int64_t *) m->_private;

	(void) rk;
	(void) opaque;
	result[0] = m->err;
	result[1] = m->offset;
}

/*
 * "produce" command: one message with an explicit CreateTime, sent alone in
 * its own request (so the record batch's base timestamp is the message's
 * own and no delta between messages can overflow).
 */
static void
cmd_produce(char **tok, int ntok)
{
	char		errstr[512];
	long		part;
	long long	ts;
	char	   *end;
	int64_t		result[2] = {-1, -1};	/* error, offset; -1: no report */
	rd_kafka_resp_err_t err;

	if (ntok != 5 || !parse_long(tok[2], 0, INT32_MAX, &part))
	{
		reply("ERR usage: produce <topic> <partition> <timestamp_ms> <payload>");
		return;
	}
	errno = 0;
	ts = strtoll(tok[3], &end, 10);
	if (errno != 0 || *end != '\0' || end == tok[3])
	{
		reply("ERR bad timestamp '%s'", tok[3]);
		return;
	}
	if (producer_rk == NULL)
	{
		rd_kafka_conf_t *conf = rd_kafka_conf_new();

		rd_kafka_conf_set_log_cb(conf, log_cb);
		rd_kafka_conf_set_dr_msg_cb(conf, produce_dr_cb);
		if (rd_kafka_conf_set(conf, "bootstrap.servers",
							  rd_kafka_mock_cluster_bootstraps(mcluster),
							  errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
			rd_kafka_conf_set(conf, "linger.ms", "0", errstr,
							  sizeof(errstr)) != RD_KAFKA_CONF_OK ||
			rd_kafka_conf_set(conf, "message.timeout.ms", "10000", errstr,
							  sizeof(errstr)) != RD_KAFKA_CONF_OK)
		{
			rd_kafka_conf_destroy(conf);
			reply("ERR producer configuration: %s", errstr);
			return;
		}
		producer_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
		if (producer_rk == NULL)
		{
			rd_kafka_conf_destroy(conf);
			reply("ERR producer: %s", errstr);
			return;
		}
	}
	err = rd_kafka_producev(producer_rk,
							RD_KAFKA_V_TOPIC(tok[1]),
							RD_KAFKA_V_PARTITION((int32_t) part),
							RD_KAFKA_V_VALUE(tok[4], strlen(tok[4])),
							RD_KAFKA_V_TIMESTAMP((int64_t) ts),
							RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
							RD_KAFKA_V_OPAQUE(result),
							RD_KAFKA_V_END);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		reply_result(err, "produce");
		return;
	}
	rd_kafka_flush(producer_rk, 15000);
	if (result[0] == -1)
		reply("ERR produce: no delivery report within 15 s");
	else if (result[0] != RD_KAFKA_RESP_ERR_NO_ERROR)
		reply_result((rd_kafka_resp_err_t) result[0], "produce");
	else
		reply("OK %lld", (long long) result[1]);
}

/* Split a line into whitespace-separated tokens in place; returns count. */
static int
tokenize(char *line, char **tok, int max)
{
	int			n = 0;
	char	   *p = line;

	while (*p != '\0')
	{
		while (*p != '\0' && isspace((unsigned char) *p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == max)
			return max + 1;
		tok[n++] = p;
		while (*p != '\0' && !isspace((unsigned char) *p))
			p++;
	}
	return n;
}

/* Execute one control command line and write its single reply line. */
static void
handle_command(char *line)
{
	char	   *tok[MAX_TOKENS];
	int			ntok = tokenize(line, tok, MAX_TOKENS);

	if (ntok == 0)
	{
		reply("ERR empty command");
		return;
	}
	if (ntok > MAX_TOKENS)
	{
		reply("ERR too many arguments");
		return;
	}

	if (strcasecmp(tok[0], "ping") == 0)
		reply("OK pong");
	else if (strcasecmp(tok[0], "bootstrap") == 0)
		reply("OK %s", rd_kafka_mock_cluster_bootstraps(mcluster));
	else if (strcasecmp(tok[0], "down") == 0)
		cmd_updown(tok, ntok, false);
	else if (strcasecmp(tok[0], "up") == 0)
		cmd_updown(tok, ntok, true);
	else if (strcasecmp(tok[0], "rtt") == 0)
		cmd_rtt(tok, ntok);
	else if (strcasecmp(tok[0], "error") == 0)
		cmd_error(tok, ntok);
	else if (strcasecmp(tok[0], "berror") == 0)
		cmd_berror(tok, ntok);
	else if (strcasecmp(tok[0], "pending") == 0)
		cmd_pending(tok, ntok);
	else if (strcasecmp(tok[0], "clear") == 0)
		cmd_clear(tok, ntok);
	else if (strcasecmp(tok[0], "create") == 0)
		cmd_create(tok, ntok);
	else if (strcasecmp(tok[0], "leader") == 0)
		cmd_leader(tok, ntok);
	else if (strcasecmp(tok[0], "topicerror") == 0)
		cmd_topicerror(tok, ntok);
	else if (strcasecmp(tok[0], "coordinator") == 0)
		cmd_coordinator(tok, ntok);
	else if (strcasecmp(tok[0], "produce") == 0)
		cmd_produce(tok, ntok);
	else if (strcasecmp(tok[0], "help") == 0)
		reply("OK ping bootstrap down up rtt error berror pending clear "
			  "create leader topicerror coordinator produce help quit");
	else if (strcasecmp(tok[0], "quit") == 0 || strcasecmp(tok[0], "exit") == 0)
	{
		reply("OK bye");
		stop_requested = 1;
	}
	else
		reply("ERR unknown command '%s'", tok[0]);
}

/* Print command-line usage to stderr. */
static void
usage(const char *prog)
{
	fprintf(stderr,
			"usage: %s [--brokers N] [--exit-on-eof] [--debug CONTEXTS] "
			"topic[:partitions] ...\n"
			"Runs librdkafka's mock Kafka cluster on 127.0.0.1, prints "
			"\"BOOTSTRAP <servers>\" and\nreads control commands on stdin "
			"(send \"help\").\n", prog);
}

/*
 * Entry point: parse arguments, start the mock cluster, create topics,
 * announce the bootstrap servers, then serve stdin commands until stopped.
 */
int
main(int argc, char **argv)
{
	rd_kafka_conf_t *conf;
	char		errstr[512];
	const char *debug = NULL;
	bool		exit_on_eof = false;
	bool		stdin_open = true;
	sigset_t	block;
	sigset_t	waitmask;
	struct sigaction sa;
	char		buf[MAX_LINE];
	size_t		buflen = 0;
	bool		discarding = false;
	int			first_topic;
	int			i;

	/* Argument parsing. */
	for (i = 1; i < argc; i++)
	{
		long		v;

		if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
		{
			if (!parse_long(argv[++i], 1, 64, &v))
			{
				diag("--brokers must be between 1 and 64");
				return 2;
			}
			broker_cnt = (int) v;
		}
		else if (strncmp(argv[i], "--brokers=", 10) == 0)
		{
			if (!parse_long(argv[i] + 10, 1, 64, &v))
			{
				diag("--brokers must be between 1 and 64");
				return 2;
			}
			broker_cnt = (int) v;
		}
		else if (strcmp(argv[i], "--port") == 0 ||
				 strncmp(argv[i], "--port=", 7) == 0)
		{
			diag("--port is not supported: librdkafka %s's mock cluster always "
				 "listens on ephemeral 127.0.0.1 ports and has no API to "
				 "choose one; read the ports from the BOOTSTRAP line instead",
				 rd_kafka_version_str());
			return 2;
		}
		else if (strcmp(argv[i], "--exit-on-eof") == 0)
			exit_on_eof = true;
		else if (strcmp(argv[i], "--debug") == 0 && i + 1 < argc)
			debug = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		{
			usage(argv[0]);
			return 0;
		}
		else if (strcmp(argv[i], "--") == 0)
		{
			i++;
			break;
		}
		else if (argv[i][0] == '-')
		{
			diag("unknown option '%s'", argv[i]);
			usage(argv[0]);
			return 2;
		}
		else
			break;
	}
	first_topic = i;

	/* Validate topic specs before starting anything. */
	for (i = first_topic; i < argc; i++)
	{
		char	   *colon = strrchr(argv[i], ':');
		long		v;

		if (argv[i][0] == '\0' || colon == argv[i] ||
			(colon != NULL && !parse_long(colon + 1, 1, 100000, &v)))
		{
			diag("bad topic spec '%s' (want name[:partitions])", argv[i]);
			return 2;
		}
	}

	/*
	 * Block SIGINT/SIGTERM before librdkafka starts its threads (they inherit
	 * the mask), so the signals are delivered only to this thread, and only
	 * while it waits in ppoll() below.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &waitmask) != 0)
	{
		diag("sigprocmask: %s", strerror(errno));
		return 1;
	}
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	setvbuf(stdout, NULL, _IOLBF, 0);

	/* The mock cluster needs an rd_kafka_t for bookkeeping only. */
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, log_cb);
	if (rd_kafka_conf_set(conf, "client.id", "pg_lambda_kafka_broker",
						  errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	/* Hide the notice about this handle having no bootstrap.servers. */
		rd_kafka_conf_set(conf, "log_level", debug != NULL ? "7" : "4",
						  errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
		(debug != NULL &&
		 rd_kafka_conf_set(conf, "debug", debug, errstr,
						   sizeof(errstr)) != RD_KAFKA_CONF_OK))
	{
		diag("configuration: %s", errstr);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (mock_rk == NULL)
	{
		diag("rd_kafka_new: %s", errstr);
		return 1;
	}

	mcluster = rd_kafka_mock_cluster_new(mock_rk, broker_cnt);
	if (mcluster == NULL)
	{
		diag("could not create a mock cluster of %d broker(s)", broker_cnt);
		rd_kafka_destroy(mock_rk);
		return 1;
	}

	for (i = first_topic; i < argc; i++)
	{
		char	   *colon = strrchr(argv[i], ':');
		long		parts = 1;
		rd_kafka_resp_err_t err;

		if (colon != NULL)
		{
			*colon = '\0';
			parse_long(colon + 1, 1, 100000, &parts);
		}
		err = create_topic(argv[i], (int) parts);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			diag("could not create topic '%s': %s", argv[i],
				 rd_kafka_err2str(err));
			rd_kafka_mock_cluster_destroy(mcluster);
			rd_kafka_destroy(mock_rk);
			return 1;
		}
	}

	reply("BOOTSTRAP %s", rd_kafka_mock_cluster_bootstraps(mcluster));
	diag("%d broker(s) at %s (librdkafka %s)", broker_cnt,
		 rd_kafka_mock_cluster_bootstraps(mcluster), rd_kafka_version_str());

	/* Serve control commands until a signal, "quit" or (optionally) EOF. */
	while (!stop_requested)
	{
		struct pollfd pfd;
		struct timespec ts = {1, 0};
		int			rc;

		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = ppoll(&pfd, stdin_open ? 1 : 0, &ts, &waitmask);
		rd_kafka_poll(mock_rk, 0);
		if (rc < 0)
		{
			if (errno == EINTR)
				continue;
			diag("ppoll: %s", strerror(errno));
			break;
		}
		if (rc == 0 || !stdin_open)
			continue;

		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
		{
			ssize_t		n = read(STDIN_FILENO, buf + buflen,
								 sizeof(buf) - 1 - buflen);
			char	   *start;
			char	   *nl;

			if (n < 0)
			{
				if (errno == EINTR || errno == EAGAIN)
					continue;
				diag("reading stdin: %s", strerror(errno));
				n = 0;
			}
			if (n == 0)
			{
				/* EOF: run a final unterminated command, then stop reading. */
				if (buflen > 0 && !discarding)
				{
					buf[buflen] = '\0';
					handle_command(buf);
				}
				buflen = 0;
				stdin_open = false;
				if (exit_on_eof)
					stop_requested = 1;
				continue;
			}
			buflen += (size_t) n;
			buf[buflen] = '\0';

			start = buf;
			while (!stop_requested && (nl = memchr(start, '\n',
												   buflen - (size_t) (start - buf))) != NULL)
			{
				*nl = '\0';
				if (nl > start && nl[-1] == '\r')
					nl[-1] = '\0';
				if (discarding)
					discarding = false;
				else
					handle_command(start);
				start = nl + 1;
			}
			buflen -= (size_t) (start - buf);
			memmove(buf, start, buflen);

			if (buflen == sizeof(buf) - 1)
			{
				/* Line too long: reject it once and skip to its end. */
				if (!discarding)
					reply("ERR line too long");
				discarding = true;
				buflen = 0;
			}
		}
	}

	if (producer_rk != NULL)
		rd_kafka_destroy(producer_rk);
	rd_kafka_mock_cluster_destroy(mcluster);
	rd_kafka_destroy(mock_rk);
	return 0;
}
