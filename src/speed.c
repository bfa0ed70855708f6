/*-------------------------------------------------------------------------
 *
 * speed.c
 *	  The speed layer: partial states of recent events in shared memory,
 *	  in generations, cut by refreshes and read by queries.
 *
 * This file owns the speed layer's shared memory: a slot per continuous
 * view, the DSA area that holds the generations' tables (generation.c) and
 * the states of prepared transactions, and the locks below. It applies the
 * states capture.c hands it when a transaction commits (speed_apply_partial
 * straight from the partial hash, speed_apply from a blob, and the states
 * spilled while the transaction ran: speed_apply_spill_gen,
 * speed_apply_spill), cuts for a refresh (speed_cut, batch.c), installs
 * what a rebuild computed from the events (speed_install). speed_read.c reads the slots (copies for
 * queries and refreshes, the planner's figures, status and memory), under
 * the locking rules below; the slots' layout is in speed_slot.h. A view's
 * slot follows its view's transactions: made by CREATE (speed_view_created,
 * freed again if the transaction aborts), freed when a DROP commits
 * (speed_view_dropped); its own transaction callback does that.
 *
 * Generations. A view's shared states are kept in generations, each a hash
 * table (key image -> states image) in one DSA area. New transactions apply
 * to the newest ("open") generation. A refresh closes it under the commit
 * lock and takes its snapshot in the same instant (speed_cut), so that the
 * snapshot sees exactly the transactions whose states are in the closed
 * generations: batch_table + generations after its cut = all events. The
 * cut generation is recorded in the catalog with the batch rows; readers
 * combine the batch rows their snapshot sees with the generations after the
 * cut they see. Closed generations are freed once the refresh that folded
 * them is visible to every snapshot (speed_release_locked). A view keeps at
 * most SPEED_MAX_GENS: at the limit a refresh drops the oldest folded one,
 * or merges the oldest two that rolled-back refreshes left unfolded; a
 * generation records the first one it stands for, so readers whose cut
 * falls inside a merged or dropped range see the gap and read the events.
 *
 * A generation is "complete" when it holds the states of every transaction
 * it stands for. It is not after a restart (shared memory is lost: the first
 * generation after the recorded cut is created incomplete), when applying a
 * transaction failed for lack of memory (lambda.speed_layer_memory) and when
 * a prepared transaction committed whose states were lost; nor is one
 * opened while a transaction prepared past pg_lambda's hooks is still
 * prepared (speed_unseen). Readers then
 * answer the tail from the event table (exact, slower), and the scheduler
 * rebuilds the generation from the events (speed_install) or refreshes.
 *
 * Locking. All of the speed layer's locks live here, with the rest of its
 * shared memory ("pg_lambda speed layer": two LWLocks, tranche "pg_lambda
 * speed layer", and one per view slot, tranche "pg_lambda speed view").
 * The commit lock is here rather than in capture.c because it exists for
 * the cut: speed_cut takes it exclusively together with the view's lock and
 * the snapshot. capture.c only takes it shared, through speed_lock_commit
 * and speed_unlock_commit, and owns no shared memory.
 *   commit_lock    held shared by every committing transaction that has
 *                  states to apply, from PRE_COMMIT until its COMMIT
 *                  callback applied them (or from before COMMIT PREPARED
 *                  until after it); held exclusively by speed_cut for an
 *                  instant. Never held while waiting for another lock of
 *                  ours except registry_lock and a view's lock.
 *   registry_lock  the view slots' in_use/dbid/batch_relid and the
 *                  prepared-transaction stash list; creating the DSA area.
 *                  A slot's in_use/dbid/batch_relid change under its lock
 *                  too, so a commit that kept the slot's number from
 *                  capture checks them under the slot's lock alone
 *                  (speed_lock_view_at).
 *   view->lock     everything else in a view slot and its generations'
 *                  tables: exclusive to apply, cut, install or free;
 *                  shared to read.
 *   Order: commit_lock, then registry_lock, then a view's lock.
 *   One unlocked read: speed_prefetch_slot reads a slot's ngens to choose
 *   which of the slot's own lines to prefetch, and nothing through it.
 *   (The scheduler registry and the worker slots have locks of their own,
 *   in scheduler.c and launcher.c, never held with these.)
 *
 * Each slot counts, in keys_version, the changes that may have given one of
 * its generations an entry (an apply that added one, a rebuild, a merge, an
 * absorbed spill), and remembers in keys_moved the last that did so
 * otherwise than by carving entries in order: the ordered runs of readers
 * (merge_run.c) tell from them whether to keep, extend or remake a run.
 *
 * Applying happens after the transaction is committed, where an ERROR
 * would be a PANIC: allocations use DSA_ALLOC_NO_OOM, and errors of
 * aggregate combine functions (an overflow) are caught and turn the
 * generation incomplete.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "memhint.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/dsa.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "aggstate.h"
#include "catalog.h"
#include "cview.h"
#include "generation.h"
#include "guc.h"
#include "keyimage.h"
#include "partial.h"
#include "speed.h"
#include "speed_slot.h"
#include "stateimage.h"

typedef struct SpeedShared
{
	LWLock	   *commit_lock;
	LWLock	   *registry_lock;
	int			tranche;
	dsa_handle	area;
	dsa_pointer stash;			/* SpeedStash list */
	pg_atomic_uint64 keys_base; /* where a new slot's keys_version starts */
	int			nviews;
	SpeedView	views[FLEXIBLE_ARRAY_MEMBER];
} SpeedShared;

/* The states of a prepared transaction, until COMMIT/ROLLBACK PREPARED. */
typedef struct SpeedStash
{
	dsa_pointer next;
	Oid			dbid;
	char		gid[GIDSIZE];
	Size		len;			/* of data: (Oid, uint32 len, blob) ... */
	bool		lost;			/* some states could not be kept */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} SpeedStash;


static SpeedShared *speed_shared = NULL;
static dsa_area *speed_area = NULL;
static shmem_request_hook_type speed_prev_shmem_request = NULL;
static shmem_startup_hook_type speed_prev_shmem_startup = NULL;

static List *speed_dropped = NIL;	/* batch relids dropped by this xact */
static List *speed_created = NIL;	/* batch relids created by this xact */

static void speed_release_locked(SpeedView *v, TransactionId horizon);
static void speed_keys_moved(SpeedView *v);

/* ------------------------------------------------------------------------
 * Shared memory
 * ------------------------------------------------------------------------
 */

/*
 * Size of the speed layer's shared structure: its header, the view slots,
 * then for each slot room for the xids of max_prepared_xacts transactions
 * prepared unseen (speed_unseen).
 */
static Size
speed_shmem_size(void)
{
	return add_size(add_size(offsetof(SpeedShared, views),
							 mul_size(sizeof(SpeedView), lambda_max_continuous_views)),
					mul_size(mul_size(sizeof(TransactionId), Max(max_prepared_xacts, 1)),
							 lambda_max_continuous_views));
}

/*
 * The xids of the transactions that wrote events of view slot v and were
 * prepared by a path pg_lambda does not see (v->nunseen of them; under v's
 * lock). Such a transaction's states are lost at PREPARE, so its commit
 * applies nothing: the generation open when it commits must be incomplete,
 * whichever that is. PREPARE marks the open one incomplete
 * (speed_prepared_unseen); a cut whose snapshot does not see the
 * transaction leaves the new open one incomplete too (speed_cut), until a
 * cut sees it ended. At most max_prepared_xacts are prepared at once, and
 * one that ended leaves when the next is recorded or at the next cut.
 */
static TransactionId *
speed_unseen(SpeedView *v)
{
	char	   *base = (char *) speed_shared + offsetof(SpeedShared, views) +
		sizeof(SpeedView) * speed_shared->nviews;

	return (TransactionId *) base + (v - speed_shared->views) * Max(max_prepared_xacts, 1);
}

/* Records xid as prepared unseen in v, once, while there is room (under v's lock). */
static void
speed_unseen_add(SpeedView *v, TransactionId xid)
{
	TransactionId *xids = speed_unseen(v);
	int			i;

	for (i = 0; i < v->nunseen; i++)
		if (xids[i] == xid)
			return;
	if (TransactionIdIsValid(xid) && v->nunseen < Max(max_prepared_xacts, 1))
		xids[v->nunseen++] = xid;
}

/* Forgets the unseen prepared transactions of v that no longer run (under v's lock). */
static void
speed_unseen_prune(SpeedView *v)
{
	TransactionId *xids = speed_unseen(v);
	int			i;
	int			n = 0;

	for (i = 0; i < v->nunseen; i++)
		if (TransactionIdIsInProgress(xids[i]))
			xids[n++] = xids[i];
	v->nunseen = n;
}

/*
 * shmem_request_hook: reserves the shared structure and its two locks.
 */
static void
speed_shmem_request(void)
{
	if (speed_prev_shmem_request)
		speed_prev_shmem_request();
	RequestAddinShmemSpace(speed_shmem_size());
	RequestNamedLWLockTranche("pg_lambda speed layer", 2);
}

/*
 * shmem_startup_hook: attaches to (and on first start initialises) the
 * shared structure and the view slots' locks.
 */
static void
speed_shmem_startup(void)
{
	bool		found;

	if (speed_prev_shmem_startup)
		speed_prev_shmem_startup();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	speed_shared = ShmemInitStruct("pg_lambda speed layer", speed_shmem_size(), &found);
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche("pg_lambda speed layer");
		int			i;

		memset(speed_shared, 0, speed_shmem_size());
		speed_shared->commit_lock = &locks[0].lock;
		speed_shared->registry_lock = &locks[1].lock;
		speed_shared->tranche = LWLockNewTrancheId();
		speed_shared->area = DSM_HANDLE_INVALID;
		speed_shared->stash = InvalidDsaPointer;
		pg_atomic_init_u64(&speed_shared->keys_base, 1);
		speed_shared->nviews = lambda_max_continuous_views;
		for (i = 0; i < speed_shared->nviews; i++)
			LWLockInitialize(&speed_shared->views[i].lock, speed_shared->tranche);
	}
	LWLockRelease(AddinShmemInitLock);
	LWLockRegisterTranche(speed_shared->tranche, "pg_lambda speed view");
}

/* The DSA area, created by the first backend that needs it. */
static dsa_area *
speed_get_area(void)
{
	MemoryContext old;

	static int	limit_mb = 0;

	if (speed_area)
	{
		if (limit_mb != lambda_speed_layer_memory)
		{
			limit_mb = lambda_speed_layer_memory;
			dsa_set_size_limit(speed_area, (size_t) limit_mb * 1024 * 1024);
		}
		return speed_area;
	}
	LWLockRegisterTranche(speed_shared->tranche, "pg_lambda speed view");
	old = MemoryContextSwitchTo(TopMemoryContext);
	LWLockAcquire(speed_shared->registry_lock, LW_EXCLUSIVE);
	if (speed_shared->area == DSM_HANDLE_INVALID)
	{
		speed_area = dsa_create(speed_shared->tranche);
		dsa_pin(speed_area);
		speed_shared->area = dsa_get_handle(speed_area);
	}
	else
		speed_area = dsa_attach(speed_shared->area);
	dsa_pin_mapping(speed_area);
	LWLockRelease(speed_shared->registry_lock);
	MemoryContextSwitchTo(old);
	limit_mb = lambda_speed_layer_memory;
	dsa_set_size_limit(speed_area, (size_t) limit_mb * 1024 * 1024);
	return speed_area;
}

/*
 * Attaches this backend to the speed layer's memory now, where an error is
 * still an ordinary one: a callback after COMMIT or PREPARE must not be the
 * first to attach.
 */
void
speed_attach_area(void)
{
	(void) speed_get_area();
}

/*
 * Takes the commit lock shared. A transaction that has states to apply
 * holds it from PRE_COMMIT until they are applied (and around COMMIT
 * PREPARED), so that no cut (speed_cut, which takes it exclusively) falls
 * between its commit and its apply.
 */
void
speed_lock_commit(void)
{
	LWLockAcquire(speed_shared->commit_lock, LW_SHARED);
}

/* Releases the commit lock taken by speed_lock_commit. */
void
speed_unlock_commit(void)
{
	LWLockRelease(speed_shared->commit_lock);
}

/* The slot of a view, or NULL. Caller holds registry_lock. */
static SpeedView *
speed_find(Oid dbid, Oid batch_relid)
{
	int			i;

	for (i = 0; i < speed_shared->nviews; i++)
	{
		SpeedView  *v = &speed_shared->views[i];

		if (v->in_use && v->dbid == dbid && v->batch_relid == batch_relid)
			return v;
	}
	return NULL;
}

/* Frees a slot and its generations. Caller holds registry_lock exclusively. */
static void
speed_free_slot(SpeedView *v)
{
	LWLockAcquire(&v->lock, LW_EXCLUSIVE);
	while (v->ngens > 0)
		generation_clear(speed_area, &v->gens[--v->ngens]);
	v->in_use = false;
	LWLockRelease(&v->lock);
}

/*
 * Whether slot i is the view's: for a slot number a backend kept from
 * speed_attach. Read without registry_lock it may be stale: a caller that
 * holds the slot's lock reads it as it stands (whoever takes or frees a
 * slot holds its lock too), one that does not gets an answer as good as
 * speed_lookup's after it released registry_lock.
 */
static inline bool
speed_slot_is(int i, Oid dbid, Oid batch_relid)
{
	SpeedView  *v;

	if (i < 0 || i >= speed_shared->nviews)
		return false;
	v = &speed_shared->views[i];
	return v->in_use && v->dbid == dbid && v->batch_relid == batch_relid;
}

/*
 * The slot of a view, locked exclusively, or NULL. "hint": the slot number
 * speed_attach gave (or -1): when it is still the view's, found without
 * registry_lock, which every committing transaction would otherwise take.
 */
static SpeedView *
speed_lock_view_at(Oid dbid, Oid batch_relid, int hint)
{
	SpeedView  *v;

	if (hint >= 0 && hint < speed_shared->nviews)
	{
		v = &speed_shared->views[hint];
		LWLockAcquire(&v->lock, LW_EXCLUSIVE);
		if (speed_slot_is(hint, dbid, batch_relid))
			return v;
		LWLockRelease(&v->lock);
	}
	LWLockAcquire(speed_shared->registry_lock, LW_SHARED);
	v = speed_find(dbid, batch_relid);
	if (v)
		LWLockAcquire(&v->lock, LW_EXCLUSIVE);
	LWLockRelease(speed_shared->registry_lock);
	return v;
}

/* The slot of a view, locked exclusively, or NULL. */
static SpeedView *
speed_lock_view(Oid dbid, Oid batch_relid)
{
	return speed_lock_view_at(dbid, batch_relid, -1);
}

/* The slot of a view of this database, or NULL (not locked). */
static SpeedView *
speed_lookup(Oid batch_relid)
{
	SpeedView  *v;

	LWLockAcquire(speed_shared->registry_lock, LW_SHARED);
	v = speed_find(MyDatabaseId, batch_relid);
	LWLockRelease(speed_shared->registry_lock);
	return v;
}

/*
 * For speed_read.c: the slot of a view of this database, made if it has
 * none (see speed_attach); not locked.
 */
SpeedView *
speed_slot_attach(ViewDef *def)
{
	return &speed_shared->views[speed_attach(def, false)];
}

/* For speed_read.c: the slot of a view of this database, or NULL; not locked. */
SpeedView *
speed_slot_find(Oid batch_relid)
{
	(void) speed_get_area();
	return speed_lookup(batch_relid);
}

/* For speed_read.c: the number of view slots, used or not. */
int
speed_slot_count(void)
{
	return speed_shared->nviews;
}

/* For speed_read.c: slot i (0 .. speed_slot_count() - 1); not locked. */
SpeedView *
speed_slot_at(int i)
{
	return &speed_shared->views[i];
}

/* For speed_read.c: the speed layer's DSA area, attached. */
dsa_area *
speed_dsa(void)
{
	return speed_get_area();
}

static void
speed_note(SpeedView *v, const char *fmt,...) pg_attribute_printf(2, 3);

/* Sets the view's note (view_status.note). Caller holds v->lock. */
static void
speed_note(SpeedView *v, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(v->note, SPEED_NOTE_LEN, fmt, ap);
	va_end(ap);
}

/* Marks a generation incomplete and frees its states. Caller holds v->lock. */
static void
speed_abandon_gen(dsa_area *area, SpeedView *v, SpeedGen *g, const char *why)
{
	if (g->complete)
	{
		/*
		 * The view's name from the catalog while a transaction is in
		 * progress; at commit or abort (no catalog access) its OID.
		 */
		char	   *name = IsTransactionState() ? get_rel_name(v->view_relid) : NULL;
		char	   *what;

		if (name == NULL && NameStr(v->view_name)[0] != '\0')
			name = NameStr(v->view_name);
		what = name ? psprintf("continuous view \"%s\"", name) :
			psprintf("the continuous view with OID %u", v->view_relid);

		ereport(WARNING,
				(errmsg("continuous view speed layer degraded: %s", why),
				 errdetail("Generation " INT64_FORMAT " of %s no longer holds all its events; the view answers them from the event table until it is rebuilt.",
						   g->gen, what),
				 errhint("The scheduler rebuilds it. If this happens for lack of memory, raise lambda.speed_layer_memory or lower the views' refresh_interval.")));
	}
	g->complete = false;
	generation_clear(area, g);
	speed_keys_moved(v);
	v->refresh_wanted = true;
	speed_note(v, "degraded: %s", why);
}

/* ------------------------------------------------------------------------
 * View slots
 * ------------------------------------------------------------------------
 */

/*
 * Gives a slot that starts a view's life a keys_version no slot had: the
 * ordered runs of merge_run.c remember the version they were built at, and
 * must not take a new view's keys for an old one's. Each slot counts up
 * from its start (2^32 apart). Caller holds v->lock exclusively.
 */
static void
speed_new_keys_version(SpeedView *v)
{
	v->keys_version = pg_atomic_fetch_add_u64(&speed_shared->keys_base, 1) << 32;
	v->keys_moved = v->keys_version;
}

/*
 * A generation of the view gained or lost entries otherwise than carved in
 * order by an apply (generation_carved_since cannot tell them): a rebuild,
 * a merge of two, a spilled generation absorbed, one abandoned. Caller
 * holds v->lock exclusively.
 */
static void
speed_keys_moved(SpeedView *v)
{
	v->keys_version++;
	v->keys_moved = v->keys_version;
}

/*
 * The cut generation the catalog records for a view (0 if none), for a slot
 * speed_attach makes. Read with the latest snapshot; in parallel mode (the
 * leader of a parallel query reading the view), where no new snapshot can
 * be taken, with the query's own, which sees the same cut: a live view has
 * no slot only after a server start, before anything attached it, and no
 * cut commits without its slot (a refresh cuts in the slot first), so every
 * cut was committed before the server started, before any snapshot taken
 * since.
 */
static int64
speed_catalog_cut(Oid batch_relid)
{
	BatchCut	cut;

	catalog_read_cut(batch_relid, IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot(), &cut);
	return cut.found ? cut.gen : 0;
}

/*
 * Records the view's current name in its slot, for the messages of a commit
 * (which cannot read the catalog). Called in a transaction.
 */
static void
speed_remember_name(SpeedView *v, ViewDef *def)
{
	char	   *name = get_rel_name(def->view_relid);

	if (name == NULL || strcmp(NameStr(v->view_name), name) == 0)
		return;
	LWLockAcquire(&v->lock, LW_EXCLUSIVE);
	namestrcpy(&v->view_name, name);
	LWLockRelease(&v->lock);
}

/*
 * Makes sure the view has a slot. A slot made here (after a restart) starts
 * with an incomplete generation after the recorded cut; "created" is for
 * CREATE, which establishes the cut itself (speed_view_created).
 */
int
speed_attach(ViewDef *def, bool created)
{
	SpeedView  *v;
	int64		cut;
	int			i;

	(void) speed_get_area();
	v = speed_lookup(def->batch_relid);
	if (v)
	{
		speed_remember_name(v, def);
		return v - speed_shared->views;
	}

	cut = speed_catalog_cut(def->batch_relid);
	LWLockAcquire(speed_shared->registry_lock, LW_EXCLUSIVE);
	v = speed_find(MyDatabaseId, def->batch_relid);
	if (v == NULL)
	{
		for (i = 0; i < speed_shared->nviews; i++)
		{
			if (!speed_shared->views[i].in_use)
			{
				v = &speed_shared->views[i];
				break;
			}
		}
		if (v == NULL)
		{
			LWLockRelease(speed_shared->registry_lock);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("too many continuous views"),
					 errdetail("All %d speed-layer slots are in use.", lambda_max_continuous_views),
					 errhint("Raise lambda.max_continuous_views and restart the server.")));
		}
		LWLockAcquire(&v->lock, LW_EXCLUSIVE);
		v->in_use = true;
		v->dbid = MyDatabaseId;
		v->batch_relid = def->batch_relid;
		v->view_relid = def->view_relid;
		namestrcpy(&v->view_name, "");
		v->creator = GetTopTransactionIdIfAny();
		v->ngens = 1;
		memset(&v->gens[0], 0, sizeof(SpeedGen));
		v->gens[0].gen = cut + 1;
		v->gens[0].first = cut + 1;
		v->gens[0].complete = created;
		v->gens[0].buckets = InvalidDsaPointer;
		v->free_upto = 0;
		v->folded_upto = cut;
		v->free_xid = InvalidTransactionId;
		v->rebuilding = !created;
		v->refresh_wanted = false;
		v->last_apply = 0;
		v->transactions = 0;
		v->nunseen = 0;
		speed_new_keys_version(v);
		speed_note(v, "%s", created ? "" : "rebuilding after a server start");
		LWLockRelease(&v->lock);
	}
	LWLockRelease(speed_shared->registry_lock);
	speed_remember_name(v, def);
	return v - speed_shared->views;
}

/*
 * speed_attach for a caller that keeps the slot number it gave (capture.c,
 * from one statement to the next): when slot "hint" is still the view's,
 * nothing more (no lock, no catalog, no name); else speed_attach.
 */
int
speed_attach_at(ViewDef *def, int hint)
{
	/* attached, and at the size lambda.speed_layer_memory now says */
	(void) speed_get_area();
	if (speed_slot_is(hint, MyDatabaseId, def->batch_relid))
		return hint;
	return speed_attach(def, false);
}

/*
 * CREATE established the cut: the slot starts complete after it. A slot
 * left by an earlier view with this OID is reset.
 */
void
speed_view_created(ViewDef *def, int64 cut_gen)
{
	SpeedView  *v;

	(void) speed_get_area();
	v = speed_lookup(def->batch_relid);
	if (v)
	{
		LWLockAcquire(speed_shared->registry_lock, LW_EXCLUSIVE);
		speed_free_slot(v);
		LWLockRelease(speed_shared->registry_lock);
	}
	(void) speed_attach(def, true);
	v = speed_lookup(def->batch_relid);
	LWLockAcquire(&v->lock, LW_EXCLUSIVE);
	v->gens[0].gen = cut_gen + 1;
	v->gens[0].first = cut_gen + 1;
	LWLockRelease(&v->lock);
	/* a CREATE that aborts must not leave the slot behind */
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		speed_created = lappend_oid(speed_created, def->batch_relid);
		MemoryContextSwitchTo(old);
	}
}

/* Frees a view's slot when the current transaction commits. */
void
speed_view_dropped(Oid batch_relid)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	(void) speed_get_area();
	speed_dropped = lappend_oid(speed_dropped, batch_relid);
	MemoryContextSwitchTo(old);
}

/* Frees the slot of a view, if it has one. */
static void
speed_release_slot(Oid dbid, Oid batch_relid)
{
	SpeedView  *v;

	(void) speed_get_area();
	LWLockAcquire(speed_shared->registry_lock, LW_EXCLUSIVE);
	v = speed_find(dbid, batch_relid);
	if (v)
		speed_free_slot(v);
	LWLockRelease(speed_shared->registry_lock);
}

/*
 * Transaction callback of the view slots: when the transaction commits,
 * frees the slots of the views it dropped; when it aborts, those of the
 * views it created. A transaction that dropped a view cannot be prepared
 * (nothing would free the slot at COMMIT PREPARED).
 */
static void
speed_slots_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
			foreach(lc, speed_dropped)
				speed_release_slot(MyDatabaseId, lfirst_oid(lc));
			speed_dropped = NIL;
			speed_created = NIL;
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (speed_dropped != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that created or dropped a continuous view"),
						 errhint("Commit the transaction instead.")));
			break;
		case XACT_EVENT_PREPARE:
			speed_dropped = NIL;
			speed_created = NIL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			foreach(lc, speed_created)
				speed_release_slot(MyDatabaseId, lfirst_oid(lc));
			speed_dropped = NIL;
			speed_created = NIL;
			break;
		default:
			break;
	}
}

/* ------------------------------------------------------------------------
 * Applying states
 * ------------------------------------------------------------------------
 */

/*
 * Serializes a partial aggregation's groups as a blob of (key, states)
 * pairs, the form in which states are applied to a generation.
 */
StringInfo
speed_blob(ViewDef *def, PartialHash *ph)
{
	StringInfo	blob = makeStringInfo();
	PartialEntry *e;
	long		n = partial_count(ph);
	long		i = 0;

	for (e = partial_first(ph); e; e = partial_next(e), i++)
	{
		uint32		l;
		int			lenpos;

		/* after a few groups, make room for all of them at once */
		if (i == 64 && n > 2 * i)
		{
			double		want = (double) blob->len / i * n * 1.1;

			if (want < (double) (MaxAllocSize / 2))
				enlargeStringInfo(blob, (int) want - blob->len);
		}
		l = e->key.len;
		/* the lengths and key, written at once */
		if (blob->len + 2 * sizeof(uint32) + l >= (Size) blob->maxlen)
			enlargeStringInfo(blob, 2 * sizeof(uint32) + l);
		memcpy(blob->data + blob->len, &l, sizeof(uint32));
		memcpy(blob->data + blob->len + sizeof(uint32), e->key.data, l);
		blob->len += sizeof(uint32) + l;
		/* the states image goes right behind its length, filled in after */
		lenpos = blob->len;
		blob->len += sizeof(uint32);
		states_image(def, e->values, e->nulls, blob);
		l = blob->len - lenpos - sizeof(uint32);
		memcpy(blob->data + lenpos, &l, sizeof(uint32));
		blob->data[blob->len] = '\0';
	}
	return blob;
}

/*
 * Applies a blob to the view's open generation; counts a transaction if
 * "xact". Raises no error (see speed_apply).
 */
static void
speed_apply_blob(Oid dbid, Oid batch_relid, ViewDef *def, const char *blob, Size len, bool xact)
{
	SpeedView  *v;
	SpeedGen   *g;
	char		why[200];

	v = speed_lock_view(dbid, batch_relid);
	if (v == NULL)
		return;					/* dropped meanwhile */
	g = &v->gens[v->ngens - 1];
	if (g->complete && len > 0)
	{
		int64		had = g->nentries;

		if (!generation_apply_blob(speed_area, g, def, blob, len, why, sizeof(why)))
			speed_abandon_gen(speed_area, v, g, why);
		if (g->nentries != had)
			v->keys_version++;
	}
	if (xact)
	{
		v->transactions++;
		v->last_apply = GetCurrentTimestamp();
	}
	LWLockRelease(&v->lock);
}

/*
 * Applies a blob to the view's open generation. Called after commit, where
 * an error would be a PANIC: raises none (see generation_apply_blob).
 */
void
speed_apply(Oid dbid, Oid batch_relid, ViewDef *def, const char *blob, Size len)
{
	speed_apply_blob(dbid, batch_relid, def, blob, len, true);
}

/*
 * Applies a committed transaction's partial states to the view's open
 * generation straight from its partial hash, without a blob: for views
 * whose states images need no function (states_image_plain). "slot": the
 * view's slot number as speed_attach gave it, or -1. Called after commit,
 * like speed_apply: raises none.
 */
void
speed_apply_partial(Oid dbid, Oid batch_relid, ViewDef *def, PartialHash *ph, int slot)
{
	SpeedView  *v;
	SpeedGen   *g;
	char		why[200];

	v = speed_lock_view_at(dbid, batch_relid, slot);
	if (v == NULL)
		return;					/* dropped meanwhile */
	g = &v->gens[v->ngens - 1];
	if (g->complete && partial_count(ph) > 0)
	{
		int64		had = g->nentries;

		if (!generation_apply_partial(speed_area, g, def, ph, true, why, sizeof(why)))
			speed_abandon_gen(speed_area, v, g, why);
		if (g->nentries != had)
			v->keys_version++;
	}
	v->transactions++;
	v->last_apply = GetCurrentTimestamp();
	LWLockRelease(&v->lock);
}

/*
 * Before a committed transaction's applies (speed_apply_partial), which run
 * after the wait for the commit record's WAL flush and find the speed
 * layer's lines cold: the lines of view slot "slot" (as speed_attach gave
 * it) that the apply reads and writes before it reaches the generation's
 * buckets, requested from memory at once for every view, so that their
 * misses overlap instead of coming one after the other, view after view.
 * "open": also its open generation (at the slot's generation count as it
 * reads it now, unlocked: the addresses are the slot's own whatever it
 * reads, and nothing is read through them). Only prefetches; changes and
 * locks nothing.
 */
void
speed_prefetch_slot(int slot, bool open)
{
	SpeedView  *v;

	if (speed_shared == NULL || slot < 0 || slot >= speed_shared->nviews)
		return;
	v = &speed_shared->views[slot];
	if (!open)
	{
		lambda_prefetch(v);
		lambda_prefetch(&v->lock);
		lambda_prefetch(&v->ngens);
		lambda_prefetch(&v->last_apply);
		lambda_prefetch(&v->transactions);
	}
	else
	{
		int			n = v->ngens;

		if (n >= 1 && n <= SPEED_MAX_GENS)
		{
			lambda_prefetch(&v->gens[n - 1]);
			lambda_prefetch((char *) &v->gens[n] - 1);
		}
	}
}

/*
 * Spilled states. A transaction whose states for a view outgrow
 * lambda.capture_memory while it runs moves them, as a blob, into the speed
 * layer's area (counted in lambda.speed_layer_memory), out of every
 * generation: nobody reads them until the transaction commits and applies
 * them (speed_apply_spill), or aborts and frees them (speed_spill_free).
 * Blobs are sequences of (key, states) pairs, so several spills and the
 * final blob apply one after the other, in any order.
 */

/* Copies a blob into the area; InvalidDsaPointer when it does not fit. */
dsa_pointer
speed_spill_put(const char *data, Size len)
{
	dsa_area   *area = speed_get_area();
	dsa_pointer p = dsa_allocate_extended(area, Max(len, 1), DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE);

	if (DsaPointerIsValid(p))
	{
		char	   *dst = dsa_get_address(area, p);

		lambda_populate_write(dst, len);
		memcpy(dst, data, len);
	}
	return p;
}

/* A spilled blob's bytes. */
const char *
speed_spill_data(dsa_pointer p)
{
	return dsa_get_address(speed_area, p);
}

/* Frees a spilled blob. */
void
speed_spill_free(dsa_pointer p)
{
	dsa_free(speed_area, p);
}

/*
 * Applies a spilled blob to the view's open generation and frees it: after
 * commit, like speed_apply, raising no error.
 */
void
speed_apply_spill(Oid dbid, Oid batch_relid, ViewDef *def, dsa_pointer p, Size len)
{
	speed_apply_blob(dbid, batch_relid, def, dsa_get_address(speed_area, p), len, false);
	dsa_free(speed_area, p);
}

/*
 * Spilled states as a generation of their own: for views whose states
 * images need no function (states_image_plain), a transaction's states move
 * into a generation that belongs to no view (the caller keeps it, in
 * backend memory; its entries lie in the area), built like the open one
 * from the partial hash. At commit its entries are linked into the view's
 * open generation as they lie (speed_apply_spill_gen), without a blob in
 * between or a copy.
 */

/* Moves ph's states into a new spilled generation; NULL when they do not fit. */
SpeedGen *
speed_spill_gen_put(ViewDef *def, PartialHash *ph)
{
	dsa_area   *area = speed_get_area();
	SpeedGen   *sg = palloc0(sizeof(SpeedGen));
	char		why[200];

	sg->complete = true;

	/*
	 * Buckets for twice these groups from the start: a statement whose
	 * states outgrew lambda.capture_memory once likely does again, and the
	 * next spill then adds its groups without rehashing these.
	 */
	generation_reserve(area, sg, 2 * (int64) partial_count(ph));
	if (!generation_apply_partial(area, sg, def, ph, false, why, sizeof(why)))
	{
		generation_clear(area, sg);
		pfree(sg);
		return NULL;
	}
	return sg;
}

/*
 * Adds ph's states to a spilled generation, combining keys it has. False
 * when memory ran out or a combine function failed: its states are then
 * unknown (the caller frees it and marks the view's states lost).
 */
bool
speed_spill_gen_add(SpeedGen *sg, ViewDef *def, PartialHash *ph)
{
	char		why[200];

	return generation_apply_partial(speed_get_area(), sg, def, ph, false, why, sizeof(why));
}

/* Frees a spilled generation (its entries and chunks; sg stays the caller's). */
void
speed_spill_gen_free(SpeedGen *sg)
{
	generation_clear(speed_get_area(), sg);
}

/* Appends a spilled generation's states to a blob (a prepared transaction's image). */
void
speed_spill_gen_blob(SpeedGen *sg, StringInfo blob)
{
	generation_append_blob(speed_get_area(), sg, blob);
}

/*
 * Moves a spilled generation's states into the view's open generation and
 * frees what is left of it: after commit, like speed_apply, raising no error.
 */
void
speed_apply_spill_gen(Oid dbid, Oid batch_relid, ViewDef *def, SpeedGen *sg)
{
	SpeedView  *v;
	SpeedGen   *g;
	char		why[200];

	v = speed_lock_view(dbid, batch_relid);
	if (v != NULL)
	{
		g = &v->gens[v->ngens - 1];
		if (g->complete && !generation_absorb(speed_area, g, def, sg, why, sizeof(why)))
			speed_abandon_gen(speed_area, v, g, why);
		speed_keys_moved(v);
		LWLockRelease(&v->lock);
	}
	generation_clear(speed_get_area(), sg);
}

/* Marks the open generation of a view incomplete. */
void
speed_mark_incomplete(Oid dbid, Oid batch_relid, const char *why)
{
	SpeedView  *v;

	(void) speed_get_area();
	v = speed_lock_view(dbid, batch_relid);
	if (v == NULL)
		return;
	speed_abandon_gen(speed_area, v, &v->gens[v->ngens - 1], why);
	LWLockRelease(&v->lock);
}

/*
 * A transaction xid that wrote events of the view was prepared by a path
 * pg_lambda does not see (its states are lost): the open generation turns
 * incomplete, and the transaction is recorded so that every cut that does
 * not see it leaves the next open generation incomplete too (speed_cut),
 * as its commit will apply nothing to any.
 */
void
speed_prepared_unseen(Oid dbid, Oid batch_relid, TransactionId xid, const char *why)
{
	SpeedView  *v;

	(void) speed_get_area();
	v = speed_lock_view(dbid, batch_relid);
	if (v == NULL)
		return;
	speed_unseen_prune(v);
	/* (those left are prepared, as xid is: there is room) */
	speed_unseen_add(v, xid);
	speed_abandon_gen(speed_area, v, &v->gens[v->ngens - 1], why);
	LWLockRelease(&v->lock);
}

/*
 * Marks the open generation of every view of database dbid incomplete: a
 * transaction whose states are unknown committed there.
 */
void
speed_mark_database_incomplete(Oid dbid, const char *why)
{
	int			i;

	for (i = 0; i < speed_shared->nviews; i++)
	{
		SpeedView  *v = &speed_shared->views[i];

		if (v->in_use && v->dbid == dbid)
			speed_mark_incomplete(dbid, v->batch_relid, why);
	}
}

/* ------------------------------------------------------------------------
 * States of prepared transactions
 * ------------------------------------------------------------------------
 */

/*
 * Keeps a prepared transaction's states (an image only the caller reads)
 * under its GID until COMMIT/ROLLBACK PREPARED takes them. Called at
 * PREPARE, where an error is no longer an ordinary one: the area must
 * already be attached (speed_attach_area); raises no error, and returns
 * false when memory ran out.
 */
bool
speed_stash_put(const char *gid, const char *data, Size len)
{
	dsa_pointer p;
	SpeedStash *s;

	p = dsa_allocate_extended(speed_area, offsetof(SpeedStash, data) + len, DSA_ALLOC_NO_OOM);
	if (!DsaPointerIsValid(p))
		return false;
	s = dsa_get_address(speed_area, p);
	s->dbid = MyDatabaseId;
	strlcpy(s->gid, gid, GIDSIZE);
	s->len = len;
	s->lost = false;
	memcpy(s->data, data, len);
	LWLockAcquire(speed_shared->registry_lock, LW_EXCLUSIVE);
	s->next = speed_shared->stash;
	speed_shared->stash = p;
	LWLockRelease(speed_shared->registry_lock);
	return true;
}

/*
 * Takes the states stashed under gid in this database out of shared memory:
 * returns a copy in TopMemoryContext (*len bytes), or NULL when there is
 * none (the transaction was prepared before the server started).
 */
char *
speed_stash_take(const char *gid, Size *len)
{
	dsa_pointer *link;
	char	   *data = NULL;

	(void) speed_get_area();
	*len = 0;
	LWLockAcquire(speed_shared->registry_lock, LW_EXCLUSIVE);
	link = &speed_shared->stash;
	while (DsaPointerIsValid(*link))
	{
		SpeedStash *s = dsa_get_address(speed_area, *link);

		if (s->dbid == MyDatabaseId && strcmp(s->gid, gid) == 0)
		{
			dsa_pointer p = *link;

			data = MemoryContextAlloc(TopMemoryContext, s->len + 1);
			memcpy(data, s->data, s->len);
			*len = s->len;
			*link = s->next;
			dsa_free(speed_area, p);
			break;
		}
		link = &s->next;
	}
	LWLockRelease(speed_shared->registry_lock);
	return data;
}

/* ------------------------------------------------------------------------
 * Refresh side
 * ------------------------------------------------------------------------
 */

/*
 * Closes the view's open generation and returns a snapshot (registered;
 * the caller unregisters it) that sees exactly the transactions whose states
 * are in the generations up to *closed_gen.
 */
Snapshot
speed_cut(ViewDef *def, int64 *closed_gen)
{
	SpeedView  *v;
	Snapshot	snap;
	int			idx = speed_attach(def, false);
	TransactionId horizon = GetOldestNonRemovableTransactionId(NULL);

	v = &speed_shared->views[idx];
	LWLockAcquire(speed_shared->commit_lock, LW_EXCLUSIVE);
	LWLockAcquire(&v->lock, LW_EXCLUSIVE);
	if (v->ngens >= SPEED_MAX_GENS)
		speed_release_locked(v, horizon);
	if (v->ngens >= SPEED_MAX_GENS && v->gens[0].gen <= v->folded_upto)
	{
		/*
		 * Old snapshots keep folded generations alive. Drop the oldest: it
		 * is in the batch table, and a reader whose snapshot predates that
		 * finds the gap and reads the events instead.
		 */
		generation_clear(speed_area, &v->gens[0]);
		memmove(&v->gens[0], &v->gens[1], sizeof(SpeedGen) * (v->ngens - 1));
		v->ngens--;
	}
	if (v->ngens >= SPEED_MAX_GENS)
	{
		/*
		 * Refreshes that rolled back left closed generations behind: merge
		 * the oldest into the next. Readers whose cut lies between them
		 * find no boundary there and read the events instead.
		 */
		SpeedGen   *from = &v->gens[0];
		SpeedGen   *into = &v->gens[1];
		char		why[200];

		if (from->complete && into->complete &&
			!generation_merge(speed_area, into, def, from, why, sizeof(why)))
			speed_abandon_gen(speed_area, v, into, why);
		into->complete = into->complete && from->complete;
		if (!into->complete)
			generation_clear(speed_area, into);
		into->first = from->first;
		generation_clear(speed_area, from);
		speed_keys_moved(v);
		memmove(&v->gens[0], &v->gens[1], sizeof(SpeedGen) * (v->ngens - 1));
		v->ngens--;
	}
	if (v->ngens >= SPEED_MAX_GENS)
	{
		LWLockRelease(&v->lock);
		LWLockRelease(speed_shared->commit_lock);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("continuous view \"%s\" has too many generations awaiting release",
						get_rel_name(def->view_relid)),
				 errdetail("The last refreshes have not committed yet."),
				 errhint("Refresh again once they have.")));
	}
	*closed_gen = v->gens[v->ngens - 1].gen;
	memset(&v->gens[v->ngens], 0, sizeof(SpeedGen));
	v->gens[v->ngens].gen = *closed_gen + 1;
	v->gens[v->ngens].first = *closed_gen + 1;
	v->gens[v->ngens].complete = true;
	v->gens[v->ngens].buckets = InvalidDsaPointer;
	v->ngens++;
	snap = RegisterSnapshot(GetLatestSnapshot());
	/*
	 * The first cut since the server started: the transactions still
	 * prepared (in progress without a backend: BackendXidGetPid finds none)
	 * may have been prepared before it, their states lost with the shared
	 * memory, and may be committed by a path pg_lambda does not see (a
	 * subscription's apply worker): they count as prepared unseen. (One
	 * prepared since, with its states kept, only makes the view read its
	 * events from the event table until it ends.)
	 */
	if (v->rebuilding && max_prepared_xacts > 0)
	{
		uint32		i;

		for (i = 0; i < snap->xcnt; i++)
			if (BackendXidGetPid(snap->xip[i]) == 0)
				speed_unseen_add(v, snap->xip[i]);
	}
	/*
	 * A transaction prepared unseen that this snapshot does not see commits
	 * after the cut, into the new generation, applying nothing: it is
	 * incomplete from the start (no warning: PREPARE gave one). Those that
	 * ended before the snapshot are forgotten.
	 */
	if (v->nunseen > 0)
	{
		TransactionId *xids = speed_unseen(v);
		int			i;

		for (i = 0; i < v->nunseen; i++)
			if (XidInMVCCSnapshot(xids[i], snap))
				v->gens[v->ngens - 1].complete = false;
		if (v->gens[v->ngens - 1].complete)
			speed_unseen_prune(v);
		else
			speed_note(v, "%s", "degraded: a transaction prepared by a path pg_lambda does not see is still prepared");
	}
	LWLockRelease(&v->lock);
	LWLockRelease(speed_shared->commit_lock);
	return snap;
}

/*
 * Replaces generations (after_gen, upto_gen] with one complete generation
 * numbered upto_gen holding ph's states (a rebuild from the events). False
 * when memory ran out.
 */
bool
speed_install(ViewDef *def, int64 after_gen, int64 upto_gen, PartialHash *ph)
{
	SpeedView  *v;
	int			idx = speed_attach(def, false);
	StringInfo	blob;
	SpeedGen	g;
	char		why[200];
	int			i;
	int			j;
	bool		ok;

	/* states that need a function to serialize: before taking the lock */
	blob = states_image_plain(def) ? NULL : speed_blob(def, ph);

	v = &speed_shared->views[idx];
	memset(&g, 0, sizeof(g));
	g.gen = upto_gen;
	g.first = after_gen + 1;
	g.complete = true;
	g.buckets = InvalidDsaPointer;
	LWLockAcquire(&v->lock, LW_EXCLUSIVE);
	if (blob)
		ok = generation_apply_blob(speed_area, &g, def, blob->data, blob->len, why, sizeof(why));
	else
		ok = generation_apply_partial(speed_area, &g, def, ph, true, why, sizeof(why));
	if (!ok)
	{
		generation_clear(speed_area, &g);
		LWLockRelease(&v->lock);
		return false;
	}
	/* drop (after_gen, upto_gen], put g in their place */
	{
		SpeedGen	gens[SPEED_MAX_GENS];
		bool		placed = false;

		for (i = 0, j = 0; i < v->ngens; i++)
		{
			if (v->gens[i].gen > after_gen && v->gens[i].gen <= upto_gen)
			{
				generation_clear(speed_area, &v->gens[i]);
				continue;
			}
			if (v->gens[i].gen > upto_gen && !placed)
			{
				gens[j++] = g;
				placed = true;
			}
			gens[j++] = v->gens[i];
		}
		if (!placed)
			gens[j++] = g;
		memcpy(v->gens, gens, sizeof(SpeedGen) * j);
	}
	v->ngens = j;
	speed_keys_moved(v);
	v->rebuilding = false;
	for (i = 0; i < v->ngens; i++)
	{
		if (!v->gens[i].complete)
			break;
	}
	if (i == v->ngens)
		speed_note(v, "%s", "");
	LWLockRelease(&v->lock);
	return true;
}

/*
 * Records why the last refresh of a view failed (view_status.note); "what"
 * names it: scheduled refresh, REFRESH, recompute. Called while the error
 * is being handled, so it does nothing if the failure left one of these
 * locks held (the abort that follows releases it).
 */
void
speed_record_error(Oid dbid, Oid batch_relid, const char *what, const char *message)
{
	SpeedView  *v;

	if (speed_shared == NULL || LWLockHeldByMe(speed_shared->commit_lock) ||
		LWLockHeldByMe(speed_shared->registry_lock))
		return;
	LWLockAcquire(speed_shared->registry_lock, LW_SHARED);
	v = speed_find(dbid, batch_relid);
	if (v != NULL && !LWLockHeldByMe(&v->lock))
	{
		LWLockAcquire(&v->lock, LW_EXCLUSIVE);
		speed_note(v, "last %s failed: %s", what, message);
		LWLockRelease(&v->lock);
	}
	LWLockRelease(speed_shared->registry_lock);
}

/* A refresh folded generations up to upto_gen in transaction xid. */
void
speed_refreshed(ViewDef *def, int64 upto_gen, TransactionId xid)
{
	SpeedView  *v;
	int			idx = speed_attach(def, false);

	v = &speed_shared->views[idx];
	LWLockAcquire(&v->lock, LW_EXCLUSIVE);
	if (upto_gen > v->free_upto)
	{
		v->free_upto = upto_gen;
		v->free_xid = xid;
	}
	v->refresh_wanted = false;
	v->rebuilding = false;
	{
		bool		complete = true;
		int			i;

		for (i = 0; i < v->ngens; i++)
		{
			if (v->gens[i].gen > upto_gen && !v->gens[i].complete)
				complete = false;
		}
		if (complete)
			speed_note(v, "%s", "");
	}
	LWLockRelease(&v->lock);
}

/*
 * Frees the generations a committed refresh folded into the batch table
 * once every snapshot sees that refresh. Caller holds v->lock exclusively.
 */
static void
speed_release_locked(SpeedView *v, TransactionId horizon)
{
	int			i;
	int			j;

	if (!TransactionIdIsValid(v->free_xid))
		return;
	if (TransactionIdDidCommit(v->free_xid))
	{
		v->folded_upto = Max(v->folded_upto, v->free_upto);
		if (!TransactionIdPrecedes(v->free_xid, horizon))
			return;
		for (i = 0, j = 0; i < v->ngens; i++)
		{
			if (v->gens[i].gen <= v->free_upto && i < v->ngens - 1)
				generation_clear(speed_area, &v->gens[i]);
			else
				v->gens[j++] = v->gens[i];
		}
		v->ngens = j;
	}
	else if (TransactionIdIsInProgress(v->free_xid))
		return;
	v->free_xid = InvalidTransactionId;
	v->free_upto = 0;
}

/*
 * Scheduler housekeeping for one view: frees generations that every
 * snapshot has seen folded into the batch table, and says whether the view
 * needs a rebuild (an incomplete generation after its cut) or an early
 * refresh (memory).
 */
void
speed_maintain(ViewDef *def, bool *needs_rebuild, bool *wants_refresh)
{
	SpeedView  *v;
	int			idx = speed_attach(def, false);
	int			i;
	TransactionId horizon = GetOldestNonRemovableTransactionId(NULL);

	v = &speed_shared->views[idx];
	LWLockAcquire(&v->lock, LW_EXCLUSIVE);
	speed_release_locked(v, horizon);
	*needs_rebuild = false;
	/*
	 * While a transaction prepared unseen is still prepared, a rebuild of
	 * the open generation would leave it incomplete again (speed_cut): the
	 * readers read its events from the event table until it ends.
	 */
	speed_unseen_prune(v);
	for (i = 0; i < v->ngens; i++)
	{
		if (!v->gens[i].complete && v->gens[i].gen > v->folded_upto &&
			!(TransactionIdIsValid(v->free_xid) && v->gens[i].gen <= v->free_upto) &&
			!(i == v->ngens - 1 && v->nunseen > 0))
			*needs_rebuild = true;
	}
	*wants_refresh = v->refresh_wanted;
	LWLockRelease(&v->lock);
}

/*
 * Frees the slots of database dbid whose view is not in "live" (batch table
 * OIDs; NIL with all = true: every slot of the database), but for views
 * created by a transaction still in progress or that snap (when given, the
 * one "live" was read with) does not see: returns how many of those it
 * kept. Catches views that went without their transaction callback (DROP
 * EXTENSION, DROP DATABASE).
 */
int
speed_release_stale(Oid dbid, List *live, bool all, Snapshot snap)
{
	int			i;
	int			kept = 0;

	(void) speed_get_area();
	LWLockAcquire(speed_shared->registry_lock, LW_EXCLUSIVE);
	for (i = 0; i < speed_shared->nviews; i++)
	{
		SpeedView  *v = &speed_shared->views[i];

		if (!v->in_use || v->dbid != dbid || (!all && list_member_oid(live, v->batch_relid)))
			continue;

		/*
		 * A view whose creation "live" (or, with all, the caller's finding
		 * that the extension is not installed) could not see yet: the
		 * transaction that creates the extension and a view is in progress.
		 */
		if (TransactionIdIsValid(v->creator) &&
			(TransactionIdIsInProgress(v->creator) ||
			 (snap && XidInMVCCSnapshot(v->creator, snap))))
		{
			kept++;
			continue;
		}
		speed_free_slot(v);
	}
	LWLockRelease(speed_shared->registry_lock);
	return kept;
}

/* ------------------------------------------------------------------------
 * Init
 * ------------------------------------------------------------------------
 */

/*
 * Installs the shared-memory hooks and the view slots' transaction callback.
 */
void
speed_init(void)
{
	speed_prev_shmem_request = shmem_request_hook;
	shmem_request_hook = speed_shmem_request;
	speed_prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = speed_shmem_startup;
	RegisterXactCallback(speed_slots_xact_callback, NULL);
}
