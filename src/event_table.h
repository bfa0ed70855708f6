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
#include "utils/relcache.h"

/*
 * The arrival column: the inserting transaction's 64-bit id, and the pages
 * per range of its BRIN index (see event_table.c).
 */
#define EVENT_TABLE_ARRIVAL_COLUMN	"_lambda_xact"
#define EVENT_TABLE_ARRIVAL_RANGE	32

extern void event_table_init(void);
extern Oid	event_table_arrival_index(Relation rel, AttrNumber *attnum);
extern bool event_table_add_arrival(Oid relid, bool *rewritten);
extern bool event_table_is(Oid relid);
extern char *event_table_time_column(Oid relid);
extern void event_table_require(Oid relid);
extern void event_table_check_utility(PlannedStmt *pstmt);
extern void event_table_after_utility(PlannedStmt *pstmt);

#endif							/* LAMBDA_EVENT_TABLE_H */
