/*-------------------------------------------------------------------------
 *
 * partial.c
 *	  Partial aggregation: a backend-local hash from a group's key image to
 *	  its transition states.
 *
 * Every layer folds events the same way: the capture trigger, per
 * transaction (speed.c); a refresh or a rebuild, over the events after a
 * cut (batch.c); the merged read, when the speed layer is incomplete
 * (merge.c). An event passes the view's WHERE, its group's key image is
 * made (keyimage.c), then each aggregate's FILTER and transition function
 * run (aggstate.c). In a sliding window, events of steps that have expired
 * (with one step of slack, as of the transaction's start) are not folded in
 * at all. States images read from the speed layer are combined in with the
 * combine functions.
 *
 * A partial aggregation for the batch layer (exact) folds count(DISTINCT)
 * values with the batch transition, which keeps every value;
 * partial_for_batch turns distinct states into the batch layer's.
 *
 * Locks: none. A PartialHash belongs to one backend and lives in a memory
 * context of its own, deleted by partial_destroy.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupmacs.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "optimizer/optimizer.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aggstate.h"
#include "keyimage.h"
#include "keytrunc.h"
#include "memhint.h"
#include "partial.h"
#include "sketch.h"
#include "stateimage.h"

/* aggregates (and one) whose states images partial_combine_image splits without palloc */
#define PARTIAL_IMAGE_AGGS	32

/*
 * The groups' hash table: a simplehash of (hash, entry) slots, open
 * addressing, so that a lookup touches the slot array and then the one
 * entry it finds. Each entry is one piece of memory: its header, its states'
 * Datums and NULL flags, and its key image, carved in order out of arena
 * blocks (partial_new_entry), so that the entries a statement makes lie side
 * by side and a walk over them (partial_first/partial_next) reads memory in
 * order.
 */
typedef struct PartialSlot
{
	uint32		hash;
	char		status;
	PartialEntry *entry;
} PartialSlot;

#define SH_PREFIX		partial_groups
#define SH_ELEMENT_TYPE	PartialSlot
#define SH_KEY_TYPE		PartialEntry *
#define SH_KEY			entry
#define SH_HASH_KEY(tb, key)	((key)->key.hash)
#define SH_EQUAL(tb, a, b)	((a)->key.len == (b)->key.len && \
							 memcmp((a)->key.data, (b)->key.data, (a)->key.len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a)	((a)->hash)
#define SH_SCOPE		static inline
#define SH_USE_NONDEFAULT_ALLOCATOR
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"


/*
 * Arena blocks: the first is small (most transactions touch few groups),
 * small enough that with the hash's first slots it fits in the context's
 * first block, which a reset keeps (partial_reset)
 */
#define PARTIAL_ARENA_MIN	(4 * 1024)
#define PARTIAL_ARENA_MAX	(1024 * 1024)

/*
 * A statement of many groups (a COPY, a refresh's fold) probes its hash's
 * slots and entries at random, once or twice a row, and touches each of
 * their pages for the first time: with 4 kB pages, a TLB miss on most
 * probes and a page fault every few dozen new groups. So its large memory
 * asks for transparent huge pages where the kernel offers them (a hint:
 * without them the pages are ordinary ones): slot arrays of a huge page or
 * more, which begin on a huge page boundary (partial_groups_allocate), and
 * the 2 MB pages that lie wholly inside the arena's blocks once it holds
 * PARTIAL_HUGE_FROM bytes, which then double in size up to
 * PARTIAL_HUGE_BLOCK bytes (at least 8 MB of whole huge pages, wherever
 * the block lies), or the smaller block_max of a bounded hash
 * (partial_limit_blocks).
 *
 * And new slot arrays and arena blocks of PARTIAL_POPULATE_FROM bytes or
 * more are mapped at once (lambda_populate_write), being written next: a
 * COPY of 100,000 groups otherwise takes ~3,000 page faults in them, each
 * on a virtual machine several microseconds more than the write. A block
 * so mapped is resident whole from the start, though the entries fill it
 * as they come. Smaller pieces (a small transaction's) fault in as they
 * are touched.
 */
#define PARTIAL_HUGE_FROM	(2 * LAMBDA_HUGE_PAGE)
#define PARTIAL_HUGE_BLOCK	(5 * LAMBDA_HUGE_PAGE)
#define PARTIAL_POPULATE_FROM	(64 * 1024)

/* An arena block's header: the entries carved from it follow */
typedef struct PartialBlock
{
	struct PartialBlock *next;
	Size		size;			/* of the block, header included */
} PartialBlock;

#define PARTIAL_BLOCK_HEADER	MAXALIGN(sizeof(PartialBlock))

static PartialHash *partial_setup(ViewDef *def, MemoryContext cxt, long groups);

/*
 * The hash's slot arrays (simplehash's allocator), zeroed. A large one is
 * mapped at once before it is zeroed (lambda_populate_write: one call
 * instead of a page fault per 4 kB page), and from the size of a huge page
 * on it begins on a huge page boundary, advised, so that all of it is made
 * of huge pages (its first and last 2 MB would not be otherwise, and an
 * array of 2 to 4 MB would have none). Where such an array's allocation
 * begins is noted in its PartialHash (private_data: two at most, the old
 * and the new while the hash grows) for partial_groups_free.
 */
static inline void *
partial_groups_allocate(partial_groups_hash *type, Size size)
{
	PartialHash *ph = type->private_data;
	char	   *raw;
	char	   *p;
	int			i;

	if (size < PARTIAL_POPULATE_FROM)
		return MemoryContextAllocExtended(type->ctx, size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	if (size < LAMBDA_HUGE_PAGE)
		raw = p = MemoryContextAllocHuge(type->ctx, size);
	else
	{
		for (i = 0; i < PARTIAL_SLOT_ARRAYS; i++)
		{
			if (ph->slots_at[i] == NULL)
				break;
		}
		if (i == PARTIAL_SLOT_ARRAYS)
			elog(ERROR, "a partial hash's slot arrays are already all noted");
		raw = MemoryContextAllocHuge(type->ctx, size + LAMBDA_HUGE_PAGE);
		p = (char *) TYPEALIGN(LAMBDA_HUGE_PAGE, raw);
		ph->slots_at[i] = p;
		ph->slots_raw[i] = raw;
		lambda_advise_huge(p, size);
	}
	lambda_populate_write(p, size);
	memset(p, 0, size);
	return p;
}

static inline void
partial_groups_free(partial_groups_hash *type, void *pointer)
{
	PartialHash *ph = type->private_data;
	int			i;

	for (i = 0; i < PARTIAL_SLOT_ARRAYS; i++)
	{
		if (ph->slots_at[i] == pointer)
		{
			pointer = ph->slots_raw[i];
			ph->slots_at[i] = NULL;
			ph->slots_raw[i] = NULL;
			break;
		}
	}
	pfree(pointer);
}

/* A new, empty partial aggregation for def, in a context under parent. */
PartialHash *
partial_create(ViewDef *def, MemoryContext parent)
{
	return partial_create_sized(def, parent, 0);
}

/*
 * partial_create, with room in the hash for "groups" groups from the start
 * (a statement's states that start over after they moved to shared memory
 * expect as many as before): no growing and rehashing as they come.
 */
PartialHash *
partial_create_sized(ViewDef *def, MemoryContext parent, long groups)
{
	return partial_setup(def, AllocSetContextCreate(parent, "pg_lambda partial states",
													ALLOCSET_DEFAULT_SIZES), groups);
}

/*
 * A partial aggregation emptied for another use, with the same definition:
 * its memory is reset (its context's first block kept) rather than freed
 * and allocated again, which is most of what a small transaction's partial
 * hash costs. The old pointer is no longer valid.
 */
PartialHash *
partial_reset(PartialHash *ph)
{
	ViewDef    *def = ph->def;
	MemoryContext cxt = ph->cxt;
	bool		exact = ph->exact;

	/*
	 * Only entries in the first arena block and the hash as made: emptied
	 * where they lie (a small transaction's case)
	 */
	if (!ph->allocated && ph->arena_bytes <= PARTIAL_ARENA_MIN && ph->spare == NULL &&
		ph->groups->size == ph->initial_slots)
	{
		partial_groups_reset(ph->groups);
		ph->first = ph->last = NULL;
		if (ph->arena_base)
			ph->arena = ph->arena_base + PARTIAL_BLOCK_HEADER;
		ph->rows = 0;
		if (def->sliding)
			ph->horizon = cview_step_horizon(def, GetCurrentTransactionStartTimestamp(), 1);
		return ph;
	}
	MemoryContextReset(cxt);
	ph = partial_setup(def, cxt, 0);
	ph->exact = exact;
	return ph;
}

/*
 * Empties a partial aggregation for more groups of the same statement (its
 * states moved to shared memory, capture.c), keeping its memory: the
 * hash's slots, emptied where they lie, and its arena blocks, which the
 * groups to come are carved from before any new block is allocated. Memory
 * freed and allocated again would be given back to the kernel and then
 * faulted in page by page once more. Blocks are freed, the oldest (the
 * smallest) first, until what its context holds is at most "keep" bytes.
 * False, with ph unchanged, when states were allocated beside the entries
 * (freed only with the context): the caller then makes a new one.
 */
bool
partial_restart(PartialHash *ph, Size keep)
{
	if (ph->allocated)
		return false;
	partial_groups_reset(ph->groups);
	ph->first = ph->last = NULL;
	ph->rows = 0;
	while (ph->blocks != NULL)
	{
		PartialBlock *b = ph->blocks;

		ph->blocks = b->next;
		b->next = ph->spare;
		ph->spare = b;
		ph->spare_bytes += b->size;
	}
	ph->arena = ph->arena_end = NULL;
	ph->arena_bytes = 0;
	while (ph->spare != NULL && MemoryContextMemAllocated(ph->cxt, true) > keep)
	{
		PartialBlock *b = ph->spare;

		ph->spare = b->next;
		ph->spare_bytes -= b->size;
		pfree(b);
	}
	return true;
}

/*
 * Keeps the arena's blocks at most an eighth of "bound", the memory the
 * caller keeps ph within (capture.c), and at least PARTIAL_ARENA_MAX: a
 * block comes whole, and the caller sees it only once allocated.
 */
void
partial_limit_blocks(PartialHash *ph, Size bound)
{
	ph->block_max = Max(Min(bound / 8, PARTIAL_HUGE_BLOCK), PARTIAL_ARENA_MAX);
}

/*
 * The bytes of the arena blocks partial_restart kept that no entry uses
 * yet: allocated, but not in use.
 */
Size
partial_spare_bytes(PartialHash *ph)
{
	return ph->spare_bytes;
}

/* An empty partial aggregation for def in cxt (see partial_create_sized). */
static PartialHash *
partial_setup(ViewDef *def, MemoryContext cxt, long groups)
{
	PartialHash *ph = MemoryContextAllocZero(cxt, sizeof(PartialHash));
	int			i;

	ph->def = def;
	ph->cxt = cxt;
	if (def->sliding)
		ph->horizon = cview_step_horizon(def, GetCurrentTransactionStartTimestamp(), 1);
	ph->groups = partial_groups_create(cxt, (uint32) Min(Max(groups, 32), PG_INT32_MAX), ph);
	ph->initial_slots = ph->groups->size;
	ph->block_max = PARTIAL_HUGE_BLOCK;
	/* the initial states a new group starts from: copied at once (most are by value) */
	ph->initvals = MemoryContextAlloc(cxt, sizeof(Datum) * (def->naggs + 1));
	ph->initnulls = MemoryContextAlloc(cxt, sizeof(bool) * (def->naggs + 1));
	ph->copy = MemoryContextAlloc(cxt, sizeof(int) * (def->naggs + 1));
	ph->carve = MemoryContextAlloc(cxt, sizeof(int) * (def->naggs + 1));
	ph->plan = MemoryContextAlloc(cxt, sizeof(int16) * (def->naggs + 1));
	ph->deref = MemoryContextAlloc(cxt, sizeof(int) * (def->naggs + 1));
	states_plan(def, ph->plan);
	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;

		ph->initnulls[i] = m->initnull;
		ph->initvals[i] = m->initnull ? (Datum) 0 : m->initval;
		/*
		 * states that lie apart from the entry: internal ones, those by
		 * reference that the transition makes (starting NULL), and those
		 * copied rather than carved (below)
		 */
		if (m->internal || (m->initnull && !m->transbyval))
			ph->deref[ph->nderef++] = i;
		if (m->initnull || m->transbyval)
			continue;
		/*
		 * avg(int4)'s array, whose built-in transition and combine change it
		 * in place (they never return another, which agg_keep would free):
		 * carved with each entry rather than allocated on its own
		 */
		if (m->fast == AGG_FAST_INT4_AVG && m->fastcombine && m->translen == -1 &&
			!VARATT_IS_EXTENDED(DatumGetPointer(m->initval)))
		{
			ph->carve[ph->ncarve++] = i;
			ph->carve_bytes += MAXALIGN(VARSIZE(DatumGetPointer(m->initval)));
		}
		else
		{
			ph->copy[ph->ncopy++] = i;
			ph->deref[ph->nderef++] = i;
		}
	}
	return ph;
}

/*
 * A new entry for a key image, with initial states, linked at the end of
 * the walk.
 */
static PartialEntry *
partial_new_entry(PartialHash *ph, const char *key, int keylen, uint32 hash)
{
	ViewDef    *def = ph->def;
	int			n = def->naggs + 1;
	Size		size = MAXALIGN(sizeof(PartialEntry)) + MAXALIGN(sizeof(Datum) * n) +
		MAXALIGN(sizeof(bool) * n + keylen) + ph->carve_bytes;
	PartialEntry *e;
	char	   *p;
	int			c;

	if (ph->arena == NULL || (Size) (ph->arena_end - ph->arena) < size)
	{
		PartialBlock *b;

		if (ph->spare != NULL && ph->spare->size >= PARTIAL_BLOCK_HEADER + size)
		{
			/* a block partial_restart kept: its pages are in memory already */
			b = ph->spare;
			ph->spare = b->next;
			ph->spare_bytes -= b->size;
		}
		else
		{
			Size		block = ph->arena_bytes == 0 ? PARTIAL_ARENA_MIN :
				Min(ph->arena_bytes, PARTIAL_ARENA_MAX);

			if (ph->arena_bytes >= PARTIAL_HUGE_FROM && ph->block_max > PARTIAL_ARENA_MAX)
				block = Min(ph->arena_bytes, ph->block_max);
			block = Max(block, PARTIAL_BLOCK_HEADER + size);
			b = MemoryContextAllocHuge(ph->cxt, block);
			b->size = block;
			if (block >= PARTIAL_HUGE_FROM)
				lambda_advise_huge(b, block);
			if (block >= PARTIAL_POPULATE_FROM)
				lambda_populate_write(b, block);
		}
		if (ph->arena_bytes == 0)
			ph->arena_base = (char *) b;
		b->next = ph->blocks;
		ph->blocks = b;
		ph->arena = (char *) b + PARTIAL_BLOCK_HEADER;
		ph->arena_end = (char *) b + b->size;
		ph->arena_bytes += b->size;
	}
	p = ph->arena;
	ph->arena += size;
	e = (PartialEntry *) p;
	p += MAXALIGN(sizeof(PartialEntry));
	e->values = (Datum *) p;
	p += MAXALIGN(sizeof(Datum) * n);
	e->nulls = (bool *) p;
	p += sizeof(bool) * n;
	e->key.data = p;
	e->key.len = keylen;
	e->key.hash = hash;
	memcpy(e->key.data, key, keylen);
	e->next = NULL;
	memcpy(e->values, ph->initvals, sizeof(Datum) * def->naggs);
	memcpy(e->nulls, ph->initnulls, sizeof(bool) * def->naggs);
	/* states carved with the entry, after its key */
	p = (char *) e + size - ph->carve_bytes;
	for (c = 0; c < ph->ncarve; c++)
	{
		int			i = ph->carve[c];
		Size		l = VARSIZE(DatumGetPointer(def->aggs[i].meta.initval));

		e->values[i] = PointerGetDatum(memcpy(p, DatumGetPointer(def->aggs[i].meta.initval), l));
		p += MAXALIGN(l);
	}
	for (c = 0; c < ph->ncopy; c++)
	{
		int			i = ph->copy[c];
		AggMeta    *m = &def->aggs[i].meta;

		if (m->translen == -1 && !VARATT_IS_EXTENDED(DatumGetPointer(m->initval)))
		{
			/* a plain varlena (avg's array): its bytes, copied */
			Size		l = VARSIZE(DatumGetPointer(m->initval));

			ph->allocated = true;
			e->values[i] = PointerGetDatum(memcpy(MemoryContextAlloc(ph->cxt, l),
												  DatumGetPointer(m->initval), l));
		}
		else
		{
			ph->allocated = true;
			aggmeta_initial(m, &e->values[i], &e->nulls[i], ph->cxt);
		}
	}
	if (ph->last)
		ph->last->next = e;
	else
		ph->first = e;
	ph->last = e;
	return e;
}

/* The entry for a key image with this hash, created with initial states if new. */
static inline PartialEntry *
partial_lookup_hash(PartialHash *ph, const char *key, int keylen, uint32 hash, bool *found)
{
	PartialEntry probe;
	PartialSlot *slot;

	probe.key.hash = hash;
	probe.key.len = keylen;
	probe.key.data = (char *) key;
	slot = partial_groups_insert_hash(ph->groups, &probe, hash, found);
	if (!*found)
		slot->entry = partial_new_entry(ph, key, keylen, hash);
	return slot->entry;
}

/* The entry for a key image, created with initial states if new. */
PartialEntry *
partial_lookup(PartialHash *ph, const char *key, int keylen, bool *found)
{
	return partial_lookup_hash(ph, key, keylen, key_hash(key, keylen), found);
}

/*
 * Calls aggregate va's transition function (the exact one where the states
 * are the batch layer's) on the state at val/isnull, with the arguments
 * fcinfo->args[1..] holds; what it allocates in the current memory context
 * goes with the caller's reset.
 */
static inline void
partial_transition(PartialHash *ph, ViewAgg *va, FunctionCallInfo fcinfo, Datum *val, bool *isnull)
{
	InitFunctionCallInfoData(*fcinfo,
							 ph->exact && va->meta.hasexact ? &va->meta.exacttransfn : &va->meta.transfn,
							 va->meta.ntransargs + 1, va->meta.collation, NULL, NULL);
	ph->allocated = true;
	aggmeta_advance(&va->meta, fcinfo, val, isnull, ph->cxt);
}

/*
 * Folds one event into one aggregate's state, in general: its FILTER, its
 * arguments, then its transition (inline when aggmeta_advance_fast can).
 */
static pg_noinline void
partial_advance_agg(PartialHash *ph, ViewAgg *va, TupleTableSlot *slot, Datum *val, bool *isnull)
{
	ExprContext *econtext = ph->def->econtext;
	LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
	int			j;

	if (va->filter && !ExecQual(va->filter, econtext))
		return;
	for (j = 0; j < va->nargs; j++)
	{
		AttrNumber	col = va->argcols[j];

		if (col > 0)
		{
			fcinfo->args[j + 1].value = slot->tts_values[col - 1];
			fcinfo->args[j + 1].isnull = slot->tts_isnull[col - 1];
		}
		else
			fcinfo->args[j + 1].value = ExecEvalExpr(va->args[j], econtext, &fcinfo->args[j + 1].isnull);
	}
	if (va->meta.fast != AGG_FAST_NONE && !(ph->exact && va->meta.hasexact) &&
		aggmeta_advance_fast(&va->meta,
							 va->nargs > 0 ? fcinfo->args[1].value : (Datum) 0,
							 va->nargs > 0 ? fcinfo->args[1].isnull : false,
							 val, isnull))
		return;
	partial_transition(ph, va, fcinfo, val, isnull);
}

/*
 * Folds one event (a slot of the event table's row type) into the partial
 * states: WHERE, then the group's key, then each aggregate's FILTER and
 * transition.
 */
void
partial_add_slot(PartialHash *ph, TupleTableSlot *slot)
{
	partial_add_slot_key(ph, slot, NULL, 0);
}

/*
 * A row's key image the general way: its WHERE, its keys (columns of the
 * row, deformed once, or expressions), a sliding window's horizon. Into
 * "fixed" when the keys are of fixed length (key_image_fixed), else into
 * buf; *key is where. Returns the image's length, or -1 when the row is
 * not folded. Leaves the slot deformed up to the last column the view
 * reads, the expression context's scan tuple the row.
 */
static inline int
partial_slot_key(PartialHash *ph, TupleTableSlot *slot, char *fixed, StringInfo buf,
				 const char **key)
{
	ViewDef    *def = ph->def;
	ExprContext *econtext = def->econtext;
	MemoryContext old;
	Datum		keyvals[INDEX_MAX_KEYS * 4];
	bool		keynulls[INDEX_MAX_KEYS * 4];
	int			keylen;
	int			i;

	econtext->ecxt_scantuple = slot;
	if (def->where && !ExecQual(def->where, econtext))
		return -1;

	old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	/* keys and arguments that are plain columns: read from the row, deformed once */
	if (def->maxcol > 0)
		slot_getsomeattrs(slot, def->maxcol);
	for (i = 0; i < def->nkeys; i++)
	{
		AttrNumber	col = def->keycols[i];

		if (col > 0)
		{
			keyvals[i] = slot->tts_values[col - 1];
			keynulls[i] = slot->tts_isnull[col - 1];
		}
		else
		{
			/* a time bucket keytrunc.c computes, else the expression */
			KeyTrunc   *kt = CVIEW_KEYTRUNC(def, i);
			bool		ts_known = kt && !slot->tts_isnull[kt->col - 1];
			Timestamp	ts = ts_known ? DatumGetTimestamp(slot->tts_values[kt->col - 1]) : 0;

			if (ts_known && keytrunc_value(kt, ts, &keyvals[i]))
			{
				keynulls[i] = false;
				continue;
			}
			keyvals[i] = ExecEvalExpr(def->keyexprs[i], econtext, &keynulls[i]);
			if (ts_known && !keynulls[i])
				keytrunc_remember(kt, ts, keyvals[i]);
		}
	}
	if (def->sliding)
	{
		int			k = def->nkeys - 1;

		/* an event of a step that has expired can never be in the window */
		if (keynulls[k] || DatumGetTimestamp(keyvals[k]) < DatumGetTimestamp(ph->horizon))
		{
			MemoryContextSwitchTo(old);
			return -1;
		}
	}
	if (def->keys_fixed)
	{
		keylen = key_image_fixed(def, keyvals, keynulls, fixed);
		*key = fixed;
	}
	else
	{
		resetStringInfo(buf);
		key_image(def, keyvals, keynulls, buf);
		*key = buf->data;
		keylen = buf->len;
	}
	MemoryContextSwitchTo(old);
	return keylen;
}

/*
 * Folds a row whose key image (partial_slot_key) and its hash are made into
 * its group: each aggregate's FILTER and transition, its arguments read
 * from the row (deformed) or evaluated.
 */
static inline void
partial_fold_slot(PartialHash *ph, TupleTableSlot *slot, const char *key, int keylen,
				  uint32 hash)
{
	ViewDef    *def = ph->def;
	MemoryContext old;
	PartialEntry *e;
	bool		found;
	int			i;

	def->econtext->ecxt_scantuple = slot;
	old = MemoryContextSwitchTo(def->econtext->ecxt_per_tuple_memory);
	e = partial_lookup_hash(ph, key, keylen, hash, &found);
	for (i = 0; i < def->naggs; i++)
	{
		ViewAgg    *va = &def->aggs[i];

		/* count, sum, min, max, avg of a column: inline, without a function call */
		if (va->plain && !(ph->exact && va->meta.hasexact))
		{
			AttrNumber	col = va->nargs > 0 ? va->argcols[0] : 0;

			if (aggmeta_advance_fast(&va->meta,
									 col > 0 ? slot->tts_values[col - 1] : (Datum) 0,
									 col > 0 ? slot->tts_isnull[col - 1] : false,
									 &e->values[i], &e->nulls[i]))
				continue;
		}
		partial_advance_agg(ph, va, slot, &e->values[i], &e->nulls[i]);
	}
	MemoryContextSwitchTo(old);
	ph->rows++;
}

/*
 * partial_add_slot, folding the event only when its group's key image is
 * "only" (when given): a single-key lookup skips the other groups' work.
 */
void
partial_add_slot_key(PartialHash *ph, TupleTableSlot *slot, const char *only, int onlylen)
{
	char		fixed[INDEX_MAX_KEYS * 4 * (1 + sizeof(Datum))];
	const char *key;
	int			keylen;

	ResetExprContext(ph->def->econtext);
	if (ph->def->keytrunc)
		keytrunc_prepare_keys(ph->def->keytrunc, ph->def->nkeys);
	keylen = partial_slot_key(ph, slot, fixed, ph->def->keybuf, &key);
	if (keylen < 0)
		return;
	if (only && (keylen != onlylen || memcmp(key, only, onlylen) != 0))
		return;
	partial_fold_slot(ph, slot, key, keylen, key_hash(key, keylen));
}

/*
 * Whether aggregate va's transition can be called with its arguments as a
 * row of some shape holds them (partial_fold_shaped): each argument a
 * column of the event table (its FILTER, if any, is evaluated over the
 * shape's virtual row).
 */
static bool
partial_agg_colfed(const ViewAgg *va)
{
	int			j;

	for (j = 0; j < va->nargs; j++)
	{
		if (va->argcols[j] <= 0)
			return false;
	}
	return true;
}

/*
 * The shape of rows of desc for what def reads, when capture can read its
 * columns straight from a row (partial_add_shaped_batch): keys of fixed
 * length and by value (plain columns, time buckets keytrunc.c computes, or
 * other expressions of columns; a sliding window's step key must be a
 * date_bin keytrunc.c computes); aggregates over plain columns, computed
 * inline (ViewAgg.plain) or by transition functions that then take the
 * columns where they lie (partial_agg_colfed: count(DISTINCT x),
 * sum(bigint), stddev(x), ...); and every column up to the last one that
 * they, the FILTERs or the WHERE read fixed-length and by value, so that in
 * a row without NULLs each lies at an offset known in advance. The WHERE,
 * the key expressions and the FILTERs are evaluated over a virtual row of
 * just the columns they read. NULL otherwise. Allocated in the current
 * memory context.
 */
PartialShape *
partial_shape(ViewDef *def, TupleDesc desc)
{
	PartialShape *shape;
	Bitmapset  *attrs = NULL;	/* offset by FirstLowInvalidHeapAttributeNumber */
	Bitmapset  *cols = NULL;
	bool		exprs = def->where != NULL;
	AttrNumber	maxcol = def->maxcol;
	int32		off = 0;
	int			i;

	/* a sliding window's step key (the last) is a date_bin keytrunc.c computes */
	if (def->sliding && CVIEW_KEYTRUNC(def, def->nkeys - 1) == NULL)
		return NULL;
	if (!def->keys_fixed)
		return NULL;
	/*
	 * aggregates over columns, computed inline or by their transition
	 * functions (count(DISTINCT x), sum(bigint), ...): the rows' columns
	 * are read at their offsets either way, never deformed; an exact state
	 * (meta.hasexact) is the general way's (partial_shaped_key)
	 */
	for (i = 0; i < def->naggs; i++)
	{
		if (!partial_agg_colfed(&def->aggs[i]))
			return NULL;
	}
	/* the columns the WHERE, the FILTERs and the key expressions read */
	if (def->where != NULL)
		pull_varattnos((Node *) def->where->expr, 1, &attrs);
	for (i = 0; i < def->naggs; i++)
	{
		if (def->aggs[i].filter != NULL)
		{
			pull_varattnos((Node *) def->aggs[i].filter->expr, 1, &attrs);
			exprs = true;
		}
	}
	for (i = 0; i < def->nkeys; i++)
	{
		/* (a time bucket keytrunc.c computes reads its column from the row) */
		if (def->keycols[i] <= 0 && CVIEW_KEYTRUNC(def, i) == NULL)
		{
			pull_varattnos((Node *) def->keyexprs[i]->expr, 1, &attrs);
			exprs = true;
		}
	}
	/* a system column or the whole row is not read from the row's data */
	i = -1;
	while ((i = bms_next_member(attrs, i)) >= 0)
	{
		AttrNumber	att = i + FirstLowInvalidHeapAttributeNumber;

		if (att <= 0)
			return NULL;
		cols = bms_add_member(cols, att);
		maxcol = Max(maxcol, att);
	}
	bms_free(attrs);
	if (maxcol <= 0 || desc->natts < maxcol)
		return NULL;
	/* one piece: the header, the offsets, the lengths (columns', then arguments') */
	shape = palloc0(MAXALIGN(sizeof(PartialShape)) +
					(sizeof(int32) + sizeof(int16)) * (maxcol + def->naggs));
	shape->maxcol = maxcol;
	shape->attoff = (int32 *) ((char *) shape + MAXALIGN(sizeof(PartialShape)));
	shape->argoff = shape->attoff + maxcol;
	shape->attlen = (int16 *) (shape->argoff + def->naggs);
	shape->arglen = shape->attlen + maxcol;
	for (i = 0; i < maxcol; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attlen <= 0 || !att->attbyval)
		{
			pfree(shape);
			return NULL;
		}
		/* as heap_fill_tuple lays out a row without NULLs */
		off = att_align_nominal(off, att->attalign);
		shape->attlen[i] = att->attlen;
		shape->attoff[i] = off;
		off += att->attlen;
	}
	/* each aggregate's argument, where it lies (one lookup less a row) */
	for (i = 0; i < def->naggs; i++)
	{
		ViewAgg    *va = &def->aggs[i];
		AttrNumber	c = va->nargs > 0 ? va->argcols[0] - 1 : -1;

		shape->argoff[i] = c >= 0 ? shape->attoff[c] : -1;
		shape->arglen[i] = c >= 0 ? shape->attlen[c] : 0;
	}
	/*
	 * the expressions' virtual row (also for expressions that read no
	 * column): a copy of desc, so that nothing pins it
	 */
	if (exprs)
	{
		int			c = -1;

		shape->vslot = MakeSingleTupleTableSlot(CreateTupleDescCopy(desc), &TTSOpsVirtual);
		ExecStoreVirtualTuple(shape->vslot);	/* every column valid, none NULL */
		shape->exprcols = palloc(sizeof(AttrNumber) * Max(bms_num_members(cols), 1));
		while ((c = bms_next_member(cols, c)) >= 0)
			shape->exprcols[shape->nexprcols++] = (AttrNumber) (c - 1);
	}
	bms_free(cols);
	return shape;
}

/* partial_shaped_key's result for a row the WHERE leaves out */
#define PARTIAL_ROW_OUT		(-2)

/*
 * The key image of a row of this shape into "fixed", and where the row's
 * data begins: its length; PARTIAL_ROW_OUT when the WHERE leaves the row
 * out; or -1 when the row must go the general way (partial_add_slot): no
 * shape, batch layer, not a minimal tuple, NULLs, or fewer columns than
 * the shape reads. The WHERE and key expressions are evaluated in the
 * expression context's per-tuple memory, which the caller resets.
 */
static inline int
partial_shaped_key(PartialHash *ph, TupleTableSlot *slot, const PartialShape *shape,
				   char *fixed, const char **data)
{
	ViewDef    *def = ph->def;
	ExprContext *econtext = def->econtext;
	MinimalTuple mt;
	Datum		keyvals[INDEX_MAX_KEYS * 4];
	bool		keynulls[INDEX_MAX_KEYS * 4];
	int			i;

	if (shape == NULL || ph->exact || !TTS_IS_MINIMALTUPLE(slot) || TTS_EMPTY(slot))
		return -1;
	mt = ((MinimalTupleTableSlot *) slot)->mintuple;
	if ((mt->t_infomask & HEAP_HASNULL) ||
		(mt->t_infomask2 & HEAP_NATTS_MASK) < shape->maxcol)
		return -1;
	/* a minimal tuple's t_hoff counts from where a heap tuple's header would begin */
	*data = (const char *) mt - MINIMAL_TUPLE_OFFSET + mt->t_hoff;
	if (shape->vslot)
	{
		/* the columns the WHERE and key expressions read, into their virtual row */
		for (i = 0; i < shape->nexprcols; i++)
		{
			AttrNumber	c = shape->exprcols[i];

			shape->vslot->tts_values[c] = fetch_att(*data + shape->attoff[c], true,
													shape->attlen[c]);
		}
		econtext->ecxt_scantuple = shape->vslot;
		if (def->where)
		{
			MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
			bool		pass = ExecQual(def->where, econtext);

			MemoryContextSwitchTo(old);
			if (!pass)
				return PARTIAL_ROW_OUT;
		}
	}
	for (i = 0; i < def->nkeys; i++)
	{
		AttrNumber	c = def->keycols[i] - 1;

		keynulls[i] = false;
		if (c >= 0)
			keyvals[i] = fetch_att(*data + shape->attoff[c], true, shape->attlen[c]);
		else if (CVIEW_KEYTRUNC(def, i))
		{
			/* a time bucket of a column: the general way where keytrunc.c cannot */
			KeyTrunc   *kt = def->keytrunc[i];

			c = kt->col - 1;
			if (!keytrunc_value(kt, DatumGetTimestamp(fetch_att(*data + shape->attoff[c], true,
																 shape->attlen[c])),
								&keyvals[i]))
				return -1;
		}
		else
		{
			/* an expression, over the columns it reads (partial_shape) */
			MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);

			keyvals[i] = ExecEvalExpr(def->keyexprs[i], econtext, &keynulls[i]);
			MemoryContextSwitchTo(old);
		}
	}
	/* a step that has expired: the general way leaves the row out */
	if (def->sliding &&
		DatumGetTimestamp(keyvals[def->nkeys - 1]) < DatumGetTimestamp(ph->horizon))
		return -1;
	return key_image_fixed(def, keyvals, keynulls, fixed);
}

/*
 * Folds a row of this shape, whose key image (partial_shaped_key) and its
 * hash are made, into its group.
 */
static inline void
partial_fold_shaped(PartialHash *ph, const PartialShape *shape, const char *data,
					const char *fixed, int keylen, uint32 hash)
{
	ViewDef    *def = ph->def;
	ExprContext *econtext = def->econtext;
	PartialEntry *e;
	bool		found;
	bool		vloaded = false;
	int			i;

	e = partial_lookup_hash(ph, fixed, keylen, hash, &found);
	for (i = 0; i < def->naggs; i++)
	{
		ViewAgg    *va = &def->aggs[i];
		int32		off = shape->argoff[i];
		LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
		MemoryContext old;
		int			j;

		if (va->filter != NULL)
		{
			bool		pass;

			/* the columns it reads, into the virtual row (the batch's last row is there) */
			if (!vloaded)
			{
				for (j = 0; j < shape->nexprcols; j++)
				{
					AttrNumber	c = shape->exprcols[j];

					shape->vslot->tts_values[c] = fetch_att(data + shape->attoff[c], true,
															shape->attlen[c]);
				}
				vloaded = true;
			}
			econtext->ecxt_scantuple = shape->vslot;
			old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
			pass = ExecQual(va->filter, econtext);
			MemoryContextSwitchTo(old);
			if (!pass)
				continue;
		}
		if (va->meta.fast != AGG_FAST_NONE &&
			aggmeta_advance_fast(&va->meta,
								 off >= 0 ? fetch_att(data + off, true, shape->arglen[i]) : (Datum) 0,
								 false, &e->values[i], &e->nulls[i]))
			continue;

		/*
		 * a state the inline transition does not take, or an aggregate that
		 * has none: its transition function, the arguments (columns, see
		 * partial_shape) read where they lie
		 */
		Assert(partial_agg_colfed(va));
		for (j = 0; j < va->nargs; j++)
		{
			AttrNumber	c = va->argcols[j] - 1;

			fcinfo->args[j + 1].value = fetch_att(data + shape->attoff[c], true, shape->attlen[c]);
			fcinfo->args[j + 1].isnull = false;
		}
		old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		partial_transition(ph, va, fcinfo, &e->values[i], &e->nulls[i]);
		MemoryContextSwitchTo(old);
	}
	ph->rows++;
}

/* Slots a look ahead (partial_peek) reads at most */
#define PARTIAL_PEEK_SLOTS	8

/*
 * The entry of the group of this hash, as far as a look at the slots from
 * its first one tells (the first slot with its hash; or NULL), for a
 * prefetch of the entry before its lookup: in this open-addressing hash,
 * filled up to nine tenths, a group lies past its first slot about as
 * often as in it, and a look at the first slot alone left those groups'
 * entries to be missed in the lookup. Reads at most PARTIAL_PEEK_SLOTS
 * slots, stopping at an empty one; a key of another group with the same
 * hash only costs a prefetch of the wrong entry.
 */
static inline PartialEntry *
partial_peek(struct partial_groups_hash *tb, uint32 hash)
{
	uint32		i = hash & tb->sizemask;
	int			k;

	for (k = 0; k < PARTIAL_PEEK_SLOTS; k++)
	{
		PartialSlot *s = &tb->data[i];

		if (s->status != partial_groups_SH_IN_USE)
			return NULL;
		if (s->hash == hash)
			return s->entry;
		i = (i + 1) & tb->sizemask;
	}
	return NULL;
}

/*
 * The states of the group of this hash that lie apart from its entry
 * (count(DISTINCT)'s sets, other internal states, by-reference states not
 * carved with the entry): their first two lines prefetched, when the group
 * is there and its entry is in cache by now (or on its way).
 */
static inline void
partial_prefetch_states(PartialHash *ph, uint32 hash)
{
	PartialEntry *e = partial_peek(ph->groups, hash);
	int			k;

	if (e == NULL)
		return;
	for (k = 0; k < ph->nderef; k++)
	{
		int			i = ph->deref[k];

		if (!e->nulls[i])
		{
			char	   *p = DatumGetPointer(e->values[i]);

			lambda_prefetch(p);
			lambda_prefetch(p + 64);
		}
	}
}

/* Rows ahead of the one folded whose states apart from the entry are prefetched */
#define PARTIAL_STATES_AHEAD	8

/*
 * partial_add_slot for n rows (at most PARTIAL_BATCH), folded in their
 * order, of a view whose rows have this shape (partial_shape, for the
 * slots' tuple descriptor; NULL: none). When a slot holds a minimal tuple
 * without NULLs, the keys and the aggregates' arguments are read at their
 * offsets in it, without deforming the row into the slot, and each
 * aggregate runs inline or its transition function is called with them
 * (partial_fold_shaped); otherwise the row goes the general way (its
 * WHERE, keys and arguments from the deformed row or evaluated). The rows' groups
 * are looked for in memory first, so that the cache misses of many groups
 * overlap instead of following each other: each row's key image and hash
 * are made and its first slot in the hash prefetched; then, for each row,
 * the entry that slot holds, when its hash is the row's; then each row is
 * folded, its lines in cache by then (or on their way), and the states of
 * the row PARTIAL_STATES_AHEAD after it that lie apart from its entry
 * prefetched. The hash may grow while the rows are folded: a prefetch of
 * where a slot was costs a little time, never a wrong result, as every row
 * is looked up anew. The general way's keys and WHERE are evaluated for
 * every row before the first is folded, all in the expression context's
 * per-tuple memory, reset once a batch (what the FILTERs and transition
 * functions of its rows leave there too); key images of variable length go
 * into buffers of the batch's own (ph->batchkeys).
 */
void
partial_add_shaped_batch(PartialHash *ph, TupleTableSlot **slots, int n, const PartialShape *shape)
{
	char		keys[PARTIAL_BATCH][INDEX_MAX_KEYS * 4 * (1 + sizeof(Datum))];
	const char *keyat[PARTIAL_BATCH];
	const char *datas[PARTIAL_BATCH];
	int			lens[PARTIAL_BATCH];
	uint32		hashes[PARTIAL_BATCH];
	struct partial_groups_hash *tb = ph->groups;
	int			nstates = ph->def->naggs + 1;
	/* an entry's length but for its key's (partial_new_entry), give or take alignment */
	Size		span = MAXALIGN(sizeof(PartialEntry)) + MAXALIGN(sizeof(Datum) * nstates) +
		sizeof(bool) * nstates + ph->carve_bytes;
	int			j;

	Assert(n <= PARTIAL_BATCH);
	if (ph->def->keytrunc)
		keytrunc_prepare_keys(ph->def->keytrunc, ph->def->nkeys);
	/* what the batch before evaluated and its transition functions left */
	if (!ph->def->econtext->ecxt_per_tuple_memory->isReset ||
		ph->def->econtext->ecxt_per_tuple_memory->firstchild != NULL)
		ResetExprContext(ph->def->econtext);
	for (j = 0; j < n; j++)
	{
		keyat[j] = keys[j];
		lens[j] = partial_shaped_key(ph, slots[j], shape, keys[j], &datas[j]);
		if (lens[j] == PARTIAL_ROW_OUT)
		{
			lens[j] = -1;
			continue;
		}
		if (lens[j] < 0)
		{
			StringInfo	buf = NULL;

			if (!ph->def->keys_fixed)
			{
				if (ph->batchkeys == NULL)
					ph->batchkeys = MemoryContextAllocZero(ph->cxt,
														   sizeof(StringInfoData) * PARTIAL_BATCH);
				buf = &ph->batchkeys[j];
				if (buf->data == NULL)
				{
					MemoryContext old = MemoryContextSwitchTo(ph->cxt);

					initStringInfo(buf);
					MemoryContextSwitchTo(old);
				}
			}
			lens[j] = partial_slot_key(ph, slots[j], keys[j], buf, &keyat[j]);
			if (lens[j] < 0)
				continue;
			datas[j] = NULL;
		}
		hashes[j] = key_hash(keyat[j], lens[j]);
		/* the first slot's line, and the next one when the slot ends it */
		lambda_prefetch(&tb->data[hashes[j] & tb->sizemask]);
		lambda_prefetch((char *) &tb->data[hashes[j] & tb->sizemask] + sizeof(PartialSlot));
	}
	for (j = 0; j < n; j++)
	{
		PartialEntry *e;

		if (lens[j] < 0)
			continue;
		e = partial_peek(tb, hashes[j]);
		if (e != NULL)
		{
			/*
			 * every line of the entry: its header, states, key, carved
			 * states (of a long key, its first 256 bytes)
			 */
			char	   *p = (char *) ((uintptr_t) e & ~(uintptr_t) 63);
			char	   *end = (char *) e + span + Min(lens[j], 256);

			for (; p < end; p += 64)
				lambda_prefetch(p);
		}
	}
	if (ph->nderef > 0)
	{
		for (j = 0; j < Min(n, PARTIAL_STATES_AHEAD); j++)
			if (lens[j] >= 0)
				partial_prefetch_states(ph, hashes[j]);
	}
	for (j = 0; j < n; j++)
	{
		if (ph->nderef > 0 && j + PARTIAL_STATES_AHEAD < n && lens[j + PARTIAL_STATES_AHEAD] >= 0)
			partial_prefetch_states(ph, hashes[j + PARTIAL_STATES_AHEAD]);
		if (lens[j] < 0)
			continue;
		else if (datas[j] == NULL)
			partial_fold_slot(ph, slots[j], keyat[j], lens[j], hashes[j]);
		else
			partial_fold_shaped(ph, shape, datas[j], keys[j], lens[j], hashes[j]);
	}
}

/*
 * Combines a (key image, states image) pair into the partial states; hash
 * is the key image's (key_hash), as the speed layer keeps it.
 */
void
partial_combine_image(PartialHash *ph, const char *key, int keylen, uint32 hash,
					  const char *states, int stateslen)
{
	ViewDef    *def = ph->def;
	PartialEntry *e;
	bool		found;
	const char *parts_local[PARTIAL_IMAGE_AGGS];
	int			lens_local[PARTIAL_IMAGE_AGGS];
	const char **parts = parts_local;
	int		   *lens = lens_local;
	int			i;

	if (def->naggs + 1 > PARTIAL_IMAGE_AGGS)
	{
		parts = palloc(sizeof(char *) * (def->naggs + 1));
		lens = palloc(sizeof(int) * (def->naggs + 1));
	}
	ph->allocated = true;
	e = partial_lookup_hash(ph, key, keylen, hash, &found);
	states_split(def, states, stateslen, parts, lens);
	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;
		Datum		in;

		if (parts[i] == NULL)
			continue;
		in = aggmeta_deserialize(m, parts[i], lens[i], ph->cxt);
		aggmeta_combine(m, &e->values[i], &e->nulls[i], in, false, ph->cxt);

		/*
		 * A flat state by reference is kept as a copy (aggmeta_combine's
		 * datumCopy, agg_keep), never as "in": its chunk goes (one a group
		 * and aggregate otherwise, e.g. avg's array). A received one
		 * (IMAGE_SEND) is left to the context, being the receive
		 * function's.
		 */
		if (!m->transbyval && !m->internal && m->image->kind != IMAGE_SEND &&
			(e->nulls[i] || DatumGetPointer(e->values[i]) != DatumGetPointer(in)))
			pfree(DatumGetPointer(in));
	}
	if (parts != parts_local)
	{
		pfree(parts);
		pfree(lens);
	}
}

/* Combines every group of "from" into "into". */
void
partial_merge(PartialHash *into, PartialHash *from)
{
	PartialEntry *fe;
	ViewDef    *def = into->def;

	into->allocated = true;
	for (fe = partial_first(from); fe; fe = partial_next(fe))
	{
		bool		found;
		PartialEntry *e = partial_lookup_hash(into, fe->key.data, fe->key.len, fe->key.hash, &found);
		int			i;

		for (i = 0; i < def->naggs; i++)
			aggmeta_combine(&def->aggs[i].meta, &e->values[i], &e->nulls[i],
							fe->values[i], fe->nulls[i], into->cxt);
	}
	into->rows += from->rows;
}

/*
 * Prepares partial states for the batch table: distinct states become the
 * batch layer's (they keep every value from now on). False when one of them
 * is already a sketch, so that folding it in would make its group
 * approximate: the caller reads the events instead.
 */
bool
partial_for_batch(PartialHash *ph)
{
	ViewDef    *def = ph->def;
	PartialEntry *e;
	bool		exact = true;
	int			i;

	for (e = partial_first(ph); e; e = partial_next(e))
	{
		for (i = 0; i < def->naggs; i++)
		{
			if (def->aggs[i].meta.kind != AGG_KIND_DISTINCT || e->nulls[i])
				continue;
			if (!sketch_distinct_is_exact(e->values[i]))
				exact = false;
			sketch_distinct_uncap(e->values[i]);
		}
	}
	return exact;
}

/* The number of groups. */
long
partial_count(PartialHash *ph)
{
	return ph->groups->members;
}

/* Frees the partial aggregation and every state in it. */
void
partial_destroy(PartialHash *ph)
{
	MemoryContextDelete(ph->cxt);
}
