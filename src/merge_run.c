/*-------------------------------------------------------------------------
 *
 * merge_run.c
 *	  Ordered runs: a backend's copy of a view's speed-layer keys in the
 *	  order of an ordered merged scan (merge_order.c), kept between queries,
 *	  so that "ORDER BY <keys> LIMIT n" over the whole view reads n keys of
 *	  the speed layer rather than all of them.
 *
 * The ordered scan merges the batch table, read in an index's order, with
 * the speed layer's keys in the same order. Reading every speed-layer key
 * and state and ordering them (a heap) before the first row cost as much as
 * the speed layer is large: 120 ms at 360,000 keys, however few rows the
 * LIMIT took. A run is that order made once and kept:
 *
 *   - its keys are the key images of every entry of the generations after
 *     a reader's cut when it is made (speed_read_all_keys: one copy under
 *     the view's lock, without states), each decoded once; an image that
 *     several generations hold is in the run once;
 *   - they are ordered lazily: made a binary heap (about two comparisons a
 *     key), and taken off it into the run's sorted part only as far as
 *     readers go, so a reader that wants the first ten keys pays for ten
 *     (and the first reader for the heap);
 *   - a run holds no states: the scan probes the speed layer for each key
 *     it takes from the run, in batches under one holding of the view's
 *     lock (speed_read_keys), reading the generations after its cut as any
 *     read does. A key whose entries went since the run was made returns
 *     nothing there and is passed over. So a run may hold more keys than a
 *     reader's speed layer, never fewer, and that is all it must do.
 *
 * When a run serves a reader: when it was made for the reader's cut (the
 * generation its snapshot's batch rows end at), and it holds every key the
 * generations after that cut have gained since. The view's keys_version
 * (speed.c) moves whenever a generation gains an entry: by a commit's apply
 * (one increment per apply that added one, nothing per row), a rebuild
 * (speed_install), the merge of two (speed_cut), a transaction's spilled
 * generation absorbed; the last three, and a generation abandoned, also set
 * keys_moved, all under the view's lock held exclusively. A run remembers
 * the cut and a mark (speed_read.c: the version, and when one generation
 * follows the cut, that generation's entry count and where its next entry
 * will be carved from its chunks). merge_run_get then:
 *   - keeps the run as it is when the version is the mark's: commits that
 *     only updated entries the generation has (events for known keys and
 *     hours) change nothing here;
 *   - takes the keys the generation gained since (speed_read_new_keys),
 *     when one generation still follows the cut, nothing moved entries since
 *     the mark, and the entries carved after the mark are as many as the
 *     generation gained (none got an allocation of its own): entries are
 *     carved from chunks in order, so those are exactly its new keys, none
 *     of them in the run (generation_carved_since, which reads what the
 *     write path wrote anyway, plus one marker per chunk). Each goes into
 *     the heap, or, when it comes before keys readers already took off it,
 *     into the sorted part where it belongs: a cost per new key, not per
 *     key of the run;
 *   - else makes the run again: after a refresh moved the readers' cut (the
 *     next run holds the generations after the new cut only, not the keys
 *     just folded, which the scan would otherwise probe one by one for
 *     nothing), when two generations follow the cut (a refresh's cut not
 *     yet visible to the reader, or one rolled back), after entries moved,
 *     or while a scan of this backend still reads the run. That costs about
 *     what one read of the whole speed layer after the cut cost before.
 * Entries freed (folded generations released) leave a run as it is: it may
 * hold more keys than there are. Versions start at a value no earlier slot
 * had (speed.c), so a run never outlives its view into another with the
 * same batch table OID. Readers whose snapshots see different cuts (an old
 * REPEATABLE READ transaction beside new ones) make runs in turn.
 *
 * Memory: runs live in a context of their own under TopMemoryContext, at
 * most MERGE_RUN_MAX of them and lambda.order_run_memory in all (the least
 * recently used go first); a run larger than that setting serves its scan
 * and goes when the scan lets go (merge_run_fit). A run in
 * use by a scan is pinned; a pinned run that must be made again or evicted
 * is unlinked and freed when its last scan lets go. Pins end with the
 * transaction at the latest (a scan's end, or an error that ends no scan).
 *
 * Locks: the view's lock, shared, inside speed_read.c; nothing else. The
 * cache is the backend's own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/sortsupport.h"

#include "guc.h"
#include "keyimage.h"
#include "merge_run.h"
#include "speed_read.h"
#include "speed_set.h"

/* runs a backend keeps */
#define MERGE_RUN_MAX 8

/* A heap slot: a key, and its first order column abbreviated (SortSupport) */
typedef struct MergeRunSlot
{
	Datum		abbrev;
	MergeRunKey *key;
} MergeRunSlot;

struct MergeRun
{
	Oid			dbid;
	Oid			batch_relid;
	SpeedKeysMark mark;			/* what its keys are (speed_read.c) */
	int64		cut;			/* the keys of the generations after this */
	int64		nextseq;		/* seq of the next key added */
	Size		perkey;			/* a MergeRunKey's size */
	char	   *block;			/* where keys are carved from ... */
	Size		left;			/* ... and the room left there */
	int64		heapcap;
	int			nkeys;			/* key columns */
	int			norder;
	int		   *keycol;
	Oid		   *sortop;
	Oid		   *coll;
	bool	   *nullsfirst;
	SortSupport ssup;
	MemoryContext cxt;			/* everything of the run */
	MergeRunKey **sorted;		/* keys taken off the heap, in order */
	int64		nsorted;
	int64		sortedcap;
	MergeRunSlot *heap;			/* the rest: a binary heap, smallest first */
	bool		abbrev;			/* ssup[0] compares abbreviated keys */
	int64		nheap;
	int64		nimages;		/* images read (a key once per generation) */
	int			pins;
	bool		linked;			/* in merge_runs */
	uint64		used;			/* when last handed out (LRU) */
};

static List *merge_runs = NIL;	/* in TopMemoryContext */
static List *merge_runs_held = NIL; /* out of the cache, still pinned */
static uint64 merge_run_clock = 0;
static uint64 merge_run_xacts = 0;	/* transactions ended */
static bool merge_run_callback = false;

/* Whether a run is of the view and order. */
static bool
merge_run_matches(MergeRun *run, ViewDef *def, const MergeRunOrder *order)
{
	int			i;

	if (run->dbid != MyDatabaseId || run->batch_relid != def->batch_relid ||
		run->nkeys != def->nkeys || run->norder != order->norder)
		return false;
	for (i = 0; i < order->norder; i++)
	{
		if (run->keycol[i] != order->keycol[i] || run->sortop[i] != order->sortop[i] ||
			run->coll[i] != order->coll[i] || run->nullsfirst[i] != order->nullsfirst[i])
			return false;
	}
	return true;
}

/*
 * Compares two keys in the run's order, then by when they were first met:
 * of keys that are equal in the order but not in image (numeric 1.0 and
 * 1.00), the oldest generation's first, as a read of the speed layer's rows
 * meets them.
 */
static int
merge_run_cmp(MergeRun *run, MergeRunKey *a, MergeRunKey *b)
{
	int			i;
	int			c;

	for (i = 0; i < run->norder; i++)
	{
		int			k = run->keycol[i];

		if (i == 0 && run->abbrev)
			c = ApplySortAbbrevFullComparator(a->values[k], a->nulls[k], b->values[k], b->nulls[k],
											  &run->ssup[i]);
		else
			c = ApplySortComparator(a->values[k], a->nulls[k], b->values[k], b->nulls[k], &run->ssup[i]);
		if (c != 0)
			return c;
	}
	return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

/*
 * Compares two heap slots: by the abbreviated first column when the order
 * has one (the slots hold it, so most comparisons read no key), else as
 * merge_run_cmp. Abbreviated comparators tell only "less" and "greater"
 * for sure: on a tie the full comparison of the first column decides.
 */
static inline int
merge_run_slot_cmp(MergeRun *run, MergeRunSlot *a, MergeRunSlot *b)
{
	int			k;
	int			c;
	int			i;

	if (!run->abbrev)
		return merge_run_cmp(run, a->key, b->key);
	k = run->keycol[0];
	c = ApplySortComparator(a->abbrev, a->key->nulls[k], b->abbrev, b->key->nulls[k], &run->ssup[0]);
	if (c != 0)
		return c;
	c = ApplySortAbbrevFullComparator(a->key->values[k], a->key->nulls[k],
									  b->key->values[k], b->key->nulls[k], &run->ssup[0]);
	if (c != 0)
		return c;
	for (i = 1; i < run->norder; i++)
	{
		k = run->keycol[i];
		c = ApplySortComparator(a->key->values[k], a->key->nulls[k],
								b->key->values[k], b->key->nulls[k], &run->ssup[i]);
		if (c != 0)
			return c;
	}
	return a->key->seq < b->key->seq ? -1 : (a->key->seq > b->key->seq ? 1 : 0);
}

/* Moves the heap's slot at i down to where it belongs. */
static void
merge_run_sift_down(MergeRun *run, int64 i)
{
	MergeRunSlot *h = run->heap;
	MergeRunSlot k = h[i];

	for (;;)
	{
		int64		c = 2 * i + 1;

		if (c >= run->nheap)
			break;
		if (c + 1 < run->nheap && merge_run_slot_cmp(run, &h[c + 1], &h[c]) < 0)
			c++;
		if (merge_run_slot_cmp(run, &h[c], &k) >= 0)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = k;
}

/*
 * A key of the run for a copied entry (its image stays in the copy, which
 * lives as long as the run), decoded; and its heap slot filled.
 */
static MergeRunKey *
merge_run_key(MergeRun *run, ViewDef *def, SpeedSetEntry *e, MergeRunSlot *slot)
{
	MergeRunKey *k;

	/* the keys in blocks, a thousand to an allocation */
	if (run->left < run->perkey)
	{
		run->left = run->perkey * 1024;
		run->block = MemoryContextAlloc(run->cxt, run->left);
	}
	k = (MergeRunKey *) run->block;
	run->block += run->perkey;
	run->left -= run->perkey;
	k->img = SPEED_SET_KEY(e);
	k->len = e->keylen;
	k->seq = run->nextseq++;
	k->nulls = (bool *) ((char *) k + offsetof(MergeRunKey, values) + sizeof(Datum) * def->nkeys);
	/* by-reference values point into the image or are allocated in the run */
	key_decode(def, k->img, e->keylen, k->values, k->nulls);
	slot->key = k;
	slot->abbrev = (Datum) 0;
	if (run->abbrev && !k->nulls[run->keycol[0]])
		slot->abbrev = run->ssup[0].abbrev_converter(k->values[run->keycol[0]], &run->ssup[0]);
	return k;
}

/* Moves the heap's slot at i up to where it belongs. */
static void
merge_run_sift_up(MergeRun *run, int64 i)
{
	MergeRunSlot *h = run->heap;
	MergeRunSlot k = h[i];

	while (i > 0)
	{
		int64		parent = (i - 1) / 2;

		if (merge_run_slot_cmp(run, &h[parent], &k) <= 0)
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = k;
}

/*
 * Adds keys a generation gained since the run was made (copied in set, in
 * the run's memory): into the heap, or, for one that comes before keys
 * already taken off it, into the sorted part where it belongs. Only for a
 * run no scan is reading (its positions would move). The number added.
 */
static int64
merge_run_add_keys(MergeRun *run, ViewDef *def, SpeedSet *set)
{
	int64		n = speed_set_count(set);
	int64		i;
	MemoryContext old = MemoryContextSwitchTo(run->cxt);

	for (i = 0; i < n; i++)
	{
		MergeRunSlot slot;
		MergeRunKey *k = merge_run_key(run, def, speed_set_get(set, i), &slot);

		if (run->nsorted > 0 && merge_run_cmp(run, k, run->sorted[run->nsorted - 1]) < 0)
		{
			int64		lo = 0,
						hi = run->nsorted - 1;

			/* the first sorted key greater than k */
			while (lo < hi)
			{
				int64		mid = lo + (hi - lo) / 2;

				if (merge_run_cmp(run, run->sorted[mid], k) > 0)
					hi = mid;
				else
					lo = mid + 1;
			}
			if (run->nsorted == run->sortedcap)
			{
				run->sortedcap *= 2;
				run->sorted = repalloc_huge(run->sorted, sizeof(MergeRunKey *) * run->sortedcap);
			}
			memmove(&run->sorted[lo + 1], &run->sorted[lo], sizeof(MergeRunKey *) * (run->nsorted - lo));
			run->sorted[lo] = k;
			run->nsorted++;
			continue;
		}
		if (run->nheap == run->heapcap)
		{
			run->heapcap *= 2;
			run->heap = repalloc_huge(run->heap, sizeof(MergeRunSlot) * run->heapcap);
		}
		run->heap[run->nheap] = slot;
		merge_run_sift_up(run, run->nheap++);
	}
	run->nimages += n;
	MemoryContextSwitchTo(old);
	return n;
}

/* Frees a run no scan uses any more and that is out of the cache. */
static void
merge_run_free(MergeRun *run)
{
	MemoryContextDelete(run->cxt);
}

/* Takes a run out of the cache; freed now, or by its last scan. */
static void
merge_run_unlink(MergeRun *run)
{
	MemoryContext old;

	merge_runs = list_delete_ptr(merge_runs, run);
	run->linked = false;
	if (run->pins == 0)
	{
		merge_run_free(run);
		return;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	merge_runs_held = lappend(merge_runs_held, run);
	MemoryContextSwitchTo(old);
}

/*
 * At the end of a transaction its scans have ended (portals end before the
 * transaction's callbacks run), or failed without ending: every pin ends,
 * and runs out of the cache go. A scan that would let go later sees that
 * its transaction is over (merge_run_release).
 */
static void
merge_run_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	merge_run_xacts++;
	foreach(lc, merge_runs)
		((MergeRun *) lfirst(lc))->pins = 0;
	foreach(lc, merge_runs_held)
		merge_run_free(lfirst(lc));
	list_free(merge_runs_held);
	merge_runs_held = NIL;
}

/*
 * Makes a run of the view's keys in the order: every key image its
 * generations hold, decoded, made a heap. Built in a context under the
 * caller's, so that an error on the way leaves nothing behind.
 */
static MergeRun *
merge_run_build(ViewDef *def, int64 cut, const MergeRunOrder *order)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda ordered run",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	MergeRun   *run = palloc0(sizeof(MergeRun));
	SpeedSet   *set = speed_set_create(cxt);
	int64		n;
	int64		i;
	Size		per = MAXALIGN(offsetof(MergeRunKey, values) + sizeof(Datum) * def->nkeys +
							   sizeof(bool) * def->nkeys);

	run->cxt = cxt;
	run->dbid = MyDatabaseId;
	run->batch_relid = def->batch_relid;
	run->nkeys = def->nkeys;
	run->norder = order->norder;
	run->keycol = palloc(sizeof(int) * order->norder);
	run->sortop = palloc(sizeof(Oid) * order->norder);
	run->coll = palloc(sizeof(Oid) * order->norder);
	run->nullsfirst = palloc(sizeof(bool) * order->norder);
	run->ssup = palloc0(sizeof(SortSupportData) * order->norder);
	for (i = 0; i < order->norder; i++)
	{
		run->keycol[i] = order->keycol[i];
		run->sortop[i] = order->sortop[i];
		run->coll[i] = order->coll[i];
		run->nullsfirst[i] = order->nullsfirst[i];
		run->ssup[i].ssup_cxt = cxt;
		run->ssup[i].ssup_collation = order->coll[i];
		run->ssup[i].ssup_nulls_first = order->nullsfirst[i];
		/* the first column abbreviated, where its type offers it */
		run->ssup[i].abbreviate = (i == 0);
		PrepareSortSupportFromOrderingOp(order->sortop[i], &run->ssup[i]);
	}
	run->abbrev = run->ssup[0].abbrev_converter != NULL;

	run->cut = cut;
	speed_read_all_keys(def, cut, set, &run->mark);
	n = speed_set_count(set);
	run->nimages = n;
	run->heapcap = Max(n, 16);
	run->heap = MemoryContextAllocHuge(cxt, sizeof(MergeRunSlot) * run->heapcap);
	run->perkey = per;
	/* an image that several generations hold: once, where first met */
	if (!speed_set_unique(set))
		speed_set_index(set);
	for (i = 0; i < n; i++)
	{
		SpeedSetEntry *e = speed_set_get(set, i);

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!speed_set_unique(set))
		{
			uint64		pos = SPEED_SET_PROBE_START;

			if (speed_set_lookup(set, e->hash, SPEED_SET_KEY(e), e->keylen, &pos) != e)
				continue;
		}
		run->nextseq = i;
		(void) merge_run_key(run, def, e, &run->heap[run->nheap]);
		run->nheap++;
	}
	run->nextseq = n;
	for (i = run->nheap / 2 - 1; i >= 0; i--)
	{
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		merge_run_sift_down(run, i);
	}
	run->sortedcap = 64;
	run->sorted = palloc(sizeof(MergeRunKey *) * run->sortedcap);
	MemoryContextSwitchTo(old);
	return run;
}

/* The memory of the runs the cache keeps. */
static Size
merge_run_kept(void)
{
	Size		total = 0;
	ListCell   *lc;

	foreach(lc, merge_runs)
		total += MemoryContextMemAllocated(((MergeRun *) lfirst(lc))->cxt, true);
	return total;
}

/*
 * Keeps run in the cache if it fits lambda.order_run_memory, dropping the
 * least recently used others as needed (at most MERGE_RUN_MAX runs); a run
 * larger than the setting serves its scan and goes when the scan lets go.
 */
static void
merge_run_fit(MergeRun *run)
{
	Size		limit = (Size) lambda_order_run_memory * 1024;
	Size		size = MemoryContextMemAllocated(run->cxt, true);
	MemoryContext old;

	if (run->linked)
		merge_runs = list_delete_ptr(merge_runs, run);
	else
		merge_runs_held = list_delete_ptr(merge_runs_held, run);
	run->linked = false;
	while (merge_runs != NIL &&
		   (list_length(merge_runs) >= MERGE_RUN_MAX || (size <= limit && merge_run_kept() + size > limit)))
	{
		MergeRun   *lru = NULL;
		ListCell   *lc;

		foreach(lc, merge_runs)
		{
			MergeRun   *r = lfirst(lc);

			if (lru == NULL || r->used < lru->used)
				lru = r;
		}
		merge_run_unlink(lru);
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (size <= limit)
	{
		merge_runs = lappend(merge_runs, run);
		run->linked = true;
	}
	else
		merge_runs_held = lappend(merge_runs_held, run);
	MemoryContextSwitchTo(old);
}

/*
 * The view's run in the order for a reader's cut, pinned for the caller
 * (merge_run_release lets go): the cached one, with the keys its
 * generation gained since (*added of them), or one made now (*built); see
 * the header for when.
 */
MergeRun *
merge_run_get(ViewDef *def, int64 cut, const MergeRunOrder *order, bool *built, int64 *added,
			  uint64 *xact)
{
	MergeRun   *run = NULL;
	ListCell   *lc;

	*built = false;
	*added = 0;
	if (!merge_run_callback)
	{
		RegisterXactCallback(merge_run_xact_callback, NULL);
		merge_run_callback = true;
	}
	foreach(lc, merge_runs)
	{
		MergeRun   *r = lfirst(lc);

		if (merge_run_matches(r, def, order))
		{
			run = r;
			break;
		}
	}
	if (run != NULL && run->cut != cut)
	{
		merge_run_unlink(run);
		run = NULL;
	}
	else if (run != NULL && run->pins > 0)
	{
		/* a scan reads it: kept only as it is */
		if (speed_keys_version(def) != run->mark.version)
		{
			merge_run_unlink(run);
			run = NULL;
		}
	}
	else if (run != NULL)
	{
		SpeedSet   *set = speed_set_create(run->cxt);
		int			r = speed_read_new_keys(def, cut, &run->mark, set);

		if (r < 0)
		{
			merge_run_unlink(run);
			run = NULL;
		}
		else if (r > 0)
			*added = merge_run_add_keys(run, def, set);
	}
	if (run == NULL)
	{
		run = merge_run_build(def, cut, order);
		MemoryContextSetParent(run->cxt, TopMemoryContext);
		*built = true;
	}
	merge_run_fit(run);
	run->used = ++merge_run_clock;
	run->pins++;
	*xact = merge_run_xacts;
	return run;
}

/*
 * The run's i-th key in its order (0-based), or NULL past its end: keys
 * are taken off the heap as far as i.
 */
MergeRunKey *
merge_run_at(MergeRun *run, int64 i)
{
	while (run->nsorted <= i && run->nheap > 0)
	{
		MergeRunKey *top = run->heap[0].key;

		run->heap[0] = run->heap[--run->nheap];
		if (run->nheap > 1)
			merge_run_sift_down(run, 0);
		if (run->nsorted == run->sortedcap)
		{
			run->sortedcap *= 2;
			run->sorted = repalloc_huge(run->sorted, sizeof(MergeRunKey *) * run->sortedcap);
		}
		run->sorted[run->nsorted++] = top;
	}
	return i < run->nsorted ? run->sorted[i] : NULL;
}

/* The view's keys_version whose keys the run holds. */
uint64
merge_run_version(MergeRun *run)
{
	return run->mark.version;
}

/* The key images the run was made of (for EXPLAIN). */
int64
merge_run_size(MergeRun *run)
{
	return run->nimages;
}

/*
 * The caller's scan is done with the run it was given in transaction
 * "xact" (merge_run_get): nothing to do once that transaction has ended.
 */
void
merge_run_release(MergeRun *run, uint64 xact)
{
	if (xact != merge_run_xacts)
		return;
	if (run->pins > 0)
		run->pins--;
	if (run->pins == 0 && !run->linked)
	{
		merge_runs_held = list_delete_ptr(merge_runs_held, run);
		merge_run_free(run);
	}
}
