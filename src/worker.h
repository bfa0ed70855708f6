/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  Background workers: the launcher and the Kafka source workers, and the
 *	  shared memory in which source workers publish their state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_WORKER_H
#define LAMBDA_WORKER_H

#include "postgres.h"

extern void worker_init(void);
extern bool worker_register(Oid dbid, int32 source_id, const char *source_name, int32 worker);
extern void worker_wake_source(Oid dbid, int32 source_id);
extern void worker_stop_database(Oid dbid);
extern void worker_start_scheduler(Oid dbid);

#endif							/* LAMBDA_WORKER_H */
