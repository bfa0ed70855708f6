/*-------------------------------------------------------------------------
 *
 * ingest.h
 *	  Inserting a batch of Kafka messages into an event table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_INGEST_H
#define LAMBDA_INGEST_H

#include "postgres.h"

#include "access/attnum.h"
#include "access/tupdesc.h"
#include "datatype/timestamp.h"

#include "format.h"

typedef enum EventTimeMode
{
	EVENT_TIME_PAYLOAD,			/* time column comes from the payload only */
	EVENT_TIME_KAFKA,			/* time column always = Kafka message timestamp */
	EVENT_TIME_PAYLOAD_OR_KAFKA /* payload's value; Kafka timestamp when the
								 * payload has none (missing key / NULL /
								 * absent csv field) */
} EventTimeMode;

/* One Kafka message of a batch. */
typedef struct IngestMessage
{
	int32		partition;
	int64		offset;
	const char *payload;		/* not NUL-terminated; may be NULL for a null
								 * Kafka value */
	size_t		len;
	int64		kafka_timestamp_ms; /* Kafka message timestamp: milliseconds
									 * since the Unix epoch, -1 when none */
} IngestMessage;

/* What became of a batch: every message not listed as dead was consumed. */
typedef struct IngestResult
{
	int64		inserted;		/* rows inserted (a row a BEFORE trigger
								 * skipped is consumed but not inserted) */
	int			ndead;			/* number of bad messages */
	int		   *dead_index;		/* palloc'd: indexes into msgs[] of the bad
								 * messages, ascending */
	char	  **dead_error;		/* palloc'd: reason for each */
} IngestResult;

extern bool ingest_parse_event_time_mode(const char *name, EventTimeMode *mode);
extern const char *ingest_event_time_mode_name(EventTimeMode mode);
extern bool ingest_kafka_timestamp(int64 ms, TimestampTz arrival, TimestampTz *result);

extern AttrNumber *ingest_resolve_columns(TupleDesc tupdesc, const char *relname,
										  int ncolumns, const char *const *columns);

/*
 * Inserts msgs[0..n) into relid (an event table; time_column is its
 * event-time column, used for EventTimeMode), in the caller's transaction,
 * as the current user. With ncolumns > 0, payloads fill only columns[] (a
 * source's column list, by name). Never throws for bad data; throws only for
 * system-level failures (which abort the caller's whole batch transaction,
 * which is then retried) and for a column list that no longer fits the
 * table. The result's arrays are allocated in the caller's memory context.
 */
extern void ingest_batch(Oid relid, const char *time_column, LambdaFormat format,
						 EventTimeMode mode, int ncolumns, const char *const *columns,
						 int max_message_bytes,
						 const IngestMessage *msgs, int n, IngestResult *result);

#endif							/* LAMBDA_INGEST_H */
