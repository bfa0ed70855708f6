/*-------------------------------------------------------------------------
 *
 * speed_read.c
 *	  Reading the speed layer: copies of a view's generations for queries
 *	  (speed_read, merge.c; the keys of an ordered run and their entries,
 *	  merge_run.c and merge_order.c), their entries a batch at a time for
 *	  refreshes (speed_collect, batch.c), and what
 *	  the planner (speed_ndistinct, speed_selectivity) and lambda.view_status
 *	  (speed_status, speed_memory_used) read of it.
 *
 * Readers hold a view slot's lock shared (speed.c's locking rules) and only
 * for as long as they copy: writers applying a commit wait for it. A read
 * copies the entries it wants into a SpeedSet (speed_set.c) with one memcpy
 * per entry into a block reserved at once, and the caller works on the copy
 * after the lock is released. A read of every key walks a generation's
 * buckets, which lie in hash order while the entries lie where the DSA
 * allocator put them: it prefetches the entries of the buckets ahead, so
 * that their cache misses overlap instead of following each other.
 *
 * Exactness: a read takes the generations after the reader's cut in one
 * holding of the lock, so it sees each transaction's states whole and once
 * (a commit applies under the lock held exclusively). A refresh reads only
 * closed generations, which commits no longer change, and in batches
 * (speed_collect): copying all of them first would cost as much memory
 * again, and the fold runs aggregate functions, which should not run under
 * an LWLock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "lib/stringinfo.h"
#include "memhint.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/dsa.h"

#include "generation.h"
#include "keyimage.h"
#include "speed.h"
#include "speed_index.h"
#include "speed_read.h"
#include "speed_slot.h"

/* entries a read of every key has in flight (a power of two) */
#define SPEED_READ_PREFETCH		16


/* Appends a copy of an entry to the set. */
static inline void
speed_read_entry(SpeedEntry *e, SpeedSet *set)
{
	speed_set_add(set, e->hash, e->data, e->keylen, e->data + e->keylen, e->stateslen);
}

/*
 * Every entry of a generation, chain by chain: a ring of the next
 * SPEED_READ_PREFETCH entries to read, each prefetched when it goes in (two
 * cache lines: an entry's header, key and states take about 64 to 128
 * bytes). A bucket's chain goes on in the ring (an entry's successor takes
 * its place at the end) while the next buckets' chains start, so that the
 * cache misses of many chains overlap, links within a chain included. The
 * order is not the buckets' (a generation holds a key once, so it does not
 * matter).
 */
typedef struct SpeedChainWalk
{
	SpeedEntry *ring[SPEED_READ_PREFETCH];
	int			head;
	int			count;
	uint32		next;			/* the first bucket not started */
} SpeedChainWalk;

static inline void
speed_walk_begin(SpeedChainWalk *w, uint32 bucket)
{
	w->head = 0;
	w->count = 0;
	w->next = bucket;
}

static inline void
speed_walk_push(SpeedChainWalk *w, SpeedEntry *e)
{
	lambda_prefetch(e);
	lambda_prefetch((char *) e + 64);
	w->ring[(w->head + w->count++) & (SPEED_READ_PREFETCH - 1)] = e;
}

/*
 * The next entry of generation g (buckets b) in walk w, or NULL at the end;
 * with more false, no further bucket's chain is started (the chains begun
 * are finished, then NULL).
 */
static inline SpeedEntry *
speed_walk_next(dsa_area *area, SpeedGen *g, dsa_pointer *b, SpeedChainWalk *w, bool more)
{
	SpeedEntry *e;

	while (more && w->count < SPEED_READ_PREFETCH && w->next < g->nbuckets)
	{
		dsa_pointer p = b[w->next++];

		if (DsaPointerIsValid(p))
			speed_walk_push(w, dsa_get_address(area, p));
	}
	if (w->count == 0)
		return NULL;
	e = w->ring[w->head];
	w->head = (w->head + 1) & (SPEED_READ_PREFETCH - 1);
	w->count--;
	if (DsaPointerIsValid(e->next))
		speed_walk_push(w, dsa_get_address(area, e->next));
	return e;
}

/*
 * Copies a generation's entries: only the key's, when key is given; only
 * those that meet filter f, when it is given (through the generation's
 * column indexes when it has them, see speed_index.c).
 */
static void
speed_read_gen(dsa_area *area, ViewDef *def, SpeedGen *g, const char *key, int keylen,
			   SpeedFilter *f, SpeedSet *set)
{
	dsa_pointer *b;

	if (!DsaPointerIsValid(g->buckets))
		return;
	b = dsa_get_address(area, g->buckets);
	if (key)
	{
		dsa_pointer *link = generation_link(area, g, key_hash(key, keylen), key, keylen);

		if (f)
			f->keys_read++;
		if (DsaPointerIsValid(*link))
			speed_read_entry(dsa_get_address(area, *link), set);
		return;
	}
	if (f)
	{
		uint32	   *hashes;
		int			n;
		int			j;

		if (f->none)
			return;
		n = speed_index_candidates(area, g, def, f, &hashes);
		if (n >= 0)
		{
			/* each candidate's chain; keys sharing a hash are all checked */
			for (j = 0; j < n; j++)
			{
				dsa_pointer p = b[hashes[j] & (g->nbuckets - 1)];

				while (DsaPointerIsValid(p))
				{
					SpeedEntry *e = dsa_get_address(area, p);

					if (e->hash == hashes[j])
					{
						f->keys_read++;
						if (speed_filter_match(def, f, e->data, e->keylen))
							speed_read_entry(e, set);
					}
					p = e->next;
				}
			}
			pfree(hashes);
			return;
		}
		f->gens_scanned++;
	}
	else
		speed_set_reserve(set, g->nentries, g->bytes);
	/* every entry, chain by chain (SpeedChainWalk) */
	{
		SpeedChainWalk w;
		SpeedEntry *e;

		speed_walk_begin(&w, 0);
		while ((e = speed_walk_next(area, g, b, &w, true)) != NULL)
		{
			if (f == NULL || (f->keys_read++, speed_filter_match(def, f, e->data, e->keylen)))
				speed_read_entry(e, set);
		}
	}
}

/*
 * Copies the entries of generations (after_gen, upto_gen] (upto_gen < 0:
 * all after after_gen) into set, generation by generation, only the key's
 * when key is given, only those meeting f when it is given. False when one
 * of them is missing or incomplete: the caller must read the events instead.
 */
static bool
speed_read_gens(ViewDef *def, int64 after_gen, int64 upto_gen, const char *key, int keylen,
				SpeedFilter *f, SpeedSet *set)
{
	SpeedView  *v = speed_slot_attach(def);
	dsa_area   *area = speed_dsa();
	int			i;
	bool		ok = true;
	int64		expect = after_gen + 1;
	int64		last = -1;
	int			filled = 0;

	LWLockAcquire(&v->lock, LW_SHARED);
	if (key == NULL && f == NULL)
	{
		/* room for every entry at once (a shared set takes it all then, speed_set.c) */
		int64		n = 0;
		Size		bytes = 0;

		for (i = 0; i < v->ngens; i++)
		{
			SpeedGen   *g = &v->gens[i];

			if (g->gen <= after_gen || (upto_gen >= 0 && g->gen > upto_gen))
				continue;
			n += g->nentries;
			bytes += g->bytes;
		}
		speed_set_reserve(set, n, bytes);
	}
	for (i = 0; i < v->ngens && ok; i++)
	{
		SpeedGen   *g = &v->gens[i];

		if (g->gen <= after_gen)
			continue;
		if (upto_gen >= 0 && g->gen > upto_gen)
			break;
		/* generations must follow the cut without a gap or an overlap */
		if (g->first != expect || !g->complete)
			ok = false;
		else
		{
			int64		before = speed_set_count(set);

			speed_read_gen(area, def, g, key, keylen, f, set);
			/* a key may then be in the set once per generation */
			if (speed_set_count(set) > before && ++filled > 1)
				speed_set_set_unique(set, false);
		}
		expect = g->gen + 1;
		last = g->gen;
	}
	if (last < 0 || (upto_gen >= 0 && last != upto_gen))
		ok = false;
	LWLockRelease(&v->lock);
	return ok;
}

/*
 * A refresh's fold (speed_collect): the entries copied under one holding of
 * the lock, in a buffer the fold reuses, so that it stays in the cache.
 */
#define SPEED_COLLECT_BATCH		(128 * 1024)

typedef struct SpeedBatchEntry
{
	uint32		hash;
	uint32		keylen;
	uint32		stateslen;
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* key, then states */
} SpeedBatchEntry;

/*
 * Copies the entries of generation g's chains from bucket *next on into buf
 * (entries SpeedBatchEntry, MAXALIGNed, from buf->len on) until about
 * SPEED_COLLECT_BATCH bytes are there, whole chains only (so that nothing
 * read here is needed after the lock is released), prefetching as
 * speed_read_gen does; *next is left at the first bucket not read.
 */
static void
speed_collect_batch(dsa_area *area, SpeedGen *g, uint32 *next, StringInfo buf)
{
	dsa_pointer *b = dsa_get_address(area, g->buckets);
	SpeedChainWalk w;
	SpeedEntry *e;

	speed_walk_begin(&w, *next);
	while ((e = speed_walk_next(area, g, b, &w, buf->len < SPEED_COLLECT_BATCH)) != NULL)
	{
		Size		len = MAXALIGN(offsetof(SpeedBatchEntry, data) + e->keylen + e->stateslen);
		SpeedBatchEntry *c;

		enlargeStringInfo(buf, len);
		c = (SpeedBatchEntry *) (buf->data + buf->len);
		c->hash = e->hash;
		c->keylen = e->keylen;
		c->stateslen = e->stateslen;
		memcpy(c->data, e->data, e->keylen + e->stateslen);
		buf->len += len;
	}
	*next = w.next;
}

/*
 * The generation of v after "gen" (through upto_gen) into *seen, as it is
 * now; false when it is missing (a gap), incomplete or past upto_gen.
 */
static bool
speed_collect_next(SpeedView *v, int64 gen, int64 upto_gen, SpeedGen *seen)
{
	bool		ok = false;
	int			i;

	LWLockAcquire(&v->lock, LW_SHARED);
	for (i = 0; i < v->ngens; i++)
	{
		SpeedGen   *g = &v->gens[i];

		if (g->gen <= gen)
			continue;
		if (g->gen <= upto_gen && g->first == gen + 1 && g->complete)
		{
			*seen = *g;
			ok = true;
		}
		break;
	}
	LWLockRelease(&v->lock);
	return ok;
}

/*
 * Under v's lock held shared: the next batch of generation seen's entries
 * into buf (speed_collect_batch), if v still holds that generation as it
 * was seen; false if not.
 */
static bool
speed_collect_locked(SpeedView *v, dsa_area *area, const SpeedGen *seen, uint32 *next,
					 StringInfo buf)
{
	bool		ok = false;
	int			i;

	LWLockAcquire(&v->lock, LW_SHARED);
	for (i = 0; i < v->ngens; i++)
	{
		SpeedGen   *g = &v->gens[i];

		if (g->gen != seen->gen)
			continue;
		ok = g->first == seen->first && g->complete && g->buckets == seen->buckets &&
			g->nbuckets == seen->nbuckets && g->nentries == seen->nentries;
		if (ok)
			speed_collect_batch(area, g, next, buf);
		break;
	}
	LWLockRelease(&v->lock);
	return ok;
}

/*
 * For a refresh: calls fn on the entries of generations (after_gen,
 * upto_gen], without copying them all: a batch of entries at a time is
 * copied under the slot's lock held shared, and fn (which may run aggregate
 * functions) is called on them after it is released, so that commits
 * waiting to apply (and interrupts) wait for one batch only. A refresh runs
 * with its batch table locked against other refreshes and rebuilds, the
 * only ones that change or free a closed generation above the batch table's
 * cut (speed_cut's merge, speed_install; speed_release_locked frees only
 * folded ones, commits apply to the open one); still, each batch checks
 * under the lock that its generation is the one the fold started reading.
 * False when one of them is missing, incomplete or changed: the caller
 * must read the events instead (fn may have been called on some entries).
 */
bool
speed_collect(ViewDef *def, int64 after_gen, int64 upto_gen, SpeedCollectFn fn, void *arg)
{
	SpeedView  *v = speed_slot_attach(def);
	dsa_area   *area = speed_dsa();
	StringInfoData buf;
	SpeedGen	seen;
	int64		gen = after_gen;
	bool		done = false;

	/* room for a batch and the chains that end it: no palloc under the lock, usually */
	initStringInfo(&buf);
	enlargeStringInfo(&buf, 2 * SPEED_COLLECT_BATCH);
	while (!done && speed_collect_next(v, gen, upto_gen, &seen))
	{
		uint32		next = 0;
		bool		ok = true;

		while (ok && DsaPointerIsValid(seen.buckets) && next < seen.nbuckets)
		{
			char	   *p;

			CHECK_FOR_INTERRUPTS();
			resetStringInfo(&buf);
			ok = speed_collect_locked(v, area, &seen, &next, &buf);
			for (p = buf.data; ok && p < buf.data + buf.len;)
			{
				SpeedBatchEntry *c = (SpeedBatchEntry *) p;

				fn(arg, c->data, c->keylen, c->hash, c->data + c->keylen, c->stateslen);
				p += MAXALIGN(offsetof(SpeedBatchEntry, data) + c->keylen + c->stateslen);
			}
		}
		if (!ok)
			break;
		gen = seen.gen;
		done = gen == upto_gen;
	}
	pfree(buf.data);
	return done;
}

/*
 * For a refresh, before speed_collect: how many entries generations
 * (after_gen, upto_gen] hold (a key in several counts once in each).
 */
int64
speed_collect_count(ViewDef *def, int64 after_gen, int64 upto_gen)
{
	SpeedView  *v = speed_slot_attach(def);
	int64		n = 0;
	int			i;

	LWLockAcquire(&v->lock, LW_SHARED);
	for (i = 0; i < v->ngens; i++)
	{
		if (v->gens[i].gen > after_gen && v->gens[i].gen <= upto_gen)
			n += v->gens[i].nentries;
	}
	LWLockRelease(&v->lock);
	return n;
}

/*
 * For a query: the entries of every generation after after_gen (the
 * reader's cut), only the key's when key is given, only those meeting f
 * (conditions on key columns) when it is given; false when the query must
 * read the events instead (see speed_read_gens).
 */
bool
speed_read(ViewDef *def, int64 after_gen, const char *key, int keylen, SpeedFilter *f,
		   SpeedSet *set)
{
	return speed_read_gens(def, after_gen, -1, key, keylen, f, set);
}

/*
 * For an ordered run (merge_run.c): the view's keys_version (speed.c),
 * read under the slot's lock. A run built at this version holds every key
 * of the view's generations as long as it is still the version.
 */
uint64
speed_keys_version(ViewDef *def)
{
	SpeedView  *v = speed_slot_attach(def);
	uint64		version;

	LWLockAcquire(&v->lock, LW_SHARED);
	version = v->keys_version;
	LWLockRelease(&v->lock);
	return version;
}

/*
 * For an ordered run: the key image of every entry of every generation
 * after after_gen (a reader's cut; a key may come once per generation),
 * without states; *mark says what they are the keys of (the keys_version)
 * and, when one generation follows the cut, where its next entries will be
 * carved (speed_read_new_keys).
 */
void
speed_read_all_keys(ViewDef *def, int64 after_gen, SpeedSet *set, SpeedKeysMark *mark)
{
	SpeedView  *v = speed_slot_attach(def);
	dsa_area   *area = speed_dsa();
	int64		n = 0;
	int			filled = 0;
	int			after = 0;
	int			i;

	LWLockAcquire(&v->lock, LW_SHARED);
	memset(mark, 0, sizeof(SpeedKeysMark));
	mark->version = v->keys_version;
	for (i = 0; i < v->ngens; i++)
	{
		if (v->gens[i].gen <= after_gen)
			continue;
		if (after++ == 0)
		{
			mark->gen = v->gens[i].gen;
			mark->nentries = v->gens[i].nentries;
			mark->walkable = generation_carve_mark(area, &v->gens[i], &mark->chunk, &mark->at);
		}
		n += v->gens[i].nentries;
		/* a key may then be in the set once per generation */
		if (v->gens[i].nentries > 0 && ++filled > 1)
			speed_set_set_unique(set, false);
	}
	speed_set_reserve(set, n, 0);
	for (i = 0; i < v->ngens; i++)
	{
		SpeedGen   *g = &v->gens[i];
		dsa_pointer *b;
		uint32		j;

		if (g->gen <= after_gen || !DsaPointerIsValid(g->buckets))
			continue;
		b = dsa_get_address(area, g->buckets);
		for (j = 0; j < g->nbuckets; j++)
		{
			dsa_pointer p = b[j];

			/* the first entry of a bucket ahead, so that the misses overlap */
			if (j + SPEED_READ_PREFETCH < g->nbuckets && DsaPointerIsValid(b[j + SPEED_READ_PREFETCH]))
				lambda_prefetch(dsa_get_address(area, b[j + SPEED_READ_PREFETCH]));
			while (DsaPointerIsValid(p))
			{
				SpeedEntry *e = dsa_get_address(area, p);

				speed_set_add(set, e->hash, e->data, e->keylen, e->data, 0);
				p = e->next;
			}
		}
	}
	if (after != 1)
		mark->walkable = false;
	LWLockRelease(&v->lock);
}

/* generation_carved_since's callback: a key image into the set */
static void
speed_read_add_key(void *arg, SpeedEntry *e)
{
	speed_set_add((SpeedSet *) arg, e->hash, e->data, e->keylen, e->data, 0);
}

/*
 * For an ordered run made at *mark for a reader's cut after_gen: the keys
 * its generations gained since, without reading the others. 0 when they
 * gained none (the keys_version is the mark's); 1 when they are in set (and
 * *mark is moved to now): one generation follows the cut, as when the mark
 * was made, and every entry it gained since was carved after the mark's
 * place (generation_carved_since, as many as its nentries grew by), so each
 * is a key the run lacks; -1 when the run must be made again (entries came
 * otherwise: keys_moved; another generation; an entry of its own).
 */
int
speed_read_new_keys(ViewDef *def, int64 after_gen, SpeedKeysMark *mark, SpeedSet *set)
{
	SpeedView  *v = speed_slot_attach(def);
	dsa_area   *area = speed_dsa();
	SpeedGen   *g = NULL;
	int			result = -1;
	int			i;

	LWLockAcquire(&v->lock, LW_SHARED);
	if (v->keys_version == mark->version)
		result = 0;
	else if (mark->walkable && v->keys_moved <= mark->version)
	{
		for (i = 0; i < v->ngens; i++)
		{
			if (v->gens[i].gen <= after_gen)
				continue;
			if (g != NULL)
			{
				g = NULL;
				break;
			}
			g = &v->gens[i];
		}
		if (g != NULL && g->gen == mark->gen && g->complete &&
			generation_carved_since(area, g, mark->chunk, mark->at, speed_read_add_key, set) ==
			g->nentries - mark->nentries)
		{
			mark->version = v->keys_version;
			mark->nentries = g->nentries;
			mark->walkable = generation_carve_mark(area, g, &mark->chunk, &mark->at);
			result = 1;
		}
	}
	LWLockRelease(&v->lock);
	return result;
}

/*
 * For an ordered read: the entries of each of nkeys keys in every
 * generation after after_gen, key by key (each key's generation by
 * generation), all under one holding of the lock; ends[i] is the set's
 * count after key i, *version the view's keys_version then. False when a
 * generation after the cut is missing or incomplete, as speed_read.
 */
bool
speed_read_keys(ViewDef *def, int64 after_gen, int nkeys, const char *const *keys,
				const uint32 *lens, SpeedSet *set, int64 *ends, uint64 *version)
{
	SpeedView  *v = speed_slot_attach(def);
	dsa_area   *area = speed_dsa();
	int			first = -1;
	int64		expect = after_gen + 1;
	bool		ok = true;
	int			i;
	int			k;

	LWLockAcquire(&v->lock, LW_SHARED);
	*version = v->keys_version;
	for (i = 0; i < v->ngens && ok; i++)
	{
		SpeedGen   *g = &v->gens[i];

		if (g->gen <= after_gen)
			continue;
		if (first < 0)
			first = i;
		/* generations must follow the cut without a gap or an overlap */
		if (g->first != expect || !g->complete)
			ok = false;
		expect = g->gen + 1;
	}
	if (first < 0)
		ok = false;
	for (k = 0; k < nkeys && ok; k++)
	{
		uint32		hash = key_hash(keys[k], lens[k]);

		for (i = first; i < v->ngens; i++)
		{
			SpeedGen   *g = &v->gens[i];
			dsa_pointer *link;

			if (!DsaPointerIsValid(g->buckets))
				continue;
			link = generation_link(area, g, hash, keys[k], lens[k]);
			if (DsaPointerIsValid(*link))
				speed_read_entry(dsa_get_address(area, *link), set);
		}
		ends[k] = speed_set_count(set);
	}
	LWLockRelease(&v->lock);
	return ok;
}

/*
 * For the planner: the most distinct values key column col has in one of
 * the view's generations (from their column indexes), or -1 when none has
 * an index.
 */
int64
speed_ndistinct(Oid batch_relid, int col)
{
	SpeedView  *v = speed_slot_find(batch_relid);
	dsa_area   *area;
	int64		n = -1;
	int			i;

	if (v == NULL)
		return -1;
	area = speed_dsa();
	LWLockAcquire(&v->lock, LW_SHARED);
	if (v->in_use && v->batch_relid == batch_relid)
	{
		for (i = 0; i < v->ngens; i++)
			n = Max(n, speed_index_ndistinct(area, &v->gens[i], col));
	}
	LWLockRelease(&v->lock);
	return n;
}

/*
 * For the planner: the fraction of the view's speed-layer keys whose
 * column cf->col meets cf's range checks, from the generations' column
 * indexes (walking each column's distinct values), or -1 when a generation
 * has none.
 */
double
speed_selectivity(ViewDef *def, struct SpeedColFilter *cf)
{
	SpeedView  *v = speed_slot_find(def->batch_relid);
	dsa_area   *area;
	int64		matched = 0;
	int64		total = 0;
	bool		ok = true;
	int			i;

	if (v == NULL)
		return -1;
	area = speed_dsa();
	LWLockAcquire(&v->lock, LW_SHARED);
	if (v->in_use && v->batch_relid == def->batch_relid)
	{
		for (i = 0; i < v->ngens && ok; i++)
		{
			int64		m;
			int64		t;

			if (v->gens[i].nentries == 0)
				continue;
			ok = speed_index_count(area, &v->gens[i], def, cf, &m, &t);
			matched += m;
			total += t;
		}
	}
	LWLockRelease(&v->lock);
	if (!ok || total == 0)
		return -1;
	return (double) matched / (double) total;
}

/* Memory the speed layer holds, over all views. */
uint64
speed_memory_used(void)
{
	uint64		total = 0;
	int			i;

	for (i = 0; i < speed_slot_count(); i++)
	{
		SpeedView  *v = speed_slot_at(i);
		int			j;

		if (!v->in_use)
			continue;
		LWLockAcquire(&v->lock, LW_SHARED);
		for (j = 0; j < v->ngens; j++)
			total += v->gens[j].bytes;
		LWLockRelease(&v->lock);
	}
	return total;
}

/* What lambda.view_status shows of a view's speed layer. */
void
speed_status(Oid batch_relid, SpeedStatus *st)
{
	SpeedView  *v = speed_slot_find(batch_relid);
	int			i;

	memset(st, 0, sizeof(SpeedStatus));
	if (v == NULL)
		return;
	LWLockAcquire(&v->lock, LW_SHARED);
	if (v->in_use && v->batch_relid == batch_relid)
	{
		st->attached = true;
		st->complete = true;
		for (i = 0; i < v->ngens; i++)
		{
			bool		folded = v->gens[i].gen <= v->folded_upto ||
				(TransactionIdIsValid(v->free_xid) && v->gens[i].gen <= v->free_upto &&
				 TransactionIdDidCommit(v->free_xid));

			st->bytes += v->gens[i].bytes;
			if (folded)
				continue;
			st->keys += v->gens[i].nentries;
			if (!v->gens[i].complete)
				st->complete = false;
		}
		st->generations = v->ngens;
		st->open_generation = v->ngens > 0 ? v->gens[v->ngens - 1].gen : 0;
		st->rebuilding = v->rebuilding;
		strlcpy(st->note, v->note, sizeof(st->note));
		st->last_apply = v->last_apply;
		st->transactions = v->transactions;
	}
	LWLockRelease(&v->lock);
}
