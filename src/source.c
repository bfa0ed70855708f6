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
 * (which see the change and exit) and of altered ones (which see altered_at
 * change, and load the source again in their own process, resuming from the
 * stored offsets). Nothing happens if the transaction aborts, and no server
 * restart is ever needed.
 *
 * Catalog columns added by pg_lambda 0.4.0 (source.columns and altered_at,
 * dead_letter.kafka_timestamp) are used only once ALTER EXTENSION ... UPDATE
 * has added them: the library may be loaded before that.
 *
 * Rooms. The arguments are checked by source_args.c; every catalog row is
 * read and written through catalog_source.c; workers are started and woken
 * through launcher.c. source.c calls those and event_table.c, and is called
 * by ddl.c, dead_letter.c and worker.c.
 *
 * Locks: none of its own. The source's catalog row is locked FOR UPDATE by
 * start, stop, drop and alter (catalog_source.c), so each waits for a batch
 * in flight, which holds it FOR KEY SHARE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "catalog_source.h"
#include "event_table.h"
#include "launcher.h"
#include "source.h"
#include "source_args.h"

#define SOURCE_ADMIN_ROLE	"lambda_source_admin"

/* What to do with a source's workers when the transaction commits. */
typedef struct PendingAction
{
	int32		source_id;
	char		name[NAMEDATALEN];
	int			parallelism;	/* > 0: start this many workers */
	bool		wake;			/* wake the running workers (always when
								 * parallelism is 0) */
} PendingAction;

static List *source_pending = NIL;	/* in TopMemoryContext */
static emit_log_hook_type source_prev_emit_log_hook = NULL;

PG_FUNCTION_INFO_V1(lambda_create_kafka_source);
PG_FUNCTION_INFO_V1(lambda_alter_kafka_source);
PG_FUNCTION_INFO_V1(lambda_start_source);
PG_FUNCTION_INFO_V1(lambda_stop_source);
PG_FUNCTION_INFO_V1(lambda_drop_source);

static void source_not_found(const char *name);

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

			for (i = 0; i < a->parallelism; i++)
				launcher_start_worker(MyDatabaseId, a->source_id, a->name, i);
			if (a->wake || a->parallelism == 0)
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
 * Queues an action for commit time: start parallelism workers (their twins
 * that run already exit at once), and with wake, or when parallelism is 0,
 * wake the running ones so they re-read their source.
 */
static void
source_defer(int32 source_id, const char *name, int parallelism, bool wake)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	PendingAction *a = palloc0(sizeof(PendingAction));

	a->source_id = source_id;
	strlcpy(a->name, name, NAMEDATALEN);
	a->parallelism = parallelism;
	a->wake = wake;
	source_pending = lappend(source_pending, a);
	MemoryContextSwitchTo(old);
}

/*
 * emit_log_hook: a statement that creates or alters a source may carry
 * credentials in its options, so no message logged while it runs repeats
 * the statement.
 */
static void
source_emit_log(ErrorData *edata)
{
	if (debug_query_string != NULL && edata->output_to_server &&
		(strcasestr(debug_query_string, "create_kafka_source") != NULL ||
		 strcasestr(debug_query_string, "alter_kafka_source") != NULL))
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
void
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
 * create sources, not manage those of other roles. action completes
 * "permission denied to ... Kafka source", what "superusers may ...", and
 * function names the SQL function to run as the owner instead.
 */
void
source_check_owner(const char *action, const char *what, const char *function,
				   const char *name, Oid owner)
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
			 errdetail("Kafka source \"%s\" is owned by role \"%s\"; only its owner, roles with the owner's privileges and superusers may %s.",
					   name, owner_name, what),
			 errhint("Run lambda.%s() as role \"%s\", or ask a superuser to.",
					 function, owner_name)));
}

/*
 * Looks up a source by name for start/stop/drop: its id, parallelism and
 * owner, locking its row. Errors out when there is none.
 */
static int32
source_lookup(const char *name, int *parallelism, Oid *owner)
{
	int32		id;

	if (!catalog_source_lock(name, &id, parallelism, owner))
		source_not_found(name);
	return id;
}

/*
 * lambda.create_kafka_source(name, target, brokers, topic, format, group_id,
 *     parallelism, start_from, options, event_time, batch_size, batch_wait,
 *     columns)
 *
 * Validates everything, records the source; its workers start when the
 * transaction commits. (Before ALTER EXTENSION ... UPDATE to 0.4.0 the SQL
 * declaration has no columns argument.)
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
	int32		batch_wait_ms = 0;
	int			ncolumns = 0;
	char	  **columns = NULL;
	SourceDef	def;
	int32		id;
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
	fmt = source_check_format(format);
	if (group_id != NULL && strlen(group_id) == 0)
		source_bad_value("group_id", group_id, "A consumer group id cannot be empty.",
						 "Pass NULL to have this server consume every partition, or a group name.");
	if (group_id != NULL && max_prepared_xacts < 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a Kafka source in a consumer group needs prepared transactions"),
				 errdetail("In a consumer group each batch is committed here and to the group together, by two-phase commit; max_prepared_transactions is 0."),
				 errhint("Set max_prepared_transactions to at least the number of group-mode source workers and restart the server.")));
	source_check_parallelism(parallelism);
	source_check_start_from(start_from);
	mode = source_check_event_time(event_time);
	if (!PG_ARGISNULL(10))
	{
		batch_size = PG_GETARG_INT32(10);
		source_check_batch_size(batch_size, false);
	}
	if (!PG_ARGISNULL(11))
		batch_wait_ms = source_check_batch_wait(PG_GETARG_INTERVAL_P(11), false);
	if (options)
		source_check_options(options, GetUserId(), NULL);
	if (PG_NARGS() > 12 && !PG_ARGISNULL(12))
	{
		columns = source_columns_arg(PG_GETARG_ARRAYTYPE_P(12), &ncolumns, false);
		source_check_columns(target, mode, ncolumns, columns);
	}

	if (catalog_source_exists(name))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("Kafka source \"%s\" already exists", name),
				 errdetail("lambda.sources lists the Kafka sources of this database."),
				 errhint("Pick another name, or drop the existing source with lambda.drop_source('%s').",
						 name)));
	memset(&def, 0, sizeof(def));
	def.name = name;
	def.target = target;
	def.brokers = brokers;
	def.topic = topic;
	def.format = fmt;
	def.group_id = group_id;
	def.parallelism = parallelism;
	def.start_earliest = (strcmp(start_from, "earliest") == 0);
	def.event_time = mode;
	def.batch_size = batch_size;
	def.batch_size_is_default = PG_ARGISNULL(10);
	def.batch_wait = (int) batch_wait_ms;
	def.batch_wait_is_default = PG_ARGISNULL(11);
	def.owner = GetUserId();
	def.ncolumns = ncolumns;
	def.columns = columns;
	id = catalog_source_insert(&def, options, PG_NARGS() > 12);

	source_defer(id, name, parallelism, false);
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
	char	   *name;
	int32		id;
	int			parallelism;
	Oid			owner;

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
	source_check_owner(verbs[action], psprintf("%s it", verbs[action]),
					   psprintf("%s_source", verbs[action]), name, owner);

	if (action == SOURCE_DROP)
		catalog_source_delete(id);
	else
		catalog_source_set_enabled(id, action == SOURCE_START);

	source_defer(id, name, action == SOURCE_START ? parallelism : 0, false);
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

/* ------------------------------------------------------------------------
 * lambda.alter_kafka_source
 * ------------------------------------------------------------------------
 */

/* Settings that lambda.alter_kafka_source(reset => ...) returns to their defaults. */
static const char *const source_reset_names[] = {"batch_size", "batch_wait", "columns", "options"};

#define SOURCE_RESET_BATCH_SIZE	0x01
#define SOURCE_RESET_BATCH_WAIT	0x02
#define SOURCE_RESET_COLUMNS	0x04
#define SOURCE_RESET_OPTIONS	0x08

/*
 * Reads the reset argument: the names of settings to return to their
 * defaults, as SOURCE_RESET_* bits.
 */
static int
source_reset_arg(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			flags = 0;
	int			i;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		char	   *name;
		int			j;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("reset must not contain NULL"),
					 errdetail("Element %d of reset is NULL.", i + 1),
					 errhint("Name each setting as a string, e.g. reset => '{batch_size, columns}'.")));
		name = TextDatumGetCString(elems[i]);
		for (j = 0; j < (int) lengthof(source_reset_names); j++)
		{
			if (strcmp(name, source_reset_names[j]) == 0)
				break;
		}
		if (j == (int) lengthof(source_reset_names))
			source_bad_value("reset", name,
							 "reset names settings that have a default: batch_size, batch_wait, columns and options.",
							 "Pass e.g. reset => '{batch_size, columns}'.");
		flags |= 1 << j;
	}
	return flags;
}

/*
 * Errors out: setting was both given a value and named in reset.
 */
static void
source_set_and_reset(const char *setting)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s cannot be both set and reset", setting),
			 errdetail("reset => '{%s}' returns %s to its default.", setting, setting),
			 errhint("Pass either %s or reset => '{%s}', not both.", setting, setting)));
}

/*
 * The options of source_id after an alter: the stored ones (none when reset)
 * with given merged in, where a key whose value is JSON null removes that
 * option. Not yet validated.
 */
static Jsonb *
source_merge_options(int32 source_id, bool reset, Jsonb *given)
{
	if (given != NULL && !JB_ROOT_IS_OBJECT(given))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errdetail("options holds librdkafka properties as {\"name\": \"value\", ...}; a property whose value is null is removed."),
				 errhint("Pass e.g. '{\"fetch.max.bytes\": 1048576}'::jsonb, or '{\"fetch.max.bytes\": null}' to remove it.")));
	return catalog_source_merge_options(source_id, reset, given);
}

/*
 * lambda.alter_kafka_source(name, brokers, topic, format, group_id,
 *     parallelism, start_from, options, event_time, batch_size, batch_wait,
 *     columns, reset)
 *
 * Changes the settings of an existing source, keeping its stored offsets
 * (and counters and dead letters): a NULL argument leaves its setting as it
 * is; reset names settings to return to their defaults; options are merged
 * into the stored ones (a null value removes an option; with reset =>
 * '{options}' they replace them). The topic and the consumer group cannot
 * change: stored offsets are positions in that topic, and in group mode the
 * group's too. Checks what create_kafka_source checks, plus the owner's
 * privileges. When the transaction commits, the running workers load the
 * source again (in-process, resuming from the stored offsets) and the
 * workers of a larger parallelism start; workers beyond a smaller one exit.
 * The alter waits for batches in flight (its row lock conflicts with theirs),
 * and batches after it wait for its commit, so no batch commits under the
 * old settings after the new ones are committed.
 */
Datum
lambda_alter_kafka_source(PG_FUNCTION_ARGS)
{
	char	   *name;
	SourceDef	def;
	int			reset = 0;
	bool		changed = false;
	Jsonb	   *options = NULL;

	source_check_admin("alter");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name must not be null"),
				 errdetail("lambda.alter_kafka_source() needs the name of the source to alter."),
				 errhint("Pass the name of a source listed in lambda.sources.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!catalog_source_get_by_name(name, CATALOG_SOURCE_FOR_UPDATE, &def))
		source_not_found(name);
	source_check_owner("alter", "alter it", "alter_kafka_source", name, def.owner);
	if (!PG_ARGISNULL(12))
		reset = source_reset_arg(PG_GETARG_ARRAYTYPE_P(12));

	if (!PG_ARGISNULL(2))
	{
		char	   *topic = text_to_cstring(PG_GETARG_TEXT_PP(2));

		if (strcmp(topic, def.topic) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the topic of Kafka source \"%s\" cannot be changed", name),
					 errdetail("The source's stored offsets are positions in topic \"%s\"; in topic \"%s\" they would skip or repeat messages.",
							   def.topic, topic),
					 errhint("Create a new source for topic \"%s\", and drop \"%s\" once it has consumed what it needs.",
							 topic, name)));
	}
	if (!PG_ARGISNULL(4))
	{
		char	   *group_id = text_to_cstring(PG_GETARG_TEXT_PP(4));

		if (def.group_id == NULL || strcmp(group_id, def.group_id) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the consumer group of Kafka source \"%s\" cannot be changed", name),
					 errdetail("Which partitions this server consumes, and where a partition resumes, depend on the group (%s).",
							   def.group_id ? psprintf("now \"%s\"", def.group_id) : "now none: assigned mode"),
					 errhint("Create a new source with group_id => '%s', and drop \"%s\" once the new one has taken over.",
							 group_id, name)));
	}
	if (!PG_ARGISNULL(1))
	{
		def.brokers = text_to_cstring(PG_GETARG_TEXT_PP(1));
		source_check_brokers(def.brokers);
		changed = true;
	}
	if (!PG_ARGISNULL(3))
	{
		def.format = source_check_format(text_to_cstring(PG_GETARG_TEXT_PP(3)));
		changed = true;
	}
	if (!PG_ARGISNULL(5))
	{
		def.parallelism = PG_GETARG_INT32(5);
		source_check_parallelism(def.parallelism);
		changed = true;
	}
	if (!PG_ARGISNULL(6))
	{
		char	   *start_from = text_to_cstring(PG_GETARG_TEXT_PP(6));

		source_check_start_from(start_from);
		def.start_earliest = (strcmp(start_from, "earliest") == 0);
		changed = true;
	}
	if (!PG_ARGISNULL(8))
	{
		def.event_time = source_check_event_time(text_to_cstring(PG_GETARG_TEXT_PP(8)));
		changed = true;
	}
	if (!PG_ARGISNULL(9))
	{
		if (reset & SOURCE_RESET_BATCH_SIZE)
			source_set_and_reset("batch_size");
		def.batch_size = PG_GETARG_INT32(9);
		source_check_batch_size(def.batch_size, true);
		def.batch_size_is_default = false;
		changed = true;
	}
	if (reset & SOURCE_RESET_BATCH_SIZE)
	{
		def.batch_size_is_default = true;
		changed = true;
	}
	if (!PG_ARGISNULL(10))
	{
		if (reset & SOURCE_RESET_BATCH_WAIT)
			source_set_and_reset("batch_wait");
		def.batch_wait = source_check_batch_wait(PG_GETARG_INTERVAL_P(10), true);
		def.batch_wait_is_default = false;
		changed = true;
	}
	if (reset & SOURCE_RESET_BATCH_WAIT)
	{
		def.batch_wait_is_default = true;
		changed = true;
	}
	if (!PG_ARGISNULL(11))
	{
		if (reset & SOURCE_RESET_COLUMNS)
			source_set_and_reset("columns");
		def.columns = source_columns_arg(PG_GETARG_ARRAYTYPE_P(11), &def.ncolumns, true);
		changed = true;
	}
	if (reset & SOURCE_RESET_COLUMNS)
	{
		def.ncolumns = 0;
		def.columns = NULL;
		changed = true;
	}
	/* a list is checked again when it or the event time changes */
	if (def.ncolumns > 0 && (!PG_ARGISNULL(11) || !PG_ARGISNULL(8)))
		source_check_columns(def.target, def.event_time, def.ncolumns, def.columns);
	if (!PG_ARGISNULL(7) || (reset & SOURCE_RESET_OPTIONS))
	{
		options = source_merge_options(def.id, (reset & SOURCE_RESET_OPTIONS) != 0,
									   PG_ARGISNULL(7) ? NULL : PG_GETARG_JSONB_P(7));
		source_check_options(options, def.owner, def.name);
		changed = true;
	}

	if (!changed)
	{
		ereport(NOTICE,
				(errmsg("Kafka source \"%s\" is unchanged", name),
				 errdetail("No setting was given: a NULL argument leaves its setting as it is.")));
		PG_RETURN_VOID();
	}
	catalog_source_update(&def, options);
	/* a stopped source's workers are not started; a running one's reload */
	source_defer(def.id, def.name, def.enabled ? def.parallelism : 0, true);
	PG_RETURN_VOID();
}

/*
 * Errors out: there is no source of that name.
 */
static void
source_not_found(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("Kafka source \"%s\" does not exist", name),
			 errdetail("lambda.sources lists the Kafka sources of this database."),
			 errhint("Create it with lambda.create_kafka_source().")));
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
	if (!catalog_source_get(source_id, def))
		return false;
	source_check_option_privilege(def->owner, def->name, false, def->noptions,
								  (const char *const *) def->option_names,
								  (const char *const *) def->option_values);
	return true;
}

/*
 * Loads the source named name into def (in the caller's memory context),
 * without its options, locking its catalog row FOR SHARE until the
 * transaction ends, so that its settings cannot change meanwhile. Errors out
 * when there is none.
 */
void
source_load_by_name_for_share(const char *name, SourceDef *def)
{
	if (!catalog_source_get_by_name(name, CATALOG_SOURCE_FOR_SHARE, def))
		source_not_found(name);
}

/*
 * Called by the ProcessUtility hook after a utility statement ran: a column
 * renamed in a source's target (here or through a parent) is renamed in the
 * source's column list too, as PostgreSQL's own objects follow renames; the
 * change counts as an alter, so the source's workers load it again.
 */
void
source_after_utility(PlannedStmt *pstmt)
{
	RenameStmt *stmt = (RenameStmt *) pstmt->utilityStmt;
	Oid			relid;
	List	   *rels;

	if (!IsA(stmt, RenameStmt) || stmt->renameType != OBJECT_COLUMN ||
		stmt->relationType != OBJECT_TABLE || !catalog_has(CATALOG_SOURCE_COLUMNS))
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	rels = stmt->relation->inh ? find_all_inheritors(relid, NoLock, NULL) : list_make1_oid(relid);
	catalog_source_rename_column(rels, stmt->subname, stmt->newname);
}
