/*-------------------------------------------------------------------------
 *
 * scheduler.h
 *	  The continuous-view scheduler of each database: the only functions
 *	  that start, wake and stop it (see scheduler.c for who calls them).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SCHEDULER_H
#define LAMBDA_SCHEDULER_H

#include "postgres.h"

extern void scheduler_init(void);
extern void scheduler_start(Oid dbid);
extern bool scheduler_running(Oid dbid);
extern void scheduler_wake(Oid dbid);
extern void scheduler_stop(Oid dbid);

#endif							/* LAMBDA_SCHEDULER_H */
