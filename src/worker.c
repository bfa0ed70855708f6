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
 * Three rooms. This file holds the starter and the worker's life: its main
 * loop, loading its source, connecting, taking partitions (assigned mode)
 * or being given them (group mode), the periodic status check and reload.
 * One batch's transaction, and offsets outside the log, are
 * worker_batch.c's; the worker's private state (SourceWorker) and its slot
 * in shared memory are worker_state.c's. Their functions share the prefix
 * sw_ (source worker).
 *
 * Shared memory. Each worker publishes its state (what source_status shows
 * beyond the catalog: state, last error, high watermark and lag per
 * partition) in its slot of launcher.c's WorkerSlots, through
 * worker_state.c, which takes WorkerSlots->lock (see there). This file
 * takes no lock of its own.
 *
 * Why the starter is here and not in launcher.c: it reads which sources to
 * start from the catalog (catalog_source.c), as the workers read their
 * definitions (source.c, which checks their options), and registers their
 * workers through launcher.c. source.c itself calls launcher.c (to register
 * or wake workers when a transaction commits), so a starter in launcher.c
 * would make launcher.c and source.c call each other. Here the calls go one
 * way: source.c -> launcher.c, and worker.c -> source.c, launcher.c,
 * scheduler.c, worker_batch.c (-> capture.c), worker_state.c.
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

#include "catalog.h"
#include "catalog_source.h"
#include "guc.h"
#include "kafka.h"
#include "launcher.h"
#include "scheduler.h"
#include "source.h"
#include "worker.h"
#include "worker_batch.h"
#include "worker_state.h"

#define WORKER_STATUS_INTERVAL	1000	/* ms between watermark checks */
#define WORKER_METADATA_INTERVAL 10000	/* ms between partition-count checks */

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
 * Adds partitions[] to the worker's partitions, each starting at
 * committed[i] (which is also what is known to be committed); a partition
 * the worker owns already starts over there.
 */
static void
sw_add_partitions(SourceWorker *w, int n, const int32 *partitions, const int64 *committed)
{
	int			total = w->nparts;
	int			i;

	for (i = 0; i < n; i++)
		if (sw_partition(w, partitions[i]) == NULL)
			total++;
	if (total > WORKER_MAX_PARTITIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Kafka source \"%s\" assigns %d partitions to one worker", w->def.name, total),
				 errdetail("One worker can consume at most %d partitions.", WORKER_MAX_PARTITIONS),
				 errhint("Raise its parallelism with lambda.alter_kafka_source('%s', parallelism => ...).", w->def.name)));
	for (i = 0; i < n; i++)
	{
		PartitionSlot *p = sw_partition(w, partitions[i]);

		if (p == NULL)
			p = &w->parts[w->nparts++];
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
 * Makes partitions[] the worker's partitions, each starting at
 * committed[i] (which is also what is known to be committed).
 */
static void
sw_set_partitions(SourceWorker *w, int n, const int32 *partitions, const int64 *committed)
{
	w->nparts = 0;
	sw_add_partitions(w, n, partitions, committed);
}

/*
 * Group-mode assignment callback: start each partition at the larger of the
 * offset stored here and the one the group committed (another server may
 * have consumed further before the partition came to us). The partitions
 * replace those the worker owns (the classic protocol), or, incrementally
 * (KIP-848's), join them.
 */
static void
sw_on_assign(void *arg, bool incremental, int n, const int32 *partitions, int64 *offsets)
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
	if (incremental)
		sw_add_partitions(w, n, partitions, stored);
	else
		sw_set_partitions(w, n, partitions, stored);
	ereport(LOG,
			(errmsg("Kafka source \"%s\" worker %d was assigned %d partition(s), and now owns %d",
					w->def.name, w->args.worker, n, w->nparts)));
	pfree(stored);
	pfree(group);
}

/*
 * Group-mode revocation callback: forgets the partitions taken away (all of
 * them unless incremental, as with the classic protocol). Nothing of theirs is pending: the
 * callback runs between two batches, and in group mode every batch is
 * committed both here and to the group, or in neither (see
 * sw_process_chunk), so the next owner continues exactly after it. The
 * messages of the lost partitions that the current poll still returns are
 * dropped by sw_process_chunk.
 */
static void
sw_on_revoke(void *arg, bool incremental, int n, const int32 *partitions)
{
	SourceWorker *w = (SourceWorker *) arg;
	int			keep = 0;
	int			i;
	int			j;

	for (j = 0; incremental && j < w->nparts; j++)
	{
		bool		revoked = false;

		for (i = 0; i < n && !revoked; i++)
			revoked = (partitions[i] == w->parts[j].partition);
		if (revoked)
			continue;
		if (keep != j)
			w->parts[keep] = w->parts[j];
		keep++;
	}
	if (w->nparts > keep)
		ereport(LOG,
				(errmsg("Kafka source \"%s\" worker %d gave up %d partition(s), and now owns %d",
						w->def.name, w->args.worker, w->nparts - keep, keep)));
	w->nparts = keep;
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

			/*
			 * Stopped, dropped or altered while idle? A latch set by the
			 * backend at commit says so; but PostgreSQL's own waits in this
			 * process (a lock, ...) reset the latch too and may take that
			 * wake-up, so an idle worker also looks once a second.
			 */
			if (n == 0)
			{
				int			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
										   0, PG_WAIT_EXTENSION);

				if ((rc & WL_LATCH_SET) || now >= w->next_wanted_check)
				{
					ResetLatch(MyLatch);
					w->next_wanted_check = TimestampTzPlusMilliseconds(now, 1000);
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
