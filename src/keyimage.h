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
extern void key_decode(ViewDef *def, const char *data, int len, Datum *values, bool *nulls);
extern uint32 key_hash(const char *data, int len);

#endif							/* LAMBDA_KEYIMAGE_H */
