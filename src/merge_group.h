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

extern void merge_group_init(void);

#endif							/* LAMBDA_MERGE_GROUP_H */
