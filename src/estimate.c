/*-------------------------------------------------------------------------
 *
 * estimate.c
 *	  Telling an estimate from an exact answer: lambda.estimated_groups().
 *
 * count(DISTINCT x) in a continuous view is exact while every state a group
 * is made of holds its values, and an estimate once one of them has become
 * a HyperLogLog sketch (sketch.c): a speed-layer state past
 * SKETCH_DISTINCT_EXACT_BYTES until the next refresh reads the events again,
 * or a batch-layer set past SKETCH_DISTINCT_MAX_VALUES values or
 * SKETCH_DISTINCT_MAX_BYTES. lambda.estimated_groups(view) counts the
 * view's groups (its rows, before HAVING) of which a count(DISTINCT) is an
 * estimate now: it reads the batch and speed tables as the view does, and
 * only the first bytes of each count(DISTINCT) state
 * (lambda_catalog.distinct_is_sketch).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "aggstate.h"
#include "catalog.h"
#include "cview.h"
#include "sketch.h"
#include "view_parts.h"

PG_FUNCTION_INFO_V1(lambda_distinct_is_sketch);
PG_FUNCTION_INFO_V1(lambda_estimated_groups);

/*
 * lambda_catalog.distinct_is_sketch(batch regclass, aggno int, state bytea):
 * whether a serialized state of the view's count(DISTINCT) number aggno
 * (from 1, among all its aggregates) is a sketch. Reads the state's header
 * only (the batch table keeps these states uncompressed).
 */
Datum
lambda_distinct_is_sketch(PG_FUNCTION_ARGS)
{
	ViewDef    *def = cview_get(PG_GETARG_OID(0));
	int32		aggno = PG_GETARG_INT32(1);
	Datum		state = PG_GETARG_DATUM(2);
	AggMeta    *meta;
	bytea	   *head;
	Size		total;

	if (def == NULL || aggno < 1 || aggno > def->naggs ||
		def->aggs[aggno - 1].meta.kind != AGG_KIND_DISTINCT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("aggregate %d of batch table %u is not a count(DISTINCT)", aggno, PG_GETARG_OID(0))));
	meta = &def->aggs[aggno - 1].meta;
	head = DatumGetByteaPSlice(state, 0, SKETCH_DISTINCT_COUNT_PREFIX);
	total = toast_raw_datum_size(state) - VARHDRSZ;
	PG_RETURN_BOOL(sketch_distinct_serialized_count(VARDATA_ANY(head), VARSIZE_ANY_EXHDR(head), total,
													meta->valuetype, meta->collation) < 0);
}

/*
 * lambda.estimated_groups(view regclass): the view's groups (keys; in a
 * sliding window, keys with a step inside the window) of which a
 * count(DISTINCT) is an estimate now; 0 when every count(DISTINCT) of the
 * view is exact, or it has none. For roles that may read the view.
 */
Datum
lambda_estimated_groups(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			batch = view_batch_of(relid);
	ViewDef    *def;
	StringInfoData cols;
	StringInfoData keys;
	StringInfoData sketch;
	StringInfoData sql;
	char	   *batch_rel;
	char	   *speed_rel;
	int			nkeys;
	int			i;
	CatalogScope scope;
	bool		isnull;
	int64		result;

	if (!OidIsValid(batch))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a continuous view", get_rel_name(relid) ? get_rel_name(relid) : "?"),
				 errhint("Pass a view created with CREATE MATERIALIZED VIEW ... WITH (lambda.continuous).")));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_VIEW, get_rel_name(relid));
	def = cview_get(batch);
	if (def == NULL)
		elog(ERROR, "continuous view \"%s\" has no definition", get_rel_name(relid));

	/* the keys of the view's rows: a sliding window's step is merged away */
	nkeys = def->sliding ? def->nkeys - 1 : def->nkeys;
	initStringInfo(&cols);
	initStringInfo(&keys);
	initStringInfo(&sketch);
	for (i = 0; i < def->nkeys; i++)
	{
		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "", quote_identifier(def->keynames[i]));
		if (i < nkeys)
			appendStringInfo(&keys, "%su.%s", i > 0 ? ", " : "", quote_identifier(def->keynames[i]));
	}
	batch_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(batch));
	speed_rel = quote_qualified_identifier(LAMBDA_CATALOG_SCHEMA, get_rel_name(def->speed_relid));
	for (i = 0; i < def->naggs; i++)
	{
		if (def->aggs[i].meta.kind != AGG_KIND_DISTINCT)
			continue;
		appendStringInfo(&cols, "%s%s", cols.len > 0 ? ", " : "", quote_identifier(def->aggnames[i]));
		appendStringInfo(&sketch, "%slambda_catalog.distinct_is_sketch(%s::regclass, %d, u.%s)",
						 sketch.len > 0 ? " OR " : "", quote_literal_cstr(batch_rel), i + 1,
						 quote_identifier(def->aggnames[i]));
	}
	if (sketch.len == 0)
		PG_RETURN_INT64(0);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT count(*) FROM (SELECT 1 FROM (SELECT %s FROM %s UNION ALL SELECT %s FROM %s) u",
					 cols.data, batch_rel, cols.data, speed_rel);
	if (def->sliding)
		appendStringInfo(&sql, " WHERE %s", cview_window_sql(def, "u." CVIEW_STEP_COLUMN));
	if (nkeys > 0)
		appendStringInfo(&sql, " GROUP BY %s", keys.data);
	appendStringInfo(&sql, " HAVING bool_or(%s)) g", sketch.data);

	/* the caller may read the view, which reads both tables as its owner */
	catalog_begin(&scope);
	if (SPI_execute(sql.data, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the layers of continuous view \"%s\"", get_rel_name(relid));
	result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_end(&scope);
	PG_RETURN_INT64(result);
}
