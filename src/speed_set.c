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
 * Local memory, no locks; except a flat set (speed_set_flatten, or one
 * filled in place: speed_set_create_shared), one block without pointers
 * that a parallel merged scan puts in the query's shared memory: written
 * once by the leader before the workers start, then only
 * read but for the entries' "seen" flags, which participants set (to true
 * only) and the last one reads after the others are done (merge_group.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/dsa.h"
#include "utils/memutils.h"

#include "memhint.h"
#include "speed_set.h"

/*
 * Where an entry lies: its address less the set's base (SpeedSet.base), 0
 * for none. A set in local memory has base 0, so a reference is the
 * entry's address; a flat set (speed_set_flatten) lies in memory that
 * each process maps at its own address, so its references are offsets from
 * its start.
 */
typedef uintptr_t SpeedSetRef;

/*
 * A slot of the index: an entry, its hash and its size (ref 0: empty). The
 * size (in what would be the slot's padding) lets a prefetch of the entry
 * cover each cache line it spans (speed_set_prefetch_entry).
 */
typedef struct SpeedSetSlot
{
	uint32		hash;
	uint32		size;			/* offsetof(SpeedSetEntry, data) + key + states */
	SpeedSetRef ref;
} SpeedSetSlot;

/* The head of a flat set; its items, index slots and entries follow */
typedef struct SpeedSetFlat
{
	int64		n;
	uint64		nslots;
	Size		items_at;		/* where the items and the slots begin */
	Size		slots_at;
	bool		unique;
} SpeedSetFlat;

/* Where a flat set's parts begin, from its start */
#define SPEED_SET_FLAT_ITEMS		MAXALIGN(sizeof(SpeedSetFlat))
#define SPEED_SET_FLAT_SLOTS(n)		(SPEED_SET_FLAT_ITEMS + MAXALIGN(sizeof(SpeedSetRef) * (n)))
#define SPEED_SET_FLAT_ENTRIES(n, nslots) \
	(SPEED_SET_FLAT_SLOTS(n) + MAXALIGN(sizeof(SpeedSetSlot) * (nslots)))

#define SPEED_SET_ENTRY(s, r)	((SpeedSetEntry *) ((s)->base + (r)))


/*
 * Cache lines of an entry that speed_set_prefetch_entry loads, at most, and
 * their size: the hardware's (PG_CACHE_LINE_SIZE is 128, a bound for
 * padding, twice the 64 bytes of x86's and most others' lines).
 */
#define SPEED_SET_PREFETCH_LINES	4
#define SPEED_SET_LINE				64

/* allocations from this size on ask the kernel for huge pages */
#define SPEED_SET_HUGE_FROM		(4 * LAMBDA_HUGE_PAGE)

/* the arena's blocks, unless a reservation asks for more */
#define SPEED_SET_BLOCK		(256 * 1024)

struct SpeedSet
{
	MemoryContext cxt;			/* the set's head */
	MemoryContext arena;		/* its blocks and arrays (speed_set_mem), or NULL */
	char	   *free;			/* the current block's free space */
	Size		avail;
	Size		bytes;			/* of the blocks */
	Size		used;			/* of the entries, each MAXALIGNed */
	SpeedSetRef *items;			/* in copy order */
	int64		n;
	int64		cap;
	SpeedSetSlot *slots;		/* the index, or NULL */
	uint64		nslots;
	bool		unique;			/* no key image more than once */
	uintptr_t	base;			/* what references are relative to */
	bool		flat;			/* a flat set: read only but for "seen" */
	/* a set written straight into shared memory (speed_set_create_shared) */
	dsa_area   *area;			/* or NULL */
	dsa_pointer chunk;			/* the flat set, once reserved, or invalid */
};

/*
 * Memory for the set's blocks and arrays: a context of their own, below the
 * set's, made at the first need, so that speed_set_clear frees them at once.
 */
static void *
speed_set_mem(SpeedSet *s, Size size)
{
	if (s->arena == NULL)
		s->arena = AllocSetContextCreate(s->cxt, "speed-layer copy", ALLOCSET_DEFAULT_SIZES);
	return MemoryContextAllocHuge(s->arena, size);
}

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
		char	   *p = speed_set_mem(s, size + LAMBDA_HUGE_PAGE);
		char	   *a = (char *) TYPEALIGN(LAMBDA_HUGE_PAGE, p);

		lambda_advise_huge(a, size);
		return a;
	}
#endif
	return speed_set_mem(s, size);
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

/*
 * An empty set in context cxt that a parallel merged scan's leader fills
 * with the speed layer for every participant (merge_group.c): its first
 * reservation (speed_set_reserve, made for all the entries of a read of
 * every key, speed_read.c) is a flat set in area, which the entries are
 * copied into and speed_set_share_done indexes, so that the leader copies
 * the speed layer once and keeps no other copy. A set filled otherwise
 * (entries beyond the reservation, none reserved) turns into a local set
 * as it goes, which the caller then flattens (speed_set_flatten).
 */
SpeedSet *
speed_set_create_shared(MemoryContext cxt, dsa_area *area)
{
	SpeedSet   *s = speed_set_create(cxt);

	s->area = area;
	s->chunk = InvalidDsaPointer;
	return s;
}

/* The index's slots for a set of entries entries (see speed_set_index). */
static uint64
speed_set_nslots(int64 entries)
{
	uint64		n = 16;

	while (n < 2 * (uint64) entries)
		n *= 2;
	return n;
}

/*
 * A set made by speed_set_create_shared turns into a local one: its items
 * become addresses in this process (its entries stay where they are, in the
 * area, which lasts as long as the query).
 */
static void
speed_set_unshare(SpeedSet *s)
{
	if (s->area == NULL)
		return;
	if (DsaPointerIsValid(s->chunk))
	{
		int64		cap = Max(s->n * 2, 64);
		SpeedSetRef *items = speed_set_mem(s, sizeof(SpeedSetRef) * cap);
		int64		i;

		for (i = 0; i < s->n; i++)
			items[i] = s->base + s->items[i];
		s->items = items;
		s->cap = cap;
		s->base = 0;
	}
	s->area = NULL;
	s->chunk = InvalidDsaPointer;
}

/* Makes room for entries more entries of bytes bytes in all (key + states). */
void
speed_set_reserve(SpeedSet *s, int64 entries, Size bytes)
{
	Size		need = bytes + (Size) entries * MAXALIGN(offsetof(SpeedSetEntry, data) + MAXIMUM_ALIGNOF);

	if (s->area && !DsaPointerIsValid(s->chunk) && s->n == 0 && entries > 0)
	{
		/* the flat set: head, items, index slots, then the entries */
		Size		at = SPEED_SET_FLAT_ENTRIES(entries, speed_set_nslots(entries));
		char	   *flat;

		s->chunk = dsa_allocate_extended(s->area, at + need, DSA_ALLOC_HUGE);
		flat = dsa_get_address(s->area, s->chunk);
		/* the whole set is written now, into the query's new segments */
		lambda_populate_write(flat, at + need);
		s->base = (uintptr_t) flat;
		s->items = (SpeedSetRef *) (flat + SPEED_SET_FLAT_ITEMS);
		s->cap = entries;
		s->free = flat + at;
		s->avail = need;
		s->bytes = at + need;
		return;
	}
	if (s->area && (s->n + entries > s->cap || need > s->avail))
		speed_set_unshare(s);

	if (s->n + entries > s->cap)
	{
		int64		cap = Max(s->n + entries, 64);

		s->items = s->items ?
			repalloc_huge(s->items, sizeof(SpeedSetRef) * cap) :
			speed_set_mem(s, sizeof(SpeedSetRef) * cap);
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

	if (s->area && (s->n >= s->cap || size > s->avail))
		speed_set_unshare(s);
	if (size > s->avail)
	{
		Size		block = Max(size, SPEED_SET_BLOCK);

		s->free = speed_set_mem(s, block);
		s->avail = block;
		s->bytes += block;
	}
	if (s->n >= s->cap)
	{
		int64		cap = Max(s->cap * 2, 64);

		s->items = s->items ?
			repalloc_huge(s->items, sizeof(SpeedSetRef) * cap) :
			speed_set_mem(s, sizeof(SpeedSetRef) * cap);
		s->cap = cap;
	}
	Assert(s->slots == NULL && !s->flat);
	e = (SpeedSetEntry *) s->free;
	s->free += size;
	s->avail -= size;
	s->used += size;
	e->hash = hash;
	e->keylen = keylen;
	e->stateslen = stateslen;
	e->seen = false;
	memcpy(e->data, key, keylen);
	memcpy(e->data + keylen, states, stateslen);
	s->items[s->n++] = (SpeedSetRef) ((uintptr_t) e - s->base);
}

/*
 * Empties a set (not a flat one) and gives its memory back: a parallel
 * merged scan's leader, once it copied the set into shared memory, reads
 * only that copy (merge_group.c).
 */
void
speed_set_clear(SpeedSet *s)
{
	MemoryContext cxt = s->cxt;

	Assert(!s->flat && s->area == NULL);
	if (s->arena)
		MemoryContextDelete(s->arena);
	/* as speed_set_create made it */
	memset(s, 0, sizeof(SpeedSet));
	s->cxt = cxt;
	s->unique = true;
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
	Assert(!s->flat);
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
	return SPEED_SET_ENTRY(s, s->items[i]);
}

/* Memory the set holds. */
Size
speed_set_bytes(SpeedSet *s)
{
	return s->bytes + sizeof(SpeedSetRef) * s->cap + sizeof(SpeedSetSlot) * s->nslots;
}


/* Fills the index slots (zeroed) with the set's items, in copy order. */
static void
speed_set_fill_index(SpeedSet *s)
{
	uint64		n = s->nslots;
	int64		i;

	for (i = 0; i < s->n; i++)
	{
		SpeedSetEntry *e = SPEED_SET_ENTRY(s, s->items[i]);
		uint64		pos = e->hash & (n - 1);

		while (s->slots[pos].ref != 0)
			pos = (pos + 1) & (n - 1);
		s->slots[pos].hash = e->hash;
		s->slots[pos].size = offsetof(SpeedSetEntry, data) + e->keylen + e->stateslen;
		s->slots[pos].ref = s->items[i];
	}
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
	uint64		n;

	if (s->slots)
		return;
	n = speed_set_nslots(s->n);
	s->slots = speed_set_alloc_large(s, sizeof(SpeedSetSlot) * n);
	memset(s->slots, 0, sizeof(SpeedSetSlot) * n);
	s->nslots = n;
	speed_set_fill_index(s);
}

/* The bytes of a flat copy of s (speed_set_flatten), at a MAXALIGNed address. */
Size
speed_set_flat_size(SpeedSet *s)
{
	Assert(!s->flat);
	return SPEED_SET_FLAT_ENTRIES(s->n, speed_set_nslots(s->n)) + s->used;
}

/*
 * Copies s, indexed, into dst (speed_set_flat_size bytes at a MAXALIGNed
 * address): one block that refers to nothing outside itself, so that other
 * processes may map it anywhere (the parallel merged scan puts it in the
 * query's dynamic shared memory, merge_group.c) and read it through
 * speed_set_attach_flat. Its entries are not "seen". One pass: each entry
 * goes into the index as it is copied (in copy order, as speed_set_index
 * puts them), so the entries are read once.
 */
void
speed_set_flatten(SpeedSet *s, char *dst)
{
	SpeedSetFlat *head = (SpeedSetFlat *) dst;
	SpeedSetRef *items;
	SpeedSetSlot *slots;
	uint64		mask;
	Size		at;
	int64		i;

	head->n = s->n;
	head->nslots = speed_set_nslots(s->n);
	head->items_at = SPEED_SET_FLAT_ITEMS;
	head->slots_at = SPEED_SET_FLAT_SLOTS(s->n);
	head->unique = s->unique;
	mask = head->nslots - 1;
	items = (SpeedSetRef *) (dst + SPEED_SET_FLAT_ITEMS);
	slots = (SpeedSetSlot *) (dst + SPEED_SET_FLAT_SLOTS(s->n));
	memset(slots, 0, sizeof(SpeedSetSlot) * head->nslots);
	at = SPEED_SET_FLAT_ENTRIES(s->n, head->nslots);
	for (i = 0; i < s->n; i++)
	{
		SpeedSetEntry *e = speed_set_get(s, i);
		Size		size = offsetof(SpeedSetEntry, data) + e->keylen + e->stateslen;
		uint64		pos = e->hash & mask;

		memcpy(dst + at, e, size);
		((SpeedSetEntry *) (dst + at))->seen = false;
		items[i] = at;
		while (slots[pos].ref != 0)
			pos = (pos + 1) & mask;
		slots[pos].hash = e->hash;
		slots[pos].size = size;
		slots[pos].ref = at;
		at += MAXALIGN(size);
	}
	Assert(at == speed_set_flat_size(s));
}

/*
 * Ends the filling of a set made by speed_set_create_shared: when it is
 * still the flat set it was reserved as, writes its head and index and
 * returns where it lies in the area (speed_set_attach_flat reads it; the
 * set itself must not be used any more); otherwise (a local set now, or an
 * empty one) returns InvalidDsaPointer and the set is a local set as any.
 */
dsa_pointer
speed_set_share_done(SpeedSet *s)
{
	SpeedSetFlat *head;
	dsa_pointer chunk = s->chunk;

	if (s->area == NULL || !DsaPointerIsValid(chunk))
	{
		speed_set_unshare(s);
		return InvalidDsaPointer;
	}
	head = (SpeedSetFlat *) s->base;
	head->n = s->n;
	head->nslots = speed_set_nslots(s->cap);
	head->items_at = SPEED_SET_FLAT_ITEMS;
	head->slots_at = SPEED_SET_FLAT_SLOTS(s->cap);
	head->unique = s->unique;
	s->slots = (SpeedSetSlot *) (s->base + head->slots_at);
	s->nslots = head->nslots;
	memset(s->slots, 0, sizeof(SpeedSetSlot) * s->nslots);
	speed_set_fill_index(s);
	s->flat = true;
	s->area = NULL;
	return chunk;
}

/*
 * A set that reads the flat copy at flat (speed_set_flatten), mapped in
 * this process; its head is allocated in cxt. Indexed; nothing may be
 * added. Marking an entry seen writes the copy (shared by every process
 * that reads it).
 */
SpeedSet *
speed_set_attach_flat(char *flat, MemoryContext cxt)
{
	SpeedSetFlat *head = (SpeedSetFlat *) flat;
	SpeedSet   *s = MemoryContextAllocZero(cxt, sizeof(SpeedSet));

	s->cxt = cxt;
	s->flat = true;
	s->base = (uintptr_t) flat;
	s->n = s->cap = head->n;
	s->unique = head->unique;
	s->items = (SpeedSetRef *) (flat + head->items_at);
	s->slots = (SpeedSetSlot *) (flat + head->slots_at);
	s->nslots = head->nslots;
	return s;
}

/*
 * Starts loading the index slot where a probe for hash begins, and the next
 * one when it lies in another cache line: the probe reads it when the first
 * holds another key's entry.
 */
void
speed_set_prefetch_slot(SpeedSet *s, uint32 hash)
{
	uint64		mask = s->nslots - 1;
	SpeedSetSlot *first = &s->slots[hash & mask];
	SpeedSetSlot *next = &s->slots[(hash + 1) & mask];

	lambda_prefetch(first);
	if ((uintptr_t) next / SPEED_SET_LINE != (uintptr_t) first / SPEED_SET_LINE)
		lambda_prefetch(next);
}

/*
 * Starts loading the first entry a probe for hash would compare (after
 * speed_set_prefetch_slot, the slot where that probe begins is near): the
 * first slot of the probe with this hash, each cache line its entry spans,
 * up to SPEED_SET_PREFETCH_LINES. The probe's first slot may hold another
 * key's entry (for one key in six with 360,000 entries in 2^20 slots):
 * such a probe's entry is loaded too. Entries lie one after the
 * other, so most span two lines, and a probe reads all of an entry it finds
 * (its key to compare, then its states to merge).
 */
void
speed_set_prefetch_entry(SpeedSet *s, uint32 hash)
{
	uint64		mask = s->nslots - 1;
	uint64		p;
	SpeedSetSlot *slot;
	uintptr_t	line;
	uintptr_t	last;
	int			n;

	for (p = hash & mask;; p = (p + 1) & mask)
	{
		slot = &s->slots[p];
		if (slot->ref == 0)
			return;
		if (slot->hash == hash)
			break;
	}
	line = (uintptr_t) SPEED_SET_ENTRY(s, slot->ref) & ~(uintptr_t) (SPEED_SET_LINE - 1);
	last = (uintptr_t) SPEED_SET_ENTRY(s, slot->ref) + slot->size - 1;
	for (n = 0; n < SPEED_SET_PREFETCH_LINES && line <= last; n++, line += SPEED_SET_LINE)
		lambda_prefetch((const void *) line);
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
		SpeedSetEntry *e;

		if (slot->ref == 0)
			return NULL;
		e = SPEED_SET_ENTRY(s, slot->ref);
		if (slot->hash == hash && e->keylen == keylen && memcmp(e->data, key, keylen) == 0)
		{
			*pos = p;
			return e;
		}
	}
}
