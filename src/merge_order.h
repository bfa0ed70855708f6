/*-------------------------------------------------------------------------
 *
 * merge_order.h
 *	  The ordered merged scan of a continuous view: groups in the order of
 *	  a batch-table index, for ORDER BY <key> LIMIT n over the whole view.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MERGE_ORDER_H
#define LAMBDA_MERGE_ORDER_H

extern void merge_order_init(void);

#endif							/* LAMBDA_MERGE_ORDER_H */
