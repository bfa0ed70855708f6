/*-------------------------------------------------------------------------
 *
 * quantile.h
 *	  The aggregate behind percentile_cont in continuous views: a
 *	  relative-error quantile sketch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_QUANTILE_H
#define LAMBDA_QUANTILE_H

#include "postgres.h"

/* Quantile sketch: relative accuracy of every returned value, bins per sign */
#define SKETCH_QUANTILE_ACCURACY	0.01
#define SKETCH_QUANTILE_MAX_BINS	1024

/* Upper bound of a serialized state, per group */
extern Size sketch_quantile_max_bytes(void);

#endif							/* LAMBDA_QUANTILE_H */
