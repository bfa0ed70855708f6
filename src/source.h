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

#include "datatype/timestamp.h"
#include "nodes/plannodes.h"

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
	int			ncolumns;		/* the column list; 0: every fillable column */
	char	  **columns;
	TimestampTz altered_at;		/* last change of its settings; 0: never */
	int			noptions;
	char	  **option_names;
	char	  **option_values;
} SourceDef;

/* What a worker finds when it checks its source (source_check_current). */
typedef enum SourceCurrency
{
	SOURCE_UNWANTED,			/* stopped or dropped */
	SOURCE_CURRENT,				/* as the worker loaded it */
	SOURCE_ALTERED				/* its settings changed: load it again */
} SourceCurrency;

extern void source_init(void);
extern void source_check_admin(const char *action);
extern void source_check_owner(const char *action, const char *what, const char *function,
							   const char *name, Oid owner);
extern void source_load_by_name_for_share(const char *name, SourceDef *def);
extern bool source_load(int32 source_id, SourceDef *def);
extern List *source_list_to_start(void);
extern SourceCurrency source_check_current(const SourceDef *def);
extern bool source_dead_letters_keep_timestamps(void);
extern void source_after_utility(PlannedStmt *pstmt);

#endif							/* LAMBDA_SOURCE_H */
