/*-------------------------------------------------------------------------
 *
 * catalog_source.h
 *	  The Kafka side of pg_lambda's catalog: every query on
 *	  lambda_catalog.source, source_secret, source_offset and dead_letter,
 *	  and the row structs they fill.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CATALOG_SOURCE_H
#define LAMBDA_CATALOG_SOURCE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

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

/* How catalog_source_get_by_name locks the source's row until commit. */
typedef enum CatalogSourceLock
{
	CATALOG_SOURCE_FOR_SHARE,	/* its settings cannot change meanwhile */
	CATALOG_SOURCE_FOR_UPDATE	/* to change them */
} CatalogSourceLock;

/* A message that could not become a row, as a worker records it. */
typedef struct CatalogDeadLetter
{
	int32		partition;
	int64		offset;
	const char *key;			/* NULL: the message has none */
	size_t		key_len;
	const char *payload;		/* NULL: a null (tombstone) value */
	size_t		len;
	const char *error;
	int64		timestamp_ms;	/* Kafka timestamp; -1 when none */
} CatalogDeadLetter;

/* Which dead letters of a source a call means (NULL arguments: all). */
typedef struct DeadLetterFilter
{
	Datum		partition;
	bool		partition_null;
	Datum		offset;
	bool		offset_null;
} DeadLetterFilter;

/* lambda_catalog.source and source_secret */
extern bool catalog_source_lock(const char *name, int32 *id, int *parallelism, Oid *owner);
extern bool catalog_source_exists(const char *name);
extern int32 catalog_source_insert(const SourceDef *def, Jsonb *options, bool with_columns);
extern void catalog_source_set_enabled(int32 id, bool enabled);
extern void catalog_source_delete(int32 id);
extern Jsonb *catalog_source_merge_options(int32 id, bool reset, Jsonb *given);
extern void catalog_source_update(const SourceDef *def, Jsonb *options);
extern bool catalog_source_get(int32 id, SourceDef *def);
extern bool catalog_source_get_by_name(const char *name, CatalogSourceLock lock, SourceDef *def);
extern List *catalog_source_list_to_start(void);
extern SourceCurrency catalog_source_check_current(const SourceDef *def);
extern void catalog_source_rename_column(List *relids, const char *oldname, const char *newname);

/* lambda_catalog.source_offset */
extern void catalog_source_offsets_read(int32 source_id, int n, const int32 *partitions,
										int64 *offsets);
extern bool catalog_source_offset_advance(int32 source_id, int32 partition, int64 next_offset,
										  int64 events, int64 dead_letters,
										  TimestampTz last_message_at, int64 stood_at);
extern bool catalog_source_offset_skip(int32 source_id, int32 partition, int64 from,
									   int64 new_offset);

/* lambda_catalog.dead_letter */
extern void catalog_dead_letters_insert(int32 source_id, int n, const CatalogDeadLetter *letters);
extern int	catalog_dead_letters_read(int32 source_id, const DeadLetterFilter *f, int limit,
									  Size max_bytes, int32 *partition, int64 *offset,
									  IngestMessage *msgs);
extern void catalog_dead_letters_settle(int32 source_id, const IngestMessage *msgs, int n,
										const IngestResult *res);
extern int64 catalog_dead_letters_delete(int32 source_id, const DeadLetterFilter *f);

#endif							/* LAMBDA_CATALOG_SOURCE_H */
