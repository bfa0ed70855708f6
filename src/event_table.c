/*-------------------------------------------------------------------------
 *
 * event_table.c
 *	  Immutable, append-only event tables: the master dataset.
 *
 * lambda.create_event_table() records a table in lambda_catalog.event_table.
 * From then on nothing may change or remove the rows it holds, whatever the
 * path: UPDATE, DELETE, MERGE with UPDATE/DELETE actions and INSERT ... ON
 * CONFLICT DO UPDATE are refused when their plan starts (ExecutorStart hook,
 * which sees every result relation, including inheritance children and the
 * targets of data-modifying CTEs and rules); TRUNCATE (also through
 * inheritance and CASCADE) and ALTER TABLE that drops or retypes a column are
 * refused before they run (called from the ProcessUtility hook in ddl.c).
 * INSERT and COPY are untouched. lambda.drop_events_before() is the single
 * sanctioned removal, for retention. Logical replication's apply workers
 * pass neither hook; the ENABLE ALWAYS triggers that triggers.c puts on
 * every event table call lambda_refuse_change() below for them.
 *
 * Event tables take no part in table inheritance: a child's inserts fire
 * only the child's triggers, so its rows would be read as events of the
 * parent without reaching its continuous views. create_event_table() and
 * the utility check refuse it in both directions.
 *
 * A partitioned table is an event table as a whole: its partitions are
 * protected like it (a partition answers event_table_is() through its
 * ancestors), and detaching or dropping one of its partitions is refused, as
 * that would remove events too; only drop_events_before() drops the
 * partitions that lie wholly before its cut (retention.c finds them).
 *
 * Arrival order. A refresh that reads events (batch.c: the events its cut
 * does not hold) would otherwise scan the whole table. The column
 * _lambda_xact, stored generated as lambda_catalog.inserting_xact() (the
 * inserting transaction's 64-bit id, evaluated once per statement in that
 * transaction), and a BRIN index on it give the scan the pages that can hold
 * events of transactions at or after the cut's xmin: every event the cut
 * does not see is of such a transaction (all older ones had ended when the
 * cut was taken). The scan still tests every event it reads against the cut,
 * so the index only narrows which pages it reads. event_table_add_arrival()
 * adds both (lambda.add_arrival_index, view_admin.c);
 * event_table_arrival_index() finds them on one table or partition.
 *
 * Whether a relation is an event table is asked on every UPDATE/DELETE, so
 * the answer is cached per backend (catalog.c: catalog_event_table_is). The
 * cache is kept right by relcache invalidations: a trigger on the catalog
 * table (lambda_event_table_changed, below) invalidates the relcache entry
 * of every table whose catalog row changes (including rows restored by
 * pg_restore), dropping a table invalidates its entry, and dropping the
 * catalog table itself (DROP EXTENSION) empties the cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/heap.h"
#include "catalog/partition.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/primnodes.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "replication/logicalworker.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "compat.h"
#include "event_table.h"
#include "retention.h"
#include "triggers.h"

#define ET_APPEND_HINT "Append a correcting event instead."
#define ET_RETENTION_HINT \
	"Append a correcting event instead. To remove old events for retention, use lambda.drop_events_before()."

/* While drop_events_before() runs, the DELETE it issues on this table is allowed. */
static Oid	et_retention_relid = InvalidOid;

/* While add_arrival_index() rewrites this table, the rewrite is allowed. */
static Oid	et_arrival_relid = InvalidOid;

static ExecutorStart_hook_type et_prev_executor_start = NULL;

PG_FUNCTION_INFO_V1(lambda_create_event_table);
PG_FUNCTION_INFO_V1(lambda_drop_events_before);
PG_FUNCTION_INFO_V1(lambda_drop_event_table);
PG_FUNCTION_INFO_V1(lambda_event_table_changed);
PG_FUNCTION_INFO_V1(lambda_refuse_change);
PG_FUNCTION_INFO_V1(lambda_add_event_table_triggers);
PG_FUNCTION_INFO_V1(lambda_inserting_xact);

/*
 * Reads the time column of event table relid from the catalog; NULL when
 * relid is not an event table (or the extension is not installed here).
 */
char *
event_table_time_column(Oid relid)
{
	return catalog_event_table_time_column(relid);
}

/*
 * Answers whether relid (a table, or a partition of one) is an event table,
 * from catalog.c's per-backend cache.
 */
bool
event_table_is(Oid relid)
{
	return catalog_event_table_is(relid);
}

/*
 * Errors out unless relid is an event table; used by functions that take one.
 */
void
event_table_require(Oid relid)
{
	if (!event_table_is(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not an event table", get_rel_name(relid)),
				 errdetail("lambda.event_tables lists the event tables of this database."),
				 errhint("%s", catalog_event_table_hint(relid))));
}

/*
 * Errors out because a statement would change or remove the rows of event
 * table relid; what names the operation ("update", "delete from", ...).
 */
static void
et_refuse(Oid relid, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s event table \"%s\"", what, get_rel_name(relid)),
			 errdetail("Event tables are append-only: an event, once recorded, is never changed or removed."),
			 errhint("%s", hint)));
}

/*
 * Is relid the table drop_events_before() is removing old events from, or
 * one of its partitions?
 */
static bool
et_is_retention_target(Oid relid)
{
	if (!OidIsValid(et_retention_relid))
		return false;
	if (relid == et_retention_relid)
		return true;
	return get_rel_relispartition(relid) &&
		list_member_oid(get_partition_ancestors(relid), et_retention_relid);
}

/*
 * Checks one ModifyTable node of a plan about to run.
 */
static void
et_check_modify_table(PlannedStmt *pstmt, ModifyTable *mt)
{
	ListCell   *lc;
	int			i = 0;

	foreach(lc, mt->resultRelations)
	{
		Oid			relid = rt_fetch(lfirst_int(lc), pstmt->rtable)->relid;

		switch (mt->operation)
		{
			case CMD_UPDATE:
				if (event_table_is(relid))
					et_refuse(relid, "update", ET_APPEND_HINT);
				break;
			case CMD_DELETE:
				if (!et_is_retention_target(relid) && event_table_is(relid))
					et_refuse(relid, "delete from", ET_RETENTION_HINT);
				break;
			case CMD_INSERT:
				if (mt->onConflictAction == ONCONFLICT_UPDATE && event_table_is(relid))
					et_refuse(relid, "use INSERT ... ON CONFLICT DO UPDATE on",
							  "Append a correcting event instead; ON CONFLICT DO NOTHING is allowed.");
				break;
			case CMD_MERGE:
				{
					List	   *actions = list_nth(mt->mergeActionLists, i);
					ListCell   *alc;

					foreach(alc, actions)
					{
						MergeAction *action = lfirst(alc);

						if ((action->commandType == CMD_UPDATE ||
							 action->commandType == CMD_DELETE) &&
							event_table_is(relid))
							et_refuse(relid, "MERGE with UPDATE or DELETE actions into",
									  "Append a correcting event instead; MERGE with only INSERT actions is allowed.");
					}
				}
				break;
			default:
				break;
		}
		i++;
	}
}

/*
 * ExecutorStart hook: refuses plans that would change or remove events.
 * Plain INSERT and SELECT cost nothing here; only plans with a ModifyTable
 * that updates or deletes look at the (cached) catalog.
 */
static void
et_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *pstmt = queryDesc->plannedstmt;

	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		(pstmt->commandType != CMD_SELECT || pstmt->hasModifyingCTE))
	{
		ListCell   *lc;

		if (IsA(pstmt->planTree, ModifyTable))
			et_check_modify_table(pstmt, (ModifyTable *) pstmt->planTree);
		/* data-modifying CTEs are subplans topped by a ModifyTable */
		foreach(lc, pstmt->subplans)
		{
			Plan	   *sub = lfirst(lc);

			if (sub && IsA(sub, ModifyTable))
				et_check_modify_table(pstmt, (ModifyTable *) sub);
		}
	}

	if (et_prev_executor_start)
		et_prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * Returns relid plus, when recurse, every table that inherits from it.
 */
static List *
et_with_inheritors(Oid relid, bool recurse)
{
	if (!OidIsValid(relid))
		return NIL;
	if (recurse)
		return find_all_inheritors(relid, NoLock, NULL);
	return list_make1_oid(relid);
}

/*
 * Refuses TRUNCATE when any table it would empty is an event table: the
 * tables named, their inheritors unless ONLY, and with CASCADE every table
 * that references them by foreign key, transitively.
 */
static void
et_check_truncate(TruncateStmt *stmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, stmt->relations)
	{
		RangeVar   *rv = lfirst(lc);

		relids = list_concat_unique_oid(relids,
										et_with_inheritors(RangeVarGetRelid(rv, NoLock, true),
														   rv->inh));
	}
	if (stmt->behavior == DROP_CASCADE)
	{
		for (;;)
		{
			int			before = list_length(relids);

			relids = list_concat_unique_oid(relids, heap_truncate_find_FKs(relids));
			if (list_length(relids) == before)
				break;
		}
	}
	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		if (event_table_is(relid))
			et_refuse(relid, "truncate", ET_RETENTION_HINT);
	}
}

/*
 * Refuses ALTER TABLE subcommands that would rewrite recorded events:
 * dropping a column or changing its type.
 */
static void
et_check_alter_table(AlterTableStmt *stmt)
{
	ListCell   *lc;
	ListCell   *rc;
	List	   *relids;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	relids = et_with_inheritors(RangeVarGetRelid(stmt->relation, NoLock, true),
								stmt->relation->inh);
	foreach(rc, relids)
	{
		Oid			relid = lfirst_oid(rc);

		if (!event_table_is(relid))
			continue;
		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			if (cmd->subtype == AT_DetachPartition)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot detach a partition of event table \"%s\"", get_rel_name(relid)),
						 errdetail("Detaching a partition would remove its events from the event table."),
						 errhint("To remove old events for retention, use lambda.drop_events_before().")));
			if (cmd->subtype == AT_DropColumn || cmd->subtype == AT_AlterColumnType)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot %s column \"%s\" of event table \"%s\"",
								cmd->subtype == AT_DropColumn ? "drop" : "change the type of",
								cmd->name, get_rel_name(relid)),
						 errdetail("Event tables are append-only: changing a column would change events that were already recorded."),
						 errhint("Add a new column instead (adding columns is allowed), "
								 "or append correcting events.")));
		}
	}
}

/*
 * Refuses DROP TABLE of a partition of an event table (it would remove some
 * of its events) unless the event table itself is dropped too. Dropping a
 * whole event table is allowed.
 */
static void
et_check_drop(DropStmt *stmt)
{
	List	   *dropped = NIL;
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TABLE)
		return;
	foreach(lc, stmt->objects)
		dropped = lappend_oid(dropped,
							  RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)), NoLock, true));
	foreach(lc, dropped)
	{
		Oid			relid = lfirst_oid(lc);
		Oid			root;

		if (!OidIsValid(relid) || !get_rel_relispartition(relid))
			continue;
		root = catalog_event_table_root(relid);
		/* drop_events_before() drops the partitions wholly before its cut */
		if (OidIsValid(root) && !list_member_oid(dropped, root) && root != et_retention_relid)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot drop partition \"%s\" of event table \"%s\"",
							get_rel_name(relid), get_rel_name(root)),
					 errdetail("Dropping a partition would remove some of the event table's events."),
					 errhint("To remove old events for retention, use lambda.drop_events_before(); "
							 "to remove everything, drop the event table itself.")));
	}
}

#define ET_INHERIT_HINT \
	"Use a partitioned event table (CREATE TABLE ... PARTITION BY) and add its parts as partitions."

/*
 * Refuses to make rel an event table while it takes part in table
 * inheritance (partitions aside). An inheritance child's rows are read
 * through its parent, but inserting into the child fires only the child's
 * triggers, so they would never reach the parent's continuous views, and
 * UPDATE, DELETE and TRUNCATE of the child would change the parent's
 * events. Partitioned tables are the supported way to split an event table.
 */
static void
et_refuse_inheritance(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relispartition)
		return;
	if (find_inheritance_children(relid, NoLock) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" has inheritance children", RelationGetRelationName(rel)),
				 errdetail("Rows of an inheritance child would be read as events of the table without reaching its continuous views, "
						   "and could be updated or deleted through the child."),
				 errhint(ET_INHERIT_HINT)));
	if (has_superclass(relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" is an inheritance child", RelationGetRelationName(rel)),
				 errdetail("Statements on its inheritance parents would reach its events, and its parents' "
						   "continuous views could never see the rows inserted into it."),
				 errhint(ET_INHERIT_HINT)));
}

/*
 * Refuses to add an inheritance child to an event table (CREATE TABLE ...
 * INHERITS, CREATE FOREIGN TABLE ... INHERITS, ALTER TABLE ... INHERIT),
 * and to make an event table an inheritance child (see
 * et_refuse_inheritance). Partitions are not inheritance children here:
 * CREATE TABLE ... PARTITION OF and ATTACH PARTITION pass.
 */
static void
et_check_inheritance(Node *stmt)
{
	CreateStmt *create = NULL;
	ListCell   *lc;

	if (IsA(stmt, CreateStmt))
		create = (CreateStmt *) stmt;
	else if (IsA(stmt, CreateForeignTableStmt))
		create = &((CreateForeignTableStmt *) stmt)->base;
	if (create != NULL && create->partbound == NULL)
	{
		foreach(lc, create->inhRelations)
		{
			Oid			parent = RangeVarGetRelid(lfirst(lc), NoLock, true);

			if (OidIsValid(parent) && event_table_is(parent))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot inherit from event table \"%s\"", get_rel_name(parent)),
						 errdetail("Rows inserted into an inheritance child would be read as events of \"%s\" "
								   "without reaching its continuous views, and could be updated or deleted through the child.",
								   get_rel_name(parent)),
						 errhint(ET_INHERIT_HINT)));
		}
	}
	if (IsA(stmt, AlterTableStmt) &&
		(((AlterTableStmt *) stmt)->objtype == OBJECT_TABLE ||
		 ((AlterTableStmt *) stmt)->objtype == OBJECT_FOREIGN_TABLE))
	{
		AlterTableStmt *a = (AlterTableStmt *) stmt;

		foreach(lc, a->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);
			Oid			child;
			Oid			parent;

			if (cmd->subtype != AT_AddInherit)
				continue;
			child = RangeVarGetRelid(a->relation, NoLock, true);
			parent = RangeVarGetRelid((RangeVar *) cmd->def, NoLock, true);
			if (OidIsValid(parent) && event_table_is(parent))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot inherit from event table \"%s\"", get_rel_name(parent)),
						 errdetail("The rows of \"%s\" would be read as events of \"%s\" "
								   "without ever reaching its continuous views, and could be updated or deleted through \"%s\".",
								   a->relation->relname, get_rel_name(parent), a->relation->relname),
						 errhint(ET_INHERIT_HINT)));
			if (OidIsValid(child) && event_table_is(child))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("event table \"%s\" cannot become an inheritance child", get_rel_name(child)),
						 errdetail("Statements on its inheritance parents would reach its events."),
						 errhint("Keep the event table on its own, and read it together with other tables through a view (UNION ALL).")));
		}
	}
}

/*
 * Called by the ProcessUtility hook before a utility statement runs:
 * refuses the ones that would change or remove events.
 */
void
event_table_check_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;

	et_check_inheritance(stmt);
	if (IsA(stmt, TruncateStmt))
		et_check_truncate((TruncateStmt *) stmt);
	else if (IsA(stmt, AlterTableStmt))
		et_check_alter_table((AlterTableStmt *) stmt);
	else if (IsA(stmt, DropStmt))
		et_check_drop((DropStmt *) stmt);
}

/*
 * Refuses, after it ran, an ALTER TABLE that rewrote an event table that
 * continuous views read (adding a column with a volatile default or a
 * stored generated one, SET LOGGED/UNLOGGED, SET ACCESS METHOD): a rewrite
 * inserts every event again as this transaction's, so every view's cut
 * would no longer hold them and each would count them a second time. A
 * rewrite gives the table a new relfilenode in this transaction (which the
 * relcache records); SET TABLESPACE alone copies the pages as they are and
 * is let through. lambda.add_arrival_index() rewrites its table and
 * recomputes the views in the same transaction (et_arrival_relid).
 */
static void
et_check_rewrite(AlterTableStmt *stmt)
{
	ListCell   *lc;
	bool		only_tablespace = true;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	foreach(lc, stmt->cmds)
	{
		if (((AlterTableCmd *) lfirst(lc))->subtype != AT_SetTableSpace)
			only_tablespace = false;
	}
	if (only_tablespace)
		return;
	foreach(lc, et_with_inheritors(RangeVarGetRelid(stmt->relation, NoLock, true),
								   stmt->relation->inh))
	{
		Oid			relid = lfirst_oid(lc);
		Oid			root;
		Relation	rel;
		bool		rewritten;

		if (get_rel_relkind(relid) != RELKIND_RELATION || !event_table_is(relid))
			continue;
		root = catalog_event_table_root(relid);
		if (!OidIsValid(root))
			root = relid;
		if (root == et_arrival_relid || catalog_view_list_over(root) == NIL)
			continue;
		rel = RelationIdGetRelation(relid);
		rewritten = rel->rd_createSubid == InvalidSubTransactionId &&
			rel->rd_firstRelfilelocatorSubid != InvalidSubTransactionId;
		RelationClose(rel);
		if (rewritten)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot rewrite event table \"%s\"", get_rel_name(relid)),
					 errdetail("This ALTER TABLE rewrites the table, which would make every event look inserted now: "
							   "the continuous views over it would count them again."),
					 errhint("Add the column without a default and set the default in a second ALTER TABLE "
							 "(new events get it, older ones read NULL), or drop the continuous views over the table first.")));
	}
}

/*
 * Called by the ProcessUtility hook after a utility statement ran: refuses
 * an ALTER TABLE that rewrote an event table, and keeps the recorded time
 * column right when it is renamed (here or through a parent).
 */
void
event_table_after_utility(PlannedStmt *pstmt)
{
	RenameStmt *stmt = (RenameStmt *) pstmt->utilityStmt;
	ListCell   *lc;

	if (IsA(stmt, AlterTableStmt))
	{
		et_check_rewrite((AlterTableStmt *) stmt);
		return;
	}
	if (!IsA(stmt, RenameStmt) || stmt->renameType != OBJECT_COLUMN ||
		stmt->relationType != OBJECT_TABLE)
		return;

	foreach(lc, et_with_inheritors(RangeVarGetRelid(stmt->relation, NoLock, true),
								   stmt->relation->inh))
	{
		Oid			relid = lfirst_oid(lc);
		char	   *time_column;

		if (!event_table_is(relid))
			continue;
		time_column = event_table_time_column(relid);
		if (time_column && strcmp(time_column, stmt->subname) == 0)
		{
			catalog_event_table_set_time_column(relid, stmt->newname);
		}
	}
}

/*
 * Refuses a partition of event table relid's root in a function that takes
 * the event table itself; why says what that function would have done.
 */
static void
et_refuse_partition(Oid relid, const char *why)
{
	Oid			root = catalog_event_table_root(relid);

	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("\"%s\" is a partition of event table \"%s\"", get_rel_name(relid), get_rel_name(root)),
			 errdetail("A partitioned table is an event table as a whole: %s.", why),
			 errhint("Name the event table \"%s\" instead.", get_rel_name(root))));
}

/*
 * Refuses tables that are not the user's own to make append-only: pg_lambda's
 * catalog and the batch tables of continuous views (schema lambda_catalog),
 * whose rows pg_lambda itself updates and deletes, and the tables initdb
 * created (information_schema's), which belong to PostgreSQL.
 */
static void
et_refuse_not_own_table(Relation rel)
{
	if (RelationGetNamespace(rel) == catalog_namespace())
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s.%s\" belongs to pg_lambda and cannot be an event table",
						LAMBDA_CATALOG_SCHEMA, RelationGetRelationName(rel)),
				 errdetail("Schema %s holds pg_lambda's catalog and the batch layers of continuous views; pg_lambda updates and deletes their rows.",
						   LAMBDA_CATALOG_SCHEMA),
				 errhint("Use a table of your own.")));
	if (RelationGetRelid(rel) < FirstNormalObjectId)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("built-in table \"%s\" cannot be an event table", RelationGetRelationName(rel)),
				 errdetail("It was created with the database cluster and belongs to PostgreSQL."),
				 errhint("Use a table of your own.")));
}

/*
 * lambda.create_event_table(table regclass, time_column name) RETURNS void
 *
 * Turns an ordinary table into an append-only event table whose event time
 * is time_column (timestamptz or timestamp).
 */
Datum
lambda_create_event_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	char	   *relname;
	Relation	rel;
	AttrNumber	attnum;
	Oid			coltype;
	CatalogScope scope;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null"),
				 errdetail("lambda.create_event_table() needs the table to turn into an event table."),
				 errhint("Pass the table's name, e.g. lambda.create_event_table('pageviews', time_column => 'ts').")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("time_column must not be null"),
				 errdetail("Every event table has an event-time column."),
				 errhint("Name a timestamptz or timestamp column of the table, e.g. time_column => 'ts'.")));
	relid = PG_GETARG_OID(0);
	colname = NameStr(*PG_GETARG_NAME(1));

	/* Keep concurrent writers of the schema out while we look at it. */
	rel = table_open(relid, ShareRowExclusiveLock);
	relname = pstrdup(RelationGetRelationName(rel));

	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", relname),
				 errdetail("Only tables (ordinary or partitioned) can be event tables; views, foreign tables and the like cannot."),
				 errhint("Create a table with the event's columns and call lambda.create_event_table() on it.")));
	if (rel->rd_rel->relispartition && OidIsValid(catalog_event_table_root(relid)))
		et_refuse_partition(relid, "lambda.create_event_table() made it one already");
	if (rel->rd_rel->relispartition)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partition", relname),
				 errdetail("A partitioned table is an event table as a whole."),
				 errhint("Call lambda.create_event_table() on the partitioned table.")));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary table \"%s\" cannot be an event table", relname),
				 errdetail("Events must outlive the session: Kafka sources and continuous views read event tables from other sessions."),
				 errhint("Use an ordinary (permanent) table.")));
	if (IsCatalogRelationOid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("system catalog \"%s\" cannot be an event table", relname),
				 errdetail("PostgreSQL itself updates and deletes catalog rows."),
				 errhint("Use a table of your own.")));
	et_refuse_not_own_table(rel);
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", relname),
				 errdetail("Only the owner of a table can make it an event table."),
				 errhint("Connect as the table's owner (or a member of that role) and try again.")));

	et_refuse_inheritance(rel);

	attnum = get_attnum(relid, colname);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of table \"%s\" does not exist", colname, relname),
				 errdetail("The time column must be one of the table's columns."),
				 errhint("Name a timestamptz or timestamp column of \"%s\".", relname)));
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("system column \"%s\" cannot be the time column", colname),
				 errdetail("The event time must be a column the events carry."),
				 errhint("Name a timestamptz or timestamp column of \"%s\".", relname)));
	coltype = get_atttype(relid, attnum);
	if (coltype != TIMESTAMPTZOID && coltype != TIMESTAMPOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" has type %s", colname, format_type_be(coltype)),
				 errdetail("The event-time column of an event table must be of type timestamptz or timestamp."),
				 errhint("Add a timestamptz column for the event time, or convert this one before creating the event table.")));
	if (event_table_is(relid))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table \"%s\" is already an event table", relname),
				 errdetail("lambda.event_tables lists the event tables of this database."),
				 errhint("Nothing to do: the table is already append-only.")));

	catalog_event_table_insert(relid, colname);

	table_close(rel, NoLock);

	/* the append-only triggers, once the table is closed (they ALTER it) */
	catalog_begin(&scope);
	triggers_add_guards(relid);
	catalog_end(&scope);
	PG_RETURN_VOID();
}

/*
 * Drops the partitions of event table relid that lie wholly before
 * "before" (retention.c names them), in the caller's SPI connection while
 * et_retention_relid is relid; returns their names, for the NOTICE.
 */
static List *
et_drop_whole_partitions(Oid relid, const char *time_column, TimestampTz before)
{
	List	   *parts;
	List	   *names = NIL;
	ListCell   *lc;

	parts = retention_whole_partitions(relid, time_column, before);
	if (parts == NIL)
		return NIL;
	/*
	 * DROP TABLE of a partition locks the event table AccessExclusive;
	 * taking that lock now (rather than upgrading to it partition after
	 * partition) keeps two retention calls from deadlocking, and keeps the
	 * partitions from changing before they are dropped.
	 */
	LockRelationOid(relid, AccessExclusiveLock);
	parts = retention_whole_partitions(relid, time_column, before);
	foreach(lc, parts)
	{
		Oid			part = lfirst_oid(lc);
		char	   *name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(part)),
													  get_rel_name(part));

		if (SPI_execute(psprintf("DROP TABLE %s", name), false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not drop partition %s", name);
		names = lappend(names, name);
	}
	return names;
}

/* The names in list names, comma-separated. */
static char *
et_name_list(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", (char *) lfirst(lc));
	return buf.data;
}

/*
 * lambda.drop_events_before(table regclass, before timestamptz,
 *                           drop_partitions boolean DEFAULT true) RETURNS bigint
 *
 * Retention: removes the events whose event time is before "before", the
 * one sanctioned removal from an event table. Owner only. On a table
 * partitioned by range of its time column, partitions lying wholly before
 * the cut are dropped (unless drop_partitions is false), at a cost that
 * does not depend on how many events they hold, and rows are deleted only
 * in the partitions that straddle the cut. Returns how many events were
 * deleted row by row: the events of dropped partitions are not counted
 * (that would cost a scan of each); a NOTICE names the partitions dropped.
 */
Datum
lambda_drop_events_before(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *time_column;
	char	   *sql;
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		args[1];
	uint64		removed = 0;
	volatile bool drop_partitions = true;
	List	   *volatile dropped = NIL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", PG_ARGISNULL(0) ? "table" : "before"),
				 errdetail("lambda.drop_events_before() removes the events of one table older than a point in time."),
				 errhint("Call it as lambda.drop_events_before('pageviews', now() - interval '90 days').")));
	relid = PG_GETARG_OID(0);
	args[0] = PG_GETARG_DATUM(1);
	/* the three-argument form (0.4.0); the library serves older scripts too */
	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("drop_partitions must not be null"),
					 errdetail("drop_partitions says whether partitions lying wholly before the cut are dropped whole."),
					 errhint("Pass true (the default) to drop them, or false to delete their events row by row.")));
		drop_partitions = PG_GETARG_BOOL(2);
	}

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errdetail("lambda.drop_events_before() needs an existing event table."),
				 errhint("Name an event table listed in lambda.event_tables.")));
	event_table_require(relid);
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid)),
				 errdetail("Only the owner of an event table may drop its old events."),
				 errhint("Connect as the table's owner (or a member of that role) and try again.")));

	time_column = event_table_time_column(relid);
	sql = psprintf("DELETE FROM %s%s WHERE %s OPERATOR(pg_catalog.<) $1",
				   get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid)),
				   quote_identifier(time_column));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	et_retention_relid = relid;
	PG_TRY();
	{
		if (drop_partitions)
			dropped = et_drop_whole_partitions(relid, time_column, DatumGetTimestampTz(args[0]));
		if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete old events");
		removed = SPI_processed;
	}
	PG_FINALLY();
	{
		et_retention_relid = InvalidOid;
	}
	PG_END_TRY();
	SPI_finish();

	if (dropped != NIL)
		ereport(NOTICE,
				(errmsg_plural("dropped %d partition of \"%s\" lying wholly before the cut",
							   "dropped %d partitions of \"%s\" lying wholly before the cut",
							   list_length(dropped), list_length(dropped), get_rel_name(relid)),
				 errdetail("Dropped: %s. The result counts only the events deleted row by row from the other partitions.",
						   et_name_list(dropped))));

	/* the views over the table keep counting them until recomputed */
	if ((dropped != NIL || removed > 0) && catalog_has(CATALOG_VIEWS))
	{
		char	   *views = NULL;
		char	   *sources = NULL;

		catalog_event_table_users(relid, &views, &sources);
		if (views != NULL)
			ereport(NOTICE,
					(dropped != NIL ?
					 errmsg_plural("continuous views over \"%s\" may still count the events of the dropped partitions and the %llu event deleted",
								   "continuous views over \"%s\" may still count the events of the dropped partitions and the %llu events deleted",
								   removed, get_rel_name(relid), (unsigned long long) removed) :
					 errmsg_plural("continuous views over \"%s\" may still count the %llu event removed",
								   "continuous views over \"%s\" may still count the %llu events removed",
								   removed, get_rel_name(relid), (unsigned long long) removed),
					 errdetail("A view keeps the aggregates of the events it has folded in; views over the table: %s.", views),
					 errhint("Run lambda.recompute() on each view that should forget them.")));
	}

	PG_RETURN_INT64((int64) removed);
}

/*
 * Names the continuous views and Kafka sources that use event table relid
 * (or one of its partitions), as "views" and "sources" (NULL when none).
 * Reads with a fresh snapshot, so that a view committed while the caller
 * waited for its lock is seen.
 */
static void
et_users(Oid relid, char **views, char **sources)
{
	catalog_event_table_users(relid, views, sources);
}

/*
 * lambda.drop_event_table(table regclass) RETURNS void
 *
 * Makes an event table an ordinary table again: removes its catalog row,
 * and with it the append-only protection of the table and its partitions.
 * The table and its events stay. Refused while continuous views or Kafka
 * sources use it (they rely on the events never changing); owner only.
 */
Datum
lambda_drop_event_table(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *relname;
	char	   *views;
	char	   *sources;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null"),
				 errdetail("lambda.drop_event_table() needs the event table to make an ordinary table again."),
				 errhint("Pass the table's name, e.g. lambda.drop_event_table('pageviews').")));
	relid = PG_GETARG_OID(0);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errdetail("lambda.drop_event_table() needs an existing event table."),
				 errhint("Name an event table listed in lambda.event_tables.")));
	/* as create_event_table() and CREATE MATERIALIZED VIEW lock it */
	LockRelationOid(relid, ShareRowExclusiveLock);
	relname = get_rel_name(relid);
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errdetail("It was dropped while lambda.drop_event_table() waited for it.")));
	if (get_rel_relispartition(relid) && OidIsValid(catalog_event_table_root(relid)))
		et_refuse_partition(relid, "lambda.drop_event_table() releases it with all of its partitions");
	event_table_require(relid);
	if (!object_ownercheck(RelationRelationId, relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", relname),
				 errdetail("Only the owner of an event table can make it an ordinary table again."),
				 errhint("Connect as the table's owner (or a member of that role) and try again.")));

	et_users(relid, &views, &sources);
	if (views || sources)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop event table \"%s\" because %s use it", relname,
						views && sources ? "continuous views and Kafka sources" :
						views ? "continuous views" : "Kafka sources"),
				 errdetail("They rely on its events never changing."),
				 views && sources ?
				 errhint("Drop continuous views %s (DROP MATERIALIZED VIEW) and Kafka sources %s (lambda.drop_source()) first.",
						 views, sources) :
				 views ? errhint("Drop continuous views %s first (DROP MATERIALIZED VIEW).", views) :
				 errhint("Drop Kafka sources %s first (lambda.drop_source()).", sources)));

	triggers_drop_guards(relid);

	/*
	 * The row's trigger invalidates the relcache entries of the table and its
	 * partitions, so every session stops protecting them at commit.
	 */
	catalog_event_table_delete(relid);
	PG_RETURN_VOID();
}

/*
 * Row trigger on lambda_catalog.event_table: invalidates the relcache entry
 * of the table whose row changed (and of its partitions), so every backend's
 * cache learns of it.
 */
Datum
lambda_event_table_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuples[2];
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "lambda_event_table_changed: not called as a trigger");

	tuples[0] = trigdata->tg_trigtuple;
	tuples[1] = trigdata->tg_newtuple;
	for (i = 0; i < 2; i++)
	{
		bool		isnull;
		Datum		d;

		if (tuples[i] == NULL)
			continue;
		d = heap_getattr(tuples[i], 1, RelationGetDescr(trigdata->tg_relation), &isnull);
		if (!isnull && SearchSysCacheExists1(RELOID, d))
		{
			ListCell   *lc;

			/* the table and, for a partitioned one, every partition */
			foreach(lc, find_all_inheritors(DatumGetObjectId(d), NoLock, NULL))
				CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
		}
	}
	return PointerGetDatum(NULL);
}

/*
 * lambda_catalog.refuse_change(): the append-only guards, ENABLE ALWAYS
 * triggers on every event table and partition (triggers.c): BEFORE UPDATE
 * OR DELETE FOR EACH ROW, and BEFORE TRUNCATE. Statements from SQL are
 * refused before they get here, by the executor hook and the utility check
 * above; what reaches these triggers bypassed both, i.e. logical
 * replication's apply workers applying a replicated UPDATE, DELETE or
 * TRUNCATE. The error makes the worker fail and retry, as a constraint
 * violation would, and nothing is applied. Lets drop_events_before()'s
 * DELETE through, and everything on a table that is no longer an event
 * table (a guard left behind is inert).
 */
Datum
lambda_refuse_change(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Oid			relid;
	const char *what;
	const char *hint;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("lambda_catalog.refuse_change() must be a BEFORE UPDATE, DELETE or TRUNCATE trigger"),
				 errhint("pg_lambda creates this trigger itself; do not use the function elsewhere.")));
	relid = RelationGetRelid(td->tg_relation);
	/* retention; or a table that is no event table any more */
	if ((TRIGGER_FIRED_BY_DELETE(td->tg_event) && et_is_retention_target(relid)) ||
		!event_table_is(relid))
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(td->tg_event) ?
							   td->tg_newtuple : td->tg_trigtuple);

	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		what = "truncate";
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		what = "update";
	else
		what = "delete from";
	if (IsLogicalWorker())
		hint = "Publish only inserts to this table (CREATE PUBLICATION ... WITH (publish = 'insert')), "
			"then let the subscription skip the refused transaction (ALTER SUBSCRIPTION ... SKIP).";
	else
		hint = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? ET_APPEND_HINT : ET_RETENTION_HINT;
	et_refuse(relid, what, hint);
	return PointerGetDatum(NULL);	/* not reached */
}

/*
 * lambda_catalog.add_event_table_triggers(event_table regclass): gives an
 * event table (and its partitions) the guards it lacks; for the update to
 * 0.4.0 and for tables restored from an older dump.
 */
Datum
lambda_add_event_table_triggers(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	CatalogScope scope;

	event_table_require(relid);
	catalog_begin(&scope);
	triggers_add_guards(relid);
	catalog_end(&scope);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Arrival order (see the file header)
 * ------------------------------------------------------------------------
 */

/*
 * lambda_catalog.inserting_xact() RETURNS bigint: the 64-bit id of the
 * current top-level transaction, assigning one if it has none. The
 * generation expression of _lambda_xact. Declared IMMUTABLE because a
 * stored generated column needs that; PostgreSQL evaluates a generation
 * expression when a statement starts inserting into the table, in the
 * inserting transaction, so the value is that transaction's id (a table
 * rewrite by ALTER TABLE gives every row the rewriting transaction's id,
 * which is newer than any row's: still a bound the scan can rely on).
 */
Datum
lambda_inserting_xact(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) U64FromFullTransactionId(GetTopFullTransactionId()));
}

/*
 * Whether attribute attnum of rel is the arrival column: a stored generated
 * bigint column named _lambda_xact whose expression is
 * lambda_catalog.inserting_xact().
 */
static bool
et_is_arrival_column(Relation rel, AttrNumber attnum, Oid fn)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	int			i;

	if (att->attisdropped || att->atttypid != INT8OID ||
		att->attgenerated != ATTRIBUTE_GENERATED_STORED || desc->constr == NULL)
		return false;
	for (i = 0; i < desc->constr->num_defval; i++)
	{
		Node	   *expr;

		if (desc->constr->defval[i].adnum != attnum)
			continue;
		expr = stringToNode(desc->constr->defval[i].adbin);
		return IsA(expr, FuncExpr) && ((FuncExpr *) expr)->funcid == fn;
	}
	return false;
}

/*
 * The BRIN index on the arrival column of rel (an event table or one of
 * its partitions, with storage); InvalidOid when it has none. *attnum gets
 * the column's number in rel.
 */
Oid
event_table_arrival_index(Relation rel, AttrNumber *attnum)
{
	Oid			fn;
	List	   *indexes;
	ListCell   *lc;
	Oid			result = InvalidOid;

	if (!catalog_has_function("inserting_xact", 0, NULL))
		return InvalidOid;
	*attnum = get_attnum(RelationGetRelid(rel), EVENT_TABLE_ARRIVAL_COLUMN);
	if (*attnum <= 0)
		return InvalidOid;
	fn = catalog_funcid("inserting_xact", 0, NULL);
	if (!et_is_arrival_column(rel, *attnum, fn))
		return InvalidOid;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index ix = index->rd_index;

		/* one column, the whole table, an operator class that answers >= */
		if (index->rd_rel->relam == BRIN_AM_OID && ix->indisvalid && ix->indnatts == 1 &&
			ix->indkey.values[0] == *attnum &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			OidIsValid(get_opfamily_member(index->rd_opfamily[0], INT8OID, INT8OID,
										   BTGreaterEqualStrategyNumber)))
			result = RelationGetRelid(index);
		index_close(index, AccessShareLock);
		if (OidIsValid(result))
			break;
	}
	list_free(indexes);
	return result;
}

/*
 * Gives event table relid (and so its partitions) the arrival column and
 * its BRIN index, unless it has them. Adding a stored generated column
 * rewrites the table under ACCESS EXCLUSIVE lock, and the rewritten rows
 * belong to this transaction: then *rewritten is set, and the caller
 * recomputes the views over the table in the same transaction. Returns
 * false when there was nothing to do.
 */
bool
event_table_add_arrival(Oid relid, bool *rewritten)
{
	Relation	rel = table_open(relid, AccessExclusiveLock);
	AttrNumber	attnum;
	char	   *name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												  RelationGetRelationName(rel));
	bool		has_column;
	bool		has_index;

	has_index = OidIsValid(event_table_arrival_index(rel, &attnum));
	has_column = attnum > 0;
	*rewritten = false;
	if (has_column && !et_is_arrival_column(rel, attnum, catalog_funcid("inserting_xact", 0, NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("column \"%s\" of event table \"%s\" is not pg_lambda's arrival column",
						EVENT_TABLE_ARRIVAL_COLUMN, RelationGetRelationName(rel)),
				 errdetail("pg_lambda's arrival column is a stored generated bigint column defined as lambda_catalog.inserting_xact()."),
				 errhint("Rename that column, then call lambda.add_arrival_index() again.")));
	table_close(rel, NoLock);
	if (has_index)
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the rewrite, which et_check_rewrite lets through for this table */
	et_arrival_relid = relid;
	PG_TRY();
	{
		if (!has_column &&
			SPI_execute(psprintf("ALTER TABLE %s ADD COLUMN %s pg_catalog.int8"
								 " GENERATED ALWAYS AS (lambda_catalog.inserting_xact()) STORED",
								 name, EVENT_TABLE_ARRIVAL_COLUMN), false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not add the arrival column");
	}
	PG_FINALLY();
	{
		et_arrival_relid = InvalidOid;
	}
	PG_END_TRY();
	*rewritten = !has_column;
	if (SPI_execute(psprintf("CREATE INDEX ON %s USING brin (%s)"
							 " WITH (pages_per_range = %d, autosummarize = on)",
							 name, EVENT_TABLE_ARRIVAL_COLUMN, EVENT_TABLE_ARRIVAL_RANGE),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create the arrival index");
	SPI_finish();
	return true;
}

/*
 * Installs the executor hook.
 */
void
event_table_init(void)
{
	et_prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = et_executor_start;
}
