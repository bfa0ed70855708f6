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
 * Long keys and the upsert of a refresh's groups: batch_upsert.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/subtrans.h"
#include "catalog/pg_inherits.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"

#include "batch.h"
#include "capture.h"
#include "compat.h"
#include "event_table.h"
#include "privilege.h"
#include "speed.h"
#include "speed_read.h"

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
 * The groups from which batch_tail_scan folds events a batch at a time:
 * below, its hash and entries are in cache, and a row's copy would cost
 * more than the misses it overlaps
 */
#define BATCH_SCAN_BATCHED_FROM	8192

/*
 * Folds into ph every event that snap sees and the cut does not (every
 * event when cut is NULL); only the group with key image "only" when given.
 * With a cut, reads only the pages its arrival index points to (see
 * batch_tail_pages), each run of consecutive pages by a TID range scan.
 * Once ph holds BATCH_SCAN_BATCHED_FROM groups, the events of a relation
 * in the event table's shape are folded PARTIAL_BATCH at a time, each
 * copied into a slot of its own (their groups looked up together,
 * partial_add_shaped_batch); before, and a partition's rows converted to
 * that shape, and a single group's, one at a time. Returns the number of
 * events read (tested against the cut or not).
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
		TupleTableSlot *ring[PARTIAL_BATCH];
		int			nring;
		int			got = 0;
		TupleConversionMap *map;
		BlockNumber *pages = NULL;
		int			npages = 0;
		int			run = 0;
		int			i;

		if (get_rel_relkind(lfirst_oid(lc)) != RELKIND_RELATION)
			continue;
		rel = table_open(lfirst_oid(lc), AccessShareLock);
		if (cut && cut->has_snapshot)
			pages = batch_tail_pages(rel, snap, cut, &npages);
		/* partitions' rows in the event table's shape */
		map = convert_tuples_by_name(RelationGetDescr(rel), def->slot->tts_tupleDescriptor);
		nring = map == NULL && only == NULL ? PARTIAL_BATCH : 1;
		for (i = 0; i < nring; i++)
			ring[i] = table_slot_create(rel, NULL);
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
			while (pages ? table_scan_getnextslot_tidrange(scan, ForwardScanDirection, ring[got]) :
				   table_scan_getnextslot(scan, ForwardScanDirection, ring[got]))
			{
				TupleTableSlot *slot = ring[got];

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
				if (nring == 1 || (got == 0 && partial_count(ph) < BATCH_SCAN_BATCHED_FROM))
				{
					partial_add_slot_key(ph, map ? execute_attr_map_slot(map->attrMap, slot, def->slot) : slot,
										 only, onlylen);
					continue;
				}
				/* its own copy: a heap scan's slot points at the scan's tuple */
				ExecMaterializeSlot(slot);
				if (++got == nring)
				{
					partial_add_shaped_batch(ph, ring, got, NULL);
					got = 0;
				}
			}
			/* the rows of this run before the next one's */
			if (got > 0)
			{
				partial_add_shaped_batch(ph, ring, got, NULL);
				got = 0;
			}
			if (!pages)
				break;
		}
		for (i = 0; i < nring; i++)
			ExecDropSingleTupleTableSlot(ring[i]);
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

/* The schema-qualified, quoted name of a relation. */
char *
batch_qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
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

/* speed_collect's callback: an entry of the speed layer into the partial hash */
static void
batch_fold_entry(void *arg, const char *key, uint32 keylen, uint32 hash,
				 const char *states, uint32 stateslen)
{
	partial_combine_image((PartialHash *) arg, key, keylen, hash, states, stateslen);
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
	/* incremental: room for the groups of the generations' entries at once */
	ph = partial_create_sized(def, CurrentMemoryContext,
							  full ? 0 : (long) speed_collect_count(def, old.gen, closed));
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
		mode = "incremental";
		/* a group whose distinct values became a sketch: read them again */
		if (!speed_collect(def, old.gen, closed, batch_fold_entry, ph) || !partial_for_batch(ph))
		{
			/* what was folded of the generations goes */
			partial_destroy(ph);
			ph = partial_create(def, CurrentMemoryContext);
			ph->exact = true;
			mode = NULL;
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
