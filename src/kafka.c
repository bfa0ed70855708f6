/*-------------------------------------------------------------------------
 *
 * kafka.c
 *	  pg_lambda's wrapper around librdkafka's consumer: the only file that
 *	  includes librdkafka's header.
 *
 * A KafkaConsumer belongs to one source worker process. librdkafka runs its
 * own threads; none of them ever calls into PostgreSQL. Every callback that
 * librdkafka makes into this file (errors, rebalances) is served from the
 * worker's main thread, inside kafka_poll_batch() or the other calls here,
 * because all events are routed to the consumer queue that we poll. Callbacks only record text in the
 * KafkaConsumer or call the worker's own callbacks, which may use
 * PostgreSQL freely since they run on its thread.
 *
 * Offsets are never committed to Kafka automatically: the worker commits them
 * to PostgreSQL with the rows, and (in group mode) to the group afterwards so
 * that another server taking a partition over knows where to continue.
 *
 * Offsets out of range. Partitions always start at an explicit offset (the
 * stored one) or at a logical BEGINNING/END, so librdkafka's
 * auto.offset.reset only matters when a stored offset is no longer in the
 * log: retention deleted it while the source was stopped or lagging, or the
 * topic was recreated. librdkafka would then jump to the earliest or latest
 * offset and say so only on stderr; it is set to "error" instead, which
 * stops fetching the partition and hands the worker an
 * RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET event. kafka_poll_batch() records
 * those (kafka_take_out_of_range) and the worker applies pg_lambda's policy.
 *
 * Isolation. isolation.level is always read_committed (set here, after the
 * user's options, and any other value refused: kafka_check_option):
 * messages of aborted transactions are never delivered, and neither are the
 * transactions' control records. Both occupy offsets, so the last delivered
 * message of a partition can be followed by offsets that will never be
 * delivered; kafka_position() tells how far the consumer has really read.
 *
 * Consumer-group protocols. The classic protocol (librdkafka's default) runs
 * with the eager assignors range,roundrobin, which pg_lambda sets: a
 * rebalance revokes every partition, then assigns anew (rd_kafka_assign). The
 * consumer-group protocol of KIP-848 (group.protocol=consumer, Kafka 4.0 and
 * librdkafka 2.12 on) has the broker assign partitions, and rebalances
 * incrementally: the rebalance callback is given only the partitions added or
 * taken away, and answers with rd_kafka_incremental_assign/unassign (so does
 * a cooperative classic assignor, which a superuser may configure). It needs
 * librdkafka 2.12 at build and at run time (kafka_consumer_protocol_available);
 * with an older one a source asking for it is refused with the reason. Either
 * way the callbacks run between two batches (only polling serves them), so a
 * revoked partition's last batch is already committed, here and to the group,
 * when it is given up.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <librdkafka/rdkafka.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "utils/memutils.h"

#include "kafka.h"

struct KafkaConsumer
{
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;	/* the consumer queue */
	char	   *topic;
	bool		group;
	KafkaAssignCallback on_assign;
	KafkaRevokeCallback on_revoke;
	void	   *callback_arg;
	rd_kafka_message_t **batch; /* messages handed out by the last poll */
	int			batch_len;
	int			batch_cap;
	char		error[512];		/* latest client-level error, "" when none */
	/* group mode: the offsets the last assignment started from */
	int			nassigned;
	int32		assigned_partition[KAFKA_MAX_OUT_OF_RANGE];
	int64		assigned_offset[KAFKA_MAX_OUT_OF_RANGE];
	/* partitions whose offset fell outside the log, not yet taken */
	int			noor;
	int32		oor_partition[KAFKA_MAX_OUT_OF_RANGE];
	int64		oor_offset[KAFKA_MAX_OUT_OF_RANGE];
};

/* Properties the worker owns; users may not override them in options. */
static const char *const kafka_reserved_options[] = {
	"bootstrap.servers", "metadata.broker.list", "group.id", "enable.auto.commit",
	"enable.auto.offset.store", "enable.partition.eof", "auto.offset.reset",
	"client.id", NULL
};

/*
 * The consumer properties a source owned by a role that is not superuser may
 * set (docs/kafka.md, "Security", lists them with the reasons). None of them
 * makes librdkafka read or write the server's files, run a command, load code,
 * use the server's own credentials or change what goes to the server log;
 * they act only on the source's own connections to its own brokers. Names are
 * exact: librdkafka matches property names case-sensitively, and an alias
 * that is not listed here needs superuser like any other property.
 */
static const char *const kafka_user_options[] = {
	/* connection security, with every credential given inline */
	"security.protocol", "sasl.mechanism", "sasl.mechanisms", "sasl.username",
	"sasl.password", "ssl.ca.pem", "ssl.certificate.pem", "ssl.key.pem",
	"ssl.key.password", "ssl.endpoint.identification.algorithm",
	"enable.ssl.certificate.verification", "ssl.cipher.suites", "ssl.curves.list",
	"ssl.sigalgs.list",
	/* the source's own network connections */
	"socket.timeout.ms", "socket.send.buffer.bytes", "socket.receive.buffer.bytes",
	"socket.keepalive.enable", "socket.nagle.disable", "socket.max.fails",
	"socket.connection.setup.timeout.ms", "connections.max.idle.ms",
	"broker.address.ttl", "broker.address.family", "reconnect.backoff.ms",
	"reconnect.backoff.max.ms", "client.rack",
	/* metadata and protocol versions */
	"metadata.max.age.ms", "topic.metadata.refresh.interval.ms",
	"topic.metadata.refresh.fast.interval.ms", "topic.metadata.refresh.sparse",
	"topic.metadata.propagation.max.ms", "api.version.request",
	"api.version.request.timeout.ms", "api.version.fallback.ms",
	"broker.version.fallback", "allow.auto.create.topics",
	/* fetching and the local queue */
	"fetch.wait.max.ms", "fetch.min.bytes", "fetch.max.bytes",
	"fetch.message.max.bytes", "max.partition.fetch.bytes", "fetch.error.backoff.ms",
	"queued.min.messages", "queued.max.messages.kbytes", "receive.message.max.bytes",
	"message.max.bytes", "isolation.level", "check.crcs",
	/* consumer-group timing (group mode) */
	"session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
	"coordinator.query.interval.ms", "group.protocol",
	NULL
};

/* The SASL mechanisms that use nothing but the credentials in options. */
static const char *const kafka_user_sasl_mechanisms[] = {
	"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", NULL
};

/*
 * Why the properties outside kafka_user_options need superuser, for the
 * ones where there is more to say than "not on the list". A name ending in
 * "." covers every property it begins.
 */
typedef struct KafkaOptionRule
{
	const char *name;
	const char *why;
	const char *instead;
} KafkaOptionRule;

#define KAFKA_WHY_FILE "librdkafka reads the file it names as the operating-system user that runs PostgreSQL"
#define KAFKA_INSTEAD_FILE "Pass certificates and keys inline in ssl.ca.pem, ssl.certificate.pem and ssl.key.pem, or ask a superuser to create the source."
#define KAFKA_WHY_CODE "it makes librdkafka load code into the server process"
#define KAFKA_WHY_KERBEROS "Kerberos (GSSAPI) authentication runs sasl.kerberos.kinit.cmd as a shell command and uses the server's own Kerberos credentials"
#define KAFKA_WHY_OAUTH "OAUTHBEARER authentication makes the server fetch tokens from URLs or make up unsigned tokens"
#define KAFKA_INSTEAD_SASL "Set sasl.mechanism to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with sasl.username and sasl.password, or ask a superuser to create the source."
#define KAFKA_WHY_LOG "it decides what librdkafka writes to the server log"
#define KAFKA_WHY_GROUP "it changes how the workers take part in a consumer group, which exactly-once ingestion relies on"
#define KAFKA_INSTEAD_SUPERUSER "Leave it out, or ask a superuser to create the source."

static const KafkaOptionRule kafka_superuser_rules[] = {
	{"ssl.key.location", KAFKA_WHY_FILE, KAFKA_INSTEAD_FILE},
	{"ssl.certificate.location", KAFKA_WHY_FILE, KAFKA_INSTEAD_FILE},
	{"ssl.ca.location", KAFKA_WHY_FILE, KAFKA_INSTEAD_FILE},
	{"ssl.crl.location", KAFKA_WHY_FILE, KAFKA_INSTEAD_FILE},
	{"ssl.keystore.location", KAFKA_WHY_FILE, KAFKA_INSTEAD_FILE},
	{"ssl.keystore.password", "it only unlocks the keystore file named by ssl.keystore.location, which " KAFKA_WHY_FILE, KAFKA_INSTEAD_FILE},
	{"ssl.ca.certificate.stores", "it makes librdkafka read the certificate stores of the server's system", KAFKA_INSTEAD_FILE},
	{"offset.store.", "file-based offset storage makes librdkafka write files on the server", KAFKA_INSTEAD_SUPERUSER},
	{"plugin.library.paths", KAFKA_WHY_CODE, KAFKA_INSTEAD_SUPERUSER},
	{"interceptors", KAFKA_WHY_CODE, KAFKA_INSTEAD_SUPERUSER},
	{"ssl.engine.location", KAFKA_WHY_CODE, KAFKA_INSTEAD_SUPERUSER},
	{"ssl.engine.id", KAFKA_WHY_CODE, KAFKA_INSTEAD_SUPERUSER},
	{"ssl.providers", KAFKA_WHY_CODE, KAFKA_INSTEAD_SUPERUSER},
	{"sasl.kerberos.", KAFKA_WHY_KERBEROS, KAFKA_INSTEAD_SASL},
	{"sasl.oauthbearer.", KAFKA_WHY_OAUTH, KAFKA_INSTEAD_SASL},
	{"enable.sasl.oauthbearer.unsecure.jwt", KAFKA_WHY_OAUTH, KAFKA_INSTEAD_SASL},
	{"debug", KAFKA_WHY_LOG, KAFKA_INSTEAD_SUPERUSER},
	{"log_level", KAFKA_WHY_LOG, KAFKA_INSTEAD_SUPERUSER},
	{"log.", KAFKA_WHY_LOG, KAFKA_INSTEAD_SUPERUSER},
	{"statistics.interval.ms", KAFKA_WHY_LOG, KAFKA_INSTEAD_SUPERUSER},
	{"enabled_events", KAFKA_WHY_LOG, KAFKA_INSTEAD_SUPERUSER},
	{"internal.termination.signal", "it makes librdkafka send signals to the server process", KAFKA_INSTEAD_SUPERUSER},
	{"enable.random.seed", "it changes the random number generator of the whole server process", KAFKA_INSTEAD_SUPERUSER},
	{"group.instance.id", KAFKA_WHY_GROUP, KAFKA_INSTEAD_SUPERUSER},
	{"partition.assignment.strategy", KAFKA_WHY_GROUP, KAFKA_INSTEAD_SUPERUSER},
	{"group.protocol.type", KAFKA_WHY_GROUP, KAFKA_INSTEAD_SUPERUSER},
	{"group.remote.assignor", KAFKA_WHY_GROUP, KAFKA_INSTEAD_SUPERUSER},
	{NULL, NULL, NULL}
};

/*
 * Is name one of the properties the worker sets itself, which nobody may
 * override?
 */
bool
kafka_option_is_reserved(const char *name)
{
	int			i;

	for (i = 0; kafka_reserved_options[i]; i++)
	{
		if (strcmp(name, kafka_reserved_options[i]) == 0)
			return true;
	}
	return false;
}

/*
 * Is value one of the strings in list (exact match)?
 */
static bool
kafka_in_list(const char *const *list, const char *value)
{
	int			i;

	for (i = 0; list[i]; i++)
	{
		if (strcmp(list[i], value) == 0)
			return true;
	}
	return false;
}

/*
 * Decides whether these options, set together, need a source owned by a
 * superuser. Returns false when a role that is not superuser may set them;
 * otherwise true with *denial naming the first option that needs superuser,
 * why, and what to do instead.
 *
 * Must run before any of the options reaches librdkafka: merely setting
 * plugin.library.paths on a configuration object loads the library.
 *
 * Besides the allowlist there is one rule about options together: SASL
 * without a sasl.mechanism means GSSAPI (librdkafka's default), i.e. Kerberos
 * with the server's own credentials and a kinit shell command.
 */
bool
kafka_options_need_superuser(int n, const char *const *names, const char *const *values,
							 KafkaOptionDenial *denial)
{
	const char *protocol = NULL;
	bool		mechanism = false;
	int			i;

	for (i = 0; i < n; i++)
	{
		const char *name = names[i];
		int			r;

		if (strcmp(name, "sasl.mechanism") == 0 || strcmp(name, "sasl.mechanisms") == 0)
		{
			mechanism = true;
			if (!kafka_in_list(kafka_user_sasl_mechanisms, values[i]))
			{
				denial->option = name;
				denial->why = strcmp(values[i], "OAUTHBEARER") == 0 ? KAFKA_WHY_OAUTH :
					strcmp(values[i], "GSSAPI") == 0 ? KAFKA_WHY_KERBEROS :
					"only the mechanisms PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 use nothing but the credentials given in options";
				denial->instead = KAFKA_INSTEAD_SASL;
				return true;
			}
			continue;
		}
		if (strcmp(name, "security.protocol") == 0)
			protocol = values[i];
		if (kafka_in_list(kafka_user_options, name))
			continue;

		denial->option = name;
		denial->why = "pg_lambda lets roles that are not superusers set only the librdkafka options listed in the Security section of its Kafka documentation";
		denial->instead = KAFKA_INSTEAD_SUPERUSER;
		for (r = 0; kafka_superuser_rules[r].name; r++)
		{
			const KafkaOptionRule *rule = &kafka_superuser_rules[r];
			size_t		len = strlen(rule->name);

			if (rule->name[len - 1] == '.' ? strncmp(name, rule->name, len) == 0
				: strcmp(name, rule->name) == 0)
			{
				denial->why = rule->why;
				denial->instead = rule->instead;
				break;
			}
		}
		return true;
	}

	if (protocol != NULL && pg_strncasecmp(protocol, "sasl_", 5) == 0 && !mechanism)
	{
		denial->option = "security.protocol";
		denial->why = "SASL without a sasl.mechanism means Kerberos (GSSAPI), which runs sasl.kerberos.kinit.cmd as a shell command and uses the server's own Kerberos credentials";
		denial->instead = KAFKA_INSTEAD_SASL;
		return true;
	}
	return false;
}

/*
 * Does this build of pg_lambda, with the librdkafka it runs with, have the
 * consumer-group protocol of KIP-848 (group.protocol=consumer)? librdkafka
 * made it generally available in 2.12; both the headers pg_lambda was built
 * with and the library loaded now must be that new. Fills version with the
 * loaded librdkafka's version ("2.0.2").
 */
bool
kafka_consumer_protocol_available(char *version, size_t len)
{
	if (version)
		snprintf(version, len, "%s", rd_kafka_version_str());
#if RD_KAFKA_VERSION >= KAFKA_CONSUMER_PROTOCOL_VERSION
	return rd_kafka_version() >= KAFKA_CONSUMER_PROTOCOL_VERSION;
#else
	return false;
#endif
}

/*
 * Under group.protocol=consumer, librdkafka refuses the classic protocol's
 * own settings: the broker owns them. Returns the broker setting that takes
 * name's place (a static string), or NULL when name is not one of them.
 */
const char *
kafka_classic_only_option(const char *name)
{
	static const char *const pairs[][2] = {
		{"session.timeout.ms", "group.consumer.session.timeout.ms"},
		{"heartbeat.interval.ms", "group.consumer.heartbeat.interval.ms"},
		{"partition.assignment.strategy", "group.consumer.assignors (or the source's group.remote.assignor)"},
		{"group.protocol.type", "the consumer protocol itself"},
	};
	size_t		i;

	for (i = 0; i < lengthof(pairs); i++)
	{
		if (strcmp(name, pairs[i][0]) == 0)
			return pairs[i][1];
	}
	return NULL;
}

/*
 * pg_lambda's own rules for an option's value, beyond librdkafka's:
 * isolation.level is read_committed (file header), group.protocol is classic
 * or, where librdkafka has it, consumer. False with errbuf filled when value
 * breaks one.
 */
static bool
kafka_check_rules(const char *name, const char *value, char *errbuf, size_t errlen)
{
	char		version[64];

	if (strcmp(name, "isolation.level") == 0 && strcmp(value, "read_committed") != 0)
	{
		snprintf(errbuf, errlen, "isolation.level: pg_lambda reads only committed messages (read_committed), not \"%s\"",
				 value);
		return false;
	}
	if (strcmp(name, "group.protocol") != 0)
		return true;
	if (strcmp(value, "classic") != 0 && strcmp(value, "consumer") != 0)
	{
		snprintf(errbuf, errlen, "group.protocol is \"classic\" or \"consumer\", not \"%s\"", value);
		return false;
	}
	if (strcmp(value, "consumer") == 0 && !kafka_consumer_protocol_available(version, sizeof(version)))
	{
		snprintf(errbuf, errlen, "group.protocol \"consumer\" (KIP-848) needs librdkafka 2.12 or later; this server runs librdkafka %s",
				 version);
		return false;
	}
	return true;
}

/*
 * Checks one user-supplied librdkafka property: is it known, is the value
 * acceptable, and is it one the worker does not set itself? Fills errbuf.
 * The caller has already decided that the user may set it (setting some
 * properties has effects, see kafka_options_need_superuser).
 */
bool
kafka_check_option(const char *name, const char *value, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *conf;
	rd_kafka_conf_res_t res;

	if (kafka_option_is_reserved(name))
	{
		snprintf(errbuf, errlen, "\"%s\" is set by pg_lambda itself", name);
		return false;
	}
	if (!kafka_check_rules(name, value, errbuf, errlen))
		return false;
	/* "classic" where librdkafka knows no other protocol: nothing to check */
	if (strcmp(name, "group.protocol") == 0 && !kafka_consumer_protocol_available(NULL, 0))
		return true;
	conf = rd_kafka_conf_new();
	res = rd_kafka_conf_set(conf, name, value, errbuf, errlen);
	rd_kafka_conf_destroy(conf);
	return res == RD_KAFKA_CONF_OK;
}

/*
 * Remembers err as the consumer's latest client-level error. All brokers
 * down only sums up the errors before it, and librdkafka 2.14 (Debian sid)
 * reports it right after the failed SASL login or TLS handshake that is the
 * cause, where 2.0 and 2.8 did not: it does not replace an error that says
 * why.
 */
static void
kafka_note_error(KafkaConsumer *c, rd_kafka_resp_err_t err, const char *reason)
{
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && c->error[0] != '\0')
		return;
	snprintf(c->error, sizeof(c->error), "%s: %s", rd_kafka_err2name(err), reason);
}

/*
 * librdkafka error callback (served on the worker's thread): remembers the
 * latest client-level error, e.g. all brokers down.
 */
static void
kafka_error_cb(rd_kafka_t *rk pg_attribute_unused(), int err, const char *reason, void *opaque)
{
	kafka_note_error((KafkaConsumer *) opaque, (rd_kafka_resp_err_t) err, reason);
}

/*
 * Remembers where the partitions of an assignment start (for
 * kafka_restart_fetch under the eager protocol): replaces what was
 * remembered, or, incrementally, adds to it.
 */
static void
kafka_note_assigned(KafkaConsumer *c, bool incremental, int n, const int32 *ids,
					const int64 *offsets)
{
	int			i;
	int			j;

	if (!incremental)
		c->nassigned = 0;
	for (i = 0; i < n; i++)
	{
		for (j = 0; j < c->nassigned; j++)
			if (c->assigned_partition[j] == ids[i])
				break;
		if (j == KAFKA_MAX_OUT_OF_RANGE)
			continue;			/* can't happen: a worker owns at most that many */
		c->assigned_partition[j] = ids[i];
		c->assigned_offset[j] = offsets[i];
		if (j == c->nassigned)
			c->nassigned++;
	}
}

/*
 * Forgets the start of revoked partitions (all of them when not incremental).
 */
static void
kafka_note_revoked(KafkaConsumer *c, bool incremental, int n, const int32 *ids)
{
	int			i;
	int			j;
	int			keep = 0;

	if (!incremental)
	{
		c->nassigned = 0;
		return;
	}
	for (j = 0; j < c->nassigned; j++)
	{
		bool		revoked = false;

		for (i = 0; i < n && !revoked; i++)
			revoked = (c->assigned_partition[j] == ids[i]);
		if (revoked)
			continue;
		c->assigned_partition[keep] = c->assigned_partition[j];
		c->assigned_offset[keep] = c->assigned_offset[j];
		keep++;
	}
	c->nassigned = keep;
}

/*
 * Is the group's rebalance protocol incremental (KIP-848's consumer
 * protocol, or a cooperative classic assignor)?
 */
static bool
kafka_incremental(rd_kafka_t *rk)
{
	const char *protocol = rd_kafka_rebalance_protocol(rk);

	return protocol != NULL && strcmp(protocol, "COOPERATIVE") == 0;
}

/*
 * librdkafka rebalance callback (group mode, served on the worker's thread,
 * between two batches: see the file header). Revocation first lets the
 * worker forget the partitions (their last batch is committed already); an
 * assignment asks the worker where each partition starts. Eagerly (classic
 * range,roundrobin) the lists hold the whole assignment, which is replaced;
 * incrementally they hold only the partitions added or taken away. Any other
 * event (a failed rebalance) drops the whole assignment, as librdkafka asks.
 */
static void
kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
				   rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	KafkaConsumer *c = (KafkaConsumer *) opaque;
	bool		incremental = kafka_incremental(rk);
	int			n = parts->cnt;
	int32	   *ids = palloc(sizeof(int32) * (n + 1));
	int64	   *offsets = palloc(sizeof(int64) * (n + 1));
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
	int			i;

	for (i = 0; i < n; i++)
	{
		ids[i] = parts->elems[i].partition;
		offsets[i] = KAFKA_OFFSET_BEGINNING;
	}

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
	{
		if (c->on_assign)
			c->on_assign(c->callback_arg, incremental, n, ids, offsets);
		for (i = 0; i < n; i++)
			parts->elems[i].offset = offsets[i];
		kafka_note_assigned(c, incremental, n, ids, offsets);
		if (incremental)
			error = rd_kafka_incremental_assign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, parts);
	}
	else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
	{
		if (c->on_revoke)
			c->on_revoke(c->callback_arg, incremental, n, ids);
		kafka_note_revoked(c, incremental, n, ids);
		if (incremental)
			error = rd_kafka_incremental_unassign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, NULL);
	}
	else
	{
		if (c->on_revoke)
			c->on_revoke(c->callback_arg, false, n, ids);
		kafka_note_revoked(c, false, 0, NULL);
		aerr = rd_kafka_assign(rk, NULL);
		kafka_note_error(c, err, "the consumer group's rebalance failed");
	}
	if (error)
	{
		kafka_note_error(c, rd_kafka_error_code(error), rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	}
	else if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR)
		kafka_note_error(c, aerr, "could not change the consumer's assignment");
	pfree(ids);
	pfree(offsets);
}

/*
 * Sets one librdkafka property, reporting failure in errbuf.
 */
static bool
kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
			   char *errbuf, size_t errlen)
{
	char		buf[512];

	if (rd_kafka_conf_set(conf, name, value, buf, sizeof(buf)) != RD_KAFKA_CONF_OK)
	{
		snprintf(errbuf, errlen, "%s: %s", name, buf);
		return false;
	}
	return true;
}

/*
 * Keeps the memory that librdkafka's fetch threads free instead of giving it
 * back to the kernel. A fetch thread allocates its response and
 * decompression buffers afresh for every fetch; with glibc's defaults the
 * freed memory at the top of the thread's arena is trimmed away (and large
 * buffers are mmap'd and unmapped), so the next fetch faults in new pages
 * that the kernel zeroes first: in a profile of bench/ingest_bench.sh that
 * zeroing was most of the fetch thread's CPU time, about a sixth of the whole
 * Kafka path's. With a trim threshold of KAFKA_MALLOC_KEEP and buffers below
 * KAFKA_MALLOC_MMAP served from the arenas, a worker keeps the pages it needed
 * at its peak, which librdkafka's queue limits bound
 * (queued.max.messages.kbytes), and reuses them. Only the source worker
 * creates consumers, so no other process's allocator changes.
 */
#define KAFKA_MALLOC_KEEP	(256 * 1024 * 1024)
#define KAFKA_MALLOC_MMAP	(32 * 1024 * 1024)	/* glibc's largest on 64 bits */
#define KAFKA_QUEUED_KBYTES	"16384"

static void
kafka_tune_malloc(void)
{
#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
	/* setting either fixes both: no more adjusting them at run time */
	(void) mallopt(M_MMAP_THRESHOLD, KAFKA_MALLOC_MMAP);
	(void) mallopt(M_TRIM_THRESHOLD, KAFKA_MALLOC_KEEP);
#ifdef M_ARENA_MAX
	(void) mallopt(M_ARENA_MAX, 1);
#endif
#endif
}

/*
 * Creates a consumer for one topic. Returns NULL with errbuf filled when the
 * configuration is refused (connection problems show up later, as errors).
 */
KafkaConsumer *
kafka_consumer_create(const KafkaSettings *s, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	KafkaConsumer *c = palloc0(sizeof(KafkaConsumer));
	char		backoff[32];
	char		buf[512];
	bool		consumer_protocol = false;
	int			i;

	c->topic = pstrdup(s->topic);
	c->group = (s->group_id != NULL);
	c->on_assign = s->on_assign;
	c->on_revoke = s->on_revoke;
	c->callback_arg = s->callback_arg;
	c->batch_cap = 0;

	/* the consumer protocol of KIP-848 assigns on the broker (file header) */
	for (i = 0; i < s->noptions; i++)
	{
		if (strcmp(s->option_names[i], "group.protocol") == 0)
			consumer_protocol = (strcmp(s->option_values[i], "consumer") == 0);
	}

	snprintf(backoff, sizeof(backoff), "%d", s->retry_backoff_max_ms);
	if (!kafka_conf_set(conf, "bootstrap.servers", s->brokers, errbuf, errlen) ||
		!kafka_conf_set(conf, "client.id", s->client_id, errbuf, errlen) ||
		!kafka_conf_set(conf, "enable.auto.commit", "false", errbuf, errlen) ||
		!kafka_conf_set(conf, "enable.auto.offset.store", "false", errbuf, errlen) ||
		!kafka_conf_set(conf, "enable.partition.eof", "false", errbuf, errlen) ||
		/* a stored offset outside the log is the worker's to decide (header) */
		!kafka_conf_set(conf, "auto.offset.reset", "error", errbuf, errlen) ||
		/* keep the produce-to-visible delay low: do not let fetches linger */
		!kafka_conf_set(conf, "fetch.wait.max.ms", "100", errbuf, errlen) ||
		/* prefetch what a few batches need, not the whole topic (see kafka_tune_malloc) */
		!kafka_conf_set(conf, "queued.max.messages.kbytes", KAFKA_QUEUED_KBYTES, errbuf, errlen) ||
		!kafka_conf_set(conf, "reconnect.backoff.ms", "100", errbuf, errlen) ||
		!kafka_conf_set(conf, "reconnect.backoff.max.ms", backoff, errbuf, errlen) ||
		/* librdkafka's consumer always needs a group id; in assigned mode it
		 * is never joined or committed to, only named */
		!kafka_conf_set(conf, "group.id", c->group ? s->group_id : s->client_id,
						errbuf, errlen) ||
		/* classic protocol: eager rebalancing, every partition revoked (and
		 * its work committed) before the group assigns anew */
		(c->group && !consumer_protocol &&
		 !kafka_conf_set(conf, "partition.assignment.strategy", "range,roundrobin",
						 errbuf, errlen)))
	{
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	for (i = 0; i < s->noptions; i++)
	{
		/*
		 * The same checks as when the options were set: a source stored
		 * before a rule, or restored where librdkafka is older, is refused
		 * with the reason rather than run otherwise than asked.
		 */
		if (!kafka_check_rules(s->option_names[i], s->option_values[i], errbuf, errlen))
		{
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
		/* "classic" where librdkafka knows no other protocol: nothing to set */
		if (strcmp(s->option_names[i], "group.protocol") == 0 &&
			!kafka_consumer_protocol_available(NULL, 0))
			continue;
		if (!kafka_conf_set(conf, s->option_names[i], s->option_values[i], errbuf, errlen))
		{
			rd_kafka_conf_destroy(conf);
			return NULL;
		}
	}
	/* after the options: nothing overrides it (file header) */
	if (!kafka_conf_set(conf, "isolation.level", "read_committed", errbuf, errlen))
	{
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_opaque(conf, c);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	if (c->group)
		rd_kafka_conf_set_rebalance_cb(conf, kafka_rebalance_cb);

	kafka_tune_malloc();
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, buf, sizeof(buf));
	if (c->rk == NULL)
	{
		/* rd_kafka_new only takes ownership of conf on success */
		rd_kafka_conf_destroy(conf);
		snprintf(errbuf, errlen, "%s", buf);
		return NULL;
	}
	/* serve every event (errors, rebalances) from the consumer queue we poll */
	rd_kafka_poll_set_consumer(c->rk);
	c->queue = rd_kafka_queue_get_consumer(c->rk);
	return c;
}

/*
 * Closes the consumer (leaving its group cleanly) and frees it.
 */
void
kafka_consumer_destroy(KafkaConsumer *c)
{
	if (c == NULL)
		return;
	kafka_release_batch(c);
	rd_kafka_queue_destroy(c->queue);
	rd_kafka_consumer_close(c->rk);
	rd_kafka_destroy(c->rk);
}

/*
 * Asks the cluster for the partitions of the topic. Returns their number
 * (partitions palloc'd), or -1 with errbuf filled.
 */
int
kafka_topic_partitions(KafkaConsumer *c, int timeout_ms, int32 **partitions,
					   char *errbuf, size_t errlen)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	int			n = -1;

	err = rd_kafka_metadata(c->rk, 0, rkt, &md, timeout_ms);

	/*
	 * Why the brokers cannot be asked (a failed SASL login, say) is an error
	 * event in the consumer queue. Before a worker in assigned mode has
	 * assigned anything, nobody polls that queue: serve it here, which cannot
	 * swallow a message while nothing is assigned (in group mode it is polled
	 * all along, and polling here could take one).
	 */
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR && !c->group)
	{
		rd_kafka_topic_partition_list_t *assigned = NULL;

		if (rd_kafka_assignment(c->rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR &&
			assigned != NULL && assigned->cnt == 0)
		{
			rd_kafka_message_t *m;

			while ((m = rd_kafka_consumer_poll(c->rk, 0)) != NULL)
			{
				if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
					kafka_note_error(c, m->err, rd_kafka_message_errstr(m));
				rd_kafka_message_destroy(m);
			}
		}
		if (assigned)
			rd_kafka_topic_partition_list_destroy(assigned);
	}

	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		snprintf(errbuf, errlen, "could not read metadata of topic \"%s\": %s",
				 c->topic, rd_kafka_err2str(err));
	else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
		snprintf(errbuf, errlen, "topic \"%s\" is not available: %s", c->topic,
				 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no metadata");
	else
	{
		int			i;

		n = md->topics[0].partition_cnt;
		*partitions = palloc(sizeof(int32) * (n + 1));
		for (i = 0; i < n; i++)
			(*partitions)[i] = md->topics[0].partitions[i].id;
	}
	/* the latest client-level error says why, when there is one */
	if (n < 0 && c->error[0] != '\0')
	{
		size_t		len = strlen(errbuf);

		snprintf(errbuf + len, errlen - len, " (%s)", c->error);
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return n;
}

/*
 * Builds a librdkafka partition list for our topic.
 */
static rd_kafka_topic_partition_list_t *
kafka_partition_list(KafkaConsumer *c, int n, const int32 *partitions, const int64 *offsets)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n);
	int			i;

	for (i = 0; i < n; i++)
	{
		rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_add(list, c->topic,
																		  partitions[i]);

		if (offsets)
			p->offset = offsets[i];
	}
	return list;
}

/*
 * Assigned mode: consume exactly these partitions from these offsets.
 */
bool
kafka_assign(KafkaConsumer *c, int n, const int32 *partitions, const int64 *offsets,
			 char *errbuf, size_t errlen)
{
	rd_kafka_topic_partition_list_t *list = kafka_partition_list(c, n, partitions, offsets);
	rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, list);

	rd_kafka_topic_partition_list_destroy(list);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		snprintf(errbuf, errlen, "could not assign partitions: %s", rd_kafka_err2str(err));
		return false;
	}
	return true;
}

/*
 * Group mode: join the consumer group for our topic. Partitions arrive
 * through the assign callback while polling.
 */
bool
kafka_subscribe(KafkaConsumer *c, char *errbuf, size_t errlen)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(list, c->topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(c->rk, list);
	rd_kafka_topic_partition_list_destroy(list);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		snprintf(errbuf, errlen, "could not subscribe to topic \"%s\": %s",
				 c->topic, rd_kafka_err2str(err));
		return false;
	}
	return true;
}

/*
 * The partitions currently assigned to this consumer (palloc'd); returns
 * their number.
 */
int
kafka_assignment(KafkaConsumer *c, int32 **partitions)
{
	rd_kafka_topic_partition_list_t *list = NULL;
	int			n = 0;
	int			i;

	if (rd_kafka_assignment(c->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR || list == NULL)
	{
		*partitions = palloc(sizeof(int32));
		return 0;
	}
	*partitions = palloc(sizeof(int32) * (list->cnt + 1));
	for (i = 0; i < list->cnt; i++)
		(*partitions)[n++] = list->elems[i].partition;
	rd_kafka_topic_partition_list_destroy(list);
	return n;
}

/*
 * Frees the messages handed out by the last kafka_poll_batch().
 */
void
kafka_release_batch(KafkaConsumer *c)
{
	int			i;

	for (i = 0; i < c->batch_len; i++)
		rd_kafka_message_destroy(c->batch[i]);
	c->batch_len = 0;
}

/*
 * Remembers that fetching a partition stopped at an offset outside the log
 * (one entry per partition: the latest offset wins).
 */
static void
kafka_note_out_of_range(KafkaConsumer *c, int32 partition, int64 offset)
{
	int			i;

	for (i = 0; i < c->noor; i++)
	{
		if (c->oor_partition[i] == partition)
			break;
	}
	if (i == KAFKA_MAX_OUT_OF_RANGE)
		return;					/* can't happen: a worker owns at most that many */
	c->oor_partition[i] = partition;
	c->oor_offset[i] = offset;
	if (i == c->noor)
		c->noor++;
}

/*
 * The partitions whose fetch stopped because their offset is outside the
 * log, since the last call, with the offset that was asked for. librdkafka
 * fetches nothing more from them until they are assigned again. Returns
 * their number (at most max) and forgets them.
 */
int
kafka_take_out_of_range(KafkaConsumer *c, int max, int32 *partitions, int64 *offsets)
{
	int			n = Min(c->noor, max);
	int			i;

	for (i = 0; i < n; i++)
	{
		partitions[i] = c->oor_partition[i];
		offsets[i] = c->oor_offset[i];
	}
	c->noor = 0;
	return n;
}

/*
 * Asks the partition's leader for its log start (low) and end (high)
 * offsets. False, with errbuf filled, when it does not answer in time.
 */
bool
kafka_query_watermarks(KafkaConsumer *c, int32 partition, int timeout_ms,
					   int64 *low, int64 *high, char *errbuf, size_t errlen)
{
	rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(c->rk, c->topic, partition,
															   low, high, timeout_ms);

	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		snprintf(errbuf, errlen, "could not read the offsets of partition %d of topic \"%s\": %s",
				 partition, c->topic, rd_kafka_err2str(err));
		return false;
	}
	return true;
}

/*
 * Makes librdkafka fetch again the partitions whose fetch stopped at an
 * offset outside the log, from the given offsets. A seek is refused in that
 * state; assigning the partition again works. Outside a consumer group (and
 * in a cooperative one) that is done for these partitions alone. The classic
 * protocol's eager assignment refuses incremental changes, so there the
 * whole assignment is given again: every other partition at its position,
 * or where the group assignment started it if nothing was consumed from it
 * since (a logical END is then resolved anew: messages produced to such a
 * partition meanwhile and not yet delivered would be passed over, which only
 * a start_from 'latest' partition that has delivered nothing yet can meet).
 */
bool
kafka_restart_fetch(KafkaConsumer *c, int n, const int32 *partitions, const int64 *offsets,
					char *errbuf, size_t errlen)
{
	rd_kafka_topic_partition_list_t *list;
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	const char *protocol = rd_kafka_rebalance_protocol(c->rk);

	if (n == 0)
		return true;
	if (c->group && (protocol == NULL || strcmp(protocol, "COOPERATIVE") != 0))
	{
		rd_kafka_topic_partition_list_t *current = NULL;
		int			i;
		int			j;

		if (rd_kafka_assignment(c->rk, &current) != RD_KAFKA_RESP_ERR_NO_ERROR || current == NULL)
		{
			snprintf(errbuf, errlen, "could not read the consumer's assignment");
			return false;
		}
		for (i = 0; i < current->cnt; i++)
		{
			rd_kafka_topic_partition_t *p = &current->elems[i];
			int64		pos = kafka_position(c, p->partition);

			p->offset = pos >= 0 ? pos : KAFKA_OFFSET_BEGINNING;
			for (j = 0; pos < 0 && j < c->nassigned; j++)
				if (c->assigned_partition[j] == p->partition)
					p->offset = c->assigned_offset[j];
			for (j = 0; j < n; j++)
				if (partitions[j] == p->partition)
					p->offset = offsets[j];
		}
		err = rd_kafka_assign(c->rk, current);
		rd_kafka_topic_partition_list_destroy(current);
	}
	else
	{
		list = kafka_partition_list(c, n, partitions, offsets);
		error = rd_kafka_incremental_unassign(c->rk, list);
		if (error == NULL)
			error = rd_kafka_incremental_assign(c->rk, list);
		rd_kafka_topic_partition_list_destroy(list);
	}
	if (error)
	{
		snprintf(errbuf, errlen, "could not assign partitions again: %s", rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
		return false;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		snprintf(errbuf, errlen, "could not assign partitions again: %s", rd_kafka_err2str(err));
		return false;
	}
	return true;
}

/*
 * The consumer's position in a partition: the offset after the last message
 * handed to us, or further when librdkafka skipped offsets that are never
 * delivered (transaction control records, aborted messages). -1 when
 * unknown (nothing consumed since the partition was assigned).
 */
int64
kafka_position(KafkaConsumer *c, int32 partition)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
	int64		pos = -1;

	rd_kafka_topic_partition_list_add(list, c->topic, partition);
	if (rd_kafka_position(c->rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR &&
		list->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && list->elems[0].offset >= 0)
		pos = list->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(list);
	return pos;
}

/*
 * Waits up to timeout_ms for messages and returns up to max_messages of
 * them in messages[]; they stay valid until kafka_release_batch(). Error
 * events are consumed here and remembered (kafka_take_error).
 */
int
kafka_poll_batch(KafkaConsumer *c, KafkaMessage *messages, int max_messages, int timeout_ms)
{
	ssize_t		got;
	int			n = 0;
	int			i;

	kafka_release_batch(c);
	if (c->batch_cap < max_messages)
	{
		if (c->batch)
			pfree(c->batch);
		c->batch = MemoryContextAlloc(TopMemoryContext, sizeof(rd_kafka_message_t *) * max_messages);
		c->batch_cap = max_messages;
	}
	got = rd_kafka_consume_batch_queue(c->queue, timeout_ms, c->batch, max_messages);
	if (got < 0)
	{
		snprintf(c->error, sizeof(c->error), "%s", rd_kafka_err2str(rd_kafka_last_error()));
		return 0;
	}
	for (i = 0; i < got; i++)
	{
		rd_kafka_message_t *m = c->batch[i];

		if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
		{
			kafka_note_out_of_range(c, m->partition, m->offset);
			rd_kafka_message_destroy(m);
			continue;
		}
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				kafka_note_error(c, m->err, rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		c->batch[n] = m;
		messages[n].partition = m->partition;
		messages[n].offset = m->offset;
		messages[n].timestamp_ms = rd_kafka_message_timestamp(m, NULL);
		messages[n].key = m->key;
		messages[n].key_len = m->key_len;
		messages[n].payload = m->payload;
		messages[n].len = m->len;
		n++;
	}
	c->batch_len = n;
	return n;
}

/*
 * The low and high watermarks of a partition as last seen in fetch
 * responses; no network round trip. False when none was seen yet.
 */
bool
kafka_cached_watermarks(KafkaConsumer *c, int32 partition, int64 *low, int64 *high)
{
	if (rd_kafka_get_watermark_offsets(c->rk, c->topic, partition, low, high) !=
		RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	return *high >= 0;
}

/*
 * Group mode: commits next offsets to the consumer group, each tagged with
 * metadata (may be NULL), and waits for the answer. Returns false, with
 * errbuf filled, when the group did not take them.
 */
bool
kafka_commit(KafkaConsumer *c, int n, const int32 *partitions, const int64 *next_offsets,
			 const char *metadata, char *errbuf, size_t errlen)
{
	rd_kafka_topic_partition_list_t *list;
	rd_kafka_resp_err_t err;
	int			i;
	bool		ok = true;

	if (!c->group || n == 0)
		return true;
	list = kafka_partition_list(c, n, partitions, next_offsets);
	if (metadata)
	{
		for (i = 0; i < list->cnt; i++)
		{
			/* librdkafka frees it with the list */
			list->elems[i].metadata = strdup(metadata);
			list->elems[i].metadata_size = strlen(metadata);
		}
	}
	err = rd_kafka_commit(c->rk, list, 0);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		for (i = 0; i < list->cnt; i++)
			if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
				err = list->elems[i].err;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		snprintf(errbuf, errlen, "could not commit offsets to consumer group: %s",
				 rd_kafka_err2str(err));
		ok = false;
	}
	rd_kafka_topic_partition_list_destroy(list);
	return ok;
}

/*
 * Group mode: the next offsets the group has committed for these partitions
 * (-1 where it has none) and, when metadata is not NULL, the metadata of
 * each commit (palloc'd, "" when none). Returns false when the group's
 * coordinator did not answer within timeout_ms.
 */
bool
kafka_group_committed(KafkaConsumer *c, int n, const int32 *partitions, int64 *next_offsets,
					  char **metadata, int timeout_ms)
{
	rd_kafka_topic_partition_list_t *list;
	int			i;

	for (i = 0; i < n; i++)
	{
		next_offsets[i] = -1;
		if (metadata)
			metadata[i] = pstrdup("");
	}
	if (!c->group || n == 0)
		return true;
	list = kafka_partition_list(c, n, partitions, NULL);
	if (rd_kafka_committed(c->rk, list, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		rd_kafka_topic_partition_list_destroy(list);
		return false;
	}
	{
		for (i = 0; i < n && i < list->cnt; i++)
		{
			rd_kafka_topic_partition_t *p = &list->elems[i];

			if (p->err != RD_KAFKA_RESP_ERR_NO_ERROR || p->offset < 0)
				continue;
			next_offsets[i] = p->offset;
			if (metadata && p->metadata)
				metadata[i] = pnstrdup(p->metadata, p->metadata_size);
		}
	}
	rd_kafka_topic_partition_list_destroy(list);
	return true;
}

/*
 * Moves the consumer's position in assigned partitions (to consume a batch
 * again that was not committed).
 */
void
kafka_seek(KafkaConsumer *c, int n, const int32 *partitions, const int64 *offsets)
{
	rd_kafka_topic_partition_list_t *list = kafka_partition_list(c, n, partitions, offsets);
	rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, list, 5000);

	if (error)
	{
		snprintf(c->error, sizeof(c->error), "could not seek: %s", rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	}
	rd_kafka_topic_partition_list_destroy(list);
}

/*
 * Returns the latest client-level error since the last call and forgets it;
 * NULL when there was none. The text is valid until the next call.
 */
const char *
kafka_take_error(KafkaConsumer *c)
{
	static char taken[512];

	if (c->error[0] == '\0')
		return NULL;
	strlcpy(taken, c->error, sizeof(taken));
	c->error[0] = '\0';
	return taken;
}
