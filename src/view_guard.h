/*-------------------------------------------------------------------------
 *
 * view_guard.h
 *	  What other statements may do to continuous views, their parts and
 *	  their event tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_VIEW_GUARD_H
#define LAMBDA_VIEW_GUARD_H

#include "postgres.h"

#include "nodes/plannodes.h"

extern void view_check_utility(PlannedStmt *pstmt);
extern void view_guard_replacing_own(bool on);

#endif							/* LAMBDA_VIEW_GUARD_H */
