/*-------------------------------------------------------------------------
 *
 * sketch.h
 *	  The aggregates behind count(DISTINCT x) and percentile_cont in
 *	  continuous views: exact value sets that turn into HyperLogLog
 *	  sketches, and relative-error quantile sketches.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SKETCH_H
#define LAMBDA_SKETCH_H

#include "postgres.h"

#include "fmgr.h"

/* HyperLogLog: 2^14 one-byte registers, standard error 1.04 / 2^7 = 0.81 % */
#define SKETCH_HLL_BITS		14
#define SKETCH_HLL_REGISTERS	(1 << SKETCH_HLL_BITS)

/*
 * A distinct state in the speed layer keeps its values while their
 * serialized form fits in this many bytes, then becomes a sketch.
 */
#define SKETCH_DISTINCT_EXACT_BYTES	SKETCH_HLL_REGISTERS

/* The batch layer's sets: beyond either bound a group stays a sketch */
#define SKETCH_DISTINCT_MAX_VALUES	10000000
#define SKETCH_DISTINCT_MAX_BYTES	((Size) 256 * 1024 * 1024)

/* Quantile sketch: relative accuracy of every returned value, bins per sign */
#define SKETCH_QUANTILE_ACCURACY	0.01
#define SKETCH_QUANTILE_MAX_BINS	1024

/* Upper bounds of a serialized state, per group */
extern Size sketch_distinct_max_bytes(void);
extern Size sketch_quantile_max_bytes(void);

/* Distinct states (count(DISTINCT x)): Datum is an internal state */
extern bool sketch_distinct_is_exact(Datum state);
extern void sketch_distinct_uncap(Datum state);
extern int64 sketch_distinct_serialized_count(const char *data, Size len, Size total,
											   Oid typid, Oid collation);
extern void sketch_distinct_check_header(const char *data, Size len, Oid typid, Oid collation);

/* Bytes at the start of a serialized distinct state that hold its count */
#define SKETCH_DISTINCT_COUNT_PREFIX	14

#endif							/* LAMBDA_SKETCH_H */
