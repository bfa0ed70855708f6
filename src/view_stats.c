/*-------------------------------------------------------------------------
 *
 * view_stats.c
 *	  Column statistics for the planner's estimates of a continuous view.
 *
 * A lambda view v is SQL over "batch UNION ALL speed" grouped by the keys
 * (view_parts.c: view_merged_sql). PostgreSQL keeps no statistics for the
 * columns of a UNION ALL, nor looks through a grouped subquery, so every
 * estimate of the number of groups of the view (the row count of v, and of
 * a GROUP BY over v) fell back to its default: 200 per column, at most a
 * tenth of the rows. With millions of groups that is off by orders of
 * magnitude, and a join with the view picks its plan from it.
 *
 * The planner asks get_relation_stats_hook for a column's statistics before
 * it looks itself. For a column of the merged UNION ALL of a lambda view, or
 * a key column of the grouped subquery over it, this hook answers with the
 * batch table's pg_statistic row of the same column (ANALYZE and autovacuum
 * keep it). The speed layer's keys are a small part of a view's groups
 * after a refresh, and their counts are the speed-layer scan's own row
 * estimates (merge.c), so the batch table's distinct counts stand for the
 * view's.
 *
 * Locks: none; it reads catalogs through the system caches.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_statistic.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "view_stats.h"

static get_relation_stats_hook_type view_stats_prev_hook = NULL;

/* The relation a UNION ALL leaf (a one-table subquery) reads, or InvalidOid. */
Oid
view_stats_leaf_relid(RangeTblEntry *leaf)
{
	RangeTblEntry *rte;

	if (leaf->rtekind != RTE_SUBQUERY || leaf->subquery == NULL ||
		list_length(leaf->subquery->rtable) != 1)
		return InvalidOid;
	rte = linitial(leaf->subquery->rtable);
	return rte->rtekind == RTE_RELATION ? rte->relid : InvalidOid;
}

/*
 * The continuous view whose merged UNION ALL (batch UNION ALL speed, see
 * view_parts.c) setop is, or NULL; *batch_leaf is the first leaf reading
 * its batch table.
 */
ViewDef *
view_stats_union_view(Query *setop, RangeTblEntry **batch_leaf)
{
	Oid			nsp;
	ListCell   *lc;
	ViewDef    *def = NULL;
	bool		has_speed = false;

	*batch_leaf = NULL;
	if (setop == NULL || setop->setOperations == NULL || !catalog_has(CATALOG_VIEWS))
		return NULL;
	nsp = catalog_namespace();
	foreach(lc, setop->rtable)
	{
		RangeTblEntry *leaf = lfirst(lc);
		Oid			relid = view_stats_leaf_relid(leaf);

		if (!OidIsValid(relid) || get_rel_namespace(relid) != nsp)
			return NULL;
		if (*batch_leaf == NULL && get_rel_relkind(relid) == RELKIND_RELATION)
		{
			def = cview_get(relid);
			if (def == NULL)
				return NULL;
			*batch_leaf = leaf;
		}
		else if (def != NULL && relid == def->speed_relid)
			has_speed = true;
	}
	return has_speed ? def : NULL;
}

/*
 * For column attnum of setop, a lambda view's merged UNION ALL: the batch
 * table and its column holding that column's values. False when setop is
 * not one.
 */
static bool
view_stats_union_column(Query *setop, AttrNumber attnum, Oid *batch_relid, AttrNumber *batch_attno)
{
	RangeTblEntry *batch_leaf;
	ViewDef    *def;
	TargetEntry *tle;
	Var		   *var;

	if (attnum <= 0 || (def = view_stats_union_view(setop, &batch_leaf)) == NULL)
		return false;
	tle = get_tle_by_resno(batch_leaf->subquery->targetList, attnum);
	if (tle == NULL || !IsA(tle->expr, Var))
		return false;
	var = (Var *) tle->expr;
	if (var->varlevelsup != 0 || var->varno != 1 || var->varattno <= 0)
		return false;
	*batch_relid = def->batch_relid;
	*batch_attno = var->varattno;
	return true;
}

/*
 * For column attnum of rte: the batch table column whose statistics stand
 * for it, when rte is a lambda view's merged UNION ALL (an append
 * relation), or the grouped subquery over it and attnum one of its keys.
 */
static bool
view_stats_column(RangeTblEntry *rte, AttrNumber attnum, Oid *batch_relid, AttrNumber *batch_attno)
{
	Query	   *sub;
	TargetEntry *tle;
	Var		   *var;
	RangeTblEntry *inner;

	if (rte->rtekind != RTE_SUBQUERY || rte->subquery == NULL || attnum <= 0)
		return false;
	sub = rte->subquery;
	if (sub->setOperations != NULL)
		return view_stats_union_column(sub, attnum, batch_relid, batch_attno);
	/*
	 * SELECT keys, merge(...) FROM (<union>) u GROUP BY keys: the grouped
	 * subquery of the view, or (views made since 0.4.0, see view_parts.c)
	 * the view's own query, whose range table also holds a view's OLD and
	 * NEW entries before PostgreSQL 16
	 */
	if (sub->groupClause == NIL || sub->jointree == NULL || list_length(sub->jointree->fromlist) != 1 ||
		!IsA(linitial(sub->jointree->fromlist), RangeTblRef))
		return false;
	tle = get_tle_by_resno(sub->targetList, attnum);
	if (tle == NULL || tle->ressortgroupref == 0)
		return false;
	/* 18: the key as its expression, not a Var of the GROUP range table entry */
	var = (Var *) compat_group_expr(sub, (Node *) tle->expr);
	if (!IsA(var, Var))
		return false;
	if (var->varlevelsup != 0 || var->varno != ((RangeTblRef *) linitial(sub->jointree->fromlist))->rtindex)
		return false;
	inner = rt_fetch(var->varno, sub->rtable);
	if (inner->rtekind != RTE_SUBQUERY)
		return false;
	return view_stats_union_column(inner->subquery, var->varattno, batch_relid, batch_attno);
}

/* get_relation_stats_hook: the batch table's statistics for a view's column. */
static bool
view_stats_hook(PlannerInfo *root, RangeTblEntry *rte, AttrNumber attnum, VariableStatData *vardata)
{
	Oid			batch_relid;
	AttrNumber	batch_attno;

	if (view_stats_column(rte, attnum, &batch_relid, &batch_attno))
	{
		HeapTuple	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(batch_relid),
										  Int16GetDatum(batch_attno), BoolGetDatum(false));

		if (HeapTupleIsValid(tup))
		{
			vardata->statsTuple = tup;
			vardata->freefunc = ReleaseSysCache;
			/* its histogram and common values go to leaky operators only for readers of the batch table */
			vardata->acl_ok = pg_class_aclcheck(batch_relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK;
			return true;
		}
	}
	if (view_stats_prev_hook)
		return view_stats_prev_hook(root, rte, attnum, vardata);
	return false;
}

/* Installs the hook, chaining whatever was there before. */
void
view_stats_init(void)
{
	view_stats_prev_hook = get_relation_stats_hook;
	get_relation_stats_hook = view_stats_hook;
}
