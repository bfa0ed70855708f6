/*-------------------------------------------------------------------------
 *
 * view_ddl.h
 *	  PostgreSQL's statements about materialized views and indexes, applied
 *	  to continuous views.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_VIEW_DDL_H
#define LAMBDA_VIEW_DDL_H

#include "nodes/plannodes.h"
#include "tcop/cmdtag.h"

extern bool view_ddl_process_utility(PlannedStmt **pstmt, QueryCompletion *qc);
extern void view_ddl_after_utility(PlannedStmt *pstmt);

#endif							/* LAMBDA_VIEW_DDL_H */
