/*-------------------------------------------------------------------------
 *
 * launcher.h
 *	  The launcher, and the Kafka source workers' slots in shared memory:
 *	  the only functions that start, wake and stop source workers. The
 *	  slot types are here for worker.c, whose workers write their own slot
 *	  (see launcher.c for the locking rules).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_LAUNCHER_H
#define LAMBDA_LAUNCHER_H

#include "postgres.h"

#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#define WORKER_MAX_PARTITIONS	256 /* partitions one worker can own */
#define WORKER_STATE_LEN		32
#define WORKER_ERROR_LEN		512

/* What a worker knows of one of its partitions. */
typedef struct PartitionSlot
{
	int32		partition;
	int64		next_offset;	/* committed in PostgreSQL; -1 unknown */
	int64		high_watermark; /* -1 unknown */
	int64		low_watermark;	/* -1 unknown */
	int64		lag;			/* messages not yet committed; -1 unknown */
	TimestampTz last_message_at;
} PartitionSlot;

/* One worker's published state. */
typedef struct WorkerSlot
{
	bool		in_use;
	Oid			dbid;
	int32		source_id;
	int32		worker;
	pid_t		pid;			/* 0 while not running */
	Latch	   *latch;
	char		state[WORKER_STATE_LEN];
	char		last_error[WORKER_ERROR_LEN];
	TimestampTz last_error_at;	/* when last_error was set; 0: never */
	TimestampTz state_since;
	int			npartitions;
	PartitionSlot partitions[WORKER_MAX_PARTITIONS];
} WorkerSlot;

/* Every worker's slot: the shared memory launcher.c owns. */
typedef struct WorkerSlots
{
	LWLock	   *lock;
	int			nslots;
	WorkerSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} WorkerSlots;

/* What a source worker is told at registration (bgw_extra). */
typedef struct WorkerArgs
{
	Oid			dbid;
	int32		source_id;
	int32		worker;
} WorkerArgs;

extern PGDLLIMPORT WorkerSlots *worker_slots;

extern void launcher_init(void);
extern void launcher_fill_worker(BackgroundWorker *bgw, const char *function, const char *type);
extern bool launcher_start_worker(Oid dbid, int32 source_id, const char *source_name, int32 worker);
extern void launcher_wake_workers(Oid dbid, int32 source_id);
extern void launcher_stop_workers(Oid dbid);

#endif							/* LAMBDA_LAUNCHER_H */
