/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Background workers: the launcher, and the Kafka source workers that
 *	  consume topics into event tables exactly once.
 *
 * Lifecycle. Source workers are dynamic background workers, one per
 * (source, worker index < parallelism). The backend that creates or starts a
 * source registers them when its transaction commits (source.c). At server
 * start the static launcher runs one short-lived "starter" per database,
 * which registers the workers of every enabled source there. A worker that
 * fails (ERROR) exits with code 1 and the postmaster restarts it after
 * lambda.worker_restart_interval; a worker whose source was stopped or dropped
 * exits with code 0 and is gone. Duplicates are harmless: a worker that finds
 * its (database, source, index) slot held by a live process exits at once.
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
 * Shared memory. An array of lambda.max_source_workers WorkerSlots, one per
 * running (or failed and restarting) worker, holds what source_status shows
 * beyond the catalog: state, last error, high watermark and lag per
 * partition. Locking: LambdaShared->lock. A worker claims and releases its
 * slot under the lock held exclusively and is the only writer of its slot's
 * fields, which it updates under the lock held exclusively; readers
 * (lambda_worker_partitions, worker_wake_source) hold it shared.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "guc.h"
#include "ingest.h"
#include "kafka.h"
#include "batch.h"
#include "source.h"
#include "speed.h"
#include "worker.h"

#define WORKER_MAX_PARTITIONS	256 /* partitions one worker can own */
#define WORKER_STATE_LEN		32
#define WORKER_ERROR_LEN		512
#define WORKER_STATUS_INTERVAL	1000	/* ms between watermark checks */
#define WORKER_METADATA_INTERVAL 10000	/* ms between partition-count checks */
#define WORKER_GID_PARTITIONS	6	/* partitions one group-mode transaction covers */

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
	TimestampTz state_since;
	int			npartitions;
	PartitionSlot partitions[WORKER_MAX_PARTITIONS];
} WorkerSlot;

typedef struct LambdaShared
{
	LWLock	   *lock;
	int			nslots;
	WorkerSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} LambdaShared;

/* What a source worker is told at registration (bgw_extra). */
typedef struct WorkerArgs
{
	Oid			dbid;
	int32		source_id;
	int32		worker;
} WorkerArgs;

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
	bool		failing;		/* brokers unreachable: back off */
	int			backoff_ms;
	TimestampTz next_status_check;
	TimestampTz next_metadata_check;
	MemoryContext batch_cxt;
} SourceWorker;

static LambdaShared *lambda_shared = NULL;
static shmem_request_hook_type worker_prev_shmem_request = NULL;
static shmem_startup_hook_type worker_prev_shmem_startup = NULL;

static bool worker_clean_exit = false;

PGDLLEXPORT void lambda_launcher_main(Datum arg);
PGDLLEXPORT void lambda_starter_main(Datum arg);
PGDLLEXPORT void lambda_source_worker_main(Datum arg);
PGDLLEXPORT void lambda_scheduler_main(Datum arg);

PG_FUNCTION_INFO_V1(lambda_worker_partitions);

/*
 * Size of the shared state.
 */
static Size
worker_shmem_size(void)
{
	return add_size(offsetof(LambdaShared, slots),
					mul_size(sizeof(WorkerSlot), lambda_max_source_workers));
}

/*
 * shmem_request_hook: reserves our shared memory and lock.
 */
static void
worker_shmem_request(void)
{
	if (worker_prev_shmem_request)
		worker_prev_shmem_request();
	RequestAddinShmemSpace(worker_shmem_size());
	RequestNamedLWLockTranche("pg_lambda", 1);
}

/*
 * shmem_startup_hook: attaches to (and on first start initialises) the
 * shared state.
 */
static void
worker_shmem_startup(void)
{
	bool		found;

	if (worker_prev_shmem_startup)
		worker_prev_shmem_startup();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	lambda_shared = ShmemInitStruct("pg_lambda", worker_shmem_size(), &found);
	if (!found)
	{
		memset(lambda_shared, 0, worker_shmem_size());
		lambda_shared->lock = &(GetNamedLWLockTranche("pg_lambda"))->lock;
		lambda_shared->nslots = lambda_max_source_workers;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Fills the common fields of a pg_lambda background worker.
 */
static void
worker_fill(BackgroundWorker *bgw, const char *function, const char *type)
{
	memset(bgw, 0, sizeof(*bgw));
	bgw->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw->bgw_start_time = BgWorkerStart_RecoveryFinished;
	strlcpy(bgw->bgw_library_name, "pg_lambda", BGW_MAXLEN);
	strlcpy(bgw->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(bgw->bgw_type, type, BGW_MAXLEN);
}

/*
 * Registers the static launcher. Called from _PG_init via worker_init.
 */
void
worker_init(void)
{
	BackgroundWorker bgw;

	worker_prev_shmem_request = shmem_request_hook;
	shmem_request_hook = worker_shmem_request;
	worker_prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = worker_shmem_startup;

	worker_fill(&bgw, "lambda_launcher_main", "pg_lambda launcher");
	strlcpy(bgw.bgw_name, "pg_lambda launcher", BGW_MAXLEN);
	bgw.bgw_restart_time = 10;
	RegisterBackgroundWorker(&bgw);
}

/*
 * Registers the source worker (source_id, worker) of database dbid. Returns
 * false (with a WARNING) when no background worker slot is free. Safe to call
 * from a commit callback: it raises no errors.
 */
bool
worker_register(Oid dbid, int32 source_id, const char *source_name, int32 worker)
{
	BackgroundWorker bgw;
	WorkerArgs	args = {dbid, source_id, worker};

	worker_fill(&bgw, "lambda_source_worker_main", "pg_lambda source worker");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "pg_lambda source %s worker %d", source_name, worker);
	bgw.bgw_restart_time = lambda_worker_restart_interval;
	memcpy(bgw.bgw_extra, &args, sizeof(args));
	if (!RegisterDynamicBackgroundWorker(&bgw, NULL))
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start worker %d of Kafka source \"%s\"", worker, source_name),
				 errdetail("All background worker slots are in use."),
				 errhint("Raise max_worker_processes, then run lambda.start_source('%s').",
						 source_name)));
		return false;
	}
	return true;
}

/*
 * Signals the running workers of database dbid — of one source, or of all
 * when source_id is -1: sets their latch (they re-check their source), or
 * with terminate sends SIGTERM (they finish their batch and exit with code
 * 0, so they are not restarted).
 */
static void
worker_signal(Oid dbid, int32 source_id, bool terminate)
{
	int			i;

	if (lambda_shared == NULL)
		return;
	LWLockAcquire(lambda_shared->lock, LW_SHARED);
	for (i = 0; i < lambda_shared->nslots; i++)
	{
		WorkerSlot *s = &lambda_shared->slots[i];

		if (!s->in_use || s->pid == 0 || s->dbid != dbid ||
			(source_id >= 0 && s->source_id != source_id))
			continue;
		if (terminate)
			(void) kill(s->pid, SIGTERM);
		else if (s->latch)
			SetLatch(s->latch);
	}
	LWLockRelease(lambda_shared->lock);
}

/*
 * Wakes the running workers of a source so they notice at once that it was
 * stopped or dropped.
 */
void
worker_wake_source(Oid dbid, int32 source_id)
{
	worker_signal(dbid, source_id, false);
}

/*
 * Asks every source worker of database dbid to finish its batch and exit.
 * Used before DROP DATABASE, which waits only a few seconds for other
 * sessions to leave.
 */
void
worker_stop_database(Oid dbid)
{
	worker_signal(dbid, -1, true);
}

/*
 * lambda_catalog.worker_partitions(): the published state of this database's
 * workers: a row per worker (partition NULL) and a row per owned partition.
 */
Datum
lambda_worker_partitions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (lambda_shared == NULL)
		return (Datum) 0;

	LWLockAcquire(lambda_shared->lock, LW_SHARED);
	for (i = 0; i < lambda_shared->nslots; i++)
	{
		WorkerSlot *s = &lambda_shared->slots[i];
		Datum		values[10];
		bool		nulls[10];
		int			p;

		if (!s->in_use || s->dbid != MyDatabaseId)
			continue;
		for (p = -1; p < s->npartitions; p++)
		{
			memset(nulls, 0, sizeof(nulls));
			values[0] = Int32GetDatum(s->source_id);
			values[1] = Int32GetDatum(s->worker);
			values[2] = Int32GetDatum(s->pid);
			nulls[2] = (s->pid == 0);
			values[3] = CStringGetTextDatum(s->state);
			values[4] = CStringGetTextDatum(s->last_error);
			nulls[4] = (s->last_error[0] == '\0');
			values[5] = TimestampTzGetDatum(s->state_since);
			if (p < 0)
			{
				nulls[6] = nulls[7] = nulls[8] = nulls[9] = true;
			}
			else
			{
				PartitionSlot *ps = &s->partitions[p];

				values[6] = Int32GetDatum(ps->partition);
				values[7] = Int64GetDatum(ps->high_watermark);
				nulls[7] = (ps->high_watermark < 0);
				values[8] = Int64GetDatum(ps->lag);
				nulls[8] = (ps->lag < 0);
				values[9] = TimestampTzGetDatum(ps->last_message_at);
				nulls[9] = (ps->last_message_at == 0);
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	LWLockRelease(lambda_shared->lock);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * Launcher and starters
 * ------------------------------------------------------------------------
 */

/*
 * The launcher: at server start, runs a starter in every database that
 * accepts connections (one at a time), then idles until shutdown, so that a
 * crash-restart of the server runs it again.
 */
void
lambda_launcher_main(Datum arg)
{
	List	   *dbs = NIL;
	ListCell   *lc;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pg_lambda launcher");

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate)
			dbs = lappend_oid(dbs, db->oid);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	foreach(lc, dbs)
	{
		BackgroundWorker bgw;
		BackgroundWorkerHandle *handle;
		Oid			dbid = lfirst_oid(lc);

		if (ShutdownRequestPending)
			break;
		worker_fill(&bgw, "lambda_starter_main", "pg_lambda starter");
		snprintf(bgw.bgw_name, BGW_MAXLEN, "pg_lambda starter for database %u", dbid);
		bgw.bgw_restart_time = BGW_NEVER_RESTART;
		bgw.bgw_main_arg = ObjectIdGetDatum(dbid);
		bgw.bgw_notify_pid = MyProcPid;
		if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
		{
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("pg_lambda could not start the Kafka sources of database %u", dbid),
					 errdetail("All background worker slots are in use."),
					 errhint("Raise max_worker_processes, then run lambda.start_source() for each source.")));
			continue;
		}
		(void) WaitForBackgroundWorkerShutdown(handle);
	}

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	proc_exit(0);
}

/*
 * A starter: registers the workers of one database's sources (see
 * source_list_to_start), then exits. Databases without the extension have
 * nothing to start.
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
	sources = source_list_to_start();
	foreach(lc, sources)
	{
		SourceDef  *def = lfirst(lc);
		int			i;

		for (i = 0; i < def->parallelism; i++)
			worker_register(dbid, def->id, def->name, i);
	}
	if (OidIsValid(catalog_relid("continuous_view")))
		worker_start_scheduler(dbid);
	PopActiveSnapshot();
	CommitTransactionCommand();
	proc_exit(0);
}

/* ------------------------------------------------------------------------
 * Scheduler
 * ------------------------------------------------------------------------
 */

/*
 * Starts the database's continuous-view scheduler unless one runs.
 */
void
worker_start_scheduler(Oid dbid)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;

	if (speed_scheduler_running(dbid))
		return;
	worker_fill(&bgw, "lambda_scheduler_main", "pg_lambda scheduler");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "pg_lambda scheduler for database %u", dbid);
	bgw.bgw_restart_time = lambda_worker_restart_interval;
	bgw.bgw_main_arg = ObjectIdGetDatum(dbid);
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("pg_lambda could not start the continuous-view scheduler of database %u", dbid),
				 errdetail("All background worker slots are in use."),
				 errhint("Raise max_worker_processes; until then views are refreshed only by REFRESH MATERIALIZED VIEW.")));
}

static void
scheduler_on_exit(int code, Datum arg)
{
	speed_scheduler_release(DatumGetObjectId(arg));
}

/* One view's turn: rebuild, or refresh when due or short of memory. */
static void
scheduler_view(Oid batch, bool due, bool memory_short)
{
	ViewDef    *def;
	bool		needs_rebuild;
	bool		wants_refresh;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	def = cview_get(batch);
	if (def != NULL)
	{
		speed_maintain(def, &needs_rebuild, &wants_refresh);
		if (needs_rebuild && !wants_refresh)
		{
			if (!batch_rebuild(batch))
				batch_refresh(batch, false, "rebuild did not fit");
		}
		else if (needs_rebuild || wants_refresh)
			batch_refresh(batch, false, "degraded");
		else if (due)
			batch_refresh(batch, false, "scheduled");
		else if (memory_short)
			batch_refresh(batch, false, "memory");
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * The scheduler of one database: refreshes each continuous view every
 * refresh_interval, a sliding window at least once per window (earlier when
 * the speed layer is short of memory),
 * rebuilds speed layers after a restart, and frees generations that every
 * snapshot has seen folded into the batch tables. Exits when the extension
 * is dropped.
 */
void
lambda_scheduler_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("pg_lambda scheduler");
	if (!speed_scheduler_claim(dbid))
	{
		if (!speed_scheduler_running(dbid))
			ereport(LOG,
					(errmsg("pg_lambda scheduler for database %u cannot start: all scheduler slots are in use", dbid),
					 errhint("Continuous views of this database are refreshed only by REFRESH MATERIALIZED VIEW.")));
		proc_exit(0);
	}
	before_shmem_exit(scheduler_on_exit, ObjectIdGetDatum(dbid));
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pg_lambda scheduler", ALLOCSET_DEFAULT_SIZES);

	while (!ShutdownRequestPending)
	{
		List	   *views = NIL;
		List	   *due = NIL;
		long		wait_ms = 1000;
		bool		installed;
		bool		memory_short;
		ListCell   *lc;
		ListCell   *lc2;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(loop_cxt);

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		installed = OidIsValid(catalog_relid("continuous_view"));
		if (installed)
		{
			CatalogScope scope;
			uint64		i;

			catalog_begin(&scope);
			/* a sliding window is refreshed at least once per window (to_jsonb: 0.2.0 has no such column) */
			if (SPI_execute("SELECT batch_table::oid,"
							"       last_refresh IS NULL OR last_refresh + LEAST(refresh_interval,"
							"         (pg_catalog.to_jsonb(v) OPERATOR(pg_catalog.->>) 'sliding_window')::pg_catalog.interval)"
							"         <= pg_catalog.now()"
							"  FROM lambda_catalog.continuous_view v ORDER BY last_refresh NULLS FIRST",
							true, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not read lambda_catalog.continuous_view");
			for (i = 0; i < SPI_processed; i++)
			{
				bool		isnull;
				MemoryContext old = MemoryContextSwitchTo(loop_cxt);

				views = lappend_oid(views, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
				due = lappend_int(due, DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull)));
				MemoryContextSwitchTo(old);
			}
			catalog_end(&scope);
		}
		if (installed)
			speed_release_stale(dbid, views, false, GetActiveSnapshot());
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (!installed)
		{
			speed_release_stale(dbid, NIL, true, NULL);
			break;
		}

		memory_short = speed_memory_used() > (uint64) lambda_speed_layer_memory * 1024 * 1024 / 2;
		forboth(lc, views, lc2, due)
		{
			Oid			batch = lfirst_oid(lc);

			if (ShutdownRequestPending)
				break;
			PG_TRY();
			{
				pgstat_report_activity(STATE_RUNNING, "maintaining continuous views");
				scheduler_view(batch, lfirst_int(lc2) != 0, memory_short);
			}
			PG_CATCH();
			{
				ErrorData  *edata;

				MemoryContextSwitchTo(loop_cxt);
				edata = CopyErrorData();
				EmitErrorReport();
				FlushErrorState();
				AbortCurrentTransaction();
				speed_record_error(dbid, batch, edata->message);
			}
			PG_END_TRY();
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}

/* ------------------------------------------------------------------------
 * Source workers
 * ------------------------------------------------------------------------
 */

/*
 * Publishes the worker's state (and error, when given) in its slot.
 */
static void
sw_set_state(SourceWorker *w, const char *state, const char *error)
{
	WorkerSlot *s = w->slot;

	LWLockAcquire(lambda_shared->lock, LW_EXCLUSIVE);
	if (strcmp(s->state, state) != 0)
	{
		strlcpy(s->state, state, WORKER_STATE_LEN);
		s->state_since = GetCurrentTimestamp();
	}
	if (error)
		strlcpy(s->last_error, error, WORKER_ERROR_LEN);
	LWLockRelease(lambda_shared->lock);
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

	LWLockAcquire(lambda_shared->lock, LW_EXCLUSIVE);
	w->slot->npartitions = w->nparts;
	memcpy(w->slot->partitions, w->parts, sizeof(PartitionSlot) * w->nparts);
	LWLockRelease(lambda_shared->lock);
}

/*
 * Exit callback: a worker leaving because its source is stopped or gone
 * frees its slot; one leaving on an error keeps it (with the error) for its
 * restart, so source_status shows what went wrong meanwhile.
 */
static void
sw_on_exit(int code, Datum arg)
{
	WorkerSlot *s = (WorkerSlot *) DatumGetPointer(arg);

	LWLockAcquire(lambda_shared->lock, LW_EXCLUSIVE);
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
	LWLockRelease(lambda_shared->lock);
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

	LWLockAcquire(lambda_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < lambda_shared->nslots; i++)
	{
		WorkerSlot *s = &lambda_shared->slots[i];

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
		LWLockRelease(lambda_shared->lock);
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
		LWLockRelease(lambda_shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no free slot for worker %d of Kafka source %d", args->worker, args->source_id),
				 errdetail("All %d source worker slots are in use.", lambda_shared->nslots),
				 errhint("Raise lambda.max_source_workers (takes a restart); the worker retries meanwhile.")));
	}
	mine->pid = MyProcPid;
	mine->latch = MyLatch;
	strlcpy(mine->state, "starting", WORKER_STATE_LEN);
	mine->state_since = GetCurrentTimestamp();
	mine->npartitions = 0;
	LWLockRelease(lambda_shared->lock);
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
	CatalogScope scope;
	int			i;

	for (i = 0; i < n; i++)
		offsets[i] = -1;
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	catalog_begin(&scope);
	for (i = 0; i < n; i++)
	{
		Oid			argtypes[2] = {INT4OID, INT4OID};
		Datum		args[2] = {Int32GetDatum(w->def.id), Int32GetDatum(partitions[i])};
		bool		isnull;

		if (SPI_execute_with_args("SELECT next_offset FROM lambda_catalog.source_offset "
								  "WHERE source_id = $1 AND partition = $2",
								  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read lambda_catalog.source_offset");
		if (SPI_processed > 0)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				offsets[i] = DatumGetInt64(d);
		}
	}
	catalog_end(&scope);
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
				 errhint("Recreate the source with a higher parallelism.")));
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
sw_on_revoke(void *arg, int n, const int32 *partitions)
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
 * Converts a Kafka timestamp (ms since the Unix epoch) to a TimestampTz;
 * the arrival time when the message has none.
 */
static TimestampTz
sw_kafka_time(int64 ms)
{
	if (ms < 0)
		return GetCurrentTimestamp();
	return (TimestampTz) (ms * 1000) -
		(TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

/*
 * Checks, inside the batch transaction, that the source still exists and is
 * enabled, locking its row against a concurrent drop until commit.
 */
static bool
sw_source_still_wanted(SourceWorker *w)
{
	CatalogScope scope;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(w->def.id)};
	bool		wanted = false;

	if (!OidIsValid(catalog_relid("source")))
		return false;			/* DROP EXTENSION pg_lambda */
	catalog_begin(&scope);
	if (SPI_execute_with_args("SELECT enabled FROM lambda_catalog.source "
							  "WHERE id = $1 FOR KEY SHARE",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	if (SPI_processed > 0)
	{
		bool		isnull;

		wanted = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	catalog_end(&scope);
	return wanted;
}

/*
 * Exits cleanly when the source was stopped or dropped (checked in a short
 * transaction of its own, outside any batch).
 */
static void
sw_exit_if_unwanted(SourceWorker *w)
{
	bool		wanted;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	wanted = sw_source_still_wanted(w);
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (!wanted)
		sw_exit_clean();
}

/*
 * Records the batch's dead letters and advances the offsets of the
 * partitions it covered, in the batch transaction. An offset only advances
 * from the value this worker knows to be stored; if another consumer moved
 * it, the batch fails as a whole (and the worker restarts from the stored
 * offsets), so no message is ever committed twice.
 */
static void
sw_record_batch(SourceWorker *w, const KafkaMessage *msgs, int n, const IngestResult *res,
				int64 *part_next, int64 *part_events, int64 *part_dead, int64 *part_first)
{
	CatalogScope scope;
	int			i;

	catalog_begin(&scope);
	for (i = 0; i < res->ndead; i++)
	{
		const KafkaMessage *m = &msgs[res->dead_index[i]];
		Oid			argtypes[6] = {INT4OID, INT4OID, INT8OID, BYTEAOID, BYTEAOID, TEXTOID};
		Datum		args[6];
		char		nulls[7] = "      ";
		bytea	   *key = NULL;
		bytea	   *payload = NULL;

		if (m->key)
		{
			key = palloc(VARHDRSZ + m->key_len);
			SET_VARSIZE(key, VARHDRSZ + m->key_len);
			memcpy(VARDATA(key), m->key, m->key_len);
		}
		else
			nulls[3] = 'n';
		if (m->payload)
		{
			payload = palloc(VARHDRSZ + m->len);
			SET_VARSIZE(payload, VARHDRSZ + m->len);
			memcpy(VARDATA(payload), m->payload, m->len);
		}
		else
			nulls[4] = 'n';
		args[0] = Int32GetDatum(w->def.id);
		args[1] = Int32GetDatum(m->partition);
		args[2] = Int64GetDatum(m->offset);
		args[3] = PointerGetDatum(key);
		args[4] = PointerGetDatum(payload);
		args[5] = CStringGetTextDatum(res->dead_error[i]);
		if (SPI_execute_with_args("INSERT INTO lambda_catalog.dead_letter "
								  "(source_id, partition, \"offset\", key, payload, error) "
								  "VALUES ($1, $2, $3, $4, $5, $6)",
								  6, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into lambda_catalog.dead_letter");
	}

	for (i = 0; i < w->nparts; i++)
	{
		PartitionSlot *p = &w->parts[i];
		Oid			argtypes[7] = {INT4OID, INT4OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID};
		Datum		args[7];

		if (part_next[i] < 0)
			continue;			/* nothing from this partition in the batch */
		args[0] = Int32GetDatum(w->def.id);
		args[1] = Int32GetDatum(p->partition);
		args[2] = Int64GetDatum(part_next[i]);
		args[3] = Int64GetDatum(part_events[i]);
		args[4] = Int64GetDatum(part_dead[i]);
		args[5] = TimestampTzGetDatum(p->last_message_at);
		/* where this worker believes the partition stood */
		args[6] = Int64GetDatum(p->next_offset >= 0 ? p->next_offset : part_first[i]);
		if (SPI_execute_with_args("INSERT INTO lambda_catalog.source_offset AS o "
								  "(source_id, partition, next_offset, events, dead_letters, last_message_at) "
								  "VALUES ($1, $2, $3, $4, $5, $6) "
								  "ON CONFLICT (source_id, partition) DO UPDATE SET "
								  "next_offset = excluded.next_offset, "
								  "events = o.events + excluded.events, "
								  "dead_letters = o.dead_letters + excluded.dead_letters, "
								  "last_message_at = excluded.last_message_at, "
								  "updated_at = pg_catalog.now() "
								  "WHERE o.next_offset <= $7",
								  7, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not upsert lambda_catalog.source_offset");
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("partition %d of Kafka source \"%s\" was consumed concurrently",
							p->partition, w->def.name),
					 errdetail("The stored offset is past offset " INT64_FORMAT ", where this worker stood.",
							   DatumGetInt64(args[6])),
					 errhint("The batch was rolled back; the worker restarts from the stored offsets.")));
	}
	catalog_end(&scope);
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
		imsgs[i].kafka_time = sw_kafka_time(msgs[i].timestamp_ms);
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

	if (!sw_source_still_wanted(w))
	{
		/* stopped or dropped: nothing of this batch is committed */
		AbortOutOfAnyTransaction();
		sw_exit_clean();
	}

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(w->def.owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	ingest_batch(w->def.target, w->def.time_column, w->def.format, w->def.event_time,
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
	for (i = 0; i < n; i++)
	{
		PartitionSlot *p = &w->parts[part_of[i]];
		TimestampTz t = imsgs[i].kafka_time;

		if (t > p->last_message_at)
			p->last_message_at = t;
	}
	MemoryContextSwitchTo(old);

	sw_record_batch(w, msgs, n, &res, part_next, part_events, part_dead, part_first);

	PopActiveSnapshot();
	if (twophase)
	{
		speed_set_prepare_gid(gid);
		(void) PrepareTransactionBlock(gid);
	}
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
		speed_finish_prepared(gid, taken);
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
		speed_finish_prepared(gid, commit);
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
	CatalogScope scope;
	Oid			argtypes[5] = {INT4OID, INT4OID, INT8OID, INT8OID, INT8OID};
	Datum		args[5];

	args[0] = Int32GetDatum(w->def.id);
	args[1] = Int32GetDatum(p->partition);
	args[2] = Int64GetDatum(new_offset);
	args[3] = Int64GetDatum(new_offset - from);
	args[4] = Int64GetDatum(from);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	catalog_begin(&scope);
	if (SPI_execute_with_args("INSERT INTO lambda_catalog.source_offset AS o "
							  "(source_id, partition, next_offset, skipped_offsets) "
							  "VALUES ($1, $2, $3, $4) "
							  "ON CONFLICT (source_id, partition) DO UPDATE SET "
							  "next_offset = excluded.next_offset, "
							  "skipped_offsets = o.skipped_offsets + excluded.skipped_offsets, "
							  "updated_at = pg_catalog.now() "
							  "WHERE o.next_offset <= $5",
							  5, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not upsert lambda_catalog.source_offset");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("partition %d of Kafka source \"%s\" was consumed concurrently",
						p->partition, w->def.name),
				 errdetail("The stored offset is past offset " INT64_FORMAT ", where this worker stood.", from),
				 errhint("Nothing was skipped; the worker restarts from the stored offsets.")));
	catalog_end(&scope);
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

	sw_exit_if_unwanted(w);

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
	PushActiveSnapshot(GetTransactionSnapshot());
	old = MemoryContextSwitchTo(TopMemoryContext);
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
 * group; retries with backoff while the brokers cannot be reached.
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
				 errhint("Drop the source and create it again with valid options.")));

	if (w->def.group_id)
	{
		sw_settle_prepared(w);
		sw_exit_if_unwanted(w);
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
		sw_exit_if_unwanted(w); /* stopped or dropped meanwhile? */
	}
	w->failing = false;
	w->backoff_ms = 100;
	sw_set_state(w, "running", NULL);
}

/*
 * Entry point of a source worker.
 */
void
lambda_source_worker_main(Datum arg)
{
	SourceWorker *w;
	KafkaMessage *msgs;
	int			msgs_cap;
	char		appname[NAMEDATALEN];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	w = MemoryContextAllocZero(TopMemoryContext, sizeof(SourceWorker));
	memcpy(&w->args, MyBgworkerEntry->bgw_extra, sizeof(WorkerArgs));
	w->backoff_ms = 100;
	w->batch_cxt = AllocSetContextCreate(TopMemoryContext, "pg_lambda batch",
										 ALLOCSET_DEFAULT_SIZES);

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

		sw_connect(w);
		msgs_cap = w->def.batch_size;
		msgs = MemoryContextAlloc(TopMemoryContext, sizeof(KafkaMessage) * msgs_cap);

		while (!ShutdownRequestPending)
		{
			int			n;
			TimestampTz now;

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

			now = GetCurrentTimestamp();
			sw_check_status(w);

			/* stopped or dropped while idle? a latch set by the backend says so */
			if (n == 0)
			{
				int			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
										   0, PG_WAIT_EXTENSION);

				if (rc & WL_LATCH_SET)
				{
					ResetLatch(MyLatch);
					sw_exit_if_unwanted(w);
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
