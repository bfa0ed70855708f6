/*-------------------------------------------------------------------------
 *
 * speed_read.h
 *	  Reading the speed layer: copies of its generations for queries and
 *	  refreshes, and what the planner and lambda.view_status read of it
 *	  (see speed_read.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SPEED_READ_H
#define LAMBDA_SPEED_READ_H

#include "postgres.h"

#include "utils/dsa.h"
#include "utils/timestamp.h"

#include "cview.h"
#include "speed_set.h"

/* What lambda.view_status shows of a view's speed layer. */
typedef struct SpeedStatus
{
	bool		attached;
	int64		keys;
	int64		bytes;
	int			generations;
	int64		open_generation;
	bool		complete;		/* every generation holds all its events */
	bool		rebuilding;
	char		note[256];
	TimestampTz last_apply;
	int64		transactions;
} SpeedStatus;

struct SpeedFilter;				/* speed_index.h */
struct SpeedColFilter;

/* Reads (merge.c) and refreshes (batch.c) */
extern bool speed_read(ViewDef *def, int64 after_gen, const char *key, int keylen,
					   struct SpeedFilter *f, SpeedSet *set);
/* What a refresh does with each entry speed_collect hands it (hash: key_hash's) */
typedef void (*SpeedCollectFn) (void *arg, const char *key, uint32 keylen, uint32 hash,
								const char *states, uint32 stateslen);
extern bool speed_collect(ViewDef *def, int64 after_gen, int64 upto_gen, SpeedCollectFn fn,
						  void *arg);
extern int64 speed_collect_count(ViewDef *def, int64 after_gen, int64 upto_gen);

/* Where an ordered run's keys were read up to (speed_read_all_keys) */
typedef struct SpeedKeysMark
{
	uint64		version;		/* the view's keys_version */
	bool		walkable;		/* one generation after the cut, whose next
								 * entries are carved at ... */
	int64		gen;
	int64		nentries;		/* (it had this many) */
	dsa_pointer chunk;			/* ... this chunk */
	dsa_pointer at;				/* ... and place (generation_carve_mark) */
} SpeedKeysMark;

/* Ordered runs (merge_run.c, merge_order.c) */
extern uint64 speed_keys_version(ViewDef *def);
extern void speed_read_all_keys(ViewDef *def, int64 after_gen, SpeedSet *set, SpeedKeysMark *mark);
extern int	speed_read_new_keys(ViewDef *def, int64 after_gen, SpeedKeysMark *mark, SpeedSet *set);
extern bool speed_read_keys(ViewDef *def, int64 after_gen, int nkeys, const char *const *keys,
							const uint32 *lens, SpeedSet *set, int64 *ends, uint64 *version);

/* The planner (merge.c) */
extern int64 speed_ndistinct(Oid batch_relid, int col);
extern double speed_selectivity(ViewDef *def, struct SpeedColFilter *cf);

/* Status and memory (view_admin.c, scheduler.c) */
extern void speed_status(Oid batch_relid, SpeedStatus *st);
extern uint64 speed_memory_used(void);

#endif							/* LAMBDA_SPEED_READ_H */
