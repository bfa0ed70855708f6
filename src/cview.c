/*-------------------------------------------------------------------------
 *
 * cview.c
 *	  Continuous-view analysis and the partial aggregation every layer shares.
 *
 * A continuous view is an aggregate query over one event table. This file
 * checks that a defining query has a shape pg_lambda can maintain, compiles
 * it (WHERE, GROUP BY keys, aggregate arguments and FILTERs into ExprStates;
 * each aggregate's transition, combine, serial/deserial and final functions
 * from pg_aggregate) and folds rows into partial states: a backend-local hash
 * from group key to transition states. The speed layer, the batch refresh
 * and the merged read all move the same two kinds of bytes around:
 *
 *   key image     per key column: 0 (NULL) or 1 followed by the value: the
 *                 typlen bytes of a fixed-length type, or a uint32 length and
 *                 the bytes of a (detoasted) varlena or cstring.
 *   states image  per aggregate: 0 (NULL state) or 1, a uint32 length and the
 *                 state's serialized form: the serial function's output for
 *                 "internal" states, the value's own bytes otherwise (whole
 *                 varlena, header included). The batch table holds the same
 *                 serialized form, one bytea per aggregate.
 *
 * Equal key images mean equal keys. The converse holds only for types whose
 * btree equality is image equality (keys_image_eq); otherwise one group may
 * appear under several images (numeric 1.0 and 1.00), which is harmless:
 * every final answer groups again with the type's own equality.
 *
 * count(DISTINCT x) and percentile_cont(p) WITHIN GROUP (ORDER BY x) run as
 * aggregates of pg_lambda's own (sketch.c); count_distinct has a second
 * transition function for the batch layer, which keeps every value.
 *
 * A sliding window adds a last GROUP BY key to the compiled query:
 * date_bin(step, <event time>, 2000-01-01), the window step. Events of steps
 * that have expired (with one step of slack) are not folded in at all.
 *
 * Aggregate support functions are called as nodeAgg calls them, with a
 * stand-in AggState as context so that AggCheckCallContext() finds the memory
 * context that owns the states.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_am.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parse_agg.h"
#include "parser/parse_clause.h"
#include "parser/parse_func.h"
#include "parser/parse_oper.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "event_table.h"
#include "sketch.h"

/* Compiled definitions of this backend, by batch table OID. */
typedef struct CviewCacheEntry
{
	Oid			batch_relid;
	ViewDef    *def;
} CviewCacheEntry;

static HTAB *cview_cache = NULL;
static Datum fetch_byval(const char *p, int16 typlen);
static MemoryContext cview_cxt = NULL;

/*
 * Definitions dropped from the cache (an invalidation) whose memory may still
 * be in use: by the statement that was running when the invalidation
 * arrived, or by this transaction's captured deltas, which are applied at
 * COMMIT. No ViewDef pointer outlives the top-level transaction that got
 * it, so a retired definition is freed by the first cache call of a later
 * transaction.
 */
typedef struct RetiredDef
{
	MemoryContext cxt;
	LocalTransactionId lxid;	/* the transaction that retired it */
} RetiredDef;

static List *cview_retired = NIL;

/* ------------------------------------------------------------------------
 * Analysis
 * ------------------------------------------------------------------------
 */

static void
cview_refuse(const char *what, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("continuous views do not support %s", what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", hint)));
}

static bool
cview_find_volatile(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) && func_volatile(((FuncExpr *) node)->funcid) == PROVOLATILE_VOLATILE)
	{
		*(Oid *) context = ((FuncExpr *) node)->funcid;
		return true;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, cview_find_volatile, context, 0);
	return expression_tree_walker(node, cview_find_volatile, context);
}

/*
 * Finds the current time or session (now(), CURRENT_DATE, CURRENT_USER,
 * ...): stable, but an event would count differently depending on when and
 * by whom it was inserted.
 */
static bool
cview_find_clock(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SQLValueFunction))
	{
		*(const char **) context = "CURRENT_DATE, CURRENT_TIMESTAMP, CURRENT_USER and similar";
		return true;
	}
	if (IsA(node, FuncExpr))
	{
		Oid			f = ((FuncExpr *) node)->funcid;

		if (f == F_NOW || f == F_STATEMENT_TIMESTAMP || f == F_TRANSACTION_TIMESTAMP)
		{
			*(const char **) context = "now() and the other current-time functions";
			return true;
		}
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, cview_find_clock, context, 0);
	return expression_tree_walker(node, cview_find_clock, context);
}

/* Collects the distinct Aggrefs of an expression tree. */
static bool
cview_collect_aggrefs(Node *node, List **aggs)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref))
	{
		ListCell   *lc;

		foreach(lc, *aggs)
		{
			if (equal(lfirst(lc), node))
				return false;
		}
		*aggs = lappend(*aggs, node);
		return false;			/* arguments hold no aggregates */
	}
	return expression_tree_walker(node, cview_collect_aggrefs, aggs);
}

static List *
cview_query_aggrefs(Query *query)
{
	List	   *aggs = NIL;
	ListCell   *lc;

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (!tle->resjunk)
			(void) cview_collect_aggrefs((Node *) tle->expr, &aggs);
	}
	(void) cview_collect_aggrefs(query->havingQual, &aggs);
	return aggs;
}

/* Whether an aggregate call is count(DISTINCT x). */
static bool
cview_is_count_distinct(Aggref *aggref)
{
	return aggref->aggfnoid == F_COUNT_ANY && aggref->aggdistinct != NIL &&
		list_length(aggref->args) == 1;
}

/* Whether an aggregate call is percentile_cont(p) WITHIN GROUP (ORDER BY x) on float8. */
static bool
cview_is_percentile(Aggref *aggref)
{
	return aggref->aggfnoid == F_PERCENTILE_CONT_FLOAT8_FLOAT8 &&
		aggref->aggkind == AGGKIND_ORDERED_SET;
}

/* The fraction of a percentile_cont call: a constant in [0, 1]. */
static double
cview_percentile_fraction(Aggref *aggref)
{
	Node	   *arg = eval_const_expressions(NULL, linitial(aggref->aggdirectargs));
	double		p;

	if (!IsA(arg, Const) || ((Const *) arg)->constisnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views need the fraction of percentile_cont to be a constant"),
				 errdetail("The sketch behind percentile_cont answers one fraction fixed when the view is created."),
				 errhint("Write the fraction as a number, e.g. percentile_cont(0.99) WITHIN GROUP (ORDER BY x).")));
	p = DatumGetFloat8(((Const *) arg)->constvalue);
	if (!(p >= 0 && p <= 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("percentile value %g is not between 0 and 1", p),
				 errhint("Use a fraction such as 0.5 for the median or 0.99.")));
	/* ORDER BY x DESC: the fraction counts from the top */
	if (aggref->aggorder != NIL)
	{
		SortGroupClause *sgc = linitial(aggref->aggorder);
		TypeCacheEntry *tce = lookup_type_cache(FLOAT8OID, TYPECACHE_LT_OPR);

		if (sgc->sortop != tce->lt_opr)
			p = 1.0 - p;
	}
	return p;
}

/* The OID of one of pg_lambda's own aggregates or functions in lambda_catalog. */
static Oid
cview_catalog_func(const char *name, int nargs, Oid *argtypes)
{
	Oid			fn = LookupFuncName(list_make2(makeString(LAMBDA_CATALOG_SCHEMA), makeString(pstrdup(name))),
									nargs, argtypes, true);

	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("function lambda_catalog.%s is missing", name),
				 errdetail("The pg_lambda library is newer than the extension's SQL objects in this database."),
				 errhint("Run ALTER EXTENSION pg_lambda UPDATE.")));
	return fn;
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
		impl->aggfnoid = cview_catalog_func("count_distinct", 1, argtypes);
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
		impl->aggfnoid = cview_catalog_func("percentile_sketch", 2, argtypes);
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

/* Checks one aggregate: a combine function, serialization, a plain call. */
static void
cview_validate_aggref(Aggref *aggref)
{
	HeapTuple	tup;
	Form_pg_aggregate agg;
	char	   *name = format_procedure(aggref->aggfnoid);

	if (cview_is_count_distinct(aggref))
	{
		Oid			type = exprType((Node *) ((TargetEntry *) linitial(aggref->args))->expr);
		TypeCacheEntry *tce = lookup_type_cache(type, TYPECACHE_EQ_OPR |
												TYPECACHE_HASH_EXTENDED_PROC);

		if (aggref->aggorder)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("continuous views do not support ORDER BY in aggregate %s", name),
					 errhint("Remove the ORDER BY from the aggregate call.")));
		if (!OidIsValid(tce->eq_opr) || !OidIsValid(tce->hash_extended_proc))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("continuous views cannot count distinct values of type %s", format_type_be(type)),
					 errdetail("count(DISTINCT x) in a continuous view hashes the values, and the type has no hash operator class."),
					 errhint("Count distinct values of a cast to a type that has one, e.g. x::text.")));
		image_type_check_supported(type, "distinct values");
		return;
	}
	if (aggref->aggkind == AGGKIND_ORDERED_SET && cview_is_percentile(aggref))
	{
		(void) cview_percentile_fraction(aggref);
		return;
	}
	if (aggref->aggdistinct)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views do not support DISTINCT in aggregate %s", name),
				 errdetail("A distinct aggregate cannot be computed from partial states; count(DISTINCT x) is the exception."),
				 errhint("Use count(DISTINCT x), or group by the column and aggregate when you query the view.")));
	if (aggref->aggkind != AGGKIND_NORMAL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views do not support ordered-set or hypothetical-set aggregate %s", name),
				 errdetail("Such aggregates have no combine function; percentile_cont(fraction) WITHIN GROUP (ORDER BY double precision) is the exception, through a sketch."),
				 errhint("Use percentile_cont(0.99) WITHIN GROUP (ORDER BY x::double precision), or an aggregate that has a combine function.")));
	if (aggref->aggorder)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views do not support ORDER BY in aggregate %s", name),
				 errdetail("The order of events across batches and the speed layer is not defined."),
				 errhint("Remove the ORDER BY from the aggregate call.")));
	if (aggref->agglevelsup != 0)
		cview_refuse("outer-level aggregates", NULL, "Remove the subquery.");

	tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for aggregate %u", aggref->aggfnoid);
	agg = (Form_pg_aggregate) GETSTRUCT(tup);
	if (!OidIsValid(agg->aggcombinefn))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s has no combine function", name),
				 errdetail("A continuous view merges partial states of its aggregates, which needs a combine function."),
				 errhint("Use an aggregate that has one, or add COMBINEFUNC to the aggregate's definition.")));
	if (agg->aggtranstype == INTERNALOID &&
		(!OidIsValid(agg->aggserialfn) || !OidIsValid(agg->aggdeserialfn)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s has no serialization functions", name),
				 errdetail("Its state has type internal, and a continuous view stores states in shared memory and tables."),
				 errhint("Use an aggregate that has SERIALFUNC and DESERIALFUNC.")));
	if (agg->aggtranstype != INTERNALOID)
	{
		Oid			inputTypes[FUNC_MAX_ARGS];
		int			nargs = get_aggregate_argtypes(aggref, inputTypes);

		/* states are read back from bytes: their type must allow checking them */
		image_type_check_supported(resolve_aggregate_transtype(aggref->aggfnoid, agg->aggtranstype,
															   inputTypes, nargs),
								   "aggregate states");
	}
	ReleaseSysCache(tup);
}

/*
 * Checks that a defining query (analyzed, not rewritten) is an aggregate
 * over one event table that pg_lambda can maintain; errors name the part
 * that is not. Returns the event table.
 */
void
cview_validate_query(Query *query, Oid *event_relid)
{
	RangeTblEntry *rte;
	Oid			volatile_fn = InvalidOid;
	List	   *aggs;
	ListCell   *lc;

	if (query->commandType != CMD_SELECT || query->utilityStmt)
		cview_refuse("this statement", NULL, "Define the view with a SELECT.");
	if (query->setOperations)
		cview_refuse("UNION, INTERSECT or EXCEPT", NULL, "Define one continuous view per event table and combine them when you query.");
	if (query->cteList)
		cview_refuse("WITH queries", NULL, "Write the query without WITH.");
	if (query->hasWindowFuncs)
		cview_refuse("window functions", "Window functions depend on rows outside each group.",
					 "Apply the window function when you query the view.");
	if (query->hasTargetSRFs)
		cview_refuse("set-returning functions", NULL, "Remove the set-returning function from the query.");
	if (query->hasSubLinks)
		cview_refuse("subqueries", NULL, "Remove the subquery; a continuous view reads only its event table.");
	if (query->sortClause)
		cview_refuse("ORDER BY", "A view has no order.", "Add ORDER BY when you query the view.");
	if (query->limitCount || query->limitOffset)
		cview_refuse("LIMIT or OFFSET", NULL, "Add LIMIT when you query the view.");
	if (query->distinctClause)
		cview_refuse("SELECT DISTINCT", NULL, "Remove DISTINCT; the groups of a continuous view are already distinct.");
	if (query->groupingSets)
		cview_refuse("GROUPING SETS, ROLLUP or CUBE", NULL, "Define one continuous view per grouping.");
	if (query->rowMarks || query->hasForUpdate)
		cview_refuse("FOR UPDATE or FOR SHARE", NULL, "Remove the locking clause.");

	if (list_length(query->jointree->fromlist) != 1 ||
		!IsA(linitial(query->jointree->fromlist), RangeTblRef) ||
		list_length(query->rtable) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views do not support joins or more than one relation in FROM"),
				 errdetail("A continuous view aggregates exactly one event table."),
				 errhint("Aggregate the event table alone, and join the view with other tables when you query it.")));
	rte = rt_fetch(1, query->rtable);
	if (rte->rtekind != RTE_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views must read an event table directly"),
				 errdetail("FROM holds a subquery, function or VALUES list."),
				 errhint("Name an event table in FROM (see lambda.create_event_table).")));
	if (rte->tablesample)
		cview_refuse("TABLESAMPLE", NULL, "Remove the TABLESAMPLE clause.");
	if (!event_table_is(rte->relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an event table", get_rel_name(rte->relid)),
				 errdetail("A continuous view is maintained from an append-only event table."),
				 errhint("Run SELECT lambda.create_event_table('%s', time_column => ...) first.",
						 get_rel_name(rte->relid))));
	if (get_rel_relispartition(rte->relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views cannot read partition \"%s\" alone", get_rel_name(rte->relid)),
				 errdetail("Events inserted through its partitioned table would not reach the view."),
				 errhint("Name the partitioned event table and filter with WHERE.")));

	if (!query->hasAggs)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a continuous view must compute at least one aggregate"),
				 errdetail("The query has no aggregate function."),
				 errhint("Add an aggregate such as count(*), or query the event table directly.")));

	if (cview_find_volatile((Node *) query, &volatile_fn))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views do not support volatile function %s", format_procedure(volatile_fn)),
				 errdetail("A volatile function can give a different answer for the same event each time it is evaluated."),
				 errhint("Use immutable expressions in WHERE, GROUP BY and aggregate arguments.")));

	{
		const char *clock = NULL;

		if (cview_find_clock((Node *) query, &clock))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("continuous views do not support %s", clock),
					 errdetail("An event would count differently depending on when or by whom it was inserted."),
					 errhint("Apply such conditions when you query the view.")));
	}

	aggs = cview_query_aggrefs(query);
	foreach(lc, aggs)
		cview_validate_aggref(lfirst(lc));
	if (aggs == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a continuous view must return at least one aggregate"),
				 errhint("Add an aggregate such as count(*) to the select list.")));

	/* grouping keys: an equality a unique index can enforce */
	foreach(lc, query->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);
		Oid			type = exprType((Node *) tle->expr);

		if (!OidIsValid(GetDefaultOpClass(type, BTREE_AM_OID)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("continuous views cannot group by type %s", format_type_be(type)),
					 errdetail("The batch layer keeps one row per group under a unique btree index."),
					 errhint("Group by an expression of a type with a btree operator class, e.g. a cast to text.")));
		if (!OidIsValid(get_array_type(type)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("continuous views cannot group by type %s", format_type_be(type)),
					 errdetail("The type has no array type."),
					 errhint("Group by a cast of the expression to a base type.")));
	}

	*event_relid = rte->relid;
}

/*
 * Parses and analyzes a stored definition (fully qualified SQL) under
 * search_path = pg_catalog, into the shape every major gives it: no RTE_GROUP
 * entry, virtual generated columns replaced by their expressions (compat.h).
 */
Query *
cview_parse_definition(const char *sql)
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
	query = compat_expand_virtual_columns(compat_flatten_grouping(query));
	AtEOXact_GUC(true, nestlevel);
	return query;
}

/* ------------------------------------------------------------------------
 * Aggregate machinery
 * ------------------------------------------------------------------------
 */

/*
 * Resolves an aggregate call's support functions, as ExecInitAgg does.
 */
void
aggmeta_init(AggMeta *m, Aggref *aggref, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HeapTuple	tup;
	Form_pg_aggregate agg;
	Oid			inputTypes[FUNC_MAX_ARGS];
	int			nargs;
	Expr	   *expr;
	Expr	   *expr2;
	Datum		initdatum;
	bool		initnull;

	memset(m, 0, sizeof(AggMeta));
	m->aggfnoid = aggref->aggfnoid;
	m->collation = aggref->inputcollid;
	m->resulttype = aggref->aggtype;

	tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for aggregate %u", aggref->aggfnoid);
	agg = (Form_pg_aggregate) GETSTRUCT(tup);

	nargs = get_aggregate_argtypes(aggref, inputTypes);
	m->ntransargs = nargs;
	m->transtype = resolve_aggregate_transtype(aggref->aggfnoid, agg->aggtranstype,
											   inputTypes, nargs);
	get_typlenbyval(m->transtype, &m->translen, &m->transbyval);
	m->internal = (m->transtype == INTERNALOID);

	build_aggregate_transfn_expr(inputTypes, nargs, 0, aggref->aggvariadic,
								 m->transtype, aggref->inputcollid,
								 agg->aggtransfn, InvalidOid, &expr, &expr2);
	fmgr_info_cxt(agg->aggtransfn, &m->transfn, cxt);
	fmgr_info_set_expr((Node *) expr, &m->transfn);
	m->transstrict = m->transfn.fn_strict;

	if (get_func_namespace(aggref->aggfnoid) == catalog_namespace())
	{
		char	   *fname = get_func_name(aggref->aggfnoid);

		if (strcmp(fname, "count_distinct") == 0)
		{
			Oid			argtypes[2] = {INTERNALOID, ANYELEMENTOID};
			Oid			exactfn = cview_catalog_func("distinct_add_exact", 2, argtypes);

			m->kind = AGG_KIND_DISTINCT;
			m->valuetype = inputTypes[0];
			m->hasexact = true;
			build_aggregate_transfn_expr(inputTypes, nargs, 0, false, m->transtype,
										 aggref->inputcollid, exactfn, InvalidOid, &expr, &expr2);
			fmgr_info_cxt(exactfn, &m->exacttransfn, cxt);
			fmgr_info_set_expr((Node *) expr, &m->exacttransfn);
		}
		else if (strcmp(fname, "percentile_sketch") == 0)
			m->kind = AGG_KIND_QUANTILE;
	}

	build_aggregate_transfn_expr(&m->transtype, 1, 0, false, m->transtype,
								 aggref->inputcollid, agg->aggcombinefn, InvalidOid,
								 &expr, NULL);
	fmgr_info_cxt(agg->aggcombinefn, &m->combinefn, cxt);
	fmgr_info_set_expr((Node *) expr, &m->combinefn);
	m->combinestrict = m->combinefn.fn_strict;

	/* (a type without binary I/O is refused by CREATE: cview_validate_aggref) */
	if (!m->internal)
		m->image = image_type_lookup(m->transtype);
	if (m->internal)
	{
		build_aggregate_serialfn_expr(agg->aggserialfn, &expr);
		fmgr_info_cxt(agg->aggserialfn, &m->serialfn, cxt);
		fmgr_info_set_expr((Node *) expr, &m->serialfn);
		build_aggregate_deserialfn_expr(agg->aggdeserialfn, &expr);
		fmgr_info_cxt(agg->aggdeserialfn, &m->deserialfn, cxt);
		fmgr_info_set_expr((Node *) expr, &m->deserialfn);
	}

	if (OidIsValid(agg->aggfinalfn))
	{
		m->hasfinal = true;
		m->nfinalargs = agg->aggfinalextra ? nargs + 1 : 1;
		build_aggregate_finalfn_expr(inputTypes, m->nfinalargs, m->transtype,
									 aggref->aggtype, aggref->inputcollid,
									 agg->aggfinalfn, &expr);
		fmgr_info_cxt(agg->aggfinalfn, &m->finalfn, cxt);
		fmgr_info_set_expr((Node *) expr, &m->finalfn);
		m->finalstrict = m->finalfn.fn_strict;
	}

	initdatum = SysCacheGetAttr(AGGFNOID, tup, Anum_pg_aggregate_agginitval, &initnull);
	m->initnull = initnull;
	if (!initnull)
	{
		Oid			typinput;
		Oid			typioparam;
		char	   *str = TextDatumGetCString(initdatum);

		getTypeInputInfo(m->transtype, &typinput, &typioparam);
		m->initval = OidInputFunctionCall(typinput, str, typioparam, -1);
	}
	ReleaseSysCache(tup);
	MemoryContextSwitchTo(old);
}

/* The stand-in AggState whose aggregate context is cxt. */
static AggState *
agg_context(MemoryContext cxt)
{
	static AggState *fake = NULL;

	if (fake == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		fake = makeNode(AggState);
		fake->curaggcontext = makeNode(ExprContext);
		MemoryContextSwitchTo(old);
	}
	fake->curaggcontext->ecxt_per_tuple_memory = cxt;
	return fake;
}

/*
 * Keeps a new transition value returned by a support function: copied into
 * cxt (freeing the old one) unless it is the old value or an internal state,
 * which the function allocated in the aggregate context itself.
 */
static void
agg_keep(AggMeta *m, Datum *val, bool *isnull, Datum newval, bool newnull, MemoryContext cxt)
{
	if (!m->transbyval && !m->internal && !newnull && newval != *val)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		newval = datumCopy(newval, false, m->translen);
		MemoryContextSwitchTo(old);
		if (!*isnull && DatumGetPointer(*val) != NULL)
			pfree(DatumGetPointer(*val));
	}
	*val = newval;
	*isnull = newnull;
}

/* Sets a state to the aggregate's initial value (a copy in cxt). */
void
aggmeta_initial(AggMeta *m, Datum *val, bool *isnull, MemoryContext cxt)
{
	*isnull = m->initnull;
	if (m->initnull)
		*val = (Datum) 0;
	else
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		*val = datumCopy(m->initval, m->transbyval, m->translen);
		MemoryContextSwitchTo(old);
	}
}

/*
 * Folds one row's arguments into a state, with nodeAgg's rules for strict
 * transition functions.
 */
static void
aggmeta_advance(AggMeta *m, FunctionCallInfo fcinfo, Datum *val, bool *isnull,
				MemoryContext cxt)
{
	Datum		newval;
	int			i;

	if (m->transstrict)
	{
		for (i = 1; i <= m->ntransargs; i++)
		{
			if (fcinfo->args[i].isnull)
				return;
		}
		if (*isnull)
		{
			/* the first non-null input becomes the state */
			MemoryContext old = MemoryContextSwitchTo(cxt);

			*val = datumCopy(fcinfo->args[1].value, m->transbyval, m->translen);
			*isnull = false;
			MemoryContextSwitchTo(old);
			return;
		}
	}
	fcinfo->args[0].value = *val;
	fcinfo->args[0].isnull = *isnull;
	fcinfo->context = (Node *) agg_context(cxt);
	fcinfo->isnull = false;
	newval = FunctionCallInvoke(fcinfo);
	agg_keep(m, val, isnull, newval, fcinfo->isnull, cxt);
}

/*
 * Combines state "in" into state *val (kept in cxt).
 */
void
aggmeta_combine(AggMeta *m, Datum *val, bool *isnull, Datum in, bool innull, MemoryContext cxt)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		newval;

	if (m->combinestrict)
	{
		if (innull)
			return;
		if (*isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			*val = datumCopy(in, m->transbyval, m->translen);
			*isnull = false;
			MemoryContextSwitchTo(old);
			return;
		}
	}
	InitFunctionCallInfoData(*fcinfo, &m->combinefn, 2, m->collation,
							 (Node *) agg_context(cxt), NULL);
	fcinfo->args[0].value = *val;
	fcinfo->args[0].isnull = *isnull;
	fcinfo->args[1].value = in;
	fcinfo->args[1].isnull = innull;
	newval = FunctionCallInvoke(fcinfo);
	agg_keep(m, val, isnull, newval, fcinfo->isnull, cxt);
}

/* A state's serialized form, as a bytea in the current context. */
bytea *
aggmeta_serialize(AggMeta *m, Datum val)
{
	bytea	   *out;

	if (m->internal)
	{
		LOCAL_FCINFO(fcinfo, 1);

		InitFunctionCallInfoData(*fcinfo, &m->serialfn, 1, InvalidOid,
								 (Node *) agg_context(CurrentMemoryContext), NULL);
		fcinfo->args[0].value = val;
		fcinfo->args[0].isnull = false;
		return DatumGetByteaPP(FunctionCallInvoke(fcinfo));
	}
	if (m->transbyval)
	{
		out = palloc(VARHDRSZ + m->translen);
		SET_VARSIZE(out, VARHDRSZ + m->translen);
		store_att_byval(VARDATA(out), val, m->translen);
		return out;
	}
	if (m->image->kind == IMAGE_SEND)
	{
		/* the type's binary form, behind a tag (see image.c) */
		bytea	   *b = image_send(m->image, val);
		Size		len = VARSIZE(b) - VARHDRSZ;

		out = palloc(VARHDRSZ + 1 + len);
		SET_VARSIZE(out, VARHDRSZ + 1 + len);
		*VARDATA(out) = IMAGE_SEND_TAG;
		memcpy(VARDATA(out) + 1, VARDATA(b), len);
		pfree(b);
		return out;
	}
	if (m->translen == -1)
	{
		struct varlena *v = pg_detoast_datum((struct varlena *) DatumGetPointer(val));
		Size		len = VARSIZE(v);

		out = palloc(VARHDRSZ + len);
		SET_VARSIZE(out, VARHDRSZ + len);
		memcpy(VARDATA(out), v, len);
		return out;
	}
	else
	{
		Size		len = datumGetSize(val, false, m->translen);

		out = palloc(VARHDRSZ + len);
		SET_VARSIZE(out, VARHDRSZ + len);
		memcpy(VARDATA(out), DatumGetPointer(val), len);
		return out;
	}
}

/*
 * Restores a state from its serialized form, in cxt. The bytes may come from
 * anyone who calls lambda_catalog.merge or combine_states, so they are
 * checked before any function of the aggregate sees them: internal states by
 * its deserialization function (count(DISTINCT) sets must also be of the
 * aggregate's value type and collation), other states by image.c's rules.
 */
Datum
aggmeta_deserialize(AggMeta *m, const char *data, int len, MemoryContext cxt)
{
	if (len < 0)
		elog(ERROR, "serialized state of %d bytes", len);
	if (m->internal)
	{
		LOCAL_FCINFO(fcinfo, 2);
		bytea	   *b;
		Datum		result;

		if (m->kind == AGG_KIND_DISTINCT)
			sketch_distinct_check_header(data, len, m->valuetype, m->collation);
		b = palloc(VARHDRSZ + len);

		SET_VARSIZE(b, VARHDRSZ + len);
		memcpy(VARDATA(b), data, len);
		InitFunctionCallInfoData(*fcinfo, &m->deserialfn, 2, InvalidOid,
								 (Node *) agg_context(cxt), NULL);
		fcinfo->args[0].value = PointerGetDatum(b);
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].value = (Datum) 0;
		fcinfo->args[1].isnull = false;
		result = FunctionCallInvoke(fcinfo);
		pfree(b);
		return result;
	}
	if (m->transbyval)
	{
		image_check_datum(m->image, data, len);
		return fetch_byval(data, m->translen);
	}
	if (m->image->kind == IMAGE_NONE)
		image_check_datum(m->image, data, len);	/* refuses */
	if (m->image->kind == IMAGE_SEND)
	{
		MemoryContext old;
		Datum		result;

		if (len < 1 || (uint8) data[0] != IMAGE_SEND_TAG)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("serialized state of type %s is not in binary form", format_type_be(m->transtype)),
					 errdetail("pg_lambda before 0.4.0 kept such states as raw bytes, which cannot be checked."),
					 errhint("Run lambda.recompute() on the continuous view.")));
		old = MemoryContextSwitchTo(cxt);
		result = image_recv(m->image, data + 1, len - 1);
		MemoryContextSwitchTo(old);
		return result;
	}
	else
	{
		/* checked in an aligned copy, which is what the functions will read */
		char	   *p = MemoryContextAlloc(cxt, len > 0 ? len : 1);

		memcpy(p, data, len);
		image_check_datum(m->image, p, len);
		return PointerGetDatum(p);
	}
}

/* The aggregate's result for a state. */
Datum
aggmeta_finalize(AggMeta *m, Datum val, bool isnull, bool *resnull)
{
	LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
	Datum		result;
	int			i;

	if (!m->hasfinal)
	{
		*resnull = isnull;
		return val;
	}
	if (m->finalstrict && isnull)
	{
		*resnull = true;
		return (Datum) 0;
	}
	InitFunctionCallInfoData(*fcinfo, &m->finalfn, m->nfinalargs, m->collation,
							 (Node *) agg_context(CurrentMemoryContext), NULL);
	fcinfo->args[0].value = val;
	fcinfo->args[0].isnull = isnull;
	for (i = 1; i < m->nfinalargs; i++)
	{
		fcinfo->args[i].value = (Datum) 0;
		fcinfo->args[i].isnull = true;
	}
	result = FunctionCallInvoke(fcinfo);
	*resnull = fcinfo->isnull;
	return result;
}

/* ------------------------------------------------------------------------
 * Definitions: compile and cache
 * ------------------------------------------------------------------------
 */

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

static ExprState *
cview_init_expr(Expr *expr)
{
	return ExecInitExpr(expression_planner(expr), NULL);
}

/* A name for a batch column, unique among names[0..n). */
static char *
cview_column_name(const char *want, char **names, int n)
{
	char	   *name = pstrdup(want);
	int			suffix = 1;
	int			i;

	for (;;)
	{
		bool		clash = (strncmp(name, "_lambda", 7) == 0);

		for (i = 0; i < n && !clash; i++)
			clash = (strcmp(names[i], name) == 0);
		if (!clash)
			return name;
		name = psprintf("%s_%d", want, ++suffix);
	}
}

/*
 * Compiles a definition in a new context under parent. The batch table
 * column names are derived from the query: a key or aggregate that is a
 * whole output column takes its name.
 */
/*
 * Adds the window step of a sliding window to a query as its last GROUP BY
 * key: date_bin(step, <time column>, origin), not in the select list.
 */
static void
cview_add_step_key(ViewDef *def, Query *query)
{
	char	   *timecol = event_table_time_column(def->event_relid);
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
 * The first window step that has not expired at "now", less extra_steps
 * steps: date_bin(step, now - window, origin) - extra_steps * step, as a
 * value of the step key's type.
 */
Datum
cview_step_horizon(ViewDef *def, TimestampTz now, int extra_steps)
{
	Datum		t = TimestampTzGetDatum(now);
	Datum		origin = CVIEW_STEP_ORIGIN_DATUM;
	int			i;

	if (def->steptype == TIMESTAMPOID)
	{
		t = DirectFunctionCall1(timestamptz_timestamp, t);
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
	def->keys_image_eq = true;
	i = 0;
	foreach(lc, query->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);

		def->keytypes[i] = exprType((Node *) tle->expr);
		def->keycolls[i] = exprCollation((Node *) tle->expr);
		get_typlenbyval(def->keytypes[i], &def->keylens[i], &def->keybyvals[i]);
		if (!cview_type_image_eq(def->keytypes[i], def->keycolls[i]))
			def->keys_image_eq = false;
		if (def->sliding && i == list_length(query->groupClause) - 1)
			def->keynames[i] = pstrdup(CVIEW_STEP_COLUMN);
		else
			def->keynames[i] = cview_column_name(!tle->resjunk && tle->resname ? tle->resname :
												 psprintf("key_%d", i + 1), names, nnames);
		names[nnames++] = def->keynames[i];
		def->keyexprs[i] = cview_init_expr(tle->expr);
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
		foreach(lc2, va->impl->args)
			va->args[j++] = cview_init_expr(((TargetEntry *) lfirst(lc2))->expr);
		if (aggref->aggfilter)
			va->filter = ExecInitQual(list_make1(expression_planner(aggref->aggfilter)), NULL);

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
	old = MemoryContextSwitchTo(cview_cxt);
	r = palloc(sizeof(RetiredDef));
	r->cxt = e->def->cxt;
	r->lxid = MyProc ? compat_proc_lxid(MyProc) : InvalidLocalTransactionId;
	cview_retired = lappend(cview_retired, r);
	MemoryContextSwitchTo(old);
	(void) hash_search(cview_cache, &batch_relid, HASH_REMOVE, NULL);
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
	CatalogScope scope;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	Oid			view_relid;
	Oid			event_relid;
	Oid			speed_relid;
	char	   *sql;
	Query	   *query;
	ViewDef    *def;
	bool		isnull;
	Datum		d;
	Interval   *window = NULL;
	Interval   *step = NULL;

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

	catalog_begin(&scope);
	args[0] = ObjectIdGetDatum(batch_relid);
	/* before ALTER EXTENSION pg_lambda UPDATE to 0.3.0 there are no windows */
	if (SPI_execute_with_args(get_attnum(catalog_relid("continuous_view"), "sliding_window") != InvalidAttrNumber ?
							  "SELECT view::oid, event_table::oid, speed_table::oid, definition,"
							  "       sliding_window, window_step"
							  "  FROM lambda_catalog.continuous_view WHERE batch_table = $1" :
							  "SELECT view::oid, event_table::oid, speed_table::oid, definition,"
							  "       NULL::interval, NULL::interval"
							  "  FROM lambda_catalog.continuous_view WHERE batch_table = $1",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.continuous_view");
	if (SPI_processed == 0)
	{
		catalog_end(&scope);
		return NULL;
	}
	view_relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	event_relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	speed_relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	sql = MemoryContextStrdup(TopTransactionContext,
							  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull);
	if (!isnull)
	{
		window = MemoryContextAlloc(TopTransactionContext, sizeof(Interval));
		*window = *DatumGetIntervalP(d);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull);
		step = MemoryContextAlloc(TopTransactionContext, sizeof(Interval));
		*step = *DatumGetIntervalP(d);
	}
	catalog_end(&scope);

	query = cview_parse_definition(sql);
	def = cview_compile(batch_relid, view_relid, event_relid, speed_relid, query,
						window, step, cview_cxt);
	e = hash_search(cview_cache, &batch_relid, HASH_ENTER, &found);
	e->def = def;
	return def;
}

/* The machinery of aggregate aggno (1-based) of the view with this batch table. */
AggMeta *
aggmeta_lookup(Oid batch_relid, int aggno)
{
	ViewDef    *def = cview_get(batch_relid);

	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("relation \"%s\" is not the batch table of a continuous view",
						get_rel_name(batch_relid) ? get_rel_name(batch_relid) : psprintf("%u", batch_relid)),
				 errhint("Query the continuous view itself.")));
	if (aggno < 1 || aggno > def->naggs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("continuous view \"%s\" has no aggregate %d", get_rel_name(def->view_relid), aggno),
				 errdetail("Its aggregates are numbered 1 to %d.", def->naggs),
				 errhint("Query the continuous view itself.")));
	return &def->aggs[aggno - 1].meta;
}

/* ------------------------------------------------------------------------
 * Key and state images
 * ------------------------------------------------------------------------
 */

/* A by-value datum of typlen bytes from (unaligned) memory. */
static Datum
fetch_byval(const char *p, int16 typlen)
{
	switch (typlen)
	{
		case 1:
			return CharGetDatum(*p);
		case 2:
			{
				int16		v;

				memcpy(&v, p, 2);
				return Int16GetDatum(v);
			}
		case 4:
			{
				int32		v;

				memcpy(&v, p, 4);
				return Int32GetDatum(v);
			}
		case 8:
			{
				int64		v;

				memcpy(&v, p, 8);
				return Int64GetDatum(v);
			}
	}
	elog(ERROR, "unsupported by-value length %d", typlen);
	return (Datum) 0;
}

static void
image_append_value(StringInfo buf, Datum value, int16 typlen, bool byval)
{
	if (typlen > 0)
	{
		if (byval)
		{
			char		tmp[sizeof(Datum)];

			store_att_byval(tmp, value, typlen);
			appendBinaryStringInfo(buf, tmp, typlen);
		}
		else
			appendBinaryStringInfo(buf, DatumGetPointer(value), typlen);
	}
	else
	{
		const char *p;
		uint32		len;

		if (typlen == -1)
		{
			struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

			p = VARDATA_ANY(v);
			len = VARSIZE_ANY_EXHDR(v);
		}
		else
		{
			p = DatumGetCString(value);
			len = strlen(p) + 1;
		}
		appendBinaryStringInfo(buf, (char *) &len, sizeof(uint32));
		appendBinaryStringInfo(buf, p, len);
	}
}

/* Appends the key image of one group's key values. */
void
key_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf)
{
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		appendStringInfoChar(buf, nulls[i] ? 0 : 1);
		if (!nulls[i])
			image_append_value(buf, values[i], def->keylens[i], def->keybyvals[i]);
	}
}

/*
 * Restores key values from a key image (in the current context). Key images
 * come from pg_lambda's own memory; the framing is checked all the same, so
 * that a wrong image is an error and never a read out of bounds.
 */
void
key_decode(ViewDef *def, const char *data, int len, Datum *values, bool *nulls)
{
	const char *p = data;
	const char *end = data + len;
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		int16		typlen = def->keylens[i];

		if (p >= end)
			image_corrupted("key image", psprintf("It ends before key %d of %d.", i + 1, def->nkeys));
		if (*p != 0 && *p != 1)
			image_corrupted("key image", psprintf("Key %d has NULL flag %d.", i + 1, *p));
		nulls[i] = (*p++ == 0);
		if (nulls[i])
		{
			values[i] = (Datum) 0;
			continue;
		}
		if (typlen > 0)
		{
			if (end - p < typlen)
				image_corrupted("key image", psprintf("Key %d runs past the end of the image.", i + 1));
			if (def->keybyvals[i])
				values[i] = fetch_byval(p, typlen);
			else
			{
				char	   *v = palloc(typlen);

				memcpy(v, p, typlen);
				values[i] = PointerGetDatum(v);
			}
			p += typlen;
		}
		else
		{
			uint32		l;

			if (end - p < (ptrdiff_t) sizeof(uint32))
				image_corrupted("key image", psprintf("The length of key %d runs past the end of the image.", i + 1));
			memcpy(&l, p, sizeof(uint32));
			p += sizeof(uint32);
			if ((Size) (end - p) < l || l > MaxAllocSize - VARHDRSZ || (typlen == -2 && (l == 0 || p[l - 1] != '\0')))
				image_corrupted("key image", psprintf("Key %d of %u bytes runs past the end of the image.", i + 1, l));
			if (typlen == -1)
			{
				struct varlena *v = palloc(VARHDRSZ + l);

				SET_VARSIZE(v, VARHDRSZ + l);
				memcpy(VARDATA(v), p, l);
				values[i] = PointerGetDatum(v);
			}
			else
			{
				char	   *v = palloc(l);

				memcpy(v, p, l);
				values[i] = CStringGetDatum(v);
			}
			p += l;
		}
	}
	if (p != end)
		image_corrupted("key image", psprintf("It has %d bytes after its %d keys.", (int) (end - p), def->nkeys));
}

uint32
key_hash(const char *data, int len)
{
	return DatumGetUInt32(hash_any((const unsigned char *) data, len));
}

/* Appends the states image of one group's states. */
void
states_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf)
{
	int			i;

	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;

		appendStringInfoChar(buf, nulls[i] ? 0 : 1);
		if (!nulls[i] && m->transbyval && !m->internal)
		{
			/* the common case (count, sum of int4, ...), without a bytea */
			uint32		l = m->translen;
			char		tmp[sizeof(Datum)];

			store_att_byval(tmp, values[i], m->translen);
			appendBinaryStringInfo(buf, (char *) &l, sizeof(uint32));
			appendBinaryStringInfo(buf, tmp, l);
		}
		else if (!nulls[i])
		{
			bytea	   *b = aggmeta_serialize(m, values[i]);
			uint32		l = VARSIZE_ANY_EXHDR(b);

			appendBinaryStringInfo(buf, (char *) &l, sizeof(uint32));
			appendBinaryStringInfo(buf, VARDATA_ANY(b), l);
			pfree(b);
		}
	}
}

/*
 * Splits a states image into each aggregate's serialized state (len -1 for
 * a NULL state). Returns the number of aggregates.
 */
int
states_split(ViewDef *def, const char *data, int len, const char **parts, int *lens)
{
	const char *p = data;
	const char *end = data + len;
	int			i;

	for (i = 0; i < def->naggs; i++)
	{
		uint32		l;

		if (p >= end)
			image_corrupted("states image", psprintf("It ends before state %d of %d.", i + 1, def->naggs));
		if (*p != 0 && *p != 1)
			image_corrupted("states image", psprintf("State %d has NULL flag %d.", i + 1, *p));
		if (*p++ == 0)
		{
			parts[i] = NULL;
			lens[i] = -1;
			continue;
		}
		if (end - p < (ptrdiff_t) sizeof(uint32))
			image_corrupted("states image", psprintf("The length of state %d runs past the end of the image.", i + 1));
		memcpy(&l, p, sizeof(uint32));
		p += sizeof(uint32);
		if ((Size) (end - p) < l)
			image_corrupted("states image", psprintf("State %d of %u bytes runs past the end of the image.", i + 1, l));
		lens[i] = (int) l;
		parts[i] = p;
		p += l;
	}
	if (p != end)
		image_corrupted("states image", psprintf("It has %d bytes after its %d states.", (int) (end - p), def->naggs));
	return def->naggs;
}

/* Restores states from a states image, in cxt. */
void
states_decode(ViewDef *def, const char *data, int len, Datum *values, bool *nulls,
			  MemoryContext cxt)
{
	const char **parts = palloc(sizeof(char *) * def->naggs);
	int		   *lens = palloc(sizeof(int) * def->naggs);
	int			i;

	states_split(def, data, len, parts, lens);
	for (i = 0; i < def->naggs; i++)
	{
		nulls[i] = (parts[i] == NULL);
		values[i] = nulls[i] ? (Datum) 0 :
			aggmeta_deserialize(&def->aggs[i].meta, parts[i], lens[i], cxt);
	}
	pfree(parts);
	pfree(lens);
}

/*
 * Appends to out the states image combining states images a and b; works
 * in the current memory context.
 */
void
states_combine_images(ViewDef *def, const char *a, int alen, const char *b, int blen,
					  StringInfo out)
{
	int			n = def->naggs;
	const char **pa = palloc(sizeof(char *) * (n + 1));
	const char **pb = palloc(sizeof(char *) * (n + 1));
	int		   *la = palloc(sizeof(int) * (n + 1));
	int		   *lb = palloc(sizeof(int) * (n + 1));
	Datum	   *vals = palloc(sizeof(Datum) * (n + 1));
	bool	   *nulls = palloc(sizeof(bool) * (n + 1));
	int			i;

	states_split(def, a, alen, pa, la);
	states_split(def, b, blen, pb, lb);
	for (i = 0; i < n; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;

		nulls[i] = (pa[i] == NULL);
		vals[i] = nulls[i] ? (Datum) 0 : aggmeta_deserialize(m, pa[i], la[i], CurrentMemoryContext);
		if (pb[i] != NULL)
			aggmeta_combine(m, &vals[i], &nulls[i],
							aggmeta_deserialize(m, pb[i], lb[i], CurrentMemoryContext),
							false, CurrentMemoryContext);
	}
	states_image(def, vals, nulls, out);
}

/* ------------------------------------------------------------------------
 * Partial aggregation
 * ------------------------------------------------------------------------
 */

static uint32
partial_hashfn(const void *key, Size keysize pg_attribute_unused())
{
	return ((const KeyRef *) key)->hash;
}

static int
partial_matchfn(const void *a, const void *b, Size keysize pg_attribute_unused())
{
	const KeyRef *ka = a;
	const KeyRef *kb = b;

	if (ka->hash != kb->hash || ka->len != kb->len)
		return 1;
	return memcmp(ka->data, kb->data, ka->len);
}

/* A new, empty partial aggregation for def, in a context under parent. */
PartialHash *
partial_create(ViewDef *def, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "pg_lambda partial states", ALLOCSET_DEFAULT_SIZES);
	PartialHash *ph = MemoryContextAllocZero(cxt, sizeof(PartialHash));
	HASHCTL		ctl;

	ph->def = def;
	ph->cxt = cxt;
	if (def->sliding)
		ph->horizon = cview_step_horizon(def, GetCurrentTransactionStartTimestamp(), 1);
	ctl.keysize = sizeof(KeyRef);
	ctl.entrysize = sizeof(PartialEntry);
	ctl.hash = partial_hashfn;
	ctl.match = partial_matchfn;
	ctl.hcxt = cxt;
	ph->htab = hash_create("pg_lambda partial states", 256, &ctl,
						   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	return ph;
}

/* The entry for a key image, created with initial states if new. */
PartialEntry *
partial_lookup(PartialHash *ph, const char *key, int keylen, bool *found)
{
	KeyRef		ref;
	PartialEntry *e;

	ref.hash = key_hash(key, keylen);
	ref.len = keylen;
	ref.data = (char *) key;
	e = hash_search(ph->htab, &ref, HASH_ENTER, found);
	if (!*found)
	{
		int			i;
		ViewDef    *def = ph->def;

		e->key.data = MemoryContextAlloc(ph->cxt, keylen > 0 ? keylen : 1);
		memcpy(e->key.data, key, keylen);
		e->values = MemoryContextAlloc(ph->cxt, sizeof(Datum) * (def->naggs + 1));
		e->nulls = MemoryContextAlloc(ph->cxt, sizeof(bool) * (def->naggs + 1));
		for (i = 0; i < def->naggs; i++)
			aggmeta_initial(&def->aggs[i].meta, &e->values[i], &e->nulls[i], ph->cxt);
	}
	return e;
}

/*
 * Folds one event (a slot of the event table's row type) into the partial
 * states: WHERE, then the group's key, then each aggregate's FILTER and
 * transition.
 */
void
partial_add_slot(PartialHash *ph, TupleTableSlot *slot)
{
	partial_add_slot_key(ph, slot, NULL, 0);
}

/*
 * partial_add_slot, folding the event only when its group's key image is
 * "only" (when given): a single-key lookup skips the other groups' work.
 */
void
partial_add_slot_key(PartialHash *ph, TupleTableSlot *slot, const char *only, int onlylen)
{
	ViewDef    *def = ph->def;
	ExprContext *econtext = def->econtext;
	MemoryContext old;
	Datum		keyvals[INDEX_MAX_KEYS * 4];
	bool		keynulls[INDEX_MAX_KEYS * 4];
	StringInfo	buf = def->keybuf;
	PartialEntry *e;
	bool		found;
	int			i;

	ResetExprContext(econtext);
	econtext->ecxt_scantuple = slot;
	if (def->where && !ExecQual(def->where, econtext))
		return;

	old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	for (i = 0; i < def->nkeys; i++)
		keyvals[i] = ExecEvalExpr(def->keyexprs[i], econtext, &keynulls[i]);
	if (def->sliding)
	{
		int			k = def->nkeys - 1;

		/* an event of a step that has expired can never be in the window */
		if (keynulls[k] || DatumGetTimestamp(keyvals[k]) < DatumGetTimestamp(ph->horizon))
		{
			MemoryContextSwitchTo(old);
			return;
		}
	}
	resetStringInfo(buf);
	key_image(def, keyvals, keynulls, buf);
	if (only && (buf->len != onlylen || memcmp(buf->data, only, onlylen) != 0))
	{
		MemoryContextSwitchTo(old);
		return;
	}
	e = partial_lookup(ph, buf->data, buf->len, &found);

	for (i = 0; i < def->naggs; i++)
	{
		ViewAgg    *va = &def->aggs[i];
		LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
		int			j;

		if (va->filter && !ExecQual(va->filter, econtext))
			continue;
		InitFunctionCallInfoData(*fcinfo,
								 ph->exact && va->meta.hasexact ? &va->meta.exacttransfn : &va->meta.transfn,
								 va->meta.ntransargs + 1, va->meta.collation, NULL, NULL);
		for (j = 0; j < va->nargs; j++)
			fcinfo->args[j + 1].value = ExecEvalExpr(va->args[j], econtext, &fcinfo->args[j + 1].isnull);
		aggmeta_advance(&va->meta, fcinfo, &e->values[i], &e->nulls[i], ph->cxt);
	}
	MemoryContextSwitchTo(old);
	ph->rows++;
}

/* Combines a (key image, states image) pair into the partial states. */
void
partial_combine_image(PartialHash *ph, const char *key, int keylen,
					  const char *states, int stateslen)
{
	ViewDef    *def = ph->def;
	PartialEntry *e;
	bool		found;
	const char **parts = palloc(sizeof(char *) * (def->naggs + 1));
	int		   *lens = palloc(sizeof(int) * (def->naggs + 1));
	int			i;

	e = partial_lookup(ph, key, keylen, &found);
	states_split(def, states, stateslen, parts, lens);
	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;
		Datum		in;

		if (parts[i] == NULL)
			continue;
		in = aggmeta_deserialize(m, parts[i], lens[i], ph->cxt);
		aggmeta_combine(m, &e->values[i], &e->nulls[i], in, false, ph->cxt);
	}
	pfree(parts);
	pfree(lens);
}

/* Combines every group of "from" into "into". */
void
partial_merge(PartialHash *into, PartialHash *from)
{
	HASH_SEQ_STATUS seq;
	PartialEntry *fe;
	ViewDef    *def = into->def;

	hash_seq_init(&seq, from->htab);
	while ((fe = hash_seq_search(&seq)) != NULL)
	{
		bool		found;
		PartialEntry *e = partial_lookup(into, fe->key.data, fe->key.len, &found);
		int			i;

		for (i = 0; i < def->naggs; i++)
			aggmeta_combine(&def->aggs[i].meta, &e->values[i], &e->nulls[i],
							fe->values[i], fe->nulls[i], into->cxt);
	}
	into->rows += from->rows;
}

/*
 * Prepares partial states for the batch table: distinct states become the
 * batch layer's (they keep every value from now on). False when one of them
 * is already a sketch, so that folding it in would make its group
 * approximate: the caller reads the events instead.
 */
bool
partial_for_batch(PartialHash *ph)
{
	ViewDef    *def = ph->def;
	HASH_SEQ_STATUS seq;
	PartialEntry *e;
	bool		exact = true;
	int			i;

	hash_seq_init(&seq, ph->htab);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		for (i = 0; i < def->naggs; i++)
		{
			if (def->aggs[i].meta.kind != AGG_KIND_DISTINCT || e->nulls[i])
				continue;
			if (!sketch_distinct_is_exact(e->values[i]))
				exact = false;
			sketch_distinct_uncap(e->values[i]);
		}
	}
	return exact;
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

long
partial_count(PartialHash *ph)
{
	return hash_get_num_entries(ph->htab);
}

void
partial_destroy(PartialHash *ph)
{
	MemoryContextDelete(ph->cxt);
}
