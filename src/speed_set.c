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

#include <sys/mman.h>

#include "utils/memutils.h"

#include "speed_set.h"

/* A slot of the index: an entry and its hash (NULL entry: empty) */
typedef struct SpeedSetSlot
{
	uint32		hash;
	SpeedSetEntry *entry;
} SpeedSetSlot;

#if defined(__GNUC__) || defined(__clang__)
#define speed_set_prefetch(p)	__builtin_prefetch(p)
#else
#define speed_set_prefetch(p)	((void) (p))
#endif

/* allocations from this size on ask the kernel for huge pages */
#define SPEED_SET_HUGE_PAGE		(2 * 1024 * 1024)
#define SPEED_SET_HUGE_FROM		(4 * SPEED_SET_HUGE_PAGE)

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
	SpeedSetSlot *slots;		/* the index, or NULL */
	uint64		nslots;
	bool		unique;			/* no key image more than once */
};

/*
 * Memory for the set's large arrays (a reserved block, the index). The
 * index is probed at random, once per batch row, and so is the arena:
 * with 4 kB pages nearly every probe also misses the TLB. Large ones are
 * aligned on 2 MB and advised for transparent huge pages where the kernel
 * offers them (a hint: without it they are ordinary pages).
 */
static void *
speed_set_alloc_large(SpeedSet *s, Size size)
{
#ifdef MADV_HUGEPAGE
	if (size >= SPEED_SET_HUGE_FROM)
	{
		char	   *p = MemoryContextAllocHuge(s->cxt, size + SPEED_SET_HUGE_PAGE);
		char	   *a = (char *) TYPEALIGN(SPEED_SET_HUGE_PAGE, p);

		(void) madvise(a, TYPEALIGN_DOWN(SPEED_SET_HUGE_PAGE, size), MADV_HUGEPAGE);
		return a;
	}
#endif
	return MemoryContextAllocHuge(s->cxt, size);
}

/* An empty set in context cxt. */
SpeedSet *
speed_set_create(MemoryContext cxt)
{
	SpeedSet   *s = MemoryContextAllocZero(cxt, sizeof(SpeedSet));

	s->cxt = cxt;
	s->unique = true;
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
		s->free = speed_set_alloc_large(s, need);
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
	Assert(s->slots == NULL);
	e = (SpeedSetEntry *) s->free;
	s->free += size;
	s->avail -= size;
	e->hash = hash;
	e->keylen = keylen;
	e->stateslen = stateslen;
	e->seen = false;
	memcpy(e->data, key, keylen);
	memcpy(e->data + keylen, states, stateslen);
	s->items[s->n++] = e;
}

/*
 * Says whether the set holds each key image at most once, so that a lookup
 * may stop at the first match. A new set says so; whoever fills it with a
 * key more than once must say otherwise (speed_read.c does when it copies
 * more than one generation).
 */
void
speed_set_set_unique(SpeedSet *s, bool unique)
{
	s->unique = unique;
}

/* Whether the set holds each key image at most once (speed_set_set_unique). */
bool
speed_set_unique(SpeedSet *s)
{
	return s->unique;
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
	return s->bytes + sizeof(SpeedSetEntry *) * s->cap + sizeof(SpeedSetSlot) * s->nslots;
}

/*
 * Builds the hash index: open addressing with linear probing over a power of
 * two of slots, at least twice the entries (so at most half full: a probe
 * mostly finds its key, or nothing, in its first slot). A slot keeps the entry's hash,
 * so that a probe reads the entries whose hash matches and no other (each
 * such read is likely a cache miss: the entries lie in copy order, probes
 * come in the batch table's). Entries go in in copy order, so the entries
 * of one key (one per generation) are met oldest first along the probe.
 */
void
speed_set_index(SpeedSet *s)
{
	uint64		n = 16;
	int64		i;

	if (s->slots)
		return;
	while (n < 2 * (uint64) s->n)
		n *= 2;
	s->slots = speed_set_alloc_large(s, sizeof(SpeedSetSlot) * n);
	memset(s->slots, 0, sizeof(SpeedSetSlot) * n);
	s->nslots = n;
	for (i = 0; i < s->n; i++)
	{
		SpeedSetEntry *e = s->items[i];
		uint64		pos = e->hash & (n - 1);

		while (s->slots[pos].entry != NULL)
			pos = (pos + 1) & (n - 1);
		s->slots[pos].hash = e->hash;
		s->slots[pos].entry = e;
	}
}

/* Starts loading the index slot where a probe for hash begins. */
void
speed_set_prefetch_slot(SpeedSet *s, uint32 hash)
{
	speed_set_prefetch(&s->slots[hash & (s->nslots - 1)]);
}

/*
 * Starts loading the entry in the slot where a probe for hash begins, when
 * its hash is that one (after speed_set_prefetch_slot, that slot is near).
 */
void
speed_set_prefetch_entry(SpeedSet *s, uint32 hash)
{
	SpeedSetSlot *slot = &s->slots[hash & (s->nslots - 1)];

	if (slot->entry != NULL && slot->hash == hash)
		speed_set_prefetch(slot->entry);
}

/*
 * The next entry with this key image, in copy order; NULL when there is no
 * other. *pos is the probe's position: SPEED_SET_PROBE_START for the first
 * entry, then what the previous call left there. The set must be indexed.
 */
SpeedSetEntry *
speed_set_lookup(SpeedSet *s, uint32 hash, const char *key, uint32 keylen, uint64 *pos)
{
	uint64		mask = s->nslots - 1;
	uint64		p = *pos == SPEED_SET_PROBE_START ? (hash & mask) : ((*pos + 1) & mask);

	Assert(s->slots != NULL);
	for (;; p = (p + 1) & mask)
	{
		SpeedSetSlot *slot = &s->slots[p];

		if (slot->entry == NULL)
			return NULL;
		if (slot->hash == hash && slot->entry->keylen == keylen &&
			memcmp(slot->entry->data, key, keylen) == 0)
		{
			*pos = p;
			return slot->entry;
		}
	}
}
