/*-------------------------------------------------------------------------
 *
 * generation.c
 *	  One generation of a continuous view's speed layer: a hash table from
 *	  key image to states image in the speed layer's DSA area.
 *
 * A chained hash table whose bucket array and entries are DSA allocations,
 * so that every backend reads it. generation_apply_blob upserts a blob of
 * (key, states) pairs (speed_blob), combining states with the view's
 * combine functions; generation_merge folds one generation into another;
 * generation_link finds a key; generation_clear frees it all.
 *
 * Locking: none of its own. The caller (speed.c) holds the view's lock:
 * exclusively to change a generation, at least shared to read one. What
 * runs after a transaction committed must not raise an ERROR (it would be
 * a PANIC): allocations use DSA_ALLOC_NO_OOM and report failure, and
 * generation_apply_blob catches errors of combine functions (an overflow)
 * and reports them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/dsa.h"
#include "utils/memutils.h"

#include "cview.h"
#include "generation.h"
#include "keyimage.h"
#include "guc.h"
#include "stateimage.h"
#include "speed_index.h"

#define GENERATION_INITIAL_BUCKETS	1024

/* An entry that grows is given at most this much room beyond its states */
#define GENERATION_ENTRY_SLACK	1024

static MemoryContext generation_scratch = NULL;

/* A context for combining states, reset after each entry. */
static MemoryContext
generation_scratch_cxt(void)
{
	if (generation_scratch == NULL)
		generation_scratch = AllocSetContextCreate(TopMemoryContext, "pg_lambda speed apply",
												   ALLOCSET_DEFAULT_SIZES);
	return generation_scratch;
}

/* ------------------------------------------------------------------------
 * Generation tables (caller holds the view's lock)
 * ------------------------------------------------------------------------
 */

/* Frees the generation's entries and buckets, leaving it empty. */
void
generation_clear(dsa_area *area, SpeedGen *g)
{
	if (DsaPointerIsValid(g->buckets))
	{
		dsa_pointer *b = dsa_get_address(area, g->buckets);
		uint32		i;

		for (i = 0; i < g->nbuckets; i++)
		{
			dsa_pointer p = b[i];

			while (DsaPointerIsValid(p))
			{
				SpeedEntry *e = dsa_get_address(area, p);
				dsa_pointer next = e->next;

				dsa_free(area, p);
				p = next;
			}
		}
		dsa_free(area, g->buckets);
	}
	/* the read side's column indexes (speed_index.c) */
	speed_index_clear(area, g);
	g->buckets = InvalidDsaPointer;
	g->nbuckets = 0;
	g->nentries = 0;
	g->bytes = 0;
}

/*
 * Doubles the buckets (or makes the first ones), rehashing the entries, or
 * more than doubles them: to at least half of "entries" (chains of two on
 * average). Out of memory, keeps the old buckets: chains only get longer.
 */
static void
generation_grow(dsa_area *area, SpeedGen *g, int64 entries)
{
	uint32		n = g->nbuckets ? g->nbuckets * 2 : GENERATION_INITIAL_BUCKETS;
	dsa_pointer nb;
	dsa_pointer *newb;
	uint32		i;

	while ((int64) n * 2 < entries && n < (uint32) 1 << 30)
		n *= 2;
	nb = dsa_allocate_extended(area, sizeof(dsa_pointer) * n,
										   DSA_ALLOC_NO_OOM | DSA_ALLOC_ZERO | DSA_ALLOC_HUGE);

	if (!DsaPointerIsValid(nb))
		return;					/* keep the longer chains */
	newb = dsa_get_address(area, nb);
	for (i = 0; i < n; i++)
		newb[i] = InvalidDsaPointer;
	if (DsaPointerIsValid(g->buckets))
	{
		dsa_pointer *old = dsa_get_address(area, g->buckets);

		for (i = 0; i < g->nbuckets; i++)
		{
			dsa_pointer p = old[i];

			while (DsaPointerIsValid(p))
			{
				SpeedEntry *e = dsa_get_address(area, p);
				dsa_pointer next = e->next;

				e->next = newb[e->hash & (n - 1)];
				newb[e->hash & (n - 1)] = p;
				p = next;
			}
		}
		dsa_free(area, g->buckets);
		g->bytes -= sizeof(dsa_pointer) * g->nbuckets;
	}
	g->buckets = nb;
	g->nbuckets = n;
	g->bytes += sizeof(dsa_pointer) * n;
}

/* The link that points at the key's entry (or the chain's end). */
dsa_pointer *
generation_link(dsa_area *area, SpeedGen *g, uint32 hash, const char *key, uint32 keylen)
{
	dsa_pointer *b = dsa_get_address(area, g->buckets);
	dsa_pointer *link = &b[hash & (g->nbuckets - 1)];

	while (DsaPointerIsValid(*link))
	{
		SpeedEntry *e = dsa_get_address(area, *link);

		if (e->hash == hash && e->keylen == keylen && memcmp(e->data, key, keylen) == 0)
			return link;
		link = &e->next;
	}
	return link;
}

/*
 * Stores states for a key: the states themselves for a new key, else the
 * combination with what is there. False when memory ran out.
 */
static bool
generation_upsert(dsa_area *area, SpeedGen *g, ViewDef *def, const char *key, uint32 keylen,
				  const char *states, uint32 stateslen)
{
	uint32		hash = key_hash(key, keylen);
	dsa_pointer *link;
	SpeedEntry *e;
	StringInfoData combined;

	if (!DsaPointerIsValid(g->buckets) || g->nentries > (int64) g->nbuckets * 2)
		generation_grow(area, g, 0);
	if (!DsaPointerIsValid(g->buckets))
		return false;
	link = generation_link(area, g, hash, key, keylen);
	if (!DsaPointerIsValid(*link))
	{
		Size		size = offsetof(SpeedEntry, data) + keylen + stateslen;
		dsa_pointer p = dsa_allocate_extended(area, size, DSA_ALLOC_NO_OOM);

		if (!DsaPointerIsValid(p))
			return false;
		e = dsa_get_address(area, p);
		e->next = InvalidDsaPointer;
		e->hash = hash;
		e->keylen = keylen;
		e->stateslen = stateslen;
		e->cap = stateslen;
		memcpy(e->data, key, keylen);
		memcpy(e->data + keylen, states, stateslen);
		*link = p;
		g->nentries++;
		g->bytes += size;
		/* the read side's column indexes (speed_index.c) */
		speed_index_add(area, g, def, key, keylen, hash);
		return true;
	}

	/* combine with the stored states: in place when they keep their size */
	e = dsa_get_address(area, *link);
	if (states_combine_in_place(def, e->data + e->keylen, e->stateslen, states, stateslen))
		return true;
	initStringInfo(&combined);
	states_combine_images(def, e->data + e->keylen, e->stateslen, states, stateslen, &combined);
	if ((uint32) combined.len <= e->cap)
	{
		memcpy(e->data + e->keylen, combined.data, combined.len);
		e->stateslen = combined.len;
	}
	else
	{
		/* room to grow, at most 1 kB: a sketch's entry stays near its bound */
		uint32		cap = combined.len + Min(combined.len / 2, GENERATION_ENTRY_SLACK);
		Size		size = offsetof(SpeedEntry, data) + keylen + cap;
		dsa_pointer p = dsa_allocate_extended(area, size, DSA_ALLOC_NO_OOM);
		SpeedEntry *ne;
		dsa_pointer oldp = *link;

		if (!DsaPointerIsValid(p))
			return false;
		ne = dsa_get_address(area, p);
		e = dsa_get_address(area, oldp);
		ne->next = e->next;
		ne->hash = hash;
		ne->keylen = keylen;
		ne->stateslen = combined.len;
		ne->cap = cap;
		memcpy(ne->data, key, keylen);
		memcpy(ne->data + keylen, combined.data, combined.len);
		*link = p;
		g->bytes += size - (offsetof(SpeedEntry, data) + keylen + e->cap);
		dsa_free(area, oldp);
	}
	return true;
}

/*
 * Prefetching while a blob is applied. A batch's keys land in random buckets
 * of a table much larger than the CPU caches (a view of 250k groups: MBs of
 * buckets, tens of MBs of entries), so each upsert used to wait for two or
 * three cache misses in a row: the bucket slot, then the entries of its
 * chain (generation_link was a fifth of a Kafka source worker's CPU in
 * bench/ingest_bench.sh). Walking the blob ahead of the upserts, the bucket
 * slot of the pair GEN_AHEAD_BUCKET pairs ahead is prefetched, and the first
 * entry of the chain of the pair GEN_AHEAD_ENTRY pairs ahead (its slot is in
 * the cache by then), so the misses of several pairs overlap (merge_image.c
 * does the same for its probes). Prefetching changes nothing: the slot is
 * read under the same lock as the upserts, and a prefetch never faults.
 */
#if defined(__GNUC__) || defined(__clang__)
#define gen_prefetch(p)		__builtin_prefetch(p)
#else
#define gen_prefetch(p)		((void) (p))
#endif
#define GEN_AHEAD_BUCKET	8
#define GEN_AHEAD_ENTRY		4
#define GEN_AHEAD_RING		16	/* a power of two > GEN_AHEAD_BUCKET */

typedef struct GenPrefetch
{
	const char *next;			/* the first pair not hashed yet */
	const char *end;
	int64		hashed;			/* pairs hashed (and their slots prefetched) */
	int64		applied;		/* pairs upserted */
	uint32		hash[GEN_AHEAD_RING];	/* of pairs applied .. hashed - 1 */
	dsa_pointer buckets;		/* g->buckets when bk was taken */
	dsa_pointer *bk;
} GenPrefetch;

/* Called once before each pair's upsert; see above. */
static inline void
generation_prefetch(dsa_area *area, SpeedGen *g, GenPrefetch *pf)
{
	uint32		mask;

	if (!DsaPointerIsValid(g->buckets))
	{
		/* no buckets yet (their allocation failed): keep in step */
		if (pf->hashed == pf->applied && pf->next < pf->end)
		{
			uint32		l;

			memcpy(&l, pf->next, sizeof(uint32));
			pf->next += sizeof(uint32) + l;
			memcpy(&l, pf->next, sizeof(uint32));
			pf->next += sizeof(uint32) + l;
			pf->hashed++;
		}
		pf->applied++;
		return;
	}
	/* the buckets move when a failed grow succeeds later */
	if (pf->buckets != g->buckets)
	{
		pf->buckets = g->buckets;
		pf->bk = dsa_get_address(area, g->buckets);
	}
	mask = g->nbuckets - 1;
	while (pf->next < pf->end && pf->hashed < pf->applied + GEN_AHEAD_BUCKET)
	{
		uint32		l;
		uint32		h;

		memcpy(&l, pf->next, sizeof(uint32));
		h = key_hash(pf->next + sizeof(uint32), l);
		pf->next += sizeof(uint32) + l;
		memcpy(&l, pf->next, sizeof(uint32));
		pf->next += sizeof(uint32) + l;
		pf->hash[pf->hashed % GEN_AHEAD_RING] = h;
		gen_prefetch(&pf->bk[h & mask]);
		pf->hashed++;
	}
	if (pf->applied + GEN_AHEAD_ENTRY < pf->hashed)
	{
		dsa_pointer e = pf->bk[pf->hash[(pf->applied + GEN_AHEAD_ENTRY) % GEN_AHEAD_RING] & mask];

		if (DsaPointerIsValid(e))
			gen_prefetch(dsa_get_address(area, e));
	}
	pf->applied++;
}

/*
 * Applies a blob of (key, states) pairs to a generation. False (and the
 * generation emptied and marked incomplete) when memory ran out or a combine
 * function failed.
 */
bool
generation_apply_blob(dsa_area *area, SpeedGen *g, ViewDef *def,
					  const char *blob, Size len, char *why, size_t whylen)
{
	MemoryContext scratch = generation_scratch_cxt();
	MemoryContext old = MemoryContextSwitchTo(scratch);
	volatile bool ok = true;

	PG_TRY();
	{
		GenPrefetch pf;
		const char *p = blob;
		const char *end = blob + len;
		int64		npairs = 0;

		/* room for every key in one step rather than doubling as they come */
		while (p < end)
		{
			uint32		l;

			memcpy(&l, p, sizeof(uint32));
			p += sizeof(uint32) + l;
			memcpy(&l, p, sizeof(uint32));
			p += sizeof(uint32) + l;
			npairs++;
		}
		if (g->nentries + npairs > (int64) g->nbuckets * 2)
			generation_grow(area, g, g->nentries + npairs);
		p = blob;
		memset(&pf, 0, sizeof(pf));
		pf.next = blob;
		pf.end = end;
		pf.buckets = InvalidDsaPointer;
		while (p < end && ok)
		{
			uint32		keylen;
			uint32		stateslen;
			const char *key;

			generation_prefetch(area, g, &pf);
			memcpy(&keylen, p, sizeof(uint32));
			p += sizeof(uint32);
			key = p;
			p += keylen;
			memcpy(&stateslen, p, sizeof(uint32));
			p += sizeof(uint32);
			if (!generation_upsert(area, g, def, key, keylen, p, stateslen))
			{
				ok = false;
				snprintf(why, whylen, "lambda.speed_layer_memory (%d MB) is exhausted",
						 lambda_speed_layer_memory);
			}
			p += stateslen;
			MemoryContextReset(scratch);
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(scratch);
		edata = CopyErrorData();
		FlushErrorState();
		snprintf(why, whylen, "combining states failed: %s", edata->message);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextReset(scratch);
	return ok;
}

/*
 * Combines every entry of generation "from" into "into". False when memory
 * ran out or a combine function failed.
 */
bool
generation_merge(dsa_area *area, SpeedGen *into, ViewDef *def, SpeedGen *from,
				 char *why, size_t whylen)
{
	dsa_pointer *b;
	uint32		i;
	StringInfoData blob;
	bool		ok;

	if (!DsaPointerIsValid(from->buckets))
		return true;
	initStringInfo(&blob);
	b = dsa_get_address(area, from->buckets);
	for (i = 0; i < from->nbuckets; i++)
	{
		dsa_pointer p = b[i];

		while (DsaPointerIsValid(p))
		{
			SpeedEntry *e = dsa_get_address(area, p);
			uint32		l = e->keylen;

			appendBinaryStringInfo(&blob, (char *) &l, sizeof(uint32));
			appendBinaryStringInfo(&blob, e->data, l);
			l = e->stateslen;
			appendBinaryStringInfo(&blob, (char *) &l, sizeof(uint32));
			appendBinaryStringInfo(&blob, e->data + e->keylen, l);
			p = e->next;
		}
	}
	ok = generation_apply_blob(area, into, def, blob.data, blob.len, why, whylen);
	pfree(blob.data);
	return ok;
}

