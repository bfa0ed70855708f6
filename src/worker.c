/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The Kafka source workers, which consume topics into event tables
 *	  exactly once, and the starter that registers them at server start.
 *
 * Lifecycle. Source workers are dynamic background workers, one per
 * (source, worker index < parallelism), registered by launcher.c
 * (launcher_start_worker): by the backend that creates or starts a source,
 * when its transaction commits (source.c), and at server start by the
 * "starter" that the launcher runs in each database, which registers the
 * workers of every enabled source there and starts the database's
 * scheduler (scheduler_start) if it has the extension. A worker that
 * fails (ERROR) exits with code 1 and the postmaster restarts it after
 * lambda.worker_restart_interval; a worker whose source was stopped or dropped
 * exits with code 0 and is gone. Duplicates are harmless: a worker that finds
 * its (database, source, index) slot held by a live process exits at once.
 * A worker whose source was altered (lambda.alter_kafka_source) loads it
 * again in the same process (sw_reload) and resumes from the stored offsets.
 *
 * Exactly once. Each poll of up to batch_size messages (or batch_wait ms)
 * becomes one transaction that inserts the rows (ingest.c), records the dead
 * letters and upserts the partitions' next offsets. The upsert only advances
 * an offset from where this worker knows it stood, so two consumers of one
 * partition can never both commit the same messages: the second one's
 * transaction fails and it restarts from the stored offsets. On start (and on
 * every assignment from a consumer group) consumption resumes from the
 * offsets stored in PostgreSQL. In group mode each batch transaction is
 * prepared (two-phase commit), its offsets are committed to the group, and it
 * is committed only if the group took them (rolled back otherwise): rows here
 * and offsets in the group always agree, so another server that takes a
 * partition over continues exactly where this one stopped, and a rebalance
 * loses and duplicates nothing. A restarted worker settles a batch that a
 * crash left prepared (sw_settle_prepared).
 *
 * Offsets outside the log (sw_handle_out_of_range). When the stored offset
 * of a partition is older than the partition's log start, the topic's
 * retention deleted those messages before they were consumed: they are lost
 * whatever the worker does, and waiting would only let retention delete
 * more. The worker records the skipped range in source_offset
 * (skipped_offsets, in the same kind of guarded transaction as a batch),
 * warns with the range, and continues at the log start. A stored offset
 * past the partition's end (the topic was deleted and recreated, or the log
 * was truncated) is never skipped: the worker fails with the reason and
 * retries after lambda.worker_restart_interval, until an operator acts.
 *
 * Shared memory. Each worker publishes its state (what source_status shows
 * beyond the catalog: state, last error, high watermark and lag per
 * partition) in its slot of launcher.c's WorkerSlots. Locking:
 * WorkerSlots->lock. A worker claims and releases its slot under the lock
 * held exclusively and is the only writer of its slot's fields, which it
 * updates under the lock held exclusively; readers
 * (lambda_worker_partitions, launcher_wake_workers) hold it shared.
 *
 * Why the starter is here and not in launcher.c: it reads which sources to
 * start through source.c, as the workers read their definitions, and
 * registers their workers through launcher.c. source.c itself calls
 * launcher.c (to register or wake workers when a transaction commits), so
 * a starter in launcher.c would make launcher.c and source.c call each
 * other. Here the calls go one way: source.c -> launcher.c, and worker.c ->
 * source.c, launcher.c, scheduler.c, capture.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "capture.h"
#include "catalog.h"
#include "catalog_source.h"
#include "guc.h"
#include "ingest.h"
#include "kafka.h"
#include "launcher.h"
#include "scheduler.h"
#include "source.h"
#include "worker.h"

#define WORKER_STATUS_INTERVAL	1000	/* ms between watermark checks */
#define WORKER_METADATA_INTERVAL 10000	/* ms between partition-count checks */
#define WORKER_GID_PARTITIONS	6	/* partitions one group-mode transaction covers */

/* A running source worker's private state. */
typedef struct SourceWorker
{
	WorkerArgs	args;
	SourceDef	def;
	KafkaConsumer *kc;
	WorkerSlot *slot;
	/* partitions owned now, with the offsets known to be committed */
	int			nparts;
	PartitionSlot parts[WORKER_MAX_PARTITIONS];
	bool		reload;			/* the source was altered: load it again */
	MemoryContext def_cxt;		/* holds def; reset when it is loaded again */
	bool		failing;		/* brokers unreachable: back off */
	int			backoff_ms;
	TimestampTz next_status_check;
	TimestampTz next_metadata_check;
	MemoryContext batch_cxt;
} SourceWorker;

static bool worker_clean_exit = false;

PGDLLEXPORT void lambda_starter_main(Datum arg);
PGDLLEXPORT void lambda_source_worker_main(Datum arg);
/* ------------------------------------------------------------------------
 * Starter
 * ------------------------------------------------------------------------
 */

/*
 * A starter: registers the workers of one database's sources (see
 * catalog_source_list_to_start) and starts its scheduler, then exits. Databases
 * without the extension have nothing to start. The launcher (launcher.c)
 * runs one per database at server start.
 */
void
lambda_starter_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	List	   *sources;
	ListCell   *lc;

	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("pg_lambda starter");

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	sources = catalog_source_list_to_start();
	foreach(lc, sources)
	{
		SourceDef  *def = lfirst(lc);
		int			i;

		for (i = 0; i < def->parallelism; i++)
			launcher_start_worker(dbid, def->id, def->name, i);
	}
	if (OidIsValid(catalog_relid("continuous_view")))
		scheduler_start(dbid);
	PopActiveSnapshot();
	CommitTransactionCommand();
	proc_exit(0);
}

/* ------------------------------------------------------------------------
 * Source workers
 * ------------------------------------------------------------------------
 */

/*
 * Publishes the worker's state (and error, when given, with the time it was
 * seen) in its slot. A state without an error leaves the last error and its
 * time as they were: source_status keeps showing what went wrong last, and
 * when, after the worker has recovered (see docs/kafka.md).
 */
static void
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
static void
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
static void
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
static WorkerSlot *
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
static void
sw_exit_clean(void)
{
	worker_clean_exit = true;
	proc_exit(0);
}

/*
 * Finds the worker's entry for a partition, or NULL.
 */
static PartitionSlot *
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
 * Reads the next offsets stored in PostgreSQL for the given partitions
 * (-1 where none is stored). Runs its own transaction.
 */
static void
sw_read_offsets(SourceWorker *w, int n, const int32 *partitions, int64 *offsets)
{
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	catalog_source_offsets_read(w->def.id, n, partitions, offsets);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Makes partitions[] the worker's partitions, each starting at
 * start_offsets[i] (which is also what is known to be committed).
 */
static void
sw_set_partitions(SourceWorker *w, int n, const int32 *partitions, const int64 *committed)
{
	int			i;

	if (n > WORKER_MAX_PARTITIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Kafka source \"%s\" assigns %d partitions to one worker", w->def.name, n),
				 errdetail("One worker can consume at most %d partitions.", WORKER_MAX_PARTITIONS),
				 errhint("Raise its parallelism with lambda.alter_kafka_source('%s', parallelism => ...).", w->def.name)));
	w->nparts = n;
	for (i = 0; i < n; i++)
	{
		PartitionSlot *p = &w->parts[i];

		memset(p, 0, sizeof(*p));
		p->partition = partitions[i];
		p->next_offset = committed[i];
		p->high_watermark = -1;
		p->low_watermark = -1;
		p->lag = -1;
	}
	sw_publish_partitions(w);
}

/*
 * Group-mode assignment callback: start each partition at the larger of the
 * offset stored here and the one the group committed (another server may
 * have consumed further before the partition came to us).
 */
static void
sw_on_assign(void *arg, int n, const int32 *partitions, int64 *offsets)
{
	SourceWorker *w = (SourceWorker *) arg;
	int64	   *stored = palloc(sizeof(int64) * (n + 1));
	int64	   *group = palloc(sizeof(int64) * (n + 1));
	int			i;

	sw_read_offsets(w, n, partitions, stored);
	if (!kafka_group_committed(w->kc, n, partitions, group, NULL, 10000))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("Kafka source \"%s\" could not read the offsets of consumer group \"%s\"",
						w->def.name, w->def.group_id),
				 errdetail("Without them the worker cannot tell where another member stopped."),
				 errhint("The worker restarts and tries again; check that the brokers are reachable.")));
	for (i = 0; i < n; i++)
	{
		int64		start = Max(stored[i], group[i]);

		stored[i] = start;
		offsets[i] = start >= 0 ? start :
			(w->def.start_earliest ? KAFKA_OFFSET_BEGINNING : KAFKA_OFFSET_END);
	}
	sw_set_partitions(w, n, partitions, stored);
	ereport(LOG,
			(errmsg("Kafka source \"%s\" worker %d was assigned %d partition(s)",
					w->def.name, w->args.worker, n)));
	pfree(stored);
	pfree(group);
}

/*
 * Group-mode revocation callback. Nothing is pending: in group mode every
 * batch is committed both here and to the group, or in neither (see
 * sw_process_chunk), so the next owner continues exactly after it. The
 * messages of the lost partitions that the current poll still returns are
 * dropped by sw_process_chunk.
 */
static void
sw_on_revoke(void *arg, int n pg_attribute_unused(), const int32 *partitions pg_attribute_unused())
{
	SourceWorker *w = (SourceWorker *) arg;

	w->nparts = 0;
	sw_publish_partitions(w);
}

/*
 * Assigned mode: (re)computes which partitions this worker owns — those
 * whose number modulo parallelism is its index — and assigns them, starting
 * from the stored offsets. Returns false (with errbuf) when the cluster
 * cannot be asked.
 */
static bool
sw_assign_partitions(SourceWorker *w, bool force, char *errbuf, size_t errlen)
{
	int32	   *all;
	int32	   *mine;
	int64	   *offsets;
	int64	   *start;
	int			n;
	int			k = 0;
	int			i;
	bool		changed;
	bool		ok;

	n = kafka_topic_partitions(w->kc, 5000, &all, errbuf, errlen);
	if (n < 0)
		return false;
	mine = palloc(sizeof(int32) * (n + 1));
	for (i = 0; i < n; i++)
	{
		if (all[i] % w->def.parallelism == w->args.worker)
			mine[k++] = all[i];
	}
	changed = force || k != w->nparts;
	for (i = 0; !changed && i < k; i++)
		changed = (sw_partition(w, mine[i]) == NULL);
	if (!changed)
	{
		pfree(all);
		pfree(mine);
		return true;
	}

	offsets = palloc(sizeof(int64) * (k + 1));
	start = palloc(sizeof(int64) * (k + 1));
	sw_read_offsets(w, k, mine, offsets);
	for (i = 0; i < k; i++)
		start[i] = offsets[i] >= 0 ? offsets[i] :
			(w->def.start_earliest ? KAFKA_OFFSET_BEGINNING : KAFKA_OFFSET_END);
	ok = kafka_assign(w->kc, k, mine, start, errbuf, errlen);
	if (ok)
	{
		sw_set_partitions(w, k, mine, offsets);
		ereport(LOG,
				(errmsg("Kafka source \"%s\" worker %d consumes %d of the %d partition(s) of topic \"%s\"",
						w->def.name, w->args.worker, k, n, w->def.topic)));
	}
	pfree(all);
	pfree(mine);
	pfree(offsets);
	pfree(start);
	return ok;
}

/*
 * Checks, inside the batch transaction, that the source still exists, is
 * enabled and has not been altered since the worker loaded it, locking its
 * row against a concurrent drop or alter until commit (see
 * catalog_source_check_current).
 */
static SourceCurrency
sw_source_still_wanted(SourceWorker *w)
{
	return catalog_source_check_current(&w->def);
}

/*
 * Exits cleanly when the source was stopped or dropped, and asks for a
 * reload (w->reload) when it was altered (checked in a short transaction of
 * its own, outside any batch). Returns whether a reload is due.
 */
static bool
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

/*
 * Records the batch's dead letters and advances the offsets of the
 * partitions it covered, in the batch transaction. An offset only advances
 * from the value this worker knows to be stored; if another consumer moved
 * it, the batch fails as a whole (and the worker restarts from the stored
 * offsets), so no message is ever committed twice.
 */
static void
sw_record_batch(SourceWorker *w, const KafkaMessage *msgs, int n pg_attribute_unused(), const IngestResult *res,
				int64 *part_next, int64 *part_events, int64 *part_dead, int64 *part_first)
{
	CatalogDeadLetter *letters = NULL;
	int			i;

	if (res->ndead > 0)
		letters = palloc(sizeof(CatalogDeadLetter) * res->ndead);
	for (i = 0; i < res->ndead; i++)
	{
		const KafkaMessage *m = &msgs[res->dead_index[i]];

		letters[i].partition = m->partition;
		letters[i].offset = m->offset;
		letters[i].key = m->key;
		letters[i].key_len = m->key_len;
		letters[i].payload = m->payload;
		letters[i].len = m->len;
		letters[i].error = res->dead_error[i];
		letters[i].timestamp_ms = m->timestamp_ms;
	}
	catalog_dead_letters_insert(w->def.id, res->ndead, letters);

	for (i = 0; i < w->nparts; i++)
	{
		PartitionSlot *p = &w->parts[i];
		/* where this worker believes the partition stood */
		int64		stood_at = p->next_offset >= 0 ? p->next_offset : part_first[i];

		if (part_next[i] < 0)
			continue;			/* nothing from this partition in the batch */
		if (!catalog_source_offset_advance(w->def.id, p->partition, part_next[i], part_events[i],
										   part_dead[i], p->last_message_at, stood_at))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("partition %d of Kafka source \"%s\" was consumed concurrently",
							p->partition, w->def.name),
					 errdetail("The stored offset is past offset " INT64_FORMAT ", where this worker stood.",
							   stood_at),
					 errhint("The batch was rolled back; the worker restarts from the stored offsets.")));
	}
}

/*
 * The global id of the prepared transaction of a group-mode batch: it names
 * the worker and, for each partition, the next offset after the batch, so
 * that a restarted worker can settle a batch left prepared by a crash.
 */
static void
sw_batch_gid(SourceWorker *w, const int64 *part_next, char *gid)
{
	int			len;
	int			i;

	len = snprintf(gid, GIDSIZE, "pg_lambda:%u:%d:%d:", MyDatabaseId, w->def.id, w->args.worker);
	for (i = 0; i < w->nparts; i++)
	{
		if (part_next[i] >= 0)
			len += snprintf(gid + len, GIDSIZE - len, "%d@" INT64_FORMAT ",",
							w->parts[i].partition, part_next[i]);
	}
	if (len >= GIDSIZE)
		elog(ERROR, "global transaction id of a batch of source \"%s\" is too long", w->def.name);
}

/*
 * Ingests one chunk of a polled batch in one transaction: rows, dead
 * letters, offsets.
 *
 * In group mode the transaction is prepared (two-phase commit), then the
 * offsets are committed to the consumer group, and the prepared transaction
 * is committed if the group took them and rolled back if it did not. So the
 * rows and the group's offsets always agree: a partition that moves to
 * another server continues exactly after the last batch committed here. (A
 * group refuses commits during a rebalance; the batch is then simply
 * consumed again by whoever owns the partition next.)
 */
static void
sw_process_chunk(SourceWorker *w, KafkaMessage *msgs, int n)
{
	bool		twophase = (w->def.group_id != NULL);
	char		gid[GIDSIZE];
	MemoryContext old;
	IngestMessage *imsgs;
	IngestResult res;
	int64	   *part_next;
	int64	   *part_events;
	int64	   *part_dead;
	int64	   *part_first;
	int		   *part_of;
	int			keep = 0;
	int			i;
	Oid			save_userid;
	int			save_sec;
	TimestampTz arrival;

	old = MemoryContextSwitchTo(w->batch_cxt);
	part_next = palloc(sizeof(int64) * (w->nparts + 1));
	part_events = palloc0(sizeof(int64) * (w->nparts + 1));
	part_dead = palloc0(sizeof(int64) * (w->nparts + 1));
	part_first = palloc(sizeof(int64) * (w->nparts + 1));
	part_of = palloc(sizeof(int) * (n + 1));
	for (i = 0; i < w->nparts; i++)
		part_next[i] = part_first[i] = -1;

	/*
	 * Keep only messages of partitions we own (a rebalance during the poll
	 * may have taken some away) and past what is already stored.
	 */
	for (i = 0; i < n; i++)
	{
		PartitionSlot *p = sw_partition(w, msgs[i].partition);
		int			pi;

		if (p == NULL || (p->next_offset >= 0 && msgs[i].offset < p->next_offset))
			continue;
		pi = p - w->parts;
		if (part_first[pi] < 0)
			part_first[pi] = msgs[i].offset;
		part_next[pi] = msgs[i].offset + 1;
		msgs[keep] = msgs[i];
		part_of[keep] = pi;
		keep++;
	}
	n = keep;
	if (n == 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(w->batch_cxt);
		return;
	}

	imsgs = palloc(sizeof(IngestMessage) * n);
	for (i = 0; i < n; i++)
	{
		imsgs[i].partition = msgs[i].partition;
		imsgs[i].offset = msgs[i].offset;
		imsgs[i].payload = msgs[i].payload;
		imsgs[i].len = msgs[i].len;
		imsgs[i].kafka_timestamp_ms = msgs[i].timestamp_ms;
	}
	MemoryContextSwitchTo(old);

	if (twophase)
	{
		sw_batch_gid(w, part_next, gid);
		StartTransactionCommand();
		BeginTransactionBlock();
		CommitTransactionCommand();
	}
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "pg_lambda: ingesting a batch of Kafka messages");

	switch (sw_source_still_wanted(w))
	{
		case SOURCE_UNWANTED:
			/* stopped or dropped: nothing of this batch is committed */
			AbortOutOfAnyTransaction();
			sw_exit_clean();
			break;
		case SOURCE_ALTERED:
			/*
			 * Altered: nothing of this batch is committed either; the worker
			 * loads the source again and reads the batch again from the
			 * stored offsets, under the new settings.
			 */
			AbortOutOfAnyTransaction();
			pgstat_report_activity(STATE_IDLE, NULL);
			w->reload = true;
			MemoryContextReset(w->batch_cxt);
			return;
		case SOURCE_CURRENT:
			break;
	}

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(w->def.owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	ingest_batch(w->def.target, w->def.time_column, w->def.format, w->def.event_time,
				 w->def.ncolumns, (const char *const *) w->def.columns,
				 lambda_kafka_max_message_bytes, imsgs, n, &res);
	SetUserIdAndSecContext(save_userid, save_sec);

	old = MemoryContextSwitchTo(w->batch_cxt);
	for (i = 0; i < n; i++)
		part_events[part_of[i]]++;
	for (i = 0; i < res.ndead; i++)
	{
		part_events[part_of[res.dead_index[i]]]--;
		part_dead[part_of[res.dead_index[i]]]++;
	}
	arrival = GetCurrentTimestamp();
	for (i = 0; i < n; i++)
	{
		PartitionSlot *p = &w->parts[part_of[i]];
		TimestampTz t;

		/* a timestamp PostgreSQL cannot hold is no message's time */
		if (ingest_kafka_timestamp(imsgs[i].kafka_timestamp_ms, arrival, &t) &&
			t > p->last_message_at)
			p->last_message_at = t;
	}
	MemoryContextSwitchTo(old);

	sw_record_batch(w, msgs, n, &res, part_next, part_events, part_dead, part_first);

	PopActiveSnapshot();
	if (twophase)
		(void) capture_prepare_transaction(gid);
	CommitTransactionCommand();

	if (twophase)
	{
		int32	   *ids = palloc(sizeof(int32) * (w->nparts + 1));
		int64	   *offs = palloc(sizeof(int64) * (w->nparts + 1));
		int64	   *firsts = palloc(sizeof(int64) * (w->nparts + 1));
		char		errbuf[WORKER_ERROR_LEN];
		int			k = 0;
		bool		taken;

		for (i = 0; i < w->nparts; i++)
		{
			if (part_next[i] < 0)
				continue;
			ids[k] = w->parts[i].partition;
			offs[k] = part_next[i];
			firsts[k] = part_first[i];
			k++;
		}
		taken = kafka_commit(w->kc, k, ids, offs, gid, errbuf, sizeof(errbuf));
		StartTransactionCommand();
		capture_finish_prepared(gid, taken);
		CommitTransactionCommand();
		if (!taken)
		{
			ereport(LOG,
					(errmsg("Kafka source \"%s\": a batch of %d messages was rolled back", w->def.name, n),
					 errdetail("%s", errbuf),
					 errhint("Its messages are consumed again by the partition's next owner.")));
			/* if the partitions stay ours, read the batch again */
			kafka_seek(w->kc, k, ids, firsts);
			pgstat_report_activity(STATE_IDLE, NULL);
			MemoryContextReset(w->batch_cxt);
			return;
		}
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	pgstat_report_stat(false);

	/* committed: remember where each partition stands */
	for (i = 0; i < w->nparts; i++)
	{
		if (part_next[i] >= 0)
			w->parts[i].next_offset = part_next[i];
	}
	sw_publish_partitions(w);
	MemoryContextReset(w->batch_cxt);
}

/*
 * Ingests one polled batch. In group mode a transaction's global id can
 * name only so many partitions, so a batch spanning more is ingested in
 * several transactions, a few partitions each.
 */
static void
sw_process_batch(SourceWorker *w, KafkaMessage *msgs, int n)
{
	KafkaMessage *sub;
	int			first;

	if (w->def.group_id == NULL || w->nparts <= WORKER_GID_PARTITIONS)
	{
		sw_process_chunk(w, msgs, n);
		return;
	}
	sub = palloc(sizeof(KafkaMessage) * n);
	for (first = 0; first < w->nparts; first += WORKER_GID_PARTITIONS)
	{
		int			k = 0;
		int			i;

		for (i = 0; i < n; i++)
		{
			PartitionSlot *p = sw_partition(w, msgs[i].partition);

			if (p != NULL && p - w->parts >= first && p - w->parts < first + WORKER_GID_PARTITIONS)
				sub[k++] = msgs[i];
		}
		if (k > 0)
			sw_process_chunk(w, sub, k);
		if (w->reload)
			break;				/* the rest is read again after the reload */
	}
	pfree(sub);
}

/*
 * Group mode, at start: settles batches that a crash left prepared. A batch
 * whose offsets the group holds (its commit landed) is committed, one whose
 * offsets the group does not hold is rolled back (whoever owns the partition
 * consumes it again). If another consumer has committed past the batch since,
 * whether our commit landed cannot be told; the batch is then committed —
 * a possible duplicate rather than a possible loss — with a warning.
 */
static void
sw_settle_prepared(SourceWorker *w)
{
	CatalogScope scope;
	char		pattern[64];
	List	   *gids = NIL;
	ListCell   *lc;
	uint64		i;

	snprintf(pattern, sizeof(pattern), "pg_lambda:%u:%d:%d:%%", MyDatabaseId, w->def.id, w->args.worker);
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	catalog_begin(&scope);
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(pattern)};

		if (SPI_execute_with_args("SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE gid LIKE $1",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read pg_prepared_xacts");
		for (i = 0; i < SPI_processed; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			gids = lappend(gids, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
			MemoryContextSwitchTo(old);
		}
	}
	catalog_end(&scope);
	PopActiveSnapshot();
	CommitTransactionCommand();

	foreach(lc, gids)
	{
		char	   *gid = lfirst(lc);
		char	   *p = gid + strlen(pattern) - 1;	/* after the prefix */
		int32		ids[WORKER_GID_PARTITIONS + 1];
		int64		ends[WORKER_GID_PARTITIONS + 1];
		int64		committed[WORKER_GID_PARTITIONS + 1];
		char	   *meta[WORKER_GID_PARTITIONS + 1];
		int			k = 0;
		int			j;
		bool		commit = true;
		bool		certain = true;

		while (*p && k <= WORKER_GID_PARTITIONS)
		{
			int			part;
			long long	end;
			int			used;

			if (sscanf(p, "%d@%lld,%n", &part, &end, &used) < 2)
				break;
			ids[k] = part;
			ends[k] = end;
			k++;
			p += used;
		}
		if (!kafka_group_committed(w->kc, k, ids, committed, meta, 10000))
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("Kafka source \"%s\" could not read the offsets of consumer group \"%s\"",
							w->def.name, w->def.group_id),
					 errdetail("A batch left prepared by a crash (%s) can only be settled against them.", gid),
					 errhint("The worker restarts and tries again; check that the brokers are reachable.")));
		for (j = 0; j < k; j++)
		{
			if (committed[j] < ends[j])
				commit = false; /* the group does not have this batch */
			else if (strcmp(meta[j], gid) != 0)
				certain = false;
		}
		if (commit && !certain)
			ereport(WARNING,
					(errmsg("Kafka source \"%s\": committing a batch left prepared by a crash, which may duplicate events",
							w->def.name),
					 errdetail("Another consumer of group \"%s\" committed past the batch since; whether it started after the batch cannot be told.",
							   w->def.group_id)));
		StartTransactionCommand();
		capture_finish_prepared(gid, commit);
		CommitTransactionCommand();
		ereport(LOG,
				(errmsg("Kafka source \"%s\": %s the batch a crash left prepared (%s)",
						w->def.name, commit ? "committed" : "rolled back", gid)));
	}
}

/*
 * Records, in a transaction of its own, that partition p continues at
 * new_offset instead of from: the offsets in between were deleted by
 * retention. Guarded like a batch's offset update: it fails if another
 * consumer moved the stored offset.
 */
static void
sw_record_skip(SourceWorker *w, PartitionSlot *p, int64 from, int64 new_offset)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!catalog_source_offset_skip(w->def.id, p->partition, from, new_offset))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("partition %d of Kafka source \"%s\" was consumed concurrently",
						p->partition, w->def.name),
				 errdetail("The stored offset is past offset " INT64_FORMAT ", where this worker stood.", from),
				 errhint("Nothing was skipped; the worker restarts from the stored offsets.")));
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Applies the policy for partitions whose offset fell outside the log (see
 * the file header): skip to the log start, recording and announcing the lost
 * range, when retention overtook the source; fail, skipping nothing, when the
 * offset is past the end. Then has librdkafka fetch the stopped partitions
 * again, from where they now start.
 */
static void
sw_handle_out_of_range(SourceWorker *w)
{
	int32		oor[WORKER_MAX_PARTITIONS];
	int64		asked[WORKER_MAX_PARTITIONS];
	int32		ids[WORKER_MAX_PARTITIONS];
	int64		start[WORKER_MAX_PARTITIONS];
	char		errbuf[WORKER_ERROR_LEN];
	int			n = kafka_take_out_of_range(w->kc, WORKER_MAX_PARTITIONS, oor, asked);
	int			k = 0;
	int			i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++)
	{
		PartitionSlot *p = sw_partition(w, oor[i]);
		int64		from;
		int64		low;
		int64		high;

		if (p == NULL)
			continue;			/* no longer ours */
		from = p->next_offset >= 0 ? p->next_offset : asked[i];
		if (!kafka_query_watermarks(w->kc, p->partition, 10000, &low, &high, errbuf, sizeof(errbuf)))
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("Kafka source \"%s\" cannot tell where partition %d of topic \"%s\" starts",
							w->def.name, p->partition, w->def.topic),
					 errdetail("Offset " INT64_FORMAT " is out of range; %s.", from, errbuf),
					 errhint("The worker restarts and tries again; nothing was skipped.")));
		if (from > high)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("offset " INT64_FORMAT " of partition %d of Kafka source \"%s\" is past the end of the partition (offset " INT64_FORMAT ")",
							from, p->partition, w->def.name, high),
					 errdetail("The topic \"%s\" may have been deleted and created again, or its log truncated; pg_lambda skips nothing it cannot account for.",
							   w->def.topic),
					 errhint("The worker retries after lambda.worker_restart_interval. To start over on a new topic, drop the source and create it again.")));
		if (from < low)
		{
			char		msg[WORKER_ERROR_LEN];

			sw_record_skip(w, p, from, low);
			snprintf(msg, sizeof(msg),
					 "offsets " INT64_FORMAT " to " INT64_FORMAT " of partition %d were deleted by retention before they were consumed; " INT64_FORMAT " skipped",
					 from, low - 1, p->partition, low - from);
			ereport(WARNING,
					(errmsg("Kafka source \"%s\" skipped offsets " INT64_FORMAT " to " INT64_FORMAT " of partition %d of topic \"%s\"",
							w->def.name, from, low - 1, p->partition, w->def.topic),
					 errdetail("The topic's retention deleted these " INT64_FORMAT " offsets before they were consumed; their messages are lost for this source. Consumption continues at offset " INT64_FORMAT ", the partition's log start.",
							   low - from, low),
					 errhint("lambda.source_status.skipped_offsets counts them. Stop a source only for less time than the topic's retention.")));
			sw_set_state(w, "running", msg);
			from = p->next_offset = low;
		}
		/* else back in range (e.g. after a leader change): fetch from there */
		ids[k] = p->partition;
		start[k] = from;
		k++;
	}
	if (!kafka_restart_fetch(w->kc, k, ids, start, errbuf, sizeof(errbuf)))
		ereport(ERROR, (errmsg("Kafka source \"%s\": %s", w->def.name, errbuf)));
	sw_publish_partitions(w);
}

/*
 * Every WORKER_STATUS_INTERVAL (at backoff intervals while failing): checks
 * that the source still exists and is enabled (exiting if not: it may have
 * been dropped with its target table, or changed by a restore), asks the
 * cluster for the topic's metadata with a short timeout — which tells
 * whether the brokers are reachable — and publishes state, last error and
 * the watermarks seen in fetch responses (for the lag). Nothing here blocks
 * for long, so shutdown and stop requests are served promptly.
 */
static void
sw_check_status(SourceWorker *w)
{
	TimestampTz now = GetCurrentTimestamp();
	const char *kerr = kafka_take_error(w->kc);
	char		errbuf[WORKER_ERROR_LEN];
	int32	   *partitions;
	bool		ok;

	/* a client-level error (e.g. all brokers down): check at once */
	if (kerr != NULL && !w->failing)
		w->next_status_check = now;
	if (now < w->next_status_check)
		return;

	if (sw_exit_if_unwanted(w))
		return;					/* altered: the main loop reloads it */

	ok = kafka_topic_partitions(w->kc, 1000, &partitions, errbuf, sizeof(errbuf)) >= 0;
	if (ok)
	{
		pfree(partitions);
		if (w->failing)
			ereport(LOG,
					(errmsg("Kafka source \"%s\" reaches its brokers again", w->def.name)));
		w->failing = false;
		w->backoff_ms = 100;
		sw_set_state(w, (w->nparts > 0 || !w->def.group_id) ? "running" : "waiting for partitions",
					 NULL);
	}
	else
	{
		/* the client-level error taken above says why (a failed login, ...) */
		if (kerr != NULL && strstr(errbuf, kerr) == NULL)
		{
			size_t		len = strlen(errbuf);

			snprintf(errbuf + len, sizeof(errbuf) - len, " (%s)", kerr);
		}
		if (!w->failing)
			ereport(WARNING,
					(errmsg("Kafka source \"%s\" cannot reach its brokers, retrying", w->def.name),
					 errdetail("%s", errbuf)));
		w->failing = true;
		w->backoff_ms = Min(w->backoff_ms * 2, lambda_kafka_retry_backoff_max);
		sw_set_state(w, "retrying", errbuf);
	}
	sw_publish_partitions(w);
	w->next_status_check = TimestampTzPlusMilliseconds(now, w->failing ? w->backoff_ms
													   : WORKER_STATUS_INTERVAL);
}

/*
 * Loads the source definition; exits cleanly when the worker is not wanted.
 */
static void
sw_load_definition(SourceWorker *w)
{
	bool		found;
	MemoryContext old;

	StartTransactionCommand();

	/*
	 * A DROP EXTENSION running meanwhile locks the catalog tables in its own
	 * order, which can be the reverse of this query's: give up waiting well
	 * before the deadlock detector would pick a victim (possibly the DROP).
	 * The worker then exits with the error and is restarted, and finds the
	 * source gone or the same.
	 */
	(void) set_config_option("lock_timeout", "500", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	PushActiveSnapshot(GetTransactionSnapshot());
	MemoryContextReset(w->def_cxt);
	old = MemoryContextSwitchTo(w->def_cxt);
	found = source_load(w->args.source_id, &w->def);
	MemoryContextSwitchTo(old);
	PopActiveSnapshot();
	CommitTransactionCommand();

	if (!found || w->args.worker >= w->def.parallelism)
		sw_exit_clean();
	/*
	 * A stopped source's group-mode worker still connects once, to settle a
	 * batch that a crash may have left prepared (sw_connect), then exits.
	 */
	if (!w->def.enabled && w->def.group_id == NULL)
		sw_exit_clean();
}

/*
 * Creates the consumer and takes partitions (assigned mode) or joins the
 * group; retries with backoff while the brokers cannot be reached. Returns
 * early, with w->reload set, when the source is altered meanwhile.
 */
static void
sw_connect(SourceWorker *w)
{
	KafkaSettings ks;
	char		errbuf[WORKER_ERROR_LEN];
	char		client_id[NAMEDATALEN * 2 + 32];

	snprintf(client_id, sizeof(client_id), "pg_lambda.%u.%s", MyDatabaseId, w->def.name);
	memset(&ks, 0, sizeof(ks));
	ks.brokers = w->def.brokers;
	ks.topic = w->def.topic;
	ks.group_id = w->def.group_id;
	ks.client_id = client_id;
	ks.start_earliest = w->def.start_earliest;
	ks.retry_backoff_max_ms = lambda_kafka_retry_backoff_max;
	ks.noptions = w->def.noptions;
	ks.option_names = (const char **) w->def.option_names;
	ks.option_values = (const char **) w->def.option_values;
	ks.on_assign = sw_on_assign;
	ks.on_revoke = sw_on_revoke;
	ks.callback_arg = w;

	w->kc = kafka_consumer_create(&ks, errbuf, sizeof(errbuf));
	if (w->kc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Kafka source \"%s\" has an invalid configuration", w->def.name),
				 errdetail("%s", errbuf),
				 errhint("Fix the options with lambda.alter_kafka_source('%s', options => ...).", w->def.name)));

	if (w->def.group_id)
	{
		sw_settle_prepared(w);
		if (sw_exit_if_unwanted(w))
			return;				/* altered meanwhile: reload first */
		if (!kafka_subscribe(w->kc, errbuf, sizeof(errbuf)))
			ereport(ERROR, (errmsg("%s", errbuf)));
		sw_set_state(w, "waiting for partitions", NULL);
		return;
	}

	while (!sw_assign_partitions(w, true, errbuf, sizeof(errbuf)))
	{
		if (!w->failing)
			ereport(WARNING,
					(errmsg("Kafka source \"%s\" cannot read topic \"%s\", retrying",
							w->def.name, w->def.topic),
					 errdetail("%s", errbuf)));
		w->failing = true;
		sw_set_state(w, "retrying", errbuf);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 w->backoff_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		w->backoff_ms = Min(w->backoff_ms * 2, lambda_kafka_retry_backoff_max);
		if (ShutdownRequestPending)
			sw_exit_clean();
		if (sw_exit_if_unwanted(w))
			return;				/* altered meanwhile (new brokers?): reload */
	}
	w->failing = false;
	w->backoff_ms = 100;
	sw_set_state(w, "running", NULL);
}

/*
 * The source was altered (lambda.alter_kafka_source, or a listed column
 * renamed): leaves the cluster or group, forgets the partitions and loads
 * the source again, in this process (sw_load_definition exits if this
 * worker's index is past a smaller parallelism). Nothing is pending: every
 * batch before the alter committed, none after it did, and the next
 * connection resumes from the stored offsets.
 */
static void
sw_reload(SourceWorker *w)
{
	ereport(LOG,
			(errmsg("Kafka source \"%s\" worker %d loads the source again after it was altered",
					w->def.name, w->args.worker)));
	kafka_consumer_destroy(w->kc);
	w->kc = NULL;
	w->nparts = 0;
	sw_publish_partitions(w);
	w->reload = false;
	w->failing = false;
	w->backoff_ms = 100;
	w->next_status_check = 0;
	w->next_metadata_check = 0;
	sw_set_state(w, "starting", NULL);
	sw_load_definition(w);
}

/*
 * Entry point of a source worker.
 */
void
lambda_source_worker_main(Datum arg pg_attribute_unused())
{
	SourceWorker *w;
	/* volatile: assigned inside PG_TRY (they are not used after a throw) */
	KafkaMessage *volatile msgs = NULL;
	volatile int msgs_cap = 0;
	char		appname[NAMEDATALEN];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	w = MemoryContextAllocZero(TopMemoryContext, sizeof(SourceWorker));
	memcpy(&w->args, MyBgworkerEntry->bgw_extra, sizeof(WorkerArgs));
	w->backoff_ms = 100;
	w->batch_cxt = AllocSetContextCreate(TopMemoryContext, "pg_lambda batch",
										 ALLOCSET_DEFAULT_SIZES);
	w->def_cxt = AllocSetContextCreate(TopMemoryContext, "pg_lambda source definition",
									   ALLOCSET_SMALL_SIZES);

	BackgroundWorkerInitializeConnectionByOid(w->args.dbid, InvalidOid, 0);

	w->slot = sw_claim_slot(&w->args);
	if (w->slot == NULL)
		sw_exit_clean();		/* a twin runs already */
	before_shmem_exit(sw_on_exit, PointerGetDatum(w->slot));

	PG_TRY();
	{
		sw_load_definition(w);
		snprintf(appname, sizeof(appname), "pg_lambda source %s/%d", w->def.name, w->args.worker);
		pgstat_report_appname(appname);

		while (!ShutdownRequestPending)
		{
			int			n;
			TimestampTz now;

			if (w->reload)
				sw_reload(w);
			if (w->kc == NULL)
			{
				sw_connect(w);
				if (w->reload)
					continue;
			}
			if (w->def.batch_size > msgs_cap)
			{
				if (msgs)
					pfree(msgs);
				msgs_cap = w->def.batch_size;
				msgs = MemoryContextAlloc(TopMemoryContext, sizeof(KafkaMessage) * msgs_cap);
			}

			CHECK_FOR_INTERRUPTS();
			if (ConfigReloadPending)
			{
				ConfigReloadPending = false;
				ProcessConfigFile(PGC_SIGHUP);
				/* sources without settings of their own follow the GUCs */
				if (w->def.batch_size_is_default)
					w->def.batch_size = lambda_kafka_batch_size;
				if (w->def.batch_wait_is_default)
					w->def.batch_wait = lambda_kafka_batch_wait;
				if (w->def.batch_size > msgs_cap)
				{
					pfree(msgs);
					msgs_cap = w->def.batch_size;
					msgs = MemoryContextAlloc(TopMemoryContext, sizeof(KafkaMessage) * msgs_cap);
				}
			}

			n = kafka_poll_batch(w->kc, msgs, w->def.batch_size,
								 w->failing ? Min(w->backoff_ms, 1000) : w->def.batch_wait);
			if (n > 0)
			{
				sw_process_batch(w, msgs, n);
				if (w->failing)
					w->next_status_check = 0;	/* messages flow again */
			}
			kafka_release_batch(w->kc);
			sw_handle_out_of_range(w);
			if (w->reload)
				continue;

			now = GetCurrentTimestamp();
			sw_check_status(w);
			if (w->reload)
				continue;

			/* stopped, dropped or altered while idle? a latch set by the backend says so */
			if (n == 0)
			{
				int			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
										   0, PG_WAIT_EXTENSION);

				if (rc & WL_LATCH_SET)
				{
					ResetLatch(MyLatch);
					if (sw_exit_if_unwanted(w))
						continue;
				}
			}

			if (!w->def.group_id && now >= w->next_metadata_check)
			{
				char		errbuf[WORKER_ERROR_LEN];

				/* partitions may have been added to the topic */
				(void) sw_assign_partitions(w, false, errbuf, sizeof(errbuf));
				w->next_metadata_check = TimestampTzPlusMilliseconds(now, WORKER_METADATA_INTERVAL);
			}
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		MemoryContext ecxt = MemoryContextSwitchTo(TopMemoryContext);

		edata = CopyErrorData();
		MemoryContextSwitchTo(ecxt);
		sw_set_state(w, "failed", edata->message);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/*
	 * Server shutdown or DROP DATABASE: the last batch is committed; leave
	 * the group cleanly and free the slot.
	 */
	kafka_consumer_destroy(w->kc);
	sw_exit_clean();
}
