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

#include "access/tupmacs.h"
#include "lib/stringinfo.h"

#include "cview.h"

extern void key_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf);
extern void key_decode(ViewDef *def, const char *data, int len, Datum *values, bool *nulls);
extern uint32 key_hash(const char *data, int len);
extern void key_column_image(ViewDef *def, int col, Datum value, bool isnull, StringInfo buf);
extern bool key_column_span(ViewDef *def, const char *data, int len, int col, int *off, int *partlen);
extern void key_column_decode(ViewDef *def, int col, const char *data, int len, Datum *value, bool *isnull);

/*
 * key_image for keys that are all fixed-length and by value
 * (ViewDef.keys_fixed), into out (room for 1 + sizeof(Datum) bytes per
 * key) without a StringInfo: the same bytes. Returns their length. Inline:
 * capture makes one for every row.
 */
static inline int
key_image_fixed(ViewDef *def, Datum *values, bool *nulls, char *out)
{
	int			len = 0;
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		out[len++] = nulls[i] ? 0 : 1;
		if (nulls[i])
			continue;
		switch (def->keylens[i])
		{
			case 1:
				out[len] = DatumGetChar(values[i]);
				break;
			case 2:
				{
					int16		v = DatumGetInt16(values[i]);

					memcpy(out + len, &v, 2);
				}
				break;
			case 4:
				{
					int32		v = DatumGetInt32(values[i]);

					memcpy(out + len, &v, 4);
				}
				break;
			default:
				{
					char		tmp[sizeof(Datum)];

					store_att_byval(tmp, values[i], def->keylens[i]);
					memcpy(out + len, tmp, def->keylens[i]);
				}
				break;
		}
		len += def->keylens[i];
	}
	return len;
}

#endif							/* LAMBDA_KEYIMAGE_H */
