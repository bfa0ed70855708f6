/*-------------------------------------------------------------------------
 *
 * ingest.c
 *	  Inserting a batch of Kafka messages into an event table.
 *
 * A Kafka source worker polls a batch of messages and, inside one
 * transaction it started, calls ingest_batch(). Every message either becomes
 * exactly one row of the target table (or is consumed by a BEFORE ROW trigger
 * that skips it) or is reported bad with a reason, which the worker records as
 * a dead letter in the same transaction: never both, never neither. That is
 * what makes ingestion exactly-once.
 *
 * Inserting works like COPY FROM: one executor "statement" per batch with
 * before/after statement triggers (and transition tables, so that AFTER ...
 * FOR EACH STATEMENT triggers with REFERENCING NEW TABLE see exactly the
 * batch's rows), table_multi_insert() in chunks with a BulkInsertState, index
 * insertion and AFTER ROW triggers per row, constraints and stored generated
 * columns per row. Like COPY, it falls back to one row per chunk when the
 * table has BEFORE ROW triggers or a volatile default (other than nextval),
 * since those may look at the table. Column defaults are planned once per
 * batch and evaluated only for the columns a message does not give. A
 * partitioned target's rows are routed to their partitions as COPY routes
 * them (ingest_route.c); the rows buffered at any time go to one partition.
 *
 * Bad data is contained in layers:
 *	- Oversized, empty and malformed payloads (format.c) are reported
 *	  directly, without a subtransaction: they are common and cheap to detect.
 *	- Everything that can only fail by ereport() — type input functions,
 *	  NOT NULL and CHECK constraints, unique indexes, triggers (AFTER ROW
 *	  triggers run at the end of the statement, so their errors too) — is
 *	  caught by subtransactions:
 *	  1. the whole batch runs as one statement in one subtransaction; almost
 *		 always it succeeds and that is all;
 *	  2. otherwise it is rolled back, and each message is tried alone in a
 *		 subtransaction that is always rolled back (a probe), to learn which
 *		 messages fail and why;
 *	  3. the messages that passed run again as one statement in one
 *		 subtransaction, so statement triggers still see one set of rows;
 *	  4. only if that fails too (rows that fail only together, e.g. two
 *		 messages with the same unique key, or a failing statement trigger)
 *		 does each message run as its own statement in its own subtransaction,
 *		 kept when it succeeds.
 *	Errors that are not about the data (cancel, shutdown, out of memory,
 *	serialization failures, I/O and internal errors) are re-thrown after the
 *	subtransaction is rolled back: the caller's batch transaction aborts and
 *	the batch is retried.
 *
 * Memory: everything lives in a batch context under the caller's context,
 * deleted on return; the values of buffered rows live in a chunk context
 * reset after every chunk; per-row executor scratch is the per-tuple context,
 * reset per row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/hio.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "format.h"
#include "ingest.h"
#include "ingest_route.h"

/* Rows and payload bytes buffered before a table_multi_insert() call. */
#define ING_CHUNK_ROWS	1000
#define ING_CHUNK_BYTES	65536

/* Per-column conversion state, indexed by attnum - 1. */
typedef struct IngestColumn
{
	bool		is_target;		/* not dropped, not stored generated */
	bool		is_domain;		/* NULLs go through the input function too */
	bool		fast_timestamptz;	/* timestamptz without typmod: ing_timestamptz() */
	FmgrInfo	input;			/* the type's input function */
	Oid			typioparam;
	int32		typmod;
	Expr	   *defexpr;		/* planned default expression, or NULL */
	ExprState  *defstate;		/* its state in the current statement */
} IngestColumn;

/* Everything one ingest_batch() call works with. */
typedef struct IngestState
{
	Relation	rel;
	TupleDesc	tupdesc;
	int			natts;
	IngestColumn *cols;
	FormatParser *parser;
	int			nlisted;		/* the source's column list, or 0 */
	AttrNumber *listed;			/* its attribute numbers, in field order */
	RangeTblEntry *rte;			/* the statements' only range table entry */
	List	   *perminfos;		/* its RTEPermissionInfo (see compat.h) */
	EventTimeMode mode;
	int			time_att;		/* attnum - 1 of the event-time column, or -1 */
	Oid			time_type;		/* TIMESTAMPTZOID or TIMESTAMPOID */
	TimestampTz arrival;		/* the time of messages without a timestamp */
	bool		single_insert;	/* no multi-insert (see the file header) */
	const IngestMessage *msgs;
	char	  **dead;			/* per message: NULL, or why it is bad */
	int			cur_att;		/* attnum - 1 being converted, or -1 */
	int64		stmt_inserted;	/* rows inserted by the current statement */
	int64		inserted;		/* rows inserted by kept statements */
	MemoryContext batch_cxt;	/* lives for the whole call */
	MemoryContext stmt_cxt;		/* one statement's executor state */
	MemoryContext chunk_cxt;	/* values of the buffered rows */
} IngestState;

/*
 * The bulk-write buffer ring of this process's batches. COPY FROM inserts
 * through one ring of BAS_BULKWRITE buffers; a ring made per batch would
 * start empty every time and, batch after batch, take fresh buffers until
 * the inserts had gone through all of shared_buffers (in a profile of
 * bench/ingest_bench.sh, the kernel zeroing shared memory that the worker
 * touched first was up to 7 % of the Kafka path's CPU). So the ring is made once
 * and kept from batch to batch, as COPY keeps it through a statement. It
 * holds no pin between statements (the BulkInsertState around it, which
 * pins the page being filled, is made per statement), so an aborted
 * (sub)transaction leaves nothing behind in it.
 */
static BufferAccessStrategy ing_ring = NULL;

/* A BulkInsertState for one statement, over the kept ring. */
static BulkInsertState
ing_bulk_begin(void)
{
	BulkInsertState bistate = GetBulkInsertState();

	if (ing_ring == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		ing_ring = GetAccessStrategy(BAS_BULKWRITE);
		MemoryContextSwitchTo(old);
	}
	FreeAccessStrategy(bistate->strategy);
	bistate->strategy = ing_ring;
	return bistate;
}

/* Ends a statement's BulkInsertState, keeping the ring. */
static void
ing_bulk_end(BulkInsertState bistate)
{
	bistate->strategy = NULL;	/* FreeAccessStrategy() leaves NULL alone */
	FreeBulkInsertState(bistate);
}

/*
 * Parses an event_time mode name as given to lambda.create_kafka_source();
 * false when it names no mode.
 */
bool
ingest_parse_event_time_mode(const char *name, EventTimeMode *mode)
{
	if (name == NULL)
		return false;
	if (pg_strcasecmp(name, "payload") == 0)
		*mode = EVENT_TIME_PAYLOAD;
	else if (pg_strcasecmp(name, "kafka") == 0)
		*mode = EVENT_TIME_KAFKA;
	else if (pg_strcasecmp(name, "payload_or_kafka") == 0)
		*mode = EVENT_TIME_PAYLOAD_OR_KAFKA;
	else
		return false;
	return true;
}

/*
 * The canonical name of an event_time mode, as stored in the catalog.
 */
const char *
ingest_event_time_mode_name(EventTimeMode mode)
{
	switch (mode)
	{
		case EVENT_TIME_PAYLOAD:
			return "payload";
		case EVENT_TIME_KAFKA:
			return "kafka";
		case EVENT_TIME_PAYLOAD_OR_KAFKA:
			return "payload_or_kafka";
	}
	elog(ERROR, "unrecognized event_time mode %d", (int) mode);
	return NULL;				/* keep compiler quiet */
}

/*
 * Resolves a source's column list against the target's tuple descriptor, as
 * COPY resolves its column list: returns the attribute numbers in list order
 * (palloc'd). Each name must be a column of the table (matched exactly, as
 * stored), not a generated column, and named once. Used when a source is
 * created or altered, and by every batch (the table may have changed since).
 */
AttrNumber *
ingest_resolve_columns(TupleDesc tupdesc, const char *relname, int ncolumns,
					   const char *const *columns)
{
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * (ncolumns + 1));
	int			i;
	int			j;

	for (i = 0; i < ncolumns; i++)
	{
		const char *name = columns[i];
		Form_pg_attribute att = NULL;

		for (j = 0; j < tupdesc->natts; j++)
		{
			Form_pg_attribute a = TupleDescAttr(tupdesc, j);

			if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			{
				att = a;
				break;
			}
		}
		if (att == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist", name, relname),
					 errdetail("The column list of a Kafka source names columns of its target table, exactly as they are spelled there."),
					 errhint("Name a column of table \"%s\", or leave \"%s\" out of the column list.",
							 relname, name)));
		if (att->attgenerated)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("column \"%s\" is a generated column", name),
					 errdetail("Generated columns cannot be filled from Kafka messages."),
					 errhint("Leave \"%s\" out of the column list; its value is computed.", name)));
		for (j = 0; j < i; j++)
		{
			if (attnums[j] == att->attnum)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" specified more than once", name),
						 errdetail("Each field of a message fills one column, so a column list names each column once."),
						 errhint("Remove the second \"%s\" from the column list.", name)));
		}
		attnums[i] = att->attnum;
	}
	return attnums;
}

/*
 * Checks that the target can take rows from the current user: an ordinary
 * or partitioned table, INSERT privilege (table-level, or on every column a payload may
 * fill), no row-level security (which COPY FROM does not apply either). These
 * are not bad data, so they throw: the batch is retried once fixed. Also
 * builds the range table entry the statements run with.
 */
static void
ing_check_target(IngestState *st)
{
	Relation	rel = st->rel;
	Oid			relid = RelationGetRelid(rel);
	const char *relname = RelationGetRelationName(rel);
	RangeTblEntry *rte;
	RTEPermissionInfo *perm;
	int			i;

	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot ingest Kafka messages into \"%s\"", relname),
				 errdetail("Only tables (ordinary or partitioned) can be the target of a Kafka source."),
				 errhint("Make the source's target an ordinary or partitioned event table.")));

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	st->perminfos = NIL;
	perm = addRTEPermissionInfo(&st->perminfos, rte);
	perm->requiredPerms = ACL_INSERT;
	for (i = 0; i < st->natts; i++)
	{
		if (st->cols[i].is_target)
			perm->insertedCols = bms_add_member(perm->insertedCols,
												i + 1 - FirstLowInvalidHeapAttributeNumber);
	}
	st->rte = rte;

	if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK &&
		!ExecCheckPermissions(list_make1(rte), st->perminfos, false))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname),
				 errdetail("Role \"%s\", which owns the Kafka source, may not insert into table \"%s\".",
						   GetUserNameFromId(GetUserId(), false), relname),
				 errhint("GRANT INSERT ON %s TO %s, or make a role that may insert into it own the source.",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), relname),
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));

	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot ingest Kafka messages into table \"%s\": row-level security is enabled for it",
						relname),
				 errdetail("Kafka ingestion, like COPY FROM, does not apply row-level security policies."),
				 errhint("Have the source owned by the table's owner or by a role with BYPASSRLS, or disable row-level security on the table.")));
}

/*
 * Builds the per-column state once per batch: input functions, planned
 * default expressions, and the event-time column.
 */
static void
ing_prepare_columns(IngestState *st, const char *time_column)
{
	Relation	rel = st->rel;
	TriggerDesc *trig = rel->trigdesc;
	int			i;

	st->cols = palloc0(sizeof(IngestColumn) * (st->natts + 1));
	for (i = 0; i < st->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(st->tupdesc, i);
		IngestColumn *col = &st->cols[i];
		Oid			infunc;
		Node	   *def;

		if (att->attisdropped || att->attgenerated)
			continue;
		col->is_target = true;
		col->is_domain = (get_typtype(att->atttypid) == TYPTYPE_DOMAIN);
		col->typmod = att->atttypmod;
		getTypeInputInfo(att->atttypid, &infunc, &col->typioparam);
		col->fast_timestamptz = (att->atttypid == TIMESTAMPTZOID && att->atttypmod < 0);
		fmgr_info_cxt(infunc, &col->input, st->batch_cxt);

		def = build_column_default(rel, i + 1);
		if (def != NULL)
		{
			col->defexpr = expression_planner((Expr *) def);
			/* as in COPY: a volatile default may look at the table */
			if (contain_volatile_functions_not_nextval((Node *) col->defexpr))
				st->single_insert = true;
		}
	}

	if (trig != NULL && (trig->trig_insert_before_row || trig->trig_insert_instead_row))
		st->single_insert = true;

	st->time_att = -1;
	if (st->mode != EVENT_TIME_PAYLOAD)
	{
		AttrNumber	attnum = InvalidAttrNumber;
		Form_pg_attribute att = NULL;

		if (time_column != NULL)
		{
			for (i = 0; i < st->natts; i++)
			{
				att = TupleDescAttr(st->tupdesc, i);
				if (!att->attisdropped && strcmp(NameStr(att->attname), time_column) == 0)
				{
					attnum = i + 1;
					break;
				}
			}
		}
		if (attnum == InvalidAttrNumber || !st->cols[attnum - 1].is_target ||
			(att->atttypid != TIMESTAMPTZOID && att->atttypid != TIMESTAMPOID))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("event-time column \"%s\" of table \"%s\" cannot take Kafka timestamps",
							time_column ? time_column : "(none)", RelationGetRelationName(rel)),
					 errdetail("With event_time \"%s\" the event-time column must be a timestamptz or timestamp column that is not generated.",
							   ingest_event_time_mode_name(st->mode)),
					 errhint("Use event_time => 'payload', or fix the event table's time column.")));
		st->time_att = attnum - 1;
		st->time_type = att->atttypid;
	}
}

/*
 * Marks message i bad with reason err (copied into the batch context).
 */
static void
ing_mark_dead(IngestState *st, int i, const char *err)
{
	st->dead[i] = MemoryContextStrdup(st->batch_cxt, err);
}

/*
 * Converts a Kafka message timestamp (milliseconds since the Unix epoch) to
 * a timestamptz; -1, Kafka's "no timestamp", gives arrival. Returns false
 * when the time lies outside PostgreSQL's timestamp range: a producer may
 * write any 64-bit number, and multiplying it into microseconds or moving it
 * to PostgreSQL's epoch must neither overflow nor yield a value that
 * timestamptz input would have refused.
 */
bool
ingest_kafka_timestamp(int64 ms, TimestampTz arrival, TimestampTz *result)
{
	int64		pg_ms;
	TimestampTz t;

	if (ms == -1)
	{
		*result = arrival;
		return true;
	}
	/* to PostgreSQL's epoch first: the last valid microseconds since 1970 exceed int64 */
	if (pg_sub_s64_overflow(ms, (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000,
							&pg_ms) ||
		pg_mul_s64_overflow(pg_ms, INT64CONST(1000), &t) ||
		!IS_VALID_TIMESTAMP(t))
		return false;
	*result = t;
	return true;
}

/*
 * Sets *result to the Kafka timestamp ms as a value of the event-time
 * column's type and precision. Returns NULL, or why the message is bad when
 * the time does not fit the column: outside the range of timestamptz, of
 * timestamp once moved to the server's time zone, or rounded past the end
 * of the range by the column's precision. Such a message becomes a dead
 * letter instead of a wrong or unreadable row.
 */
static char *
ing_kafka_time(IngestState *st, int64 ms, Datum *result)
{
	int32		typmod = st->cols[st->time_att].typmod;
	TimestampTz t;
	Timestamp	local;

	if (!ingest_kafka_timestamp(ms, st->arrival, &t))
		return psprintf("Kafka message timestamp " INT64_FORMAT " (milliseconds since 1970) is out of range for type %s",
						ms, format_type_be(TIMESTAMPTZOID));
	if (st->time_type == TIMESTAMPOID)
	{
		struct pg_tm tm;
		fsec_t		fsec;
		int			tz;

		/* timestamptz_timestamp(), with an answer instead of an error */
		if (timestamp2tm(t, &tz, &tm, &fsec, NULL, NULL) != 0 ||
			tm2timestamp(&tm, fsec, NULL, &local) != 0 ||
			!IS_VALID_TIMESTAMP(local))
			return psprintf("Kafka message timestamp " INT64_FORMAT " (milliseconds since 1970) is out of range for type %s in time zone \"%s\"",
							ms, format_type_be(TIMESTAMPOID), pg_get_timezone_name(session_timezone));
		t = local;
	}
	*result = TimestampGetDatum(t);
	if (typmod >= 0)
	{
		*result = DirectFunctionCall2(st->time_type == TIMESTAMPOID ? timestamp_scale : timestamptz_scale,
									  *result, Int32GetDatum(typmod));
		if (!IS_VALID_TIMESTAMP(DatumGetTimestamp(*result)))
			return psprintf("Kafka message timestamp " INT64_FORMAT " (milliseconds since 1970) is out of range for type %s once rounded",
							ms, format_type_with_typemod(st->time_type, typmod));
	}
	return NULL;
}

/*
 * timestamptz input for the spelling producers nearly always use, ISO 8601
 * with an explicit zone: YYYY-MM-DD, 'T' or a space, HH:MM:SS, optionally a
 * point and one to six digits, then 'Z' or a sign with HH, HHMM or HH:MM.
 * True with *result set to exactly what timestamptz_in() makes of str (the
 * zone is explicit, so neither TimeZone nor DateStyle matters); false for
 * any other spelling or a field outside its usual range (day 31 of a 30-day
 * month, hour 24, second 60, a zone beyond 14 hours, more digits), which
 * then goes through the input function, to be accepted or refused by it.
 * In a profile of bench/ingest_bench.sh timestamptz_in() was the costliest
 * input function, about 7 % of the Kafka path's CPU.
 */
static bool
ing_timestamptz(const char *s, Datum *result)
{
	static const int mdays[2][12] = {
		{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
		{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}};
	int			year;
	int			mon;
	int			mday;
	int			hour;
	int			min;
	int			sec;
	int64		usec = 0;
	int			zone = 0;		/* seconds east of UTC */
	const char *p;
	int			i;

#define ING_D(c) ((c) >= '0' && (c) <= '9')
#define ING_2(q) (((q)[0] - '0') * 10 + ((q)[1] - '0'))
	/* each test stops at the terminating NUL: nothing past it is read */
	if (!(ING_D(s[0]) && ING_D(s[1]) && ING_D(s[2]) && ING_D(s[3]) && s[4] == '-' &&
		  ING_D(s[5]) && ING_D(s[6]) && s[7] == '-' && ING_D(s[8]) && ING_D(s[9]) &&
		  (s[10] == 'T' || s[10] == ' ') &&
		  ING_D(s[11]) && ING_D(s[12]) && s[13] == ':' && ING_D(s[14]) && ING_D(s[15]) &&
		  s[16] == ':' && ING_D(s[17]) && ING_D(s[18])))
		return false;
	year = ING_2(s) * 100 + ING_2(s + 2);
	mon = ING_2(s + 5);
	mday = ING_2(s + 8);
	hour = ING_2(s + 11);
	min = ING_2(s + 14);
	sec = ING_2(s + 17);
	if (year < 1 || mon < 1 || mon > 12 || mday < 1 ||
		mday > mdays[isleap(year) ? 1 : 0][mon - 1] || hour > 23 || min > 59 || sec > 59)
		return false;
	p = s + 19;
	if (*p == '.')
	{
		int			scale = 100000;

		p++;
		for (i = 0; ING_D(*p); i++, p++)
		{
			if (i >= 6)
				return false;
			usec += (*p - '0') * scale;
			scale /= 10;
		}
		if (i == 0)
			return false;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			sign = (*p == '+') ? 1 : -1;
		int			zh;
		int			zm = 0;

		if (!ING_D(p[1]) || !ING_D(p[2]))
			return false;
		zh = ING_2(p + 1);
		p += 3;
		if (*p == ':')
			p++;
		if (ING_D(p[0]) && ING_D(p[1]))
		{
			zm = ING_2(p);
			p += 2;
		}
		else if (p[-1] == ':')
			return false;
		if (zh > 14 || zm > 59)
			return false;
		zone = sign * (zh * SECS_PER_HOUR + zm * SECS_PER_MINUTE);
	}
	else
		return false;
	if (*p != '\0')
		return false;
#undef ING_D
#undef ING_2

	*result = TimestampTzGetDatum(((int64) (date2j(year, mon, mday) - POSTGRES_EPOCH_JDATE) * SECS_PER_DAY +
								   hour * SECS_PER_HOUR + min * SECS_PER_MINUTE + sec - zone) *
								  USECS_PER_SEC + usec);
	return true;
}

/*
 * Parses message i and fills slot with its row, in the current memory
 * context (the chunk context). Returns false, having marked the message bad,
 * when the payload is malformed; conversion errors throw, with st->cur_att
 * naming the column.
 */
static bool
ing_form_row(IngestState *st, int i, TupleTableSlot *slot, ExprContext *econtext)
{
	const IngestMessage *m = &st->msgs[i];
	const FormatRow *row;
	char	   *err;
	Datum	   *values;
	bool	   *nulls;
	int			a;

	err = format_parse_message(st->parser, m->payload, m->len, &row);
	if (err != NULL)
	{
		ing_mark_dead(st, i, err);
		return false;
	}

	ExecClearTuple(slot);
	values = slot->tts_values;
	nulls = slot->tts_isnull;
	for (a = 0; a < st->natts; a++)
	{
		IngestColumn *col = &st->cols[a];
		uint8		field = row->field[a];

		values[a] = (Datum) 0;
		nulls[a] = true;
		if (!col->is_target)
			continue;
		st->cur_att = a;
		if (a == st->time_att &&
			(st->mode == EVENT_TIME_KAFKA || field != FORMAT_FIELD_VALUE))
		{
			err = ing_kafka_time(st, m->kafka_timestamp_ms, &values[a]);
			if (err != NULL)
			{
				st->cur_att = -1;
				ing_mark_dead(st, i, psprintf("%s (column \"%s\")", err,
											  NameStr(TupleDescAttr(st->tupdesc, a)->attname)));
				return false;
			}
			nulls[a] = false;
		}
		else if (field == FORMAT_FIELD_VALUE)
		{
			if (!col->fast_timestamptz || !ing_timestamptz(row->value[a], &values[a]))
				values[a] = InputFunctionCall(&col->input, row->value[a],
											  col->typioparam, col->typmod);
			nulls[a] = false;
		}
		else if (field == FORMAT_FIELD_NULL)
		{
			/* a domain may refuse NULL */
			if (col->is_domain)
				(void) InputFunctionCall(&col->input, NULL, col->typioparam, col->typmod);
		}
		else if (col->defstate != NULL)
			values[a] = ExecEvalExpr(col->defstate, econtext, &nulls[a]);
	}
	st->cur_att = -1;
	ExecStoreVirtualTuple(slot);
	return true;
}

/*
 * Inserts the buffered rows, then per row its index entries and AFTER ROW
 * trigger events (which also feed the statement's transition tables).
 */
static void
ing_flush(IngestState *st, EState *estate, ResultRelInfo *rri,
		  TupleTableSlot **slots, int nslots, BulkInsertState bistate,
		  TransitionCaptureState *tcs)
{
	MemoryContext old;
	TriggerDesc *trig = rri->ri_TrigDesc;
	bool		after_row = (trig != NULL && trig->trig_insert_after_row) ||
	(tcs != NULL && tcs->tcs_insert_new_table);
	int			k;

	old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
	table_multi_insert(rri->ri_RelationDesc, slots, nslots, estate->es_output_cid, 0, bistate);
	MemoryContextSwitchTo(old);

	for (k = 0; k < nslots; k++)
	{
		List	   *recheck = NIL;

		if (rri->ri_NumIndices > 0)
			recheck = ExecInsertIndexTuples(rri, slots[k], estate, false, false, NULL, NIL, false);
		if (after_row)
			ExecARInsertTriggers(estate, rri, slots[k], recheck, tcs);
		list_free(recheck);
		ResetPerTupleExprContext(estate);
		ExecClearTuple(slots[k]);
	}
	st->stmt_inserted += nslots;
}

/*
 * Runs one insert statement over the messages idx[0..nidx) not already known
 * bad, in the current (sub)transaction. stmt_triggers says whether statement
 * triggers fire (probes leave them out). Throws on any error but malformed
 * payloads, which it marks bad and skips.
 */
static void
ing_statement(IngestState *st, const int *idx, int nidx, bool stmt_triggers)
{
	Relation	rel = st->rel;
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	int			maxrows = (st->single_insert || nidx == 1) ? 1 : ING_CHUNK_ROWS;
	EState	   *estate;
	ResultRelInfo *rri;
	ResultRelInfo *target = NULL;	/* where the buffered rows go */
	IngestRoute *route;
	ExprContext *econtext;
	TransitionCaptureState *tcs;
	BulkInsertState bistate;
	TupleTableSlot **slots;		/* rows as formed, in the table's shape */
	TupleTableSlot **bslots;	/* the same rows as buffered for target */
	MemoryContext old;
	int			nbuffered = 0;
	size_t		bufbytes = 0;
	int			a;
	int			k;

	MemoryContextReset(st->stmt_cxt);
	MemoryContextReset(st->chunk_cxt);
	st->stmt_inserted = 0;

	old = MemoryContextSwitchTo(st->stmt_cxt);
	estate = CreateExecutorState();
	estate->es_output_cid = GetCurrentCommandId(true);
	estate->es_snapshot = GetActiveSnapshot();
	ExecInitRangeTable(estate, list_make1(st->rte), st->perminfos, bms_make_singleton(1));
	rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(estate, rri, 1);
	CheckValidResultRel(rri, CMD_INSERT, ONCONFLICT_NONE, NIL);
	ExecOpenIndices(rri, false);
	econtext = GetPerTupleExprContext(estate);

	MemoryContextSwitchTo(estate->es_query_cxt);
	for (a = 0; a < st->natts; a++)
	{
		IngestColumn *col = &st->cols[a];

		col->defstate = col->defexpr ? ExecInitExpr(col->defexpr, NULL) : NULL;
	}
	slots = palloc0(sizeof(TupleTableSlot *) * maxrows);
	bslots = palloc0(sizeof(TupleTableSlot *) * maxrows);

	AfterTriggerBeginQuery();
	tcs = MakeTransitionCaptureState(rel->trigdesc, RelationGetRelid(rel), CMD_INSERT);
	if (stmt_triggers)
		ExecBSInsertTriggers(estate, rri);
	bistate = ing_bulk_begin();
	route = ingest_route_begin(estate, rri, maxrows);

	for (k = 0; k < nidx; k++)
	{
		int			i = idx[k];
		TupleTableSlot *slot;

		CHECK_FOR_INTERRUPTS();
		if (st->dead[i] != NULL)
			continue;
		if (slots[nbuffered] == NULL)
		{
			MemoryContextSwitchTo(estate->es_query_cxt);
			slots[nbuffered] = table_slot_create(rel, &estate->es_tupleTable);
		}
		slot = slots[nbuffered];

		ResetPerTupleExprContext(estate);
		MemoryContextSwitchTo(st->chunk_cxt);
		if (!ing_form_row(st, i, slot, econtext))
			continue;
		if (route == NULL)
			target = rri;
		else
		{
			/* a partitioned table: the rows buffered all go to one partition */
			ResultRelInfo *part = ingest_route_find(route, slot);

			if (part != target && target != NULL)
			{
				if (nbuffered > 0)
				{
					/* keep this row (its own copy), insert the other partition's */
					slot = ingest_route_slot(route, part, slot, 0);
					ExecMaterializeSlot(slot);
					ing_flush(st, estate, target, bslots, nbuffered, bistate, tcs);
					nbuffered = 0;
					bufbytes = 0;
					MemoryContextReset(st->chunk_cxt);
				}
				else
					slot = ingest_route_slot(route, part, slot, 0);
				/* the bulk-insert state's buffer is one of the last partition's */
				ReleaseBulkInsertStatePin(bistate);
			}
			else
				slot = ingest_route_slot(route, part, slot, nbuffered);
			target = part;
			constr = RelationGetDescr(part->ri_RelationDesc)->constr;
		}
		if (target->ri_TrigDesc != NULL && target->ri_TrigDesc->trig_insert_before_row &&
			!ExecBRInsertTriggers(estate, target, slot))
			continue;			/* skipped by a trigger: consumed */
		if (constr != NULL && constr->has_generated_stored)
			ExecComputeStoredGenerated(target, estate, slot, CMD_INSERT);
		if (constr != NULL)
			ExecConstraints(target, slot, estate);
		if (target->ri_RelationDesc->rd_rel->relispartition &&
			(route == NULL || ingest_route_one_by_one(target)))
			ExecPartitionCheck(target, slot, estate, true);

		bslots[nbuffered] = slot;
		nbuffered++;
		bufbytes += st->msgs[i].len;
		if (nbuffered >= maxrows || bufbytes >= ING_CHUNK_BYTES ||
			(route != NULL && ingest_route_one_by_one(target)))
		{
			ing_flush(st, estate, target, bslots, nbuffered, bistate, tcs);
			nbuffered = 0;
			bufbytes = 0;
			MemoryContextReset(st->chunk_cxt);
		}
	}
	if (nbuffered > 0)
		ing_flush(st, estate, target, bslots, nbuffered, bistate, tcs);
	MemoryContextSwitchTo(estate->es_query_cxt);
	MemoryContextReset(st->chunk_cxt);

	if (stmt_triggers)
		ExecASInsertTriggers(estate, rri, tcs);
	AfterTriggerEndQuery(estate);

	ing_bulk_end(bistate);
	ExecResetTupleTable(estate->es_tupleTable, false);
	ingest_route_end(route);
	ExecCloseResultRelations(estate);
	ExecCloseRangeTableRelations(estate);
	MemoryContextSwitchTo(old);
	FreeExecutorState(estate);
}

/*
 * Tells errors that are about the system, not the data: those abort the
 * whole batch (to be retried) instead of condemning messages.
 */
static bool
ing_error_is_systemic(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_CONNECTION_EXCEPTION:
		case ERRCODE_INVALID_TRANSACTION_STATE:
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_SYSTEM_ERROR:
		case ERRCODE_CONFIG_FILE_ERROR:
		case ERRCODE_INTERNAL_ERROR:
			return true;
		default:
			break;
	}
	return sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		sqlerrcode == ERRCODE_OBJECT_IN_USE;
}

/*
 * Runs ing_statement() in a subtransaction, as PL/pgSQL runs an exception
 * block. keep: release the subtransaction on success (else always roll it
 * back: a probe). Returns whether the statement succeeded. On a data error,
 * when msg >= 0 that message is marked bad with the error's message (and the
 * column being converted, if any); systemic errors are re-thrown.
 */
static bool
ing_try(IngestState *st, const int *idx, int nidx, bool stmt_triggers, bool keep, int msg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	st->cur_att = -1;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		ing_statement(st, idx, nidx, stmt_triggers);
		if (keep)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (keep)
		{
			st->inserted += st->stmt_inserted;
			/* later statements and their triggers see these rows */
			CommandCounterIncrement();
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(st->batch_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;

		if (ing_error_is_systemic(edata->sqlerrcode))
			ReThrowError(edata);

		ok = false;
		if (msg >= 0)
		{
			const char *text = edata->message ? edata->message : "unknown error";

			if (st->cur_att >= 0)
				ing_mark_dead(st, msg,
							  psprintf("%s (column \"%s\")", text,
									   NameStr(TupleDescAttr(st->tupdesc, st->cur_att)->attname)));
			else
				ing_mark_dead(st, msg, text);
		}
		st->cur_att = -1;
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return ok;
}

/*
 * Inserts a batch of messages; see ingest.h and the file header.
 */
void
ingest_batch(Oid relid, const char *time_column, LambdaFormat format,
			 EventTimeMode mode, int ncolumns, const char *const *columns,
			 int max_message_bytes,
			 const IngestMessage *msgs, int n, IngestResult *result)
{
	MemoryContext caller = CurrentMemoryContext;
	IngestState st;
	int		   *cand;
	int			ncand = 0;
	int			i;

	memset(result, 0, sizeof(IngestResult));
	result->dead_index = palloc(sizeof(int) * Max(n, 1));
	result->dead_error = palloc(sizeof(char *) * Max(n, 1));
	if (n <= 0)
		return;

	memset(&st, 0, sizeof(st));
	st.batch_cxt = AllocSetContextCreate(caller, "pg_lambda ingest batch",
										 ALLOCSET_DEFAULT_SIZES);
	st.stmt_cxt = AllocSetContextCreate(st.batch_cxt, "pg_lambda ingest statement",
										ALLOCSET_DEFAULT_SIZES);
	st.chunk_cxt = AllocSetContextCreate(st.batch_cxt, "pg_lambda ingest rows",
										 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(st.batch_cxt);

	st.rel = table_open(relid, RowExclusiveLock);
	st.tupdesc = RelationGetDescr(st.rel);
	st.natts = st.tupdesc->natts;
	st.mode = mode;
	st.arrival = GetCurrentTimestamp();
	st.msgs = msgs;
	st.cur_att = -1;
	if (ncolumns > 0)
	{
		st.nlisted = ncolumns;
		st.listed = ingest_resolve_columns(st.tupdesc, RelationGetRelationName(st.rel),
										   ncolumns, columns);
	}
	ing_prepare_columns(&st, time_column);
	ing_check_target(&st);
	st.parser = format_parser_create(format, st.tupdesc, st.nlisted, st.listed);

	/* oversized and empty payloads are bad without a look inside */
	st.dead = palloc0(sizeof(char *) * n);
	cand = palloc(sizeof(int) * n);
	for (i = 0; i < n; i++)
	{
		if (msgs[i].payload == NULL || msgs[i].len == 0)
			ing_mark_dead(&st, i, "empty payload");
		else if (max_message_bytes > 0 && msgs[i].len > (size_t) max_message_bytes)
			st.dead[i] = psprintf("payload of %zu bytes exceeds lambda.kafka_max_message_bytes (%d)",
								  msgs[i].len, max_message_bytes);
		else
			cand[ncand++] = i;
	}

	if (ncand > 0 && !ing_try(&st, cand, ncand, true, true, -1))
	{
		int			nok = 0;

		/* learn which messages fail, one by one, keeping nothing */
		for (i = 0; i < ncand; i++)
		{
			if (st.dead[cand[i]] == NULL)
				(void) ing_try(&st, &cand[i], 1, false, false, cand[i]);
		}
		for (i = 0; i < ncand; i++)
		{
			if (st.dead[cand[i]] == NULL)
				cand[nok++] = cand[i];
		}
		/* the rest as one statement; if even that fails, one by one */
		if (nok > 0 && !ing_try(&st, cand, nok, true, true, -1))
		{
			for (i = 0; i < nok; i++)
			{
				if (st.dead[cand[i]] == NULL)
					(void) ing_try(&st, &cand[i], 1, true, true, cand[i]);
			}
		}
	}

	table_close(st.rel, NoLock);

	MemoryContextSwitchTo(caller);
	result->inserted = st.inserted;
	for (i = 0; i < n; i++)
	{
		if (st.dead[i] != NULL)
		{
			result->dead_index[result->ndead] = i;
			result->dead_error[result->ndead] = pstrdup(st.dead[i]);
			result->ndead++;
		}
	}
	MemoryContextDelete(st.batch_cxt);
}
