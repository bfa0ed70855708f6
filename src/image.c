/*-------------------------------------------------------------------------
 *
 * image.c
 *	  Checks of datum images read back from bytes.
 *
 * pg_lambda keeps aggregate states and count(DISTINCT) values as bytes: in
 * batch tables, in the speed layer, and in the bytea arguments of its
 * SQL-callable internal functions (lambda_catalog.merge, combine_states,
 * combine_agg), which any role can call with bytes of its own making. A
 * PostgreSQL function trusts the datums it is given, so no image may reach
 * one before it is known to be a value the type could have produced. The
 * rules, per type (domains by their base type):
 *
 *   by value            exactly typlen bytes; any bit pattern is a value
 *   fixed length        exactly typlen bytes (name: holding a NUL)
 *   cstring             a NUL at the end and nowhere else
 *   varlena             an uncompressed 4-byte header (never external)
 *                       whose size is the image's, then the content:
 *     bytea               any bytes
 *     text, varchar,      valid in the database encoding (pg_verifymbstr)
 *     bpchar
 *     numeric             header word, no digit outside 0..NBASE-1, size
 *                         a whole number of digits after the header
 *     bit, varbit         as many bytes as the bit length needs, padding 0
 *     inet, cidr          family, bits within it, the family's size
 *     arrays              of element types checked here: ndim, dims and
 *                         lower bounds (as ArrayCheckBounds), element type,
 *                         data offset and null bitmap, then every element
 *                         walked as array_iter does, each within the data
 *                         and checked by its own rule
 *   anything else       (ranges, jsonb, records, arrays of those, types of
 *                       other extensions): images are the type's binary
 *                       send form, read with its receive function, which
 *                       PostgreSQL requires to be safe on untrusted input;
 *                       as a state, behind IMAGE_SEND_TAG. Both run with
 *                       client_encoding pinned to the database encoding, as
 *                       textsend and its kind convert text to the client's.
 *                       A type without binary I/O cannot be kept at all:
 *                       continuous views refuse it when they are created.
 *
 * Internal states are not checked here: they go through the aggregate's
 * deserialization function (PostgreSQL's read with pq_getmsg*, which checks
 * every length; pg_lambda's own, in sketch.c, check their framing).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/htup_details.h"
#include "access/tupmacs.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/varbit.h"

#include "image.h"

/* numeric's on-disk header, as utils/adt/numeric.c lays it out (private there) */
#define IMG_NUMERIC_SIGN_MASK	0xC000
#define IMG_NUMERIC_SHORT		0x8000
#define IMG_NUMERIC_SPECIAL		0xC000
#define IMG_NUMERIC_NAN			0xC000
#define IMG_NUMERIC_PINF		0xD000
#define IMG_NUMERIC_NINF		0xF000
#define IMG_NUMERIC_NBASE		10000

typedef struct ImageCacheEntry
{
	Oid			typid;
	bool		valid;
	uint32		hashvalue;		/* of typid in the pg_type syscache */
	ImageType  *type;
} ImageCacheEntry;

/*
 * The rules of the types seen by this backend. Rules are never freed (a
 * compiled view or a state may point to one); when a type's pg_type row
 * changes, its rule is rebuilt in place on the next lookup.
 */
static HTAB *image_cache = NULL;

static void image_check_varlena(const ImageType *t, const char *data, Size len);

/* A pg_type row changed (hashvalue 0: any): rebuild its rule on its next lookup */
static void
image_cache_invalidate(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(), uint32 hashvalue)
{
	HASH_SEQ_STATUS seq;
	ImageCacheEntry *e;

	hash_seq_init(&seq, image_cache);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (hashvalue == 0 || e->hashvalue == hashvalue)
			e->valid = false;
	}
}

/*
 * Raises the error of an image that fails a check: what failed in the
 * detail, and where states come from in the hint.
 */
void
image_corrupted(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid %s", what),
			 errdetail("%s", detail),
			 errhint("Pass only states read from the continuous view's batch or speed table; if this one was read from there, run lambda.recompute() on the view.")));
}

/* image_corrupted for a value of type t, with a formatted detail */
static void
image_bad(const ImageType *t, const char *fmt,...) pg_attribute_printf(2, 3);

static void
image_bad(const ImageType *t, const char *fmt,...)
{
	StringInfoData detail;
	va_list		args;

	initStringInfo(&detail);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&detail, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&detail, needed);
	}
	image_corrupted(psprintf("serialized value of type %s", format_type_be(t->typid)),
					detail.data);
}

/*
 * Refuses to read a value of a type without binary I/O, kept as raw bytes
 * by a view created before 0.4.0 (CREATE refuses such types now).
 */
static void
image_refuse(const ImageType *t)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("values of type %s kept by a continuous view cannot be read back safely",
					format_type_be(t->typid)),
			 errdetail("The type has no binary send and receive functions, and the bytes of its values cannot be checked."),
			 errhint("Drop the continuous view and create it again without aggregating this type, e.g. with a cast to text.")));
}

/* Builds the rule of a type. */
static void
image_type_build(ImageType *t, Oid typid)
{
	Oid			base = getBaseType(typid);
	Oid			elem;

	memset(t, 0, sizeof(ImageType));
	t->typid = typid;
	t->basetype = base;
	get_typlenbyvalalign(base, &t->typlen, &t->typbyval, &t->typalign);
	if (t->typlen > 0)
		t->kind = t->typbyval ? IMAGE_BYVAL : base == NAMEOID ? IMAGE_NAME : IMAGE_FIXED;
	else if (t->typlen == -2)
		t->kind = IMAGE_CSTRING;
	else if (base == BYTEAOID)
		t->kind = IMAGE_BYTES;
	else if (base == TEXTOID || base == VARCHAROID || base == BPCHAROID)
		t->kind = IMAGE_TEXT;
	else if (base == NUMERICOID)
		t->kind = IMAGE_NUMERIC;
	else if (base == BITOID || base == VARBITOID)
		t->kind = IMAGE_BITS;
	else if (base == INETOID || base == CIDROID)
		t->kind = IMAGE_INET;
	else
	{
		t->kind = IMAGE_NONE;
		if (OidIsValid(elem = get_element_type(base)))
		{
			t->elem = image_type_lookup(elem);
			t->elemtype = elem;
			if (t->elem->kind != IMAGE_SEND && t->elem->kind != IMAGE_NONE)
				t->kind = IMAGE_ARRAY;
		}
		if (t->kind == IMAGE_NONE)
		{
			HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(base));
			Form_pg_type typ;

			if (!HeapTupleIsValid(tup))
				elog(ERROR, "cache lookup failed for type %u", base);
			typ = (Form_pg_type) GETSTRUCT(tup);
			if (OidIsValid(typ->typsend) && OidIsValid(typ->typreceive))
			{
				t->kind = IMAGE_SEND;
				fmgr_info_cxt(typ->typsend, &t->send, TopMemoryContext);
				fmgr_info_cxt(typ->typreceive, &t->recv, TopMemoryContext);
				t->ioparam = getTypeIOParam(tup);
			}
			ReleaseSysCache(tup);
		}
	}
}

/*
 * The rule of type typid, from this backend's cache. Lives as long as the
 * backend.
 */
const ImageType *
image_type_lookup(Oid typid)
{
	ImageCacheEntry *e;
	bool		found;

	if (image_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ImageCacheEntry);
		ctl.hcxt = TopMemoryContext;
		image_cache = hash_create("pg_lambda image types", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterSyscacheCallback(TYPEOID, image_cache_invalidate, (Datum) 0);
	}
	e = hash_search(image_cache, &typid, HASH_ENTER, &found);
	if (!found)
	{
		e->valid = false;
		e->hashvalue = GetSysCacheHashValue1(TYPEOID, ObjectIdGetDatum(typid));
		e->type = MemoryContextAllocZero(TopMemoryContext, sizeof(ImageType));
	}
	if (!e->valid)
	{
		ImageType	t;

		/* built aside: an error leaves the old rule, to be built again */
		image_type_build(&t, typid);
		memcpy(e->type, &t, sizeof(ImageType));
		e->valid = true;
	}
	return e->type;
}

/*
 * Refuses a type whose values pg_lambda cannot keep as bytes and read back
 * safely: a varlena type without binary send and receive functions. "what"
 * says where the type is used, for the message.
 */
void
image_type_check_supported(Oid typid, const char *what)
{
	if (image_type_lookup(typid)->kind == IMAGE_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views cannot keep %s of type %s", what, format_type_be(typid)),
				 errdetail("Values of the type are kept as bytes between layers, and the type has no binary send and receive functions to read them back safely."),
				 errhint("Aggregate a cast of the expression to a type that has them, e.g. text.")));
}

/* A uint32 from unaligned memory */
static inline uint32
image_u32(const char *p)
{
	uint32		v;

	memcpy(&v, p, sizeof(uint32));
	return v;
}

/*
 * Checks the image of a whole datum of type t, as aggmeta_serialize writes
 * it: the typlen bytes of a fixed-length value, a cstring with its NUL, or
 * a varlena with its (4-byte, uncompressed) header.
 */
void
image_check_datum(const ImageType *t, const char *data, Size len)
{
	uint32		header;

	switch (t->kind)
	{
		case IMAGE_BYVAL:
		case IMAGE_FIXED:
		case IMAGE_NAME:
			if (len != (Size) t->typlen)
				image_bad(t, "The image has %zu bytes; the type's values have %d.", len, t->typlen);
			if (t->kind == IMAGE_NAME && memchr(data, '\0', len) == NULL)
				image_bad(t, "The name is not terminated.");
			return;
		case IMAGE_CSTRING:
			if (len == 0 || strnlen(data, len) != len - 1)
				image_bad(t, "The string is not terminated by its last byte.");
			return;
		case IMAGE_NONE:
			image_refuse(t);
			return;
		case IMAGE_SEND:
			elog(ERROR, "type %s has no checked image", format_type_be(t->typid));
			return;
		default:
			break;
	}
	if (len < VARHDRSZ)
		image_bad(t, "The image has %zu bytes, fewer than a varlena header.", len);
	header = image_u32(data);
	if (!VARATT_IS_4B_U(&header))
		image_bad(t, "The value's varlena header is not an uncompressed 4-byte header.");
	if (VARSIZE_4B(&header) != len)
		image_bad(t, "The value's varlena header says %u bytes, but the image has %zu.",
				  (uint32) VARSIZE_4B(&header), len);
	image_check_content(t, data + VARHDRSZ, len - VARHDRSZ);
}

/* The content of a numeric value: see the file header. */
static void
image_check_numeric(const ImageType *t, const char *data, Size len)
{
	uint16		header;
	Size		hdr;
	Size		i;

	if (len < sizeof(uint16))
		image_bad(t, "The numeric value has no header.");
	memcpy(&header, data, sizeof(uint16));
	if ((header & IMG_NUMERIC_SIGN_MASK) == IMG_NUMERIC_SPECIAL)
	{
		if (header != IMG_NUMERIC_NAN && header != IMG_NUMERIC_PINF && header != IMG_NUMERIC_NINF)
			image_bad(t, "The numeric header 0x%04x is no special value.", header);
		return;
	}
	hdr = (header & IMG_NUMERIC_SIGN_MASK) == IMG_NUMERIC_SHORT ? sizeof(uint16) : 2 * sizeof(uint16);
	if (len < hdr || (len - hdr) % sizeof(int16) != 0)
		image_bad(t, "The numeric value has %zu bytes, not a header and whole digits.", len);
	for (i = hdr; i < len; i += sizeof(int16))
	{
		int16		digit;

		memcpy(&digit, data + i, sizeof(int16));
		if (digit < 0 || digit >= IMG_NUMERIC_NBASE)
			image_bad(t, "The numeric value has digit %d.", digit);
	}
}

/* The content of a bit or varbit value. */
static void
image_check_bits(const ImageType *t, const char *data, Size len)
{
	int32		bitlen;
	Size		bytes;
	int			pad;

	if (len < VARBITHDRSZ)
		image_bad(t, "The bit string has no length.");
	memcpy(&bitlen, data, sizeof(int32));
	if (bitlen < 0)
		image_bad(t, "The bit string's length is %d.", bitlen);
	bytes = ((Size) bitlen + BITS_PER_BYTE - 1) / BITS_PER_BYTE;
	if (len - VARBITHDRSZ != bytes)
		image_bad(t, "A bit string of %d bits has %zu bytes, not %zu.", bitlen, len - VARBITHDRSZ, bytes);
	pad = (int) (bytes * BITS_PER_BYTE - bitlen);
	if (pad > 0 && (((uint8) data[len - 1]) & ((1 << pad) - 1)) != 0)
		image_bad(t, "The padding bits of the bit string are not zero.");
}

/* The content of an inet or cidr value. */
static void
image_check_inet(const ImageType *t, const char *data, Size len)
{
	unsigned char family;
	unsigned char bits;

	if (len < 2)
		image_bad(t, "The address has no family.");
	family = (unsigned char) data[0];
	bits = (unsigned char) data[1];
	if (family == PGSQL_AF_INET)
	{
		if (len != 2 + 4 || bits > 32)
			image_bad(t, "An IPv4 address has %zu bytes and %u bits.", len, bits);
	}
	else if (family == PGSQL_AF_INET6)
	{
		if (len != 2 + 16 || bits > 128)
			image_bad(t, "An IPv6 address has %zu bytes and %u bits.", len, bits);
	}
	else
		image_bad(t, "The address family is %u.", family);
}

/*
 * Checks one element of an array, at data with avail bytes left; returns its
 * size. A varlena element may have a short header (readers take both).
 */
static Size
image_check_element(const ImageType *array, const ImageType *e, const char *data, Size avail)
{
	if (e->typlen > 0)
	{
		if (avail < (Size) e->typlen)
			image_bad(array, "An element runs past the end of the array.");
		if (e->kind == IMAGE_NAME && memchr(data, '\0', e->typlen) == NULL)
			image_bad(array, "A name element is not terminated.");
		return e->typlen;
	}
	if (e->typlen == -2)
	{
		Size		n = strnlen(data, avail);

		if (n == avail)
			image_bad(array, "A string element runs past the end of the array.");
		return n + 1;
	}
	if (avail < 1)
		image_bad(array, "An element runs past the end of the array.");
	if (VARATT_IS_1B_E(data))
		image_bad(array, "An element is a TOAST pointer.");
	if (VARATT_IS_1B(data))
	{
		Size		size = VARSIZE_1B(data);

		if (size < VARHDRSZ_SHORT || size > avail)
			image_bad(array, "An element of %zu bytes runs past the end of the array.", size);
		image_check_varlena(e, data + VARHDRSZ_SHORT, size - VARHDRSZ_SHORT);
		return size;
	}
	else
	{
		uint32		header;
		Size		size;

		if (avail < VARHDRSZ)
			image_bad(array, "An element runs past the end of the array.");
		header = image_u32(data);
		if (!VARATT_IS_4B_U(&header))
			image_bad(array, "An element is compressed.");
		size = VARSIZE_4B(&header);
		if (size < VARHDRSZ || size > avail)
			image_bad(array, "An element of %zu bytes runs past the end of the array.", size);
		image_check_varlena(e, data + VARHDRSZ, size - VARHDRSZ);
		return size;
	}
}

/*
 * The content of an array (after a 4-byte header: offsets in the layout
 * count from the header, which is where readers see it once detoasted).
 */
static void
image_check_array(const ImageType *t, const char *data, Size len)
{
	Size		total = len + VARHDRSZ;	/* the layout's size */
	int32		ndim;
	int32		dataoffset;
	Oid			elemtype;
	int32		dims[MAXDIM];
	int32		lbs[MAXDIM];
	int64		nitems = 1;
	Size		hdr;
	Size		off;
	const char *bitmap = NULL;
	int64		i;

	/* content offset of a layout offset */
#define AT(o) (data + (o) - VARHDRSZ)

	if (total < sizeof(ArrayType))
		image_bad(t, "The array has %zu bytes, fewer than its header.", total);
	memcpy(&ndim, AT(offsetof(ArrayType, ndim)), sizeof(int32));
	memcpy(&dataoffset, AT(offsetof(ArrayType, dataoffset)), sizeof(int32));
	memcpy(&elemtype, AT(offsetof(ArrayType, elemtype)), sizeof(Oid));
	if (ndim < 0 || ndim > MAXDIM)
		image_bad(t, "The array has %d dimensions.", ndim);
	if (elemtype != t->elemtype)
		image_bad(t, "The array's elements have type %s.",
				  format_type_extended(elemtype, -1, FORMAT_TYPE_ALLOW_INVALID));
	if (ndim == 0)
	{
		if (dataoffset != 0 || total != sizeof(ArrayType))
			image_bad(t, "An empty array has %zu bytes and data offset %d.", total, dataoffset);
		return;
	}
	hdr = sizeof(ArrayType) + 2 * sizeof(int32) * ndim;
	if (total < hdr)
		image_bad(t, "The array's dimensions run past its end.");
	memcpy(dims, AT(sizeof(ArrayType)), sizeof(int32) * ndim);
	memcpy(lbs, AT(sizeof(ArrayType) + sizeof(int32) * ndim), sizeof(int32) * ndim);
	for (i = 0; i < ndim; i++)
	{
		if (dims[i] <= 0 || (int64) dims[i] + lbs[i] > PG_INT32_MAX)
			image_bad(t, "Dimension %d of the array has %d elements from %d.", (int) i + 1, dims[i], lbs[i]);
		nitems *= dims[i];
		if (nitems > (int64) MaxArraySize)
			image_bad(t, "The array has more than %zu elements.", (Size) MaxArraySize);
	}
	if (dataoffset == 0)
		off = ARR_OVERHEAD_NONULLS(ndim);
	else
	{
		if ((Size) dataoffset != ARR_OVERHEAD_WITHNULLS(ndim, nitems))
			image_bad(t, "The array's data offset is %d.", dataoffset);
		off = dataoffset;
		bitmap = AT(hdr);
	}
	if (off > total)
		image_bad(t, "The array's header runs past its end.");
	for (i = 0; i < nitems; i++)
	{
		if (bitmap && (((uint8) bitmap[i / 8]) & (1 << (i % 8))) == 0)
			continue;			/* NULL */
		off = att_align_nominal(off, t->elem->typalign);
		if (off > total)
			image_bad(t, "An element runs past the end of the array.");
		off += image_check_element(t, t->elem, AT(off), total - off);
	}
	/* as construct_md_array sizes it: padding after the last element at most */
	if (off > total || total - off >= MAXIMUM_ALIGNOF)
		image_bad(t, "The array has %zu bytes after its elements.", off > total ? 0 : total - off);
#undef AT
}

/* Checks the content of a varlena value of type t (after its header). */
static void
image_check_varlena(const ImageType *t, const char *data, Size len)
{
	switch (t->kind)
	{
		case IMAGE_BYTES:
			return;
		case IMAGE_TEXT:
			if (!pg_verifymbstr(data, (int) len, true))
				image_bad(t, "The string is not valid in encoding \"%s\".", GetDatabaseEncodingName());
			return;
		case IMAGE_NUMERIC:
			image_check_numeric(t, data, len);
			return;
		case IMAGE_BITS:
			image_check_bits(t, data, len);
			return;
		case IMAGE_INET:
			image_check_inet(t, data, len);
			return;
		case IMAGE_ARRAY:
			image_check_array(t, data, len);
			return;
		case IMAGE_NONE:
			image_refuse(t);
			return;
		default:
			elog(ERROR, "type %s has no checked varlena image", format_type_be(t->typid));
	}
}

/*
 * Checks the content of a value of type t: a varlena's bytes after its
 * header (count(DISTINCT) sets keep them so), or a fixed-length value.
 */
void
image_check_content(const ImageType *t, const char *data, Size len)
{
	if (t->typlen == -1)
	{
		if (len > MaxAllocSize - VARHDRSZ)
			image_bad(t, "The value has %zu bytes.", len);
		image_check_varlena(t, data, len);
	}
	else
		image_check_datum(t, data, len);
}

/*
 * Pins client_encoding to the database encoding for a send or receive
 * function (text is converted to and from the client's by them); returns
 * the encoding to restore, or -1.
 */
static pg_noinline int
image_pin_encoding(void)
{
	int			client = pg_get_client_encoding();

	if (client == GetDatabaseEncoding())
		return -1;
	if (SetClientEncoding(GetDatabaseEncoding()) < 0)
		elog(ERROR, "could not set the client encoding to the database encoding");
	return client;
}

static void
image_unpin_encoding(int saved)
{
	if (saved >= 0 && SetClientEncoding(saved) < 0)
		elog(ERROR, "could not restore client encoding %s", pg_encoding_to_char(saved));
}

/* The binary send form of a value of an IMAGE_SEND type, as a bytea. */
bytea *
image_send(const ImageType *t, Datum value)
{
	volatile int saved = image_pin_encoding();
	bytea	   *volatile out = NULL;

	PG_TRY();
	{
		out = SendFunctionCall((FmgrInfo *) &t->send, value);
	}
	PG_FINALLY();
	{
		image_unpin_encoding(saved);
	}
	PG_END_TRY();
	return out;
}

/*
 * A value of an IMAGE_SEND type from its binary send form, with its receive
 * function; every byte must be consumed, as in record_recv.
 */
Datum
image_recv(const ImageType *t, const char *data, Size len)
{
	StringInfoData buf;
	volatile int saved;
	volatile Datum result = (Datum) 0;

	if (len > MaxAllocSize - 1)
		image_bad(t, "The value has %zu bytes.", len);
	buf.data = palloc(len + 1);
	memcpy(buf.data, data, len);
	buf.data[len] = '\0';
	buf.len = len;
	buf.maxlen = len + 1;
	buf.cursor = 0;
	saved = image_pin_encoding();
	PG_TRY();
	{
		result = ReceiveFunctionCall((FmgrInfo *) &t->recv, &buf, t->ioparam, -1);
	}
	PG_FINALLY();
	{
		image_unpin_encoding(saved);
	}
	PG_END_TRY();
	if (buf.cursor != buf.len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("incorrect binary data format in a serialized value of type %s",
						format_type_be(t->typid)),
				 errdetail("%d of its %d bytes were left over.", buf.len - buf.cursor, buf.len),
				 errhint("Pass only states read from the continuous view's batch or speed table.")));
	pfree(buf.data);
	return result;
}

/* A by-value datum of typlen bytes from (unaligned) memory. */
Datum
image_fetch_byval(const char *p, int16 typlen)
{
	switch (typlen)
	{
		case 1:
			return CharGetDatum(*p);
		case 2:
			{
				int16		v;

				memcpy(&v, p, 2);
				return Int16GetDatum(v);
			}
		case 4:
			{
				int32		v;

				memcpy(&v, p, 4);
				return Int32GetDatum(v);
			}
		case 8:
			{
				int64		v;

				memcpy(&v, p, 8);
				return Int64GetDatum(v);
			}
	}
	elog(ERROR, "unsupported by-value length %d", typlen);
	return (Datum) 0;
}
