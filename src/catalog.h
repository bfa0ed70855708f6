/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Access to pg_lambda's own catalog tables (schema lambda_catalog).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CATALOG_H
#define LAMBDA_CATALOG_H

#include "postgres.h"

#define LAMBDA_SCHEMA			"lambda"
#define LAMBDA_CATALOG_SCHEMA	"lambda_catalog"

/* State saved by catalog_begin() and restored by catalog_end(). */
typedef struct CatalogScope
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} CatalogScope;

extern Oid	catalog_namespace(void);
extern Oid	catalog_relid(const char *relname);
extern Oid	catalog_funcid(const char *name, int nargs, Oid *argtypes);
extern void catalog_begin(CatalogScope *scope);
extern void catalog_end(CatalogScope *scope);

#endif							/* LAMBDA_CATALOG_H */
