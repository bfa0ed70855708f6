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

/*
 * A CREATE over existing events or a recompute that took at least this many
 * seconds says how long in its NOTICE (shorter ones keep it out, so that
 * their NOTICE is the same on every run).
 */
#define VIEW_NOTICE_SECONDS 10

extern bool view_process_utility(PlannedStmt **pstmt, QueryCompletion *qc);
extern void view_refresh(Oid batch, bool full, const char *why);
extern void view_after_utility(PlannedStmt *pstmt);
extern void view_create_without_events(bool on);

#endif							/* LAMBDA_VIEW_H */
