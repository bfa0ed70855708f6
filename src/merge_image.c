/*-------------------------------------------------------------------------
 *
 * merge_image.c
 *	  The merged scan (merge_group.c) probing the speed layer's copy by key
 *	  image, instead of hashing the speed rows.
 *
 * The merged scan streams the batch rows of a view and merges each with
 * the speed-layer states of its key. When the planner finds the speed
 * branch fit (merge_image_keys: equal keys have equal images, the grouping
 * compares keys as the view does, and the speed branch is a plain scan of
 * the speed table), the scan does not read the speed rows: it takes the
 * speed scan's copy of the speed layer (merge_speed_set, merge.c), indexes
 * it by key image (the copy keeps the speed layer's own hashes, speed_set.c)
 * and probes it with the key image of each batch row. Its memory is that
 * copy, which any read of the speed layer makes, whatever work_mem; the
 * speed rows are not decoded, hashed or copied again. A key's entries (one
 * per generation) merge after the batch state, oldest first, as the speed
 * rows did through the aggregation: the answer is the same.
 *
 * Exactness: the copy is made where the speed scan made its rows, once per
 * scan (a rescan makes it again), under the speed layer's lock (speed_read.c),
 * with the scan's snapshot and cut; the batch rows come from the same
 * snapshot.
 *
 * Locks: none of its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/pathnodes.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "cview.h"
#include "keyimage.h"
#include "merge.h"
#include "merge_image.h"
#include "mergestate.h"
#include "speed_set.h"
#include "stateimage.h"

/* batch rows read ahead (merge_image_batch) */
#define MERGE_IMAGE_AHEAD 16

struct MergeImage
{
	CustomScanState *node;		/* the merged scan: its branches */
	MergeImageCols c;
	ViewDef    *def;
	int		   *imgkey;			/* view key column of each key */
	int		   *aggno;			/* view aggregate number of each aggregate */
	SpeedSet   *set;			/* the copy */
	int			phase;			/* 0 not started, 1 batch, 2 speed only, 3 done */
	bool		hold_rest;		/* stop before phase 2 (merge_image_rest_turn) */
	int			child;			/* the batch branch being read */
	PlanState  *direct;			/* the branch read from its access method (merge_batch_next) */
	int64		iter_item;		/* phase 2: the next entry */
	TupleTableSlot **ahead;		/* batch rows read ahead (a ring) */
	StringInfoData *aheadimg;	/* their key images */
	uint32	   *aheadhash;		/* and hashes */
	int			aheadfirst;
	int			aheadcount;
	bool		batch_done;
	TupleTableSlot *out;		/* where groups go */
	MemoryContext rowcxt;		/* and their memory */
	MemoryContext cxt;			/* the scan's: the arrays below */
	bool	   *foldable;		/* per aggregate: merge_state_foldable */
	bool	   *alone;			/* per aggregate: merge_state_alone */
	Datum	   *kvals;			/* a batch row's keys in view key order */
	bool	   *knulls;
	const char **parts;			/* the key's entries' states (emit) */
	int		   *lens;
	int			partcap;		/* entries they have room for */
	const char **fold;			/* one aggregate's states (emit) */
	int		   *foldlens;
};

/*
 * For each key (in the grouping's order) the view's key column it is, when
 * the merged scan can probe the speed layer's copy by key image instead of
 * hashing the speed rows (merge_image_load): equal keys have equal
 * images (ViewDef.keys_image_eq), the grouping compares each key with its
 * type's equality in the view's collation, and the speed branch sp is a
 * scan of the speed table without conditions (merge_speed_set), whose
 * columns at the keys' and aggregates' positions are the view's keys and
 * those aggregates' states. NIL otherwise.
 */
List *
merge_image_keys(ViewDef *def, Path *sp, List *keypos, List *keyops, List *keycolls,
					   List *aggpos, List *aggnos)
{
	List	   *imgkey = NIL;
	Bitmapset  *seen = NULL;
	ListCell   *lp,
			   *lo,
			   *lc;

	if (!def->keys_image_eq || !IsA(sp, ForeignPath) || sp->param_info != NULL ||
		sp->parent->baserestrictinfo != NIL)
		return NIL;
	forthree(lp, keypos, lo, keyops, lc, keycolls)
	{
		Var		   *var = list_nth(sp->pathtarget->exprs, lfirst_int(lp));
		int			j;

		if (!IsA(var, Var) || var->varno != (int) sp->parent->relid)
			return NIL;
		j = var->varattno - 1;
		if (j < 0 || j >= def->nkeys || bms_is_member(j, seen) ||
			lfirst_oid(lo) != lookup_type_cache(def->keytypes[j], TYPECACHE_EQ_OPR)->eq_opr ||
			(OidIsValid(def->keycolls[j]) && lfirst_oid(lc) != def->keycolls[j]))
			return NIL;
		seen = bms_add_member(seen, j);
		imgkey = lappend_int(imgkey, j);
	}
	forboth(lp, aggpos, lo, aggnos)
	{
		Var		   *var = list_nth(sp->pathtarget->exprs, lfirst_int(lp));

		if (!IsA(var, Var) || var->varno != (int) sp->parent->relid ||
			var->varattno != def->nkeys + lfirst_int(lo))
			return NIL;
	}
	return imgkey;
}

/*
 * Fills cols from a merged scan's plan: head (the speed branch, the batch
 * table), each key's input column, each output column's kind and index,
 * each merge aggregate's input column and number in the view.
 */
void
merge_cols_init(MergeImageCols *cols, List *head, List *keypos, List *colkind, List *colidx,
				List *aggpos, List *aggnos)
{
	int			i;

	cols->speed_child = linitial_int(head);
	cols->batch_relid = (Oid) lsecond_int(head);
	cols->nkeys = list_length(keypos);
	cols->keypos = palloc(sizeof(int) * Max(cols->nkeys, 1));
	for (i = 0; i < cols->nkeys; i++)
		cols->keypos[i] = list_nth_int(keypos, i);
	cols->ncols = list_length(colkind);
	cols->colkind = palloc(sizeof(int) * Max(cols->ncols, 1));
	cols->colidx = palloc(sizeof(int) * Max(cols->ncols, 1));
	for (i = 0; i < cols->ncols; i++)
	{
		cols->colkind[i] = list_nth_int(colkind, i);
		cols->colidx[i] = list_nth_int(colidx, i);
	}
	cols->naggs = list_length(aggpos);
	cols->aggpos = palloc(sizeof(int) * Max(cols->naggs, 1));
	cols->meta = palloc(sizeof(AggMeta *) * Max(cols->naggs, 1));
	for (i = 0; i < cols->naggs; i++)
	{
		cols->aggpos[i] = list_nth_int(aggpos, i);
		cols->meta[i] = aggmeta_lookup(cols->batch_relid, list_nth_int(aggnos, i));
	}
}

/*
 * Sets up probing by image for a merged scan (node) whose columns are cols
 * and whose plan found the speed branch fit (imgkey: merge_image_keys; the
 * aggregates' numbers in the view, in the order of cols->aggpos).
 */
MergeImage *
merge_image_begin(CustomScanState *node, const MergeImageCols *cols, List *imgkey, List *aggnos)
{
	MergeImage *mi = palloc0(sizeof(MergeImage));
	int			i;

	mi->node = node;
	mi->c = *cols;
	mi->def = cview_get_required(cols->batch_relid);
	mi->imgkey = palloc(sizeof(int) * cols->nkeys);
	for (i = 0; i < cols->nkeys; i++)
		mi->imgkey[i] = list_nth_int(imgkey, i);
	mi->aggno = palloc(sizeof(int) * Max(cols->naggs, 1));
	mi->foldable = palloc(sizeof(bool) * Max(cols->naggs, 1));
	mi->alone = palloc(sizeof(bool) * Max(cols->naggs, 1));
	for (i = 0; i < cols->naggs; i++)
	{
		mi->aggno[i] = list_nth_int(aggnos, i);
		mi->foldable[i] = merge_state_foldable(cols->meta[i]);
		mi->alone[i] = merge_state_alone(cols->meta[i]);
	}
	mi->kvals = palloc(sizeof(Datum) * mi->def->nkeys);
	mi->knulls = palloc(sizeof(bool) * mi->def->nkeys);
	mi->cxt = CurrentMemoryContext;
	return mi;
}

/*
 * Takes and indexes the speed scan's copy, when the scan starts; false when
 * the speed branch does not hand one, or hands an empty one (just after a
 * refresh): the caller then reads the speed branch itself (which returns no
 * rows once it handed its copy) and streams the batch rows as they are.
 */
bool
merge_image_load(MergeImage *mi)
{
	if (mi->c.speed_child < 0)
		return false;
	mi->set = merge_speed_set(list_nth(mi->node->custom_ps, mi->c.speed_child));
	if (mi->set == NULL || speed_set_count(mi->set) == 0)
		return false;
	speed_set_index(mi->set);
	mi->iter_item = 0;
	mi->child = 0;
	mi->direct = NULL;
	mi->phase = 1;
	mi->hold_rest = false;
	return true;
}

/*
 * For a participant of a parallel merged scan (merge_group.c): probes set,
 * the copy the leader made and shared (indexed; not empty), with this
 * participant's share of the batch rows. After the last of them
 * merge_image_next returns false and waits for merge_image_rest_turn to
 * say whether this participant returns the keys only in the speed layer.
 */
void
merge_image_load_shared(MergeImage *mi, SpeedSet *set)
{
	mi->set = set;
	mi->iter_item = 0;
	mi->child = 0;
	mi->direct = NULL;
	mi->phase = 1;
	mi->hold_rest = true;
}

/*
 * Whether a participant of a parallel merged scan is done with its batch
 * rows (merge_image_load_shared), and then (emit) whether it returns the
 * keys only in the speed layer, which the next calls of merge_image_next do.
 */
bool
merge_image_rest_turn(MergeImage *mi, bool emit)
{
	if (mi->phase != 2 || !mi->hold_rest)
		return false;
	mi->hold_rest = false;
	if (!emit)
		mi->phase = 3;
	return true;
}

/* Whether a participant waits for merge_image_rest_turn. */
bool
merge_image_batch_done(MergeImage *mi)
{
	return mi->phase == 2 && mi->hold_rest;
}

/* Lets go of the rows read ahead (and the buffer pins that keep them). */
static void
merge_image_clear_ahead(MergeImage *mi)
{
	int			i;

	for (i = 0; mi->ahead && i < MERGE_IMAGE_AHEAD; i++)
		ExecClearTuple(mi->ahead[i]);
}

/* Forgets the copy and the rows read ahead: the scan starts again. */
void
merge_image_reset(MergeImage *mi)
{
	merge_image_clear_ahead(mi);
	mi->set = NULL;
	mi->iter_item = 0;
	mi->aheadfirst = 0;
	mi->aheadcount = 0;
	mi->batch_done = false;
	mi->child = 0;
	mi->direct = NULL;
	mi->phase = 0;
	mi->hold_rest = false;
}

/*
 * Makes room in the scan's arrays for the states of nmatch entries of a key
 * (and the batch state).
 */
static void
merge_image_room(MergeImage *mi, int nmatch)
{
	int			per = mi->def->naggs + 1;
	int			cap;

	if (nmatch <= mi->partcap)
		return;
	cap = Max(nmatch, Max(mi->partcap * 2, 4));
	if (mi->parts == NULL)
	{
		mi->parts = MemoryContextAlloc(mi->cxt, sizeof(char *) * per * cap);
		mi->lens = MemoryContextAlloc(mi->cxt, sizeof(int) * per * cap);
		mi->fold = MemoryContextAlloc(mi->cxt, sizeof(char *) * (cap + 1));
		mi->foldlens = MemoryContextAlloc(mi->cxt, sizeof(int) * (cap + 1));
	}
	else
	{
		mi->parts = repalloc(mi->parts, sizeof(char *) * per * cap);
		mi->lens = repalloc(mi->lens, sizeof(int) * per * cap);
		mi->fold = repalloc(mi->fold, sizeof(char *) * (cap + 1));
		mi->foldlens = repalloc(mi->foldlens, sizeof(int) * (cap + 1));
	}
	mi->partcap = cap;
}

/*
 * One aggregate's result for a group straight from its states' bytes
 * (merge_state_fold_images): the batch state bstate (when not NULL) first,
 * then the entries' states in split (nmatch entries, states of aggregate
 * a). False when it cannot (a compressed or out-of-line batch state, a
 * state of another length): the caller merges through MergeState.
 */
static bool
merge_image_fold(MergeImage *mi, int idx, Datum bstate, bool bnull, int nmatch, int a,
				 Datum *result, bool *isnull)
{
	int			per = mi->def->naggs + 1;
	int			n = 0;
	int			m;

	if (!bnull)
	{
		if (!merge_state_inline_bytes(bstate, &mi->fold[n], &mi->foldlens[n]))
			return false;
		n++;
	}
	for (m = 0; m < nmatch; m++)
	{
		if (mi->parts[m * per + a] == NULL)
			continue;
		mi->fold[n] = mi->parts[m * per + a];
		mi->foldlens[n++] = mi->lens[m * per + a];
	}
	return merge_state_fold_images(mi->c.meta[idx], mi->fold, mi->foldlens, n, result, isnull);
}

/*
 * Fills the output slot with one group: its keys from the batch row (bvals)
 * or decoded from the first entry's key image, each aggregate merged from
 * the batch state (when given) and then the entries of the key, oldest
 * first (from first, found at probe position pos), which are marked merged.
 * Aggregates whose states fold as bytes (merge_state_foldable) are merged
 * without a Datum per state (a batch state without entries, of
 * merge_state_alone, is read in place); the others through MergeState, in
 * rowcxt.
 */
static void
merge_image_emit(MergeImage *mi, Datum *bvals, bool *bnulls, SpeedSetEntry *first, uint64 pos)
{
	bool		unique = speed_set_unique(mi->set);
	TupleTableSlot *out = mi->out;
	ViewDef    *def = mi->def;
	int			per = def->naggs + 1;
	SpeedSetEntry *e;
	int			nmatch = 0;
	Datum	   *kvals = NULL;
	bool	   *knulls = NULL;
	int			c;
	int			m;

	/* the key's entries, each split into its aggregates' states */
	for (e = first; e; e = unique ? NULL :
		 speed_set_lookup(mi->set, first->hash, SPEED_SET_KEY(first), first->keylen, &pos))
	{
		merge_image_room(mi, nmatch + 1);
		states_split(def, SPEED_SET_STATES(e), e->stateslen,
					 mi->parts + nmatch * per, mi->lens + nmatch * per);
		e->seen = true;
		nmatch++;
	}
	if (mi->partcap == 0)
		merge_image_room(mi, 1);
	if (bvals == NULL && first)
	{
		MemoryContext old = MemoryContextSwitchTo(mi->rowcxt);

		kvals = palloc(sizeof(Datum) * def->nkeys);
		knulls = palloc(sizeof(bool) * def->nkeys);
		key_decode(def, SPEED_SET_KEY(first), first->keylen, kvals, knulls);
		MemoryContextSwitchTo(old);
	}
	for (c = 0; c < mi->c.ncols; c++)
	{
		int			idx = mi->c.colidx[c];

		switch (mi->c.colkind[c])
		{
			case MERGE_COL_KEY:
				if (bvals)
				{
					out->tts_values[c] = bvals[mi->c.keypos[idx]];
					out->tts_isnull[c] = bnulls[mi->c.keypos[idx]];
				}
				else
				{
					out->tts_values[c] = kvals[mi->imgkey[idx]];
					out->tts_isnull[c] = knulls[mi->imgkey[idx]];
				}
				break;
			case MERGE_COL_AGG:
				{
					MergeState st;
					MemoryContext old;
					int			a = mi->aggno[idx] - 1;
					bool		bnull = bvals == NULL || bnulls[mi->c.aggpos[idx]];
					Datum		bstate = bnull ? (Datum) 0 : bvals[mi->c.aggpos[idx]];

					/* a batch row's key without entries: its state, in place */
					if (nmatch == 0 && !bnull && mi->alone[idx] &&
						merge_state_alone_value(bstate, mi->c.meta[idx]->translen, &out->tts_values[c]))
					{
						out->tts_isnull[c] = false;
						break;
					}
					if (mi->foldable[idx] &&
						merge_image_fold(mi, idx, bstate, bnull, nmatch, a,
										 &out->tts_values[c], &out->tts_isnull[c]))
						break;
					old = MemoryContextSwitchTo(mi->rowcxt);
					merge_state_init(&st, mi->c.meta[idx], mi->rowcxt);
					if (!bnull)
						merge_state_add(&st, bstate, mi->rowcxt);
					for (m = 0; m < nmatch; m++)
					{
						const char *p = mi->parts[m * per + a];
						int			len = mi->lens[m * per + a];
						bytea	   *b;

						if (p == NULL)
							continue;
						b = palloc(VARHDRSZ + len);
						SET_VARSIZE(b, VARHDRSZ + len);
						memcpy(VARDATA(b), p, len);
						merge_state_add(&st, PointerGetDatum(b), mi->rowcxt);
					}
					out->tts_values[c] = merge_state_result(&st, &out->tts_isnull[c], mi->rowcxt);
					MemoryContextSwitchTo(old);
				}
				break;
			default:
				out->tts_values[c] = (Datum) 0;
				out->tts_isnull[c] = true;
				break;
		}
	}
	ExecStoreVirtualTuple(out);
}

/* The next batch row from the batch branches, or NULL after the last. */
static TupleTableSlot *
merge_image_pull(MergeImage *mi)
{
	int			nchildren = list_length(mi->node->custom_ps);

	while (mi->child < nchildren)
	{
		TupleTableSlot *in;

		if (mi->child == mi->c.speed_child)
		{
			mi->child++;
			continue;
		}
		in = merge_batch_next(list_nth(mi->node->custom_ps, mi->child), &mi->direct);
		if (!TupIsNull(in))
			return in;
		mi->child++;
	}
	return NULL;
}

/*
 * The next batch row's group into the scan slot; false after the last.
 *
 * The probes of the copy are cache misses (an index slot, then the entry),
 * in the batch table's order, so the scan reads MERGE_IMAGE_AHEAD batch rows
 * ahead: it copies each row, computes its key image and starts loading its
 * index slot, and half the ring later that slot's entry; a row's lookup,
 * when its turn comes, finds both near. The groups come out in the batch
 * rows' order.
 */
static bool
merge_image_batch(MergeImage *mi)
{
	SpeedSetEntry *e = NULL;
	uint64		pos = SPEED_SET_PROBE_START;
	TupleTableSlot *row;
	int			i;
	int			k;

	if (mi->ahead == NULL)
	{
		/*
		 * The ring, for the whole query: slots of the first batch branch's
		 * kind (a heap scan's rows are kept by pinning their buffer, not
		 * copied).
		 */
		MemoryContext old = MemoryContextSwitchTo(mi->node->ss.ps.state->es_query_cxt);
		PlanState  *first = list_nth(mi->node->custom_ps, mi->c.speed_child == 0 ? 1 : 0);

		mi->ahead = palloc(sizeof(TupleTableSlot *) * MERGE_IMAGE_AHEAD);
		mi->aheadimg = palloc(sizeof(StringInfoData) * MERGE_IMAGE_AHEAD);
		mi->aheadhash = palloc(sizeof(uint32) * MERGE_IMAGE_AHEAD);
		for (i = 0; i < MERGE_IMAGE_AHEAD; i++)
		{
			mi->ahead[i] = MakeSingleTupleTableSlot(ExecGetResultType(first),
												   ExecGetResultSlotOps(first, NULL));
			initStringInfo(&mi->aheadimg[i]);
		}
		MemoryContextSwitchTo(old);
	}
	while (mi->aheadcount < MERGE_IMAGE_AHEAD && !mi->batch_done)
	{
		TupleTableSlot *in = merge_image_pull(mi);
		MemoryContext old;
		Datum	   *kvals;
		bool	   *knulls;

		if (in == NULL)
		{
			mi->batch_done = true;
			break;
		}
		i = (mi->aheadfirst + mi->aheadcount) % MERGE_IMAGE_AHEAD;
		row = ExecCopySlot(mi->ahead[i], in);
		slot_getallattrs(row);
		/* the key image in view key order (detoasting in the row context) */
		old = MemoryContextSwitchTo(mi->rowcxt);
		kvals = mi->kvals;
		knulls = mi->knulls;
		for (k = 0; k < mi->c.nkeys; k++)
		{
			kvals[mi->imgkey[k]] = row->tts_values[mi->c.keypos[k]];
			knulls[mi->imgkey[k]] = row->tts_isnull[mi->c.keypos[k]];
		}
		resetStringInfo(&mi->aheadimg[i]);
		key_image(mi->def, kvals, knulls, &mi->aheadimg[i]);
		MemoryContextSwitchTo(old);
		mi->aheadhash[i] = key_hash(mi->aheadimg[i].data, mi->aheadimg[i].len);
		mi->aheadcount++;
		speed_set_prefetch_slot(mi->set, mi->aheadhash[i]);
		if (mi->aheadcount > MERGE_IMAGE_AHEAD / 2)
			speed_set_prefetch_entry(mi->set,
									 mi->aheadhash[(mi->aheadfirst + mi->aheadcount - 1 - MERGE_IMAGE_AHEAD / 2) % MERGE_IMAGE_AHEAD]);
	}
	if (mi->aheadcount == 0)
		return false;
	i = mi->aheadfirst;
	mi->aheadfirst = (i + 1) % MERGE_IMAGE_AHEAD;
	mi->aheadcount--;
	row = mi->ahead[i];
	e = speed_set_lookup(mi->set, mi->aheadhash[i], mi->aheadimg[i].data, mi->aheadimg[i].len, &pos);
	merge_image_emit(mi, row->tts_values, row->tts_isnull, e, pos);
	return true;
}

/* The next key only in the speed layer into the output slot; false when none is left. */
static bool
merge_image_rest(MergeImage *mi)
{
	while (mi->iter_item < speed_set_count(mi->set))
	{
		SpeedSetEntry *e = speed_set_get(mi->set, mi->iter_item++);

		/* a key's first entry in copy order comes first: it leads the rest */
		if (!e->seen)
		{
			uint64		pos = SPEED_SET_PROBE_START;

			/* its probe position, from which the others follow */
			if (!speed_set_unique(mi->set))
				(void) speed_set_lookup(mi->set, e->hash, SPEED_SET_KEY(e), e->keylen, &pos);
			merge_image_emit(mi, NULL, NULL, e, pos);
			return true;
		}
	}
	return false;
}

/*
 * The merged scan's next group into out (built in rowcxt, which the caller
 * resets per row): the batch rows' groups, then the keys only in the speed
 * layer; false when all are out.
 */
bool
merge_image_next(MergeImage *mi, TupleTableSlot *out, MemoryContext rowcxt)
{
	mi->out = out;
	mi->rowcxt = rowcxt;
	if (mi->phase == 1)
	{
		if (merge_image_batch(mi))
			return true;
		merge_image_clear_ahead(mi);
		mi->phase = 2;
	}
	if (mi->phase == 2 && !mi->hold_rest)
	{
		if (merge_image_rest(mi))
			return true;
		mi->phase = 3;
	}
	return false;
}

/* At the end of the scan: drops the rows read ahead. */
void
merge_image_end(MergeImage *mi)
{
	int			i;

	for (i = 0; mi->ahead && i < MERGE_IMAGE_AHEAD; i++)
		ExecDropSingleTupleTableSlot(mi->ahead[i]);
	mi->ahead = NULL;
}
