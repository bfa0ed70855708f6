/*-------------------------------------------------------------------------
 *
 * merge.c
 *	  The merged read path: the speed layer as a foreign table, and the
 *	  aggregates that combine batch and speed states into final values.
 *
 * A lambda view v is plain SQL (see view.c):
 *
 *   SELECT keys, lambda_catalog.merge(batch, n, state_n, NULL::type_n) ...
 *     FROM (SELECT ... FROM batch_table UNION ALL SELECT ... FROM speed_table)
 *    GROUP BY keys
 *
 * so WHERE key = ... reaches the batch table's unique index, and the speed
 * table (this foreign data wrapper) receives the same condition. When every
 * key column is compared with a constant or parameter, and equality of the
 * key types is image equality, the scan looks up that one key in each
 * generation instead of reading them all; in a sliding window, where the
 * step column is compared with the window's two bounds instead, it looks
 * up the key once per step between them. The scan reads the cut its
 * snapshot sees and returns the generations after it; when those are not
 * complete (after a restart, or out of memory) it computes the same rows
 * from the events after the cut instead. The executor re-checks every
 * condition.
 *
 * Privileges. The internal functions (merge, combine_states, combine_agg)
 * are PUBLIC, because a view's query calls them as its reader. They accept
 * states only for a view the calling role can read (SELECT on the view or
 * on its batch table), and check every state before use (aggstate.c, image.c,
 * sketch.c). As for a plain view, the view's owner needs SELECT on what the
 * view reads: the event table (which is not in the view's query text) is
 * checked for the owner where a read starts, in the speed-layer scan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/reloptions.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/clauses.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "aggstate.h"
#include "batch.h"
#include "compat.h"
#include "cview.h"
#include "keyimage.h"
#include "merge.h"
#include "mergestate.h"
#include "partial.h"
#include "sketch.h"
#include "scheduler.h"
#include "speed.h"
#include "speed_read.h"
#include "stateimage.h"
#include "speed_index.h"

PG_FUNCTION_INFO_V1(lambda_speed_fdw_handler);
PG_FUNCTION_INFO_V1(lambda_merge_trans);
PG_FUNCTION_INFO_V1(lambda_merge_final);
PG_FUNCTION_INFO_V1(lambda_combine_states);
PG_FUNCTION_INFO_V1(lambda_combine_step);
PG_FUNCTION_INFO_V1(lambda_states_in_binary_form);

/* A scan of a speed-layer foreign table. */
typedef struct MergeScanState
{
	ViewDef    *def;
	bool		point;
	bool		steps;			/* point: the key's window steps in a range */
	List	   *stepkeys;		/* their key images (StringInfos) */
	List	   *keyexprs;		/* ExprStates of the looked-up key, or of
								 * the column filters' values */
	List	   *filters;		/* column filters (mode 3, see get_plan) */
	SpeedFilter *filter;		/* as evaluated for the current read */
	int			index_col;		/* EXPLAIN: column index last used, or -1 */
	int64		keys_read;		/* EXPLAIN: keys examined, all reads */
	SpeedSet   *set;			/* the entries to return */
	int64		next;			/* the next one */
	bool		handed;			/* the merged scan took the set */
	bool		fetched;
	bool		from_events;
	dsa_area   *share_area;		/* set for merge_speed_set_shared's read */
	MemoryContext cxt;
} MergeScanState;

/* What a call site of an internal function has already checked */
typedef struct MergeCallCheck
{
	Oid			batch_relid;
	Oid			userid;
} MergeCallCheck;

/*
 * Checks that the current user may read the continuous view with batch
 * table batch_relid: SELECT on the view (or any of its columns), or on the
 * batch table (its owner, and the catalog's, which refreshes it). Remembered
 * per call site in fn_extra, so that a read checks once.
 */
static void
merge_check_reader(FunctionCallInfo fcinfo, Oid batch_relid)
{
	MergeCallCheck *c = (MergeCallCheck *) fcinfo->flinfo->fn_extra;
	Oid			userid = GetUserId();

	if (c && c->batch_relid == batch_relid && c->userid == userid)
		return;
	merge_reader_check(batch_relid, userid);
	if (c == NULL)
	{
		c = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(MergeCallCheck));
		fcinfo->flinfo->fn_extra = c;
	}
	c->batch_relid = batch_relid;
	c->userid = userid;
}

/*
 * Checks that the owner of a continuous view may still read its event
 * table, as PostgreSQL checks a view owner's privileges on the tables in
 * the view's query: SELECT on the table, or on every column the definition
 * uses (on any column when it uses none, like count(*)).
 */
static void
merge_check_owner(ViewDef *def)
{
	HeapTuple	tup;
	Oid			owner;
	Bitmapset  *cols = NULL;
	bool		ok;
	int			col;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(def->view_relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", def->view_relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	if (pg_class_aclcheck(def->event_relid, owner, ACL_SELECT) == ACLCHECK_OK)
		return;
	/* the definition's columns: select list (keys, aggregates), WHERE, HAVING */
	pull_varattnos((Node *) def->query->targetList, 1, &cols);
	pull_varattnos(def->query->jointree->quals, 1, &cols);
	pull_varattnos(def->query->havingQual, 1, &cols);
	if (bms_is_empty(cols) || bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber, cols))
		ok = pg_attribute_aclcheck_all(def->event_relid, owner, ACL_SELECT,
									   bms_is_empty(cols) ? ACLMASK_ANY : ACLMASK_ALL) == ACLCHECK_OK;
	else
	{
		ok = true;
		col = -1;
		while (ok && (col = bms_next_member(cols, col)) >= 0)
		{
			AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;

			ok = pg_attribute_aclcheck(def->event_relid, attno, owner, ACL_SELECT) == ACLCHECK_OK;
		}
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(def->event_relid)),
				 errdetail("Continuous view \"%s\" reads the table with the privileges of its owner, role \"%s\".",
						   get_rel_name(def->view_relid), GetUserNameFromId(owner, false)),
				 errhint("Grant SELECT on the table to the view's owner.")));
}

/*
 * The batch tables of the speed foreign tables this backend planned or
 * scanned, so that a read does not parse the option and look the name up
 * again (twice per plan); emptied when a foreign table's options or any
 * relation it holds changes (merge_fdw_batch_invalidate).
 */
#define MERGE_BATCH_CACHE_SIZE 16
static struct
{
	Oid			speed;
	Oid			batch;
}			merge_batch_cache[MERGE_BATCH_CACHE_SIZE];
static int	merge_batch_cached = 0;
static bool merge_batch_callbacks = false;

/* Relcache callback: forgets the cache when one of its relations changes. */
static void
merge_fdw_batch_invalidate(Datum arg pg_attribute_unused(), Oid relid)
{
	int			i;

	for (i = 0; i < merge_batch_cached; i++)
	{
		if (!OidIsValid(relid) || merge_batch_cache[i].speed == relid || merge_batch_cache[i].batch == relid)
		{
			merge_batch_cached = 0;
			return;
		}
	}
}

/* Syscache callback (pg_foreign_table): options may have changed. */
static void
merge_fdw_batch_invalidate_options(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(),
								   uint32 hashvalue pg_attribute_unused())
{
	merge_batch_cached = 0;
}

/* The batch table a speed foreign table belongs to (option "batch"). */
static Oid
merge_fdw_batch_of(Oid foreigntableid)
{
	ForeignTable *ft;
	ListCell   *lc;
	int			i;

	for (i = 0; i < merge_batch_cached; i++)
	{
		if (merge_batch_cache[i].speed == foreigntableid)
			return merge_batch_cache[i].batch;
	}
	if (!merge_batch_callbacks)
	{
		CacheRegisterRelcacheCallback(merge_fdw_batch_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(FOREIGNTABLEREL, merge_fdw_batch_invalidate_options, (Datum) 0);
		merge_batch_callbacks = true;
	}
	ft = GetForeignTable(foreigntableid);
	foreach(lc, ft->options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "batch") == 0)
		{
			Oid			batch = DatumGetObjectId(DirectFunctionCall1(regclassin,
																	 CStringGetDatum(defGetString(d))));

			if (merge_batch_cached == MERGE_BATCH_CACHE_SIZE)
				merge_batch_cached = 0;
			merge_batch_cache[merge_batch_cached].speed = foreigntableid;
			merge_batch_cache[merge_batch_cached].batch = batch;
			merge_batch_cached++;
			return batch;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("foreign table %s has no option \"batch\"", get_rel_name(foreigntableid)),
			 errhint("Speed-layer tables are created by CREATE MATERIALIZED VIEW ... WITH (lambda.continuous).")));
	return InvalidOid;
}

/*
 * A condition on a key column the speed layer can apply itself (mode 3):
 * col = X, col = ANY (array X) or col OP X (OP a btree comparison of the
 * column's type), X free of the relation's columns and of volatile
 * functions. Returns the filter (list of col, kind, operator, collation,
 * as Integers) and sets *value to X, or returns NIL. Equality and IN match
 * column images (kinds 0 and 1), so only when equal keys have equal images;
 * otherwise, and for other operators, the scan calls the operator (kind 2).
 */
#define MERGE_FILTER_EQ		0
#define MERGE_FILTER_IN		1
#define MERGE_FILTER_CHECK	2

static List *
merge_fdw_filter(ViewDef *def, Expr *clause, Index relid, Expr **value)
{
	Node	   *l;
	Node	   *r;
	Oid			opno;
	Oid			coll;
	int			kind;
	int			col;
	Oid			type;
	TypeCacheEntry *tc;

	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) clause;

		l = linitial(op->args);
		r = lsecond(op->args);
		opno = op->opno;
		coll = op->inputcollid;
		kind = MERGE_FILTER_CHECK;
	}
	else if (IsA(clause, ScalarArrayOpExpr) && ((ScalarArrayOpExpr *) clause)->useOr &&
			 list_length(((ScalarArrayOpExpr *) clause)->args) == 2)
	{
		ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) clause;

		l = linitial(op->args);
		r = lsecond(op->args);
		opno = op->opno;
		coll = op->inputcollid;
		kind = MERGE_FILTER_IN;
	}
	else
		return NIL;
	while (IsA(l, RelabelType))
		l = (Node *) ((RelabelType *) l)->arg;
	if (kind == MERGE_FILTER_CHECK && !IsA(l, Var))
	{
		Node	   *t = l;

		while (IsA(r, RelabelType))
			r = (Node *) ((RelabelType *) r)->arg;
		l = r;
		r = t;
		opno = get_commutator(opno);
		if (!OidIsValid(opno))
			return NIL;
	}
	if (!IsA(l, Var) || ((Var *) l)->varno != (int) relid)
		return NIL;
	col = ((Var *) l)->varattno - 1;
	if (col < 0 || col >= def->nkeys)
		return NIL;
	if (contain_var_clause(r) || contain_volatile_functions(r))
		return NIL;
	type = def->keytypes[col];
	tc = lookup_type_cache(type, TYPECACHE_EQ_OPR | TYPECACHE_BTREE_OPFAMILY);
	if (kind == MERGE_FILTER_IN)
	{
		/* only as image matches: an array of the column's own type */
		if (opno != tc->eq_opr || !def->keys_image_eq ||
			(OidIsValid(def->keycolls[col]) && coll != def->keycolls[col]) ||
			get_element_type(exprType(r)) != type)
			return NIL;
	}
	else
	{
		if (!OidIsValid(tc->btree_opf) || get_op_opfamily_strategy(opno, tc->btree_opf) == 0 ||
			!op_strict(opno))
			return NIL;
		if (opno == tc->eq_opr && def->keys_image_eq && exprType(r) == type &&
			(!OidIsValid(def->keycolls[col]) || coll == def->keycolls[col]))
			kind = MERGE_FILTER_EQ;
	}
	*value = (Expr *) r;
	return list_make4(makeInteger(col), makeInteger(kind), makeInteger((int) opno),
					  makeInteger((int) coll));
}

/*
 * GetForeignRelSize: the speed layer's keys that meet the conditions.
 * Equality and IN on a key column are estimated from the distinct values
 * the speed layer's column indexes hold, ranges on a key column with bounds
 * known at plan time by counting the keys under each distinct value that
 * meets them, other conditions by PostgreSQL's defaults (the foreign table
 * has no statistics).
 */
static void
merge_fdw_get_rel_size(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	SpeedStatus st;
	Oid			batch_relid = merge_fdw_batch_of(foreigntableid);
	ViewDef    *def = cview_get(batch_relid);
	List	   *others = NIL;
	List	   *checks[INDEX_MAX_KEYS] = {0};
	double		sel = 1.0;
	ListCell   *lc;
	int			col;

	speed_status(batch_relid, &st);
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst(lc);
		Expr	   *value;
		List	   *f = def ? merge_fdw_filter(def, ri->clause, baserel->relid, &value) : NIL;
		int			kind = f ? intVal(lsecond(f)) : -1;
		int64		nd = -1;

		/* one key column: its values are the keys */
		if ((kind == MERGE_FILTER_EQ || kind == MERGE_FILTER_IN) && def->nkeys == 1)
			nd = st.keys;
		else if (kind == MERGE_FILTER_EQ || kind == MERGE_FILTER_IN)
			nd = speed_ndistinct(batch_relid, intVal(linitial(f)));
		if (nd > 0)
		{
			double		nvals = 1.0;

			if (kind == MERGE_FILTER_IN && IsA(value, Const) && !((Const *) value)->constisnull)
			{
				ArrayType  *a = DatumGetArrayTypeP(((Const *) value)->constvalue);

				nvals = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
			}
			else if (kind == MERGE_FILTER_IN)
				nvals = 10.0;
			sel *= Min(1.0, nvals / (double) nd);
			continue;
		}
		/* a range with a value known at plan time: counted per column */
		if (kind == MERGE_FILTER_CHECK && intVal(linitial(f)) < INDEX_MAX_KEYS)
		{
			Node	   *c = estimate_expression_value(root, (Node *) value);

			if (IsA(c, Const) && !((Const *) c)->constisnull)
			{
				col = intVal(linitial(f));
				checks[col] = lappend(checks[col], list_make3(ri, f, c));
				continue;
			}
		}
		others = lappend(others, ri);
	}
	for (col = 0; def && col < Min(def->nkeys, INDEX_MAX_KEYS); col++)
	{
		SpeedColFilter cf;
		double		s;
		int			i = 0;

		if (checks[col] == NIL)
			continue;
		memset(&cf, 0, sizeof(cf));
		cf.col = col;
		cf.nvals = -1;
		cf.fns = palloc(sizeof(FmgrInfo) * list_length(checks[col]));
		cf.bounds = palloc(sizeof(Datum) * list_length(checks[col]));
		foreach(lc, checks[col])
		{
			List	   *f = lsecond((List *) lfirst(lc));
			Const	   *c = lthird((List *) lfirst(lc));

			if (i > 0 && cf.coll != (Oid) intVal(lfourth(f)))
				continue;
			cf.coll = (Oid) intVal(lfourth(f));
			fmgr_info(get_opcode((Oid) intVal(lthird(f))), &cf.fns[i]);
			cf.bounds[i++] = c->constvalue;
		}
		cf.nchecks = i;
		s = speed_selectivity(def, &cf);
		if (s >= 0)
			sel *= Max(s, 1.0 / Max(st.keys, 1));
		else
		{
			foreach(lc, checks[col])
				others = lappend(others, linitial((List *) lfirst(lc)));
		}
	}
	sel *= clauselist_selectivity(root, others, baserel->relid, JOIN_INNER, NULL);
	baserel->rows = clamp_row_est(Max(st.keys, 1) * sel);
	baserel->fdw_private = NULL;
}

/*
 * GetForeignPaths: one path, costed by the keys it returns (the column
 * indexes read about as many as they return).
 */
static void
merge_fdw_get_paths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid pg_attribute_unused())
{
	Cost		total = 1.0 + baserel->rows * cpu_tuple_cost;

	add_path(baserel, (Path *) create_foreignscan_path(root, baserel, NULL, baserel->rows, 0,
													   1.0, total, NIL, baserel->lateral_relids,
													   NULL, NIL, NIL));
}

/* The value compared with key column attno by equality in clause, or NULL. */
static Expr *
merge_fdw_key_value(Expr *clause, Index relid, AttrNumber attno, Oid type, Oid coll)
{
	OpExpr	   *op;
	Node	   *l;
	Node	   *r;
	TypeCacheEntry *tc;

	if (!IsA(clause, OpExpr))
		return NULL;
	op = (OpExpr *) clause;
	if (list_length(op->args) != 2)
		return NULL;
	tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	if (op->opno != tc->eq_opr)
		return NULL;
	if (OidIsValid(coll) && op->inputcollid != coll)
		return NULL;
	l = linitial(op->args);
	r = lsecond(op->args);
	while (IsA(l, RelabelType))
		l = (Node *) ((RelabelType *) l)->arg;
	while (IsA(r, RelabelType))
		r = (Node *) ((RelabelType *) r)->arg;
	if (IsA(r, Var) && !IsA(l, Var))
	{
		Node	   *t = l;

		l = r;
		r = t;
	}
	if (!IsA(l, Var) || ((Var *) l)->varno != (int) relid || ((Var *) l)->varattno != attno)
		return NULL;
	if (contain_var_clause(r) || contain_volatile_functions(r) || exprType(r) != type)
		return NULL;
	return (Expr *) r;
}

/*
 * The bound compared with the step column (attno) of a sliding window in
 * clause: "col >= X" (strategy BTGreaterEqualStrategyNumber) or "col <= X",
 * X free of the scanned relation's columns and volatile functions.
 */
static Expr *
merge_fdw_step_bound(Expr *clause, Index relid, AttrNumber attno, Oid type, int strategy)
{
	OpExpr	   *op;
	Node	   *l;
	Node	   *r;
	Oid			opfamily = get_opclass_family(GetDefaultOpClass(type, BTREE_AM_OID));

	if (!IsA(clause, OpExpr) || list_length(((OpExpr *) clause)->args) != 2)
		return NULL;
	op = (OpExpr *) clause;
	if (op->opno != get_opfamily_member(opfamily, type, type, strategy))
		return NULL;
	l = linitial(op->args);
	r = lsecond(op->args);
	if (!IsA(l, Var) || ((Var *) l)->varno != (int) relid || ((Var *) l)->varattno != attno)
		return NULL;
	if (contain_var_clause(r) || contain_volatile_functions(r) || exprType(r) != type)
		return NULL;
	return (Expr *) r;
}

/*
 * GetForeignPlan: when equal keys have equal images, a lookup of one key
 * (mode 1) if every key column is compared with a value by equality, or in
 * a sliding window one lookup per step (mode 2) if the other key columns
 * are and the step column lies between two bounds; otherwise a read of
 * every key, filtered by the conditions on key columns it can apply itself
 * (mode 3, through the column indexes, see merge_fdw_filter), or of every
 * key (mode 0). The values and bounds are the plan's fdw_exprs.
 */
static ForeignScan *
merge_fdw_get_plan(PlannerInfo *root pg_attribute_unused(), RelOptInfo *baserel, Oid foreigntableid,
				   ForeignPath *best_path pg_attribute_unused(), List *tlist, List *scan_clauses, Plan *outer_plan)
{
	Oid			batch_relid = merge_fdw_batch_of(foreigntableid);
	ViewDef    *def = cview_get(batch_relid);
	List	   *clauses = extract_actual_clauses(scan_clauses, false);
	List	   *values = NIL;
	List	   *filters = NIL;
	int			mode = 0;

	if (def && def->nkeys > 0 && def->keys_image_eq)
	{
		/* a sliding window's step may instead lie between two bounds */
		int			nequal = def->sliding ? def->nkeys - 1 : def->nkeys;
		bool		point = (nequal > 0);
		int			i;

		for (i = 0; i < nequal && point; i++)
		{
			ListCell   *lc;
			Expr	   *v = NULL;

			foreach(lc, clauses)
			{
				v = merge_fdw_key_value(lfirst(lc), baserel->relid, i + 1,
										def->keytypes[i], def->keycolls[i]);
				if (v)
					break;
			}
			if (v == NULL)
				point = false;
			else
				values = lappend(values, v);
		}
		if (point && def->sliding)
		{
			Expr	   *lo = NULL;
			Expr	   *hi = NULL;
			ListCell   *lc;

			foreach(lc, clauses)
			{
				if (lo == NULL)
					lo = merge_fdw_step_bound(lfirst(lc), baserel->relid, def->nkeys,
											  def->steptype, BTGreaterEqualStrategyNumber);
				if (hi == NULL)
					hi = merge_fdw_step_bound(lfirst(lc), baserel->relid, def->nkeys,
											  def->steptype, BTLessEqualStrategyNumber);
			}
			point = (lo && hi);
			values = lappend(lappend(values, lo), hi);
		}
		if (point)
			mode = def->sliding ? 2 : 1;
		else
			values = NIL;
	}
	if (def && mode == 0)
	{
		ListCell   *lc;
		Bitmapset  *eqcols = NULL;

		/* conditions on key columns the column indexes serve */
		foreach(lc, clauses)
		{
			Expr	   *v;
			List	   *f = merge_fdw_filter(def, lfirst(lc), baserel->relid, &v);
			int			col;

			if (f == NIL)
				continue;
			col = intVal(linitial(f));
			/* one set of values per column; a second equality is a check */
			if (intVal(lsecond(f)) != MERGE_FILTER_CHECK)
			{
				if (bms_is_member(col, eqcols))
				{
					if (intVal(lsecond(f)) == MERGE_FILTER_IN)
						continue;
					intVal(lsecond(f)) = MERGE_FILTER_CHECK;
				}
				eqcols = bms_add_member(eqcols, col);
			}
			filters = lappend(filters, f);
			values = lappend(values, v);
		}
		if (filters != NIL)
			mode = 3;
	}
	return make_foreignscan(tlist, clauses, baserel->relid, values,
							list_make3(makeInteger(batch_relid), makeInteger(mode), filters),
							NIL, NIL, outer_plan);
}

/* BeginForeignScan: the view's definition, the owner's privilege check. */
static void
merge_fdw_begin(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	MergeScanState *s;
	Oid			batch_relid = intVal(linitial(plan->fdw_private));

	s = palloc0(sizeof(MergeScanState));
	s->point = intVal(lsecond(plan->fdw_private)) == 1 || intVal(lsecond(plan->fdw_private)) == 2;
	s->steps = intVal(lsecond(plan->fdw_private)) == 2;
	s->filters = lthird(plan->fdw_private);
	s->index_col = -1;
	s->cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda speed scan", ALLOCSET_SMALL_SIZES);
	node->fdw_state = s;
	s->def = cview_get(batch_relid);
	if (s->def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("continuous view of batch table %u does not exist", batch_relid)));
	/* where a read starts (EXPLAIN too, as for a plain view's tables) */
	merge_check_owner(s->def);
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	/* a snapshot older than a recompute cannot read the batch table it swapped in */
	batch_build_check_snapshot(s->def, node->ss.ps.state->es_snapshot);
	if (s->point || s->filters != NIL)
		s->keyexprs = ExecInitExprList(plan->fdw_exprs, (PlanState *) node);
}

/*
 * Evaluates the column filters' values for a read (in the scan's context):
 * column images for equality and IN (without duplicates), operator calls
 * for the other conditions. A NULL value makes a filter nothing meets.
 */
static SpeedFilter *
merge_fdw_eval_filter(MergeScanState *s, ExprContext *econtext)
{
	ViewDef    *def = s->def;
	SpeedFilter *f = palloc0(sizeof(SpeedFilter));
	ListCell   *lf;
	ListCell   *le;
	int			i;

	f->cols = palloc0(sizeof(SpeedColFilter) * def->nkeys);
	f->index_col = -1;
	forboth(lf, s->filters, le, s->keyexprs)
	{
		List	   *spec = lfirst(lf);
		int			col = intVal(linitial(spec));
		int			kind = intVal(lsecond(spec));
		Oid			opno = (Oid) intVal(lthird(spec));
		Oid			coll = (Oid) intVal(lfourth(spec));
		SpeedColFilter *cf = NULL;
		bool		isnull;
		Datum		d = ExecEvalExpr(lfirst(le), econtext, &isnull);

		if (isnull)
		{
			f->none = true;		/* strict: true for no key */
			continue;
		}
		for (i = 0; i < f->ncols; i++)
		{
			if (f->cols[i].col == col)
				cf = &f->cols[i];
		}
		if (cf == NULL)
		{
			cf = &f->cols[f->ncols++];
			cf->col = col;
			cf->nvals = -1;
			cf->coll = coll;
		}
		if (kind == MERGE_FILTER_CHECK)
		{
			if (cf->nchecks > 0 && cf->coll != coll)
				continue;		/* the executor checks it */
			cf->coll = coll;
			cf->fns = cf->nchecks ? repalloc(cf->fns, sizeof(FmgrInfo) * (cf->nchecks + 1))
				: palloc(sizeof(FmgrInfo));
			cf->bounds = cf->nchecks ? repalloc(cf->bounds, sizeof(Datum) * (cf->nchecks + 1))
				: palloc(sizeof(Datum));
			fmgr_info(get_opcode(opno), &cf->fns[cf->nchecks]);
			{
				int16		typlen;
				bool		typbyval;

				get_typlenbyval(exprType((Node *) ((ExprState *) lfirst(le))->expr), &typlen, &typbyval);
				cf->bounds[cf->nchecks] = datumCopy(d, typbyval, typlen);
			}
			cf->nchecks++;
		}
		else
		{
			Datum	   *elems;
			bool	   *enulls;
			int			n;

			if (kind == MERGE_FILTER_EQ)
			{
				elems = &d;
				enulls = &isnull;
				n = 1;
			}
			else
			{
				int16		typlen;
				bool		typbyval;
				char		typalign;

				get_typlenbyvalalign(def->keytypes[col], &typlen, &typbyval, &typalign);
				deconstruct_array(DatumGetArrayTypeP(d), def->keytypes[col], typlen, typbyval,
								  typalign, &elems, &enulls, &n);
			}
			cf->nvals = 0;
			cf->vals = palloc(sizeof(char *) * Max(n, 1));
			cf->vlens = palloc(sizeof(int) * Max(n, 1));
			for (i = 0; i < n; i++)
			{
				StringInfoData img;
				int			j2;

				if (enulls[i])
					continue;	/* = NULL is true for no key */
				initStringInfo(&img);
				key_column_image(def, col, elems[i], false, &img);
				for (j2 = 0; j2 < cf->nvals; j2++)
				{
					if (cf->vlens[j2] == img.len && memcmp(cf->vals[j2], img.data, img.len) == 0)
						break;
				}
				if (j2 < cf->nvals)
					continue;
				cf->vals[cf->nvals] = img.data;
				cf->vlens[cf->nvals] = img.len;
				cf->nvals++;
			}
			if (cf->nvals == 0)
				f->none = true;
		}
	}
	return f;
}

/*
 * The key images of a sliding window's lookup: vals holds the other keys,
 * then the lower and upper bound of the step; every step value between them
 * (date_bin(step, t, origin) takes whole multiples of the step from the
 * origin). Too many steps, and the scan reads every key instead.
 */
static void
merge_fdw_step_keys(MergeScanState *s, Datum *vals, bool *nulls)
{
	ViewDef    *def = s->def;
	int			last = def->nkeys - 1;
	int64		stride = def->step.time + (int64) def->step.day * USECS_PER_DAY;
	int64		window = def->window.time + (int64) def->window.day * USECS_PER_DAY;
	int64		lo;
	int64		hi;
	int64		origin;
	int64		t;

	s->stepkeys = NIL;
	if (nulls[last] || nulls[last + 1])
		return;					/* no step compares true with NULL */
	lo = DatumGetInt64(vals[last]);
	hi = DatumGetInt64(vals[last + 1]);
	origin = DatumGetInt64(CVIEW_STEP_ORIGIN_DATUM);
	if (hi < lo)
		return;
	if (TIMESTAMP_NOT_FINITE(lo) || TIMESTAMP_NOT_FINITE(hi) ||
		(hi - lo) / stride > 2 * (window / stride) + 2)
	{
		s->point = false;
		return;
	}
	/* the first multiple of the stride from the origin at or after lo */
	t = lo - origin;
	t = origin + (t / stride) * stride - (t % stride < 0 ? stride : 0);
	if (t < lo)
		t += stride;
	for (; t <= hi; t += stride)
	{
		StringInfo	k = makeStringInfo();

		vals[last] = Int64GetDatum(t);
		nulls[last] = false;
		key_image(def, vals, nulls, k);
		s->stepkeys = lappend(s->stepkeys, k);
	}
}

/* Collects the rows to return: the generations after the cut, or the events. */
static void
merge_fdw_fetch(ForeignScanState *node, MergeScanState *s)
{
	EState	   *estate = node->ss.ps.state;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	BatchCut	cut;
	StringInfoData key;
	MemoryContext old = MemoryContextSwitchTo(s->cxt);
	bool		ok;

	initStringInfo(&key);
	if (s->point)
	{
		Datum		vals[INDEX_MAX_KEYS * 4];
		bool		nulls[INDEX_MAX_KEYS * 4];
		ListCell   *lc;
		int			i = 0;

		foreach(lc, s->keyexprs)
		{
			vals[i] = ExecEvalExpr(lfirst(lc), econtext, &nulls[i]);
			i++;
		}
		if (s->steps)
			merge_fdw_step_keys(s, vals, nulls);
		else
			key_image(s->def, vals, nulls, &key);
	}
	else if (s->filters != NIL)
		s->filter = merge_fdw_eval_filter(s, econtext);
	catalog_read_cut(s->def->batch_relid, estate->es_snapshot, &cut);
	if (cut.foreign && scheduler_running(MyDatabaseId))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("continuous view \"%s\" was restored from a dump and is being recomputed",
						get_rel_name(s->def->view_relid)),
				 errdetail("The batch layer's cut refers to transactions of the server the dump was taken from."),
				 errhint("Wait for the scheduler to recompute it, or run SELECT lambda.recompute('%s').",
						 get_rel_name(s->def->view_relid))));
	/* a read starts no process: a restored or copied database has no scheduler yet */
	if (cut.foreign)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("continuous view \"%s\" was restored from a dump and must be recomputed",
						get_rel_name(s->def->view_relid)),
				 errdetail("The batch layer's cut refers to transactions of the server or database it was copied from, and no scheduler runs in this database to recompute it."),
				 errhint("Run SELECT lambda.recompute('%s'), which also starts the database's scheduler.",
						 get_rel_name(s->def->view_relid))));
	s->set = s->share_area ? speed_set_create_shared(s->cxt, s->share_area) : speed_set_create(s->cxt);
	if (s->point && s->steps)
	{
		ListCell   *lc;

		/* one lookup per window step; the executor checks the rest */
		ok = cut.found;
		foreach(lc, s->stepkeys)
		{
			StringInfo	k = lfirst(lc);

			if (ok)
				ok = speed_read(s->def, cut.gen, k->data, k->len, NULL, s->set);
		}
		if (!ok)
			s->point = false;	/* from the events: every key */
	}
	else
		ok = cut.found && speed_read(s->def, cut.gen, s->point ? key.data : NULL, key.len,
									 s->point ? NULL : s->filter, s->set);
	s->from_events = !ok;
	if (ok && s->filter)
	{
		s->keys_read += s->filter->keys_read;
		if (s->filter->index_col >= 0)
			s->index_col = s->filter->index_col;
	}
	if (!ok && cut.found)
	{
		PartialHash *ph = partial_create(s->def, s->cxt);
		PartialEntry *e;
		StringInfoData states;

		s->set = speed_set_create(s->cxt);
		batch_tail_scan(s->def, estate->es_snapshot, &cut, ph,
						s->point ? key.data : NULL, key.len);
		initStringInfo(&states);
		for (e = partial_first(ph); e; e = partial_next(e))
		{
			if (s->point && (e->key.len != (uint32) key.len || memcmp(e->key.data, key.data, key.len) != 0))
				continue;
			if (!s->point && s->filter && !speed_filter_match(s->def, s->filter, e->key.data, e->key.len))
				continue;
			resetStringInfo(&states);
			states_image(s->def, e->values, e->nulls, &states);
			speed_set_add(s->set, key_hash(e->key.data, e->key.len), e->key.data, e->key.len,
						  states.data, states.len);
		}
	}
	s->next = 0;
	s->fetched = true;
	MemoryContextSwitchTo(old);
}

/* IterateForeignScan: the next row, its states as one bytea per aggregate. */
static TupleTableSlot *
merge_fdw_iterate(ForeignScanState *node)
{
	MergeScanState *s = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	ViewDef    *def = s->def;
	SpeedSetEntry *r;
	const char **parts;
	int		   *lens;
	int			i;

	if (!s->fetched)
		merge_fdw_fetch(node, s);
	ExecClearTuple(slot);
	if (s->handed || s->next >= speed_set_count(s->set))
		return slot;
	r = speed_set_get(s->set, s->next++);

	key_decode(def, SPEED_SET_KEY(r), r->keylen, slot->tts_values, slot->tts_isnull);
	parts = palloc(sizeof(char *) * (def->naggs + 1));
	lens = palloc(sizeof(int) * (def->naggs + 1));
	states_split(def, SPEED_SET_STATES(r), r->stateslen, parts, lens);
	for (i = 0; i < def->naggs; i++)
	{
		int			att = def->nkeys + i;

		slot->tts_isnull[att] = (parts[i] == NULL);
		if (parts[i])
		{
			bytea	   *b = palloc(VARHDRSZ + lens[i]);

			SET_VARSIZE(b, VARHDRSZ + lens[i]);
			memcpy(VARDATA(b), parts[i], lens[i]);
			slot->tts_values[att] = PointerGetDatum(b);
		}
	}
	ExecStoreVirtualTuple(slot);
	return slot;
}

/*
 * For the merged scan (merge_group.c): the speed-layer entries a scan of
 * the speed table returns (a copy, in generation order; see speed_read.c),
 * taken from the scan instead of its rows, or NULL when ps is not such a
 * scan or has conditions of its own to check. The scan then returns no
 * rows itself; a rescan makes the copy again.
 */
SpeedSet *
merge_speed_set(PlanState *ps)
{
	ForeignScanState *node;
	MergeScanState *s;

	if (!IsA(ps, ForeignScanState))
		return NULL;
	node = (ForeignScanState *) ps;
	if (node->fdwroutine == NULL || node->fdwroutine->IterateForeignScan != merge_fdw_iterate ||
		ps->qual != NULL || node->fdw_state == NULL)
		return NULL;
	s = node->fdw_state;
	if (!s->fetched)
	{
		MemoryContext old = MemoryContextSwitchTo(node->ss.ps.ps_ExprContext->ecxt_per_tuple_memory);

		merge_fdw_fetch(node, s);
		MemoryContextSwitchTo(old);
	}
	s->handed = true;
	return s->set;
}

/*
 * For a parallel merged scan's leader (merge_group.c): as merge_speed_set,
 * from a scan that starts again (the caller rescanned it), copying the
 * speed layer straight into area when it can (speed_set_create_shared);
 * *chunk is then where the flat set lies (and the returned set must not be
 * used), else InvalidDsaPointer and the set is an ordinary one.
 */
SpeedSet *
merge_speed_set_shared(PlanState *ps, dsa_area *area, dsa_pointer *chunk)
{
	MergeScanState *s;
	SpeedSet   *set;

	*chunk = InvalidDsaPointer;
	if (!IsA(ps, ForeignScanState) || ((ForeignScanState *) ps)->fdw_state == NULL ||
		((ForeignScanState *) ps)->fdwroutine == NULL ||
		((ForeignScanState *) ps)->fdwroutine->IterateForeignScan != merge_fdw_iterate)
		return merge_speed_set(ps);
	s = ((ForeignScanState *) ps)->fdw_state;
	s->share_area = s->fetched ? NULL : area;
	PG_TRY();
	{
		set = merge_speed_set(ps);
	}
	PG_FINALLY();
	{
		s->share_area = NULL;
	}
	PG_END_TRY();
	if (set != NULL && speed_set_count(set) > 0)
		*chunk = speed_set_share_done(set);
	else if (set != NULL)
		(void) speed_set_share_done(set);
	return set;
}

/*
 * For the ordered scan (merge_order.c): whether ps is a scan of the speed
 * table that returns every key of the view (no key looked up, no filter, no
 * condition of its own), and then its view and the cut its snapshot sees
 * (*cut_gen), so that the caller may read the speed layer key by key in
 * its order instead of the scan's rows. False also when the cut is not
 * found or was made elsewhere: the scan's own rows say what to do then
 * (read the events, or the error). The scan is left as it is: the caller
 * may still read its rows (merge_order.c does when the speed layer turns
 * incomplete during its read).
 */
bool
merge_speed_whole(PlanState *ps, ViewDef **def, int64 *cut_gen)
{
	ForeignScanState *node;
	MergeScanState *s;
	BatchCut	cut;

	if (!IsA(ps, ForeignScanState))
		return false;
	node = (ForeignScanState *) ps;
	if (node->fdwroutine == NULL || node->fdwroutine->IterateForeignScan != merge_fdw_iterate ||
		ps->qual != NULL || node->fdw_state == NULL)
		return false;
	s = node->fdw_state;
	if (s->point || s->filters != NIL || s->fetched)
		return false;
	catalog_read_cut(s->def->batch_relid, ps->state->es_snapshot, &cut);
	if (!cut.found || cut.foreign)
		return false;
	*def = s->def;
	*cut_gen = cut.gen;
	return true;
}

/* ReScanForeignScan: fetch again (the parameters may have changed). */
static void
merge_fdw_rescan(ForeignScanState *node)
{
	MergeScanState *s = node->fdw_state;

	MemoryContextReset(s->cxt);
	s->filter = NULL;
	s->set = NULL;
	s->next = 0;
	s->handed = false;
	s->fetched = false;
}

/* EndForeignScan */
static void
merge_fdw_end(ForeignScanState *node)
{
	MergeScanState *s = node->fdw_state;

	if (s)
		MemoryContextDelete(s->cxt);
}

/*
 * ExplainForeignScan: which lookup the scan does, and where rows came from;
 * for conditions on key columns (mode 3), which columns' indexes it may
 * use, and with ANALYZE the one it used and how many keys it examined.
 */
static void
merge_fdw_explain(ForeignScanState *node, ExplainState *es)
{
	MergeScanState *s = node->fdw_state;

	if (s->filters != NIL)
	{
		StringInfoData cols;
		ListCell   *lc;
		Bitmapset  *seen = NULL;

		initStringInfo(&cols);
		appendStringInfoString(&cols, "column index on ");
		foreach(lc, s->filters)
		{
			int			col = intVal(linitial((List *) lfirst(lc)));

			if (bms_is_member(col, seen))
				continue;
			seen = bms_add_member(seen, col);
			if (!bms_is_empty(seen) && bms_num_members(seen) > 1)
				appendStringInfoString(&cols, ", ");
			appendStringInfoString(&cols, quote_identifier(s->def->keynames[col]));
		}
		ExplainPropertyText("Speed Layer", cols.data, es);
	}
	else
		ExplainPropertyText("Speed Layer", !s->point ? "all keys" : s->steps ? "key lookup per window step" : "key lookup", es);
	if (es->analyze && s->fetched)
	{
		ExplainPropertyText("Speed Layer Source", s->from_events ? "events after the cut" : "shared memory", es);
		if (s->handed)
			ExplainPropertyInteger("Speed Layer Entries Merged By Key Image", NULL,
								   speed_set_count(s->set), es);
		if (s->filters != NIL && !s->from_events)
		{
			ExplainPropertyText("Speed Layer Index Used",
								s->index_col < 0 ? "none" : s->def->keynames[s->index_col], es);
			ExplainPropertyInteger("Speed Layer Keys Read", NULL, s->keys_read, es);
		}
	}
}

/* The handler of foreign data wrapper lambda_speed. */
Datum
lambda_speed_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *r = makeNode(FdwRoutine);

	r->GetForeignRelSize = merge_fdw_get_rel_size;
	r->GetForeignPaths = merge_fdw_get_paths;
	r->GetForeignPlan = merge_fdw_get_plan;
	r->BeginForeignScan = merge_fdw_begin;
	r->IterateForeignScan = merge_fdw_iterate;
	r->ReScanForeignScan = merge_fdw_rescan;
	r->EndForeignScan = merge_fdw_end;
	r->ExplainForeignScan = merge_fdw_explain;
	PG_RETURN_POINTER(r);
}

/* ------------------------------------------------------------------------
 * Merge aggregates
 * ------------------------------------------------------------------------
 */

/*
 * lambda_catalog.merge(batch regclass, aggno int, state bytea, result
 * anyelement) transition: combines one partial state into the group's.
 */
Datum
lambda_merge_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MergeState *st;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "lambda_merge_trans called in non-aggregate context");
	if (PG_ARGISNULL(0))
	{
		Oid			restype = get_fn_expr_argtype(fcinfo->flinfo, 4);

		if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("lambda_catalog.merge needs a batch table and an aggregate number"),
					 errhint("Query the continuous view itself.")));
		merge_check_reader(fcinfo, PG_GETARG_OID(1));
		st = MemoryContextAlloc(aggcxt, sizeof(MergeState));
		merge_state_init(st, aggmeta_lookup(PG_GETARG_OID(1), PG_GETARG_INT32(2)), aggcxt);
		/* the result is returned as this type: it must be the aggregate's */
		if (restype != st->meta->resulttype)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("aggregate %d of the continuous view returns type %s, not %s",
							PG_GETARG_INT32(2), format_type_be(st->meta->resulttype),
							format_type_be(restype)),
					 errhint("Query the continuous view itself.")));
	}
	else
		st = (MergeState *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(3))
		merge_state_add(st, PG_GETARG_DATUM(3), aggcxt);
	PG_RETURN_POINTER(st);
}

/* lambda_catalog.merge final: the aggregate's result. */
Datum
lambda_merge_final(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	bool		resnull;
	Datum		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "lambda_merge_final called in non-aggregate context");
	result = merge_state_result((MergeState *) PG_GETARG_POINTER(0), &resnull, aggcxt);
	if (resnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/* Combines two serialized states of aggregate aggno; NULL is "nothing". */
static Datum
merge_combine_serialized(FunctionCallInfo fcinfo, Oid batch_relid, int aggno,
						 bytea *a, bytea *b)
{
	AggMeta    *m = aggmeta_lookup(batch_relid, aggno);
	Datum		va;
	bool		na = false;

	/* two sets of distinct values: merged as they are serialized */
	if (m->kind == AGG_KIND_DISTINCT)
	{
		bytea	   *u = sketch_distinct_union(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a),
											  VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b),
											  m->valuetype, m->collation);

		if (u != NULL)
			PG_RETURN_BYTEA_P(u);
	}
	va = aggmeta_deserialize(m, VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), CurrentMemoryContext);
	aggmeta_combine(m, &va, &na,
					aggmeta_deserialize(m, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), CurrentMemoryContext),
					false, CurrentMemoryContext);
	if (na)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(aggmeta_serialize(m, va));
}

/* lambda_catalog.combine_states(batch, aggno, a, b): for batch upserts. */
Datum
lambda_combine_states(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	merge_check_reader(fcinfo, PG_GETARG_OID(0));
	if (PG_ARGISNULL(2) && PG_ARGISNULL(3))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(2))
		PG_RETURN_DATUM(PG_GETARG_DATUM(3));
	if (PG_ARGISNULL(3))
		PG_RETURN_DATUM(PG_GETARG_DATUM(2));
	return merge_combine_serialized(fcinfo, PG_GETARG_OID(0), PG_GETARG_INT32(1),
									PG_GETARG_BYTEA_PP(2), PG_GETARG_BYTEA_PP(3));
}

/* lambda_catalog.combine_agg(batch, aggno, state) transition (state bytea). */
Datum
lambda_combine_step(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	merge_check_reader(fcinfo, PG_GETARG_OID(1));
	if (PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(PG_GETARG_DATUM(3));
	return merge_combine_serialized(fcinfo, PG_GETARG_OID(1), PG_GETARG_INT32(2),
									PG_GETARG_BYTEA_PP(0), PG_GETARG_BYTEA_PP(3));
}

/*
 * lambda_catalog.states_in_binary_form(batch_table): whether the view keeps
 * states, or count(DISTINCT) values, in their type's binary send form (see
 * image.c). Before 0.4.0 it kept them as raw bytes, which cannot be checked:
 * the update to 0.4.0 recomputes such views.
 */
Datum
lambda_states_in_binary_form(PG_FUNCTION_ARGS)
{
	ViewDef    *def = cview_get(PG_GETARG_OID(0));
	int			i;

	for (i = 0; def != NULL && i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;

		if (!m->internal && m->image->kind == IMAGE_SEND)
			PG_RETURN_BOOL(true);
		if (m->kind == AGG_KIND_DISTINCT && image_type_lookup(m->valuetype)->kind == IMAGE_SEND)
			PG_RETURN_BOOL(true);
	}
	PG_RETURN_BOOL(false);
}
