/*-------------------------------------------------------------------------
 *
 * view_stats.h
 *	  Column statistics for the planner's estimates of a continuous view.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_VIEW_STATS_H
#define LAMBDA_VIEW_STATS_H

extern void view_stats_init(void);

#endif							/* LAMBDA_VIEW_STATS_H */
