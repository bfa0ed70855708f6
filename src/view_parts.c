/*-------------------------------------------------------------------------
 *
 * view_parts.c
 *	  The parts a continuous view is made of: which batch table a view has,
 *	  the batch table's columns and key indexes, and the SQL of the view
 *	  that merges the batch layer with the speed layer.
 *
 * view.c creates a view's parts with these (CREATE MATERIALIZED VIEW),
 * view_admin.c rebuilds them for batch tables made before 0.4.0
 * (upgrade_batch_table). Batch tables whose keys can be long keep them
 * apart (_lambda_long; see batch.h): the unique index holds the short keys,
 * and the long ones are indexed by hash (view_create_key_indexes); the
 * merged view's SQL (view_merged_sql) reads each branch through its index.
 *
 * view_batch_of, the lookup every view room uses, and view_exec (one SPI
 * statement, checked) live here because this is the lowest of the view
 * rooms: view.c, view_guard.c and view_admin.c call it, it calls none of
 * them.
 *
 * Locks: none of its own; its statements take what DDL takes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"

#include "batch.h"
#include "catalog.h"
#include "cview.h"
#include "view_parts.h"

/* The batch table of lambda view relid, or InvalidOid. */
Oid
view_batch_of(Oid relid)
{
	if (!catalog_has(CATALOG_VIEWS) || get_rel_relkind(relid) != RELKIND_VIEW)
		return InvalidOid;
	return catalog_view_batch_of(relid);
}

/* The schema-qualified, quoted name of relation relid. */
char *
view_qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Runs one statement through SPI (as the current user), checking the result. */
void
view_exec(const char *sql, int expect)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expect)
		elog(ERROR, "statement failed (%s): %s", SPI_result_code_string(rc), sql);
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
 * Whether the view's select list is its keys and aggregates, each as itself
 * (in any order, renamed or not), every key among them, and it has no
 * HAVING: then the grouped query can be the view itself (view_merged_sql),
 * with no select list on top of it.
 */
static bool
view_plain_select(ViewDef *def, SubstContext *cx, int nkeys)
{
	Bitmapset  *keys = NULL;
	ListCell   *lc;

	if (def->query->havingQual)
		return false;
	foreach(lc, def->query->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		Node	   *e;

		if (tle->resjunk)
			continue;
		e = view_subst((Node *) tle->expr, cx);
		if (!IsA(e, Var))
			return false;
		if (((Var *) e)->varattno <= nkeys)
			keys = bms_add_member(keys, ((Var *) e)->varattno);
		else if (((Var *) e)->varattno <= def->nkeys)
			return false;		/* a sliding window's step */
	}
	return bms_num_members(keys) == nkeys;
}

/*
 * The merged view's SQL: states of the batch and speed tables combined per
 * group, then the select list on top. When the select list is the keys and
 * aggregates themselves (view_plain_select), the grouped query is the whole
 * view: "SELECT u.k AS k, merge(...) AS n FROM (...) u GROUP BY u.k" rather
 * than "SELECT m.k AS k, m.n AS n FROM (SELECT u.k, merge(...) AS n FROM
 * (...) u GROUP BY u.k) m". Both return the same rows; the planner copies
 * and pulls up one query level less for each read of the view (views made
 * before 0.4.0 keep the second form, which every read path also takes).
 */
char *
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
	bool		plain;

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
	plain = view_plain_select(def, &cx, nkeys);
	foreach(lc, def->query->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		Var		   *e;
		const char *name;

		if (tle->resjunk)
			continue;
		e = (Var *) view_subst((Node *) tle->expr, &cx);
		name = (colnames && n < list_length(colnames)) ? strVal(list_nth(colnames, n)) : tle->resname;
		if (!plain)
			appendStringInfo(&sql, "%s%s AS %s", n > 0 ? ", " : "",
							 deparse_expression((Node *) e, dpcontext, true, false), quote_identifier(name));
		else if (e->varattno <= nkeys)
			appendStringInfo(&sql, "%su.%s AS %s", n > 0 ? ", " : "",
							 quote_identifier(def->keynames[e->varattno - 1]), quote_identifier(name));
		else
		{
			i = e->varattno - cx.aggbase - 1;
			appendStringInfo(&sql, "%slambda_catalog.merge(%s::regclass, %d, u.%s, NULL::%s) AS %s",
							 n > 0 ? ", " : "", quote_literal_cstr(batchname), i + 1,
							 quote_identifier(def->aggnames[i]),
							 format_type_be_qualified(def->aggs[i].aggref->aggtype), quote_identifier(name));
		}
		n++;
	}
	if (!plain)
	{
		appendStringInfoString(&sql, " FROM (SELECT ");
		for (i = 0; i < nkeys; i++)
			appendStringInfo(&sql, "u.%s, ", quote_identifier(def->keynames[i]));
		for (i = 0; i < def->naggs; i++)
			appendStringInfo(&sql, "lambda_catalog.merge(%s::regclass, %d, u.%s, NULL::%s) AS %s%s",
							 quote_literal_cstr(batchname), i + 1, quote_identifier(def->aggnames[i]),
							 format_type_be_qualified(def->aggs[i].aggref->aggtype),
							 quote_identifier(def->aggnames[i]), i < def->naggs - 1 ? ", " : "");
	}
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
	if (plain)
	{
		AtEOXact_GUC(true, nestlevel);
		return sql.data;
	}
	appendStringInfoString(&sql, ") m");
	if (def->query->havingQual)
		appendStringInfo(&sql, " WHERE %s",
						 deparse_expression(view_subst(def->query->havingQual, &cx), dpcontext, true, false));
	AtEOXact_GUC(true, nestlevel);
	return sql.data;
}

/* The column list of a batch or speed table. */
char *
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
char *
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
void
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
