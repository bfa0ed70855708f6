/*-------------------------------------------------------------------------
 *
 * merge_order.c
 *	  The ordered merged scan of a continuous view: groups returned in the
 *	  order of a batch-table index, so that ORDER BY <key> LIMIT n over the
 *	  whole view reads n groups, not every group.
 *
 * A lambda view groups "batch UNION ALL speed" by its keys (view_parts.c).
 * Its grouping (PostgreSQL's, or merge_group.c's LambdaMerge) returns the
 * groups in no order, so "SELECT * FROM v ORDER BY k LIMIT 10" merged every
 * group of the view and sorted them for ten. Yet the batch table holds one
 * row per key under a unique btree index on the keys (in GROUP BY order),
 * and a user may add others (on an hour column, say).
 *
 * When the planner groups a view's merged UNION ALL by all its keys (not a
 * sliding window), with only merge aggregates over the branches' state
 * columns, this room's create_upper_paths_hook offers, beside the other
 * grouping paths, one custom path per order a btree index of the batch
 * table gives (forwards and backwards: k; k DESC NULLS FIRST; hour DESC
 * ...), completed with the remaining keys so that the order is total on the
 * keys:
 *
 *   1. each batch branch is read in that order: the index scan, with an
 *      incremental sort on the remaining keys when the index has only a
 *      leading part of them; a branch no index orders (the long keys'
 *      branch, a handful of rows) is sorted;
 *   2. the speed layer is read along an ordered run of its keys in that
 *      order (merge_run.c), which the session keeps between queries: the
 *      scan takes keys off the run as far as it reads, and probes the
 *      speed layer for each (in batches under one holding of the view's
 *      lock: speed_read_keys), whose entries in the generations after the
 *      scan's cut are the key's rows, oldest first; a key with none (it
 *      was folded since) has none. So under a LIMIT it reads about as many
 *      speed-layer keys as it returns groups, not all of them. When the
 *      speed branch has conditions of its own, or a probe finds the
 *      generations after the cut incomplete (the branch then reads the
 *      events; keys at or before the last group returned are left out),
 *      the branch is read whole into memory (its keys and states) and made
 *      a binary heap in that order, rows of one key in the order they came
 *      (generation by generation, oldest first): under a LIMIT only the
 *      first rows are taken off it;
 *   3. the streams are merged: the smallest key next; a batch row and the
 *      speed rows of its key are one group, combined batch state first and
 *      then the speed rows in their order, exactly as LambdaMerge and the
 *      merge aggregate combine them (mergestate.c).
 *
 * The path's pathkeys are that order, so the planner above the view (its
 * ORDER BY, a sorted grouping or DISTINCT) uses it by cost: under a LIMIT
 * its startup cost (the speed layer's rows and the first batch rows) is
 * what counts, and it wins; a read of the whole view keeps the cheaper
 * unordered scan. An ORDER BY in another collation, or NULLS placement, than
 * an index gives is a different order (other pathkeys): the path does not
 * serve it. The order's comparisons are those of the pathkeys (the btree
 * operator of each key's opfamily, the key's collation, NULLS FIRST or
 * LAST), which the index's order and the sort of the speed rows share.
 *
 * EXPLAIN shows "Custom Scan (LambdaOrder)" with "Lambda Order: <keys>"
 * and the branches under it; with ANALYZE, how it read the speed layer:
 * "Speed Layer Read: ordered run (N keys, made now | kept | kept, M new),
 * P probed", or how many speed-layer rows it ordered ("Speed Layer Rows
 * Ordered").
 *
 * Exactness: every key of the generations after the scan's cut is in the
 * run when the scan starts (merge_run.c), and each key's rows are read as
 * any read of the speed layer reads them, whole generations after the cut
 * under the view's lock. The first batch of probes (16 keys) reads keys
 * and states at one instant: keys committed between taking the run and
 * that probe are added to the run first. A key the speed layer gains after
 * it is not returned (as a commit after the scan's start); the keys of
 * later batches have their states as their batch finds them: past its
 * first batch the scan reads the speed layer over its course, not at one
 * instant, as a join probing the view per outer row does (merge_probe.c).
 *
 * Privileges: the scan combines a view's states only for a role that may
 * read the view, checked as the merge aggregate checks (mergestate.c).
 *
 * Locks: none of its own; the branches take what their scans take.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/stratnum.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/planner.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/sortsupport.h"

#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "merge_group.h"
#include "merge_image.h"
#include "merge_order.h"
#include "merge.h"
#include "merge_probe.h"
#include "merge_run.h"
#include "mergestate.h"
#include "speed_read.h"
#include "stateimage.h"
#include "view_stats.h"

#define MERGE_ORDER_NAME "LambdaOrder"

/* orders offered per view grouping */
#define MERGE_ORDER_MAX_PATHS 6

/* keys of an ordered run probed at once: the first batch, and at most */
#define MERGE_ORDER_PROBE_FIRST 16
#define MERGE_ORDER_PROBE_MAX 1024

/* the rows of a branch a LIMIT above the view is assumed to read */
#define MERGE_ORDER_FIRST_ROWS 100.0


static create_upper_paths_hook_type merge_order_prev_hook = NULL;

/* The path: a CustomPath and the batch branches planned again in its order */
typedef struct MergeOrderPath
{
	CustomPath	cp;
	List	   *subroots;		/* PlannerInfo of each branch planned again */
	List	   *subpaths;		/* ... and its path */
} MergeOrderPath;

/* One speed-layer row: its keys and per aggregate its state (0: NULL) */
typedef struct MergeOrderRow
{
	int64		seq;			/* arrival order */
	Datum	   *keys;			/* in the same allocation */
	bool	   *keynulls;
	Datum		states[FLEXIBLE_ARRAY_MEMBER];
} MergeOrderRow;

typedef struct MergeOrderState
{
	CustomScanState css;
	MergeImageCols cols;		/* what it reads and returns (all the keys) */
	int16	   *keylen;
	bool	   *keybyval;
	int			norder;			/* the order: keys (0-based) and comparators */
	int		   *orderkey;
	SortSupport ssup;
	List	   *ordernames;		/* for EXPLAIN */
	/* execution */
	bool		started;
	int			nbatch;			/* the batch branches */
	PlanState **batch;
	TupleTableSlot **head;		/* each one's current row, NULL when done */
	MergeOrderRow **rows;		/* the speed layer's: a binary heap, smallest first */
	int64		nrows;
	MergeOrderRow **group;		/* the rows of the key being returned */
	int64		groupcap;
	int64		read;			/* for EXPLAIN ANALYZE */
	/* the speed layer read key by key along an ordered run (merge_run.c) */
	List	   *speedkeys;		/* view key column of each key, or NIL */
	int		   *aggno;			/* view aggregate number of each aggregate */
	MergeRunOrder runorder;
	bool		byrun;			/* reading so */
	bool		fellback;		/* ... until the speed layer turned incomplete */
	ViewDef    *def;
	int64		cutgen;			/* the cut the scan's snapshot sees */
	MergeRun   *run;
	uint64		runxact;
	bool		runbuilt;		/* made by this scan (EXPLAIN) */
	int64		runsize;		/* its key images (EXPLAIN) */
	int64		runadded;		/* of them added for this scan (EXPLAIN) */
	int64		runpos;			/* the run's next key to probe */
	int			probebatch;		/* keys probed at once next */
	int64		probed;			/* keys probed (EXPLAIN) */
	bool		rundone;
	int64		qhead;			/* byrun: rows[qhead .. nrows) not taken yet */
	int64		rowscap;
	MergeRunKey **pkeys;		/* a batch of probes */
	const char **pimgs;
	uint32	   *plens;
	int64	   *pends;
	MergeOrderRow *taking;		/* the group being taken, if any */
	bool		haslast;		/* the last group returned: its keys */
	Datum	   *lastkeys;
	bool	   *lastnulls;
	MemoryContext probecxt;		/* the rows probed */
	MemoryContext lastcxt;
	int			nowned;			/* custom_ps started (and ended) here */
	int			pending;		/* batch branch to advance at the next row, or -1 */
	MemoryContext scancxt;
	MemoryContext rowcxt;
} MergeOrderState;

static Plan *merge_order_plan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
							  List *tlist, List *clauses, List *custom_plans);
static Node *merge_order_create_state(CustomScan *cscan);
static void merge_order_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *merge_order_exec(CustomScanState *node);
static void merge_order_end(CustomScanState *node);
static void merge_order_rescan(CustomScanState *node);
static void merge_order_explain(CustomScanState *node, List *ancestors, ExplainState *es);

static const CustomPathMethods merge_order_path_methods = {
	.CustomName = MERGE_ORDER_NAME,
	.PlanCustomPath = merge_order_plan,
};

static const CustomScanMethods merge_order_scan_methods = {
	.CustomName = MERGE_ORDER_NAME,
	.CreateCustomScanState = merge_order_create_state,
};

static const CustomExecMethods merge_order_exec_methods = {
	.CustomName = MERGE_ORDER_NAME,
	.BeginCustomScan = merge_order_begin,
	.ExecCustomScan = merge_order_exec,
	.EndCustomScan = merge_order_end,
	.ReScanCustomScan = merge_order_rescan,
	.ExplainCustomScan = merge_order_explain,
};

/* ------------------------------------------------------------------------
 * Planning
 * ------------------------------------------------------------------------
 */

/*
 * The input column (0-based position in inexprs) a pathkey orders by, or -1:
 * a member of its equivalence class that is one of the input columns.
 */
static int
merge_order_pathkey_pos(PathKey *pk, List *inexprs)
{
	ListCell   *lc;

	foreach(lc, pk->pk_eclass->ec_members)
	{
		EquivalenceMember *em = lfirst(lc);
		int			pos;

		if (em->em_is_child || em->em_is_const)
			continue;
		if ((pos = merge_group_position(inexprs, (Node *) em->em_expr)) >= 0)
			return pos;
	}
	return -1;
}

/*
 * The total order on the keys that begins with the leading pathkeys of an
 * index (those on key columns), then the remaining keys in the grouping's
 * order; NIL when the index orders by no key first or the grouping's
 * pathkeys do not name every key.
 */
static List *
merge_order_complete(PlannerInfo *root, List *lead, List *inexprs, List *keypos)
{
	List	   *out = NIL;
	List	   *seen = NIL;
	ListCell   *lc;

	foreach(lc, lead)
	{
		PathKey    *pk = lfirst(lc);
		int			pos = merge_order_pathkey_pos(pk, inexprs);

		if (pos < 0 || !list_member_int(keypos, pos) || list_member_int(seen, pos))
			break;
		out = lappend(out, pk);
		seen = lappend_int(seen, pos);
	}
	if (out == NIL)
		return NIL;
	foreach(lc, root->group_pathkeys)
	{
		PathKey    *pk = lfirst(lc);
		int			pos = merge_order_pathkey_pos(pk, inexprs);

		if (pos < 0 || !list_member_int(keypos, pos))
			return NIL;
		if (list_member_int(seen, pos))
			continue;
		out = lappend(out, pk);
		seen = lappend_int(seen, pos);
	}
	if (list_length(seen) != list_length(keypos))
		return NIL;
	return out;
}

/* Whether an index of a batch branch can give its rows in an order. */
static bool
merge_order_index_usable(IndexOptInfo *index)
{
	return index->sortopfamily != NULL && (index->indpred == NIL || index->predOK) &&
		!index->hypothetical;
}

/*
 * The index scans of a batch branch in each direction a btree index of it
 * can be read (its pathkeys on the grouping's keys), beside the paths the
 * planner made.
 */
static List *
merge_order_index_paths(PlannerInfo *root, RelOptInfo *child)
{
	List	   *out = NIL;
	ListCell   *lc;

	if (child->rtekind != RTE_RELATION)
		return NIL;
	foreach(lc, child->indexlist)
	{
		IndexOptInfo *index = lfirst(lc);
		int			d;

		if (!merge_order_index_usable(index))
			continue;
		for (d = 0; d < 2; d++)
		{
			ScanDirection dir = d == 0 ? ForwardScanDirection : BackwardScanDirection;
			List	   *pathkeys = build_index_pathkeys(root, index, dir);

			if (pathkeys == NIL)
				continue;
			out = lappend(out, create_index_path(root, index, NIL, NIL, NIL, pathkeys, dir, false,
												 NULL, 1.0, false));
		}
	}
	return out;
}

/*
 * The path of a batch branch in the given order: of its paths, the one
 * whose order has the longest leading part of it (an incremental sort on
 * the rest), or its cheapest sorted (always, for a branch of a few rows).
 */
static Path *
merge_order_sorted_branch(PlannerInfo *root, RelOptInfo *child, List *candidates, List *order)
{
	Path	   *best = NULL;
	int			best_n = 0;
	ListCell   *lc;

	/* a few rows: read them the cheapest way and sort them */
	if (child->rows <= MERGE_ORDER_FIRST_ROWS)
		candidates = NIL;
	foreach(lc, candidates)
	{
		Path	   *p = lfirst(lc);
		int			n;

		if (p->param_info != NULL || p->parent != child)
			continue;
		(void) pathkeys_count_contained_in(order, p->pathkeys, &n);
		if (n > best_n || (n == best_n && n > 0 && p->total_cost < best->total_cost))
		{
			best = p;
			best_n = n;
		}
	}
	if (best != NULL && best_n == list_length(order))
		return best;
	if (best != NULL)
		return (Path *) create_incremental_sort_path(root, child, best, order, best_n, -1.0);
	return (Path *) create_sort_path(root, child, child->cheapest_total_path, order, -1.0);
}

/*
 * The leading orders the btree indexes of a batch branch planned as a
 * subquery (the branches of a view whose keys can be long: "SELECT ... FROM
 * batch WHERE [NOT] _lambda_long") give, forwards and backwards, as
 * pathkeys of this level: an index column that the branch returns as a key
 * column of the UNION ALL, in the key's collation.
 */
static List *
merge_order_leaf_orders(PlannerInfo *root, RelOptInfo *child, List *inexprs)
{
	PlannerInfo *subroot = child->subroot;
	Query	   *leafq = subroot->parse;
	RangeTblRef *rtr;
	RelOptInfo *leaf;
	List	   *out = NIL;
	ListCell   *lc;

	if (leafq->jointree == NULL || list_length(leafq->jointree->fromlist) != 1 ||
		!IsA(linitial(leafq->jointree->fromlist), RangeTblRef))
		return NIL;
	rtr = linitial(leafq->jointree->fromlist);
	if (rtr->rtindex >= subroot->simple_rel_array_size ||
		(leaf = subroot->simple_rel_array[rtr->rtindex]) == NULL)
		return NIL;
	foreach(lc, leaf->indexlist)
	{
		IndexOptInfo *index = lfirst(lc);
		int			d;

		if (!merge_order_index_usable(index))
			continue;
		for (d = 0; d < 2; d++)
		{
			List	   *lead = NIL;
			int			i;

			for (i = 0; i < index->nkeycolumns; i++)
			{
				AttrNumber	attno = index->indexkeys[i];
				bool		desc = index->reverse_sort[i] != (d == 1);
				bool		nulls_first = index->nulls_first[i] != (d == 1);
				ListCell   *tc;
				PathKey    *pk = NULL;

				if (attno <= 0)
					break;
				/* the UNION ALL column the branch returns the index column as */
				foreach(tc, leafq->targetList)
				{
					TargetEntry *tle = lfirst(tc);
					Var		   *v = (Var *) tle->expr;
					ListCell   *ic;

					if (tle->resjunk || !IsA(v, Var) || v->varno != rtr->rtindex ||
						v->varattno != attno || v->varlevelsup != 0)
						continue;
					foreach(ic, inexprs)
					{
						Var		   *pv = lfirst(ic);
						ListCell   *gc;

						if (!IsA(pv, Var) || pv->varattno != tle->resno)
							continue;
						/* the key's pathkey of the grouping gives its class */
						foreach(gc, root->group_pathkeys)
						{
							PathKey    *gpk = lfirst(gc);

							if (merge_order_pathkey_pos(gpk, inexprs) == foreach_current_index(ic) &&
								gpk->pk_eclass->ec_collation == index->indexcollations[i] &&
								list_member_oid(gpk->pk_eclass->ec_opfamilies, index->sortopfamily[i]))
								pk = compat_make_canonical_pathkey(root, gpk->pk_eclass,
																   index->sortopfamily[i], desc,
																   nulls_first);
						}
					}
				}
				if (pk == NULL)
					break;
				lead = lappend(lead, pk);
			}
			if (lead != NIL)
				out = lappend(out, lead);
		}
	}
	return out;
}

/*
 * A batch branch planned as a subquery, planned again with ORDER BY the
 * order (its rows in that order, by an index where one gives it): its path
 * that returns the first rows soonest, and *subroot its planner state; NULL
 * when the order cannot be written on its columns.
 */
static Path *
merge_order_replan(PlannerInfo *root, RelOptInfo *child, List *order, List *inexprs,
				   PlannerInfo **subroot)
{
	RangeTblEntry *srte = planner_rt_fetch(child->relid, root);
	Query	   *q = copyObject(srte->subquery);
	Index		ref = 0;
	List	   *sort = NIL;
	ListCell   *lc;
	RelOptInfo *final_rel;
	Path	   *best = NULL;
	List	   *moved;
	List	   *tlist = NIL;

	if (q->sortClause != NIL || q->limitCount != NULL || q->setOperations != NULL ||
		q->jointree == NULL)
		return NULL;
	/*
	 * The conditions PostgreSQL moved into the branch (the query's on the
	 * view's keys) are in its planned copy only: the branch's WHERE there,
	 * preprocessed, goes into this one (anything that could not be planned
	 * again and no path).
	 */
	moved = (List *) child->subroot->parse->jointree->quals;
	if (moved != NIL && (!IsA(moved, List) || merge_probe_unsafe((Node *) moved, NULL)))
		return NULL;
	q->jointree->quals = moved == NIL ? NULL : (Node *) make_ands_explicit(copyObject(moved));
	/*
	 * It returns the columns the UNION ALL's rows have, in their order (what
	 * the planned branch returns, and where the scan reads keys and states).
	 */
	foreach(lc, inexprs)
	{
		Var		   *pv = lfirst(lc);
		TargetEntry *tle;

		if (!IsA(pv, Var) || (tle = get_tle_by_resno(srte->subquery->targetList, pv->varattno)) == NULL ||
			tle->resjunk)
			return NULL;
		tle = copyObject(tle);
		tle->resno = list_length(tlist) + 1;
		tle->ressortgroupref = 0;
		tlist = lappend(tlist, tle);
	}
	q->targetList = tlist;
	foreach(lc, order)
	{
		PathKey    *pk = lfirst(lc);
		int			pos = merge_order_pathkey_pos(pk, inexprs);
		TargetEntry *tle;
		Oid			type;
		SortGroupClause *sgc;

		tle = list_nth(q->targetList, pos);
		type = exprType((Node *) tle->expr);
		if (exprCollation((Node *) tle->expr) != pk->pk_eclass->ec_collation)
			return NULL;
		sgc = makeNode(SortGroupClause);
		sgc->sortop = get_opfamily_member(pk->pk_opfamily, type, type, compat_pathkey_strategy(pk));
		if (!OidIsValid(sgc->sortop))
			return NULL;
		sgc->eqop = get_equality_op_for_ordering_op(sgc->sortop, NULL);
		compat_sortgroupclause_reverse(sgc, compat_pathkey_strategy(pk) == BTGreaterStrategyNumber);
		sgc->nulls_first = pk->pk_nulls_first;
		sgc->hashable = false;
		if (tle->ressortgroupref == 0)
			tle->ressortgroupref = ++ref;
		sgc->tleSortGroupRef = tle->ressortgroupref;
		sort = lappend(sort, sgc);
	}
	q->sortClause = sort;
	/*
	 * Planned for its first rows, what a LIMIT above the view reads: the
	 * path cheapest for MERGE_ORDER_FIRST_ROWS of them (all of a branch with
	 * fewer, such as the long keys', where an index scan that returns its
	 * first row soon by the estimate may filter the whole table to find
	 * none).
	 */
	*subroot = compat_subquery_planner(root->glob, q, root, MERGE_ORDER_FIRST_ROWS);
	final_rel = fetch_upper_rel(*subroot, UPPERREL_FINAL, NULL);
	best = get_cheapest_fractional_path(final_rel, MERGE_ORDER_FIRST_ROWS);
	if (best != NULL && best->param_info != NULL)
		return NULL;
	return best;
}

/* Whether order is already one of orders. */
static bool
merge_order_known(List *orders, List *order)
{
	ListCell   *lc;

	foreach(lc, orders)
	{
		if (compare_pathkeys(lfirst(lc), order) == PATHKEYS_EQUAL)
			return true;
	}
	return false;
}

/*
 * For each key (in the grouping's order) the view's key column the speed
 * branch sp returns there, when sp is a scan of the speed table without
 * conditions whose columns at the aggregates' positions are those
 * aggregates' states: the scan may then read the speed layer key by key
 * along an ordered run (merge_run.c). NIL otherwise.
 */
static List *
merge_order_speed_keys(ViewDef *def, Path *sp, List *keypos, List *aggpos, List *aggnos)
{
	List	   *out = NIL;
	Bitmapset  *seen = NULL;
	ListCell   *lp,
			   *lo;

	if (!IsA(sp, ForeignPath) || sp->param_info != NULL || sp->parent->baserestrictinfo != NIL)
		return NIL;
	foreach(lp, keypos)
	{
		Var		   *var = list_nth(sp->pathtarget->exprs, lfirst_int(lp));
		int			j;

		if (!IsA(var, Var) || var->varno != (int) sp->parent->relid)
			return NIL;
		j = var->varattno - 1;
		if (j < 0 || j >= def->nkeys || bms_is_member(j, seen))
			return NIL;
		seen = bms_add_member(seen, j);
		out = lappend_int(out, j);
	}
	forboth(lp, aggpos, lo, aggnos)
	{
		Var		   *var = list_nth(sp->pathtarget->exprs, lfirst_int(lp));

		if (!IsA(var, Var) || var->varno != (int) sp->parent->relid ||
			var->varattno != def->nkeys + lfirst_int(lo))
			return NIL;
	}
	return out;
}

/* The names of the order's columns and their direction, for EXPLAIN. */
static List *
merge_order_names(Query *parse, List *order, List *inexprs)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, order)
	{
		PathKey    *pk = lfirst(lc);
		int			pos = merge_order_pathkey_pos(pk, inexprs);
		const char *name = "?";
		ListCell   *tc;
		bool		desc = compat_pathkey_strategy(pk) == BTGreaterStrategyNumber;
		StringInfoData s;

		foreach(tc, parse->targetList)
		{
			TargetEntry *tle = lfirst(tc);

			if (tle->resname && equal(tle->expr, list_nth(inexprs, pos)))
			{
				name = tle->resname;
				break;
			}
		}
		initStringInfo(&s);
		appendStringInfoString(&s, quote_identifier(name));
		if (desc)
			appendStringInfoString(&s, " DESC");
		if (pk->pk_nulls_first != desc)
			appendStringInfoString(&s, pk->pk_nulls_first ? " NULLS FIRST" : " NULLS LAST");
		out = lappend(out, makeString(s.data));
	}
	return out;
}

/*
 * Offers the ordered merged scan of a view's merged UNION ALL (input_rel),
 * one path per order an index of a batch branch gives; see the header.
 */
static void
merge_order_add_paths(PlannerInfo *root, RelOptInfo *input_rel, RelOptInfo *output_rel)
{
	Query	   *parse = root->parse;
	MergeGrouping g;
	ViewDef    *def;
	AppendPath *app;
	List	   *inexprs;
	List	   *keypos;
	List	   *batch_children = NIL;	/* RelOptInfo, in branch order */
	List	   *orders = NIL;
	List	   *candidates = NIL;
	List	   *leads = NIL;
	ListCell   *lc;
	Path	   *speed_path = NULL;
	double		rows;

	/*
	 * Only where an order of the view's rows can serve the query above it
	 * (its ORDER BY, GROUP BY, DISTINCT ...): planning the orders' branches
	 * again costs planning time that a read without one would pay for
	 * nothing.
	 */
	if (root->group_pathkeys == NIL || root->parent_root == NULL ||
		root->parent_root->query_pathkeys == NIL)
		return;
	if (!merge_group_grouping(root, input_rel, output_rel, &g))
		return;
	def = g.def;
	app = g.app;
	inexprs = g.inexprs;
	keypos = g.keypos;

	/* the branches: the speed layer at most once, the rest the batch table */
	foreach(lc, app->subpaths)
	{
		Path	   *sub = lfirst(lc);
		RangeTblEntry *srte;
		Oid			relid;

		if (sub->param_info != NULL || sub->parent->reloptkind != RELOPT_OTHER_MEMBER_REL ||
			list_length(sub->pathtarget->exprs) != list_length(inexprs))
			return;
		srte = planner_rt_fetch(sub->parent->relid, root);
		relid = srte->rtekind == RTE_RELATION ? srte->relid : view_stats_leaf_relid(srte);
		if (relid == def->speed_relid && speed_path == NULL)
			speed_path = sub;
		else if (relid == def->batch_relid &&
				 (srte->rtekind == RTE_RELATION ||
				  (srte->rtekind == RTE_SUBQUERY && sub->parent->subroot != NULL)))
			batch_children = lappend(batch_children, sub->parent);
		else
			return;
	}
	if (batch_children == NIL)
		return;

	/* the orders: the grouping's, and each that an index of a batch branch gives */
	foreach(lc, batch_children)
	{
		RelOptInfo *child = lfirst(lc);

		if (child->rtekind == RTE_RELATION)
		{
			candidates = list_concat(candidates, merge_order_index_paths(root, child));
			candidates = list_concat(candidates, list_copy(child->pathlist));
		}
		else
			leads = list_concat(leads, merge_order_leaf_orders(root, child, inexprs));
	}
	foreach(lc, leads)
	{
		List	   *order = merge_order_complete(root, lfirst(lc), inexprs, keypos);

		if (order != NIL && !merge_order_known(orders, order) &&
			list_length(orders) < MERGE_ORDER_MAX_PATHS)
			orders = lappend(orders, order);
	}
	foreach(lc, candidates)
	{
		Path	   *p = lfirst(lc);
		List	   *order;

		if (p->pathkeys == NIL || p->param_info != NULL ||
			list_length(orders) >= MERGE_ORDER_MAX_PATHS)
			continue;
		order = merge_order_complete(root, p->pathkeys, inexprs, keypos);
		if (order != NIL && !merge_order_known(orders, order))
			orders = lappend(orders, order);
	}
	rows = ((Path *) linitial(output_rel->pathlist))->rows;
	foreach(lc, orders)
	{
		List	   *order = lfirst(lc);
		List	   *children = NIL;
		List	   *subroots = NIL;
		List	   *subpaths = NIL;
		bool		ok = true;
		MergeOrderPath *mp;
		Cost		startup = 0;
		Cost		total = 0;
		double		inrows = 0;
		ListCell   *bc;
		CustomPath *cp;
		List	   *orderpos = NIL,
				   *sortops = NIL,
				   *colls = NIL,
				   *nullsfirst = NIL;
		ListCell   *oc;

		foreach(bc, app->subpaths)
		{
			Path	   *sub = lfirst(bc);
			Path	   *p;

			if (sub == speed_path)
				continue;
			if (sub->parent->rtekind == RTE_RELATION)
			{
				p = merge_order_sorted_branch(root, sub->parent, candidates, order);
				children = lappend(children, p);
			}
			else
			{
				PlannerInfo *subroot;

				p = merge_order_replan(root, sub->parent, order, inexprs, &subroot);
				if (p == NULL)
				{
					ok = false;
					break;
				}
				subroots = lappend(subroots, subroot);
				subpaths = lappend(subpaths, p);
			}
			startup += p->startup_cost;
			total += p->total_cost;
			inrows += p->rows;
		}
		if (!ok)
			continue;
		if (speed_path != NULL)
		{
			double		n = Max(speed_path->rows, 2.0);

			children = lappend(children, speed_path);
			/* read whole and made a heap before the first row; each row taken off it */
			startup += speed_path->total_cost + 2.0 * cpu_operator_cost * n;
			total += speed_path->total_cost + 2.0 * cpu_operator_cost * n * (1.0 + log(n) / log(2.0));
			inrows += speed_path->rows;
		}
		/* per row read, a comparison per stream and a group's merge */
		total += inrows * (cpu_tuple_cost + cpu_operator_cost * list_length(children));

		foreach(oc, order)
		{
			PathKey    *pk = lfirst(oc);
			int			pos = merge_order_pathkey_pos(pk, inexprs);
			Oid			type = exprType(list_nth(inexprs, pos));
			Oid			sortop = get_opfamily_member(pk->pk_opfamily, type, type,
													 compat_pathkey_strategy(pk));

			if (!OidIsValid(sortop))
				break;
			orderpos = lappend_int(orderpos, pos);
			sortops = lappend_oid(sortops, sortop);
			colls = lappend_oid(colls, pk->pk_eclass->ec_collation);
			nullsfirst = lappend_int(nullsfirst, pk->pk_nulls_first);
		}
		if (oc != NULL)
			continue;

		mp = palloc0(sizeof(MergeOrderPath));
		NodeSetTag(mp, T_CustomPath);
		mp->subroots = subroots;
		mp->subpaths = subpaths;
		cp = &mp->cp;
		cp->path.pathtype = T_CustomScan;
		cp->path.parent = output_rel;
		cp->path.pathtarget = output_rel->reltarget;
		cp->path.param_info = NULL;
		cp->path.parallel_aware = false;
		cp->path.parallel_safe = false;
		cp->path.parallel_workers = 0;
		cp->path.rows = rows;
		cp->path.startup_cost = startup;
		cp->path.total_cost = Max(total, startup);
		cp->path.pathkeys = order;
		cp->flags = 0;
		cp->custom_paths = children;
		cp->custom_private = list_make5(list_make2_int(speed_path ? list_length(children) - 1 : -1,
													   (int) def->batch_relid),
										keypos,
										list_make4(orderpos, sortops, colls, nullsfirst),
										list_make2(g.colkind, g.colidx),
										list_make2(g.aggpos, g.aggnos));
		cp->custom_private = lappend(cp->custom_private,
									 merge_order_names(parse, order, inexprs));
		cp->custom_private = lappend(cp->custom_private,
									 speed_path == NULL ? NIL :
									 merge_order_speed_keys(def, speed_path, keypos, g.aggpos, g.aggnos));
		cp->methods = &merge_order_path_methods;
		add_path(output_rel, (Path *) cp);
	}
}

/* create_upper_paths_hook */
static void
merge_order_upper_paths(PlannerInfo *root, UpperRelationKind stage, RelOptInfo *input_rel,
						RelOptInfo *output_rel, void *extra)
{
	if (merge_order_prev_hook)
		merge_order_prev_hook(root, stage, input_rel, output_rel, extra);
	if (stage == UPPERREL_GROUP_AGG)
		merge_order_add_paths(root, input_rel, output_rel);
}

/* PlanCustomPath: the scan returns the grouping's target, its branches below it */
static Plan *
merge_order_plan(PlannerInfo *root, RelOptInfo *rel pg_attribute_unused(),
				 CustomPath *best_path, List *tlist, List *clauses, List *custom_plans)
{
	MergeOrderPath *mp = (MergeOrderPath *) best_path;
	CustomScan *cs = makeNode(CustomScan);
	List	   *plan_ids = NIL;
	ListCell   *lr,
			   *lp;

	forboth(lr, mp->subroots, lp, mp->subpaths)
	{
		PlannerInfo *subroot = lfirst(lr);
		Path	   *subpath = lfirst(lp);
		Plan	   *sub = create_plan(subroot, subpath);

		plan_ids = lappend_int(plan_ids, compat_add_subplan(root->glob, sub, subpath, subroot));
	}
	cs->scan.plan.targetlist = tlist;
	cs->scan.plan.qual = extract_actual_clauses(clauses, false);
	cs->scan.scanrelid = 0;
	cs->custom_plans = custom_plans;
	cs->custom_scan_tlist = copyObject(tlist);
	cs->custom_private = lappend(list_copy(best_path->custom_private), plan_ids);
	cs->flags = best_path->flags;
	cs->methods = &merge_order_scan_methods;
	return &cs->scan.plan;
}

/* ------------------------------------------------------------------------
 * Execution
 * ------------------------------------------------------------------------
 */

static Node *
merge_order_create_state(CustomScan *cscan pg_attribute_unused())
{
	MergeOrderState *s = (MergeOrderState *) newNode(sizeof(MergeOrderState), T_CustomScanState);

	s->css.methods = &merge_order_exec_methods;
	return (Node *) s;
}

static void
merge_order_begin(CustomScanState *node, EState *estate, int eflags)
{
	MergeOrderState *s = (MergeOrderState *) node;
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;
	List	   *head = linitial(cs->custom_private);
	List	   *keypos = lsecond(cs->custom_private);
	List	   *order = lthird(cs->custom_private);
	List	   *cols = lfourth(cs->custom_private);
	List	   *aggs = list_nth(cs->custom_private, 4);
	List	   *plan_ids;
	ListCell   *lc;
	int			i;

	merge_cols_init(&s->cols, head, keypos, linitial(cols), lsecond(cols), linitial(aggs), lsecond(aggs));
	s->keylen = palloc(sizeof(int16) * s->cols.nkeys);
	s->keybyval = palloc(sizeof(bool) * s->cols.nkeys);
	s->norder = list_length(linitial(order));
	s->orderkey = palloc(sizeof(int) * s->norder);
	s->ssup = palloc0(sizeof(SortSupportData) * s->norder);
	s->ordernames = list_nth(cs->custom_private, 5);
	for (i = 0; i < s->norder; i++)
	{
		int			pos = list_nth_int(linitial(order), i);
		int			k;

		for (k = 0; s->cols.keypos[k] != pos; k++)
			;
		s->orderkey[i] = k;
		s->ssup[i].ssup_cxt = CurrentMemoryContext;
		s->ssup[i].ssup_collation = list_nth_oid(lthird(order), i);
		s->ssup[i].ssup_nulls_first = list_nth_int(lfourth(order), i) != 0;
		PrepareSortSupportFromOrderingOp(list_nth_oid(lsecond(order), i), &s->ssup[i]);
	}
	s->speedkeys = list_nth(cs->custom_private, 6);
	plan_ids = list_nth(cs->custom_private, 7);
	s->batch = palloc(sizeof(PlanState *) * (list_length(cs->custom_plans) + list_length(plan_ids)));
	s->head = palloc0(sizeof(TupleTableSlot *) * (list_length(cs->custom_plans) + list_length(plan_ids)));
	i = 0;
	foreach(lc, cs->custom_plans)
	{
		PlanState  *ps = ExecInitNode(lfirst(lc), estate, eflags);

		node->custom_ps = lappend(node->custom_ps, ps);
		if (i != s->cols.speed_child)
			s->batch[s->nbatch++] = ps;
		i++;
	}
	s->nowned = list_length(node->custom_ps);
	/* the branches planned again were started with the statement's subplans */
	foreach(lc, plan_ids)
	{
		int			id = lfirst_int(lc);
		PlanState  *ps;

		if (id < 1 || id > list_length(estate->es_subplanstates) ||
			(ps = list_nth(estate->es_subplanstates, id - 1)) == NULL)
			elog(ERROR, "pg_lambda: subplan %d of an ordered view scan is missing", id);
		/* EXPLAIN shows it under the scan (ExecEndPlan ends it with the subplans) */
		node->custom_ps = lappend(node->custom_ps, ps);
		s->batch[s->nbatch++] = ps;
	}
	for (i = 0; i < s->cols.nkeys; i++)
	{
		Oid			type = TupleDescAttr(ExecGetResultType(s->batch[0]), s->cols.keypos[i])->atttypid;

		get_typlenbyval(type, &s->keylen[i], &s->keybyval[i]);
	}
	s->scancxt = AllocSetContextCreate(CurrentMemoryContext, "LambdaOrder rows", ALLOCSET_DEFAULT_SIZES);
	s->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "LambdaOrder row", ALLOCSET_DEFAULT_SIZES);
	if (s->speedkeys != NIL && s->cols.speed_child >= 0)
	{
		MergeRunOrder *ro = &s->runorder;

		s->aggno = palloc(sizeof(int) * Max(s->cols.naggs, 1));
		for (i = 0; i < s->cols.naggs; i++)
			s->aggno[i] = list_nth_int(lsecond(aggs), i);
		ro->norder = s->norder;
		ro->keycol = palloc(sizeof(int) * s->norder);
		ro->sortop = palloc(sizeof(Oid) * s->norder);
		ro->coll = palloc(sizeof(Oid) * s->norder);
		ro->nullsfirst = palloc(sizeof(bool) * s->norder);
		for (i = 0; i < s->norder; i++)
		{
			ro->keycol[i] = list_nth_int(s->speedkeys, s->orderkey[i]);
			ro->sortop[i] = list_nth_oid(lsecond(order), i);
			ro->coll[i] = list_nth_oid(lthird(order), i);
			ro->nullsfirst[i] = list_nth_int(lfourth(order), i) != 0;
		}
		s->pkeys = palloc(sizeof(MergeRunKey *) * MERGE_ORDER_PROBE_MAX);
		s->pimgs = palloc(sizeof(char *) * MERGE_ORDER_PROBE_MAX);
		s->plens = palloc(sizeof(uint32) * MERGE_ORDER_PROBE_MAX);
		s->pends = palloc(sizeof(int64) * MERGE_ORDER_PROBE_MAX);
		s->lastkeys = palloc(sizeof(Datum) * s->cols.nkeys);
		s->lastnulls = palloc(sizeof(bool) * s->cols.nkeys);
		s->probecxt = AllocSetContextCreate(CurrentMemoryContext, "LambdaOrder probes", ALLOCSET_DEFAULT_SIZES);
		s->lastcxt = AllocSetContextCreate(CurrentMemoryContext, "LambdaOrder last key", ALLOCSET_SMALL_SIZES);
	}
}

/* Compares two keys (values at key number k in each) in the scan's order; ties 0. */
static int
merge_order_compare(MergeOrderState *s, Datum *av, bool *an, bool a_at_pos,
					Datum *bv, bool *bn, bool b_at_pos)
{
	int			i;

	for (i = 0; i < s->norder; i++)
	{
		int			k = s->orderkey[i];
		int			ai = a_at_pos ? s->cols.keypos[k] : k;
		int			bi = b_at_pos ? s->cols.keypos[k] : k;
		int			c = ApplySortComparator(av[ai], an[ai], bv[bi], bn[bi], &s->ssup[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Compares two speed rows: the order, then arrival (a key's rows oldest first). */
static int
merge_order_row_cmp(MergeOrderState *s, MergeOrderRow *ra, MergeOrderRow *rb)
{
	int			c = merge_order_compare(s, ra->keys, ra->keynulls, false, rb->keys, rb->keynulls, false);

	if (c != 0)
		return c;
	return ra->seq < rb->seq ? -1 : (ra->seq > rb->seq ? 1 : 0);
}

/*
 * Moves the heap's row at i down to where it belongs. A heap rather than a
 * sort: under a LIMIT only the first rows are taken off it, so making it
 * (about two comparisons a row) is most of the work, not n log n.
 */
static void
merge_order_sift_down(MergeOrderState *s, int64 i)
{
	MergeOrderRow **h = s->rows;
	MergeOrderRow *r = h[i];

	for (;;)
	{
		int64		c = 2 * i + 1;

		if (c >= s->nrows)
			break;
		if (c + 1 < s->nrows && merge_order_row_cmp(s, h[c + 1], h[c]) < 0)
			c++;
		if (merge_order_row_cmp(s, h[c], r) >= 0)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = r;
}

/* Takes the smallest row off the heap. */
static MergeOrderRow *
merge_order_pop(MergeOrderState *s)
{
	MergeOrderRow *top = s->rows[0];

	s->rows[0] = s->rows[--s->nrows];
	if (s->nrows > 1)
		merge_order_sift_down(s, 0);
	return top;
}

/* Reads the speed-layer branch and sorts its rows. */
static void
merge_order_load_speed(MergeOrderState *s)
{
	PlanState  *ps;
	int64		cap = 64;
	MemoryContext old;

	s->nrows = 0;
	if (s->cols.speed_child < 0)
		return;
	ps = list_nth(s->css.custom_ps, s->cols.speed_child);
	old = MemoryContextSwitchTo(s->scancxt);
	s->rows = palloc(sizeof(MergeOrderRow *) * cap);
	for (;;)
	{
		TupleTableSlot *in;
		MergeOrderRow *r;
		Size		sz;
		int			i;

		MemoryContextSwitchTo(old);
		in = ExecProcNode(ps);
		MemoryContextSwitchTo(s->scancxt);
		if (TupIsNull(in))
			break;
		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(in);
		sz = MAXALIGN(offsetof(MergeOrderRow, states) + sizeof(Datum) * Max(s->cols.naggs, 1));
		r = palloc(sz + MAXALIGN(sizeof(Datum) * s->cols.nkeys) + sizeof(bool) * s->cols.nkeys);
		r->seq = s->nrows;
		r->keys = (Datum *) ((char *) r + sz);
		r->keynulls = (bool *) ((char *) r->keys + MAXALIGN(sizeof(Datum) * s->cols.nkeys));
		for (i = 0; i < s->cols.nkeys; i++)
		{
			r->keynulls[i] = in->tts_isnull[s->cols.keypos[i]];
			r->keys[i] = r->keynulls[i] ? (Datum) 0 :
				datumCopy(in->tts_values[s->cols.keypos[i]], s->keybyval[i], s->keylen[i]);
		}
		for (i = 0; i < s->cols.naggs; i++)
			r->states[i] = in->tts_isnull[s->cols.aggpos[i]] ? (Datum) 0 :
				datumCopy(in->tts_values[s->cols.aggpos[i]], false, -1);
		if (s->nrows == cap)
		{
			cap *= 2;
			s->rows = repalloc_huge(s->rows, sizeof(MergeOrderRow *) * cap);
		}
		s->rows[s->nrows++] = r;
	}
	MemoryContextSwitchTo(old);
	if (s->nrows > 1)
	{
		int64		i;

		for (i = s->nrows / 2 - 1; i >= 0; i--)
		{
			CHECK_FOR_INTERRUPTS();
			merge_order_sift_down(s, i);
		}
	}
	s->read += s->nrows;
}

/*
 * Starts reading the speed layer along the view's ordered run in the scan's
 * order (merge_run.c), when the speed branch returns every key of the view
 * and its cut is known (merge_speed_whole); else reads the branch whole.
 */
static void
merge_order_start_speed(MergeOrderState *s)
{
	PlanState  *ps;

	s->byrun = false;
	if (s->cols.speed_child < 0)
		return;
	ps = list_nth(s->css.custom_ps, s->cols.speed_child);
	if (s->speedkeys == NIL || !merge_speed_whole(ps, &s->def, &s->cutgen))
	{
		merge_order_load_speed(s);
		return;
	}
	s->run = merge_run_get(s->def, s->cutgen, &s->runorder, &s->runbuilt, &s->runadded, &s->runxact);
	s->runsize = merge_run_size(s->run);
	s->byrun = true;
	s->runpos = 0;
	s->probebatch = MERGE_ORDER_PROBE_FIRST;
	s->rundone = false;
	s->qhead = 0;
	s->nrows = 0;
	s->haslast = false;
	s->taking = NULL;
	if (s->rows == NULL)
	{
		s->rowscap = MERGE_ORDER_PROBE_FIRST;
		s->rows = MemoryContextAlloc(s->scancxt, sizeof(MergeOrderRow *) * s->rowscap);
	}
}

/*
 * The speed layer turned incomplete during the scan (a generation after
 * its cut lost states, or was dropped): the rest comes from the speed
 * branch read whole, which then reads the events, without the keys the
 * scan has returned or is taking (those at or before the last group's).
 */
static void
merge_order_fall_back(MergeOrderState *s)
{
	merge_run_release(s->run, s->runxact);
	s->run = NULL;
	s->byrun = false;
	s->fellback = true;
	s->rows = NULL;
	merge_order_load_speed(s);
	while (s->nrows > 0)
	{
		MergeOrderRow *r = s->rows[0];
		int			c;

		if (s->taking)
			c = merge_order_compare(s, r->keys, r->keynulls, false,
									s->taking->keys, s->taking->keynulls, false);
		else if (s->haslast)
			c = merge_order_compare(s, r->keys, r->keynulls, false, s->lastkeys, s->lastnulls, false);
		else
			break;
		if (c > 0)
			break;
		(void) merge_order_pop(s);
	}
}

/*
 * Probes the speed layer for the run's next keys, in one holding of the
 * view's lock (speed_read_keys): each key's entries in the generations
 * after the scan's cut become its rows, oldest first; a key with none (it
 * was folded into the batch table since the run was made) has none. The
 * batch doubles each time, to MERGE_ORDER_PROBE_MAX.
 */
static void
merge_order_probe(MergeOrderState *s)
{
	MemoryContext old;
	SpeedSet   *set;
	const char **parts;
	int		   *lens;
	int			n = 0;
	int			j;
	int64		e;
	Size		sz = MAXALIGN(offsetof(MergeOrderRow, states) + sizeof(Datum) * Max(s->cols.naggs, 1));
	uint64		version;
	int			tries = 0;

again:
	n = 0;
	while (n < s->probebatch)
	{
		MergeRunKey *k = merge_run_at(s->run, s->runpos);

		if (k == NULL)
			break;
		s->runpos++;
		s->pkeys[n] = k;
		s->pimgs[n] = k->img;
		s->plens[n] = k->len;
		n++;
	}
	/* with no key left too: the generations after the cut must be complete */
	old = MemoryContextSwitchTo(s->probecxt);
	set = speed_set_create(s->probecxt);
	if (!speed_read_keys(s->def, s->cutgen, n, s->pimgs, s->plens, set, s->pends, &version))
	{
		MemoryContextSwitchTo(old);
		merge_order_fall_back(s);
		return;
	}
	/*
	 * The first probe, before any row: keys committed since the run was
	 * taken go into it first, so that the first batch reads the speed layer
	 * at one instant, keys and states (a few tries, then on as it is).
	 */
	if (s->probed == 0 && version != merge_run_version(s->run) && tries++ < 3)
	{
		bool		built;
		int64		added;

		MemoryContextSwitchTo(old);
		merge_run_release(s->run, s->runxact);
		s->run = merge_run_get(s->def, s->cutgen, &s->runorder, &built, &added, &s->runxact);
		s->runbuilt = s->runbuilt || built;
		s->runadded += added;
		s->runsize = merge_run_size(s->run);
		s->runpos = 0;
		goto again;
	}
	if (n == 0)
	{
		MemoryContextSwitchTo(old);
		s->rundone = true;
		return;
	}
	s->probed += n;
	s->probebatch = Min(s->probebatch * 2, MERGE_ORDER_PROBE_MAX);
	parts = palloc(sizeof(char *) * (s->def->naggs + 1));
	lens = palloc(sizeof(int) * (s->def->naggs + 1));
	for (j = 0, e = 0; j < n; j++)
	{
		for (; e < s->pends[j]; e++)
		{
			SpeedSetEntry *se = speed_set_get(set, e);
			MergeOrderRow *r = palloc(sz + MAXALIGN(sizeof(Datum) * s->cols.nkeys) +
									  sizeof(bool) * s->cols.nkeys);
			int			i;

			r->seq = 0;
			r->keys = (Datum *) ((char *) r + sz);
			r->keynulls = (bool *) ((char *) r->keys + MAXALIGN(sizeof(Datum) * s->cols.nkeys));
			for (i = 0; i < s->cols.nkeys; i++)
			{
				int			col = list_nth_int(s->speedkeys, i);

				r->keys[i] = s->pkeys[j]->values[col];
				r->keynulls[i] = s->pkeys[j]->nulls[col];
			}
			states_split(s->def, SPEED_SET_STATES(se), se->stateslen, parts, lens);
			for (i = 0; i < s->cols.naggs; i++)
			{
				int			a = s->aggno[i] - 1;
				bytea	   *b;

				if (parts[a] == NULL)
				{
					r->states[i] = (Datum) 0;
					continue;
				}
				b = palloc(VARHDRSZ + lens[a]);
				SET_VARSIZE(b, VARHDRSZ + lens[a]);
				memcpy(VARDATA(b), parts[a], lens[a]);
				r->states[i] = PointerGetDatum(b);
			}
			if (s->nrows == s->rowscap)
			{
				s->rowscap *= 2;
				s->rows = repalloc_huge(s->rows, sizeof(MergeOrderRow *) * s->rowscap);
			}
			s->rows[s->nrows++] = r;
		}
	}
	MemoryContextSwitchTo(old);
}

/* The speed layer's next row in the order (not taken), or NULL when done. */
static MergeOrderRow *
merge_order_speed_top(MergeOrderState *s)
{
	for (;;)
	{
		if (!s->byrun)
			return s->nrows > 0 ? s->rows[0] : NULL;
		if (s->qhead < s->nrows)
			return s->rows[s->qhead];
		if (s->rundone)
			return NULL;
		merge_order_probe(s);
	}
}

/* Takes the speed layer's next row (merge_order_speed_top gave it). */
static MergeOrderRow *
merge_order_speed_take(MergeOrderState *s)
{
	if (!s->byrun)
		return merge_order_pop(s);
	return s->rows[s->qhead++];
}

/*
 * Fills the scan slot with one group: its keys (from the batch row's values
 * or the first speed row's), each aggregate merged from the batch state
 * (when given) and then the ng speed rows of grp, in their order.
 */
static TupleTableSlot *
merge_order_emit(MergeOrderState *s, TupleTableSlot *batch, MergeOrderRow **grp, int64 ng)
{
	TupleTableSlot *out = s->css.ss.ss_ScanTupleSlot;
	MemoryContext old = MemoryContextSwitchTo(s->rowcxt);
	int			c;

	for (c = 0; c < s->cols.ncols; c++)
	{
		int			idx = s->cols.colidx[c];

		switch (s->cols.colkind[c])
		{
			case MERGE_COL_KEY:
				if (batch)
				{
					out->tts_values[c] = batch->tts_values[s->cols.keypos[idx]];
					out->tts_isnull[c] = batch->tts_isnull[s->cols.keypos[idx]];
				}
				else
				{
					out->tts_values[c] = grp[0]->keys[idx];
					out->tts_isnull[c] = grp[0]->keynulls[idx];
				}
				break;
			case MERGE_COL_AGG:
				{
					MergeState st;
					int64		r;

					merge_state_init(&st, s->cols.meta[idx], s->rowcxt);
					if (batch && !batch->tts_isnull[s->cols.aggpos[idx]])
						merge_state_add(&st, batch->tts_values[s->cols.aggpos[idx]], s->rowcxt);
					for (r = 0; r < ng; r++)
						if (grp[r]->states[idx] != (Datum) 0)
							merge_state_add(&st, grp[r]->states[idx], s->rowcxt);
					out->tts_values[c] = merge_state_result(&st, &out->tts_isnull[c], s->rowcxt);
				}
				break;
			default:
				out->tts_values[c] = (Datum) 0;
				out->tts_isnull[c] = true;
				break;
		}
	}
	MemoryContextSwitchTo(old);
	/* the group's keys, should the scan have to read the speed layer whole */
	if (s->byrun)
	{
		int			k;

		MemoryContextReset(s->lastcxt);
		old = MemoryContextSwitchTo(s->lastcxt);
		for (k = 0; k < s->cols.nkeys; k++)
		{
			Datum		v = batch ? batch->tts_values[s->cols.keypos[k]] : grp[0]->keys[k];

			s->lastnulls[k] = batch ? batch->tts_isnull[s->cols.keypos[k]] : grp[0]->keynulls[k];
			s->lastkeys[k] = s->lastnulls[k] ? (Datum) 0 : datumCopy(v, s->keybyval[k], s->keylen[k]);
		}
		MemoryContextSwitchTo(old);
		s->haslast = true;
	}
	return ExecStoreVirtualTuple(out);
}

/* The next row of batch branch b into its head (NULL when it is done). */
static void
merge_order_advance(MergeOrderState *s, int b)
{
	TupleTableSlot *in = ExecProcNode(s->batch[b]);

	if (TupIsNull(in))
		s->head[b] = NULL;
	else
	{
		slot_getallattrs(in);
		s->head[b] = in;
	}
}

/* The next group in the order: the smallest key of the streams. */
static TupleTableSlot *
merge_order_next(ScanState *ss)
{
	MergeOrderState *s = (MergeOrderState *) ss;
	TupleTableSlot *out = ss->ss_ScanTupleSlot;
	int			b;
	int			min = -1;
	int64		ng;
	TupleTableSlot *batch = NULL;
	MergeOrderRow *top;

	ExecClearTuple(out);
	MemoryContextReset(s->rowcxt);
	if (s->byrun && s->qhead == s->nrows)
	{
		/* the rows probed so far are all returned */
		MemoryContextReset(s->probecxt);
		s->qhead = s->nrows = 0;
	}
	if (!s->started)
	{
		merge_reader_check(s->cols.batch_relid, GetUserId());
		merge_order_start_speed(s);
		for (b = 0; b < s->nbatch; b++)
			merge_order_advance(s, b);
		s->started = true;
		s->pending = -1;
	}
	else if (s->pending >= 0)
	{
		/* the row returned last refers to that branch's row: its next one only now */
		merge_order_advance(s, s->pending);
		s->pending = -1;
	}
	for (b = 0; b < s->nbatch; b++)
	{
		if (s->head[b] == NULL)
			continue;
		if (min < 0 ||
			merge_order_compare(s, s->head[b]->tts_values, s->head[b]->tts_isnull, true,
								s->head[min]->tts_values, s->head[min]->tts_isnull, true) < 0)
			min = b;
	}
	top = merge_order_speed_top(s);
	if (min >= 0 && top != NULL)
	{
		int			c = merge_order_compare(s, s->head[min]->tts_values, s->head[min]->tts_isnull, true,
											top->keys, top->keynulls, false);

		if (c <= 0)
			batch = s->head[min];
		if (c < 0)
		{
			/* only in the batch */
			s->pending = min;
			return merge_order_emit(s, batch, NULL, 0);
		}
	}
	else if (min >= 0)
	{
		s->pending = min;
		return merge_order_emit(s, s->head[min], NULL, 0);
	}
	else if (top == NULL)
		return out;

	/*
	 * The speed rows of the key (they leave the heap, or the run's probes,
	 * one after the other, oldest first).
	 */
	ng = 0;
	do
	{
		if (ng == s->groupcap)
		{
			s->groupcap = Max(8, s->groupcap * 2);
			s->group = s->group ? repalloc(s->group, sizeof(MergeOrderRow *) * s->groupcap) :
				MemoryContextAlloc(s->scancxt, sizeof(MergeOrderRow *) * s->groupcap);
		}
		s->group[ng++] = merge_order_speed_take(s);
		s->taking = s->group[0];
	} while ((top = merge_order_speed_top(s)) != NULL &&
			 merge_order_compare(s, s->group[0]->keys, s->group[0]->keynulls, false,
								 top->keys, top->keynulls, false) == 0);
	s->taking = NULL;
	if (batch)
		s->pending = min;
	return merge_order_emit(s, batch, s->group, ng);
}

static bool
merge_order_recheck(ScanState *ss pg_attribute_unused(), TupleTableSlot *slot pg_attribute_unused())
{
	return true;
}

static TupleTableSlot *
merge_order_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, merge_order_next, merge_order_recheck);
}

static void
merge_order_rescan(CustomScanState *node)
{
	MergeOrderState *s = (MergeOrderState *) node;
	ListCell   *lc;

	if (s->run)
		merge_run_release(s->run, s->runxact);
	s->run = NULL;
	s->byrun = false;
	s->fellback = false;
	s->probed = 0;
	if (s->probecxt)
		MemoryContextReset(s->probecxt);
	MemoryContextReset(s->scancxt);
	MemoryContextReset(s->rowcxt);
	s->rows = NULL;
	s->nrows = 0;
	s->group = NULL;
	s->groupcap = 0;
	s->started = false;
	foreach(lc, node->custom_ps)
	{
		PlanState  *ps = lfirst(lc);

		if (node->ss.ps.chgParam != NULL)
			UpdateChangedParamSet(ps, node->ss.ps.chgParam);
		if (ps->chgParam == NULL)
			ExecReScan(ps);
	}
}

static void
merge_order_end(CustomScanState *node)
{
	MergeOrderState *s = (MergeOrderState *) node;
	int			i;

	if (s->run)
		merge_run_release(s->run, s->runxact);
	s->run = NULL;
	for (i = 0; i < s->nowned; i++)
		ExecEndNode(list_nth(node->custom_ps, i));
}

/* EXPLAIN: the order, and with ANALYZE the speed-layer rows read. */
static void
merge_order_explain(CustomScanState *node, List *ancestors pg_attribute_unused(), ExplainState *es)
{
	MergeOrderState *s = (MergeOrderState *) node;
	StringInfoData names;
	ListCell   *lc;

	initStringInfo(&names);
	foreach(lc, s->ordernames)
	{
		if (names.len > 0)
			appendStringInfoString(&names, ", ");
		appendStringInfoString(&names, strVal(lfirst(lc)));
	}
	ExplainPropertyText("Lambda Order", names.data, es);
	if (es->analyze && s->cols.speed_child >= 0 && (s->byrun || s->fellback))
	{
		StringInfoData how;

		initStringInfo(&how);
		appendStringInfo(&how, "ordered run (" INT64_FORMAT " keys, ", s->runsize);
		if (s->runbuilt)
			appendStringInfoString(&how, "made now");
		else if (s->runadded > 0)
			appendStringInfo(&how, "kept, " INT64_FORMAT " new", s->runadded);
		else
			appendStringInfoString(&how, "kept");
		appendStringInfo(&how, "), " INT64_FORMAT " probed", s->probed);
		if (s->fellback)
			appendStringInfoString(&how, ", then every row (the speed layer turned incomplete)");
		ExplainPropertyText("Speed Layer Read", how.data, es);
	}
	if (es->analyze && s->cols.speed_child >= 0 && !s->byrun)
		ExplainPropertyInteger("Speed Layer Rows Ordered", NULL, s->read, es);
}

/* Installs the planner hook, chaining whatever was there before. */
void
merge_order_init(void)
{
	RegisterCustomScanMethods(&merge_order_scan_methods);
	merge_order_prev_hook = create_upper_paths_hook;
	create_upper_paths_hook = merge_order_upper_paths;
}
