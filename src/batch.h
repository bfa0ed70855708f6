/*-------------------------------------------------------------------------
 *
 * batch.h
 *	  The batch layer: refresh, recompute and rebuild.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_BATCH_H
#define LAMBDA_BATCH_H

#include "postgres.h"

#include "utils/snapshot.h"

#include "catalog.h"
#include "partial.h"

/*
 * Batch tables whose keys can be long have this generated column: true for
 * a key too large for the unique btree index (see batch.c). A key is long
 * when its values' uncompressed sizes (each MAXALIGNed) plus an index tuple
 * header exceed BATCH_KEY_MAX_BYTES, well under the btree limit (a third of
 * a page). Stored rows depend on it: never change it without migrating the
 * batch tables.
 */
#define BATCH_LONG_COLUMN	"_lambda_long"
#define BATCH_KEY_MAX_BYTES	(BLCKSZ / 4)

extern char *batch_qualified_name(Oid relid);
extern int64 batch_upsert(ViewDef *def, PartialHash *ph);
extern bool batch_keys_may_be_long(ViewDef *def);
extern bool batch_has_long_keys(Oid batch_relid);
extern bool batch_key_surely_short(ViewDef *def, const int64 *maxbytes);
extern int64 batch_key_value_bytes(ViewDef *def, int col, Datum value);
extern int64 batch_tail_scan(ViewDef *def, Snapshot snap, BatchCut *cut, PartialHash *ph,
							 const char *only, int onlylen);
/* batch_build.c: a recompute as one statement */
extern bool batch_build_possible(ViewDef *def);
extern int64 batch_build(ViewDef *def, Snapshot snap, Datum horizon);
extern void batch_build_check_snapshot(ViewDef *def, Snapshot snap);

extern void batch_refresh(Oid batch_relid, bool full, const char *why);
extern bool batch_rebuild(Oid batch_relid);
extern char *batch_record_failure(Oid batch_relid, const char *message, MemoryContext cxt,
								  int *failures);

#endif							/* LAMBDA_BATCH_H */
