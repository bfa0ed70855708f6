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

#include "access/xact.h"
#include "executor/executor.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aggstate.h"
#include "keyimage.h"
#include "partial.h"
#include "sketch.h"
#include "stateimage.h"

/* dynahash callbacks: a KeyRef hashes and compares as its key image. */
static uint32
partial_hashfn(const void *key, Size keysize pg_attribute_unused())
{
	return ((const KeyRef *) key)->hash;
}

static int
partial_matchfn(const void *a, const void *b, Size keysize pg_attribute_unused())
{
	const KeyRef *ka = a;
	const KeyRef *kb = b;

	if (ka->hash != kb->hash || ka->len != kb->len)
		return 1;
	return memcmp(ka->data, kb->data, ka->len);
}

/* A new, empty partial aggregation for def, in a context under parent. */
PartialHash *
partial_create(ViewDef *def, MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "pg_lambda partial states", ALLOCSET_DEFAULT_SIZES);
	PartialHash *ph = MemoryContextAllocZero(cxt, sizeof(PartialHash));
	HASHCTL		ctl;

	ph->def = def;
	ph->cxt = cxt;
	if (def->sliding)
		ph->horizon = cview_step_horizon(def, GetCurrentTransactionStartTimestamp(), 1);
	ctl.keysize = sizeof(KeyRef);
	ctl.entrysize = sizeof(PartialEntry);
	ctl.hash = partial_hashfn;
	ctl.match = partial_matchfn;
	ctl.hcxt = cxt;
	ph->htab = hash_create("pg_lambda partial states", 256, &ctl,
						   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	return ph;
}

/* The entry for a key image, created with initial states if new. */
PartialEntry *
partial_lookup(PartialHash *ph, const char *key, int keylen, bool *found)
{
	KeyRef		ref;
	PartialEntry *e;

	ref.hash = key_hash(key, keylen);
	ref.len = keylen;
	ref.data = (char *) key;
	e = hash_search(ph->htab, &ref, HASH_ENTER, found);
	if (!*found)
	{
		int			i;
		ViewDef    *def = ph->def;

		e->key.data = MemoryContextAlloc(ph->cxt, keylen > 0 ? keylen : 1);
		memcpy(e->key.data, key, keylen);
		e->values = MemoryContextAlloc(ph->cxt, sizeof(Datum) * (def->naggs + 1));
		e->nulls = MemoryContextAlloc(ph->cxt, sizeof(bool) * (def->naggs + 1));
		for (i = 0; i < def->naggs; i++)
			aggmeta_initial(&def->aggs[i].meta, &e->values[i], &e->nulls[i], ph->cxt);
	}
	return e;
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
 * partial_add_slot, folding the event only when its group's key image is
 * "only" (when given): a single-key lookup skips the other groups' work.
 */
void
partial_add_slot_key(PartialHash *ph, TupleTableSlot *slot, const char *only, int onlylen)
{
	ViewDef    *def = ph->def;
	ExprContext *econtext = def->econtext;
	MemoryContext old;
	Datum		keyvals[INDEX_MAX_KEYS * 4];
	bool		keynulls[INDEX_MAX_KEYS * 4];
	StringInfo	buf = def->keybuf;
	PartialEntry *e;
	bool		found;
	int			i;

	ResetExprContext(econtext);
	econtext->ecxt_scantuple = slot;
	if (def->where && !ExecQual(def->where, econtext))
		return;

	old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	for (i = 0; i < def->nkeys; i++)
		keyvals[i] = ExecEvalExpr(def->keyexprs[i], econtext, &keynulls[i]);
	if (def->sliding)
	{
		int			k = def->nkeys - 1;

		/* an event of a step that has expired can never be in the window */
		if (keynulls[k] || DatumGetTimestamp(keyvals[k]) < DatumGetTimestamp(ph->horizon))
		{
			MemoryContextSwitchTo(old);
			return;
		}
	}
	resetStringInfo(buf);
	key_image(def, keyvals, keynulls, buf);
	if (only && (buf->len != onlylen || memcmp(buf->data, only, onlylen) != 0))
	{
		MemoryContextSwitchTo(old);
		return;
	}
	e = partial_lookup(ph, buf->data, buf->len, &found);

	for (i = 0; i < def->naggs; i++)
	{
		ViewAgg    *va = &def->aggs[i];
		LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
		int			j;

		if (va->filter && !ExecQual(va->filter, econtext))
			continue;
		InitFunctionCallInfoData(*fcinfo,
								 ph->exact && va->meta.hasexact ? &va->meta.exacttransfn : &va->meta.transfn,
								 va->meta.ntransargs + 1, va->meta.collation, NULL, NULL);
		for (j = 0; j < va->nargs; j++)
			fcinfo->args[j + 1].value = ExecEvalExpr(va->args[j], econtext, &fcinfo->args[j + 1].isnull);
		aggmeta_advance(&va->meta, fcinfo, &e->values[i], &e->nulls[i], ph->cxt);
	}
	MemoryContextSwitchTo(old);
	ph->rows++;
}

/* Combines a (key image, states image) pair into the partial states. */
void
partial_combine_image(PartialHash *ph, const char *key, int keylen,
					  const char *states, int stateslen)
{
	ViewDef    *def = ph->def;
	PartialEntry *e;
	bool		found;
	const char **parts = palloc(sizeof(char *) * (def->naggs + 1));
	int		   *lens = palloc(sizeof(int) * (def->naggs + 1));
	int			i;

	e = partial_lookup(ph, key, keylen, &found);
	states_split(def, states, stateslen, parts, lens);
	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;
		Datum		in;

		if (parts[i] == NULL)
			continue;
		in = aggmeta_deserialize(m, parts[i], lens[i], ph->cxt);
		aggmeta_combine(m, &e->values[i], &e->nulls[i], in, false, ph->cxt);
	}
	pfree(parts);
	pfree(lens);
}

/* Combines every group of "from" into "into". */
void
partial_merge(PartialHash *into, PartialHash *from)
{
	HASH_SEQ_STATUS seq;
	PartialEntry *fe;
	ViewDef    *def = into->def;

	hash_seq_init(&seq, from->htab);
	while ((fe = hash_seq_search(&seq)) != NULL)
	{
		bool		found;
		PartialEntry *e = partial_lookup(into, fe->key.data, fe->key.len, &found);
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
	HASH_SEQ_STATUS seq;
	PartialEntry *e;
	bool		exact = true;
	int			i;

	hash_seq_init(&seq, ph->htab);
	while ((e = hash_seq_search(&seq)) != NULL)
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
	return hash_get_num_entries(ph->htab);
}

/* Frees the partial aggregation and every state in it. */
void
partial_destroy(PartialHash *ph)
{
	MemoryContextDelete(ph->cxt);
}
