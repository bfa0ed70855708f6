/*-------------------------------------------------------------------------
 *
 * stateimage.c
 *	  The states of a view's aggregates: the states image that carries one
 *	  group's states, and the machinery of aggregate n of a view.
 *
 * The speed layer (speed.c, generation.c, partial.c) and the read path
 * (merge.c) keep or pass one group's partial states as
 *
 *   states image  per aggregate of the view, in order: 0 (NULL state) or 1,
 *                 a uint32 length and the state's serialized form
 *                 (aggstate.c: aggmeta_serialize).
 *
 * states_image builds one, states_split cuts one into its states (checking
 * its framing), states_decode deserializes them, and states_combine_images
 * combines two images of the same group. aggmeta_lookup is what the merge
 * aggregate (merge.c) calls with the batch table and aggregate number it is
 * given: the AggMeta of that aggregate of the compiled view (cview.c).
 *
 * Images can come from anyone who calls lambda_catalog.merge or
 * combine_states, so each state is checked (image.c's rules, or the
 * aggregate's deserialization function) before a function of the aggregate
 * sees it.
 *
 * Locks: none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "aggstate.h"
#include "cview.h"
#include "image.h"
#include "stateimage.h"

/* The machinery of aggregate aggno (1-based) of the view with this batch table. */
AggMeta *
aggmeta_lookup(Oid batch_relid, int aggno)
{
	ViewDef    *def = cview_get_required(batch_relid);

	if (aggno < 1 || aggno > def->naggs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("continuous view \"%s\" has no aggregate %d", get_rel_name(def->view_relid), aggno),
				 errdetail("Its aggregates are numbered 1 to %d.", def->naggs),
				 errhint("Query the continuous view itself.")));
	return &def->aggs[aggno - 1].meta;
}

/* ------------------------------------------------------------------------
 * States images
 * ------------------------------------------------------------------------
 */

/*
 * Appends the states image of one group's states. Room for every NULL or
 * by-value state is made at once; the bytes are written through a pointer,
 * buf's length set at the end (and before the rest, which appends).
 */
void
states_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf)
{
	Size		room = (Size) def->naggs * (1 + sizeof(uint32) + sizeof(Datum)) + 1;
	char	   *w;
	int			i;

	if (buf->len + room >= (Size) buf->maxlen)
		enlargeStringInfo(buf, (int) room);
	w = buf->data + buf->len;
	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;
		uint32		l;
		bool		compact;

		if (nulls[i])
		{
			*w++ = 0;
			continue;
		}
		if (m->transbyval && !m->internal)
		{
			/* the common case (count, sum of int4, ...), without a bytea */
			l = m->translen;
			*w++ = 1;
			memcpy(w, &l, sizeof(uint32));
			store_att_byval(w + sizeof(uint32), values[i], l);
			w += sizeof(uint32) + l;
			continue;
		}
		buf->len = w - buf->data;
		compact = OidIsValid(m->compactelem) && states_compact_fits(DatumGetPointer(values[i]), m->compactn);
		if (compact || (!m->internal && m->translen == -1 && m->image->kind != IMAGE_SEND &&
						!VARATT_IS_EXTENDED(DatumGetPointer(values[i]))))
		{
			/*
			 * An array of 8-byte elements (avg's): a tag, then the elements;
			 * another plain varlena (numeric): its bytes, header included
			 */
			l = compact ? IMAGE_ARRAY_COMPACT_SIZE(m->compactn) : VARSIZE(DatumGetPointer(values[i]));
			if (buf->len + 1 + sizeof(uint32) + l >= (Size) buf->maxlen)
				enlargeStringInfo(buf, 1 + sizeof(uint32) + l);
			w = buf->data + buf->len;
			*w++ = 1;
			memcpy(w, &l, sizeof(uint32));
			if (compact)
				image_array_compact_write(w + sizeof(uint32), (ArrayType *) DatumGetPointer(values[i]),
										  m->compactn);
			else
				memcpy(w + sizeof(uint32), DatumGetPointer(values[i]), l);
			buf->len += 1 + sizeof(uint32) + l;
		}
		else
		{
			bytea	   *b = aggmeta_serialize(m, values[i]);

			l = VARSIZE_ANY_EXHDR(b);
			appendStringInfoChar(buf, 1);
			appendBinaryStringInfo(buf, (char *) &l, sizeof(uint32));
			appendBinaryStringInfo(buf, VARDATA_ANY(b), l);
			pfree(b);
		}
		/* room again for what is left */
		if (buf->len + room >= (Size) buf->maxlen)
			enlargeStringInfo(buf, (int) room);
		w = buf->data + buf->len;
	}
	buf->len = w - buf->data;
	buf->data[buf->len] = '\0';
}

/*
 * How states_image writes each of the view's states, for the callers that
 * write images themselves (states_plan_image): per
 * aggregate, its length for a state by value, STATES_PLAN_COMPACT for an
 * array of 8-byte elements written compact (avg's), STATES_PLAN_VARLENA for
 * another varlena copied as it lies (numeric), STATES_PLAN_FUNCTION for a state
 * that needs a function (serialization or send). plan has def->naggs
 * elements.
 */
void
states_plan(ViewDef *def, int16 *plan)
{
	int			i;

	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;

		if (m->transbyval && !m->internal)
			plan[i] = m->translen;
		else if (OidIsValid(m->compactelem))
			plan[i] = STATES_PLAN_COMPACT(m->compactn);
		else if (!m->internal && m->translen == -1 && m->image->kind != IMAGE_SEND)
			plan[i] = STATES_PLAN_VARLENA;
		else
			plan[i] = STATES_PLAN_FUNCTION;
	}
}

/*
 * Whether states_image writes the view's states without calling a function
 * of the aggregates (no serialization or send function): every state by
 * value, or a plain varlena (avg's array, written compact). Such images
 * can be made after a transaction committed, where speed.c applies partial
 * states directly.
 */
bool
states_image_plain(ViewDef *def)
{
	int			i;

	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;

		if (m->internal)
			return false;
		if (!m->transbyval && !(m->translen == -1 && m->image->kind != IMAGE_SEND))
			return false;
	}
	return true;
}

/*
 * Combines states image b into states image a in place, when both have the
 * same form (the same NULL states, the same lengths) and every aggregate's
 * combine runs inline (aggmeta_combine_image_fast): count, sum, min, max,
 * avg over integers. False, with a untouched, otherwise; the caller then
 * combines them with states_combine_images.
 */
bool
states_combine_in_place(ViewDef *def, char *a, int alen, const char *b, int blen)
{
	int			pass;
	int			i;

	if (alen != blen)
		return false;
	/* first check every state, then change them: all or nothing */
	for (pass = 0; pass < 2; pass++)
	{
		int			off = 0;

		for (i = 0; i < def->naggs; i++)
		{
			uint32		l;

			if (off >= alen || a[off] != b[off])
				return false;
			if (a[off++] == 0)
				continue;
			if (off + (int) sizeof(uint32) > alen)
				return false;
			memcpy(&l, a + off, sizeof(uint32));
			if (memcmp(a + off, b + off, sizeof(uint32)) != 0 || l > (uint32) (alen - off - sizeof(uint32)))
				return false;
			off += sizeof(uint32);
			if (!aggmeta_combine_image_fast(&def->aggs[i].meta, a + off, b + off, l, pass == 0))
				return false;
			off += l;
		}
		if (off != alen)
			return false;
	}
	return true;
}

/*
 * Splits a states image into each aggregate's serialized state (len -1 for
 * a NULL state). Returns the number of aggregates.
 */
int
states_split(ViewDef *def, const char *data, int len, const char **parts, int *lens)
{
	const char *p = data;
	const char *end = data + len;
	int			i;

	for (i = 0; i < def->naggs; i++)
	{
		uint32		l;

		if (p >= end)
			image_corrupted("states image", psprintf("It ends before state %d of %d.", i + 1, def->naggs));
		if (*p != 0 && *p != 1)
			image_corrupted("states image", psprintf("State %d has NULL flag %d.", i + 1, *p));
		if (*p++ == 0)
		{
			parts[i] = NULL;
			lens[i] = -1;
			continue;
		}
		if (end - p < (ptrdiff_t) sizeof(uint32))
			image_corrupted("states image", psprintf("The length of state %d runs past the end of the image.", i + 1));
		memcpy(&l, p, sizeof(uint32));
		p += sizeof(uint32);
		if ((Size) (end - p) < l)
			image_corrupted("states image", psprintf("State %d of %u bytes runs past the end of the image.", i + 1, l));
		lens[i] = (int) l;
		parts[i] = p;
		p += l;
	}
	if (p != end)
		image_corrupted("states image", psprintf("It has %d bytes after its %d states.", (int) (end - p), def->naggs));
	return def->naggs;
}

/* Restores states from a states image, in cxt. */
void
states_decode(ViewDef *def, const char *data, int len, Datum *values, bool *nulls,
			  MemoryContext cxt)
{
	const char **parts = palloc(sizeof(char *) * def->naggs);
	int		   *lens = palloc(sizeof(int) * def->naggs);
	int			i;

	states_split(def, data, len, parts, lens);
	for (i = 0; i < def->naggs; i++)
	{
		nulls[i] = (parts[i] == NULL);
		values[i] = nulls[i] ? (Datum) 0 :
			aggmeta_deserialize(&def->aggs[i].meta, parts[i], lens[i], cxt);
	}
	pfree(parts);
	pfree(lens);
}

/*
 * Appends to out the states image combining states images a and b; works
 * in the current memory context.
 */
void
states_combine_images(ViewDef *def, const char *a, int alen, const char *b, int blen,
					  StringInfo out)
{
	int			n = def->naggs;
	const char **pa = palloc(sizeof(char *) * (n + 1));
	const char **pb = palloc(sizeof(char *) * (n + 1));
	int		   *la = palloc(sizeof(int) * (n + 1));
	int		   *lb = palloc(sizeof(int) * (n + 1));
	Datum	   *vals = palloc(sizeof(Datum) * (n + 1));
	bool	   *nulls = palloc(sizeof(bool) * (n + 1));
	int			i;

	states_split(def, a, alen, pa, la);
	states_split(def, b, blen, pb, lb);
	for (i = 0; i < n; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;

		nulls[i] = (pa[i] == NULL);
		vals[i] = nulls[i] ? (Datum) 0 : aggmeta_deserialize(m, pa[i], la[i], CurrentMemoryContext);
		if (pb[i] != NULL)
			aggmeta_combine(m, &vals[i], &nulls[i],
							aggmeta_deserialize(m, pb[i], lb[i], CurrentMemoryContext),
							false, CurrentMemoryContext);
	}
	states_image(def, vals, nulls, out);
}
