/*-------------------------------------------------------------------------
 *
 * generation.h
 *	  One generation of a continuous view's speed layer: a hash table from
 *	  key image to states image in the speed layer's DSA area. Only
 *	  speed.c uses it, holding the view's lock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_GENERATION_H
#define LAMBDA_GENERATION_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/dsa.h"

#include "cview.h"
#include "genlayout.h"
#include "partial.h"

extern void generation_clear(dsa_area *area, SpeedGen *g);
extern void generation_reserve(dsa_area *area, SpeedGen *g, int64 more);
extern dsa_pointer *generation_link(dsa_area *area, SpeedGen *g, uint32 hash, const char *key, uint32 keylen);
extern bool generation_carve_mark(dsa_area *area, SpeedGen *g, dsa_pointer *chunk, dsa_pointer *at);
extern int64 generation_carved_since(dsa_area *area, SpeedGen *g, dsa_pointer chunk, dsa_pointer at,
									 void (*fn) (void *arg, SpeedEntry *e), void *arg);
extern bool generation_apply_blob(dsa_area *area, SpeedGen *g, ViewDef *def,
								  const char *blob, Size len, char *why, size_t whylen);
extern bool generation_apply_partial(dsa_area *area, SpeedGen *g, ViewDef *def, PartialHash *ph,
									 bool indexed, char *why, size_t whylen);
extern bool generation_absorb(dsa_area *area, SpeedGen *into, ViewDef *def, SpeedGen *from,
							  char *why, size_t whylen);
extern void generation_append_blob(dsa_area *area, SpeedGen *g, StringInfo blob);
extern bool generation_merge(dsa_area *area, SpeedGen *into, ViewDef *def, SpeedGen *from,
							 char *why, size_t whylen);

#endif							/* LAMBDA_GENERATION_H */
