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
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "cview.h"
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
