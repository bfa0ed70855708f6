/*-------------------------------------------------------------------------
 *
 * merge_image.h
 *	  The merged scan probing the speed layer's copy by key image (see
 *	  merge_image.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MERGE_IMAGE_H
#define LAMBDA_MERGE_IMAGE_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "nodes/extensible.h"
#include "nodes/pathnodes.h"

#include "cview.h"
#include "speed_set.h"
#include "stateimage.h"

/* What an output column of the merged scan is */
#define MERGE_COL_CONST		0	/* a constant (a column the query does not use) */
#define MERGE_COL_KEY		1	/* a key column */
#define MERGE_COL_AGG		2	/* a merge aggregate */

/* The merged scan's columns, as merge_group.c planned them */
typedef struct MergeImageCols
{
	Oid			batch_relid;
	int			speed_child;	/* the speed branch, or -1 */
	int			nkeys;
	int		   *keypos;			/* input column of each key */
	int			ncols;
	int		   *colkind;		/* MERGE_COL_* per output column */
	int		   *colidx;			/* key number or aggregate column number */
	int			naggs;
	int		   *aggpos;			/* input column of each aggregate's state */
	AggMeta   **meta;
} MergeImageCols;

typedef struct MergeImage MergeImage;

extern void merge_cols_init(MergeImageCols *cols, List *head, List *keypos, List *colkind,
							List *colidx, List *aggpos, List *aggnos);

extern List *merge_image_keys(ViewDef *def, Path *sp, List *keypos, List *keyops, List *keycolls,
							  List *aggpos, List *aggnos);
extern MergeImage *merge_image_begin(CustomScanState *node, const MergeImageCols *cols,
									 List *imgkey, List *aggnos);
extern bool merge_image_load(MergeImage *mi);
extern void merge_image_load_shared(MergeImage *mi, SpeedSet *set);
extern bool merge_image_batch_done(MergeImage *mi);
extern bool merge_image_rest_turn(MergeImage *mi, bool emit);
extern bool merge_image_next(MergeImage *mi, TupleTableSlot *out, MemoryContext rowcxt);
extern void merge_image_reset(MergeImage *mi);
extern void merge_image_end(MergeImage *mi);

#endif							/* LAMBDA_MERGE_IMAGE_H */
