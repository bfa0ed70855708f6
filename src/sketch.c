/*-------------------------------------------------------------------------
 *
 * sketch.c
 *	  The aggregate behind count(DISTINCT x) in continuous views: exact
 *	  value sets that turn into HyperLogLog sketches.
 *
 * A continuous view computes count(DISTINCT x) and percentile_cont (see
 * quantile.c) through aggregates of its own (see cview.c), so that their
 * states can be combined like any other:
 *
 * lambda_catalog.count_distinct(x). The state is a set of the group's
 * distinct values, each with a 64-bit hash from the type's extended hash
 * function, deduplicated with the type's equality (so numeric 1.0 and 1.00
 * are one value, as in count(DISTINCT)). A state made by the speed layer is
 * "capped": once its values no longer fit in SKETCH_DISTINCT_EXACT_BYTES
 * serialized, it becomes a HyperLogLog sketch of 2^14 registers (standard
 * error 0.81 %), and its values are gone. A state made by the batch layer
 * (from the events) is never capped. Combining two sets gives a set;
 * anything combined with a sketch is a sketch. So a group answers the exact
 * count while every state it is made of is a set, and an estimate
 * otherwise; a refresh that would fold a sketch into the batch table reads
 * the events instead (batch.c), which makes the group exact again. (A set
 * beyond SKETCH_DISTINCT_MAX_VALUES values or SKETCH_DISTINCT_MAX_BYTES
 * becomes a sketch in the batch layer too: such a group stays approximate.)
 * The merged read combines states uncapped, so that speed-layer sets of
 * several generations or window steps stay a set. The estimate is Ertl's improved raw estimator ("New cardinality estimation
 * algorithms for HyperLogLog sketches", 2017), which needs no bias tables.
 *
 * lambda_catalog.percentile_sketch(x, p): quantile.c, which uses four
 * helpers of this file (sketch_bytea, sketch_agg_context, sketch_corrupted,
 * sketch_truncated).
 *
 * Serialized states come back from batch tables, the speed layer and the
 * bytea arguments of lambda_catalog.merge and combine_states, which any role
 * can call: the deserialization functions check every count, length and
 * offset against the bytes, the order of a set's hashes (lookups bisect
 * them) and the range of sketch registers and bins before a state is used.
 * A set's values are checked by image.c's rules for their type as they are
 * read; values of types image.c cannot check in place are kept in their
 * binary send form (set format 2; format 1 is read for other types).
 *
 * A refresh combines each group's stored set with its new values through
 * combine_states (merge.c): two serialized sets are merged there as they
 * are, in the order of their hashes, into the bytes of the union
 * (sketch_distinct_union), checked as deserialization checks them, without
 * building a state.
 *
 * Locks: none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/tupmacs.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "compat.h"
#include "image.h"
#include "memhint.h"
#include "sketch.h"

PG_FUNCTION_INFO_V1(lambda_distinct_add);
PG_FUNCTION_INFO_V1(lambda_distinct_add_exact);
PG_FUNCTION_INFO_V1(lambda_distinct_combine);
PG_FUNCTION_INFO_V1(lambda_distinct_serialize);
PG_FUNCTION_INFO_V1(lambda_distinct_deserialize);
PG_FUNCTION_INFO_V1(lambda_distinct_final);

#define DISTINCT_FORMAT	2		/* of distinct states (1: no send forms) */

/* The largest HyperLogLog register: the first 1 bit of 50, or 51 if none */
#define HLL_MAX_RHO		(64 - SKETCH_HLL_BITS + 1)

/* ------------------------------------------------------------------------
 * Distinct states
 * ------------------------------------------------------------------------
 */

typedef struct DistinctSlot
{
	uint64		hash;
	Datum		value;
} DistinctSlot;

/*
 * A set is the values of a serialized state as they were read ("packed":
 * sorted by hash, looked up by binary search, never unpacked) plus the
 * values added since, in a hash table. The table is open addressing with
 * linear probing, a value's first slot given by the top bits of its hash:
 * so its slots hold the values nearly in the order of their hashes, which
 * serialization only has to finish sorting, and a bitmap of the slots in
 * use keeps a probe to one cache miss, on the slot.
 */
typedef struct DistinctState
{
	Oid			typid;
	Oid			collation;
	TypeCacheEntry *tce;		/* typlen, equality and hash functions */
	const ImageType *img;		/* how its values are checked, or sent */
	bool		capped;			/* a speed-layer state: may become a sketch */
	bool		sketch;			/* registers valid, values gone */
	bool		pooled;			/* slots carved from a pool (never freed) */
	int			shift;			/* 64 - log2(nslots): a hash's first slot */
	MemoryContext cxt;
	/* values read from a serialized state */
	uint32		npacked;
	/* values added since: open addressing on the hash */
	uint32		nvalues;
	char	   *packed;			/* the buffer they are in */
	const char *phashes;		/* npacked uint64, ascending */
	const char *poffsets;		/* varlena/cstring: npacked + 1 uint32 */
	const char *pvalues;
	uint32		nslots;			/* a power of 2, or 0 */
	DistinctSlot *slots;
	uint64	   *used;			/* a bit for each slot: used_inline up to 64 */
	Size		bytes;			/* serialized size of all values */
	/* the sketch */
	uint8	   *regs;
	uint64		used_inline;
} DistinctState;

#define DISTINCT_USED(s, i)	(((s)->used[(i) / 64] >> ((i) % 64)) & 1)

/* Whether a table of nslots slots holds n values: at most 3/4 of it in use */
#define DISTINCT_ROOM(n, nslots)	((uint64) (n) * 4 <= (uint64) (nslots) * 3)

/*
 * A set of a few values (most groups of most views) is its state, with the
 * bitmap of a table up to 64 slots, and its first table of 16 slots: 128
 * and 256 bytes, carved one after the other from a pool (below)
 */
StaticAssertDecl(sizeof(DistinctState) <= 128, "a distinct state fits a 128-byte chunk");

/* format, flags, type, collation */
#define DISTINCT_HEADER		10

Size
sketch_distinct_max_bytes(void)
{
	/* the header and the larger of the two forms */
	return DISTINCT_HEADER + Max(sizeof(uint32) * 2 + SKETCH_DISTINCT_EXACT_BYTES, SKETCH_HLL_REGISTERS);
}

static TypeCacheEntry *
distinct_type(Oid typid)
{
	TypeCacheEntry *tce = lookup_type_cache(typid, TYPECACHE_EQ_OPR_FINFO |
											TYPECACHE_HASH_EXTENDED_PROC_FINFO);

	if (!OidIsValid(tce->eq_opr_finfo.fn_oid) || !OidIsValid(tce->hash_extended_proc_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify equality and hash functions for type %s",
						format_type_be(typid)),
				 errhint("Count distinct values of a cast to a type with a hash operator class, e.g. text.")));
	return tce;
}

/*
 * Pools of a memory context: new states and their first tables carved one
 * after the other from blocks of the context, so that a group's state and
 * table share lines and pages, and so that the many small sets of a large
 * aggregation (a COPY into a count(DISTINCT) view of 100,000 groups makes
 * as many) take memory a large block at a time, mapped at once
 * (lambda_populate_write) and from several megabytes on advised for huge
 * pages, rather than one page fault for every few sets. Blocks double from
 * DISTINCT_POOL_MIN, so a set or two cost no more than before. What is
 * carved is freed with the context, never by itself (a set's first table,
 * replaced when the set grows, stays unused). A pool is found by its
 * context among the DISTINCT_POOLS last ones (a statement feeds one to
 * each view), and forgotten when the context is reset or deleted.
 */
#define DISTINCT_POOLS			8
#define DISTINCT_POOL_MIN		(2 * 1024)
#define DISTINCT_POOL_MAX		(8 * 1024 * 1024)
#define DISTINCT_POOL_POPULATE	(64 * 1024)

typedef struct DistinctPool
{
	MemoryContext cxt;
	char	   *free;			/* the room left in the newest block */
	char	   *end;
	Size		next;			/* the size of the next block */
	MemoryContextCallback gone;
} DistinctPool;

static DistinctPool *distinct_pools[DISTINCT_POOLS];
static uint32 distinct_pool_turn;

/* A reset or delete callback: the pool's context lets its memory go. */
static void
distinct_pool_gone(void *arg)
{
	int			i;

	for (i = 0; i < DISTINCT_POOLS; i++)
		if (distinct_pools[i] == arg)
			distinct_pools[i] = NULL;
}

/* size bytes (MAXALIGNed) from the pool of cxt, made if it has none. */
static void *
distinct_pool_alloc(MemoryContext cxt, Size size)
{
	DistinctPool *p = NULL;
	char	   *r;
	int			i;
	int			empty = -1;

	for (i = 0; i < DISTINCT_POOLS; i++)
	{
		if (distinct_pools[i] == NULL)
			empty = empty < 0 ? i : empty;
		else if (distinct_pools[i]->cxt == cxt)
		{
			p = distinct_pools[i];
			break;
		}
	}
	if (p == NULL)
	{
		p = MemoryContextAllocZero(cxt, sizeof(DistinctPool));
		p->cxt = cxt;
		p->next = DISTINCT_POOL_MIN;
		p->gone.func = distinct_pool_gone;
		p->gone.arg = p;
		MemoryContextRegisterResetCallback(cxt, &p->gone);
		/* one forgotten for it: its carved memory stays its context's */
		if (empty < 0)
			empty = distinct_pool_turn++ % DISTINCT_POOLS;
		distinct_pools[empty] = p;
	}
	size = MAXALIGN(size);
	if ((Size) (p->end - p->free) < size)
	{
		Size		block = Max(p->next, size);

		p->free = MemoryContextAllocHuge(cxt, block);
		p->end = p->free + block;
		p->next = Min(block * 2, DISTINCT_POOL_MAX);
		if (block >= 2 * LAMBDA_HUGE_PAGE)
			lambda_advise_huge(p->free, block);
		if (block >= DISTINCT_POOL_POPULATE)
			lambda_populate_write(p->free, block);
	}
	r = p->free;
	p->free += size;
	return r;
}

static DistinctState *
distinct_new(Oid typid, Oid collation, bool capped, MemoryContext cxt)
{
	DistinctState *s = distinct_pool_alloc(cxt, sizeof(DistinctState));

	memset(s, 0, sizeof(DistinctState));
	s->typid = typid;
	s->collation = collation;
	s->tce = distinct_type(typid);
	s->img = image_type_lookup(typid);
	s->capped = capped;
	s->cxt = cxt;
	return s;
}

/* The murmur3 finalizer: every input bit reaches every output bit. */
static inline uint64
sketch_mix64(uint64 h)
{
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

static uint64
distinct_hash(DistinctState *s, Datum value)
{
	return sketch_mix64(DatumGetUInt64(FunctionCall2Coll(&s->tce->hash_extended_proc_finfo,
														 s->collation, value, Int64GetDatum(0))));
}

/*
 * Bytes of a value in the serialized form, besides its hash: the value, and
 * for a varlena or cstring its offset.
 */
static Size
distinct_value_bytes(DistinctState *s, Datum value)
{
	if (s->img->kind == IMAGE_SEND)
	{
		bytea	   *b = image_send(s->img, value);
		Size		n = sizeof(uint32) + VARSIZE(b) - VARHDRSZ;

		pfree(b);
		return n;
	}
	if (s->tce->typlen > 0)
		return s->tce->typlen;
	if (s->tce->typlen == -1)
		return sizeof(uint32) + VARSIZE_ANY_EXHDR(DatumGetPointer(value));
	return sizeof(uint32) + strlen(DatumGetCString(value)) + 1;
}

static uint64
distinct_packed_hash(DistinctState *s, uint32 i)
{
	uint64		h;

	memcpy(&h, s->phashes + (Size) i * sizeof(uint64), sizeof(uint64));
	return h;
}

/* Bytes of packed value i (besides its hash and offset). */
static inline uint32
distinct_packed_len(DistinctState *s, uint32 i)
{
	uint32		off;
	uint32		next;

	if (s->tce->typlen > 0)
		return s->tce->typlen;
	memcpy(&off, s->poffsets + (Size) i * sizeof(uint32), sizeof(uint32));
	memcpy(&next, s->poffsets + (Size) (i + 1) * sizeof(uint32), sizeof(uint32));
	return next - off;
}

static inline const char *
distinct_packed_bytes(DistinctState *s, uint32 i)
{
	uint32		off;

	if (s->tce->typlen > 0)
		return s->pvalues + (Size) i * s->tce->typlen;
	memcpy(&off, s->poffsets + (Size) i * sizeof(uint32), sizeof(uint32));
	return s->pvalues + off;
}

/*
 * Packed value i as a datum, in the current memory context when copied;
 * checked by its type's rule first (the bytes may be anyone's).
 */
static Datum
distinct_packed_value(DistinctState *s, uint32 i)
{
	int16		typlen = s->tce->typlen;
	const char *p;
	uint32		len;

	if (typlen > 0)
	{
		p = s->pvalues + (Size) i * typlen;
		if (!s->tce->typbyval)
			image_check_content(s->img, p, typlen);
		if (s->tce->typbyval)
		{
			Datum		d = 0;

			switch (typlen)
			{
				case 1:
					d = CharGetDatum(*p);
					break;
				case 2:
					{
						int16		x;

						memcpy(&x, p, 2);
						d = Int16GetDatum(x);
						break;
					}
				case 4:
					{
						int32		x;

						memcpy(&x, p, 4);
						d = Int32GetDatum(x);
						break;
					}
				default:
					{
						int64		x;

						memcpy(&x, p, 8);
						d = Int64GetDatum(x);
						break;
					}
			}
			return d;
		}
		else
		{
			char	   *c = palloc(typlen);

			memcpy(c, p, typlen);
			return PointerGetDatum(c);
		}
	}
	else
	{
		uint32		off;
		uint32		next;

		memcpy(&off, s->poffsets + (Size) i * sizeof(uint32), sizeof(uint32));
		memcpy(&next, s->poffsets + (Size) (i + 1) * sizeof(uint32), sizeof(uint32));
		p = s->pvalues + off;
		len = next - off;
		if (s->img->kind == IMAGE_SEND)
			return image_recv(s->img, p, len);
		image_check_content(s->img, p, len);
		if (typlen == -1)
		{
			struct varlena *v = palloc(VARHDRSZ + len);

			SET_VARSIZE(v, VARHDRSZ + len);
			memcpy(VARDATA(v), p, len);
			return PointerGetDatum(v);
		}
		else
		{
			char	   *c = palloc(len);

			memcpy(c, p, len);
			return CStringGetDatum(c);
		}
	}
}

/* Whether the packed values hold one equal to value (whose hash is hash). */
static bool
distinct_packed_has(DistinctState *s, uint64 hash, Datum value)
{
	uint32		lo = 0;
	uint32		hi = s->npacked;

	/* the first packed value whose hash is not below hash */
	while (lo < hi)
	{
		uint32		mid = lo + (hi - lo) / 2;

		if (distinct_packed_hash(s, mid) < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->npacked && distinct_packed_hash(s, lo) == hash; lo++)
	{
		Datum		v = distinct_packed_value(s, lo);
		bool		eq = DatumGetBool(FunctionCall2Coll(&s->tce->eq_opr_finfo, s->collation, v, value));

		if (!s->tce->typbyval)
			pfree(DatumGetPointer(v));
		if (eq)
			return true;
	}
	return false;
}

static void
hll_add(uint8 *regs, uint64 hash)
{
	uint32		idx = (uint32) (hash >> (64 - SKETCH_HLL_BITS));
	uint64		rest = hash << SKETCH_HLL_BITS;
	uint8		rho;

	/* position of the first 1 bit in the remaining 50 bits, 51 if none */
	if (rest == 0)
		rho = 64 - SKETCH_HLL_BITS + 1;
	else
		rho = 63 - pg_leftmost_one_pos64(rest) + 1;
	if (regs[idx] < rho)
		regs[idx] = rho;
}

static double
hll_sigma(double x)
{
	double		y = 1.0;
	double		z = x;
	double		zp;

	if (x == 1.0)
		return get_float8_infinity();
	do
	{
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

static double
hll_tau(double x)
{
	double		y = 1.0;
	double		z;
	double		zp;

	if (x == 0.0 || x == 1.0)
		return 0.0;
	z = 1.0 - x;
	do
	{
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1.0 - x) * (1.0 - x) * y;
	} while (z != zp);
	return z / 3.0;
}

/* Ertl's improved raw estimate from the register histogram. */
static double
hll_estimate(const uint8 *regs)
{
	const int	q = 64 - SKETCH_HLL_BITS;
	const double m = SKETCH_HLL_REGISTERS;
	int			hist[64 - SKETCH_HLL_BITS + 2] = {0};
	double		z;
	int			k;

	for (k = 0; k < SKETCH_HLL_REGISTERS; k++)
		hist[regs[k]]++;
	if (hist[0] == SKETCH_HLL_REGISTERS)
		return 0.0;
	z = m * hll_tau(1.0 - hist[q + 1] / m);
	for (k = q; k >= 1; k--)
		z = 0.5 * (z + hist[k]);
	z += m * hll_sigma(hist[0] / m);
	return (0.5 / log(2.0)) * m * m / z;
}

/* Turns a set into a sketch of the same values. */
static void
distinct_to_sketch(DistinctState *s)
{
	uint32		i;

	if (s->sketch)
		return;
	s->regs = MemoryContextAllocZero(s->cxt, SKETCH_HLL_REGISTERS);
	for (i = 0; i < s->npacked; i++)
		hll_add(s->regs, distinct_packed_hash(s, i));
	for (i = 0; i < s->nslots; i++)
	{
		if (!DISTINCT_USED(s, i))
			continue;
		hll_add(s->regs, s->slots[i].hash);
		if (!s->tce->typbyval)
			pfree(DatumGetPointer(s->slots[i].value));
	}
	if (s->slots)
	{
		if (!s->pooled)
			pfree(s->slots);
		if (s->used != &s->used_inline)
			pfree(s->used);
	}
	if (s->packed)
		pfree(s->packed);
	s->packed = NULL;
	s->npacked = 0;
	s->slots = NULL;
	s->pooled = false;
	s->used = NULL;
	s->nslots = 0;
	s->nvalues = 0;
	s->bytes = 0;
	s->sketch = true;
}

/*
 * Moves the values into a table of nslots slots (a power of 2, at least 16,
 * more than the table has); the bitmap of up to 64 slots is the state's own.
 */
static void
distinct_resize(DistinctState *s, uint32 nslots)
{
	uint32		oldn = s->nslots;
	DistinctSlot *old = s->slots;
	uint64		inline_used = s->used_inline;
	uint64	   *oldused = s->used == &s->used_inline ? &inline_used : s->used;
	bool		oldpooled = s->pooled;
	uint32		i;
	uint32		mask;

	Assert(nslots >= 16 && nslots > oldn && (nslots & (nslots - 1)) == 0);
	s->nslots = nslots;
	s->shift = 64 - pg_leftmost_one_pos32(s->nslots);
	mask = s->nslots - 1;
	/* the first table beside the state, in its pool; the larger ones alone */
	s->pooled = oldn == 0 && nslots == 16;
	if (s->pooled)
		s->slots = distinct_pool_alloc(s->cxt, sizeof(DistinctSlot) * s->nslots);
	else
		s->slots = MemoryContextAlloc(s->cxt, sizeof(DistinctSlot) * s->nslots);
	if (s->nslots <= 64)
	{
		s->used_inline = 0;
		s->used = &s->used_inline;
	}
	else
		s->used = MemoryContextAllocZero(s->cxt, sizeof(uint64) * ((s->nslots + 63) / 64));
	for (i = 0; i < oldn; i++)
	{
		uint32		j;

		if (!((oldused[i / 64] >> (i % 64)) & 1))
			continue;
		j = (uint32) (old[i].hash >> s->shift);
		while (DISTINCT_USED(s, j))
			j = (j + 1) & mask;
		s->used[j / 64] |= UINT64CONST(1) << (j % 64);
		s->slots[j] = old[i];
	}
	if (old)
	{
		if (!oldpooled)
			pfree(old);
		if (oldused != &inline_used)
			pfree(oldused);
	}
}

/*
 * Makes the table large enough for n values (DISTINCT_ROOM) before they
 * are added. Values that come from another set's table or packed form come
 * in the order of their hashes, and a value's first slot is given by its
 * hash's top bits: while this table is smaller than the whole of them, the
 * values so far all want the first slots of a table sized for fewer, and
 * each probes past all those before it (10,000 values into an empty
 * set: ~5.4 million probes in a simulation, against ~7,300 into a table
 * sized for them, where they land spread out as in any order).
 */
static void
distinct_reserve(DistinctState *s, uint64 n)
{
	uint64		nslots = Max(s->nslots, 16);

	n = Min(n, (uint64) SKETCH_DISTINCT_MAX_VALUES + 1);
	if (DISTINCT_ROOM(n, s->nslots))
		return;
	while (!DISTINCT_ROOM(n, nslots))
		nslots *= 2;
	distinct_resize(s, (uint32) nslots);
}

/*
 * Adds a value with its hash; copies it into the state's context unless
 * "owned" (already there, and freed here when it is not needed).
 */
static void
distinct_insert(DistinctState *s, uint64 hash, Datum value, bool owned)
{
	uint32		j;

	if (s->sketch)
	{
		hll_add(s->regs, hash);
		if (owned && !s->tce->typbyval)
			pfree(DatumGetPointer(value));
		return;
	}
	if (s->npacked > 0 && distinct_packed_has(s, hash, value))
	{
		if (owned && !s->tce->typbyval)
			pfree(DatumGetPointer(value));
		return;
	}
	if (!DISTINCT_ROOM(s->nvalues + 1, s->nslots))
		distinct_resize(s, s->nslots ? s->nslots * 2 : 16);
	j = (uint32) (hash >> s->shift);
	while (DISTINCT_USED(s, j))
	{
		if (s->slots[j].hash == hash &&
			DatumGetBool(FunctionCall2Coll(&s->tce->eq_opr_finfo, s->collation,
										   s->slots[j].value, value)))
		{
			if (owned && !s->tce->typbyval)
				pfree(DatumGetPointer(value));
			return;
		}
		j = (j + 1) & (s->nslots - 1);
	}
	if (!owned)
	{
		MemoryContext old = MemoryContextSwitchTo(s->cxt);

		value = datumCopy(value, s->tce->typbyval, s->tce->typlen);
		MemoryContextSwitchTo(old);
	}
	s->used[j / 64] |= UINT64CONST(1) << (j % 64);
	s->slots[j].hash = hash;
	s->slots[j].value = value;
	s->nvalues++;
	s->bytes += sizeof(uint64) + distinct_value_bytes(s, value);
	if (s->capped && 2 * sizeof(uint32) + s->bytes > SKETCH_DISTINCT_EXACT_BYTES)
		distinct_to_sketch(s);
	/* a set too large to store (a bytea holds at most 1 GB) */
	else if (s->npacked + s->nvalues > SKETCH_DISTINCT_MAX_VALUES || s->bytes > SKETCH_DISTINCT_MAX_BYTES)
		distinct_to_sketch(s);
}

/* Folds state b into state a (a's context). */
static void
distinct_merge(DistinctState *a, DistinctState *b)
{
	uint32		i;

	if (a->typid != b->typid)
		elog(ERROR, "distinct states of different types (%u, %u)", a->typid, b->typid);
	a->capped = a->capped && b->capped;
	if (b->sketch)
	{
		distinct_to_sketch(a);
		for (i = 0; i < SKETCH_HLL_REGISTERS; i++)
			if (a->regs[i] < b->regs[i])
				a->regs[i] = b->regs[i];
		return;
	}
	/*
	 * Room for b's values at once (they come in the order of their hashes);
	 * a capped set only for as many as it keeps before it becomes a sketch
	 */
	if (!a->sketch)
	{
		uint64		n = (uint64) a->nvalues + b->npacked + b->nvalues;

		if (a->capped)
			n = Min(n, SKETCH_DISTINCT_EXACT_BYTES / sizeof(uint64));
		distinct_reserve(a, n);
	}
	if (b->npacked > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(a->cxt);

		for (i = 0; i < b->npacked; i++)
			distinct_insert(a, distinct_packed_hash(b, i), distinct_packed_value(b, i), true);
		MemoryContextSwitchTo(old);
	}
	for (i = 0; i < b->nslots; i++)
	{
		if (DISTINCT_USED(b, i))
			distinct_insert(a, b->slots[i].hash, b->slots[i].value, false);
	}
}

/* A serialized state: the bytes of buf as a bytea (buf is freed). */
bytea *
sketch_bytea(StringInfo buf)
{
	bytea	   *out = palloc(VARHDRSZ + buf->len);

	SET_VARSIZE(out, VARHDRSZ + buf->len);
	memcpy(VARDATA(out), buf->data, buf->len);
	pfree(buf->data);
	return out;
}

/* The memory context that owns an aggregate's states. */
MemoryContext
sketch_agg_context(FunctionCallInfo fcinfo)
{
	MemoryContext cxt;

	if (!AggCheckCallContext(fcinfo, &cxt))
		cxt = CurrentMemoryContext;
	return cxt;
}

static Datum
distinct_add(FunctionCallInfo fcinfo, bool capped)
{
	DistinctState *s = PG_ARGISNULL(0) ? NULL : (DistinctState *) PG_GETARG_POINTER(0);
	Datum		value;

	if (PG_ARGISNULL(1))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	if (s == NULL)
		s = distinct_new(get_fn_expr_argtype(fcinfo->flinfo, 1), PG_GET_COLLATION(),
						 capped, sketch_agg_context(fcinfo));
	value = PG_GETARG_DATUM(1);
	if (s->tce->typlen == -1)
		value = PointerGetDatum(PG_DETOAST_DATUM_PACKED(value));
	distinct_insert(s, distinct_hash(s, value), value, false);
	PG_RETURN_POINTER(s);
}

/* count_distinct's transition in the speed layer: capped */
Datum
lambda_distinct_add(PG_FUNCTION_ARGS)
{
	return distinct_add(fcinfo, true);
}

/* the same in the batch layer: the whole set */
Datum
lambda_distinct_add_exact(PG_FUNCTION_ARGS)
{
	return distinct_add(fcinfo, false);
}

Datum
lambda_distinct_combine(PG_FUNCTION_ARGS)
{
	DistinctState *a = PG_ARGISNULL(0) ? NULL : (DistinctState *) PG_GETARG_POINTER(0);
	DistinctState *b = PG_ARGISNULL(1) ? NULL : (DistinctState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = distinct_new(b->typid, b->collation, b->capped, sketch_agg_context(fcinfo));
	distinct_merge(a, b);
	PG_RETURN_POINTER(a);
}

/* distinct_sort_slots(): the added values in ascending order of hash */
#define ST_SORT distinct_sort_slots
#define ST_ELEMENT_TYPE DistinctSlot
#define ST_COMPARE(a, b) ((a)->hash < (b)->hash ? -1 : (a)->hash > (b)->hash ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * Copies the table's values into out in ascending order of hash; returns
 * how many. The slots hold them nearly in that order (a value is at its
 * first slot, given by the top bits of its hash, or a few after it), except
 * for values whose probe wrapped around from the end of the table to its
 * start: those are moved to the end, and an insertion sort finishes the
 * order. Should it move values far (hashes that crowd), a full sort does.
 */
static uint32
distinct_sorted_slots(DistinctState *s, DistinctSlot *out)
{
	uint32		n = 0;
	uint32		w = 0;
	uint32		nwrapped = 0;
	uint32		i;
	uint64		moves = 0;
	uint64		budget = (uint64) s->nvalues * 8 + 64;

	/* a value whose probe wrapped sits before its first slot */
	for (i = 0; i < s->nslots && DISTINCT_USED(s, i); i++)
		if ((uint32) (s->slots[i].hash >> s->shift) > i)
			nwrapped++;
	for (i = 0; i < s->nslots; i++)
	{
		if (!DISTINCT_USED(s, i))
			continue;
		if ((uint32) (s->slots[i].hash >> s->shift) > i)
			out[s->nvalues - nwrapped + w++] = s->slots[i];
		else
			out[n++] = s->slots[i];
	}
	if (n + w != s->nvalues || w != nwrapped)
		elog(ERROR, "distinct set of %u values has %u in its table", s->nvalues, n + w);
	for (i = 1; i < s->nvalues; i++)
	{
		DistinctSlot x = out[i];
		uint32		j = i;

		while (j > 0 && out[j - 1].hash > x.hash)
		{
			out[j] = out[j - 1];
			j--;
		}
		out[j] = x;
		moves += i - j;
		if (moves > budget)
		{
			distinct_sort_slots(out, s->nvalues);
			break;
		}
	}
	return s->nvalues;
}

/*
 * Writes one value's bytes at p, at most room of them (no length: offsets
 * delimit variable ones); returns how many.
 */
static Size
distinct_write_value(DistinctState *s, char *p, Size room, Datum v)
{
	int16		typlen = s->tce->typlen;
	bytea	   *sent = NULL;
	const char *from;
	Size		len;

	if (s->img->kind == IMAGE_SEND)
	{
		sent = image_send(s->img, v);
		from = VARDATA(sent);
		len = VARSIZE(sent) - VARHDRSZ;
	}
	else if (typlen > 0 && s->tce->typbyval)
	{
		if (room < (Size) typlen)
			elog(ERROR, "distinct set overruns its serialized size");
		store_att_byval(p, v, typlen);
		return typlen;
	}
	else if (typlen > 0)
	{
		from = DatumGetPointer(v);
		len = typlen;
	}
	else if (typlen == -1)
	{
		from = VARDATA_ANY(DatumGetPointer(v));
		len = VARSIZE_ANY_EXHDR(DatumGetPointer(v));
	}
	else
	{
		from = DatumGetCString(v);
		len = strlen(from) + 1;
	}
	if (room < len)
		elog(ERROR, "distinct set overruns its serialized size");
	memcpy(p, from, len);
	if (sent)
		pfree(sent);
	return len;
}

/*
 * The serialized form: the header (format, flags: 1 sketch, 2 capped; type;
 * collation), then the registers of a sketch, or the number of values,
 * their hashes in ascending order, for variable-length types the offsets
 * of each value and of the end, and the values. A set is written in place
 * into a bytea of its size (known from s->bytes), the added values sorted
 * by hash and merged with the packed ones, which are in that order.
 */
Datum
lambda_distinct_serialize(PG_FUNCTION_ARGS)
{
	DistinctState *s = (DistinctState *) PG_GETARG_POINTER(0);
	uint8		flags = (s->sketch ? 1 : 0) | (s->capped ? 2 : 0);
	bool		varlen = s->tce->typlen < 0;
	uint32		n = s->npacked + s->nvalues;
	Size		total;
	bytea	   *out;
	char	   *p;
	uint32		u;

	if (s->sketch)
		total = DISTINCT_HEADER + SKETCH_HLL_REGISTERS;
	else
		total = DISTINCT_HEADER + sizeof(uint32) + s->bytes + (varlen ? sizeof(uint32) : 0);
	out = palloc(VARHDRSZ + total);
	SET_VARSIZE(out, VARHDRSZ + total);
	p = VARDATA(out);
	p[0] = DISTINCT_FORMAT;
	p[1] = (char) flags;
	u = s->typid;
	memcpy(p + 2, &u, sizeof(uint32));
	u = s->collation;
	memcpy(p + 6, &u, sizeof(uint32));
	p += DISTINCT_HEADER;
	if (s->sketch)
		memcpy(p, s->regs, SKETCH_HLL_REGISTERS);
	else
	{
		DistinctSlot *added = palloc(sizeof(DistinctSlot) * (s->nvalues + 1));
		uint32		nadded = 0;
		uint32		i;
		uint32		j;
		char	   *hp;
		char	   *op;
		char	   *vp;
		char	   *vstart;
		char	   *end = VARDATA(out) + total;

		nadded = distinct_sorted_slots(s, added);
		memcpy(p, &n, sizeof(uint32));
		hp = p + sizeof(uint32);
		op = hp + (Size) n * sizeof(uint64);
		vstart = vp = op + (varlen ? ((Size) n + 1) * sizeof(uint32) : 0);
		if (vstart > end)
			elog(ERROR, "distinct set of %u values overruns its serialized size", n);
		/* merge the packed values and the added ones, both in hash order */
		for (i = 0, j = 0; i < s->npacked || j < nadded;)
		{
			bool		packed = j >= nadded ||
				(i < s->npacked && distinct_packed_hash(s, i) <= added[j].hash);
			uint64		h = packed ? distinct_packed_hash(s, i) : added[j].hash;

			memcpy(hp, &h, sizeof(uint64));
			hp += sizeof(uint64);
			if (varlen)
			{
				u = vp - vstart;
				memcpy(op, &u, sizeof(uint32));
				op += sizeof(uint32);
			}
			if (packed)
			{
				/* copied as it is: checked here, or (a send form) when received */
				uint32		len = distinct_packed_len(s, i);

				if ((Size) (end - vp) < len)
					elog(ERROR, "distinct set overruns its serialized size");
				if (s->img->kind != IMAGE_SEND && !s->tce->typbyval)
					image_check_content(s->img, distinct_packed_bytes(s, i), len);
				memcpy(vp, distinct_packed_bytes(s, i), len);
				vp += len;
				i++;
			}
			else
				vp += distinct_write_value(s, vp, end - vp, added[j++].value);
		}
		if (varlen)
		{
			u = vp - vstart;
			memcpy(op, &u, sizeof(uint32));
		}
		if (vp != end)
			elog(ERROR, "distinct set of %u values has %zu bytes, not %zu",
				 n, (Size) (vp - VARDATA(out)), total);
		pfree(added);
	}
	PG_RETURN_BYTEA_P(out);
}

/* Raises the error of a sketch state that fails a check. */
void
sketch_corrupted(const char *detail)
{
	image_corrupted("sketch state", detail);
}

/* Raises it when fewer than need bytes are left between p and end. */
void
sketch_truncated(const char *p, const char *end, Size need)
{
	if ((Size) (end - p) < need)
		sketch_corrupted(psprintf("It ends %zu bytes short.", need - (Size) (end - p)));
}

/*
 * Checks the header of a serialized distinct state and returns its flags:
 * the format, the flags, and (when typid is valid) the type and collation
 * of the values, which must be the aggregate's.
 */
static uint8
distinct_check_header(const char *p, Size len, Oid typid, Oid collation)
{
	uint8		flags;
	uint32		t;
	uint32		c;

	sketch_truncated(p, p + len, DISTINCT_HEADER);
	if (p[0] != 1 && p[0] != DISTINCT_FORMAT)
		sketch_corrupted(psprintf("It has format %d.", p[0]));
	flags = (uint8) p[1];
	if ((flags & ~3) != 0)
		sketch_corrupted(psprintf("It has flags 0x%02x.", flags));
	memcpy(&t, p + 2, sizeof(uint32));
	memcpy(&c, p + 6, sizeof(uint32));
	if (OidIsValid(typid) && t != typid)
		sketch_corrupted(psprintf("Its values have type %s, not the aggregate's %s.",
								  format_type_extended(t, -1, FORMAT_TYPE_ALLOW_INVALID),
								  format_type_be(typid)));
	if (OidIsValid(typid) && c != collation)
		sketch_corrupted(psprintf("Its values have collation %s, not the aggregate's %s.",
								  OidIsValid(c) && get_collation_name(c) ? get_collation_name(c) : "(none)",
								  OidIsValid(collation) ? get_collation_name(collation) : "(none)"));
	return flags;
}

/*
 * Checks that a serialized distinct state is one of the aggregate's, whose
 * values have type typid and collation collation (before its type is used to
 * read it: see aggmeta_deserialize).
 */
void
sketch_distinct_check_header(const char *data, Size len, Oid typid, Oid collation)
{
	(void) distinct_check_header(data, len, typid, collation);
}

/*
 * Points s's packed values at the set whose bytes (after the header) are the
 * len bytes at p, after checking everything a later reader relies on: the
 * count against the size, the hashes in order, the offsets in order and
 * within the values. The values themselves are checked as they are decoded.
 */
static void
distinct_read_set(DistinctState *s, const char *p, Size len)
{
	const char *end = p + len;
	uint32		n;
	Size		rest;
	Size		need;
	int16		typlen = s->tce->typlen;
	uint32		i;
	uint64		prevhash = 0;

	sketch_truncated(p, end, sizeof(uint32));
	memcpy(&n, p, sizeof(uint32));
	p += sizeof(uint32);
	rest = end - p;
	if (n > SKETCH_DISTINCT_MAX_VALUES)
		sketch_corrupted(psprintf("A set holds %u values, more than %d.", n, SKETCH_DISTINCT_MAX_VALUES));
	need = (Size) n * sizeof(uint64) + (typlen > 0 ? (Size) n * typlen : ((Size) n + 1) * sizeof(uint32));
	if (need > rest || (typlen > 0 && need != rest))
		sketch_corrupted(psprintf("A set of %u values has %zu bytes for them.", n, rest));
	s->npacked = n;
	s->phashes = p;
	for (i = 0; i < n; i++)
	{
		uint64		h = distinct_packed_hash(s, i);

		if (h < prevhash)
			sketch_corrupted(psprintf("The hashes of a set are not in order at value %u.", i));
		prevhash = h;
	}
	if (typlen > 0)
		s->pvalues = s->phashes + (Size) n * sizeof(uint64);
	else
	{
		uint32		prev = 0;

		s->poffsets = s->phashes + (Size) n * sizeof(uint64);
		s->pvalues = s->poffsets + ((Size) n + 1) * sizeof(uint32);
		for (i = 0; i <= n; i++)
		{
			uint32		off;

			memcpy(&off, s->poffsets + (Size) i * sizeof(uint32), sizeof(uint32));
			if ((i == 0 && off != 0) || off < prev)
				sketch_corrupted(psprintf("The offsets of a set are not in order at value %u.", i));
			prev = off;
		}
		if ((Size) prev != rest - need)
			sketch_corrupted(psprintf("The values of a set end at %u of %zu bytes.", prev, rest - need));
	}
	/* the serialized size of the values, as distinct_insert counts it */
	s->bytes = rest - (typlen > 0 ? 0 : sizeof(uint32));
}

/*
 * Restores a state. A set's values stay packed in a copy of the bytes: no
 * value is decoded until one is looked up or the state is written again.
 * Everything a later reader relies on is checked here: the registers of a
 * sketch; the count of a set against its size, its hashes in order, its
 * offsets in order and within its values. The values themselves are checked
 * as they are decoded.
 */
Datum
lambda_distinct_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);
	const char *end = p + len;
	uint8		flags;
	uint32		typid;
	uint32		coll;
	int			format;
	DistinctState *s;
	MemoryContext cxt = sketch_agg_context(fcinfo);

	flags = distinct_check_header(p, len, InvalidOid, InvalidOid);
	format = p[0];
	memcpy(&typid, p + 2, sizeof(uint32));
	memcpy(&coll, p + 6, sizeof(uint32));
	p += DISTINCT_HEADER;
	s = distinct_new(typid, coll, (flags & 2) != 0, cxt);
	if (flags & 1)
	{
		uint32		i;

		if ((Size) (end - p) != SKETCH_HLL_REGISTERS)
			sketch_corrupted(psprintf("A sketch has %zu bytes of registers, not %d.",
									  (Size) (end - p), SKETCH_HLL_REGISTERS));
		for (i = 0; i < SKETCH_HLL_REGISTERS; i++)
		{
			if ((uint8) p[i] > HLL_MAX_RHO)
				sketch_corrupted(psprintf("Register %u holds %u.", i, (uint8) p[i]));
		}
		s->sketch = true;
		s->regs = MemoryContextAlloc(cxt, SKETCH_HLL_REGISTERS);
		memcpy(s->regs, p, SKETCH_HLL_REGISTERS);
	}
	else
	{
		Size		rest = end - p;

		if (format == 1 && s->img->kind == IMAGE_SEND)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("distinct values of type %s were kept by an older pg_lambda", format_type_be(typid)),
					 errdetail("pg_lambda before 0.4.0 kept such values as raw bytes, which cannot be checked."),
					 errhint("Run lambda.recompute() on the continuous view.")));
		s->packed = MemoryContextAlloc(cxt, rest + 1);
		memcpy(s->packed, p, rest);
		distinct_read_set(s, s->packed, rest);
	}
	PG_RETURN_POINTER(s);
}

/*
 * Whether packed value j of b equals one of a's packed values from i to
 * iend or b's from jfrom to j not marked dup (all of the same hash).
 */
static bool
distinct_run_has(DistinctState *a, uint32 i, uint32 iend,
				 DistinctState *b, uint32 jfrom, uint32 j, const bool *dup)
{
	Datum		v = distinct_packed_value(b, j);
	bool		found = false;
	uint32		k;

	for (k = i; k < iend + (j - jfrom) && !found; k++)
	{
		bool		ina = k < iend;
		uint32		at = ina ? k : jfrom + (k - iend);
		Datum		w;

		if (!ina && dup[at])
			continue;
		w = distinct_packed_value(ina ? a : b, at);
		found = DatumGetBool(FunctionCall2Coll(&a->tce->eq_opr_finfo, a->collation, v, w));
		if (!a->tce->typbyval)
			pfree(DatumGetPointer(w));
	}
	if (!a->tce->typbyval)
		pfree(DatumGetPointer(v));
	return found;
}

/* Where sketch_distinct_union writes the union's hashes, offsets, values. */
typedef struct DistinctRun
{
	char	   *hp;
	char	   *op;				/* varlena/cstring */
	char	   *vp;
	char	   *vstart;
	char	   *vend;
	uint32		left;			/* values still to write */
	bool		check;			/* check each value by its type's rule */
} DistinctRun;

/* Appends packed values from to to (exclusive) of s to the union. */
static void
distinct_copy_run(DistinctState *s, uint32 from, uint32 to, DistinctRun *r)
{
	uint32		cnt = to - from;
	const char *src = distinct_packed_bytes(s, from);
	Size		len;
	uint32		k;

	if (cnt > r->left)
		elog(ERROR, "union of distinct sets overruns its %u values", cnt);
	r->left -= cnt;
	memcpy(r->hp, s->phashes + (Size) from * sizeof(uint64), (Size) cnt * sizeof(uint64));
	r->hp += (Size) cnt * sizeof(uint64);
	if (s->tce->typlen > 0)
		len = (Size) cnt * s->tce->typlen;
	else
	{
		uint32		base;
		uint32		off;
		uint32		u;

		memcpy(&base, s->poffsets + (Size) from * sizeof(uint32), sizeof(uint32));
		memcpy(&off, s->poffsets + (Size) to * sizeof(uint32), sizeof(uint32));
		len = off - base;
		for (k = from; k < to; k++)
		{
			memcpy(&off, s->poffsets + (Size) k * sizeof(uint32), sizeof(uint32));
			u = off - base + (uint32) (r->vp - r->vstart);
			memcpy(r->op, &u, sizeof(uint32));
			r->op += sizeof(uint32);
		}
	}
	if ((Size) (r->vend - r->vp) < len)
		elog(ERROR, "union of distinct sets overruns its %zu bytes of values",
			 (Size) (r->vend - r->vstart));
	if (r->check)
		for (k = from; k < to; k++)
			image_check_content(s->img, distinct_packed_bytes(s, k), distinct_packed_len(s, k));
	memcpy(r->vp, src, len);
	r->vp += len;
}

/*
 * The union of two serialized count(DISTINCT) states of values of type
 * typid and collation collation (a's values first), serialized: what
 * deserializing both, combining and serializing gives, made by one merge of
 * the two hash-ordered sequences of values into the result's bytes, without
 * decoding a value unless two hashes are equal. NULL when that does not
 * apply (either is a sketch, or both are capped and so may become one, or
 * the union would become one, or the values are kept in their send form):
 * the caller then combines the states. Both are checked as
 * lambda_distinct_deserialize checks a state.
 */
bytea *
sketch_distinct_union(const char *adata, Size alen, const char *bdata, Size blen,
					  Oid typid, Oid collation)
{
	uint8		aflags = distinct_check_header(adata, alen, typid, collation);
	uint8		bflags = distinct_check_header(bdata, blen, typid, collation);
	DistinctState a;
	DistinctState b;
	bool	   *dup = NULL;
	uint32		n;
	uint32		i;
	uint32		j;
	Size		bytes;
	Size		valbytes;
	Size		total;
	bool		varlen;
	bool		check;
	bytea	   *out;
	char	   *hp;
	char	   *op;
	char	   *vp;
	char	   *vstart;
	uint32		u;
	DistinctRun run;

	if ((aflags & 1) || (bflags & 1) || ((aflags & 2) && (bflags & 2)))
		return NULL;
	memset(&a, 0, sizeof(a));
	a.typid = typid;
	a.collation = collation;
	a.tce = distinct_type(typid);
	a.img = image_type_lookup(typid);
	if (a.img->kind == IMAGE_SEND)
		return NULL;
	b = a;
	distinct_read_set(&a, adata + DISTINCT_HEADER, alen - DISTINCT_HEADER);
	distinct_read_set(&b, bdata + DISTINCT_HEADER, blen - DISTINCT_HEADER);
	varlen = a.tce->typlen < 0;
	/* values decoded by deserialization are checked by their type's rule */
	check = !a.tce->typbyval;

	/* first pass: which of b's values are new, the size of the union */
	n = a.npacked;
	bytes = a.bytes;
	for (i = 0, j = 0; j < b.npacked;)
	{
		uint64		hb = distinct_packed_hash(&b, j);
		uint64		ha = 0;

		while (i < a.npacked && (ha = distinct_packed_hash(&a, i)) < hb)
			i++;
		if (i < a.npacked && ha == hb)
		{
			/* values of one hash on both sides: compare them */
			uint32		iend = i;
			uint32		jfrom = j;

			while (iend < a.npacked && distinct_packed_hash(&a, iend) == hb)
				iend++;
			if (dup == NULL)
				dup = palloc0(sizeof(bool) * b.npacked);
			for (; j < b.npacked && distinct_packed_hash(&b, j) == hb; j++)
			{
				dup[j] = distinct_run_has(&a, i, iend, &b, jfrom, j, dup);
				if (!dup[j])
				{
					n++;
					bytes += sizeof(uint64) + distinct_packed_len(&b, j) + (varlen ? sizeof(uint32) : 0);
				}
			}
			i = iend;
			continue;
		}
		/* also within b, equal hashes are compared */
		if (j > 0 && distinct_packed_hash(&b, j - 1) == hb)
		{
			if (dup == NULL)
				dup = palloc0(sizeof(bool) * b.npacked);
			{
				uint32		jfrom = j;

				while (jfrom > 0 && distinct_packed_hash(&b, jfrom - 1) == hb)
					jfrom--;
				dup[j] = distinct_run_has(&a, i, i, &b, jfrom, j, dup);
			}
			if (dup[j])
			{
				j++;
				continue;
			}
		}
		n++;
		bytes += sizeof(uint64) + distinct_packed_len(&b, j) + (varlen ? sizeof(uint32) : 0);
		j++;
	}
	/* a union too large to keep becomes a sketch: the caller makes it */
	if (n > SKETCH_DISTINCT_MAX_VALUES || bytes > SKETCH_DISTINCT_MAX_BYTES)
	{
		if (dup)
			pfree(dup);
		return NULL;
	}

	/* second pass: the result's bytes, written in place */
	valbytes = bytes - (Size) n * (sizeof(uint64) + (varlen ? sizeof(uint32) : 0));
	total = DISTINCT_HEADER + sizeof(uint32) + (Size) n * sizeof(uint64) +
		(varlen ? ((Size) n + 1) * sizeof(uint32) : 0) + valbytes;
	out = palloc(VARHDRSZ + total);
	SET_VARSIZE(out, VARHDRSZ + total);
	hp = VARDATA(out);
	hp[0] = DISTINCT_FORMAT;
	hp[1] = 0;					/* a set, not capped */
	u = typid;
	memcpy(hp + 2, &u, sizeof(uint32));
	u = collation;
	memcpy(hp + 6, &u, sizeof(uint32));
	memcpy(hp + DISTINCT_HEADER, &n, sizeof(uint32));
	hp += DISTINCT_HEADER + sizeof(uint32);
	op = hp + (Size) n * sizeof(uint64);
	vstart = vp = op + (varlen ? ((Size) n + 1) * sizeof(uint32) : 0);
	run.hp = hp;
	run.op = op;
	run.vp = vp;
	run.vstart = vstart;
	run.vend = vstart + valbytes;
	run.left = n;
	run.check = check;
	for (i = 0, j = 0; i < a.npacked || j < b.npacked;)
	{
		uint32		iend = a.npacked;

		if (j < b.npacked && dup && dup[j])
		{
			j++;
			continue;
		}
		/* a's values up to b's next new one, copied as one run */
		if (j < b.npacked)
		{
			uint64		hb = distinct_packed_hash(&b, j);

			for (iend = i; iend < a.npacked && distinct_packed_hash(&a, iend) <= hb; iend++)
				;
		}
		if (iend > i)
			distinct_copy_run(&a, i, iend, &run);
		i = iend;
		if (j < b.npacked)
		{
			distinct_copy_run(&b, j, j + 1, &run);
			j++;
		}
	}
	vp = run.vp;
	op = run.op;
	if (run.left != 0)
		elog(ERROR, "union of distinct sets is %u values short of %u", run.left, n);
	if ((Size) (vp - vstart) != valbytes)
		elog(ERROR, "union of distinct sets has %zu bytes of values, not %zu", (Size) (vp - vstart), valbytes);
	if (varlen)
	{
		u = vp - vstart;
		memcpy(op, &u, sizeof(uint32));
	}
	if (dup)
		pfree(dup);
	return out;
}

Datum
lambda_distinct_final(PG_FUNCTION_ARGS)
{
	DistinctState *s = PG_ARGISNULL(0) ? NULL : (DistinctState *) PG_GETARG_POINTER(0);

	if (s == NULL)
		PG_RETURN_INT64(0);
	if (!s->sketch)
		PG_RETURN_INT64((int64) s->npacked + s->nvalues);
	PG_RETURN_INT64((int64) llround(hll_estimate(s->regs)));
}

/*
 * The count of a serialized distinct state that is a set, from its first
 * DISTINCT_HEADER + 4 bytes (of total bytes in all); -1 for a sketch (which
 * needs all of it). The header must be the aggregate's (values of type
 * typid, collation collation), and the count fit in the total size.
 */
int64
sketch_distinct_serialized_count(const char *data, Size len, Size total,
								 Oid typid, Oid collation)
{
	uint32		n;
	uint8		flags;
	int16		typlen;

	flags = distinct_check_header(data, len, typid, collation);
	if (flags & 1)
		return -1;
	sketch_truncated(data, data + len, DISTINCT_HEADER + sizeof(uint32));
	memcpy(&n, data + DISTINCT_HEADER, sizeof(uint32));
	typlen = get_typlen(typid);
	if (n > SKETCH_DISTINCT_MAX_VALUES ||
		(Size) n * (sizeof(uint64) + (typlen > 0 ? (Size) typlen : sizeof(uint32))) >
		total - DISTINCT_HEADER - sizeof(uint32))
		sketch_corrupted(psprintf("A set of %zu bytes claims %u values.", total, n));
	return n;
}

/* Whether a distinct state still holds its values (its count is exact). */
bool
sketch_distinct_is_exact(Datum state)
{
	DistinctState *s = (DistinctState *) DatumGetPointer(state);

	return s == NULL || !s->sketch;
}

/* Marks a distinct state as the batch layer's: it keeps every value. */
void
sketch_distinct_uncap(Datum state)
{
	DistinctState *s = (DistinctState *) DatumGetPointer(state);

	if (s)
		s->capped = false;
}
