/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  pg_lambda's configuration parameters (lambda.*).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_GUC_H
#define LAMBDA_GUC_H

extern int	lambda_kafka_batch_size;
extern int	lambda_kafka_batch_wait;
extern int	lambda_kafka_max_message_bytes;
extern int	lambda_kafka_retry_backoff_max;
extern int	lambda_max_source_workers;
extern int	lambda_worker_restart_interval;
extern int	lambda_max_continuous_views;
extern int	lambda_speed_layer_memory;
extern int	lambda_capture_memory;
extern int	lambda_order_run_memory;
extern double lambda_refresh_tail_fraction;

extern void guc_init(void);

#endif							/* LAMBDA_GUC_H */
