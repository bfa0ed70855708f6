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

#include "lib/stringinfo.h"

#include "aggstate.h"
#include "cview.h"

extern AggMeta *aggmeta_lookup(Oid batch_relid, int aggno);

/* States images */
extern void states_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf);
extern bool states_image_plain(ViewDef *def);
extern int	states_image_plain_len(ViewDef *def, Datum *values, bool *nulls);
extern void states_image_write(ViewDef *def, Datum *values, bool *nulls, char *w);
extern void states_decode(ViewDef *def, const char *data, int len,
						  Datum *values, bool *nulls, MemoryContext cxt);
extern bool states_combine_in_place(ViewDef *def, char *a, int alen, const char *b, int blen);
extern void states_combine_images(ViewDef *def, const char *a, int alen,
								  const char *b, int blen, StringInfo out);
extern int	states_split(ViewDef *def, const char *data, int len,
						 const char **parts, int *lens);

#endif							/* LAMBDA_STATEIMAGE_H */
