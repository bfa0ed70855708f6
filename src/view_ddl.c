/*-------------------------------------------------------------------------
 *
 * view_ddl.c
 *	  PostgreSQL's statements about materialized views and indexes, applied
 *	  to continuous views.
 *
 * A continuous view is a plain view over its batch table and speed layer
 * (view.c), so PostgreSQL refuses the materialized-view forms of some
 * statements on it ("is not a materialized view"). Users who wrote CREATE
 * MATERIALIZED VIEW expect them to work; the ProcessUtility hook (ddl.c)
 * asks this file first:
 *
 *   COMMENT ON MATERIALIZED VIEW v         runs as COMMENT ON VIEW
 *   ALTER MATERIALIZED VIEW v SET SCHEMA s runs as ALTER VIEW (the batch and
 *                                          speed tables stay in
 *                                          lambda_catalog: the catalog
 *                                          knows the view by OID)
 *   ... RENAME COLUMN a TO b               (any of ALTER MATERIALIZED VIEW,
 *                                          VIEW or TABLE) renames the view's
 *                                          column as PostgreSQL does, then
 *                                          the stored definition's output
 *                                          column and the batch and speed
 *                                          tables' columns named after it
 *                                          (view_ddl_sync_columns)
 *   CREATE INDEX ON v (key columns)        an index on the batch table, made
 *                                          as the catalog's owner (its
 *                                          owner): a secondary index for
 *                                          queries on some of the keys
 *   DROP INDEX lambda_catalog.i            of such an index, by the view's
 *                                          owner
 *
 * (RENAME, OWNER TO, SET/RESET and DROP are view.c's.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "view_parts.h"
#include "view_ddl.h"

/* The continuous view that rv names (its batch table in *batch), or InvalidOid. */
static Oid
view_ddl_relid(RangeVar *rv, Oid *batch)
{
	Oid			relid = rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;

	*batch = OidIsValid(relid) ? view_batch_of(relid) : InvalidOid;
	return OidIsValid(*batch) ? relid : InvalidOid;
}

/* A copy of pstmt running stmt instead. */
static PlannedStmt *
view_ddl_wrap(PlannedStmt *pstmt, Node *stmt)
{
	PlannedStmt *p = makeNode(PlannedStmt);

	memcpy(p, pstmt, sizeof(PlannedStmt));
	p->utilityStmt = stmt;
	return p;
}

/* Checks that the current user owns continuous view relid. */
static void
view_ddl_check_owner(Oid relid)
{
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_MATVIEW, get_rel_name(relid));
}

/* Runs one statement through SPI, checking the result. */
static void
view_ddl_exec(const char *sql, int expect)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expect)
		elog(ERROR, "statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

/* ------------------------------------------------------------------------
 * RENAME COLUMN
 * ------------------------------------------------------------------------
 */

/* Renames column from to to in the batch table and the speed table. */
static void
view_ddl_rename_layers(const char *batch_rel, const char *speed_rel, const char *from, const char *to)
{
	view_ddl_exec(psprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", batch_rel,
						   quote_identifier(from), quote_identifier(to)), SPI_OK_UTILITY);
	view_ddl_exec(psprintf("ALTER FOREIGN TABLE %s RENAME COLUMN %s TO %s", speed_rel,
						   quote_identifier(from), quote_identifier(to)), SPI_OK_UTILITY);
}

/*
 * After a column of the continuous view with batch table batch was renamed:
 * the stored definition's output columns take the view's column names
 * (lambda.views.definition then reads as the view does), and the batch and
 * speed tables' columns, whose names the definition gives (cview.c), follow.
 * Columns change names in two steps, through names no output column can
 * give (cview.c never makes one starting with "_lambda"), so that two may
 * swap names.
 */
static void
view_ddl_sync_columns(Oid batch)
{
	CatalogView *row = catalog_view_get(batch, CurrentMemoryContext);
	MemoryContext cxt;
	MemoryContext old;
	Query	   *query;
	Relation	viewrel;
	TupleDesc	desc;
	ListCell   *lc;
	int			n = 0;
	int			nestlevel;
	char	   *definition;
	ViewDef    *olddef;
	ViewDef    *newdef;
	char	   *batch_rel;
	char	   *speed_rel;
	CatalogScope scope;
	int			ncols;
	int			i;
	char	  **from;
	char	  **to;

	if (row == NULL)
		elog(ERROR, "could not read lambda_catalog.continuous_view");
	query = cview_parse_for_deparse(row->definition);
	viewrel = relation_open(row->view_relid, NoLock);
	desc = RelationGetDescr(viewrel);
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk)
			continue;
		if (n >= desc->natts)
			elog(ERROR, "continuous view \"%s\" has fewer columns than its definition",
				 RelationGetRelationName(viewrel));
		tle->resname = pstrdup(NameStr(TupleDescAttr(desc, n)->attname));
		n++;
	}
	relation_close(viewrel, NoLock);
	/* constants in a form every session reads back the same */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("datestyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	definition = pg_get_querydef(query, false);
	AtEOXact_GUC(true, nestlevel);
	if (strcmp(definition, row->definition) == 0)
		return;

	/* the batch and speed tables' column names, before and after */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda rename", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	olddef = cview_compile(batch, row->view_relid, row->event_relid, row->speed_relid,
						   cview_parse_definition(row->definition), row->window, row->step, cxt);
	newdef = cview_compile(batch, row->view_relid, row->event_relid, row->speed_relid,
						   cview_parse_definition(definition), row->window, row->step, cxt);
	MemoryContextSwitchTo(old);
	if (olddef->nkeys != newdef->nkeys || olddef->naggs != newdef->naggs)
		elog(ERROR, "renaming a column changed the shape of continuous view \"%s\"",
			 get_rel_name(row->view_relid));
	ncols = olddef->nkeys + olddef->naggs;
	from = palloc0(sizeof(char *) * ncols);
	to = palloc0(sizeof(char *) * ncols);
	for (i = 0; i < ncols; i++)
	{
		from[i] = i < olddef->nkeys ? olddef->keynames[i] : olddef->aggnames[i - olddef->nkeys];
		to[i] = i < newdef->nkeys ? newdef->keynames[i] : newdef->aggnames[i - newdef->nkeys];
	}

	batch_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(batch));
	speed_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(row->speed_relid));
	catalog_begin(&scope);
	for (i = 0; i < ncols; i++)
		if (strcmp(from[i], to[i]) != 0)
			view_ddl_rename_layers(batch_rel, speed_rel, from[i], psprintf("_lambda_rename_%d", i));
	for (i = 0; i < ncols; i++)
		if (strcmp(from[i], to[i]) != 0)
			view_ddl_rename_layers(batch_rel, speed_rel, psprintf("_lambda_rename_%d", i), to[i]);
	catalog_end(&scope);
	MemoryContextDelete(cxt);

	catalog_view_set_definition(batch, definition);
	/* every backend compiles the definition again */
	CacheInvalidateRelcacheByRelid(batch);
	CommandCounterIncrement();
}

/* ------------------------------------------------------------------------
 * Indexes
 * ------------------------------------------------------------------------
 */

/*
 * The batch table column of the view's column colname when that column is
 * one of its grouping keys as it is (no expression on top), or NULL.
 */
static const char *
view_ddl_key_column(ViewDef *def, Oid view_relid, const char *colname)
{
	AttrNumber	attno = get_attnum(view_relid, colname);
	ListCell   *lc;
	int			n = 0;
	int			i;

	if (attno == InvalidAttrNumber)
		return NULL;
	foreach(lc, def->query->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk)
			continue;
		if (++n != attno)
			continue;
		for (i = 0; i < def->nkeys; i++)
		{
			SortGroupClause *sgc = list_nth(def->query->groupClause, i);

			if (def->sliding && i == def->nkeys - 1)
				break;
			if (sgc->tleSortGroupRef != 0 && sgc->tleSortGroupRef == tle->ressortgroupref)
				return def->keynames[i];
		}
		return NULL;
	}
	return NULL;
}

static void
view_ddl_index_refuse(Oid relid, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("an index on continuous view \"%s\" cannot %s", get_rel_name(relid), what),
			 errdetail("An index on a continuous view is a secondary index of its batch table, over grouping columns of the view."),
			 errhint("%s", hint)));
}

/* A qualified name list as SQL. */
static char *
view_ddl_names(List *names)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	foreach(lc, names)
		appendStringInfo(&s, "%s%s", foreach_current_index(lc) > 0 ? "." : "",
						 quote_identifier(strVal(lfirst(lc))));
	return s.data;
}

/*
 * CREATE INDEX ON a continuous view: the same index on its batch table,
 * over the batch columns of the view's key columns, in lambda_catalog. The
 * view's owner may make it; the catalog's owner does, as it owns the
 * table. Queries on some of the keys (the unique index serves all of them,
 * or a leading part) then reach the batch rows through it.
 */
static void
view_ddl_create_index(IndexStmt *stmt, Oid relid, Oid batch, QueryCompletion *qc)
{
	ViewDef    *def = cview_get(batch);
	StringInfoData sql;
	ListCell   *lc;
	CatalogScope scope;

	view_ddl_check_owner(relid);
	if (stmt->unique || stmt->primary || stmt->isconstraint)
		view_ddl_index_refuse(relid, "be unique",
							  "The batch table already has a unique index over all the keys; omit UNIQUE.");
	if (stmt->concurrent)
		view_ddl_index_refuse(relid, "be built CONCURRENTLY", "Omit CONCURRENTLY.");
	if (stmt->whereClause)
		view_ddl_index_refuse(relid, "be partial", "Omit the WHERE clause.");
	if (stmt->indexIncludingParams)
		view_ddl_index_refuse(relid, "INCLUDE columns",
							  "Omit INCLUDE: the aggregates are partial states, read through the view.");
	if (stmt->options || stmt->tableSpace)
		view_ddl_index_refuse(relid, "take storage parameters or a tablespace",
							  "Omit the WITH and TABLESPACE clauses.");
	if (stmt->relation->inh == false)
		view_ddl_index_refuse(relid, "be ONLY", "Omit ONLY.");

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE INDEX %s%s ON %s USING %s (",
					 stmt->if_not_exists ? "IF NOT EXISTS " : "",
					 stmt->idxname ? quote_identifier(stmt->idxname) : "",
					 quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(batch)),
					 quote_identifier(stmt->accessMethod ? stmt->accessMethod : "btree"));
	foreach(lc, stmt->indexParams)
	{
		IndexElem  *e = lfirst(lc);
		const char *col = e->name ? view_ddl_key_column(def, relid, e->name) : NULL;

		if (e->name == NULL)
			view_ddl_index_refuse(relid, "be on an expression",
								  "Index columns of the view that are its grouping keys, e.g. CREATE INDEX ON v (hour).");
		if (get_attnum(relid, e->name) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" does not exist", e->name),
					 errhint("Index columns of the view that are its grouping keys.")));
		if (col == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of continuous view \"%s\" is not a grouping key", e->name, get_rel_name(relid)),
					 errdetail("An index on a continuous view is a secondary index of its batch table, over grouping columns of the view; aggregates are merged as the view is read."),
					 errhint("Index columns of the view that are its grouping keys.")));
		if (e->opclassopts)
			view_ddl_index_refuse(relid, "take operator class parameters", "Omit the parameters.");
		appendStringInfo(&sql, "%s%s", foreach_current_index(lc) > 0 ? ", " : "", quote_identifier(col));
		if (e->collation)
			appendStringInfo(&sql, " COLLATE %s", view_ddl_names(e->collation));
		if (e->opclass)
			appendStringInfo(&sql, " %s", view_ddl_names(e->opclass));
		if (e->ordering == SORTBY_DESC)
			appendStringInfoString(&sql, " DESC");
		if (e->nulls_ordering == SORTBY_NULLS_FIRST)
			appendStringInfoString(&sql, " NULLS FIRST");
		else if (e->nulls_ordering == SORTBY_NULLS_LAST)
			appendStringInfoString(&sql, " NULLS LAST");
	}
	appendStringInfoChar(&sql, ')');

	catalog_begin(&scope);
	view_ddl_exec(sql.data, SPI_OK_UTILITY);
	catalog_end(&scope);
	if (qc)
		SetQueryCompletion(qc, CMDTAG_CREATE_INDEX, 0);
}

/*
 * The continuous view whose batch table index indexrelid is an index of,
 * or InvalidOid; InvalidOid too when the current user owns the batch table
 * (a superuser, pg_lambda itself in the update script): PostgreSQL's own
 * rules apply then. *own says whether it is one of pg_lambda's own
 * indexes: unique, or partial (over _lambda_long); those made on the view
 * are neither.
 */
static Oid
view_ddl_index_view(Oid indexrelid, bool *own)
{
	HeapTuple	tup;
	Form_pg_index idx;
	Oid			heap;
	Oid			batch;
	CatalogView *row;

	*own = false;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexrelid));
	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	idx = (Form_pg_index) GETSTRUCT(tup);
	heap = idx->indrelid;
	*own = idx->indisunique || !heap_attisnull(tup, Anum_pg_index_indpred, NULL);
	ReleaseSysCache(tup);
	if (get_rel_namespace(heap) != catalog_namespace() || !catalog_has(CATALOG_VIEWS) ||
		object_ownercheck(RelationRelationId, heap, GetUserId()))
		return InvalidOid;
	batch = heap;
	row = catalog_view_get(batch, CurrentMemoryContext);
	return row ? row->view_relid : InvalidOid;
}

/* Set while view_ddl_drop_index() drops the indexes it checked. */
static bool view_ddl_dropping = false;

/*
 * Drops the indexes named in drops (qualified SQL names). The DROP INDEX run
 * here passes through the hook again: it is let through.
 */
static void
view_ddl_drop_list(List *drops, bool cascade)
{
	ListCell   *lc;

	view_ddl_dropping = true;
	PG_TRY();
	{
		foreach(lc, drops)
			view_ddl_exec(psprintf("DROP INDEX %s%s", (char *) lfirst(lc), cascade ? " CASCADE" : ""),
						  SPI_OK_UTILITY);
	}
	PG_FINALLY();
	{
		view_ddl_dropping = false;
	}
	PG_END_TRY();
}

/*
 * DROP INDEX of indexes on batch tables: by the owner of the view, as the
 * catalog's owner; pg_lambda's own indexes are refused. Returns whether the
 * statement was handled. (Whoever owns the batch table drops as
 * PostgreSQL lets it.)
 */
static bool
view_ddl_drop_index(DropStmt *d, QueryCompletion *qc)
{
	List	   *drops = NIL;
	int			others = 0;
	ListCell   *lc;
	CatalogScope scope;

	foreach(lc, d->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList(lfirst(lc));
		Oid			indexrelid = RangeVarGetRelid(rv, NoLock, true);
		Oid			view;
		bool		own;

		if (!OidIsValid(indexrelid) || get_rel_relkind(indexrelid) != RELKIND_INDEX ||
			!OidIsValid(view = view_ddl_index_view(indexrelid, &own)))
		{
			others++;
			continue;
		}
		if (own)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop index \"%s\": continuous view \"%s\" needs it",
							get_rel_name(indexrelid), get_rel_name(view)),
					 errdetail("pg_lambda made it to keep the batch table's groups unique and to find them by their keys."),
					 errhint("Drop only the indexes made with CREATE INDEX on the view.")));
		view_ddl_check_owner(view);
		drops = lappend(drops, quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(indexrelid)));
	}
	if (drops == NIL)
		return false;
	if (others > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot drop indexes of continuous views and other indexes in one statement"),
				 errhint("Drop them in separate statements.")));
	if (d->concurrent)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("indexes of continuous views cannot be dropped CONCURRENTLY"),
				 errhint("Omit CONCURRENTLY.")));
	catalog_begin(&scope);
	view_ddl_drop_list(drops, d->behavior == DROP_CASCADE);
	catalog_end(&scope);
	if (qc)
		SetQueryCompletion(qc, CMDTAG_DROP_INDEX, 0);
	return true;
}

/* ------------------------------------------------------------------------
 * The hook's calls
 * ------------------------------------------------------------------------
 */

/*
 * Before a utility statement (in a transaction): rewrites the
 * materialized-view forms that PostgreSQL refuses on a plain view into the
 * view forms, and runs CREATE INDEX on a continuous view and DROP INDEX of
 * its indexes. Returns true when the statement was handled; otherwise
 * *pstmt_p may have been replaced.
 */
bool
view_ddl_process_utility(PlannedStmt **pstmt_p, QueryCompletion *qc)
{
	PlannedStmt *pstmt = *pstmt_p;
	Node	   *stmt = pstmt->utilityStmt;
	Oid			relid;
	Oid			batch;

	/* the statements below only (BEGIN and COMMIT pay no catalog look-up) */
	if (!IsA(stmt, CommentStmt) && !IsA(stmt, AlterObjectSchemaStmt) &&
		!IsA(stmt, IndexStmt) && !IsA(stmt, DropStmt))
		return false;
	if (!catalog_has(CATALOG_VIEWS))
		return false;
	if (IsA(stmt, CommentStmt) && ((CommentStmt *) stmt)->objtype == OBJECT_MATVIEW)
	{
		CommentStmt *c = (CommentStmt *) stmt;

		if (OidIsValid(view_ddl_relid(makeRangeVarFromNameList(castNode(List, c->object)), &batch)))
		{
			CommentStmt *copy = copyObject(c);

			copy->objtype = OBJECT_VIEW;
			*pstmt_p = view_ddl_wrap(pstmt, (Node *) copy);
		}
		return false;
	}
	if (IsA(stmt, AlterObjectSchemaStmt) &&
		((AlterObjectSchemaStmt *) stmt)->objectType == OBJECT_MATVIEW)
	{
		AlterObjectSchemaStmt *a = (AlterObjectSchemaStmt *) stmt;

		if (OidIsValid(view_ddl_relid(a->relation, &batch)))
		{
			AlterObjectSchemaStmt *copy = copyObject(a);

			copy->objectType = OBJECT_VIEW;
			*pstmt_p = view_ddl_wrap(pstmt, (Node *) copy);
		}
		return false;
	}
	if (IsA(stmt, IndexStmt) &&
		OidIsValid(relid = view_ddl_relid(((IndexStmt *) stmt)->relation, &batch)))
	{
		view_ddl_create_index((IndexStmt *) stmt, relid, batch, qc);
		return true;
	}
	if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_INDEX && !view_ddl_dropping)
		return view_ddl_drop_index((DropStmt *) stmt, qc);
	return false;
}

/*
 * After a utility statement (in a transaction): a renamed column of a
 * continuous view renames it in the definition and the layers.
 */
void
view_ddl_after_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;
	Oid			batch;

	if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_COLUMN &&
		catalog_has(CATALOG_VIEWS) &&
		OidIsValid(view_ddl_relid(((RenameStmt *) stmt)->relation, &batch)))
		view_ddl_sync_columns(batch);
}
