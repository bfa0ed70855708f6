/*-------------------------------------------------------------------------
 *
 * merge_prune.c
 *	  Leaves a lambda view's branch of long keys unplanned when the query's
 *	  conditions show that it holds no row they select.
 *
 * A view whose keys can be long (batch.c) reads its batch table in two
 * branches (view_parts.c): "WHERE NOT _lambda_long", through the unique
 * index of the short keys, and "WHERE _lambda_long", through the indexes
 * of the long ones. PostgreSQL plans each as a subquery of its own, for
 * every read, and a point query (WHERE k = 'k42') pays for planning the
 * second one although a key is long only when its columns together take
 * more than BATCH_KEY_MAX_BYTES, which 'k42' and an hour never do.
 *
 * get_relation_info_hook, for the batch table of the long branch (a
 * one-table subquery whose WHERE holds the column _lambda_long itself), with
 * the conditions PostgreSQL moved into it: when each key column of variable
 * length is compared by its type's equality with a constant (or with the
 * constants of an IN list), and the sizes of those constants and of the
 * other columns' types add up to a short key, no row of the branch meets
 * them (a row that does has exactly those values: equal keys have equal
 * images in such a view), so the branch's WHERE becomes constant false.
 * PostgreSQL then plans it as an empty relation, and the view's UNION ALL
 * drops it: EXPLAIN shows no branch of long keys. Parameters (a join's
 * probe, a generic plan) are not constants: such a read keeps the branch.
 *
 * Locks: none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/plancat.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "batch.h"
#include "catalog.h"
#include "cview.h"
#include "merge_prune.h"

static get_relation_info_hook_type merge_prune_prev_hook = NULL;

/* The key column (0-based) that expr is a column of rel of, or -1. */
static int
merge_prune_key(ViewDef *def, Oid relid, Index varno, Node *expr)
{
	Var		   *v;
	char	   *name;
	int			i;

	while (IsA(expr, RelabelType))
		expr = (Node *) ((RelabelType *) expr)->arg;
	if (!IsA(expr, Var))
		return -1;
	v = (Var *) expr;
	if (v->varno != (int) varno || v->varlevelsup != 0 || v->varattno <= 0)
		return -1;
	name = get_attname(relid, v->varattno, true);
	for (i = 0; name != NULL && i < def->nkeys; i++)
	{
		if (strcmp(name, def->keynames[i]) == 0)
			return v->vartype == def->keytypes[i] ? i : -1;
	}
	return -1;
}

/*
 * For a condition "key = constant" or "key = ANY (constant array)" under
 * the key type's equality and the column's collation: the column and the
 * largest size a value meeting it has; else -1.
 */
static int
merge_prune_bound(ViewDef *def, Oid relid, Index varno, Node *clause, int64 *bytes)
{
	Oid			opno;
	Oid			coll;
	Node	   *l;
	Node	   *r;
	int			col;

	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		opno = ((OpExpr *) clause)->opno;
		coll = ((OpExpr *) clause)->inputcollid;
		l = linitial(((OpExpr *) clause)->args);
		r = lsecond(((OpExpr *) clause)->args);
	}
	else if (IsA(clause, ScalarArrayOpExpr) && ((ScalarArrayOpExpr *) clause)->useOr &&
			 list_length(((ScalarArrayOpExpr *) clause)->args) == 2)
	{
		opno = ((ScalarArrayOpExpr *) clause)->opno;
		coll = ((ScalarArrayOpExpr *) clause)->inputcollid;
		l = linitial(((ScalarArrayOpExpr *) clause)->args);
		r = lsecond(((ScalarArrayOpExpr *) clause)->args);
	}
	else
		return -1;
	if (IsA(l, Const) && IsA(clause, OpExpr))
	{
		Node	   *t = l;

		l = r;
		r = t;
	}
	if (!IsA(r, Const) || ((Const *) r)->constisnull || (col = merge_prune_key(def, relid, varno, l)) < 0)
		return -1;
	if (opno != lookup_type_cache(def->keytypes[col], TYPECACHE_EQ_OPR)->eq_opr ||
		(OidIsValid(def->keycolls[col]) && coll != def->keycolls[col]))
		return -1;
	if (IsA(clause, OpExpr))
	{
		if (((Const *) r)->consttype != def->keytypes[col])
			return -1;
		*bytes = batch_key_value_bytes(def, col, ((Const *) r)->constvalue);
	}
	else
	{
		ArrayType  *a = DatumGetArrayTypeP(((Const *) r)->constvalue);
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;
		int16		typlen;
		bool		typbyval;
		char		typalign;

		if (ARR_ELEMTYPE(a) != def->keytypes[col])
			return -1;
		get_typlenbyvalalign(ARR_ELEMTYPE(a), &typlen, &typbyval, &typalign);
		deconstruct_array(a, ARR_ELEMTYPE(a), typlen, typbyval, typalign, &elems, &nulls, &n);
		*bytes = 0;
		for (i = 0; i < n; i++)
		{
			/* a NULL element matches no row */
			if (!nulls[i])
				*bytes = Max(*bytes, batch_key_value_bytes(def, col, elems[i]));
		}
	}
	return col;
}

/* Whether quals (implicitly ANDed) select no row of a branch of long keys. */
static bool
merge_prune_empty(ViewDef *def, Oid relid, Index varno, List *quals)
{
	int64		maxbytes[INDEX_MAX_KEYS];
	ListCell   *lc;
	int			i;

	if (def->nkeys == 0 || def->nkeys > INDEX_MAX_KEYS || !def->keys_image_eq)
		return false;
	for (i = 0; i < def->nkeys; i++)
		maxbytes[i] = -1;
	foreach(lc, quals)
	{
		int64		bytes;
		int			col = merge_prune_bound(def, relid, varno, lfirst(lc), &bytes);

		if (col >= 0)
			maxbytes[col] = maxbytes[col] < 0 ? bytes : Min(maxbytes[col], bytes);
	}
	return batch_key_surely_short(def, maxbytes);
}

/* get_relation_info_hook: see the header. */
static void
merge_prune_relation_info(PlannerInfo *root, Oid relid, bool inhparent, RelOptInfo *rel)
{
	Query	   *q = root->parse;
	List	   *quals;
	AttrNumber	longatt = InvalidAttrNumber;
	ViewDef    *def;
	ListCell   *lc;

	if (merge_prune_prev_hook)
		merge_prune_prev_hook(root, relid, inhparent, rel);
	if (inhparent || rel->reloptkind != RELOPT_BASEREL || q->commandType != CMD_SELECT ||
		list_length(q->rtable) != 1 || q->jointree == NULL || q->jointree->quals == NULL ||
		!IsA(q->jointree->quals, List) || q->hasSubLinks || q->rowMarks)
		return;
	quals = (List *) q->jointree->quals;
	/* the branch of long keys: "_lambda_long" itself among the conditions */
	foreach(lc, quals)
	{
		Var		   *v = lfirst(lc);

		if (IsA(v, Var) && v->varno == (int) rel->relid && v->varlevelsup == 0 &&
			v->vartype == BOOLOID && v->varattno > 0)
		{
			char	   *name = get_attname(relid, v->varattno, true);

			if (name != NULL && strcmp(name, BATCH_LONG_COLUMN) == 0)
			{
				longatt = v->varattno;
				break;
			}
		}
	}
	if (longatt == InvalidAttrNumber || get_rel_namespace(relid) != catalog_namespace() ||
		(def = cview_get(relid)) == NULL)
		return;
	if (merge_prune_empty(def, relid, rel->relid, quals))
		q->jointree->quals = (Node *) list_make1(makeBoolConst(false, false));
}

/* Installs the hook, chaining whatever was there before. */
void
merge_prune_init(void)
{
	merge_prune_prev_hook = get_relation_info_hook;
	get_relation_info_hook = merge_prune_relation_info;
}
