/*-------------------------------------------------------------------------
 *
 * ddl.h
 *	  The ProcessUtility hook: pg_lambda's view of utility statements.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_DDL_H
#define LAMBDA_DDL_H

extern void ddl_init(void);

#endif							/* LAMBDA_DDL_H */
