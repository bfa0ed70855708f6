/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The launcher, and the Kafka source workers' slots in shared memory:
 *	  the only functions that start, wake and stop source workers.
 *
 * Launcher. A static background worker, registered by launcher_init from
 * _PG_init and restarted 10 s after it fails. At server start, and after a
 * crash restart, once recovery has finished, it runs a starter (worker.c)
 * in each database that accepts connections and is not a template, one at
 * a time, waiting for each to exit; then it idles until shutdown.
 *
 * Source workers. launcher_start_worker registers one (a dynamic background
 * worker, restarted after lambda.worker_restart_interval when it fails):
 * source.c calls it when a transaction that created or started a source
 * commits, the starter at server start. launcher_wake_workers sets the
 * latches of a source's workers (stop_source and drop_source, at commit);
 * launcher_stop_workers sends SIGTERM to every worker of a database (DROP
 * DATABASE, from ddl.c). What the workers do is worker.c's.
 *
 * Shared memory ("pg_lambda", tranche "pg_lambda"): WorkerSlots, an array
 * of lambda.max_source_workers WorkerSlot, one per running (or failed and
 * restarting) worker: what source_status shows beyond the catalog (state,
 * last error, partitions with their watermarks and lag). Locking:
 * WorkerSlots->lock, never held with any other lock of ours. A worker
 * claims and releases its slot (worker.c: sw_claim_slot, sw_on_exit) with
 * the lock held exclusively, and is the only writer of its slot's fields,
 * which it updates with the lock held exclusively; readers
 * (lambda_worker_partitions, launcher_wake_workers, launcher_stop_workers)
 * hold it shared.
 *
 * Dependencies. launcher.c calls no other module of ours: it runs the
 * starter and the workers by the names of their entry points. So source.c
 * can call it at commit while worker.c reads sources through source.c, and
 * no two files call each other.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
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
#include "utils/timestamp.h"

#include "guc.h"
#include "launcher.h"

WorkerSlots *worker_slots = NULL;
static shmem_request_hook_type launcher_prev_shmem_request = NULL;
static shmem_startup_hook_type launcher_prev_shmem_startup = NULL;

PGDLLEXPORT void lambda_launcher_main(Datum arg);

PG_FUNCTION_INFO_V1(lambda_worker_partitions);

/*
 * Size of the worker slots.
 */
static Size
launcher_shmem_size(void)
{
	return add_size(offsetof(WorkerSlots, slots),
					mul_size(sizeof(WorkerSlot), lambda_max_source_workers));
}

/*
 * shmem_request_hook: reserves our shared memory and lock.
 */
static void
launcher_shmem_request(void)
{
	if (launcher_prev_shmem_request)
		launcher_prev_shmem_request();
	RequestAddinShmemSpace(launcher_shmem_size());
	RequestNamedLWLockTranche("pg_lambda", 1);
}

/*
 * shmem_startup_hook: attaches to (and on first start initialises) the
 * shared state.
 */
static void
launcher_shmem_startup(void)
{
	bool		found;

	if (launcher_prev_shmem_startup)
		launcher_prev_shmem_startup();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	worker_slots = ShmemInitStruct("pg_lambda", launcher_shmem_size(), &found);
	if (!found)
	{
		memset(worker_slots, 0, launcher_shmem_size());
		worker_slots->lock = &(GetNamedLWLockTranche("pg_lambda"))->lock;
		worker_slots->nslots = lambda_max_source_workers;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Fills the common fields of a pg_lambda background worker (launcher,
 * starter, source worker, and scheduler.c's scheduler).
 */
void
launcher_fill_worker(BackgroundWorker *bgw, const char *function, const char *type)
{
	memset(bgw, 0, sizeof(*bgw));
	bgw->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw->bgw_start_time = BgWorkerStart_RecoveryFinished;
	strlcpy(bgw->bgw_library_name, "pg_lambda", BGW_MAXLEN);
	strlcpy(bgw->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(bgw->bgw_type, type, BGW_MAXLEN);
}

/*
 * Installs the worker slots' shared-memory hooks and registers the static
 * launcher. Called from _PG_init.
 */
void
launcher_init(void)
{
	BackgroundWorker bgw;

	launcher_prev_shmem_request = shmem_request_hook;
	shmem_request_hook = launcher_shmem_request;
	launcher_prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = launcher_shmem_startup;

	launcher_fill_worker(&bgw, "lambda_launcher_main", "pg_lambda launcher");
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
launcher_start_worker(Oid dbid, int32 source_id, const char *source_name, int32 worker)
{
	BackgroundWorker bgw;
	WorkerArgs	args = {dbid, source_id, worker};

	launcher_fill_worker(&bgw, "lambda_source_worker_main", "pg_lambda source worker");
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
launcher_signal_workers(Oid dbid, int32 source_id, bool terminate)
{
	int			i;

	if (worker_slots == NULL)
		return;
	LWLockAcquire(worker_slots->lock, LW_SHARED);
	for (i = 0; i < worker_slots->nslots; i++)
	{
		WorkerSlot *s = &worker_slots->slots[i];

		if (!s->in_use || s->pid == 0 || s->dbid != dbid ||
			(source_id >= 0 && s->source_id != source_id))
			continue;
		if (terminate)
			(void) kill(s->pid, SIGTERM);
		else if (s->latch)
			SetLatch(s->latch);
	}
	LWLockRelease(worker_slots->lock);
}

/*
 * Wakes the running workers of a source so they notice at once that it was
 * stopped or dropped.
 */
void
launcher_wake_workers(Oid dbid, int32 source_id)
{
	launcher_signal_workers(dbid, source_id, false);
}

/*
 * Asks every source worker of database dbid to finish its batch and exit.
 * Used before DROP DATABASE, which waits only a few seconds for other
 * sessions to leave.
 */
void
launcher_stop_workers(Oid dbid)
{
	launcher_signal_workers(dbid, -1, true);
}

/*
 * lambda_catalog.source_workers() (and worker_partitions(), its 0.1.0 form
 * without the last column): the published state of this database's workers:
 * a row per worker (partition NULL) and a row per owned partition. Values
 * past the declared columns are ignored (tuplestore_putvalues forms the row
 * from the result descriptor), so both declarations can call this function.
 */
Datum
lambda_worker_partitions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (worker_slots == NULL)
		return (Datum) 0;

	LWLockAcquire(worker_slots->lock, LW_SHARED);
	for (i = 0; i < worker_slots->nslots; i++)
	{
		WorkerSlot *s = &worker_slots->slots[i];
		Datum		values[11];
		bool		nulls[11];
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
			values[10] = TimestampTzGetDatum(s->last_error_at);
			nulls[10] = (s->last_error[0] == '\0' || s->last_error_at == 0);
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
	LWLockRelease(worker_slots->lock);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * Launcher
 * ------------------------------------------------------------------------
 */

/*
 * The launcher: at server start, runs a starter in every database that
 * accepts connections (one at a time), then idles until shutdown, so that a
 * crash-restart of the server runs it again.
 */
void
lambda_launcher_main(Datum arg pg_attribute_unused())
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
		launcher_fill_worker(&bgw, "lambda_starter_main", "pg_lambda starter");
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

