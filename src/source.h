/*-------------------------------------------------------------------------
 *
 * source.h
 *	  Kafka sources: the SQL API and the catalog rows behind it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SOURCE_H
#define LAMBDA_SOURCE_H

#include "postgres.h"

#include "format.h"
#include "ingest.h"

/* A source's definition, as its workers load it from the catalog. */
typedef struct SourceDef
{
	int32		id;
	char	   *name;
	Oid			target;
	char	   *time_column;
	char	   *brokers;
	char	   *topic;
	LambdaFormat format;
	char	   *group_id;		/* NULL: partitions split among the workers */
	int			parallelism;
	bool		start_earliest;
	EventTimeMode event_time;
	int			batch_size;		/* resolved: the source's or the GUC's */
	int			batch_wait;		/* milliseconds, resolved likewise */
	bool		batch_size_is_default;	/* follows lambda.kafka_batch_size */
	bool		batch_wait_is_default;	/* follows lambda.kafka_batch_wait */
	Oid			owner;
	bool		enabled;
	int			noptions;
	char	  **option_names;
	char	  **option_values;
} SourceDef;

extern void source_init(void);
extern bool source_load(int32 source_id, SourceDef *def);
extern List *source_list_to_start(void);

#endif							/* LAMBDA_SOURCE_H */
