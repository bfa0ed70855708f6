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

#include "nodes/nodes.h"

extern bool merge_probe_unsafe(Node *node, void *context);
extern void merge_probe_init(void);

#endif							/* LAMBDA_MERGE_PROBE_H */
