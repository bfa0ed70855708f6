/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  The batch layer: a table of partial states per group, refreshed from
 *	  the speed layer's closed generations or recomputed from the events.
 *
 * The cut. lambda_catalog.continuous_view records, in the same transaction
 * as the batch rows, which events the batch table holds: those visible to
 * the cut snapshot (xmin, xmax, and every transaction and subtransaction in
 * progress at it), and the last speed-layer generation folded in. An event
 * is "in the batch" when its inserting transaction is visible to the cut
 * snapshot. That is what a tail scan tests for each event (raw xmin, so that
 * freezing does not hide it), to answer or rebuild the events after the cut.
 *
 * Refresh (REFRESH MATERIALIZED VIEW, the scheduler): locks the batch table
 * against other refreshes (ShareUpdateExclusive; readers go on), closes the
 * open generation and takes the cut snapshot in one instant (speed_cut),
 * then folds in either the closed generations (incremental: cost in
 * proportion to the groups that changed) or, when one of them is incomplete,
 * the events after the old cut (a tail scan); upserts the groups into the
 * batch table, combining states; and records the new cut. Recompute
 * replaces the batch rows by the groups of every event (batch_build.c: a
 * new table swapped in, or a DELETE and INSERT ... SELECT; on the row path
 * a DELETE and the upsert of every group). Rebuild (after a restart) fills
 * the speed layer from a tail scan instead of the batch table.
 *
 * A tail scan of an event table with an arrival index (event_table.c) reads
 * only the block ranges whose inserting transactions reach the cut's xmin,
 * which hold every event the cut does not see; it tests each event it reads
 * against the cut as a whole-table scan does (batch_tail_pages).
 *
 * Long keys. A btree entry holds at most a third of a page, so a group key
 * of any size cannot be under a unique btree index. When a view's keys can
 * be long (a variable-length key column), its batch table has a stored
 * generated column _lambda_long, true when the key's uncompressed size
 * (batch_key_is_long) exceeds BATCH_KEY_MAX_BYTES; the unique index covers
 * only the other rows (WHERE NOT _lambda_long), the long ones are found
 * through a btree index on a 64-bit hash of the key (lambda_catalog.
 * key_hash, the key types' own hash functions) and a hash index per
 * variable-length key column (for point queries, view.c). Short keys are
 * upserted with INSERT ... ON CONFLICT (batch tables without long keys
 * directly instead: batch_direct_upsert); long ones by an UPDATE of the rows
 * whose hash and key are equal (a hash collision only costs a comparison)
 * and an INSERT of the others, which is safe because refreshes of a view
 * are serialized by their lock on the batch table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/relscan.h"
#include "access/itup.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/subtrans.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/tupconvert.h"
#include "catalog/pg_inherits.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/tidbitmap.h"
#include "parser/parse_coerce.h"
#include "parser/parse_func.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/sortsupport.h"
#include "utils/datum.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/xid8.h"

#include "aggstate.h"
#include "batch.h"
#include "capture.h"
#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "event_table.h"
#include "keyimage.h"
#include "partial.h"
#include "privilege.h"
#include "speed.h"
#include "speed_read.h"

#define BATCH_CHUNK		10000	/* groups per upsert statement */

/* How many groups ahead batch_direct_upsert prefetches (twice that: entries) */
#define BATCH_PREFETCH	8
#if defined(__GNUC__) || defined(__clang__)
#define batch_prefetch(p)	__builtin_prefetch(p)
#else
#define batch_prefetch(p)	((void) (p))
#endif

PG_FUNCTION_INFO_V1(lambda_key_is_long);
PG_FUNCTION_INFO_V1(lambda_key_hash);

static int
xid_cmp(const void *a, const void *b)
{
	TransactionId x = *(const TransactionId *) a;
	TransactionId y = *(const TransactionId *) b;

	return (x > y) - (x < y);
}

/*
 * Whether the cut holds the event tup: its inserting transaction (raw xmin)
 * is visible to the cut, and when that is the transaction that made the cut,
 * the event was inserted by a command before the cut's.
 */
static inline bool
cut_sees(BatchCut *cut, HeapTupleHeader tup, uint32 next)
{
	TransactionId xid = HeapTupleHeaderGetRawXmin(tup);
	uint32		age;
	int			i;

	if (!cut->has_snapshot)
		return false;
	if (!TransactionIdIsNormal(xid))
		return true;
	age = next - xid;
	if (age > next - cut->xmin)
		return true;			/* before the cut's xmin */
	if (age <= next - cut->xmax)
		return false;			/* at or after the cut's xmax */
	for (i = 0; i < cut->nown; i++)
	{
		if (cut->own[i] == xid)
		{
			/* a combo command id only while its transaction runs */
			CommandId	cid = (tup->t_infomask & HEAP_COMBOCID) ?
				HeapTupleHeaderGetCmin(tup) : HeapTupleHeaderGetRawCommandId(tup);

			return cid < cut->command;
		}
	}
	return bsearch(&xid, cut->xip, cut->nxip, sizeof(TransactionId), xid_cmp) == NULL;
}

/*
 * The pages of rel that can hold events the cut does not see, in increasing
 * order; NULL (every page) when rel has no arrival index. Every such event
 * was inserted by a transaction at or after the cut's xmin (the older ones
 * had all ended at the cut), so its arrival column is at least that: the
 * BRIN index gives the pages of the block ranges whose largest value
 * reaches it, and every page of a range it has not summarized yet. Pages
 * added after this runs hold only events of transactions snap does not see.
 */
static BlockNumber *
batch_tail_pages(Relation rel, Snapshot snap, BatchCut *cut, int *npages)
{
	AttrNumber	attnum;
	Oid			indexid = event_table_arrival_index(rel, &attnum);
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData key;
	TIDBitmap  *tbm;
	BlockNumber *pages;

	if (!OidIsValid(indexid))
		return NULL;
	index = index_open(indexid, AccessShareLock);
	ScanKeyEntryInitialize(&key, 0, 1, BTGreaterEqualStrategyNumber, INT8OID, InvalidOid, F_INT8GE,
						   Int64GetDatum((int64) U64FromFullTransactionId(cut->xmin_full)));
	tbm = tbm_create(work_mem * 1024L, NULL);
	scan = compat_index_beginscan_bitmap(index, snap, 1);
	index_rescan(scan, &key, 1, NULL, 0);
	(void) index_getbitmap(scan, tbm);
	index_endscan(scan);
	index_close(index, AccessShareLock);
	pages = compat_tbm_blocks(tbm, npages);
	tbm_free(tbm);
	return pages;
}

/*
 * Folds into ph every event that snap sees and the cut does not (every
 * event when cut is NULL); only the group with key image "only" when given.
 * With a cut, reads only the pages its arrival index points to (see
 * batch_tail_pages), each run of consecutive pages by a TID range scan.
 * Returns the number of events read (tested against the cut or not).
 */
int64
batch_tail_scan(ViewDef *def, Snapshot snap, BatchCut *cut, PartialHash *ph,
				const char *only, int onlylen)
{
	uint32		next = XidFromFullTransactionId(ReadNextFullTransactionId());
	List	   *rels = list_make1_oid(def->event_relid);
	ListCell   *lc;
	int64		nread = 0;

	if (get_rel_relkind(def->event_relid) == RELKIND_PARTITIONED_TABLE)
		rels = find_all_inheritors(def->event_relid, AccessShareLock, NULL);
	foreach(lc, rels)
	{
		Relation	rel;
		TableScanDesc scan = NULL;
		TupleTableSlot *slot;
		TupleConversionMap *map;
		BlockNumber *pages = NULL;
		int			npages = 0;
		int			run = 0;

		if (get_rel_relkind(lfirst_oid(lc)) != RELKIND_RELATION)
			continue;
		rel = table_open(lfirst_oid(lc), AccessShareLock);
		if (cut && cut->has_snapshot)
			pages = batch_tail_pages(rel, snap, cut, &npages);
		slot = table_slot_create(rel, NULL);
		/* partitions' rows in the event table's shape */
		map = convert_tuples_by_name(RelationGetDescr(rel), def->slot->tts_tupleDescriptor);
		for (;;)
		{
			if (pages)
			{
				ItemPointerData lo;
				ItemPointerData hi;
				int			end = run;

				if (run >= npages)
					break;
				while (end + 1 < npages && pages[end + 1] == pages[end] + 1)
					end++;
				ItemPointerSet(&lo, pages[run], FirstOffsetNumber);
				ItemPointerSet(&hi, pages[end], MaxOffsetNumber);
				if (scan == NULL)
					scan = table_beginscan_tidrange(rel, snap, &lo, &hi);
				else
					table_rescan_tidrange(scan, &lo, &hi);
				run = end + 1;
			}
			else
				scan = table_beginscan(rel, snap, 0, NULL);
			while (pages ? table_scan_getnextslot_tidrange(scan, ForwardScanDirection, slot) :
				   table_scan_getnextslot(scan, ForwardScanDirection, slot))
			{
				CHECK_FOR_INTERRUPTS();
				nread++;
				if (cut)
				{
					bool		shouldfree;
					HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &shouldfree);
					bool		seen = cut_sees(cut, tup->t_data, next);

					if (shouldfree)
						heap_freetuple(tup);
					if (seen)
						continue;
				}
				partial_add_slot_key(ph, map ? execute_attr_map_slot(map->attrMap, slot, def->slot) : slot,
									 only, onlylen);
			}
			if (!pages)
				break;
		}
		ExecDropSingleTupleTableSlot(slot);
		if (scan)
			table_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	return nread;
}

static FullTransactionId
xid_full(TransactionId xid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	uint32		epoch = EpochFromFullTransactionId(next);

	if (!TransactionIdIsNormal(xid))
		return FullTransactionIdFromEpochAndXid(0, xid);
	if (xid >= XidFromFullTransactionId(next))
		epoch--;
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

/*
 * Every transaction id the snapshot does not see between its xmin and xmax:
 * top-level and subtransactions (from pg_subtrans when the snapshot's
 * subtransaction cache overflowed).
 */
static ArrayType *
snapshot_invisible_xids(Snapshot snap)
{
	int			cap = snap->xcnt + Max(snap->subxcnt, 0) + 16;
	TransactionId *xids = palloc(sizeof(TransactionId) * cap);
	Datum	   *elems;
	int			n = 0;
	int			i;
	uint32		k;

	for (k = 0; k < snap->xcnt; k++)
		xids[n++] = snap->xip[k];
	if (!snap->suboverflowed)
	{
		for (i = 0; i < snap->subxcnt; i++)
			xids[n++] = snap->subxip[i];
	}
	else
	{
		TransactionId x = snap->xmin;

		while (TransactionIdPrecedes(x, snap->xmax))
		{
			if (TransactionIdFollowsOrEquals(x, TransactionXmin))
			{
				TransactionId top = SubTransGetTopmostTransaction(x);

				if (top != x)
				{
					for (k = 0; k < snap->xcnt; k++)
					{
						if (snap->xip[k] == top)
						{
							if (n == cap)
							{
								cap *= 2;
								xids = repalloc(xids, sizeof(TransactionId) * cap);
							}
							xids[n++] = x;
							break;
						}
					}
				}
			}
			TransactionIdAdvance(x);
		}
	}
	elems = palloc(sizeof(Datum) * (n + 1));
	for (i = 0; i < n; i++)
		elems[i] = FullTransactionIdGetDatum(xid_full(xids[i]));
	return construct_array(elems, n, XID8OID, sizeof(FullTransactionId), true, TYPALIGN_DOUBLE);
}

static char *
batch_qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* ------------------------------------------------------------------------
 * Long keys (see the file header)
 * ------------------------------------------------------------------------
 */

/* A null key value's share of a key hash */
#define BATCH_NULL_HASH		UINT64CONST(0x9E3779B97F4A7C15)

/* The uncompressed size of a value of a type of length typlen. */
static Size
batch_value_bytes(Datum value, int16 typlen)
{
	if (typlen > 0)
		return typlen;
	if (typlen == -1)
		return toast_raw_datum_size(value);
	return strlen(DatumGetCString(value)) + 1;
}

/*
 * Whether a key is too large for the unique btree index: its values'
 * uncompressed sizes, each padded to the widest alignment, plus an index
 * tuple header with a null bitmap, exceed BATCH_KEY_MAX_BYTES. The size of
 * a value does not depend on how it is stored (compressed, out of line,
 * short header), so one key image always gets the same answer.
 */
static bool
batch_values_long(int n, const Oid *types, const Datum *values, const bool *nulls)
{
	Size		total = MAXALIGN(sizeof(IndexTupleData) + sizeof(IndexAttributeBitMapData));
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!nulls[i])
			total += MAXALIGN(batch_value_bytes(values[i], lookup_type_cache(types[i], 0)->typlen));
	}
	return total > BATCH_KEY_MAX_BYTES;
}

/*
 * Whether no key of the view can be long whose column i (0-based) takes
 * at most maxbytes[i] bytes (uncompressed, as batch_values_long counts
 * them), or, where maxbytes[i] is negative, any value of the column's
 * type: false when such a column has variable length.
 */
bool
batch_key_surely_short(ViewDef *def, const int64 *maxbytes)
{
	Size		total = MAXALIGN(sizeof(IndexTupleData) + sizeof(IndexAttributeBitMapData));
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		if (maxbytes[i] >= 0)
			total += MAXALIGN(maxbytes[i]);
		else if (def->keylens[i] > 0)
			total += MAXALIGN(def->keylens[i]);
		else
			return false;
	}
	return total <= BATCH_KEY_MAX_BYTES;
}

/* The uncompressed size of a value of key column col, as a key stores it. */
int64
batch_key_value_bytes(ViewDef *def, int col, Datum value)
{
	return (int64) batch_value_bytes(value, def->keylens[col]);
}

/*
 * A 64-bit hash of a key, from each type's extended hash function under
 * the column's collation, so that equal keys (as the type's equality, which
 * GROUP BY uses, sees them) hash alike. A type without a hash function adds
 * nothing: its keys then differ only by the other columns' hashes, and the
 * comparison that follows every hash match tells them apart.
 */
static int64
batch_values_hash(int n, const Oid *types, const Oid *colls, const Datum *values, const bool *nulls)
{
	uint64		h = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		uint64		c = 0;

		if (nulls[i])
			c = BATCH_NULL_HASH;
		else
		{
			TypeCacheEntry *tc = lookup_type_cache(types[i], TYPECACHE_HASH_EXTENDED_PROC_FINFO);

			if (OidIsValid(tc->hash_extended_proc_finfo.fn_oid))
				c = DatumGetUInt64(FunctionCall2Coll(&tc->hash_extended_proc_finfo, colls[i],
													 values[i], UInt64GetDatum(0)));
		}
		h = hash_combine64(h, c);
	}
	return (int64) h;
}

/*
 * Reads the arguments of lambda_catalog.key_is_long / key_hash(VARIADIC
 * "any"): values, nulls, types, and each argument's collation (from the
 * call's expression: a column's own collation in an index or a generated
 * column). Returns their number.
 */
static int
batch_key_args(FunctionCallInfo fcinfo, Datum *values, bool *nulls, Oid *types, Oid *colls)
{
	Node	   *expr = fcinfo->flinfo->fn_expr;
	List	   *args = (expr && IsA(expr, FuncExpr)) ? ((FuncExpr *) expr)->args : NIL;
	int			n = PG_NARGS();
	int			i;

	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_lambda key functions do not take a VARIADIC array"),
				 errhint("Pass the key columns as separate arguments.")));
	for (i = 0; i < n; i++)
	{
		types[i] = get_fn_expr_argtype(fcinfo->flinfo, i);
		if (!OidIsValid(types[i]))
			elog(ERROR, "could not determine the type of key argument %d", i + 1);
		colls[i] = i < list_length(args) ? exprCollation(list_nth(args, i)) : PG_GET_COLLATION();
		nulls[i] = PG_ARGISNULL(i);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	return n;
}

/*
 * lambda_catalog.key_is_long(VARIADIC "any"): whether a batch table's key
 * is kept out of its unique index (the generated column _lambda_long).
 */
Datum
lambda_key_is_long(PG_FUNCTION_ARGS)
{
	Datum		values[FUNC_MAX_ARGS];
	bool		nulls[FUNC_MAX_ARGS];
	Oid			types[FUNC_MAX_ARGS];
	Oid			colls[FUNC_MAX_ARGS];
	int			n = batch_key_args(fcinfo, values, nulls, types, colls);

	PG_RETURN_BOOL(batch_values_long(n, types, values, nulls));
}

/*
 * lambda_catalog.key_hash(VARIADIC "any"): the hash that indexes a batch
 * table's long keys.
 */
Datum
lambda_key_hash(PG_FUNCTION_ARGS)
{
	Datum		values[FUNC_MAX_ARGS];
	bool		nulls[FUNC_MAX_ARGS];
	Oid			types[FUNC_MAX_ARGS];
	Oid			colls[FUNC_MAX_ARGS];
	int			n = batch_key_args(fcinfo, values, nulls, types, colls);

	PG_RETURN_INT64(batch_values_hash(n, types, colls, values, nulls));
}

/* Whether some key of the view can be too large for a btree entry. */
bool
batch_keys_may_be_long(ViewDef *def)
{
	Size		total = MAXALIGN(sizeof(IndexTupleData) + sizeof(IndexAttributeBitMapData));
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		if (def->keylens[i] < 0)
			return true;
		total += MAXALIGN(def->keylens[i]);
	}
	return total > BATCH_KEY_MAX_BYTES;
}

/* Whether a batch table keeps long keys apart (has _lambda_long). */
bool
batch_has_long_keys(Oid batch_relid)
{
	return get_attnum(batch_relid, BATCH_LONG_COLUMN) != InvalidAttrNumber;
}

/* ------------------------------------------------------------------------
 * Upsert
 * ------------------------------------------------------------------------
 */

/* One upsert statement and the chunk of groups it takes next. */
typedef struct UpsertChunk
{
	SPIPlanPtr	plan;
	int			ncols;			/* keys, states, and with long keys a hash */
	Datum	  **cols;
	bool	  **nulls;
	int			n;
} UpsertChunk;

/*
 * The groups an upsert statement reads: the parameter arrays unnested, the
 * keys in their batch columns' collations, grouped by key when one key can
 * have several images (combining their states). With hash, the key hashes
 * come along as column h.
 */
static void
batch_append_source(StringInfo sql, ViewDef *def, bool hash)
{
	int			ncols = def->nkeys + def->naggs + (hash ? 1 : 0);
	int			i;
	char	  **keyexpr = palloc(sizeof(char *) * (def->nkeys + 1));

	for (i = 0; i < def->nkeys; i++)
		keyexpr[i] = OidIsValid(def->keycolls[i]) ?
			psprintf("u.k%d COLLATE %s", i + 1, generate_collation_name(def->keycolls[i])) :
			psprintf("u.k%d", i + 1);
	appendStringInfoString(sql, "SELECT ");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(sql, "%s AS k%d, ", keyexpr[i], i + 1);
	for (i = 0; i < def->naggs; i++)
	{
		if (def->keys_image_eq)
			appendStringInfo(sql, "u.s%d AS s%d", i + 1, i + 1);
		else
			appendStringInfo(sql, "lambda_catalog.combine_agg(%u, %d, u.s%d) AS s%d",
							 def->batch_relid, i + 1, i + 1, i + 1);
		appendStringInfoString(sql, i < def->naggs - 1 ? ", " : "");
	}
	if (hash)
		appendStringInfoString(sql, ", u.h");
	appendStringInfoString(sql, " FROM unnest(");
	for (i = 0; i < ncols; i++)
		appendStringInfo(sql, "$%d%s", i + 1, i < ncols - 1 ? ", " : ") AS u(");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(sql, "k%d, ", i + 1);
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(sql, "s%d%s", i + 1, i < def->naggs - 1 ? ", " : "");
	appendStringInfoString(sql, hash ? ", h)" : ")");
	if (!def->keys_image_eq && def->nkeys > 0)
	{
		appendStringInfoString(sql, " GROUP BY ");
		for (i = 0; i < def->nkeys; i++)
			appendStringInfo(sql, "%s%s", i > 0 ? ", " : "", keyexpr[i]);
		/* equal keys have equal hashes */
		if (hash)
			appendStringInfoString(sql, ", u.h");
	}
}

/*
 * The statement that upserts short keys (every key of a batch table
 * without _lambda_long): INSERT ... ON CONFLICT on the unique index,
 * returning for each group whether it was inserted.
 */
static char *
batch_upsert_short_sql(ViewDef *def, const char *batchname, bool split)
{
	StringInfoData sql;
	int			i;

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s AS b (", batchname);
	if (def->nkeys == 0)
		appendStringInfoString(&sql, "_lambda_key, ");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "%s, ", quote_identifier(def->keynames[i]));
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "%s%s", quote_identifier(def->aggnames[i]), i < def->naggs - 1 ? ", " : ") ");
	appendStringInfoString(&sql, "SELECT ");
	if (def->nkeys == 0)
		appendStringInfoString(&sql, "true, ");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "u.k%d, ", i + 1);
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "u.s%d%s", i + 1, i < def->naggs - 1 ? ", " : " ");
	appendStringInfoString(&sql, "FROM (");
	batch_append_source(&sql, def, false);
	appendStringInfoString(&sql, ") u ON CONFLICT (");
	if (def->nkeys == 0)
		appendStringInfoString(&sql, "_lambda_key");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "%s%s", quote_identifier(def->keynames[i]), i < def->nkeys - 1 ? ", " : "");
	appendStringInfoString(&sql, ") ");
	if (split)
		appendStringInfoString(&sql, "WHERE NOT " BATCH_LONG_COLUMN " ");
	appendStringInfoString(&sql, "DO UPDATE SET ");
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "%s = lambda_catalog.combine_states(%u, %d, b.%s, EXCLUDED.%s)%s",
						 quote_identifier(def->aggnames[i]), def->batch_relid, i + 1,
						 quote_identifier(def->aggnames[i]), quote_identifier(def->aggnames[i]),
						 i < def->naggs - 1 ? ", " : " ");
	appendStringInfoString(&sql, "RETURNING (b.xmax = 0)");
	return sql.data;
}

/*
 * The statement that upserts long keys: updates the long rows whose key
 * hash and key are those of a group, and inserts the groups that have none
 * (no unique index can check them). Its row count is the groups inserted.
 */
static char *
batch_upsert_long_sql(ViewDef *def, const char *batchname)
{
	StringInfoData sql;
	StringInfoData match;
	int			i;

	/* a long row of the batch table (b) with the key of group u */
	initStringInfo(&match);
	appendStringInfoString(&match, "b." BATCH_LONG_COLUMN " AND lambda_catalog.key_hash(");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&match, "%sb.%s", i > 0 ? ", " : "", quote_identifier(def->keynames[i]));
	appendStringInfoString(&match, ") = u.h");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&match, " AND b.%s IS NOT DISTINCT FROM u.k%d",
						 quote_identifier(def->keynames[i]), i + 1);

	initStringInfo(&sql);
	appendStringInfoString(&sql, "WITH u AS MATERIALIZED (");
	batch_append_source(&sql, def, true);
	appendStringInfo(&sql, "), upd AS (UPDATE %s b SET ", batchname);
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "%s = lambda_catalog.combine_states(%u, %d, b.%s, u.s%d)%s",
						 quote_identifier(def->aggnames[i]), def->batch_relid, i + 1,
						 quote_identifier(def->aggnames[i]), i + 1, i < def->naggs - 1 ? ", " : " ");
	appendStringInfo(&sql, "FROM u WHERE %s) ", match.data);
	/* the statement's snapshot does not see the updates: these had no row */
	appendStringInfo(&sql, "INSERT INTO %s (", batchname);
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "%s, ", quote_identifier(def->keynames[i]));
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "%s%s", quote_identifier(def->aggnames[i]), i < def->naggs - 1 ? ", " : ") ");
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "u.k%d, ", i + 1);
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "u.s%d%s", i + 1, i < def->naggs - 1 ? ", " : " ");
	appendStringInfo(&sql, "FROM u WHERE NOT EXISTS (SELECT 1 FROM %s b WHERE %s)", batchname, match.data);
	return sql.data;
}

/* Prepares an upsert statement and the arrays of its chunks. */
static void
batch_chunk_init(UpsertChunk *c, ViewDef *def, const char *sql, bool hash)
{
	Oid		   *argtypes;
	int			i;

	c->ncols = def->nkeys + def->naggs + (hash ? 1 : 0);
	argtypes = palloc(sizeof(Oid) * c->ncols);
	for (i = 0; i < def->nkeys; i++)
		argtypes[i] = get_array_type(def->keytypes[i]);
	for (i = 0; i < def->naggs; i++)
		argtypes[def->nkeys + i] = BYTEAARRAYOID;
	if (hash)
		argtypes[c->ncols - 1] = INT8ARRAYOID;
	/*
	 * A generic plan: a custom one would first copy every chunk's arrays
	 * (all the states, megabytes for count(DISTINCT) sets) into constants
	 * and evaluate unnest() on them while planning; nothing in the plan
	 * depends on their values.
	 */
	c->plan = SPI_prepare_cursor(sql, c->ncols, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (c->plan == NULL)
		elog(ERROR, "could not prepare batch upsert: %s", SPI_result_code_string(SPI_result));
	c->cols = palloc(sizeof(Datum *) * c->ncols);
	c->nulls = palloc(sizeof(bool *) * c->ncols);
	for (i = 0; i < c->ncols; i++)
	{
		c->cols[i] = palloc(sizeof(Datum) * BATCH_CHUNK);
		c->nulls[i] = palloc(sizeof(bool) * BATCH_CHUNK);
	}
	c->n = 0;
}

/*
 * Runs an upsert statement over the groups of its chunk (arrays built in
 * cxt) and empties the chunk. Returns the number of groups inserted.
 */
static int64
batch_chunk_flush(UpsertChunk *c, ViewDef *def, MemoryContext cxt)
{
	Datum	   *args;
	int			dims[1];
	int			lbs[1] = {1};
	int64		inserted = 0;
	MemoryContext old;
	int			i;
	int			rc;

	if (c->n == 0)
		return 0;
	old = MemoryContextSwitchTo(cxt);
	args = palloc(sizeof(Datum) * c->ncols);
	dims[0] = c->n;
	for (i = 0; i < c->ncols; i++)
	{
		Oid			elemtype = i < def->nkeys ? def->keytypes[i] :
			i < def->nkeys + def->naggs ? BYTEAOID : INT8OID;
		int16		typlen;
		bool		typbyval;
		char		typalign;

		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		args[i] = PointerGetDatum(construct_md_array(c->cols[i], c->nulls[i], 1, dims, lbs,
													 elemtype, typlen, typbyval, typalign));
	}
	MemoryContextSwitchTo(old);
	rc = SPI_execute_plan(c->plan, args, NULL, false, 0);
	if (rc == SPI_OK_INSERT_RETURNING)
	{
		uint64		r;

		for (r = 0; r < SPI_processed; r++)
		{
			bool		isnull;

			if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)))
				inserted++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	else if (rc == SPI_OK_INSERT)
		inserted = (int64) SPI_processed;
	else
		elog(ERROR, "batch upsert failed: %s", SPI_result_code_string(rc));
	c->n = 0;
	return inserted;
}

/* A group of a PartialHash with its key decoded, for sorting. */
typedef struct SortedGroup
{
	Datum		first[2];		/* values[0..1], here to spare the sort pointers */
	bool		firstnull[2];
	PartialEntry *entry;
	Datum	   *values;
	bool	   *nulls;
} SortedGroup;

/* The comparators of batch_sorted_groups' qsort (one per key column). */
static SortSupportData *batch_sort_keys;
static int	batch_sort_nkeys;

static int
batch_group_cmp(const void *a, const void *b)
{
	const SortedGroup *x = a;
	const SortedGroup *y = b;
	int			c;
	int			i;

	for (i = 0; i < Min(batch_sort_nkeys, 2); i++)
	{
		c = ApplySortComparator(x->first[i], x->firstnull[i], y->first[i], y->firstnull[i],
								&batch_sort_keys[i]);
		if (c != 0)
			return c;
	}
	for (i = 2; i < batch_sort_nkeys; i++)
	{
		c = ApplySortComparator(x->values[i], x->nulls[i], y->values[i], y->nulls[i],
								&batch_sort_keys[i]);
		if (c != 0)
			return c;
	}
	return 0;
}

/*
 * ph's groups with their keys decoded (in cxt), sorted in the order of the
 * batch table's unique index (each key type's default btree order in the
 * key column's collation, NULLs last). The upsert then probes and inserts
 * into the index, and appends to the table, in key order: each chunk's
 * lookups descend to neighbouring leaf pages, which stay in the CPU's
 * caches and the buffer pool, instead of a random page per group.
 */
static SortedGroup *
batch_sorted_groups(ViewDef *def, PartialHash *ph, MemoryContext cxt, long *ngroups)
{
	long		n = partial_count(ph);
	SortedGroup *groups;
	PartialEntry *e;
	long		g = 0;
	int			i;
	int			width = Max(def->nkeys, 1);
	Datum	   *values;
	bool	   *nulls;
	MemoryContext old = MemoryContextSwitchTo(cxt);

	/* one array each (more than 1 GB for tens of millions of groups) */
	groups = MemoryContextAllocHuge(cxt, sizeof(SortedGroup) * Max(n, 1));
	values = MemoryContextAllocHuge(cxt, sizeof(Datum) * width * Max(n, 1));
	nulls = MemoryContextAllocHuge(cxt, sizeof(bool) * width * Max(n, 1));
	for (e = partial_first(ph); e; e = partial_next(e))
	{
		groups[g].entry = e;
		groups[g].values = values + (Size) g * width;
		groups[g].nulls = nulls + (Size) g * width;
		key_decode(def, e->key.data, e->key.len, groups[g].values, groups[g].nulls);
		for (i = 0; i < 2; i++)
		{
			groups[g].first[i] = i < def->nkeys ? groups[g].values[i] : (Datum) 0;
			groups[g].firstnull[i] = i < def->nkeys ? groups[g].nulls[i] : true;
		}
		g++;
	}
	Assert(g == n);
	*ngroups = g;
	if (def->nkeys > 0 && g > 1)
	{
		batch_sort_keys = palloc0(sizeof(SortSupportData) * def->nkeys);
		for (i = 0; i < def->nkeys; i++)
		{
			TypeCacheEntry *tc = lookup_type_cache(def->keytypes[i], TYPECACHE_LT_OPR);
			SortSupport ssup = &batch_sort_keys[i];

			/* a type without an order has no btree index either: leave them be */
			if (!OidIsValid(tc->lt_opr))
				break;
			ssup->ssup_cxt = cxt;
			ssup->ssup_collation = def->keycolls[i];
			ssup->ssup_nulls_first = false;
			PrepareSortSupportFromOrderingOp(tc->lt_opr, ssup);
		}
		batch_sort_nkeys = i;
		if (batch_sort_nkeys > 0)
			qsort(groups, g, sizeof(SortedGroup), batch_group_cmp);
		batch_sort_keys = NULL;
		batch_sort_nkeys = 0;
	}
	MemoryContextSwitchTo(old);
	return groups;
}

/*
 * The direct upsert: what batch_upsert's statements do for short keys,
 * without the executor. Each group (in the unique index's order) is looked
 * up in that index; a row found gets its states combined with the group's
 * and is updated in place (a HOT update when its page has room: only
 * unindexed state columns change), a group without one is inserted, and
 * the indexes get entries as the executor would make them. It saves, per
 * group, the statement's parameter arrays and unnest(), the speculative
 * insertion of INSERT ... ON CONFLICT (a lookup before the insert, one
 * more in it), and the combine_states() calls through the function
 * manager. Refreshes and recomputes of a view are serialized by their lock
 * on the batch table, so nobody else writes its rows meanwhile.
 */
typedef struct DirectUpsert
{
	Relation	rel;
	Relation	index;			/* the unique index over the keys */
	int			nattrs;			/* of the batch table */
	AttrNumber *keyattr;		/* attribute number of each key column */
	AttrNumber *aggattr;		/* and of each state column */
	AttrNumber	globalattr;		/* _lambda_key of a view without keys */
	ScanKeyData *skeys;			/* equality on each key (argument varies) */
	RegProcedure *eqprocs;
	Oid		   *eqcolls;
} DirectUpsert;

/*
 * Prepares the direct upsert of def's batch table into d: false (nothing
 * opened) when the table is one it does not handle, which batch_upsert's
 * statements then do: long keys (the generated column _lambda_long and the
 * partial unique index), keys with several images (their states are
 * combined by the statement's GROUP BY), rules, triggers or row security
 * (a statement obeys them), a column that is neither a key nor a state, or
 * a unique index it cannot search with the keys' own types.
 */
static bool
batch_direct_open(ViewDef *def, DirectUpsert *d)
{
	Relation	rel;
	TupleDesc	desc;
	List	   *indexes;
	ListCell   *lc;
	int			covered = 0;
	int			nidx = Max(def->nkeys, 1);
	int			i;
	int			a;

	if (!def->keys_image_eq)
		return false;
	rel = table_open(def->batch_relid, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	if (rel->trigdesc != NULL || rel->rd_rules != NULL || rel->rd_rel->relrowsecurity ||
		rel->rd_rel->relkind != RELKIND_RELATION ||
		(def->nkeys > 0 && batch_has_long_keys(def->batch_relid)))
	{
		table_close(rel, RowExclusiveLock);
		return false;
	}
	memset(d, 0, sizeof(*d));
	d->rel = rel;
	d->nattrs = desc->natts;
	d->keyattr = palloc0(sizeof(AttrNumber) * Max(def->nkeys, 1));
	d->aggattr = palloc0(sizeof(AttrNumber) * Max(def->naggs, 1));
	for (a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		const char *name = NameStr(att->attname);
		bool		found = false;

		if (att->attisdropped)
			continue;
		if (def->nkeys == 0 && strcmp(name, "_lambda_key") == 0 && att->atttypid == BOOLOID)
		{
			d->globalattr = att->attnum;
			found = true;
		}
		for (i = 0; !found && i < def->nkeys; i++)
			if (strcmp(name, def->keynames[i]) == 0 && att->atttypid == def->keytypes[i])
			{
				d->keyattr[i] = att->attnum;
				found = true;
			}
		for (i = 0; !found && i < def->naggs; i++)
			if (strcmp(name, def->aggnames[i]) == 0 && att->atttypid == BYTEAOID)
			{
				d->aggattr[i] = att->attnum;
				found = true;
			}
		if (!found || att->attgenerated)
			goto unhandled;
		covered++;
	}
	if (covered != def->nkeys + def->naggs + (def->nkeys == 0 ? 1 : 0))
		goto unhandled;

	/* the unique index over exactly the keys, in their order */
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		Form_pg_index ix = index->rd_index;
		bool		match = ix->indisunique && ix->indimmediate && ix->indisvalid &&
			ix->indnkeyatts == nidx && index->rd_indpred == NIL &&
			RelationGetIndexExpressions(index) == NIL &&
			index->rd_rel->relam == BTREE_AM_OID;

		for (i = 0; match && i < nidx; i++)
			match = ix->indkey.values[i] == (def->nkeys > 0 ? d->keyattr[i] : d->globalattr);
		if (match)
		{
			d->index = index;
			break;
		}
		index_close(index, RowExclusiveLock);
	}
	list_free(indexes);
	if (d->index == NULL)
		goto unhandled;
	d->skeys = palloc0(sizeof(ScanKeyData) * nidx);
	d->eqprocs = palloc0(sizeof(RegProcedure) * nidx);
	d->eqcolls = palloc0(sizeof(Oid) * nidx);
	for (i = 0; i < nidx; i++)
	{
		Oid			type = def->nkeys > 0 ? def->keytypes[i] : BOOLOID;
		Oid			opcintype = d->index->rd_opcintype[i];
		Oid			op = get_opfamily_member(d->index->rd_opfamily[i], opcintype, opcintype,
											 BTEqualStrategyNumber);

		/* the key compared as the opclass's type (varchar as text) */
		if (!OidIsValid(op) || (type != opcintype && !IsBinaryCoercible(type, opcintype)))
		{
			index_close(d->index, RowExclusiveLock);
			goto unhandled;
		}
		d->eqprocs[i] = get_opcode(op);
		d->eqcolls[i] = d->index->rd_indcollation[i];
	}
	return true;

unhandled:
	table_close(rel, RowExclusiveLock);
	return false;
}

/* The scan keys that find key values kv/kn in d's unique index. */
static void
batch_direct_keys(ViewDef *def, DirectUpsert *d, Datum *kv, bool *kn)
{
	int			i;

	if (def->nkeys == 0)
	{
		ScanKeyInit(&d->skeys[0], 1, BTEqualStrategyNumber, d->eqprocs[0], BoolGetDatum(true));
		d->skeys[0].sk_collation = d->eqcolls[0];
		return;
	}
	for (i = 0; i < def->nkeys; i++)
	{
		if (kn[i])
			/* NULLS NOT DISTINCT: the one row with a NULL here */
			ScanKeyEntryInitialize(&d->skeys[i], SK_ISNULL | SK_SEARCHNULL, i + 1,
								   InvalidStrategy, InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
		else
			ScanKeyEntryInitialize(&d->skeys[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
								   d->eqcolls[i], d->eqprocs[i], kv[i]);
	}
}

/*
 * Upserts groups (sorted in the unique index's order) into the batch table
 * of d, which batch_direct_open prepared, and closes it. Returns the number
 * of groups inserted.
 */
static int64
batch_direct_upsert(ViewDef *def, DirectUpsert *d, SortedGroup *groups, long ngroups)
{
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *found = table_slot_create(d->rel, NULL);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(d->rel), &TTSOpsHeapTuple);
	IndexScanDesc scan;
	Snapshot	snap;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda direct upsert",
												 ALLOCSET_DEFAULT_SIZES);
	Datum	   *values = palloc(sizeof(Datum) * d->nattrs);
	bool	   *nulls = palloc(sizeof(bool) * d->nattrs);
	bool	   *replace = palloc(sizeof(bool) * d->nattrs);
	int64		inserted = 0;
	long		g;
	int			i;

	/* see what the statements before saw, this transaction's DELETE too */
	CommandCounterIncrement();
	snap = RegisterSnapshot(GetLatestSnapshot());
	InitResultRelInfo(rri, d->rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	scan = compat_index_beginscan(d->rel, d->index, snap, Max(def->nkeys, 1), 0);

	for (g = 0; g < ngroups; g++)
	{
		PartialEntry *e = groups[g].entry;
		MemoryContext old;
		HeapTuple	tup;
		int			update = COMPAT_INDEXES_ALL;
		bool		exists;

		CHECK_FOR_INTERRUPTS();
		/*
		 * The groups are in key order, their entries and keys anywhere in
		 * memory: ask for those of the groups ahead, each step a level
		 * deeper (the entry, then what it points to), while this one waits
		 * on the index.
		 */
		if (g + 2 * BATCH_PREFETCH < ngroups)
			batch_prefetch(groups[g + 2 * BATCH_PREFETCH].entry);
		if (g + BATCH_PREFETCH < ngroups)
		{
			SortedGroup *ahead = &groups[g + BATCH_PREFETCH];

			batch_prefetch(ahead->values);
			batch_prefetch(ahead->nulls);
			batch_prefetch(ahead->entry->values);
			batch_prefetch(ahead->entry->nulls);
		}
		/* in the scan's context: it keeps what it allocates (killed items) */
		batch_direct_keys(def, d, groups[g].values, groups[g].nulls);
		index_rescan(scan, d->skeys, Max(def->nkeys, 1), NULL, 0);
		exists = index_getnext_slot(scan, ForwardScanDirection, found);
		old = MemoryContextSwitchTo(rowcxt);
		if (exists)
		{
			bool		changed = false;

			/* combine the row's states with the group's: existing first */
			slot_getallattrs(found);
			memset(replace, 0, sizeof(bool) * d->nattrs);
			for (i = 0; i < def->naggs; i++)
			{
				AggMeta    *m = &def->aggs[i].meta;
				int			att = d->aggattr[i] - 1;
				bytea	   *mine;
				Datum		va;
				bool		na = false;

				if (e->nulls[i])
					continue;
				mine = aggmeta_serialize(m, e->values[i]);
				changed = replace[att] = true;
				if (found->tts_isnull[att])
				{
					values[att] = PointerGetDatum(mine);
					nulls[att] = false;
					continue;
				}
				{
					bytea	   *theirs = DatumGetByteaPP(found->tts_values[att]);

					va = aggmeta_deserialize(m, VARDATA_ANY(theirs), VARSIZE_ANY_EXHDR(theirs),
											 CurrentMemoryContext);
				}
				aggmeta_combine(m, &va, &na,
								aggmeta_deserialize(m, VARDATA_ANY(mine), VARSIZE_ANY_EXHDR(mine),
													CurrentMemoryContext),
								false, CurrentMemoryContext);
				nulls[att] = na;
				values[att] = na ? (Datum) 0 : PointerGetDatum(aggmeta_serialize(m, va));
			}
			if (changed)
			{
				bool		shouldfree;
				HeapTuple	oldtup = ExecFetchSlotHeapTuple(found, false, &shouldfree);

				tup = heap_modify_tuple(oldtup, RelationGetDescr(d->rel), values, nulls, replace);
				update = compat_simple_heap_update(d->rel, &found->tts_tid, tup);
				if (update != COMPAT_INDEXES_NONE)
				{
					ExecStoreHeapTuple(tup, slot, false);
					/*
					 * not flagged as an update: that hint (keys unchanged)
					 * needs a range table, which this executor state has not
					 */
					(void) ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL,
												 update == COMPAT_INDEXES_SUMMARIZING);
				}
				if (shouldfree)
					heap_freetuple(oldtup);
			}
		}
		else
		{
			memset(nulls, 0, sizeof(bool) * d->nattrs);
			if (def->nkeys == 0)
				values[d->globalattr - 1] = BoolGetDatum(true);
			for (i = 0; i < def->nkeys; i++)
			{
				values[d->keyattr[i] - 1] = groups[g].values[i];
				nulls[d->keyattr[i] - 1] = groups[g].nulls[i];
			}
			for (i = 0; i < def->naggs; i++)
			{
				int			att = d->aggattr[i] - 1;

				nulls[att] = e->nulls[i];
				values[att] = e->nulls[i] ? (Datum) 0 :
					PointerGetDatum(aggmeta_serialize(&def->aggs[i].meta, e->values[i]));
			}
			tup = heap_form_tuple(RelationGetDescr(d->rel), values, nulls);
			simple_heap_insert(d->rel, tup);
			ExecStoreHeapTuple(tup, slot, false);
			(void) ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL, false);
			inserted++;
		}
		ExecClearTuple(slot);
		ExecClearTuple(found);
		ResetPerTupleExprContext(estate);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}

	index_endscan(scan);
	UnregisterSnapshot(snap);
	ExecDropSingleTupleTableSlot(found);
	ExecDropSingleTupleTableSlot(slot);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	MemoryContextDelete(rowcxt);
	index_close(d->index, RowExclusiveLock);
	table_close(d->rel, RowExclusiveLock);
	/* the statements after this see the rows */
	CommandCounterIncrement();
	return inserted;
}

/*
 * Upserts ph's groups into the batch table, combining states with what is
 * there: short keys through the unique index, long ones (batch tables with
 * _lambda_long) through their hash. Returns the number of groups inserted
 * (new rows).
 */
static int64
batch_upsert(ViewDef *def, PartialHash *ph)
{
	char	   *batchname = batch_qualified_name(def->batch_relid);
	bool		split = def->nkeys > 0 && batch_has_long_keys(def->batch_relid);
	UpsertChunk shortc;
	UpsertChunk longc;
	int64		inserted = 0;
	int			i;
	MemoryContext chunk_cxt;
	MemoryContext keys_cxt;
	SortedGroup *groups;
	long		ngroups;
	long		g;
	DirectUpsert direct;

	if (partial_count(ph) == 0)
		return 0;

	if (batch_direct_open(def, &direct))
	{
		keys_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda upsert keys", ALLOCSET_DEFAULT_SIZES);
		groups = batch_sorted_groups(def, ph, keys_cxt, &ngroups);
		inserted = batch_direct_upsert(def, &direct, groups, ngroups);
		MemoryContextDelete(keys_cxt);
		return inserted;
	}

	batch_chunk_init(&shortc, def, batch_upsert_short_sql(def, batchname, split), false);
	if (split)
		batch_chunk_init(&longc, def, batch_upsert_long_sql(def, batchname), true);
	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda upsert", ALLOCSET_DEFAULT_SIZES);
	keys_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda upsert keys", ALLOCSET_DEFAULT_SIZES);
	groups = batch_sorted_groups(def, ph, keys_cxt, &ngroups);

	for (g = 0; g < ngroups; g++)
	{
		PartialEntry *e = groups[g].entry;
		Datum	   *kv = groups[g].values;
		bool	   *kn = groups[g].nulls;
		UpsertChunk *c = &shortc;
		MemoryContext old = MemoryContextSwitchTo(chunk_cxt);

		if (split && batch_values_long(def->nkeys, def->keytypes, kv, kn))
		{
			c = &longc;
			c->cols[c->ncols - 1][c->n] = Int64GetDatum(batch_values_hash(def->nkeys, def->keytypes,
																		  def->keycolls, kv, kn));
			c->nulls[c->ncols - 1][c->n] = false;
		}
		for (i = 0; i < def->nkeys; i++)
		{
			c->cols[i][c->n] = kv[i];
			c->nulls[i][c->n] = kn[i];
		}
		for (i = 0; i < def->naggs; i++)
		{
			c->nulls[def->nkeys + i][c->n] = e->nulls[i];
			c->cols[def->nkeys + i][c->n] = e->nulls[i] ? (Datum) 0 :
				PointerGetDatum(aggmeta_serialize(&def->aggs[i].meta, e->values[i]));
		}
		MemoryContextSwitchTo(old);
		c->n++;
		if (c->n == BATCH_CHUNK)
		{
			/* the other chunk's groups live in chunk_cxt too: flush both */
			inserted += batch_chunk_flush(&shortc, def, chunk_cxt);
			if (split)
				inserted += batch_chunk_flush(&longc, def, chunk_cxt);
			MemoryContextReset(chunk_cxt);
		}
	}
	inserted += batch_chunk_flush(&shortc, def, chunk_cxt);
	if (split)
	{
		inserted += batch_chunk_flush(&longc, def, chunk_cxt);
		SPI_freeplan(longc.plan);
	}
	MemoryContextDelete(chunk_cxt);
	MemoryContextDelete(keys_cxt);
	SPI_freeplan(shortc.plan);
	return inserted;
}

/* ------------------------------------------------------------------------
 * Failed refreshes
 * ------------------------------------------------------------------------
 */

/*
 * Records in the catalog that a refresh of the view failed with message:
 * one more failure in a row, the error and when. Runs in a transaction of
 * its own (the failed refresh's was rolled back). Returns the view's name,
 * allocated in cxt, or NULL when the view is gone; *failures gets the
 * failures in a row now (0 when the catalog predates 0.4.0 and keeps none).
 */
char *
batch_record_failure(Oid batch_relid, const char *message, MemoryContext cxt, int *failures)
{
	Oid			view = InvalidOid;
	char	   *name;

	*failures = catalog_view_record_failure(batch_relid, message, &view);
	name = OidIsValid(view) ? get_rel_name(view) : NULL;
	return name ? MemoryContextStrdup(cxt, name) : NULL;
}

/*
 * A refresh succeeded: clears the failures the catalog holds for the view,
 * and logs that it recovered. Runs in the refresh's transaction.
 */
static void
batch_clear_failures(ViewDef *def)
{
	int			failures = catalog_view_clear_failures(def->batch_relid);

	if (failures > 0)
		ereport(LOG,
				(errmsg("continuous view \"%s\" refreshed again after %d failed refreshes",
						get_rel_name(def->view_relid), failures)));
}

/*
 * The cut also holds this transaction's own events up to the snapshot's
 * command (a CREATE over existing events in the transaction that inserted
 * them folds them in), but a snapshot leaves its own transaction out of its
 * xip and may have an xmax at or below its ids: then the cut's xmax moves
 * past the newest of them, and every id between the snapshot's xmax and
 * there that is not this transaction's joins the ids the cut does not see.
 * Otherwise a later scan of the events after the cut would count those
 * events a second time. The transaction's ids and the snapshot's command id
 * are recorded too: the events this transaction inserts after the cut, with
 * those ids, are not in it (cut_sees); ids it takes later are past xmax.
 */
static void
cut_include_own(Snapshot snap, CatalogRefresh *r)
{
	TransactionId top = GetTopTransactionIdIfAny();
	TransactionId newest = InvalidTransactionId;
	TransactionId next = XidFromFullTransactionId(ReadNextFullTransactionId());
	TransactionId x;
	List	   *others = NIL;
	List	   *own = NIL;
	ArrayType  *xip = r->xip;
	Datum	   *elems;
	int			nelems;
	int			i;
	ListCell   *lc;

	if (!TransactionIdIsValid(top))
		return;
	/* this transaction's ids (a subtransaction's follows its parent's) */
	for (x = top; TransactionIdPrecedes(x, next);)
	{
		if (TransactionIdIsCurrentTransactionId(x))
			own = lappend(own, (void *) (uintptr_t) x);
		TransactionIdAdvance(x);
	}
	elems = palloc(sizeof(Datum) * (list_length(own) + 1));
	i = 0;
	foreach(lc, own)
	{
		x = (TransactionId) (uintptr_t) lfirst(lc);
		elems[i++] = FullTransactionIdGetDatum(xid_full(x));
		if (!TransactionIdPrecedes(x, snap->xmax))
			newest = x;
	}
	r->own = construct_array(elems, i, XID8OID, sizeof(FullTransactionId), true, TYPALIGN_DOUBLE);
	r->command = snap->curcid;
	if (!TransactionIdIsValid(newest))
		return;
	for (x = snap->xmax; TransactionIdPrecedes(x, newest);)
	{
		if (!TransactionIdIsCurrentTransactionId(x))
			others = lappend(others, (void *) (uintptr_t) x);
		TransactionIdAdvance(x);
	}
	deconstruct_array(xip, XID8OID, sizeof(FullTransactionId), true, TYPALIGN_DOUBLE,
					  &elems, NULL, &nelems);
	elems = repalloc(elems, sizeof(Datum) * (nelems + list_length(others) + 1));
	i = nelems;
	foreach(lc, others)
		elems[i++] = FullTransactionIdGetDatum(xid_full((TransactionId) (uintptr_t) lfirst(lc)));
	r->xip = construct_array(elems, i, XID8OID, sizeof(FullTransactionId), true, TYPALIGN_DOUBLE);
	TransactionIdAdvance(newest);
	r->xmax = xid_full(newest);
}

/*
 * Refreshes a view's batch table: incrementally from the speed layer's
 * closed generations, or from the events after the cut when those are
 * incomplete; with full, recomputes it from every event.
 */
void
batch_refresh(Oid batch_relid, bool full, const char *why)
{
	ViewDef    *def = cview_get(batch_relid);
	BatchCut	old;
	Snapshot	snap;
	int64		closed;
	PartialHash *ph;
	const char *mode;
	TimestampTz start = GetCurrentTimestamp();
	CatalogScope scope;
	int64		inserted = 0;
	int64		rows_now;
	CatalogRefresh r;
	long		groups;
	bool		build = false;
	int64		events_read = -1;

	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("relation %u is not the batch table of a continuous view", batch_relid)));
	/* the events are read with the view owner's rights, whoever refreshes */
	privilege_check_view(def->view_relid, def->event_relid, def->query, PRIVILEGE_REFRESH);
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("continuous view \"%s\" can only be refreshed at READ COMMITTED isolation",
						get_rel_name(def->view_relid)),
				 errdetail("A refresh reads the newest committed events, which a REPEATABLE READ or SERIALIZABLE snapshot does not see."),
				 errhint("Refresh outside this transaction, or SET TRANSACTION ISOLATION LEVEL READ COMMITTED.")));
	if (capture_has_delta(batch_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot refresh continuous view \"%s\" in a transaction that inserted events into \"%s\"",
						get_rel_name(def->view_relid), get_rel_name(def->event_relid)),
				 errdetail("The transaction's events reach the view when it commits."),
				 errhint("Commit first, then refresh.")));

	LockRelationOid(batch_relid, ShareUpdateExclusiveLock);
	pgstat_report_activity(STATE_RUNNING, psprintf("refreshing continuous view %s", get_rel_name(def->view_relid)));

	catalog_read_cut(batch_relid, GetLatestSnapshot(), &old);
	if (old.foreign && !full)
	{
		ereport(NOTICE,
				(errmsg("continuous view \"%s\" was restored from a dump: recomputing it from all events",
						get_rel_name(def->view_relid))));
		full = true;
	}
	snap = speed_cut(def, &closed);
	ph = partial_create(def, CurrentMemoryContext);
	/* folded from events, distinct states keep every value */
	ph->exact = true;

	if (full)
	{
		mode = "recompute";
		/* one statement through the executor, or a row at a time */
		build = batch_build_possible(def);
		if (!build)
			batch_tail_scan(def, snap, NULL, ph, NULL, 0);
	}
	else
	{
		SpeedSet   *rows = speed_set_create(CurrentMemoryContext);

		mode = NULL;
		if (speed_collect(def, old.gen, closed, rows))
		{
			int64		i;

			mode = "incremental";
			for (i = 0; i < speed_set_count(rows); i++)
			{
				SpeedSetEntry *r = speed_set_get(rows, i);

				partial_combine_image(ph, SPEED_SET_KEY(r), r->keylen, SPEED_SET_STATES(r), r->stateslen);
			}
			/* a group whose distinct values became a sketch: read them again */
			if (!partial_for_batch(ph))
			{
				partial_destroy(ph);
				ph = partial_create(def, CurrentMemoryContext);
				ph->exact = true;
				mode = NULL;
			}
		}
		if (mode == NULL)
		{
			mode = "from events";
			events_read = batch_tail_scan(def, snap, &old, ph, NULL, 0);
		}
	}
	groups = partial_count(ph);

	catalog_begin(&scope);
	if (full)
	{
		/* the build replaces the rows itself; the row path upserts into none */
		if (!build &&
			SPI_execute(psprintf("DELETE FROM %s", batch_qualified_name(batch_relid)),
						false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not empty the batch table");
		old.batch_rows = 0;
		if (build)
		{
			inserted = batch_build(def, snap, ph->horizon);
			groups = (long) inserted;
		}
		if (def->nkeys == 0 && (!build || inserted == 0))
		{
			PartialEntry *e;
			bool		found;

			/* a global view always has its one row */
			e = partial_lookup(ph, "", 0, &found);
			(void) e;
		}
	}
	inserted = (build ? inserted : 0) + batch_upsert(def, ph);
	rows_now = old.batch_rows + inserted;
	if (def->sliding)
	{
		/* window steps that can no longer be read (one step of slack) */
		Oid			htype[1] = {def->steptype};
		Datum		harg[1] = {cview_step_horizon(def, GetCurrentTransactionStartTimestamp(), 1)};

		if (SPI_execute_with_args(psprintf("DELETE FROM %s WHERE %s < $1",
										   batch_qualified_name(batch_relid), CVIEW_STEP_COLUMN),
								  1, htype, harg, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not expire window steps of the batch table");
		rows_now -= SPI_processed;
	}

	r.gen = closed;
	r.xmin = xid_full(snap->xmin);
	r.xmax = xid_full(snap->xmax);
	r.xip = snapshot_invisible_xids(snap);
	r.own = NULL;
	r.command = InvalidCommandId;
	cut_include_own(snap, &r);
	r.mode = mode;
	r.groups = (int64) groups;
	r.batch_rows = rows_now;
	r.duration_us = GetCurrentTimestamp() - start;
	catalog_view_record_refresh(batch_relid, &r);
	batch_clear_failures(def);
	catalog_end(&scope);

	speed_refreshed(def, closed, GetCurrentTransactionId());
	UnregisterSnapshot(snap);
	partial_destroy(ph);
	if (events_read >= 0)
		ereport(DEBUG1,
				(errmsg("refreshed continuous view \"%s\" (%s, %s): %ld groups from %lld events read",
						get_rel_name(def->view_relid), why, mode, groups, (long long) events_read)));
	else
		ereport(DEBUG1,
				(errmsg("refreshed continuous view \"%s\" (%s, %s): %ld groups",
						get_rel_name(def->view_relid), why, mode, groups)));
	pgstat_report_activity(STATE_RUNNING, NULL);
}

/*
 * Rebuilds the speed layer of a view whose generations after the cut are
 * incomplete (after a restart) from the events after the cut. False when
 * the speed layer has no room: the caller refreshes instead.
 */
bool
batch_rebuild(Oid batch_relid)
{
	ViewDef    *def = cview_get(batch_relid);
	BatchCut	cut;
	Snapshot	snap;
	int64		closed;
	PartialHash *ph;
	bool		ok;

	if (def == NULL)
		return true;
	LockRelationOid(batch_relid, ShareUpdateExclusiveLock);
	pgstat_report_activity(STATE_RUNNING, psprintf("rebuilding the speed layer of %s", get_rel_name(def->view_relid)));
	catalog_read_cut(batch_relid, GetLatestSnapshot(), &cut);
	if (cut.foreign)
	{
		batch_refresh(batch_relid, true, "restored");
		return true;
	}
	snap = speed_cut(def, &closed);
	ph = partial_create(def, CurrentMemoryContext);
	batch_tail_scan(def, snap, &cut, ph, NULL, 0);
	ok = speed_install(def, cut.gen, closed, ph);
	UnregisterSnapshot(snap);
	partial_destroy(ph);
	pgstat_report_activity(STATE_RUNNING, NULL);
	return ok;
}
