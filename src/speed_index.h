/*-------------------------------------------------------------------------
 *
 * speed_index.h
 *	  Column indexes of a speed-layer generation, and the column filters a
 *	  read applies with them (see speed_index.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SPEED_INDEX_H
#define LAMBDA_SPEED_INDEX_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/dsa.h"

#include "cview.h"
#include "genlayout.h"

/*
 * What a read asks of one key column: equal to one of vals (equality, IN;
 * nvals < 0: no such condition), and "value OP bound" for each range check.
 */
typedef struct SpeedColFilter
{
	int			col;
	int			nvals;			/* -1: no equality condition */
	char	  **vals;			/* column images (key_column_image) */
	int		   *vlens;
	int			nchecks;
	FmgrInfo   *fns;			/* value OP bound */
	Datum	   *bounds;
	Oid			coll;
} SpeedColFilter;

/* A read's conditions on key columns, and what the read did (EXPLAIN). */
typedef struct SpeedFilter
{
	int			ncols;
	SpeedColFilter *cols;
	bool		none;			/* a condition no key meets (NULL bound) */
	/* set by reads */
	int			index_col;		/* column whose index the last read used, or -1 */
	int64		keys_read;		/* keys examined */
	int64		gens_scanned;	/* generations read without an index */
} SpeedFilter;

extern bool speed_index_wanted(ViewDef *def);
extern void speed_index_add(dsa_area *area, SpeedGen *g, ViewDef *def,
							const char *key, uint32 keylen, uint32 hash);
extern void speed_index_clear(dsa_area *area, SpeedGen *g);
extern int	speed_index_candidates(dsa_area *area, SpeedGen *g, ViewDef *def,
								   SpeedFilter *f, uint32 **hashes);
extern bool speed_filter_match(ViewDef *def, SpeedFilter *f, const char *key, int keylen);
extern int64 speed_index_ndistinct(dsa_area *area, SpeedGen *g, int col);
extern bool speed_index_count(dsa_area *area, SpeedGen *g, ViewDef *def, SpeedColFilter *cf,
							  int64 *matched, int64 *total);

#endif							/* LAMBDA_SPEED_INDEX_H */
