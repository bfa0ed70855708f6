/*-------------------------------------------------------------------------
 *
 * view_admin.h
 *	  The SQL functions of continuous views: lambda.recompute, the speed
 *	  side of lambda.view_status, view_dropped and upgrade_batch_table.
 *	  Called only from SQL (PG_FUNCTION_INFO_V1); nothing else is exported.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_VIEW_ADMIN_H
#define LAMBDA_VIEW_ADMIN_H

#include "postgres.h"

#endif							/* LAMBDA_VIEW_ADMIN_H */
