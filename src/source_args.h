/*-------------------------------------------------------------------------
 *
 * source_args.h
 *	  Checking the arguments of the Kafka source API: values, librdkafka
 *	  options (and who may set them), column lists.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SOURCE_ARGS_H
#define LAMBDA_SOURCE_ARGS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "format.h"
#include "ingest.h"

/* Most workers one source may have */
#define SOURCE_MAX_PARALLELISM 64

extern void source_require_arg(FunctionCallInfo fcinfo, int argno, const char *name);
extern void source_bad_value(const char *name, const char *value, const char *detail,
							 const char *hint);
extern void source_check_option_privilege(Oid owner, const char *source_name, bool as_caller,
										  int n, const char *const *names,
										  const char *const *values);
extern void source_check_options(Jsonb *options, Oid owner, const char *source_name);
extern void source_check_brokers(const char *brokers);
extern void source_check_topic(const char *topic);
extern LambdaFormat source_check_format(const char *format);
extern void source_check_parallelism(int32 parallelism);
extern void source_check_start_from(const char *start_from);
extern EventTimeMode source_check_event_time(const char *event_time);
extern void source_check_batch_size(int32 batch_size, bool altering);
extern int32 source_check_batch_wait(const Interval *iv, bool altering);
extern char **source_columns_arg(ArrayType *arr, int *ncolumns, bool altering);
extern void source_check_columns(Oid target, EventTimeMode mode, int ncolumns, char **columns);

#endif							/* LAMBDA_SOURCE_ARGS_H */
