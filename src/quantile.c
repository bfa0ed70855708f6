/*-------------------------------------------------------------------------
 *
 * quantile.c
 *	  The aggregate behind percentile_cont(p) WITHIN GROUP (ORDER BY x) in
 *	  continuous views: a relative-error quantile sketch.
 *
 * lambda_catalog.percentile_sketch(x, p). A relative-error quantile sketch
 * in the manner of DDSketch: bin i counts the values in
 * (gamma^(i-1), gamma^i], gamma = (1+a)/(1-a), separately for positive
 * values and for the magnitudes of negative ones, so every value it returns
 * is within a = 1 % of the value at the requested rank. At most
 * SKETCH_QUANTILE_MAX_BINS bins per sign are kept (a range of about 8 * 10^8
 * between the smallest and largest magnitude); beyond that the lowest bins
 * merge.
 * Combining adds bin counts, so the result does not depend on how events
 * were split between layers. The final function interpolates between the
 * two ranks around p * (n - 1), as percentile_cont does.
 *
 * Serialized states come back from batch tables, the speed layer and the
 * bytea arguments of lambda_catalog.merge and combine_states, which any role
 * can call: the deserialization function checks every count against the
 * bytes and the range of the bins before a state is used (with sketch.c's
 * sketch_corrupted and sketch_truncated).
 *
 * Locks: none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "compat.h"
#include "quantile.h"
#include "sketch.h"

PG_FUNCTION_INFO_V1(lambda_quantile_add);
PG_FUNCTION_INFO_V1(lambda_quantile_combine);
PG_FUNCTION_INFO_V1(lambda_quantile_serialize);
PG_FUNCTION_INFO_V1(lambda_quantile_deserialize);
PG_FUNCTION_INFO_V1(lambda_quantile_final);

#define SKETCH_FORMAT	1		/* of quantile sketches */

/* ------------------------------------------------------------------------
 * Quantile states
 * ------------------------------------------------------------------------
 */

typedef struct QuantileStore
{
	int32		offset;			/* index of bins[0] */
	int32		n;
	uint64	   *bins;
} QuantileStore;

typedef struct QuantileState
{
	double		fraction;		/* the p of percentile_cont(p) */
	uint64		count;			/* every non-null value */
	uint64		zero;
	uint64		neginf;
	uint64		posinf;
	uint64		nan;
	double		min;			/* of the finite values */
	double		max;
	QuantileStore pos;			/* positive values */
	QuantileStore neg;			/* magnitudes of negative values */
	MemoryContext cxt;
} QuantileState;

Size
sketch_quantile_max_bytes(void)
{
	return 1 + 8 * 8 + 2 * (2 * sizeof(int32) + SKETCH_QUANTILE_MAX_BINS * sizeof(uint64));
}

static double
quantile_lngamma(void)
{
	return log((1.0 + SKETCH_QUANTILE_ACCURACY) / (1.0 - SKETCH_QUANTILE_ACCURACY));
}

/* The lowest bin: subnormal magnitudes share it */
#define QUANTILE_MIN_INDEX	(-1000000)

/* The bin of a positive magnitude: x in (gamma^(i-1), gamma^i]. */
static int32
quantile_index(double x)
{
	double		i = ceil(log(x) / quantile_lngamma());

	return (int32) Max(i, (double) QUANTILE_MIN_INDEX);
}

/* The value a bin stands for: within the accuracy of all of them. */
static double
quantile_value(int32 i)
{
	double		gamma = (1.0 + SKETCH_QUANTILE_ACCURACY) / (1.0 - SKETCH_QUANTILE_ACCURACY);

	return 2.0 * exp(i * quantile_lngamma()) / (gamma + 1.0);
}

static void
quantile_store_add(QuantileState *s, QuantileStore *st, int32 i, uint64 c)
{
	int32		lo;
	int32		hi;
	int32		nlo;
	int32		nhi;
	uint64	   *bins;
	int32		k;

	if (st->n == 0)
	{
		st->bins = MemoryContextAlloc(s->cxt, sizeof(uint64));
		st->offset = i;
		st->n = 1;
		st->bins[0] = c;
		return;
	}
	lo = st->offset;
	hi = st->offset + st->n - 1;
	if (i >= lo && i <= hi)
	{
		st->bins[i - lo] += c;
		return;
	}
	nlo = Min(lo, i);
	nhi = Max(hi, i);
	/* keep the highest bins; the lowest ones merge into the first kept */
	if ((int64) nhi - nlo + 1 > SKETCH_QUANTILE_MAX_BINS)
		nlo = nhi - SKETCH_QUANTILE_MAX_BINS + 1;
	bins = MemoryContextAllocZero(s->cxt, sizeof(uint64) * (nhi - nlo + 1));
	for (k = 0; k < st->n; k++)
		bins[Max(lo + k, nlo) - nlo] += st->bins[k];
	bins[Max(i, nlo) - nlo] += c;
	pfree(st->bins);
	st->bins = bins;
	st->offset = nlo;
	st->n = nhi - nlo + 1;
}

static QuantileState *
quantile_new(double fraction, MemoryContext cxt)
{
	QuantileState *s = MemoryContextAllocZero(cxt, sizeof(QuantileState));

	s->fraction = fraction;
	s->cxt = cxt;
	s->min = get_float8_infinity();
	s->max = -get_float8_infinity();
	return s;
}

static void
quantile_add_value(QuantileState *s, double x)
{
	s->count++;
	if (isnan(x))
		s->nan++;
	else if (isinf(x))
	{
		if (x > 0)
			s->posinf++;
		else
			s->neginf++;
	}
	else
	{
		if (x < s->min)
			s->min = x;
		if (x > s->max)
			s->max = x;
		if (x == 0.0)
			s->zero++;
		else if (x > 0)
			quantile_store_add(s, &s->pos, quantile_index(x), 1);
		else
			quantile_store_add(s, &s->neg, quantile_index(-x), 1);
	}
}

/* percentile_sketch(x, p): transition */
Datum
lambda_quantile_add(PG_FUNCTION_ARGS)
{
	QuantileState *s = PG_ARGISNULL(0) ? NULL : (QuantileState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	if (s == NULL)
	{
		double		p = PG_GETARG_FLOAT8(2);

		if (p < 0 || p > 1 || isnan(p))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("percentile value %g is not between 0 and 1", p)));
		s = quantile_new(p, sketch_agg_context(fcinfo));
	}
	quantile_add_value(s, PG_GETARG_FLOAT8(1));
	PG_RETURN_POINTER(s);
}

static void
quantile_merge(QuantileState *a, QuantileState *b)
{
	int32		k;

	a->count += b->count;
	a->zero += b->zero;
	a->neginf += b->neginf;
	a->posinf += b->posinf;
	a->nan += b->nan;
	a->min = Min(a->min, b->min);
	a->max = Max(a->max, b->max);
	for (k = 0; k < b->pos.n; k++)
		if (b->pos.bins[k])
			quantile_store_add(a, &a->pos, b->pos.offset + k, b->pos.bins[k]);
	for (k = 0; k < b->neg.n; k++)
		if (b->neg.bins[k])
			quantile_store_add(a, &a->neg, b->neg.offset + k, b->neg.bins[k]);
}

Datum
lambda_quantile_combine(PG_FUNCTION_ARGS)
{
	QuantileState *a = PG_ARGISNULL(0) ? NULL : (QuantileState *) PG_GETARG_POINTER(0);
	QuantileState *b = PG_ARGISNULL(1) ? NULL : (QuantileState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = quantile_new(b->fraction, sketch_agg_context(fcinfo));
	quantile_merge(a, b);
	PG_RETURN_POINTER(a);
}

Datum
lambda_quantile_serialize(PG_FUNCTION_ARGS)
{
	QuantileState *s = (QuantileState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	QuantileStore *stores[2] = {&s->pos, &s->neg};
	int			k;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, SKETCH_FORMAT);
	appendBinaryStringInfo(&buf, (char *) &s->fraction, sizeof(double));
	appendBinaryStringInfo(&buf, (char *) &s->count, sizeof(uint64));
	appendBinaryStringInfo(&buf, (char *) &s->zero, sizeof(uint64));
	appendBinaryStringInfo(&buf, (char *) &s->neginf, sizeof(uint64));
	appendBinaryStringInfo(&buf, (char *) &s->posinf, sizeof(uint64));
	appendBinaryStringInfo(&buf, (char *) &s->nan, sizeof(uint64));
	appendBinaryStringInfo(&buf, (char *) &s->min, sizeof(double));
	appendBinaryStringInfo(&buf, (char *) &s->max, sizeof(double));
	for (k = 0; k < 2; k++)
	{
		appendBinaryStringInfo(&buf, (char *) &stores[k]->offset, sizeof(int32));
		appendBinaryStringInfo(&buf, (char *) &stores[k]->n, sizeof(int32));
		if (stores[k]->n > 0)
			appendBinaryStringInfo(&buf, (char *) stores[k]->bins, sizeof(uint64) * stores[k]->n);
	}
	PG_RETURN_BYTEA_P(sketch_bytea(&buf));
}

/*
 * Restores a quantile state, checking what quantile_at and
 * quantile_store_add rely on: the fraction in [0, 1], bins within the range
 * of indexes quantile_index gives (so that index arithmetic cannot
 * overflow), and the count equal to the values in the bins and the special
 * counters.
 */
Datum
lambda_quantile_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(b);
	const char *end = p + VARSIZE_ANY_EXHDR(b);
	QuantileState *s;
	QuantileStore *stores[2];
	double		fraction;
	uint64		total;
	int32		maxindex = quantile_index(DBL_MAX);
	int			k;

	sketch_truncated(p, end, 1 + 8 * 8);
	if (p[0] != SKETCH_FORMAT)
		sketch_corrupted(psprintf("It has format %d.", p[0]));
	p++;
	memcpy(&fraction, p, sizeof(double));
	p += sizeof(double);
	if (!(fraction >= 0 && fraction <= 1))
		sketch_corrupted(psprintf("Its fraction is %g.", fraction));
	s = quantile_new(fraction, sketch_agg_context(fcinfo));
	memcpy(&s->count, p, sizeof(uint64));
	p += sizeof(uint64);
	memcpy(&s->zero, p, sizeof(uint64));
	p += sizeof(uint64);
	memcpy(&s->neginf, p, sizeof(uint64));
	p += sizeof(uint64);
	memcpy(&s->posinf, p, sizeof(uint64));
	p += sizeof(uint64);
	memcpy(&s->nan, p, sizeof(uint64));
	p += sizeof(uint64);
	memcpy(&s->min, p, sizeof(double));
	p += sizeof(double);
	memcpy(&s->max, p, sizeof(double));
	p += sizeof(double);
	if (isnan(s->min) || isnan(s->max))
		sketch_corrupted("Its minimum or maximum is NaN.");
	if (pg_add_u64_overflow(s->zero, s->neginf, &total) ||
		pg_add_u64_overflow(total, s->posinf, &total) ||
		pg_add_u64_overflow(total, s->nan, &total))
		sketch_corrupted("Its counters overflow.");
	stores[0] = &s->pos;
	stores[1] = &s->neg;
	for (k = 0; k < 2; k++)
	{
		QuantileStore *st = stores[k];
		int32		i;

		sketch_truncated(p, end, 2 * sizeof(int32));
		memcpy(&st->offset, p, sizeof(int32));
		memcpy(&st->n, p + sizeof(int32), sizeof(int32));
		p += 2 * sizeof(int32);
		if (st->n < 0 || st->n > SKETCH_QUANTILE_MAX_BINS)
			sketch_corrupted(psprintf("It has %d bins.", st->n));
		if (st->n > 0 &&
			(st->offset < QUANTILE_MIN_INDEX || (int64) st->offset + st->n - 1 > maxindex))
			sketch_corrupted(psprintf("Its bins %d to %lld are out of range.", st->offset,
									  (long long) st->offset + st->n - 1));
		if (st->n > 0)
		{
			sketch_truncated(p, end, sizeof(uint64) * st->n);
			st->bins = MemoryContextAlloc(s->cxt, sizeof(uint64) * st->n);
			memcpy(st->bins, p, sizeof(uint64) * st->n);
			p += sizeof(uint64) * st->n;
			for (i = 0; i < st->n; i++)
			{
				if (pg_add_u64_overflow(total, st->bins[i], &total))
					sketch_corrupted("Its bins overflow.");
			}
		}
	}
	if (p != end)
		sketch_corrupted(psprintf("It has %zu bytes after its bins.", (Size) (end - p)));
	if (total != s->count)
		sketch_corrupted(psprintf("It counts " UINT64_FORMAT " values but holds " UINT64_FORMAT ".",
								  s->count, total));
	PG_RETURN_POINTER(s);
}

/* The value at 0-based rank k, in the order ORDER BY x gives (NaN last). */
static double
quantile_at(QuantileState *s, uint64 k)
{
	uint64		seen = 0;
	int32		i;
	double		v;

	if (k < s->neginf)
		return -get_float8_infinity();
	/* the ends of the finite values are kept exactly */
	if (k == s->neginf && s->min <= s->max)
		return s->min;
	if (k == s->count - s->nan - s->posinf - 1 && s->min <= s->max)
		return s->max;
	seen = s->neginf;
	for (i = s->neg.n - 1; i >= 0; i--)
	{
		seen += s->neg.bins[i];
		if (k < seen)
		{
			v = -quantile_value(s->neg.offset + i);
			return Max(Min(v, s->max), s->min);
		}
	}
	seen += s->zero;
	if (k < seen)
		return 0.0;
	for (i = 0; i < s->pos.n; i++)
	{
		seen += s->pos.bins[i];
		if (k < seen)
		{
			v = quantile_value(s->pos.offset + i);
			return Max(Min(v, s->max), s->min);
		}
	}
	seen += s->posinf;
	if (k < seen)
		return get_float8_infinity();
	return get_float8_nan();
}

/* percentile_cont(p): interpolated between the ranks around p * (n - 1) */
Datum
lambda_quantile_final(PG_FUNCTION_ARGS)
{
	QuantileState *s = PG_ARGISNULL(0) ? NULL : (QuantileState *) PG_GETARG_POINTER(0);
	double		r;
	uint64		lo;
	uint64		hi;
	double		a;
	double		b;

	if (s == NULL || s->count == 0)
		PG_RETURN_NULL();
	r = s->fraction * (double) (s->count - 1);
	lo = (uint64) floor(r);
	hi = (uint64) ceil(r);
	a = quantile_at(s, lo);
	if (hi == lo)
		PG_RETURN_FLOAT8(a);
	b = quantile_at(s, hi);
	PG_RETURN_FLOAT8(a + (r - lo) * (b - a));
}
