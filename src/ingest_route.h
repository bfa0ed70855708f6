/*-------------------------------------------------------------------------
 *
 * ingest_route.h
 *	  Routing a Kafka batch's rows to the partitions of a partitioned
 *	  event table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_INGEST_ROUTE_H
#define LAMBDA_INGEST_ROUTE_H

#include "postgres.h"

#include "executor/execdesc.h"
#include "nodes/execnodes.h"

typedef struct IngestRoute IngestRoute;

/*
 * Starts routing for one insert statement whose result relation root is a
 * partitioned table; maxrows is how many rows the caller buffers at most
 * before inserting them. NULL when root is not partitioned.
 */
extern IngestRoute *ingest_route_begin(EState *estate, ResultRelInfo *root, int maxrows);

/*
 * The partition that takes the row in slot (in the root's shape). A row no
 * partition takes is an error of class 23 naming its partition key, so that
 * the caller's message-by-message retry makes it a dead letter.
 */
extern ResultRelInfo *ingest_route_find(IngestRoute *route, TupleTableSlot *slot);

/*
 * The row in slot, in the shape of partition part, in the slot of part kept
 * for buffer position pos (0 <= pos < maxrows).
 */
extern TupleTableSlot *ingest_route_slot(IngestRoute *route, ResultRelInfo *part,
										 TupleTableSlot *slot, int pos);

/* Whether part's rows must be inserted one at a time (BEFORE ROW triggers). */
extern bool ingest_route_one_by_one(ResultRelInfo *part);

/* Closes the partitions the statement opened. */
extern void ingest_route_end(IngestRoute *route);

#endif							/* LAMBDA_INGEST_ROUTE_H */
