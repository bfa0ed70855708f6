/*-------------------------------------------------------------------------
 *
 * merge_probe.c
 *	  A continuous view probed per outer row: the parameterized path of a
 *	  plain join with the view on its keys.
 *
 * In "SELECT ... FROM urls u JOIN v ON v.k = u.k" the view v is a grouped
 * subquery (view.c), and PostgreSQL plans a subquery once per query level,
 * without parameters: the join reads the whole view (every batch row and
 * every speed-layer key) and hashes it, where the same query written as
 * "CROSS JOIN LATERAL (SELECT * FROM v WHERE v.k = u.k OFFSET 0)" probes the
 * batch table's index and the speed layer's column index once per row of
 * urls. This room gives the view's relation that probe as one more path,
 * parameterized by the outer relations, and lets the planner choose it by
 * cost (a nested loop over a few outer rows) or not (a hash join when the
 * outer side is large):
 *
 *   1. set_rel_pathlist_hook, for a lambda view's subquery that has join
 *      clauses: for each set of outer relations a join clause needs, the
 *      clauses of that parameterization that compare a key column of the
 *      view (a GROUP BY column) by equality with an expression of the outer
 *      relations;
 *   2. those clauses are added to a copy of the view's query as HAVING,
 *      the outer columns as references to the query level above (what the
 *      LATERAL subquery says), and the copy is planned as a subquery of
 *      this level: PostgreSQL moves the conditions below the grouping into
 *      the batch table's index scan and the speed layer's scan, and turns
 *      the outer columns into executor parameters;
 *   3. the path, "Custom Scan (LambdaProbe)", costs what that plan costs
 *      per execution; chosen, its plan is added to the statement's subplans
 *      (as a correlated subquery's is) and the nested loop above passes the
 *      outer values as parameters (process_subquery_nestloop_params);
 *   4. at each rescan it marks those parameters changed in the subplan and
 *      returns the subplan's rows as the view's.
 *
 * The path's qual is every clause the parameterization and the view's
 * remaining restrictions hold, so each row is checked as a scan of the view
 * would check it. HAVING on grouping columns selects the same groups as a
 * condition above the grouping, which is what the join clause is: the
 * answer is the view's. The query's conditions on the view alone that
 * PostgreSQL has already moved into the view's subquery (they are no longer
 * among the relation's restrictions) are copied from that subquery's WHERE
 * into the probe's. It is not offered when those hold subqueries or outer
 * references, for a security-barrier view, or when an outer expression is
 * not a plain column of an outer relation.
 *
 * EXPLAIN shows "Custom Scan (LambdaProbe)" with "Lambda Probe: <columns>"
 * and the probe's plan under it (the batch table's index scan, the speed
 * layer's "Speed Layer:" path, how the layers merge).
 *
 * Privileges: the probe's plan reads what the view's subquery reads, from
 * the same range table entries (copied with the view's query): PostgreSQL
 * checks them as for the view (its owner's rights on the tables; the
 * reader's on the view), and the speed-layer scan and the merge aggregates
 * check theirs as in any read of the view.
 *
 * Locks: none of its own; the subplan's scans take what they take.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/paramassign.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/planner.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "merge_probe.h"
#include "view_stats.h"

#define MERGE_PROBE_NAME "LambdaProbe"

/* parameterizations considered per view relation (one per outer relation set) */
#define MERGE_PROBE_MAX_PATHS 4

static set_rel_pathlist_hook_type merge_probe_prev_hook = NULL;

/* The path: a CustomPath and the planned probe it stands for */
typedef struct MergeProbePath
{
	CustomPath	cp;
	PlannerInfo *subroot;		/* the probe query's planner state */
	Path	   *subpath;		/* its cheapest path */
	List	   *plan_params;	/* PlannerParamItems: the outer columns */
	List	   *scan_tlist;		/* the view's columns, as the scan returns them */
	List	   *probe_cols;		/* names of the key columns probed (String) */
} MergeProbePath;

typedef struct MergeProbeState
{
	CustomScanState css;
	int			plan_id;
	List	   *paramids;		/* the subplan's parameters set by the join */
	List	   *probe_cols;
	PlanState  *sub;
	int			natts;
} MergeProbeState;

/* Translating a join clause into the view query's HAVING */
typedef struct MergeProbeXlate
{
	Index		relid;			/* the view's relation */
	Query	   *viewq;
	bool		ok;
	bool		has_key;		/* the clause refers to a key column */
	int			key_attno;
} MergeProbeXlate;

static Plan *merge_probe_plan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
							  List *tlist, List *clauses, List *custom_plans);
static Node *merge_probe_create_state(CustomScan *cscan);
static void merge_probe_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *merge_probe_exec(CustomScanState *node);
static void merge_probe_end(CustomScanState *node);
static void merge_probe_rescan(CustomScanState *node);
static void merge_probe_explain(CustomScanState *node, List *ancestors, ExplainState *es);

static const CustomPathMethods merge_probe_path_methods = {
	.CustomName = MERGE_PROBE_NAME,
	.PlanCustomPath = merge_probe_plan,
};

static const CustomScanMethods merge_probe_scan_methods = {
	.CustomName = MERGE_PROBE_NAME,
	.CreateCustomScanState = merge_probe_create_state,
};

static const CustomExecMethods merge_probe_exec_methods = {
	.CustomName = MERGE_PROBE_NAME,
	.BeginCustomScan = merge_probe_begin,
	.ExecCustomScan = merge_probe_exec,
	.EndCustomScan = merge_probe_end,
	.ReScanCustomScan = merge_probe_rescan,
	.ExplainCustomScan = merge_probe_explain,
};

/* ------------------------------------------------------------------------
 * Planning
 * ------------------------------------------------------------------------
 */

/*
 * Whether q is a lambda view's query as view.c writes it: its keys and
 * merge aggregates over the merged UNION ALL, grouped by the keys, with
 * nothing else (no WHERE, HAVING, ordering or limit).
 */
static bool
merge_probe_is_view(Query *q)
{
	RangeTblRef *rtr;
	RangeTblEntry *from;
	RangeTblEntry *leaf;

	if (q->commandType != CMD_SELECT || q->groupClause == NIL || q->groupingSets ||
		!q->hasAggs || q->hasWindowFuncs || q->hasTargetSRFs || q->hasSubLinks ||
		q->setOperations || q->distinctClause || q->sortClause || q->limitCount ||
		q->limitOffset || q->rowMarks || q->cteList || q->havingQual ||
		q->jointree == NULL || q->jointree->quals || list_length(q->jointree->fromlist) != 1)
		return false;
	rtr = linitial(q->jointree->fromlist);
	if (!IsA(rtr, RangeTblRef))
		return false;
	from = rt_fetch(rtr->rtindex, q->rtable);
	if (from->rtekind != RTE_SUBQUERY)
		return false;
	return view_stats_union_view(from->subquery, &leaf) != NULL;
}

/* Whether column attno of the view query q is one of its GROUP BY keys. */
static bool
merge_probe_key_column(Query *q, AttrNumber attno)
{
	TargetEntry *tle = attno > 0 ? get_tle_by_resno(q->targetList, attno) : NULL;

	return tle != NULL && !tle->resjunk && tle->ressortgroupref != 0 &&
		get_sortgroupref_clause_noerr(tle->ressortgroupref, q->groupClause) != NULL;
}

/*
 * Whether conditions PostgreSQL moved into a view's query (or a branch of
 * it) hold anything a copy of them could not be planned again with:
 * subqueries, parameters or columns of other levels, PlaceHolderVar nodes
 * (the planner's wrapping of expressions an outer join can make NULL).
 * Also for merge_order.c's branches planned again.
 */
bool
merge_probe_unsafe(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) ||
		IsA(node, PlaceHolderVar) || IsA(node, Aggref) || IsA(node, WindowFunc) ||
		(IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC) ||
		(IsA(node, Var) && ((Var *) node)->varlevelsup != 0))
		return true;
	return expression_tree_walker(node, merge_probe_unsafe, context);
}

/*
 * The clause in the view query's terms: the view's columns replaced by its
 * target list's expressions (key columns only), the outer relations'
 * columns made references to the level above. Clears cx->ok for anything
 * else that refers to a relation or level (PlaceHolderVars, subplans, other
 * levels' columns or parameters).
 */
static Node *
merge_probe_xlate(Node *node, MergeProbeXlate *cx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *v = (Var *) node;

		if (v->varlevelsup != 0)
		{
			cx->ok = false;
			return node;
		}
		if (v->varno == (int) cx->relid)
		{
			if (!merge_probe_key_column(cx->viewq, v->varattno))
			{
				cx->ok = false;
				return node;
			}
			cx->has_key = true;
			cx->key_attno = v->varattno;
			return copyObject((Node *) get_tle_by_resno(cx->viewq->targetList, v->varattno)->expr);
		}
		v = copyObject(v);
		v->varlevelsup = 1;
		return (Node *) v;
	}
	if (IsA(node, PlaceHolderVar) || IsA(node, SubLink) || IsA(node, SubPlan) ||
		IsA(node, AlternativeSubPlan) || IsA(node, Aggref) || IsA(node, WindowFunc) ||
		IsA(node, GroupingFunc) || (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC))
	{
		cx->ok = false;
		return node;
	}
	return expression_tree_mutator(node, merge_probe_xlate, (void *) cx);
}

/*
 * The clause in the view query's terms when it compares a key column of the
 * view by equality (a mergejoinable or hashjoinable operator) with an
 * expression of other relations, else NULL; *attno is the key column.
 */
static Node *
merge_probe_pushable(PlannerInfo *root, RestrictInfo *ri, RelOptInfo *rel, Query *viewq, AttrNumber *attno)
{
	OpExpr	   *op;
	Oid			ltype;
	MergeProbeXlate cx;
	Node	   *out;

	if (ri->pseudoconstant || !IsA(ri->clause, OpExpr))
		return NULL;
	op = (OpExpr *) ri->clause;
	if (list_length(op->args) != 2)
		return NULL;
	ltype = exprType(linitial(op->args));
	if (!op_mergejoinable(op->opno, ltype) && !op_hashjoinable(op->opno, ltype))
		return NULL;
	if (contain_volatile_functions((Node *) op))
		return NULL;
	/* one side the view's, the other the outer relations' */
	if (bms_is_member(rel->relid, pull_varnos(root, linitial(op->args))) ==
		bms_is_member(rel->relid, pull_varnos(root, lsecond(op->args))))
		return NULL;
	cx.relid = rel->relid;
	cx.viewq = viewq;
	cx.ok = true;
	cx.has_key = false;
	cx.key_attno = 0;
	out = merge_probe_xlate((Node *) op, &cx);
	if (!cx.ok || !cx.has_key)
		return NULL;
	*attno = cx.key_attno;
	return out;
}

/* ec_matches_callback: an equivalence member that is a key column of the view. */
static bool
merge_probe_ec_key(PlannerInfo *root pg_attribute_unused(), RelOptInfo *rel,
				   EquivalenceClass *ec pg_attribute_unused(), EquivalenceMember *em, void *arg)
{
	Node	   *e = (Node *) em->em_expr;

	while (IsA(e, RelabelType))
		e = (Node *) ((RelabelType *) e)->arg;
	return IsA(e, Var) && ((Var *) e)->varno == (int) rel->relid &&
		((Var *) e)->varlevelsup == 0 && merge_probe_key_column((Query *) arg, ((Var *) e)->varattno);
}

/*
 * Adds the probe path of rel parameterized by required_outer, if that
 * parameterization has a key equality to push into the view; moved are the
 * conditions already moved into the view's query (its WHERE).
 */
static void
merge_probe_add_path(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte, Relids required_outer,
					 List *moved)
{
	Query	   *viewq = rte->subquery;
	ParamPathInfo *ppi = get_baserel_parampathinfo(root, rel, required_outer);
	List	   *pushed = NIL;
	List	   *cols = NIL;
	List	   *saved_params;
	List	   *params;
	List	   *scan_tlist = NIL;
	Query	   *probeq;
	PlannerInfo *subroot;
	RelOptInfo *final_rel;
	Path	   *sub;
	MergeProbePath *mp;
	ListCell   *lc;

	if (ppi == NULL)
		return;
	foreach(lc, ppi->ppi_clauses)
	{
		AttrNumber	attno;
		Node	   *c = merge_probe_pushable(root, lfirst(lc), rel, viewq, &attno);

		if (c == NULL)
			continue;
		pushed = lappend(pushed, c);
		cols = lappend(cols, makeString(pstrdup(get_tle_by_resno(viewq->targetList, attno)->resname)));
	}
	if (pushed == NIL)
		return;

	/* the view's query, its groups restricted to the outer row's keys */
	probeq = copyObject(viewq);
	if (moved != NIL)
		probeq->jointree->quals = (Node *) make_ands_explicit(copyObject(moved));
	probeq->havingQual = (Node *) make_ands_explicit(pushed);
	saved_params = root->plan_params;
	root->plan_params = NIL;
	subroot = compat_subquery_planner(root->glob, probeq, root, 0.0);
	params = root->plan_params;
	root->plan_params = saved_params;

	/* the parameters: columns of the outer relations only */
	foreach(lc, params)
	{
		PlannerParamItem *pi = lfirst(lc);

		if (!IsA(pi->item, Var) || !bms_is_member(((Var *) pi->item)->varno, required_outer))
			return;
	}
	final_rel = fetch_upper_rel(subroot, UPPERREL_FINAL, NULL);
	sub = final_rel->cheapest_total_path;
	if (sub == NULL || params == NIL)
		return;

	foreach(lc, viewq->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk)
			continue;
		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry((Expr *) makeVar(rel->relid, tle->resno,
															  exprType((Node *) tle->expr),
															  exprTypmod((Node *) tle->expr),
															  exprCollation((Node *) tle->expr), 0),
											 tle->resno, tle->resname, false));
	}

	mp = palloc0(sizeof(MergeProbePath));
	NodeSetTag(mp, T_CustomPath);
	mp->cp.path.pathtype = T_CustomScan;
	mp->cp.path.parent = rel;
	mp->cp.path.pathtarget = rel->reltarget;
	mp->cp.path.param_info = ppi;
	mp->cp.path.parallel_aware = false;
	mp->cp.path.parallel_safe = false;
	mp->cp.path.parallel_workers = 0;
	mp->cp.path.rows = ppi->ppi_rows;
	mp->cp.path.startup_cost = sub->startup_cost;
	mp->cp.path.total_cost = sub->total_cost + ppi->ppi_rows * cpu_tuple_cost;
	mp->cp.path.pathkeys = NIL;
	mp->cp.flags = 0;
	mp->cp.custom_paths = NIL;
	mp->cp.custom_private = NIL;
	mp->cp.methods = &merge_probe_path_methods;
	mp->subroot = subroot;
	mp->subpath = sub;
	mp->plan_params = params;
	mp->scan_tlist = scan_tlist;
	mp->probe_cols = cols;
	add_path(rel, (Path *) mp);
}

/* Whether set is in sets. */
static bool
merge_probe_has_relids(List *sets, Relids set)
{
	ListCell   *lc;

	foreach(lc, sets)
	{
		if (bms_equal(lfirst(lc), set))
			return true;
	}
	return false;
}

/* set_rel_pathlist_hook: the probe paths of a lambda view joined on its keys. */
static void
merge_probe_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	List	   *outers = NIL;
	List	   *clauses;
	List	   *moved;
	Query	   *sp;
	ListCell   *lc;

	if (merge_probe_prev_hook)
		merge_probe_prev_hook(root, rel, rti, rte);
	if (rel->reloptkind != RELOPT_BASEREL || rte->rtekind != RTE_SUBQUERY || rte->subquery == NULL ||
		rte->security_barrier || (rel->joininfo == NIL && !rel->has_eclass_joins) ||
		!bms_is_empty(rel->lateral_relids) || rel->subroot == NULL || IS_DUMMY_REL(rel))
		return;
	if (!merge_probe_is_view(rte->subquery))
		return;
	/*
	 * The query's conditions on the view alone that PostgreSQL moved into the
	 * view's subquery (set_subquery_pathlist) are no longer among the
	 * relation's restrictions: they are the planned subquery's WHERE (as
	 * HAVING on grouping columns, moved there by the planner), preprocessed.
	 * The probe's query gets them too; anything else and no probe.
	 */
	sp = rel->subroot->parse;
	if (sp->havingQual != NULL || sp->hasSubLinks || sp->jointree == NULL ||
		list_length(sp->jointree->fromlist) != 1)
		return;
	moved = (List *) sp->jointree->quals;
	if (moved != NIL && (!IsA(moved, List) || merge_probe_unsafe((Node *) moved, NULL)))
		return;
	/* every relation target is a column of the view */
	foreach(lc, rel->reltarget->exprs)
	{
		Var		   *v = lfirst(lc);

		if (!IsA(v, Var) || v->varno != (int) rel->relid || v->varattno <= 0)
			return;
	}

	/* the outer relations a join clause on a key needs, as postgres_fdw finds them */
	clauses = generate_implied_equalities_for_column(root, rel, merge_probe_ec_key, rte->subquery,
													 rel->lateral_referencers);
	foreach(lc, rel->joininfo)
	{
		RestrictInfo *ri = lfirst(lc);

		if (join_clause_is_movable_to(ri, rel))
			clauses = lappend(clauses, ri);
	}
	foreach(lc, clauses)
	{
		RestrictInfo *ri = lfirst(lc);
		Relids		outer = bms_del_member(bms_copy(ri->clause_relids), rel->relid);
		AttrNumber	attno;

		if (bms_is_empty(outer) || merge_probe_has_relids(outers, outer) ||
			merge_probe_pushable(root, ri, rel, rte->subquery, &attno) == NULL)
			continue;
		outers = lappend(outers, outer);
		if (list_length(outers) >= MERGE_PROBE_MAX_PATHS)
			break;
	}
	foreach(lc, outers)
		merge_probe_add_path(root, rel, rte, lfirst(lc), moved);
}

/*
 * PlanCustomPath: the probe's plan becomes one of the statement's subplans,
 * its outer columns parameters the nested loop above sets; the scan returns
 * the subplan's rows as the view's columns.
 */
static Plan *
merge_probe_plan(PlannerInfo *root, RelOptInfo *rel pg_attribute_unused(), CustomPath *best_path,
				 List *tlist, List *clauses, List *custom_plans pg_attribute_unused())
{
	MergeProbePath *mp = (MergeProbePath *) best_path;
	CustomScan *cs = makeNode(CustomScan);
	Plan	   *sub = create_plan(mp->subroot, mp->subpath);
	int			plan_id = compat_add_subplan(root->glob, sub, mp->subpath, mp->subroot);
	List	   *paramids = NIL;
	List	   *params = NIL;
	ListCell   *lc;

	process_subquery_nestloop_params(root, mp->plan_params);
	foreach(lc, mp->plan_params)
	{
		PlannerParamItem *pi = lfirst(lc);
		Var		   *var = (Var *) pi->item;
		Param	   *p = makeNode(Param);

		paramids = lappend_int(paramids, pi->paramId);
		/* so that the plan depends on them (extParam), as a scan using them does */
		p->paramkind = PARAM_EXEC;
		p->paramid = pi->paramId;
		p->paramtype = var->vartype;
		p->paramtypmod = var->vartypmod;
		p->paramcollid = var->varcollid;
		p->location = -1;
		params = lappend(params, p);
	}

	cs->scan.plan.targetlist = tlist;
	cs->scan.plan.qual = extract_actual_clauses(clauses, false);
	cs->scan.scanrelid = 0;
	cs->custom_plans = NIL;
	cs->custom_exprs = params;
	cs->custom_scan_tlist = mp->scan_tlist;
	cs->custom_private = list_make3(makeInteger(plan_id), paramids, mp->probe_cols);
	cs->flags = best_path->flags;
	cs->methods = &merge_probe_scan_methods;
	return &cs->scan.plan;
}

/* ------------------------------------------------------------------------
 * Execution
 * ------------------------------------------------------------------------
 */

static Node *
merge_probe_create_state(CustomScan *cscan pg_attribute_unused())
{
	MergeProbeState *s = (MergeProbeState *) newNode(sizeof(MergeProbeState), T_CustomScanState);

	s->css.methods = &merge_probe_exec_methods;
	return (Node *) s;
}

/* The probe's plan was started with the statement's subplans: find it. */
static void
merge_probe_begin(CustomScanState *node, EState *estate, int eflags pg_attribute_unused())
{
	MergeProbeState *s = (MergeProbeState *) node;
	CustomScan *cs = (CustomScan *) node->ss.ps.plan;

	s->plan_id = intVal(linitial(cs->custom_private));
	s->paramids = lsecond(cs->custom_private);
	s->probe_cols = lthird(cs->custom_private);
	if (s->plan_id < 1 || s->plan_id > list_length(estate->es_subplanstates) ||
		(s->sub = list_nth(estate->es_subplanstates, s->plan_id - 1)) == NULL)
		elog(ERROR, "pg_lambda: subplan %d of a view probe is missing", s->plan_id);
	s->natts = node->ss.ss_ScanTupleSlot->tts_tupleDescriptor->natts;
	/* EXPLAIN shows it under the scan (ExecEndPlan ends it with the subplans) */
	node->custom_ps = list_make1(s->sub);
}

/* The next row of the probe, as the view's columns. */
static TupleTableSlot *
merge_probe_next(ScanState *ss)
{
	MergeProbeState *s = (MergeProbeState *) ss;
	TupleTableSlot *out = ss->ss_ScanTupleSlot;
	TupleTableSlot *in = ExecProcNode(s->sub);

	ExecClearTuple(out);
	if (TupIsNull(in))
		return out;
	slot_getsomeattrs(in, s->natts);
	memcpy(out->tts_values, in->tts_values, sizeof(Datum) * s->natts);
	memcpy(out->tts_isnull, in->tts_isnull, sizeof(bool) * s->natts);
	return ExecStoreVirtualTuple(out);
}

static bool
merge_probe_recheck(ScanState *ss pg_attribute_unused(), TupleTableSlot *slot pg_attribute_unused())
{
	return true;
}

static TupleTableSlot *
merge_probe_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, merge_probe_next, merge_probe_recheck);
}

/*
 * A new outer row (or the same again): its values are in the parameters;
 * the subplan starts over with them at its next row.
 */
static void
merge_probe_rescan(CustomScanState *node)
{
	MergeProbeState *s = (MergeProbeState *) node;
	ListCell   *lc;

	foreach(lc, s->paramids)
		s->sub->chgParam = bms_add_member(s->sub->chgParam, lfirst_int(lc));
	if (s->sub->chgParam == NULL)
		ExecReScan(s->sub);
}

static void
merge_probe_end(CustomScanState *node pg_attribute_unused())
{
}

/* EXPLAIN: the key columns each outer row probes. */
static void
merge_probe_explain(CustomScanState *node, List *ancestors pg_attribute_unused(), ExplainState *es)
{
	MergeProbeState *s = (MergeProbeState *) node;
	StringInfoData cols;
	ListCell   *lc;

	initStringInfo(&cols);
	foreach(lc, s->probe_cols)
	{
		if (cols.len > 0)
			appendStringInfoString(&cols, ", ");
		appendStringInfoString(&cols, quote_identifier(strVal(lfirst(lc))));
	}
	ExplainPropertyText("Lambda Probe", cols.data, es);
}

/* Installs the planner hook, chaining whatever was there before. */
void
merge_probe_init(void)
{
	RegisterCustomScanMethods(&merge_probe_scan_methods);
	merge_probe_prev_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = merge_probe_rel_pathlist;
}
