/*-------------------------------------------------------------------------
 *
 * ingest_route.c
 *	  Routing a Kafka batch's rows to the partitions of a partitioned
 *	  event table, as COPY FROM routes them.
 *
 * ingest.c runs one executor "statement" per batch (or per retry) on the
 * event table. When that table is partitioned, each row it forms in the
 * table's own shape is sent to the leaf partition its partition key selects
 * (ExecFindPartition over a PartitionTupleRouting, which opens each
 * partition once per statement with its indexes, triggers and, when its
 * columns differ from the table's, a conversion map), and copied into a
 * slot of that partition. ingest.c buffers rows while they go to one
 * partition and inserts the buffer with table_multi_insert() when the
 * partition changes: events arriving in time order fill a time-partitioned
 * table in long runs. The statement's transition table (which feeds the
 * continuous views' capture trigger on the partitioned table) gets every
 * routed row in the partitioned table's shape: PostgreSQL converts it
 * through the partition's child-to-root map.
 *
 * A row no partition takes fails with ExecFindPartition's error (class 23,
 * like a CHECK constraint): ingest.c then finds the message that fails and
 * makes it a dead letter, the rest of the batch goes in. The error's detail
 * (the row's partition key) is folded into its message here, since a dead
 * letter keeps only the message.
 *
 * Foreign partitions are refused per row (0A000), so such messages become
 * dead letters too: COPY's foreign batch inserts are not worth their
 * weight for an append-only event table.
 *
 * Locks: the partitions a statement routes rows to, RowExclusiveLock, taken
 * by ExecInitPartitionInfo and kept until the transaction ends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "executor/execPartition.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "compat.h"
#include "ingest_route.h"

/* One partition rows were routed to in this statement, and its slots. */
typedef struct RoutePart
{
	ResultRelInfo *rri;
	TupleTableSlot **slots;		/* maxrows, created as needed */
} RoutePart;

struct IngestRoute
{
	EState	   *estate;
	ResultRelInfo *root;
	ModifyTableState *mtstate;	/* a stand-in: routing wants one */
	PartitionTupleRouting *proute;
	int			maxrows;
	List	   *parts;			/* RoutePart *, in the order first met */
	RoutePart  *last;			/* the partition of the previous row */
};

/*
 * Starts routing for one statement; see ingest_route.h. Allocates in the
 * executor's per-query context.
 */
IngestRoute *
ingest_route_begin(EState *estate, ResultRelInfo *root, int maxrows)
{
	Relation	rel = root->ri_RelationDesc;
	MemoryContext old;
	IngestRoute *route;
	ModifyTableState *mtstate;

	if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return NULL;
	old = MemoryContextSwitchTo(estate->es_query_cxt);
	route = palloc0(sizeof(IngestRoute));
	route->estate = estate;
	route->root = root;
	route->maxrows = maxrows;

	/* as COPY FROM: a ModifyTableState without a plan */
	mtstate = makeNode(ModifyTableState);
	mtstate->ps.plan = NULL;
	mtstate->ps.state = estate;
	mtstate->operation = CMD_INSERT;
	mtstate->mt_nrels = 1;
	mtstate->resultRelInfo = root;
	mtstate->rootResultRelInfo = root;
	route->mtstate = mtstate;
	route->proute = ExecSetupPartitionTupleRouting(estate, rel);
	MemoryContextSwitchTo(old);
	return route;
}

/*
 * Rethrows ExecFindPartition's "no partition" error with the row's
 * partition key in its message: a dead letter keeps the message only.
 */
static void
route_rethrow(MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (edata->sqlerrcode == ERRCODE_CHECK_VIOLATION && edata->detail != NULL)
	{
		char	   *detail = pstrdup(edata->detail);
		size_t		len = strlen(detail);

		if (len > 0 && detail[len - 1] == '.')
			detail[len - 1] = '\0';
		detail[0] = pg_tolower((unsigned char) detail[0]);
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s: %s", edata->message, detail),
				 errdetail("The event table is partitioned and none of its partitions takes the event."),
				 errhint("Create a partition (or a DEFAULT partition) for such events, then replay the dead letters with lambda.replay_dead_letters().")));
	}
	PG_RE_THROW();
}

/*
 * The partition that takes slot's row; see ingest_route.h.
 */
ResultRelInfo *
ingest_route_find(IngestRoute *route, TupleTableSlot *slot)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResultRelInfo *part = NULL;

	PG_TRY();
	{
		part = ExecFindPartition(route->mtstate, route->root, route->proute,
								 slot, route->estate);
	}
	PG_CATCH();
	{
		route_rethrow(cxt);
	}
	PG_END_TRY();

	if (part->ri_RelationDesc->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot ingest Kafka messages into partition \"%s\" of event table \"%s\": it is not an ordinary table",
						RelationGetRelationName(part->ri_RelationDesc),
						RelationGetRelationName(route->root->ri_RelationDesc)),
				 errdetail("Kafka sources insert only into partitions that are ordinary tables."),
				 errhint("Attach an ordinary table for these events, then replay the dead letters with lambda.replay_dead_letters().")));
	return part;
}

/*
 * Copies slot's row (the root's shape) into part's slot for buffer
 * position pos, converting it when part's columns differ; see
 * ingest_route.h.
 */
TupleTableSlot *
ingest_route_slot(IngestRoute *route, ResultRelInfo *part, TupleTableSlot *slot, int pos)
{
	RoutePart  *rp = route->last;
	TupleConversionMap *map;
	MemoryContext old;

	Assert(pos >= 0 && pos < route->maxrows);
	if (rp == NULL || rp->rri != part)
	{
		ListCell   *lc;

		rp = NULL;
		foreach(lc, route->parts)
		{
			if (((RoutePart *) lfirst(lc))->rri == part)
			{
				rp = lfirst(lc);
				break;
			}
		}
		if (rp == NULL)
		{
			old = MemoryContextSwitchTo(route->estate->es_query_cxt);
			rp = palloc0(sizeof(RoutePart));
			rp->rri = part;
			rp->slots = palloc0(sizeof(TupleTableSlot *) * route->maxrows);
			route->parts = lappend(route->parts, rp);
			/*
			 * The map that puts the partition's rows into the statement's
			 * transition table: built on first use in the current context,
			 * which for the AFTER ROW trigger events is a per-chunk one, so
			 * build it here, in the statement's.
			 */
			(void) ExecGetChildToRootMap(part);
			MemoryContextSwitchTo(old);
		}
		route->last = rp;
	}
	if (rp->slots[pos] == NULL)
	{
		old = MemoryContextSwitchTo(route->estate->es_query_cxt);
		rp->slots[pos] = table_slot_create(part->ri_RelationDesc, &route->estate->es_tupleTable);
		MemoryContextSwitchTo(old);
	}

	map = ExecGetRootToChildMap(part, route->estate);
	if (map != NULL)
		return execute_attr_map_slot(map->attrMap, slot, rp->slots[pos]);
	ExecCopySlot(rp->slots[pos], slot);
	return rp->slots[pos];
}

/*
 * BEFORE ROW triggers of a partition may look at the partition, so its
 * rows go in one by one, as COPY inserts them.
 */
bool
ingest_route_one_by_one(ResultRelInfo *part)
{
	return part->ri_TrigDesc != NULL && part->ri_TrigDesc->trig_insert_before_row;
}

/* Closes what routing opened; see ingest_route.h. */
void
ingest_route_end(IngestRoute *route)
{
	if (route != NULL)
		ExecCleanupTupleRouting(route->mtstate, route->proute);
}
