/*-------------------------------------------------------------------------
 *
 * view_parts.h
 *	  The parts a continuous view is made of: its batch table's columns and
 *	  key indexes, and the SQL of the view that merges the two layers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_VIEW_PARTS_H
#define LAMBDA_VIEW_PARTS_H

#include "postgres.h"

#include "nodes/pg_list.h"

#include "cview.h"

extern Oid	view_batch_of(Oid relid);
extern void view_exec(const char *sql, int expect);
extern char *view_qualified_name(Oid relid);
extern char *view_merged_sql(ViewDef *def, List *colnames, const char *batchname,
							 const char *speedname);
extern char *view_table_columns(ViewDef *def, bool batch);
extern char *view_long_column(ViewDef *def);
extern void view_create_key_indexes(ViewDef *def, const char *batchname, bool long_keys);

#endif							/* LAMBDA_VIEW_PARTS_H */
