/*-------------------------------------------------------------------------
 *
 * memhint.h
 *	  Hints about memory, to the CPU and to the kernel: a prefetch of a
 *	  cache line (the hot loops that read shared memory, partial hashes and
 *	  index slots at random), and transparent huge pages for large memory
 *	  probed at random (partial.c, speed_set.c), and pages mapped at once
 *	  where memory is about to be written for the first time (shared memory:
 *	  generation.c, speed_index.c, speed.c, speed_set.c; a backend's large
 *	  partial hashes: partial.c). Hints only: without them (another compiler, a
 *	  kernel without transparent huge pages or without MADV_POPULATE_WRITE)
 *	  the code does the same, more slowly.
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

/* The smallest page size; the Linux page size of x86-64, and of arm64's usual kernels */
#define LAMBDA_PAGE			4096

/* Linux 5.14's advice (<linux/mman.h>), for C libraries that do not name it yet */
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Asks the kernel to map, in this process and at once, the pages within p
 * .. p + size that it is about to write for the first time (a new chunk or
 * array of the speed layer's DSA area, or of a parallel query's; a large
 * partial hash's new memory, below). Every page of a DSM segment that a
 * process touches first is otherwise a page fault of its own, one per 4 kB:
 * many thousands for a statement that adds a million groups, and on a
 * virtual machine each fault costs several microseconds more than the
 * write itself. The pages
 * of a DSM segment are already allocated (PostgreSQL reserves them when it
 * makes the segment), so this only makes this process's page table
 * entries, writable, in one call. In a backend's own memory (a large
 * partial hash's new slot array or arena block) it also allocates the
 * pages, which the writes that follow would have done one fault at a
 * time. Linux 5.14 or later; elsewhere, or when the kernel refuses, the
 * first writes fault in the pages as before.
 */
static inline void
lambda_populate_write(void *p, Size size)
{
#ifdef MADV_POPULATE_WRITE
	char	   *start = (char *) TYPEALIGN(LAMBDA_PAGE, p);
	char	   *end = (char *) TYPEALIGN_DOWN(LAMBDA_PAGE, (char *) p + size);

	if (end > start)
		(void) madvise(start, end - start, MADV_POPULATE_WRITE);
#endif
}

#endif							/* LAMBDA_MEMHINT_H */
