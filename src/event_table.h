/*-------------------------------------------------------------------------
 *
 * event_table.h
 *	  Immutable, append-only event tables (the master dataset).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_EVENT_TABLE_H
#define LAMBDA_EVENT_TABLE_H

#include "postgres.h"
#include "nodes/plannodes.h"

extern void event_table_init(void);
extern bool event_table_is(Oid relid);
extern char *event_table_time_column(Oid relid);
extern void event_table_require(Oid relid);
extern char *event_table_not_hint(Oid relid);
extern void event_table_check_utility(PlannedStmt *pstmt);
extern void event_table_after_utility(PlannedStmt *pstmt);

#endif							/* LAMBDA_EVENT_TABLE_H */
