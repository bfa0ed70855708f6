/*-------------------------------------------------------------------------
 *
 * catalog_source.c
 *	  The Kafka side of pg_lambda's catalog: every query on the tables of
 *	  sources, their offsets and their dead letters.
 *
 * The companion of catalog.c (which owns event_table and continuous_view),
 * built on its catalog_begin()/catalog_end(): each function here runs its
 * statements as the catalog's owner with search_path pinned, so callers
 * need no privilege on the catalog and never write catalog SQL.
 *
 * Tables (this file owns every query on them; other files call functions):
 *   lambda_catalog.source         a Kafka source's settings (source.c
 *                                 creates, alters, starts, stops and drops
 *                                 them; worker.c loads and re-checks them)
 *   lambda_catalog.source_secret  its librdkafka options, which may hold
 *                                 credentials and which no other role reads
 *   lambda_catalog.source_offset  per partition: the next offset to
 *                                 consume, counters, last message time;
 *                                 written in each batch's transaction
 *                                 (worker.c)
 *   lambda_catalog.dead_letter    messages that could not become rows
 *                                 (written by worker.c, replayed and
 *                                 deleted by dead_letter.c)
 *
 * Version differences: pg_lambda 0.4.0 added source.columns and altered_at
 * (CATALOG_SOURCE_COLUMNS) and dead_letter.kafka_timestamp
 * (CATALOG_DEAD_LETTER_TIMESTAMPS); until ALTER EXTENSION pg_lambda UPDATE
 * has run, the functions here read and write the older columns only.
 *
 * Locking: no locks of its own. Row locks are what callers ask for and
 * hold until their transaction ends: catalog_source_lock (FOR UPDATE: start,
 * stop, drop), catalog_source_get_by_name (FOR SHARE: a replay; FOR UPDATE:
 * an alter), catalog_source_check_current (FOR KEY SHARE: a worker's batch,
 * so that a drop, stop or alter waits for it), catalog_dead_letters_read
 * (FOR UPDATE: the dead letters being replayed).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "catalog_source.h"
#include "guc.h"

/* ------------------------------------------------------------------------
 * lambda_catalog.source and source_secret
 * ------------------------------------------------------------------------
 */

/*
 * Looks up a source by name for start/stop/drop: its id, parallelism and
 * owner, locking its row FOR UPDATE. Returns false when there is none.
 */
bool
catalog_source_lock(const char *name, int32 *id, int *parallelism, Oid *owner)
{
	CatalogScope scope;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	bool		isnull;
	bool		found;

	catalog_begin(&scope);
	if (SPI_execute_with_args("SELECT id, parallelism, owner::pg_catalog.oid FROM lambda_catalog.source "
							  "WHERE name = $1 FOR UPDATE",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	found = (SPI_processed > 0);
	if (found)
	{
		*id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*parallelism = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	}
	catalog_end(&scope);
	return found;
}

/* Whether a source of that name exists. */
bool
catalog_source_exists(const char *name)
{
	CatalogScope scope;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	bool		found;

	catalog_begin(&scope);
	if (SPI_execute_with_args("SELECT 1 FROM lambda_catalog.source WHERE name = $1",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	found = (SPI_processed > 0);
	catalog_end(&scope);
	return found;
}

/*
 * A column list as the text[] the catalog stores.
 */
static Datum
catalog_source_columns_datum(int ncolumns, char **columns)
{
	Datum	   *elems = palloc(sizeof(Datum) * ncolumns);
	int			i;

	for (i = 0; i < ncolumns; i++)
		elems[i] = CStringGetTextDatum(columns[i]);
	return PointerGetDatum(construct_array(elems, ncolumns, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Records a new source (def's settings; a batch size or wait that is the
 * default is stored as NULL) with its options (NULL: none), and returns its
 * id. with_columns: the catalog has source.columns (the 0.4.0 signature of
 * create_kafka_source was called), and def's column list is stored.
 */
int32
catalog_source_insert(const SourceDef *def, Jsonb *options, bool with_columns)
{
	CatalogScope scope;
	Oid			argtypes[14] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID,
	TEXTOID, TEXTOID, INT4OID, INT4OID, OIDOID, JSONBOID, TEXTARRAYOID};
	Datum		args[14];
	char		nulls[15] = "              ";
	int32		id;
	bool		isnull;

	args[0] = CStringGetTextDatum(def->name);
	args[1] = ObjectIdGetDatum(def->target);
	args[2] = CStringGetTextDatum(def->brokers);
	args[3] = CStringGetTextDatum(def->topic);
	args[4] = CStringGetTextDatum(format_name(def->format));
	args[5] = def->group_id ? CStringGetTextDatum(def->group_id) : (Datum) 0;
	nulls[5] = def->group_id ? ' ' : 'n';
	args[6] = Int32GetDatum(def->parallelism);
	args[7] = CStringGetTextDatum(def->start_earliest ? "earliest" : "latest");
	args[8] = CStringGetTextDatum(ingest_event_time_mode_name(def->event_time));
	args[9] = Int32GetDatum(def->batch_size);
	nulls[9] = def->batch_size_is_default ? 'n' : ' ';
	args[10] = Int32GetDatum(def->batch_wait);
	nulls[10] = def->batch_wait_is_default ? 'n' : ' ';
	args[11] = ObjectIdGetDatum(def->owner);
	args[12] = options ? JsonbPGetDatum(options) : DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
	args[13] = def->ncolumns > 0 ? catalog_source_columns_datum(def->ncolumns, def->columns) : (Datum) 0;
	nulls[13] = def->ncolumns > 0 ? ' ' : 'n';
	catalog_begin(&scope);
	if (SPI_execute_with_args(with_columns ?
							  "WITH s AS (INSERT INTO lambda_catalog.source "
							  "(name, target, brokers, topic, format, group_id, parallelism, "
							  " start_from, event_time, batch_size, batch_wait, owner, columns) "
							  "VALUES ($1, $2::pg_catalog.regclass, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
							  "        $12::pg_catalog.regrole, $14) RETURNING id), "
							  "x AS (INSERT INTO lambda_catalog.source_secret (source_id, options) "
							  "      SELECT id, $13 FROM s) "
							  "SELECT id FROM s" :
							  "WITH s AS (INSERT INTO lambda_catalog.source "
							  "(name, target, brokers, topic, format, group_id, parallelism, "
							  " start_from, event_time, batch_size, batch_wait, owner) "
							  "VALUES ($1, $2::pg_catalog.regclass, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
							  "        $12::pg_catalog.regrole) RETURNING id), "
							  "x AS (INSERT INTO lambda_catalog.source_secret (source_id, options) "
							  "      SELECT id, $13 FROM s) "
							  "SELECT id FROM s",
							  with_columns ? 14 : 13, argtypes, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not insert into lambda_catalog.source");
	id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_end(&scope);
	return id;
}

/* Runs one statement on source id ($1), expecting result rc. */
static void
catalog_source_change(const char *sql, int32 id, int rc)
{
	CatalogScope scope;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(id)};

	catalog_begin(&scope);
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, false, 0) != rc)
		elog(ERROR, "could not change lambda_catalog.source");
	catalog_end(&scope);
}

/* start_source (enabled) and stop_source. */
void
catalog_source_set_enabled(int32 id, bool enabled)
{
	catalog_source_change(enabled ?
						  "UPDATE lambda_catalog.source SET enabled = true WHERE id = $1" :
						  "UPDATE lambda_catalog.source SET enabled = false WHERE id = $1",
						  id, SPI_OK_UPDATE);
}

/* drop_source (its secret, offsets and dead letters go by cascade). */
void
catalog_source_delete(int32 id)
{
	catalog_source_change("DELETE FROM lambda_catalog.source WHERE id = $1", id, SPI_OK_DELETE);
}

/*
 * The options of source id after an alter: the stored ones (none when
 * reset) with given merged in, where a key whose value is JSON null removes
 * that option; in the caller's memory context. Not validated.
 */
Jsonb *
catalog_source_merge_options(int32 id, bool reset, Jsonb *given)
{
	CatalogScope scope;
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[3] = {INT4OID, BOOLOID, JSONBOID};
	Datum		args[3];
	char		nulls[4] = "   ";
	Jsonb	   *merged;
	bool		isnull;

	args[0] = Int32GetDatum(id);
	args[1] = BoolGetDatum(reset);
	args[2] = given ? JsonbPGetDatum(given) : (Datum) 0;
	nulls[2] = given ? ' ' : 'n';
	catalog_begin(&scope);
	if (SPI_execute_with_args("SELECT pg_catalog.jsonb_strip_nulls("
							  "  CASE WHEN $2 THEN '{}'::pg_catalog.jsonb "
							  "       ELSE COALESCE((SELECT x.options FROM lambda_catalog.source_secret x "
							  "                       WHERE x.source_id = $1), '{}') END "
							  "  OPERATOR(pg_catalog.||) COALESCE($3, '{}'::pg_catalog.jsonb))",
							  3, argtypes, args, nulls, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read lambda_catalog.source_secret");
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		merged = DatumGetJsonbPCopy(d);
		MemoryContextSwitchTo(old);
	}
	catalog_end(&scope);
	return merged;
}

/*
 * Writes an altered source's settings (and options, when given) and stamps
 * altered_at, which tells its workers to load it again.
 */
void
catalog_source_update(const SourceDef *def, Jsonb *options)
{
	CatalogScope scope;
	Oid			argtypes[9] = {INT4OID, TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID,
	INT4OID, INT4OID, TEXTARRAYOID};
	Datum		args[9];
	char		nulls[10] = "         ";

	args[0] = Int32GetDatum(def->id);
	args[1] = CStringGetTextDatum(def->brokers);
	args[2] = CStringGetTextDatum(format_name(def->format));
	args[3] = Int32GetDatum(def->parallelism);
	args[4] = CStringGetTextDatum(def->start_earliest ? "earliest" : "latest");
	args[5] = CStringGetTextDatum(ingest_event_time_mode_name(def->event_time));
	args[6] = Int32GetDatum(def->batch_size);
	nulls[6] = def->batch_size_is_default ? 'n' : ' ';
	args[7] = Int32GetDatum(def->batch_wait);
	nulls[7] = def->batch_wait_is_default ? 'n' : ' ';
	args[8] = def->ncolumns > 0 ? catalog_source_columns_datum(def->ncolumns, def->columns) : (Datum) 0;
	nulls[8] = def->ncolumns > 0 ? ' ' : 'n';
	catalog_begin(&scope);
	if (SPI_execute_with_args("UPDATE lambda_catalog.source SET brokers = $2, format = $3, "
							  "parallelism = $4, start_from = $5, event_time = $6, batch_size = $7, "
							  "batch_wait = $8, columns = $9, altered_at = pg_catalog.clock_timestamp() "
							  "WHERE id = $1",
							  9, argtypes, args, nulls, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not update lambda_catalog.source");
	if (options != NULL)
	{
		argtypes[1] = JSONBOID;
		args[1] = JsonbPGetDatum(options);
		if (SPI_execute_with_args("UPDATE lambda_catalog.source_secret SET options = $2 "
								  "WHERE source_id = $1",
								  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update lambda_catalog.source_secret");
	}
	catalog_end(&scope);
}

/*
 * The columns of a "SELECT ... SOURCE_FROM" that catalog_source_from_row
 * reads: those of 0.1.0, then (with a 0.4.0 catalog) the column list and
 * altered_at.
 */
#define SOURCE_COLUMNS \
	"s.id, s.name, s.target::pg_catalog.oid, e.time_column::text, s.brokers, s.topic, s.format, " \
	"s.group_id, s.parallelism, s.start_from, s.event_time, s.batch_size, s.batch_wait, " \
	"s.owner::pg_catalog.oid, s.enabled"
#define SOURCE_COLUMNS_0_4 SOURCE_COLUMNS ", s.columns, s.altered_at"
#define SOURCE_FROM \
	" FROM lambda_catalog.source s JOIN lambda_catalog.event_table e ON e.relid = s.target "

static const char *
catalog_source_select_list(void)
{
	return catalog_has(CATALOG_SOURCE_COLUMNS) ? SOURCE_COLUMNS_0_4 : SOURCE_COLUMNS;
}

/*
 * Fills def from the current SPI row of a "SELECT
 * <catalog_source_select_list()>" query, in the caller's memory context.
 */
static void
catalog_source_from_row(HeapTuple tup, TupleDesc desc, MemoryContext cxt, SourceDef *def)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	bool		isnull;
	char	   *s;

	memset(def, 0, sizeof(*def));
	def->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	def->name = SPI_getvalue(tup, desc, 2);
	def->target = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	def->time_column = SPI_getvalue(tup, desc, 4);
	def->brokers = SPI_getvalue(tup, desc, 5);
	def->topic = SPI_getvalue(tup, desc, 6);
	s = SPI_getvalue(tup, desc, 7);
	if (!format_parse_name(s, &def->format))
		elog(ERROR, "unknown format \"%s\" in lambda_catalog.source", s);
	def->group_id = SPI_getvalue(tup, desc, 8);
	def->parallelism = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	def->start_earliest = (strcmp(SPI_getvalue(tup, desc, 10), "earliest") == 0);
	s = SPI_getvalue(tup, desc, 11);
	if (!ingest_parse_event_time_mode(s, &def->event_time))
		elog(ERROR, "unknown event_time \"%s\" in lambda_catalog.source", s);
	def->batch_size = DatumGetInt32(SPI_getbinval(tup, desc, 12, &isnull));
	def->batch_size_is_default = isnull;
	if (isnull)
		def->batch_size = lambda_kafka_batch_size;
	def->batch_wait = DatumGetInt32(SPI_getbinval(tup, desc, 13, &isnull));
	def->batch_wait_is_default = isnull;
	if (isnull)
		def->batch_wait = lambda_kafka_batch_wait;
	def->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 14, &isnull));
	def->enabled = DatumGetBool(SPI_getbinval(tup, desc, 15, &isnull));
	if (desc->natts >= 17)
	{
		Datum		d = SPI_getbinval(tup, desc, 16, &isnull);

		if (!isnull)
		{
			Datum	   *elems;
			int			i;

			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, NULL, &def->ncolumns);
			def->columns = palloc(sizeof(char *) * (def->ncolumns + 1));
			for (i = 0; i < def->ncolumns; i++)
				def->columns[i] = TextDatumGetCString(elems[i]);
		}
		d = SPI_getbinval(tup, desc, 17, &isnull);
		def->altered_at = isnull ? 0 : DatumGetTimestampTz(d);
	}
	MemoryContextSwitchTo(old);
}

/*
 * Reads the source whose column by ("s.id" or "s.name") equals key into def
 * (in the caller's memory context), with its options when with_options,
 * locking its catalog row as lock says ("", " FOR SHARE OF s", " FOR UPDATE
 * OF s"). Returns false when there is none.
 */
static bool
catalog_source_fetch(const char *by, Datum key, Oid keytype, const char *lock,
					 bool with_options, SourceDef *def)
{
	CatalogScope scope;
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[1] = {keytype};
	Datum		args[1] = {key};
	bool		found = false;

	catalog_begin(&scope);
	if (SPI_execute_with_args(psprintf("SELECT %s" SOURCE_FROM "WHERE %s = $1%s",
									   catalog_source_select_list(), by, lock),
							  1, argtypes, args, NULL, lock[0] == '\0', 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	if (SPI_processed > 0)
	{
		found = true;
		catalog_source_from_row(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, cxt, def);
	}
	if (found && with_options)
	{
		uint64		i;
		MemoryContext old;

		argtypes[0] = INT4OID;
		args[0] = Int32GetDatum(def->id);
		if (SPI_execute_with_args("SELECT o.key, o.value FROM lambda_catalog.source_secret x, "
								  "pg_catalog.jsonb_each_text(x.options) o WHERE x.source_id = $1",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read lambda_catalog.source_secret");
		old = MemoryContextSwitchTo(cxt);
		def->noptions = (int) SPI_processed;
		def->option_names = palloc(sizeof(char *) * (SPI_processed + 1));
		def->option_values = palloc(sizeof(char *) * (SPI_processed + 1));
		for (i = 0; i < SPI_processed; i++)
		{
			def->option_names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			def->option_values[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		}
		MemoryContextSwitchTo(old);
	}
	catalog_end(&scope);
	return found;
}

/*
 * Reads source id with its options into def (in the caller's memory
 * context), without locking it. Returns false when it does not exist, or the
 * extension is not installed here.
 */
bool
catalog_source_get(int32 id, SourceDef *def)
{
	if (!OidIsValid(catalog_relid("source")))
		return false;
	return catalog_source_fetch("s.id", Int32GetDatum(id), INT4OID, "", true, def);
}

/*
 * Reads the source named name into def (in the caller's memory context),
 * without its options, locking its row as lock says until the transaction
 * ends. Returns false when there is none.
 */
bool
catalog_source_get_by_name(const char *name, CatalogSourceLock lock, SourceDef *def)
{
	return catalog_source_fetch("s.name", CStringGetTextDatum(name), TEXTOID,
								lock == CATALOG_SOURCE_FOR_SHARE ? " FOR SHARE OF s" : " FOR UPDATE OF s",
								false, def);
}

/*
 * The sources of this database whose workers should run at server start (a
 * List of SourceDef *, options not loaded): the enabled ones, and stopped
 * group-mode ones with a batch left prepared by a crash, whose workers settle
 * it and exit. NIL when the extension is not installed here.
 */
List *
catalog_source_list_to_start(void)
{
	CatalogScope scope;
	MemoryContext cxt = CurrentMemoryContext;
	List	   *result = NIL;
	uint64		i;

	if (!OidIsValid(catalog_relid("source")))
		return NIL;
	catalog_begin(&scope);
	if (SPI_execute("SELECT " SOURCE_COLUMNS SOURCE_FROM
					"WHERE s.enabled OR (s.group_id IS NOT NULL AND EXISTS ("
					"  SELECT 1 FROM pg_catalog.pg_prepared_xacts x, pg_catalog.pg_database d"
					"   WHERE d.datname = pg_catalog.current_database()"
					"     AND x.gid LIKE 'pg_lambda:' || d.oid || ':' || s.id || ':%')) "
					"ORDER BY s.id",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	for (i = 0; i < SPI_processed; i++)
	{
		SourceDef  *def = MemoryContextAlloc(cxt, sizeof(SourceDef));
		MemoryContext old;

		catalog_source_from_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, cxt, def);
		old = MemoryContextSwitchTo(cxt);
		result = lappend(result, def);
		MemoryContextSwitchTo(old);
	}
	catalog_end(&scope);
	return result;
}

/*
 * Checks, in a worker's batch transaction or a short one of its own, whether
 * the source a worker loaded is still wanted and unchanged, locking its row
 * FOR KEY SHARE until commit: a drop, stop or alter (which lock it FOR
 * UPDATE) waits for the batch, and a batch that starts after one of them
 * waits for its commit and then sees it.
 */
SourceCurrency
catalog_source_check_current(const SourceDef *def)
{
	CatalogScope scope;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(def->id)};
	bool		altered_at_known = catalog_has(CATALOG_SOURCE_COLUMNS);
	SourceCurrency result = SOURCE_UNWANTED;

	if (!OidIsValid(catalog_relid("source")))
		return SOURCE_UNWANTED; /* DROP EXTENSION pg_lambda */
	catalog_begin(&scope);
	if (SPI_execute_with_args(altered_at_known ?
							  "SELECT enabled, altered_at FROM lambda_catalog.source "
							  "WHERE id = $1 FOR KEY SHARE" :
							  "SELECT enabled, NULL::pg_catalog.timestamptz FROM lambda_catalog.source "
							  "WHERE id = $1 FOR KEY SHARE",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.source");
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		enabled = DatumGetBool(SPI_getbinval(tup, desc, 1, &isnull));
		Datum		d = SPI_getbinval(tup, desc, 2, &isnull);
		TimestampTz altered_at = isnull ? 0 : DatumGetTimestampTz(d);

		if (enabled)
			result = (altered_at == def->altered_at) ? SOURCE_CURRENT : SOURCE_ALTERED;
	}
	catalog_end(&scope);
	return result;
}

/*
 * Renames column oldname to newname in the column lists of the sources
 * whose target is one of relids (an OID List), stamping altered_at so that
 * their workers load them again. Nothing before 0.4.0, which has no lists.
 */
void
catalog_source_rename_column(List *relids, const char *oldname, const char *newname)
{
	CatalogScope scope;
	ListCell   *lc;
	Datum	   *oids;
	int			n = 0;
	Oid			argtypes[3] = {OIDARRAYOID, TEXTOID, TEXTOID};
	Datum		args[3];

	if (!catalog_has(CATALOG_SOURCE_COLUMNS))
		return;
	oids = palloc(sizeof(Datum) * list_length(relids));
	foreach(lc, relids)
		oids[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	args[0] = PointerGetDatum(construct_array(oids, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	args[1] = CStringGetTextDatum(oldname);
	args[2] = CStringGetTextDatum(newname);
	catalog_begin(&scope);
	if (SPI_execute_with_args("UPDATE lambda_catalog.source "
							  "SET columns = pg_catalog.array_replace(columns, $2, $3), "
							  "    altered_at = pg_catalog.clock_timestamp() "
							  "WHERE target::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1) "
							  "  AND $2 OPERATOR(pg_catalog.=) ANY (columns)",
							  3, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update lambda_catalog.source");
	catalog_end(&scope);
}

/* ------------------------------------------------------------------------
 * lambda_catalog.source_offset
 * ------------------------------------------------------------------------
 */

/*
 * Reads the next offsets stored for the given partitions of source
 * source_id (-1 where none is stored), in the caller's transaction.
 */
void
catalog_source_offsets_read(int32 source_id, int n, const int32 *partitions, int64 *offsets)
{
	CatalogScope scope;
	int			i;

	for (i = 0; i < n; i++)
		offsets[i] = -1;
	catalog_begin(&scope);
	for (i = 0; i < n; i++)
	{
		Oid			argtypes[2] = {INT4OID, INT4OID};
		Datum		args[2] = {Int32GetDatum(source_id), Int32GetDatum(partitions[i])};
		bool		isnull;

		if (SPI_execute_with_args("SELECT next_offset FROM lambda_catalog.source_offset "
								  "WHERE source_id = $1 AND partition = $2",
								  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read lambda_catalog.source_offset");
		if (SPI_processed > 0)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				offsets[i] = DatumGetInt64(d);
		}
	}
	catalog_end(&scope);
}

/*
 * Advances the stored offset of a partition to next_offset and adds to its
 * counters, in a batch's transaction, only if it stands at or before
 * stood_at (where the worker believes it stood). Returns false, changing
 * nothing, when another consumer moved it past that.
 */
bool
catalog_source_offset_advance(int32 source_id, int32 partition, int64 next_offset,
							  int64 events, int64 dead_letters, TimestampTz last_message_at,
							  int64 stood_at)
{
	CatalogScope scope;
	Oid			argtypes[7] = {INT4OID, INT4OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID};
	Datum		args[7];
	bool		advanced;

	args[0] = Int32GetDatum(source_id);
	args[1] = Int32GetDatum(partition);
	args[2] = Int64GetDatum(next_offset);
	args[3] = Int64GetDatum(events);
	args[4] = Int64GetDatum(dead_letters);
	args[5] = TimestampTzGetDatum(last_message_at);
	args[6] = Int64GetDatum(stood_at);
	catalog_begin(&scope);
	if (SPI_execute_with_args("INSERT INTO lambda_catalog.source_offset AS o "
							  "(source_id, partition, next_offset, events, dead_letters, last_message_at) "
							  "VALUES ($1, $2, $3, $4, $5, $6) "
							  "ON CONFLICT (source_id, partition) DO UPDATE SET "
							  "next_offset = excluded.next_offset, "
							  "events = o.events + excluded.events, "
							  "dead_letters = o.dead_letters + excluded.dead_letters, "
							  "last_message_at = excluded.last_message_at, "
							  "updated_at = pg_catalog.now() "
							  "WHERE o.next_offset <= $7",
							  7, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not upsert lambda_catalog.source_offset");
	advanced = (SPI_processed == 1);
	catalog_end(&scope);
	return advanced;
}

/*
 * Records that a partition continues at new_offset instead of from (the
 * offsets in between were deleted by retention), guarded like
 * catalog_source_offset_advance: returns false, changing nothing, when the
 * stored offset is past from.
 */
bool
catalog_source_offset_skip(int32 source_id, int32 partition, int64 from, int64 new_offset)
{
	CatalogScope scope;
	Oid			argtypes[5] = {INT4OID, INT4OID, INT8OID, INT8OID, INT8OID};
	Datum		args[5];
	bool		skipped;

	args[0] = Int32GetDatum(source_id);
	args[1] = Int32GetDatum(partition);
	args[2] = Int64GetDatum(new_offset);
	args[3] = Int64GetDatum(new_offset - from);
	args[4] = Int64GetDatum(from);
	catalog_begin(&scope);
	if (SPI_execute_with_args("INSERT INTO lambda_catalog.source_offset AS o "
							  "(source_id, partition, next_offset, skipped_offsets) "
							  "VALUES ($1, $2, $3, $4) "
							  "ON CONFLICT (source_id, partition) DO UPDATE SET "
							  "next_offset = excluded.next_offset, "
							  "skipped_offsets = o.skipped_offsets + excluded.skipped_offsets, "
							  "updated_at = pg_catalog.now() "
							  "WHERE o.next_offset <= $5",
							  5, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not upsert lambda_catalog.source_offset");
	skipped = (SPI_processed == 1);
	catalog_end(&scope);
	return skipped;
}

/* ------------------------------------------------------------------------
 * lambda_catalog.dead_letter
 * ------------------------------------------------------------------------
 */

/*
 * Records a batch's dead letters, in its transaction; with a 0.4.0 catalog
 * each keeps its message's Kafka timestamp (for a replay).
 */
void
catalog_dead_letters_insert(int32 source_id, int n, const CatalogDeadLetter *letters)
{
	CatalogScope scope;
	bool		keep_timestamps;
	int			i;

	if (n == 0)
		return;
	keep_timestamps = catalog_has(CATALOG_DEAD_LETTER_TIMESTAMPS);
	catalog_begin(&scope);
	for (i = 0; i < n; i++)
	{
		const CatalogDeadLetter *m = &letters[i];
		Oid			argtypes[7] = {INT4OID, INT4OID, INT8OID, BYTEAOID, BYTEAOID, TEXTOID, INT8OID};
		Datum		args[7];
		char		nulls[8] = "       ";
		bytea	   *key = NULL;
		bytea	   *payload = NULL;

		if (m->key)
		{
			key = palloc(VARHDRSZ + m->key_len);
			SET_VARSIZE(key, VARHDRSZ + m->key_len);
			memcpy(VARDATA(key), m->key, m->key_len);
		}
		else
			nulls[3] = 'n';
		if (m->payload)
		{
			payload = palloc(VARHDRSZ + m->len);
			SET_VARSIZE(payload, VARHDRSZ + m->len);
			memcpy(VARDATA(payload), m->payload, m->len);
		}
		else
			nulls[4] = 'n';
		args[0] = Int32GetDatum(source_id);
		args[1] = Int32GetDatum(m->partition);
		args[2] = Int64GetDatum(m->offset);
		args[3] = PointerGetDatum(key);
		args[4] = PointerGetDatum(payload);
		args[5] = CStringGetTextDatum(m->error);
		args[6] = Int64GetDatum(m->timestamp_ms);
		nulls[6] = m->timestamp_ms == -1 ? 'n' : ' ';
		if (SPI_execute_with_args(keep_timestamps ?
								  "INSERT INTO lambda_catalog.dead_letter "
								  "(source_id, partition, \"offset\", key, payload, error, kafka_timestamp) "
								  "VALUES ($1, $2, $3, $4, $5, $6, $7)" :
								  "INSERT INTO lambda_catalog.dead_letter "
								  "(source_id, partition, \"offset\", key, payload, error) "
								  "VALUES ($1, $2, $3, $4, $5, $6)",
								  keep_timestamps ? 7 : 6, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into lambda_catalog.dead_letter");
	}
	catalog_end(&scope);
}

/*
 * Reads (and locks FOR UPDATE, so that a concurrent replay waits and then
 * skips them) the next dead letters of source source_id that f selects,
 * after (*partition, *offset), into msgs[]: at most limit, with payloads
 * (copied into the current memory context) of at most max_bytes together
 * (one, however large; the rows past that are read again by the next
 * call). Moves the position past them and returns how many. A dead letter's
 * Kafka timestamp is the one recorded with it; without one (the message had
 * none, or it was recorded before pg_lambda 0.4.0) the time it was recorded
 * stands in, as a worker uses the time it processes such a message.
 */
int
catalog_dead_letters_read(int32 source_id, const DeadLetterFilter *f, int limit, Size max_bytes,
						  int32 *partition, int64 *offset, IngestMessage *msgs)
{
	CatalogScope scope;
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[5] = {INT4OID, INT4OID, INT8OID, INT4OID, INT8OID};
	Datum		args[5];
	char		nulls[6] = "     ";
	uint64		i;
	int			n;
	Size		bytes = 0;

	args[0] = Int32GetDatum(source_id);
	args[1] = f->partition;
	nulls[1] = f->partition_null ? 'n' : ' ';
	args[2] = f->offset;
	nulls[2] = f->offset_null ? 'n' : ' ';
	args[3] = Int32GetDatum(*partition);
	args[4] = Int64GetDatum(*offset);
	catalog_begin(&scope);
	if (SPI_execute_with_args(psprintf("SELECT partition, \"offset\", payload, "
									   "       COALESCE(%s, (pg_catalog.date_part('epoch', received_at) * 1000)::pg_catalog.int8) "
									   "  FROM lambda_catalog.dead_letter "
									   " WHERE source_id = $1 AND ($2 IS NULL OR partition = $2) "
									   "   AND ($3 IS NULL OR \"offset\" = $3) "
									   "   AND (partition, \"offset\") > ($4, $5) "
									   " ORDER BY partition, \"offset\" LIMIT %d FOR UPDATE",
									   catalog_has(CATALOG_DEAD_LETTER_TIMESTAMPS) ?
									   "kafka_timestamp" : "NULL::pg_catalog.int8",
									   limit),
							  5, argtypes, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read lambda_catalog.dead_letter");
	n = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		IngestMessage *m = &msgs[i];
		bool		isnull;
		Datum		d;

		d = SPI_getbinval(tup, desc, 3, &isnull);
		/* the size of a TOASTed payload is known before it is fetched */
		if (!isnull)
			bytes += toast_raw_datum_size(d);
		if (i > 0 && bytes > max_bytes)
			break;
		n++;
		m->partition = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		m->offset = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		d = SPI_getbinval(tup, desc, 3, &isnull);
		m->payload = NULL;
		m->len = 0;
		if (!isnull)
		{
			bytea	   *b = DatumGetByteaPP(d);
			char	   *copy = MemoryContextAlloc(cxt, VARSIZE_ANY_EXHDR(b) + 1);

			memcpy(copy, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
			m->payload = copy;
			m->len = VARSIZE_ANY_EXHDR(b);
		}
		m->kafka_timestamp_ms = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		*partition = m->partition;
		*offset = m->offset;
	}
	catalog_end(&scope);
	return n;
}

/*
 * After a replayed chunk msgs[0..n): deletes the dead letters that became
 * rows and records the new reason of those that still fail (res).
 */
void
catalog_dead_letters_settle(int32 source_id, const IngestMessage *msgs, int n,
							const IngestResult *res)
{
	CatalogScope scope;
	Oid			argtypes[4] = {INT4OID, INT4OID, INT8OID, TEXTOID};
	Datum		args[4];
	int			dead = 0;
	int			i;

	args[0] = Int32GetDatum(source_id);
	catalog_begin(&scope);
	for (i = 0; i < n; i++)
	{
		bool		failed = (dead < res->ndead && res->dead_index[dead] == i);

		args[1] = Int32GetDatum(msgs[i].partition);
		args[2] = Int64GetDatum(msgs[i].offset);
		if (failed)
		{
			args[3] = CStringGetTextDatum(res->dead_error[dead]);
			dead++;
			if (SPI_execute_with_args("UPDATE lambda_catalog.dead_letter SET error = $4 "
									  "WHERE source_id = $1 AND partition = $2 AND \"offset\" = $3 "
									  "  AND error IS DISTINCT FROM $4",
									  4, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not update lambda_catalog.dead_letter");
		}
		else if (SPI_execute_with_args("DELETE FROM lambda_catalog.dead_letter "
									   "WHERE source_id = $1 AND partition = $2 AND \"offset\" = $3",
									   3, argtypes, args, NULL, false, 0) != SPI_OK_DELETE ||
				 SPI_processed != 1)
			elog(ERROR, "could not delete from lambda_catalog.dead_letter");
	}
	catalog_end(&scope);
}

/*
 * Deletes the dead letters of source source_id that f selects; returns how
 * many.
 */
int64
catalog_dead_letters_delete(int32 source_id, const DeadLetterFilter *f)
{
	CatalogScope scope;
	Oid			argtypes[3] = {INT4OID, INT4OID, INT8OID};
	Datum		args[3];
	char		nulls[4] = "   ";
	bool		isnull;
	int64		deleted;

	args[0] = Int32GetDatum(source_id);
	args[1] = f->partition;
	nulls[1] = f->partition_null ? 'n' : ' ';
	args[2] = f->offset;
	nulls[2] = f->offset_null ? 'n' : ' ';
	catalog_begin(&scope);
	if (SPI_execute_with_args("WITH d AS (DELETE FROM lambda_catalog.dead_letter "
							  "           WHERE source_id = $1 AND ($2 IS NULL OR partition = $2) "
							  "             AND ($3 IS NULL OR \"offset\" = $3) RETURNING 1) "
							  "SELECT pg_catalog.count(*) FROM d",
							  3, argtypes, args, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not delete from lambda_catalog.dead_letter");
	deleted = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_end(&scope);
	return deleted;
}
