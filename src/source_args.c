/*-------------------------------------------------------------------------
 *
 * source_args.c
 *	  Checking the arguments of the Kafka source API (create_kafka_source,
 *	  alter_kafka_source): each value, the librdkafka options and who may
 *	  set them, and column lists against the target table.
 *
 * Every refusal has its SQLSTATE, message, detail and hint, naming the
 * argument. Options are checked by librdkafka itself (kafka.c), after the
 * check that a source not owned by a superuser has none of the options
 * that would let librdkafka act as the server's operating-system user
 * (source_check_option_privilege, which source.c also runs whenever a
 * worker loads a source). Column lists are resolved by ingest.c.
 *
 * Locks: none; it reads the system catalogs through the syscache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "event_table.h"
#include "guc.h"
#include "kafka.h"
#include "source_args.h"

/*
 * Errors out with a null-argument error for a required parameter.
 */
void
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
void
source_bad_value(const char *name, const char *value, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s: \"%s\"", name, value),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
}

/*
 * Refuses options that only a source owned by a superuser may have (see
 * kafka_options_need_superuser): librdkafka would otherwise read the
 * server's files, run commands or load code as the operating-system user
 * that runs PostgreSQL on behalf of a role that may do none of that. At
 * creation the caller becomes the owner (source_name is NULL then); an alter
 * checks the caller (as_caller) and the owner; a worker loading an existing
 * source checks its owner again, which covers sources created before this
 * rule and owners who lost superuser since.
 */
void
source_check_option_privilege(Oid owner, const char *source_name, bool as_caller, int n,
							  const char *const *names, const char *const *values)
{
	KafkaOptionDenial denial;
	const char *owner_name;

	if (superuser_arg(owner) || !kafka_options_need_superuser(n, names, values, &denial))
		return;
	if (as_caller)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to set Kafka option \"%s\"", denial.option),
				 errdetail("Only a superuser may set option \"%s\", because %s.",
						   denial.option, denial.why),
				 source_name == NULL ? errhint("%s", denial.instead) :
				 errhint("%s To remove the option from Kafka source \"%s\", pass options => '{\"%s\": null}'.",
						 denial.instead, source_name, denial.option)));
	owner_name = GetUserNameFromId(owner, true);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to set Kafka option \"%s\"", denial.option),
			 errdetail("Kafka source \"%s\" is owned by role \"%s\", which is not a superuser; only a superuser may set option \"%s\", because %s.",
					   source_name, owner_name ? owner_name : "(dropped)",
					   denial.option, denial.why),
			 errhint("Remove option \"%s\" with lambda.alter_kafka_source('%s', options => '{\"%s\": null}'), or have a superuser create the source.",
					 denial.option, source_name, denial.option)));
}

/*
 * The hint for leaving option name out: of a new source's options, or of an
 * existing one's, where it may be stored already.
 */
static char *
source_remove_option_hint(const char *name, const char *source_name)
{
	if (source_name == NULL)
		return psprintf("Leave \"%s\" out of options.", name);
	return psprintf("Leave \"%s\" out of options; to remove it from Kafka source \"%s\", pass options => '{\"%s\": null}'.",
					name, source_name, name);
}

/*
 * The rules pg_lambda has for options beyond librdkafka's own checks:
 *
 * isolation.level is read_committed, always: exactly-once ingestion of
 * transactional producers means that messages of aborted transactions never
 * become rows, and a source's offsets and lag are counted that way.
 *
 * group.protocol "consumer" (KIP-848) needs a librdkafka that has it
 * (kafka_consumer_protocol_available), and does not go with the classic
 * protocol's own settings, which the broker owns under it.
 */
static void
source_check_option_rules(int n, const char *const *names, const char *const *values,
						  const char *source_name)
{
	bool		consumer_protocol = false;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (strcmp(names[i], "isolation.level") == 0 && strcmp(values[i], "read_committed") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid Kafka option \"isolation.level\": \"%s\"", values[i]),
					 errdetail("pg_lambda reads Kafka with isolation.level read_committed only: messages of aborted transactions must never become rows, and a source's offsets and lag are counted that way."),
					 errhint("%s read_committed is always used.",
							 source_remove_option_hint("isolation.level", source_name))));
		if (strcmp(names[i], "group.protocol") == 0 && strcmp(values[i], "classic") != 0 &&
			strcmp(values[i], "consumer") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid Kafka option \"group.protocol\": \"%s\"", values[i]),
					 errdetail("The consumer-group protocols are \"classic\" (the default) and \"consumer\" (KIP-848)."),
					 errhint("Pass options => '{\"group.protocol\": \"consumer\"}', or leave group.protocol out for the classic protocol.")));
		if (strcmp(names[i], "group.protocol") == 0 && strcmp(values[i], "consumer") == 0)
		{
			char		version[64];

			if (!kafka_consumer_protocol_available(version, sizeof(version)))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("Kafka option \"group.protocol\": \"consumer\" is not supported by this server"),
						 errdetail("The consumer-group protocol of KIP-848 needs librdkafka 2.12 or later; pg_lambda here runs with librdkafka %s.",
								   version),
						 errhint("Leave group.protocol out to use the classic protocol, which every Kafka version supports, or install librdkafka 2.12 or later, rebuild pg_lambda against it and restart the server.")));
			consumer_protocol = true;
		}
	}
	for (i = 0; consumer_protocol && i < n; i++)
	{
		const char *broker_setting = kafka_classic_only_option(names[i]);

		if (broker_setting != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Kafka option \"%s\" cannot be used with group.protocol \"consumer\"", names[i]),
					 errdetail("Under the consumer-group protocol of KIP-848 the broker sets it (%s), and librdkafka refuses \"%s\".",
							   broker_setting, names[i]),
					 errhint("%s", source_remove_option_hint(names[i], source_name))));
	}
}

/*
 * Validates the options jsonb: an object whose values are strings, numbers or
 * booleans, each a librdkafka property we let users set, and only properties
 * the current user may set (checked before any of them reaches librdkafka).
 * When an existing source is altered (source_name given), the options must
 * also be ones its owner may have, since its workers check them as the
 * owner; a caller acting for the owner may not set what it could not set
 * itself either.
 */
void
source_check_options(Jsonb *options, Oid owner, const char *source_name)
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

	source_check_option_privilege(GetUserId(), source_name, true, n, names, values);
	if (source_name != NULL && owner != GetUserId())
		source_check_option_privilege(owner, source_name, false, n, names, values);
	source_check_option_rules(n, names, values, source_name);

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
void
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
void
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
 * Checks a format name and returns the format.
 */
LambdaFormat
source_check_format(const char *format)
{
	LambdaFormat fmt = LAMBDA_FORMAT_JSON;

	if (!format_parse_name(format, &fmt))
		source_bad_value("format", format, "The formats are json, csv and text.",
						 "Pass format => 'json', 'csv' or 'text'.");
	return fmt;
}

/*
 * Checks a number of workers.
 */
void
source_check_parallelism(int32 parallelism)
{
	if (parallelism < 1 || parallelism > Min(SOURCE_MAX_PARALLELISM, lambda_max_source_workers))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid parallelism: %d", parallelism),
				 errdetail("A source runs 1 to %d workers (at most %d, and at most lambda.max_source_workers).",
						   Min(SOURCE_MAX_PARALLELISM, lambda_max_source_workers), SOURCE_MAX_PARALLELISM),
				 errhint("One worker per few partitions is plenty; pass parallelism => 1 to 4.")));
}

/*
 * Checks where new partitions start.
 */
void
source_check_start_from(const char *start_from)
{
	if (strcmp(start_from, "earliest") != 0 && strcmp(start_from, "latest") != 0)
		source_bad_value("start_from", start_from,
						 "A new source starts at the earliest or the latest offset of each partition.",
						 "Pass start_from => 'earliest' or 'latest'.");
}

/*
 * Checks an event_time mode name and returns the mode.
 */
EventTimeMode
source_check_event_time(const char *event_time)
{
	EventTimeMode mode = EVENT_TIME_PAYLOAD;

	if (!ingest_parse_event_time_mode(event_time, &mode))
		source_bad_value("event_time", event_time,
						 "The event time comes from the payload, from the Kafka message timestamp, or from the payload with the Kafka timestamp when it has none.",
						 "Pass event_time => 'payload', 'kafka' or 'payload_or_kafka'.");
	return mode;
}

/*
 * Checks a batch size. altering: the hint is for lambda.alter_kafka_source(),
 * where NULL means "unchanged".
 */
void
source_check_batch_size(int32 batch_size, bool altering)
{
	if (batch_size < 1 || batch_size > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid batch_size: %d", batch_size),
				 errdetail("A batch holds 1 to 1000000 messages."),
				 altering ? errhint("Pass reset => '{batch_size}' to use lambda.kafka_batch_size.") :
				 errhint("Pass NULL to use lambda.kafka_batch_size.")));
}

/*
 * Checks a batch wait and returns it in milliseconds.
 */
int32
source_check_batch_wait(const Interval *iv, bool altering)
{
	int64		batch_wait_ms;

	batch_wait_ms = (iv->time + (iv->day * USECS_PER_DAY) +
					 (int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY) / 1000;
	if (batch_wait_ms < 1 || batch_wait_ms > 60000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid batch_wait: " INT64_FORMAT " ms", batch_wait_ms),
				 errdetail("A batch waits 1 ms to 60 s for messages."),
				 altering ? errhint("Pass reset => '{batch_wait}' to use lambda.kafka_batch_wait.") :
				 errhint("Pass NULL to use lambda.kafka_batch_wait.")));
	return (int32) batch_wait_ms;
}

/*
 * Reads a columns argument (text[]) into *ncolumns names. Refuses an empty
 * list and NULL elements; the names themselves are checked against the
 * table by source_check_columns.
 */
char **
source_columns_arg(ArrayType *arr, int *ncolumns, bool altering)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **names;
	int			i;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a column list must name at least one column"),
				 errdetail("The column list says which columns the fields of a message fill, in order."),
				 altering ? errhint("To fill every column again, pass reset => '{columns}'.") :
				 errhint("Leave columns out (or pass NULL) to fill every column in table order.")));
	names = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a column list must not contain NULL"),
					 errdetail("Element %d of columns is NULL.", i + 1),
					 errhint("Name each column as a string, e.g. columns => ARRAY['id', 'name'].")));
		names[i] = TextDatumGetCString(elems[i]);
	}
	*ncolumns = n;
	return names;
}

/*
 * Checks a column list against the target as it is now (see
 * ingest_resolve_columns), and that every column the list leaves out can do
 * without a value: a NOT NULL column outside the list needs a default (or
 * must be the event-time column filled from Kafka timestamps), or every
 * message would become a dead letter.
 */
void
source_check_columns(Oid target, EventTimeMode mode, int ncolumns, char **columns)
{
	Relation	rel = table_open(target, AccessShareLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	const char *relname = RelationGetRelationName(rel);
	char	   *time_column = event_table_time_column(target);
	AttrNumber *attnums;
	int			i;
	int			j;

	attnums = ingest_resolve_columns(tupdesc, relname, ncolumns, (const char *const *) columns);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		bool		listed = false;

		if (att->attisdropped || att->attgenerated || !att->attnotnull ||
			att->atthasdef || att->attidentity)
			continue;
		for (j = 0; j < ncolumns && !listed; j++)
			listed = (attnums[j] == att->attnum);
		if (listed)
			continue;
		if (mode != EVENT_TIME_PAYLOAD && time_column != NULL &&
			strcmp(NameStr(att->attname), time_column) == 0)
			continue;			/* Kafka timestamps fill it */
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("column \"%s\" of relation \"%s\" is missing from the column list",
						NameStr(att->attname), relname),
				 errdetail("Column \"%s\" is NOT NULL and has no default, so every message would become a dead letter.",
						   NameStr(att->attname)),
				 errhint("Add \"%s\" to the column list, or give the column a default.",
						 NameStr(att->attname))));
	}
	table_close(rel, AccessShareLock);
}
