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
extern void key_column_image(ViewDef *def, int col, Datum value, bool isnull, StringInfo buf);
extern bool key_column_span(ViewDef *def, const char *data, int len, int col, int *off, int *partlen);
extern bool key_column_spans(ViewDef *def, const char *data, int len, int *offs, int *lens);
extern void key_column_decode(ViewDef *def, int col, const char *data, int len, Datum *value, bool *isnull);

/*
 * The hash of a key image, for the hash tables of groups in memory: the
 * backend's partial hashes, the speed layer's generations, indexes and
 * copies. Nothing on disk holds it (a batch table's long keys are indexed
 * by lambda_catalog.key_hash, another function), and the speed layer lives
 * as long as the server, whose processes all run the library the
 * postmaster loaded, so it may change from one version to the next.
 *
 * Key images are short (a few bytes to a few dozen: an integer or a short
 * text and a time bucket), and the merged scans hash one per batch row, so
 * this takes eight bytes at a time, each word mixed in by a multiplication
 * (for a given length and prefix, a bijection of the word), the last one
 * or the 1 to 7 bytes left packed into one word, then MurmurHash3's 64-bit
 * finalizer for the low bits the tables take. Inline: it is on the per-row
 * paths of capture and of the merged scans.
 */
static inline uint32
key_hash(const char *data, int len)
{
	uint64		h = UINT64CONST(0x9E3779B97F4A7C15) * ((uint64) len + 1);
	uint64		w;

	while (len > 8)
	{
		memcpy(&w, data, sizeof(uint64));
		h = (h ^ w) * UINT64CONST(0xff51afd7ed558ccd);
		h ^= h >> 29;
		data += 8;
		len -= 8;
	}
	if (len == 8)
		memcpy(&w, data, sizeof(uint64));
	else
	{
		/* the bytes left, packed (their count is in h already) */
		w = 0;
		if (len & 4)
		{
			uint32		x;

			memcpy(&x, data, sizeof(uint32));
			w = x;
			data += 4;
		}
		if (len & 2)
		{
			uint16		x;

			memcpy(&x, data, sizeof(uint16));
			w = (w << 16) | x;
			data += 2;
		}
		if (len & 1)
			w = (w << 8) | (uint8) *data;
	}
	h ^= w;
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32) h;
}

#endif							/* LAMBDA_KEYIMAGE_H */
