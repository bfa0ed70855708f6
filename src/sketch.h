/*-------------------------------------------------------------------------
 *
 * sketch.h
 *	  The aggregate behind count(DISTINCT x) in continuous views: exact
 *	  value sets that turn into HyperLogLog sketches; helpers shared with
 *	  quantile.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SKETCH_H
#define LAMBDA_SKETCH_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

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

/* Upper bound of a serialized state, per group */
extern Size sketch_distinct_max_bytes(void);

/* Distinct states (count(DISTINCT x)): Datum is an internal state */
extern bool sketch_distinct_is_exact(Datum state);
extern void sketch_distinct_uncap(Datum state);
extern int64 sketch_distinct_serialized_count(const char *data, Size len, Size total,
											   Oid typid, Oid collation);
extern void sketch_distinct_check_header(const char *data, Size len, Oid typid, Oid collation);
extern bytea *sketch_distinct_union(const char *adata, Size alen, const char *bdata, Size blen,
									 Oid typid, Oid collation);

/* Bytes at the start of a serialized distinct state that hold its count */
#define SKETCH_DISTINCT_COUNT_PREFIX	14

/* Shared with quantile.c */
extern bytea *sketch_bytea(StringInfo buf);
extern MemoryContext sketch_agg_context(FunctionCallInfo fcinfo);
extern void sketch_corrupted(const char *detail);
extern void sketch_truncated(const char *p, const char *end, Size need);

#endif							/* LAMBDA_SKETCH_H */
