/*-------------------------------------------------------------------------
 *
 * cview.h
 *	  Continuous-view definitions: a defining query compiled into a ViewDef,
 *	  and this backend's cache of them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CVIEW_H
#define LAMBDA_CVIEW_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/execnodes.h"
#include "nodes/parsenodes.h"
#include "utils/timestamp.h"

#include "aggstate.h"

/* One aggregate of a view: its machinery and its per-row expressions. */
typedef struct ViewAgg
{
	AggMeta		meta;
	Aggref	   *aggref;			/* as written in the definition */
	Aggref	   *impl;			/* what computes it (see cview_agg_impl) */
	int			nargs;
	ExprState **args;			/* per argument */
	AttrNumber *argcols;		/* per argument: its event table column when
								 * it is one plainly, else 0 */
	ExprState  *filter;			/* FILTER (WHERE ...), or NULL */
	bool		plain;			/* no FILTER, inline transition (meta.fast),
								 * its argument (if any) a plain column */
} ViewAgg;

/*
 * A continuous view, compiled. Keys are the GROUP BY expressions, in
 * order; aggregates are the distinct Aggrefs of the target list and HAVING.
 */
typedef struct ViewDef
{
	Oid			batch_relid;	/* identifies the view internally */
	Oid			view_relid;
	Oid			event_relid;
	Oid			speed_relid;
	MemoryContext cxt;
	Query	   *query;
	int			nkeys;
	Oid		   *keytypes;
	int16	   *keylens;
	bool	   *keybyvals;
	Oid		   *keycolls;
	char	  **keynames;		/* batch table column names */
	bool		keys_image_eq;	/* equal keys always have equal images */
	ExprState **keyexprs;
	AttrNumber *keycols;		/* per key: as ViewAgg.argcols */
	struct KeyTrunc **keytrunc; /* per key: a time bucket of a column that
								 * capture computes itself (keytrunc.c), or
								 * NULL; NULL when no key is one */
	AttrNumber	maxcol;			/* the last column keycols/argcols name */
	bool		keys_fixed;		/* every key fixed-length and by value */
	ExprState  *where;
	int			naggs;
	ViewAgg    *aggs;
	char	  **aggnames;		/* batch table column names */
	/* sliding window: the last key is the window step of the event time */
	bool		sliding;
	Interval	window;
	Interval	step;
	Oid			steptype;		/* timestamptz or timestamp */
	char	   *window_zone;	/* over timestamp: the zone whose local time
								 * expiry never passes (NULL before 0.4.0) */
	/* evaluation */
	ExprContext *econtext;
	TupleTableSlot *slot;		/* of the event table */
	StringInfo	keybuf;			/* scratch for key images */
} ViewDef;

/* Key i's time bucket that capture computes (keytrunc.c), or NULL */
#define CVIEW_KEYTRUNC(def, i)	((def)->keytrunc ? (def)->keytrunc[i] : NULL)

/* Definitions */
extern ViewDef *cview_get(Oid batch_relid);
extern ViewDef *cview_get_required(Oid batch_relid);
extern ViewDef *cview_compile(Oid batch_relid, Oid view_relid, Oid event_relid,
							  Oid speed_relid, Query *query, const Interval *window,
							  const Interval *step, MemoryContext parent);
extern Datum cview_step_horizon(ViewDef *def, TimestampTz now, int extra_steps);
extern char *cview_window_sql(ViewDef *def, const char *col);
extern Query *cview_parse_definition(const char *sql);
extern Query *cview_parse_for_deparse(const char *sql);
extern void cview_forget(Oid batch_relid);
extern uint64 cview_epoch(void);
extern Size cview_sketch_bytes_per_key(ViewDef *def);

/*
 * Step keys of sliding windows are aligned to 2000-01-01 00:00 (UTC for
 * timestamptz): PostgreSQL's epoch, 0 as a timestamp or timestamptz datum.
 */
#define CVIEW_STEP_ORIGIN	"2000-01-01 00:00:00+00"
#define CVIEW_STEP_ORIGIN_DATUM	((Datum) 0)
#define CVIEW_STEP_COLUMN	"_lambda_step"

#endif							/* LAMBDA_CVIEW_H */
