/*-------------------------------------------------------------------------
 *
 * merge.h
 *	  The speed layer's foreign table scan, as the merged scan of
 *	  merge_group.c reads it (see merge.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MERGE_H
#define LAMBDA_MERGE_H

#include "postgres.h"

#include "nodes/execnodes.h"

#include "cview.h"
#include "speed_set.h"

extern SpeedSet *merge_speed_set(PlanState *ps);
extern SpeedSet *merge_speed_set_shared(PlanState *ps, dsa_area *area, dsa_pointer *chunk);
extern bool merge_speed_whole(PlanState *ps, ViewDef **def, int64 *cut_gen);

#endif							/* LAMBDA_MERGE_H */
