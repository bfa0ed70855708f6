/*-------------------------------------------------------------------------
 *
 * kafka.h
 *	  pg_lambda's wrapper around librdkafka's consumer.
 *
 * Nothing outside kafka.c includes librdkafka's header: the rest of the
 * extension sees these types and functions only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_KAFKA_H
#define LAMBDA_KAFKA_H

#include "postgres.h"

/* Logical start positions, as librdkafka spells them. */
#define KAFKA_OFFSET_BEGINNING	(-2)
#define KAFKA_OFFSET_END		(-1)

/* Out-of-range partitions remembered between two kafka_take_out_of_range()
 * calls: as many as one worker can own. */
#define KAFKA_MAX_OUT_OF_RANGE	256

typedef struct KafkaConsumer KafkaConsumer;

/* One consumed message; the pointers stay valid until kafka_release_batch(). */
typedef struct KafkaMessage
{
	int32		partition;
	int64		offset;
	int64		timestamp_ms;	/* -1 when the message has none */
	const char *key;
	size_t		key_len;
	const char *payload;		/* NULL for a null (tombstone) value */
	size_t		len;
} KafkaMessage;

/* Called, in the consuming process, when a consumer group assigns partitions
 * (incremental false: the whole new assignment, as the classic protocol
 * does; true: only the partitions added, as KIP-848's does): fill offsets[i]
 * with where to start partitions[i] (an offset, or KAFKA_OFFSET_BEGINNING /
 * KAFKA_OFFSET_END). */
typedef void (*KafkaAssignCallback) (void *arg, bool incremental, int n, const int32 *partitions,
									 int64 *offsets);

/* Called before a consumer group takes partitions away (incremental false:
 * all of them; true: only these): the callee must make durable (and commit)
 * everything consumed from them so far, and forget them. */
typedef void (*KafkaRevokeCallback) (void *arg, bool incremental, int n, const int32 *partitions);

typedef struct KafkaSettings
{
	const char *brokers;
	const char *topic;
	const char *group_id;		/* NULL: partitions are assigned by the caller */
	const char *client_id;
	bool		start_earliest; /* informational: the caller passes logical start
								 * offsets itself (KAFKA_OFFSET_BEGINNING/END) */
	int			retry_backoff_max_ms;
	int			noptions;		/* extra librdkafka properties */
	const char **option_names;
	const char **option_values;
	KafkaAssignCallback on_assign;
	KafkaRevokeCallback on_revoke;
	void	   *callback_arg;
} KafkaSettings;

/* Why an option needs a source owned by a superuser (static strings). */
typedef struct KafkaOptionDenial
{
	const char *option;			/* the option's name */
	const char *why;			/* a clause: why it needs superuser */
	const char *instead;		/* a sentence: what to do instead */
} KafkaOptionDenial;

/* librdkafka's version with the consumer-group protocol of KIP-848 (2.12.0) */
#define KAFKA_CONSUMER_PROTOCOL_VERSION 0x020c0000

extern bool kafka_option_is_reserved(const char *name);
extern bool kafka_consumer_protocol_available(char *version, size_t len);
extern const char *kafka_classic_only_option(const char *name);
extern bool kafka_options_need_superuser(int n, const char *const *names,
										 const char *const *values,
										 KafkaOptionDenial *denial);
extern bool kafka_check_option(const char *name, const char *value,
							   char *errbuf, size_t errlen);
extern KafkaConsumer *kafka_consumer_create(const KafkaSettings *settings,
											char *errbuf, size_t errlen);
extern void kafka_consumer_destroy(KafkaConsumer *consumer);
extern int	kafka_topic_partitions(KafkaConsumer *consumer, int timeout_ms,
								   int32 **partitions, char *errbuf, size_t errlen);
extern bool kafka_assign(KafkaConsumer *consumer, int n, const int32 *partitions,
						 const int64 *offsets, char *errbuf, size_t errlen);
extern bool kafka_subscribe(KafkaConsumer *consumer, char *errbuf, size_t errlen);
extern int	kafka_assignment(KafkaConsumer *consumer, int32 **partitions);
extern int	kafka_poll_batch(KafkaConsumer *consumer, KafkaMessage *messages,
							 int max_messages, int timeout_ms);
extern void kafka_release_batch(KafkaConsumer *consumer);
extern bool kafka_cached_watermarks(KafkaConsumer *consumer, int32 partition,
									int64 *low, int64 *high);
extern bool kafka_commit(KafkaConsumer *consumer, int n, const int32 *partitions,
						 const int64 *next_offsets, const char *metadata,
						 char *errbuf, size_t errlen);
extern bool kafka_group_committed(KafkaConsumer *consumer, int n,
								  const int32 *partitions, int64 *next_offsets,
								  char **metadata, int timeout_ms);
extern void kafka_seek(KafkaConsumer *consumer, int n, const int32 *partitions,
					   const int64 *offsets);
extern const char *kafka_take_error(KafkaConsumer *consumer);
extern int	kafka_take_out_of_range(KafkaConsumer *consumer, int max,
									int32 *partitions, int64 *offsets);
extern bool kafka_query_watermarks(KafkaConsumer *consumer, int32 partition, int timeout_ms,
								   int64 *low, int64 *high, char *errbuf, size_t errlen);
extern int64 kafka_position(KafkaConsumer *consumer, int32 partition);
extern bool kafka_restart_fetch(KafkaConsumer *consumer, int n, const int32 *partitions,
								const int64 *offsets, char *errbuf, size_t errlen);

#endif							/* LAMBDA_KAFKA_H */
