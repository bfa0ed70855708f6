/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  The ProcessUtility hook: pg_lambda's view of utility statements.
 *
 * One hook for the whole extension. It asks each module whether a statement
 * concerns it before the statement runs (event tables refuse TRUNCATE and
 * column-destroying ALTER TABLE) and tells them afterwards (a renamed time
 * column). Statements in a database without the extension pass straight
 * through: every check answers from catalog lookups that find nothing there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "tcop/utility.h"

#include "ddl.h"
#include "event_table.h"

static ProcessUtility_hook_type ddl_prev_process_utility = NULL;

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

	if (in_xact)
		event_table_check_utility(pstmt);

	if (ddl_prev_process_utility)
		ddl_prev_process_utility(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (IsTransactionState())
		event_table_after_utility(pstmt);
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
