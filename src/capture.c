/*-------------------------------------------------------------------------
 *
 * capture.c
 *	  Capture: the events a transaction inserts, as partial states per
 *	  continuous view, applied to the speed layer when it commits.
 *
 * Capture. Each continuous view has a statement-level AFTER INSERT trigger
 * with a transition table on its event table (lambda_catalog.capture). It
 * folds the statement's rows into a backend-local partial aggregation, one
 * per (view, subtransaction level): a subtransaction that commits merges its
 * states into its parent's, one that aborts discards them. INSERT, COPY and
 * the Kafka workers (ingest.c fires statement triggers) all go through it.
 * A relation with several views has a capture trigger per view, all fired
 * with the same transition table: the first one to fire reads the rows once
 * for every view (keys and arguments that are plain columns come straight
 * from the deformed row, see partial.c), and leaves the others a note
 * (capture_reads) on which they return at once. The note goes with a
 * subtransaction that aborts, and with the transaction.
 * What a statement's capture needs of its relation (its views' definitions
 * and speed-layer slots, the rows' shape, the slots rows are read into) is
 * made by the first statement and kept for the next ones (CaptureRel)
 * until a relcache invalidation or a definition dropped from cview.c's
 * cache makes it stale; a small transaction's partial hash is kept for the
 * next transaction and emptied where it lies (partial_reset): a small
 * transaction pays for neither again.
 * Sessions running with session_replication_role = replica, logical
 * replication's apply workers among them, fire a row-level trigger instead
 * (lambda_catalog.capture_row, ENABLE REPLICA; see triggers.c), which folds
 * each row into the same state.
 *
 * Commit. At PRE_COMMIT the speed layer's commit lock is taken shared; the
 * COMMIT callback applies each view's states and releases it, so that no
 * refresh's cut falls between the commit and the apply (see speed.c).
 * States whose images need no function of the aggregates (count, sum, min,
 * max, avg, ...: states_image_plain) apply straight from the partial hash
 * (speed_apply_partial); the others are serialized at PRE_COMMIT, where a
 * serialization function's error still aborts the transaction (speed_blob),
 * and applied from that blob (speed_apply). An aborted transaction's states
 * are forgotten. The COMMIT callback runs after the wait for the WAL flush,
 * and first prefetches what every view's apply reaches first (its slot, open
 * generation, partial hash, definition; capture_prefetch), so that those
 * misses overlap rather than follow one another view after view.
 *
 * Two-phase commit. At PRE_PREPARE the states become one image, which the
 * PREPARE callback keeps in shared memory under the transaction's GID
 * (speed_stash_put); COMMIT PREPARED applies it under the commit lock,
 * ROLLBACK PREPARED drops it. A callback cannot learn the GID, so whoever
 * prepares names it first: C code prepares with capture_prepare_transaction
 * and finishes with capture_finish_prepared (the Kafka worker in group
 * mode); SQL PREPARE TRANSACTION and COMMIT/ROLLBACK PREPARED reach the
 * same code through ddl.c's utility hook (capture_before_transaction_stmt,
 * capture_after_transaction_stmt). When a transaction prepared any other
 * way, or before the server started, commits, its states are unknown: the
 * open generations of its database's views turn incomplete and are rebuilt
 * from the events.
 *
 * Locking. capture.c owns no shared memory. It holds the speed layer's
 * commit lock shared from PRE_COMMIT to COMMIT and around COMMIT PREPARED
 * (speed_lock_commit, speed_unlock_commit); everything else it reaches
 * through speed.c's functions, which take registry_lock and a view's lock
 * inside. The order is speed.c's: commit_lock, then registry_lock, then a
 * view's lock. On abort, LWLocks are released by the abort itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupconvert.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "memhint.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"

#include "capture.h"
#include "catalog.h"
#include "cview.h"
#include "guc.h"
#include "speed.h"
#include "stateimage.h"

/*
 * States moved out of the backend: a generation of their own
 * (speed_spill_gen_put) when the view's states images need no function
 * (states_image_plain), else a blob (speed_spill_put).
 */
typedef struct Spill
{
	SpeedGen   *gen;			/* or NULL: ... */
	dsa_pointer p;				/* the blob */
	Size		len;
} Spill;

/* A transaction's states for one view at one subtransaction level. */
typedef struct LocalDelta
{
	Oid			batch_relid;
	int			nestlevel;
	ViewDef    *def;
	uint64		epoch;			/* cview_epoch() at which def was current */
	int			slot;			/* the view's speed-layer slot (speed_attach) */
	PartialHash *ph;			/* in capture_cxt */
	List	   *spills;			/* of Spill: states moved out of ph */
	bool		lost;			/* a spill did not fit: states unknown */
	StringInfo	blob;			/* built at PRE_COMMIT, unless the states
								 * apply from ph (states_image_plain) */
} LocalDelta;

/* The most views one pass over a transition table feeds (the rest: their own) */
#define CAPTURE_ONE_PASS	16

/*
 * A statement's transition table that one capture trigger read for every
 * view of the relation (capture_one_pass): the other capture triggers of
 * that statement, still to fire, find their trigger here and return.
 */
typedef struct CaptureRead
{
	Tuplestorestate *ts;
	int			nestlevel;
	int			npending;
	Oid			pending[CAPTURE_ONE_PASS];	/* the triggers still to fire */
} CaptureRead;

/*
 * What the capture triggers of one relation need from one statement to the
 * next, made by the first (capture_rel_get): the views a pass over the
 * transition table feeds, checked (capture_check_trigger), each with its
 * definition, speed-layer slot, the shape of the relation's rows for it
 * (partial_shape) or the map of a partition's rows to the event table's;
 * and the slots the rows are read into. Kept while nothing it was made
 * from may have changed: no relcache invalidation came (of any relation:
 * triggers added, dropped, enabled or disabled, columns added, a view
 * dropped or renamed, a partition attached or detached) and no definition
 * was dropped from cview.c's cache (cview_epoch); made for one trigger
 * firing first and one session_replication_role.
 */
typedef struct CaptureView
{
	Oid			tgoid;			/* its capture trigger */
	ViewDef    *def;
	int			slot;			/* its speed-layer slot, as speed_attach gave it */
	TupleConversionMap *map;	/* a partition's rows to the event table's
								 * shape, or NULL */
	PartialShape *shape;		/* or NULL */
} CaptureView;

typedef struct CaptureRel
{
	MemoryContext cxt;			/* holds it all */
	Oid			relid;
	Oid			tgoid;			/* the trigger that fires first */
	int			role;			/* SessionReplicationRole */
	uint64		epoch;			/* cview_epoch() when made */
	uint64		inval;			/* capture_invals when made */
	bool		dropping;		/* the first trigger's view is being dropped */
	int			nviews;
	CaptureView views[CAPTURE_ONE_PASS];
	TupleDesc	desc;			/* the relation's, copied */
	int			nring;			/* slots made so far */
	TupleTableSlot *ring[PARTIAL_BATCH];
} CaptureRel;

/* How many relations' CaptureRel are kept */
#define CAPTURE_RELS		8

/* A partial hash kept for the next transaction at most this big */
#define CAPTURE_SPARE_BYTES	(64 * 1024)


/* How often (in rows) capture checks its memory against the bound */
#define CAPTURE_CHECK_ROWS	1024

static List *capture_deltas = NIL;	/* of LocalDelta, in TopTransactionContext */
static MemoryContext capture_cxt = NULL;	/* partial hashes, CaptureRels */
static CaptureRel *capture_rels[CAPTURE_RELS];
static uint64 capture_invals = 0;	/* relcache invalidations seen */

/*
 * The CaptureRel a capture trigger reads rows with (its slots hold them),
 * and the subtransaction level it does so at: an error there leaves the
 * slots with rows whose memory the abort frees, so the abort drops it.
 */
static CaptureRel *capture_busy = NULL;
static int	capture_busy_level = 0;

/*
 * Partial hashes of earlier transactions, emptied and made again at their
 * next use (partial_reset), one per definition at most, in capture_cxt;
 * kept while cview_epoch() is capture_spares_epoch.
 */
static List *capture_spares = NIL;
static uint64 capture_spares_epoch = 0;
static List *capture_reads = NIL;	/* of CaptureRead, in TopTransactionContext */
static bool capture_holding_commit_lock = false;
static char capture_prepare_gid[GIDSIZE];
/* the xid of the transaction being prepared (PRE_PREPARE to PREPARE) */
static TransactionId capture_prepare_xid = InvalidTransactionId;
static StringInfo capture_prepare_stash = NULL;	/* built at PRE_PREPARE */

/* finishing a prepared transaction */
static char *capture_finishing = NULL;	/* its stash, copied */
static Size capture_finishing_len = 0;
static bool capture_finishing_missing = false;

/*
 * The batch tables capture triggers name (their argument, a qualified name),
 * resolved: regclassin costs more than a small transaction's rows. Emptied
 * by any relation's invalidation (a rename, a drop).
 */
typedef struct CaptureName
{
	char		name[2 * NAMEDATALEN + 8];
	Oid			relid;
} CaptureName;

#define CAPTURE_NAMES	16
static CaptureName capture_names[CAPTURE_NAMES];
static int	capture_nnames = 0;
static bool capture_names_registered = false;

PG_FUNCTION_INFO_V1(lambda_capture);
PG_FUNCTION_INFO_V1(lambda_capture_row);

/* ------------------------------------------------------------------------
 * Capture
 * ------------------------------------------------------------------------
 */

/*
 * Relcache callback: empties the cache of resolved batch table names and
 * turns every CaptureRel stale (freed at the next look-up, when no trigger
 * is reading rows with it).
 */
static void
capture_names_invalidate(Datum arg pg_attribute_unused(), Oid relid pg_attribute_unused())
{
	capture_nnames = 0;
	capture_invals++;
}

/* capture's long-lived memory (partial hashes, CaptureRels), made on first use */
static void
capture_memory_init(void)
{
	if (capture_cxt == NULL)
		capture_cxt = AllocSetContextCreate(TopMemoryContext, "pg_lambda capture",
											ALLOCSET_SMALL_SIZES);
	if (!capture_names_registered)
	{
		CacheRegisterRelcacheCallback(capture_names_invalidate, (Datum) 0);
		capture_names_registered = true;
	}
}

/* The batch table a capture trigger's argument names. */
static Oid
capture_batch_relid(const char *name)
{
	Oid			relid;
	int			i;

	for (i = 0; i < capture_nnames; i++)
	{
		if (strcmp(capture_names[i].name, name) == 0)
			return capture_names[i].relid;
	}
	capture_memory_init();
	relid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(name)));
	if (strlen(name) < sizeof(capture_names[0].name))
	{
		i = capture_nnames < CAPTURE_NAMES ? capture_nnames++ : 0;
		strcpy(capture_names[i].name, name);
		capture_names[i].relid = relid;
	}
	return relid;
}

/* Frees the spare partial hashes. */
static void
capture_drop_spares(void)
{
	ListCell   *lc;

	foreach(lc, capture_spares)
		partial_destroy(lfirst(lc));
	list_free(capture_spares);
	capture_spares = NIL;
}

/*
 * An empty partial hash for def (current as of cview_epoch() "epoch"), in
 * capture_cxt: a spare one of an earlier transaction, emptied, or a new one.
 */
static PartialHash *
capture_new_partial(ViewDef *def, uint64 epoch)
{
	ListCell   *lc;
	PartialHash *ph;

	capture_memory_init();
	if (capture_spares != NIL && capture_spares_epoch != epoch)
		capture_drop_spares();
	foreach(lc, capture_spares)
	{
		PartialHash *spare = lfirst(lc);

		if (spare->def == def)
		{
			capture_spares = foreach_delete_current(capture_spares, lc);
			ph = partial_reset(spare);
			partial_limit_blocks(ph, (Size) lambda_capture_memory * 1024);
			return ph;
		}
	}
	ph = partial_create(def, capture_cxt);
	/* its blocks small enough for capture_bound to keep it near the bound */
	partial_limit_blocks(ph, (Size) lambda_capture_memory * 1024);
	return ph;
}

/*
 * Done with a transaction's partial hash (it committed, aborted or was
 * prepared): kept for the next transaction when it is small and its
 * definition still current (at most one per definition), else freed.
 */
static void
capture_done_partial(PartialHash *ph, uint64 epoch)
{
	ListCell   *lc;
	MemoryContext old;

	if (epoch != cview_epoch() ||
		MemoryContextMemAllocated(ph->cxt, true) > CAPTURE_SPARE_BYTES)
	{
		partial_destroy(ph);
		return;
	}
	if (capture_spares != NIL && capture_spares_epoch != epoch)
		capture_drop_spares();
	foreach(lc, capture_spares)
	{
		if (((PartialHash *) lfirst(lc))->def == ph->def)
		{
			partial_destroy(ph);
			return;
		}
	}
	old = MemoryContextSwitchTo(capture_cxt);
	capture_spares = lappend(capture_spares, ph);
	capture_spares_epoch = epoch;
	MemoryContextSwitchTo(old);
}

/*
 * The current transaction's states for view def at the current
 * subtransaction level, made on first use (in TopTransactionContext, its
 * partial hash in capture_cxt). def is current as of cview_epoch() "epoch";
 * "slot" is its speed-layer slot.
 */
static LocalDelta *
capture_local_delta(ViewDef *def, uint64 epoch, int slot)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;
	LocalDelta *d;
	MemoryContext old;

	foreach(lc, capture_deltas)
	{
		d = lfirst(lc);
		if (d->batch_relid == def->batch_relid && d->nestlevel == level)
			return d;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	d = palloc0(sizeof(LocalDelta));
	d->batch_relid = def->batch_relid;
	d->nestlevel = level;
	d->def = def;
	d->epoch = epoch;
	d->slot = slot;
	d->ph = capture_new_partial(def, epoch);
	capture_deltas = lappend(capture_deltas, d);
	MemoryContextSwitchTo(old);
	return d;
}

/*
 * Keeps the states of d within lambda.capture_memory: when they take more,
 * they move into the speed layer's shared memory (a spill, which the commit
 * applies before the rest) and d starts over empty, in the memory it had
 * (partial_restart). States that need no serialization function
 * (states_image_plain) move into a generation of their own, one per level:
 * every spill of the level goes into it, keys that come again combined
 * there, so it holds each group once however often the states move (and the
 * commit links its entries into the view's open generation). Other states
 * move as a blob each time. If the area has no room, the states are dropped
 * and the view's open generation turns incomplete when the transaction
 * commits (its readers then read the events, and the scheduler rebuilds
 * it): exact either way.
 */
static void
capture_bound(LocalDelta *d)
{
	long		groups;
	PartialHash *full;

	/* blocks kept for the groups to come (partial_restart) are not in use */
	if (MemoryContextMemAllocated(d->ph->cxt, true) - partial_spare_bytes(d->ph) <=
		(Size) lambda_capture_memory * 1024)
		return;
	if (!d->lost && states_image_plain(d->def))
	{
		Spill	   *last = d->spills ? llast(d->spills) : NULL;

		if (last && last->gen)
		{
			if (!speed_spill_gen_add(last->gen, d->def, d->ph))
				d->lost = true;
		}
		else
		{
			MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
			SpeedGen   *gen = speed_spill_gen_put(d->def, d->ph);

			if (gen != NULL)
			{
				Spill	   *sp = palloc0(sizeof(Spill));

				sp->gen = gen;
				d->spills = lappend(d->spills, sp);
			}
			else
				d->lost = true;
			MemoryContextSwitchTo(old);
		}
	}
	else if (!d->lost)
	{
		/* the blob, and whatever serializing states leaves, go with it */
		MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda spill",
												  ALLOCSET_DEFAULT_SIZES);
		MemoryContext old = MemoryContextSwitchTo(tmp);
		StringInfo	blob = speed_blob(d->def, d->ph);
		dsa_pointer p = speed_spill_put(blob->data, blob->len);

		MemoryContextSwitchTo(TopTransactionContext);
		if (DsaPointerIsValid(p))
		{
			Spill	   *sp = palloc0(sizeof(Spill));

			sp->p = p;
			sp->len = blob->len;
			d->spills = lappend(d->spills, sp);
		}
		else
			d->lost = true;
		MemoryContextSwitchTo(old);
		MemoryContextDelete(tmp);
	}
	/*
	 * Its memory kept for the groups to come (partial_restart), within the
	 * bound, or else, as many groups again most likely, a hash of that size
	 * from the start
	 */
	if (partial_restart(d->ph, (Size) lambda_capture_memory * 1024))
		return;
	full = d->ph;
	groups = partial_count(full);
	d->ph = partial_create_sized(d->def, capture_cxt, groups);
	partial_limit_blocks(d->ph, (Size) lambda_capture_memory * 1024);
	partial_destroy(full);
}

/* Frees the spills of d. */
static void
capture_free_spills(LocalDelta *d)
{
	ListCell   *lc;

	foreach(lc, d->spills)
	{
		Spill	   *sp = lfirst(lc);

		if (sp->gen)
			speed_spill_gen_free(sp->gen);
		else
			speed_spill_free(sp->p);
	}
	d->spills = NIL;
}

/* Whether the current transaction captured events for the view. */
bool
capture_has_delta(Oid batch_relid)
{
	ListCell   *lc;

	foreach(lc, capture_deltas)
	{
		if (((LocalDelta *) lfirst(lc))->batch_relid == batch_relid)
			return true;
	}
	return false;
}

/*
 * Refuses a capture trigger that pg_lambda did not create for the view def:
 * one on any relation but the view's event table and its partitions (any
 * role could otherwise add events of its own making to anyone's view from
 * a trigger on its own temporary table), or a second one for the view on
 * the same relation (which would count every event twice). What view.c
 * creates: "lambda_capture_<batch table>" ... AFTER INSERT REFERENCING NEW
 * TABLE FOR EACH STATEMENT EXECUTE FUNCTION lambda_catalog.capture('<batch
 * table>'), at most one per view and relation.
 */
static void
capture_check_trigger(Relation rel, Trigger *trig, Oid fnoid, ViewDef *def)
{
	Oid			relid = RelationGetRelid(rel);
	bool		ours = (relid == def->event_relid);
	int			ncaptures = 0;
	int			i;

	if (!ours && rel->rd_rel->relispartition)
		ours = list_member_oid(get_partition_ancestors(relid), def->event_relid);
	if (!ours)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("lambda_catalog.capture() cannot capture events of \"%s\" for continuous view \"%s\"",
						RelationGetRelationName(rel), get_rel_name(def->view_relid)),
				 errdetail("The view's events are the rows of \"%s\" and its partitions.",
						   get_rel_name(def->event_relid)),
				 errhint("pg_lambda creates its capture triggers itself; drop trigger \"%s\".",
						 trig->tgname)));
	for (i = 0; rel->trigdesc && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *t = &rel->trigdesc->triggers[i];

		if (t->tgfoid == fnoid && t->tgnargs == 1 &&
			strcmp(t->tgargs[0], trig->tgargs[0]) == 0)
			ncaptures++;
	}
	if (strncmp(trig->tgname, "lambda_capture_", 15) != 0 ||
		trig->tgnewtable == NULL || ncaptures != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("trigger \"%s\" on \"%s\" is not the capture trigger of continuous view \"%s\"",
						trig->tgname, RelationGetRelationName(rel), get_rel_name(def->view_relid)),
				 errdetail("pg_lambda creates one capture trigger per view and relation, named \"lambda_capture_\" after the view's batch table, with a transition table."),
				 errhint("Drop trigger \"%s\"; lambda_catalog.capture() is for pg_lambda's own triggers.",
						 trig->tgname)));
}

/*
 * Whether trigger t is another capture trigger that fires with this one for
 * the same statement and transition table: an AFTER INSERT FOR EACH
 * STATEMENT trigger of the same function, with a NEW TABLE, no WHEN, and
 * enabled for this session's replication role (as PostgreSQL decided when it
 * queued the statement's triggers).
 */
static bool
capture_fires_with(Trigger *t, Trigger *self, Oid fnoid)
{
	if (t->tgoid == self->tgoid || t->tgfoid != fnoid || t->tgnargs != 1 ||
		t->tgnewtable == NULL || t->tgqual != NULL ||
		!TRIGGER_TYPE_MATCHES(t->tgtype, TRIGGER_TYPE_STATEMENT, TRIGGER_TYPE_AFTER,
							  TRIGGER_TYPE_INSERT))
		return false;
	if (t->tgenabled == TRIGGER_DISABLED)
		return false;
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return t->tgenabled != TRIGGER_FIRES_ON_ORIGIN;
	return t->tgenabled != TRIGGER_FIRES_ON_REPLICA;
}

/*
 * Whether the statement's transition table ts was already read for this
 * trigger's view by another capture trigger of the statement (which then
 * left it in capture_reads); forgets it there.
 */
static bool
capture_already_read(Tuplestorestate *ts, Oid tgoid)
{
	ListCell   *lc;

	foreach(lc, capture_reads)
	{
		CaptureRead *r = lfirst(lc);
		int			i;

		if (r->ts != ts)
			continue;
		for (i = 0; i < r->npending; i++)
		{
			if (r->pending[i] != tgoid)
				continue;
			r->pending[i] = r->pending[--r->npending];
			if (r->npending == 0)
				capture_reads = foreach_delete_current(capture_reads, lc);
			return true;
		}
	}
	return false;
}

/* Frees a CaptureRel (its slots' rows are not touched: see capture_busy). */
static void
capture_rel_free(CaptureRel *cr)
{
	int			i;

	for (i = 0; i < CAPTURE_RELS; i++)
	{
		if (capture_rels[i] == cr)
			capture_rels[i] = NULL;
	}
	MemoryContextDelete(cr->cxt);
}

/*
 * Makes the CaptureRel of relation rel for its capture trigger "trig" (the
 * one that fires first of the statement's), in a new context under the
 * current one: the views it feeds in one pass, each checked and attached
 * to its speed-layer slot.
 */
static CaptureRel *
capture_rel_make(Relation rel, Trigger *trig, Oid fnoid)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_lambda capture relation",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CaptureRel *cr = palloc0(sizeof(CaptureRel));
	ViewDef    *def;
	int			i;

	cr->cxt = cxt;
	cr->relid = RelationGetRelid(rel);
	cr->tgoid = trig->tgoid;
	cr->role = SessionReplicationRole;
	/* as they were before anything below: a change meanwhile makes it stale */
	cr->epoch = cview_epoch();
	cr->inval = capture_invals;
	cr->desc = CreateTupleDescCopy(RelationGetDescr(rel));
	def = cview_get(capture_batch_relid(trig->tgargs[0]));
	if (def == NULL)
	{
		/* the view is being dropped */
		cr->dropping = true;
		MemoryContextSwitchTo(old);
		return cr;
	}
	capture_check_trigger(rel, trig, fnoid, def);

	/*
	 * This trigger's view, then those of the capture triggers that fire after
	 * it for the same statement, which find their view done
	 * (capture_already_read).
	 */
	for (i = -1; i < (rel->trigdesc ? rel->trigdesc->numtriggers : 0) && cr->nviews < CAPTURE_ONE_PASS; i++)
	{
		Trigger    *t = i < 0 ? trig : &rel->trigdesc->triggers[i];
		CaptureView *cv = &cr->views[cr->nviews];
		ViewDef    *tdef = def;

		if (i >= 0)
		{
			if (!capture_fires_with(t, trig, fnoid))
				continue;
			tdef = cview_get(capture_batch_relid(t->tgargs[0]));
			if (tdef == NULL)
				continue;
			capture_check_trigger(rel, t, fnoid, tdef);
		}
		cv->tgoid = t->tgoid;
		cv->def = tdef;
		cv->slot = speed_attach(tdef, false);
		/* a partition inserted into directly: its rows in the event table's shape */
		cv->map = NULL;
		if (cr->relid != tdef->event_relid)
			cv->map = convert_tuples_by_name(cr->desc, tdef->slot->tts_tupleDescriptor);
		/* plain fixed-length columns: read from the rows where they lie */
		cv->shape = cv->map ? NULL : partial_shape(tdef, cr->desc);
		cr->nviews++;
	}
	MemoryContextSwitchTo(old);
	return cr;
}

/*
 * The CaptureRel for a statement's capture trigger "trig" on rel, kept from
 * an earlier statement or made now. *temporary: made for this statement
 * only (the caller frees it), because another capture trigger is reading
 * rows with a kept one (a capture inside a capture: an aggregate's
 * transition function that inserts events).
 */
static CaptureRel *
capture_rel_get(Relation rel, Trigger *trig, Oid fnoid, bool *temporary)
{
	Oid			relid = RelationGetRelid(rel);
	CaptureRel *cr = NULL;
	int			i;
	int			empty = -1;

	capture_memory_init();
	*temporary = capture_busy != NULL;
	if (*temporary)
		return capture_rel_make(rel, trig, fnoid);
	for (i = 0; i < CAPTURE_RELS; i++)
	{
		CaptureRel *c = capture_rels[i];

		if (c == NULL)
		{
			empty = i;
			continue;
		}
		if (c->inval != capture_invals || c->epoch != cview_epoch())
		{
			capture_rel_free(c);
			empty = i;
			continue;
		}
		if (c->relid == relid && c->tgoid == trig->tgoid && c->role == SessionReplicationRole)
			cr = c;
	}
	if (cr)
		return cr;
	cr = capture_rel_make(rel, trig, fnoid);
	MemoryContextSetParent(cr->cxt, capture_cxt);
	if (empty < 0)
	{
		/* full: the first one goes */
		empty = 0;
		capture_rel_free(capture_rels[0]);
	}
	capture_rels[empty] = cr;
	return cr;
}

/*
 * Drops the CaptureRel whose slots a capture trigger was reading rows into
 * when an error aborted the (sub)transaction at "level" or above: the rows
 * are freed with the (sub)transaction, the slots not cleared.
 */
static void
capture_busy_abort(int level)
{
	if (capture_busy == NULL || capture_busy_level < level)
		return;
	capture_rel_free(capture_busy);
	capture_busy = NULL;
}

/*
 * lambda_catalog.capture(): the statement-level AFTER INSERT trigger of a
 * continuous view on its event table. Argument: the view's batch table.
 */
Datum
lambda_capture(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	Oid			fnoid = fcinfo->flinfo->fn_oid;
	CaptureRel *cr;
	bool		temporary;
	Tuplestorestate *ts;
	LocalDelta *ds[CAPTURE_ONE_PASS];
	int			rp;
	int			i;
	int			j;
	uint64		n = 0;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("lambda_catalog.capture() must be an AFTER INSERT FOR EACH STATEMENT trigger"),
				 errhint("pg_lambda creates this trigger itself; do not use the function elsewhere.")));

	rel = td->tg_relation;
	ts = td->tg_newtable;
	/* another capture trigger of this statement read the rows for this view too */
	if (ts != NULL && capture_already_read(ts, td->tg_trigger->tgoid))
		return PointerGetDatum(NULL);
	cr = capture_rel_get(rel, td->tg_trigger, fnoid, &temporary);
	if (cr->dropping || ts == NULL)
	{
		if (temporary)
			MemoryContextDelete(cr->cxt);
		return PointerGetDatum(NULL);
	}

	/*
	 * One pass over the rows for every view of the relation: this trigger's,
	 * then those of the capture triggers that fire after it for the same
	 * statement, which find their view done (capture_already_read).
	 */
	for (i = 0; i < cr->nviews; i++)
	{
		CaptureView *cv = &cr->views[i];

		cv->slot = speed_attach_at(cv->def, cv->slot);
		ds[i] = capture_local_delta(cv->def, cr->epoch, cv->slot);
	}
	if (cr->nviews > 1)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
		CaptureRead *r = palloc(sizeof(CaptureRead));

		r->ts = ts;
		r->nestlevel = GetCurrentTransactionNestLevel();
		r->npending = cr->nviews - 1;
		for (i = 1; i < cr->nviews; i++)
			r->pending[i - 1] = cr->views[i].tgoid;
		capture_reads = lappend(capture_reads, r);
		MemoryContextSwitchTo(old);
	}
	if (!temporary)
	{
		capture_busy = cr;
		capture_busy_level = GetCurrentTransactionNestLevel();
	}

	/*
	 * The rows, PARTIAL_BATCH at a time, each in a slot of its own: a slot
	 * keeps its row (in the tuplestore's memory, or read back from its file
	 * into memory the slot frees) until it takes the next one. Each view
	 * folds a batch's rows in order, so that a group sees its rows in the
	 * statement's order; the memory bound is checked every
	 * CAPTURE_CHECK_ROWS rows (a multiple of PARTIAL_BATCH: at the end of a
	 * batch) and at the end. The slots are the CaptureRel's, made as rows
	 * first need them.
	 */
	StaticAssertStmt(CAPTURE_CHECK_ROWS % PARTIAL_BATCH == 0,
					 "the memory bound is checked at the end of a batch");
	rp = tuplestore_alloc_read_pointer(ts, 0);
	tuplestore_select_read_pointer(ts, rp);
	tuplestore_rescan(ts);
	for (;;)
	{
		int			got = 0;

		CHECK_FOR_INTERRUPTS();
		for (;;)
		{
			if (got == cr->nring)
			{
				MemoryContext old = MemoryContextSwitchTo(cr->cxt);

				cr->ring[cr->nring++] = MakeSingleTupleTableSlot(cr->desc, &TTSOpsMinimalTuple);
				MemoryContextSwitchTo(old);
			}
			if (!tuplestore_gettupleslot(ts, true, false, cr->ring[got]))
				break;
			if (++got == PARTIAL_BATCH)
				break;
		}
		if (got == 0)
			break;
		n += got;
		for (i = 0; i < cr->nviews; i++)
		{
			LocalDelta *d = ds[i];
			CaptureView *cv = &cr->views[i];

			if (cv->map)
			{
				for (j = 0; j < got; j++)
					partial_add_slot(d->ph, execute_attr_map_slot(cv->map->attrMap, cr->ring[j], d->def->slot));
			}
			else
				partial_add_shaped_batch(d->ph, cr->ring, got, cv->shape);
			if (n % CAPTURE_CHECK_ROWS == 0)
				capture_bound(d);
		}
		if (got < PARTIAL_BATCH)
			break;
	}
	for (i = 0; i < cr->nviews; i++)
		capture_bound(ds[i]);
	tuplestore_select_read_pointer(ts, 0);
	/* the slots let go of the rows, which go with the statement */
	for (j = 0; j < cr->nring; j++)
		ExecClearTuple(cr->ring[j]);
	if (temporary)
		MemoryContextDelete(cr->cxt);
	else
		capture_busy = NULL;
	return PointerGetDatum(NULL);
}

/* What lambda_capture_row() keeps across the rows of one statement. */
typedef struct CaptureRowCache
{
	Oid			relid;			/* the relation the trigger fires on */
	Oid			batch_relid;
	TupleConversionMap *map;	/* a partition's rows to the event table's
								 * shape, or NULL */
} CaptureRowCache;

/*
 * lambda_catalog.capture_row(): the row-level AFTER INSERT trigger of a
 * continuous view on its event table and each partition that holds rows,
 * enabled for session_replication_role = replica only (see triggers.c).
 * Logical replication's apply workers insert row by row and fire no
 * statement triggers; this folds each of their rows (and those of a table
 * synchronization's COPY, or of any session running as replica) into the
 * same backend-local partial state as lambda_capture(), which the commit
 * callback applies. Argument: the view's batch table.
 */
Datum
lambda_capture_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	CaptureRowCache *cache;
	ViewDef    *def;
	LocalDelta *d;
	TupleTableSlot *slot;
	uint64		epoch;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("lambda_catalog.capture_row() must be an AFTER INSERT FOR EACH ROW trigger"),
				 errhint("pg_lambda creates this trigger itself; do not use the function elsewhere.")));

	cache = (CaptureRowCache *) fcinfo->flinfo->fn_extra;
	if (cache == NULL || cache->relid != RelationGetRelid(td->tg_relation))
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		Oid			relid = RelationGetRelid(td->tg_relation);

		cache = palloc0(sizeof(CaptureRowCache));
		cache->relid = relid;
		cache->batch_relid = capture_batch_relid(td->tg_trigger->tgargs[0]);
		def = cview_get(cache->batch_relid);
		if (def != NULL && relid != def->event_relid)
		{
			/* only the view's event table and its partitions feed it */
			if (!get_rel_relispartition(relid) ||
				!list_member_oid(get_partition_ancestors(relid), def->event_relid))
				ereport(ERROR,
						(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						 errmsg("lambda_catalog.capture_row() fired on \"%s\", which is not the event table of its view",
								RelationGetRelationName(td->tg_relation)),
						 errhint("pg_lambda creates this trigger itself; do not use the function elsewhere.")));
			cache->map = convert_tuples_by_name(RelationGetDescr(td->tg_relation),
												def->slot->tts_tupleDescriptor);
		}
		fcinfo->flinfo->fn_extra = cache;
		MemoryContextSwitchTo(old);
	}

	def = cview_get(cache->batch_relid);
	if (def == NULL)
		return PointerGetDatum(NULL);		/* the view is being dropped */
	epoch = cview_epoch();		/* def is current as of now */
	d = capture_local_delta(def, epoch, speed_attach(def, false));
	slot = td->tg_trigslot;
	if (cache->map)
		slot = execute_attr_map_slot(cache->map->attrMap, slot, def->slot);
	partial_add_slot(d->ph, slot);
	if (d->ph->rows % CAPTURE_CHECK_ROWS == 0)
		capture_bound(d);
	return PointerGetDatum(NULL);
}

/*
 * Serializes the committing transaction's states (PRE_COMMIT) of each view
 * whose states images need a function (an aggregate's serialization or send
 * function, which may raise an error): there an error still aborts the
 * transaction. The other views' states are applied at COMMIT straight from
 * their partial hash (speed_apply_partial).
 */
static void
capture_build_blobs(void)
{
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	foreach(lc, capture_deltas)
	{
		LocalDelta *d = lfirst(lc);

		d->blob = states_image_plain(d->def) ? NULL : speed_blob(d->def, d->ph);
	}
	MemoryContextSwitchTo(old);
}

/*
 * At COMMIT, before the applies: everything they reach first (each view's
 * speed-layer slot and open generation, its partial hash, its definition)
 * requested from memory for every view at once. The applies run after the
 * wait for the commit record's WAL flush, in which other backends ran, and
 * would otherwise miss on these lines one after the other.
 */
static void
capture_prefetch(void)
{
	ListCell   *lc;

	foreach(lc, capture_deltas)
	{
		LocalDelta *d = lfirst(lc);

		speed_prefetch_slot(d->slot, false);
		lambda_prefetch(d->ph);
		lambda_prefetch(d->def);
	}
	foreach(lc, capture_deltas)
	{
		LocalDelta *d = lfirst(lc);

		speed_prefetch_slot(d->slot, true);
		lambda_prefetch(d->ph->groups);
		lambda_prefetch(partial_first(d->ph));
	}
}

/*
 * The states a prepared transaction leaves for COMMIT PREPARED: for each
 * view, its batch table's OID, the blob's length and the blob. Built at
 * PRE_PREPARE, where an error is still an ordinary one.
 */
static StringInfo
capture_stash_image(void)
{
	StringInfo	image;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	image = makeStringInfo();
	foreach(lc, capture_deltas)
	{
		LocalDelta *d = lfirst(lc);
		StringInfo	blob = speed_blob(d->def, d->ph);
		uint32		l = 0;
		ListCell   *lc2;
		int			lenpos;

		/* spills first: blobs concatenated are one blob */
		appendBinaryStringInfo(image, (char *) &d->batch_relid, sizeof(Oid));
		lenpos = image->len;
		appendBinaryStringInfo(image, (char *) &l, sizeof(uint32));
		foreach(lc2, d->spills)
		{
			Spill	   *sp = lfirst(lc2);

			if (sp->gen)
				speed_spill_gen_blob(sp->gen, image);
			else
				appendBinaryStringInfo(image, speed_spill_data(sp->p), sp->len);
		}
		appendBinaryStringInfo(image, blob->data, blob->len);
		l = image->len - lenpos - sizeof(uint32);
		memcpy(image->data + lenpos, &l, sizeof(uint32));
		pfree(blob->data);
		pfree(blob);
	}
	MemoryContextSwitchTo(old);
	return image;
}

/*
 * At PREPARE: stores the transaction's states under its GID; if memory ran
 * out, the views' open generations turn incomplete instead.
 */
static void
capture_stash(void)
{
	ListCell   *lc;

	if (speed_stash_put(capture_prepare_gid, capture_prepare_stash->data, capture_prepare_stash->len))
		return;
	foreach(lc, capture_deltas)
		speed_mark_incomplete(MyDatabaseId, ((LocalDelta *) lfirst(lc))->batch_relid,
							  "no memory to keep the states of a prepared transaction");
}

/*
 * Forgets the transaction's captured states: it committed, aborted or was
 * prepared. Their partial hashes are kept for the next transaction or freed
 * (capture_done_partial).
 */
static void
capture_reset_xact(void)
{
	ListCell   *lc;

	foreach(lc, capture_deltas)
	{
		LocalDelta *d = lfirst(lc);

		capture_done_partial(d->ph, d->epoch);
	}
	capture_deltas = NIL;
	capture_reads = NIL;
	capture_prepare_stash = NULL;
	capture_prepare_gid[0] = '\0';
}

/*
 * Transaction callback of capture: at PRE_COMMIT serializes the states and
 * takes the commit lock, at COMMIT applies them and releases it; at
 * PRE_PREPARE/PREPARE stashes them under the transaction's GID; on abort
 * forgets them.
 */
static void
capture_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (capture_deltas != NIL)
			{
				capture_build_blobs();
				speed_lock_commit();
				capture_holding_commit_lock = true;
			}
			break;
		case XACT_EVENT_COMMIT:
			capture_prefetch();
			foreach(lc, capture_deltas)
			{
				LocalDelta *d = lfirst(lc);
				ListCell   *lc2;

				if (d->lost)
				{
					capture_free_spills(d);
					speed_mark_incomplete(MyDatabaseId, d->batch_relid,
										  "lambda.speed_layer_memory had no room for the states of a large transaction while it ran");
					continue;
				}
				foreach(lc2, d->spills)
				{
					Spill	   *sp = lfirst(lc2);

					if (sp->gen)
						speed_apply_spill_gen(MyDatabaseId, d->batch_relid, d->def, sp->gen);
					else
						speed_apply_spill(MyDatabaseId, d->batch_relid, d->def, sp->p, sp->len);
				}
				d->spills = NIL;
				if (d->blob)
					speed_apply(MyDatabaseId, d->batch_relid, d->def, d->blob->data, d->blob->len);
				else
					speed_apply_partial(MyDatabaseId, d->batch_relid, d->def, d->ph, d->slot);
			}
			if (capture_holding_commit_lock)
				speed_unlock_commit();
			capture_holding_commit_lock = false;
			capture_reset_xact();
			break;
		case XACT_EVENT_PRE_PREPARE:
			/* the transaction's xid, which PREPARE's callback may not see */
			capture_prepare_xid = GetTopTransactionIdIfAny();
			if (capture_deltas != NIL || OidIsValid(catalog_namespace()))
			{
				capture_prepare_stash = capture_stash_image();
				speed_attach_area();
			}
			break;
		case XACT_EVENT_PREPARE:
			/* the stash image holds copies of the spills: room for it first */
			foreach(lc, capture_deltas)
				capture_free_spills(lfirst(lc));
			if (capture_prepare_stash)
			{
				if (capture_prepare_gid[0] == '\0')
				{
					foreach(lc, capture_deltas)
						speed_prepared_unseen(MyDatabaseId, ((LocalDelta *) lfirst(lc))->batch_relid,
											  capture_prepare_xid,
											  "a transaction was prepared by a path pg_lambda does not see");
				}
				else
					capture_stash();
				foreach(lc, capture_deltas)
				{
					LocalDelta *d = lfirst(lc);

					if (d->lost)
						speed_mark_incomplete(MyDatabaseId, d->batch_relid,
											  "lambda.speed_layer_memory had no room for the states of a large transaction while it ran");
				}
			}
			capture_reset_xact();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			capture_busy_abort(0);
			capture_holding_commit_lock = false;	/* released with all LWLocks */
			foreach(lc, capture_deltas)
				capture_free_spills(lfirst(lc));
			capture_reset_xact();
			break;
		default:
			break;
	}
}

/*
 * Subtransaction callback of capture: a subtransaction that commits merges
 * its states into its parent's (or hands them to the parent level), one
 * that aborts discards them.
 */
static void
capture_subxact_callback(SubXactEvent event, SubTransactionId mySubid pg_attribute_unused(),
						 SubTransactionId parentSubid pg_attribute_unused(),
						 void *arg pg_attribute_unused())
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	if (event == SUBXACT_EVENT_ABORT_SUB)
		capture_busy_abort(level);
	/* transition tables read in the subtransaction: gone if it aborts */
	foreach(lc, capture_reads)
	{
		CaptureRead *r = lfirst(lc);

		if (r->nestlevel < level)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			capture_reads = foreach_delete_current(capture_reads, lc);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			r->nestlevel = level - 1;
	}
	if (capture_deltas == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, capture_deltas)
		{
			LocalDelta *d = lfirst(lc);

			if (d->nestlevel >= level)
			{
				capture_free_spills(d);
				partial_destroy(d->ph);
				capture_deltas = foreach_delete_current(capture_deltas, lc);
			}
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, capture_deltas)
		{
			LocalDelta *d = lfirst(lc);
			ListCell   *lc2;
			LocalDelta *parent = NULL;

			if (d->nestlevel != level)
				continue;
			foreach(lc2, capture_deltas)
			{
				LocalDelta *p = lfirst(lc2);

				if (p->batch_relid == d->batch_relid && p->nestlevel == level - 1)
					parent = p;
			}
			if (parent == NULL)
				d->nestlevel = level - 1;
			else
			{
				MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

				partial_merge(parent->ph, d->ph);
				partial_destroy(d->ph);
				parent->spills = list_concat(parent->spills, d->spills);
				parent->lost |= d->lost;
				MemoryContextSwitchTo(old);
				capture_deltas = foreach_delete_current(capture_deltas, lc);
			}
		}
	}
}

/* ------------------------------------------------------------------------
 * Prepared transactions
 * ------------------------------------------------------------------------
 */

/* Remembers the GID of the transaction about to be prepared. */
static void
capture_set_prepare_gid(const char *gid)
{
	strlcpy(capture_prepare_gid, gid, GIDSIZE);
}

/*
 * Before COMMIT/ROLLBACK PREPARED: takes the transaction's stash (loading
 * the views' definitions while a transaction is open) and the commit lock.
 */
static void
capture_before_finish_prepared(const char *gid)
{
	capture_finishing = NULL;
	capture_finishing_len = 0;
	capture_finishing_missing = false;
	if (!OidIsValid(catalog_namespace()))
		return;
	speed_attach_area();
	speed_lock_commit();
	capture_holding_commit_lock = true;
	capture_finishing = speed_stash_take(gid, &capture_finishing_len);
	if (capture_finishing == NULL)
		capture_finishing_missing = true;
	else
	{
		/* definitions are needed to combine; load them now */
		const char *w = capture_finishing;
		const char *end = w + capture_finishing_len;

		while (w < end)
		{
			Oid			relid;
			uint32		l;

			memcpy(&relid, w, sizeof(Oid));
			w += sizeof(Oid);
			memcpy(&l, w, sizeof(uint32));
			w += sizeof(uint32) + l;
			(void) cview_get(relid);
		}
	}
}

/*
 * After COMMIT/ROLLBACK PREPARED: applies the stash if committed. A
 * committed transaction without a stash was prepared before the server
 * started: its states are unknown, so the views' open generations turn
 * incomplete and are rebuilt from the events.
 */
static void
capture_after_finish_prepared(const char *gid pg_attribute_unused(), bool commit)
{
	if (!capture_holding_commit_lock)
		return;
	if (commit && capture_finishing)
	{
		const char *w = capture_finishing;
		const char *end = w + capture_finishing_len;

		while (w < end)
		{
			Oid			relid;
			uint32		l;
			ViewDef    *def;

			memcpy(&relid, w, sizeof(Oid));
			w += sizeof(Oid);
			memcpy(&l, w, sizeof(uint32));
			w += sizeof(uint32);
			def = cview_get(relid);
			if (def)
				speed_apply(MyDatabaseId, relid, def, w, l);
			w += l;
		}
	}
	else if (commit && capture_finishing_missing)
		speed_mark_database_incomplete(MyDatabaseId,
									   "a transaction prepared before the server started was committed");
	speed_unlock_commit();
	capture_holding_commit_lock = false;
	if (capture_finishing)
		pfree(capture_finishing);
	capture_finishing = NULL;
	capture_finishing_len = 0;
	capture_finishing_missing = false;
}

/*
 * Prepares the current transaction block under gid (PrepareTransactionBlock;
 * the caller then ends it with CommitTransactionCommand), keeping the
 * states it captured in shared memory until capture_finish_prepared. The
 * one entry for C code that prepares a transaction: one prepared without
 * it leaves states nobody can apply, so its views' open generations turn
 * incomplete (and are rebuilt from the events). Returns what
 * PrepareTransactionBlock returns.
 */
bool
capture_prepare_transaction(const char *gid)
{
	capture_set_prepare_gid(gid);
	return PrepareTransactionBlock(gid);
}

/*
 * COMMIT PREPARED (commit) or ROLLBACK PREPARED of gid from C code, in a
 * transaction of the caller's: FinishPreparedTransaction, applying the
 * states capture_prepare_transaction kept, or dropping them.
 */
void
capture_finish_prepared(const char *gid, bool commit)
{
	capture_before_finish_prepared(gid);
	FinishPreparedTransaction(gid, commit);
	capture_after_finish_prepared(gid, commit);
}

/*
 * The same for SQL, from ddl.c's utility hook, before a transaction
 * statement runs: PREPARE TRANSACTION names the transaction to prepare;
 * COMMIT/ROLLBACK PREPARED take the stash and the commit lock. Other
 * transaction statements are no concern of capture.
 */
void
capture_before_transaction_stmt(TransactionStmt *stmt)
{
	if (stmt->kind == TRANS_STMT_PREPARE)
		capture_set_prepare_gid(stmt->gid);
	else if (stmt->kind == TRANS_STMT_COMMIT_PREPARED ||
			 stmt->kind == TRANS_STMT_ROLLBACK_PREPARED)
		capture_before_finish_prepared(stmt->gid);
}

/*
 * After a transaction statement ran (ddl.c): COMMIT/ROLLBACK PREPARED apply
 * or drop the finished transaction's states. Returns whether the statement
 * finished a prepared transaction.
 */
bool
capture_after_transaction_stmt(TransactionStmt *stmt)
{
	if (stmt->kind != TRANS_STMT_COMMIT_PREPARED &&
		stmt->kind != TRANS_STMT_ROLLBACK_PREPARED)
		return false;
	capture_after_finish_prepared(stmt->gid, stmt->kind == TRANS_STMT_COMMIT_PREPARED);
	return true;
}

/* ------------------------------------------------------------------------
 * Init
 * ------------------------------------------------------------------------
 */

/*
 * Installs capture's transaction and subtransaction callbacks.
 */
void
capture_init(void)
{
	RegisterXactCallback(capture_xact_callback, NULL);
	RegisterSubXactCallback(capture_subxact_callback, NULL);
}
