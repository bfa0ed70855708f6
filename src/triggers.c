/*-------------------------------------------------------------------------
 *
 * triggers.c
 *	  pg_lambda's triggers on event tables: how every path that writes an
 *	  event table reaches the continuous views, and is kept append-only.
 *
 * Each continuous view has two capture triggers on its event table (and on
 * each partition of it, where a statement inserting into a partition
 * directly fires only that partition's triggers):
 *
 *   lambda_catalog.capture(batch)      AFTER INSERT FOR EACH STATEMENT with
 *                                      a transition table; fires when
 *                                      session_replication_role is origin
 *                                      or local (ENABLE, the default);
 *   lambda_catalog.capture_row(batch)  AFTER INSERT FOR EACH ROW, on tables
 *                                      that hold rows (not on partitioned
 *                                      ones); fires only when it is replica
 *                                      (ENABLE REPLICA).
 *
 * Exactly one of the two sees a given row, PostgreSQL's own firing rules
 * decide which. Logical replication's apply workers run as replica and
 * insert row by row without firing statement triggers, so their rows reach
 * the views through the row trigger; so do the initial COPY of a
 * subscription's table synchronization and any session that sets
 * session_replication_role = replica. (With an extension older than
 * 0.4.0 in the database, which has no capture_row, the statement trigger
 * stays ENABLE ALWAYS, as it was.)
 *
 * Every event table and partition also has two guards calling
 * lambda_catalog.refuse_change(), ENABLE ALWAYS: BEFORE UPDATE OR DELETE
 * FOR EACH ROW (on tables that hold rows) and BEFORE TRUNCATE. Statements
 * from SQL are refused before they get that far (event_table.c); the
 * guards stop what bypasses the executor and utility hooks, i.e. apply
 * workers applying a replicated UPDATE, DELETE or TRUNCATE.
 *
 * Names. A trigger is found by its function and argument, never by its
 * name: names are chosen as makeObjectName() builds PostgreSQL's own
 * (lambda_capture_<batch table>, shortened to fit NAMEDATALEN), with a
 * number added when a table already has a trigger of that name, so views
 * whose long names share a prefix get triggers of their own.
 *
 * Changing how one of these triggers fires is refused (disabling it,
 * enabling it for another session_replication_role, ENABLE/DISABLE TRIGGER
 * ALL or USER, dropping a guard); setting the mode it already has, as a
 * pg_dump script does, is allowed. DROP EXTENSION drops the guards first,
 * so that it still turns event tables back into ordinary tables. A guard on
 * a table that is no longer an event table is inert and may be dropped.
 *
 * Dependencies. Whether a table is an event table is asked of catalog.c
 * (catalog_event_table_is), never of event_table.c, which calls this file to
 * add and drop the guards; lambda_catalog.add_event_table_triggers() is
 * event_table.c's for the same reason.
 *
 * Locks: none of its own; creating, altering and dropping triggers take
 * what PostgreSQL's trigger DDL takes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_proc.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "catalog.h"
#include "cview.h"
#include "triggers.h"

/* What one of our triggers does, told by its function. */
typedef enum TrigKind
{
	TRIG_NONE = 0,
	TRIG_CAPTURE,				/* capture(batch): statement level */
	TRIG_CAPTURE_ROW,			/* capture_row(batch): row level */
	TRIG_GUARD					/* refuse_change(): rows or TRUNCATE */
} TrigKind;

/* One trigger of ours, as read from pg_trigger. */
typedef struct LambdaTrigger
{
	Oid			oid;
	Oid			relid;
	char	   *name;
	TrigKind	kind;
	int16		tgtype;
	char		enabled;		/* pg_trigger.tgenabled */
	Oid			batch_relid;	/* capture triggers: their view's batch
								 * table, InvalidOid when it is gone */
} LambdaTrigger;

PG_FUNCTION_INFO_V1(lambda_drop_capture_triggers);
PG_FUNCTION_INFO_V1(lambda_add_capture_triggers);

/*
 * The OID of trigger function lambda_catalog.<name>(), or InvalidOid when
 * the extension (at this version) has none.
 */
static Oid
trig_function_oid(const char *name)
{
	Oid			nsp = catalog_namespace();

	if (!OidIsValid(nsp))
		return InvalidOid;
	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name),
						   PointerGetDatum(buildoidvector(NULL, 0)), ObjectIdGetDatum(nsp));
}

/*
 * The relation a capture trigger's argument names (a batch table, as
 * quote_qualified_identifier wrote it), or InvalidOid when it names none.
 * Never errors: the argument of a trigger someone else made may be garbage.
 */
static Oid
trig_arg_relid(const char *arg)
{
	char	   *copy = pstrdup(arg);
	List	   *parts;
	List	   *names = NIL;
	ListCell   *lc;

	if (!SplitIdentifierString(copy, '.', &parts) ||
		list_length(parts) < 1 || list_length(parts) > 2)
		return InvalidOid;
	foreach(lc, parts)
		names = lappend(names, makeString(pstrdup(lfirst(lc))));
	return RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
}

/*
 * Our triggers on relid (on every relation when relid is InvalidOid), read
 * from pg_trigger without locking the relation: the hooks ask before the
 * statement takes its own lock.
 */
static List *
trig_list(Oid relid)
{
	Oid			fn_capture = trig_function_oid("capture");
	Oid			fn_row = trig_function_oid("capture_row");
	Oid			fn_guard = trig_function_oid("refuse_change");
	Relation	trigrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	List	   *result = NIL;

	if (!OidIsValid(fn_capture))
		return NIL;
	trigrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(trigrel, TriggerRelidNameIndexId, OidIsValid(relid), NULL,
							  OidIsValid(relid) ? 1 : 0, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tup);
		LambdaTrigger *t;
		TrigKind	kind = TRIG_NONE;

		if (tg->tgfoid == fn_capture)
			kind = TRIG_CAPTURE;
		else if (OidIsValid(fn_row) && tg->tgfoid == fn_row)
			kind = TRIG_CAPTURE_ROW;
		else if (OidIsValid(fn_guard) && tg->tgfoid == fn_guard)
			kind = TRIG_GUARD;
		if (kind == TRIG_NONE)
			continue;
		t = palloc0(sizeof(LambdaTrigger));
		t->oid = tg->oid;
		t->relid = tg->tgrelid;
		t->name = pstrdup(NameStr(tg->tgname));
		t->kind = kind;
		t->tgtype = tg->tgtype;
		t->enabled = tg->tgenabled;
		if (kind != TRIG_GUARD && tg->tgnargs == 1)
		{
			bool		isnull;
			Datum		d = heap_getattr(tup, Anum_pg_trigger_tgargs,
										 RelationGetDescr(trigrel), &isnull);

			if (!isnull)
			{
				bytea	   *args = DatumGetByteaPP(d);

				t->batch_relid = trig_arg_relid(pnstrdup(VARDATA_ANY(args),
														 VARSIZE_ANY_EXHDR(args)));
			}
		}
		result = lappend(result, t);
	}
	systable_endscan(scan);
	table_close(trigrel, AccessShareLock);
	return result;
}

/* Our trigger called tgname on relid, or NULL. */
static LambdaTrigger *
trig_find_named(Oid relid, const char *tgname)
{
	ListCell   *lc;

	if (tgname == NULL)
		return NULL;
	foreach(lc, trig_list(relid))
	{
		LambdaTrigger *t = lfirst(lc);

		if (strcmp(t->name, tgname) == 0)
			return t;
	}
	return NULL;
}

/*
 * Our trigger of this kind on relid: for capture triggers, the one of the
 * view with batch table batch_relid; for guards, the row-level one when
 * row is true, else the TRUNCATE one. NULL when relid has none.
 */
static LambdaTrigger *
trig_find(List *trigs, TrigKind kind, Oid batch_relid, bool row)
{
	ListCell   *lc;

	foreach(lc, trigs)
	{
		LambdaTrigger *t = lfirst(lc);

		if (t->kind != kind)
			continue;
		if (kind == TRIG_GUARD ? (TRIGGER_FOR_ROW(t->tgtype) != 0) == row :
			t->batch_relid == batch_relid)
			return t;
	}
	return NULL;
}

/*
 * How a trigger of this kind must fire: capture triggers of rows as
 * replica only, statement capture for origin and local sessions (always,
 * while the extension is older than 0.4.0 and has no row capture), guards
 * always.
 */
static char
trig_mode(TrigKind kind)
{
	switch (kind)
	{
		case TRIG_CAPTURE:
			return OidIsValid(trig_function_oid("capture_row")) ?
				TRIGGER_FIRES_ON_ORIGIN : TRIGGER_FIRES_ALWAYS;
		case TRIG_CAPTURE_ROW:
			return TRIGGER_FIRES_ON_REPLICA;
		case TRIG_GUARD:
			return TRIGGER_FIRES_ALWAYS;
		default:
			return TRIGGER_FIRES_ON_ORIGIN;
	}
}

/* The tgenabled an ALTER TABLE ... ENABLE/DISABLE TRIGGER subcommand sets. */
static char
trig_mode_of_subtype(AlterTableType subtype)
{
	switch (subtype)
	{
		case AT_EnableTrig:
		case AT_EnableTrigAll:
		case AT_EnableTrigUser:
			return TRIGGER_FIRES_ON_ORIGIN;
		case AT_EnableAlwaysTrig:
			return TRIGGER_FIRES_ALWAYS;
		case AT_EnableReplicaTrig:
			return TRIGGER_FIRES_ON_REPLICA;
		case AT_DisableTrig:
		case AT_DisableTrigAll:
		case AT_DisableTrigUser:
			return TRIGGER_DISABLED;
		default:
			return '\0';
	}
}

/* The ALTER TABLE clause that sets a trigger's tgenabled to mode. */
static const char *
trig_mode_clause(char mode)
{
	switch (mode)
	{
		case TRIGGER_FIRES_ALWAYS:
			return "ENABLE ALWAYS";
		case TRIGGER_FIRES_ON_REPLICA:
			return "ENABLE REPLICA";
		case TRIGGER_DISABLED:
			return "DISABLE";
		default:
			return "ENABLE";
	}
}

/* Whether any relation in rels has a trigger called name. */
static bool
trig_name_taken(List *rels, const char *name)
{
	ListCell   *lc;

	foreach(lc, rels)
	{
		if (OidIsValid(get_trigger_oid(lfirst_oid(lc), name, true)))
			return true;
	}
	return false;
}

/*
 * A trigger name no relation in rels has yet: preferred when given and
 * free, else makeObjectName(name1, name2, label), with a number appended
 * to the label until it is free (as ChooseRelationName does for tables).
 */
static char *
trig_choose_name(List *rels, const char *preferred, const char *name1,
				 const char *name2, const char *label)
{
	int			pass;

	if (preferred && !trig_name_taken(rels, preferred))
		return pstrdup(preferred);
	for (pass = 0;; pass++)
	{
		char	   *candidate;

		if (pass == 0)
			candidate = makeObjectName(name1, name2, label);
		else
			candidate = makeObjectName(name1, name2, psprintf("%s%d", label ? label : "", pass));
		if (!trig_name_taken(rels, candidate))
			return candidate;
		pfree(candidate);
	}
}

/* Runs one DDL statement through SPI (connected by the caller's catalog scope). */
static void
trig_exec(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

/* The schema-qualified, quoted name of relid. */
static char *
trig_qualified(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Makes trigger name on relid fire as mode says, unless it already does. */
static void
trig_set_mode(Oid relid, const char *name, char current, char mode)
{
	if (current == mode)
		return;
	trig_exec(psprintf("ALTER TABLE %s %s TRIGGER %s", trig_qualified(relid),
					   trig_mode_clause(mode), quote_identifier(name)));
}

/*
 * relid and, when it is partitioned, every partition under it (locked as
 * CREATE TRIGGER will lock them).
 */
static List *
trig_tree(Oid relid)
{
	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		return find_all_inheritors(relid, ShareRowExclusiveLock, NULL);
	return list_make1_oid(relid);
}

/*
 * The name the capture trigger of this kind of the view with batch table
 * batch_relid has somewhere in the event table whose root is root, or NULL.
 */
static const char *
trig_view_name(Oid root, TrigKind kind, Oid batch_relid)
{
	ListCell   *lc;

	foreach(lc, find_all_inheritors(root, NoLock, NULL))
	{
		LambdaTrigger *t = trig_find(trig_list(lfirst_oid(lc)), kind, batch_relid, false);

		if (t != NULL)
			return t->name;
	}
	return NULL;
}

/* The event table relid belongs to: itself, or its topmost partitioned ancestor. */
static Oid
trig_root(Oid relid)
{
	List	   *ancestors;

	if (!get_rel_relispartition(relid))
		return relid;
	ancestors = get_partition_ancestors(relid);
	return ancestors == NIL ? relid : llast_oid(ancestors);
}

/*
 * Gives relid (an event table or a partition of one) and every partition
 * under it the capture triggers of the continuous view whose batch table is
 * batch_relid, where they are missing, and makes the existing ones fire as
 * they must. A partition added later gets the names the view's triggers
 * have on the event table when they are free there. Returns whether the
 * statement-level trigger was missing anywhere (rows inserted there before
 * were never captured). Runs in a catalog scope.
 */
bool
triggers_add_capture(Oid relid, Oid batch_relid)
{
	List	   *rels = trig_tree(relid);
	Oid			root = trig_root(relid);
	List	   *all = find_all_inheritors(root, NoLock, NULL);
	const char *batchname = get_rel_name(batch_relid);
	char	   *arg = quote_literal_cstr(quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, batchname));
	bool		with_row = OidIsValid(trig_function_oid("capture_row"));
	LambdaTrigger *t;
	const char *stmt_name = trig_view_name(root, TRIG_CAPTURE, batch_relid);
	const char *row_name = trig_view_name(root, TRIG_CAPTURE_ROW, batch_relid);
	bool		missing = false;
	ListCell   *lc;

	/* a new view: names free on the whole event table */
	if (stmt_name == NULL)
		stmt_name = trig_choose_name(all, NULL, "lambda_capture", batchname, NULL);
	if (row_name == NULL)
		row_name = trig_choose_name(all, NULL, "lambda_capture_row", batchname, NULL);

	foreach(lc, rels)
	{
		Oid			r = lfirst_oid(lc);
		List	   *trigs = trig_list(r);
		List	   *one = list_make1_oid(r);
		char	   *name;

		if ((t = trig_find(trigs, TRIG_CAPTURE, batch_relid, false)) != NULL)
			trig_set_mode(r, t->name, t->enabled, trig_mode(TRIG_CAPTURE));
		else
		{
			missing = true;
			name = trig_choose_name(one, stmt_name, "lambda_capture", batchname, NULL);
			trig_exec(psprintf("CREATE TRIGGER %s AFTER INSERT ON %s REFERENCING NEW TABLE AS lambda_new"
							   " FOR EACH STATEMENT EXECUTE FUNCTION lambda_catalog.capture(%s)",
							   quote_identifier(name), trig_qualified(r), arg));
			trig_set_mode(r, name, TRIGGER_FIRES_ON_ORIGIN, trig_mode(TRIG_CAPTURE));
		}
		/* rows are only in tables that are not partitioned */
		if (!with_row || get_rel_relkind(r) != RELKIND_RELATION)
			continue;
		if ((t = trig_find(trigs, TRIG_CAPTURE_ROW, batch_relid, true)) != NULL)
			trig_set_mode(r, t->name, t->enabled, trig_mode(TRIG_CAPTURE_ROW));
		else
		{
			name = trig_choose_name(one, row_name, "lambda_capture_row", batchname, NULL);
			trig_exec(psprintf("CREATE TRIGGER %s AFTER INSERT ON %s"
							   " FOR EACH ROW EXECUTE FUNCTION lambda_catalog.capture_row(%s)",
							   quote_identifier(name), trig_qualified(r), arg));
			trig_set_mode(r, name, TRIGGER_FIRES_ON_ORIGIN, trig_mode(TRIG_CAPTURE_ROW));
		}
	}
	return missing;
}

/*
 * Gives event table relid (or a partition of one) and every partition under
 * it the append-only guards where they are missing. Does nothing while the
 * extension is older than 0.4.0. Runs in a catalog scope.
 */
void
triggers_add_guards(Oid relid)
{
	ListCell   *lc;

	if (!OidIsValid(trig_function_oid("refuse_change")))
		return;
	foreach(lc, trig_tree(relid))
	{
		Oid			r = lfirst_oid(lc);
		List	   *trigs = trig_list(r);
		List	   *one = list_make1_oid(r);
		LambdaTrigger *t;
		char	   *name;

		if (get_rel_relkind(r) == RELKIND_RELATION)
		{
			if ((t = trig_find(trigs, TRIG_GUARD, InvalidOid, true)) != NULL)
				trig_set_mode(r, t->name, t->enabled, trig_mode(TRIG_GUARD));
			else
			{
				name = trig_choose_name(one, NULL, "lambda_append_only", NULL, NULL);
				trig_exec(psprintf("CREATE TRIGGER %s BEFORE UPDATE OR DELETE ON %s"
								   " FOR EACH ROW EXECUTE FUNCTION lambda_catalog.refuse_change()",
								   quote_identifier(name), trig_qualified(r)));
				trig_set_mode(r, name, TRIGGER_FIRES_ON_ORIGIN, trig_mode(TRIG_GUARD));
			}
		}
		if ((t = trig_find(trigs, TRIG_GUARD, InvalidOid, false)) != NULL)
			trig_set_mode(r, t->name, t->enabled, trig_mode(TRIG_GUARD));
		else
		{
			name = trig_choose_name(one, NULL, "lambda_append_only", NULL, "truncate");
			trig_exec(psprintf("CREATE TRIGGER %s BEFORE TRUNCATE ON %s"
							   " FOR EACH STATEMENT EXECUTE FUNCTION lambda_catalog.refuse_change()",
							   quote_identifier(name), trig_qualified(r)));
			trig_set_mode(r, name, TRIGGER_FIRES_ON_ORIGIN, trig_mode(TRIG_GUARD));
		}
	}
}

/* Whether batch_relid is the batch table of a continuous view. */
static bool
trig_view_exists(Oid batch_relid)
{
	return catalog_view_exists(batch_relid);
}

/*
 * Whether trigger tgname of relid is the capture trigger (of either level)
 * of a continuous view that exists: the only one of its kind for that view
 * on relid. A second trigger calling the same function for the same view
 * (which capture.c refuses to run) may be dropped; the view keeps the other.
 */
bool
triggers_is_live_capture(Oid relid, const char *tgname)
{
	LambdaTrigger *t = trig_find_named(relid, tgname);
	ListCell   *lc;
	int			same = 0;

	if (t == NULL || (t->kind != TRIG_CAPTURE && t->kind != TRIG_CAPTURE_ROW) ||
		!trig_view_exists(t->batch_relid))
		return false;
	foreach(lc, trig_list(relid))
	{
		LambdaTrigger *o = lfirst(lc);

		if (o->kind == t->kind && o->batch_relid == t->batch_relid)
			same++;
	}
	return same == 1;
}

/*
 * Whether ALTER TABLE relid <subtype> TRIGGER tgname leaves the trigger
 * firing as it must: true for triggers that are not ours, and for setting
 * the mode one of ours already must have (pg_dump writes those).
 */
bool
triggers_keeps_mode(Oid relid, const char *tgname, AlterTableType subtype)
{
	LambdaTrigger *t = trig_find_named(relid, tgname);

	return t == NULL || trig_mode_of_subtype(subtype) == trig_mode(t->kind);
}

/* Errors out: a statement would change or drop a guard of event table relid. */
static void
trig_refuse_guard(Oid relid, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s event table \"%s\"", what, get_rel_name(relid)),
			 errdetail("Its lambda_catalog.refuse_change() triggers keep it append-only for writers that bypass "
					   "pg_lambda's other checks, such as logical replication's apply workers; they must fire "
					   "for every session_replication_role (ENABLE ALWAYS)."),
			 errhint("Leave the triggers as they are; to turn the table back into an ordinary table, "
					 "drop the extension or copy its rows into a new table.")));
}

/*
 * Refuses ALTER TABLE subcommands that would change how pg_lambda's
 * triggers on relid fire: a guard disabled or enabled for another role,
 * and ENABLE/DISABLE TRIGGER ALL or USER where that changes one of ours.
 * (view_guard.c refuses the same for live capture triggers first, naming the
 * views.)
 */
static void
trig_check_alter(Oid relid, AlterTableCmd *cmd)
{
	char		mode = trig_mode_of_subtype(cmd->subtype);
	ListCell   *lc;

	if (mode == '\0')
		return;
	if (cmd->subtype == AT_EnableTrigAll || cmd->subtype == AT_EnableTrigUser ||
		cmd->subtype == AT_DisableTrigAll || cmd->subtype == AT_DisableTrigUser)
	{
		foreach(lc, trig_list(relid))
		{
			LambdaTrigger *t = lfirst(lc);

			if (trig_mode(t->kind) == mode)
				continue;
			if (t->kind == TRIG_GUARD && catalog_event_table_is(relid))
				trig_refuse_guard(relid, mode == TRIGGER_DISABLED ?
								  "disable the triggers of" : "enable all the triggers of");
			if (trig_view_exists(t->batch_relid))
				ereport(ERROR,
						(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
						 errmsg("cannot %s event table \"%s\"",
								mode == TRIGGER_DISABLED ? "disable the triggers of" : "enable all the triggers of",
								get_rel_name(relid)),
						 errdetail("Continuous views are maintained from it through capture triggers that "
								   "fire for one session_replication_role each."),
						 errhint("Enable or disable other triggers by name.")));
		}
		return;
	}
	{
		LambdaTrigger *t = trig_find_named(relid, cmd->name);

		if (t != NULL && t->kind == TRIG_GUARD && mode != trig_mode(TRIG_GUARD) &&
			catalog_event_table_is(relid))
			trig_refuse_guard(relid, mode == TRIGGER_DISABLED ?
							  "disable the append-only trigger of" :
							  "change how the append-only trigger fires on");
	}
}

/*
 * Before DROP EXTENSION pg_lambda: drops the guards, which depend on the
 * extension's refuse_change(), so that the event tables turn back into
 * ordinary tables instead of the drop needing CASCADE.
 */
static void
trig_drop_guards(void)
{
	ObjectAddresses *objs = new_object_addresses();
	ListCell   *lc;

	foreach(lc, trig_list(InvalidOid))
	{
		LambdaTrigger *t = lfirst(lc);
		ObjectAddress addr;

		if (t->kind != TRIG_GUARD)
			continue;
		ObjectAddressSet(addr, TriggerRelationId, t->oid);
		add_exact_object_address(&addr, objs);
	}
	performMultipleDeletions(objs, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
}

/*
 * lambda.drop_event_table(): drops the append-only guards of relid and of
 * every partition under it, so that the table is an ordinary table again
 * (a guard left behind would do nothing, but would still be listed).
 */
void
triggers_drop_guards(Oid relid)
{
	ObjectAddresses *objs = new_object_addresses();
	ListCell   *lc;
	ListCell   *lc2;

	foreach(lc, trig_tree(relid))
	{
		foreach(lc2, trig_list(lfirst_oid(lc)))
		{
			LambdaTrigger *t = lfirst(lc2);
			ObjectAddress addr;

			if (t->kind != TRIG_GUARD)
				continue;
			ObjectAddressSet(addr, TriggerRelationId, t->oid);
			add_exact_object_address(&addr, objs);
		}
	}
	performMultipleDeletions(objs, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
}

/*
 * Called by the ProcessUtility hook before a statement runs (after view_guard.c's
 * checks): refuses statements that would change how pg_lambda's triggers
 * fire or drop a guard, and clears the guards out of DROP EXTENSION's way.
 */
void
triggers_check_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;
	ListCell   *lc;

	if (IsA(stmt, AlterTableStmt))
	{
		AlterTableStmt *a = (AlterTableStmt *) stmt;
		Oid			relid;

		if (a->objtype != OBJECT_TABLE)
			return;
		relid = RangeVarGetRelid(a->relation, NoLock, true);
		if (!OidIsValid(relid))
			return;
		foreach(lc, a->cmds)
			trig_check_alter(relid, lfirst(lc));
	}
	else if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_TRIGGER)
	{
		foreach(lc, ((DropStmt *) stmt)->objects)
		{
			List	   *names = lfirst(lc);
			LambdaTrigger *t;
			Oid			relid;

			if (list_length(names) < 2)
				continue;
			relid = RangeVarGetRelid(makeRangeVarFromNameList(list_truncate(list_copy(names),
																			 list_length(names) - 1)),
									 NoLock, true);
			if (OidIsValid(relid) && (t = trig_find_named(relid, strVal(llast(names)))) != NULL &&
				t->kind == TRIG_GUARD && catalog_event_table_is(relid))
				trig_refuse_guard(relid, "drop the append-only trigger of");
		}
	}
	else if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_EXTENSION)
	{
		foreach(lc, ((DropStmt *) stmt)->objects)
		{
			if (strcmp(strVal(lfirst(lc)), "pg_lambda") == 0 &&
				OidIsValid(get_extension_oid("pg_lambda", true)))
				trig_drop_guards();
		}
	}
}

/*
 * Called by the ProcessUtility hook after a statement ran: a partition
 * created in or attached to an event table gets the guards (view.c gives it
 * the views' capture triggers).
 */
void
triggers_after_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;
	Oid			relid = InvalidOid;
	CatalogScope scope;
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
	if (!OidIsValid(relid) || !get_rel_relispartition(relid) || !catalog_event_table_is(relid))
		return;
	catalog_begin(&scope);
	triggers_add_guards(relid);
	catalog_end(&scope);
}

/*
 * lambda_catalog.drop_capture_triggers(batch oid): called by the sql_drop
 * event trigger for a dropped continuous view; drops its capture triggers
 * wherever they are, and those of views whose batch table is gone.
 */
Datum
lambda_drop_capture_triggers(PG_FUNCTION_ARGS)
{
	Oid			batch_relid = PG_GETARG_OID(0);
	ObjectAddresses *objs = new_object_addresses();
	ListCell   *lc;

	foreach(lc, trig_list(InvalidOid))
	{
		LambdaTrigger *t = lfirst(lc);
		ObjectAddress addr;

		if (t->kind == TRIG_GUARD ||
			(t->batch_relid != batch_relid && OidIsValid(t->batch_relid)))
			continue;
		ObjectAddressSet(addr, TriggerRelationId, t->oid);
		add_exact_object_address(&addr, objs);
	}
	performMultipleDeletions(objs, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	PG_RETURN_VOID();
}

/*
 * lambda_catalog.add_capture_triggers(batch_table regclass) RETURNS boolean:
 * gives a continuous view the capture triggers it lacks on its event table
 * and partitions, and makes the others fire as they must. Returns whether a
 * statement-level one was missing: the view then never saw some events and
 * needs lambda.recompute. For the update to 0.4.0 and older dumps.
 */
Datum
lambda_add_capture_triggers(PG_FUNCTION_ARGS)
{
	Oid			batch_relid = PG_GETARG_OID(0);
	ViewDef    *def = cview_get(batch_relid);
	CatalogScope scope;
	bool		missing;

	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not the batch table of a continuous view",
						get_rel_name(batch_relid) ? get_rel_name(batch_relid) : "?"),
				 errhint("Pass a batch_table listed in lambda_catalog.continuous_view.")));
	catalog_begin(&scope);
	missing = triggers_add_capture(def->event_relid, batch_relid);
	catalog_end(&scope);
	PG_RETURN_BOOL(missing);
}
