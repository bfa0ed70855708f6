/*-------------------------------------------------------------------------
 *
 * dead_letter.c
 *	  Dead letters of Kafka sources: lambda.replay_dead_letters and
 *	  lambda.delete_dead_letters.
 *
 * A worker records a message that cannot become a row in
 * lambda_catalog.dead_letter, in the batch's transaction (worker.c). Once the
 * cause is fixed, a replay parses the stored payloads again with the
 * source's current settings (format, column list, event time) through
 * ingest.c, as the source's owner, in the caller's transaction: a dead letter
 * that now makes a row is deleted in that same transaction, so it is one row
 * or one dead letter, never both; one that still fails keeps its new reason.
 * The dead letters being replayed are locked FOR UPDATE, so a concurrent
 * replay waits and then skips them. The source's catalog row is locked FOR
 * SHARE, so its settings cannot change underneath (an alter waits).
 *
 * Both functions take what managing the source takes (lambda_source_admin
 * and the owner's privileges) plus what reading its dead letters takes
 * (SELECT on the target; INSERT too for a replay). The counters in
 * lambda_catalog.source_offset are the workers' history and do not change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog_source.h"
#include "guc.h"
#include "ingest.h"
#include "source.h"

PG_FUNCTION_INFO_V1(lambda_replay_dead_letters);
PG_FUNCTION_INFO_V1(lambda_delete_dead_letters);

/* Dead letters replayed per ingest_batch() call: at most this many, and
 * payloads of at most this many bytes together (one, however large). */
#define DL_REPLAY_CHUNK 1000
#define DL_REPLAY_CHUNK_BYTES (64 * 1024 * 1024)

/*
 * The checks replay_dead_letters and delete_dead_letters share, in order:
 * lambda_source_admin membership, the arguments, the source (its catalog row
 * locked FOR SHARE, so its settings cannot change until the transaction
 * ends), the privileges of its owner, and the table privileges that reading
 * its dead letters takes (SELECT on the target), with INSERT when replaying.
 */
static void
dl_prepare(FunctionCallInfo fcinfo, bool replay, SourceDef *def,
						   DeadLetterFilter *f)
{
	const char *function = replay ? "replay_dead_letters" : "delete_dead_letters";
	const char *action = replay ? "replay the dead letters of" : "delete the dead letters of";
	char	   *name;
	char	   *relname;
	char	   *role;

	source_check_admin(action);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be null"),
				 errdetail("lambda.%s() needs the name of the source whose dead letters to %s.",
						   function, replay ? "replay" : "delete"),
				 errhint("Pass the name of a source listed in lambda.dead_letters.")));
	f->partition_null = PG_ARGISNULL(1);
	f->partition = f->partition_null ? (Datum) 0 : PG_GETARG_DATUM(1);
	f->offset_null = PG_ARGISNULL(2);
	f->offset = f->offset_null ? (Datum) 0 : PG_GETARG_DATUM(2);
	if (!f->partition_null && DatumGetInt32(f->partition) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid partition: %d", DatumGetInt32(f->partition)),
				 errdetail("Kafka partitions are numbered from 0."),
				 errhint("Pass a partition listed in lambda.dead_letters, or NULL for every partition.")));
	if (!f->offset_null && f->partition_null)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an offset needs a partition"),
				 errdetail("An offset names a message only within one partition."),
				 errhint("Pass \"partition\" as well, or leave \"offset\" NULL for every dead letter of the source.")));
	if (!f->offset_null && DatumGetInt64(f->offset) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid offset: " INT64_FORMAT, DatumGetInt64(f->offset)),
				 errdetail("Kafka offsets are numbered from 0."),
				 errhint("Pass an offset listed in lambda.dead_letters, or NULL for every dead letter of the partition.")));
	if (replay)
	{
		PreventCommandIfReadOnly("lambda.replay_dead_letters()");
		PreventCommandIfParallelMode("lambda.replay_dead_letters()");
	}

	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	source_load_by_name_for_share(name, def);
	source_check_owner(action, replay ? "replay its dead letters" : "delete its dead letters",
					   function, name, def->owner);

	relname = get_rel_name(def->target);
	role = GetUserNameFromId(GetUserId(), false);
	if (pg_class_aclcheck(def->target, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname),
				 errdetail("The dead letters of Kafka source \"%s\" are messages meant for table \"%s\"; only roles that may SELECT from it may see or %s them.",
						   name, relname, replay ? "replay" : "delete"),
				 errhint("Ask the owner of table \"%s\" to run GRANT SELECT ON %s TO %s.",
						 relname, quote_identifier(relname), quote_identifier(role))));
	if (replay && pg_class_aclcheck(def->target, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", relname),
				 errdetail("Replayed dead letters of Kafka source \"%s\" become rows of table \"%s\".",
						   name, relname),
				 errhint("Ask the owner of table \"%s\" to run GRANT INSERT ON %s TO %s.",
						 relname, quote_identifier(relname), quote_identifier(role))));
}

/*
 * lambda.replay_dead_letters(source, partition, offset)
 *	  RETURNS (replayed bigint, still_failing bigint)
 *
 * Parses the payloads of a source's dead letters again, with the source's
 * current format, column list and event time, into its target, through the
 * same ingest path as its workers (so triggers and continuous views see the
 * rows): a dead letter that now makes a row is deleted in the same
 * transaction, one that still fails stays with its new reason. Rows are
 * inserted as the source's owner, in a security-restricted operation (the
 * caller may be a superuser running the owner's triggers), in the caller's
 * transaction. The counters in source_offset are the workers' history and
 * do not change.
 */
Datum
lambda_replay_dead_letters(PG_FUNCTION_ARGS)
{
	SourceDef	def;
	DeadLetterFilter f;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int64		replayed = 0;
	int64		failing = 0;
	int32		partition = -1;
	int64		offset = -1;
	IngestMessage *msgs;
	MemoryContext chunk_cxt;
	MemoryContext old;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "lambda.replay_dead_letters() must return a record");
	dl_prepare(fcinfo, true, &def, &f);

	msgs = palloc(sizeof(IngestMessage) * DL_REPLAY_CHUNK);
	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda replay",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		IngestResult res;
		Oid			save_userid;
		int			save_sec;
		int			save_nestlevel;
		int			n;

		old = MemoryContextSwitchTo(chunk_cxt);
		n = catalog_dead_letters_read(def.id, &f, DL_REPLAY_CHUNK, DL_REPLAY_CHUNK_BYTES,
									  &partition, &offset, msgs);
		if (n == 0)
		{
			MemoryContextSwitchTo(old);
			break;
		}

		/* as the workers do, as the owner; GUCs its code sets end with it */
		GetUserIdAndSecContext(&save_userid, &save_sec);
		SetUserIdAndSecContext(def.owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		save_nestlevel = NewGUCNestLevel();
		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		ingest_batch(def.target, def.time_column, def.format, def.event_time,
					 def.ncolumns, (const char *const *) def.columns,
					 lambda_kafka_max_message_bytes, msgs, n, &res);
		PopActiveSnapshot();
		AtEOXact_GUC(false, save_nestlevel);
		SetUserIdAndSecContext(save_userid, save_sec);

		catalog_dead_letters_settle(def.id, msgs, n, &res);
		replayed += n - res.ndead;
		failing += res.ndead;
		MemoryContextSwitchTo(old);
		MemoryContextReset(chunk_cxt);
	}
	MemoryContextDelete(chunk_cxt);

	ereport(NOTICE,
			(errmsg("replayed " INT64_FORMAT " of " INT64_FORMAT " dead letters of Kafka source \"%s\" into table \"%s\"",
					replayed, replayed + failing, def.name, get_rel_name(def.target)),
			 failing > 0 ?
			 errdetail_plural(INT64_FORMAT " still fails; lambda.dead_letters shows its new reason.",
							  INT64_FORMAT " still fail; lambda.dead_letters shows their new reason.",
							  failing, failing) : 0));
	values[0] = Int64GetDatum(replayed);
	values[1] = Int64GetDatum(failing);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * lambda.delete_dead_letters(source, partition, offset) RETURNS bigint
 *
 * Deletes dead letters of a source (all, a partition's, or one) and returns
 * how many. The counters in source_offset do not change.
 */
Datum
lambda_delete_dead_letters(PG_FUNCTION_ARGS)
{
	SourceDef	def;
	DeadLetterFilter f;

	dl_prepare(fcinfo, false, &def, &f);
	PG_RETURN_INT64(catalog_dead_letters_delete(def.id, &f));
}
