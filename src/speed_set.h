/*-------------------------------------------------------------------------
 *
 * speed_set.h
 *	  A reader's copy of speed-layer entries: (key image, states image)
 *	  pairs in one growing arena, in the order they were copied, with a
 *	  hash index by key image built on demand (see speed_set.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SPEED_SET_H
#define LAMBDA_SPEED_SET_H

#include "postgres.h"

#include "utils/dsa.h"

/* One copied entry: its key image, then its states image, in data */
typedef struct SpeedSetEntry
{
	uint32		hash;			/* key_hash of the key image */
	uint32		keylen;
	uint32		stateslen;
	bool		seen;			/* for the merged scan: merged with a batch row */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} SpeedSetEntry;

#define SPEED_SET_KEY(e)	((e)->data)
#define SPEED_SET_STATES(e) ((e)->data + (e)->keylen)

typedef struct SpeedSet SpeedSet;

/* where speed_set_lookup starts a probe */
#define SPEED_SET_PROBE_START	PG_UINT64_MAX

extern SpeedSet *speed_set_create(MemoryContext cxt);
extern SpeedSet *speed_set_create_shared(MemoryContext cxt, dsa_area *area);
extern dsa_pointer speed_set_share_done(SpeedSet *s);
extern void speed_set_add(SpeedSet *s, uint32 hash, const char *key, uint32 keylen,
						  const char *states, uint32 stateslen);
extern void speed_set_clear(SpeedSet *s);
extern void speed_set_reserve(SpeedSet *s, int64 entries, Size bytes);
extern int64 speed_set_count(SpeedSet *s);
extern SpeedSetEntry *speed_set_get(SpeedSet *s, int64 i);
extern Size speed_set_bytes(SpeedSet *s);
extern void speed_set_index(SpeedSet *s);
extern Size speed_set_flat_size(SpeedSet *s);
extern void speed_set_flatten(SpeedSet *s, char *dst);
extern SpeedSet *speed_set_attach_flat(char *flat, MemoryContext cxt);
extern SpeedSetEntry *speed_set_lookup(SpeedSet *s, uint32 hash, const char *key, uint32 keylen,
									   uint64 *pos);
extern void speed_set_prefetch_slot(SpeedSet *s, uint32 hash);
extern void speed_set_prefetch_entry(SpeedSet *s, uint32 hash);
extern void speed_set_set_unique(SpeedSet *s, bool unique);
extern bool speed_set_unique(SpeedSet *s);

#endif							/* LAMBDA_SPEED_SET_H */
