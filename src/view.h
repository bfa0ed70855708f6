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

extern bool view_process_utility(PlannedStmt **pstmt, QueryCompletion *qc);
extern void view_refresh(Oid batch, bool full, const char *why);
extern void view_after_utility(PlannedStmt *pstmt);
extern void view_create_without_events(bool on);

#endif							/* LAMBDA_VIEW_H */
