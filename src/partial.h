/*-------------------------------------------------------------------------
 *
 * partial.h
 *	  Partial aggregation: a backend-local hash from a group's key image to
 *	  its transition states.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_PARTIAL_H
#define LAMBDA_PARTIAL_H

#include "postgres.h"

#include "executor/tuptable.h"

#include "cview.h"

/* A key image (keyimage.c) with its hash: the partial hash's key. */
typedef struct KeyRef
{
	uint32		hash;
	uint32		len;
	char	   *data;
} KeyRef;

/* One group: its key image and a transition state per aggregate. */
typedef struct PartialEntry
{
	KeyRef		key;
	Datum	   *values;
	bool	   *nulls;
	struct PartialEntry *next;	/* the next group made (partial_next) */
} PartialEntry;

struct partial_groups_hash;		/* partial.c's simplehash table */

/* The slot arrays of a hash at once: the old and the new while it grows */
#define PARTIAL_SLOT_ARRAYS	2

/* Partial aggregation: group key image -> transition states. */
typedef struct PartialHash
{
	ViewDef    *def;
	MemoryContext cxt;
	struct partial_groups_hash *groups;
	PartialEntry *first;		/* the groups, in the order they were made */
	PartialEntry *last;
	char	   *arena;			/* room for entries: arena .. arena_end */
	char	   *arena_end;
	Size		arena_bytes;	/* of the arena blocks allocated so far */
	int64		rows;			/* rows folded in */
	Datum		horizon;		/* sliding: steps before it have expired */
	bool		exact;			/* batch layer: distinct states keep every value */
	Datum	   *initvals;		/* per aggregate: its initial state ... */
	bool	   *initnulls;
	int			ncopy;			/* ... these of them to be copied (by reference) */
	int		   *copy;
	int			ncarve;			/* ... and these carved with each entry */
	int		   *carve;
	Size		carve_bytes;	/* their room in an entry */
	int			nderef;			/* aggregates whose states lie apart from the
								 * entries (internal, by reference not
								 * carved) ... */
	int		   *deref;
	StringInfoData *batchkeys;	/* PARTIAL_BATCH key images of variable
								 * length (partial_add_shaped_batch), or NULL */
	int16	   *plan;			/* how states images are written (states_plan) */
	struct PartialBlock *blocks;	/* the arena blocks in use, newest first */
	struct PartialBlock *spare;	/* and those kept by partial_restart */
	Size		spare_bytes;	/* ... their bytes */
	Size		block_max;		/* the largest arena block (partial_limit_blocks) */
	/* for partial_reset */
	char	   *arena_base;		/* the first arena block */
	uint32		initial_slots;	/* the hash's slots as made */
	bool		allocated;		/* states allocated in cxt beside the entries */
	/* slot arrays begun on a huge page boundary: there, and their allocation */
	void	   *slots_at[PARTIAL_SLOT_ARRAYS];
	void	   *slots_raw[PARTIAL_SLOT_ARRAYS];
} PartialHash;

/*
 * Walks every group of a partial aggregation, in the order they were made:
 *   for (e = partial_first(ph); e; e = partial_next(e))
 * Groups are only ever added, so a walk may look keys up as it goes.
 */
/*
 * Where the columns a view reads lie in rows of one tuple descriptor, when
 * it reads fixed-length columns only (partial_shape): capture reads them
 * straight from a row without NULLs (partial_add_shaped_batch), and
 * evaluates its WHERE and key expressions over just those columns.
 */
typedef struct PartialShape
{
	AttrNumber	maxcol;			/* the last column read */
	int16	   *attlen;			/* per column 1..maxcol (index col - 1) */
	int32	   *attoff;			/* its offset in the row's data */
	int16	   *arglen;			/* per aggregate: its argument's length ... */
	int32	   *argoff;			/* ... and offset, or -1: it takes none */
	/* the WHERE and key expressions, when there are any: */
	TupleTableSlot *vslot;		/* a virtual row of the columns they read,
								 * or NULL */
	int			nexprcols;		/* those columns (index col - 1) */
	AttrNumber *exprcols;
} PartialShape;

/* The most rows partial_add_shaped_batch folds at a time */
#define PARTIAL_BATCH	16

#define partial_first(ph)	((ph)->first)
#define partial_next(e)		((e)->next)

extern PartialHash *partial_create(ViewDef *def, MemoryContext parent);
extern PartialHash *partial_create_sized(ViewDef *def, MemoryContext parent, long groups);
extern PartialHash *partial_reset(PartialHash *ph);
extern bool partial_restart(PartialHash *ph, Size keep);
extern Size partial_spare_bytes(PartialHash *ph);
extern void partial_limit_blocks(PartialHash *ph, Size bound);
extern void partial_add_slot(PartialHash *ph, TupleTableSlot *slot);
extern void partial_add_slot_key(PartialHash *ph, TupleTableSlot *slot,
								 const char *only, int onlylen);
extern PartialShape *partial_shape(ViewDef *def, TupleDesc desc);
extern void partial_add_shaped_batch(PartialHash *ph, TupleTableSlot **slots, int n,
									 const PartialShape *shape);
extern PartialEntry *partial_lookup(PartialHash *ph, const char *key, int keylen, bool *found);
extern void partial_combine_image(PartialHash *ph, const char *key, int keylen, uint32 hash,
								  const char *states, int stateslen);
extern void partial_merge(PartialHash *into, PartialHash *from);
extern long partial_count(PartialHash *ph);
extern bool partial_for_batch(PartialHash *ph);
extern void partial_destroy(PartialHash *ph);

#endif							/* LAMBDA_PARTIAL_H */
