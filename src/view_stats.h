/*-------------------------------------------------------------------------
 *
 * view_stats.h
 *	  Column statistics for the planner's estimates of a continuous view.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_VIEW_STATS_H
#define LAMBDA_VIEW_STATS_H

#include "postgres.h"

#include "nodes/parsenodes.h"

#include "cview.h"

extern Oid	view_stats_leaf_relid(RangeTblEntry *leaf);
extern ViewDef *view_stats_union_view(Query *setop, RangeTblEntry **batch_leaf);
extern void view_stats_init(void);

#endif							/* LAMBDA_VIEW_STATS_H */
