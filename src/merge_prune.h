/*-------------------------------------------------------------------------
 *
 * merge_prune.h
 *	  Leaves a lambda view's branch of long keys unplanned when the query's
 *	  conditions show that it is empty (merge_prune.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MERGE_PRUNE_H
#define LAMBDA_MERGE_PRUNE_H

extern void merge_prune_init(void);

#endif
