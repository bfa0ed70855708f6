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

#include "access/tableam.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"

#include "cview.h"
#include "speed_set.h"

extern SpeedSet *merge_speed_set(PlanState *ps);
extern SpeedSet *merge_speed_set_shared(PlanState *ps, dsa_area *area, dsa_pointer *chunk);
extern bool merge_speed_whole(PlanState *ps, ViewDef **def, int64 *cut_gen);

/*
 * The next row of a merged scan's batch branch (NULL after the last). A
 * sequential scan with no condition, projection or instrumentation of its
 * own (the whole batch table read unprojected, as a whole-view read plans
 * it) hands its rows straight from the table access method into its own
 * slot, as ExecSeqScan would, without the node's per-row dispatch and
 * expression-context reset; its first row goes through the node, which
 * opens the scan (or finds the parallel scan's). Anything else, EXPLAIN
 * ANALYZE and a pending rescan included, goes through ExecProcNode.
 *
 * *direct is the caller's note of the branch found fit for that, so that
 * the test runs until it passes rather than per row: what it reads does
 * not change while the branch is read (a node's open scan stays open, a
 * parameter changes only at the merged scan's rescan, and EvalPlanQual
 * runs a copy of the plan in an executor state of its own). The caller
 * forgets it (NULL) whenever it starts reading its branches again.
 */
static inline TupleTableSlot *
merge_batch_next(PlanState *ps, PlanState **direct)
{
	ScanState  *ss = (ScanState *) ps;

	if (*direct != ps)
	{
		if (!IsA(ps, SeqScanState) || ss->ss_currentScanDesc == NULL || ps->chgParam != NULL ||
			ps->qual != NULL || ps->ps_ProjInfo != NULL || ps->instrument != NULL ||
			ps->state->es_epq_active != NULL)
			return ExecProcNode(ps);
		*direct = ps;
	}
	if (table_scan_getnextslot(ss->ss_currentScanDesc, ps->state->es_direction,
							   ss->ss_ScanTupleSlot))
		return ss->ss_ScanTupleSlot;
	return NULL;
}

#endif							/* LAMBDA_MERGE_H */
