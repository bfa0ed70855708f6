/*-------------------------------------------------------------------------
 *
 * pg_lambda.c
 *	  Module entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * pg_lambda keeps state in shared memory and runs background workers, so it
 * must be loaded through shared_preload_libraries; _PG_init refuses any other
 * way. It then only asks each module to install what it needs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "capture.h"
#include "catalog.h"
#include "ddl.h"
#include "event_table.h"
#include "guc.h"
#include "launcher.h"
#include "merge_group.h"
#include "merge_order.h"
#include "merge_probe.h"
#include "merge_prune.h"
#include "scheduler.h"
#include "source.h"
#include "speed.h"
#include "view_stats.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load: refuse unless preloaded, then initialise every module.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_lambda must be loaded via shared_preload_libraries"),
				 errdetail("pg_lambda keeps state in shared memory and runs background workers, which only a preloaded library can do."),
				 errhint("Add pg_lambda to shared_preload_libraries in postgresql.conf and restart the server.")));

	guc_init();
	catalog_init();
	event_table_init();
	ddl_init();
	source_init();
	launcher_init();
	speed_init();
	capture_init();
	scheduler_init();
	view_stats_init();
	merge_group_init();
	merge_order_init();
	merge_probe_init();
	merge_prune_init();

	MarkGUCPrefixReserved("lambda");
}
