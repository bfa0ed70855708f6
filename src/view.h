/*-------------------------------------------------------------------------
 *
 * view.h
 *	  Lambda views: the DDL that creates, refreshes, alters and drops them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_VIEW_H
#define LAMBDA_VIEW_H

#include "postgres.h"

#include "nodes/plannodes.h"
#include "tcop/cmdtag.h"

extern Oid	view_batch_of(Oid relid);
extern bool view_process_utility(PlannedStmt **pstmt, QueryCompletion *qc);
extern void view_check_utility(PlannedStmt *pstmt);
extern void view_after_utility(PlannedStmt *pstmt);

#endif							/* LAMBDA_VIEW_H */
