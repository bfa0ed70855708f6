/*-------------------------------------------------------------------------
 *
 * cview_validate.h
 *	  What a continuous view accepts: the checks of a defining query.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CVIEW_VALIDATE_H
#define LAMBDA_CVIEW_VALIDATE_H

#include "postgres.h"

#include "nodes/parsenodes.h"

extern void cview_validate_query(Query *query, Oid *event_relid);

/* For compiling what was accepted (cview.c) */
extern List *cview_query_aggrefs(Query *query);
extern bool cview_is_count_distinct(Aggref *aggref);
extern bool cview_is_percentile(Aggref *aggref);
extern double cview_percentile_fraction(Aggref *aggref);

#endif							/* LAMBDA_CVIEW_VALIDATE_H */
