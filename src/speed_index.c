/*-------------------------------------------------------------------------
 *
 * speed_index.c
 *	  Column indexes of a speed-layer generation: for each key column, the
 *	  distinct values the generation holds and, for each, the keys that
 *	  have it; and the column filters a read applies.
 *
 * A generation (generation.c) finds a group only by its whole key. A query
 * that fixes part of the key (WHERE url = ... on a view grouped by url and
 * hour), lists values (IN), or bounds a column (hour >= ...) would read every
 * key. So a generation of a view with two or more key columns keeps, per key
 * column, a hash table in the speed layer's DSA area from the column's image
 * (its part of the key image: NULL flag and value, see keyimage.c) to the
 * hashes of the whole keys that hold it. Such a read looks up its values in
 * the column with the fewest matching keys (or, for a range only, walks
 * that column's distinct values, usually far fewer than its keys: the hours
 * of the tail), then finds each key by its hash in the generation's table,
 * checking every condition on the key image. The executor checks them all
 * again.
 *
 *   SpeedIndex        per generation: broken flag, its chunks, and per key
 *                     column:
 *     buckets         dsa_pointer[nbuckets] of SpeedIndexValue chains
 *   SpeedIndexValue   a column image, and an array of uint32 whole-key
 *                     hashes (nposts, cap): the first few in the value
 *                     itself, then an array twice as large each time it
 *                     fills
 *
 * Values and their arrays of up to SPEED_INDEX_OWN_POSTS hashes are carved
 * one after the other from chunks of the DSA area (16 kB, doubling to 1 MB),
 * not allocated one by one: a generation gains a key per row of a view
 * grouped by key and hour, and a DSA allocation for each of its values and
 * arrays cost more than the rest of the key's apply. A value with no more
 * keys than its own room (the usual case in the column with many values)
 * has no array at all; the next two (8 and 16 hashes) stay in their chunk
 * when outgrown; larger arrays are allocated on their own and freed when
 * outgrown, so they take at most twice the 4 bytes of each key.
 *
 * Keys are only ever added to a generation (a merge adds the other
 * generation's keys; entries whose states grow move, but keep their hash),
 * so the index is maintained by one call where generation.c adds a key
 * (speed_index_add) and freed with the generation (speed_index_clear): its
 * buckets and its chunks, without a walk of its values. Two
 * keys may share a hash; a read dedupes hashes and checks each entry it
 * finds under one. Out of memory, the index is marked broken and readers
 * filter every key of the generation instead: the index never makes a read
 * wrong or a write fail.
 *
 * Locking: none of its own; as generation.c, the view's lock (speed.c):
 * exclusive to add or clear, shared to read. speed_index_add runs after a
 * transaction committed and raises no error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/dsa.h"
#include "utils/memutils.h"

#include "cview.h"
#include "genlayout.h"
#include "keyimage.h"
#include "memhint.h"
#include "speed_index.h"

#define SPEED_INDEX_INITIAL_BUCKETS	64
#define SPEED_INDEX_INLINE_POSTS	4
/* arrays larger than this many hashes are DSA allocations of their own */
#define SPEED_INDEX_OWN_POSTS		16
#define SPEED_INDEX_CHUNK_MIN		(16 * 1024)
#define SPEED_INDEX_CHUNK_MAX		(1024 * 1024)
/* a chunk begins with the previous chunk's pointer */
#define SPEED_INDEX_CHUNK_HEAD		MAXALIGN(sizeof(dsa_pointer))

typedef struct SpeedIndexCol
{
	dsa_pointer buckets;		/* dsa_pointer[nbuckets] */
	uint32		nbuckets;
	int64		nvalues;
} SpeedIndexCol;

typedef struct SpeedIndex
{
	bool		broken;			/* out of memory once: do not use */
	int			ncols;
	dsa_pointer chunks;			/* the newest chunk, or invalid */
	dsa_pointer chunk_free;		/* its room not carved yet ... */
	uint32		chunk_left;		/* ... in bytes */
	uint32		chunk_size;		/* the newest chunk's size */
	int64		nown;			/* arrays allocated on their own */
	SpeedIndexCol cols[FLEXIBLE_ARRAY_MEMBER];
} SpeedIndex;

typedef struct SpeedIndexValue
{
	dsa_pointer next;
	dsa_pointer posts;			/* uint32[cap], or invalid: the first
								 * SPEED_INDEX_INLINE_POSTS in the value */
	uint32		hash;			/* of the column image */
	uint32		len;
	uint32		nposts;			/* hashes of whole keys */
	uint32		cap;
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* the column image, then
												 * the inline hashes */
} SpeedIndexValue;

/* Where a value's inline hashes begin, past its column image. */
#define SPEED_INDEX_INLINE_OFF(len) INTALIGN(offsetof(SpeedIndexValue, data) + (len))

/* The hashes of the keys that hold value v. */
static inline uint32 *
speed_index_posts(dsa_area *area, SpeedIndexValue *v)
{
	if (DsaPointerIsValid(v->posts))
		return dsa_get_address(area, v->posts);
	return (uint32 *) ((char *) v + SPEED_INDEX_INLINE_OFF(v->len));
}

/*
 * Carves size bytes (MAXALIGNed) from the index's newest chunk, making a
 * new chunk when it has not that much room left; the size is added to the
 * generation's bytes a chunk at a time. InvalidDsaPointer when out of
 * memory.
 */
static dsa_pointer
speed_index_carve(dsa_area *area, SpeedGen *g, SpeedIndex *ix, Size size)
{
	dsa_pointer p;

	size = MAXALIGN(size);
	if (!DsaPointerIsValid(ix->chunks) || ix->chunk_left < size)
	{
		Size		csize = ix->chunk_size == 0 ? SPEED_INDEX_CHUNK_MIN :
			Min((Size) ix->chunk_size * 2, SPEED_INDEX_CHUNK_MAX);
		dsa_pointer c;

		/* a long column image gets a chunk of its own size */
		csize = Max(csize, SPEED_INDEX_CHUNK_HEAD + size);
		if (csize > PG_UINT32_MAX)
			return InvalidDsaPointer;
		c = dsa_allocate_extended(area, csize, DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE);
		if (!DsaPointerIsValid(c))
			return InvalidDsaPointer;
		*(dsa_pointer *) dsa_get_address(area, c) = ix->chunks;
		ix->chunks = c;
		ix->chunk_size = (uint32) csize;
		ix->chunk_free = c + SPEED_INDEX_CHUNK_HEAD;
		ix->chunk_left = (uint32) (csize - SPEED_INDEX_CHUNK_HEAD);
		g->bytes += csize;
	}
	p = ix->chunk_free;
	ix->chunk_free += size;
	ix->chunk_left -= (uint32) size;
	return p;
}

/* Whether generations of this view keep column indexes. */
bool
speed_index_wanted(ViewDef *def)
{
	/* with one key column, the generation's own table is the index */
	return def->nkeys >= 2;
}

/*
 * The value node of a column image (its address in *vp, when vp is not
 * NULL), or InvalidDsaPointer.
 */
static dsa_pointer
speed_index_find(dsa_area *area, SpeedIndexCol *c, const char *img, uint32 len, uint32 hash,
				 SpeedIndexValue **vp)
{
	dsa_pointer p;

	if (!DsaPointerIsValid(c->buckets))
		return InvalidDsaPointer;
	p = ((dsa_pointer *) dsa_get_address(area, c->buckets))[hash & (c->nbuckets - 1)];
	while (DsaPointerIsValid(p))
	{
		SpeedIndexValue *v = dsa_get_address(area, p);

		if (v->hash == hash && v->len == len && memcmp(v->data, img, len) == 0)
		{
			if (vp)
				*vp = v;
			return p;
		}
		p = v->next;
	}
	return InvalidDsaPointer;
}

/* Doubles a column's buckets (or makes the first). False: out of memory. */
static bool
speed_index_grow(dsa_area *area, SpeedGen *g, SpeedIndexCol *c)
{
	uint32		n = c->nbuckets ? c->nbuckets * 2 : SPEED_INDEX_INITIAL_BUCKETS;
	dsa_pointer nb = dsa_allocate_extended(area, sizeof(dsa_pointer) * n,
										   DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE);
	dsa_pointer *newb;
	uint32		i;

	if (!DsaPointerIsValid(nb))
		return false;
	newb = dsa_get_address(area, nb);
	lambda_populate_write(newb, sizeof(dsa_pointer) * n);
	for (i = 0; i < n; i++)
		newb[i] = InvalidDsaPointer;
	if (DsaPointerIsValid(c->buckets))
	{
		dsa_pointer *old = dsa_get_address(area, c->buckets);

		for (i = 0; i < c->nbuckets; i++)
		{
			dsa_pointer p = old[i];

			while (DsaPointerIsValid(p))
			{
				SpeedIndexValue *v = dsa_get_address(area, p);
				dsa_pointer next = v->next;

				v->next = newb[v->hash & (n - 1)];
				newb[v->hash & (n - 1)] = p;
				p = next;
			}
		}
		dsa_free(area, c->buckets);
		g->bytes -= sizeof(dsa_pointer) * c->nbuckets;
	}
	c->buckets = nb;
	c->nbuckets = n;
	g->bytes += sizeof(dsa_pointer) * n;
	return true;
}

/* Adds a key's hash under one column image. False: out of memory. */
static bool
speed_index_add_col(dsa_area *area, SpeedGen *g, SpeedIndex *ix, SpeedIndexCol *c,
					const char *img, uint32 len, uint32 keyhash)
{
	uint32		hash = key_hash(img, len);
	SpeedIndexValue *v = NULL;
	dsa_pointer p = speed_index_find(area, c, img, len, hash, &v);

	if (!DsaPointerIsValid(p))
	{
		dsa_pointer *b;

		if ((!DsaPointerIsValid(c->buckets) || c->nvalues > (int64) c->nbuckets * 2) &&
			!speed_index_grow(area, g, c) && !DsaPointerIsValid(c->buckets))
			return false;
		p = speed_index_carve(area, g, ix, SPEED_INDEX_INLINE_OFF(len) +
							  sizeof(uint32) * SPEED_INDEX_INLINE_POSTS);
		if (!DsaPointerIsValid(p))
			return false;
		v = dsa_get_address(area, p);
		v->hash = hash;
		v->len = len;
		v->nposts = 0;
		v->cap = SPEED_INDEX_INLINE_POSTS;
		v->posts = InvalidDsaPointer;
		memcpy(v->data, img, len);
		b = dsa_get_address(area, c->buckets);
		v->next = b[hash & (c->nbuckets - 1)];
		b[hash & (c->nbuckets - 1)] = p;
		c->nvalues++;
	}
	if (v->nposts == v->cap)
	{
		uint32		cap = v->cap * 2;
		dsa_pointer np;

		if (v->cap > PG_UINT32_MAX / 2 / sizeof(uint32))
			return false;
		if (cap > SPEED_INDEX_OWN_POSTS)
			np = dsa_allocate_extended(area, sizeof(uint32) * (Size) cap,
									   DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE);
		else
			np = speed_index_carve(area, g, ix, sizeof(uint32) * (Size) cap);
		if (!DsaPointerIsValid(np))
			return false;
		memcpy(dsa_get_address(area, np), speed_index_posts(area, v),
			   sizeof(uint32) * v->nposts);
		if (cap > SPEED_INDEX_OWN_POSTS)
		{
			if (v->cap > SPEED_INDEX_OWN_POSTS)
			{
				dsa_free(area, v->posts);
				g->bytes -= sizeof(uint32) * (int64) v->cap;
			}
			else
				ix->nown++;
			g->bytes += sizeof(uint32) * (int64) cap;
		}
		v->posts = np;
		v->cap = cap;
	}
	speed_index_posts(area, v)[v->nposts++] = keyhash;
	return true;
}

/*
 * A key was added to generation g: adds it to each column's index (making
 * the index first). Raises no error: out of memory, the index is marked
 * broken and readers no longer use it.
 */
void
speed_index_add(dsa_area *area, SpeedGen *g, ViewDef *def,
				const char *key, uint32 keylen, uint32 hash)
{
	SpeedIndex *ix;
	int			offs[INDEX_MAX_KEYS * 4];
	int			lens[INDEX_MAX_KEYS * 4];
	int			i;

	if (!speed_index_wanted(def))
		return;
	if (!DsaPointerIsValid(g->index))
	{
		Size		size = offsetof(SpeedIndex, cols) + sizeof(SpeedIndexCol) * def->nkeys;

		g->index = dsa_allocate_extended(area, size, DSA_ALLOC_NO_OOM | DSA_ALLOC_ZERO);
		if (!DsaPointerIsValid(g->index))
			return;				/* no index: readers filter every key */
		ix = dsa_get_address(area, g->index);
		ix->ncols = def->nkeys;
		ix->chunks = InvalidDsaPointer;
		ix->chunk_free = InvalidDsaPointer;
		ix->nown = 0;
		for (i = 0; i < def->nkeys; i++)
			ix->cols[i].buckets = InvalidDsaPointer;
		g->bytes += size;
		/* keys added before the index existed are not in it */
		ix->broken = g->nentries > 1;
	}
	ix = dsa_get_address(area, g->index);
	if (ix->broken || ix->ncols != def->nkeys)
		return;
	if (!key_column_spans(def, key, keylen, offs, lens))
	{
		ix->broken = true;
		return;
	}
	for (i = 0; i < def->nkeys; i++)
	{
		if (!speed_index_add_col(area, g, ix, &ix->cols[i], key + offs[i], lens[i], hash))
		{
			ix->broken = true;
			return;
		}
	}
}

/* Frees generation g's index. */
void
speed_index_clear(dsa_area *area, SpeedGen *g)
{
	SpeedIndex *ix;
	dsa_pointer c;
	int			i;

	if (!DsaPointerIsValid(g->index))
		return;
	ix = dsa_get_address(area, g->index);
	for (i = 0; i < ix->ncols; i++)
	{
		SpeedIndexCol *col = &ix->cols[i];
		dsa_pointer *b;
		uint32		j;

		if (!DsaPointerIsValid(col->buckets))
			continue;
		/* the arrays allocated on their own, found through their values */
		b = dsa_get_address(area, col->buckets);
		for (j = 0; ix->nown > 0 && j < col->nbuckets; j++)
		{
			dsa_pointer p = b[j];

			while (DsaPointerIsValid(p))
			{
				SpeedIndexValue *v = dsa_get_address(area, p);

				if (v->cap > SPEED_INDEX_OWN_POSTS)
				{
					dsa_free(area, v->posts);
					ix->nown--;
				}
				p = v->next;
			}
		}
		dsa_free(area, col->buckets);
	}
	/* the values and their arrays: the chunks they were carved from */
	c = ix->chunks;
	while (DsaPointerIsValid(c))
	{
		dsa_pointer prev = *(dsa_pointer *) dsa_get_address(area, c);

		dsa_free(area, c);
		c = prev;
	}
	dsa_free(area, g->index);
	g->index = InvalidDsaPointer;
}

/* The generation's usable index, or NULL. */
static SpeedIndex *
speed_index_get(dsa_area *area, SpeedGen *g, ViewDef *def)
{
	SpeedIndex *ix;

	if (!DsaPointerIsValid(g->index))
		return NULL;
	ix = dsa_get_address(area, g->index);
	if (ix->broken || ix->ncols != def->nkeys)
		return NULL;
	return ix;
}

/* Distinct values of column col in generation g, or -1 without an index. */
int64
speed_index_ndistinct(dsa_area *area, SpeedGen *g, int col)
{
	SpeedIndex *ix;

	if (!DsaPointerIsValid(g->index))
		return -1;
	ix = dsa_get_address(area, g->index);
	if (ix->broken || col >= ix->ncols)
		return -1;
	return ix->cols[col].nvalues;
}

/* Whether a column image meets the range checks of a column filter. */
static bool
speed_filter_checks(ViewDef *def, SpeedColFilter *cf, const char *img, int len)
{
	Datum		value;
	bool		isnull;
	bool		ok = true;
	int			i;

	if (cf->nchecks == 0)
		return true;
	key_column_decode(def, cf->col, img, len, &value, &isnull);
	if (isnull)
		return false;			/* the operators are strict */
	for (i = 0; i < cf->nchecks && ok; i++)
		ok = DatumGetBool(FunctionCall2Coll(&cf->fns[i], cf->coll, value, cf->bounds[i]));
	if (!def->keybyvals[cf->col])
		pfree(DatumGetPointer(value));
	return ok;
}

/* Whether a column image meets a column filter. */
static bool
speed_filter_col(ViewDef *def, SpeedColFilter *cf, const char *img, int len)
{
	if (cf->nvals >= 0)
	{
		int			i;

		for (i = 0; i < cf->nvals; i++)
		{
			if (cf->vlens[i] == len && memcmp(cf->vals[i], img, len) == 0)
				break;
		}
		if (i == cf->nvals)
			return false;
	}
	return speed_filter_checks(def, cf, img, len);
}

/* Whether a key image meets every column filter. */
bool
speed_filter_match(ViewDef *def, SpeedFilter *f, const char *key, int keylen)
{
	int			i;

	if (f->none)
		return false;
	for (i = 0; i < f->ncols; i++)
	{
		SpeedColFilter *cf = &f->cols[i];
		int			off;
		int			len;

		if (!key_column_span(def, key, keylen, cf->col, &off, &len) ||
			!speed_filter_col(def, cf, key + off, len))
			return false;
	}
	return true;
}

static int
speed_index_cmp_hash(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The hashes of the keys of generation g that may meet filter f, sorted
 * and without duplicates, in *hashes (palloc'd); their number, or -1 when
 * the generation has no usable index for f (read every key instead). Uses
 * the filtered column with the fewest keys to read: an equality or IN
 * column if there is one, else walks the distinct values of the range
 * column with the fewest.
 */
int
speed_index_candidates(dsa_area *area, SpeedGen *g, ViewDef *def, SpeedFilter *f, uint32 **hashes)
{
	SpeedIndex *ix = speed_index_get(area, g, def);
	int			best = -1;
	int64		best_cost = PG_INT64_MAX;
	dsa_pointer *nodes;
	int			nnodes = 0;
	int			maxnodes;
	int64		total = 0;
	uint32	   *h;
	int			n;
	int			i;

	*hashes = NULL;
	if (ix == NULL || f->ncols == 0)
		return -1;
	/* equality and IN columns: what each value's list holds */
	for (i = 0; i < f->ncols; i++)
	{
		SpeedColFilter *cf = &f->cols[i];
		SpeedIndexCol *c = &ix->cols[cf->col];
		int64		cost = 0;
		int			j;

		if (cf->nvals < 0)
			continue;
		for (j = 0; j < cf->nvals; j++)
		{
			dsa_pointer p = speed_index_find(area, c, cf->vals[j], cf->vlens[j],
											 key_hash(cf->vals[j], cf->vlens[j]), NULL);

			if (DsaPointerIsValid(p))
				cost += ((SpeedIndexValue *) dsa_get_address(area, p))->nposts;
		}
		if (cost < best_cost)
		{
			best = i;
			best_cost = cost;
		}
	}
	/* else the range column with the fewest distinct values */
	if (best < 0)
	{
		for (i = 0; i < f->ncols; i++)
		{
			SpeedColFilter *cf = &f->cols[i];

			if (cf->nchecks > 0 && ix->cols[cf->col].nvalues < best_cost)
			{
				best = i;
				best_cost = ix->cols[cf->col].nvalues;
			}
		}
	}
	if (best < 0)
		return -1;
	f->index_col = f->cols[best].col;

	/* the value nodes that meet the column's filter */
	{
		SpeedColFilter *cf = &f->cols[best];
		SpeedIndexCol *c = &ix->cols[cf->col];

		if (cf->nvals >= 0)
		{
			maxnodes = Max(cf->nvals, 1);
			nodes = palloc(sizeof(dsa_pointer) * maxnodes);
			for (i = 0; i < cf->nvals; i++)
			{
				dsa_pointer p = speed_index_find(area, c, cf->vals[i], cf->vlens[i],
												 key_hash(cf->vals[i], cf->vlens[i]), NULL);
				int			j;

				/* an IN list may name a value twice */
				for (j = 0; j < nnodes && nodes[j] != p; j++)
					;
				if (DsaPointerIsValid(p) && j == nnodes)
				{
					SpeedIndexValue *v = dsa_get_address(area, p);

					if (speed_filter_checks(def, cf, v->data, v->len))
						nodes[nnodes++] = p;
				}
			}
		}
		else
		{
			dsa_pointer *b;
			uint32		j;

			maxnodes = (int) Max(Min(c->nvalues, MaxAllocSize / sizeof(dsa_pointer)), 1);
			nodes = palloc(sizeof(dsa_pointer) * maxnodes);
			b = DsaPointerIsValid(c->buckets) ? dsa_get_address(area, c->buckets) : NULL;
			for (j = 0; b && j < c->nbuckets; j++)
			{
				dsa_pointer p = b[j];

				while (DsaPointerIsValid(p))
				{
					SpeedIndexValue *v = dsa_get_address(area, p);

					if (nnodes < maxnodes && speed_filter_checks(def, cf, v->data, v->len))
						nodes[nnodes++] = p;
					p = v->next;
				}
			}
		}
	}
	for (i = 0; i < nnodes; i++)
		total += ((SpeedIndexValue *) dsa_get_address(area, nodes[i]))->nposts;
	if (total > (int64) (MaxAllocSize / sizeof(uint32)))
	{
		pfree(nodes);
		return -1;
	}
	h = palloc(sizeof(uint32) * Max(total, 1));
	n = 0;
	for (i = 0; i < nnodes; i++)
	{
		SpeedIndexValue *v = dsa_get_address(area, nodes[i]);

		memcpy(h + n, speed_index_posts(area, v), sizeof(uint32) * v->nposts);
		n += v->nposts;
	}
	pfree(nodes);
	if (n > 1)
	{
		int			j = 0;

		qsort(h, n, sizeof(uint32), speed_index_cmp_hash);
		for (i = 1; i < n; i++)
		{
			if (h[i] != h[j])
				h[++j] = h[i];
		}
		n = j + 1;
	}
	*hashes = h;
	return n;
}

/*
 * For the planner: how many of generation g's keys have a value of column
 * cf->col that meets cf's range checks (*matched), out of *total; false
 * without a usable index.
 */
bool
speed_index_count(dsa_area *area, SpeedGen *g, ViewDef *def, SpeedColFilter *cf,
				  int64 *matched, int64 *total)
{
	SpeedIndex *ix = speed_index_get(area, g, def);
	SpeedIndexCol *c;
	dsa_pointer *b;
	uint32		j;

	*matched = 0;
	*total = 0;
	if (ix == NULL)
		return false;
	c = &ix->cols[cf->col];
	if (!DsaPointerIsValid(c->buckets))
		return true;
	b = dsa_get_address(area, c->buckets);
	for (j = 0; j < c->nbuckets; j++)
	{
		dsa_pointer p = b[j];

		while (DsaPointerIsValid(p))
		{
			SpeedIndexValue *v = dsa_get_address(area, p);

			*total += v->nposts;
			if (speed_filter_checks(def, cf, v->data, v->len))
				*matched += v->nposts;
			p = v->next;
		}
	}
	return true;
}
