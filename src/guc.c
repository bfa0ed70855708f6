/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  pg_lambda's configuration parameters (lambda.*).
 *
 * Every parameter is documented in docs/configuration.md. The lambda prefix
 * is reserved (MarkGUCPrefixReserved in _PG_init), so a misspelt lambda.*
 * setting is reported instead of silently ignored.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "guc.h"

int			lambda_kafka_batch_size = 10000;
int			lambda_kafka_batch_wait = 50;
int			lambda_kafka_max_message_bytes = 1024 * 1024;
int			lambda_kafka_retry_backoff_max = 30000;
int			lambda_max_source_workers = 32;
int			lambda_worker_restart_interval = 5;
int			lambda_max_continuous_views = 64;
int			lambda_speed_layer_memory = 256;
int			lambda_capture_memory = 64 * 1024;
int			lambda_order_run_memory = 64 * 1024;
double		lambda_refresh_tail_fraction = 0;

/*
 * Defines the parameters. Called once from _PG_init in the postmaster.
 */
void
guc_init(void)
{
	DefineCustomIntVariable("lambda.kafka_batch_size",
							"Most Kafka messages a source worker ingests in one transaction.",
							"A source's batch_size overrides it.",
							&lambda_kafka_batch_size,
							10000, 1, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda.kafka_batch_wait",
							"Longest time a source worker waits to fill a batch before committing it.",
							"Bounds how long a message waits before it is visible. A source's batch_wait overrides it.",
							&lambda_kafka_batch_wait,
							50, 1, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda.kafka_max_message_bytes",
							"Largest Kafka message payload ingested; larger ones become dead letters.",
							NULL,
							&lambda_kafka_max_message_bytes,
							1024 * 1024, 1, 256 * 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda.kafka_retry_backoff_max",
							"Longest wait between retries while a source cannot reach its brokers.",
							"Retries start at 100 ms and double up to this.",
							&lambda_kafka_retry_backoff_max,
							30000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda.max_source_workers",
							"Most Kafka source workers that can run at once, over all databases.",
							"Each also needs a max_worker_processes slot.",
							&lambda_max_source_workers,
							32, 1, 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda.worker_restart_interval",
							"How long the server waits before restarting a source worker that failed.",
							NULL,
							&lambda_worker_restart_interval,
							5, 1, 3600,
							PGC_POSTMASTER, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("lambda.max_continuous_views",
							"Most continuous views the server keeps a speed layer for.",
							"Each takes a slot of shared memory reserved at server start.",
							&lambda_max_continuous_views, 64, 1, 10000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda.speed_layer_memory",
							"Shared memory the speed layer may use, over all continuous views.",
							"At the limit views degrade: they refresh early and answer recent events from the event table.",
							&lambda_speed_layer_memory, 256, 1, INT_MAX / 2,
							PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda.capture_memory",
							"Memory a transaction's captured states of one continuous view may take in its backend.",
							"Beyond it they move into the speed layer's shared memory until the transaction ends.",
							&lambda_capture_memory, 64 * 1024, 1024, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("lambda.order_run_memory",
							"Memory a session keeps in ordered runs of speed-layer keys between queries.",
							"A run larger than this is made for its query and dropped after it; 0 keeps none.",
							&lambda_order_run_memory, 64 * 1024, 0, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomRealVariable("lambda.refresh_tail_fraction",
							 "Refresh a continuous view early when its speed layer holds more keys than this fraction of its batch table's rows.",
							 "Only once the speed layer holds at least 1000 keys; 0 turns it off. Whole-view reads cost in proportion to the keys in the speed layer.",
							 &lambda_refresh_tail_fraction, 0, 0, 1000000,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
}
