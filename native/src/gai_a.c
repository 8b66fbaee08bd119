/*
 * gai_a.c — hook for getaddrinfo_a(3) (libanl before glibc 2.34, libc since).
 *
 * glibc runs each request of getaddrinfo_a on a worker thread of its own that calls getaddrinfo internally: since
 * glibc 2.34 that call never reaches the getaddrinfo hook, so the worker's lookups (and its search list) went
 * undecided and their answers unbound. The guard resolves the requests itself instead:
 *
 * Contract:
 * - mode off, re-entry, or a mode other than GAI_WAIT/GAI_NOWAIT: straight to libc (which checks its arguments).
 * - otherwise each request of `list` (NULL entries skipped) is resolved, in order and before getaddrinfo_a returns,
 *   by the guarded getaddrinfo (eg_getaddrinfo_checked: every name decided, searched and bound as for getaddrinfo):
 *   its result is stored in ar_result and its status in the gaicb's return field, where gai_error(), gai_suspend()
 *   and gai_cancel() of libc read it (a finished request: gai_error gives its status, gai_cancel EAI_ALLDONE). Then
 *   libc's getaddrinfo_a is called with no entries: in GAI_NOWAIT mode it delivers the `sig` notification the
 *   program asked for, exactly as it does for a completed list.
 * - So in GAI_NOWAIT mode the call blocks while the lookups run (as getaddrinfo would). A program that relied on it
 *   returning at once still gets every result and notification; it only waits longer (docs/INTERPOSER.md).
 * - Returns 0 (as libc does when every request was accepted), or libc's answer to the empty call.
 * Real function missing (getaddrinfo_a or getaddrinfo): EAI_SYSTEM with errno ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <signal.h>

#include "hook.h"
#include "resolver.h"

EG_EXPORT int getaddrinfo_a(int mode, struct gaicb *list[], int ent, struct sigevent *sig) {
  eg_getaddrinfo_a_fn real = EG_REAL(getaddrinfo_a);
  eg_getaddrinfo_fn gai = EG_REAL(getaddrinfo);
  if (EG_UNLIKELY(real == NULL || gai == NULL)) {
    errno = ENOSYS;
    return EAI_SYSTEM;
  }
  if (eg_passthrough() || (mode != GAI_WAIT && mode != GAI_NOWAIT) || list == NULL || ent < 0)
    return real(mode, list, ent, sig);
  for (int i = 0; i < ent; i++) {
    struct gaicb *req = list[i];
    if (req == NULL) continue;
    req->__return = EAI_INPROGRESS;
    req->__return = eg_getaddrinfo_checked(gai, req->ar_name, req->ar_service, req->ar_request, &req->ar_result);
  }
  return real(mode, list, 0, sig);
}
