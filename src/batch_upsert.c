/*-------------------------------------------------------------------------
 *
 * batch_upsert.c
 *	  A refresh's groups into the batch table, states combined with the
 *	  rows there and new groups inserted; and the long keys that cannot be
 *	  under the batch table's unique index.
 *
 * Long keys. A btree entry holds at most a third of a page, so a group key
 * of any size cannot be under a unique btree index. When a view's keys can
 * be long (a variable-length key column), its batch table has a stored
 * generated column _lambda_long, true when the key's uncompressed size
 * (batch_key_is_long) exceeds BATCH_KEY_MAX_BYTES; the unique index covers
 * only the other rows (WHERE NOT _lambda_long), the long ones are found
 * through a btree index on a 64-bit hash of the key (lambda_catalog.
 * key_hash, the key types' own hash functions) and a hash index per
 * variable-length key column (for point queries, view.c). Short keys are
 * upserted with INSERT ... ON CONFLICT (batch tables without long keys
 * directly instead: batch_direct_upsert); long ones by an UPDATE of the rows
 * whose hash and key are equal (a hash collision only costs a comparison)
 * and an INSERT of the others, which is safe because refreshes of a view
 * are serialized by their lock on the batch table.
 *
 * Locks: the caller's (batch.c holds the batch table against other
 * refreshes); the statements and the direct upsert take what writing the
 * table takes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "batch.h"
#include "compat.h"
#include "keyimage.h"
#include "memhint.h"

#define BATCH_CHUNK		10000	/* groups per upsert statement */

/* How many groups ahead batch_direct_upsert prefetches (twice that: entries) */
#define BATCH_PREFETCH	8

PG_FUNCTION_INFO_V1(lambda_key_is_long);
PG_FUNCTION_INFO_V1(lambda_key_hash);

/* ------------------------------------------------------------------------
 * Long keys (see the file header)
 * ------------------------------------------------------------------------
 */

/* A null key value's share of a key hash */
#define BATCH_NULL_HASH		UINT64CONST(0x9E3779B97F4A7C15)

/* The uncompressed size of a value of a type of length typlen. */
static Size
batch_value_bytes(Datum value, int16 typlen)
{
	if (typlen > 0)
		return typlen;
	if (typlen == -1)
		return toast_raw_datum_size(value);
	return strlen(DatumGetCString(value)) + 1;
}

/*
 * Whether a key is too large for the unique btree index: its values'
 * uncompressed sizes, each padded to the widest alignment, plus an index
 * tuple header with a null bitmap, exceed BATCH_KEY_MAX_BYTES. The size of
 * a value does not depend on how it is stored (compressed, out of line,
 * short header), so one key image always gets the same answer. typlens:
 * the key types' lengths.
 */
static bool
batch_lens_long(int n, const int16 *typlens, const Datum *values, const bool *nulls)
{
	Size		total = MAXALIGN(sizeof(IndexTupleData) + sizeof(IndexAttributeBitMapData));
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!nulls[i])
			total += MAXALIGN(batch_value_bytes(values[i], typlens[i]));
	}
	return total > BATCH_KEY_MAX_BYTES;
}

/*
 * batch_lens_long of keys of the given types (a generated column calls it
 * for every row a build writes: no allocation for a batch table's keys)
 */
static bool
batch_values_long(int n, const Oid *types, const Datum *values, const bool *nulls)
{
	int16		local[INDEX_MAX_KEYS];
	int16	   *typlens = n <= INDEX_MAX_KEYS ? local : palloc(sizeof(int16) * n);
	bool		islong;
	int			i;

	for (i = 0; i < n; i++)
		typlens[i] = lookup_type_cache(types[i], 0)->typlen;
	islong = batch_lens_long(n, typlens, values, nulls);
	if (typlens != local)
		pfree(typlens);
	return islong;
}

/*
 * Whether no key of the view can be long whose column i (0-based) takes
 * at most maxbytes[i] bytes (uncompressed, as batch_values_long counts
 * them), or, where maxbytes[i] is negative, any value of the column's
 * type: false when such a column has variable length.
 */
bool
batch_key_surely_short(ViewDef *def, const int64 *maxbytes)
{
	Size		total = MAXALIGN(sizeof(IndexTupleData) + sizeof(IndexAttributeBitMapData));
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		if (maxbytes[i] >= 0)
			total += MAXALIGN(maxbytes[i]);
		else if (def->keylens[i] > 0)
			total += MAXALIGN(def->keylens[i]);
		else
			return false;
	}
	return total <= BATCH_KEY_MAX_BYTES;
}

/* The uncompressed size of a value of key column col, as a key stores it. */
int64
batch_key_value_bytes(ViewDef *def, int col, Datum value)
{
	return (int64) batch_value_bytes(value, def->keylens[col]);
}

/*
 * A 64-bit hash of a key, from each type's extended hash function under
 * the column's collation, so that equal keys (as the type's equality, which
 * GROUP BY uses, sees them) hash alike. A type without a hash function adds
 * nothing: its keys then differ only by the other columns' hashes, and the
 * comparison that follows every hash match tells them apart.
 */
static int64
batch_values_hash(int n, const Oid *types, const Oid *colls, const Datum *values, const bool *nulls)
{
	uint64		h = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		uint64		c = 0;

		if (nulls[i])
			c = BATCH_NULL_HASH;
		else
		{
			TypeCacheEntry *tc = lookup_type_cache(types[i], TYPECACHE_HASH_EXTENDED_PROC_FINFO);

			if (OidIsValid(tc->hash_extended_proc_finfo.fn_oid))
				c = DatumGetUInt64(FunctionCall2Coll(&tc->hash_extended_proc_finfo, colls[i],
													 values[i], UInt64GetDatum(0)));
		}
		h = hash_combine64(h, c);
	}
	return (int64) h;
}

/*
 * Reads the arguments of lambda_catalog.key_is_long / key_hash(VARIADIC
 * "any"): values, nulls, types, and each argument's collation (from the
 * call's expression: a column's own collation in an index or a generated
 * column). Returns their number.
 */
static int
batch_key_args(FunctionCallInfo fcinfo, Datum *values, bool *nulls, Oid *types, Oid *colls)
{
	Node	   *expr = fcinfo->flinfo->fn_expr;
	List	   *args = (expr && IsA(expr, FuncExpr)) ? ((FuncExpr *) expr)->args : NIL;
	int			n = PG_NARGS();
	int			i;

	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_lambda key functions do not take a VARIADIC array"),
				 errhint("Pass the key columns as separate arguments.")));
	for (i = 0; i < n; i++)
	{
		types[i] = get_fn_expr_argtype(fcinfo->flinfo, i);
		if (!OidIsValid(types[i]))
			elog(ERROR, "could not determine the type of key argument %d", i + 1);
		colls[i] = i < list_length(args) ? exprCollation(list_nth(args, i)) : PG_GET_COLLATION();
		nulls[i] = PG_ARGISNULL(i);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	return n;
}

/*
 * lambda_catalog.key_is_long(VARIADIC "any"): whether a batch table's key
 * is kept out of its unique index (the generated column _lambda_long).
 */
Datum
lambda_key_is_long(PG_FUNCTION_ARGS)
{
	Datum		values[FUNC_MAX_ARGS];
	bool		nulls[FUNC_MAX_ARGS];
	Oid			types[FUNC_MAX_ARGS];
	Oid			colls[FUNC_MAX_ARGS];
	int			n = batch_key_args(fcinfo, values, nulls, types, colls);

	PG_RETURN_BOOL(batch_values_long(n, types, values, nulls));
}

/*
 * lambda_catalog.key_hash(VARIADIC "any"): the hash that indexes a batch
 * table's long keys.
 */
Datum
lambda_key_hash(PG_FUNCTION_ARGS)
{
	Datum		values[FUNC_MAX_ARGS];
	bool		nulls[FUNC_MAX_ARGS];
	Oid			types[FUNC_MAX_ARGS];
	Oid			colls[FUNC_MAX_ARGS];
	int			n = batch_key_args(fcinfo, values, nulls, types, colls);

	PG_RETURN_INT64(batch_values_hash(n, types, colls, values, nulls));
}

/* Whether some key of the view can be too large for a btree entry. */
bool
batch_keys_may_be_long(ViewDef *def)
{
	Size		total = MAXALIGN(sizeof(IndexTupleData) + sizeof(IndexAttributeBitMapData));
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		if (def->keylens[i] < 0)
			return true;
		total += MAXALIGN(def->keylens[i]);
	}
	return total > BATCH_KEY_MAX_BYTES;
}

/* Whether a batch table keeps long keys apart (has _lambda_long). */
bool
batch_has_long_keys(Oid batch_relid)
{
	return get_attnum(batch_relid, BATCH_LONG_COLUMN) != InvalidAttrNumber;
}

/* ------------------------------------------------------------------------
 * Upsert
 * ------------------------------------------------------------------------
 */

/* One upsert statement and the chunk of groups it takes next. */
typedef struct UpsertChunk
{
	SPIPlanPtr	plan;
	int			ncols;			/* keys, states, and with long keys a hash */
	Datum	  **cols;
	bool	  **nulls;
	int			n;
} UpsertChunk;

/*
 * The groups an upsert statement reads: the parameter arrays unnested, the
 * keys in their batch columns' collations, grouped by key when one key can
 * have several images (combining their states). With hash, the key hashes
 * come along as column h.
 */
static void
batch_append_source(StringInfo sql, ViewDef *def, bool hash)
{
	int			ncols = def->nkeys + def->naggs + (hash ? 1 : 0);
	int			i;
	char	  **keyexpr = palloc(sizeof(char *) * (def->nkeys + 1));

	for (i = 0; i < def->nkeys; i++)
		keyexpr[i] = OidIsValid(def->keycolls[i]) ?
			psprintf("u.k%d COLLATE %s", i + 1, generate_collation_name(def->keycolls[i])) :
			psprintf("u.k%d", i + 1);
	appendStringInfoString(sql, "SELECT ");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(sql, "%s AS k%d, ", keyexpr[i], i + 1);
	for (i = 0; i < def->naggs; i++)
	{
		if (def->keys_image_eq)
			appendStringInfo(sql, "u.s%d AS s%d", i + 1, i + 1);
		else
			appendStringInfo(sql, "lambda_catalog.combine_agg(%u, %d, u.s%d) AS s%d",
							 def->batch_relid, i + 1, i + 1, i + 1);
		appendStringInfoString(sql, i < def->naggs - 1 ? ", " : "");
	}
	if (hash)
		appendStringInfoString(sql, ", u.h");
	appendStringInfoString(sql, " FROM unnest(");
	for (i = 0; i < ncols; i++)
		appendStringInfo(sql, "$%d%s", i + 1, i < ncols - 1 ? ", " : ") AS u(");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(sql, "k%d, ", i + 1);
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(sql, "s%d%s", i + 1, i < def->naggs - 1 ? ", " : "");
	appendStringInfoString(sql, hash ? ", h)" : ")");
	if (!def->keys_image_eq && def->nkeys > 0)
	{
		appendStringInfoString(sql, " GROUP BY ");
		for (i = 0; i < def->nkeys; i++)
			appendStringInfo(sql, "%s%s", i > 0 ? ", " : "", keyexpr[i]);
		/* equal keys have equal hashes */
		if (hash)
			appendStringInfoString(sql, ", u.h");
	}
}

/*
 * The statement that upserts short keys (every key of a batch table
 * without _lambda_long): INSERT ... ON CONFLICT on the unique index,
 * returning for each group whether it was inserted.
 */
static char *
batch_upsert_short_sql(ViewDef *def, const char *batchname, bool split)
{
	StringInfoData sql;
	int			i;

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s AS b (", batchname);
	if (def->nkeys == 0)
		appendStringInfoString(&sql, "_lambda_key, ");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "%s, ", quote_identifier(def->keynames[i]));
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "%s%s", quote_identifier(def->aggnames[i]), i < def->naggs - 1 ? ", " : ") ");
	appendStringInfoString(&sql, "SELECT ");
	if (def->nkeys == 0)
		appendStringInfoString(&sql, "true, ");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "u.k%d, ", i + 1);
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "u.s%d%s", i + 1, i < def->naggs - 1 ? ", " : " ");
	appendStringInfoString(&sql, "FROM (");
	batch_append_source(&sql, def, false);
	appendStringInfoString(&sql, ") u ON CONFLICT (");
	if (def->nkeys == 0)
		appendStringInfoString(&sql, "_lambda_key");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "%s%s", quote_identifier(def->keynames[i]), i < def->nkeys - 1 ? ", " : "");
	appendStringInfoString(&sql, ") ");
	if (split)
		appendStringInfoString(&sql, "WHERE NOT " BATCH_LONG_COLUMN " ");
	appendStringInfoString(&sql, "DO UPDATE SET ");
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "%s = lambda_catalog.combine_states(%u, %d, b.%s, EXCLUDED.%s)%s",
						 quote_identifier(def->aggnames[i]), def->batch_relid, i + 1,
						 quote_identifier(def->aggnames[i]), quote_identifier(def->aggnames[i]),
						 i < def->naggs - 1 ? ", " : " ");
	appendStringInfoString(&sql, "RETURNING (b.xmax = 0)");
	return sql.data;
}

/*
 * The statement that upserts long keys: updates the long rows whose key
 * hash and key are those of a group, and inserts the groups that have none
 * (no unique index can check them). Its row count is the groups inserted.
 */
static char *
batch_upsert_long_sql(ViewDef *def, const char *batchname)
{
	StringInfoData sql;
	StringInfoData match;
	int			i;

	/* a long row of the batch table (b) with the key of group u */
	initStringInfo(&match);
	appendStringInfoString(&match, "b." BATCH_LONG_COLUMN " AND lambda_catalog.key_hash(");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&match, "%sb.%s", i > 0 ? ", " : "", quote_identifier(def->keynames[i]));
	appendStringInfoString(&match, ") = u.h");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&match, " AND b.%s IS NOT DISTINCT FROM u.k%d",
						 quote_identifier(def->keynames[i]), i + 1);

	initStringInfo(&sql);
	appendStringInfoString(&sql, "WITH u AS MATERIALIZED (");
	batch_append_source(&sql, def, true);
	appendStringInfo(&sql, "), upd AS (UPDATE %s b SET ", batchname);
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "%s = lambda_catalog.combine_states(%u, %d, b.%s, u.s%d)%s",
						 quote_identifier(def->aggnames[i]), def->batch_relid, i + 1,
						 quote_identifier(def->aggnames[i]), i + 1, i < def->naggs - 1 ? ", " : " ");
	appendStringInfo(&sql, "FROM u WHERE %s) ", match.data);
	/* the statement's snapshot does not see the updates: these had no row */
	appendStringInfo(&sql, "INSERT INTO %s (", batchname);
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "%s, ", quote_identifier(def->keynames[i]));
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "%s%s", quote_identifier(def->aggnames[i]), i < def->naggs - 1 ? ", " : ") ");
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < def->nkeys; i++)
		appendStringInfo(&sql, "u.k%d, ", i + 1);
	for (i = 0; i < def->naggs; i++)
		appendStringInfo(&sql, "u.s%d%s", i + 1, i < def->naggs - 1 ? ", " : " ");
	appendStringInfo(&sql, "FROM u WHERE NOT EXISTS (SELECT 1 FROM %s b WHERE %s)", batchname, match.data);
	return sql.data;
}

/* Prepares an upsert statement and the arrays of its chunks. */
static void
batch_chunk_init(UpsertChunk *c, ViewDef *def, const char *sql, bool hash)
{
	Oid		   *argtypes;
	int			i;

	c->ncols = def->nkeys + def->naggs + (hash ? 1 : 0);
	argtypes = palloc(sizeof(Oid) * c->ncols);
	for (i = 0; i < def->nkeys; i++)
		argtypes[i] = get_array_type(def->keytypes[i]);
	for (i = 0; i < def->naggs; i++)
		argtypes[def->nkeys + i] = BYTEAARRAYOID;
	if (hash)
		argtypes[c->ncols - 1] = INT8ARRAYOID;
	/*
	 * A generic plan: a custom one would first copy every chunk's arrays
	 * (all the states, megabytes for count(DISTINCT) sets) into constants
	 * and evaluate unnest() on them while planning; nothing in the plan
	 * depends on their values.
	 */
	c->plan = SPI_prepare_cursor(sql, c->ncols, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (c->plan == NULL)
		elog(ERROR, "could not prepare batch upsert: %s", SPI_result_code_string(SPI_result));
	c->cols = palloc(sizeof(Datum *) * c->ncols);
	c->nulls = palloc(sizeof(bool *) * c->ncols);
	for (i = 0; i < c->ncols; i++)
	{
		c->cols[i] = palloc(sizeof(Datum) * BATCH_CHUNK);
		c->nulls[i] = palloc(sizeof(bool) * BATCH_CHUNK);
	}
	c->n = 0;
}

/*
 * Runs an upsert statement over the groups of its chunk (arrays built in
 * cxt) and empties the chunk. Returns the number of groups inserted.
 */
static int64
batch_chunk_flush(UpsertChunk *c, ViewDef *def, MemoryContext cxt)
{
	Datum	   *args;
	int			dims[1];
	int			lbs[1] = {1};
	int64		inserted = 0;
	MemoryContext old;
	int			i;
	int			rc;

	if (c->n == 0)
		return 0;
	old = MemoryContextSwitchTo(cxt);
	args = palloc(sizeof(Datum) * c->ncols);
	dims[0] = c->n;
	for (i = 0; i < c->ncols; i++)
	{
		Oid			elemtype = i < def->nkeys ? def->keytypes[i] :
			i < def->nkeys + def->naggs ? BYTEAOID : INT8OID;
		int16		typlen;
		bool		typbyval;
		char		typalign;

		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		args[i] = PointerGetDatum(construct_md_array(c->cols[i], c->nulls[i], 1, dims, lbs,
													 elemtype, typlen, typbyval, typalign));
	}
	MemoryContextSwitchTo(old);
	rc = SPI_execute_plan(c->plan, args, NULL, false, 0);
	if (rc == SPI_OK_INSERT_RETURNING)
	{
		uint64		r;

		for (r = 0; r < SPI_processed; r++)
		{
			bool		isnull;

			if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)))
				inserted++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	else if (rc == SPI_OK_INSERT)
		inserted = (int64) SPI_processed;
	else
		elog(ERROR, "batch upsert failed: %s", SPI_result_code_string(rc));
	c->n = 0;
	return inserted;
}

/* A group of a PartialHash with its key decoded, for sorting. */
typedef struct SortedGroup
{
	Datum		first[2];		/* values[0..1], here to spare the sort pointers */
	bool		firstnull[2];
	bool		islong;			/* a long key (batch_lens_long), if asked */
	PartialEntry *entry;
	Datum	   *values;
	bool	   *nulls;
} SortedGroup;

/*
 * Key column i of group grp, as keys are stored. The first two are in
 * first[] too, as batch_int_key made them where the sort compares them as
 * integers: the same Datum where a Datum holds 64 bits.
 */
static inline Datum
batch_group_value(SortedGroup *grp, int i, bool *isnull)
{
#if SIZEOF_DATUM == 8
	if (i < 2)
	{
		*isnull = grp->firstnull[i];
		return grp->first[i];
	}
#endif
	*isnull = grp->nulls[i];
	return grp->values[i];
}

/* The comparators of batch_sorted_groups' qsort (one per key column). */
static SortSupportData *batch_sort_keys;
static int	batch_sort_nkeys;

static int
batch_group_cmp(const void *a, const void *b)
{
	const SortedGroup *x = a;
	const SortedGroup *y = b;
	int			c;
	int			i;

	for (i = 0; i < Min(batch_sort_nkeys, 2); i++)
	{
		c = ApplySortComparator(x->first[i], x->firstnull[i], y->first[i], y->firstnull[i],
								&batch_sort_keys[i]);
		if (c != 0)
			return c;
	}
	for (i = 2; i < batch_sort_nkeys; i++)
	{
		c = ApplySortComparator(x->values[i], x->nulls[i], y->values[i], y->nulls[i],
								&batch_sort_keys[i]);
		if (c != 0)
			return c;
	}
	return 0;
}

/*
 * Whether a key type's default btree order is that of its values read as
 * 64-bit integers (batch_int_key): the sort then compares them inline.
 */
static bool
batch_type_is_int(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case OIDOID:
		case BOOLOID:
			return true;
		default:
			return false;
	}
}

/*
 * A value of such a type as a 64-bit integer. Its Datum is the same (the
 * narrower types' Datums are their values extended to 64 bits).
 */
static inline int64
batch_int_key(Oid type, Datum d)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case DATEOID:
			return DatumGetDateADT(d);
		case OIDOID:
			return DatumGetObjectId(d);
		case BOOLOID:
			return DatumGetBool(d);
		default:
			return DatumGetInt64(d);
	}
}

/* How many of the first two key columns batch_group_cmp_int compares inline */
static int	batch_sort_nint;

/*
 * batch_group_cmp with the first batch_sort_nint columns' values (in
 * first[], as batch_int_key made them) compared as integers, NULLs last.
 */
static inline int
batch_group_cmp_int(const SortedGroup *x, const SortedGroup *y)
{
	int			i;

	for (i = 0; i < batch_sort_nint; i++)
	{
		int64		a;
		int64		b;

		if (x->firstnull[i] || y->firstnull[i])
		{
			if (x->firstnull[i] && y->firstnull[i])
				continue;
			return x->firstnull[i] ? 1 : -1;
		}
		a = DatumGetInt64(x->first[i]);
		b = DatumGetInt64(y->first[i]);
		if (a != b)
			return a < b ? -1 : 1;
	}
	for (; i < batch_sort_nkeys; i++)
	{
		int			c;

		c = i < 2 ?
			ApplySortComparator(x->first[i], x->firstnull[i], y->first[i], y->firstnull[i],
								&batch_sort_keys[i]) :
			ApplySortComparator(x->values[i], x->nulls[i], y->values[i], y->nulls[i],
								&batch_sort_keys[i]);
		if (c != 0)
			return c;
	}
	return 0;
}

#define ST_SORT batch_sort_int
#define ST_ELEMENT_TYPE SortedGroup
#define ST_COMPARE(a, b) batch_group_cmp_int(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * ph's groups with their keys decoded (in cxt), sorted in the order of the
 * batch table's unique index (each key type's default btree order in the
 * key column's collation, NULLs last). The upsert then probes and inserts
 * into the index, and appends to the table, in key order: each chunk's
 * lookups descend to neighbouring leaf pages, which stay in the CPU's
 * caches and the buffer pool, instead of a random page per group.
 * *sortkeys gets the comparators (in cxt) when every key column has an
 * order, else NULL. With split, each group's islong says whether its key is
 * long (tested here, where the key was just decoded, rather than by a later
 * pass that would miss the cache on every key again).
 */
static SortedGroup *
batch_sorted_groups(ViewDef *def, PartialHash *ph, MemoryContext cxt, bool split, long *ngroups,
					SortSupport *sortkeys)
{
	long		n = partial_count(ph);
	SortedGroup *groups;
	PartialEntry *e;
	long		g = 0;
	int			i;
	int			width = Max(def->nkeys, 1);
	Datum	   *values;
	bool	   *nulls;
	MemoryContext old = MemoryContextSwitchTo(cxt);

	/* leading integer-like key columns, compared inline by the sort */
	batch_sort_nint = 0;
	while (batch_sort_nint < Min(def->nkeys, 2) && batch_type_is_int(def->keytypes[batch_sort_nint]))
		batch_sort_nint++;

	/* one array each (more than 1 GB for tens of millions of groups) */
	groups = MemoryContextAllocHuge(cxt, sizeof(SortedGroup) * Max(n, 1));
	values = MemoryContextAllocHuge(cxt, sizeof(Datum) * width * Max(n, 1));
	nulls = MemoryContextAllocHuge(cxt, sizeof(bool) * width * Max(n, 1));
	for (e = partial_first(ph); e; e = partial_next(e))
	{
		groups[g].entry = e;
		groups[g].values = values + (Size) g * width;
		groups[g].nulls = nulls + (Size) g * width;
		key_decode(def, e->key.data, e->key.len, groups[g].values, groups[g].nulls);
		groups[g].islong = split && batch_lens_long(def->nkeys, def->keylens, groups[g].values, groups[g].nulls);
		for (i = 0; i < 2; i++)
		{
			groups[g].first[i] = i < def->nkeys ? groups[g].values[i] : (Datum) 0;
			groups[g].firstnull[i] = i < def->nkeys ? groups[g].nulls[i] : true;
			if (i < batch_sort_nint && !groups[g].firstnull[i])
				groups[g].first[i] = Int64GetDatum(batch_int_key(def->keytypes[i], groups[g].first[i]));
		}
		g++;
	}
	Assert(g == n);
	*ngroups = g;
	*sortkeys = NULL;
	if (def->nkeys > 0)
	{
		batch_sort_keys = palloc0(sizeof(SortSupportData) * def->nkeys);
		for (i = 0; i < def->nkeys; i++)
		{
			TypeCacheEntry *tc = lookup_type_cache(def->keytypes[i], TYPECACHE_LT_OPR);
			SortSupport ssup = &batch_sort_keys[i];

			/* a type without an order has no btree index either: leave them be */
			if (!OidIsValid(tc->lt_opr))
				break;
			ssup->ssup_cxt = cxt;
			ssup->ssup_collation = def->keycolls[i];
			ssup->ssup_nulls_first = false;
			PrepareSortSupportFromOrderingOp(tc->lt_opr, ssup);
		}
		batch_sort_nkeys = i;
		/* the inline comparisons are the types' default btree order */
		if (batch_sort_nkeys >= batch_sort_nint && batch_sort_nint > 0 && g > 1)
			batch_sort_int(groups, g);
		else if (batch_sort_nkeys > 0 && g > 1)
			qsort(groups, g, sizeof(SortedGroup), batch_group_cmp);
		/* every key in order: the caller may merge with the index */
		if (batch_sort_nkeys == def->nkeys)
			*sortkeys = batch_sort_keys;
		batch_sort_keys = NULL;
		batch_sort_nkeys = 0;
	}
	MemoryContextSwitchTo(old);
	return groups;
}

/*
 * The direct upsert: what batch_upsert's statements do for short keys,
 * without the executor. Each group's key (in the unique index's order) is
 * looked up in that index (or met walking it beside the groups, where its
 * order allows: batch_walk_match); a row found gets its states combined
 * with the group's and is updated in place (a HOT update when its page has
 * room: only unindexed state columns change), a group without one is
 * inserted, and the indexes get entries as the executor would make them
 * (batch_direct_upsert says in which order). It saves, per
 * group, the statement's parameter arrays and unnest(), the speculative
 * insertion of INSERT ... ON CONFLICT (a lookup before the insert, one
 * more in it), and the combine_states() calls through the function
 * manager. Refreshes and recomputes of a view are serialized by their lock
 * on the batch table, so nobody else writes its rows meanwhile.
 */
typedef struct DirectUpsert
{
	Relation	rel;
	Relation	index;			/* the unique index over the keys */
	int			nattrs;			/* of the batch table */
	AttrNumber *keyattr;		/* attribute number of each key column */
	AttrNumber *aggattr;		/* and of each state column */
	AttrNumber	globalattr;		/* _lambda_key of a view without keys */
	AttrNumber	longattr;		/* _lambda_long of a table with long keys */
	ScanKeyData *skeys;			/* equality on each key (argument varies) */
	RegProcedure *eqprocs;
	Oid		   *eqcolls;
	RegProcedure geproc;		/* >= on the first key, for a walk */
	bool		ordered;		/* index in batch_sorted_groups' order */
} DirectUpsert;

/*
 * Whether index covers the rows the direct upsert writes: every row, or
 * with _lambda_long those WHERE NOT _lambda_long (short keys).
 */
static bool
batch_direct_short_rows(DirectUpsert *d, Relation index)
{
	List	   *pred = RelationGetIndexPredicate(index);
	Node	   *arg;

	if (pred == NIL)
		return true;
	if (d->longattr == InvalidAttrNumber || list_length(pred) != 1 ||
		!is_notclause(linitial(pred)))
		return false;
	arg = (Node *) get_notclausearg(linitial(pred));
	return IsA(arg, Var) && ((Var *) arg)->varattno == d->longattr;
}

/*
 * Prepares the direct upsert of def's batch table into d: false (nothing
 * opened) when the table is one it does not handle, which batch_upsert's
 * statements then do: keys with several images (their states are combined
 * by the statement's GROUP BY), rules, triggers or row security (a
 * statement obeys them), a column that is neither a key nor a state (but
 * _lambda_long, which a table whose keys can be long has), or a unique
 * index it cannot search with the keys' own types. With _lambda_long, the
 * unique index covers the rows WHERE NOT _lambda_long, and the direct
 * upsert takes only groups with short keys (batch_upsert).
 */
static bool
batch_direct_open(ViewDef *def, DirectUpsert *d)
{
	Relation	rel;
	TupleDesc	desc;
	List	   *indexes;
	ListCell   *lc;
	int			covered = 0;
	int			nidx = Max(def->nkeys, 1);
	int			i;
	int			a;

	if (!def->keys_image_eq)
		return false;
	rel = table_open(def->batch_relid, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	if (rel->trigdesc != NULL || rel->rd_rules != NULL || rel->rd_rel->relrowsecurity ||
		rel->rd_rel->relkind != RELKIND_RELATION)
	{
		table_close(rel, RowExclusiveLock);
		return false;
	}
	/* what the statements' executor checks: a publication needs the old row */
	CheckCmdReplicaIdentity(rel, CMD_UPDATE);
	memset(d, 0, sizeof(*d));
	d->rel = rel;
	d->nattrs = desc->natts;
	d->keyattr = palloc0(sizeof(AttrNumber) * Max(def->nkeys, 1));
	d->aggattr = palloc0(sizeof(AttrNumber) * Max(def->naggs, 1));
	for (a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		const char *name = NameStr(att->attname);
		bool		found = false;

		if (att->attisdropped)
			continue;
		if (def->nkeys == 0 && strcmp(name, "_lambda_key") == 0 && att->atttypid == BOOLOID)
		{
			d->globalattr = att->attnum;
			found = true;
		}
		/* computed by the key_is_long() that batch_upsert splits groups by */
		if (def->nkeys > 0 && strcmp(name, BATCH_LONG_COLUMN) == 0 && att->atttypid == BOOLOID &&
			att->attgenerated == ATTRIBUTE_GENERATED_STORED)
		{
			d->longattr = att->attnum;
			continue;
		}
		for (i = 0; !found && i < def->nkeys; i++)
			if (strcmp(name, def->keynames[i]) == 0 && att->atttypid == def->keytypes[i])
			{
				d->keyattr[i] = att->attnum;
				found = true;
			}
		for (i = 0; !found && i < def->naggs; i++)
			if (strcmp(name, def->aggnames[i]) == 0 && att->atttypid == BYTEAOID)
			{
				d->aggattr[i] = att->attnum;
				found = true;
			}
		if (!found || att->attgenerated)
			goto unhandled;
		covered++;
	}
	if (covered != def->nkeys + def->naggs + (def->nkeys == 0 ? 1 : 0))
		goto unhandled;

	/* the unique index over exactly the keys, in their order */
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		Form_pg_index ix = index->rd_index;
		bool		match = ix->indisunique && ix->indimmediate && ix->indisvalid &&
			ix->indnkeyatts == nidx && batch_direct_short_rows(d, index) &&
			RelationGetIndexExpressions(index) == NIL &&
			index->rd_rel->relam == BTREE_AM_OID;

		for (i = 0; match && i < nidx; i++)
			match = ix->indkey.values[i] == (def->nkeys > 0 ? d->keyattr[i] : d->globalattr);
		if (match)
		{
			d->index = index;
			break;
		}
		index_close(index, RowExclusiveLock);
	}
	list_free(indexes);
	if (d->index == NULL)
		goto unhandled;
	d->skeys = palloc0(sizeof(ScanKeyData) * nidx);
	d->eqprocs = palloc0(sizeof(RegProcedure) * nidx);
	d->eqcolls = palloc0(sizeof(Oid) * nidx);
	for (i = 0; i < nidx; i++)
	{
		Oid			type = def->nkeys > 0 ? def->keytypes[i] : BOOLOID;
		Oid			opcintype = d->index->rd_opcintype[i];
		Oid			op = get_opfamily_member(d->index->rd_opfamily[i], opcintype, opcintype,
											 BTEqualStrategyNumber);

		/* the key compared as the opclass's type (varchar as text) */
		if (!OidIsValid(op) || (type != opcintype && !IsBinaryCoercible(type, opcintype)))
		{
			index_close(d->index, RowExclusiveLock);
			goto unhandled;
		}
		d->eqprocs[i] = get_opcode(op);
		d->eqcolls[i] = d->index->rd_indcollation[i];
	}
	/*
	 * Whether the index orders keys as batch_sorted_groups sorts them: each
	 * column ascending, NULLs last, in the default btree order of the key's
	 * type under the key column's collation. Then the upsert can walk it.
	 */
	d->ordered = def->nkeys > 0;
	for (i = 0; d->ordered && i < def->nkeys; i++)
	{
		Oid			opclass = GetDefaultOpClass(def->keytypes[i], BTREE_AM_OID);

		d->ordered = OidIsValid(opclass) &&
			get_opclass_family(opclass) == d->index->rd_opfamily[i] &&
			d->index->rd_indcollation[i] == def->keycolls[i] &&
			d->index->rd_indoption[i] == 0;
	}
	if (d->ordered)
	{
		Oid			opcintype = d->index->rd_opcintype[0];
		Oid			op = get_opfamily_member(d->index->rd_opfamily[0], opcintype, opcintype,
											 BTGreaterEqualStrategyNumber);

		d->ordered = OidIsValid(op);
		if (d->ordered)
			d->geproc = get_opcode(op);
	}
	return true;

unhandled:
	table_close(rel, RowExclusiveLock);
	return false;
}

/* The scan keys that find key values kv/kn in d's unique index. */
static void
batch_direct_keys(ViewDef *def, DirectUpsert *d, Datum *kv, bool *kn)
{
	int			i;

	if (def->nkeys == 0)
	{
		ScanKeyInit(&d->skeys[0], 1, BTEqualStrategyNumber, d->eqprocs[0], BoolGetDatum(true));
		d->skeys[0].sk_collation = d->eqcolls[0];
		return;
	}
	for (i = 0; i < def->nkeys; i++)
	{
		if (kn[i])
			/* NULLS NOT DISTINCT: the one row with a NULL here */
			ScanKeyEntryInitialize(&d->skeys[i], SK_ISNULL | SK_SEARCHNULL, i + 1,
								   InvalidStrategy, InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
		else
			ScanKeyEntryInitialize(&d->skeys[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
								   d->eqcolls[i], d->eqprocs[i], kv[i]);
	}
}

/*
 * Walking the unique index. When it orders keys as the groups are sorted
 * (DirectUpsert.ordered), the upsert need not descend it once per group:
 * one scan walks its entries forward beside the groups, as a merge join
 * would, comparing each entry's key (the index tuple, as an index-only
 * scan returns it) with the group's, and notes the heap TID of each equal
 * entry (batch_direct_upsert fetches them afterwards, in heap order; a
 * dead version's entry then finds no visible row). A refresh's groups are
 * often dense in the index (a fraction of its rows change); where they are
 * not, a walk that passed BATCH_WALK_STEPS entries looking for one group
 * descends once, to the first entry whose first key column is at least the
 * group's (the scan's one key: a btree orders, and positions a scan, by its
 * first column), and walks on from there: a group costs at most that many
 * steps and one descent. A NULL first key (last in the order) is positioned
 * with "IS NULL" instead, as ">=" passes over NULLs.
 *
 * The walk ends before the upsert writes anything.
 */
#define BATCH_WALK_STEPS	32

typedef struct IndexWalk
{
	IndexScanDesc scan;			/* one scan key: the first column */
	SortSupport sortkeys;		/* batch_sorted_groups' comparators */
	ScanKeyData skey;
	bool		positioned;
	bool		nullscan;		/* positioned on "first key IS NULL" */
	bool		have;			/* scan->xs_itup: an entry not yet compared */
	bool		atend;
} IndexWalk;

/*
 * An index entry with a group's key: its heap TID as one number (block,
 * then offset: sorted, they are in heap order), the group's place in the
 * sorted groups and its states (here, as the second pass reads them in
 * heap order, i.e. at random places of groups).
 */
typedef struct DirectMatch
{
	uint64		tid;
	PartialEntry *entry;
	long		group;
} DirectMatch;

/* What the second pass of batch_direct_upsert did with a group's row */
#define DIRECT_NONE		0		/* no visible row: the group is new */
#define DIRECT_FOUND	1		/* updated in place, or nothing to add */
#define DIRECT_MOVED	2		/* updated off its page: needs its entry */

/* The index entries with the groups' keys, as they are found. */
typedef struct DirectMatches
{
	DirectMatch *m;
	long		n;
	long		cap;
} DirectMatches;

static inline uint64
batch_tid_number(ItemPointer tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

static inline void
batch_tid_from_number(uint64 n, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (n >> 16), (OffsetNumber) (n & 0xFFFF));
}

/* Notes that index entry tid has the key of group g (of groups). */
static void
batch_match_add(DirectMatches *ms, ItemPointer tid, SortedGroup *groups, long g)
{
	if (ms->n == ms->cap)
	{
		ms->cap *= 2;
		ms->m = repalloc_huge(ms->m, sizeof(DirectMatch) * ms->cap);
	}
	ms->m[ms->n].tid = batch_tid_number(tid);
	ms->m[ms->n].entry = groups[g].entry;
	ms->m[ms->n].group = g;
	ms->n++;
}

#define ST_SORT batch_sort_matches
#define ST_ELEMENT_TYPE DirectMatch
#define ST_COMPARE(a, b) ((a)->tid < (b)->tid ? -1 : (a)->tid > (b)->tid ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Positions the walk w at the first entry that can hold group grp's key. */
static void
batch_walk_position(DirectUpsert *d, IndexWalk *w, SortedGroup *grp)
{
	if (grp->firstnull[0])
		ScanKeyEntryInitialize(&w->skey, SK_ISNULL | SK_SEARCHNULL, 1, InvalidStrategy,
							   InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
	else
		ScanKeyEntryInitialize(&w->skey, 0, 1, BTGreaterEqualStrategyNumber, InvalidOid,
							   d->eqcolls[0], d->geproc, grp->first[0]);
	index_rescan(w->scan, &w->skey, 1, NULL, 0);
	w->positioned = true;
	w->nullscan = grp->firstnull[0];
	w->have = false;
	w->atend = false;
}

/* Group grp's key against the walk's current entry: <0, 0, >0. */
static int
batch_walk_cmp(ViewDef *def, IndexWalk *w, SortedGroup *grp)
{
	IndexTuple	itup = w->scan->xs_itup;
	TupleDesc	desc = w->scan->xs_itupdesc;
	int			i;

	for (i = 0; i < def->nkeys; i++)
	{
		bool		isnull;
		Datum		v = index_getattr(itup, i + 1, desc, &isnull);
		bool		gnull;
		Datum		gv = batch_group_value(grp, i, &gnull);
		int			c = ApplySortComparator(gv, gnull, v, isnull, &w->sortkeys[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/*
 * Walks w on to group g (groups come in order), noting in ms every entry
 * with its key.
 */
static void
batch_walk_match(ViewDef *def, DirectUpsert *d, IndexWalk *w, SortedGroup *groups, long g,
				 DirectMatches *ms)
{
	SortedGroup *grp = &groups[g];
	int			steps = 0;
	bool		descended = false;

	if (!w->positioned || w->nullscan != grp->firstnull[0])
	{
		batch_walk_position(d, w, grp);
		descended = true;
	}
	for (;;)
	{
		int			c;

		if (!w->have)
		{
			if (w->atend)
				return;
			if (index_getnext_tid(w->scan, ForwardScanDirection) == NULL)
			{
				w->atend = true;
				return;
			}
			w->have = true;
		}
		c = batch_walk_cmp(def, w, grp);
		/* the entry is past the group: keep it for the next */
		if (c < 0)
			return;
		w->have = false;
		if (c == 0)
		{
			batch_match_add(ms, &w->scan->xs_heaptid, groups, g);
			continue;
		}
		if (++steps >= BATCH_WALK_STEPS && !descended)
		{
			batch_walk_position(d, w, grp);
			descended = true;
		}
	}
}

/*
 * The index entries of d's unique index with the keys of groups (in its
 * order), into ms: walking the index beside them where its order allows,
 * else one descent per group.
 */
static void
batch_direct_matches(ViewDef *def, DirectUpsert *d, SortedGroup *groups, long ngroups,
					 SortSupport sortkeys, Snapshot snap, DirectMatches *ms)
{
	IndexWalk	walk;
	IndexScanDesc scan;
	bool		walking = d->ordered && sortkeys != NULL;
	long		g;

	ms->cap = Max(ngroups / 2, 64);
	ms->m = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DirectMatch) * ms->cap);
	ms->n = 0;
	if (walking)
	{
		memset(&walk, 0, sizeof(walk));
		walk.scan = compat_index_beginscan(d->rel, d->index, snap, 1, 0);
		walk.scan->xs_want_itup = true;
		walk.sortkeys = sortkeys;
		scan = walk.scan;
	}
	else
		scan = compat_index_beginscan(d->rel, d->index, snap, Max(def->nkeys, 1), 0);

	for (g = 0; g < ngroups; g++)
	{
		CHECK_FOR_INTERRUPTS();
		/* the groups are in key order, their keys past two anywhere in memory */
		if (def->nkeys > 2 && g + BATCH_PREFETCH < ngroups)
		{
			lambda_prefetch(groups[g + BATCH_PREFETCH].values);
			lambda_prefetch(groups[g + BATCH_PREFETCH].nulls);
		}
		if (walking)
			batch_walk_match(def, d, &walk, groups, g, ms);
		else
		{
			ItemPointer tid;

			batch_direct_keys(def, d, groups[g].values, groups[g].nulls);
			index_rescan(scan, d->skeys, Max(def->nkeys, 1), NULL, 0);
			while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
				batch_match_add(ms, tid, groups, g);
		}
	}
	index_endscan(scan);
}

/*
 * The indexes of result relation all other than unique (the batch table's
 * unique index over the keys), into others, which shares their relations
 * and IndexInfos with all (so others is never closed itself: closing all
 * closes them). Returns the IndexInfo of unique.
 *
 * A row updated off its page needs index entries for its new version. Its
 * key is the old version's, so the unique index gets its entry without a
 * uniqueness check (which would visit the old version in the heap and,
 * finding it, try a bottom-up deletion of versions that are not dead yet);
 * the other indexes, which the owner may have added (partial, on
 * expressions, with an exclusion constraint), get theirs through
 * ExecInsertIndexTuples on others, exactly as the executor makes and checks
 * them. A deferrable constraint has a trigger, and a batch table with
 * triggers is not upserted directly (batch_direct_open).
 */
static IndexInfo *
batch_other_indexes(ResultRelInfo *all, Relation unique, ResultRelInfo *others)
{
	IndexInfo  *uinfo = NULL;
	int			n = 0;
	int			i;

	InitResultRelInfo(others, all->ri_RelationDesc, 1, NULL, 0);
	others->ri_IndexRelationDescs = palloc(sizeof(Relation) * Max(all->ri_NumIndices, 1));
	others->ri_IndexRelationInfo = palloc(sizeof(IndexInfo *) * Max(all->ri_NumIndices, 1));
	for (i = 0; i < all->ri_NumIndices; i++)
	{
		if (RelationGetRelid(all->ri_IndexRelationDescs[i]) == RelationGetRelid(unique))
		{
			uinfo = all->ri_IndexRelationInfo[i];
			continue;
		}
		others->ri_IndexRelationDescs[n] = all->ri_IndexRelationDescs[i];
		others->ri_IndexRelationInfo[n] = all->ri_IndexRelationInfo[i];
		n++;
	}
	others->ri_NumIndices = n;
	if (uinfo == NULL)
		elog(ERROR, "unique index of the batch table not found among its indexes");
	return uinfo;
}

/*
 * Combines the states of batch row found (visible, in its buffer) with
 * those of group e and updates the row in place. Returns how the update
 * went (COMPAT_INDEXES_*: which indexes need entries for the new version,
 * *newtup, which has its TID), or -1 when the group had no state to add.
 * Works in the current memory context, which the caller resets.
 */
static int
batch_direct_combine(ViewDef *def, DirectUpsert *d, PartialEntry *e, TupleTableSlot *found,
					 Datum *values, bool *nulls, bool *replace, HeapTuple *newtup)
{
	bool		changed = false;
	bool		shouldfree;
	HeapTuple	oldtup;
	int			update;
	int			i;

	/* combine the row's states with the group's: existing first */
	slot_getallattrs(found);
	memset(replace, 0, sizeof(bool) * d->nattrs);
	for (i = 0; i < def->naggs; i++)
	{
		AggMeta    *m = &def->aggs[i].meta;
		int			att = d->aggattr[i] - 1;
		bytea	   *mine;
		bytea	   *theirs;
		Datum		va;
		bool		na = false;

		if (e->nulls[i])
			continue;
		mine = aggmeta_serialize(m, e->values[i]);
		changed = replace[att] = true;
		if (found->tts_isnull[att])
		{
			values[att] = PointerGetDatum(mine);
			nulls[att] = false;
			continue;
		}
		theirs = DatumGetByteaPP(found->tts_values[att]);
		va = aggmeta_deserialize(m, VARDATA_ANY(theirs), VARSIZE_ANY_EXHDR(theirs),
								 CurrentMemoryContext);
		aggmeta_combine(m, &va, &na,
						aggmeta_deserialize(m, VARDATA_ANY(mine), VARSIZE_ANY_EXHDR(mine),
											CurrentMemoryContext),
						false, CurrentMemoryContext);
		nulls[att] = na;
		values[att] = na ? (Datum) 0 : PointerGetDatum(aggmeta_serialize(m, va));
	}
	if (!changed)
		return -1;
	oldtup = ExecFetchSlotHeapTuple(found, false, &shouldfree);
	*newtup = heap_modify_tuple(oldtup, RelationGetDescr(d->rel), values, nulls, replace);
	update = compat_simple_heap_update(d->rel, &found->tts_tid, *newtup);
	if (shouldfree)
		heap_freetuple(oldtup);
	return update;
}

/*
 * The third pass of batch_direct_upsert: the groups after the last
 * DIRECT_FOUND one in key order, pending (moved rows and new groups), and
 * the new groups' rows, in slots.
 */
#define BATCH_MULTI_INSERT	1000	/* new rows inserted at once */
#define BATCH_PENDING		4000	/* groups written at once */

typedef struct DirectWrite
{
	ViewDef    *def;
	DirectUpsert *d;
	ResultRelInfo *rri;			/* every index of the batch table */
	IndexInfo  *uinfo;			/* of the unique one */
	EState	   *estate;
	SortedGroup *groups;
	uint8	   *state;
	ItemPointerData *moved;
	CommandId	cid;
	MemoryContext cxt;			/* of the rows in slots */
	TupleTableSlot *slots[BATCH_MULTI_INSERT];
	int			nslots;
	long		pending[BATCH_PENDING];
	int			npending;
} DirectWrite;

/*
 * Inserts w's new rows at once (table_multi_insert: a page's rows in one
 * WAL record, under one buffer lock), then makes the pending groups' index
 * entries in key order: a moved row's in the unique index (without a
 * uniqueness check: its key is its old version's, see
 * batch_other_indexes), a new row's in every index as the executor does.
 */
static void
batch_direct_write(DirectWrite *w)
{
	ViewDef    *def = w->def;
	Datum		ivalues[INDEX_MAX_KEYS];
	bool		inulls[INDEX_MAX_KEYS];
	int			s = 0;
	int			p;
	int			i;
	MemoryContext old = MemoryContextSwitchTo(w->cxt);

	if (w->nslots > 0)
		table_multi_insert(w->d->rel, w->slots, w->nslots, w->cid, 0, NULL);
	for (p = 0; p < w->npending; p++)
	{
		long		g = w->pending[p];

		if (w->state[g] == DIRECT_NONE)
		{
			(void) ExecInsertIndexTuples(w->rri, w->slots[s], w->estate, false, false, NULL, NIL, false);
			ExecClearTuple(w->slots[s]);
			s++;
			ResetPerTupleExprContext(w->estate);
			continue;
		}
		Assert(w->state[g] == DIRECT_MOVED);
		if (!w->uinfo->ii_ReadyForInserts)
			continue;
		/*
		 * the index's columns are the keys (batch_direct_open); a key has
		 * one image, so the group's values are the row's
		 */
		if (def->nkeys == 0)
		{
			ivalues[0] = BoolGetDatum(true);
			inulls[0] = false;
		}
		for (i = 0; i < def->nkeys; i++)
			ivalues[i] = batch_group_value(&w->groups[g], i, &inulls[i]);
		(void) index_insert(w->d->index, ivalues, inulls, &w->moved[g], w->d->rel,
							UNIQUE_CHECK_NO, false, w->uinfo);
	}
	Assert(s == w->nslots);
	w->nslots = 0;
	w->npending = 0;
	MemoryContextSwitchTo(old);
	MemoryContextReset(w->cxt);
}

/*
 * Upserts groups (sorted in the unique index's order) into the batch table
 * of d, which batch_direct_open prepared, and closes it. Returns the number
 * of groups inserted.
 *
 * In three passes. The first finds the unique index's entries with the
 * groups' keys (batch_direct_matches: in key order, no heap access). The
 * second fetches their rows in heap order, so that the batch table is read
 * page after page (one pin, one prune and at most one read of each page)
 * rather than at random, which the key order is, as the table is in its
 * build's order; a visible row gets its states combined with the group's and
 * is updated in place, its new version's entries in the indexes other than
 * the unique one made right away (they need the tuple). The third goes
 * through the groups in key order: a row the second moved off its page gets
 * its unique-index entry (its key, from the group), a group without a
 * visible row is inserted with its index entries, so that the unique index
 * is written leaf after leaf. Between the second and third passes the new
 * versions of moved rows have no entry in the unique index; nobody reads it
 * for them meanwhile (other transactions see the old versions until this
 * one commits, and refreshes of a view are serialized), and the third pass
 * looks only for the keys of groups without a row.
 */
static int64
batch_direct_upsert(ViewDef *def, DirectUpsert *d, SortedGroup *groups, long ngroups,
					SortSupport sortkeys)
{
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	ResultRelInfo *others = makeNode(ResultRelInfo);
	IndexInfo  *uinfo;
	TupleTableSlot *found = table_slot_create(d->rel, NULL);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(d->rel), &TTSOpsHeapTuple);
	IndexFetchTableData *fetch;
	DirectMatches ms;
	ItemPointerData *moved;
	uint8	   *state;
	DirectWrite w;
	Snapshot	snap;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda direct upsert",
												 ALLOCSET_DEFAULT_SIZES);
	Datum	   *values = palloc(sizeof(Datum) * d->nattrs);
	bool	   *nulls = palloc(sizeof(bool) * d->nattrs);
	bool	   *replace = palloc(sizeof(bool) * d->nattrs);
	int64		inserted = 0;
	long		g;
	long		k;
	int			i;

	/* see what the statements before saw, this transaction's DELETE too */
	CommandCounterIncrement();
	snap = RegisterSnapshot(GetLatestSnapshot());
	InitResultRelInfo(rri, d->rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	uinfo = batch_other_indexes(rri, d->index, others);

	/* 1. the index entries with the groups' keys */
	batch_direct_matches(def, d, groups, ngroups, sortkeys, snap, &ms);

	/*
	 * 2. their rows in heap order: a visible one (at most one a key) is
	 * combined and updated. Rows updated here are not visible to snap (this
	 * command's), nor are the versions of other entries' rows they replace
	 * reached again (each entry is fetched once).
	 */
	batch_sort_matches(ms.m, ms.n);
	state = MemoryContextAllocHuge(CurrentMemoryContext, Max(ngroups, 1));
	memset(state, DIRECT_NONE, Max(ngroups, 1));
	moved = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ItemPointerData) * Max(ngroups, 1));
	fetch = table_index_fetch_begin(d->rel);
	for (k = 0; k < ms.n; k++)
	{
		DirectMatch *m = &ms.m[k];
		ItemPointerData tid;
		bool		call_again = false;
		HeapTuple	tup;
		int			update;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		/* the states of the rows ahead are anywhere in memory */
		if (k + 2 * BATCH_PREFETCH < ms.n)
			lambda_prefetch(ms.m[k + 2 * BATCH_PREFETCH].entry);
		if (k + BATCH_PREFETCH < ms.n)
		{
			DirectMatch *ahead = &ms.m[k + BATCH_PREFETCH];

			lambda_prefetch(ahead->entry->values);
			lambda_prefetch(ahead->entry->nulls);
			lambda_prefetch(&state[ahead->group]);
		}
		batch_tid_from_number(m->tid, &tid);
		if (!table_index_fetch_tuple(fetch, &tid, snap, found, &call_again, NULL))
			continue;
		if (state[m->group] != DIRECT_NONE)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("batch table \"%s\" has two visible rows for one key",
							RelationGetRelationName(d->rel)),
					 errdetail("Its unique index over the keys found both; nothing was refreshed."),
					 errhint("Rebuild it from the events with lambda.recompute() on its continuous view.")));
		state[m->group] = DIRECT_FOUND;
		old = MemoryContextSwitchTo(rowcxt);
		update = batch_direct_combine(def, d, m->entry, found, values, nulls, replace, &tup);
		if (update == COMPAT_INDEXES_ALL || update == COMPAT_INDEXES_SUMMARIZING)
		{
			if (update == COMPAT_INDEXES_ALL)
			{
				state[m->group] = DIRECT_MOVED;
				moved[m->group] = tup->t_self;
			}
			if (others->ri_NumIndices > 0)
			{
				ExecStoreHeapTuple(tup, slot, false);
				/*
				 * not flagged as an update: that hint (keys unchanged)
				 * needs a range table, which this executor state has not
				 */
				(void) ExecInsertIndexTuples(others, slot, estate, false, false, NULL, NIL,
											 update == COMPAT_INDEXES_SUMMARIZING);
				ExecClearTuple(slot);
			}
		}
		ExecClearTuple(found);
		ResetPerTupleExprContext(estate);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	table_index_fetch_end(fetch);
	pfree(ms.m);

	/*
	 * 3. in key order: the unique-index entries of the rows moved, and the
	 * groups without a row (batch_direct_write)
	 */
	w.def = def;
	w.d = d;
	w.rri = rri;
	w.uinfo = uinfo;
	w.estate = estate;
	w.groups = groups;
	w.state = state;
	w.moved = moved;
	w.cid = GetCurrentCommandId(true);
	w.cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda direct upsert rows",
								  ALLOCSET_DEFAULT_SIZES);
	memset(w.slots, 0, sizeof(w.slots));
	w.nslots = 0;
	w.npending = 0;
	for (g = 0; g < ngroups; g++)
	{
		PartialEntry *e = groups[g].entry;
		HeapTuple	tup;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		/* the keys of the groups ahead, and the states of new ones */
		if (g + 2 * BATCH_PREFETCH < ngroups && state[g + 2 * BATCH_PREFETCH] == DIRECT_NONE)
			lambda_prefetch(groups[g + 2 * BATCH_PREFETCH].entry);
		if (g + BATCH_PREFETCH < ngroups)
		{
			SortedGroup *ahead = &groups[g + BATCH_PREFETCH];

			if (def->nkeys > 2)
			{
				lambda_prefetch(ahead->values);
				lambda_prefetch(ahead->nulls);
			}
			if (state[g + BATCH_PREFETCH] == DIRECT_NONE)
			{
				lambda_prefetch(ahead->entry->values);
				lambda_prefetch(ahead->entry->nulls);
			}
		}
		if (state[g] == DIRECT_FOUND)
			continue;
		w.pending[w.npending++] = g;
		if (state[g] == DIRECT_NONE)
		{
			old = MemoryContextSwitchTo(rowcxt);
			memset(nulls, 0, sizeof(bool) * d->nattrs);
			if (def->nkeys == 0)
				values[d->globalattr - 1] = BoolGetDatum(true);
			/* the groups here have short keys (batch_upsert) */
			if (d->longattr != InvalidAttrNumber)
				values[d->longattr - 1] = BoolGetDatum(false);
			for (i = 0; i < def->nkeys; i++)
				values[d->keyattr[i] - 1] = batch_group_value(&groups[g], i, &nulls[d->keyattr[i] - 1]);
			for (i = 0; i < def->naggs; i++)
			{
				int			att = d->aggattr[i] - 1;

				nulls[att] = e->nulls[i];
				values[att] = e->nulls[i] ? (Datum) 0 :
					PointerGetDatum(aggmeta_serialize(&def->aggs[i].meta, e->values[i]));
			}
			MemoryContextSwitchTo(old);
			/* the slots last till the end, their rows till the next write */
			if (w.slots[w.nslots] == NULL)
				w.slots[w.nslots] = MakeSingleTupleTableSlot(RelationGetDescr(d->rel), &TTSOpsHeapTuple);
			MemoryContextSwitchTo(w.cxt);
			tup = heap_form_tuple(RelationGetDescr(d->rel), values, nulls);
			/* the slot owns it: nothing to copy when the insert materializes it */
			ExecStoreHeapTuple(tup, w.slots[w.nslots++], true);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
			inserted++;
		}
		if (w.nslots == BATCH_MULTI_INSERT || w.npending == BATCH_PENDING)
			batch_direct_write(&w);
	}
	batch_direct_write(&w);
	for (i = 0; i < BATCH_MULTI_INSERT && w.slots[i] != NULL; i++)
		ExecDropSingleTupleTableSlot(w.slots[i]);
	MemoryContextDelete(w.cxt);

	pfree(moved);
	pfree(state);
	UnregisterSnapshot(snap);
	ExecDropSingleTupleTableSlot(found);
	ExecDropSingleTupleTableSlot(slot);
	/* others shares rri's indexes: closed once, here */
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	MemoryContextDelete(rowcxt);
	index_close(d->index, RowExclusiveLock);
	table_close(d->rel, RowExclusiveLock);
	/* the statements after this see the rows */
	CommandCounterIncrement();
	return inserted;
}

/*
 * Upserts groups through statements: short keys by INSERT ... ON CONFLICT
 * on the unique index (prepared only when shorts: some may be short), long
 * ones (split: a batch table with _lambda_long) by their hash. Returns the
 * number of groups inserted.
 */
static int64
batch_upsert_statements(ViewDef *def, bool shorts, bool split, SortedGroup *groups, long ngroups)
{
	char	   *batchname = batch_qualified_name(def->batch_relid);
	UpsertChunk shortc;
	UpsertChunk longc;
	int64		inserted = 0;
	int			i;
	MemoryContext chunk_cxt;
	long		g;

	Assert(shorts || split);
	shortc.n = 0;
	shortc.plan = NULL;
	if (shorts)
		batch_chunk_init(&shortc, def, batch_upsert_short_sql(def, batchname, split), false);
	if (split)
		batch_chunk_init(&longc, def, batch_upsert_long_sql(def, batchname), true);
	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda upsert", ALLOCSET_DEFAULT_SIZES);

	for (g = 0; g < ngroups; g++)
	{
		PartialEntry *e = groups[g].entry;
		Datum	   *kv = groups[g].values;
		bool	   *kn = groups[g].nulls;
		UpsertChunk *c = &shortc;
		MemoryContext old = MemoryContextSwitchTo(chunk_cxt);

		if (groups[g].islong)
		{
			c = &longc;
			c->cols[c->ncols - 1][c->n] = Int64GetDatum(batch_values_hash(def->nkeys, def->keytypes,
																		  def->keycolls, kv, kn));
			c->nulls[c->ncols - 1][c->n] = false;
		}
		Assert(c->plan != NULL);
		for (i = 0; i < def->nkeys; i++)
		{
			c->cols[i][c->n] = kv[i];
			c->nulls[i][c->n] = kn[i];
		}
		for (i = 0; i < def->naggs; i++)
		{
			c->nulls[def->nkeys + i][c->n] = e->nulls[i];
			c->cols[def->nkeys + i][c->n] = e->nulls[i] ? (Datum) 0 :
				PointerGetDatum(aggmeta_serialize(&def->aggs[i].meta, e->values[i]));
		}
		MemoryContextSwitchTo(old);
		c->n++;
		if (c->n == BATCH_CHUNK)
		{
			/* the other chunk's groups live in chunk_cxt too: flush both */
			inserted += batch_chunk_flush(&shortc, def, chunk_cxt);
			if (split)
				inserted += batch_chunk_flush(&longc, def, chunk_cxt);
			MemoryContextReset(chunk_cxt);
		}
	}
	inserted += batch_chunk_flush(&shortc, def, chunk_cxt);
	if (split)
	{
		inserted += batch_chunk_flush(&longc, def, chunk_cxt);
		SPI_freeplan(longc.plan);
	}
	MemoryContextDelete(chunk_cxt);
	if (shorts)
		SPI_freeplan(shortc.plan);
	return inserted;
}

/*
 * Moves the groups with long keys (islong) out of groups into a new array
 * in cxt, returned with their number in *nlong (NULL, 0 when none); the
 * others stay, in their order, *ngroups of them.
 */
static SortedGroup *
batch_take_long(SortedGroup *groups, long *ngroups, MemoryContext cxt, long *nlong)
{
	SortedGroup *longs = NULL;
	long		nshort = 0;
	long		g;

	*nlong = 0;
	for (g = 0; g < *ngroups; g++)
	{
		if (!groups[g].islong)
			groups[nshort++] = groups[g];
		else
		{
			if (longs == NULL)
				longs = MemoryContextAllocHuge(cxt, sizeof(SortedGroup) * (*ngroups - g));
			longs[(*nlong)++] = groups[g];
		}
	}
	*ngroups = nshort;
	return longs;
}

/*
 * Upserts ph's groups into the batch table, combining states with what is
 * there: short keys through the unique index (directly where
 * batch_direct_open can, else by statements), long ones (batch tables with
 * _lambda_long) through their hash, by statements. Returns the number of
 * groups inserted (new rows).
 */
int64
batch_upsert(ViewDef *def, PartialHash *ph)
{
	bool		split = def->nkeys > 0 && batch_has_long_keys(def->batch_relid);
	int64		inserted = 0;
	MemoryContext keys_cxt;
	SortedGroup *groups;
	long		ngroups;
	DirectUpsert direct;
	SortSupport sortkeys;

	if (partial_count(ph) == 0)
		return 0;

	keys_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda upsert keys", ALLOCSET_DEFAULT_SIZES);
	if (batch_direct_open(def, &direct))
	{
		long		nlong = 0;
		SortedGroup *longs = NULL;

		groups = batch_sorted_groups(def, ph, keys_cxt, split, &ngroups, &sortkeys);
		if (split)
			longs = batch_take_long(groups, &ngroups, keys_cxt, &nlong);
		inserted = batch_direct_upsert(def, &direct, groups, ngroups, sortkeys);
		if (nlong > 0)
			inserted += batch_upsert_statements(def, false, true, longs, nlong);
	}
	else
	{
		groups = batch_sorted_groups(def, ph, keys_cxt, split, &ngroups, &sortkeys);
		inserted = batch_upsert_statements(def, true, split, groups, ngroups);
	}
	MemoryContextDelete(keys_cxt);
	return inserted;
}
