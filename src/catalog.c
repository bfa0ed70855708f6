/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Access to pg_lambda's own catalog tables.
 *
 * The catalog lives in schema lambda_catalog, owned by the extension. Users
 * may read most of it (the views in schema lambda present it) but never write
 * it directly: rows are written by our C functions, which run their SPI
 * statements between catalog_begin() and catalog_end(). Those switch to the
 * catalog's owner (the role that created the extension) and pin search_path
 * to pg_catalog, so a caller's search_path can never redirect a catalog
 * statement, and the caller needs no privilege on the catalog.
 *
 * The helpers here are the only place that knows how to find the catalog; a
 * database in which the extension is not installed simply has none, and every
 * lookup answers "not found" there (the library is preloaded server-wide).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "catalog.h"

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
