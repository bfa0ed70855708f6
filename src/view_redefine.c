/*-------------------------------------------------------------------------
 *
 * view_redefine.c
 *	  CALL lambda.alter_view_query(view, query): a continuous view's
 *	  defining query changed online.
 *
 * A procedure, because it needs transactions of its own (as CREATE INDEX
 * CONCURRENTLY does):
 *
 *   1. A short transaction creates the new definition as a continuous view
 *	    of its own, "<view>_redefine" in the view's schema, with the old
 *	    view's options, without the existing events (view.c,
 *	    view_create_without_events): only the moment it registers its capture
 *	    triggers locks the event table, as CREATE does, so every event
 *	    committed after it is captured by the new speed layer. The catalog
 *	    row notes which view it redefines (continuous_view.redefines).
 *   2. A second transaction builds its batch layer from all events, as
 *	    lambda.recompute does (with its progress in pg_stat_activity), and
 *	    then swaps it in: grants and comment are carried over, the old view
 *	    is dropped (with its batch and speed layers and capture triggers),
 *	    and the new one takes its name and owner. Readers of the old view
 *	    read the old definition until this transaction commits; the drop
 *	    waits for them, and writers wait for the drop, only for that moment.
 *
 * The build and the swap run in a subtransaction: when either fails or is
 * cancelled, the new view is dropped and the old one was never touched. A
 * build left behind by a session that ended is dropped by the next
 * alter_view_query of the same view. One redefinition of a view runs at a
 * time (a session-level advisory lock on the view, held across the
 * transactions).
 *
 * Objects that depend on the view (other views, functions) would be dropped
 * with it: they are refused up front, with their names.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_rewrite.h"
#include "commands/comment.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "rewrite/rewriteSupport.h"
#include "storage/lmgr.h"
#include "tcop/dest.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "compat.h"
#include "view.h"
#include "view_parts.h"

PG_FUNCTION_INFO_V1(lambda_alter_view_query);

/* the advisory lock's second key: one redefinition of a view at a time */
#define REDEFINE_LOCK_CLASS 0x6c616d62	/* "lamb" */

/*
 * Refuses when objects other than the view's own rule depend on view_relid
 * (they would be dropped with it, or lose it): names them in the detail.
 */
static void
redefine_check_dependents(Oid view_relid)
{
	Relation	depRel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	StringInfoData names;
	int			n = 0;
	Oid			own_rule = get_rewrite_oid(view_relid, "_RETURN", true);
	List	   *seen = NIL;

	initStringInfo(&names);
	depRel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(view_relid));
	scan = systable_beginscan(depRel, DependReferenceIndexId, true, NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend d = (Form_pg_depend) GETSTRUCT(tup);
		ObjectAddress obj;

		if (d->deptype != DEPENDENCY_NORMAL && d->deptype != DEPENDENCY_AUTO)
			continue;
		/* the view's own rule; an object named once */
		if (d->classid == RewriteRelationId && d->objid == own_rule)
			continue;
		if (list_member_oid(seen, d->objid))
			continue;
		seen = lappend_oid(seen, d->objid);
		ObjectAddressSet(obj, d->classid, d->objid);
		if (n++ < 10)
			appendStringInfo(&names, "%s%s", names.len ? ", " : "", getObjectDescription(&obj, false));
	}
	systable_endscan(scan);
	table_close(depRel, AccessShareLock);
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot redefine continuous view \"%s\" because other objects depend on it", get_rel_name(view_relid)),
				 errdetail("%s%s depend%s on the view.", names.data, n > 10 ? ", ..." : "", n == 1 ? "s" : ""),
				 errhint("Drop the dependent objects first and create them again after the redefinition.")));
}

/* Drops the views of unfinished redefinitions of view_relid. */
static void
redefine_drop_leftovers(Oid view_relid)
{
	ListCell   *lc;

	foreach(lc, catalog_view_list_redefining(view_relid))
	{
		Oid			left = lfirst_oid(lc);

		if (!get_rel_name(left))
			continue;
		ereport(NOTICE,
				(errmsg("dropping \"%s\", left by an unfinished redefinition of \"%s\"",
						get_rel_name(left), get_rel_name(view_relid))));
		view_exec(psprintf("DROP MATERIALIZED VIEW %s", view_qualified_name(left)), SPI_OK_UTILITY);
	}
}

/*
 * The lambda.* options of the new definition's CREATE: the old view's
 * refresh interval and sliding window.
 */
static List *
redefine_options(Oid batch)
{
	CatalogView *row = catalog_view_get(batch, CurrentMemoryContext);
	List	   *options = NIL;

	options = lappend(options, makeDefElemExtended("lambda", "continuous", NULL, DEFELEM_UNSPEC, -1));
	options = lappend(options, makeDefElemExtended("lambda", "refresh_interval",
												   (Node *) makeString(catalog_view_refresh_interval(batch)),
												   DEFELEM_UNSPEC, -1));
	if (row->window)
	{
		options = lappend(options, makeDefElemExtended("lambda", "sliding_window",
													   (Node *) makeString(DatumGetCString(DirectFunctionCall1(interval_out, PointerGetDatum(row->window)))),
													   DEFELEM_UNSPEC, -1));
		options = lappend(options, makeDefElemExtended("lambda", "window_step",
													   (Node *) makeString(DatumGetCString(DirectFunctionCall1(interval_out, PointerGetDatum(row->step)))),
													   DEFELEM_UNSPEC, -1));
	}
	return options;
}

/*
 * Gives new_relid the grants of old_relid (other than its owner's own) and
 * its comment, when the user set one.
 */
static void
redefine_carry_over(Oid old_relid, Oid new_relid)
{
	char	   *comment = GetComment(old_relid, RelationRelationId, 0);
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		args[2];
	uint64		i;
	List	   *grants = NIL;
	ListCell   *lc;

	args[0] = ObjectIdGetDatum(old_relid);
	args[1] = CStringGetTextDatum(view_qualified_name(new_relid));
	if (SPI_execute_with_args("SELECT pg_catalog.format('GRANT %s ON %s TO %s%s', a.privilege_type, $2,"
							  "       CASE WHEN a.grantee = 0 THEN 'PUBLIC'"
							  "            ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,"
							  "       CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)"
							  "  FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a"
							  " WHERE c.oid = $1 AND a.grantee <> c.relowner",
							  2, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the grants of relation %u", old_relid);
	for (i = 0; i < SPI_processed; i++)
		grants = lappend(grants, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	foreach(lc, grants)
		view_exec(lfirst(lc), SPI_OK_UTILITY);
	/* pg_lambda's own comment names the old layers: the new view has its own */
	if (comment && strncmp(comment, "pg_lambda continuous view over ", 31) != 0)
		CreateComments(new_relid, RelationRelationId, 0, comment);
}

/*
 * The build and the swap (step 2 of the file header), in the caller's
 * transaction: returns the number of groups.
 */
static int64
redefine_build_and_swap(Oid view_relid, Oid old_batch, Oid new_relid, const char *viewname, Oid owner)
{
	Oid			new_batch;
	BatchCut	cut;

	new_batch = view_batch_of(new_relid);
	if (!OidIsValid(new_batch))
		elog(ERROR, "the new definition of \"%s\" is gone", viewname);
	view_refresh(new_batch, true, "recompute");

	/* the swap: the old view must still be there, with nothing new on it */
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("redefining continuous view %s: built, waiting for its readers to swap it in", viewname));
	/* a refresh of the old view first (it locks its batch table first too) */
	LockRelationOid(old_batch, ShareUpdateExclusiveLock);
	LockRelationOid(view_relid, AccessExclusiveLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(view_relid)) ||
		!OidIsValid(view_batch_of(view_relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("continuous view \"%s\" was dropped during its redefinition", viewname)));
	redefine_check_dependents(view_relid);
	redefine_carry_over(view_relid, new_relid);
	view_exec(psprintf("DROP MATERIALIZED VIEW %s", view_qualified_name(view_relid)), SPI_OK_UTILITY);
	view_exec(psprintf("ALTER MATERIALIZED VIEW %s RENAME TO %s", view_qualified_name(new_relid),
						   quote_identifier(viewname)), SPI_OK_UTILITY);
	if (owner != GetUserId())
		view_exec(psprintf("ALTER MATERIALIZED VIEW %s OWNER TO %s", view_qualified_name(new_relid),
							   quote_identifier(GetUserNameFromId(owner, false))), SPI_OK_UTILITY);
	catalog_view_set_redefines(new_batch, InvalidOid);
	catalog_read_cut(new_batch, GetLatestSnapshot(), &cut);
	return cut.batch_rows;
}

/*
 * An error with a position in the new query (say, an unknown column) points
 * into that query, shown as the statement's internal query, as an error in
 * a function's SQL does; the client's statement is the CALL.
 */
static void
redefine_error_callback(void *arg)
{
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery((const char *) arg);
	}
}

/*
 * Runs CREATE MATERIALIZED VIEW <schema>.<newname> WITH (options) AS query,
 * without the existing events. The statement is built as a node, not as
 * SQL text around the user's query, and analyzed with that query as its
 * text: an error in the query points into what the user wrote, and no
 * generated SQL shows in the error.
 */
static void
redefine_create(Oid nsp, const char *newname, List *options, const char *query)
{
	List	   *raw = raw_parser(query, RAW_PARSE_DEFAULT);
	RawStmt    *select;
	RawStmt    *stmt;
	CreateTableAsStmt *ctas;
	IntoClause *into;
	List	   *queries;
	PlannedStmt *pstmt;
	ErrorContextCallback errcallback;

	if (list_length(raw) != 1 || !IsA(((RawStmt *) linitial(raw))->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the new query of a continuous view must be one SELECT"),
				 errhint("Pass the SELECT of the new definition alone, as in CREATE MATERIALIZED VIEW ... AS SELECT ...")));
	select = linitial(raw);
	into = makeNode(IntoClause);
	into->rel = makeRangeVar(get_namespace_name(nsp), pstrdup(newname), -1);
	into->options = options;
	into->onCommit = ONCOMMIT_NOOP;
	ctas = makeNode(CreateTableAsStmt);
	ctas->query = select->stmt;
	ctas->into = into;
	ctas->objtype = OBJECT_MATVIEW;
	stmt = makeNode(RawStmt);
	stmt->stmt = (Node *) ctas;
	stmt->stmt_location = select->stmt_location;
	stmt->stmt_len = select->stmt_len;

	errcallback.callback = redefine_error_callback;
	errcallback.arg = (void *) query;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	view_create_without_events(true);
	PG_TRY();
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		queries = pg_analyze_and_rewrite_fixedparams(stmt, query, NULL, 0, NULL);
		pstmt = linitial_node(PlannedStmt, pg_plan_queries(queries, query, CURSOR_OPT_PARALLEL_OK, NULL));
		ProcessUtility(pstmt, query, false, PROCESS_UTILITY_QUERY, NULL, NULL, None_Receiver, NULL);
		PopActiveSnapshot();
	}
	PG_CATCH();
	{
		view_create_without_events(false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	view_create_without_events(false);
	error_context_stack = errcallback.previous;
}

/*
 * Steps 1 and 2 of the file header, each in a transaction of its own;
 * returns the number of groups of the new definition.
 */
static int64
redefine_run(Oid view_relid, Oid batch, const char *viewname, const char *query, Oid owner)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *newname;
	Oid			new_relid;
	int64		groups = 0;

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* 1. the new definition, registered and committed */
	redefine_drop_leftovers(view_relid);
	newname = ChooseRelationName(viewname, NULL, "redefine", get_rel_namespace(view_relid), false);
	redefine_create(get_rel_namespace(view_relid), newname, redefine_options(batch), query);
	CommandCounterIncrement();
	new_relid = get_relname_relid(newname, get_rel_namespace(view_relid));
	catalog_view_set_redefines(view_batch_of(new_relid), view_relid);
	ereport(NOTICE,
			(errmsg("building the new definition of \"%s\" from all events as \"%s\"", viewname, newname),
			 errdetail("\"%s\" answers with its old definition until the new one is swapped in.", viewname)));
	SPI_commit();
	MemoryContextSwitchTo(cxt);

	/* 2. built and swapped in, or dropped */
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		groups = redefine_build_and_swap(view_relid, batch, new_relid, viewname, owner);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		if (get_rel_name(new_relid))
			view_exec(psprintf("DROP MATERIALIZED VIEW %s", view_qualified_name(new_relid)), SPI_OK_UTILITY);
		SPI_commit();
		ReThrowError(edata);
	}
	PG_END_TRY();
	SPI_commit();
	SPI_finish();
	return groups;
}

/*
 * lambda.alter_view_query(view regclass, query text), a procedure: see the
 * file header.
 */
Datum
lambda_alter_view_query(PG_FUNCTION_ARGS)
{
	Oid			view_relid;
	char	   *query;
	char	   *viewname;
	Oid			batch;
	Oid			owner;
	LOCKTAG		tag;
	volatile int64 groups = 0;

	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("lambda.alter_view_query cannot run inside a transaction block"),
				 errdetail("It commits the new definition's registration before building it from all events."),
				 errhint("Run CALL lambda.alter_view_query(...) on its own, outside BEGIN ... COMMIT and functions.")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the arguments of lambda.alter_view_query must not be NULL"),
				 errhint("Pass a continuous view and its new defining query, e.g. CALL lambda.alter_view_query('v', $$SELECT ...$$).")));
	view_relid = PG_GETARG_OID(0);
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!catalog_has(CATALOG_REDEFINE))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lambda.alter_view_query needs pg_lambda 0.4.0 in this database"),
				 errhint("Run ALTER EXTENSION pg_lambda UPDATE.")));
	batch = view_batch_of(view_relid);
	viewname = get_rel_name(view_relid);
	if (!OidIsValid(batch))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a continuous view", viewname ? viewname : "?"),
				 errhint("Pass a view created with CREATE MATERIALIZED VIEW ... WITH (lambda.continuous).")));
	if (!object_ownercheck(RelationRelationId, view_relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_MATVIEW, viewname);
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(view_relid));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", view_relid);
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
	}
	redefine_check_dependents(view_relid);

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, REDEFINE_LOCK_CLASS, view_relid, 3);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("continuous view \"%s\" is being redefined by another session", viewname),
				 errhint("Wait for that lambda.alter_view_query to finish (pg_stat_activity shows it).")));
	PG_TRY();
	{
		groups = redefine_run(view_relid, batch, viewname, query, owner);
	}
	PG_FINALLY();
	{
		LockRelease(&tag, ExclusiveLock, true);
	}
	PG_END_TRY();
	ereport(NOTICE,
			(errmsg_plural("continuous view \"%s\" redefined: %lld group",
						   "continuous view \"%s\" redefined: %lld groups",
						   groups, viewname, (long long) groups)));
	PG_RETURN_VOID();
}
