/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The Kafka source workers, and the starter that registers them at
 *	  server start. Both are background workers, which the postmaster finds
 *	  by the names of their entry points (lambda_source_worker_main,
 *	  lambda_starter_main); nothing else is exported.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_WORKER_H
#define LAMBDA_WORKER_H

#include "postgres.h"

#endif							/* LAMBDA_WORKER_H */
