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

/* In a plan (states_plan): a varlena copied as it lies; a function's state */
#define STATES_PLAN_VARLENA		((int16) -1)
#define STATES_PLAN_FUNCTION	((int16) 0)

/*
 * The length of the states image of one group's n states, written as plan
 * (states_plan) says, when no state needs a function and every varlena lies
 * as is (not toasted, compressed or with a short header); -1 otherwise
 * (states_image then makes it). With it, the caller writes the image where
 * it is kept (states_plan_write) rather than through a buffer. Inline: the
 * speed layer's apply calls it for every new group.
 */
static inline int
states_plan_len(const int16 *plan, int n, const Datum *values, const bool *nulls)
{
	int			len = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			len += 1;
		else if (plan[i] > 0)
			len += 1 + sizeof(uint32) + plan[i];
		else if (plan[i] == STATES_PLAN_FUNCTION ||
				 VARATT_IS_EXTENDED(DatumGetPointer(values[i])))
			return -1;
		else
			len += 1 + sizeof(uint32) + VARSIZE(DatumGetPointer(values[i]));
	}
	return len;
}

/*
 * Writes at w the states image whose length states_plan_len gave: the same
 * bytes as states_image.
 */
static inline void
states_plan_write(const int16 *plan, int n, const Datum *values, const bool *nulls, char *w)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		uint32		l;

		if (nulls[i])
		{
			*w++ = 0;
			continue;
		}
		*w++ = 1;
		if (plan[i] > 0)
		{
			l = plan[i];
			memcpy(w, &l, sizeof(uint32));
			store_att_byval(w + sizeof(uint32), values[i], l);
		}
		else
		{
			l = VARSIZE(DatumGetPointer(values[i]));
			memcpy(w, &l, sizeof(uint32));
			memcpy(w + sizeof(uint32), DatumGetPointer(values[i]), l);
		}
		w += sizeof(uint32) + l;
	}
}

#endif							/* LAMBDA_STATEIMAGE_H */
