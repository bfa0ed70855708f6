/*-------------------------------------------------------------------------
 *
 * worker_state.c
 *	  A Kafka source worker's state: its slot in launcher.c's shared array,
 *	  which it publishes there, and whether its source still wants it.
 *
 * The source worker (worker.c, and worker_batch.c for one batch) keeps its
 * private state in a SourceWorker; the functions here, prefixed sw_ like the
 * rest of the source worker's, are the only ones that touch its slot:
 * claiming it at start (exiting at once when a live twin holds it), setting
 * its state and last error, publishing its partitions with their
 * watermarks and lag, and releasing it on exit (freed when the source was
 * stopped or dropped, kept as "restarting" with the error otherwise).
 *
 * Locking: WorkerSlots->lock (launcher.c), never held with any other lock of
 * ours. A worker claims and releases its slot with the lock held exclusively,
 * and is the only writer of its slot's fields, which it updates with the
 * lock held exclusively; readers (lambda_worker_partitions,
 * launcher_wake_workers, launcher_stop_workers) hold it shared. Nothing is
 * held across catalog access or Kafka calls. sw_source_still_wanted locks
 * the source's catalog row FOR KEY SHARE (catalog_source.c) until the
 * transaction ends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog_source.h"
#include "kafka.h"
#include "launcher.h"
#include "worker_state.h"

/* Set just before a clean exit: sw_on_exit then frees the slot. */
static bool worker_clean_exit = false;

/*
 * Publishes the worker's state (and error, when given, with the time it was
 * seen) in its slot. A state without an error leaves the last error and its
 * time as they were: source_status keeps showing what went wrong last, and
 * when, after the worker has recovered (see docs/kafka.md).
 */
void
sw_set_state(SourceWorker *w, const char *state, const char *error)
{
	WorkerSlot *s = w->slot;
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(worker_slots->lock, LW_EXCLUSIVE);
	if (strcmp(s->state, state) != 0)
	{
		strlcpy(s->state, state, WORKER_STATE_LEN);
		s->state_since = now;
	}
	if (error)
	{
		strlcpy(s->last_error, error, WORKER_ERROR_LEN);
		s->last_error_at = now;
	}
	LWLockRelease(worker_slots->lock);
}

/*
 * Refreshes the watermarks (as last seen in fetch responses; no network
 * round trip) and the lag of each partition, and copies the worker's
 * partition view into its slot.
 */
void
sw_publish_partitions(SourceWorker *w)
{
	int			i;

	for (i = 0; w->kc != NULL && i < w->nparts; i++)
	{
		PartitionSlot *p = &w->parts[i];
		int64		low,
					high,
					from,
					pos;

		if (!kafka_cached_watermarks(w->kc, p->partition, &low, &high))
			continue;
		p->low_watermark = low;
		p->high_watermark = high;
		/* before the first commit, the start is where start_from says */
		from = p->next_offset >= 0 ? p->next_offset : (w->def.start_earliest ? low : high);

		/*
		 * Offsets that are never delivered (transaction control records,
		 * aborted messages) can follow the last message committed: the
		 * consumer's position has moved past them, and nothing is left to
		 * read before it. Every message handed out before it is committed by
		 * now (this runs after a batch, never inside one).
		 */
		pos = kafka_position(w->kc, p->partition);
		if (pos > from)
			from = pos;
		p->lag = Max(high - from, 0);
	}

	LWLockAcquire(worker_slots->lock, LW_EXCLUSIVE);
	w->slot->npartitions = w->nparts;
	memcpy(w->slot->partitions, w->parts, sizeof(PartitionSlot) * w->nparts);
	LWLockRelease(worker_slots->lock);
}

/*
 * Exit callback: a worker leaving because its source is stopped or gone
 * frees its slot; one leaving on an error keeps it (with the error) for its
 * restart, so source_status shows what went wrong meanwhile.
 */
void
sw_on_exit(int code pg_attribute_unused(), Datum arg)
{
	WorkerSlot *s = (WorkerSlot *) DatumGetPointer(arg);

	LWLockAcquire(worker_slots->lock, LW_EXCLUSIVE);
	if (s->pid == MyProcPid)
	{
		s->pid = 0;
		s->latch = NULL;
		if (worker_clean_exit)
			s->in_use = false;
		else
		{
			strlcpy(s->state, "restarting", WORKER_STATE_LEN);
			s->state_since = GetCurrentTimestamp();
		}
	}
	LWLockRelease(worker_slots->lock);
}

/*
 * Claims this worker's slot. Returns NULL when another live process already
 * runs the same (database, source, index), or when no slot is free.
 */
WorkerSlot *
sw_claim_slot(const WorkerArgs *args)
{
	WorkerSlot *mine = NULL;
	WorkerSlot *free_slot = NULL;
	int			i;

	LWLockAcquire(worker_slots->lock, LW_EXCLUSIVE);
	for (i = 0; i < worker_slots->nslots; i++)
	{
		WorkerSlot *s = &worker_slots->slots[i];

		if (!s->in_use)
		{
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (s->dbid == args->dbid && s->source_id == args->source_id && s->worker == args->worker)
		{
			mine = s;
			break;
		}
	}
	if (mine && mine->pid != 0 && mine->pid != MyProcPid && kill(mine->pid, 0) == 0)
	{
		LWLockRelease(worker_slots->lock);
		return NULL;			/* a twin is running */
	}
	if (!mine && free_slot)
	{
		mine = free_slot;
		memset(mine, 0, sizeof(WorkerSlot));
		mine->in_use = true;
		mine->dbid = args->dbid;
		mine->source_id = args->source_id;
		mine->worker = args->worker;
	}
	if (mine == NULL)
	{
		LWLockRelease(worker_slots->lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no free slot for worker %d of Kafka source %d", args->worker, args->source_id),
				 errdetail("All %d source worker slots are in use.", worker_slots->nslots),
				 errhint("Raise lambda.max_source_workers (takes a restart); the worker retries meanwhile.")));
	}
	mine->pid = MyProcPid;
	mine->latch = MyLatch;
	strlcpy(mine->state, "starting", WORKER_STATE_LEN);
	mine->state_since = GetCurrentTimestamp();
	mine->npartitions = 0;
	LWLockRelease(worker_slots->lock);
	return mine;
}

/*
 * Leaves the process cleanly: the source is stopped, dropped, or not ours.
 */
void
sw_exit_clean(void)
{
	worker_clean_exit = true;
	proc_exit(0);
}

/*
 * Finds the worker's entry for a partition, or NULL.
 */
PartitionSlot *
sw_partition(SourceWorker *w, int32 partition)
{
	int			i;

	for (i = 0; i < w->nparts; i++)
	{
		if (w->parts[i].partition == partition)
			return &w->parts[i];
	}
	return NULL;
}

/*
 * Checks, inside the batch transaction, that the source still exists, is
 * enabled and has not been altered since the worker loaded it, locking its
 * row against a concurrent drop or alter until commit (see
 * catalog_source_check_current).
 */
SourceCurrency
sw_source_still_wanted(SourceWorker *w)
{
	return catalog_source_check_current(&w->def);
}

/*
 * Exits cleanly when the source was stopped or dropped, and asks for a
 * reload (w->reload) when it was altered (checked in a short transaction of
 * its own, outside any batch). Returns whether a reload is due.
 */
bool
sw_exit_if_unwanted(SourceWorker *w)
{
	SourceCurrency currency;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	currency = sw_source_still_wanted(w);
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (currency == SOURCE_UNWANTED)
		sw_exit_clean();
	if (currency == SOURCE_ALTERED)
		w->reload = true;
	return w->reload;
}
