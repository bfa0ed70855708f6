/*-------------------------------------------------------------------------
 *
 * mergestate.h
 *	  One group's merge of serialized states into an aggregate's result.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MERGESTATE_H
#define LAMBDA_MERGESTATE_H

#include "postgres.h"

#include "aggstate.h"

typedef struct MergeState
{
	AggMeta    *meta;
	Datum		val;
	bool		isnull;
	/*
	 * count(DISTINCT): the first state, not read yet. A group that has no
	 * other state answers from the count at its start, without reading a
	 * set that may hold millions of values.
	 */
	bool		has_pending;
	Datum		pending;		/* a bytea, possibly a TOAST pointer */
} MergeState;

extern void merge_reader_check(Oid batch_relid, Oid userid);
extern void merge_state_init(MergeState *st, AggMeta *meta, MemoryContext cxt);
extern void merge_state_add(MergeState *st, Datum bytes, MemoryContext cxt);
extern Datum merge_state_result(MergeState *st, bool *isnull, MemoryContext cxt);
extern bool merge_state_foldable(AggMeta *meta);
extern bool merge_state_alone(AggMeta *meta);
extern bool merge_state_fold_images(AggMeta *meta, const char *const *images, const int *lens,
									int n, Datum *result, bool *isnull);

/*
 * The bytes of a serialized state (a bytea) where they lie, when they lie
 * there uncompressed (a short or 4-byte header); false for a compressed or
 * out-of-line one, which only MergeState reads. Inline: the merged scans
 * call it per aggregate of every group.
 */
static inline bool
merge_state_inline_bytes(Datum bytes, const char **data, int *len)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(bytes);

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return false;
	*data = VARDATA_ANY(v);
	*len = VARSIZE_ANY_EXHDR(v);
	return true;
}

/*
 * The result of a group whose one state is bytes (a bytea), for an
 * aggregate of merge_state_alone, when the state lies in place under a
 * short header with the state type's length (translen); false otherwise
 * (the caller merges as for any group). Inline: the merged scans call it
 * per aggregate of every batch row without speed-layer states.
 */
static inline bool
merge_state_alone_value(Datum bytes, int translen, Datum *result)
{
	const struct varlena *v = (const struct varlena *) DatumGetPointer(bytes);

	if (!VARATT_IS_SHORT(v) || (int) (VARSIZE_SHORT(v) - VARHDRSZ_SHORT) != translen)
		return false;
	if (translen == sizeof(int64))
	{
		int64		x;

		memcpy(&x, VARDATA_SHORT(v), sizeof(int64));
		*result = Int64GetDatum(x);
	}
	else
	{
		int32		x;

		memcpy(&x, VARDATA_SHORT(v), sizeof(int32));
		*result = Int32GetDatum(x);
	}
	return true;
}

#endif							/* LAMBDA_MERGESTATE_H */
