/*-------------------------------------------------------------------------
 *
 * cview_rollup.h
 *	  Rollups of rollups: a continuous view over another, composed into a
 *	  definition over the event table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CVIEW_ROLLUP_H
#define LAMBDA_CVIEW_ROLLUP_H

#include "postgres.h"

#include "nodes/parsenodes.h"

extern Query *cview_rollup_compose(Query *query, Oid lower_relid, Oid lower_batch, const char *upper_name);

#endif							/* LAMBDA_CVIEW_ROLLUP_H */
