/*-------------------------------------------------------------------------
 *
 * mergestate.c
 *	  One group's merge of serialized states into an aggregate's result:
 *	  what the lambda_catalog.merge aggregate (merge.c) does per group, and
 *	  the merged scan of a view (merge_group.c) per key.
 *
 * A MergeState starts from the aggregate's initial state, takes the
 * group's serialized states (batch first, then the speed layer's, in the
 * order the read returns them) and gives the aggregate's final value. The
 * first state of a count(DISTINCT) is kept unread: a group with no other
 * state answers from the count at its start (sketch.c).
 *
 * merge_state_fold_images does the same for the aggregates whose state is
 * a by-value integer combined by a built-in function and returned as it is
 * (count, sum of int4, min and max of int4 and int8: merge_state_foldable)
 * straight from the serialized states, without a Datum, a copy or a
 * function call per state: the merged scans (merge_image.c,
 * merge_group.c) merge those aggregates of every group so.
 *
 * merge_reader_check is the one check that the current role may combine a
 * view's states: SELECT on the view (or any of its columns) or on its batch
 * table.
 *
 * Locks: none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/tupmacs.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "cview.h"
#include "image.h"
#include "mergestate.h"
#include "sketch.h"

/*
 * Checks that role userid may read the continuous view with batch table
 * batch_relid: SELECT on the view (or any of its columns), or on the batch
 * table (its owner, and the catalog's, which refreshes it).
 */
void
merge_reader_check(Oid batch_relid, Oid userid)
{
	ViewDef    *def = cview_get_required(batch_relid);

	if (pg_class_aclcheck(def->view_relid, userid, ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(def->view_relid, userid, ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK &&
		pg_class_aclcheck(batch_relid, userid, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for continuous view %s", get_rel_name(def->view_relid)),
				 errdetail("The internal functions of pg_lambda combine the states of a view only for roles that can read it."),
				 errhint("Query the continuous view itself; its owner can grant SELECT on it.")));
}

/* Starts a group's merge from the aggregate's initial state. */
void
merge_state_init(MergeState *st, AggMeta *meta, MemoryContext cxt)
{
	memset(st, 0, sizeof(MergeState));
	st->meta = meta;
	aggmeta_initial(meta, &st->val, &st->isnull, cxt);
}

/* Combines a serialized state into the merge state. */
static void
merge_combine_bytes(MergeState *st, Datum bytes, MemoryContext cxt)
{
	bytea	   *b = DatumGetByteaPP(bytes);
	Datum		in = aggmeta_deserialize(st->meta, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), cxt);

	aggmeta_combine(st->meta, &st->val, &st->isnull, in, false, cxt);
	/* the answer's set: speed-layer sets together do not become a sketch */
	if (st->meta->kind == AGG_KIND_DISTINCT && !st->isnull)
		sketch_distinct_uncap(st->val);
}

/* Reads the state kept unread, if any. */
static void
merge_read_pending(MergeState *st, MemoryContext cxt)
{
	if (!st->has_pending)
		return;
	st->has_pending = false;
	merge_combine_bytes(st, st->pending, cxt);
}

/* Adds one serialized state (a bytea) of the group; cxt holds the state. */
void
merge_state_add(MergeState *st, Datum bytes, MemoryContext cxt)
{
	if (st->meta->kind == AGG_KIND_DISTINCT && st->isnull && !st->has_pending)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		st->pending = datumCopy(bytes, false, -1);
		st->has_pending = true;
		MemoryContextSwitchTo(old);
		return;
	}
	merge_read_pending(st, cxt);
	merge_combine_bytes(st, bytes, cxt);
}

/* The aggregate's result over the states added. */
Datum
merge_state_result(MergeState *st, bool *isnull, MemoryContext cxt)
{
	if (st->has_pending)
	{
		bytea	   *head = DatumGetByteaPSlice(st->pending, 0, SKETCH_DISTINCT_COUNT_PREFIX);
		Size		total = toast_raw_datum_size(st->pending) - VARHDRSZ;
		int64		n = sketch_distinct_serialized_count(VARDATA_ANY(head), VARSIZE_ANY_EXHDR(head),
														 total, st->meta->valuetype,
														 st->meta->collation);

		if (n >= 0)
		{
			*isnull = false;
			return Int64GetDatum(n);
		}
		merge_read_pending(st, cxt);
	}
	return aggmeta_finalize(st->meta, st->val, st->isnull, isnull);
}

/*
 * Whether merge_state_fold_images can merge this aggregate's states: a
 * plain aggregate whose state is a by-value integer, whose strict combine
 * function aggmeta_combine_image_fast computes, and which has no final
 * function.
 */
bool
merge_state_foldable(AggMeta *meta)
{
	return meta->kind == AGG_KIND_PLAIN && !meta->internal && meta->transbyval &&
		meta->fastcombine && meta->combinestrict && !meta->hasfinal &&
		(meta->translen == sizeof(int32) || meta->translen == sizeof(int64));
}

/*
 * Whether a group's only state, of a merge_state_foldable aggregate, is its
 * result as it lies (merge_state_alone_value): the aggregate starts from
 * NULL (its strict combine function takes the first state as it is: sum,
 * min, max), or from 0 and adds (count).
 */
bool
merge_state_alone(AggMeta *meta)
{
	return merge_state_foldable(meta) &&
		(meta->initnull ||
		 ((meta->fast == AGG_FAST_INT8INC || meta->fast == AGG_FAST_INT4_SUM) &&
		  meta->translen == sizeof(int64) && DatumGetInt64(meta->initval) == 0));
}

/*
 * Merges n serialized non-NULL states (their bytes, in the order a
 * MergeState would take them) of a merge_state_foldable aggregate into its
 * result, as merge_state_init, merge_state_add and merge_state_result do:
 * from the initial state, the first state when that is NULL (the combine
 * function is strict), then the combine function's sum, minimum or
 * maximum, with its overflow error. False, having done nothing the caller
 * can see, when a state is not of the state type's length: the caller then
 * merges through MergeState, which reports it.
 */
bool
merge_state_fold_images(AggMeta *meta, const char *const *images, const int *lens, int n,
						Datum *result, bool *isnull)
{
	union
	{
		int64		i8;
		char		bytes[sizeof(int64)];
	}			acc;
	bool		null = meta->initnull;
	int			i;

	Assert(merge_state_foldable(meta));
	for (i = 0; i < n; i++)
	{
		if (lens[i] != meta->translen)
			return false;
	}
	if (!null)
		store_att_byval(acc.bytes, meta->initval, meta->translen);
	for (i = 0; i < n; i++)
	{
		if (null)
		{
			memcpy(acc.bytes, images[i], meta->translen);
			null = false;
		}
		else if (!aggmeta_combine_image_fast(meta, acc.bytes, images[i], meta->translen, false))
			return false;
	}
	*isnull = null;
	*result = null ? (Datum) 0 : image_fetch_byval(acc.bytes, meta->translen);
	return true;
}
