/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Access to pg_lambda's own catalog tables: every query on them, their
 *	  row structs, and the differences between extension versions.
 *
 * The catalog lives in schema lambda_catalog, owned by the extension. Users
 * may read most of it (the views in schema lambda present it) but never write
 * it directly: rows are written by our C functions, which run their SPI
 * statements between catalog_begin() and catalog_end(). Those switch to the
 * catalog's owner (the role that created the extension) and pin search_path
 * to pg_catalog, so a caller's search_path can never redirect a catalog
 * statement, and the caller needs no privilege on the catalog. The functions
 * here open a scope of their own; a caller already inside one may call them
 * too (scopes nest).
 *
 * The helpers here are the only place that knows how to find the catalog; a
 * database in which the extension is not installed simply has none, and every
 * lookup answers "not found" there (the library is preloaded server-wide).
 *
 * Tables (this file owns every query on them; other files call functions):
 *   lambda_catalog.event_table      the append-only event tables and their
 *                                   event-time columns
 *   lambda_catalog.continuous_view  continuous views: their parts, their
 *                                   definitions, the batch layer's cut and
 *                                   refresh history, failed refreshes
 *   lambda_catalog.source           read here only to say what uses an
 *                                   event table; catalog_source.c owns the
 *                                   Kafka side (source, source_secret,
 *                                   source_offset, dead_letter)
 *
 * Version differences (the library may run over an older catalog until
 * ALTER EXTENSION pg_lambda UPDATE; catalog_has() answers for each):
 *   0.1.0  event_table (relid, time_column, created_at)
 *   0.2.0  continuous_view (batch_table, view, speed_table, event_table,
 *          definition, refresh_interval, cut_generation, cut_xmin, cut_xmax,
 *          cut_xip, last_refresh, last_refresh_duration, last_refresh_mode,
 *          last_refresh_groups, batch_rows, created_at, cut_origin)
 *   0.3.0  continuous_view.sliding_window, window_step
 *   0.4.0  function key_hash (batch tables keep long keys apart: column
 *          _lambda_long), continuous_view.failing_since, failed_refreshes,
 *          last_error, last_error_at (added after key_hash in the update
 *          script, hence two features); source.columns and altered_at,
 *          dead_letter.kafka_timestamp (catalog_source.c asks for those),
 *          continuous_view.window_time_zone, continuous_view.redefines
 * Each feature is looked up (in the syscache) every time it is asked for,
 * not cached: ALTER EXTENSION UPDATE changes the answers in the middle of a
 * transaction.
 *
 * "Is this an event table?" (catalog_event_table_is) is answered from a
 * per-backend cache, since event_table.c's executor hook asks it on every
 * UPDATE and DELETE; catalog_init registers the relcache callback that
 * keeps it right (event_table.c says which invalidations reach it).
 *
 * Locking: nothing here takes locks of its own beyond what its SPI
 * statements (and catalog_read_cut's index scan, AccessShareLock) take.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "catalog.h"

/* lambda_catalog.continuous_view columns (catalog_read_cut) */
#define Anum_cv_batch_table			1
#define Anum_cv_refresh_interval	6
#define Anum_cv_cut_generation		7
#define Anum_cv_cut_xmin			8
#define Anum_cv_cut_xmax			9
#define Anum_cv_cut_xip				10
#define Anum_cv_last_refresh		11
#define Anum_cv_batch_rows			15
#define Anum_cv_cut_origin			17

/*
 * Returns the OID of schema lambda_catalog, or InvalidOid when the extension
 * is not installed in this database.
 */
Oid
catalog_namespace(void)
{
	return get_namespace_oid(LAMBDA_CATALOG_SCHEMA, true);
}

/*
 * Returns the OID of catalog table (or view) relname, or InvalidOid when the
 * extension is not installed in this database.
 */
Oid
catalog_relid(const char *relname)
{
	Oid			nsp = catalog_namespace();

	if (!OidIsValid(nsp))
		return InvalidOid;
	return get_relname_relid(relname, nsp);
}

/*
 * Returns the OID of one of pg_lambda's own aggregates or functions in
 * lambda_catalog; an ERROR when it is missing (the library is newer than the
 * extension's SQL objects in this database).
 */
Oid
catalog_funcid(const char *name, int nargs, Oid *argtypes)
{
	Oid			fn = LookupFuncName(list_make2(makeString(LAMBDA_CATALOG_SCHEMA), makeString(pstrdup(name))),
									nargs, argtypes, true);

	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("function lambda_catalog.%s is missing", name),
				 errdetail("The pg_lambda library is newer than the extension's SQL objects in this database."),
				 errhint("Run ALTER EXTENSION pg_lambda UPDATE.")));
	return fn;
}

/*
 * Whether this database's pg_lambda SQL objects have function
 * lambda_catalog.name(argtypes): false when they predate the version that
 * added it (the library can be newer than the objects until ALTER
 * EXTENSION ... UPDATE).
 */
bool
catalog_has_function(const char *name, int nargs, Oid *argtypes)
{
	return OidIsValid(LookupFuncName(list_make2(makeString(LAMBDA_CATALOG_SCHEMA), makeString(pstrdup(name))),
									 nargs, argtypes, true));
}

/* The owner of lambda_catalog (whom catalog_begin runs as); InvalidOid when missing. */
Oid
catalog_owner(void)
{
	HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(catalog_namespace()));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Opens a scope in which SPI statements read and write the catalog as its
 * owner, with search_path = pg_catalog, pg_temp. Connects SPI.
 */
void
catalog_begin(CatalogScope *scope)
{
	Oid			nsp = catalog_namespace();
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_lambda\" is not installed in this database"),
				 errdetail("Schema \"%s\" does not exist.", LAMBDA_CATALOG_SCHEMA),
				 errhint("Run CREATE EXTENSION pg_lambda first.")));

	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&scope->save_userid, &scope->save_sec_context);
	SetUserIdAndSecContext(owner,
						   scope->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	scope->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/*
 * Closes a scope opened by catalog_begin(): disconnects SPI and restores the
 * caller's role and search_path. (On error, transaction abort restores both.)
 */
void
catalog_end(CatalogScope *scope)
{
	SPI_finish();
	AtEOXact_GUC(true, scope->save_nestlevel);
	SetUserIdAndSecContext(scope->save_userid, scope->save_sec_context);
}

/* ------------------------------------------------------------------------
 * Version differences
 * ------------------------------------------------------------------------
 */

/* Whether catalog table relname has column colname. */
static bool
catalog_has_column(const char *relname, const char *colname)
{
	Oid			relid = catalog_relid(relname);

	return OidIsValid(relid) && get_attnum(relid, colname) != InvalidAttrNumber;
}

/*
 * Whether this database's catalog has feature (see CatalogFeature); false
 * where the extension is not installed. Each feature is recognized by the
 * object its version added, which the update script creates before using it.
 */
bool
catalog_has(CatalogFeature feature)
{
	switch (feature)
	{
		case CATALOG_EVENT_TABLES:
			return OidIsValid(catalog_relid("event_table"));
		case CATALOG_VIEWS:
			return OidIsValid(catalog_relid("continuous_view"));
		case CATALOG_SLIDING_WINDOWS:
			return catalog_has_column("continuous_view", "sliding_window");
		case CATALOG_LONG_KEYS:
			{
				Oid			argtypes[1] = {ANYOID};

				return OidIsValid(catalog_namespace()) &&
					OidIsValid(LookupFuncName(list_make2(makeString(LAMBDA_CATALOG_SCHEMA),
														 makeString("key_hash")),
											  1, argtypes, true));
			}
		case CATALOG_FAILED_REFRESHES:
			return catalog_has_column("continuous_view", "failed_refreshes");
		case CATALOG_SOURCE_COLUMNS:
			return catalog_has_column("source", "altered_at");
		case CATALOG_DEAD_LETTER_TIMESTAMPS:
			return catalog_has_column("dead_letter", "kafka_timestamp");
		case CATALOG_WINDOW_TIME_ZONES:
			return catalog_has_column("continuous_view", "window_time_zone");
		case CATALOG_REDEFINE:
			return catalog_has_column("continuous_view", "redefines");
		case CATALOG_CUT_COMMANDS:
			return catalog_has_column("continuous_view", "cut_command_id");
	}
	elog(ERROR, "unknown catalog feature %d", (int) feature);
	return false;				/* keep compiler quiet */
}

/*
 * The version of the catalog installed in this database, as a number (100
 * for 0.1.0 ... 400 for 0.4.0), or 0 when the extension is not installed:
 * the newest version whose features it has. For messages and logs;
 * decisions ask catalog_has() about the feature they need.
 */
int
catalog_schema_version(void)
{
	if (!catalog_has(CATALOG_EVENT_TABLES))
		return 0;
	if (!catalog_has(CATALOG_VIEWS))
		return 100;
	if (!catalog_has(CATALOG_SLIDING_WINDOWS))
		return 200;
	if (!catalog_has(CATALOG_LONG_KEYS) || !catalog_has(CATALOG_FAILED_REFRESHES))
		return 300;
	return 400;
}

/* ------------------------------------------------------------------------
 * The cut and the refresh history (lambda_catalog.continuous_view)
 * ------------------------------------------------------------------------
 */

/* Where transaction ids of this database's cuts come from. */
static char *
catalog_cut_origin(void)
{
	return psprintf(UINT64_FORMAT "/%u", GetSystemIdentifier(), MyDatabaseId);
}

static int
catalog_xid_cmp(const void *a, const void *b)
{
	TransactionId x = *(const TransactionId *) a;
	TransactionId y = *(const TransactionId *) b;

	return (x > y) - (x < y);
}

/*
 * Reads a view's cut as the given snapshot sees it: an index scan, cheap
 * enough for every query of the view, needing no privilege on the catalog.
 * cut->found is false when the view (or the extension) does not exist.
 * cut->gen is the cut generation, all that speed.c needs of it.
 */
void
catalog_read_cut(Oid batch_relid, Snapshot snap, BatchCut *cut)
{
	Oid			relid = catalog_relid("continuous_view");
	Oid			indexid = catalog_relid("continuous_view_pkey");
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	memset(cut, 0, sizeof(BatchCut));
	if (!OidIsValid(relid) || !OidIsValid(indexid))
		return;
	rel = table_open(relid, AccessShareLock);
	ScanKeyInit(&key, Anum_cv_batch_table, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(batch_relid));
	scan = systable_beginscan(rel, indexid, true, snap, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		Datum		d;

		cut->found = true;
		cut->gen = DatumGetInt64(heap_getattr(tup, Anum_cv_cut_generation, desc, &isnull));
		d = heap_getattr(tup, Anum_cv_refresh_interval, desc, &isnull);
		cut->refresh_interval = DatumGetIntervalP(datumCopy(d, false, sizeof(Interval)));
		d = heap_getattr(tup, Anum_cv_last_refresh, desc, &isnull);
		cut->last_refresh = isnull ? 0 : DatumGetTimestampTz(d);
		d = heap_getattr(tup, Anum_cv_batch_rows, desc, &isnull);
		cut->batch_rows = isnull ? 0 : DatumGetInt64(d);
		d = heap_getattr(tup, Anum_cv_cut_origin, desc, &isnull);
		cut->foreign = !isnull && strcmp(TextDatumGetCString(d), catalog_cut_origin()) != 0;
		d = heap_getattr(tup, Anum_cv_cut_xmin, desc, &isnull);
		if (!isnull)
		{
			ArrayType  *arr;
			Datum	   *elems;
			bool	   *nulls;
			int			n;
			int			i;
			AttrNumber	cmdatt;

			cut->has_snapshot = true;
			cut->xmin_full = DatumGetFullTransactionId(d);
			cut->xmin = XidFromFullTransactionId(cut->xmin_full);
			d = heap_getattr(tup, Anum_cv_cut_xmax, desc, &isnull);
			cut->xmax = XidFromFullTransactionId(DatumGetFullTransactionId(d));
			d = heap_getattr(tup, Anum_cv_cut_xip, desc, &isnull);
			arr = DatumGetArrayTypeP(d);
			deconstruct_array(arr, XID8OID, sizeof(FullTransactionId), true, TYPALIGN_DOUBLE,
							  &elems, &nulls, &n);
			cut->nxip = n;
			cut->xip = palloc(sizeof(TransactionId) * (n + 1));
			for (i = 0; i < n; i++)
				cut->xip[i] = XidFromFullTransactionId(DatumGetFullTransactionId(elems[i]));
			qsort(cut->xip, n, sizeof(TransactionId), catalog_xid_cmp);
			/* (columns added by 0.4.0: found by name) */
			cmdatt = get_attnum(relid, "cut_command_id");
			d = cmdatt == InvalidAttrNumber ? (Datum) 0 : heap_getattr(tup, cmdatt, desc, &isnull);
			if (cmdatt != InvalidAttrNumber && !isnull)
			{
				cut->command = (CommandId) DatumGetInt64(d);
				d = heap_getattr(tup, get_attnum(relid, "cut_own_xids"), desc, &isnull);
				arr = DatumGetArrayTypeP(d);
				deconstruct_array(arr, XID8OID, sizeof(FullTransactionId), true, TYPALIGN_DOUBLE,
								  &elems, &nulls, &n);
				cut->nown = n;
				cut->own = palloc(sizeof(TransactionId) * (n + 1));
				for (i = 0; i < n; i++)
					cut->own[i] = XidFromFullTransactionId(DatumGetFullTransactionId(elems[i]));
			}
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * Records a refresh of the view: its new cut (made by this database, so not
 * foreign) and what the refresh did. In the refresh's transaction, with the
 * batch rows it wrote.
 */
void
catalog_view_record_refresh(Oid batch_relid, const CatalogRefresh *r)
{
	CatalogScope scope;
	Oid			argtypes[12] = {OIDOID, INT8OID, XID8OID, XID8OID, XID8ARRAYOID,
	TEXTOID, INT8OID, INT8OID, INT8OID, TEXTOID, XID8ARRAYOID, INT8OID};
	Datum		args[12];
	char		nulls[12];
	bool		commands = catalog_has(CATALOG_CUT_COMMANDS);

	args[0] = ObjectIdGetDatum(batch_relid);
	args[1] = Int64GetDatum(r->gen);
	args[2] = FullTransactionIdGetDatum(r->xmin);
	args[3] = FullTransactionIdGetDatum(r->xmax);
	args[4] = PointerGetDatum(r->xip);
	args[5] = CStringGetTextDatum(r->mode);
	args[6] = Int64GetDatum(r->groups);
	args[7] = Int64GetDatum(r->batch_rows);
	args[8] = Int64GetDatum(r->duration_us);
	args[9] = CStringGetTextDatum(catalog_cut_origin());
	args[10] = PointerGetDatum(r->own);
	args[11] = Int64GetDatum((int64) r->command);
	memset(nulls, ' ', sizeof(nulls));
	if (r->own == NULL)
		nulls[10] = nulls[11] = 'n';
	catalog_begin(&scope);
	if (SPI_execute_with_args(psprintf("UPDATE lambda_catalog.continuous_view"
									   "   SET cut_generation = $2, cut_xmin = $3, cut_xmax = $4, cut_xip = $5,"
									   "       last_refresh = pg_catalog.now(), last_refresh_mode = $6,"
									   "       last_refresh_groups = $7, batch_rows = $8,"
									   "       last_refresh_duration = pg_catalog.make_interval(secs => $9 / 1e6),"
									   "       cut_origin = $10%s"
									   " WHERE batch_table = $1",
									   commands ? ", cut_own_xids = $11, cut_command_id = $12" : ""),
							  commands ? 12 : 10, argtypes, args, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the refresh of a continuous view");
	catalog_end(&scope);
}

/*
 * Records that a refresh of the view failed with message: one more failure
 * in a row, the error and when. Returns the failures in a row now (0 when
 * the catalog predates 0.4.0 and keeps none, or the view is gone); *view_relid
 * gets the view, InvalidOid when it is gone.
 */
int
catalog_view_record_failure(Oid batch_relid, const char *message, Oid *view_relid)
{
	CatalogScope scope;
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		args[2];
	int			failures = 0;
	bool		isnull;

	*view_relid = InvalidOid;
	if (!catalog_has(CATALOG_VIEWS))
		return 0;
	catalog_begin(&scope);
	args[0] = ObjectIdGetDatum(batch_relid);
	args[1] = CStringGetTextDatum(message);
	if (catalog_has(CATALOG_FAILED_REFRESHES))
	{
		if (SPI_execute_with_args("UPDATE lambda_catalog.continuous_view"
								  "   SET failed_refreshes = failed_refreshes + 1,"
								  "       failing_since = coalesce(failing_since, now()),"
								  "       last_error = $2, last_error_at = now()"
								  " WHERE batch_table = $1 RETURNING view::oid, failed_refreshes",
								  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "could not record a failed refresh");
	}
	else if (SPI_execute_with_args("SELECT view::oid, 0 FROM lambda_catalog.continuous_view"
								   " WHERE batch_table = $1 AND $2 IS NOT NULL",
								   2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.continuous_view");
	if (SPI_processed > 0)
	{
		*view_relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		failures = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	catalog_end(&scope);
	return failures;
}

/*
 * A refresh succeeded: clears the failures the catalog holds for the view.
 * Returns how many failed refreshes in a row there were (0: none, or a
 * catalog that predates 0.4.0).
 */
int
catalog_view_clear_failures(Oid batch_relid)
{
	CatalogScope scope;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	bool		isnull;
	int			failures = 0;

	if (!catalog_has(CATALOG_FAILED_REFRESHES))
		return 0;
	catalog_begin(&scope);
	args[0] = ObjectIdGetDatum(batch_relid);
	if (SPI_execute_with_args("UPDATE lambda_catalog.continuous_view c"
							  "   SET failed_refreshes = 0, failing_since = NULL,"
							  "       last_error = NULL, last_error_at = NULL"
							  "  FROM (SELECT failed_refreshes FROM lambda_catalog.continuous_view"
							  "         WHERE batch_table = $1 AND failed_refreshes > 0) o"
							  " WHERE c.batch_table = $1 RETURNING o.failed_refreshes",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not clear the failed refreshes of a continuous view");
	if (SPI_processed > 0)
		failures = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_end(&scope);
	return failures;
}

/* ------------------------------------------------------------------------
 * Continuous views (lambda_catalog.continuous_view)
 * ------------------------------------------------------------------------
 */

/* Runs a query on the catalog with one oid argument; SPI's result stays. */
static void
catalog_select_oid(const char *sql, Oid arg, bool read_only, long count)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];

	args[0] = ObjectIdGetDatum(arg);
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, read_only, count) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.continuous_view");
}

/* The first column (an oid) of every row of SPI's result, in cxt. */
static List *
catalog_result_oids(MemoryContext cxt)
{
	List	   *result = NIL;
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			oid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext old = MemoryContextSwitchTo(cxt);

		result = lappend_oid(result, oid);
		MemoryContextSwitchTo(old);
	}
	return result;
}

/*
 * The catalog row of the view with batch table batch_relid, allocated in
 * cxt, or NULL when there is none. Before 0.3.0 no view has a window.
 */
CatalogView *
catalog_view_get(Oid batch_relid, MemoryContext cxt)
{
	CatalogScope scope;
	CatalogView *v;
	bool		isnull;
	Datum		d;
	HeapTuple	tup;
	TupleDesc	desc;

	if (!catalog_has(CATALOG_VIEWS))
		return NULL;
	catalog_begin(&scope);
	catalog_select_oid(catalog_has(CATALOG_WINDOW_TIME_ZONES) ?
					   "SELECT view::oid, event_table::oid, speed_table::oid, definition,"
					   "       sliding_window, window_step, window_time_zone"
					   "  FROM lambda_catalog.continuous_view WHERE batch_table = $1" :
					   catalog_has(CATALOG_SLIDING_WINDOWS) ?
					   "SELECT view::oid, event_table::oid, speed_table::oid, definition,"
					   "       sliding_window, window_step, NULL::text"
					   "  FROM lambda_catalog.continuous_view WHERE batch_table = $1" :
					   "SELECT view::oid, event_table::oid, speed_table::oid, definition,"
					   "       NULL::interval, NULL::interval, NULL::text"
					   "  FROM lambda_catalog.continuous_view WHERE batch_table = $1",
					   batch_relid, false, 1);
	if (SPI_processed == 0)
	{
		catalog_end(&scope);
		return NULL;
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	v = MemoryContextAllocZero(cxt, sizeof(CatalogView));
	v->batch_relid = batch_relid;
	v->view_relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	v->event_relid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	v->speed_relid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	v->definition = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 4));
	d = SPI_getbinval(tup, desc, 5, &isnull);
	if (!isnull)
	{
		v->window = MemoryContextAlloc(cxt, sizeof(Interval));
		*v->window = *DatumGetIntervalP(d);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		v->step = MemoryContextAlloc(cxt, sizeof(Interval));
		*v->step = *DatumGetIntervalP(d);
		d = SPI_getbinval(tup, desc, 7, &isnull);
		if (!isnull)
			v->window_time_zone = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 7));
	}
	catalog_end(&scope);
	return v;
}

/* Whether batch_relid is the batch table of a continuous view. */
bool
catalog_view_exists(Oid batch_relid)
{
	CatalogScope scope;
	bool		found;

	if (!OidIsValid(batch_relid) || !catalog_has(CATALOG_VIEWS))
		return false;
	catalog_begin(&scope);
	catalog_select_oid("SELECT 1 FROM lambda_catalog.continuous_view WHERE batch_table = $1",
					   batch_relid, true, 1);
	found = SPI_processed > 0;
	catalog_end(&scope);
	return found;
}

/* The batch table of continuous view view_relid, or InvalidOid. */
Oid
catalog_view_batch_of(Oid view_relid)
{
	CatalogScope scope;
	Oid			batch = InvalidOid;
	bool		isnull;

	if (!catalog_has(CATALOG_VIEWS))
		return InvalidOid;
	catalog_begin(&scope);
	catalog_select_oid("SELECT batch_table::oid FROM lambda_catalog.continuous_view WHERE view = $1",
					   view_relid, false, 1);
	if (SPI_processed > 0)
		batch = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_end(&scope);
	return batch;
}

/*
 * The batch tables of the views over event table event_relid itself (not
 * over its partitions or a table above it), in the caller's context.
 */
List *
catalog_view_list(Oid event_relid)
{
	CatalogScope scope;
	MemoryContext caller = CurrentMemoryContext;
	List	   *result;

	if (!catalog_has(CATALOG_VIEWS))
		return NIL;
	catalog_begin(&scope);
	catalog_select_oid("SELECT v.batch_table::pg_catalog.oid FROM lambda_catalog.continuous_view v"
					   " WHERE v.event_table = $1",
					   event_relid, false, 0);
	result = catalog_result_oids(caller);
	catalog_end(&scope);
	return result;
}

/*
 * The batch tables, in OID order, of the views over relid or a partition of
 * it (of every continuous view when relid is InvalidOid), in the caller's
 * context.
 */
List *
catalog_view_list_over(Oid relid)
{
	CatalogScope scope;
	MemoryContext caller = CurrentMemoryContext;
	List	   *result;

	if (!catalog_has(CATALOG_VIEWS))
		return NIL;
	catalog_begin(&scope);
	catalog_select_oid("SELECT batch_table::pg_catalog.oid FROM lambda_catalog.continuous_view"
					   " WHERE $1 OPERATOR(pg_catalog.=) 0::pg_catalog.oid"
					   "    OR event_table::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
					   "    OR event_table::pg_catalog.oid IN"
					   "       (SELECT relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass))"
					   " ORDER BY 1",
					   relid, false, 0);
	result = catalog_result_oids(caller);
	catalog_end(&scope);
	return result;
}

/* Whether schema nspid holds a continuous view or the event table of one. */
bool
catalog_view_in_schema(Oid nspid)
{
	CatalogScope scope;
	bool		found;

	if (!catalog_has(CATALOG_VIEWS))
		return false;
	catalog_begin(&scope);
	catalog_select_oid("SELECT 1 FROM lambda_catalog.continuous_view v"
					   "  JOIN pg_catalog.pg_class c ON c.oid IN (v.event_table, v.view)"
					   " WHERE c.relnamespace = $1",
					   nspid, false, 1);
	found = SPI_processed > 0;
	catalog_end(&scope);
	return found;
}

/*
 * Every view with what the scheduler needs (CatalogViewSchedule), least
 * recently refreshed first (never refreshed first of all), in the caller's
 * context. A sliding window is refreshed at least once per window.
 */
List *
catalog_view_list_schedule(void)
{
	CatalogScope scope;
	MemoryContext caller = CurrentMemoryContext;
	List	   *result = NIL;
	uint64		i;

	if (!catalog_has(CATALOG_VIEWS))
		return NIL;
	catalog_begin(&scope);
	if (SPI_execute(catalog_has(CATALOG_REDEFINE) ?
					"SELECT batch_table::oid,"
					"       redefines IS NULL AND (last_refresh IS NULL"
					"         OR last_refresh + LEAST(refresh_interval, sliding_window) <= pg_catalog.now()),"
					"       last_refresh, batch_rows"
					"  FROM lambda_catalog.continuous_view v ORDER BY last_refresh NULLS FIRST" :
					catalog_has(CATALOG_SLIDING_WINDOWS) ?
					"SELECT batch_table::oid,"
					"       last_refresh IS NULL OR last_refresh + LEAST(refresh_interval, sliding_window)"
					"         <= pg_catalog.now(),"
					"       last_refresh, batch_rows"
					"  FROM lambda_catalog.continuous_view v ORDER BY last_refresh NULLS FIRST" :
					"SELECT batch_table::oid,"
					"       last_refresh IS NULL OR last_refresh + refresh_interval <= pg_catalog.now(),"
					"       last_refresh, batch_rows"
					"  FROM lambda_catalog.continuous_view v ORDER BY last_refresh NULLS FIRST",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.continuous_view");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		CatalogViewSchedule *s = MemoryContextAllocZero(caller, sizeof(CatalogViewSchedule));
		bool		isnull;
		Datum		d;
		MemoryContext old;

		s->batch_relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		s->due = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		d = SPI_getbinval(tup, desc, 3, &isnull);
		s->last_refresh = isnull ? 0 : DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		s->batch_rows = isnull ? 0 : DatumGetInt64(d);
		old = MemoryContextSwitchTo(caller);
		result = lappend(result, s);
		MemoryContextSwitchTo(old);
	}
	catalog_end(&scope);
	return result;
}

/*
 * Records a new continuous view (view->definition, its parts, and its
 * window when it has one; the cut comes with its first refresh).
 * refresh_interval is text in interval syntax. A window needs 0.3.0: the
 * caller checks catalog_has(CATALOG_SLIDING_WINDOWS) first. The window's
 * time zone is recorded where the catalog has its column (0.4.0).
 */
void
catalog_view_insert(const CatalogView *view, const char *refresh_interval)
{
	CatalogScope scope;
	Oid			argtypes[9] = {OIDOID, OIDOID, OIDOID, OIDOID, TEXTOID, TEXTOID, INTERVALOID, INTERVALOID, TEXTOID};
	Datum		args[9];
	char		argnulls[] = "         ";	/* 9 arguments, and the NUL */
	bool		zone = view->window_time_zone != NULL && catalog_has(CATALOG_WINDOW_TIME_ZONES);

	args[0] = ObjectIdGetDatum(view->batch_relid);
	args[1] = ObjectIdGetDatum(view->view_relid);
	args[2] = ObjectIdGetDatum(view->speed_relid);
	args[3] = ObjectIdGetDatum(view->event_relid);
	args[4] = CStringGetTextDatum(view->definition);
	args[5] = CStringGetTextDatum(refresh_interval);
	args[6] = PointerGetDatum(view->window);
	args[7] = PointerGetDatum(view->step);
	args[8] = zone ? CStringGetTextDatum(view->window_time_zone) : (Datum) 0;
	if (view->window == NULL)
		argnulls[6] = argnulls[7] = 'n';
	if (!zone)
		argnulls[8] = 'n';
	catalog_begin(&scope);
	if (SPI_execute_with_args(zone ?
							  "INSERT INTO lambda_catalog.continuous_view"
							  " (batch_table, view, speed_table, event_table, definition, refresh_interval,"
							  "  sliding_window, window_step, window_time_zone)"
							  " VALUES ($1, $2, $3, $4, $5, $6::interval, $7, $8, $9)" :
							  view->window ?
							  "INSERT INTO lambda_catalog.continuous_view"
							  " (batch_table, view, speed_table, event_table, definition, refresh_interval,"
							  "  sliding_window, window_step)"
							  " VALUES ($1, $2, $3, $4, $5, $6::interval, $7, $8)" :
							  "INSERT INTO lambda_catalog.continuous_view"
							  " (batch_table, view, speed_table, event_table, definition, refresh_interval)"
							  " VALUES ($1, $2, $3, $4, $5, $6::interval)",
							  zone ? 9 : view->window ? 8 : 6, argtypes, args, argnulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the continuous view");
	catalog_end(&scope);
}

/* ALTER ... SET (lambda.refresh_interval): text in interval syntax. */
void
catalog_view_set_refresh_interval(Oid batch_relid, const char *refresh_interval)
{
	CatalogScope scope;
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		args[2];

	catalog_begin(&scope);
	args[0] = ObjectIdGetDatum(batch_relid);
	args[1] = CStringGetTextDatum(refresh_interval);
	if (SPI_execute_with_args("UPDATE lambda_catalog.continuous_view SET refresh_interval = $2::interval"
							  " WHERE batch_table = $1", 2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update lambda_catalog.continuous_view");
	catalog_end(&scope);
}

/* A continuous view's definition after RENAME COLUMN (view_ddl.c). */
void
catalog_view_set_definition(Oid batch_relid, const char *definition)
{
	CatalogScope scope;
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		args[2];

	catalog_begin(&scope);
	args[0] = ObjectIdGetDatum(batch_relid);
	args[1] = CStringGetTextDatum(definition);
	if (SPI_execute_with_args("UPDATE lambda_catalog.continuous_view SET definition = $2"
							  " WHERE batch_table = $1", 2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != 1)
		elog(ERROR, "could not update lambda_catalog.continuous_view");
	catalog_end(&scope);
}

/*
 * The refresh interval of the view with batch table batch_relid, as text in
 * interval syntax (its lambda.refresh_interval), palloc'd.
 */
char *
catalog_view_refresh_interval(Oid batch_relid)
{
	CatalogScope scope;
	char	   *result;
	MemoryContext cxt = CurrentMemoryContext;

	catalog_begin(&scope);
	catalog_select_oid("SELECT refresh_interval::text FROM lambda_catalog.continuous_view WHERE batch_table = $1",
					   batch_relid, true, 1);
	if (SPI_processed != 1)
		elog(ERROR, "continuous view with batch table %u is not in the catalog", batch_relid);
	result = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	catalog_end(&scope);
	return result;
}

/*
 * Marks the view with batch table batch_relid as the new definition of
 * old_view_relid being built (InvalidOid: not any more).
 */
void
catalog_view_set_redefines(Oid batch_relid, Oid old_view_relid)
{
	CatalogScope scope;
	Oid			argtypes[2] = {OIDOID, OIDOID};
	Datum		args[2];
	char		nulls[] = "  ";

	args[0] = ObjectIdGetDatum(batch_relid);
	args[1] = ObjectIdGetDatum(old_view_relid);
	if (!OidIsValid(old_view_relid))
		nulls[1] = 'n';
	catalog_begin(&scope);
	if (SPI_execute_with_args("UPDATE lambda_catalog.continuous_view SET redefines = $2"
							  " WHERE batch_table = $1", 2, argtypes, args, nulls, false, 0) != SPI_OK_UPDATE ||
		SPI_processed != 1)
		elog(ERROR, "could not update lambda_catalog.continuous_view");
	catalog_end(&scope);
}

/*
 * The user-facing views (oids) of the new definitions of old_view_relid
 * being built, or left by a build that did not finish.
 */
List *
catalog_view_list_redefining(Oid old_view_relid)
{
	CatalogScope scope;
	List	   *result;
	MemoryContext cxt = CurrentMemoryContext;

	if (!catalog_has(CATALOG_REDEFINE))
		return NIL;
	catalog_begin(&scope);
	catalog_select_oid("SELECT view::pg_catalog.oid FROM lambda_catalog.continuous_view WHERE redefines = $1",
					   old_view_relid, false, 0);
	result = catalog_result_oids(cxt);
	catalog_end(&scope);
	return result;
}

/* ------------------------------------------------------------------------
 * Event tables (lambda_catalog.event_table)
 * ------------------------------------------------------------------------
 */

/*
 * The event-time column of event table relid, in the caller's context, or
 * NULL when relid is not an event table (or the extension is not installed).
 */
char *
catalog_event_table_time_column(Oid relid)
{
	CatalogScope scope;
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	char	   *result = NULL;

	if (!catalog_has(CATALOG_EVENT_TABLES))
		return NULL;

	args[0] = ObjectIdGetDatum(relid);
	catalog_begin(&scope);
	if (SPI_execute_with_args("SELECT time_column::text FROM lambda_catalog.event_table "
							  "WHERE relid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.event_table");
	if (SPI_processed > 0)
	{
		char	   *val = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		result = MemoryContextStrdup(caller, val);
	}
	catalog_end(&scope);
	return result;
}

/*
 * Per-backend cache: relid -> is it an event table? Asked on every
 * UPDATE/DELETE (event_table.c's executor hook), so not looked up each time.
 * Kept right by relcache invalidations (see event_table.c): the entry of a
 * table whose catalog row changes or that is dropped is forgotten, and the
 * whole cache when the catalog table itself is invalidated (DROP EXTENSION).
 */
typedef struct EtCacheEntry
{
	Oid			relid;			/* hash key */
	bool		is_event_table;
} EtCacheEntry;

static HTAB *et_cache = NULL;
static Oid	et_cache_catalog_relid = InvalidOid;

/*
 * Relcache invalidation callback: forgets what the cache knew about relid,
 * or everything when relid is InvalidOid or is the catalog table itself.
 */
static void
et_cache_invalidate(Datum arg pg_attribute_unused(), Oid relid)
{
	if (et_cache == NULL)
		return;
	if (!OidIsValid(relid) || relid == et_cache_catalog_relid)
	{
		hash_destroy(et_cache);
		et_cache = NULL;
		et_cache_catalog_relid = InvalidOid;
		return;
	}
	(void) hash_search(et_cache, &relid, HASH_REMOVE, NULL);
}

/*
 * For a partition: the ancestor that is a registered event table, or
 * InvalidOid when none is.
 */
Oid
catalog_event_table_root(Oid relid)
{
	ListCell   *lc;

	foreach(lc, get_partition_ancestors(relid))
	{
		Oid			ancestor = lfirst_oid(lc);

		if (catalog_event_table_time_column(ancestor) != NULL)
			return ancestor;
	}
	return InvalidOid;
}

/*
 * Answers whether relid is an event table (a partition belongs to the event
 * table it is a partition of), from the per-backend cache.
 */
bool
catalog_event_table_is(Oid relid)
{
	EtCacheEntry *entry;
	bool		found;
	bool		is_event;
	char		relkind;

	if (et_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(EtCacheEntry);
		ctl.hcxt = CacheMemoryContext;
		et_cache = hash_create("pg_lambda event tables", 64, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		et_cache_catalog_relid = catalog_relid("event_table");
	}

	entry = hash_search(et_cache, &relid, HASH_FIND, &found);
	if (found)
		return entry->is_event_table;

	/*
	 * Only a table can be an event table; skip the catalog for the rest. A
	 * partition belongs to the event table it is a partition of.
	 */
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		is_event = false;
	else
	{
		is_event = (catalog_event_table_time_column(relid) != NULL);
		if (!is_event && get_rel_relispartition(relid))
			is_event = OidIsValid(catalog_event_table_root(relid));
	}

	/* The lookup may have run invalidations that destroyed the cache. */
	if (et_cache == NULL)
		return is_event;
	entry = hash_search(et_cache, &relid, HASH_ENTER, &found);
	entry->is_event_table = is_event;
	return is_event;
}

/* Records a new event table (its row trigger invalidates its relcache). */
void
catalog_event_table_insert(Oid relid, const char *time_column)
{
	CatalogScope scope;
	Oid			argtypes[2] = {OIDOID, NAMEOID};
	Datum		args[2];
	NameData	name;

	namestrcpy(&name, time_column);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = NameGetDatum(&name);
	catalog_begin(&scope);
	if (SPI_execute_with_args("INSERT INTO lambda_catalog.event_table (relid, time_column) "
							  "VALUES ($1::pg_catalog.regclass, $2)",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into lambda_catalog.event_table");
	catalog_end(&scope);
}

/* After a column rename: the event table's time column is now time_column. */
void
catalog_event_table_set_time_column(Oid relid, const char *time_column)
{
	CatalogScope scope;
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		args[2];

	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(time_column);
	catalog_begin(&scope);
	if (SPI_execute_with_args("UPDATE lambda_catalog.event_table SET time_column = $2 "
							  "WHERE relid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update lambda_catalog.event_table");
	catalog_end(&scope);
}

/* Removes the row of event table relid, which must exist. */
void
catalog_event_table_delete(Oid relid)
{
	CatalogScope scope;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];

	args[0] = ObjectIdGetDatum(relid);
	catalog_begin(&scope);
	if (SPI_execute_with_args("DELETE FROM lambda_catalog.event_table "
							  "WHERE relid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE || SPI_processed != 1)
		elog(ERROR, "could not delete from lambda_catalog.event_table");
	catalog_end(&scope);
}

/*
 * What uses event table relid or a partition of it: *views gets the
 * continuous views, *sources the Kafka sources (names, comma-separated and
 * sorted, in the caller's context), NULL where there are none.
 */
void
catalog_event_table_users(Oid relid, char **views, char **sources)
{
	CatalogScope scope;
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	bool		isnull;
	Datum		d;

	args[0] = ObjectIdGetDatum(relid);
	catalog_begin(&scope);
	if (SPI_execute_with_args("SELECT (SELECT pg_catalog.string_agg(v.view::pg_catalog.text, ', ' ORDER BY v.view::pg_catalog.text)"
							  "          FROM lambda_catalog.continuous_view v"
							  "         WHERE v.event_table::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
							  "            OR v.event_table::pg_catalog.oid IN"
							  "               (SELECT relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass))),"
							  "       (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(s.name), ', ' ORDER BY s.name)"
							  "          FROM lambda_catalog.source s"
							  "         WHERE s.target::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
							  "            OR s.target::pg_catalog.oid IN"
							  "               (SELECT relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass)))",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read pg_lambda's catalog");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	*views = isnull ? NULL : MemoryContextStrdup(caller, TextDatumGetCString(d));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*sources = isnull ? NULL : MemoryContextStrdup(caller, TextDatumGetCString(d));
	catalog_end(&scope);
}

/*
 * Registers the event-table cache's relcache invalidation callback; called
 * once from _PG_init.
 */
void
catalog_init(void)
{
	CacheRegisterRelcacheCallback(et_cache_invalidate, (Datum) 0);
}

/*
 * The hint of an error saying that relid is not an event table: make it one
 * when it is a table that can be; otherwise what to pass instead (a
 * continuous view's event table, the table a view reads).
 */
char *
catalog_event_table_hint(Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	char	   *name = get_rel_name(relid);
	Oid			batch;

	if (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE)
		return psprintf("Make it one with lambda.create_event_table('%s', time_column => ...).", name);
	if (relkind == RELKIND_VIEW && catalog_has(CATALOG_VIEWS) &&
		OidIsValid(batch = catalog_view_batch_of(relid)))
	{
		CatalogView *row = catalog_view_get(batch, CurrentMemoryContext);

		if (row != NULL)
			return psprintf("\"%s\" is a continuous view; its event table is \"%s\" (see lambda.views).",
							name, get_rel_name(row->event_relid));
	}
	if (relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW)
		return psprintf("\"%s\" is a view; name the table it reads (an event table is a table).", name);
	return psprintf("\"%s\" is not a table; only an ordinary or partitioned table can be an event table.", name);
}
