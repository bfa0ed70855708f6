/*-------------------------------------------------------------------------
 *
 * worker_batch.c
 *	  One batch of a Kafka source worker: the transaction that makes its
 *	  messages rows, dead letters and offsets, and what happens to offsets
 *	  that fell outside the log.
 *
 * Exactly once (see worker.c's header for the whole picture). A batch the
 * worker polled becomes one transaction (sw_process_chunk): it re-checks
 * the source (FOR KEY SHARE on its catalog row), inserts the rows as the
 * source's owner (ingest.c), records the dead letters and advances the
 * partitions' offsets only from where this worker knows they stood
 * (catalog_source.c), so a second consumer of a partition fails instead of
 * committing the same messages. In group mode a batch spanning more than
 * WORKER_GID_PARTITIONS partitions is split (sw_process_batch); each part is
 * a prepared transaction (capture_prepare_transaction) whose global id names
 * the worker and the partitions' next offsets (sw_batch_gid), committed
 * (capture_finish_prepared) only once the consumer group took the offsets,
 * rolled back otherwise. A restarted worker settles what a crash left
 * prepared (sw_settle_prepared).
 *
 * Offsets outside the log (sw_handle_out_of_range): a stored offset older
 * than the log start is skipped to it, recorded in a guarded transaction of
 * its own (sw_record_skip) and warned about; one past the log end fails the
 * worker, skipping nothing.
 *
 * Locking: none of its own beyond its transactions' (the source's row FOR
 * KEY SHARE, the offsets' rows); the speed layer's commit lock through
 * capture.c when a prepared batch commits. Its slot is published through
 * worker_state.c, after a batch, never inside one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "capture.h"
#include "catalog.h"
#include "catalog_source.h"
#include "guc.h"
#include "ingest.h"
#include "kafka.h"
#include "worker_batch.h"
#include "worker_state.h"

#define WORKER_GID_PARTITIONS	6	/* partitions one group-mode transaction covers */

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
void
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
void
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
void
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
