/*-------------------------------------------------------------------------
 *
 * privilege.h
 *	  What the owner of a continuous view needs on its event table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_PRIVILEGE_H
#define LAMBDA_PRIVILEGE_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

/* What is being done when the owner's access is checked (for the messages). */
typedef enum PrivilegeAction
{
	PRIVILEGE_CREATE,			/* CREATE MATERIALIZED VIEW: the owner-to-be */
	PRIVILEGE_REFRESH,			/* REFRESH, recompute, the scheduler */
	PRIVILEGE_NEW_OWNER,		/* ALTER ... OWNER TO: the new owner */
	PRIVILEGE_TABLE_CHANGE,		/* ALTER TABLE on the event table */
	PRIVILEGE_READ				/* a query of the view */
} PrivilegeAction;

extern void privilege_check_owner_reads(Oid owner, Oid event_relid, Query *query,
										const char *viewname, PrivilegeAction action);
extern void privilege_check_view(Oid view_relid, Oid event_relid, Query *query,
								 PrivilegeAction action);
extern Oid	privilege_rel_owner(Oid relid);
extern void privilege_grant_layers(Oid batch);
extern void privilege_after_utility(PlannedStmt *pstmt);

#endif							/* LAMBDA_PRIVILEGE_H */
