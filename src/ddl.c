/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  The ProcessUtility hook: pg_lambda's view of utility statements.
 *
 * One hook for the whole extension. It asks each module whether a statement
 * concerns it before the statement runs (event tables refuse TRUNCATE,
 * column-destroying ALTER TABLE and inheritance; pg_lambda's triggers may
 * not be disabled or dropped; DROP DATABASE first stops the database's
 * source workers) and tells them afterwards (a renamed time column, a new
 * partition that needs triggers; a change that would leave a continuous
 * view's owner unable to read its events is refused then, on the new state).
 * Statements about continuous views go to view_ddl.c (the materialized-view
 * and index statements PostgreSQL would refuse on a plain view), then to
 * view.c (CREATE, REFRESH, ALTER, DROP MATERIALIZED VIEW).
 * Statements in a database without the extension pass straight through:
 * every check answers from catalog lookups that find nothing there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"

#include "capture.h"
#include "compat.h"
#include "ddl.h"
#include "event_table.h"
#include "launcher.h"
#include "privilege.h"
#include "scheduler.h"
#include "source.h"
#include "speed.h"
#include "triggers.h"
#include "view.h"
#include "view_guard.h"
#include "view_ddl.h"

static ProcessUtility_hook_type ddl_prev_process_utility = NULL;

/*
 * Before DROP DATABASE: a database's Kafka source workers are sessions in
 * it, and DROP DATABASE gives other sessions only a few seconds to leave;
 * ask them to finish their batch and go. Only for a role that may drop the
 * database, so nobody else can stop another database's sources.
 */
static void
ddl_before_dropdb(DropdbStmt *stmt)
{
	Oid			dbid = get_database_oid(stmt->dbname, true);

	if (OidIsValid(dbid) && object_ownercheck(DatabaseRelationId, dbid, GetUserId()))
	{
		launcher_stop_workers(dbid);
		scheduler_stop(dbid);
		speed_release_stale(dbid, NIL, true, NULL);
	}
}

/*
 * The ProcessUtility hook proper.
 */
static void
ddl_process_utility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	bool		in_xact = IsTransactionState();
	TransactionStmt *xact_stmt;

	if (in_xact)
		event_table_check_utility(pstmt);
	if (IsA(pstmt->utilityStmt, DropdbStmt))
		ddl_before_dropdb((DropdbStmt *) pstmt->utilityStmt);
	if (in_xact)
		view_check_utility(pstmt);
	if (in_xact)
		triggers_check_utility(pstmt);
	if (in_xact && view_ddl_process_utility(&pstmt, qc))
		return;
	if (in_xact && view_process_utility(&pstmt, qc))
		return;
	/* PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED keep captured states */
	xact_stmt = IsA(pstmt->utilityStmt, TransactionStmt) ?
		((TransactionStmt *) pstmt->utilityStmt) : NULL;
	if (xact_stmt)
		capture_before_transaction_stmt(xact_stmt);

	if (ddl_prev_process_utility)
		ddl_prev_process_utility(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (xact_stmt && capture_after_transaction_stmt(xact_stmt))
		return;
	if (IsTransactionState())
	{
		event_table_after_utility(pstmt);
		source_after_utility(pstmt);
		view_after_utility(pstmt);
		view_ddl_after_utility(pstmt);
		privilege_after_utility(pstmt);
		triggers_after_utility(pstmt);
	}
}

/*
 * Installs the hook, chaining whatever was there before.
 */
void
ddl_init(void)
{
	ddl_prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = ddl_process_utility;
}
