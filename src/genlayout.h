/*-------------------------------------------------------------------------
 *
 * genlayout.h
 *	  The layout of one speed-layer generation in the DSA area: SpeedGen
 *	  (its hash table and column indexes) and SpeedEntry (one key and its
 *	  states). A header of its own so that generation.c, which maintains a
 *	  generation, and speed_index.c, whose column indexes hang off it, both
 *	  read the layout without depending on each other both ways
 *	  (generation.c calls speed_index.c; test/room_graph.sh).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_GENLAYOUT_H
#define LAMBDA_GENLAYOUT_H

#include "postgres.h"

#include "utils/dsa.h"

typedef struct SpeedGen
{
	int64		gen;
	int64		first;			/* first generation it stands for (a
								 * rebuilt one stands for several) */
	bool		complete;
	dsa_pointer buckets;		/* dsa_pointer[nbuckets], or invalid */
	uint32		nbuckets;
	int64		nentries;
	int64		bytes;			/* entries, buckets and index */
	dsa_pointer index;			/* column indexes (speed_index.c), or invalid */
	dsa_pointer chunks;			/* chunks new entries are carved from (a
								 * list, see generation.c), or invalid */
	dsa_pointer chunk_free;		/* the room left in the newest chunk ... */
	uint32		chunk_left;		/* ... and its size in bytes */
} SpeedGen;

typedef struct SpeedEntry
{
	dsa_pointer next;
	uint32		hash;
	uint32		keylen;
	uint32		stateslen;
	uint32		cap;			/* room for states; its top bit is
								 * generation.c's (carved from a chunk) */
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* key, then states */
} SpeedEntry;

#endif							/* LAMBDA_GENLAYOUT_H */
