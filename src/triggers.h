/*-------------------------------------------------------------------------
 *
 * triggers.h
 *	  pg_lambda's triggers on event tables: capture triggers of continuous
 *	  views and the append-only guards.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_TRIGGERS_H
#define LAMBDA_TRIGGERS_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

extern bool triggers_add_capture(Oid relid, Oid batch_relid);
extern void triggers_add_guards(Oid relid);
extern void triggers_drop_guards(Oid relid);
extern bool triggers_is_live_capture(Oid relid, const char *tgname);
extern bool triggers_keeps_mode(Oid relid, const char *tgname, AlterTableType subtype);
extern void triggers_check_utility(PlannedStmt *pstmt);
extern void triggers_after_utility(PlannedStmt *pstmt);

#endif							/* LAMBDA_TRIGGERS_H */
