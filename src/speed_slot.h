/*-------------------------------------------------------------------------
 *
 * speed_slot.h
 *	  The layout of a continuous view's slot in the speed layer's shared
 *	  memory: its generations and their bookkeeping. speed.c owns the slots
 *	  and their locking rules (see its header); speed_read.c reads them
 *	  under those rules, holding the slot's lock shared.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_SPEED_SLOT_H
#define LAMBDA_SPEED_SLOT_H

#include "postgres.h"

#include "storage/lwlock.h"
#include "utils/timestamp.h"

#include "genlayout.h"

#define SPEED_MAX_GENS			16
#define SPEED_NOTE_LEN			256

typedef struct SpeedView
{
	bool		in_use;
	Oid			dbid;
	Oid			batch_relid;
	Oid			view_relid;		/* the view users query (named in messages) */
	NameData	view_name;		/* its name when last attached (for messages
								 * where the catalog cannot be read) */
	TransactionId creator;		/* transaction that made the slot */
	LWLock		lock;
	int			ngens;
	SpeedGen	gens[SPEED_MAX_GENS];	/* ascending; the last is open */
	int64		folded_upto;	/* generations <= this are in a batch table */
	int64		free_upto;		/* free generations <= this ... */
	TransactionId free_xid;		/* ... once this refresh is visible to all */
	bool		rebuilding;		/* incomplete since the server started */
	bool		refresh_wanted; /* memory is short: refresh early */
	char		note[SPEED_NOTE_LEN];
	TimestampTz last_apply;
	int64		transactions;
	uint64		keys_version;	/* changes whenever a generation may have
								 * gained a key (ordered runs, merge_run.c);
								 * unique across the slots' lives */
	uint64		keys_moved;		/* keys_version when entries last came
								 * otherwise than carved by an apply */
	int			nunseen;		/* transactions prepared unseen (their xids:
								 * speed.c's speed_unseen) */
} SpeedView;

#endif							/* LAMBDA_SPEED_SLOT_H */
