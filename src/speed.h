/*-------------------------------------------------------------------------
 *
 * speed.h
 *	  The speed layer: partial states of recent events in shared memory,
 *	  in generations, cut by refreshes and read by queries (see speed.c
 *	  for what it owns and its locking rules).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SPEED_H
#define LAMBDA_SPEED_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/dsa.h"
#include "utils/snapshot.h"

#include "genlayout.h"
#include "partial.h"

extern void speed_init(void);

/* View slots (view.c, and the first capture or read after a restart) */
extern int	speed_attach(ViewDef *def, bool created);
extern int	speed_attach_at(ViewDef *def, int hint);
extern void speed_view_created(ViewDef *def, int64 cut_gen);
extern void speed_view_dropped(Oid batch_relid);
extern int speed_release_stale(Oid dbid, List *live, bool all, Snapshot snap);

/* Applying what transactions captured (capture.c) */
extern void speed_attach_area(void);
extern void speed_lock_commit(void);
extern void speed_unlock_commit(void);
extern StringInfo speed_blob(ViewDef *def, PartialHash *ph);
extern void speed_apply(Oid dbid, Oid batch_relid, ViewDef *def, const char *blob, Size len);
extern void speed_apply_partial(Oid dbid, Oid batch_relid, ViewDef *def, PartialHash *ph,
								int slot);
extern void speed_prefetch_slot(int slot, bool open);
extern dsa_pointer speed_spill_put(const char *data, Size len);
extern const char *speed_spill_data(dsa_pointer p);
extern void speed_spill_free(dsa_pointer p);
extern void speed_apply_spill(Oid dbid, Oid batch_relid, ViewDef *def, dsa_pointer p, Size len);
extern SpeedGen *speed_spill_gen_put(ViewDef *def, PartialHash *ph);
extern bool speed_spill_gen_add(SpeedGen *sg, ViewDef *def, PartialHash *ph);
extern void speed_spill_gen_free(SpeedGen *sg);
extern void speed_spill_gen_blob(SpeedGen *sg, StringInfo blob);
extern void speed_apply_spill_gen(Oid dbid, Oid batch_relid, ViewDef *def, SpeedGen *sg);
extern void speed_mark_incomplete(Oid dbid, Oid batch_relid, const char *why);
extern void speed_prepared_unseen(Oid dbid, Oid batch_relid, TransactionId xid, const char *why);
extern void speed_mark_database_incomplete(Oid dbid, const char *why);
extern bool speed_stash_put(const char *gid, const char *data, Size len);
extern char *speed_stash_take(const char *gid, Size *len);

/* Refreshes, rebuilds and reads (batch.c, merge.c, scheduler.c) */
extern Snapshot speed_cut(ViewDef *def, int64 *closed_gen);
extern bool speed_install(ViewDef *def, int64 after_gen, int64 upto_gen, PartialHash *ph);
extern void speed_refreshed(ViewDef *def, int64 upto_gen, TransactionId xid);
extern void speed_maintain(ViewDef *def, bool *needs_rebuild, bool *wants_refresh);
extern void speed_record_error(Oid dbid, Oid batch_relid, const char *what, const char *message);

/* The slots, for the readers of speed_read.c */
struct SpeedView;
extern struct SpeedView *speed_slot_attach(ViewDef *def);
extern struct SpeedView *speed_slot_find(Oid batch_relid);
extern int	speed_slot_count(void);
extern struct SpeedView *speed_slot_at(int i);
extern dsa_area *speed_dsa(void);

#endif							/* LAMBDA_SPEED_H */
