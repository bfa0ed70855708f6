/*-------------------------------------------------------------------------
 *
 * keyimage.h
 *	  Key images: a group's key values as bytes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_KEYIMAGE_H
#define LAMBDA_KEYIMAGE_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "cview.h"

extern void key_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf);
extern int	key_image_fixed(ViewDef *def, Datum *values, bool *nulls, char *out);
extern void key_decode(ViewDef *def, const char *data, int len, Datum *values, bool *nulls);
extern uint32 key_hash(const char *data, int len);
extern void key_column_image(ViewDef *def, int col, Datum value, bool isnull, StringInfo buf);
extern bool key_column_span(ViewDef *def, const char *data, int len, int col, int *off, int *partlen);
extern void key_column_decode(ViewDef *def, int col, const char *data, int len, Datum *value, bool *isnull);

#endif							/* LAMBDA_KEYIMAGE_H */
