/*-------------------------------------------------------------------------
 *
 * cview.c
 *	  Continuous-view definitions: a defining query compiled into a ViewDef,
 *	  and this backend's cache of compiled definitions.
 *
 * A definition is stored in lambda_catalog.continuous_view as SQL with every
 * name qualified. cview_get reads it (through catalog.c), parses it under
 * search_path = pg_catalog and compiles it: WHERE, GROUP BY keys, aggregate
 * arguments and FILTERs into ExprStates, each aggregate's support functions
 * resolved by aggstate.c, and the names of the batch table's columns.
 * count(DISTINCT x) and percentile_cont(p) WITHIN GROUP (ORDER BY x) are
 * compiled as calls of pg_lambda's own aggregates (sketch.c) with the same
 * result type: lambda_catalog.count_distinct(x) and
 * lambda_catalog.percentile_sketch(x, p).
 *
 * A sliding window adds a last GROUP BY key to the compiled query:
 * date_bin(step, <event time>, 2000-01-01), the window step. This file also
 * says which steps a window holds at a given time, as a value
 * (cview_step_horizon) and as SQL for the merged view (cview_window_sql).
 *
 * The cache maps a view's batch table OID to its compiled definition, in a
 * context under TopMemoryContext. A relcache invalidation of the batch
 * table (or of every relation) drops the entry; its memory is retired
 * rather than freed, since a running statement or this transaction's
 * captured deltas may still point into it, and freed by the first look-up
 * of a later transaction.
 *
 * Locks: none of its own. Compiling opens the event table with
 * AccessShareLock for its row type; cview_get reads the catalog through
 * SPI.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/nbtree.h"
#include "access/table.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parse_clause.h"
#include "parser/parse_oper.h"
#include "parser/parser.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "cview_validate.h"
#include "keytrunc.h"
#include "quantile.h"
#include "sketch.h"

/* Compiled definitions of this backend, by batch table OID. */
typedef struct CviewCacheEntry
{
	Oid			batch_relid;
	ViewDef    *def;
} CviewCacheEntry;

static HTAB *cview_cache = NULL;
static MemoryContext cview_cxt = NULL;

/*
 * Definitions dropped from the cache (an invalidation) whose memory may still
 * be in use: by the statement that was running when the invalidation
 * arrived, or by this transaction's captured deltas, which are applied at
 * COMMIT. No ViewDef pointer outlives the top-level transaction that got
 * it (but those kept while cview_epoch() stands still, which a retirement
 * moves), so a retired definition is freed by the first cache call of a
 * later transaction.
 */
typedef struct RetiredDef
{
	MemoryContext cxt;
	LocalTransactionId lxid;	/* the transaction that retired it */
} RetiredDef;

static List *cview_retired = NIL;

/*
 * Counts the definitions dropped from the cache (cview_forget): a caller
 * that keeps ViewDef pointers across transactions (capture.c) keeps them
 * only while this count stands still, since a dropped definition is freed
 * in a later transaction.
 */
static uint64 cview_forgotten = 0;

/* ------------------------------------------------------------------------
 * Compiling
 * ------------------------------------------------------------------------
 */

/*
 * Parses and analyzes a stored definition (fully qualified SQL) under
 * search_path = pg_catalog, into the shape every major gives it: no RTE_GROUP
 * entry (compat.h). Virtual generated columns are replaced by their
 * expressions too, unless for_deparse: a definition that is deparsed and
 * stored again (RENAME COLUMN) must keep naming the columns.
 */
static Query *
cview_parse(const char *sql, bool for_deparse)
{
	int			nestlevel = NewGUCNestLevel();
	List	   *raw;
	Query	   *query;

	(void) set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		elog(ERROR, "continuous view definition holds %d statements", list_length(raw));
	query = parse_analyze_fixedparams(linitial_node(RawStmt, raw), sql, NULL, 0, NULL);
	query = compat_flatten_grouping(query);
	if (!for_deparse)
		query = compat_expand_virtual_columns(query);
	AtEOXact_GUC(true, nestlevel);
	return query;
}

/* A stored definition, analyzed for compiling (see cview_parse). */
Query *
cview_parse_definition(const char *sql)
{
	return cview_parse(sql, false);
}

/* A stored definition, analyzed to be deparsed and stored again. */
Query *
cview_parse_for_deparse(const char *sql)
{
	return cview_parse(sql, true);
}

/*
 * The aggregate call that computes a view's aggregate: the call itself, or
 * for count(DISTINCT x) lambda_catalog.count_distinct(x), for
 * percentile_cont(p) WITHIN GROUP (ORDER BY x) lambda_catalog.
 * percentile_sketch(x, p) (see sketch.c). Same result type.
 */
static Aggref *
cview_agg_impl(Aggref *aggref)
{
	Aggref	   *impl;

	if (cview_is_count_distinct(aggref))
	{
		TargetEntry *tle = copyObject(linitial(aggref->args));
		Oid			argtypes[1] = {ANYELEMENTOID};

		impl = copyObject(aggref);
		impl->aggfnoid = catalog_funcid("count_distinct", 1, argtypes);
		impl->aggargtypes = list_make1_oid(exprType((Node *) tle->expr));
		tle->ressortgroupref = 0;
		impl->args = list_make1(tle);
		impl->aggdistinct = NIL;
		impl->aggtranstype = INTERNALOID;
		return impl;
	}
	if (cview_is_percentile(aggref))
	{
		TargetEntry *x = copyObject(linitial(aggref->args));
		Oid			argtypes[2] = {FLOAT8OID, FLOAT8OID};
		Const	   *p = makeConst(FLOAT8OID, -1, InvalidOid, 8,
								  Float8GetDatum(cview_percentile_fraction(aggref)), false, true);

		impl = copyObject(aggref);
		impl->aggfnoid = catalog_funcid("percentile_sketch", 2, argtypes);
		impl->aggargtypes = list_make2_oid(FLOAT8OID, FLOAT8OID);
		x->ressortgroupref = 0;
		impl->args = list_make2(x, makeTargetEntry((Expr *) p, 2, NULL, false));
		impl->aggdirectargs = NIL;
		impl->aggorder = NIL;
		impl->aggkind = AGGKIND_NORMAL;
		impl->aggtranstype = INTERNALOID;
		return impl;
	}
	return aggref;
}

/* Whether btree equality of type/collation is image equality. */
static bool
cview_type_image_eq(Oid type, Oid collation)
{
	Oid			opclass = GetDefaultOpClass(type, BTREE_AM_OID);
	Oid			opfamily;
	Oid			opcintype;
	Oid			proc;

	if (!OidIsValid(opclass))
		return false;
	opfamily = get_opclass_family(opclass);
	opcintype = get_opclass_input_type(opclass);
	proc = get_opfamily_proc(opfamily, opcintype, opcintype, BTEQUALIMAGE_PROC);
	if (!OidIsValid(proc))
		return false;
	return DatumGetBool(OidFunctionCall1Coll(proc, collation, ObjectIdGetDatum(opcintype)));
}

/* An expression of the event table's row, planned and ready to evaluate. */
static ExprState *
cview_init_expr(Expr *expr)
{
	return ExecInitExpr(expression_planner(expr), NULL);
}

/*
 * The event table column that expr is, plainly (a Var of the row), or 0;
 * notes the last such column in def->maxcol. Capture reads these columns
 * straight from the deformed row instead of evaluating the expression.
 */
static AttrNumber
cview_plain_column(ViewDef *def, Expr *expr)
{
	Var		   *var;

	while (expr && IsA(expr, RelabelType))
		expr = ((RelabelType *) expr)->arg;
	if (expr == NULL || !IsA(expr, Var))
		return 0;
	var = (Var *) expr;
	if (var->varno != 1 || var->varlevelsup != 0 || var->varattno <= 0)
		return 0;
	def->maxcol = Max(def->maxcol, var->varattno);
	return var->varattno;
}

/*
 * A name for a batch column, unique among names[0..n), never starting with
 * "_lambda" (pg_lambda's own columns): an output column named so gives
 * "c_lambda...".
 */
static char *
cview_column_name(const char *want, char **names, int n)
{
	char	   *name;
	int			suffix = 1;
	int			i;

	if (strncmp(want, "_lambda", 7) == 0)
		want = psprintf("c%s", want);
	name = pstrdup(want);

	for (;;)
	{
		bool		clash = false;

		for (i = 0; i < n && !clash; i++)
			clash = (strcmp(names[i], name) == 0);
		if (!clash)
			return name;
		name = psprintf("%s_%d", want, ++suffix);
	}
}

/*
 * Adds the window step of a sliding window to a query as its last GROUP BY
 * key: date_bin(step, <time column>, origin), not in the select list.
 */
static void
cview_add_step_key(ViewDef *def, Query *query)
{
	char	   *timecol = catalog_event_table_time_column(def->event_relid);
	AttrNumber	attno;
	Oid			type;
	int32		typmod;
	Oid			coll;
	Expr	   *origin;
	FuncExpr   *bin;
	TargetEntry *tle;
	SortGroupClause *sgc;
	Oid			sortop;
	Oid			eqop;
	bool		hashable;

	if (timecol == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a sliding window needs the event time of \"%s\"", get_rel_name(def->event_relid)),
				 errdetail("The event table was created without a time column."),
				 errhint("Create the event table with lambda.create_event_table(..., time_column => ...), or group by a tumbling window instead.")));
	attno = get_attnum(def->event_relid, timecol);
	get_atttypetypmodcoll(def->event_relid, attno, &type, &typmod, &coll);
	if (type != TIMESTAMPTZOID && type != TIMESTAMPOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a sliding window needs an event time of type timestamptz or timestamp"),
				 errdetail("Time column \"%s\" of \"%s\" has type %s.", timecol,
						   get_rel_name(def->event_relid), format_type_be(type)),
				 errhint("Group by a tumbling window of the column instead.")));
	def->steptype = type;
	origin = (Expr *) makeConst(type, -1, InvalidOid, 8, CVIEW_STEP_ORIGIN_DATUM, false, true);
	bin = makeFuncExpr(type == TIMESTAMPTZOID ? F_DATE_BIN_INTERVAL_TIMESTAMPTZ_TIMESTAMPTZ :
					   F_DATE_BIN_INTERVAL_TIMESTAMP_TIMESTAMP, type,
					   list_make3(makeConst(INTERVALOID, -1, InvalidOid, sizeof(Interval),
											PointerGetDatum(&def->step), false, false),
								  makeVar(1, attno, type, typmod, InvalidOid, 0),
								  origin),
					   InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	tle = makeTargetEntry((Expr *) bin, list_length(query->targetList) + 1, NULL, true);
	query->targetList = lappend(query->targetList, tle);
	get_sort_group_operators(type, true, true, false, &sortop, &eqop, NULL, &hashable);
	sgc = makeNode(SortGroupClause);
	sgc->tleSortGroupRef = assignSortGroupRef(tle, query->targetList);
	sgc->eqop = eqop;
	sgc->sortop = sortop;
	sgc->hashable = hashable;
	query->groupClause = lappend(query->groupClause, sgc);
}

/*
 * "now" as a timestamp in time zone zone, into *local; false when that zone
 * cannot be read (a zone name the database does not know any more).
 */
static bool
cview_local_in_zone(const char *zone, TimestampTz now, Datum *local)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	if (zone == NULL)
		return false;
	PG_TRY();
	{
		*local = DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum(zone), TimestampTzGetDatum(now));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * The first window step that has not expired at "now", less extra_steps
 * steps: date_bin(step, now - window, origin) - extra_steps * step, as a
 * value of the step key's type.
 *
 * Over a timestamp event time "now" is a local time: the earliest of the
 * session's, the one in the TimeZone it started with (its reset value:
 * postgresql.conf, ALTER DATABASE/ROLE ... SET, the connection's options;
 * the database's for the scheduler), and the one in the zone the view was
 * created in (def->window_zone). So a REFRESH, a recompute or an insert in
 * a session set to, or started in, a zone east of the view's never drops
 * steps that readers in the view's zone still read; the scheduler expires
 * them later.
 */
Datum
cview_step_horizon(ViewDef *def, TimestampTz now, int extra_steps)
{
	Datum		t = TimestampTzGetDatum(now);
	Datum		origin = CVIEW_STEP_ORIGIN_DATUM;
	int			i;

	if (def->steptype == TIMESTAMPOID)
	{
		Datum		local;

		t = DirectFunctionCall1(timestamptz_timestamp, t);
		if (cview_local_in_zone(GetConfigOptionResetString("TimeZone"), now, &local) &&
			DatumGetTimestamp(local) < DatumGetTimestamp(t))
			t = local;
		if (cview_local_in_zone(def->window_zone, now, &local) &&
			DatumGetTimestamp(local) < DatumGetTimestamp(t))
			t = local;
		t = DirectFunctionCall2(timestamp_mi_interval, t, PointerGetDatum(&def->window));
		t = DirectFunctionCall3(timestamp_bin, PointerGetDatum(&def->step), t, origin);
		for (i = 0; i < extra_steps; i++)
			t = DirectFunctionCall2(timestamp_mi_interval, t, PointerGetDatum(&def->step));
	}
	else
	{
		t = DirectFunctionCall2(timestamptz_mi_interval, t, PointerGetDatum(&def->window));
		t = DirectFunctionCall3(timestamptz_bin, PointerGetDatum(&def->step), t, origin);
		for (i = 0; i < extra_steps; i++)
			t = DirectFunctionCall2(timestamptz_mi_interval, t, PointerGetDatum(&def->step));
	}
	return t;
}

/*
 * SQL that is true for the step keys (column col) inside the window at read
 * time: the steps from the one holding now() - window to the one holding
 * now().
 */
char *
cview_window_sql(ViewDef *def, const char *col)
{
	const char *step = DatumGetCString(DirectFunctionCall1(interval_out, PointerGetDatum(&def->step)));
	const char *window = DatumGetCString(DirectFunctionCall1(interval_out, PointerGetDatum(&def->window)));

	if (def->steptype == TIMESTAMPOID)
		return psprintf("%s >= pg_catalog.date_bin(%s::pg_catalog.interval, LOCALTIMESTAMP - %s::pg_catalog.interval,"
						" '2000-01-01 00:00:00'::pg_catalog.timestamp) AND %s <= LOCALTIMESTAMP",
						col, quote_literal_cstr(step), quote_literal_cstr(window), col);
	return psprintf("%s >= pg_catalog.date_bin(%s::pg_catalog.interval, pg_catalog.now() - %s::pg_catalog.interval,"
					" %s::pg_catalog.timestamptz) AND %s <= pg_catalog.now()",
					col, quote_literal_cstr(step), quote_literal_cstr(window),
					quote_literal_cstr(CVIEW_STEP_ORIGIN), col);
}

/*
 * Compiles a definition in a new context under parent. The batch table
 * column names are derived from the query: a key or aggregate that is a
 * whole output column takes its name.
 */
ViewDef *
cview_compile(Oid batch_relid, Oid view_relid, Oid event_relid, Oid speed_relid,
			  Query *query, const Interval *window, const Interval *step,
			  MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "pg_lambda view", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ViewDef    *def = palloc0(sizeof(ViewDef));
	List	   *aggrefs;
	ListCell   *lc;
	char	  **names;
	int			nnames = 0;
	int			i;
	Relation	rel;

	def->batch_relid = batch_relid;
	def->view_relid = view_relid;
	def->event_relid = event_relid;
	def->speed_relid = speed_relid;
	def->cxt = cxt;
	def->query = copyObject(query);
	query = def->query;
	if (window)
	{
		def->sliding = true;
		def->window = *window;
		def->step = *step;
		cview_add_step_key(def, query);
	}

	def->nkeys = list_length(query->groupClause);
	aggrefs = cview_query_aggrefs(query);
	def->naggs = list_length(aggrefs);
	names = palloc0(sizeof(char *) * (def->nkeys + def->naggs + 1));

	def->keytypes = palloc0(sizeof(Oid) * (def->nkeys + 1));
	def->keylens = palloc0(sizeof(int16) * (def->nkeys + 1));
	def->keybyvals = palloc0(sizeof(bool) * (def->nkeys + 1));
	def->keycolls = palloc0(sizeof(Oid) * (def->nkeys + 1));
	def->keynames = palloc0(sizeof(char *) * (def->nkeys + 1));
	def->keyexprs = palloc0(sizeof(ExprState *) * (def->nkeys + 1));
	def->keycols = palloc0(sizeof(AttrNumber) * (def->nkeys + 1));
	def->keys_image_eq = true;
	def->keys_fixed = true;
	i = 0;
	foreach(lc, query->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);
		Expr	   *planned;

		def->keytypes[i] = exprType((Node *) tle->expr);
		def->keycolls[i] = exprCollation((Node *) tle->expr);
		get_typlenbyval(def->keytypes[i], &def->keylens[i], &def->keybyvals[i]);
		if (!def->keybyvals[i] || def->keylens[i] <= 0)
			def->keys_fixed = false;
		if (!cview_type_image_eq(def->keytypes[i], def->keycolls[i]))
			def->keys_image_eq = false;
		if (def->sliding && i == list_length(query->groupClause) - 1)
			def->keynames[i] = pstrdup(CVIEW_STEP_COLUMN);
		else
			def->keynames[i] = cview_column_name(!tle->resjunk && tle->resname ? tle->resname :
												 psprintf("key_%d", i + 1), names, nnames);
		names[nnames++] = def->keynames[i];
		planned = expression_planner(tle->expr);
		def->keyexprs[i] = ExecInitExpr(planned, NULL);
		def->keycols[i] = cview_plain_column(def, tle->expr);
		if (def->keycols[i] == 0)
		{
			KeyTrunc   *kt = keytrunc_match(planned);

			if (kt != NULL)
			{
				if (def->keytrunc == NULL)
					def->keytrunc = palloc0(sizeof(KeyTrunc *) * (def->nkeys + 1));
				def->keytrunc[i] = kt;
				def->maxcol = Max(def->maxcol, kt->col);
			}
		}
		i++;
	}

	def->aggs = palloc0(sizeof(ViewAgg) * (def->naggs + 1));
	def->aggnames = palloc0(sizeof(char *) * (def->naggs + 1));
	i = 0;
	foreach(lc, aggrefs)
	{
		Aggref	   *aggref = lfirst(lc);
		ViewAgg    *va = &def->aggs[i];
		const char *want = NULL;
		ListCell   *lc2;
		int			j = 0;

		va->aggref = aggref;
		va->impl = cview_agg_impl(aggref);
		aggmeta_init(&va->meta, va->impl, cxt);
		va->nargs = list_length(va->impl->args);
		va->args = palloc0(sizeof(ExprState *) * (va->nargs + 1));
		va->argcols = palloc0(sizeof(AttrNumber) * (va->nargs + 1));
		foreach(lc2, va->impl->args)
		{
			Expr	   *arg = ((TargetEntry *) lfirst(lc2))->expr;

			va->argcols[j] = cview_plain_column(def, arg);
			va->args[j++] = cview_init_expr(arg);
		}
		if (aggref->aggfilter)
			va->filter = ExecInitQual(list_make1(expression_planner(aggref->aggfilter)), NULL);
		va->plain = va->filter == NULL && va->meta.fast != AGG_FAST_NONE &&
			(va->nargs == 0 || (va->nargs == 1 && va->argcols[0] > 0));

		foreach(lc2, query->targetList)
		{
			TargetEntry *tle = lfirst(lc2);

			if (!tle->resjunk && tle->resname && equal(tle->expr, aggref))
			{
				want = tle->resname;
				break;
			}
		}
		def->aggnames[i] = cview_column_name(want ? want : psprintf("agg_%d", i + 1), names, nnames);
		names[nnames++] = def->aggnames[i];
		i++;
	}

	if (query->jointree->quals)
		def->where = ExecInitQual(make_ands_implicit((Expr *) expression_planner((Expr *) query->jointree->quals)), NULL);

	rel = table_open(event_relid, AccessShareLock);
	def->slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(rel)), &TTSOpsVirtual);
	table_close(rel, AccessShareLock);
	def->econtext = CreateStandaloneExprContext();
	def->keybuf = makeStringInfo();

	MemoryContextSwitchTo(old);
	return def;
}

/* The most bytes one group's sketches take in the speed layer. */
Size
cview_sketch_bytes_per_key(ViewDef *def)
{
	Size		n = 0;
	int			i;

	for (i = 0; i < def->naggs; i++)
	{
		if (def->aggs[i].meta.kind == AGG_KIND_DISTINCT)
			n += sketch_distinct_max_bytes();
		else if (def->aggs[i].meta.kind == AGG_KIND_QUANTILE)
			n += sketch_quantile_max_bytes();
	}
	return n;
}

/* ------------------------------------------------------------------------
 * The cache
 * ------------------------------------------------------------------------
 */

/*
 * Relcache invalidation callback: forgets the definition of a batch table
 * that changed, or every definition (relid InvalidOid).
 */
static void
cview_invalidate(Datum arg pg_attribute_unused(), Oid relid)
{
	if (cview_cache == NULL)
		return;
	if (!OidIsValid(relid))
	{
		HASH_SEQ_STATUS seq;
		CviewCacheEntry *e;

		hash_seq_init(&seq, cview_cache);
		while ((e = hash_seq_search(&seq)) != NULL)
			cview_forget(e->batch_relid);
		return;
	}
	cview_forget(relid);
}

/*
 * Frees the retired definitions of earlier transactions (see RetiredDef).
 * Called from cache look-ups, so a long-lived worker frees them at its next
 * use of any view.
 */
static void
cview_free_retired(void)
{
	LocalTransactionId now = MyProc ? compat_proc_lxid(MyProc) : InvalidLocalTransactionId;
	List	   *keep = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (cview_retired == NIL)
		return;
	old = MemoryContextSwitchTo(cview_cxt);
	foreach(lc, cview_retired)
	{
		RetiredDef *r = lfirst(lc);

		if (r->lxid != now)
		{
			MemoryContextDelete(r->cxt);
			pfree(r);
		}
		else
			keep = lappend(keep, r);
	}
	list_free(cview_retired);
	cview_retired = keep;
	MemoryContextSwitchTo(old);
}

/*
 * Drops a cached definition (the batch table changed or is gone). Its
 * memory is retired, not freed: a running statement or this transaction's
 * deltas may still point into it.
 */
void
cview_forget(Oid batch_relid)
{
	CviewCacheEntry *e;
	RetiredDef *r;
	MemoryContext old;

	if (cview_cache == NULL)
		return;
	e = hash_search(cview_cache, &batch_relid, HASH_FIND, NULL);
	if (e == NULL)
		return;
	cview_forgotten++;
	old = MemoryContextSwitchTo(cview_cxt);
	r = palloc(sizeof(RetiredDef));
	r->cxt = e->def->cxt;
	r->lxid = MyProc ? compat_proc_lxid(MyProc) : InvalidLocalTransactionId;
	cview_retired = lappend(cview_retired, r);
	MemoryContextSwitchTo(old);
	(void) hash_search(cview_cache, &batch_relid, HASH_REMOVE, NULL);
}

/*
 * How many definitions were dropped from this backend's cache so far: a
 * ViewDef that cview_get returned stays valid, across transactions too,
 * while this number does not change.
 */
uint64
cview_epoch(void)
{
	return cview_forgotten;
}

/*
 * cview_get for pg_lambda's SQL-callable internals that take a batch table:
 * the definition, or an error for a relation that is not one.
 */
ViewDef *
cview_get_required(Oid batch_relid)
{
	ViewDef    *def = cview_get(batch_relid);

	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("relation \"%s\" is not the batch table of a continuous view",
						get_rel_name(batch_relid) ? get_rel_name(batch_relid) : psprintf("%u", batch_relid)),
				 errhint("Query the continuous view itself.")));
	return def;
}

/*
 * The compiled definition of the continuous view with batch table
 * batch_relid, from this backend's cache or the catalog; NULL when there is
 * no such view.
 */
ViewDef *
cview_get(Oid batch_relid)
{
	CviewCacheEntry *e;
	bool		found;
	CatalogView *row;
	Query	   *query;
	ViewDef    *def;

	if (cview_cache == NULL)
	{
		HASHCTL		ctl;

		cview_cxt = AllocSetContextCreate(TopMemoryContext, "pg_lambda views", ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CviewCacheEntry);
		ctl.hcxt = cview_cxt;
		cview_cache = hash_create("pg_lambda views", 32, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(cview_invalidate, (Datum) 0);
	}
	cview_free_retired();
	e = hash_search(cview_cache, &batch_relid, HASH_FIND, NULL);
	if (e)
		return e->def;

	row = catalog_view_get(batch_relid, TopTransactionContext);
	if (row == NULL)
		return NULL;

	query = cview_parse_definition(row->definition);
	def = cview_compile(batch_relid, row->view_relid, row->event_relid, row->speed_relid, query,
						row->window, row->step, cview_cxt);
	if (row->window_time_zone)
		def->window_zone = MemoryContextStrdup(def->cxt, row->window_time_zone);
	e = hash_search(cview_cache, &batch_relid, HASH_ENTER, &found);
	e->def = def;
	return def;
}
