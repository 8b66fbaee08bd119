/*
 * rcmd.c — hooks for the BSD r-services: rcmd, rcmd_af, rexec, rexec_af, ruserok, ruserok_af, iruserok, iruserok_af.
 *
 * These resolve names (the remote host; for the *userok forms also every host name listed in /etc/hosts.equiv and the
 * user's ~/.rhosts) and rcmd/rexec connect to the result, all with calls internal to libc that no other hook sees:
 * rexec(&host, port, …) needs no privilege and carries its user, password and command to any address on any port.
 * The guard cannot decide those inner lookups and connects, so it does not let the calls run.
 *
 * Contract: mode off or re-entry: straight to libc. Otherwise the call is decided as refused whatever the policy says
 * (rule `unsupported-call`, event `connect`, `host` the remote host when there is one, `port`, `call` the hook) and
 * logged; in enforce mode it returns -1 with errno EACCES before libc does anything (no lookup, no connection);
 * audit mode lets it run (logged "would block"). Real function missing: -1, ENOSYS.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "hook.h"
#include "resolver.h"

/* 1 = let libc run it (audit). host may be NULL; port in host order or EGP_PORT_UNKNOWN. */
static int run_ok(const char *host, int port, const char *call) {
  int saved = errno;
  eg_enter();
  size_t len = host ? strlen(host) : 0;
  struct eg_query q = {"connect", call, host, len > 253 ? 253 : len, NULL, port, EGP_PROTO_TCP};
  int ok = eg_check_denied(&q, EG_RULE_UNSUPPORTED_CALL, "EACCES");
  eg_leave();
  errno = ok ? saved : EACCES;
  return ok;
}

#define AHOST(a) ((a) != NULL ? *(a) : NULL)

EG_EXPORT int rcmd(char **ahost, unsigned short inport, const char *locuser, const char *remuser, const char *cmd,
                   int *fd2p) {
  eg_rcmd_fn real = EG_REAL(rcmd);
  if (real == NULL) return eg_missing();
  if (eg_passthrough() || run_ok(AHOST(ahost), ntohs(inport), "rcmd"))
    return real(ahost, inport, locuser, remuser, cmd, fd2p);
  return -1;
}

EG_EXPORT int rcmd_af(char **ahost, unsigned short inport, const char *locuser, const char *remuser, const char *cmd,
                      int *fd2p, sa_family_t af) {
  eg_rcmd_af_fn real = EG_REAL(rcmd_af);
  if (real == NULL) return eg_missing();
  if (eg_passthrough() || run_ok(AHOST(ahost), ntohs(inport), "rcmd_af"))
    return real(ahost, inport, locuser, remuser, cmd, fd2p, af);
  return -1;
}

EG_EXPORT int rexec(char **ahost, int rport, const char *name, const char *pass, const char *cmd, int *fd2p) {
  eg_rexec_fn real = EG_REAL(rexec);
  if (real == NULL) return eg_missing();
  if (eg_passthrough() || run_ok(AHOST(ahost), ntohs((unsigned short)rport), "rexec"))
    return real(ahost, rport, name, pass, cmd, fd2p);
  return -1;
}

EG_EXPORT int rexec_af(char **ahost, int rport, const char *name, const char *pass, const char *cmd, int *fd2p,
                       sa_family_t af) {
  eg_rexec_af_fn real = EG_REAL(rexec_af);
  if (real == NULL) return eg_missing();
  if (eg_passthrough() || run_ok(AHOST(ahost), ntohs((unsigned short)rport), "rexec_af"))
    return real(ahost, rport, name, pass, cmd, fd2p, af);
  return -1;
}

EG_EXPORT int ruserok(const char *rhost, int superuser, const char *ruser, const char *luser) {
  eg_ruserok_fn real = EG_REAL(ruserok);
  if (real == NULL) return eg_missing();
  if (eg_passthrough() || run_ok(rhost, EGP_PORT_UNKNOWN, "ruserok")) return real(rhost, superuser, ruser, luser);
  return -1;
}

EG_EXPORT int ruserok_af(const char *rhost, int superuser, const char *ruser, const char *luser, sa_family_t af) {
  eg_ruserok_af_fn real = EG_REAL(ruserok_af);
  if (real == NULL) return eg_missing();
  if (eg_passthrough() || run_ok(rhost, EGP_PORT_UNKNOWN, "ruserok_af"))
    return real(rhost, superuser, ruser, luser, af);
  return -1;
}

EG_EXPORT int iruserok(uint32_t raddr, int superuser, const char *ruser, const char *luser) {
  eg_iruserok_fn real = EG_REAL(iruserok);
  if (real == NULL) return eg_missing();
  if (eg_passthrough() || run_ok(NULL, EGP_PORT_UNKNOWN, "iruserok")) return real(raddr, superuser, ruser, luser);
  return -1;
}

EG_EXPORT int iruserok_af(const void *raddr, int superuser, const char *ruser, const char *luser, sa_family_t af) {
  eg_iruserok_af_fn real = EG_REAL(iruserok_af);
  if (real == NULL) return eg_missing();
  if (eg_passthrough() || run_ok(NULL, EGP_PORT_UNKNOWN, "iruserok_af"))
    return real(raddr, superuser, ruser, luser, af);
  return -1;
}
