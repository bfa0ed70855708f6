/*-------------------------------------------------------------------------
 *
 * capture.h
 *	  Capture: the events a transaction inserts, as partial states per
 *	  continuous view, handed to the speed layer when it commits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_CAPTURE_H
#define LAMBDA_CAPTURE_H

#include "postgres.h"

extern void capture_init(void);
extern bool capture_has_delta(Oid batch_relid);
extern void capture_set_prepare_gid(const char *gid);
extern void capture_finish_prepared(const char *gid, bool commit);
extern void capture_before_finish_prepared(const char *gid);
extern void capture_after_finish_prepared(const char *gid, bool commit);

#endif							/* LAMBDA_CAPTURE_H */
