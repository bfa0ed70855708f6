/*-------------------------------------------------------------------------
 *
 * merge_group.h
 *	  The merged scan of a continuous view: batch rows streamed, the speed
 *	  layer's keys hashed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MERGE_GROUP_H
#define LAMBDA_MERGE_GROUP_H

#include "nodes/pathnodes.h"

#include "cview.h"

/*
 * A grouping of a view's merged UNION ALL that a merged scan can take the
 * place of (merge_group_grouping): by every key of the view, each an input
 * column, with output columns that are keys, merge aggregates over the
 * branches' state columns, or constants.
 */
typedef struct MergeGrouping
{
	ViewDef    *def;
	AppendPath *app;			/* the UNION ALL's path */
	List	   *inexprs;		/* its columns */
	List	   *keypos;			/* per GROUP BY key: its input column */
	List	   *colkind;		/* per output column: MERGE_COL_* */
	List	   *colidx;			/* ... its key number, or aggregate number */
	List	   *aggpos;			/* per merge aggregate: its state's input column */
	List	   *aggnos;			/* ... and its number among the view's */
} MergeGrouping;

extern bool merge_group_grouping(PlannerInfo *root, RelOptInfo *input_rel, RelOptInfo *output_rel,
								 MergeGrouping *g);
extern int	merge_group_position(List *exprs, Node *expr);
extern void merge_group_init(void);

#endif							/* LAMBDA_MERGE_GROUP_H */
