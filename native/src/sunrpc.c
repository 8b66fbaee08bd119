/*
 * sunrpc.c — hooks for the Sun RPC client of glibc: clnt_create, callrpc, getrpcport, clnttcp_create, clntudp_create,
 * clntudp_bufcreate, pmap_getport, pmap_getmaps, pmap_rmtcall, clnt_broadcast, rtime, authdes_create,
 * authdes_pk_create.
 *
 * These resolve a host name (gethostbyname inside libc: a DNS query the lookup hooks never see) and/or talk to an
 * address (connect, sendto, broadcast: inside libc, past the connect and send hooks). They are default symbols up to
 * glibc 2.31 — Amazon Linux 2 has 2.26, where plain Python reaches clnttcp_create through ctypes — and compat symbols
 * since, which binaries built against an older glibc still bind to. The guard cannot decide what happens inside them,
 * so it does not let them run (as the r-services, rcmd.c).
 *
 * Contract: mode off or re-entry: straight to libc. A Unix-socket client (clnt_create with protocol "unix"), and
 * authdes_*create without a time-sync address, go straight to libc: nothing leaves the host. Otherwise the call is
 * decided as refused whatever the policy says (rule `unsupported-call`, event `connect`, `host` or `ip`/`port` when
 * the call names them) and logged; in enforce mode it fails before libc does anything, the way it reports a failure —
 * NULL (clnt_*create, pmap_getmaps, authdes_*), 0 (getrpcport, pmap_getport), RPC_CANTSEND (callrpc, pmap_rmtcall,
 * clnt_broadcast), -1 (rtime) — with errno EACCES; audit mode lets it run (logged "would block"). Real function
 * missing: the same failure with ENOSYS.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>

#include "hook.h"
#include "resolver.h"

enum { RPC_CANTSEND = 3 }; /* enum clnt_stat (<rpc/clnt.h>, no longer installed by glibc) */

/* The version these functions first had, which their compat symbols keep since glibc 2.32. */
#if defined(__x86_64__)
#define FIRST_VERSION "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define FIRST_VERSION "GLIBC_2.17"
#else
#error "unsupported architecture"
#endif

/* The real function: the default symbol (glibc < 2.32), else the compat one by version (what binaries built against an
 * older glibc bind to; dlsym cannot see it). NULL when there is neither. */
static void *real_fn(int id, const char *name) {
  void *f = eg_real(id);
  if (f == NULL) {
    eg_enter();
    f = dlvsym(RTLD_NEXT, name, FIRST_VERSION);
    eg_leave();
  }
  return f;
}
#define REAL(name) ((eg_##name##_fn)real_fn(EG_HOOK_##name, #name))

/* 1 = let libc run it (audit). Names the host, or the address of a sockaddr_in, when the call has one. */
static int run_ok(const char *host, const struct sockaddr *sa, socklen_t salen, const char *call) {
  int saved = errno;
  eg_enter();
  egp_ip ip;
  int port = EGP_PORT_UNKNOWN;
  int have_ip = sa != NULL && eg_sockaddr_ip(sa, salen, &ip, &port);
  size_t len = host ? strnlen(host, 253) : 0;
  struct eg_query q = {"connect",        call, host, len, have_ip ? &ip : NULL, have_ip ? port : EGP_PORT_UNKNOWN,
                       EGP_PROTO_UNKNOWN};
  int ok = eg_check_denied(&q, EG_RULE_UNSUPPORTED_CALL, "EACCES");
  eg_leave();
  errno = ok ? saved : EACCES;
  return ok;
}

#define SIN(a) ((const struct sockaddr *)(a)), sizeof(struct sockaddr_in)
/* The real function's answer, or the failure the function reports with errno ENOSYS when there is none. */
#define CALL(name, fail, ...)                                                                                          \
  do {                                                                                                                 \
    eg_##name##_fn real = REAL(name);                                                                                  \
    if (real == NULL) {                                                                                                \
      errno = ENOSYS;                                                                                                  \
      return fail;                                                                                                     \
    }                                                                                                                  \
    return real(__VA_ARGS__);                                                                                          \
  } while (0)

EG_EXPORT void *clnt_create(const char *host, unsigned long prog, unsigned long vers, const char *proto) {
  int local = proto != NULL && strcmp(proto, "unix") == 0;
  if (!eg_passthrough() && !local && !run_ok(host, NULL, 0, "clnt_create")) return NULL;
  CALL(clnt_create, NULL, host, prog, vers, proto);
}

EG_EXPORT int callrpc(const char *host, unsigned long prog, unsigned long vers, unsigned long proc, void *inproc,
                      const char *in, void *outproc, char *out) {
  if (!eg_passthrough() && !run_ok(host, NULL, 0, "callrpc")) return RPC_CANTSEND;
  CALL(callrpc, RPC_CANTSEND, host, prog, vers, proc, inproc, in, outproc, out);
}

EG_EXPORT int getrpcport(const char *host, unsigned long prog, unsigned long vers, unsigned int proto) {
  if (!eg_passthrough() && !run_ok(host, NULL, 0, "getrpcport")) return 0;
  CALL(getrpcport, 0, host, prog, vers, proto);
}

EG_EXPORT void *clnttcp_create(struct sockaddr_in *raddr, unsigned long prog, unsigned long vers, int *sockp,
                               unsigned int sendsz, unsigned int recvsz) {
  if (!eg_passthrough() && !run_ok(NULL, SIN(raddr), "clnttcp_create")) return NULL;
  CALL(clnttcp_create, NULL, raddr, prog, vers, sockp, sendsz, recvsz);
}

EG_EXPORT void *clntudp_create(struct sockaddr_in *raddr, unsigned long prog, unsigned long vers, struct timeval wait,
                               int *sockp) {
  if (!eg_passthrough() && !run_ok(NULL, SIN(raddr), "clntudp_create")) return NULL;
  CALL(clntudp_create, NULL, raddr, prog, vers, wait, sockp);
}

EG_EXPORT void *clntudp_bufcreate(struct sockaddr_in *raddr, unsigned long prog, unsigned long vers,
                                  struct timeval wait, int *sockp, unsigned int sendsz, unsigned int recvsz) {
  if (!eg_passthrough() && !run_ok(NULL, SIN(raddr), "clntudp_bufcreate")) return NULL;
  CALL(clntudp_bufcreate, NULL, raddr, prog, vers, wait, sockp, sendsz, recvsz);
}

EG_EXPORT unsigned short pmap_getport(struct sockaddr_in *addr, unsigned long prog, unsigned long vers,
                                      unsigned int proto) {
  if (!eg_passthrough() && !run_ok(NULL, SIN(addr), "pmap_getport")) return 0;
  CALL(pmap_getport, 0, addr, prog, vers, proto);
}

EG_EXPORT void *pmap_getmaps(struct sockaddr_in *addr) {
  if (!eg_passthrough() && !run_ok(NULL, SIN(addr), "pmap_getmaps")) return NULL;
  CALL(pmap_getmaps, NULL, addr);
}

EG_EXPORT int pmap_rmtcall(struct sockaddr_in *addr, unsigned long prog, unsigned long vers, unsigned long proc,
                           void *xdrargs, void *argsp, void *xdrres, void *resp, struct timeval tout,
                           unsigned long *port) {
  if (!eg_passthrough() && !run_ok(NULL, SIN(addr), "pmap_rmtcall")) return RPC_CANTSEND;
  CALL(pmap_rmtcall, RPC_CANTSEND, addr, prog, vers, proc, xdrargs, argsp, xdrres, resp, tout, port);
}

EG_EXPORT int clnt_broadcast(unsigned long prog, unsigned long vers, unsigned long proc, void *xargs, void *argsp,
                             void *xresults, void *resultsp, void *eachresult) {
  if (!eg_passthrough() && !run_ok(NULL, NULL, 0, "clnt_broadcast")) return RPC_CANTSEND;
  CALL(clnt_broadcast, RPC_CANTSEND, prog, vers, proc, xargs, argsp, xresults, resultsp, eachresult);
}

EG_EXPORT int rtime(struct sockaddr_in *addr, void *timep, void *timeout) {
  if (!eg_passthrough() && !run_ok(NULL, SIN(addr), "rtime")) return -1;
  CALL(rtime, -1, addr, timep, timeout);
}

EG_EXPORT void *authdes_create(const char *servername, unsigned int window, struct sockaddr *syncaddr, void *ckey) {
  if (!eg_passthrough() && syncaddr != NULL && !run_ok(NULL, syncaddr, sizeof(struct sockaddr_in), "authdes_create"))
    return NULL;
  CALL(authdes_create, NULL, servername, window, syncaddr, ckey);
}

EG_EXPORT void *authdes_pk_create(const char *servername, void *pkey, unsigned int window, struct sockaddr *syncaddr,
                                  void *ckey) {
  if (!eg_passthrough() && syncaddr != NULL && !run_ok(NULL, syncaddr, sizeof(struct sockaddr_in), "authdes_pk_create"))
    return NULL;
  CALL(authdes_pk_create, NULL, servername, pkey, window, syncaddr, ckey);
}
