/*-------------------------------------------------------------------------
 *
 * merge_run.h
 *	  Ordered runs: a backend's copy of a view's speed-layer keys in the
 *	  order of an ordered merged scan, kept between queries (see
 *	  merge_run.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MERGE_RUN_H
#define LAMBDA_MERGE_RUN_H

#include "postgres.h"

#include "cview.h"

/* One key of a run: its image and its values in view key order */
typedef struct MergeRunKey
{
	const char *img;
	uint32		len;
	int64		seq;			/* when first met (generation order) */
	bool	   *nulls;
	Datum		values[FLEXIBLE_ARRAY_MEMBER];
} MergeRunKey;

typedef struct MergeRun MergeRun;

/* The order of a run: view key columns and their comparison */
typedef struct MergeRunOrder
{
	int			norder;
	int		   *keycol;			/* view key column (0-based) of each */
	Oid		   *sortop;
	Oid		   *coll;
	bool	   *nullsfirst;
} MergeRunOrder;

extern MergeRun *merge_run_get(ViewDef *def, int64 cut, const MergeRunOrder *order,
							   bool *built, int64 *added, uint64 *xact);
extern MergeRunKey *merge_run_at(MergeRun *run, int64 i);
extern int64 merge_run_size(MergeRun *run);
extern uint64 merge_run_version(MergeRun *run);
extern void merge_run_release(MergeRun *run, uint64 xact);

#endif							/* LAMBDA_MERGE_RUN_H */
