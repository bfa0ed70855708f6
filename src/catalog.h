/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Access to pg_lambda's own catalog tables (schema lambda_catalog): the
 *	  only place that queries them, their row structs, and the differences
 *	  between extension versions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CATALOG_H
#define LAMBDA_CATALOG_H

#include "postgres.h"

#include "access/transam.h"
#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/snapshot.h"

#define LAMBDA_SCHEMA			"lambda"
#define LAMBDA_CATALOG_SCHEMA	"lambda_catalog"

/* State saved by catalog_begin() and restored by catalog_end(). */
typedef struct CatalogScope
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} CatalogScope;

/*
 * What the catalog of this database has, by the extension version that
 * brought it. Until ALTER EXTENSION pg_lambda UPDATE, a newer library runs
 * over an older catalog, so callers ask before using a newer column.
 */
typedef enum CatalogFeature
{
	CATALOG_EVENT_TABLES,		/* 0.1.0: lambda_catalog.event_table */
	CATALOG_VIEWS,				/* 0.2.0: lambda_catalog.continuous_view */
	CATALOG_SLIDING_WINDOWS,	/* 0.3.0: continuous_view.sliding_window,
								 * window_step */
	CATALOG_LONG_KEYS,			/* 0.4.0: lambda_catalog.key_hash(), for batch
								 * tables that keep long keys apart */
	CATALOG_FAILED_REFRESHES,	/* 0.4.0: continuous_view.failed_refreshes,
								 * failing_since, last_error, last_error_at */
	CATALOG_SOURCE_COLUMNS,		/* 0.4.0: source.columns, altered_at */
	CATALOG_DEAD_LETTER_TIMESTAMPS,	/* 0.4.0: dead_letter.kafka_timestamp */
	CATALOG_WINDOW_TIME_ZONES,	/* 0.4.0: continuous_view.window_time_zone */
	CATALOG_REDEFINE,			/* 0.4.0: continuous_view.redefines,
								 * lambda.alter_view_query */
	CATALOG_CUT_COMMANDS		/* 0.4.0: continuous_view.cut_own_xids,
								 * cut_command_id */
} CatalogFeature;

/* What the batch table holds: the events a snapshot saw, and generations. */
typedef struct BatchCut
{
	bool		found;
	int64		gen;
	bool		has_snapshot;	/* false: the batch holds no events yet */
	bool		foreign;		/* the cut was made by another server or
								 * database (restored from a dump) */
	TransactionId xmin;
	FullTransactionId xmin_full;	/* xmin with its epoch */
	TransactionId xmax;
	int			nxip;
	TransactionId *xip;			/* sorted */
	int			nown;
	TransactionId *own;			/* the cutting transaction's ids that the
								 * cut sees; their events of commands at
								 * or after "command" are after the cut */
	CommandId	command;
	int64		batch_rows;
	Interval   *refresh_interval;
	TimestampTz last_refresh;
} BatchCut;

/* A new cut, recorded by a refresh with catalog_view_record_refresh(). */
typedef struct CatalogRefresh
{
	int64		gen;			/* last speed-layer generation folded in */
	FullTransactionId xmin;		/* the cut snapshot */
	FullTransactionId xmax;
	ArrayType  *xip;			/* xid8[]: what the snapshot does not see */
	ArrayType  *own;			/* xid8[]: this transaction's ids the cut
								 * sees, or NULL */
	CommandId	command;		/* the snapshot's command id (with own) */
	const char *mode;			/* last_refresh_mode */
	int64		groups;			/* last_refresh_groups */
	int64		batch_rows;
	int64		duration_us;	/* last_refresh_duration */
} CatalogRefresh;

/* A row of lambda_catalog.continuous_view: what defines a view. */
typedef struct CatalogView
{
	Oid			batch_relid;
	Oid			view_relid;
	Oid			speed_relid;
	Oid			event_relid;
	char	   *definition;		/* deparsed, fully qualified SELECT */
	Interval   *window;			/* sliding_window, or NULL */
	Interval   *step;			/* window_step, or NULL */
	char	   *window_time_zone;	/* the zone expiry keeps steps for, over
									 * a timestamp column; or NULL */
} CatalogView;

/* A view as the scheduler sees it (catalog_view_list_schedule()). */
typedef struct CatalogViewSchedule
{
	Oid			batch_relid;
	bool		due;			/* never refreshed, or its refresh interval
								 * (or sliding window) has passed */
	TimestampTz last_refresh;	/* 0 when never refreshed */
	int64		batch_rows;		/* rows of its batch table at its last refresh */
} CatalogViewSchedule;

/* Finding the catalog, and running statements on it */
extern Oid	catalog_namespace(void);
extern Oid	catalog_relid(const char *relname);
extern Oid	catalog_funcid(const char *name, int nargs, Oid *argtypes);
extern bool catalog_has_function(const char *name, int nargs, Oid *argtypes);
extern Oid	catalog_owner(void);
extern void catalog_begin(CatalogScope *scope);
extern void catalog_end(CatalogScope *scope);

/* Version differences */
extern bool catalog_has(CatalogFeature feature);
extern int	catalog_schema_version(void);

/*
 * The cut: the one reader, for queries (merge.c), refreshes (batch.c, view.c)
 * and the speed layer's slots (speed.c, which needs only cut->gen).
 */
extern void catalog_read_cut(Oid batch_relid, Snapshot snap, BatchCut *cut);
extern void catalog_view_record_refresh(Oid batch_relid, const CatalogRefresh *r);
extern int	catalog_view_record_failure(Oid batch_relid, const char *message, Oid *view_relid);
extern int	catalog_view_clear_failures(Oid batch_relid);

/* lambda_catalog.continuous_view */
extern CatalogView *catalog_view_get(Oid batch_relid, MemoryContext cxt);
extern bool catalog_view_exists(Oid batch_relid);
extern Oid	catalog_view_batch_of(Oid view_relid);
extern List *catalog_view_list(Oid event_relid);
extern List *catalog_view_list_over(Oid relid);
extern bool catalog_view_in_schema(Oid nspid);
extern List *catalog_view_list_schedule(void);
extern void catalog_view_insert(const CatalogView *view, const char *refresh_interval);
extern void catalog_view_set_refresh_interval(Oid batch_relid, const char *refresh_interval);
extern void catalog_view_set_definition(Oid batch_relid, const char *definition);
extern char *catalog_view_refresh_interval(Oid batch_relid);
extern void catalog_view_set_redefines(Oid batch_relid, Oid old_view_relid);
extern List *catalog_view_list_redefining(Oid old_view_relid);

/* lambda_catalog.event_table */
extern void catalog_init(void);
extern bool catalog_event_table_is(Oid relid);
extern Oid	catalog_event_table_root(Oid relid);
extern char *catalog_event_table_time_column(Oid relid);
extern void catalog_event_table_insert(Oid relid, const char *time_column);
extern void catalog_event_table_set_time_column(Oid relid, const char *time_column);
extern void catalog_event_table_delete(Oid relid);
extern void catalog_event_table_users(Oid relid, char **views, char **sources);

extern char *catalog_event_table_hint(Oid relid);

#endif							/* LAMBDA_CATALOG_H */
