/*-------------------------------------------------------------------------
 *
 * cview.h
 *	  Continuous-view definitions: analysis of the defining query, and the
 *	  partial aggregation that every layer shares.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CVIEW_H
#define LAMBDA_CVIEW_H

#include "postgres.h"

#include "executor/execExpr.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/execnodes.h"
#include "nodes/parsenodes.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "image.h"

/* What an aggregate of a view is computed with. */
typedef enum AggKind
{
	AGG_KIND_PLAIN,			/* its own support functions */
	AGG_KIND_DISTINCT,				/* count(DISTINCT x): sets and sketches */
	AGG_KIND_QUANTILE				/* percentile_cont: a quantile sketch */
} ViewAggKind;

/* One aggregate's machinery, from pg_aggregate, resolved for its inputs. */
typedef struct AggMeta
{
	Oid			aggfnoid;
	ViewAggKind kind;
	Oid			collation;		/* the aggregate's input collation */
	Oid			transtype;
	int16		translen;
	bool		transbyval;
	bool		internal;		/* transtype internal: serial/deserial */
	int			ntransargs;		/* inputs the transition function takes */
	FmgrInfo	transfn;
	bool		transstrict;
	bool		hasexact;		/* a batch-layer transition (AGG_KIND_DISTINCT) */
	FmgrInfo	exacttransfn;
	FmgrInfo	combinefn;
	bool		combinestrict;
	FmgrInfo	serialfn;
	FmgrInfo	deserialfn;
	bool		hasfinal;
	FmgrInfo	finalfn;
	bool		finalstrict;
	int			nfinalargs;		/* including the state */
	Datum		initval;
	bool		initnull;
	Oid			resulttype;
	const ImageType *image;		/* how states are checked (not internal) */
	Oid			valuetype;		/* AGG_KIND_DISTINCT: the values' type */
} AggMeta;

/* One aggregate of a view: its machinery and its per-row expressions. */
typedef struct ViewAgg
{
	AggMeta		meta;
	Aggref	   *aggref;			/* as written in the definition */
	Aggref	   *impl;			/* what computes it (see cview_agg_impl) */
	int			nargs;
	ExprState **args;			/* per argument */
	ExprState  *filter;			/* FILTER (WHERE ...), or NULL */
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
	ExprState  *where;
	int			naggs;
	ViewAgg    *aggs;
	char	  **aggnames;		/* batch table column names */
	/* sliding window: the last key is the window step of the event time */
	bool		sliding;
	Interval	window;
	Interval	step;
	Oid			steptype;		/* timestamptz or timestamp */
	/* evaluation */
	ExprContext *econtext;
	TupleTableSlot *slot;		/* of the event table */
	AggState   *fake_agg;		/* context for aggregate support functions */
	ExprContext *agg_econtext;
	StringInfo	keybuf;			/* scratch for key images */
} ViewDef;

/* A group key or states as bytes (see cview.c for the format). */
typedef struct KeyRef
{
	uint32		hash;
	uint32		len;
	char	   *data;
} KeyRef;

/* Partial aggregation: group key image -> transition states. */
typedef struct PartialHash
{
	ViewDef    *def;
	MemoryContext cxt;
	HTAB	   *htab;
	int64		rows;			/* rows folded in */
	Datum		horizon;		/* sliding: steps before it have expired */
	bool		exact;			/* batch layer: distinct states keep every value */
} PartialHash;

typedef struct PartialEntry
{
	KeyRef		key;
	Datum	   *values;
	bool	   *nulls;
} PartialEntry;

/* Analysis and definitions */
extern void cview_validate_query(Query *query, Oid *event_relid);
extern ViewDef *cview_get(Oid batch_relid);
extern ViewDef *cview_compile(Oid batch_relid, Oid view_relid, Oid event_relid,
							  Oid speed_relid, Query *query, const Interval *window,
							  const Interval *step, MemoryContext parent);
extern Datum cview_step_horizon(ViewDef *def, TimestampTz now, int extra_steps);
extern char *cview_window_sql(ViewDef *def, const char *col);
extern Query *cview_parse_definition(const char *sql);
extern void cview_forget(Oid batch_relid);

/* Aggregate machinery */
extern void aggmeta_init(AggMeta *m, Aggref *aggref, MemoryContext cxt);
extern AggMeta *aggmeta_lookup(Oid batch_relid, int aggno);
extern void aggmeta_combine(AggMeta *m, Datum *val, bool *isnull,
							Datum in, bool innull, MemoryContext cxt);
extern void aggmeta_initial(AggMeta *m, Datum *val, bool *isnull, MemoryContext cxt);
extern bytea *aggmeta_serialize(AggMeta *m, Datum val);
extern Datum aggmeta_deserialize(AggMeta *m, const char *data, int len, MemoryContext cxt);
extern Datum aggmeta_finalize(AggMeta *m, Datum val, bool isnull, bool *resnull);

/* Key and state images */
extern void key_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf);
extern void key_decode(ViewDef *def, const char *data, int len, Datum *values, bool *nulls);
extern uint32 key_hash(const char *data, int len);
extern void states_image(ViewDef *def, Datum *values, bool *nulls, StringInfo buf);
extern void states_decode(ViewDef *def, const char *data, int len,
						  Datum *values, bool *nulls, MemoryContext cxt);
extern void states_combine_images(ViewDef *def, const char *a, int alen,
								  const char *b, int blen, StringInfo out);
extern int	states_split(ViewDef *def, const char *data, int len,
						 const char **parts, int *lens);

/* Partial aggregation */
extern PartialHash *partial_create(ViewDef *def, MemoryContext parent);
extern void partial_add_slot(PartialHash *ph, TupleTableSlot *slot);
extern void partial_add_slot_key(PartialHash *ph, TupleTableSlot *slot,
								 const char *only, int onlylen);
extern PartialEntry *partial_lookup(PartialHash *ph, const char *key, int keylen, bool *found);
extern void partial_combine_image(PartialHash *ph, const char *key, int keylen,
								  const char *states, int stateslen);
extern void partial_merge(PartialHash *into, PartialHash *from);
extern long partial_count(PartialHash *ph);
extern bool partial_for_batch(PartialHash *ph);
extern Size cview_sketch_bytes_per_key(ViewDef *def);
extern void partial_destroy(PartialHash *ph);

/*
 * Step keys of sliding windows are aligned to 2000-01-01 00:00 (UTC for
 * timestamptz): PostgreSQL's epoch, 0 as a timestamp or timestamptz datum.
 */
#define CVIEW_STEP_ORIGIN	"2000-01-01 00:00:00+00"
#define CVIEW_STEP_ORIGIN_DATUM	((Datum) 0)
#define CVIEW_STEP_COLUMN	"_lambda_step"

#endif							/* LAMBDA_CVIEW_H */
