/*
 * getnet.c — hooks for the networks database: getnetbyname, getnetbyname_r, getnetbyaddr, getnetbyaddr_r.
 *
 * With `networks: … dns` in nsswitch.conf glibc answers these from DNS: getnetbyname searches for the name (a PTR
 * query, through the search list), getnetbyaddr asks the PTR of the network's address (0.0.1.10.in-addr.arpa for
 * network 10.1). So they are decided like host lookups:
 * - getnetbyname(_r): every name the search may query, as for getaddrinfo (lookup.c), glibc asked for one at a time.
 * - getnetbyaddr(_r) of an AF_INET network: its address (the network number's bytes first, zeros after — the name
 *   glibc queries) as a reverse lookup (reverse.c): allowed iff it is an allowed destination. Other types: libc.
 * - Denied in enforce mode: as for a network that does not exist — NULL (h_errno HOST_NOT_FOUND); the _r forms 0 with
 *   *result NULL and *h_errnop HOST_NOT_FOUND. mode off, re-entry: straight to libc. Nothing is bound.
 * Real function missing: NULL (h_errno NO_RECOVERY); ENOSYS for the _r forms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>

#include "hook.h"
#include "resolver.h"

struct net_call {
  eg_getnetbyname_fn real;
  eg_getnetbyname_r_fn real_r;
  struct netent *ret;
  char *buf;
  size_t buflen;
  struct netent **result;
  int *h_errnop;
  struct netent *n; /* the answer */
};

static struct eg_answer try_net(void *ctx, const char *name) {
  struct net_call *c = ctx;
  struct eg_answer a = {0, 0, EG_FOUND};
  if (c->real) {
    c->n = c->real(name);
    a.herr = c->n ? 0 : h_errno;
  } else {
    a.rc = c->real_r(name, c->ret, c->buf, c->buflen, c->result, c->h_errnop);
    c->n = a.rc == 0 && c->result ? *c->result : NULL;
    if (a.rc != 0) return (struct eg_answer){a.rc, NETDB_INTERNAL, EG_ABORT};
    a.herr = c->n ? 0 : (c->h_errnop ? *c->h_errnop : HOST_NOT_FOUND);
  }
  if (c->n == NULL) a.outcome = a.herr == NO_DATA ? EG_NO_DATA : a.herr == TRY_AGAIN ? EG_STOP : EG_NOT_FOUND;
  return a;
}

static struct eg_answer byname(struct net_call *c, const char *name, const char *call) {
  eg_enter();
  struct eg_lookup l = {.raw = name,
                        .call = call,
                        .errno_name = "HOST_NOT_FOUND",
                        .port = EGP_PORT_UNKNOWN,
                        .proto = EGP_PROTO_UNKNOWN,
                        .nss = 1,
                        .res = eg_res_current(),
                        .try_name = try_net,
                        .ctx = c,
                        .refused = {0, HOST_NOT_FOUND, EG_NOT_FOUND}};
  struct eg_answer a = eg_lookup_run(&l);
  int e = errno;
  if (a.outcome != EG_FOUND) c->n = NULL;
  eg_leave();
  errno = e;
  return a;
}

EG_EXPORT struct netent *getnetbyname(const char *name) {
  eg_getnetbyname_fn real = EG_REAL(getnetbyname);
  if (EG_UNLIKELY(real == NULL)) {
    h_errno = NO_RECOVERY;
    return NULL;
  }
  if (eg_passthrough() || name == NULL || name[0] == '\0') return real(name);
  struct net_call c = {.real = real};
  struct eg_answer a = byname(&c, name, "getnetbyname");
  if (c.n == NULL) h_errno = a.herr;
  return c.n;
}

EG_EXPORT int getnetbyname_r(const char *name, struct netent *ret, char *buf, size_t buflen, struct netent **result,
                             int *h_errnop) {
  eg_getnetbyname_r_fn real = EG_REAL(getnetbyname_r);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  if (eg_passthrough() || name == NULL || name[0] == '\0') return real(name, ret, buf, buflen, result, h_errnop);
  struct net_call c = {NULL, real, ret, buf, buflen, result, h_errnop, NULL};
  struct eg_answer a = byname(&c, name, "getnetbyname_r");
  if (result) *result = c.n;
  if (c.n == NULL && h_errnop) *h_errnop = a.herr;
  return a.rc;
}

/* The address glibc's DNS backend asks the PTR of for network `net`: its bytes first, zero bytes after. */
static int net_address(uint32_t net, int type, egp_ip *ip) {
  if (type != AF_INET) return 0;
  uint32_t v = net;
  while (v != 0 && (v & 0xff000000u) == 0) v <<= 8;
  ip->is_v6 = 0;
  ip->v4 = v;
  return 1;
}

/* 1 = ask libc. */
static int addr_ok(uint32_t net, int type, const char *call) {
  egp_ip ip;
  if (!net_address(net, type, &ip)) return 1;
  int saved = errno;
  eg_enter();
  int ok = eg_reverse_check(&ip, call, "HOST_NOT_FOUND");
  eg_leave();
  errno = saved;
  return ok;
}

EG_EXPORT struct netent *getnetbyaddr(uint32_t net, int type) {
  eg_getnetbyaddr_fn real = EG_REAL(getnetbyaddr);
  if (EG_UNLIKELY(real == NULL)) {
    h_errno = NO_RECOVERY;
    return NULL;
  }
  if (eg_passthrough() || addr_ok(net, type, "getnetbyaddr")) return real(net, type);
  h_errno = HOST_NOT_FOUND;
  return NULL;
}

EG_EXPORT int getnetbyaddr_r(uint32_t net, int type, struct netent *ret, char *buf, size_t buflen,
                             struct netent **result, int *h_errnop) {
  eg_getnetbyaddr_r_fn real = EG_REAL(getnetbyaddr_r);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  if (eg_passthrough() || addr_ok(net, type, "getnetbyaddr_r"))
    return real(net, type, ret, buf, buflen, result, h_errnop);
  if (result) *result = NULL;
  if (h_errnop) *h_errnop = HOST_NOT_FOUND;
  return 0;
}
