/*-------------------------------------------------------------------------
 *
 * source.c
 *	  Kafka sources: lambda.create_kafka_source and friends, and the catalog
 *	  rows behind them.
 *
 * A source is a row of lambda_catalog.source (its librdkafka options, which
 * may hold credentials, live apart in lambda_catalog.source_secret, which no
 * other role can read). Creating a source takes superuser or membership in
 * role lambda_source_admin; starting, stopping and dropping one also takes
 * the privileges of its owner (the role that created it). Options that would
 * let librdkafka act as the server's operating-system user (read files, run
 * commands, load code) need a source owned by a superuser, checked when it is
 * created and again whenever a worker loads it.
 *
 * The functions only change catalog rows; the workers follow when the
 * transaction commits: a transaction callback then registers the workers of
 * created or started sources and wakes those of stopped or dropped ones
 * (which see the change and exit). Nothing happens if the transaction
 * aborts, and no server restart is ever needed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "event_table.h"
#include "guc.h"
#include "kafka.h"
#include "launcher.h"
#include "source.h"

#define SOURCE_ADMIN_ROLE	"lambda_source_admin"
#define SOURCE_MAX_PARALLELISM 64

/* What to do with a source's workers when the transaction commits. */
typedef struct PendingAction
{
	int32		source_id;
	char		name[NAMEDATALEN];
	int			parallelism;	/* > 0: start this many workers; 0: wake them */
} PendingAction;

static List *source_pending = NIL;	/* in TopMemoryContext */
static emit_log_hook_type source_prev_emit_log_hook = NULL;

PG_FUNCTION_INFO_V1(lambda_create_kafka_source);
PG_FUNCTION_INFO_V1(lambda_start_source);
PG_FUNCTION_INFO_V1(lambda_stop_source);
PG_FUNCTION_INFO_V1(lambda_drop_source);

/*
 * Transaction callback: carries out the pending actions once the catalog
 * changes are committed (and forgets them on abort).
 */
static void
source_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	ListCell   *lc;

	if (source_pending == NIL)
		return;
	if (event == XACT_EVENT_COMMIT)
	{
		foreach(lc, source_pending)
		{
			PendingAction *a = lfirst(lc);
			int			i;

			if (a->parallelism > 0)
				for (i = 0; i < a->parallelism; i++)
					launcher_start_worker(MyDatabaseId, a->source_id, a->name, i);
			else
				launcher_wake_workers(MyDatabaseId, a->source_id);
		}
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
	{
		list_free_deep(source_pending);
		source_pending = NIL;
	}
}

/*
 * Queues an action for commit time.
 */
static void
source_defer(int32 source_id, const char *name, int parallelism)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	PendingAction *a = palloc0(sizeof(PendingAction));

	a->source_id = source_id;
	strlcpy(a->name, name, NAMEDATALEN);
	a->parallelism = parallelism;
	source_pending = lappend(source_pending, a);
	MemoryContextSwitchTo(old);
}

/*
 * emit_log_hook: a statement that creates a source may carry credentials in
 * its options, so no message logged while it runs repeats the statement.
 */
static void
source_emit_log(ErrorData *edata)
{
	if (debug_query_string != NULL && edata->output_to_server &&
		strcasestr(debug_query_string, "create_kafka_source") != NULL)
		edata->hide_stmt = true;
	if (source_prev_emit_log_hook)
		source_prev_emit_log_hook(edata);
}

/*
 * Installs the transaction callback and the log hook.
 */
void
source_init(void)
{
	RegisterXactCallback(source_xact_callback, NULL);
	source_prev_emit_log_hook = emit_log_hook;
	emit_log_hook = source_emit_log;
}

/*
 * Errors out unless the current user may manage sources.
 */
static void
source_check_admin(const char *action)
{
	Oid			admin = get_role_oid(SOURCE_ADMIN_ROLE, true);

	if (superuser() || (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s a Kafka source", action),
			 errdetail("Managing Kafka sources requires superuser or membership in role \"%s\".",
					   SOURCE_ADMIN_ROLE),
			 errhint("Ask a superuser to run GRANT %s TO %s.",
					 SOURCE_ADMIN_ROLE, GetUserNameFromId(GetUserId(), false))));
}

/*
 * Errors out unless the current user may act on a source owned by owner:
 * its owner, a role with the owner's privileges, or a superuser, as with
 * PostgreSQL's own objects. Membership in lambda_source_admin lets a role
 * create sources, not manage those of other roles.
 */
static void
source_check_owner(const char *action, const char *name, Oid owner)
{
	const char *owner_name;

	if (superuser() || has_privs_of_role(GetUserId(), owner))
		return;
	owner_name = GetUserNameFromId(owner, true);
	if (owner_name == NULL)
		owner_name = "(dropped)";
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s Kafka source \"%s\"", action, name),
			 errdetail("Kafka source \"%s\" is owned by role \"%s\"; only its owner, roles with the owner's privileges and superusers may %s it.",
					   name, owner_name, action),
			 errhint("Run lambda.%s_source() as role \"%s\", or ask a superuser to.",
					 action, owner_name)));
}

/*
 * Errors out with a null-argument error for a required parameter.
 */
static void
source_require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errdetail("lambda.create_kafka_source() needs a name, a target event table, brokers and a topic."),
				 errhint("Call it as lambda.create_kafka_source(name => 'src', target => 'events', "
						 "brokers => 'localhost:9092', topic => 'events').")));
}

/*
 * Errors out with an invalid-value error for parameter name.
 */
static void
source_bad_value(const char *name, const char *value, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s: \"%s\"", name, value),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
}

/*
 * Looks up a source by name for start/stop/drop: its id, parallelism and
 * owner, locking its row. Errors out when there is none.
 */
static int32
source_lookup(const char *name, int *parallelism, Oid *owner)
{
	CatalogScope scope;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	int32		id;
	bool		isnull;

	catalog_begin(&scope);
	if (SPI_execute_with_args("SELECT id, parallelism, owner::pg_catalog.oid FROM lambda_catalog.source "
							  "WHERE name = $1 FOR UPDATE",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Kafka source \"%s\" does not exist", name),
				 errdetail("lambda.sources lists the Kafka sources of this database."),
				 errhint("Create it with lambda.create_kafka_source().")));
	id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*parallelism = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	catalog_end(&scope);
	return id;
}

/*
 * Refuses options that only a source owned by a superuser may have (see
 * kafka_options_need_superuser): librdkafka would otherwise read the
 * server's files, run commands or load code as the operating-system user
 * that runs PostgreSQL on behalf of a role that may do none of that. At
 * creation the caller becomes the owner (source_name is NULL then); a worker
 * loading an existing source checks its owner again, which covers sources
 * created before this rule and owners who lost superuser since.
 */
static void
source_check_option_privilege(Oid owner, const char *source_name, int n,
							  const char *const *names, const char *const *values)
{
	KafkaOptionDenial denial;
	const char *owner_name;

	if (superuser_arg(owner) || !kafka_options_need_superuser(n, names, values, &denial))
		return;
	if (source_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to set Kafka option \"%s\"", denial.option),
				 errdetail("Only a superuser may set option \"%s\", because %s.",
						   denial.option, denial.why),
				 errhint("%s", denial.instead)));
	owner_name = GetUserNameFromId(owner, true);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to set Kafka option \"%s\"", denial.option),
			 errdetail("Kafka source \"%s\" is owned by role \"%s\", which is not a superuser; only a superuser may set option \"%s\", because %s.",
					   source_name, owner_name ? owner_name : "(dropped)",
					   denial.option, denial.why),
			 errhint("Drop the source and create it again without option \"%s\", or have a superuser create it.",
					 denial.option)));
}

/*
 * Validates the options jsonb: an object whose values are strings, numbers or
 * booleans, each a librdkafka property we let users set, and only properties
 * the current user may set (checked before any of them reaches librdkafka).
 */
static void
source_check_options(Jsonb *options)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	int			n = 0;
	int			cap = Max(JB_ROOT_COUNT(options), 1);
	const char **names;
	const char **values;
	int			i;

	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errdetail("options holds librdkafka properties as {\"name\": \"value\", ...}."),
				 errhint("Pass e.g. '{\"security.protocol\": \"SASL_SSL\"}'::jsonb, or '{}'.")));

	names = palloc(sizeof(char *) * cap);
	values = palloc(sizeof(char *) * cap);
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *value;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		switch (v.type)
		{
			case jbvString:
				value = pnstrdup(v.val.string.val, v.val.string.len);
				break;
			case jbvNumeric:
				value = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
				break;
			case jbvBool:
				value = v.val.boolean ? "true" : "false";
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must be a string, number or boolean", key),
						 errdetail("librdkafka properties are scalar values."),
						 errhint("Write the value as a JSON string.")));
				value = NULL;	/* keep compiler quiet */
		}
		if (kafka_option_is_reserved(key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid Kafka option \"%s\"", key),
					 errdetail("\"%s\" is set by pg_lambda itself.", key),
					 errhint("See librdkafka's CONFIGURATION.md for consumer properties; "
							 "brokers, group_id and start_from are parameters of their own.")));
		Assert(n < cap);
		names[n] = key;
		values[n] = value;
		n++;
	}

	source_check_option_privilege(GetUserId(), NULL, n, names, values);

	for (i = 0; i < n; i++)
	{
		char		errbuf[512];

		if (!kafka_check_option(names[i], values[i], errbuf, sizeof(errbuf)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid Kafka option \"%s\"", names[i]),
					 errdetail("%s.", errbuf),
					 errhint("See librdkafka's CONFIGURATION.md for consumer properties; "
							 "brokers, group_id and start_from are parameters of their own.")));
	}
}

/*
 * Checks the brokers list: comma-separated host:port entries.
 */
static void
source_check_brokers(const char *brokers)
{
	char	   *copy = pstrdup(brokers);
	char	   *tok;
	char	   *save = NULL;
	int			n = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		char	   *colon;
		char	   *end;
		long		port;

		while (*tok == ' ')
			tok++;
		colon = strrchr(tok, ':');
		if (colon == NULL || colon == tok)
			source_bad_value("brokers", brokers, "Each broker must be written host:port.",
							 "Pass e.g. 'localhost:9092' or 'kafka1:9092,kafka2:9092'.");
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || (*end != '\0' && *end != ' ') || port < 1 || port > 65535)
			source_bad_value("brokers", brokers, "A broker's port must be a number from 1 to 65535.",
							 "Pass e.g. 'localhost:9092' or 'kafka1:9092,kafka2:9092'.");
		n++;
	}
	if (n == 0)
		source_bad_value("brokers", brokers, "No broker is named.",
						 "Pass e.g. 'localhost:9092' or 'kafka1:9092,kafka2:9092'.");
}

/*
 * Checks a topic name against Kafka's rules.
 */
static void
source_check_topic(const char *topic)
{
	const char *p;
	size_t		len = strlen(topic);

	if (len == 0 || len > 249 || strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0)
		source_bad_value("topic", topic, "A Kafka topic name has 1 to 249 characters and is not \".\" or \"..\".",
						 "Pass the name of an existing topic.");
	for (p = topic; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			  *p == '.' || *p == '_' || *p == '-'))
			source_bad_value("topic", topic,
							 "A Kafka topic name may only contain ASCII letters, digits, \".\", \"_\" and \"-\".",
							 "Pass the name of an existing topic.");
	}
}

/*
 * lambda.create_kafka_source(name, target, brokers, topic, format, group_id,
 *     parallelism, start_from, options, event_time, batch_size, batch_wait)
 *
 * Validates everything, records the source; its workers start when the
 * transaction commits.
 */
Datum
lambda_create_kafka_source(PG_FUNCTION_ARGS)
{
	char	   *name;
	Oid			target;
	char	   *brokers;
	char	   *topic;
	char	   *format = "json";
	char	   *group_id = NULL;
	int32		parallelism = 1;
	char	   *start_from = "earliest";
	Jsonb	   *options = NULL;
	char	   *event_time = "payload";
	LambdaFormat fmt;
	EventTimeMode mode;
	int32		batch_size = 0;
	int64		batch_wait_ms = 0;
	CatalogScope scope;
	int32		id;
	bool		isnull;
	AclResult	aclresult;

	source_check_admin("create");
	source_require_arg(fcinfo, 0, "name");
	source_require_arg(fcinfo, 1, "target");
	source_require_arg(fcinfo, 2, "brokers");
	source_require_arg(fcinfo, 3, "topic");

	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	target = PG_GETARG_OID(1);
	brokers = text_to_cstring(PG_GETARG_TEXT_PP(2));
	topic = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!PG_ARGISNULL(4))
		format = text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (!PG_ARGISNULL(5))
		group_id = text_to_cstring(PG_GETARG_TEXT_PP(5));
	if (!PG_ARGISNULL(6))
		parallelism = PG_GETARG_INT32(6);
	if (!PG_ARGISNULL(7))
		start_from = text_to_cstring(PG_GETARG_TEXT_PP(7));
	if (!PG_ARGISNULL(8))
		options = PG_GETARG_JSONB_P(8);
	if (!PG_ARGISNULL(9))
		event_time = text_to_cstring(PG_GETARG_TEXT_PP(9));

	if (strlen(name) == 0 || strlen(name) >= NAMEDATALEN)
		source_bad_value("name", name, "A source name has 1 to 63 characters.",
						 "Pick a short name such as 'pageviews_src'.");
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(target)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", target),
				 errdetail("A Kafka source's target must be an existing event table."),
				 errhint("Name an event table listed in lambda.event_tables.")));
	event_table_require(target);
	if (get_rel_relkind(target) != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("Kafka sources cannot write into partitioned event table \"%s\" yet", get_rel_name(target)),
				 errdetail("A source's workers insert into one ordinary table."),
				 errhint("Consume into an ordinary event table.")));
	aclresult = pg_class_aclcheck(target, GetUserId(), ACL_INSERT);
	if (aclresult != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(target)),
				 errdetail("A source's workers insert into its target as the role that created the source."),
				 errhint("Grant INSERT on the table to %s, or create the source as a role that has it.",
						 GetUserNameFromId(GetUserId(), false))));
	source_check_brokers(brokers);
	source_check_topic(topic);
	if (!format_parse_name(format, &fmt))
		source_bad_value("format", format, "The formats are json, csv and text.",
						 "Pass format => 'json', 'csv' or 'text'.");
	if (group_id != NULL && strlen(group_id) == 0)
		source_bad_value("group_id", group_id, "A consumer group id cannot be empty.",
						 "Pass NULL to have this server consume every partition, or a group name.");
	if (group_id != NULL && max_prepared_xacts < 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a Kafka source in a consumer group needs prepared transactions"),
				 errdetail("In a consumer group each batch is committed here and to the group together, by two-phase commit; max_prepared_transactions is 0."),
				 errhint("Set max_prepared_transactions to at least the number of group-mode source workers and restart the server.")));
	if (parallelism < 1 || parallelism > Min(SOURCE_MAX_PARALLELISM, lambda_max_source_workers))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid parallelism: %d", parallelism),
				 errdetail("A source runs 1 to %d workers (at most %d, and at most lambda.max_source_workers).",
						   Min(SOURCE_MAX_PARALLELISM, lambda_max_source_workers), SOURCE_MAX_PARALLELISM),
				 errhint("One worker per few partitions is plenty; pass parallelism => 1 to 4.")));
	if (strcmp(start_from, "earliest") != 0 && strcmp(start_from, "latest") != 0)
		source_bad_value("start_from", start_from,
						 "A new source starts at the earliest or the latest offset of each partition.",
						 "Pass start_from => 'earliest' or 'latest'.");
	if (!ingest_parse_event_time_mode(event_time, &mode))
		source_bad_value("event_time", event_time,
						 "The event time comes from the payload, from the Kafka message timestamp, or from the payload with the Kafka timestamp when it has none.",
						 "Pass event_time => 'payload', 'kafka' or 'payload_or_kafka'.");
	if (!PG_ARGISNULL(10))
	{
		batch_size = PG_GETARG_INT32(10);
		if (batch_size < 1 || batch_size > 1000000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid batch_size: %d", batch_size),
					 errdetail("A batch holds 1 to 1000000 messages."),
					 errhint("Pass NULL to use lambda.kafka_batch_size.")));
	}
	if (!PG_ARGISNULL(11))
	{
		Interval   *iv = PG_GETARG_INTERVAL_P(11);

		batch_wait_ms = (iv->time + (iv->day * USECS_PER_DAY) +
						 (int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY) / 1000;
		if (batch_wait_ms < 1 || batch_wait_ms > 60000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid batch_wait: " INT64_FORMAT " ms", batch_wait_ms),
					 errdetail("A batch waits 1 ms to 60 s for messages."),
					 errhint("Pass NULL to use lambda.kafka_batch_wait.")));
	}
	if (options)
		source_check_options(options);

	catalog_begin(&scope);
	{
		Oid			argtypes[13] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID,
		TEXTOID, TEXTOID, INT4OID, INT4OID, OIDOID, JSONBOID};
		Datum		args[13];
		char		nulls[14] = "             ";

		args[0] = CStringGetTextDatum(name);
		if (SPI_execute_with_args("SELECT 1 FROM lambda_catalog.source WHERE name = $1",
								  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read lambda_catalog.source");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("Kafka source \"%s\" already exists", name),
					 errdetail("lambda.sources lists the Kafka sources of this database."),
					 errhint("Pick another name, or drop the existing source with lambda.drop_source('%s').",
							 name)));

		args[1] = ObjectIdGetDatum(target);
		args[2] = CStringGetTextDatum(brokers);
		args[3] = CStringGetTextDatum(topic);
		args[4] = CStringGetTextDatum(format_name(fmt));
		args[5] = group_id ? CStringGetTextDatum(group_id) : (Datum) 0;
		nulls[5] = group_id ? ' ' : 'n';
		args[6] = Int32GetDatum(parallelism);
		args[7] = CStringGetTextDatum(start_from);
		args[8] = CStringGetTextDatum(ingest_event_time_mode_name(mode));
		args[9] = Int32GetDatum(batch_size);
		nulls[9] = PG_ARGISNULL(10) ? 'n' : ' ';
		args[10] = Int32GetDatum((int32) batch_wait_ms);
		nulls[10] = PG_ARGISNULL(11) ? 'n' : ' ';
		args[11] = ObjectIdGetDatum(scope.save_userid);
		args[12] = options ? JsonbPGetDatum(options) : DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
		if (SPI_execute_with_args("WITH s AS (INSERT INTO lambda_catalog.source "
								  "(name, target, brokers, topic, format, group_id, parallelism, "
								  " start_from, event_time, batch_size, batch_wait, owner) "
								  "VALUES ($1, $2::pg_catalog.regclass, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
								  "        $12::pg_catalog.regrole) RETURNING id), "
								  "x AS (INSERT INTO lambda_catalog.source_secret (source_id, options) "
								  "      SELECT id, $13 FROM s) "
								  "SELECT id FROM s",
								  13, argtypes, args, nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not insert into lambda_catalog.source");
		id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	catalog_end(&scope);

	source_defer(id, name, parallelism);
	PG_RETURN_VOID();
}

/* What lambda.start_source, stop_source and drop_source do to a source. */
typedef enum SourceAction
{
	SOURCE_START,
	SOURCE_STOP,
	SOURCE_DROP
} SourceAction;

/*
 * Starts, stops or drops the source named by the first argument: changes
 * its catalog row and leaves the workers to the commit callback (started
 * for SOURCE_START, woken to exit otherwise).
 */
static void
source_manage(FunctionCallInfo fcinfo, SourceAction action)
{
	static const char *const verbs[] = {"start", "stop", "drop"};
	static const char *const statements[] = {
		"UPDATE lambda_catalog.source SET enabled = true WHERE id = $1",
		"UPDATE lambda_catalog.source SET enabled = false WHERE id = $1",
		"DELETE FROM lambda_catalog.source WHERE id = $1"
	};
	char	   *name;
	int32		id;
	int			parallelism;
	Oid			owner;
	CatalogScope scope;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	int			rc;

	source_check_admin(verbs[action]);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name must not be null"),
				 errdetail("lambda.%s_source() needs the name of the source to %s.",
						   verbs[action], verbs[action]),
				 errhint("Pass the name of a source listed in lambda.sources.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	id = source_lookup(name, &parallelism, &owner);
	source_check_owner(verbs[action], name, owner);

	args[0] = Int32GetDatum(id);
	catalog_begin(&scope);
	rc = SPI_execute_with_args(statements[action], 1, argtypes, args, NULL, false, 0);
	if (rc != (action == SOURCE_DROP ? SPI_OK_DELETE : SPI_OK_UPDATE))
		elog(ERROR, "could not change lambda_catalog.source");
	catalog_end(&scope);

	source_defer(id, name, action == SOURCE_START ? parallelism : 0);
}

/*
 * lambda.start_source(name): resumes a stopped source from its stored
 * offsets (a no-op for a running one).
 */
Datum
lambda_start_source(PG_FUNCTION_ARGS)
{
	source_manage(fcinfo, SOURCE_START);
	PG_RETURN_VOID();
}

/*
 * lambda.stop_source(name): stops a source's workers; offsets are kept.
 */
Datum
lambda_stop_source(PG_FUNCTION_ARGS)
{
	source_manage(fcinfo, SOURCE_STOP);
	PG_RETURN_VOID();
}

/*
 * lambda.drop_source(name): removes a source with its offsets and dead
 * letters. The events it ingested stay in the event table.
 */
Datum
lambda_drop_source(PG_FUNCTION_ARGS)
{
	source_manage(fcinfo, SOURCE_DROP);
	PG_RETURN_VOID();
}

/*
 * Fills def from the current SPI row of a "SELECT <source columns>" query
 * (see SOURCE_COLUMNS), in the caller's memory context.
 */
#define SOURCE_COLUMNS \
	"s.id, s.name, s.target::pg_catalog.oid, e.time_column::text, s.brokers, s.topic, s.format, " \
	"s.group_id, s.parallelism, s.start_from, s.event_time, s.batch_size, s.batch_wait, " \
	"s.owner::pg_catalog.oid, s.enabled"
#define SOURCE_FROM \
	" FROM lambda_catalog.source s JOIN lambda_catalog.event_table e ON e.relid = s.target "

static void
source_from_row(HeapTuple tup, TupleDesc desc, MemoryContext cxt, SourceDef *def)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	bool		isnull;
	char	   *s;

	memset(def, 0, sizeof(*def));
	def->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	def->name = SPI_getvalue(tup, desc, 2);
	def->target = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	def->time_column = SPI_getvalue(tup, desc, 4);
	def->brokers = SPI_getvalue(tup, desc, 5);
	def->topic = SPI_getvalue(tup, desc, 6);
	s = SPI_getvalue(tup, desc, 7);
	if (!format_parse_name(s, &def->format))
		elog(ERROR, "unknown format \"%s\" in lambda_catalog.source", s);
	def->group_id = SPI_getvalue(tup, desc, 8);
	def->parallelism = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	def->start_earliest = (strcmp(SPI_getvalue(tup, desc, 10), "earliest") == 0);
	s = SPI_getvalue(tup, desc, 11);
	if (!ingest_parse_event_time_mode(s, &def->event_time))
		elog(ERROR, "unknown event_time \"%s\" in lambda_catalog.source", s);
	def->batch_size = DatumGetInt32(SPI_getbinval(tup, desc, 12, &isnull));
	def->batch_size_is_default = isnull;
	if (isnull)
		def->batch_size = lambda_kafka_batch_size;
	def->batch_wait = DatumGetInt32(SPI_getbinval(tup, desc, 13, &isnull));
	def->batch_wait_is_default = isnull;
	if (isnull)
		def->batch_wait = lambda_kafka_batch_wait;
	def->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 14, &isnull));
	def->enabled = DatumGetBool(SPI_getbinval(tup, desc, 15, &isnull));
	MemoryContextSwitchTo(old);
}

/*
 * Loads source source_id with its options into def (allocated in the
 * caller's memory context). Returns false when it does not exist. Errors out
 * when the options need a superuser owner and the owner is not one, so that
 * no option a role may not set ever reaches librdkafka this way either.
 */
bool
source_load(int32 source_id, SourceDef *def)
{
	CatalogScope scope;
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(source_id)};
	bool		found = false;

	if (!OidIsValid(catalog_relid("source")))
		return false;
	catalog_begin(&scope);
	if (SPI_execute_with_args("SELECT " SOURCE_COLUMNS SOURCE_FROM "WHERE s.id = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	if (SPI_processed > 0)
	{
		uint64		i;
		MemoryContext old;

		found = true;
		source_from_row(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, cxt, def);
		if (SPI_execute_with_args("SELECT o.key, o.value FROM lambda_catalog.source_secret x, "
								  "pg_catalog.jsonb_each_text(x.options) o WHERE x.source_id = $1",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read lambda_catalog.source_secret");
		old = MemoryContextSwitchTo(cxt);
		def->noptions = (int) SPI_processed;
		def->option_names = palloc(sizeof(char *) * (SPI_processed + 1));
		def->option_values = palloc(sizeof(char *) * (SPI_processed + 1));
		for (i = 0; i < SPI_processed; i++)
		{
			def->option_names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			def->option_values[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		}
		MemoryContextSwitchTo(old);
	}
	catalog_end(&scope);
	if (found)
		source_check_option_privilege(def->owner, def->name, def->noptions,
									  (const char *const *) def->option_names,
									  (const char *const *) def->option_values);
	return found;
}

/*
 * The sources of this database whose workers should run at server start (a
 * List of SourceDef *, options not loaded): the enabled ones, and stopped
 * group-mode ones with a batch left prepared by a crash, whose workers settle
 * it and exit. NIL when the extension is not installed here.
 */
List *
source_list_to_start(void)
{
	CatalogScope scope;
	MemoryContext cxt = CurrentMemoryContext;
	List	   *result = NIL;
	uint64		i;

	if (!OidIsValid(catalog_relid("source")))
		return NIL;
	catalog_begin(&scope);
	if (SPI_execute("SELECT " SOURCE_COLUMNS SOURCE_FROM
					"WHERE s.enabled OR (s.group_id IS NOT NULL AND EXISTS ("
					"  SELECT 1 FROM pg_catalog.pg_prepared_xacts x, pg_catalog.pg_database d"
					"   WHERE d.datname = pg_catalog.current_database()"
					"     AND x.gid LIKE 'pg_lambda:' || d.oid || ':' || s.id || ':%')) "
					"ORDER BY s.id",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	for (i = 0; i < SPI_processed; i++)
	{
		SourceDef  *def = MemoryContextAlloc(cxt, sizeof(SourceDef));
		MemoryContext old;

		source_from_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, cxt, def);
		old = MemoryContextSwitchTo(cxt);
		result = lappend(result, def);
		MemoryContextSwitchTo(old);
	}
	catalog_end(&scope);
	return result;
}
