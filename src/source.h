/*-------------------------------------------------------------------------
 *
 * source.h
 *	  Kafka sources: the SQL API and the catalog rows behind it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SOURCE_H
#define LAMBDA_SOURCE_H

#include "postgres.h"

#include "nodes/plannodes.h"

#include "catalog_source.h"

extern void source_init(void);
extern void source_check_admin(const char *action);
extern void source_check_owner(const char *action, const char *what, const char *function,
							   const char *name, Oid owner);
extern void source_load_by_name_for_share(const char *name, SourceDef *def);
extern bool source_load(int32 source_id, SourceDef *def);
extern void source_after_utility(PlannedStmt *pstmt);

#endif							/* LAMBDA_SOURCE_H */
