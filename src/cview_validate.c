/*-------------------------------------------------------------------------
 *
 * cview_validate.c
 *	  What a continuous view accepts: the checks of a defining query.
 *
 * A continuous view is an aggregate query over one event table, kept as
 * partial aggregate states. When one is created, this file checks that its
 * defining query (analyzed, not rewritten) has a shape pg_lambda can
 * maintain: one event table (not a partition of one) in FROM, no joins,
 * subqueries, set operations, WITH, window or set-returning functions,
 * ORDER BY, LIMIT, DISTINCT, grouping sets or locking clauses; no volatile
 * function and nothing that reads the clock or the session; grouping keys
 * of types with a btree operator class and an array type; aggregates whose
 * states can be combined, serialized and checked when read back (image.c).
 * count(DISTINCT x) and percentile_cont(p) WITHIN GROUP (ORDER BY x) are
 * accepted too: cview.c compiles them as pg_lambda's own sketch aggregates
 * (sketch.c). Every refusal is an ERROR with a SQLSTATE, a message that
 * names the offending part, and a hint that says what to do instead.
 *
 * It also recognises those two aggregate calls and collects the aggregate
 * calls of a query, for cview.c, which compiles what this file accepted.
 *
 * Locks: none. It reads the system caches and event_table.c's answer to
 * "is this an event table?".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_am.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_agg.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "cview_validate.h"
#include "image.h"

/* Refuses a feature continuous views do not support, with a hint. */
static void
cview_refuse(const char *what, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("continuous views do not support %s", what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", hint)));
}

/*
 * Finds a volatile function (expression_tree_walker callback); its OID goes
 * to *context.
 */
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

/*
 * The distinct aggregate calls of a query's select list and HAVING: the
 * aggregates a view keeps states of, in the order of its batch columns.
 */
List *
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
bool
cview_is_count_distinct(Aggref *aggref)
{
	return aggref->aggfnoid == F_COUNT_ANY && aggref->aggdistinct != NIL &&
		list_length(aggref->args) == 1;
}

/* Whether an aggregate call is percentile_cont(p) WITHIN GROUP (ORDER BY x) on float8. */
bool
cview_is_percentile(Aggref *aggref)
{
	return aggref->aggfnoid == F_PERCENTILE_CONT_FLOAT8_FLOAT8 &&
		aggref->aggkind == AGGKIND_ORDERED_SET;
}

/* The fraction of a percentile_cont call: a constant in [0, 1]. */
double
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
	if (aggref->aggfnoid == F_PERCENTILE_CONT_FLOAT8_INTERVAL ||
		aggref->aggfnoid == F_PERCENTILE_CONT__FLOAT8_INTERVAL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views support percentile_cont only over double precision"),
				 errdetail("The sketch behind percentile_cont keeps numbers; an interval has no cast to double precision."),
				 errhint("Order by the interval's seconds, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM x)::double precision), "
						 "and turn the result back with make_interval(secs => ...) when you query the view.")));
	if (aggref->aggfnoid == F_PERCENTILE_CONT__FLOAT8_FLOAT8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views do not support percentile_cont of an array of fractions"),
				 errdetail("The sketch behind percentile_cont answers one fraction fixed when the view is created."),
				 errhint("Write one percentile_cont per fraction, e.g. percentile_cont(0.5) WITHIN GROUP (ORDER BY x), percentile_cont(0.9) WITHIN GROUP (ORDER BY x).")));
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
 * Whether an expression's value depends on the TimeZone setting: a call of
 * a stable function (or operator) that takes or gives a timestamptz or
 * timetz (date_trunc('hour', ts), ts::date, extract(hour FROM ts), ts +
 * interval '1 day'), but for date_trunc with its time zone given, or a
 * conversion between such a type and text.
 */
static bool
cview_depends_on_timezone(Node *node, void *context)
{
	Oid			fn = InvalidOid;
	List	   *args = NIL;
	Oid			restype = InvalidOid;
	ListCell   *lc;

	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr))
	{
		fn = ((FuncExpr *) node)->funcid;
		args = ((FuncExpr *) node)->args;
		restype = ((FuncExpr *) node)->funcresulttype;
	}
	else if (IsA(node, OpExpr))
	{
		set_opfuncid((OpExpr *) node);
		fn = ((OpExpr *) node)->opfuncid;
		args = ((OpExpr *) node)->args;
		restype = ((OpExpr *) node)->opresulttype;
	}
	else if (IsA(node, CoerceViaIO))
	{
		CoerceViaIO *c = (CoerceViaIO *) node;
		Oid			in = exprType((Node *) c->arg);

		if (in == TIMESTAMPTZOID || in == TIMETZOID ||
			c->resulttype == TIMESTAMPTZOID || c->resulttype == TIMETZOID)
			return true;
	}
	if (OidIsValid(fn) && fn != F_DATE_TRUNC_TEXT_TIMESTAMPTZ_TEXT &&
		func_volatile(fn) == PROVOLATILE_STABLE)
	{
		bool		zoned = (restype == TIMESTAMPTZOID || restype == TIMETZOID);

		foreach(lc, args)
		{
			Oid			t = exprType(lfirst(lc));

			zoned = zoned || t == TIMESTAMPTZOID || t == TIMETZOID;
		}
		if (zoned)
			return true;
	}
	return expression_tree_walker(node, cview_depends_on_timezone, context);
}

/*
 * Warns about grouping keys whose value depends on the TimeZone setting:
 * sessions in different time zones (and the scheduler, in the database's)
 * would put one event time in different groups.
 */
static void
cview_warn_timezone_keys(Query *query)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, query->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);

		n++;
		if (!cview_depends_on_timezone((Node *) tle->expr, NULL))
			continue;
		ereport(WARNING,
				(errmsg("grouping key \"%s\" of the continuous view depends on the TimeZone setting",
						tle->resname && !tle->resjunk ? tle->resname : psprintf("number %d", n)),
				 errdetail("Each event's group is computed in the TimeZone of the session that inserts it, "
						   "and a refresh's in that of the refreshing session (the scheduler's is the database's): "
						   "sessions in different time zones put one event time in different groups."),
				 errhint("Name the time zone in the key, e.g. date_trunc('hour', ts, 'UTC') or date_trunc('hour', ts AT TIME ZONE 'UTC'), "
						 "or use date_bin, which does not depend on it.")));
	}
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
	if (!catalog_event_table_is(rte->relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an event table", get_rel_name(rte->relid)),
				 errdetail("A continuous view is maintained from an append-only event table."),
				 errhint("%s", catalog_event_table_hint(rte->relid))));
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

	cview_warn_timezone_keys(query);
	*event_relid = rte->relid;
}
