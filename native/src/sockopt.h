/*
 * sockopt.h — options and ancillary data that would redirect packets (contract at the top of sockopt.c).
 */
#ifndef EG_SOCKOPT_H
#define EG_SOCKOPT_H

#include <stddef.h>

#include "guard.h"

#define EG_CMSG_MAX 1024 /* the largest control buffer (send) or IPV6_2292PKTOPTIONS value the guard copies and reads */

/* A send's control messages ctl[0..len) (the guard's private copy; inside the guard): 1 = proceed, 0 = refused. */
int eg_cmsg_check(const void *ctl, size_t len, const char *call) EG_HIDDEN;

#endif
