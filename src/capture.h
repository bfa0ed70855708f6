/*-------------------------------------------------------------------------
 *
 * capture.h
 *	  Capture: the events a transaction inserts, as partial states per
 *	  continuous view, applied to the speed layer when it commits; and
 *	  two-phase commit, whose one entry for C code is
 *	  capture_prepare_transaction (see capture.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CAPTURE_H
#define LAMBDA_CAPTURE_H

#include "postgres.h"

#include "nodes/parsenodes.h"

extern void capture_init(void);
extern bool capture_has_delta(Oid batch_relid);

/* Two-phase commit: the one entry for C code, and ddl.c's for SQL. */
extern bool capture_prepare_transaction(const char *gid);
extern void capture_finish_prepared(const char *gid, bool commit);
extern void capture_before_transaction_stmt(TransactionStmt *stmt);
extern bool capture_after_transaction_stmt(TransactionStmt *stmt);

#endif							/* LAMBDA_CAPTURE_H */
