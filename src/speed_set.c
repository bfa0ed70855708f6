/*-------------------------------------------------------------------------
 *
 * speed_set.c
 *	  A reader's copy of speed-layer entries.
 *
 * A read of the speed layer copies the entries it wants out of shared
 * memory while it holds the view's lock, and works on the copy after
 * releasing it (speed_read.c): the copy must be quick to make, since writers
 * wait for the lock meanwhile. A set keeps the entries in large blocks of
 * one memory context, one after the other (no allocation per entry), and an
 * array of them in the order they were copied (generation by generation, so
 * a key's entries come oldest first). The copy keeps each entry's hash (the
 * generation's, key_hash of the key image), so the hash index that the
 * merged scan (merge_group.c) probes by key image is built without hashing
 * anything again.
 *
 * A set lives in the memory context it was created in; it is freed with it.
 * Local memory only: no locks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "speed_set.h"

/* the arena's blocks, unless a reservation asks for more */
#define SPEED_SET_BLOCK		(256 * 1024)

struct SpeedSet
{
	MemoryContext cxt;
	char	   *free;			/* the current block's free space */
	Size		avail;
	Size		bytes;			/* of the blocks */
	SpeedSetEntry **items;		/* in copy order */
	int64		n;
	int64		cap;
	SpeedSetEntry **buckets;	/* the index, or NULL */
	uint64		nbuckets;
};

/* An empty set in context cxt. */
SpeedSet *
speed_set_create(MemoryContext cxt)
{
	SpeedSet   *s = MemoryContextAllocZero(cxt, sizeof(SpeedSet));

	s->cxt = cxt;
	return s;
}

/* Makes room for entries more entries of bytes bytes in all (key + states). */
void
speed_set_reserve(SpeedSet *s, int64 entries, Size bytes)
{
	Size		need = bytes + (Size) entries * MAXALIGN(offsetof(SpeedSetEntry, data) + MAXIMUM_ALIGNOF);

	if (s->n + entries > s->cap)
	{
		int64		cap = Max(s->n + entries, 64);

		s->items = s->items ?
			repalloc_huge(s->items, sizeof(SpeedSetEntry *) * cap) :
			MemoryContextAllocHuge(s->cxt, sizeof(SpeedSetEntry *) * cap);
		s->cap = cap;
	}
	if (need > s->avail)
	{
		s->free = MemoryContextAllocHuge(s->cxt, need);
		s->avail = need;
		s->bytes += need;
	}
}

/* Appends a copy of an entry; hash is key_hash of the key image. */
void
speed_set_add(SpeedSet *s, uint32 hash, const char *key, uint32 keylen,
			  const char *states, uint32 stateslen)
{
	Size		size = MAXALIGN(offsetof(SpeedSetEntry, data) + keylen + stateslen);
	SpeedSetEntry *e;

	if (size > s->avail)
	{
		Size		block = Max(size, SPEED_SET_BLOCK);

		s->free = MemoryContextAllocHuge(s->cxt, block);
		s->avail = block;
		s->bytes += block;
	}
	if (s->n >= s->cap)
	{
		int64		cap = Max(s->cap * 2, 64);

		s->items = s->items ?
			repalloc_huge(s->items, sizeof(SpeedSetEntry *) * cap) :
			MemoryContextAllocHuge(s->cxt, sizeof(SpeedSetEntry *) * cap);
		s->cap = cap;
	}
	e = (SpeedSetEntry *) s->free;
	s->free += size;
	s->avail -= size;
	e->chain = NULL;
	e->hash = hash;
	e->keylen = keylen;
	e->stateslen = stateslen;
	e->seen = false;
	memcpy(e->data, key, keylen);
	memcpy(e->data + keylen, states, stateslen);
	s->items[s->n++] = e;
	if (s->buckets)
	{
		/* indexed already: keep a key's entries in copy order */
		SpeedSetEntry **link = &s->buckets[hash & (s->nbuckets - 1)];

		while (*link)
			link = &(*link)->chain;
		*link = e;
	}
}

/* The number of entries. */
int64
speed_set_count(SpeedSet *s)
{
	return s->n;
}

/* Entry i (0-based, copy order). */
SpeedSetEntry *
speed_set_get(SpeedSet *s, int64 i)
{
	Assert(i >= 0 && i < s->n);
	return s->items[i];
}

/* Memory the set holds. */
Size
speed_set_bytes(SpeedSet *s)
{
	return s->bytes + sizeof(SpeedSetEntry *) * (s->cap + s->nbuckets);
}

/*
 * Builds the hash index: a power of two of buckets, about one per entry.
 * Each bucket's chain lists its entries in copy order, so that the entries
 * of one key (one per generation) are found oldest first.
 */
void
speed_set_index(SpeedSet *s)
{
	uint64		n = 16;
	int64		i;

	if (s->buckets)
		return;
	while (n < (uint64) s->n)
		n *= 2;
	s->buckets = MemoryContextAllocHuge(s->cxt, sizeof(SpeedSetEntry *) * n);
	memset(s->buckets, 0, sizeof(SpeedSetEntry *) * n);
	s->nbuckets = n;
	/* pushed in front from the last: each chain comes out in copy order */
	for (i = s->n - 1; i >= 0; i--)
	{
		SpeedSetEntry *e = s->items[i];
		SpeedSetEntry **b = &s->buckets[e->hash & (n - 1)];

		e->chain = *b;
		*b = e;
	}
}

/*
 * The first entry with this key image after "after" (NULL: the first of
 * all), in copy order; NULL when there is none. The set must be indexed.
 */
SpeedSetEntry *
speed_set_lookup(SpeedSet *s, uint32 hash, const char *key, uint32 keylen, SpeedSetEntry *after)
{
	SpeedSetEntry *e = after ? after->chain : s->buckets[hash & (s->nbuckets - 1)];

	Assert(s->buckets != NULL);
	for (; e; e = e->chain)
	{
		if (e->hash == hash && e->keylen == keylen && memcmp(e->data, key, keylen) == 0)
			return e;
	}
	return NULL;
}
