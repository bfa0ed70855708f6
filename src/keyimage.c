/*-------------------------------------------------------------------------
 *
 * keyimage.c
 *	  Key images: a group's key values as bytes.
 *
 * The speed layer, the batch refresh and the merged read find a group by
 * the image of its key:
 *
 *   key image     per key column: 0 (NULL) or 1 followed by the value: the
 *                 typlen bytes of a fixed-length type, or a uint32 length and
 *                 the bytes of a (detoasted) varlena or cstring.
 *
 * Equal key images mean equal keys. The converse holds only for types whose
 * btree equality is image equality (ViewDef.keys_image_eq); otherwise one
 * group may appear under several images (numeric 1.0 and 1.00), which is
 * harmless: every final answer groups again with the type's own equality.
 *
 * Locks: none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupmacs.h"
#include "utils/memutils.h"

#include "image.h"
#include "keyimage.h"

/* Appends one non-NULL key value's bytes, as the key image lays them out. */
static void
key_append_value(StringInfo buf, Datum value, int16 typlen, bool byval)
{
	if (typlen > 0)
	{
		if (byval)
		{
			char		tmp[sizeof(Datum)];

			store_att_byval(tmp, value, typlen);
			appendBinaryStringInfo(buf, tmp, typlen);
		}
		else
			appendBinaryStringInfo(buf, DatumGetPointer(value), typlen);
	}
	else
	{
		const char *p;
		uint32		len;

		if (typlen == -1)
		{
			struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

			p = VARDATA_ANY(v);
			len = VARSIZE_ANY_EXHDR(v);
		}
		else
		{
			p = DatumGetCString(value);
			len = strlen(p) + 1;
		}
		appendBinaryStringInfo(buf, (char *) &len, sizeof(uint32));
		appendBinaryStringInfo(buf, p, len);
	}
}

/* key_image value by value, each appended in turn */
static void
key_image_values(ViewDef *def, Datum *values, bool *nulls, StringInfo buf)
{
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		appendStringInfoChar(buf, nulls[i] ? 0 : 1);
		if (!nulls[i])
			key_append_value(buf, values[i], def->keylens[i], def->keybyvals[i]);
	}
}

/* keys key_image lays out in one pass (more: value by value) */
#define KEY_IMAGE_DIRECT_MAX	16

/*
 * Appends the key image of one group's key values. The room the whole image
 * takes is made at once (after detoasting varlena keys) and the bytes
 * written through a pointer: the merged scan computes the image of every
 * batch row it probes with, and capture that of every event.
 */
void
key_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf)
{
	const char *ptrs[KEY_IMAGE_DIRECT_MAX];
	uint32		lens[KEY_IMAGE_DIRECT_MAX];
	Size		room = 0;
	char	   *w;
	int			i;

	if (def->nkeys > KEY_IMAGE_DIRECT_MAX)
	{
		key_image_values(def, values, nulls, buf);
		return;
	}
	for (i = 0; i < def->nkeys; i++)
	{
		int16		typlen = def->keylens[i];

		room++;
		if (nulls[i])
			continue;
		if (typlen > 0)
			room += typlen;
		else
		{
			if (typlen == -1)
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(values[i]);

				ptrs[i] = VARDATA_ANY(v);
				lens[i] = VARSIZE_ANY_EXHDR(v);
			}
			else
			{
				ptrs[i] = DatumGetCString(values[i]);
				lens[i] = strlen(ptrs[i]) + 1;
			}
			room += sizeof(uint32) + lens[i];
		}
	}
	if (room >= (Size) MaxAllocSize)
	{
		/* too large for one buffer: value by value, to the same error */
		key_image_values(def, values, nulls, buf);
		return;
	}
	enlargeStringInfo(buf, (int) room);
	w = buf->data + buf->len;
	for (i = 0; i < def->nkeys; i++)
	{
		int16		typlen = def->keylens[i];

		*w++ = nulls[i] ? 0 : 1;
		if (nulls[i])
			continue;
		if (typlen > 0)
		{
			if (def->keybyvals[i])
			{
				char		tmp[sizeof(Datum)];

				store_att_byval(tmp, values[i], typlen);
				memcpy(w, tmp, typlen);
			}
			else
				memcpy(w, DatumGetPointer(values[i]), typlen);
			w += typlen;
		}
		else
		{
			memcpy(w, &lens[i], sizeof(uint32));
			w += sizeof(uint32);
			memcpy(w, ptrs[i], lens[i]);
			w += lens[i];
		}
	}
	buf->len = w - buf->data;
	buf->data[buf->len] = '\0';
}

/*
 * key_image for keys that are all fixed-length and by value
 * (ViewDef.keys_fixed), into out (room for 1 + sizeof(Datum) bytes per
 * key) without a StringInfo: the same bytes. Returns their length.
 */
int
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

/*
 * Restores key values from a key image (in the current context). Key images
 * come from pg_lambda's own memory; the framing is checked all the same, so
 * that a wrong image is an error and never a read out of bounds.
 */
void
key_decode(ViewDef *def, const char *data, int len, Datum *values, bool *nulls)
{
	const char *p = data;
	const char *end = data + len;
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		int16		typlen = def->keylens[i];

		if (p >= end)
			image_corrupted("key image", psprintf("It ends before key %d of %d.", i + 1, def->nkeys));
		if (*p != 0 && *p != 1)
			image_corrupted("key image", psprintf("Key %d has NULL flag %d.", i + 1, *p));
		nulls[i] = (*p++ == 0);
		if (nulls[i])
		{
			values[i] = (Datum) 0;
			continue;
		}
		if (typlen > 0)
		{
			if (end - p < typlen)
				image_corrupted("key image", psprintf("Key %d runs past the end of the image.", i + 1));
			if (def->keybyvals[i])
				values[i] = image_fetch_byval(p, typlen);
			else
			{
				char	   *v = palloc(typlen);

				memcpy(v, p, typlen);
				values[i] = PointerGetDatum(v);
			}
			p += typlen;
		}
		else
		{
			uint32		l;

			if (end - p < (ptrdiff_t) sizeof(uint32))
				image_corrupted("key image", psprintf("The length of key %d runs past the end of the image.", i + 1));
			memcpy(&l, p, sizeof(uint32));
			p += sizeof(uint32);
			if ((Size) (end - p) < l || l > MaxAllocSize - VARHDRSZ || (typlen == -2 && (l == 0 || p[l - 1] != '\0')))
				image_corrupted("key image", psprintf("Key %d of %u bytes runs past the end of the image.", i + 1, l));
			if (typlen == -1)
			{
				struct varlena *v = palloc(VARHDRSZ + l);

				SET_VARSIZE(v, VARHDRSZ + l);
				memcpy(VARDATA(v), p, l);
				values[i] = PointerGetDatum(v);
			}
			else
			{
				char	   *v = palloc(l);

				memcpy(v, p, l);
				values[i] = CStringGetDatum(v);
			}
			p += l;
		}
	}
	if (p != end)
		image_corrupted("key image", psprintf("It has %d bytes after its %d keys.", (int) (end - p), def->nkeys));
}

/*
 * Appends the image of one key column's value (its part of a key image:
 * the NULL flag, then the value), so that a value can be compared with the
 * column's part of stored key images (speed_index.c).
 */
void
key_column_image(ViewDef *def, int col, Datum value, bool isnull, StringInfo buf)
{
	appendStringInfoChar(buf, isnull ? 0 : 1);
	if (!isnull)
		key_append_value(buf, value, def->keylens[col], def->keybyvals[col]);
}

/*
 * Steps over key column i's part of a key image that begins at *p: false
 * when the image is too short for it.
 */
static inline bool
key_column_step(ViewDef *def, const char *data, int len, int i, int *p)
{
	int16		typlen = def->keylens[i];

	if (*p >= len)
		return false;
	if (data[(*p)++] == 0)
		;						/* NULL: the flag only */
	else if (typlen > 0)
		*p += typlen;
	else
	{
		uint32		l;

		if (len - *p < (int) sizeof(uint32))
			return false;
		memcpy(&l, data + *p, sizeof(uint32));
		if ((uint32) (len - *p - sizeof(uint32)) < l)
			return false;
		*p += sizeof(uint32) + l;
	}
	return *p <= len;
}

/*
 * Finds key column col's part of a key image: sets *off and *len and
 * returns true, or false when the image is too short for it (only a wrong
 * image is; callers treat that as "does not match").
 */
bool
key_column_span(ViewDef *def, const char *data, int len, int col, int *off, int *partlen)
{
	int			p = 0;
	int			i;

	for (i = 0; i < col; i++)
	{
		if (!key_column_step(def, data, len, i, &p))
			return false;
	}
	*off = p;
	if (!key_column_step(def, data, len, col, &p))
		return false;
	*partlen = p - *off;
	return true;
}

/*
 * key_column_span for every key column at once, into offs[] and lens[]
 * (def->nkeys each).
 */
bool
key_column_spans(ViewDef *def, const char *data, int len, int *offs, int *lens)
{
	int			p = 0;
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		offs[i] = p;
		if (!key_column_step(def, data, len, i, &p))
			return false;
		lens[i] = p - offs[i];
	}
	return true;
}

/*
 * Restores one key column's value from its part of a key image (see
 * key_column_image), in the current context. The part is checked as
 * key_decode checks a whole image.
 */
void
key_column_decode(ViewDef *def, int col, const char *data, int len, Datum *value, bool *isnull)
{
	int16		typlen = def->keylens[col];

	if (len < 1 || (data[0] != 0 && data[0] != 1))
		image_corrupted("key image", psprintf("Key %d has no valid NULL flag.", col + 1));
	*isnull = (data[0] == 0);
	*value = (Datum) 0;
	if (*isnull)
		return;
	data++;
	len--;
	if (typlen > 0)
	{
		if (len != typlen)
			image_corrupted("key image", psprintf("Key %d has %d bytes, not %d.", col + 1, len, typlen));
		if (def->keybyvals[col])
			*value = image_fetch_byval(data, typlen);
		else
		{
			char	   *v = palloc(typlen);

			memcpy(v, data, typlen);
			*value = PointerGetDatum(v);
		}
	}
	else
	{
		uint32		l;

		if (len < (int) sizeof(uint32))
			image_corrupted("key image", psprintf("The length of key %d runs past the end of its image.", col + 1));
		memcpy(&l, data, sizeof(uint32));
		data += sizeof(uint32);
		len -= sizeof(uint32);
		if ((uint32) len != l || l > MaxAllocSize - VARHDRSZ || (typlen == -2 && (l == 0 || data[l - 1] != '\0')))
			image_corrupted("key image", psprintf("Key %d of %u bytes does not fill its image.", col + 1, l));
		if (typlen == -1)
		{
			struct varlena *v = palloc(VARHDRSZ + l);

			SET_VARSIZE(v, VARHDRSZ + l);
			memcpy(VARDATA(v), data, l);
			*value = PointerGetDatum(v);
		}
		else
		{
			char	   *v = palloc(l);

			memcpy(v, data, l);
			*value = CStringGetDatum(v);
		}
	}
}

