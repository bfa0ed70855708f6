/*-------------------------------------------------------------------------
 *
 * view.c
 *	  Lambda views: CREATE / REFRESH / ALTER / DROP MATERIALIZED VIEW with
 *	  lambda.continuous, lambda.recompute() and lambda.view_status.
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

#include "aggstate.h"
#include "batch.h"
#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "cview_validate.h"
#include "event_table.h"
#include "privilege.h"
#include "scheduler.h"
#include "speed.h"
#include "triggers.h"
#include "view.h"

#define VIEW_DEFAULT_REFRESH_INTERVAL "1 minute"

PG_FUNCTION_INFO_V1(lambda_recompute);
PG_FUNCTION_INFO_V1(lambda_view_dropped);
PG_FUNCTION_INFO_V1(lambda_speed_status);
PG_FUNCTION_INFO_V1(lambda_sketch_bytes_per_key);
PG_FUNCTION_INFO_V1(lambda_upgrade_batch_table);

/* The batch table of lambda view relid, or InvalidOid. */
Oid
view_batch_of(Oid relid)
{
	if (!catalog_has(CATALOG_VIEWS) || get_rel_relkind(relid) != RELKIND_VIEW)
		return InvalidOid;
	return catalog_view_batch_of(relid);
}

/* The schema-qualified, quoted name of relation relid. */
static char *
view_rel_qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Runs one statement through SPI (as the current user), checking the result. */
static void
view_exec(const char *sql, int expect)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expect)
		elog(ERROR, "statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

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

typedef struct SubstContext
{
	ViewDef    *def;
	int			aggbase;		/* attno of the first aggregate column - 1 */
} SubstContext;

/* Replaces group keys and aggregates with the columns of the merged rows. */
static Node *
view_subst(Node *node, SubstContext *cx)
{
	ViewDef    *def = cx->def;
	int			i;

	if (node == NULL)
		return NULL;
	for (i = 0; i < def->nkeys; i++)
	{
		SortGroupClause *sgc = list_nth(def->query->groupClause, i);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, def->query->targetList);

		if (equal(node, tle->expr))
			return (Node *) makeVar(1, i + 1, def->keytypes[i], exprTypmod((Node *) tle->expr),
									def->keycolls[i], 0);
	}
	if (IsA(node, Aggref))
	{
		for (i = 0; i < def->naggs; i++)
		{
			if (equal(node, def->aggs[i].aggref))
				return (Node *) makeVar(1, cx->aggbase + i + 1, def->aggs[i].aggref->aggtype, -1,
										def->aggs[i].aggref->aggcollid, 0);
		}
		elog(ERROR, "aggregate not found in continuous view definition");
	}
	if (IsA(node, Var))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("continuous views need every column outside an aggregate to be a GROUP BY expression"),
				 errdetail("Column \"%s\" is grouped only through a primary key.",
						   get_attname(def->event_relid, ((Var *) node)->varattno, false)),
				 errhint("Add the column to GROUP BY.")));
	return expression_tree_mutator(node, view_subst, cx);
}

/*
 * The merged view's SQL: states of the batch and speed tables combined per
 * group, then the select list on top.
 */
static char *
view_merged_sql(ViewDef *def, List *colnames, const char *batchname, const char *speedname)
{
	StringInfoData sql;
	StringInfoData cols;
	SubstContext cx;
	List	   *dpcontext;
	ListCell   *lc;
	int			i;
	int			n = 0;
	int			nestlevel;
	/* the keys of the view's rows: a sliding window's step is merged away */
	int			nkeys = def->sliding ? def->nkeys - 1 : def->nkeys;

	cx.def = def;
	cx.aggbase = def->nkeys == 0 ? 1 : def->nkeys;
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	dpcontext = deparse_context_for("m", def->batch_relid);

	initStringInfo(&cols);
	for (i = 0; i < def->nkeys + def->naggs; i++)
	{
		const char *name = i < def->nkeys ? def->keynames[i] : def->aggnames[i - def->nkeys];

		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "", quote_identifier(name));
	}

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	foreach(lc, def->query->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		Node	   *e;
		const char *name;

		if (tle->resjunk)
			continue;
		e = view_subst((Node *) tle->expr, &cx);
		name = (colnames && n < list_length(colnames)) ? strVal(list_nth(colnames, n)) : tle->resname;
		appendStringInfo(&sql, "%s%s AS %s", n > 0 ? ", " : "",
						 deparse_expression(e, dpcontext, true, false), quote_identifier(name));
		n++;
	}
	appendStringInfoString(&sql, " FROM (SELECT ");
	for (i = 0; i < nkeys; i++)
		appendStringInfo(&sql, "u.%s, ", quote_identifier(def->keynames[i]));
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "lambda_catalog.merge(%s::regclass, %d, u.%s, NULL::%s) AS %s%s",
						 quote_literal_cstr(batchname), i + 1, quote_identifier(def->aggnames[i]),
						 format_type_be_qualified(def->aggs[i].aggref->aggtype),
						 quote_identifier(def->aggnames[i]), i < def->naggs - 1 ? ", " : "");
	if (def->nkeys > 0 && batch_has_long_keys(def->batch_relid))
	{
		/*
		 * Short and long keys apart, so that each branch has an index whose
		 * predicate its condition matches: a condition on the keys reaches
		 * the unique index of the short ones and the hash indexes of the
		 * long ones.
		 */
		appendStringInfo(&sql, " FROM (SELECT %s FROM %s WHERE NOT %s UNION ALL SELECT %s FROM %s WHERE %s"
						 " UNION ALL SELECT %s FROM %s",
						 cols.data, batchname, BATCH_LONG_COLUMN, cols.data, batchname, BATCH_LONG_COLUMN,
						 cols.data, speedname);
	}
	else
		appendStringInfo(&sql, " FROM (SELECT %s FROM %s UNION ALL SELECT %s FROM %s",
						 cols.data, batchname, cols.data, speedname);
	if (def->sliding && nkeys == 0)
	{
		/*
		 * A window without events still has its one row, with each
		 * aggregate's value over no rows: a row of NULL states (and a NULL
		 * step, which no event has) gives merge() that.
		 */
		appendStringInfo(&sql, " UNION ALL SELECT NULL::%s", format_type_be_qualified(def->steptype));
		for (i = 0; i < def->naggs; i++)
			appendStringInfoString(&sql, ", NULL::bytea");
		appendStringInfo(&sql, ") u WHERE (u.%s IS NULL OR %s)", CVIEW_STEP_COLUMN,
						 cview_window_sql(def, "u." CVIEW_STEP_COLUMN));
	}
	else if (def->sliding)
		appendStringInfo(&sql, ") u WHERE %s", cview_window_sql(def, "u." CVIEW_STEP_COLUMN));
	else
		appendStringInfoString(&sql, ") u");
	if (nkeys > 0)
	{
		appendStringInfoString(&sql, " GROUP BY ");
		for (i = 0; i < nkeys; i++)
			appendStringInfo(&sql, "%su.%s", i > 0 ? ", " : "", quote_identifier(def->keynames[i]));
	}
	appendStringInfoString(&sql, ") m");
	if (def->query->havingQual)
		appendStringInfo(&sql, " WHERE %s",
						 deparse_expression(view_subst(def->query->havingQual, &cx), dpcontext, true, false));
	AtEOXact_GUC(true, nestlevel);
	return sql.data;
}

/* The column list of a batch or speed table. */
static char *
view_table_columns(ViewDef *def, bool batch)
{
	StringInfoData s;
	int			i;

	{
		initStringInfo(&s);
		if (batch && def->nkeys == 0)
			appendStringInfoString(&s, "_lambda_key boolean NOT NULL DEFAULT true PRIMARY KEY CHECK (_lambda_key), ");
		for (i = 0; i < def->nkeys; i++)
		{
			appendStringInfo(&s, "%s %s", quote_identifier(def->keynames[i]),
							 format_type_be_qualified(def->keytypes[i]));
			if (OidIsValid(def->keycolls[i]))
				appendStringInfo(&s, " COLLATE %s", generate_collation_name(def->keycolls[i]));
			appendStringInfoString(&s, ", ");
		}
		for (i = 0; i < def->naggs; i++)
			appendStringInfo(&s, "%s%s bytea", i > 0 ? ", " : "", quote_identifier(def->aggnames[i]));
	}
	return s.data;
}

/*
 * The batch table's column _lambda_long: whether a group's key is too long
 * for the unique index (batch.c).
 */
static char *
view_long_column(ViewDef *def)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	appendStringInfo(&s, "%s boolean NOT NULL GENERATED ALWAYS AS (lambda_catalog.key_is_long(", BATCH_LONG_COLUMN);
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&s, "%s%s", i > 0 ? ", " : "", quote_identifier(def->keynames[i]));
	appendStringInfoString(&s, ")) STORED");
	return s.data;
}

/*
 * Creates the key indexes of batch table batchname (in lambda_catalog): a
 * unique btree index over the keys, NULLS NOT DISTINCT. With long keys
 * (a _lambda_long column) that one holds the short keys only; a btree index
 * on lambda_catalog.key_hash of the long ones serves refreshes, and a hash
 * index (no size limit) on each variable-length key column over the long
 * ones serves point queries. Runs in an SPI connection.
 */
static void
view_create_key_indexes(ViewDef *def, const char *batchname, bool long_keys)
{
	char	   *batch_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, batchname);
	StringInfoData keys;
	int			i;

	initStringInfo(&keys);
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&keys, "%s%s", i > 0 ? ", " : "", quote_identifier(def->keynames[i]));
	view_exec(psprintf("CREATE UNIQUE INDEX ON %s (%s) NULLS NOT DISTINCT%s", batch_rel, keys.data,
					   long_keys ? " WHERE NOT " BATCH_LONG_COLUMN : ""), SPI_OK_UTILITY);
	if (!long_keys)
		return;
	view_exec(psprintf("CREATE INDEX %s ON %s (lambda_catalog.key_hash(%s)) WHERE %s",
					   quote_identifier(ChooseRelationName(batchname, NULL, "long_idx",
														   catalog_namespace(), false)),
					   batch_rel, keys.data, BATCH_LONG_COLUMN), SPI_OK_UTILITY);
	for (i = 0; i < def->nkeys; i++)
	{
		if (def->keylens[i] != -1 || !OidIsValid(GetDefaultOpClass(def->keytypes[i], HASH_AM_OID)))
			continue;
		view_exec(psprintf("CREATE INDEX %s ON %s USING hash (%s) WHERE %s",
						   quote_identifier(ChooseRelationName(batchname, def->keynames[i], "long_idx",
															   catalog_namespace(), false)),
						   batch_rel, quote_identifier(def->keynames[i]), BATCH_LONG_COLUMN),
				  SPI_OK_UTILITY);
	}
}

/*
 * Gives relid (the event table, or a partition of it) and every partition
 * under it the capture triggers of the view with batch table batch_relid
 * (triggers.c). Runs in a catalog scope.
 */
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
	ObjectAddress viewaddr;
	ObjectAddress eventaddr;
	BatchCut	cut;
	CatalogView row;
	ListCell   *lc;
	bool		long_keys;

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
	batch_refresh(batch_relid, true, "create");
	scheduler_start(MyDatabaseId);

	catalog_read_cut(batch_relid, GetLatestSnapshot(), &cut);
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
static void
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
					 errhint("To change its definition, drop the view and create it again.")));
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
						   view_rel_qualified_name(row->batch_relid),
						   view_rel_qualified_name(row->speed_relid),
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

/* Whether event table relid feeds continuous views. */
static bool
view_event_table_has_views(Oid relid)
{
	return catalog_view_list(relid) != NIL;
}

/* Whether relid or a partitioned table above it feeds continuous views. */
static bool
view_tree_has_views(Oid relid)
{
	ListCell   *lc;

	if (view_event_table_has_views(relid))
		return true;
	if (!get_rel_relispartition(relid))
		return false;
	foreach(lc, get_partition_ancestors(relid))
	{
		if (view_event_table_has_views(lfirst_oid(lc)))
			return true;
	}
	return false;
}

/* Whether trigger tgname of relid is a capture trigger of a live view. */
static bool
view_is_capture_trigger(Oid relid, const char *tgname)
{
	return triggers_is_live_capture(relid, tgname);
}

static void
view_refuse_on_event_table(Oid relid, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot %s event table \"%s\"", what, get_rel_name(relid)),
			 errdetail("Continuous views are maintained from it through its name, its columns and a capture trigger."),
			 errhint("Drop the continuous views over \"%s\" first (see lambda.views), then re-create them.",
					 get_rel_name(relid))));
}

/* The continuous view that rv names, or InvalidOid. */
static Oid
view_continuous_relid(RangeVar *rv)
{
	Oid			relid = rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;

	return OidIsValid(relid) && OidIsValid(view_batch_of(relid)) ? relid : InvalidOid;
}

/*
 * Set while pg_lambda itself replaces a continuous view's query with the
 * same definition over a new batch-table layout (upgrade_batch_table), the
 * one CREATE OR REPLACE VIEW that view_check_definition_change lets through.
 */
static bool view_replacing_own = false;

/*
 * Refuses statements that would change what the user-facing view of a
 * continuous view runs: CREATE OR REPLACE VIEW and an ON SELECT rule would
 * replace its query (and disconnect it from both layers); security_invoker
 * would check each reader's rights on pg_lambda's internal tables instead of
 * reading with the owner's, as a materialized view is read. An owner change
 * must be a statement of its own (view_process_utility() grants the new
 * owner the layers). Column defaults, comments, security_barrier and
 * renames stay allowed: the query stays the same.
 */
static void
view_check_definition_change(Node *stmt)
{
	Oid			relid;

	if (view_replacing_own)
		return;
	if (IsA(stmt, ViewStmt) && ((ViewStmt *) stmt)->replace &&
		OidIsValid(relid = view_continuous_relid(((ViewStmt *) stmt)->view)))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot replace continuous view \"%s\" with CREATE OR REPLACE VIEW", get_rel_name(relid)),
				 errdetail("Its query merges the batch and speed layers; another query would disconnect it from both."),
				 errhint("To change its definition, DROP MATERIALIZED VIEW %s and create it again with CREATE MATERIALIZED VIEW ... WITH (lambda.continuous).",
						 get_rel_name(relid))));
	else if (IsA(stmt, RuleStmt) && ((RuleStmt *) stmt)->event == CMD_SELECT &&
			 OidIsValid(relid = view_continuous_relid(((RuleStmt *) stmt)->relation)))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot create an ON SELECT rule on continuous view \"%s\"", get_rel_name(relid)),
				 errdetail("The rule would replace the query that merges the batch and speed layers, disconnecting the view from both."),
				 errhint("To change its definition, DROP MATERIALIZED VIEW %s and create it again with CREATE MATERIALIZED VIEW ... WITH (lambda.continuous).",
						 get_rel_name(relid))));
	else if (IsA(stmt, AlterTableStmt) &&
			 (((AlterTableStmt *) stmt)->objtype == OBJECT_VIEW ||
			  ((AlterTableStmt *) stmt)->objtype == OBJECT_TABLE) &&
			 OidIsValid(relid = view_continuous_relid(((AlterTableStmt *) stmt)->relation)))
	{
		ListCell   *lc;

		foreach(lc, ((AlterTableStmt *) stmt)->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);
			ListCell   *lc2;

			if (cmd->subtype == AT_ChangeOwner && list_length(((AlterTableStmt *) stmt)->cmds) > 1)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("the owner of continuous view \"%s\" must be changed in a statement of its own",
								get_rel_name(relid)),
						 errdetail("The new owner is given access to the view's batch and speed layers as it changes."),
						 errhint("Run ALTER MATERIALIZED VIEW %s OWNER TO ... alone.", get_rel_name(relid))));
			if (cmd->subtype != AT_SetRelOptions && cmd->subtype != AT_ReplaceRelOptions)
				continue;
			foreach(lc2, (List *) cmd->def)
			{
				DefElem    *d = lfirst(lc2);

				if (d->defnamespace == NULL && strcmp(d->defname, "security_invoker") == 0 &&
					(d->arg == NULL || defGetBoolean(d)))
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("continuous view \"%s\" cannot be security_invoker", get_rel_name(relid)),
							 errdetail("A continuous view is read with its owner's rights, as a materialized view is: "
									   "its query reads pg_lambda's internal batch and speed tables, not the event table."),
							 errhint("Grant SELECT on the view to the roles that may read it.")));
			}
		}
	}
}

/*
 * Refuses statements that would make an event table stop feeding its
 * continuous views, or break their stored definitions: renaming the table,
 * its columns or its schema, moving it, and disabling or dropping a capture
 * trigger; and those that would change the continuous views' own query
 * (view_check_definition_change).
 */
void
view_check_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;

	view_check_definition_change(stmt);
	if (IsA(stmt, RenameStmt))
	{
		RenameStmt *r = (RenameStmt *) stmt;
		Oid			relid;

		if (r->renameType == OBJECT_SCHEMA)
		{
			Oid			nsp = get_namespace_oid(r->subname, true);

			if (!OidIsValid(nsp) || !catalog_has(CATALOG_VIEWS))
				return;
			if (catalog_view_in_schema(nsp))
				ereport(ERROR,
						(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
						 errmsg("cannot rename schema \"%s\": it holds continuous views or their event tables", r->subname),
						 errhint("Drop the continuous views first (see lambda.views), then re-create them.")));
			return;
		}
		if (r->relation == NULL ||
			!(r->renameType == OBJECT_TABLE || r->renameType == OBJECT_COLUMN ||
			  r->renameType == OBJECT_TRIGGER))
			return;
		relid = RangeVarGetRelid(r->relation, NoLock, true);
		if (!OidIsValid(relid))
			return;
		if (r->renameType == OBJECT_TRIGGER)
		{
			if (view_is_capture_trigger(relid, r->subname))
				view_refuse_on_event_table(relid, "rename the capture trigger of");
		}
		else if (view_event_table_has_views(relid))
			view_refuse_on_event_table(relid, r->renameType == OBJECT_TABLE ?
									   "rename" : "rename a column of");
	}
	else if (IsA(stmt, AlterObjectSchemaStmt))
	{
		AlterObjectSchemaStmt *a = (AlterObjectSchemaStmt *) stmt;
		Oid			relid;

		if (a->relation == NULL || a->objectType != OBJECT_TABLE)
			return;
		relid = RangeVarGetRelid(a->relation, NoLock, true);
		if (OidIsValid(relid) && view_event_table_has_views(relid))
			view_refuse_on_event_table(relid, "change the schema of");
	}
	else if (IsA(stmt, AlterTableStmt))
	{
		AlterTableStmt *a = (AlterTableStmt *) stmt;
		ListCell   *lc;
		Oid			relid;

		if (a->objtype != OBJECT_TABLE)
			return;
		relid = RangeVarGetRelid(a->relation, NoLock, true);
		if (!OidIsValid(relid))
			return;
		foreach(lc, a->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			switch (cmd->subtype)
			{
				case AT_DisableTrigAll:
				case AT_DisableTrigUser:
					if (view_tree_has_views(relid))
						view_refuse_on_event_table(relid, "disable the triggers of");
					break;
				case AT_DisableTrig:
				case AT_EnableTrig:
				case AT_EnableAlwaysTrig:
				case AT_EnableReplicaTrig:
					/* setting the mode it must have (as pg_dump does) is fine */
					if (view_is_capture_trigger(relid, cmd->name) &&
						!triggers_keeps_mode(relid, cmd->name, cmd->subtype))
						view_refuse_on_event_table(relid, cmd->subtype == AT_DisableTrig ?
												   "disable the capture trigger of" :
												   "change how the capture trigger fires on");
					break;
				default:
					break;
			}
		}
	}
	else if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_TRIGGER)
	{
		DropStmt   *d = (DropStmt *) stmt;
		ListCell   *lc;

		foreach(lc, d->objects)
		{
			List	   *names = lfirst(lc);
			RangeVar   *rv;
			Oid			relid;

			if (list_length(names) < 2)
				continue;
			rv = makeRangeVarFromNameList(list_truncate(list_copy(names), list_length(names) - 1));
			relid = RangeVarGetRelid(rv, NoLock, true);
			if (OidIsValid(relid) && view_is_capture_trigger(relid, strVal(llast(names))))
				view_refuse_on_event_table(relid, "drop the capture trigger of");
		}
	}
}

/* lambda.recompute(view regclass): rebuilds the batch layer from all events. */
Datum
lambda_recompute(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Oid			batch;
	BatchCut	cut;

	/* called on NULL input from 0.4.0 (STRICT before: NULL did nothing) */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the view passed to lambda.recompute must not be NULL"),
				 errhint("Pass a continuous view, e.g. lambda.recompute('pageviews_hourly'); lambda.views lists them.")));
	relid = PG_GETARG_OID(0);
	batch = view_batch_of(relid);
	if (!OidIsValid(batch))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a continuous view", get_rel_name(relid) ? get_rel_name(relid) : "?"),
				 errhint("Pass a view created with CREATE MATERIALIZED VIEW ... WITH (lambda.continuous).")));
	compat_check_refresh(relid);
	view_refresh(batch, true, "recompute");
	catalog_read_cut(batch, GetLatestSnapshot(), &cut);
	ereport(NOTICE,
			(errmsg_plural("continuous view \"%s\" recomputed: %lld group",
						   "continuous view \"%s\" recomputed: %lld groups",
						   cut.batch_rows, get_rel_name(relid), (long long) cut.batch_rows)));
	PG_RETURN_VOID();
}

/*
 * lambda_catalog.upgrade_batch_table(batch regclass): moves the batch table
 * of a view made before 0.4.0, whose keys can be too long for its unique
 * index, to the long-key design (view_create_key_indexes): adds
 * _lambda_long, replaces the unique index and redefines the view so that
 * each branch reaches its index. Returns whether it changed anything. Run
 * by the 0.3.0 -> 0.4.0 update script.
 */
Datum
lambda_upgrade_batch_table(PG_FUNCTION_ARGS)
{
	Oid			batch = PG_GETARG_OID(0);
	ViewDef    *def = cview_get(batch);
	CatalogScope scope;
	Relation	viewrel;
	TupleDesc	desc;
	List	   *colnames = NIL;
	char	   *batchname;
	char	   *batch_rel;
	char	   *speed_rel;
	char	   *viewname;
	char	   *options;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	uint64		i;
	int			a;
	bool		save_creating;
	Oid			save_extension;

	if (def == NULL || def->nkeys == 0 || !batch_keys_may_be_long(def) || batch_has_long_keys(batch))
		PG_RETURN_BOOL(false);
	batchname = get_rel_name(batch);
	batch_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, batchname);
	speed_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(def->speed_relid));
	viewname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(def->view_relid)),
										  get_rel_name(def->view_relid));
	/* no refresh or read while the table changes */
	LockRelationOid(def->view_relid, AccessExclusiveLock);
	LockRelationOid(batch, AccessExclusiveLock);

	catalog_begin(&scope);
	/* the unique index of every key goes first, so the rewrite does not rebuild it */
	args[0] = ObjectIdGetDatum(batch);
	if (SPI_execute_with_args("SELECT pg_catalog.format('DROP INDEX %s', indexrelid::pg_catalog.regclass)"
							  "  FROM pg_catalog.pg_index WHERE indrelid = $1 AND indisunique AND indpred IS NULL",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the indexes of batch table \"%s\"", batchname);
	{
		List	   *drops = NIL;
		ListCell   *lc;

		for (i = 0; i < SPI_processed; i++)
			drops = lappend(drops, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		foreach(lc, drops)
			view_exec(lfirst(lc), SPI_OK_UTILITY);
	}
	view_exec(psprintf("ALTER TABLE %s ADD COLUMN %s", batch_rel, view_long_column(def)), SPI_OK_UTILITY);
	view_create_key_indexes(def, batchname, true);
	/* the view's options (e.g. security_barrier), which CREATE OR REPLACE would reset */
	args[0] = ObjectIdGetDatum(def->view_relid);
	if (SPI_execute_with_args("SELECT string_agg(quote_ident(split_part(o, '=', 1)) || ' = ' ||"
							  "                  quote_literal(substr(o, strpos(o, '=') + 1)), ', ')"
							  "  FROM pg_class c, unnest(c.reloptions) o WHERE c.oid = $1",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the options of view \"%s\"", viewname);
	options = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	options = options ? psprintf(" WITH (%s)", options) : "";
	catalog_end(&scope);

	/* the view, with the same columns (as the caller: its owner, or a superuser) */
	viewrel = relation_open(def->view_relid, NoLock);
	desc = RelationGetDescr(viewrel);
	for (a = 0; a < desc->natts; a++)
		colnames = lappend(colnames, makeString(pstrdup(NameStr(TupleDescAttr(desc, a)->attname))));
	relation_close(viewrel, NoLock);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The view is the user's, not the extension's: inside the update script
	 * PostgreSQL would refuse to replace it ("not a member of extension"),
	 * so it is replaced as outside one.
	 */
	save_creating = creating_extension;
	save_extension = CurrentExtensionObject;
	PG_TRY();
	{
		creating_extension = false;
		CurrentExtensionObject = InvalidOid;
		view_replacing_own = true;
		view_exec(psprintf("CREATE OR REPLACE VIEW %s%s AS %s", viewname, options,
						   view_merged_sql(def, colnames, batch_rel, speed_rel)), SPI_OK_UTILITY);
	}
	PG_FINALLY();
	{
		creating_extension = save_creating;
		CurrentExtensionObject = save_extension;
		view_replacing_own = false;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/*
 * lambda_catalog.view_dropped(batch): called by the sql_drop event trigger
 * for a dropped lambda view; frees its speed layer at commit.
 */
Datum
lambda_view_dropped(PG_FUNCTION_ARGS)
{
	Oid			batch = PG_GETARG_OID(0);

	speed_view_dropped(batch);
	cview_forget(batch);
	PG_RETURN_VOID();
}

/*
 * lambda_catalog.sketch_bytes_per_key(batch): the most bytes the sketches
 * of one group take in the speed layer (0 without count(DISTINCT) or
 * percentile_cont).
 */
Datum
lambda_sketch_bytes_per_key(PG_FUNCTION_ARGS)
{
	ViewDef    *def = cview_get(PG_GETARG_OID(0));

	if (def == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) cview_sketch_bytes_per_key(def));
}

/*
 * lambda_catalog.speed_status(batch, OUT ...): the speed layer's side of
 * lambda.view_status.
 */
Datum
lambda_speed_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	SpeedStatus st;
	Datum		values[6];
	bool		nulls[6] = {0};
	const char *state;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	speed_status(PG_GETARG_OID(0), &st);
	if (!st.attached)
		state = "not loaded";
	else if (st.rebuilding)
		state = "rebuilding";
	else if (!st.complete)
		state = "degraded";
	else
		state = "active";
	values[0] = CStringGetTextDatum(state);
	values[1] = Int64GetDatum(st.keys);
	values[2] = Int64GetDatum(st.bytes);
	values[3] = Int32GetDatum(st.generations);
	values[4] = CStringGetTextDatum(st.note);
	nulls[4] = (st.note[0] == '\0');
	values[5] = TimestampTzGetDatum(st.last_apply);
	nulls[5] = (st.last_apply == 0);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * The batch tables of the continuous views over event table relid or over
 * a partition of it (of every continuous view when relid is InvalidOid).
 */
List *
view_batches_over(Oid relid)
{
	return catalog_view_list_over(relid);
}

/*
 * Grants the current owner of the view with batch table batch SELECT on its
 * batch and speed tables, which the view reads with its owner's rights: for
 * owner changes that do not pass through view_process_utility (REASSIGN
 * OWNED).
 */
void
view_grant_layers(Oid batch)
{
	ViewDef    *def = cview_get(batch);
	CatalogScope scope;

	if (def == NULL)
		return;
	catalog_begin(&scope);
	view_exec(psprintf("GRANT SELECT ON %s, %s TO %s",
					   quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(batch)),
					   quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(def->speed_relid)),
					   quote_identifier(GetUserNameFromId(privilege_rel_owner(def->view_relid), false))),
			  SPI_OK_UTILITY);
	catalog_end(&scope);
}
