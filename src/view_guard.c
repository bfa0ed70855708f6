/*-------------------------------------------------------------------------
 *
 * view_guard.c
 *	  What other statements may do to continuous views, their parts and
 *	  their event tables: the checks the ProcessUtility hook (ddl.c) runs
 *	  before a statement.
 *
 * A continuous view is maintained from its event table through the table's
 * name, its columns and its capture triggers, and is read through a plain
 * view whose query pg_lambda wrote. view_check_utility refuses, before they
 * run, the statements that would break that: renaming or retyping what the
 * views read, dropping or disabling a live capture trigger (naming the
 * views, before triggers.c's own check), replacing the view's query
 * (CREATE OR REPLACE VIEW, an ON SELECT rule), security_invoker, and an
 * owner change mixed with other subcommands. pg_lambda's own replacement of
 * a view's query over a new batch-table layout (upgrade_batch_table,
 * view_admin.c) is let through while view_guard_replacing_own(true) holds.
 *
 * Locks: none of its own; it reads the catalog (catalog.c) and pg_trigger
 * (triggers.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "commands/defrem.h"
#include "nodes/nodeFuncs.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "triggers.h"
#include "view_guard.h"
#include "view_parts.h"

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

/* Sets or clears view_replacing_own (upgrade_batch_table, view_admin.c). */
void
view_guard_replacing_own(bool on)
{
	view_replacing_own = on;
}

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
				 errhint("To change its definition, use CALL lambda.alter_view_query('%s', new_query).",
						 get_rel_name(relid))));
	else if (IsA(stmt, RuleStmt) && ((RuleStmt *) stmt)->event == CMD_SELECT &&
			 OidIsValid(relid = view_continuous_relid(((RuleStmt *) stmt)->relation)))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot create an ON SELECT rule on continuous view \"%s\"", get_rel_name(relid)),
				 errdetail("The rule would replace the query that merges the batch and speed layers, disconnecting the view from both."),
				 errhint("To change its definition, use CALL lambda.alter_view_query('%s', new_query).",
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
