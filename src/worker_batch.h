/*-------------------------------------------------------------------------
 *
 * worker_batch.h
 *	  One batch of a Kafka source worker: its transaction (or prepared
 *	  transactions, in group mode), and offsets outside the log.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_WORKER_BATCH_H
#define LAMBDA_WORKER_BATCH_H

#include "postgres.h"

#include "kafka.h"
#include "worker_state.h"

extern void sw_process_batch(SourceWorker *w, KafkaMessage *msgs, int n);
extern void sw_settle_prepared(SourceWorker *w);
extern void sw_handle_out_of_range(SourceWorker *w);

#endif							/* LAMBDA_WORKER_BATCH_H */
