/*-------------------------------------------------------------------------
 *
 * scheduler.c
 *	  The continuous-view scheduler of each database: its loop, its slot in
 *	  shared memory, and the only functions that start, wake and stop it.
 *
 * One scheduler per database with pg_lambda >= 0.2.0, a dynamic background
 * worker restarted after lambda.worker_restart_interval when it fails. It
 * refreshes each continuous view every refresh_interval (a sliding window
 * at least once per window; earlier when the speed layer is short of
 * memory, or holds more keys than lambda.refresh_tail_fraction of the
 * view's batch rows: scheduler_tail_large), rebuilds speed layers after a restart, recomputes views restored
 * from a dump, and frees generations that every snapshot has seen folded
 * into the batch tables. A view whose refresh fails is recorded in the
 * catalog and tried again after a delay that doubles from 1 s to 5 min;
 * the others go on. When it finds the extension dropped it frees the
 * database's speed layer and exits with code 0 (not restarted); but while
 * a transaction that creates the extension and views runs (the CREATE
 * started the scheduler, which cannot see the extension yet), it keeps
 * those views' slots and waits for that transaction.
 *
 * Starting and stopping. scheduler_start (nothing if one runs) is called
 * by the starter at server start and after a crash restart (worker.c), when
 * the database has the extension; by CREATE MATERIALIZED VIEW ... WITH
 * (lambda.continuous), REFRESH and lambda.recompute (view.c). scheduler_stop
 * asks it to exit before DROP DATABASE (ddl.c); scheduler_wake sets its
 * latch when a refresh interval changes (view.c). DROP EXTENSION needs no
 * call: the scheduler sees the catalog gone. Reads never start it: a
 * database restored from a dump or copied from a template has no scheduler
 * until one of those runs (or the server restarts), and a read of a view
 * there that needs one fails with a hint to run lambda.recompute (merge.c).
 *
 * Shared memory ("pg_lambda scheduler"): a registry of SCHEDULER_MAX_SLOTS
 * slots (database, pid, latch). A scheduler claims its database's slot
 * when it starts, exiting at once if another live process holds it, and
 * frees it on exit. Locking: SchedulerShared->lock, exclusive to claim or
 * free a slot, shared to find a scheduler (to signal it, or to tell whether
 * one runs); never held with any other lock of ours.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "executor/spi.h"
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
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "batch.h"
#include "catalog.h"
#include "cview.h"
#include "guc.h"
#include "launcher.h"
#include "scheduler.h"
#include "speed.h"
#include "speed_read.h"

#define SCHEDULER_MAX_SLOTS	64

/* keys a speed layer holds at least before lambda.refresh_tail_fraction applies */
#define SCHEDULER_TAIL_MIN_KEYS	1000

/* The slot of one database's scheduler (pid 0: free). */
typedef struct SchedulerSlot
{
	Oid			dbid;
	pid_t		pid;
	Latch	   *latch;
} SchedulerSlot;

/* The registry: which process is the scheduler of which database. */
typedef struct SchedulerShared
{
	LWLock	   *lock;
	SchedulerSlot slots[SCHEDULER_MAX_SLOTS];
} SchedulerShared;

static SchedulerShared *scheduler_shared = NULL;
static shmem_request_hook_type scheduler_prev_shmem_request = NULL;
static shmem_startup_hook_type scheduler_prev_shmem_startup = NULL;

PGDLLEXPORT void lambda_scheduler_main(Datum arg);

/* ------------------------------------------------------------------------
 * Registry in shared memory
 * ------------------------------------------------------------------------
 */

/*
 * shmem_request_hook: reserves the registry and its lock.
 */
static void
scheduler_shmem_request(void)
{
	if (scheduler_prev_shmem_request)
		scheduler_prev_shmem_request();
	RequestAddinShmemSpace(sizeof(SchedulerShared));
	RequestNamedLWLockTranche("pg_lambda scheduler", 1);
}

/*
 * shmem_startup_hook: attaches to (and on first start initialises) the
 * registry.
 */
static void
scheduler_shmem_startup(void)
{
	bool		found;

	if (scheduler_prev_shmem_startup)
		scheduler_prev_shmem_startup();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	scheduler_shared = ShmemInitStruct("pg_lambda scheduler", sizeof(SchedulerShared), &found);
	if (!found)
	{
		memset(scheduler_shared, 0, sizeof(SchedulerShared));
		scheduler_shared->lock = &(GetNamedLWLockTranche("pg_lambda scheduler"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Installs the registry's shared-memory hooks.
 */
void
scheduler_init(void)
{
	scheduler_prev_shmem_request = shmem_request_hook;
	shmem_request_hook = scheduler_shmem_request;
	scheduler_prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = scheduler_shmem_startup;
}

/*
 * Makes the calling process the scheduler of database dbid. False when
 * another live process is, or when every slot is taken.
 */
static bool
scheduler_claim(Oid dbid)
{
	int			i;
	int			free = -1;
	bool		ok = true;

	LWLockAcquire(scheduler_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < SCHEDULER_MAX_SLOTS; i++)
	{
		SchedulerSlot *s = &scheduler_shared->slots[i];

		if (s->pid != 0 && s->dbid == dbid)
		{
			if (s->pid != MyProcPid)
				ok = false;
			free = -2;
			break;
		}
		if (s->pid == 0 && free == -1)
			free = i;
	}
	if (ok && free >= 0)
	{
		scheduler_shared->slots[free].dbid = dbid;
		scheduler_shared->slots[free].pid = MyProcPid;
		scheduler_shared->slots[free].latch = MyLatch;
	}
	else if (free == -1)
		ok = false;
	LWLockRelease(scheduler_shared->lock);
	return ok;
}

/* Frees the calling process's slot (on exit). */
static void
scheduler_release(Oid dbid)
{
	int			i;

	LWLockAcquire(scheduler_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < SCHEDULER_MAX_SLOTS; i++)
	{
		SchedulerSlot *s = &scheduler_shared->slots[i];

		if (s->pid == MyProcPid && s->dbid == dbid)
		{
			s->pid = 0;
			s->latch = NULL;
			s->dbid = InvalidOid;
		}
	}
	LWLockRelease(scheduler_shared->lock);
}

/*
 * Finds the database's scheduler; sends it signal sig (SIGTERM) or sets its
 * latch (0), or only reports whether it runs (-1).
 */
static bool
scheduler_signal(Oid dbid, int sig)
{
	int			i;
	bool		found = false;

	LWLockAcquire(scheduler_shared->lock, LW_SHARED);
	for (i = 0; i < SCHEDULER_MAX_SLOTS; i++)
	{
		SchedulerSlot *s = &scheduler_shared->slots[i];

		if (s->pid == 0 || s->dbid != dbid)
			continue;
		found = true;
		if (sig > 0)
			(void) kill(s->pid, sig);
		else if (sig == 0 && s->latch)
			SetLatch(s->latch);
	}
	LWLockRelease(scheduler_shared->lock);
	return found;
}

/* ------------------------------------------------------------------------
 * Starting, waking and stopping
 * ------------------------------------------------------------------------
 */

/* Whether database dbid has a scheduler. */
bool
scheduler_running(Oid dbid)
{
	return scheduler_signal(dbid, -1);
}

/*
 * Starts the database's continuous-view scheduler unless one runs.
 */
void
scheduler_start(Oid dbid)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;

	if (scheduler_running(dbid))
		return;
	launcher_fill_worker(&bgw, "lambda_scheduler_main", "pg_lambda scheduler");
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

/* Wakes the database's scheduler (a refresh interval changed). */
void
scheduler_wake(Oid dbid)
{
	(void) scheduler_signal(dbid, 0);
}

/* Asks the database's scheduler to exit (DROP DATABASE). */
void
scheduler_stop(Oid dbid)
{
	(void) scheduler_signal(dbid, SIGTERM);
}

/* ------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------
 */

/* Exit callback: the scheduler gives up its slot. */
static void
scheduler_on_exit(int code pg_attribute_unused(), Datum arg)
{
	scheduler_release(DatumGetObjectId(arg));
}

/*
 * A view whose refreshes by the scheduler fail: it is tried again after a
 * delay that doubles with each failure in a row, from
 * SCHEDULER_RETRY_MIN_MS up to SCHEDULER_RETRY_MAX_MS.
 */
typedef struct SchedulerFailure
{
	Oid			batch;
	int			failures;		/* in a row */
	TimestampTz failed_at;		/* the last one */
	TimestampTz retry_at;
} SchedulerFailure;

#define SCHEDULER_RETRY_MIN_MS	1000
#define SCHEDULER_RETRY_MAX_MS	300000

/* The scheduler's failing views (in TopMemoryContext). */
static List *scheduler_failures = NIL;

/* The failure record of a view, or NULL. */
static SchedulerFailure *
scheduler_failure(Oid batch)
{
	ListCell   *lc;

	foreach(lc, scheduler_failures)
	{
		SchedulerFailure *f = lfirst(lc);

		if (f->batch == batch)
			return f;
	}
	return NULL;
}

/* Forgets that a view's refreshes failed: one succeeded. */
static void
scheduler_forget_failure(SchedulerFailure *f)
{
	scheduler_failures = list_delete_ptr(scheduler_failures, f);
	pfree(f);
}

/*
 * Records a failed refresh in the catalog, in a transaction of its own (the
 * failed one was rolled back). Returns the view's name (in cxt), or NULL
 * when that could not be done; *failures gets its failures in a row.
 */
static char *
scheduler_record_failure(Oid batch, const char *message, MemoryContext cxt, int *failures)
{
	char	   *volatile name = NULL;

	*failures = 0;
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		name = batch_record_failure(batch, message, cxt, failures);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		/* the view may have been dropped meanwhile: say so, and go on */
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return name;
}

/*
 * After a failed turn on a view (its transaction rolled back): records the
 * failure (view_status shows it), sets when to try again, and logs the
 * error with the view's name.
 */
static void
scheduler_refresh_failed(Oid dbid, Oid batch, ErrorData *edata, MemoryContext cxt)
{
	SchedulerFailure *f = scheduler_failure(batch);
	const char *message = edata->message ? edata->message : "unknown error";
	char	   *name;
	int			failures;
	long		delay_ms = SCHEDULER_RETRY_MIN_MS;
	int			i;

	if (f == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		f = palloc0(sizeof(SchedulerFailure));
		f->batch = batch;
		scheduler_failures = lappend(scheduler_failures, f);
		MemoryContextSwitchTo(old);
	}
	f->failures++;
	f->failed_at = GetCurrentTimestamp();
	for (i = 1; i < f->failures && delay_ms < SCHEDULER_RETRY_MAX_MS; i++)
		delay_ms *= 2;
	delay_ms = Min(delay_ms, SCHEDULER_RETRY_MAX_MS);
	f->retry_at = TimestampTzPlusMilliseconds(f->failed_at, delay_ms);

	name = scheduler_record_failure(batch, message, cxt, &failures);
	if (failures == 0)
		failures = f->failures;
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 name ? errmsg("refresh of continuous view \"%s\" failed: %s", name, message) :
			 errmsg("refresh of the continuous view with batch table %u failed: %s", batch, message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 errhint("This is failure %d in a row; the scheduler tries again in %ld s. "
					 "lambda.view_status shows the error until a refresh succeeds; the view answers "
					 "correctly meanwhile, from the speed layer.", failures, delay_ms / 1000)));
	speed_record_error(dbid, batch, "scheduled refresh", message);
}

/*
 * Whether a view's speed layer holds more keys than
 * lambda.refresh_tail_fraction of its batch rows (batch_rows, as of its
 * last refresh), and at least SCHEDULER_TAIL_MIN_KEYS: a read of the whole
 * view merges every such key with its batch row, so that its cost grows
 * with the tail; refreshing early keeps it near a read of the batch table.
 */
static bool
scheduler_tail_large(Oid batch, int64 batch_rows)
{
	SpeedStatus st;

	if (lambda_refresh_tail_fraction <= 0)
		return false;
	speed_status(batch, &st);
	return st.attached && st.keys >= SCHEDULER_TAIL_MIN_KEYS &&
		(double) st.keys > lambda_refresh_tail_fraction * (double) batch_rows;
}

/*
 * One view's turn: frees what the speed layer no longer needs, then
 * rebuilds, or refreshes when due, short of memory or its speed layer
 * holds many keys for its size (scheduler_tail_large: batch_rows is its
 * catalog's), unless may_refresh is false (its refreshes fail: waiting to
 * try again). Returns whether it rebuilt or refreshed.
 */
static bool
scheduler_view(Oid batch, bool due, bool memory_short, int64 batch_rows, bool may_refresh)
{
	ViewDef    *def;
	bool		needs_rebuild;
	bool		wants_refresh;
	bool		tail_large = false;
	bool		worked = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	def = cview_get(batch);
	if (def != NULL)
	{
		speed_maintain(def, &needs_rebuild, &wants_refresh);
		if (may_refresh && !needs_rebuild && !wants_refresh && !due && !memory_short)
			tail_large = scheduler_tail_large(batch, batch_rows);
		worked = may_refresh && (needs_rebuild || wants_refresh || due || memory_short || tail_large);
		if (!may_refresh)
			;
		else if (needs_rebuild && !wants_refresh)
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
		else if (tail_large)
			batch_refresh(batch, false, "speed layer tail");
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	return worked;
}

/*
 * One view's turn, errors included: a view whose refreshes fail waits for
 * its retry time (scheduler_refresh_failed); last_refresh (0 if never) tells
 * whether a refresh elsewhere (REFRESH, recompute) succeeded meanwhile.
 */
static void
scheduler_turn(Oid dbid, Oid batch, bool due, bool memory_short, int64 batch_rows,
			   TimestampTz last_refresh, MemoryContext cxt)
{
	PG_TRY();
	{
		SchedulerFailure *f = scheduler_failure(batch);

		if (f != NULL && last_refresh > f->failed_at)
		{
			scheduler_forget_failure(f);
			f = NULL;
		}
		if (scheduler_view(batch, due, memory_short, batch_rows,
						   f == NULL || GetCurrentTimestamp() >= f->retry_at) &&
			f != NULL)
			scheduler_forget_failure(f);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		scheduler_refresh_failed(dbid, batch, edata, cxt);
	}
	PG_END_TRY();
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
	if (!scheduler_claim(dbid))
	{
		if (!scheduler_running(dbid))
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
		List	   *refreshed = NIL;	/* last_refresh of each view */
		List	   *rows = NIL;		/* batch_rows of each view */
		long		wait_ms = 1000;
		bool		installed;
		bool		memory_short;
		ListCell   *lc;
		ListCell   *lc2;
		ListCell   *lc3;
		ListCell   *lc4;

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
			MemoryContext old = MemoryContextSwitchTo(loop_cxt);

			/* a sliding window is refreshed at least once per window */
			foreach(lc, catalog_view_list_schedule())
			{
				CatalogViewSchedule *sv = lfirst(lc);
				TimestampTz *t = palloc(sizeof(TimestampTz));

				*t = sv->last_refresh;
				views = lappend_oid(views, sv->batch_relid);
				due = lappend_int(due, sv->due);
				refreshed = lappend(refreshed, t);
				rows = lappend(rows, sv);
			}
			MemoryContextSwitchTo(old);
		}
		/*
		 * Under the snapshot that found the views (or no extension): a
		 * transaction that creates the extension and views, still running,
		 * keeps their slots.
		 */
		if (installed)
			(void) speed_release_stale(dbid, views, false, GetActiveSnapshot());
		else if (speed_release_stale(dbid, NIL, true, GetActiveSnapshot()) > 0)
			installed = true;	/* it may be: wait for that transaction */
		{
			/* views dropped while failing */
			ListCell   *fc;

			foreach(fc, scheduler_failures)
			{
				SchedulerFailure *f = lfirst(fc);

				if (!list_member_oid(views, f->batch))
				{
					scheduler_failures = foreach_delete_current(scheduler_failures, fc);
					pfree(f);
				}
			}
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (!installed)
			break;

		memory_short = speed_memory_used() > (uint64) lambda_speed_layer_memory * 1024 * 1024 / 2;
		forfour(lc, views, lc2, due, lc3, refreshed, lc4, rows)
		{
			if (ShutdownRequestPending)
				break;
			pgstat_report_activity(STATE_RUNNING, "maintaining continuous views");
			scheduler_turn(dbid, lfirst_oid(lc), lfirst_int(lc2) != 0, memory_short,
						   ((CatalogViewSchedule *) lfirst(lc4))->batch_rows,
						   *(TimestampTz *) lfirst(lc3), loop_cxt);
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}
