/*-------------------------------------------------------------------------
 *
 * generation.c
 *	  One generation of a continuous view's speed layer: a hash table from
 *	  key image to states image in the speed layer's DSA area.
 *
 * A chained hash table whose bucket array and entries are DSA allocations,
 * so that every backend reads it. generation_apply_partial upserts the
 * groups of a backend's partial aggregation straight from its hash (a
 * committing transaction's states, a rebuild's), generation_apply_blob a
 * blob of (key, states) pairs (speed_blob: spills, prepared transactions,
 * states that need a serialization function), combining states with the
 * view's combine functions; generation_absorb moves a transaction's
 * spilled generation (one that belongs to no view) into a view's by linking
 * its entries; generation_merge folds one generation into another;
 * generation_link finds a key; generation_clear frees it all.
 *
 * New entries are carved out of chunks (GENERATION_CHUNK_MIN to _MAX bytes,
 * sized by how many groups the apply may still add) rather than allocated
 * one by one: a DSA allocation costs more than the rest of a new group's
 * apply. A chunk is freed only with its generation (generation_clear); an
 * entry carved from one carries GENERATION_CHUNKED in its cap and is never
 * freed alone: when its states outgrow it, it moves to an allocation of its
 * own and its old room stays unused until the generation goes. The
 * generation's bytes count whole chunks. Entries are carved in order,
 * chunk after chunk (the newest first in the list); a chunk left for a
 * newer one gets a marker where its entries end, so that a reader can walk
 * the entries carved since a mark (generation_carve_mark,
 * generation_carved_since: the keys an ordered run lacks, merge_run.c).
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
#include "memhint.h"
#include "partial.h"
#include "stateimage.h"
#include "speed_index.h"

#define GENERATION_INITIAL_BUCKETS	1024

/*
 * Entries per bucket at most (on average) before the buckets double. A
 * lookup walks a chain, one cache miss in the DSA area per entry: chains
 * of at most one entry on average keep that near one miss for a key found.
 */
#define GENERATION_LOAD			1

/* Chunks of new entries: sizes, and the largest entry carved from one */
#define GENERATION_CHUNK_MIN	1024
#define GENERATION_CHUNK_MAX	65536
#define GENERATION_CHUNK_ENTRY	(GENERATION_CHUNK_MAX / 8)

/*
 * In SpeedEntry.keylen at the end of what a chunk's entries took, when a
 * newer chunk replaced it with room for a header left (see
 * generation_carved_since)
 */
#define GENERATION_CHUNK_END	PG_UINT32_MAX

/* In SpeedEntry.cap: the entry lies in a chunk (not an allocation of its own) */
#define GENERATION_CHUNKED		((uint32) 1 << 31)
#define ENTRY_CAP(e)			((e)->cap & ~GENERATION_CHUNKED)

/* A chunk's header; the entries carved from it follow */
typedef struct GenerationChunk
{
	dsa_pointer next;
	Size		size;
} GenerationChunk;

/* How many groups ahead generation_apply_partial prefetches */
#define GENERATION_PREFETCH		8
/* the hashes of the pairs a blob's apply has read ahead (and the one at hand) */
#define GENERATION_BLOB_RING	(4 * GENERATION_PREFETCH)

/* The states images generation_apply_partial makes on the stack, at most */
#define GENERATION_IMAGE_BUF	1024

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

/*
 * Where the next entry carved from the generation's chunks will lie (its
 * newest chunk and the room left there), for generation_carved_since; false
 * when the generation's chunks are not in the order they were carved in (a
 * transaction's spilled chunks were moved into it, generation_absorb, and
 * the newest chunk of the list is one of those).
 */
bool
generation_carve_mark(dsa_area *area, SpeedGen *g, dsa_pointer *chunk, dsa_pointer *at)
{
	GenerationChunk *ch;

	*chunk = g->chunks;
	*at = g->chunk_free;
	if (!DsaPointerIsValid(g->chunks))
		return true;
	ch = dsa_get_address(area, g->chunks);
	return g->chunk_free >= g->chunks + MAXALIGN(sizeof(GenerationChunk)) &&
		g->chunk_free <= g->chunks + ch->size;
}

/*
 * Calls fn for each entry carved from the generation's chunks since
 * generation_carve_mark gave (chunk, at), oldest first: the keys it gained
 * since, when no entry was moved into it meanwhile (generation_absorb) and
 * none of them got an allocation of its own (a large one, or when no chunk
 * fitted in memory): the caller checks that by counting (the generation's
 * nentries grew by as many). Reads only: new entries are carved in order,
 * chunk after chunk, the newest chunk first in the list, and what a chunk
 * left unused ends with GENERATION_CHUNK_END (or lacks room for a header).
 * The number of entries, or -1 when the chunks are not as that says (the
 * mark's chunk is gone, or the newest chunk is not the one carved from).
 */
int64
generation_carved_since(dsa_area *area, SpeedGen *g, dsa_pointer chunk, dsa_pointer at,
						void (*fn) (void *arg, SpeedEntry *e), void *arg)
{
	dsa_pointer *chunks;
	int			nchunks = 0;
	int			cap = 16;
	dsa_pointer c;
	dsa_pointer mark_chunk = chunk;
	dsa_pointer dummy;
	int64		n = 0;

	if (!generation_carve_mark(area, g, &c, &dummy))
		return -1;
	/* the chunks from the newest back to the mark's */
	chunks = palloc(sizeof(dsa_pointer) * cap);
	for (c = g->chunks; DsaPointerIsValid(c) && c != mark_chunk;
		 c = ((GenerationChunk *) dsa_get_address(area, c))->next)
	{
		if (nchunks + 1 == cap)
		{
			cap *= 2;
			chunks = repalloc(chunks, sizeof(dsa_pointer) * cap);
		}
		chunks[nchunks++] = c;
	}
	if (c != mark_chunk)
	{
		pfree(chunks);
		return -1;
	}
	if (DsaPointerIsValid(mark_chunk))
		chunks[nchunks++] = mark_chunk;
	while (nchunks > 0)
	{
		GenerationChunk *ch;
		dsa_pointer p;
		dsa_pointer end;

		c = chunks[--nchunks];
		ch = dsa_get_address(area, c);
		p = c == mark_chunk ? at : c + MAXALIGN(sizeof(GenerationChunk));
		end = c == g->chunks ? g->chunk_free : c + ch->size;
		while (p + offsetof(SpeedEntry, data) <= end)
		{
			SpeedEntry *e = dsa_get_address(area, p);
			Size		size;

			if (e->keylen == GENERATION_CHUNK_END)
				break;
			size = MAXALIGN(offsetof(SpeedEntry, data) + e->keylen + ENTRY_CAP(e));
			if (!(e->cap & GENERATION_CHUNKED) || p + size > end)
			{
				pfree(chunks);
				return -1;
			}
			fn(arg, e);
			n++;
			p += size;
		}
	}
	pfree(chunks);
	return n;
}

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

				if (!(e->cap & GENERATION_CHUNKED))
					dsa_free(area, p);
				p = next;
			}
		}
		dsa_free(area, g->buckets);
	}
	while (DsaPointerIsValid(g->chunks))
	{
		dsa_pointer next = ((GenerationChunk *) dsa_get_address(area, g->chunks))->next;

		dsa_free(area, g->chunks);
		g->chunks = next;
	}
	g->chunk_free = InvalidDsaPointer;
	g->chunk_left = 0;
	/* the read side's column indexes (speed_index.c) */
	speed_index_clear(area, g);
	g->buckets = InvalidDsaPointer;
	g->nbuckets = 0;
	g->nentries = 0;
	g->bytes = 0;
}

/*
 * Doubles the buckets (or makes the first ones), rehashing the entries, or
 * more than doubles them: to at least "entries" / GENERATION_LOAD (chains
 * of GENERATION_LOAD on average). Out of memory, keeps the old buckets:
 * chains only get longer.
 */
static void
generation_grow(dsa_area *area, SpeedGen *g, int64 entries)
{
	uint32		n = g->nbuckets ? g->nbuckets * 2 : GENERATION_INITIAL_BUCKETS;
	dsa_pointer nb;
	dsa_pointer *newb;
	uint32		i;

	while ((int64) n * GENERATION_LOAD < entries && n < (uint32) 1 << 30)
		n *= 2;
	nb = dsa_allocate_extended(area, sizeof(dsa_pointer) * n,
							   DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE);

	if (!DsaPointerIsValid(nb))
		return;					/* keep the longer chains */
	/* zeroed, its pages mapped at once first: every bucket is InvalidDsaPointer */
	StaticAssertStmt(InvalidDsaPointer == 0, "buckets are zeroed");
	newb = dsa_get_address(area, nb);
	lambda_populate_write(newb, sizeof(dsa_pointer) * n);
	memset(newb, 0, sizeof(dsa_pointer) * n);
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

/*
 * generation_link, given the address of the generation's buckets and their
 * mask (nbuckets - 1): for callers that look up many keys.
 */
static inline dsa_pointer *
generation_link_in(dsa_area *area, dsa_pointer *b, uint32 mask, uint32 hash,
				   const char *key, uint32 keylen)
{
	dsa_pointer *link = &b[hash & mask];

	while (DsaPointerIsValid(*link))
	{
		SpeedEntry *e = dsa_get_address(area, *link);

		if (e->hash == hash && e->keylen == keylen && memcmp(e->data, key, keylen) == 0)
			return link;
		link = &e->next;
	}
	return link;
}

/* The link that points at the key's entry (or the chain's end). */
dsa_pointer *
generation_link(dsa_area *area, SpeedGen *g, uint32 hash, const char *key, uint32 keylen)
{
	return generation_link_in(area, dsa_get_address(area, g->buckets), g->nbuckets - 1,
							  hash, key, keylen);
}

/*
 * Room for a new entry of "size" bytes: carved from the generation's newest
 * chunk, or from a new chunk sized for "ahead" more entries of this size
 * (the groups the caller may still add), or, for a large entry or when no
 * chunk fits in memory any more, an allocation of its own. *chunked says
 * which. InvalidDsaPointer when memory ran out.
 */
static dsa_pointer
generation_entry_alloc(dsa_area *area, SpeedGen *g, Size size, int64 ahead, bool *chunked)
{
	dsa_pointer p;

	size = MAXALIGN(size);
	*chunked = false;
	if (size <= GENERATION_CHUNK_ENTRY)
	{
		if (size > g->chunk_left)
		{
			Size		want = Max(size * (Size) Min(Max(ahead, 1), GENERATION_CHUNK_MAX),
								   GENERATION_CHUNK_MIN);
			dsa_pointer c;

			/* where the carved entries end, for generation_carved_since */
			if (DsaPointerIsValid(g->chunk_free) && g->chunk_left >= offsetof(SpeedEntry, data))
				((SpeedEntry *) dsa_get_address(area, g->chunk_free))->keylen = GENERATION_CHUNK_END;

			want = Min(want, GENERATION_CHUNK_MAX);
			want = Max(want, MAXALIGN(sizeof(GenerationChunk)) + size);
			c = dsa_allocate_extended(area, want, DSA_ALLOC_NO_OOM);
			if (DsaPointerIsValid(c))
			{
				GenerationChunk *ch = dsa_get_address(area, c);

				/* its entries are written now: their pages at once */
				lambda_populate_write(ch, want);
				ch->next = g->chunks;
				ch->size = want;
				g->chunks = c;
				g->chunk_free = c + MAXALIGN(sizeof(GenerationChunk));
				g->chunk_left = want - MAXALIGN(sizeof(GenerationChunk));
				g->bytes += want;
			}
		}
		if (size <= g->chunk_left)
		{
			p = g->chunk_free;
			g->chunk_free += size;
			g->chunk_left -= size;
			*chunked = true;
			return p;
		}
	}
	p = dsa_allocate_extended(area, size, DSA_ALLOC_NO_OOM);
	if (DsaPointerIsValid(p))
		g->bytes += size;
	return p;
}

/*
 * For one apply that adds many entries: an entry carved from the chunk new
 * entries are carved from, and its address in this backend. The next
 * entries carved from the same chunk lie at the same distance from it in
 * both (a chunk is one allocation), so their addresses need no
 * dsa_get_address each. The chunk carved from changes only when a new one
 * is made, which becomes the head of the generation's list (after
 * generation_absorb the head may be another chunk, hence "head" rather
 * than the chunk itself).
 */
typedef struct GenerationCarve
{
	dsa_pointer head;			/* g->chunks when "entry" was carved */
	dsa_pointer entry;			/* or invalid */
	char	   *addr;
} GenerationCarve;

/*
 * A new entry for a key whose link (generation_link) the caller found at
 * the chain's end (or, for a key it knows is not there, its bucket: the
 * entry goes first in the chain), with room for stateslen bytes of states,
 * which the caller writes (e->data + keylen). See generation_upsert_at for
 * "ahead" and "indexed"; carve, when given, remembers where the chunk
 * lies. NULL when memory ran out.
 */
static pg_attribute_always_inline SpeedEntry *
generation_insert_at(dsa_area *area, SpeedGen *g, ViewDef *def, dsa_pointer *link,
					 uint32 hash, const char *key, uint32 keylen,
					 uint32 stateslen, int64 ahead, bool indexed, GenerationCarve *carve)
{
	Size		size = offsetof(SpeedEntry, data) + keylen + stateslen;
	bool		chunked;
	dsa_pointer p = generation_entry_alloc(area, g, size, ahead, &chunked);
	SpeedEntry *e;

	if (!DsaPointerIsValid(p))
		return NULL;
	if (chunked && carve != NULL && DsaPointerIsValid(carve->entry) && carve->head == g->chunks)
		e = (SpeedEntry *) (carve->addr + (p - carve->entry));
	else
	{
		e = dsa_get_address(area, p);
		if (chunked && carve != NULL)
		{
			carve->head = g->chunks;
			carve->entry = p;
			carve->addr = (char *) e;
		}
	}
	e->next = *link;			/* InvalidDsaPointer but at a chain's head */
	e->hash = hash;
	e->keylen = keylen;
	e->stateslen = stateslen;
	e->cap = stateslen | (chunked ? GENERATION_CHUNKED : 0);
	memcpy(e->data, key, keylen);
	*link = p;
	g->nentries++;
	/* the read side's column indexes (speed_index.c) */
	if (indexed)
		speed_index_add(area, g, def, key, keylen, hash);
	return e;
}

/*
 * For generation_apply_partial: a new entry for partial entry pe, whose link
 * the caller found at the chain's end (or its bucket, as for
 * generation_insert_at), carved from the newest chunk with its states
 * image written there as it is made (states_plan_image), rather
 * than made elsewhere and copied. False, with nothing changed, when the
 * image needs more (a function, room the chunk has not left): the caller
 * then makes it and inserts it (generation_insert_at), which makes a new
 * chunk if needed. The room past the newest chunk's carved entries is no
 * entry's until carved (only the lock holder writes there; readers stop at
 * g->chunk_free).
 */
static pg_attribute_always_inline bool
generation_insert_plain(dsa_area *area, SpeedGen *g, ViewDef *def, dsa_pointer *link,
						PartialEntry *pe, const int16 *plan, bool indexed,
						GenerationCarve *carve)
{
	Size		head = offsetof(SpeedEntry, data) + pe->key.len;
	Size		room;
	SpeedEntry *e;
	dsa_pointer p;
	Size		size;
	int			len;

	if (!DsaPointerIsValid(g->chunk_free) || g->chunk_left <= head)
		return false;
	room = Min(g->chunk_left, GENERATION_CHUNK_ENTRY) - head;
	p = g->chunk_free;
	if (DsaPointerIsValid(carve->entry) && carve->head == g->chunks)
		e = (SpeedEntry *) (carve->addr + (p - carve->entry));
	else
	{
		e = dsa_get_address(area, p);
		carve->head = g->chunks;
		carve->entry = p;
		carve->addr = (char *) e;
	}
	len = states_plan_image(plan, def->naggs, pe->values, pe->nulls, e->data + pe->key.len,
							(int) Min(room, (Size) PG_INT32_MAX));
	if (len < 0)
		return false;
	/* chunk sizes and entries are MAXALIGNed: this fits in chunk_left */
	size = MAXALIGN(head + len);
	Assert(size <= g->chunk_left);
	g->chunk_free += size;
	g->chunk_left -= size;
	e->next = *link;			/* InvalidDsaPointer but at a chain's head */
	e->hash = pe->key.hash;
	e->keylen = pe->key.len;
	e->stateslen = len;
	e->cap = (uint32) len | GENERATION_CHUNKED;
	memcpy(e->data, pe->key.data, pe->key.len);
	*link = p;
	g->nentries++;
	/* the read side's column indexes (speed_index.c) */
	if (indexed)
		speed_index_add(area, g, def, pe->key.data, pe->key.len, pe->key.hash);
	return true;
}

/*
 * Stores states for a key, whose link (generation_link) the caller found:
 * the states themselves for a new key, else the combination with what is
 * there. "ahead" is how many more keys the caller may add (chunk sizing);
 * "indexed": a new key goes into the column indexes (not in a transaction's
 * spilled generation, which nobody reads). False when memory ran out.
 */
static bool
generation_upsert_at(dsa_area *area, SpeedGen *g, ViewDef *def, dsa_pointer *link,
					 uint32 hash, const char *key, uint32 keylen,
					 const char *states, uint32 stateslen, int64 ahead, bool indexed)
{
	SpeedEntry *e;
	StringInfoData combined;

	if (!DsaPointerIsValid(*link))
	{
		e = generation_insert_at(area, g, def, link, hash, key, keylen, stateslen, ahead,
								 indexed, NULL);
		if (e == NULL)
			return false;
		memcpy(e->data + keylen, states, stateslen);
		return true;
	}

	/* combine with the stored states: in place when they keep their size */
	e = dsa_get_address(area, *link);
	if (states_combine_in_place(def, e->data + e->keylen, e->stateslen, states, stateslen))
		return true;
	initStringInfo(&combined);
	states_combine_images(def, e->data + e->keylen, e->stateslen, states, stateslen, &combined);
	if ((uint32) combined.len <= ENTRY_CAP(e))
	{
		memcpy(e->data + e->keylen, combined.data, combined.len);
		e->stateslen = combined.len;
	}
	else
	{
		/* room to grow, at most 1 kB: a sketch's entry stays near its bound */
		uint32		cap = combined.len + Min(combined.len / 2, GENERATION_ENTRY_SLACK);
		Size		size = MAXALIGN(offsetof(SpeedEntry, data) + keylen + cap);
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
		g->bytes += size;
		/* an entry of its own goes now; one in a chunk, with the chunk */
		if (!(e->cap & GENERATION_CHUNKED))
		{
			g->bytes -= MAXALIGN(offsetof(SpeedEntry, data) + keylen + ENTRY_CAP(e));
			dsa_free(area, oldp);
		}
	}
	return true;
}

/*
 * Makes room in the buckets for "more" keys at once rather than doubling as
 * they come (out of memory, the buckets stay as they are: chains only get
 * longer).
 */
void
generation_reserve(dsa_area *area, SpeedGen *g, int64 more)
{
	if (!DsaPointerIsValid(g->buckets) || g->nentries + more > (int64) g->nbuckets * GENERATION_LOAD)
		generation_grow(area, g, g->nentries + more);
}

/*
 * Stores states for a key whose hash (key_hash) the caller has (see
 * generation_upsert_at). False when memory ran out.
 */
static bool
generation_upsert(dsa_area *area, SpeedGen *g, ViewDef *def, uint32 hash, const char *key,
				  uint32 keylen, const char *states, uint32 stateslen, int64 ahead)
{
	if (!DsaPointerIsValid(g->buckets) || g->nentries > (int64) g->nbuckets * GENERATION_LOAD)
		generation_grow(area, g, 0);
	if (!DsaPointerIsValid(g->buckets))
		return false;
	return generation_upsert_at(area, g, def, generation_link(area, g, hash, key, keylen),
								hash, key, keylen, states, stateslen, ahead, true);
}

/* The reason why an apply failed when the speed layer's memory ran out. */
static void
generation_out_of_memory(char *why, size_t whylen)
{
	snprintf(why, whylen, "lambda.speed_layer_memory (%d MB) is exhausted", lambda_speed_layer_memory);
}

/*
 * In a PG_CATCH of an apply: takes the error a combine function raised
 * (copied into scratch, then flushed) as the reason why the apply failed.
 */
static void
generation_combine_failed(MemoryContext scratch, char *why, size_t whylen)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(scratch);
	edata = CopyErrorData();
	FlushErrorState();
	snprintf(why, whylen, "combining states failed: %s", edata->message);
}

/*
 * The (key, states) pair of a blob at p: each a uint32 length, then its
 * bytes. Returns the pair after it.
 */
static inline const char *
generation_blob_pair(const char *p, const char **key, uint32 *keylen,
					 const char **states, uint32 *stateslen)
{
	memcpy(keylen, p, sizeof(uint32));
	*key = p + sizeof(uint32);
	p = *key + *keylen;
	memcpy(stateslen, p, sizeof(uint32));
	*states = p + sizeof(uint32);
	return *states + *stateslen;
}

/* The first entry of the chain of this hash, prefetched (buckets b, mask) */
static inline void
generation_prefetch_chain(dsa_area *area, dsa_pointer *b, uint32 mask, uint32 hash)
{
	dsa_pointer q = b[hash & mask];

	if (DsaPointerIsValid(q))
		lambda_prefetch(dsa_get_address(area, q));
}

/*
 * For generation_apply_blob, ahead of a pair of this hash: its bucket, or
 * (chain) the first entry of its bucket's chain, as the generation's
 * buckets are now (a grow in between only makes a prefetch useless).
 */
static inline void
generation_blob_prefetch(dsa_area *area, SpeedGen *g, uint32 hash, bool chain)
{
	dsa_pointer *b;

	if (!DsaPointerIsValid(g->buckets))
		return;
	b = dsa_get_address(area, g->buckets);
	if (chain)
		generation_prefetch_chain(area, b, g->nbuckets - 1, hash);
	else
		lambda_prefetch(&b[hash & (g->nbuckets - 1)]);
}

/*
 * For generation_apply_blob: the pair at *far read ahead, its key hashed
 * into the ring (at *ahead) and its bucket prefetched; *far and *ahead move
 * on to the next pair.
 */
static inline void
generation_blob_read_ahead(dsa_area *area, SpeedGen *g, const char **far, int64 *ahead,
						   uint32 *hashes)
{
	const char *key;
	const char *states;
	uint32		keylen;
	uint32		stateslen;
	uint32		hash;

	*far = generation_blob_pair(*far, &key, &keylen, &states, &stateslen);
	hash = key_hash(key, keylen);
	hashes[*ahead % GENERATION_BLOB_RING] = hash;
	generation_blob_prefetch(area, g, hash, false);
	(*ahead)++;
}

/*
 * Applies a blob of (key, states) pairs to a generation. False (and the
 * generation emptied and marked incomplete) when memory ran out or a combine
 * function failed. The pairs lie in no order of the buckets: as
 * generation_apply_partial does, it prefetches the bucket of the pair
 * 2 * GENERATION_PREFETCH ahead and the first entry of the chain of the
 * pair GENERATION_PREFETCH ahead; each key is hashed once, when its bucket
 * is prefetched (the hashes wait in a ring of the pairs ahead).
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
		const char *p = blob;
		const char *end = blob + len;
		const char *far = blob;
		int64		npairs = 0;
		int64		at = 0;		/* the pair at p */
		int64		ahead = 0;	/* the pair at far */
		uint32		hashes[GENERATION_BLOB_RING];

		/* room for every key in one step rather than doubling as they come */
		while (p < end)
		{
			const char *key;
			const char *states;
			uint32		keylen;
			uint32		stateslen;

			p = generation_blob_pair(p, &key, &keylen, &states, &stateslen);
			npairs++;
		}
		generation_reserve(area, g, npairs);
		p = blob;
		while (far < end && ahead < 2 * GENERATION_PREFETCH)
			generation_blob_read_ahead(area, g, &far, &ahead, hashes);
		while (p < end && ok)
		{
			const char *key;
			const char *states;
			uint32		keylen;
			uint32		stateslen;
			uint32		hash = hashes[at % GENERATION_BLOB_RING];

			if (far < end)
				generation_blob_read_ahead(area, g, &far, &ahead, hashes);
			if (at + GENERATION_PREFETCH < ahead)
				generation_blob_prefetch(area, g,
										 hashes[(at + GENERATION_PREFETCH) % GENERATION_BLOB_RING],
										 true);
			at++;
			p = generation_blob_pair(p, &key, &keylen, &states, &stateslen);
			if (!generation_upsert(area, g, def, hash, key, keylen, states, stateslen, npairs--))
			{
				ok = false;
				generation_out_of_memory(why, whylen);
			}
			MemoryContextReset(scratch);
		}
	}
	PG_CATCH();
	{
		generation_combine_failed(scratch, why, whylen);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextReset(scratch);
	return ok;
}

/*
 * Applies the groups of a partial aggregation to a generation, each group's
 * states image made as it goes (no blob in between). The caller checked
 * that the view's states images need no serialization function
 * (states_image_plain). False (and why) when memory ran out or a combine
 * function failed, as generation_apply_blob.
 *
 * The groups are walked in the order they were made, which is random in
 * the generation's buckets: it prefetches the bucket of the group
 * 2 * GENERATION_PREFETCH ahead and the first entry of the chain of the
 * group GENERATION_PREFETCH ahead (of the first GENERATION_PREFETCH groups,
 * before it starts), and, for the group GENERATION_PREFETCH / 2 ahead
 * whose chain's first entry (on its way by then) is another key's, the
 * chain's second entry, so that the cache misses of a lookup overlap with
 * the work on the groups before it.
 */
bool
generation_apply_partial(dsa_area *area, SpeedGen *g, ViewDef *def, PartialHash *ph,
						 bool indexed, char *why, size_t whylen)
{
	MemoryContext scratch = generation_scratch_cxt();
	MemoryContext old = MemoryContextSwitchTo(scratch);
	volatile bool ok = true;

	PG_TRY();
	{
		int64		left = partial_count(ph);
		StringInfoData img;
		PartialEntry *e;

		/*
		 * Into an empty generation (a spill's own, or the open one just
		 * after a cut) every key of ph is new, and ph holds each once: each
		 * goes first in its chain, without walking it, and no chain's first
		 * entry is prefetched ("near" stays NULL).
		 */
		bool		fresh = g->nentries == 0;
		PartialEntry *near = fresh ? NULL : partial_first(ph);
		PartialEntry *mid = near;
		PartialEntry *far = partial_first(ph);
		dsa_pointer *b;
		dsa_pointer *link;
		GenerationCarve carve = {InvalidDsaPointer, InvalidDsaPointer, NULL};
		/* new keys go into column indexes only where the view keeps them */
		bool		index_new = indexed && speed_index_wanted(def);
		bool		isnew;
		char		image[GENERATION_IMAGE_BUF];
		const char *states;
		uint32		mask;
		int			len;
		int			i;

		generation_reserve(area, g, left);
		if (!DsaPointerIsValid(g->buckets))
		{
			ok = false;
			generation_out_of_memory(why, whylen);
		}
		else
		{
			/* the buckets stay as they are from here on: no grow below */
			b = dsa_get_address(area, g->buckets);
			mask = g->nbuckets - 1;
			for (i = 0; far && i < 2 * GENERATION_PREFETCH; i++)
			{
				lambda_prefetch(&b[far->key.hash & mask]);
				far = partial_next(far);
			}
			for (i = 0; near && i < GENERATION_PREFETCH; i++)
				near = partial_next(near);
			for (i = 0; mid && i < GENERATION_PREFETCH / 2; i++)
				mid = partial_next(mid);

			/*
			 * The first entries of the chains of the groups before "near",
			 * which the loop below does not prefetch: all the groups of a
			 * small transaction (their buckets are on their way already);
			 * none into an empty generation
			 */
			for (e = fresh ? NULL : partial_first(ph); e && e != near; e = partial_next(e))
				generation_prefetch_chain(area, b, mask, e->key.hash);
			img.data = NULL;	/* made when a states image needs it */
			for (e = partial_first(ph); e && ok; e = partial_next(e), left--)
			{
				if (far)
				{
					lambda_prefetch(&b[far->key.hash & mask]);
					far = partial_next(far);
				}
				if (near)
				{
					generation_prefetch_chain(area, b, mask, near->key.hash);
					near = partial_next(near);
				}
				if (mid)
				{
					dsa_pointer q = b[mid->key.hash & mask];

					if (DsaPointerIsValid(q))
					{
						SpeedEntry *first = dsa_get_address(area, q);

						if (first->hash != mid->key.hash && DsaPointerIsValid(first->next))
							lambda_prefetch(dsa_get_address(area, first->next));
					}
					mid = partial_next(mid);
				}
				if (fresh)
					link = &b[e->key.hash & mask];
				else
					link = generation_link_in(area, b, mask, e->key.hash, e->key.data, e->key.len);
				isnew = fresh || !DsaPointerIsValid(*link);
				/* a new key, its image written where it is carved: no copy */
				if (isnew &&
					generation_insert_plain(area, g, def, link, e, ph->plan, index_new, &carve))
					continue;
				states = image;
				len = states_plan_image(ph->plan, def->naggs, e->values, e->nulls,
										image, sizeof(image));
				if (len < 0)
				{
					/* a state that needs more (a function, room) */
					if (img.data == NULL)
						initStringInfo(&img);
					resetStringInfo(&img);
					states_image(def, e->values, e->nulls, &img);
					states = img.data;
					len = img.len;
				}
				if (isnew)
				{
					/* a new key: carved where the apply carves, without a lookup of its address */
					SpeedEntry *se = generation_insert_at(area, g, def, link, e->key.hash,
														  e->key.data, e->key.len, len,
														  left, index_new, &carve);

					if (se != NULL)
						memcpy(se->data + e->key.len, states, len);
					else
					{
						ok = false;
						generation_out_of_memory(why, whylen);
					}
				}
				else if (!generation_upsert_at(area, g, def, link, e->key.hash, e->key.data,
											   e->key.len, states, len, left, index_new))
				{
					ok = false;
					generation_out_of_memory(why, whylen);
				}
			}
		}
	}
	PG_CATCH();
	{
		generation_combine_failed(scratch, why, whylen);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextReset(scratch);
	return ok;
}

/* Appends every entry of a generation to a blob of (key, states) pairs. */
void
generation_append_blob(dsa_area *area, SpeedGen *g, StringInfo blob)
{
	dsa_pointer *b;
	uint32		i;

	if (!DsaPointerIsValid(g->buckets))
		return;
	b = dsa_get_address(area, g->buckets);
	for (i = 0; i < g->nbuckets; i++)
	{
		dsa_pointer p = b[i];

		while (DsaPointerIsValid(p))
		{
			SpeedEntry *e = dsa_get_address(area, p);
			uint32		l = e->keylen;

			appendBinaryStringInfo(blob, (char *) &l, sizeof(uint32));
			appendBinaryStringInfo(blob, e->data, l);
			l = e->stateslen;
			appendBinaryStringInfo(blob, (char *) &l, sizeof(uint32));
			appendBinaryStringInfo(blob, e->data + e->keylen, l);
			p = e->next;
		}
	}
}

/*
 * Combines every entry of generation "from" into "into". False when memory
 * ran out or a combine function failed.
 */
bool
generation_merge(dsa_area *area, SpeedGen *into, ViewDef *def, SpeedGen *from,
				 char *why, size_t whylen)
{
	StringInfoData blob;
	bool		ok;

	if (!DsaPointerIsValid(from->buckets))
		return true;
	initStringInfo(&blob);
	generation_append_blob(area, from, &blob);
	ok = generation_apply_blob(area, into, def, blob.data, blob.len, why, whylen);
	pfree(blob.data);
	return ok;
}

/*
 * Before generation_absorb moves the entries of "from" into "into", when
 * "from" holds more of them: the two exchange their tables (buckets and
 * entries), so that the walk that links or combines entries one by one
 * walks the fewer (the entries "into" had). Only where no column index
 * would then miss or repeat a key: "into" keeps no index (one key column),
 * or it is empty and every entry of "from" is added to its index here.
 * The bytes follow: "into" counts the entries of "from" that are
 * allocations of their own and its buckets, "from" those of "into" (the
 * chunks already moved).
 */
static void
generation_absorb_swap(dsa_area *area, SpeedGen *into, ViewDef *def, SpeedGen *from)
{
	Size		own = 0;		/* of into's entries and buckets */
	dsa_pointer t;
	int64		n;
	uint32		i;

	if (from->nentries <= into->nentries ||
		(into->nentries > 0 && speed_index_wanted(def)))
		return;
	if (DsaPointerIsValid(into->buckets))
	{
		dsa_pointer *b = dsa_get_address(area, into->buckets);

		for (i = 0; i < into->nbuckets; i++)
		{
			dsa_pointer p = b[i];

			while (DsaPointerIsValid(p))
			{
				SpeedEntry *e = dsa_get_address(area, p);

				if (!(e->cap & GENERATION_CHUNKED))
					own += MAXALIGN(offsetof(SpeedEntry, data) + e->keylen + ENTRY_CAP(e));
				p = e->next;
			}
		}
		own += sizeof(dsa_pointer) * into->nbuckets;
	}
	if (speed_index_wanted(def) && DsaPointerIsValid(from->buckets))
	{
		dsa_pointer *b = dsa_get_address(area, from->buckets);

		for (i = 0; i < from->nbuckets; i++)
		{
			dsa_pointer p = b[i];

			while (DsaPointerIsValid(p))
			{
				SpeedEntry *e = dsa_get_address(area, p);

				speed_index_add(area, into, def, e->data, e->keylen, e->hash);
				p = e->next;
			}
		}
	}
	t = into->buckets;
	into->buckets = from->buckets;
	from->buckets = t;
	i = into->nbuckets;
	into->nbuckets = from->nbuckets;
	from->nbuckets = i;
	n = into->nentries;
	into->nentries = from->nentries;
	from->nentries = n;
	into->bytes += from->bytes - own;
	from->bytes = own;
}

/*
 * Moves every entry of generation "from" (a transaction's spilled states,
 * which nobody else reads) into "into": a key "into" lacks is linked there
 * as it lies, without copying; a key it has is combined and its entry
 * dropped. When "from" has more entries, the two first exchange their
 * tables (generation_absorb_swap), so that the fewer are walked. "from" is
 * left empty, but its chunks now belong to "into" (an entry combined away
 * leaves its room in them unused until "into" goes): the caller frees
 * "from" with generation_clear in any case. False (and why) when memory ran
 * out or a combine function failed; "into" must then be abandoned
 * (generation_clear), as after generation_apply_blob.
 */
bool
generation_absorb(dsa_area *area, SpeedGen *into, ViewDef *def, SpeedGen *from,
				  char *why, size_t whylen)
{
	MemoryContext scratch = generation_scratch_cxt();
	MemoryContext old = MemoryContextSwitchTo(scratch);
	volatile bool ok = true;

	/* the chunks first: whatever happens below, each entry has one owner */
	while (DsaPointerIsValid(from->chunks))
	{
		GenerationChunk *ch = dsa_get_address(area, from->chunks);
		dsa_pointer next = ch->next;

		ch->next = into->chunks;
		into->chunks = from->chunks;
		into->bytes += ch->size;
		from->bytes -= ch->size;
		from->chunks = next;
	}
	from->chunk_free = InvalidDsaPointer;
	from->chunk_left = 0;
	generation_absorb_swap(area, into, def, from);
	if (!DsaPointerIsValid(from->buckets))
	{
		MemoryContextSwitchTo(old);
		return true;
	}

	PG_TRY();
	{
		dsa_pointer *fb = dsa_get_address(area, from->buckets);
		dsa_pointer *ib = NULL;
		uint32		i;

		/* the buckets of "into" stay as they are from here on */
		generation_reserve(area, into, from->nentries);
		if (!DsaPointerIsValid(into->buckets))
		{
			ok = false;
			generation_out_of_memory(why, whylen);
		}
		else
			ib = dsa_get_address(area, into->buckets);
		for (i = 0; ok && i < from->nbuckets; i++)
		{
			while (ok && DsaPointerIsValid(fb[i]))
			{
				dsa_pointer p = fb[i];
				SpeedEntry *e = dsa_get_address(area, p);
				dsa_pointer *link = generation_link_in(area, ib, into->nbuckets - 1,
													   e->hash, e->data, e->keylen);
				Size		own = MAXALIGN(offsetof(SpeedEntry, data) + e->keylen + ENTRY_CAP(e));

				if (!DsaPointerIsValid(*link))
				{
					/* out of "from" first: it never reaches an entry twice */
					fb[i] = e->next;
					from->nentries--;
					e->next = InvalidDsaPointer;
					*link = p;
					into->nentries++;
					if (!(e->cap & GENERATION_CHUNKED))
					{
						into->bytes += own;
						from->bytes -= own;
					}
					speed_index_add(area, into, def, e->data, e->keylen, e->hash);
					continue;
				}
				/*
				 * Out of "from" once combined: should the combine function
				 * raise an error, the entry is still there, freed below.
				 */
				if (!generation_upsert_at(area, into, def, link, e->hash, e->data, e->keylen,
										  e->data + e->keylen, e->stateslen, 0, true))
				{
					ok = false;
					generation_out_of_memory(why, whylen);
				}
				fb[i] = e->next;
				from->nentries--;
				if (!(e->cap & GENERATION_CHUNKED))
				{
					from->bytes -= own;
					dsa_free(area, p);
				}
				MemoryContextReset(scratch);
			}
		}
	}
	PG_CATCH();
	{
		generation_combine_failed(scratch, why, whylen);
		ok = false;
	}
	PG_END_TRY();

	/*
	 * Failed: the entries left in "from" go now, while the chunks they may
	 * lie in (now "into"'s) are still there; the caller abandons "into",
	 * which frees those chunks, before it frees "from".
	 */
	if (!ok)
	{
		dsa_pointer *fb = dsa_get_address(area, from->buckets);
		uint32		i;

		for (i = 0; i < from->nbuckets; i++)
		{
			while (DsaPointerIsValid(fb[i]))
			{
				dsa_pointer p = fb[i];
				SpeedEntry *e = dsa_get_address(area, p);

				fb[i] = e->next;
				from->nentries--;
				if (!(e->cap & GENERATION_CHUNKED))
				{
					from->bytes -= MAXALIGN(offsetof(SpeedEntry, data) + e->keylen + ENTRY_CAP(e));
					dsa_free(area, p);
				}
			}
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(scratch);
	return ok;
}
