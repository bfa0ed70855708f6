/*-------------------------------------------------------------------------
 *
 * batch_build.c
 *	  Recompute through PostgreSQL's executor: one INSERT ... SELECT ...
 *	  GROUP BY that fills a batch table from every event visible to the cut.
 *
 * A recompute (and the build at CREATE over existing events) folds every
 * event into the batch table. Rather than reading the events a row at a
 * time into a backend-local hash and upserting the groups in chunks, it
 * runs one statement, planned by PostgreSQL (hash or sorted aggregation,
 * spilling to disk as PostgreSQL's own does):
 *
 *	 INSERT INTO <batch table> (<keys>, <states>)
 *	 SELECT <key expressions>, <state of each aggregate>
 *	   FROM [ONLY] <event table> WHERE <the definition's WHERE>
 *	  GROUP BY <the keys>
 *
 * under the cut snapshot (build_execute), so that it reads exactly
 * the events the cut says the batch holds. Each aggregate's state comes in
 * the form the batch table stores (aggmeta_serialize, aggstate.c), in one
 * of two ways:
 *
 *	 direct   an aggregate without a final function whose state is not
 *			  "internal" (count, sum of integers, min, max, bool_and, ...)
 *			  returns its transition state: the aggregate itself runs, and
 *			  lambda_catalog.batch_image(view, aggno, state) turns the result
 *			  into its stored form;
 *	 wrapped  any other aggregate (avg, sum(bigint), count(DISTINCT x) as
 *			  pg_lambda's exact distinct sets, percentile_cont as quantile
 *			  sketches, ...) runs inside lambda_catalog.batch_state(view,
 *			  aggno, include, args...), an aggregate whose transition calls
 *			  the aggregate's own transition function (the batch layer's
 *			  exact one for count(DISTINCT)) and whose final function
 *			  serializes the state. Its FILTER becomes the "include"
 *			  argument, so that a group whose rows all fail the filter still
 *			  gets the aggregate's initial state, as the row path gives it.
 *
 * The expressions are the definition's own, deparsed with every implicit
 * cast shown and every name outside pg_catalog qualified (the statement
 * runs in the catalog scope, search_path = pg_catalog, pg_temp). Keys come
 * out of GROUP BY once each, under the key types' equality, which is what
 * the batch table's unique index holds: plain inserts, no ON CONFLICT.
 *
 * What the statement cannot express falls back to the row path
 * (batch_tail_scan and batch_upsert, batch.c): an aggregate with more than
 * BUILD_MAX_ARGS arguments, with ORDER BY or DISTINCT inside it (other than
 * count(DISTINCT), which the definition rewrote), or a catalog owner
 * without SELECT on the event table or subject to its row-level security.
 *
 * Rights: the statement is parsed and its executor started by the
 * catalog's owner, whose alone the batch_* functions and the batch table
 * are; it is planned and its rows are computed as the view's owner
 * (build_execute), so the definition's expressions run with the view
 * owner's rights, whoever owns the view, as in its defining query. What
 * the view's owner may read (SELECT on the columns, no row-level security)
 * is checked by every refresh before (privilege_check_view).
 *
 * Memory: the statement runs with work_mem = maintenance_work_mem, so its
 * hash aggregation spills past maintenance_work_mem × hash_mem_multiplier.
 *
 * Where the rows go (batch_build): into the batch table itself when this
 * transaction created it (CREATE), then REINDEX; else into a new table of
 * the same columns, indexed like the batch table, whose storage is then
 * swapped into the batch table (build_swap), as REFRESH MATERIALIZED VIEW
 * swaps a new heap in, but with the indexes built before the swap rather
 * than under its lock. A snapshot older than the swap cannot see the new
 * rows: a read under one fails with a serialization error
 * (batch_build_check_snapshot) instead of answering wrongly. The new table
 * keeps its own TOAST table, which the batch table takes at the swap (as
 * REFRESH MATERIALIZED VIEW does), so that its indexes, those over a
 * column of variable length included (a text key's, the indexes of long
 * keys), read values out of line where they lie. The stored generated
 * column _lambda_long (text keys) is computed by the build as INSERT
 * computes it (build_generated_compute); the indexes of long keys (WHERE
 * _lambda_long) are made or left while the table is empty, and built from
 * the rows only when one of them has a long key (build_index_pred_column).
 * A batch table with a trigger, or
 * one a query of this session holds open, is recomputed in place: DELETE,
 * then INSERT ... SELECT, after its pages are pruned and their room
 * recorded in the free space map (build_note_free_space), so that the new
 * rows take the room of the recompute before last.
 *
 * Locks: those of the statement (AccessShare on the events, RowExclusive on
 * the batch table), ACCESS EXCLUSIVE on the new table (nobody else sees
 * it), and a moment of ACCESS EXCLUSIVE on the batch table and its indexes
 * for the swap (build_lock_for_swap); the caller holds ShareUpdateExclusive
 * on the batch table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"
#include "catalog/pg_class.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "nodes/supportnodes.h"
#include "pgstat.h"
#include "catalog/pg_inherits.h"
#include "utils/rel.h"
#include "access/heapam.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "commands/cluster.h"
#include "access/xact.h"
#include "access/htup_details.h"
#include "catalog/indexing.h"
#include "access/genam.h"
#include "utils/fmgroids.h"
#include "access/sysattr.h"
#include "optimizer/optimizer.h"
#include "storage/lmgr.h"
#include "utils/relcache.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "nodes/params.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/rls.h"
#include "rewrite/rewriteHandler.h"
#include "utils/plancache.h"
#include "executor/executor.h"
#include "tcop/dest.h"

#include "compat.h"
#include "aggstate.h"
#include "batch.h"
#include "catalog.h"
#include "cview.h"
#include "stateimage.h"

/* arguments of the widest aggregate batch_state takes (see the SQL) */
#define BUILD_MAX_ARGS	3

PG_FUNCTION_INFO_V1(lambda_batch_state_trans);
PG_FUNCTION_INFO_V1(lambda_batch_state_final);
PG_FUNCTION_INFO_V1(lambda_batch_image);
PG_FUNCTION_INFO_V1(lambda_batch_progress);
PG_FUNCTION_INFO_V1(lambda_batch_progress_support);

/* How the rows reach the batch table. */
typedef enum BuildWay
{
	BUILD_INSERT,				/* INSERT ... SELECT */
	BUILD_NEW_STORAGE,			/* multi-insert into storage new in this
								 * transaction, then REINDEX */
	BUILD_SWAP					/* multi-insert into a new table, index it,
								 * then swap its storage in */
} BuildWay;

/* how long a recompute asks for the swap's lock without waiting */
#define BUILD_SWAP_TRY_MS	5000

/* rows a build puts into a new batch table at once (table_multi_insert) */
#define BUILD_MULTI_INSERT	1000

/* events between two progress reports (pg_stat_activity.query) */
#define BUILD_PROGRESS_EVERY	65536

/* The build running in this backend: what its progress reports say. */
static struct
{
	bool		running;
	char		view[2 * NAMEDATALEN + 8];	/* schema.name, quoted as needed */
	const char *phase;			/* NULL, or what follows reading the events */
	int64		done;
	double		total;			/* estimate; < 0 when unknown */
	TimestampTz start;
} build_progress;

static double build_events_estimate(Oid relid);
static void build_report(void);
/* the generated columns a build computes (build_generated_init) */
typedef struct BuildGenerated BuildGenerated;

static void build_generated_compute(BuildGenerated *gen, TupleTableSlot *slot);

/* How aggregate i of a view is computed by the statement. */
static bool
build_direct(ViewAgg *va)
{
	AggMeta    *m = &va->meta;

	return m->kind == AGG_KIND_PLAIN && !m->hasfinal && !m->internal &&
		exprType((Node *) va->impl) == m->transtype;
}

static bool
build_wrappable(ViewAgg *va)
{
	Aggref	   *impl = va->impl;

	return impl->aggorder == NIL && impl->aggdistinct == NIL && !impl->aggvariadic &&
		impl->aggdirectargs == NIL && impl->aggkind == AGGKIND_NORMAL &&
		list_length(impl->args) <= BUILD_MAX_ARGS &&
		va->meta.ntransargs == list_length(impl->args);
}

/* The owner of def's view (pg_class.relowner). */
static Oid
build_view_owner(ViewDef *def)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(def->view_relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", def->view_relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Whether a recompute of def can run as one statement (see the file
 * header); false sends it down the row path.
 */
bool
batch_build_possible(ViewDef *def)
{
	int			i;
	Oid			owner;
	Oid			imageargs[3] = {REGCLASSOID, INT4OID, ANYOID};

	/* a database whose extension predates 0.4.0 has no batch_image yet */
	if (!catalog_has_function("batch_image", 3, imageargs))
		return false;
	for (i = 0; i < def->naggs; i++)
	{
		if (!build_direct(&def->aggs[i]) && !build_wrappable(&def->aggs[i]))
			return false;
	}

	/*
	 * The statement is parsed and its executor started by the catalog's
	 * owner (the batch_* functions and the batch table are its alone); what
	 * the view's owner may read was checked by privilege_check_view, and the
	 * statement is planned and run as the view's owner (build_execute). The
	 * executor checks the catalog owner's SELECT on the event table, and a
	 * statement parsed for a role that row-level security applies to would
	 * filter the events: then the row path reads them.
	 */
	owner = catalog_owner();
	return OidIsValid(owner) &&
		pg_class_aclcheck(def->event_relid, owner, ACL_SELECT) == ACLCHECK_OK &&
		check_enable_rls(def->event_relid, owner, true) != RLS_ENABLED;
}

/* An expression of the event table's row, as SQL. */
static char *
build_expr(Node *expr, List *dpcontext)
{
	return deparse_expression(expr, dpcontext, false, true);
}

/* The type of the batch table's column name, as SQL. */
static char *
build_column_type(ViewDef *def, const char *name)
{
	HeapTuple	tup = SearchSysCacheAttName(def->batch_relid, name);
	Form_pg_attribute att;
	char	   *type;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "batch table of \"%s\" has no column \"%s\"", get_rel_name(def->view_relid), name);
	att = (Form_pg_attribute) GETSTRUCT(tup);
	type = format_type_with_typemod(att->atttypid, att->atttypmod);
	ReleaseSysCache(tup);
	return type;
}

/*
 * The statement (see the file header); with a sliding window, $1 is the
 * first window step that can still be read.
 */
static char *
build_sql(ViewDef *def, bool insert)
{
	Query	   *query = def->query;
	List	   *dpcontext = deparse_context_for(get_rel_name(def->event_relid), def->event_relid);
	StringInfoData sql;
	char	   *batchname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(def->batch_relid)),
													   get_rel_name(def->batch_relid));
	char	   *regclass = quote_literal_cstr(batchname);
	ListCell   *lc;
	int			i;
	char	   *stepexpr = NULL;

	initStringInfo(&sql);
	if (insert)
	{
		appendStringInfo(&sql, "INSERT INTO %s (", batchname);
		for (i = 0; i < def->nkeys; i++)
			appendStringInfo(&sql, "%s, ", quote_identifier(def->keynames[i]));
		for (i = 0; i < def->naggs; i++)
			appendStringInfo(&sql, "%s%s", quote_identifier(def->aggnames[i]), i < def->naggs - 1 ? ", " : "");
		appendStringInfoString(&sql, ") ");
	}
	appendStringInfoString(&sql, "SELECT ");
	i = 0;
	foreach(lc, query->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);
		char	   *e = build_expr((Node *) tle->expr, dpcontext);

		/* without INSERT, each column has the batch column's type itself */
		if (insert)
			appendStringInfo(&sql, "%s, ", e);
		else
			appendStringInfo(&sql, "(%s)::%s, ", e, build_column_type(def, def->keynames[i]));
		if (def->sliding && i == def->nkeys - 1)
			stepexpr = e;
		i++;
	}
	for (i = 0; i < def->naggs; i++)
	{
		ViewAgg    *va = &def->aggs[i];

		if (!insert)
			appendStringInfoChar(&sql, '(');
		if (build_direct(va))
			appendStringInfo(&sql, "lambda_catalog.batch_image(%s::pg_catalog.regclass, %d, %s)",
							 regclass, i + 1, build_expr((Node *) va->impl, dpcontext));
		else
		{
			appendStringInfo(&sql, "lambda_catalog.batch_state(%s::pg_catalog.regclass, %d, %s",
							 regclass, i + 1,
							 va->aggref->aggfilter ?
							 psprintf("(%s)", build_expr((Node *) va->aggref->aggfilter, dpcontext)) : "true");
			foreach(lc, va->impl->args)
				appendStringInfo(&sql, ", %s", build_expr((Node *) ((TargetEntry *) lfirst(lc))->expr, dpcontext));
			appendStringInfoChar(&sql, ')');
		}
		if (!insert)
			appendStringInfo(&sql, ")::%s", build_column_type(def, def->aggnames[i]));
		appendStringInfoString(&sql, i < def->naggs - 1 ? ", " : " ");
	}
	appendStringInfo(&sql, "FROM %s%s",
					 get_rel_relkind(def->event_relid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(def->event_relid)),
												get_rel_name(def->event_relid)));
	/* counts the events read, for the progress reports */
	appendStringInfo(&sql, " WHERE lambda_catalog.batch_progress(%s::pg_catalog.regclass)", regclass);
	if (query->jointree->quals || stepexpr)
	{
		appendStringInfoString(&sql, " AND ");
		if (query->jointree->quals)
			appendStringInfo(&sql, "(%s)", build_expr(query->jointree->quals, dpcontext));
		if (query->jointree->quals && stepexpr)
			appendStringInfoString(&sql, " AND ");
		/* an event of a step that has expired can never be in the window */
		if (stepexpr)
			appendStringInfo(&sql, "%s >= $1", stepexpr);
	}
	if (def->nkeys > 0)
	{
		appendStringInfoString(&sql, " GROUP BY ");
		for (i = 0; i < def->nkeys; i++)
			appendStringInfo(&sql, "%s%d", i > 0 ? ", " : "", i + 1);
	}
	else
	{
		/* no events, no row: the caller adds the one row with initial states */
		appendStringInfoString(&sql, " HAVING pg_catalog.count(*) > 0");
	}
	return sql.data;
}

/*
 * The rows of the statement's SELECT, put into a batch table whose storage
 * this transaction created (no other transaction can see it) a thousand at
 * a time by table_multi_insert, without touching its indexes: the caller
 * builds them afterwards, sorted, as CREATE INDEX does.
 */
typedef struct BuildReceiver
{
	DestReceiver pub;
	Relation	rel;
	ViewDef    *def;
	BulkInsertState bistate;
	int			options;		/* of table_multi_insert */
	CommandId	cid;
	AttrNumber *colmap;			/* batch attribute of each SELECT column */
	int			ncols;
	BuildGenerated *gen;		/* the generated columns it computes */
	TupleTableSlot *slots[BUILD_MULTI_INSERT];
	int			nslots;
	int64		rows;
	MemoryContext cxt;			/* of the slots */
} BuildReceiver;

static void
build_receiver_flush(BuildReceiver *r)
{
	int			i;

	if (r->nslots == 0)
		return;
	table_multi_insert(r->rel, r->slots, r->nslots, r->cid, r->options, r->bistate);
	for (i = 0; i < r->nslots; i++)
		ExecClearTuple(r->slots[i]);
	r->rows += r->nslots;
	r->nslots = 0;
}

static void
build_receiver_startup(DestReceiver *self, int operation pg_attribute_unused(), TupleDesc typeinfo)
{
	BuildReceiver *r = (BuildReceiver *) self;
	TupleDesc	desc = RelationGetDescr(r->rel);
	int			i;
	int			j;

	r->ncols = typeinfo->natts;
	if (r->ncols != r->def->nkeys + r->def->naggs)
		elog(ERROR, "batch build of \"%s\" returned %d columns for %d",
			 RelationGetRelationName(r->rel), r->ncols, r->def->nkeys + r->def->naggs);
	r->colmap = palloc(sizeof(AttrNumber) * r->ncols);
	for (i = 0; i < r->ncols; i++)
	{
		Form_pg_attribute src = TupleDescAttr(typeinfo, i);
		const char *name = i < r->def->nkeys ? r->def->keynames[i] : r->def->aggnames[i - r->def->nkeys];

		r->colmap[i] = InvalidAttrNumber;
		for (j = 0; j < desc->natts; j++)
		{
			Form_pg_attribute dst = TupleDescAttr(desc, j);

			if (!dst->attisdropped && strcmp(NameStr(dst->attname), name) == 0)
			{
				if (dst->atttypid != src->atttypid)
					elog(ERROR, "batch build of \"%s\" returned type %s for column \"%s\" of type %s",
						 RelationGetRelationName(r->rel), format_type_be(src->atttypid),
						 NameStr(dst->attname), format_type_be(dst->atttypid));
				r->colmap[i] = dst->attnum;
			}
		}
		if (r->colmap[i] == InvalidAttrNumber)
			elog(ERROR, "batch table \"%s\" has no column \"%s\"",
				 RelationGetRelationName(r->rel), name);
	}
}

static bool
build_receiver_receive(TupleTableSlot *slot, DestReceiver *self)
{
	BuildReceiver *r = (BuildReceiver *) self;
	TupleTableSlot *dst = r->slots[r->nslots];
	int			i;

	if (dst == NULL)
	{
		/* in the caller's memory: the executor's is gone before they are dropped */
		MemoryContext old = MemoryContextSwitchTo(r->cxt);

		dst = r->slots[r->nslots] = table_slot_create(r->rel, NULL);
		MemoryContextSwitchTo(old);
	}
	ExecClearTuple(dst);
	memset(dst->tts_isnull, true, sizeof(bool) * dst->tts_tupleDescriptor->natts);
	slot_getallattrs(slot);
	for (i = 0; i < r->ncols; i++)
	{
		dst->tts_values[r->colmap[i] - 1] = slot->tts_values[i];
		dst->tts_isnull[r->colmap[i] - 1] = slot->tts_isnull[i];
	}
	ExecStoreVirtualTuple(dst);
	if (r->gen != NULL)
		build_generated_compute(r->gen, dst);
	/* the values live in the statement's per-row memory: copy them */
	ExecMaterializeSlot(dst);
	if (++r->nslots == BUILD_MULTI_INSERT)
		build_receiver_flush(r);
	return true;
}

static void
build_receiver_shutdown(DestReceiver *self)
{
	build_receiver_flush((BuildReceiver *) self);
}

static void
build_receiver_destroy(DestReceiver *self pg_attribute_unused())
{
}

/*
 * Whether the statement's rows can go into the batch table rel without
 * INSERT: it has nothing but the keys and states the statement returns and
 * stored generated columns (_lambda_long, computed from the keys by
 * build_generated_compute), no trigger that INSERT would fire, and no
 * other user in this session.
 */
static bool
build_rows_fit(ViewDef *def, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			ncols = 0;
	int			i;

	/*
	 * Its indexes are rebuilt afterwards, which PostgreSQL refuses while a
	 * query of this session has the table open (e.g. a recompute called
	 * from a query of the view): only this build may have it open.
	 */
	if (rel->rd_rel->relhastriggers || rel->rd_refcnt != 1)
		return false;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && att->attgenerated != ATTRIBUTE_GENERATED_STORED)
			ncols++;
	}
	return ncols == def->nkeys + def->naggs;
}

/*
 * The stored generated columns of a batch table (_lambda_long), which a
 * build that writes rows without INSERT computes itself, as INSERT would
 * (ExecComputeStoredGenerated): each column's generation expression,
 * evaluated over the row the statement returned.
 */
struct BuildGenerated
{
	EState	   *estate;
	int			n;
	AttrNumber *attnums;
	ExprState **exprs;
	bool	   *isbool;			/* the column is boolean ... */
	bool	   *anytrue;		/* ... and a row the build wrote has it true */
};

/*
 * The generated columns of rel, or NULL when it has none. The expressions
 * are made ready here, by the caller (the catalog's owner, whose rights
 * their functions are checked against), not as the statement's rows are
 * computed with the view owner's.
 */
static BuildGenerated *
build_generated_init(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	BuildGenerated *gen = NULL;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Expr	   *expr;

		if (att->attisdropped || att->attgenerated != ATTRIBUTE_GENERATED_STORED)
			continue;
		if (gen == NULL)
		{
			gen = palloc0(sizeof(BuildGenerated));
			gen->estate = CreateExecutorState();
			gen->attnums = palloc(sizeof(AttrNumber) * desc->natts);
			gen->exprs = palloc(sizeof(ExprState *) * desc->natts);
			gen->isbool = palloc0(sizeof(bool) * desc->natts);
			gen->anytrue = palloc0(sizeof(bool) * desc->natts);
		}
		expr = (Expr *) build_column_default(rel, att->attnum);
		if (expr == NULL)
			elog(ERROR, "no generation expression found for column \"%s\" of \"%s\"",
				 NameStr(att->attname), RelationGetRelationName(rel));
		gen->attnums[gen->n] = att->attnum;
		gen->exprs[gen->n] = ExecPrepareExpr(expr, gen->estate);
		gen->isbool[gen->n] = (att->atttypid == BOOLOID);
		gen->n++;
	}
	return gen;
}

/*
 * Fills the generated columns of slot (virtual, every other column set) in
 * per-row memory; the caller materializes the slot before the next row.
 */
static void
build_generated_compute(BuildGenerated *gen, TupleTableSlot *slot)
{
	ExprContext *econtext = GetPerTupleExprContext(gen->estate);
	int			i;

	ResetExprContext(econtext);
	econtext->ecxt_scantuple = slot;
	for (i = 0; i < gen->n; i++)
	{
		bool		isnull;
		Datum		value = ExecEvalExprSwitchContext(gen->exprs[i], econtext, &isnull);

		slot->tts_values[gen->attnums[i] - 1] = value;
		slot->tts_isnull[gen->attnums[i] - 1] = isnull;
		if (gen->isbool[i] && !isnull && DatumGetBool(value))
			gen->anytrue[i] = true;
	}
}

/*
 * Which of gen's columns index idx's predicate is, when the predicate is a
 * boolean generated column alone (a batch table's indexes of long keys,
 * WHERE _lambda_long), or -1. An index over no row but those with that
 * column true, empty before a build whose rows all have it false or NULL
 * (gen->anytrue), is empty after it: it needs no build from the rows.
 */
static int
build_index_pred_column(Oid idx, BuildGenerated *gen)
{
	Relation	irel;
	List	   *pred;
	int			col = -1;
	int			i;

	if (gen == NULL)
		return -1;
	irel = index_open(idx, AccessShareLock);
	pred = RelationGetIndexPredicate(irel);
	if (list_length(pred) == 1 && IsA(linitial(pred), Var))
	{
		Var		   *v = linitial(pred);

		for (i = 0; i < gen->n; i++)
		{
			if (gen->isbool[i] && gen->attnums[i] == v->varattno)
				col = i;
		}
	}
	index_close(irel, AccessShareLock);
	return col;
}

/*
 * Whether an index whose predicate is gen's column col
 * (build_index_pred_column), made while the table was empty, is still
 * empty: no row the build wrote has that column true.
 */
static inline bool
build_index_stays_empty(BuildGenerated *gen, int col)
{
	return col >= 0 && !gen->anytrue[col];
}

/*
 * Whether the storage of the batch table rel was created by this
 * transaction (CREATE over existing events) and is empty: no other
 * transaction can read it, so it can be filled without its indexes and
 * reindexed afterwards.
 */
static bool
build_storage_is_new(Relation rel)
{
	return (rel->rd_createSubid != InvalidSubTransactionId ||
			rel->rd_firstRelfilelocatorSubid != InvalidSubTransactionId) &&
		RelationGetNumberOfBlocks(rel) == 0;
}

/*
 * Before a recompute writes its rows (by multi-insert or INSERT ...
 * SELECT): prunes each page of the batch table rel (the rows an earlier
 * recompute or refresh deleted, that no snapshot can see any more) and
 * records the free space of every page in the free space map, which only
 * VACUUM fills otherwise. The new rows then go into the room of the rows of
 * the recompute before last instead of all being appended: a batch table
 * recomputed again and again without a VACUUM in between stays at about two
 * generations of rows, rather than growing by one each time (and every
 * recompute's DELETE and index builds reading them all). The map is a
 * hint: an insert checks the page's room itself.
 */
static void
build_note_free_space(Relation rel)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	BufferAccessStrategy strategy;
	BlockNumber blk;

	if (nblocks == 0)
		return;
	strategy = GetAccessStrategy(BAS_BULKREAD);
	for (blk = 0; blk < nblocks; blk++)
	{
		Buffer		buf;
		Size		room;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		heap_page_prune_opt(rel, buf);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		room = PageGetHeapFreeSpace(BufferGetPage(buf));
		UnlockReleaseBuffer(buf);
		RecordPageWithFreeSpace(rel, blk, room);
	}
	FreeSpaceMapVacuum(rel);
	FreeAccessStrategy(strategy);
}

/* An index of a batch table, and its twin on the table a recompute fills. */
typedef struct BuildIndex
{
	Oid			oldoid;
	char	   *oldname;
	char	   *rest;			/* its definition after "CREATE ... INDEX name
								 * ON table " */
	bool		unique;
	Oid			newoid;
	int			predcol;		/* build_index_pred_column, made on the empty
								 * new table before its rows when >= 0 */
} BuildIndex;

/*
 * The indexes of rel that a recompute can build anew on another table of
 * the same columns (a plain CREATE INDEX each, from pg_get_indexdef), or
 * NIL with *ok false when one cannot be: backing a constraint, not valid,
 * or a definition that does not read as expected.
 */
static List *
build_index_copies(Relation rel, bool *ok)
{
	List	   *indexes = RelationGetIndexList(rel);
	List	   *copies = NIL;
	ListCell   *lc;
	char	   *relname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													 RelationGetRelationName(rel));

	*ok = true;
	foreach(lc, indexes)
	{
		Oid			idx = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
		Form_pg_index form;
		BuildIndex *b;
		char	   *ddl;
		char	   *prefix;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for index %u", idx);
		form = (Form_pg_index) GETSTRUCT(tup);
		b = palloc0(sizeof(BuildIndex));
		b->oldoid = idx;
		b->oldname = get_rel_name(idx);
		b->unique = form->indisunique;
		*ok = form->indisvalid && form->indisready && form->indislive && !form->indisexclusion &&
			!OidIsValid(get_index_constraint(idx));
		ReleaseSysCache(tup);
		if (!*ok)
			return NIL;
		ddl = pg_get_indexdef_string(idx);
		prefix = psprintf("CREATE %sINDEX %s ON %s ", b->unique ? "UNIQUE " : "",
						  quote_identifier(b->oldname), relname);
		if (strncmp(ddl, prefix, strlen(prefix)) != 0)
		{
			*ok = false;
			return NIL;
		}
		b->rest = ddl + strlen(prefix);
		b->predcol = -1;
		copies = lappend(copies, b);
	}
	return copies;
}

/*
 * Takes ACCESS EXCLUSIVE on the batch table for the instant of a swap:
 * first asked for without waiting (for up to BUILD_SWAP_TRY_MS, so that
 * readers never queue behind it while a long one holds the table), then
 * waited for.
 */
static void
build_lock_for_swap(Oid batch_relid)
{
	int			waited;

	for (waited = 0; !ConditionalLockRelationOid(batch_relid, AccessExclusiveLock); waited += 10)
	{
		if (waited >= BUILD_SWAP_TRY_MS)
		{
			LockRelationOid(batch_relid, AccessExclusiveLock);
			break;
		}
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
	}
}

/*
 * Makes TOAST table toastoid depend on relid (internally: dropped with it),
 * replacing its one dependency, on the table it belonged to.
 */
static void
build_toast_depends_on(Oid toastoid, Oid relid)
{
	ObjectAddress toast;
	ObjectAddress owner;

	if (deleteDependencyRecordsFor(RelationRelationId, toastoid, false) != 1)
		elog(ERROR, "TOAST table %u does not have exactly one dependency", toastoid);
	ObjectAddressSet(toast, RelationRelationId, toastoid);
	ObjectAddressSet(owner, RelationRelationId, relid);
	recordDependencyOn(&toast, &owner, DEPENDENCY_INTERNAL);
}

/*
 * Swaps the storage of relations r1 and r2 (two heaps or two indexes of the
 * same access method): their pg_class rows exchange relfilenode and the
 * statistics that describe the storage (relpages, reltuples, relallvisible,
 * since 18 relallfrozen) and, for heaps, relfrozenxid, relminmxid and their
 * TOAST tables: each TOAST table goes with the rows whose TOAST pointers
 * name it (the links are swapped, as REFRESH MATERIALIZED VIEW swaps them;
 * CLUSTER's swap of their contents would need the new rows to name the
 * batch table's TOAST table before the swap, where the new indexes could
 * not read them), and its dependency follows it.
 * The update invalidates both relcache entries; r1's new storage counts as
 * new in this subtransaction, as after CLUSTER (with wal_level = minimal,
 * writes to it skip WAL and it is synced at commit). The caller holds
 * ACCESS EXCLUSIVE on both.
 */
static void
build_swap_storage(Oid r1, Oid r2)
{
	Relation	pgclass = table_open(RelationRelationId, RowExclusiveLock);
	HeapTuple	t1 = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(r1));
	HeapTuple	t2 = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(r2));
	Form_pg_class c1;
	Form_pg_class c2;
	Oid			filenode;
	int32		pages;
	float4		tuples;
	int32		allvisible;
	TransactionId frozenxid;
	MultiXactId minmxid;
	Oid			toast;
	Relation	rel1;
	Relation	rel2;

	if (!HeapTupleIsValid(t1) || !HeapTupleIsValid(t2))
		elog(ERROR, "cache lookup failed for relation %u or %u", r1, r2);
	c1 = (Form_pg_class) GETSTRUCT(t1);
	c2 = (Form_pg_class) GETSTRUCT(t2);
	if (c1->relkind != c2->relkind || c1->relam != c2->relam ||
		c1->reltablespace != c2->reltablespace || c1->relpersistence != c2->relpersistence ||
		!OidIsValid(c1->relfilenode) || !OidIsValid(c2->relfilenode))
		elog(ERROR, "cannot swap the storage of relations \"%s\" and \"%s\"",
			 NameStr(c1->relname), NameStr(c2->relname));
	filenode = c1->relfilenode;
	c1->relfilenode = c2->relfilenode;
	c2->relfilenode = filenode;
	pages = c1->relpages;
	c1->relpages = c2->relpages;
	c2->relpages = pages;
	tuples = c1->reltuples;
	c1->reltuples = c2->reltuples;
	c2->reltuples = tuples;
	allvisible = c1->relallvisible;
	c1->relallvisible = c2->relallvisible;
	c2->relallvisible = allvisible;
	compat_swap_relallfrozen(c1, c2);
	frozenxid = c1->relfrozenxid;
	c1->relfrozenxid = c2->relfrozenxid;
	c2->relfrozenxid = frozenxid;
	minmxid = c1->relminmxid;
	c1->relminmxid = c2->relminmxid;
	c2->relminmxid = minmxid;
	if (c1->relkind == RELKIND_RELATION)
	{
		if (OidIsValid(c1->reltoastrelid) != OidIsValid(c2->reltoastrelid))
			elog(ERROR, "relations \"%s\" and \"%s\" differ in TOAST tables",
				 NameStr(c1->relname), NameStr(c2->relname));
		toast = c1->reltoastrelid;
		c1->reltoastrelid = c2->reltoastrelid;
		c2->reltoastrelid = toast;
	}
	CatalogTupleUpdate(pgclass, &t1->t_self, t1);
	CatalogTupleUpdate(pgclass, &t2->t_self, t2);
	if (c1->relkind == RELKIND_RELATION && OidIsValid(c1->reltoastrelid))
	{
		build_toast_depends_on(c1->reltoastrelid, r1);
		build_toast_depends_on(c2->reltoastrelid, r2);
	}
	heap_freetuple(t1);
	heap_freetuple(t2);
	table_close(pgclass, RowExclusiveLock);

	rel1 = relation_open(r1, NoLock);
	rel2 = relation_open(r2, NoLock);
	rel2->rd_createSubid = rel1->rd_createSubid;
	rel2->rd_newRelfilelocatorSubid = rel1->rd_newRelfilelocatorSubid;
	rel2->rd_firstRelfilelocatorSubid = rel1->rd_firstRelfilelocatorSubid;
	RelationAssumeNewRelfilelocator(rel1);
	relation_close(rel1, NoLock);
	relation_close(rel2, NoLock);
}

/* The TOAST table of relation relid, or InvalidOid. */
static Oid
build_toast_of(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			toast;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	toast = ((Form_pg_class) GETSTRUCT(tup))->reltoastrelid;
	ReleaseSysCache(tup);
	return toast;
}

/* The one index of TOAST table toastrelid. */
static Oid
build_toast_index(Oid toastrelid)
{
	Relation	toast = table_open(toastrelid, AccessExclusiveLock);
	List	   *indexes = RelationGetIndexList(toast);
	Oid			idx;

	if (list_length(indexes) != 1)
		elog(ERROR, "TOAST table \"%s\" has %d indexes", RelationGetRelationName(toast),
			 list_length(indexes));
	idx = linitial_oid(indexes);
	table_close(toast, NoLock);
	return idx;
}

/* Builds index b of the batch table anew on table newoid (b->newoid). */
static void
build_copy_index(BuildIndex *b, Oid newoid)
{
	Oid			nsp = get_rel_namespace(newoid);
	char	   *idxname = ChooseRelationName(b->oldname, NULL, "new", nsp, false);

	if (SPI_execute(psprintf("CREATE %sINDEX %s ON %s %s", b->unique ? "UNIQUE " : "",
							 quote_identifier(idxname),
							 quote_qualified_identifier(get_namespace_name(nsp), get_rel_name(newoid)),
							 b->rest),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not build index \"%s\" anew", b->oldname);
	b->newoid = get_relname_relid(idxname, nsp);
	if (!OidIsValid(b->newoid))
		elog(ERROR, "index \"%s\" was not created", idxname);
}

/* Builds index idx from its table's rows (REINDEX INDEX). */
static void
build_reindex(Oid idx)
{
	if (SPI_execute(psprintf("REINDEX INDEX %s",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(idx)),
														get_rel_name(idx))),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not build index \"%s\"", get_rel_name(idx));
}

/*
 * A recompute's swap: indexes each like the batch table's on the table
 * newoid that the recompute filled (sorted builds, under no lock anyone
 * else wants: nobody else can see that table), then, in an instant of
 * ACCESS EXCLUSIVE on the batch table (build_lock_for_swap), swaps the
 * storage of the two tables (their TOAST tables with it) and of each pair
 * of indexes, and drops newoid, which now holds the old storage (removed
 * at commit). The new indexes read the new rows where they lie, values out
 * of line included, in newoid's own TOAST table. The indexes of long keys
 * were made on newoid while it was empty (b->predcol): built from the rows
 * only if one has a long key (gen). Readers read the old
 * batch layer until the swap; one whose snapshot is older than the
 * recompute's commit and reads the view afterwards gets a serialization
 * failure (batch_build_check_snapshot).
 */
static void
build_swap(Oid batch_relid, Oid newoid, List *copies, BuildGenerated *gen)
{
	Oid			toast;
	ListCell   *lc;
	ObjectAddress obj;

	foreach(lc, copies)
	{
		BuildIndex *b = lfirst(lc);

		if (b->predcol < 0)
			build_copy_index(b, newoid);
		else if (!build_index_stays_empty(gen, b->predcol))
			build_reindex(b->newoid);
	}
	build_lock_for_swap(batch_relid);
	build_swap_storage(batch_relid, newoid);
	foreach(lc, copies)
	{
		BuildIndex *b = lfirst(lc);

		LockRelationOid(b->oldoid, AccessExclusiveLock);
		build_swap_storage(b->oldoid, b->newoid);
	}
	CommandCounterIncrement();
	ObjectAddressSet(obj, RelationRelationId, newoid);
	performDeletion(&obj, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	CommandCounterIncrement();

	/*
	 * The TOAST table the batch table took is named after the table that
	 * was dropped: it gets the name of the one it replaces, as after
	 * REFRESH MATERIALIZED VIEW (names only: everything finds it by oid).
	 */
	toast = build_toast_of(batch_relid);
	if (OidIsValid(toast))
	{
		char		name[NAMEDATALEN];

		snprintf(name, sizeof(name), "pg_toast_%u", batch_relid);
		RenameRelationInternal(toast, name, true, false);
		snprintf(name, sizeof(name), "pg_toast_%u_index", batch_relid);
		RenameRelationInternal(build_toast_index(toast), name, true, true);
		CommandCounterIncrement();
	}
}

/*
 * For a read of def's view under snapshot snap (the merged read path calls
 * it as its scan starts): a recompute swaps new storage into the batch
 * table (build_swap), whose rows a snapshot older than the recompute's
 * commit cannot see. Such a snapshot (a REPEATABLE READ or SERIALIZABLE
 * transaction's, taken before the recompute committed, that first reads
 * the view after it) would read no batch rows with the old cut: instead
 * of that wrong answer, a serialization failure, as PostgreSQL gives for
 * rows a snapshot cannot read consistently. A snapshot that sees the
 * batch table's current pg_class row (the swap's or a later one) is fine;
 * one that does not is checked for the storage it would have seen. A
 * snapshot that read the view before the swap holds a lock on the batch
 * table that the swap waits for.
 */
void
batch_build_check_snapshot(ViewDef *def, Snapshot snap)
{
	HeapTuple	tup;
	TransactionId xmin;
	Oid			current;
	Relation	pgclass;
	ScanKeyData key;
	SysScanDesc scan;
	bool		stale;

	if (snap == NULL || !IsMVCCSnapshot(snap))
		return;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(def->batch_relid));
	if (!HeapTupleIsValid(tup))
		return;
	current = ((Form_pg_class) GETSTRUCT(tup))->relfilenode;
	xmin = HeapTupleHeaderGetXmin(tup->t_data);
	ReleaseSysCache(tup);
	if (!TransactionIdIsNormal(xmin) || TransactionIdIsCurrentTransactionId(xmin) ||
		!XidInMVCCSnapshot(xmin, snap))
		return;
	/* the snapshot sees an older version of the row: which storage it names */
	pgclass = table_open(RelationRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(def->batch_relid));
	scan = systable_beginscan(pgclass, ClassOidIndexId, true, snap, 1, &key);
	tup = systable_getnext(scan);
	stale = HeapTupleIsValid(tup) && ((Form_pg_class) GETSTRUCT(tup))->relfilenode != current;
	systable_endscan(scan);
	table_close(pgclass, AccessShareLock);
	if (stale)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent recompute of continuous view \"%s\"",
						get_rel_name(def->view_relid)),
				 errdetail("lambda.recompute replaced the view's batch layer after this transaction's snapshot was taken; the batch layer that snapshot would read is gone."),
				 errhint("Retry the transaction.")));
}

/* Names the build's statement in the context of an error, as SPI does. */
static void
build_error_context(void *arg)
{
	errcontext("SQL statement \"%s\"", (const char *) arg);
}

/*
 * Runs the build's statement (plan, text sql) under snap, its rows going to
 * dest (NULL for the INSERT, which sends none), and returns the rows it
 * processed.
 *
 * Rights: the statement was parsed by the current user, the catalog's
 * owner, and its executor is started by it: its permission checks are
 * those of the statement, whose batch_* functions and batch table are the
 * catalog owner's alone. It is planned and its rows are computed as runas,
 * the view's owner, in a security-restricted operation, so that the
 * definition's expressions (a function of the view owner's, say, evaluated
 * per row or folded by the planner) run with the view owner's rights, as its
 * defining query would; what the view owner may read was checked before
 * (privilege_check_view). An error on the way restores the user with the
 * transaction's (or subtransaction's) abort.
 */
static uint64
build_execute(SPIPlanPtr plan, const char *sql, Snapshot snap, ParamListInfo params,
			  DestReceiver *dest, Oid runas)
{
	CachedPlan *cplan;
	PlannedStmt *stmt;
	QueryDesc  *qd;
	Oid			save_userid;
	int			save_sec;
	uint64		processed;
	ErrorContextCallback errcb;

	errcb.callback = build_error_context;
	errcb.arg = (void *) sql;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(runas, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	cplan = SPI_plan_get_cached_plan(plan);
	SetUserIdAndSecContext(save_userid, save_sec);
	if (cplan == NULL || list_length(cplan->stmt_list) != 1)
		elog(ERROR, "the batch build is not one statement");
	stmt = linitial_node(PlannedStmt, cplan->stmt_list);
	if (dest == NULL)
	{
		/* the INSERT sees what this transaction did before it (the DELETE) */
		CommandCounterIncrement();
		PushCopiedSnapshot(snap);
		UpdateActiveSnapshotCommandId();
	}
	else
		PushActiveSnapshot(snap);
	qd = CreateQueryDesc(stmt, sql, GetActiveSnapshot(), InvalidSnapshot,
						 dest ? dest : None_Receiver, params, NULL, 0);
	ExecutorStart(qd, 0);
	SetUserIdAndSecContext(runas, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ExecutorRun(qd, ForwardScanDirection, 0);
	SetUserIdAndSecContext(save_userid, save_sec);
	/* AFTER triggers of the INSERT fire here, as for the row path's upserts */
	ExecutorFinish(qd);
	processed = qd->estate->es_processed;
	ExecutorEnd(qd);
	FreeQueryDesc(qd);
	PopActiveSnapshot();
	/* an unsaved plan's cached plan has no resource owner */
	ReleaseCachedPlan(cplan, NULL);
	error_context_stack = errcb.previous;
	return processed;
}

/*
 * Replaces the rows of def's batch table by the groups of every event that
 * snap sees; horizon is a sliding window's first readable step. Runs in the
 * catalog scope (catalog_begin). Returns the rows inserted.
 *
 * A batch table created by this transaction gets the SELECT's rows by
 * multi-insert and its indexes built afterwards (REINDEX: a sort, not a
 * descent of the unique index per row). Any other gets them, the same way,
 * in a new table of the same columns (make_new_heap, as REFRESH
 * MATERIALIZED VIEW and CLUSTER make one), indexed like it, whose storage
 * is then swapped in (build_swap): the old rows are neither deleted nor
 * indexed again, and readers read them until the swap. A batch table whose
 * rows need INSERT (a trigger) or that a query of this session holds open
 * has its rows deleted and gets INSERT ... SELECT, whose rows other
 * transactions do not see before it commits, and whose old rows they keep
 * reading meanwhile.
 */
int64
batch_build(ViewDef *def, Snapshot snap, Datum horizon)
{
	char	   *sql;
	SPIPlanPtr	plan;
	Oid			argtypes[1];
	ParamListInfo params;
	char	   *mwm;
	Relation	rel;
	Relation	target;
	Oid			newoid = InvalidOid;
	BuildWay	way;
	List	   *copies = NIL;
	List	   *indexes;
	BuildGenerated *gen = NULL;
	int64		rows;

	build_progress.running = true;
	strlcpy(build_progress.view,
			quote_qualified_identifier(get_namespace_name(get_rel_namespace(def->view_relid)),
									   get_rel_name(def->view_relid)),
			sizeof(build_progress.view));
	build_progress.phase = NULL;
	build_progress.done = 0;
	build_progress.total = build_events_estimate(def->event_relid);
	build_progress.start = GetCurrentTimestamp();
	build_report();

	/* the hash aggregation spills where maintenance commands would */
	mwm = psprintf("%dkB", maintenance_work_mem);
	(void) set_config_option("work_mem", mwm, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * Grouped by hashing whenever the keys can be hashed: the planner knows
	 * no size for batch_state's "internal" state and assumes 8 kB a group,
	 * so past ~100,000 groups it costs a hash aggregation as spilling to
	 * many partitions and, for keys it finds cheap to sort (text), sorts
	 * every event instead: 20% more CPU for a recompute of 841,304 text
	 * groups (docs/benchmarks.md). No size is declared for the state: the
	 * hash aggregation planned with partitions holds fewer groups at once
	 * and is faster for it than one planned to hold them all (30% of the
	 * build's CPU time for 841,304 integer groups). Keys without a hash
	 * function are still sorted (enable_sort only makes a sort costlier).
	 */
	(void) set_config_option("enable_sort", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/*
	 * The new table's indexes go where the batch table's are: in the
	 * tablespace their definitions name, or the database's default (not the
	 * session's default_tablespace), so that their storage can be swapped.
	 */
	(void) set_config_option("default_tablespace", "", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	rel = table_open(def->batch_relid, RowExclusiveLock);
	way = BUILD_INSERT;
	if (build_rows_fit(def, rel))
	{
		bool		ok;

		if (build_storage_is_new(rel))
			way = BUILD_NEW_STORAGE;
		else if ((copies = build_index_copies(rel, &ok)) != NIL && ok)
			way = BUILD_SWAP;
	}
	target = rel;
	if (way == BUILD_INSERT)
	{
		if (SPI_execute(psprintf("DELETE FROM %s",
								 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
															RelationGetRelationName(rel))),
						false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not empty the batch table of \"%s\"", get_rel_name(def->view_relid));
		build_note_free_space(rel);
	}
	else
		gen = build_generated_init(rel);
	if (way == BUILD_SWAP)
	{
		ListCell   *lc;

		newoid = make_new_heap(def->batch_relid, rel->rd_rel->reltablespace, rel->rd_rel->relam,
							   rel->rd_rel->relpersistence, ShareUpdateExclusiveLock);
		CommandCounterIncrement();

		/*
		 * The indexes of long keys (WHERE _lambda_long), made while the new
		 * table is empty: with no long key among the rows (nearly always)
		 * they are done, rather than each reading all the rows afterwards
		 * (and a hash index sized for them all, empty).
		 */
		foreach(lc, copies)
		{
			BuildIndex *b = lfirst(lc);

			b->predcol = build_index_pred_column(b->oldoid, gen);
			if (b->predcol >= 0)
				build_copy_index(b, newoid);
		}
		target = table_open(newoid, AccessExclusiveLock);
	}
	sql = build_sql(def, way == BUILD_INSERT);
	ereport(DEBUG1, (errmsg_internal("pg_lambda batch build: %s", sql)));
	argtypes[0] = def->steptype;
	plan = SPI_prepare_cursor(sql, def->sliding ? 1 : 0, argtypes, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "could not prepare the batch build of \"%s\": %s",
			 get_rel_name(def->view_relid), SPI_result_code_string(SPI_result));
	params = NULL;
	if (def->sliding)
	{
		params = makeParamList(1);
		params->numParams = 1;
		params->params[0].value = horizon;
		params->params[0].isnull = false;
		params->params[0].pflags = PARAM_FLAG_CONST;
		params->params[0].ptype = def->steptype;
	}
	if (way != BUILD_INSERT)
	{
		BuildReceiver *r = palloc0(sizeof(BuildReceiver));
		int			i;

		r->pub.receiveSlot = build_receiver_receive;
		r->pub.rStartup = build_receiver_startup;
		r->pub.rShutdown = build_receiver_shutdown;
		r->pub.rDestroy = build_receiver_destroy;
		r->pub.mydest = DestNone;
		r->rel = target;
		r->def = def;
		r->bistate = GetBulkInsertState();
		/* a table new in this transaction: its free space map is empty */
		r->options = TABLE_INSERT_SKIP_FSM;
		r->cid = GetCurrentCommandId(true);
		r->cxt = CurrentMemoryContext;
		r->gen = gen;
		(void) build_execute(plan, sql, snap, params, (DestReceiver *) r, build_view_owner(def));
		FreeBulkInsertState(r->bistate);
		if (r->gen != NULL)
			FreeExecutorState(r->gen->estate);
		for (i = 0; i < BUILD_MULTI_INSERT && r->slots[i] != NULL; i++)
			ExecDropSingleTupleTableSlot(r->slots[i]);
		rows = r->rows;
		indexes = RelationGetIndexList(rel);
		if (target != rel)
			table_close(target, NoLock);
		table_close(rel, NoLock);
		CommandCounterIncrement();
		/* the indexes, sorted from the rows just written */
		build_progress.phase = "indexing";
		build_report();
		if (way == BUILD_SWAP)
			build_swap(def->batch_relid, newoid, copies, gen);
		else
		{
			ListCell   *lc;

			/*
			 * Each index of the new storage but those of long keys with no
			 * long key written, which were empty and stay so (the TOAST
			 * table's index was kept up to date as values went out of line)
			 */
			foreach(lc, indexes)
			{
				Oid			idx = lfirst_oid(lc);

				if (!build_index_stays_empty(gen, build_index_pred_column(idx, gen)))
					build_reindex(idx);
			}
		}
	}
	else
	{
		table_close(rel, NoLock);
		rows = (int64) build_execute(plan, sql, snap, params, NULL, build_view_owner(def));
	}
	SPI_freeplan(plan);
	build_progress.running = false;
	/* lambda.view_status shows no rebuild once the statement is over */
	pgstat_report_activity(STATE_RUNNING, debug_query_string ? debug_query_string : "");
	return rows;
}

/*
 * The events an event table holds, from the planner's statistics (its
 * partitions' for a partitioned table); -1 when never counted.
 */
static double
build_events_estimate(Oid relid)
{
	List	   *rels = list_make1_oid(relid);
	ListCell   *lc;
	double		total = 0;

	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		rels = find_all_inheritors(relid, AccessShareLock, NULL);
	foreach(lc, rels)
	{
		Relation	rel;

		if (get_rel_relkind(lfirst_oid(lc)) != RELKIND_RELATION)
			continue;
		rel = table_open(lfirst_oid(lc), AccessShareLock);
		if (rel->rd_rel->reltuples < 0)
			total = -1;
		else if (total >= 0)
			total += rel->rd_rel->reltuples;
		table_close(rel, AccessShareLock);
	}
	return total;
}

/*
 * Shows how far the build got in pg_stat_activity.query, which
 * lambda.view_status reads (its rebuild_* columns):
 *
 *	 recomputing continuous view public.v: 1200000 of about 5000000 events (24%), 3 s, about 9 s left
 *
 * "of about ... (P%)" only when the event table's size is known, the time
 * left once some events were read, and ", indexing" once all were.
 */
static void
build_report(void)
{
	long		secs;
	int			usecs;
	StringInfoData msg;

	TimestampDifference(build_progress.start, GetCurrentTimestamp(), &secs, &usecs);
	initStringInfo(&msg);
	appendStringInfo(&msg, "recomputing continuous view %s: %lld ", build_progress.view,
					 (long long) build_progress.done);
	if (build_progress.total > 0)
		appendStringInfo(&msg, "of about %.0f events (%d%%), %ld s", build_progress.total,
						 (int) Min(100.0, 100.0 * build_progress.done / build_progress.total), secs);
	else
		appendStringInfo(&msg, "events, %ld s", secs);
	if (build_progress.phase)
		appendStringInfo(&msg, ", %s", build_progress.phase);
	else if (build_progress.total > 0 && build_progress.done > 0)
	{
		double		elapsed = secs + usecs / 1e6;
		double		left = elapsed * Max(0.0, build_progress.total - build_progress.done) / build_progress.done;

		appendStringInfo(&msg, ", about %.0f s left", left);
	}
	pgstat_report_activity(STATE_RUNNING, msg.data);
	pfree(msg.data);
}

/* ------------------------------------------------------------------------
 * The statement's functions
 * ------------------------------------------------------------------------
 */

/* One group's state of lambda_catalog.batch_state. */
typedef struct BuildState
{
	AggMeta    *meta;
	Datum		value;
	bool		isnull;
} BuildState;

/*
 * The aggregate a call of batch_state or batch_image computes, checked
 * against the types it is called with (once per call site: fn_extra).
 */
static AggMeta *
build_meta(FunctionCallInfo fcinfo, bool image)
{
	AggMeta    *m = fcinfo->flinfo->fn_extra;
	ViewDef    *def;
	ViewAgg    *va;
	int			aggno;
	int			nargs;
	int			i;
	int			first = image ? 0 : 1;	/* the view's argument */

	if (m != NULL)
		return m;
	if (PG_ARGISNULL(first) || PG_ARGISNULL(first + 1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the continuous view and aggregate number of %s must not be NULL",
						image ? "lambda_catalog.batch_image" : "lambda_catalog.batch_state"),
				 errdetail("They name the aggregate whose state it computes."),
				 errhint("pg_lambda calls this function itself, in a recompute.")));
	aggno = PG_GETARG_INT32(first + 1);
	m = aggmeta_lookup(PG_GETARG_OID(first), aggno);
	def = cview_get(PG_GETARG_OID(first));
	va = &def->aggs[aggno - 1];
	if (image)
	{
		if (!build_direct(va) || get_fn_expr_argtype(fcinfo->flinfo, 2) != m->transtype)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("lambda_catalog.batch_image takes a state of aggregate %d of \"%s\"",
							aggno, get_rel_name(def->view_relid)),
					 errdetail("It was given type %s.", format_type_be(get_fn_expr_argtype(fcinfo->flinfo, 2))),
					 errhint("pg_lambda calls this function itself, in a recompute.")));
	}
	else
	{
		nargs = PG_NARGS() - 4;
		if (nargs != list_length(va->impl->args))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("lambda_catalog.batch_state was given %d aggregate arguments for aggregate %d of \"%s\"",
							nargs, aggno, get_rel_name(def->view_relid)),
					 errdetail_plural("The aggregate takes %d argument.", "The aggregate takes %d arguments.",
									  list_length(va->impl->args), list_length(va->impl->args)),
					 errhint("pg_lambda calls this function itself, in a recompute.")));
		for (i = 0; i < nargs; i++)
		{
			Oid			want = exprType((Node *) ((TargetEntry *) list_nth(va->impl->args, i))->expr);
			Oid			got = get_fn_expr_argtype(fcinfo->flinfo, 4 + i);

			if (want != got)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("lambda_catalog.batch_state was given type %s as argument %d of aggregate %d of \"%s\"",
								format_type_be(got), i + 1, aggno, get_rel_name(def->view_relid)),
						 errdetail("The aggregate takes type %s there.", format_type_be(want)),
						 errhint("pg_lambda calls this function itself, in a recompute.")));
		}
	}
	fcinfo->flinfo->fn_extra = m;
	return m;
}

/*
 * lambda_catalog.batch_state's transition: (state, view, aggno, include,
 * args...). Folds args into the aggregate's state when include is true.
 */
Datum
lambda_batch_state_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	BuildState *st = PG_ARGISNULL(0) ? NULL : (BuildState *) PG_GETARG_POINTER(0);
	AggMeta    *m;
	LOCAL_FCINFO(inner, FUNC_MAX_ARGS);
	int			nargs = PG_NARGS() - 4;
	int			i;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lambda_catalog.batch_state_trans can only be called as an aggregate's transition"),
				 errdetail("It is the transition function of lambda_catalog.batch_state."),
				 errhint("pg_lambda calls lambda_catalog.batch_state itself, in a recompute.")));
	m = build_meta(fcinfo, false);
	if (st == NULL)
	{
		st = MemoryContextAlloc(aggcxt, sizeof(BuildState));
		st->meta = m;
		aggmeta_initial(m, &st->value, &st->isnull, aggcxt);
	}
	if (PG_ARGISNULL(3) || !PG_GETARG_BOOL(3))
		PG_RETURN_POINTER(st);
	InitFunctionCallInfoData(*inner, m->hasexact ? &m->exacttransfn : &m->transfn,
							 m->ntransargs + 1, m->collation, NULL, NULL);
	for (i = 0; i < nargs; i++)
		inner->args[i + 1] = fcinfo->args[i + 4];
	aggmeta_advance(m, inner, &st->value, &st->isnull, aggcxt);
	PG_RETURN_POINTER(st);
}

/* lambda_catalog.batch_state's final function: the state's stored form. */
Datum
lambda_batch_state_final(PG_FUNCTION_ARGS)
{
	BuildState *st;

	if (!AggCheckCallContext(fcinfo, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lambda_catalog.batch_state_final can only be called as an aggregate's final function"),
				 errdetail("It is the final function of lambda_catalog.batch_state."),
				 errhint("pg_lambda calls lambda_catalog.batch_state itself, in a recompute.")));
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BuildState *) PG_GETARG_POINTER(0);
	if (st->isnull)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(aggmeta_serialize(st->meta, st->value));
}

/*
 * lambda_catalog.batch_image(view, aggno, state): the stored form of a
 * state computed by the aggregate itself (the direct way).
 */
Datum
lambda_batch_image(PG_FUNCTION_ARGS)
{
	AggMeta    *m = build_meta(fcinfo, true);

	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(aggmeta_serialize(m, PG_GETARG_DATUM(2)));
}

/*
 * lambda_catalog.batch_progress(view): true; counts the events the build
 * reads and reports its progress every BUILD_PROGRESS_EVERY of them.
 */
Datum
lambda_batch_progress(PG_FUNCTION_ARGS)
{
	if (build_progress.running && ++build_progress.done % BUILD_PROGRESS_EVERY == 0)
		build_report();
	PG_RETURN_BOOL(true);
}

/*
 * Its planner support: batch_progress keeps every row (selectivity 1), so
 * that the build is planned for all the events it reads.
 */
Datum
lambda_batch_progress_support(PG_FUNCTION_ARGS)
{
	Node	   *req = (Node *) PG_GETARG_POINTER(0);

	if (IsA(req, SupportRequestSelectivity))
	{
		((SupportRequestSelectivity *) req)->selectivity = 1.0;
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}
