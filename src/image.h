/*-------------------------------------------------------------------------
 *
 * image.h
 *	  Checks of datum images read back from bytes (serialized aggregate
 *	  states and count(DISTINCT) values), and the binary form of the types
 *	  whose images cannot be checked in place.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_IMAGE_H
#define LAMBDA_IMAGE_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

/* How the images of a type are checked (see image.c) */
typedef enum ImageKind
{
	IMAGE_BYVAL,				/* by value: exactly typlen bytes */
	IMAGE_FIXED,				/* fixed length by reference: typlen bytes */
	IMAGE_NAME,					/* name: typlen bytes holding a NUL */
	IMAGE_CSTRING,				/* typlen -2: one NUL, at the end */
	IMAGE_BYTES,				/* bytea: any bytes */
	IMAGE_TEXT,					/* text, varchar, bpchar: valid encoding */
	IMAGE_NUMERIC,				/* numeric: header and digits */
	IMAGE_BITS,					/* bit, varbit: length and padding */
	IMAGE_INET,					/* inet, cidr: family, bits and size */
	IMAGE_ARRAY,				/* array of a checked element type */
	IMAGE_SEND,					/* anything else: typsend/typreceive */
	IMAGE_NONE					/* no binary I/O: cannot be kept */
} ImageKind;

typedef struct ImageType
{
	Oid			typid;			/* the type asked for */
	Oid			basetype;		/* its base type (domains) */
	int16		typlen;
	bool		typbyval;
	char		typalign;
	ImageKind	kind;
	Oid			elemtype;		/* IMAGE_ARRAY: ARR_ELEMTYPE of its images */
	const struct ImageType *elem;	/* IMAGE_ARRAY: how elements are checked */
	FmgrInfo	send;			/* IMAGE_SEND */
	FmgrInfo	recv;
	Oid			ioparam;
} ImageType;

/*
 * The first byte of a state image in binary (typsend) form: never the first
 * byte of an uncompressed varlena, which is what older versions stored.
 */
#define IMAGE_SEND_TAG	0x42
/*
 * The compact form of a state that is a one-dimensional array of int8 or
 * float8 without NULLs and with lower bound 1 (avg's {count, sum}, the
 * float accumulators of avg, variance and regr_*), in the batch table
 * (aggmeta_serialize) and in the speed layer's states images
 * (stateimage.h): this tag, then the elements' bytes. A whole array's
 * image begins with its 4-byte varlena header, whose first byte cannot be
 * this one.
 */
#define IMAGE_ARRAY_TAG	0x43

/* The bytes of the compact form of an array of n elements, tag included */
#define IMAGE_ARRAY_COMPACT_SIZE(n)	(1 + (Size) (n) * sizeof(int64))

/*
 * Whether array a (detoasted) has the compact form's shape: one dimension
 * of n elements from 1, no NULLs (its element type is the state type's).
 */
static inline bool
image_array_compact_fits(const ArrayType *a, int n)
{
	return ARR_NDIM(a) == 1 && !ARR_HASNULL(a) && ARR_DIMS(a)[0] == n &&
		ARR_LBOUND(a)[0] == 1;
}

/* Writes the compact form of a (image_array_compact_fits, n) at dst */
static inline void
image_array_compact_write(char *dst, const ArrayType *a, int n)
{
	dst[0] = IMAGE_ARRAY_TAG;
	memcpy(dst + 1, ARR_DATA_PTR(a), (Size) n * sizeof(int64));
}

extern const ImageType *image_type_lookup(Oid typid);
extern void image_type_check_supported(Oid typid, const char *what);

/* Checks: each raises ERROR (data_corrupted) with a detail when they fail */
extern void image_check_datum(const ImageType *t, const char *data, Size len);
extern void image_check_content(const ImageType *t, const char *data, Size len);

/* The binary form of IMAGE_SEND types, independent of client_encoding */
extern bytea *image_send(const ImageType *t, Datum value);
extern Datum image_recv(const ImageType *t, const char *data, Size len);

extern void image_corrupted(const char *what, const char *detail);

/* A by-value datum of typlen bytes, read from an image (unaligned) */
extern Datum image_fetch_byval(const char *p, int16 typlen);

#endif							/* LAMBDA_IMAGE_H */
