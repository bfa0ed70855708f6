/*-------------------------------------------------------------------------
 *
 * aggstate.h
 *	  Aggregate states: an aggregate's support functions called as nodeAgg
 *	  calls them, and the serialized form of one state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_AGGSTATE_H
#define LAMBDA_AGGSTATE_H

#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/primnodes.h"
#include "utils/array.h"

#include "image.h"

/* What an aggregate of a view is computed with. */
typedef enum ViewAggKind
{
	AGG_KIND_PLAIN,				/* its own support functions */
	AGG_KIND_DISTINCT,			/* count(DISTINCT x): sets and sketches */
	AGG_KIND_QUANTILE			/* percentile_cont: a quantile sketch */
} ViewAggKind;

/*
 * Transition functions that partial.c runs inline (aggmeta_advance_fast):
 * the built-in ones of count, sum, min, max and avg over int4 and int8,
 * computed exactly as the functions compute them.
 */
typedef enum AggFast
{
	AGG_FAST_NONE,
	AGG_FAST_INT8INC,			/* count(*), count(x): int8inc(_any) */
	AGG_FAST_INT4_SUM,			/* sum(int4): int4_sum */
	AGG_FAST_INT4_SMALLER,		/* min(int4) */
	AGG_FAST_INT4_LARGER,		/* max(int4) */
	AGG_FAST_INT8_SMALLER,		/* min(int8) */
	AGG_FAST_INT8_LARGER,		/* max(int8) */
	AGG_FAST_INT4_AVG			/* avg(int4): int4_avg_accum */
} AggFast;

/* One aggregate's machinery, from pg_aggregate, resolved for its inputs. */
typedef struct AggMeta
{
	Oid			aggfnoid;
	ViewAggKind kind;
	Oid			collation;		/* the aggregate's input collation */
	Oid			transtype;
	int16		translen;
	bool		transbyval;
	bool		internal;		/* transtype internal: serial/deserial */
	int			ntransargs;		/* inputs the transition function takes */
	FmgrInfo	transfn;
	bool		transstrict;
	AggFast		fast;			/* transfn runs inline, or AGG_FAST_NONE */
	bool		fastcombine;	/* and its combinefn (aggmeta_combine_image_fast) */
	bool		hasexact;		/* a batch-layer transition (AGG_KIND_DISTINCT) */
	FmgrInfo	exacttransfn;
	FmgrInfo	combinefn;
	bool		combinestrict;
	FmgrInfo	serialfn;
	FmgrInfo	deserialfn;
	bool		hasfinal;
	FmgrInfo	finalfn;
	bool		finalstrict;
	int			nfinalargs;		/* including the state */
	Datum		initval;
	bool		initnull;
	Oid			resulttype;
	const ImageType *image;		/* how states are checked (not internal) */
	Oid			compactelem;	/* int8 or float8: arrays of it are serialized
								 * compact (IMAGE_ARRAY_TAG), or InvalidOid */
	int			compactn;		/* ... of this many elements (the initial
								 * state's) */
	Oid			valuetype;		/* AGG_KIND_DISTINCT: the values' type */
} AggMeta;

/* Aggregate machinery */
extern void aggmeta_init(AggMeta *m, Aggref *aggref, MemoryContext cxt);
extern void aggmeta_advance(AggMeta *m, FunctionCallInfo fcinfo, Datum *val, bool *isnull,
							MemoryContext cxt);
extern void aggmeta_combine(AggMeta *m, Datum *val, bool *isnull,
							Datum in, bool innull, MemoryContext cxt);
extern void aggmeta_initial(AggMeta *m, Datum *val, bool *isnull, MemoryContext cxt);
extern bytea *aggmeta_serialize(AggMeta *m, Datum val);
extern Datum aggmeta_deserialize(AggMeta *m, const char *data, int len, MemoryContext cxt);
extern Datum aggmeta_finalize(AggMeta *m, Datum val, bool isnull, bool *resnull);

extern bool aggmeta_combine_image_fast(AggMeta *m, char *a, const char *b, uint32 len, bool check);

/*
 * Folds one row's argument (none for count(*)) into a state without calling
 * the transition function, for the functions of AggFast: the same result,
 * the same error on overflow. False when the state is not what the function
 * expects (the caller then calls it: aggmeta_advance). Inline: partial.c
 * calls it for every aggregate of every row.
 */
static pg_attribute_always_inline bool
aggmeta_advance_fast(AggMeta *m, Datum arg, bool argnull, Datum *val, bool *isnull)
{
	switch (m->fast)
	{
		case AGG_FAST_NONE:
			return false;
		case AGG_FAST_INT8INC:
			{
				/* strict; the state starts at 0 */
				int64		r;

				if (argnull)
					return true;
				if (*isnull)
					return false;
				if (unlikely(pg_add_s64_overflow(DatumGetInt64(*val), 1, &r)))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("bigint out of range")));
				*val = Int64GetDatum(r);
				return true;
			}
		case AGG_FAST_INT4_SUM:
			/* not strict: int4_sum's own NULL rules, no overflow check */
			if (argnull)
				return true;
			if (*isnull)
				*val = Int64GetDatum((int64) DatumGetInt32(arg));
			else
				*val = Int64GetDatum(DatumGetInt64(*val) + (int64) DatumGetInt32(arg));
			*isnull = false;
			return true;
		case AGG_FAST_INT4_SMALLER:
		case AGG_FAST_INT4_LARGER:
			/* strict: the first non-NULL input becomes the state */
			if (argnull)
				return true;
			if (*isnull ||
				(m->fast == AGG_FAST_INT4_SMALLER ?
				 DatumGetInt32(arg) < DatumGetInt32(*val) :
				 DatumGetInt32(arg) > DatumGetInt32(*val)))
				*val = Int32GetDatum(DatumGetInt32(arg));
			*isnull = false;
			return true;
		case AGG_FAST_INT8_SMALLER:
		case AGG_FAST_INT8_LARGER:
			if (argnull)
				return true;
			if (*isnull ||
				(m->fast == AGG_FAST_INT8_SMALLER ?
				 DatumGetInt64(arg) < DatumGetInt64(*val) :
				 DatumGetInt64(arg) > DatumGetInt64(*val)))
				*val = Int64GetDatum(DatumGetInt64(arg));
			*isnull = false;
			return true;
		case AGG_FAST_INT4_AVG:
			{
				/* strict; {count, sum} as int8[2], changed in place */
				ArrayType  *a;
				int64	   *d;

				if (argnull)
					return true;
				if (*isnull || VARATT_IS_EXTENDED(DatumGetPointer(*val)))
					return false;
				a = (ArrayType *) DatumGetPointer(*val);
				if (ARR_HASNULL(a) || ARR_SIZE(a) != ARR_OVERHEAD_NONULLS(1) + 2 * sizeof(int64))
					return false;
				d = (int64 *) ARR_DATA_PTR(a);
				d[0]++;
				d[1] += (int64) DatumGetInt32(arg);
				return true;
			}
	}
	return false;
}

#endif							/* LAMBDA_AGGSTATE_H */
