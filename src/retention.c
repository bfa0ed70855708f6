/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  Which partitions of a time-partitioned event table lie wholly before
 *	  a point in time.
 *
 * lambda.drop_events_before() (event_table.c) drops the partitions this
 * file names instead of deleting their rows one by one, so that removing a
 * day of events costs the same whatever the day holds; only a partition
 * that straddles the cut (and a DEFAULT partition) still has rows deleted.
 *
 * A partition qualifies when the event table is partitioned BY RANGE on its
 * time column alone and the partition's upper bound (exclusive) is at most
 * the cut: then no row of it can have an event time at or after the cut.
 * Bounds are read from pg_class.relpartbound of the table's direct
 * partitions (a partition that is itself partitioned is dropped with its
 * own partitions). A time column of type timestamp is compared as the
 * DELETE compares it, converted to timestamptz in the session's time zone.
 * Tables partitioned otherwise (by LIST, HASH, an expression, or several
 * columns) have no such partitions: their events are deleted row by row, as
 * before.
 *
 * Locks: none of its own; the caller holds a lock on the event table that
 * keeps its partitions from changing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "nodes/parsenodes.h"
#include "partitioning/partdesc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "retention.h"

/*
 * The upper bound of partition relid as a timestamptz, in *upper; false
 * when it has none that is a value (DEFAULT partition, MAXVALUE, MINVALUE).
 */
static bool
ret_upper_bound(Oid relid, Oid timetype, TimestampTz *upper)
{
	HeapTuple	tuple;
	Datum		datum;
	bool		isnull;
	PartitionBoundSpec *spec;
	PartitionRangeDatum *prd;
	Const	   *c;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return false;
	datum = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relpartbound, &isnull);
	if (isnull)
	{
		ReleaseSysCache(tuple);
		return false;
	}
	spec = (PartitionBoundSpec *) stringToNode(TextDatumGetCString(datum));
	ReleaseSysCache(tuple);

	if (!IsA(spec, PartitionBoundSpec) || spec->is_default ||
		spec->strategy != PARTITION_STRATEGY_RANGE || list_length(spec->upperdatums) != 1)
		return false;
	prd = linitial_node(PartitionRangeDatum, spec->upperdatums);
	if (prd->kind != PARTITION_RANGE_DATUM_VALUE || !IsA(prd->value, Const))
		return false;
	c = (Const *) prd->value;
	if (c->constisnull)
		return false;
	if (timetype == TIMESTAMPOID)
		*upper = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, c->constvalue));
	else
		*upper = DatumGetTimestampTz(c->constvalue);
	return true;
}

/* See retention.h. */
List *
retention_whole_partitions(Oid relid, const char *time_column, TimestampTz before)
{
	Relation	rel;
	PartitionKey key;
	PartitionDesc desc;
	AttrNumber	timeatt;
	Oid			timetype;
	List	   *result = NIL;
	int			i;

	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return NIL;
	timeatt = get_attnum(relid, time_column);
	if (timeatt == InvalidAttrNumber)
		return NIL;
	timetype = get_atttype(relid, timeatt);

	rel = table_open(relid, NoLock);
	key = RelationGetPartitionKey(rel);
	if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 ||
		key->partattrs[0] != timeatt)
	{
		table_close(rel, NoLock);
		return NIL;
	}
	desc = RelationGetPartitionDesc(rel, true);
	for (i = 0; i < desc->nparts; i++)
	{
		TimestampTz upper;

		if (ret_upper_bound(desc->oids[i], timetype, &upper) && upper <= before)
			result = lappend_oid(result, desc->oids[i]);
	}
	table_close(rel, NoLock);
	return result;
}
