/*-------------------------------------------------------------------------
 *
 * cview_rollup.c
 *	  Rollups of rollups: a continuous view defined over another continuous
 *	  view, composed into the equivalent definition over the event table.
 *
 * CREATE MATERIALIZED VIEW daily WITH (lambda.continuous) AS
 *   SELECT url, date_trunc('day', hour) AS day, sum(views) AS views,
 *          max(top) AS top FROM hourly GROUP BY 1, 2
 *
 * where hourly is itself a continuous view, is the same as the query over
 * hourly's event table with hourly's expressions put in for its columns:
 * hourly's keys in place of its key columns, and in place of each
 * re-aggregation of an aggregate column the aggregate it re-aggregates, run
 * over the events themselves (sum of count(x) is count(x), sum of sum(x) is
 * sum(x), min of min(x) is min(x), max of max(x) is max(x)), cast to the
 * type the re-aggregation returns; and hourly's WHERE added to daily's.
 * count(DISTINCT), min, max and the other aggregates over key columns stay
 * as they are: a group of the lower view exists exactly when events with
 * its key do. So the upper view is maintained like any other (from the
 * events, by its own capture), it equals its defining query over the lower
 * view's answers row for row at every moment, whatever refreshes or
 * recomputes of either view happen, and it depends on the lower view as a
 * view on a view does (DROP of the lower one is refused, CASCADE drops
 * both).
 *
 * What does not compose is refused with the reason: a lower view with HAVING
 * or a sliding window (its rows come and go by more than its events), an
 * aggregate over an aggregate column other than the four above (an average
 * of averages is not an average of the events), count(*) of the lower rows,
 * and WHERE or GROUP BY on aggregate columns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_aggregate.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_coerce.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "cview_rollup.h"

typedef struct RollupContext
{
	Query	   *lower;			/* the lower view's definition */
	List	   *lower_cols;		/* its output expressions, by column */
	const char *lower_name;
	const char *upper_name;
} RollupContext;

/* Refuses a rollup, naming the lower view. */
static void
rollup_refuse(RollupContext *cxt, const char *what, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("continuous view over continuous view \"%s\" cannot use %s", cxt->lower_name, what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", hint)));
}

/* The name of aggregate function aggfnoid, without schema. */
static const char *
rollup_agg_name(Oid aggfnoid)
{
	char	   *name = get_func_name(aggfnoid);

	return name ? name : "?";
}

/*
 * The lower expression in place of upper aggregate agg over aggregate
 * column col (lower expression lower_expr), or refuses.
 */
static Node *
rollup_reaggregate(RollupContext *cxt, Aggref *agg, Expr *lower_expr)
{
	const char *upper = rollup_agg_name(agg->aggfnoid);
	Aggref	   *inner;
	const char *lower;
	bool		ok = false;
	Node	   *result;

	/* a rollup's own column: an integer aggregate cast to numeric */
	if (IsA(lower_expr, FuncExpr) && list_length(((FuncExpr *) lower_expr)->args) == 1 &&
		(((FuncExpr *) lower_expr)->funcformat == COERCE_IMPLICIT_CAST ||
		 ((FuncExpr *) lower_expr)->funcformat == COERCE_EXPLICIT_CAST) &&
		((FuncExpr *) lower_expr)->funcresulttype == NUMERICOID &&
		IsA(linitial(((FuncExpr *) lower_expr)->args), Aggref))
	{
		Oid			from = ((Aggref *) linitial(((FuncExpr *) lower_expr)->args))->aggtype;

		if (from == INT2OID || from == INT4OID || from == INT8OID)
			lower_expr = linitial(((FuncExpr *) lower_expr)->args);
	}
	if (!IsA(lower_expr, Aggref))
		rollup_refuse(cxt, psprintf("%s() over a column computed from aggregates", upper),
					  "Only a column that is one aggregate can be aggregated again.",
					  "Aggregate the lower view's aggregate columns themselves.");
	inner = (Aggref *) lower_expr;
	lower = rollup_agg_name(inner->aggfnoid);
	if (inner->aggdistinct)
		lower = psprintf("%s(DISTINCT ...", lower);
	if (agg->aggdistinct || agg->aggorder || agg->aggfilter)
		rollup_refuse(cxt, psprintf("DISTINCT, ORDER BY or FILTER in %s() over aggregate column", upper),
					  NULL, "Filter with WHERE on the lower view's key columns.");
	if (get_func_namespace(agg->aggfnoid) == PG_CATALOG_NAMESPACE &&
		get_func_namespace(inner->aggfnoid) == PG_CATALOG_NAMESPACE &&
		!inner->aggdistinct && inner->aggorder == NIL && inner->aggkind == AGGKIND_NORMAL)
	{
		if (strcmp(upper, "sum") == 0)
			ok = strcmp(lower, "count") == 0 || strcmp(lower, "sum") == 0;
		else if (strcmp(upper, "min") == 0 || strcmp(upper, "max") == 0)
			ok = strcmp(lower, upper) == 0;
	}
	if (!ok)
		rollup_refuse(cxt, psprintf("%s() of %s%s", upper, lower, inner->aggdistinct ? ")" : "()"),
					  psprintf("%s() of the lower view's %s%s is not an aggregate of its events.", upper, lower,
							   inner->aggdistinct ? ")" : "()"),
					  "Use sum() of count() or sum(), min() of min(), or max() of max(); or define the view over the event table.");
	result = (Node *) copyObject(inner);
	if (inner->aggtype != agg->aggtype)
		result = coerce_to_target_type(NULL, result, inner->aggtype, agg->aggtype, -1,
									   COERCION_EXPLICIT, COERCE_IMPLICIT_CAST, -1);
	if (result == NULL)
		elog(ERROR, "cannot cast %s to %s", format_type_be(inner->aggtype), format_type_be(agg->aggtype));
	return result;
}

/* Whether lower column attno (1-based) is one of the lower view's keys. */
static bool
rollup_is_key(RollupContext *cxt, AttrNumber attno)
{
	TargetEntry *tle = list_nth(cxt->lower_cols, attno - 1);

	return tle->ressortgroupref != 0 &&
		get_sortgroupref_clause_noerr(tle->ressortgroupref, cxt->lower->groupClause) != NULL;
}

/*
 * Puts the lower view's expressions in for the upper query's references to
 * its columns (see the file header).
 */
static Node *
rollup_mutator(Node *node, RollupContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == 0)
	{
		Var		   *var = (Var *) node;
		TargetEntry *tle;

		if (var->varattno <= 0 || var->varattno > list_length(cxt->lower_cols))
			rollup_refuse(cxt, "system columns or the whole row", NULL, "Name the lower view's columns.");
		tle = list_nth(cxt->lower_cols, var->varattno - 1);
		if (!rollup_is_key(cxt, var->varattno))
			rollup_refuse(cxt, psprintf("aggregate column \"%s\" outside an aggregate", tle->resname),
						  "Its value is not fixed by the events of one row of the upper view.",
						  "Group and filter by the lower view's key columns; aggregate its aggregate columns with sum(), min() or max().");
		return (Node *) copyObject(tle->expr);
	}
	if (IsA(node, Aggref))
	{
		Aggref	   *agg = (Aggref *) node;

		if (agg->aggstar)
			rollup_refuse(cxt, "count(*) of its rows",
						  "The number of the lower view's rows is not a number of events.",
						  "Use sum() of the lower view's count column, or count(DISTINCT key).");
		/* an aggregate of one aggregate column */
		if (list_length(agg->args) == 1)
		{
			TargetEntry *arg = linitial(agg->args);

			if (IsA(arg->expr, Var) && ((Var *) arg->expr)->varlevelsup == 0)
			{
				Var		   *var = (Var *) arg->expr;

				if (var->varattno > 0 && var->varattno <= list_length(cxt->lower_cols) &&
					!rollup_is_key(cxt, var->varattno))
					return rollup_reaggregate(cxt, agg,
											  ((TargetEntry *) list_nth(cxt->lower_cols, var->varattno - 1))->expr);
			}
		}
		/*
		 * Any other aggregate reads key columns only, and must not count
		 * duplicates: a lower row stands for any number of events.
		 */
		if (!agg->aggdistinct)
		{
			const char *name = rollup_agg_name(agg->aggfnoid);
			static const char *const once[] = {"min", "max", "bool_and", "bool_or", "every", "bit_and", "bit_or"};
			bool		ok = false;
			size_t		i;

			if (get_func_namespace(agg->aggfnoid) == PG_CATALOG_NAMESPACE)
				for (i = 0; i < lengthof(once); i++)
					ok |= strcmp(name, once[i]) == 0;
			if (!ok)
				rollup_refuse(cxt, psprintf("%s() over key columns", name),
							  "Each row of the lower view stands for any number of events.",
							  psprintf("Use %s(DISTINCT ...), min(), max(), bool_and() or bool_or() over key columns.", name));
		}
		return expression_tree_mutator(node, rollup_mutator, cxt);
	}
	return expression_tree_mutator(node, rollup_mutator, cxt);
}

/*
 * The definition of continuous view upper (query, over continuous view
 * lower_relid alone) as a query over lower's event table; see the file
 * header. Checks that the current user may read the lower view.
 */
Query *
cview_rollup_compose(Query *query, Oid lower_relid, Oid lower_batch, const char *upper_name)
{
	CatalogView *row = catalog_view_get(lower_batch, CurrentMemoryContext);
	RollupContext cxt;
	Query	   *result;
	ListCell   *lc;
	Node	   *quals;

	cxt.lower_name = get_rel_name(lower_relid);
	cxt.upper_name = upper_name;
	if (pg_class_aclcheck(lower_relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for view %s", cxt.lower_name),
				 errhint("A continuous view over another needs SELECT on it.")));
	if (row->window)
		rollup_refuse(&cxt, "a lower view with a sliding window",
					  "Its groups leave the window as time passes, not as events change.",
					  "Define the view over the event table with its own lambda.sliding_window.");
	cxt.lower = cview_parse_definition(row->definition);
	if (cxt.lower->havingQual)
		rollup_refuse(&cxt, "a lower view with HAVING",
					  "Its rows come and go by their aggregates' values, not by their events.",
					  "Define the view over the event table.");
	if (query->hasSubLinks)
		rollup_refuse(&cxt, "subqueries", NULL, "Remove the subquery.");
	cxt.lower_cols = NIL;
	foreach(lc, cxt.lower->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (!tle->resjunk)
			cxt.lower_cols = lappend(cxt.lower_cols, tle);
	}

	result = copyObject(query);
	result->targetList = (List *) rollup_mutator((Node *) result->targetList, &cxt);
	result->havingQual = rollup_mutator(result->havingQual, &cxt);
	quals = rollup_mutator(result->jointree->quals, &cxt);
	if (cxt.lower->jointree->quals)
		quals = quals ? (Node *) make_and_qual(copyObject(cxt.lower->jointree->quals), quals) :
			copyObject(cxt.lower->jointree->quals);
	compat_copy_range_table(result, cxt.lower);
	result->jointree = makeFromExpr(copyObject(cxt.lower->jointree->fromlist), quals);
	result->hasAggs = true;
	return result;
}
