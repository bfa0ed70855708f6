/*-------------------------------------------------------------------------
 *
 * scheduler.h
 *	  The continuous-view scheduler of each database.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SCHEDULER_H
#define LAMBDA_SCHEDULER_H

#include "postgres.h"

extern void scheduler_init(void);
extern void worker_start_scheduler(Oid dbid);
extern bool speed_scheduler_claim(Oid dbid);
extern void speed_scheduler_release(Oid dbid);
extern bool speed_scheduler_running(Oid dbid);
extern void speed_scheduler_wake(Oid dbid);
extern void speed_scheduler_stop(Oid dbid);

#endif							/* LAMBDA_SCHEDULER_H */
