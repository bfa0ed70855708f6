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
extern bool speed_has_delta(Oid batch_relid);
extern void speed_set_prepare_gid(const char *gid);
extern void speed_finish_prepared(const char *gid, bool commit);
extern void speed_before_finish_prepared(const char *gid);
extern void speed_after_finish_prepared(const char *gid, bool commit);

#endif							/* LAMBDA_CAPTURE_H */
