/*-------------------------------------------------------------------------
 *
 * view.c
 *	  Lambda views: CREATE / REFRESH / ALTER / DROP MATERIALIZED VIEW with
 *	  lambda.continuous, and new partitions of their event tables.
 *
 * CREATE MATERIALIZED VIEW v WITH (lambda.continuous, ...) AS SELECT ...
 * is intercepted before PostgreSQL sees it (ddl.c). It makes
 *
 *   lambda_catalog.<v>_batch   the batch layer: one row per group, the key
 *                              columns under a unique index (NULLS NOT
 *                              DISTINCT) and one bytea of partial state per
 *                              aggregate; when keys can be too long for a
 *                              btree entry, the unique index holds the short
 *                              ones and the long ones are indexed by hash
 *                              (view_create_key_indexes, batch.c);
 *   lambda_catalog.<v>_speed   a foreign table over the speed layer with the
 *                              same columns (merge.c);
 *   v                          a plain view: the two unioned, grouped by the
 *                              keys, states merged and finalized, and the
 *                              select list's expressions applied on top;
 *   capture triggers on the event table (triggers.c; capture.c folds what
 *   they see), and a catalog row in
 *   lambda_catalog.continuous_view holding the definition (deparsed, fully
 *   qualified) and the cut (batch.c).
 *
 * then folds in every existing event (a recompute). With
 * lambda.sliding_window, the definition gains a last, hidden key: the
 * window step of the event time (cview.c), a column _lambda_step of both
 * tables; v keeps only the steps inside the window at read time (now()) and
 * merges them per key, and each refresh deletes the steps that expired
 * (batch.c). v depends on the event
 * table, so dropping the table needs CASCADE. Dropping v in any way (DROP
 * MATERIALIZED VIEW, DROP VIEW, a cascade) reaches lambda_catalog.on_sql_drop,
 * which calls lambda_catalog.view_dropped() to remove the other parts and
 * free the speed layer's memory when the transaction commits.
 *
 * Four rooms. This file runs the statements about continuous views that
 * ddl.c hands it (view_process_utility) and gives a new partition of an
 * event table its views' capture triggers (view_after_utility).
 * view_parts.c builds the parts (batch table columns and key indexes, the
 * merged view's SQL); view_guard.c refuses what other statements would do
 * to them (view_check_utility); view_admin.c holds the SQL functions
 * (lambda.recompute, view_dropped, the speed side of lambda.view_status,
 * upgrade_batch_table). The calls go one way: view_admin.c -> view.c ->
 * view_parts.c, and view_admin.c -> view_guard.c -> view_parts.c.
 *
 * Locks: none of its own. CREATE takes what its DDL takes; a refresh takes
 * batch.c's (the cut takes the speed layer's commit lock exclusively for an
 * instant).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_am.h"
#include "catalog/pg_inherits.h"
#include "commands/trigger.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "parser/scansup.h"
#include "pgtime.h"
#include "optimizer/optimizer.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "batch.h"
#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "cview_rollup.h"
#include "cview_validate.h"
#include "event_table.h"
#include "privilege.h"
#include "scheduler.h"
#include "speed.h"
#include "triggers.h"
#include "view.h"
#include "view_parts.h"

#define VIEW_DEFAULT_REFRESH_INTERVAL "1 minute"


/* Parses an interval option value, refusing what is not a positive interval. */
static Interval *
view_parse_interval(DefElem *d)
{
	char	   *s = defGetString(d);
	Interval   *volatile iv = NULL;
	Interval	zero;
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		iv = NULL;
	}
	PG_END_TRY();
	memset(&zero, 0, sizeof(zero));
	if (iv == NULL ||
		DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(iv), IntervalPGetDatum(&zero))) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for lambda.%s: \"%s\"", d->defname, s),
				 errdetail("The value must be a positive interval."),
				 errhint("Use a value such as '5 minutes'.")));
	return iv;
}

typedef struct LambdaViewOptions
{
	bool		continuous;
	bool		continuous_given;	/* lambda.continuous appears, true or false */
	bool		any_lambda;
	char	   *refresh_interval;
	Interval   *sliding_window;
	Interval   *window_step;
} LambdaViewOptions;

/* Window steps per window when lambda.window_step is not given */
#define VIEW_DEFAULT_STEPS	20
/* and at most */
#define VIEW_MAX_STEPS		10000

/* A window or step length: a positive interval without months. */
static Interval *
view_parse_window_interval(DefElem *d)
{
	Interval   *iv = view_parse_interval(d);

	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for lambda.%s: \"%s\"", d->defname, defGetString(d)),
				 errdetail("Months and years have no fixed length."),
				 errhint("Give the length in days, hours, minutes or seconds, e.g. '30 days'.")));
	return iv;
}

static int64
view_interval_usecs(const Interval *iv)
{
	return iv->time + (int64) iv->day * USECS_PER_DAY;
}

/* Checks the sliding window options and fills in the default step. */
static void
view_check_window(LambdaViewOptions *o)
{
	int64		w;
	int64		s;

	if (o->window_step && !o->sliding_window)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda.window_step needs lambda.sliding_window"),
				 errhint("Add lambda.sliding_window = '10 minutes', or remove lambda.window_step.")));
	if (!o->sliding_window)
		return;
	w = view_interval_usecs(o->sliding_window);
	if (!o->window_step)
	{
		o->window_step = palloc0(sizeof(Interval));
		o->window_step->time = Max(w / VIEW_DEFAULT_STEPS, 1);
	}
	s = view_interval_usecs(o->window_step);
	if (s > w)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda.window_step must not be longer than lambda.sliding_window"),
				 errhint("Use a step that is a fraction of the window, e.g. a twentieth.")));
	if (w / s > VIEW_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lambda.window_step is too short for lambda.sliding_window"),
				 errdetail("The window would span %lld steps; at most %d are allowed.",
						   (long long) (w / s), VIEW_MAX_STEPS),
				 errhint("Use a longer step: every key keeps one group per step in the window.")));
}

/* Reads the lambda.* options (and refuses the others) of a lambda view. */
static void
view_parse_options(List *options, LambdaViewOptions *o, bool for_alter)
{
	ListCell   *lc;

	memset(o, 0, sizeof(LambdaViewOptions));
	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (d->defnamespace == NULL || strcmp(d->defnamespace, "lambda") != 0)
			continue;
		o->any_lambda = true;
		if (strcmp(d->defname, "continuous") == 0 && !for_alter)
		{
			/* any Boolean a reloption takes (true, yes, on, 1, ...) */
			if (d->arg == NULL)
				o->continuous = true;
			else if (!parse_bool(defGetString(d), &o->continuous))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value for lambda.continuous: \"%s\"", defGetString(d)),
						 errdetail("lambda.continuous takes a Boolean value."),
						 errhint("Write WITH (lambda.continuous) for a continuous view.")));
			o->continuous_given = true;
		}
		else if (strcmp(d->defname, "refresh_interval") == 0)
		{
			Interval   *iv = view_parse_interval(d);

			o->refresh_interval = DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(iv)));
		}
		else if (strcmp(d->defname, "sliding_window") == 0 && !for_alter)
			o->sliding_window = view_parse_window_interval(d);
		else if (strcmp(d->defname, "window_step") == 0 && !for_alter)
			o->window_step = view_parse_window_interval(d);
		else if (for_alter && (strcmp(d->defname, "sliding_window") == 0 ||
							   strcmp(d->defname, "window_step") == 0))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("lambda.%s of a continuous view cannot be changed", d->defname),
					 errdetail("The batch layer keeps one group per window step."),
					 errhint("Drop the view and create it again with the new window.")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized parameter \"lambda.%s\"", d->defname),
					 errhint(for_alter ? "The parameter that can be changed is lambda.refresh_interval." :
							 "Valid parameters are lambda.continuous, lambda.refresh_interval, lambda.sliding_window and lambda.window_step.")));
	}
}

/* The lambda.* options of a statement. */
static List *
view_lambda_options(List *options)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (d->defnamespace && strcmp(d->defnamespace, "lambda") == 0)
			result = lappend(result, d);
	}
	return result;
}

/* Whether a statement's options ask for a lambda view. */
static bool
view_options_lambda(List *options)
{
	return view_lambda_options(options) != NIL;
}

/*
 * Gives relid (the event table, or a partition of it) and every partition
 * under it the capture triggers of the view with batch table batch_relid
 * (triggers.c). Runs in a catalog scope.
 */
/*
 * The continuous view that query reads alone (a rollup of it), or InvalidOid.
 */
static Oid
view_rollup_lower(Query *query)
{
	RangeTblEntry *rte;

	if (list_length(query->rtable) != 1 || list_length(query->jointree->fromlist) != 1)
		return InvalidOid;
	rte = linitial(query->rtable);
	if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_VIEW)
		return InvalidOid;
	return OidIsValid(view_batch_of(rte->relid)) ? rte->relid : InvalidOid;
}

/*
 * Set by lambda.alter_view_query (view_redefine.c) for the one CREATE it
 * runs: the new view starts without the existing events (no initial build,
 * and its event table is locked only for the moment it is registered); the
 * caller builds it from all events in a transaction of its own.
 */
static bool view_create_skip_build = false;

void
view_create_without_events(bool on)
{
	view_create_skip_build = on;
}

static void
view_add_capture(Oid relid, Oid batch_relid)
{
	(void) triggers_add_capture(relid, batch_relid);
}

/*
 * After CREATE TABLE ... PARTITION OF or ATTACH PARTITION: a new partition
 * of an event table with continuous views gets their capture triggers.
 */
void
view_after_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;
	Oid			relid = InvalidOid;
	List	   *ancestors;
	CatalogScope scope;
	List	   *batches = NIL;
	ListCell   *lc;

	if (IsA(stmt, CreateStmt) && ((CreateStmt *) stmt)->partbound)
		relid = RangeVarGetRelid(((CreateStmt *) stmt)->relation, NoLock, true);
	else if (IsA(stmt, AlterTableStmt))
	{
		foreach(lc, ((AlterTableStmt *) stmt)->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			if (cmd->subtype == AT_AttachPartition)
				relid = RangeVarGetRelid(((PartitionCmd *) cmd->def)->name, NoLock, true);
		}
	}
	if (!OidIsValid(relid) || !get_rel_relispartition(relid) ||
		!OidIsValid(catalog_relid("continuous_view")))
		return;
	ancestors = get_partition_ancestors(relid);
	if (ancestors == NIL)
		return;
	catalog_begin(&scope);
	batches = catalog_view_list(llast_oid(ancestors));
	if (batches != NIL && IsA(stmt, AlterTableStmt))
	{
		/* rows that were in the table before it was attached were never captured */
		if (SPI_execute(psprintf("SELECT 1 FROM %s LIMIT 1",
								 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															get_rel_name(relid))),
						true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the attached partition");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot attach non-empty table \"%s\" to an event table with continuous views",
							get_rel_name(relid)),
					 errdetail("Its rows would be events that the views never counted."),
					 errhint("Attach it empty and insert the rows through the event table, or drop the views, attach, and create them again.")));
	}
	foreach(lc, batches)
		view_add_capture(relid, lfirst_oid(lc));
	catalog_end(&scope);
}

/*
 * Refuses output columns of the same name (the column list of CREATE, then
 * the select list's names), before anything is created: the view's columns
 * must have distinct names, as a materialized view's must.
 */
static void
view_check_column_names(Query *query, List *colnames)
{
	List	   *names = NIL;
	ListCell   *lc;
	int			n = 0;

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		const char *name;
		ListCell   *lc2;

		if (tle->resjunk)
			continue;
		name = n < list_length(colnames) ? strVal(list_nth(colnames, n)) : tle->resname;
		n++;
		if (name == NULL)
			continue;
		foreach(lc2, names)
		{
			if (strcmp(lfirst(lc2), name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" specified more than once", name),
						 errdetail("Columns %d and %d of the view are both named \"%s\".",
								   foreach_current_index(lc2) + 1, n, name),
						 errhint("Give each output column its own name with AS, or list the names after the view's name.")));
		}
		names = lappend(names, (char *) name);
	}
}

/*
 * CREATE MATERIALIZED VIEW ... WITH (lambda.continuous): see the file
 * header.
 */
static void
view_create(CreateTableAsStmt *ctas, QueryCompletion *qc)
{
	IntoClause *into = ctas->into;
	Query	   *query = (Query *) ctas->query;
	LambdaViewOptions opts;
	Oid			event_relid;
	Oid			nsp;
	Oid			existing;
	Oid			catnsp = catalog_namespace();
	char	   *viewname = into->rel->relname;
	char	   *qualname;
	char	   *batchname;
	char	   *speedname;
	char	   *batch_rel;
	char	   *speed_rel;
	char	   *definition;
	const char *owner;
	ViewDef    *tmp;
	ViewDef    *def;
	CatalogScope scope;
	Oid			batch_relid;
	Oid			speed_relid;
	Oid			view_relid;
	int			nestlevel;
	TimestampTz start;
	long		secs;
	int			usecs;
	ObjectAddress viewaddr;
	ObjectAddress eventaddr;
	BatchCut	cut;
	CatalogView row;
	ListCell   *lc;
	bool		long_keys;
	bool		skip_build = view_create_skip_build;
	Oid			lower_relid;

	view_create_skip_build = false;
	view_parse_options(into->options, &opts, false);
	view_check_window(&opts);
	if (opts.sliding_window && catalog_has(CATALOG_VIEWS) &&
		!catalog_has(CATALOG_SLIDING_WINDOWS))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sliding windows need pg_lambda 0.3.0 in this database"),
				 errdetail("The extension's SQL objects are of an older version than the library."),
				 errhint("Run ALTER EXTENSION pg_lambda UPDATE.")));
	if (!OidIsValid(catnsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_lambda\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION pg_lambda first.")));
	if (!catalog_has(CATALOG_VIEWS))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("continuous views need pg_lambda 0.2.0 or later in this database"),
				 errdetail("The extension's SQL objects are of an older version than the library."),
				 errhint("Run ALTER EXTENSION pg_lambda UPDATE.")));
	foreach(lc, into->options)
	{
		DefElem    *d = lfirst(lc);

		if (d->defnamespace == NULL || strcmp(d->defnamespace, "lambda") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("continuous views do not take storage parameter \"%s\"", d->defname),
					 errhint("Only lambda.* parameters apply to a continuous view.")));
	}
	if (into->skipData)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views cannot be created WITH NO DATA"),
				 errdetail("A continuous view always answers over all events."),
				 errhint("Omit WITH NO DATA.")));
	if (into->tableSpaceName || into->accessMethod)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views do not take TABLESPACE or USING"),
				 errhint("Omit the clause.")));
	if (!IsA(query, Query))
		elog(ERROR, "unexpected CREATE MATERIALIZED VIEW query");

	nsp = RangeVarGetAndCheckCreationNamespace(into->rel, NoLock, &existing);
	if (OidIsValid(existing))
	{
		if (ctas->if_not_exists)
		{
			ereport(NOTICE,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("relation \"%s\" already exists, skipping", viewname)));
			return;
		}
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", viewname)));
	}
	if (into->rel->relpersistence == RELPERSISTENCE_TEMP || isTempNamespace(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views cannot be temporary"),
				 errhint("Create it in a permanent schema.")));

	query = compat_flatten_grouping(query);
	/* over another continuous view: the same query over its event table */
	lower_relid = view_rollup_lower(query);
	if (OidIsValid(lower_relid))
		query = cview_rollup_compose(query, lower_relid, view_batch_of(lower_relid), viewname);
	cview_validate_query(query, &event_relid);
	/* the view's owner will be the current user */
	privilege_check_owner_reads(GetUserId(), event_relid, query, viewname, PRIVILEGE_CREATE);
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("continuous views can only be created at READ COMMITTED isolation"),
				 errhint("Create it outside this transaction.")));
	if (into->colNames)
	{
		int			ncols = 0;

		foreach(lc, query->targetList)
			ncols += ((TargetEntry *) lfirst(lc))->resjunk ? 0 : 1;
		if (list_length(into->colNames) > ncols)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("too many column names were specified")));
	}
	view_check_column_names(query, into->colNames);

	/* no events may be in flight while the initial contents are computed */
	LockRelationOid(event_relid, ShareRowExclusiveLock);
	/* and it is still an event table (lambda.drop_event_table() takes that lock too) */
	PushActiveSnapshot(GetLatestSnapshot());
	event_table_require(event_relid);
	PopActiveSnapshot();

	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	definition = pg_get_querydef(query, false);
	AtEOXact_GUC(true, nestlevel);

	/* names of the batch and speed tables, from the view's */
	tmp = cview_compile(InvalidOid, InvalidOid, event_relid, InvalidOid,
						cview_parse_definition(definition), opts.sliding_window,
						opts.window_step, CurrentMemoryContext);
	if (tmp->nkeys > 32)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("continuous views can group by at most 32 expressions")));
	/* a sliding window reads the time column too */
	if (opts.sliding_window)
		privilege_check_owner_reads(GetUserId(), event_relid, tmp->query, viewname, PRIVILEGE_CREATE);
	batchname = ChooseRelationName(viewname, NULL, "batch", catnsp, false);
	speedname = ChooseRelationName(viewname, NULL, "speed", catnsp, false);
	batch_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, batchname);
	speed_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, speedname);
	qualname = quote_qualified_identifier(get_namespace_name(nsp), viewname);
	owner = quote_identifier(GetUserNameFromId(GetUserId(), false));

	long_keys = tmp->nkeys > 0 && batch_keys_may_be_long(tmp) && catalog_has(CATALOG_LONG_KEYS);
	catalog_begin(&scope);
	view_exec(psprintf("CREATE TABLE %s (%s%s%s)", batch_rel, view_table_columns(tmp, true),
					   long_keys ? ", " : "", long_keys ? view_long_column(tmp) : ""), SPI_OK_UTILITY);
	/*
	 * The refresh updates batch rows, which a publication that publishes
	 * updates (FOR ALL TABLES) refuses without a replica identity; the keys
	 * may be NULL, so no index can be it.
	 */
	view_exec(psprintf("ALTER TABLE %s REPLICA IDENTITY FULL", batch_rel), SPI_OK_UTILITY);
	if (tmp->nkeys > 0)
		view_create_key_indexes(tmp, batchname, long_keys);
	/* count(DISTINCT) sets uncompressed, so that a read can fetch only their count */
	{
		int			i;

		for (i = 0; i < tmp->naggs; i++)
			if (tmp->aggs[i].meta.kind == AGG_KIND_DISTINCT)
				view_exec(psprintf("ALTER TABLE %s ALTER COLUMN %s SET STORAGE EXTERNAL",
								   batch_rel, quote_identifier(tmp->aggnames[i])), SPI_OK_UTILITY);
	}
	view_exec(psprintf("CREATE FOREIGN TABLE %s (%s) SERVER lambda_speed OPTIONS (batch %s)",
					   speed_rel, view_table_columns(tmp, false), quote_literal_cstr(batch_rel)),
			  SPI_OK_UTILITY);
	view_exec(psprintf("GRANT SELECT ON %s, %s TO %s", batch_rel, speed_rel, owner), SPI_OK_UTILITY);
	batch_relid = get_relname_relid(batchname, catnsp);
	speed_relid = get_relname_relid(speedname, catnsp);
	catalog_end(&scope);

	/* the view, as its owner */
	tmp->batch_relid = batch_relid;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	view_exec(psprintf("CREATE VIEW %s AS %s", qualname,
					   view_merged_sql(tmp, into->colNames, batch_rel, speed_rel)), SPI_OK_UTILITY);
	SPI_finish();
	CommandCounterIncrement();
	view_relid = get_relname_relid(viewname, nsp);
	ObjectAddressSet(viewaddr, RelationRelationId, view_relid);
	ObjectAddressSet(eventaddr, RelationRelationId, event_relid);
	recordDependencyOn(&viewaddr, &eventaddr, DEPENDENCY_NORMAL);
	/* a rollup depends on the view it rolls up, as a view on a view does */
	if (OidIsValid(lower_relid))
	{
		ObjectAddress loweraddr;

		ObjectAddressSet(loweraddr, RelationRelationId, lower_relid);
		recordDependencyOn(&viewaddr, &loweraddr, DEPENDENCY_NORMAL);
	}
	/* and on the columns, functions, operators and types it uses */
	recordDependencyOnExpr(&viewaddr, (Node *) query, NIL, DEPENDENCY_NORMAL);

	catalog_begin(&scope);
	row.batch_relid = batch_relid;
	row.view_relid = view_relid;
	row.speed_relid = speed_relid;
	row.event_relid = event_relid;
	row.definition = definition;
	row.window = opts.sliding_window;
	row.step = opts.sliding_window ? opts.window_step : NULL;
	/* over a timestamp column, the zone its event times are taken to be in */
	row.window_time_zone = NULL;
	if (opts.sliding_window && tmp->steptype == TIMESTAMPOID)
		row.window_time_zone = pstrdup(pg_get_timezone_name(session_timezone));
	catalog_view_insert(&row, opts.refresh_interval ? opts.refresh_interval : VIEW_DEFAULT_REFRESH_INTERVAL);
	view_add_capture(event_relid, batch_relid);
	view_exec(psprintf("COMMENT ON VIEW %s IS %s", qualname,
					   quote_literal_cstr(psprintf("pg_lambda continuous view over %s: batch layer %s, speed layer %s",
												   get_rel_name(event_relid), batch_rel, speed_rel))),
			  SPI_OK_UTILITY);
	catalog_end(&scope);
	CommandCounterIncrement();

	def = cview_get(batch_relid);
	speed_view_created(def, 0);
	if (skip_build)
		return;
	start = GetCurrentTimestamp();
	batch_refresh(batch_relid, true, "create");
	TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
	scheduler_start(MyDatabaseId);

	catalog_read_cut(batch_relid, GetLatestSnapshot(), &cut);
	if (secs >= VIEW_NOTICE_SECONDS)
		ereport(NOTICE,
				(errmsg_plural("continuous view \"%s\" holds %lld group over the existing events of \"%s\", built in %ld s",
							   "continuous view \"%s\" holds %lld groups over the existing events of \"%s\", built in %ld s",
							   cut.batch_rows, viewname, (long long) cut.batch_rows, get_rel_name(event_relid), secs)));
	else
		ereport(NOTICE,
				(errmsg_plural("continuous view \"%s\" holds %lld group over the existing events of \"%s\"",
							   "continuous view \"%s\" holds %lld groups over the existing events of \"%s\"",
							   cut.batch_rows, viewname, (long long) cut.batch_rows, get_rel_name(event_relid))));
	if (qc)
		SetQueryCompletion(qc, CMDTAG_SELECT, cut.batch_rows);
}

/*
 * REFRESH and lambda.recompute: batch_refresh, noting a failure in the
 * speed layer (lambda.view_status.note), which outlives the transaction
 * that the error rolls back, before raising it as usual. Then makes sure
 * the database's scheduler runs: a database restored from a dump or copied
 * from a template has continuous views but no scheduler until the server
 * restarts, and reads never start one (they ask for a recompute instead).
 */
void
view_refresh(Oid batch, bool full, const char *why)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		batch_refresh(batch, full, why);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		MemoryContext ecxt = MemoryContextSwitchTo(cxt);

		edata = CopyErrorData();
		speed_record_error(MyDatabaseId, batch, full ? "recompute" : "REFRESH", edata->message);
		FreeErrorData(edata);
		MemoryContextSwitchTo(ecxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	scheduler_start(MyDatabaseId);
}

/* Checks that the current user owns lambda view relid. */
static void
view_check_owner(Oid relid)
{
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_MATVIEW, get_rel_name(relid));
}

static void
view_alter(AlterTableStmt *stmt, Oid relid, Oid batch)
{
	ListCell   *lc;

	view_check_owner(relid);
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);
		LambdaViewOptions opts;
		ListCell   *lc2;

		if (cmd->subtype != AT_SetRelOptions && cmd->subtype != AT_ResetRelOptions)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("ALTER MATERIALIZED VIEW on continuous view \"%s\" supports only SET and RESET of lambda.refresh_interval, RENAME, RENAME COLUMN, SET SCHEMA and OWNER TO",
							get_rel_name(relid)),
					 errdetail("The other forms change a materialized view's storage; a continuous view keeps its rows in pg_lambda's batch and speed tables."),
					 errhint("To change its definition, use CALL lambda.alter_view_query(view, new_query).")));
		foreach(lc2, (List *) cmd->def)
		{
			DefElem    *d = lfirst(lc2);

			if (d->defnamespace == NULL || strcmp(d->defnamespace, "lambda") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("continuous views do not take storage parameter \"%s\"", d->defname),
						 errhint("The parameter that can be changed is lambda.refresh_interval.")));
			if (cmd->subtype == AT_ResetRelOptions && strcmp(d->defname, "refresh_interval") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unrecognized parameter \"lambda.%s\"", d->defname),
						 errhint("The parameter that can be changed is lambda.refresh_interval.")));
		}
		if (cmd->subtype == AT_ResetRelOptions)
			opts.refresh_interval = VIEW_DEFAULT_REFRESH_INTERVAL;
		else
			view_parse_options((List *) cmd->def, &opts, true);
		if (opts.refresh_interval == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("nothing to change"),
					 errhint("Use ALTER MATERIALIZED VIEW v SET (lambda.refresh_interval = '5 minutes').")));
		catalog_view_set_refresh_interval(batch, opts.refresh_interval);
	}
	scheduler_wake(MyDatabaseId);
}

/*
 * After ALTER ... OWNER TO of the view with batch table batch: refuses a new
 * owner that could not maintain it (no SELECT on the event table, or under
 * its row-level security), as CREATE refuses such an owner.
 */
static void
view_check_new_owner(Oid batch, Oid newowner)
{
	ViewDef    *def = cview_get(batch);

	if (def != NULL)
		privilege_check_owner_reads(newowner, def->event_relid, def->query,
									get_rel_name(def->view_relid), PRIVILEGE_NEW_OWNER);
}

/*
 * After ALTER ... OWNER TO: the old owner no longer reads the view's batch
 * and speed tables (they were granted to it as the owner). Their own owner,
 * the catalog's, keeps its rights.
 */
static void
view_revoke_layers(Oid batch, Oid oldowner, Oid newowner)
{
	ViewDef    *def = cview_get(batch);
	CatalogScope scope;

	if (def == NULL || oldowner == newowner || oldowner == privilege_rel_owner(batch))
		return;
	catalog_begin(&scope);
	view_exec(psprintf("REVOKE SELECT ON %s, %s FROM %s",
					   quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(batch)),
					   quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(def->speed_relid)),
					   quote_identifier(GetUserNameFromId(oldowner, false))),
			  SPI_OK_UTILITY);
	catalog_end(&scope);
}

/* A copy of pstmt running stmt instead. */
static PlannedStmt *
view_wrap(PlannedStmt *pstmt, Node *stmt)
{
	PlannedStmt *p = makeNode(PlannedStmt);

	memcpy(p, pstmt, sizeof(PlannedStmt));
	p->utilityStmt = stmt;
	return p;
}

/*
 * ProcessUtility: handles statements about lambda views. Returns true when
 * the statement was handled; otherwise *pstmt may have been replaced by a
 * statement for PostgreSQL to run (DROP MATERIALIZED VIEW of lambda views
 * becomes DROP VIEW).
 */
bool
view_process_utility(PlannedStmt **pstmt_p, QueryCompletion *qc)
{
	PlannedStmt *pstmt = *pstmt_p;
	Node	   *stmt = pstmt->utilityStmt;

	if (IsA(stmt, CreateTableAsStmt))
	{
		CreateTableAsStmt *ctas = (CreateTableAsStmt *) stmt;

		if (ctas->objtype != OBJECT_MATVIEW || !view_options_lambda(ctas->into->options))
			return false;
		{
			LambdaViewOptions o;

			view_parse_options(ctas->into->options, &o, false);
			if (!o.continuous && o.continuous_given &&
				list_length(view_lambda_options(ctas->into->options)) == 1)
			{
				/* lambda.continuous = false alone: an ordinary materialized view */
				CreateTableAsStmt *copy = copyObject(ctas);

				copy->into->options = list_difference_ptr(copy->into->options,
														  view_lambda_options(copy->into->options));
				*pstmt_p = view_wrap(pstmt, (Node *) copy);
				return false;
			}
			if (!o.continuous && o.continuous_given)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("lambda.* parameters need lambda.continuous = true"),
						 errdetail("lambda.continuous = false makes an ordinary materialized view, which takes no lambda.* parameters."),
						 errhint("Remove lambda.continuous = false for a continuous view, or the other lambda.* parameters for an ordinary materialized view.")));
			if (!o.continuous)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("lambda.* parameters need lambda.continuous"),
						 errhint("Add lambda.continuous to the WITH clause, or remove the lambda.* parameters.")));
		}
		view_create(ctas, qc);
		return true;
	}
	if (IsA(stmt, RefreshMatViewStmt))
	{
		RefreshMatViewStmt *r = (RefreshMatViewStmt *) stmt;
		Oid			relid = RangeVarGetRelid(r->relation, NoLock, true);
		Oid			batch;

		if (!OidIsValid(relid) || !OidIsValid(batch = view_batch_of(relid)))
			return false;
		compat_check_refresh(relid);
		if (r->skipData)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("continuous views cannot be refreshed WITH NO DATA"),
					 errhint("Omit WITH NO DATA; to remove the view, drop it.")));
		view_refresh(batch, false, "manual");
		if (qc)
			SetQueryCompletion(qc, CMDTAG_REFRESH_MATERIALIZED_VIEW, 0);
		return true;
	}
	if (IsA(stmt, AlterTableStmt) &&
		(((AlterTableStmt *) stmt)->objtype == OBJECT_MATVIEW ||
		 ((AlterTableStmt *) stmt)->objtype == OBJECT_VIEW ||
		 ((AlterTableStmt *) stmt)->objtype == OBJECT_TABLE) &&
		list_length(((AlterTableStmt *) stmt)->cmds) == 1 &&
		((AlterTableCmd *) linitial(((AlterTableStmt *) stmt)->cmds))->subtype == AT_ChangeOwner)
	{
		AlterTableStmt *a = (AlterTableStmt *) stmt;
		AlterTableCmd *cmd = linitial(a->cmds);
		Oid			relid = RangeVarGetRelid(a->relation, NoLock, true);
		Oid			batch;
		Oid			newowner;
		Oid			oldowner;
		CatalogScope scope;
		CatalogView *row;

		if (!OidIsValid(relid) || !OidIsValid(batch = view_batch_of(relid)))
			return false;
		newowner = get_rolespec_oid(cmd->newowner, false);
		oldowner = privilege_rel_owner(relid);
		view_check_owner(relid);
		ATExecChangeOwner(relid, newowner, false, AccessExclusiveLock);
		view_check_new_owner(batch, newowner);
		/* the new owner reads the batch and speed tables through the view */
		row = catalog_view_get(batch, CurrentMemoryContext);
		if (row == NULL)
			elog(ERROR, "could not read lambda_catalog.continuous_view");
		catalog_begin(&scope);
		view_exec(psprintf("GRANT SELECT ON %s, %s TO %s",
						   view_qualified_name(row->batch_relid),
						   view_qualified_name(row->speed_relid),
						   quote_identifier(GetUserNameFromId(newowner, false))),
				  SPI_OK_UTILITY);
		catalog_end(&scope);
		view_revoke_layers(batch, oldowner, newowner);
		return true;
	}
	if (IsA(stmt, AlterTableStmt) && ((AlterTableStmt *) stmt)->objtype == OBJECT_MATVIEW)
	{
		AlterTableStmt *a = (AlterTableStmt *) stmt;
		Oid			relid = RangeVarGetRelid(a->relation, NoLock, true);
		Oid			batch;

		if (!OidIsValid(relid) || !OidIsValid(batch = view_batch_of(relid)))
			return false;
		view_alter(a, relid, batch);
		return true;
	}
	if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_MATVIEW &&
		((RenameStmt *) stmt)->relation)
	{
		RenameStmt *r = (RenameStmt *) stmt;
		Oid			relid = RangeVarGetRelid(r->relation, NoLock, true);

		if (OidIsValid(relid) && OidIsValid(view_batch_of(relid)))
		{
			RenameStmt *copy = copyObject(r);

			view_check_owner(relid);

			copy->renameType = OBJECT_VIEW;
			*pstmt_p = view_wrap(pstmt, (Node *) copy);
		}
		return false;
	}
	if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_MATVIEW)
	{
		DropStmt   *d = (DropStmt *) stmt;
		List	   *views = NIL;
		List	   *others = NIL;
		ListCell   *lc;

		foreach(lc, d->objects)
		{
			RangeVar   *rv = makeRangeVarFromNameList(lfirst(lc));
			Oid			relid = RangeVarGetRelid(rv, NoLock, true);

			if (OidIsValid(relid) && OidIsValid(view_batch_of(relid)))
			{
				/* as DROP MATERIALIZED VIEW checks it: the owner, or the schema's */
				if (!object_ownercheck(NamespaceRelationId, get_rel_namespace(relid), GetUserId()))
					view_check_owner(relid);
				views = lappend(views, lfirst(lc));
			}
			else
				others = lappend(others, lfirst(lc));
		}
		if (views == NIL)
			return false;
		if (others != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot drop continuous views and other materialized views in one statement"),
					 errhint("Drop them in separate statements.")));
		{
			DropStmt   *copy = copyObject(d);

			copy->removeType = OBJECT_VIEW;
			*pstmt_p = view_wrap(pstmt, (Node *) copy);
		}
		return false;
	}
	return false;
}
