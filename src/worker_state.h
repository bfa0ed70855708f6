/*-------------------------------------------------------------------------
 *
 * worker_state.h
 *	  A Kafka source worker's private state, its slot in shared memory, and
 *	  whether its source still wants it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_WORKER_STATE_H
#define LAMBDA_WORKER_STATE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "catalog_source.h"
#include "kafka.h"
#include "launcher.h"

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
	TimestampTz next_wanted_check;	/* idle: next look at the catalog */
	TimestampTz next_metadata_check;
	MemoryContext batch_cxt;
} SourceWorker;


extern void sw_set_state(SourceWorker *w, const char *state, const char *error);
extern void sw_publish_partitions(SourceWorker *w);
extern void sw_on_exit(int code, Datum arg);
extern WorkerSlot *sw_claim_slot(const WorkerArgs *args);
extern void sw_exit_clean(void);
extern PartitionSlot *sw_partition(SourceWorker *w, int32 partition);
extern SourceCurrency sw_source_still_wanted(SourceWorker *w);
extern bool sw_exit_if_unwanted(SourceWorker *w);

#endif							/* LAMBDA_WORKER_STATE_H */
