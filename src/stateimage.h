/*-------------------------------------------------------------------------
 *
 * stateimage.h
 *	  The states of a view's aggregates: the states image of one group, and
 *	  the machinery of aggregate n of a view.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_STATEIMAGE_H
#define LAMBDA_STATEIMAGE_H

#include "postgres.h"

#include "access/tupmacs.h"
#include "lib/stringinfo.h"

#include "aggstate.h"
#include "cview.h"
#include "image.h"

extern AggMeta *aggmeta_lookup(Oid batch_relid, int aggno);

/* States images */
extern void states_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf);
extern bool states_image_plain(ViewDef *def);
extern void states_plan(ViewDef *def, int16 *plan);
extern void states_decode(ViewDef *def, const char *data, int len,
						  Datum *values, bool *nulls, MemoryContext cxt);
extern bool states_combine_in_place(ViewDef *def, char *a, int alen, const char *b, int blen);
extern void states_combine_images(ViewDef *def, const char *a, int alen,
								  const char *b, int blen, StringInfo out);
extern int	states_split(ViewDef *def, const char *data, int len,
						 const char **parts, int *lens);

/*
 * In a plan (states_plan): a varlena copied as it lies; a function's state;
 * below STATES_PLAN_VARLENA, an array of STATES_PLAN_ELEMENTS(p) 8-byte
 * elements written compact (AggMeta.compactelem: a tag, then the elements)
 */
#define STATES_PLAN_VARLENA		((int16) -1)
#define STATES_PLAN_FUNCTION	((int16) 0)
#define STATES_PLAN_COMPACT(n)	((int16) (-1 - (n)))
#define STATES_PLAN_ELEMENTS(p)	(-1 - (int) (p))

/*
 * Whether varlena state v is an array that a compact plan
 * (STATES_PLAN_COMPACT) of n elements writes compact: in place (not
 * toasted) and of the compact form's shape (image_array_compact_fits).
 */
static inline bool
states_compact_fits(const void *v, int n)
{
	return !VARATT_IS_EXTENDED(v) && image_array_compact_fits((const ArrayType *) v, n);
}

/*
 * Writes into buf (size bytes) the states image of one group's n states,
 * as plan (states_plan) says, in one pass: the same bytes as states_image.
 * Returns its length, or -1 when a state needs a function, a varlena does
 * not lie as is (toasted, compressed or with a short header) or the image
 * does not fit (states_image then makes it). Always inline: the speed
 * layer's apply calls it for every group, from two places.
 */
static pg_attribute_always_inline int
states_plan_image(const int16 *plan, int n, const Datum *values, const bool *nulls,
				  char *buf, int size)
{
	char	   *w = buf;
	char	   *end = buf + size;
	int			i;

	for (i = 0; i < n; i++)
	{
		int16		p = plan[i];
		uint32		l;

		if (nulls[i])
		{
			if (w >= end)
				return -1;
			*w++ = 0;
			continue;
		}
		if (p > 0)
		{
			l = p;
			if (end - w < (long) (1 + sizeof(uint32) + sizeof(Datum)))
				return -1;
			*w = 1;
			memcpy(w + 1, &l, sizeof(uint32));
			store_att_byval(w + 1 + sizeof(uint32), values[i], l);
		}
		else
		{
			/* a varlena: compact (an array of nel 8-byte elements) or as it lies */
			const void *v = DatumGetPointer(values[i]);
			int			nel = p < STATES_PLAN_VARLENA ? STATES_PLAN_ELEMENTS(p) : 0;

			if (p == STATES_PLAN_FUNCTION || VARATT_IS_EXTENDED(v) ||
				(nel > 0 && !image_array_compact_fits((const ArrayType *) v, nel)))
				return -1;
			l = nel > 0 ? IMAGE_ARRAY_COMPACT_SIZE(nel) : VARSIZE(v);
			if ((Size) (end - w) < 1 + sizeof(uint32) + l)
				return -1;
			*w = 1;
			memcpy(w + 1, &l, sizeof(uint32));
			if (nel > 0)
				image_array_compact_write(w + 1 + sizeof(uint32), (const ArrayType *) v, nel);
			else
				memcpy(w + 1 + sizeof(uint32), v, l);
		}
		w += 1 + sizeof(uint32) + l;
	}
	return w - buf;
}

#endif							/* LAMBDA_STATEIMAGE_H */
