/*-------------------------------------------------------------------------
 *
 * merge_group.c
 *	  The merged scan of a continuous view: batch rows streamed, the speed
 *	  layer's keys hashed, instead of grouping every row of the view.
 *
 * A lambda view groups "batch UNION ALL speed" by its keys and combines the
 * states of each group with lambda_catalog.merge (view_parts.c). The batch
 * table holds one row per key (its unique index), and the speed layer after
 * a refresh holds few keys; yet PostgreSQL's aggregation hashes (or sorts)
 * every row, so that a read of the whole view built a hash table of all its
 * groups: most of the time of a full scan or a rollup went to that table.
 *
 * When the planner groups a view's merged UNION ALL by all its keys (not a
 * sliding window, whose steps are merged away), with only merge aggregates
 * over the branches' state columns, this room's create_upper_paths_hook
 * offers a custom scan in place of the aggregation:
 *
 *   1. it reads the speed-layer branch and keeps its rows per key in a hash
 *      table (by the keys' own equality and hash functions, NULL equal to
 *      NULL, as GROUP BY compares);
 *   2. it streams the batch branches: a batch row whose key is not in the
 *      hash table is one group, finalized at once; one whose key is, is
 *      combined with the speed rows of its key (batch first, then the speed
 *      rows in the order they came, as the aggregation did);
 *   3. it returns the keys only in the speed layer.
 *
 * Conditions on the keys reach the branches as before (they are below it),
 * and its memory is the speed layer's keys, not the view's. It is offered
 * only when the planner's estimate of those keys fits in what a hash
 * aggregate may take (work_mem x hash_mem_multiplier); with a larger speed
 * layer the aggregation stays, which spills to disk. EXPLAIN shows
 * "Custom Scan (LambdaMerge)" with the branches under it: for a read of the
 * whole view, one sequential scan of the batch table, without the filter
 * that splits long keys from the others and without a projection
 * (merge_group_whole_batch, merge_group_physical). A batch row without
 * speed rows is finalized from its states' bytes in place
 * (merge_group_fold_one).
 *
 * When the query may run in parallel and the speed branch is probed by key
 * image, a parallel-aware variant is offered too (merge_group_add_partial):
 * under a Gather the batch table is split among the leader and the workers
 * by a parallel sequential scan, the leader copies the speed layer once
 * into the query's shared memory for all of them, and the last participant
 * to finish its batch rows returns the keys only in the speed layer ("Parallel
 * execution" below). The planner chooses it by cost, as for a table.
 *
 * Privileges: the scan combines a view's states only for a role that may
 * read the view, checked as the merge aggregate checks (mergestate.c).
 *
 * Locks: none of its own; the branches take what their scans take. A
 * parallel scan's shared state is guarded by its spinlock (MergeGroupShared).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/nodeHash.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "parser/parsetree.h"
#include "storage/spin.h"
#include "utils/datum.h"
#include "utils/dsa.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "batch.h"
#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "merge.h"
#include "merge_group.h"
#include "merge_image.h"
#include "mergestate.h"
#include "speed_set.h"
#include "stateimage.h"
#include "view_stats.h"

#define MERGE_GROUP_NAME "LambdaMerge"

/* allocation headers and copies of a speed-layer key's datums, roughly */
#define MERGE_GROUP_KEY_OVERHEAD 96

/* a speed-layer entry copied into a parallel scan's shared memory, in cpu_tuple_cost */
#define MERGE_GROUP_SHARE_COST	4.0

/* states of one group that merge_group_fold merges at once */
#define MERGE_GROUP_FOLD_MAX	8

/* What an output column is (merge_image.c reads the same codes) */
#define MG_CONST	MERGE_COL_CONST /* a constant (a column the query does not use) */
#define MG_KEY		MERGE_COL_KEY	/* a key column */
#define MG_AGG		MERGE_COL_AGG	/* a merge aggregate */

/* How a batch branch restricts the batch table (merge_group_split_kind) */
#define MERGE_GROUP_SHORT	1		/* by NOT _lambda_long */
#define MERGE_GROUP_LONG	2		/* by _lambda_long */

static create_upper_paths_hook_type merge_group_prev_hook = NULL;

/* One speed-layer row of a key: per aggregate column its state (0: NULL) */
typedef struct MergeGroupRow
{
	struct MergeGroupRow *next;
	Datum		states[FLEXIBLE_ARRAY_MEMBER];
} MergeGroupRow;

/* A key of the speed layer and its rows, in arrival order */
typedef struct MergeGroupEntry
{
	struct MergeGroupEntry *next;
	uint32		hash;
	bool		emitted;
	Datum	   *keys;			/* in the same allocation */
	bool	   *keynulls;
	MergeGroupRow *first;
	MergeGroupRow *last;
} MergeGroupEntry;

/*
 * What the participants of a parallel merged scan share (in the query's
 * dynamic shared memory): the speed layer's copy, made once by the leader
 * (merge_group_share), and who returns the keys only in the speed layer.
 * The participants that read batch rows count themselves in "active" before
 * their first row and out after their last; the one that counts out last
 * takes "rest" and returns those keys. A participant that starts after
 * that returns nothing (every batch row was read). No participant waits for
 * another. mutex guards active and rest; set and nbytes are written by the
 * leader before any worker starts.
 */
typedef struct MergeGroupShared
{
	slock_t		mutex;
	int			active;			/* participants reading batch rows */
	bool		rest;			/* the keys only in the speed layer are taken */
	dsa_pointer set;			/* the flat copy (speed_set_flatten), or invalid */
} MergeGroupShared;

/*
 * An output column of a group of one batch row whose states are each its
 * aggregate's result (merge_group_emit_alone): the input column it is
 * (a key), or whose state's bytes it is (len: the state's length).
 */
typedef struct MergeGroupAloneCol
{
	int			out;			/* output column */
	int			in;				/* input column */
	int			len;			/* 0: a key; else sizeof(int32) or sizeof(int64) */
} MergeGroupAloneCol;

typedef struct MergeGroupState
{
	CustomScanState css;
	MergeImageCols cols;		/* what it reads and returns */
	FmgrInfo   *eqfn;
	FmgrInfo   *hashfn;
	Oid		   *keycoll;
	int16	   *keylen;
	bool	   *keybyval;
	bool	   *foldable;		/* per aggregate: merge_state_foldable */
	bool	   *alone;			/* ... and a state alone is its result as it lies */
	bool		by_alone;		/* merge_group_emit_alone may fill the output */
	MergeGroupAloneCol *alonecols;	/* ... its columns that are not constants */
	int			nalonecols;
	int			natts;			/* the input columns read (keys, states) */
	/* execution */
	int			phase;			/* 0 not started, 1 batch, 2 speed only, 3 done */
	int			child;
	PlanState  *direct;			/* the branch read from its access method (merge_batch_next) */
	MergeGroupEntry **buckets;
	int			nbuckets;
	int			nentries;
	int			iter_bucket;
	MergeGroupEntry *iter_entry;
	MemoryContext scancxt;		/* the hash table */
	MemoryContext rowcxt;		/* one output row */
	MergeImage *image;			/* probing by key image (merge_image.c), or NULL */
	bool		by_image;		/* ... and this scan does */
	/* a participant of a parallel scan */
	MergeGroupShared *shared;	/* or NULL: the scan is not parallel */
	SpeedSet   *shared_set;		/* the shared copy, or NULL when empty */
	SpeedSet   *local_set;		/* the leader's own copy, until it starts */
	bool		joined;			/* counted in shared->active */
	MemoryContext sharedcxt;	/* shared_set's head */
} MergeGroupState;

static Plan *merge_group_plan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
							  List *tlist, List *clauses, List *custom_plans);
static Node *merge_group_create_state(CustomScan *cscan);
static void merge_group_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *merge_group_exec(CustomScanState *node);
static void merge_group_end(CustomScanState *node);
static void merge_group_rescan(CustomScanState *node);
static int	merge_group_split_kind(PlannerInfo *root, Path *path, Oid batch_relid, AttrNumber longatt);
static Size merge_group_estimate_dsm(CustomScanState *node, ParallelContext *pcxt);
static void merge_group_init_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate);
static void merge_group_reinit_dsm(CustomScanState *node, ParallelContext *pcxt, void *coordinate);
static void merge_group_init_worker(CustomScanState *node, shm_toc *toc, void *coordinate);

static const CustomPathMethods merge_group_path_methods = {
	.CustomName = MERGE_GROUP_NAME,
	.PlanCustomPath = merge_group_plan,
};

static const CustomScanMethods merge_group_scan_methods = {
	.CustomName = MERGE_GROUP_NAME,
	.CreateCustomScanState = merge_group_create_state,
};

static const CustomExecMethods merge_group_exec_methods = {
	.CustomName = MERGE_GROUP_NAME,
	.BeginCustomScan = merge_group_begin,
	.ExecCustomScan = merge_group_exec,
	.EndCustomScan = merge_group_end,
	.ReScanCustomScan = merge_group_rescan,
	.EstimateDSMCustomScan = merge_group_estimate_dsm,
	.InitializeDSMCustomScan = merge_group_init_dsm,
	.ReInitializeDSMCustomScan = merge_group_reinit_dsm,
	.InitializeWorkerCustomScan = merge_group_init_worker,
};

/* ------------------------------------------------------------------------
 * Planning
 * ------------------------------------------------------------------------
 */

/* The 0-based position of expr in exprs, or -1. */
int
merge_group_position(List *exprs, Node *expr)
{
	ListCell   *lc;
	int			i = 0;

	foreach(lc, exprs)
	{
		if (equal(lfirst(lc), expr))
			return i;
		i++;
	}
	return -1;
}

/* Whether aggref is lambda_catalog.merge(batch, aggno, <input column>, NULL::t) of def. */
static bool
merge_group_is_merge(Aggref *aggref, ViewDef *def, List *inexprs, int *aggno, int *pos)
{
	TargetEntry *a1,
			   *a2,
			   *a3;
	Const	   *c1,
			   *c2;

	if (aggref->aggfilter || aggref->aggdistinct || aggref->aggorder || aggref->aggstar ||
		aggref->agglevelsup != 0 || aggref->aggkind != AGGKIND_NORMAL ||
		list_length(aggref->args) != 4)
		return false;
	if (get_func_namespace(aggref->aggfnoid) != catalog_namespace() ||
		strcmp(get_func_name(aggref->aggfnoid), "merge") != 0)
		return false;
	a1 = linitial(aggref->args);
	a2 = lsecond(aggref->args);
	a3 = lthird(aggref->args);
	if (!IsA(a1->expr, Const) || !IsA(a2->expr, Const) || !IsA(a3->expr, Var))
		return false;
	c1 = (Const *) a1->expr;
	c2 = (Const *) a2->expr;
	if (c1->constisnull || c2->constisnull || c1->consttype != REGCLASSOID || c2->consttype != INT4OID ||
		DatumGetObjectId(c1->constvalue) != def->batch_relid)
		return false;
	*aggno = DatumGetInt32(c2->constvalue);
	if (*aggno < 1 || *aggno > def->naggs || aggref->aggtype != def->aggs[*aggno - 1].meta.resulttype)
		return false;
	*pos = merge_group_position(inexprs, (Node *) a3->expr);
	return *pos >= 0;
}

/*
 * Whether the grouping of input_rel (into output_rel) is one a merged scan
 * can take the place of (see MergeGrouping), and if so, fills g.
 */
bool
merge_group_grouping(PlannerInfo *root, RelOptInfo *input_rel, RelOptInfo *output_rel,
					 MergeGrouping *g)
{
	Query	   *parse = root->parse;
	RangeTblEntry *rte;
	RangeTblEntry *batch_leaf;
	Path	   *inpath;
	ListCell   *lc;

	memset(g, 0, sizeof(MergeGrouping));
	if (parse->groupingSets || parse->havingQual || parse->groupClause == NIL ||
		!parse->hasAggs || parse->hasWindowFuncs || parse->hasTargetSRFs ||
		output_rel->pathlist == NIL)
		return false;
	if (input_rel->reloptkind != RELOPT_BASEREL || input_rel->rtekind != RTE_SUBQUERY)
		return false;
	rte = planner_rt_fetch(input_rel->relid, root);
	if (!rte->inh)
		return false;
	g->def = view_stats_union_view(rte->subquery, &batch_leaf);
	if (g->def == NULL || g->def->sliding || g->def->nkeys == 0 ||
		list_length(parse->groupClause) != g->def->nkeys)
		return false;
	/*
	 * The UNION ALL, or (since 17, when WHERE fixes a key and the grouping
	 * reads its columns in another order) a projection of its columns over
	 * it: the branches' rows are what the scan reads either way, and it
	 * finds each key and state by its position in the UNION ALL's rows.
	 */
	inpath = input_rel->cheapest_total_path;
	if (inpath != NULL && IsA(inpath, ProjectionPath))
		inpath = ((ProjectionPath *) inpath)->subpath;
	if (inpath == NULL || !IsA(inpath, AppendPath))
		return false;
	g->app = (AppendPath *) inpath;
	if (g->app->path.param_info != NULL || g->app->subpaths == NIL)
		return false;
	g->inexprs = g->app->path.pathtarget->exprs;

	/* the keys: every key of the view, each an input column */
	foreach(lc, parse->groupClause)
	{
		TargetEntry *tle = get_sortgroupclause_tle(lfirst(lc), parse->targetList);
		int			pos;

		if (!IsA(tle->expr, Var) || (pos = merge_group_position(g->inexprs, (Node *) tle->expr)) < 0)
			return false;
		g->keypos = lappend_int(g->keypos, pos);
	}

	/* the output: keys, merge aggregates, constants */
	foreach(lc, output_rel->reltarget->exprs)
	{
		Node	   *e = lfirst(lc);
		int			aggno;
		int			pos;

		if (IsA(e, Const))
		{
			g->colkind = lappend_int(g->colkind, MG_CONST);
			g->colidx = lappend_int(g->colidx, 0);
		}
		else if (IsA(e, Var))
		{
			int			k;

			pos = merge_group_position(g->inexprs, e);
			if (pos < 0 || !list_member_int(g->keypos, pos))
				return false;
			for (k = 0; list_nth_int(g->keypos, k) != pos; k++)
				;
			g->colkind = lappend_int(g->colkind, MG_KEY);
			g->colidx = lappend_int(g->colidx, k);
		}
		else if (IsA(e, Aggref) && merge_group_is_merge((Aggref *) e, g->def, g->inexprs, &aggno, &pos))
		{
			g->colkind = lappend_int(g->colkind, MG_AGG);
			g->colidx = lappend_int(g->colidx, list_length(g->aggpos));
			g->aggpos = lappend_int(g->aggpos, pos);
			g->aggnos = lappend_int(g->aggnos, aggno);
		}
		else
			return false;
	}
	return true;
}

/*
 * A parallel merged scan (see merge_group_share) beside the serial one
 * (serial, whose speed branch is speed_child and which probes the speed
 * layer's copy by key image): the same scan over a partial path of each
 * batch branch, a parallel sequential scan, so that a Gather above it
 * (PostgreSQL puts one where the view's rows are used, with partial
 * aggregation for a rollup, when it costs less) splits the batch rows
 * among the workers. The speed layer is read once, by the leader, whatever
 * the number of workers. Offered when the query may run in parallel and
 * every batch branch is the batch table itself (PostgreSQL pulled the
 * branch up). The appendrel of the view's UNION ALL gets no partial paths
 * of its own (its speed branch, a foreign table, may not run in a worker),
 * so the batch branches' parallel scans are made here, and the grouping
 * rel, whose only paths are the merged scan's, is marked as one that
 * parallel plans may use.
 */
static void
merge_group_add_partial(PlannerInfo *root, RelOptInfo *output_rel, CustomPath *serial,
						int speed_child)
{
	CustomPath *cp;
	List	   *paths = NIL;
	ListCell   *lc;
	double		rows = 0;
	double		partial_rows = 0;
	Cost		total = 0;
	int			workers = 0;
	int			i = 0;
	Oid			batch_relid = (Oid) lsecond_int(linitial(serial->custom_private));
	AttrNumber	longatt = get_attnum(batch_relid, BATCH_LONG_COLUMN);
	int			nshort = 0;
	int			nlong = 0;
	int			nbatch = 0;
	Cost		share;

	if (!root->glob->parallelModeOK || max_parallel_workers_per_gather <= 0 ||
		!is_parallel_safe(root, (Node *) output_rel->reltarget->exprs))
		return;

	/*
	 * The batch table in its two branches, NOT _lambda_long and _lambda_long,
	 * and nothing else: the plan reads them in one scan
	 * (merge_group_whole_batch), so the second costs nothing (its partial
	 * path stays in the path, in case the plan reads it after all).
	 */
	if (longatt != InvalidAttrNumber)
	{
		foreach(lc, serial->custom_paths)
		{
			int			kind;

			if (foreach_current_index(lc) == speed_child)
				continue;
			kind = merge_group_split_kind(root, lfirst(lc), batch_relid, longatt);
			nshort += kind == MERGE_GROUP_SHORT;
			nlong += kind == MERGE_GROUP_LONG;
			nbatch++;
		}
	}
	foreach(lc, serial->custom_paths)
	{
		Path	   *sub = lfirst(lc);
		RelOptInfo *crel = sub->parent;
		Path	   *pp;
		Path	   *scan;
		int			w;
		bool		free_branch;

		if (i++ == speed_child)
		{
			paths = lappend(paths, sub);
			continue;
		}
		if (crel->reloptkind != RELOPT_OTHER_MEMBER_REL ||
			!is_parallel_safe(root, (Node *) crel->baserestrictinfo) ||
			!is_parallel_safe(root, (Node *) crel->reltarget->exprs))
			return;
		if (crel->rtekind == RTE_RELATION)
		{
			/* a branch PostgreSQL pulled up: the batch table's own scan */
			w = compute_parallel_worker(crel, crel->pages, -1, max_parallel_workers_per_gather);
			if (w <= 0)
				return;
			pp = scan = create_seqscan_path(root, crel, NULL, w);
		}
		else if (crel->rtekind == RTE_SUBQUERY && crel->subroot != NULL)
		{
			/* a subquery (with a WHERE): its own cheapest partial path */
			RelOptInfo *final = fetch_upper_rel(crel->subroot, UPPERREL_FINAL, NULL);
			Path	   *subpp;

			if (final->partial_pathlist == NIL)
				return;
			subpp = linitial(final->partial_pathlist);
			if (!subpp->parallel_safe || subpp->param_info != NULL || subpp->parallel_workers <= 0)
				return;
			pp = (Path *) create_subqueryscan_path(root, crel, subpp, false, NIL, NULL);
			scan = subpp;

			/*
			 * What the serial branch's Subquery Scan costs per row on top of
			 * its subquery (nothing since 16 when it only passes the rows
			 * on), the same for this one.
			 */
			if (IsA(sub, SubqueryScanPath))
			{
				Path	   *below = ((SubqueryScanPath *) sub)->subpath;
				double		per_row = Max(sub->total_cost - below->total_cost, 0) /
					Max(sub->rows, 1);

				pp->startup_cost = subpp->startup_cost;
				pp->total_cost = subpp->total_cost + per_row * subpp->rows;
			}
		}
		else
			return;
		if (!equal(pp->pathtarget->exprs, sub->pathtarget->exprs))
			return;
		/* safe: the branch's conditions and columns are (checked above) */
		pp->parallel_safe = true;
		w = pp->parallel_workers;
		workers = Max(workers, w);
		paths = lappend(paths, pp);
		free_branch = nbatch == 2 && nshort == 1 && nlong == 1 &&
			merge_group_split_kind(root, sub, batch_relid, longatt) == MERGE_GROUP_LONG;
		if (!free_branch)
		{
			rows += sub->rows;
			partial_rows += scan->rows;
			total += pp->total_cost;
		}
	}
	if (workers == 0)
		return;
	cp = makeNode(CustomPath);
	memcpy(cp, serial, sizeof(CustomPath));
	cp->path.parallel_aware = true;
	cp->path.parallel_safe = true;
	cp->path.parallel_workers = workers;
	/* each participant's share of the groups; the speed layer read once */
	cp->path.rows = clamp_row_est(serial->path.rows * (rows > 0 ? partial_rows / rows : 1));
	/*
	 * The leader's copy of the speed layer into shared memory, before the
	 * workers start: a copy of each entry (with its share of the index),
	 * in memory new to the process, and the workers' first touches of it.
	 * Measured at about four times a row's cpu_tuple_cost per entry
	 * (docs/benchmarks.md), which keeps a large speed layer serial.
	 */
	share = ((Path *) list_nth(serial->custom_paths, speed_child))->rows *
		MERGE_GROUP_SHARE_COST * cpu_tuple_cost;
	cp->path.startup_cost = serial->path.startup_cost + share;
	cp->path.total_cost = cp->path.startup_cost + total + partial_rows * cpu_tuple_cost;
	cp->custom_paths = paths;
	cp->custom_private = list_copy(serial->custom_private);
	output_rel->consider_parallel = true;
	add_partial_path(output_rel, (Path *) cp);
}

/*
 * Offers the merged scan for the grouping of a view's merged UNION ALL
 * (input_rel) when it can replace it; see the header.
 */
static void
merge_group_add_path(PlannerInfo *root, RelOptInfo *input_rel, RelOptInfo *output_rel)
{
	Query	   *parse = root->parse;
	MergeGrouping g;
	ViewDef    *def;
	List	   *keyops = NIL,
			   *keycolls = NIL;
	ListCell   *lc;
	int			speed_child = -1;
	int			i;
	List	   *imgkey = NIL;
	double		inrows = 0;
	Cost		total = 0;
	Cost		startup = 0;
	CustomPath *cp;

	if (!merge_group_grouping(root, input_rel, output_rel, &g))
		return;
	def = g.def;

	/* the branches: the speed layer once, the rest the batch table */
	i = 0;
	foreach(lc, g.app->subpaths)
	{
		Path	   *sub = lfirst(lc);
		RangeTblEntry *srte;

		Oid			relid;

		if (sub->param_info != NULL || sub->parent->reloptkind != RELOPT_OTHER_MEMBER_REL ||
			list_length(sub->pathtarget->exprs) != list_length(g.inexprs))
			return;
		/* a branch is its table, or a subquery reading it */
		srte = planner_rt_fetch(sub->parent->relid, root);
		relid = srte->rtekind == RTE_RELATION ? srte->relid : view_stats_leaf_relid(srte);
		if (relid == def->speed_relid && speed_child < 0)
			speed_child = i;
		else if (relid != def->batch_relid)
			return;
		inrows += sub->rows;
		total += sub->total_cost;
		i++;
	}

	/* the keys are hashed: their equality operators, hash functions, collations */
	foreach(lc, parse->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, parse->targetList);
		Oid			hashfn;

		if (!sgc->hashable || !get_op_hash_functions(sgc->eqop, &hashfn, NULL))
			return;
		keyops = lappend_oid(keyops, sgc->eqop);
		keycolls = lappend_oid(keycolls, exprCollation((Node *) tle->expr));
	}

	/*
	 * Its memory is the speed layer's keys: when it probes the speed scan's
	 * copy by key image, that copy (which any read of the speed layer makes);
	 * else its own hash table, within what a hash aggregate may take
	 * (work_mem x hash_mem_multiplier), or PostgreSQL's aggregation, which
	 * spills to disk, stays.
	 */
	if (speed_child >= 0)
	{
		Path	   *sp = list_nth(g.app->subpaths, speed_child);
		double		per_key = MAXALIGN(sizeof(MergeGroupEntry)) + sizeof(Datum) * (def->nkeys + def->naggs) +
			sp->pathtarget->width + MERGE_GROUP_KEY_OVERHEAD;

		imgkey = merge_image_keys(def, sp, g.keypos, keyops, keycolls, g.aggpos, g.aggnos);
		if (imgkey == NIL && sp->rows * per_key > (double) get_hash_memory_limit())
			return;
		startup = sp->total_cost;
	}
	cp = makeNode(CustomPath);
	cp->path.pathtype = T_CustomScan;
	cp->path.parent = output_rel;
	cp->path.pathtarget = output_rel->reltarget;
	cp->path.param_info = NULL;
	cp->path.parallel_aware = false;
	cp->path.parallel_safe = false;
	cp->path.parallel_workers = 0;
	/*
	 * Its groups: every batch row is one (one row per key, in one branch),
	 * and so is every speed-layer key; the two overlap by an unknown part.
	 * PostgreSQL's estimate for the GROUP BY of the union (without column
	 * statistics, at most a tenth of its rows) is raised to halfway between
	 * the larger of the two and their sum, and kept below the sum.
	 */
	{
		double		speedrows = speed_child >= 0 ?
			((Path *) list_nth(g.app->subpaths, speed_child))->rows : 0;
		double		batchrows = Max(inrows - speedrows, 0);
		double		lower = Max(batchrows, speedrows);

		cp->path.rows = ((Path *) linitial(output_rel->pathlist))->rows;
		cp->path.rows = clamp_row_est(Min(Max(cp->path.rows, (lower + inrows) / 2), Max(inrows, 1)));
	}
	cp->path.startup_cost = startup;
	cp->path.total_cost = total + inrows * cpu_tuple_cost;
	cp->path.pathkeys = NIL;
	cp->flags = 0;
	cp->custom_paths = list_copy(g.app->subpaths);
	cp->custom_private = list_make5(list_make2_int(speed_child, (int) def->batch_relid),
									list_make3(g.keypos, keyops, keycolls),
									g.colkind, g.colidx, list_make2(g.aggpos, g.aggnos));
	cp->custom_private = lappend(cp->custom_private, imgkey);
	cp->methods = &merge_group_path_methods;
	/* it does what the aggregation paths do, with less: they go */
	output_rel->pathlist = NIL;
	output_rel->partial_pathlist = NIL;
	add_path(output_rel, (Path *) cp);
	if (imgkey != NIL)
		merge_group_add_partial(root, output_rel, cp, speed_child);
}

/* create_upper_paths_hook */
static void
merge_group_upper_paths(PlannerInfo *root, UpperRelationKind stage, RelOptInfo *input_rel,
						RelOptInfo *output_rel, void *extra)
{
	if (merge_group_prev_hook)
		merge_group_prev_hook(root, stage, input_rel, output_rel, extra);
	if (stage == UPPERREL_GROUP_AGG)
		merge_group_add_path(root, input_rel, output_rel);
}

/*
 * How a branch (path) of the merged scan restricts the batch table (of
 * relid batch_relid, whose column _lambda_long is longatt):
 * MERGE_GROUP_SHORT when by exactly "NOT _lambda_long", MERGE_GROUP_LONG
 * when by exactly "_lambda_long", 0 otherwise (any other condition, or a
 * branch of another shape). The branch is the batch table itself (a branch
 * PostgreSQL pulled up) or a one-table subquery over it.
 */
static int
merge_group_split_kind(PlannerInfo *root, Path *path, Oid batch_relid, AttrNumber longatt)
{
	RelOptInfo *rel = path->parent;
	RangeTblEntry *rte = planner_rt_fetch(rel->relid, root);
	RestrictInfo *ri;
	Node	   *clause;
	int			kind = MERGE_GROUP_LONG;

	if (rte->rtekind == RTE_SUBQUERY)
	{
		Query	   *sq = rte->subquery;
		RangeTblRef *rtr;

		if (rel->baserestrictinfo != NIL || rel->subroot == NULL || sq->hasAggs ||
			sq->groupClause != NIL || sq->havingQual != NULL || sq->setOperations != NULL ||
			sq->limitCount != NULL || sq->limitOffset != NULL || sq->distinctClause != NIL ||
			sq->sortClause != NIL || sq->hasWindowFuncs || sq->hasTargetSRFs || sq->rowMarks != NIL ||
			list_length(sq->jointree->fromlist) != 1 || !IsA(linitial(sq->jointree->fromlist), RangeTblRef))
			return 0;
		rtr = linitial(sq->jointree->fromlist);
		root = rel->subroot;
		if (rtr->rtindex >= root->simple_rel_array_size || root->simple_rel_array[rtr->rtindex] == NULL)
			return 0;
		rel = root->simple_rel_array[rtr->rtindex];
		rte = planner_rt_fetch(rel->relid, root);
	}
	if (rte->rtekind != RTE_RELATION || rte->relid != batch_relid || list_length(rel->baserestrictinfo) != 1)
		return 0;
	ri = linitial(rel->baserestrictinfo);
	clause = (Node *) ri->clause;
	if (is_notclause(clause))
	{
		clause = (Node *) get_notclausearg((Expr *) clause);
		kind = MERGE_GROUP_SHORT;
	}
	if (!IsA(clause, Var) || ((Var *) clause)->varno != (int) rel->relid ||
		((Var *) clause)->varattno != longatt || ((Var *) clause)->varlevelsup != 0)
		return 0;
	return kind;
}

/* A branch's sequential scan (through a Subquery Scan without conditions), or NULL. */
static Plan *
merge_group_branch_seqscan(Plan *plan)
{
	if (IsA(plan, SubqueryScan) && plan->qual == NIL)
		plan = ((SubqueryScan *) plan)->subplan;
	return IsA(plan, SeqScan) ? plan : NULL;
}

/*
 * The batch table read once. A view whose keys can be long reads its batch
 * table in two branches, "WHERE NOT _lambda_long" and "WHERE _lambda_long"
 * (view_parts.c); when nothing else restricts either (a read of the whole
 * view) and the first is a sequential scan, that scan without its filter
 * returns the rows of both, each once: the second branch is left out of
 * plans (custom_plans, the plans of paths) and speed_child moves to its
 * place in what is left. The merged scan takes every batch row as a group
 * of its own whichever branch it comes from (a key is in the batch table
 * once), so the answer is the same, without the filter on every row. The
 * second branch's path leaves *paths too.
 */
static List *
merge_group_whole_batch(PlannerInfo *root, List **paths, List *plans, Oid batch_relid,
						int *speed_child)
{
	AttrNumber	longatt = get_attnum(batch_relid, BATCH_LONG_COLUMN);
	int			shortb = -1;
	int			longb = -1;
	Plan	   *seq;
	ListCell   *lp,
			   *lc;
	int			i = 0;

	if (longatt == InvalidAttrNumber)
		return plans;
	forboth(lp, *paths, lc, plans)
	{
		int			kind = i == *speed_child ? 0 :
			merge_group_split_kind(root, lfirst(lp), batch_relid, longatt);

		if (kind == MERGE_GROUP_SHORT && shortb < 0 && merge_group_branch_seqscan(lfirst(lc)))
			shortb = i;
		else if (kind == MERGE_GROUP_LONG && longb < 0)
			longb = i;
		i++;
	}
	if (shortb < 0 || longb < 0)
		return plans;
	seq = merge_group_branch_seqscan(list_nth(plans, shortb));
	if (list_length(seq->qual) != 1)
		return plans;
	seq->qual = NIL;
	if (*speed_child > longb)
		(*speed_child)--;
	*paths = list_delete_nth_cell(list_copy(*paths), longb);
	return list_delete_nth_cell(list_copy(plans), longb);
}

/* Whether each entry i (from 1) of tlist is a column i of relation varno. */
static bool
merge_group_tlist_in_order(List *tlist, Index varno)
{
	ListCell   *lc;
	AttrNumber	i = 1;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst(lc);
		Var		   *v = (Var *) tle->expr;

		if (tle->resjunk || !IsA(v, Var) || v->varno != (int) varno || v->varattno != i ||
			v->varlevelsup != 0)
			return false;
		i++;
	}
	return true;
}

/*
 * A batch branch's sequential scan made to return the table's rows as they
 * lie. PostgreSQL gives a scan of a UNION ALL branch a target list of the
 * branch's columns (never the table's own, as for a table alone), so each
 * row was projected, and projected again by the Subquery Scan of a branch it
 * did not pull up. When the columns read are the table's at the same
 * positions (a view's batch table begins with its keys and states, in the
 * order of its branches), the scan takes the table's whole target list; a
 * Subquery Scan over it that returns its first columns in order gets a list
 * of all of them, which set_plan_references then removes as trivial: the
 * merged scan reads the branch's columns at the same positions, the rest
 * after them unread. (A Subquery Scan that skips a column, the query not
 * using it, stays: one projection instead of two.)
 * path is the branch's path, plan its plan (changed in place); the caller
 * makes sure it is the only batch branch (the merged scan reads the rows of
 * all batch branches into slots of the first one's kind).
 */
static void
merge_group_physical(PlannerInfo *root, Path *path, Plan *plan)
{
	Plan	   *seq = plan;
	PlannerInfo *subroot = root;
	SubqueryScan *sqs = NULL;
	Index		scanrelid;
	List	   *phys;
	List	   *outer = NIL;
	ListCell   *lc;
	AttrNumber	i = 1;

	if (IsA(plan, SubqueryScan))
	{
		sqs = (SubqueryScan *) plan;
		if (plan->qual != NIL || path->parent->subroot == NULL)
			return;
		seq = sqs->subplan;
		subroot = path->parent->subroot;
	}
	if (!IsA(seq, SeqScan))
		return;
	scanrelid = ((Scan *) seq)->scanrelid;
	if (scanrelid >= (Index) subroot->simple_rel_array_size || subroot->simple_rel_array[scanrelid] == NULL)
		return;
	/*
	 * The scan's columns the branch returns are the table's at the same
	 * positions: all of them in order, or (under a Subquery Scan) those the
	 * Subquery Scan reads (the others are NULLs of columns the query does
	 * not use, whatever they become).
	 */
	if (sqs != NULL)
	{
		foreach(lc, sqs->scan.plan.targetlist)
		{
			TargetEntry *tle = lfirst(lc);
			Var		   *v = (Var *) tle->expr;
			TargetEntry *below;

			if (tle->resjunk || !IsA(v, Var) || v->varno != (int) sqs->scan.scanrelid ||
				v->varlevelsup != 0 || v->varattno < 1 || v->varattno > list_length(seq->targetlist))
				return;
			below = list_nth(seq->targetlist, v->varattno - 1);
			if (below->resjunk || !IsA(below->expr, Var) || ((Var *) below->expr)->varno != (int) scanrelid ||
				((Var *) below->expr)->varattno != v->varattno || ((Var *) below->expr)->varlevelsup != 0)
				return;
		}
	}
	else if (!merge_group_tlist_in_order(seq->targetlist, scanrelid))
		return;
	phys = build_physical_tlist(subroot, subroot->simple_rel_array[scanrelid]);
	if (phys == NIL || list_length(phys) < list_length(seq->targetlist))
		return;
	seq->targetlist = phys;
	/* a Subquery Scan of the columns in order: made trivial, so removed */
	if (sqs == NULL || !merge_group_tlist_in_order(plan->targetlist, sqs->scan.scanrelid))
		return;
	foreach(lc, phys)
	{
		Node	   *e = (Node *) ((TargetEntry *) lfirst(lc))->expr;

		outer = lappend(outer, makeTargetEntry((Expr *) makeVar(sqs->scan.scanrelid, i, exprType(e),
																exprTypmod(e), exprCollation(e), 0),
											   i, NULL, false));
		i++;
	}
	plan->targetlist = outer;
}

/*
 * PlanCustomPath: the scan returns the grouping's target, its branches below
 * it (the batch table's two branches as one when they read all of it:
 * merge_group_whole_batch; a batch branch's sequential scan not projecting
 * its rows: merge_group_physical).
 */
static Plan *
merge_group_plan(PlannerInfo *root, RelOptInfo *rel pg_attribute_unused(),
				 CustomPath *best_path, List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cs = makeNode(CustomScan);
	List	   *head = linitial(best_path->custom_private);
	int			speed_child = linitial_int(head);
	List	   *paths = best_path->custom_paths;

	custom_plans = merge_group_whole_batch(root, &paths, custom_plans, (Oid) lsecond_int(head),
										   &speed_child);
	/* one batch branch (branches of one shape are read into one kind of slot) */
	if (list_length(custom_plans) == (speed_child >= 0 ? 2 : 1))
		merge_group_physical(root, list_nth(paths, speed_child == 0 ? 1 : 0),
							 list_nth(custom_plans, speed_child == 0 ? 1 : 0));
	cs->scan.plan.targetlist = tlist;
	cs->scan.plan.qual = extract_actual_clauses(clauses, false);
	cs->scan.scanrelid = 0;
	cs->custom_plans = custom_plans;
	cs->custom_scan_tlist = copyObject(tlist);
	cs->custom_private = list_copy(best_path->custom_private);
	linitial(cs->custom_private) = list_make2_int(speed_child, lsecond_int(head));
	cs->flags = best_path->flags;
	cs->methods = &merge_group_scan_methods;
	return &cs->scan.plan;
}

/* ------------------------------------------------------------------------
 * Execution
 * ------------------------------------------------------------------------
 */

static Node *
merge_group_create_state(CustomScan *cscan pg_attribute_unused())
{
	MergeGroupState *s = (MergeGroupState *) newNode(sizeof(MergeGroupState), T_CustomScanState);

	s->css.methods = &merge_group_exec_methods;
	return (Node *) s;
}

/*
 * Whether the scan's target list is its scan tuple but for the columns the
 * query does not use, which PostgreSQL made NULL constants (and which the
 * scan tuple holds as NULL: merge_group_set_consts). PostgreSQL projects
 * every row of such a scan (a constant is not a column of the scan tuple);
 * the begin function drops that projection, so that a rollup of some of the
 * view's columns takes the groups as merge_group_next makes them.
 */
static bool
merge_group_tlist_is_scan(MergeGroupState *s, List *tlist, TupleDesc scandesc)
{
	ListCell   *lc;
	int			i = 0;

	if (list_length(tlist) != scandesc->natts || scandesc->natts != s->cols.ncols)
		return false;
	foreach(lc, tlist)
	{
		Expr	   *e = ((TargetEntry *) lfirst(lc))->expr;
		Form_pg_attribute att = TupleDescAttr(scandesc, i);

		if (IsA(e, Var) && ((Var *) e)->varno == INDEX_VAR && ((Var *) e)->varattno == i + 1 &&
			((Var *) e)->vartype == att->atttypid &&
			(((Var *) e)->vartypmod == att->atttypmod || att->atttypmod == -1))
			;
		else if (IsA(e, Const) && ((Const *) e)->constisnull &&
				 ((Const *) e)->consttype == att->atttypid && s->cols.colkind[i] == MG_CONST)
			;
		else
			return false;
		i++;
	}
	return true;
}

static void
merge_group_begin(CustomScanState *node, EState *estate, int eflags)
{
	MergeGroupState *s = (MergeGroupState *) node;
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;
	List	   *head = linitial(cs->custom_private);
	List	   *keys = lsecond(cs->custom_private);
	List	   *colkind = lthird(cs->custom_private);
	List	   *colidx = lfourth(cs->custom_private);
	List	   *aggs = list_nth(cs->custom_private, 4);
	List	   *aggpos = linitial(aggs);
	List	   *aggnos = lsecond(aggs);
	ListCell   *lc;
	int			i;

	merge_cols_init(&s->cols, head, linitial(keys), colkind, colidx, aggpos, aggnos);
	s->eqfn = palloc(sizeof(FmgrInfo) * s->cols.nkeys);
	s->hashfn = palloc(sizeof(FmgrInfo) * s->cols.nkeys);
	s->keycoll = palloc(sizeof(Oid) * s->cols.nkeys);
	s->keylen = palloc(sizeof(int16) * s->cols.nkeys);
	s->keybyval = palloc(sizeof(bool) * s->cols.nkeys);
	for (i = 0; i < s->cols.nkeys; i++)
	{
		Oid			eqop = list_nth_oid(lsecond(keys), i);
		Oid			hashfn;
		Oid			lefttype;
		Oid			righttype;

		s->keycoll[i] = list_nth_oid(lthird(keys), i);
		fmgr_info(get_opcode(eqop), &s->eqfn[i]);
		if (!get_op_hash_functions(eqop, &hashfn, NULL))
			elog(ERROR, "could not find hash function for hash operator %u", eqop);
		fmgr_info(hashfn, &s->hashfn[i]);
		op_input_types(eqop, &lefttype, &righttype);
		get_typlenbyval(lefttype, &s->keylen[i], &s->keybyval[i]);
	}
	s->foldable = palloc(sizeof(bool) * Max(s->cols.naggs, 1));
	s->alone = palloc(sizeof(bool) * Max(s->cols.naggs, 1));
	s->natts = 0;
	for (i = 0; i < s->cols.naggs; i++)
	{
		AggMeta    *meta = s->cols.meta[i];

		s->foldable[i] = merge_state_foldable(meta);
		s->alone[i] = merge_state_alone(meta);
		s->natts = Max(s->natts, s->cols.aggpos[i] + 1);
	}
	for (i = 0; i < s->cols.nkeys; i++)
		s->natts = Max(s->natts, s->cols.keypos[i] + 1);
	/* a group of one batch row, when every aggregate's state is its result */
	s->alonecols = palloc(sizeof(MergeGroupAloneCol) * Max(s->cols.ncols, 1));
	s->nalonecols = 0;
	s->by_alone = true;
	for (i = 0; i < s->cols.ncols; i++)
	{
		int			idx = s->cols.colidx[i];
		MergeGroupAloneCol *ac = &s->alonecols[s->nalonecols];

		if (s->cols.colkind[i] == MG_KEY)
		{
			ac->in = s->cols.keypos[idx];
			ac->len = 0;
		}
		else if (s->cols.colkind[i] == MG_AGG && s->alone[idx])
		{
			ac->in = s->cols.aggpos[idx];
			ac->len = s->cols.meta[idx]->translen;
		}
		else if (s->cols.colkind[i] == MG_AGG)
		{
			s->by_alone = false;
			break;
		}
		else
			continue;			/* a constant: NULL (merge_group_next) */
		ac->out = i;
		s->nalonecols++;
	}
	foreach(lc, cs->custom_plans)
		node->custom_ps = lappend(node->custom_ps, ExecInitNode(lfirst(lc), estate, eflags));
	if (list_nth(cs->custom_private, 5) != NIL)
		s->image = merge_image_begin(node, &s->cols, list_nth(cs->custom_private, 5), aggnos);
	if (node->ss.ps.ps_ProjInfo != NULL &&
		merge_group_tlist_is_scan(s, cs->scan.plan.targetlist,
								  node->ss.ss_ScanTupleSlot->tts_tupleDescriptor))
		node->ss.ps.ps_ProjInfo = NULL;
	s->scancxt = AllocSetContextCreate(CurrentMemoryContext, "LambdaMerge keys", ALLOCSET_DEFAULT_SIZES);
	s->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "LambdaMerge row", ALLOCSET_DEFAULT_SIZES);
	s->sharedcxt = AllocSetContextCreate(CurrentMemoryContext, "LambdaMerge shared", ALLOCSET_SMALL_SIZES);
	s->phase = 0;
}

/* The hash of a key (input slot values at the key positions, or a key's copy). */
static uint32
merge_group_hash(MergeGroupState *s, Datum *vals, bool *nulls, bool from_slot)
{
	uint32		h = 0;
	int			i;

	for (i = 0; i < s->cols.nkeys; i++)
	{
		int			at = from_slot ? s->cols.keypos[i] : i;
		uint32		kh = 0;

		if (!nulls[at])
			kh = DatumGetUInt32(FunctionCall1Coll(&s->hashfn[i], s->keycoll[i], vals[at]));
		h = hash_combine(h, kh);
	}
	return h;
}

/* The speed-layer key equal to the slot's, or NULL (NULL equals NULL). */
static MergeGroupEntry *
merge_group_find(MergeGroupState *s, Datum *vals, bool *nulls, uint32 h)
{
	MergeGroupEntry *e;

	if (s->buckets == NULL)
		return NULL;
	for (e = s->buckets[h & (s->nbuckets - 1)]; e; e = e->next)
	{
		int			i;

		if (e->hash != h)
			continue;
		for (i = 0; i < s->cols.nkeys; i++)
		{
			int			at = s->cols.keypos[i];

			if (nulls[at] != e->keynulls[i])
				break;
			if (!nulls[at] &&
				!DatumGetBool(FunctionCall2Coll(&s->eqfn[i], s->keycoll[i], e->keys[i], vals[at])))
				break;
		}
		if (i == s->cols.nkeys)
			return e;
	}
	return NULL;
}

/* Doubles the hash table. */
static void
merge_group_grow(MergeGroupState *s)
{
	int			n = s->nbuckets * 2;
	MergeGroupEntry **b = MemoryContextAllocZero(s->scancxt, sizeof(MergeGroupEntry *) * n);
	int			i;

	for (i = 0; i < s->nbuckets; i++)
	{
		MergeGroupEntry *e = s->buckets[i];

		while (e)
		{
			MergeGroupEntry *next = e->next;

			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	pfree(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

/* Reads the speed-layer branch into the hash table. */
static void
merge_group_load_speed(MergeGroupState *s)
{
	PlanState  *ps;
	MemoryContext old;

	if (s->cols.speed_child < 0)
		return;
	ps = list_nth(s->css.custom_ps, s->cols.speed_child);
	s->nbuckets = 256;
	s->buckets = MemoryContextAllocZero(s->scancxt, sizeof(MergeGroupEntry *) * s->nbuckets);
	for (;;)
	{
		TupleTableSlot *in = ExecProcNode(ps);
		Datum	   *vals;
		bool	   *nulls;
		uint32		h;
		MergeGroupEntry *e;
		MergeGroupRow *row;
		int			i;

		if (TupIsNull(in))
			break;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(s->scancxt);
		slot_getallattrs(in);
		vals = in->tts_values;
		nulls = in->tts_isnull;
		h = merge_group_hash(s, vals, nulls, true);
		e = merge_group_find(s, vals, nulls, h);
		if (e == NULL)
		{
			Size		sz = MAXALIGN(sizeof(MergeGroupEntry)) + MAXALIGN(sizeof(Datum) * s->cols.nkeys);

			e = palloc0(sz + sizeof(bool) * s->cols.nkeys);
			e->hash = h;
			e->keys = (Datum *) ((char *) e + MAXALIGN(sizeof(MergeGroupEntry)));
			e->keynulls = (bool *) ((char *) e + sz);
			for (i = 0; i < s->cols.nkeys; i++)
			{
				e->keynulls[i] = nulls[s->cols.keypos[i]];
				e->keys[i] = e->keynulls[i] ? (Datum) 0 :
					datumCopy(vals[s->cols.keypos[i]], s->keybyval[i], s->keylen[i]);
			}
			e->next = s->buckets[h & (s->nbuckets - 1)];
			s->buckets[h & (s->nbuckets - 1)] = e;
			if (++s->nentries > s->nbuckets * 2)
				merge_group_grow(s);
		}
		row = palloc(offsetof(MergeGroupRow, states) + sizeof(Datum) * Max(s->cols.naggs, 1));
		row->next = NULL;
		for (i = 0; i < s->cols.naggs; i++)
			row->states[i] = nulls[s->cols.aggpos[i]] ? (Datum) 0 : datumCopy(vals[s->cols.aggpos[i]], false, -1);
		if (e->last)
			e->last->next = row;
		else
			e->first = row;
		e->last = row;
		MemoryContextSwitchTo(old);
	}
}

/*
 * Aggregate idx of a group straight from its states' bytes
 * (merge_state_fold_images): the batch state (when given), then the
 * entry's speed rows. False when it cannot (more states than it takes at
 * once, one compressed or out of line, one of another length): the caller
 * merges through MergeState.
 */
static bool
merge_group_fold(MergeGroupState *s, int idx, Datum *bvals, bool *bnulls, MergeGroupEntry *e,
				 Datum *result, bool *isnull)
{
	const char *images[MERGE_GROUP_FOLD_MAX];
	int			lens[MERGE_GROUP_FOLD_MAX];
	int			n = 0;
	MergeGroupRow *row;

	if (bvals && !bnulls[s->cols.aggpos[idx]])
	{
		if (!merge_state_inline_bytes(bvals[s->cols.aggpos[idx]], &images[n], &lens[n]))
			return false;
		n++;
	}
	for (row = e ? e->first : NULL; row; row = row->next)
	{
		if (row->states[idx] == (Datum) 0)
			continue;
		if (n == MERGE_GROUP_FOLD_MAX ||
			!merge_state_inline_bytes(row->states[idx], &images[n], &lens[n]))
			return false;
		n++;
	}
	return merge_state_fold_images(s->cols.meta[idx], images, lens, n, result, isnull);
}

/*
 * Aggregate idx of a batch row's group without speed-layer rows (the whole
 * view just after a refresh), for a merge_state_foldable aggregate whose
 * state lies in the row under a short header: the state's value itself when
 * that is the result (MergeGroupState.alone: sum, min, max, count), else
 * its combination with the initial state. False when the state is NULL or
 * lies otherwise: the caller merges as for any group. Called per row, so it
 * reads the bytes in place.
 */
static inline bool
merge_group_fold_one(MergeGroupState *s, int idx, Datum *bvals, bool *bnulls, Datum *result,
					 bool *isnull)
{
	AggMeta    *meta = s->cols.meta[idx];
	int			at = s->cols.aggpos[idx];
	struct varlena *v;
	const char *image;
	int			len;

	if (bvals == NULL || bnulls[at])
		return false;
	if (s->alone[idx])
	{
		if (!merge_state_alone_value(bvals[at], meta->translen, result))
			return false;
		*isnull = false;
		return true;
	}
	v = (struct varlena *) DatumGetPointer(bvals[at]);
	if (!VARATT_IS_SHORT(v) || (int) (VARSIZE_SHORT(v) - VARHDRSZ_SHORT) != meta->translen)
		return false;
	image = VARDATA_SHORT(v);
	len = meta->translen;
	return merge_state_fold_images(meta, &image, &len, 1, result, isnull);
}

/*
 * Fills the scan slot with the group of a batch row without speed-layer
 * rows when each aggregate's state is its result (MergeGroupState.alone):
 * each key as the row has it, each state's value read from its bytes in
 * place (as merge_group_fold_one), the constant columns NULL as they were
 * set before the first row. False when a state lies otherwise (NULL,
 * compressed, out of line, of another length): the caller fills the slot
 * as for any group.
 */
static inline bool
merge_group_emit_alone(MergeGroupState *s, Datum *bvals, bool *bnulls)
{
	TupleTableSlot *out = s->css.ss.ss_ScanTupleSlot;
	const MergeGroupAloneCol *ac = s->alonecols;
	const MergeGroupAloneCol *end = ac + s->nalonecols;

	for (; ac < end; ac++)
	{
		if (ac->len == 0)
		{
			out->tts_values[ac->out] = bvals[ac->in];
			out->tts_isnull[ac->out] = bnulls[ac->in];
			continue;
		}
		if (bnulls[ac->in] ||
			!merge_state_alone_value(bvals[ac->in], ac->len, &out->tts_values[ac->out]))
			return false;
		out->tts_isnull[ac->out] = false;
	}
	return true;
}

/* The constant columns of the output (columns the query does not use): NULL. */
static void
merge_group_set_consts(MergeGroupState *s)
{
	TupleTableSlot *out = s->css.ss.ss_ScanTupleSlot;
	int			c;

	for (c = 0; c < s->cols.ncols; c++)
	{
		if (s->cols.colkind[c] == MG_CONST)
		{
			out->tts_values[c] = (Datum) 0;
			out->tts_isnull[c] = true;
		}
	}
}

/*
 * Fills the scan slot with one group: its keys (from the batch row's values
 * or the entry's), each aggregate merged from the batch state (when given)
 * and then the entry's speed rows.
 */
static TupleTableSlot *
merge_group_emit(MergeGroupState *s, Datum *bvals, bool *bnulls, MergeGroupEntry *e)
{
	TupleTableSlot *out = s->css.ss.ss_ScanTupleSlot;
	MemoryContext old;
	int			c;

	old = MemoryContextSwitchTo(s->rowcxt);

	for (c = 0; c < s->cols.ncols; c++)
	{
		int			idx = s->cols.colidx[c];

		switch (s->cols.colkind[c])
		{
			case MG_KEY:
				if (bvals)
				{
					out->tts_values[c] = bvals[s->cols.keypos[idx]];
					out->tts_isnull[c] = bnulls[s->cols.keypos[idx]];
				}
				else
				{
					out->tts_values[c] = e->keys[idx];
					out->tts_isnull[c] = e->keynulls[idx];
				}
				break;
			case MG_AGG:
				{
					MergeState st;
					MergeGroupRow *row;

					if (e == NULL && s->foldable[idx] &&
						merge_group_fold_one(s, idx, bvals, bnulls,
											 &out->tts_values[c], &out->tts_isnull[c]))
						break;
					if (s->foldable[idx] &&
						merge_group_fold(s, idx, bvals, bnulls, e,
										 &out->tts_values[c], &out->tts_isnull[c]))
						break;
					merge_state_init(&st, s->cols.meta[idx], s->rowcxt);
					if (bvals && !bnulls[s->cols.aggpos[idx]])
						merge_state_add(&st, bvals[s->cols.aggpos[idx]], s->rowcxt);
					for (row = e ? e->first : NULL; row; row = row->next)
						if (row->states[idx] != (Datum) 0)
							merge_state_add(&st, row->states[idx], s->rowcxt);
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
	return ExecStoreVirtualTuple(out);
}

/*
 * A participant of a parallel scan counts itself in among those reading
 * batch rows; false when the keys only in the speed layer are taken
 * already, so that every batch row was read: it returns nothing.
 */
static bool
merge_group_join(MergeGroupState *s)
{
	bool		late;

	SpinLockAcquire(&s->shared->mutex);
	late = s->shared->rest;
	if (!late)
		s->shared->active++;
	SpinLockRelease(&s->shared->mutex);
	s->joined = !late;
	return !late;
}

/*
 * A participant of a parallel scan has read its last batch row (and marked
 * the speed-layer entries of the keys it merged): it counts itself out, and
 * whether it returns the keys only in the speed layer, as the last one out.
 * Every batch row was read by then (the batch scans hand out no more, and
 * every participant that read one is counted out), and every entry merged
 * with one is marked (the lock orders those marks before this). Serial: true.
 */
static bool
merge_group_leave(MergeGroupState *s)
{
	bool		last;

	if (s->shared == NULL)
		return true;
	if (!s->joined)
		return false;
	SpinLockAcquire(&s->shared->mutex);
	Assert(s->shared->active > 0);
	s->shared->active--;
	last = s->shared->active == 0 && !s->shared->rest;
	if (last)
		s->shared->rest = true;
	SpinLockRelease(&s->shared->mutex);
	s->joined = false;
	return last;
}

/* The next group: batch rows first, then the keys only in the speed layer. */
static TupleTableSlot *
merge_group_next(ScanState *ss)
{
	MergeGroupState *s = (MergeGroupState *) ss;
	TupleTableSlot *out = ss->ss_ScanTupleSlot;
	int			nchildren = list_length(s->css.custom_ps);

	/* (a row folded in place leaves the row context empty) */
	if (!s->rowcxt->isReset || s->rowcxt->firstchild != NULL)
		MemoryContextReset(s->rowcxt);
	ExecClearTuple(out);
	if (s->phase == 0)
	{
		merge_reader_check(s->cols.batch_relid, GetUserId());
		if (s->shared)
		{
			/* the leader reads the shared copy only: its own goes */
			if (s->local_set)
			{
				speed_set_clear(s->local_set);
				s->local_set = NULL;
			}
			/* a participant: the leader's copy, or none (an empty speed layer) */
			if (!merge_group_join(s))
			{
				s->phase = 3;
				return out;
			}
			s->by_image = s->shared_set != NULL;
			if (s->by_image)
				merge_image_load_shared(s->image, s->shared_set);
		}
		else
		{
			s->by_image = s->image && merge_image_load(s->image);
			if (!s->by_image)
				merge_group_load_speed(s);
		}
		merge_group_set_consts(s);
		s->phase = 1;
		s->child = 0;
		s->direct = NULL;
	}
	if (s->by_image)
	{
		if (merge_image_next(s->image, out, s->rowcxt))
			return out;
		if (merge_image_batch_done(s->image) &&
			merge_image_rest_turn(s->image, merge_group_leave(s)) &&
			merge_image_next(s->image, out, s->rowcxt))
			return out;
		s->phase = 3;
		return out;
	}
	while (s->phase == 1)
	{
		TupleTableSlot *in;

		if (s->child >= nchildren)
		{
			s->phase = s->shared && !merge_group_leave(s) ? 3 : 2;
			s->iter_bucket = -1;
			s->iter_entry = NULL;
			break;
		}
		if (s->child == s->cols.speed_child)
		{
			s->child++;
			continue;
		}
		in = merge_batch_next(list_nth(s->css.custom_ps, s->child), &s->direct);
		if (TupIsNull(in))
		{
			s->child++;
			continue;
		}
		slot_getsomeattrs(in, s->natts);
		{
			MergeGroupEntry *e = NULL;

			/* no speed-layer keys (just after a refresh): nothing to look up */
			if (s->nentries > 0)
			{
				/* what the key's hash and equality functions allocate goes with the row */
				MemoryContext old = MemoryContextSwitchTo(s->rowcxt);

				e = merge_group_find(s, in->tts_values, in->tts_isnull,
									 merge_group_hash(s, in->tts_values, in->tts_isnull, true));
				MemoryContextSwitchTo(old);
			}

			if (e)
				e->emitted = true;
			else if (s->by_alone && merge_group_emit_alone(s, in->tts_values, in->tts_isnull))
				return ExecStoreVirtualTuple(out);
			return merge_group_emit(s, in->tts_values, in->tts_isnull, e);
		}
	}
	while (s->phase == 2)
	{
		if (s->iter_entry)
			s->iter_entry = s->iter_entry->next;
		while (s->iter_entry == NULL)
		{
			if (s->buckets == NULL || ++s->iter_bucket >= s->nbuckets)
			{
				s->phase = 3;
				return out;
			}
			s->iter_entry = s->buckets[s->iter_bucket];
		}
		if (!s->iter_entry->emitted)
			return merge_group_emit(s, NULL, NULL, s->iter_entry);
	}
	return out;
}

static bool
merge_group_recheck(ScanState *ss pg_attribute_unused(), TupleTableSlot *slot pg_attribute_unused())
{
	return true;
}

/*
 * ExecCustomScan. Without a condition or a projection of its own (the
 * usual case: its target list is the grouping's) the scan returns its
 * groups as merge_group_next makes them, as ExecScan would, without
 * ExecScan's per-row work (the expression context's reset, which nothing
 * here uses); under EvalPlanQual it goes through ExecScan.
 */
static TupleTableSlot *
merge_group_exec(CustomScanState *node)
{
	if (node->ss.ps.qual == NULL && node->ss.ps.ps_ProjInfo == NULL &&
		node->ss.ps.state->es_epq_active == NULL)
	{
		/* as ExecScan does per row: the speed-only keys read no child */
		CHECK_FOR_INTERRUPTS();
		return merge_group_next(&node->ss);
	}
	return ExecScan(&node->ss, merge_group_next, merge_group_recheck);
}

/* Forgets the keys read; the branches start again. */
static void
merge_group_reset(MergeGroupState *s)
{
	MemoryContextReset(s->scancxt);
	MemoryContextReset(s->rowcxt);
	s->buckets = NULL;
	s->nbuckets = 0;
	s->nentries = 0;
	s->iter_entry = NULL;
	if (s->image)
		merge_image_reset(s->image);
	s->by_image = false;
	s->joined = false;
	/* a rescan of the speed branch frees it (merge_group_share makes another) */
	s->local_set = NULL;
	s->phase = 0;
}

/* ------------------------------------------------------------------------
 * Parallel execution
 *
 * Under a Gather, the leader and each worker run the scan, each with its
 * share of the batch rows (the batch branches are parallel sequential
 * scans). The speed layer is not MVCC: read twice, it may differ, so only
 * the leader reads it, once, when the Gather sets up its shared memory
 * (merge_group_share): a read of every key goes straight into the query's
 * shared area, as one flat set sized for all the generations it reads
 * (speed_set_create_shared), so the leader keeps no copy of its own;
 * another read (the events', for a degraded speed layer) makes a local copy,
 * which it flattens into the area (speed_set_flatten) and frees once it
 * starts. Every participant probes the shared copy and marks
 * the entries of the keys it merges. The keys only in the speed layer are
 * returned by the last participant to finish its batch rows
 * (MergeGroupShared). Without the shared memory (a Gather run without
 * workers' memory, or no Gather) the scan runs serially, as the plan's
 * parallel scans then return every row.
 * ------------------------------------------------------------------------
 */

static Size
merge_group_estimate_dsm(CustomScanState *node pg_attribute_unused(),
						 ParallelContext *pcxt pg_attribute_unused())
{
	return sizeof(MergeGroupShared);
}

/*
 * The leader copies the speed layer, as its speed branch reads it (with the
 * query's snapshot and cut; read again from the start), into the query's
 * shared area; the shared state starts over. Without that area (no shared
 * memory for the query, so no workers) the scan runs serially.
 */
static void
merge_group_share(MergeGroupState *s, MergeGroupShared *shared)
{
	EState	   *estate = s->css.ss.ps.state;
	dsa_area   *area = estate->es_query_dsa;
	PlanState  *speed;
	SpeedSet   *set;

	s->shared = NULL;
	s->shared_set = NULL;
	s->local_set = NULL;
	s->joined = false;
	MemoryContextReset(s->sharedcxt);
	SpinLockInit(&shared->mutex);
	shared->active = 0;
	shared->rest = false;
	shared->set = InvalidDsaPointer;
	if (area == NULL)
		return;
	/* planned only so (merge_group_add_partial) */
	if (s->image == NULL || s->cols.speed_child < 0)
		elog(ERROR, "parallel merged scan without a speed branch read by key image");
	merge_reader_check(s->cols.batch_relid, GetUserId());
	speed = list_nth(s->css.custom_ps, s->cols.speed_child);
	ExecReScan(speed);
	set = merge_speed_set_shared(speed, area, &shared->set);
	if (set == NULL)
		elog(ERROR, "parallel merged scan without a copy of the speed layer");
	if (DsaPointerIsValid(shared->set))
	{
		/* read straight into the area: the leader has no other copy */
		s->shared_set = speed_set_attach_flat(dsa_get_address(area, shared->set), s->sharedcxt);
	}
	else if (speed_set_count(set) > 0)
	{
		Size		size = speed_set_flat_size(set);
		char	   *flat;

		shared->set = dsa_allocate_extended(area, size, DSA_ALLOC_HUGE);
		flat = dsa_get_address(area, shared->set);
		speed_set_flatten(set, flat);
		s->shared_set = speed_set_attach_flat(flat, s->sharedcxt);
		s->local_set = set;
	}
	s->shared = shared;
}

/* InitializeDSMCustomScan: see merge_group_share. */
static void
merge_group_init_dsm(CustomScanState *node, ParallelContext *pcxt pg_attribute_unused(),
					 void *coordinate)
{
	merge_group_share((MergeGroupState *) node, coordinate);
}

/* ReInitializeDSMCustomScan (the Gather starts again): the last copy goes. */
static void
merge_group_reinit_dsm(CustomScanState *node, ParallelContext *pcxt pg_attribute_unused(),
					   void *coordinate)
{
	MergeGroupShared *shared = coordinate;
	dsa_area   *area = node->ss.ps.state->es_query_dsa;

	if (area != NULL && DsaPointerIsValid(shared->set))
		dsa_free(area, shared->set);
	shared->set = InvalidDsaPointer;
	merge_group_share((MergeGroupState *) node, shared);
}

/* InitializeWorkerCustomScan: a worker finds the leader's copy. */
static void
merge_group_init_worker(CustomScanState *node, shm_toc *toc pg_attribute_unused(),
						void *coordinate)
{
	MergeGroupState *s = (MergeGroupState *) node;
	MergeGroupShared *shared = coordinate;
	EState	   *estate = node->ss.ps.state;

	s->shared = shared;
	s->shared_set = NULL;
	s->local_set = NULL;
	s->joined = false;
	if (DsaPointerIsValid(shared->set))
		s->shared_set = speed_set_attach_flat(dsa_get_address(estate->es_query_dsa, shared->set),
											  s->sharedcxt);
}

/*
 * ReScanCustomScan. A parallel participant's shared state starts over when
 * the Gather starts again (merge_group_reinit_dsm, before or after this).
 */
static void
merge_group_rescan(CustomScanState *node)
{
	MergeGroupState *s = (MergeGroupState *) node;
	ListCell   *lc;

	merge_group_reset(s);
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
merge_group_end(CustomScanState *node)
{
	MergeGroupState *s = (MergeGroupState *) node;
	ListCell   *lc;

	if (s->image)
		merge_image_end(s->image);

	foreach(lc, node->custom_ps)
		ExecEndNode(lfirst(lc));
}

/* Installs the planner hook, chaining whatever was there before. */
void
merge_group_init(void)
{
	RegisterCustomScanMethods(&merge_group_scan_methods);
	merge_group_prev_hook = create_upper_paths_hook;
	create_upper_paths_hook = merge_group_upper_paths;
}
