/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The Kafka source workers, and the starter that registers them at
 *	  server start. Both are background workers, found by the postmaster
 *	  by the names of their entry points; nothing else is exported.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_WORKER_H
#define LAMBDA_WORKER_H

#include "postgres.h"

#endif							/* LAMBDA_WORKER_H */
