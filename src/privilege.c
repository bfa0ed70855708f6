/*-------------------------------------------------------------------------
 *
 * privilege.c
 *	  What the owner of a continuous view needs on its event table.
 *
 * A continuous view is PostgreSQL's materialized view in spirit: its batch
 * layer is filled with the rights of the view's owner, whoever asks for the
 * refresh (REFRESH MATERIALIZED VIEW, lambda.recompute(), the scheduler,
 * which runs as a superuser). pg_lambda reads the events itself (a table
 * scan, the capture trigger), so PostgreSQL checks nothing on the way, and
 * the checks are made here instead:
 *
 *   - the owner must be allowed to run the defining query: SELECT on the
 *     event table, or on every column the definition reads (as the executor
 *     would check it);
 *   - row-level security of the event table must not apply to the owner
 *     (PostgreSQL's own rule, check_enable_rls: the table's owner is exempt
 *     unless the table forces row-level security, and superusers and BYPASSRLS
 *     roles always are). A view counts every event; keeping each layer
 *     filtered by the owner's policies exactly is not something pg_lambda
 *     does, so such a view is refused rather than answered wrongly.
 *
 * Both are checked when a view is created, when it changes owner, when the
 * event table changes in a way that can take them away (ALTER TABLE ...
 * ENABLE / FORCE ROW LEVEL SECURITY, OWNER TO; REASSIGN OWNED, which also
 * grants the views' new owners their batch and speed tables), and on every
 * refresh, since what cannot be refused at the moment it happens (REVOKE,
 * ALTER ROLE ... NOBYPASSRLS, a lost role membership) is refused there.
 *
 * privilege_grant_layers grants a view's owner SELECT on its batch and
 * speed tables after an owner change that view.c does not see (REASSIGN
 * OWNED). It takes no locks of its own; it reads views through catalog.c
 * and cview.c and never calls view.c, which calls it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "compat.h"
#include "cview.h"
#include "privilege.h"

/*
 * The owner of relation relid.
 */
Oid
privilege_rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * The columns of table relid that query reads, as parse analysis recorded
 * them for the permission check (offset by FirstLowInvalidHeapAttributeNumber),
 * plus those of Vars of range table entry 1 added after it (a sliding
 * window's step key, cview.c).
 */
static Bitmapset *
priv_query_columns(Query *query, Oid relid)
{
	Bitmapset  *cols = NULL;
	ListCell   *lc;

	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION || rte->relid != relid)
			continue;
		cols = bms_union(cols, compat_rte_selected_cols(query, rte));
	}
	pull_varattnos((Node *) query->targetList, 1, &cols);
	if (query->jointree)
		pull_varattnos(query->jointree->quals, 1, &cols);
	pull_varattnos(query->havingQual, 1, &cols);
	return cols;
}

/*
 * Whether role may read what query reads from table relid, checked as the
 * executor checks a SELECT: the table, or else each column read; a
 * whole-row reference needs every column, and a query that reads none
 * (count(*)) needs any one. Without a query, SELECT on the table is needed.
 */
static bool
priv_may_select(Oid relid, Oid role, Query *query)
{
	Bitmapset  *cols;
	int			col = -1;

	if (pg_class_aclcheck(relid, role, ACL_SELECT) == ACLCHECK_OK)
		return true;
	if (query == NULL)
		return false;
	cols = priv_query_columns(query, relid);
	if (bms_is_empty(cols))
		return pg_attribute_aclcheck_all(relid, role, ACL_SELECT, ACLMASK_ANY) == ACLCHECK_OK;
	while ((col = bms_next_member(cols, col)) >= 0)
	{
		AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;

		if (attno == InvalidAttrNumber)
		{
			if (pg_attribute_aclcheck_all(relid, role, ACL_SELECT, ACLMASK_ALL) != ACLCHECK_OK)
				return false;
		}
		else if (pg_attribute_aclcheck(relid, attno, role, ACL_SELECT) != ACLCHECK_OK)
			return false;
	}
	return true;
}

/* The event table's name as a GRANT statement would write it. */
static char *
priv_table_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * Refuses because role owner (of view viewname) may not read event table
 * event_relid.
 */
static void
priv_refuse_select(Oid owner, Oid event_relid, const char *viewname, PrivilegeAction action)
{
	const char *table = get_rel_name(event_relid);
	const char *role = GetUserNameFromId(owner, false);
	char	   *grant = psprintf("GRANT SELECT ON %s TO %s", priv_table_name(event_relid),
								 quote_identifier(role));

	switch (action)
	{
		case PRIVILEGE_CREATE:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for table %s", table),
					 errdetail("Continuous view \"%s\" would read the events with the rights of its owner, role \"%s\", who may not read them.",
							   viewname, role),
					 errhint("Ask the table's owner for it: %s.", grant)));
			break;
		case PRIVILEGE_NEW_OWNER:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for table %s", table),
					 errdetail("Continuous view \"%s\" reads the events with the rights of its owner, and role \"%s\" may not read them.",
							   viewname, role),
					 errhint("Grant the new owner SELECT first: %s.", grant)));
			break;
		case PRIVILEGE_TABLE_CHANGE:
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot change table \"%s\": continuous view \"%s\" could no longer read it",
							table, viewname),
					 errdetail("The view reads the events with the rights of its owner, role \"%s\", who would lose SELECT on the table.",
							   role),
					 errhint("Drop continuous view \"%s\" first, or give it to a role that keeps SELECT on the table (ALTER MATERIALIZED VIEW ... OWNER TO).",
							 viewname)));
			break;
		case PRIVILEGE_REFRESH:
		case PRIVILEGE_READ:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for table %s", table),
					 errdetail("Continuous view \"%s\" reads the events with the rights of its owner, role \"%s\", who may not read them.",
							   viewname, role),
					 errhint("Give the view's owner SELECT on the table (%s), or drop the view.", grant)));
			break;
	}
}

/*
 * Refuses because row-level security of event table event_relid applies to
 * role owner (of view viewname).
 */
static void
priv_refuse_rls(Oid owner, Oid event_relid, const char *viewname, PrivilegeAction action)
{
	const char *table = get_rel_name(event_relid);
	const char *role = GetUserNameFromId(owner, false);
	const char *hint;

	switch (action)
	{
		case PRIVILEGE_CREATE:
			hint = "Create the view as a role that row-level security does not apply to: the table's owner "
				"(unless the table forces row-level security) or a role with BYPASSRLS; "
				"or filter the events in the view's WHERE clause.";
			break;
		case PRIVILEGE_NEW_OWNER:
			hint = "Give the view to a role that row-level security does not apply to: the table's owner "
				"(unless the table forces row-level security) or a role with BYPASSRLS.";
			break;
		case PRIVILEGE_TABLE_CHANGE:
			hint = psprintf("Drop continuous view \"%s\" first, or give it to a role that row-level security "
							"does not apply to: the table's owner (unless the table forces row-level security) "
							"or a role with BYPASSRLS.", viewname);
			break;
		default:
			hint = "Give the view to a role that row-level security does not apply to (ALTER MATERIALIZED VIEW ... OWNER TO), "
				"or drop it and filter the events in the new view's WHERE clause.";
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("continuous view \"%s\" cannot read table \"%s\" under row-level security",
					viewname, table),
			 errdetail("Row-level security of \"%s\" applies to role \"%s\", %s, and a continuous view counts every event of its table: its answers would not be its defining query's.",
					   table, role,
					   action == PRIVILEGE_CREATE || action == PRIVILEGE_NEW_OWNER ?
					   "which would own the view" : "the view's owner"),
			 errhint("%s", hint)));
}

/*
 * Checks that role owner, owning (or about to own) continuous view viewname,
 * may read event table event_relid as the view's definition query does, and
 * that row-level security of the table does not apply to it. action says
 * what is being done, for the messages.
 */
void
privilege_check_owner_reads(Oid owner, Oid event_relid, Query *query,
							const char *viewname, PrivilegeAction action)
{
	if (!priv_may_select(event_relid, owner, query))
		priv_refuse_select(owner, event_relid, viewname, action);
	if (check_enable_rls(event_relid, owner, true) == RLS_ENABLED)
		priv_refuse_rls(owner, event_relid, viewname, action);
}

/*
 * privilege_check_owner_reads() for existing view view_relid, as its
 * current owner.
 */
void
privilege_check_view(Oid view_relid, Oid event_relid, Query *query, PrivilegeAction action)
{
	privilege_check_owner_reads(privilege_rel_owner(view_relid), event_relid, query,
								get_rel_name(view_relid), action);
}

/*
 * Grants the current owner of the view with batch table batch SELECT on its
 * batch and speed tables, which the view reads with its owner's rights: for
 * owner changes that do not pass through view_process_utility (REASSIGN
 * OWNED).
 */
void
privilege_grant_layers(Oid batch)
{
	ViewDef    *def = cview_get(batch);
	CatalogScope scope;
	const char *sql;
	int			rc;

	if (def == NULL)
		return;
	catalog_begin(&scope);
	sql = psprintf("GRANT SELECT ON %s, %s TO %s",
				   quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(batch)),
				   quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(def->speed_relid)),
				   quote_identifier(GetUserNameFromId(privilege_rel_owner(def->view_relid), false)));
	rc = SPI_execute(sql, false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "statement failed (%s): %s", SPI_result_code_string(rc), sql);
	catalog_end(&scope);
}

/*
 * Checks every continuous view over event table relid (every view when
 * InvalidOid), action saying why; with regrant, also grants each view's (possibly new) owner
 * its batch and speed tables.
 */
static void
priv_check_views_over(Oid relid, PrivilegeAction action, bool regrant)
{
	ListCell   *lc;

	foreach(lc, catalog_view_list_over(relid))
	{
		ViewDef    *def = cview_get(lfirst_oid(lc));

		if (def == NULL)
			continue;
		privilege_check_view(def->view_relid, def->event_relid, def->query, action);
		if (regrant)
			privilege_grant_layers(def->batch_relid);
	}
}

/*
 * After a utility statement: refuses (by failing the transaction the
 * statement ran in) changes that leave a continuous view's owner unable to
 * read its event table or subject to its row-level security: ALTER TABLE
 * ... ENABLE or FORCE ROW LEVEL SECURITY and OWNER TO on an event table, and
 * REASSIGN OWNED (which may move event tables and views). Checked after the
 * statement ran, so that PostgreSQL's own rules decide, on the new state.
 */
void
privilege_after_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (IsA(stmt, AlterTableStmt) && ((AlterTableStmt *) stmt)->objtype == OBJECT_TABLE)
	{
		AlterTableStmt *a = (AlterTableStmt *) stmt;
		bool		relevant = false;
		ListCell   *lc;
		Oid			relid;

		foreach(lc, a->cmds)
		{
			AlterTableType t = ((AlterTableCmd *) lfirst(lc))->subtype;

			if (t == AT_EnableRowSecurity || t == AT_ForceRowSecurity || t == AT_ChangeOwner)
				relevant = true;
		}
		if (!relevant)
			return;
		relid = RangeVarGetRelid(a->relation, NoLock, true);
		if (!OidIsValid(relid))
			return;
		CommandCounterIncrement();
		priv_check_views_over(relid, PRIVILEGE_TABLE_CHANGE, false);
	}
	else if (IsA(stmt, ReassignOwnedStmt))
	{
		/* views given away this way need their layers, as with OWNER TO */
		CommandCounterIncrement();
		priv_check_views_over(InvalidOid, PRIVILEGE_NEW_OWNER, true);
	}
}
