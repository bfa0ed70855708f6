/*-------------------------------------------------------------------------
 *
 * view_admin.c
 *	  The SQL functions of continuous views: lambda.recompute(),
 *	  lambda_catalog.view_dropped() (called by the sql_drop event trigger),
 *	  speed_status() and sketch_bytes_per_key() behind lambda.view_status,
 *	  upgrade_batch_table(), which the 0.3.0 -> 0.4.0 update script runs,
 *	  and lambda.add_arrival_index(), which gives an event table its arrival
 *	  order (event_table.c) and recomputes the views over it.
 *
 * They sit on top of the other view rooms: view.c (the refresh a recompute
 * runs), view_parts.c (the parts an upgrade rebuilds), view_guard.c (which
 * lets the upgrade's own CREATE OR REPLACE VIEW through), speed.c and
 * cview.c.
 *
 * Locks: upgrade_batch_table takes AccessExclusiveLock on the view and its
 * batch table, so that no refresh or read runs while the table changes;
 * the others take what the functions they call take (a recompute: the
 * refresh's, batch.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "batch.h"
#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "event_table.h"
#include "speed.h"
#include "speed_read.h"
#include "view.h"
#include "view_admin.h"
#include "view_guard.h"
#include "view_parts.h"

PG_FUNCTION_INFO_V1(lambda_recompute);
PG_FUNCTION_INFO_V1(lambda_add_arrival_index);
PG_FUNCTION_INFO_V1(lambda_view_dropped);
PG_FUNCTION_INFO_V1(lambda_speed_status);
PG_FUNCTION_INFO_V1(lambda_sketch_bytes_per_key);
PG_FUNCTION_INFO_V1(lambda_upgrade_batch_table);

/* lambda.recompute(view regclass): rebuilds the batch layer from all events. */
Datum
lambda_recompute(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Oid			batch;
	BatchCut	cut;
	TimestampTz start;
	long		secs;
	int			usecs;

	/* called on NULL input from 0.4.0 (STRICT before: NULL did nothing) */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the view passed to lambda.recompute must not be NULL"),
				 errhint("Pass a continuous view, e.g. lambda.recompute('pageviews_hourly'); lambda.views lists them.")));
	relid = PG_GETARG_OID(0);
	batch = view_batch_of(relid);
	if (!OidIsValid(batch))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a continuous view", get_rel_name(relid) ? get_rel_name(relid) : "?"),
				 errhint("Pass a view created with CREATE MATERIALIZED VIEW ... WITH (lambda.continuous).")));
	compat_check_refresh(relid);
	start = GetCurrentTimestamp();
	view_refresh(batch, true, "recompute");
	TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
	catalog_read_cut(batch, GetLatestSnapshot(), &cut);
	/* the time only when it is worth reading (and tests stay repeatable) */
	if (secs >= VIEW_NOTICE_SECONDS)
		ereport(NOTICE,
				(errmsg_plural("continuous view \"%s\" recomputed: %lld group in %ld s",
							   "continuous view \"%s\" recomputed: %lld groups in %ld s",
							   cut.batch_rows, get_rel_name(relid), (long long) cut.batch_rows, secs)));
	else
		ereport(NOTICE,
				(errmsg_plural("continuous view \"%s\" recomputed: %lld group",
							   "continuous view \"%s\" recomputed: %lld groups",
							   cut.batch_rows, get_rel_name(relid), (long long) cut.batch_rows)));
	PG_RETURN_VOID();
}

/*
 * lambda.add_arrival_index(event_table regclass) RETURNS boolean: gives an
 * event table the arrival column and its BRIN index (event_table.c), so
 * that a refresh reads only the pages of events its cut does not hold.
 * Adding the column rewrites the table, which makes every event look
 * inserted by this transaction: the views over the table are recomputed in
 * it, before anyone sees the rewritten rows. Owner of the table only.
 * Returns false when the table had both already. (When it had the column
 * and lacked only the index, nothing is rewritten or recomputed.)
 */
Datum
lambda_add_arrival_index(PG_FUNCTION_ARGS)
{
	Oid			relid;
	List	   *views;
	ListCell   *lc;
	bool		rewritten;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the table passed to lambda.add_arrival_index must not be NULL"),
				 errhint("Pass an event table, e.g. lambda.add_arrival_index('pageviews'); lambda.event_tables lists them.")));
	relid = PG_GETARG_OID(0);
	if (get_rel_relkind(relid) == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Pass an event table; lambda.event_tables lists them.")));
	event_table_require(relid);
	if (get_rel_relispartition(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partition", get_rel_name(relid)),
				 errdetail("A partitioned event table gets its arrival index as a whole."),
				 errhint("Call lambda.add_arrival_index() on the partitioned table.")));
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid)),
				 errdetail("Adding the arrival index adds a column to the table."),
				 errhint("Connect as the table's owner (or a member of that role) and try again.")));
	if (!event_table_add_arrival(relid, &rewritten))
	{
		ereport(NOTICE,
				(errmsg("event table \"%s\" already has its arrival index, skipping", get_rel_name(relid))));
		PG_RETURN_BOOL(false);
	}
	/* only the index was missing: the events are as they were */
	if (!rewritten)
		PG_RETURN_BOOL(true);
	views = catalog_view_list_over(relid);
	foreach(lc, views)
		view_refresh(lfirst_oid(lc), true, "arrival index");
	if (views != NIL)
		ereport(NOTICE,
				(errmsg_plural("recomputed %d continuous view over \"%s\"",
							   "recomputed %d continuous views over \"%s\"",
							   list_length(views), list_length(views), get_rel_name(relid)),
				 errdetail("Adding the arrival column rewrote the table.")));
	PG_RETURN_BOOL(true);
}

/*
 * lambda_catalog.upgrade_batch_table(batch regclass): moves the batch table
 * of a view made before 0.4.0, whose keys can be too long for its unique
 * index, to the long-key design (view_create_key_indexes): adds
 * _lambda_long, replaces the unique index and redefines the view so that
 * each branch reaches its index. Returns whether it changed anything. Run
 * by the 0.3.0 -> 0.4.0 update script.
 */
Datum
lambda_upgrade_batch_table(PG_FUNCTION_ARGS)
{
	Oid			batch = PG_GETARG_OID(0);
	ViewDef    *def = cview_get(batch);
	CatalogScope scope;
	Relation	viewrel;
	TupleDesc	desc;
	List	   *colnames = NIL;
	char	   *batchname;
	char	   *batch_rel;
	char	   *speed_rel;
	char	   *viewname;
	char	   *options;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	uint64		i;
	int			a;
	bool		save_creating;
	Oid			save_extension;

	if (def == NULL || def->nkeys == 0 || !batch_keys_may_be_long(def) || batch_has_long_keys(batch))
		PG_RETURN_BOOL(false);
	batchname = get_rel_name(batch);
	batch_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, batchname);
	speed_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(def->speed_relid));
	viewname = view_qualified_name(def->view_relid);
	/* no refresh or read while the table changes */
	LockRelationOid(def->view_relid, AccessExclusiveLock);
	LockRelationOid(batch, AccessExclusiveLock);

	catalog_begin(&scope);
	/* the unique index of every key goes first, so the rewrite does not rebuild it */
	args[0] = ObjectIdGetDatum(batch);
	if (SPI_execute_with_args("SELECT pg_catalog.format('DROP INDEX %s', indexrelid::pg_catalog.regclass)"
							  "  FROM pg_catalog.pg_index WHERE indrelid = $1 AND indisunique AND indpred IS NULL",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the indexes of batch table \"%s\"", batchname);
	{
		List	   *drops = NIL;
		ListCell   *lc;

		for (i = 0; i < SPI_processed; i++)
			drops = lappend(drops, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		foreach(lc, drops)
			view_exec(lfirst(lc), SPI_OK_UTILITY);
	}
	view_exec(psprintf("ALTER TABLE %s ADD COLUMN %s", batch_rel, view_long_column(def)), SPI_OK_UTILITY);
	view_create_key_indexes(def, batchname, true);
	/* the view's options (e.g. security_barrier), which CREATE OR REPLACE would reset */
	args[0] = ObjectIdGetDatum(def->view_relid);
	if (SPI_execute_with_args("SELECT string_agg(quote_ident(split_part(o, '=', 1)) || ' = ' ||"
							  "                  quote_literal(substr(o, strpos(o, '=') + 1)), ', ')"
							  "  FROM pg_class c, unnest(c.reloptions) o WHERE c.oid = $1",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the options of view \"%s\"", viewname);
	options = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	options = options ? psprintf(" WITH (%s)", options) : "";
	catalog_end(&scope);

	/* the view, with the same columns (as the caller: its owner, or a superuser) */
	viewrel = relation_open(def->view_relid, NoLock);
	desc = RelationGetDescr(viewrel);
	for (a = 0; a < desc->natts; a++)
		colnames = lappend(colnames, makeString(pstrdup(NameStr(TupleDescAttr(desc, a)->attname))));
	relation_close(viewrel, NoLock);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The view is the user's, not the extension's: inside the update script
	 * PostgreSQL would refuse to replace it ("not a member of extension"),
	 * so it is replaced as outside one.
	 */
	save_creating = creating_extension;
	save_extension = CurrentExtensionObject;
	PG_TRY();
	{
		creating_extension = false;
		CurrentExtensionObject = InvalidOid;
		view_guard_replacing_own(true);
		view_exec(psprintf("CREATE OR REPLACE VIEW %s%s AS %s", viewname, options,
						   view_merged_sql(def, colnames, batch_rel, speed_rel)), SPI_OK_UTILITY);
	}
	PG_FINALLY();
	{
		creating_extension = save_creating;
		CurrentExtensionObject = save_extension;
		view_guard_replacing_own(false);
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/*
 * lambda_catalog.view_dropped(batch): called by the sql_drop event trigger
 * for a dropped lambda view; frees its speed layer at commit.
 */
Datum
lambda_view_dropped(PG_FUNCTION_ARGS)
{
	Oid			batch = PG_GETARG_OID(0);

	speed_view_dropped(batch);
	cview_forget(batch);
	PG_RETURN_VOID();
}

/*
 * lambda_catalog.sketch_bytes_per_key(batch): the most bytes the sketches
 * of one group take in the speed layer (0 without count(DISTINCT) or
 * percentile_cont).
 */
Datum
lambda_sketch_bytes_per_key(PG_FUNCTION_ARGS)
{
	ViewDef    *def = cview_get(PG_GETARG_OID(0));

	if (def == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) cview_sketch_bytes_per_key(def));
}

/*
 * lambda_catalog.speed_status(batch, OUT ...): the speed layer's side of
 * lambda.view_status.
 */
Datum
lambda_speed_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	SpeedStatus st;
	Datum		values[6];
	bool		nulls[6] = {0};
	const char *state;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	speed_status(PG_GETARG_OID(0), &st);
	if (!st.attached)
		state = "not loaded";
	else if (st.rebuilding)
		state = "rebuilding";
	else if (!st.complete)
		state = "degraded";
	else
		state = "active";
	values[0] = CStringGetTextDatum(state);
	values[1] = Int64GetDatum(st.keys);
	values[2] = Int64GetDatum(st.bytes);
	values[3] = Int32GetDatum(st.generations);
	values[4] = CStringGetTextDatum(st.note);
	nulls[4] = (st.note[0] == '\0');
	values[5] = TimestampTzGetDatum(st.last_apply);
	nulls[5] = (st.last_apply == 0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
