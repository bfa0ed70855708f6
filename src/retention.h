/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  Which partitions of a time-partitioned event table lie wholly before
 *	  a point in time (lambda.drop_events_before's whole-partition drops).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_RETENTION_H
#define LAMBDA_RETENTION_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

/*
 * The partitions (OIDs) of event table relid whose every event is before
 * "before": relid must be range-partitioned on its time column alone (else
 * NIL), and a partition qualifies when its upper bound is at most "before".
 */
extern List *retention_whole_partitions(Oid relid, const char *time_column, TimestampTz before);

#endif							/* LAMBDA_RETENTION_H */
