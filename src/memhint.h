/*-------------------------------------------------------------------------
 *
 * memhint.h
 *	  Hints about memory, to the CPU and to the kernel: a prefetch of a
 *	  cache line (the hot loops that read shared memory, partial hashes and
 *	  index slots at random), and transparent huge pages for large memory
 *	  probed at random (partial.c, speed_set.c). Hints only: without them
 *	  (another compiler, a kernel without transparent huge pages) the code
 *	  does the same, more slowly.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_MEMHINT_H
#define LAMBDA_MEMHINT_H

#include "postgres.h"

#include <sys/mman.h>

/* Starts loading the cache line of p (for reading), if the compiler can. */
#if defined(__GNUC__) || defined(__clang__)
#define lambda_prefetch(p)	__builtin_prefetch(p)
#else
#define lambda_prefetch(p)	((void) (p))
#endif

/* The size of a transparent huge page (x86-64's, arm64's with 4 kB pages) */
#define LAMBDA_HUGE_PAGE	(2 * 1024 * 1024)

/*
 * Advises transparent huge pages for the whole huge pages within p .. p +
 * size, before they are first touched (the kernel makes a page huge when
 * it is faulted in). Memory aligned on LAMBDA_HUGE_PAGE gets all of it.
 */
static inline void
lambda_advise_huge(void *p, Size size)
{
#ifdef MADV_HUGEPAGE
	char	   *start = (char *) TYPEALIGN(LAMBDA_HUGE_PAGE, p);
	char	   *end = (char *) TYPEALIGN_DOWN(LAMBDA_HUGE_PAGE, (char *) p + size);

	if (end > start)
		(void) madvise(start, end - start, MADV_HUGEPAGE);
#endif
}

#endif							/* LAMBDA_MEMHINT_H */
