/*-------------------------------------------------------------------------
 *
 * merge_probe.h
 *	  A continuous view probed per outer row: the parameterized path of a
 *	  plain join with the view on its keys.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MERGE_PROBE_H
#define LAMBDA_MERGE_PROBE_H

extern void merge_probe_init(void);

#endif							/* LAMBDA_MERGE_PROBE_H */
