/*
 * getaddrinfo.c — hook for getaddrinfo(3); eg_getaddrinfo_checked is the family's one checked function (the exported
 * symbol and getaddrinfo_a (gai_a.c) use it).
 *
 * Contract:
 * - mode off, re-entry (our own calls, or a resolver module running under this hook), node == NULL/"" (a local or
 *   passive address: nothing can be queried), AI_NUMERICHOST, or a node that is an IP literal (inet_aton forms such
 *   as "127.1" included): straight to libc — no name is looked up, and the connect check decides on the address.
 * - otherwise every name glibc would query for `node` — the name itself, read as the resolver reads it, its
 *   HOSTALIASES target, the name with each search domain — is decided before it can be queried, and glibc is asked
 *   for one name at a time with its own search switched off (lookup.c, resolver.h). A lookup is decided for the name
 *   alone: the numeric service and the hints' protocol are logged, not used. Enforce: a blocked name is never
 *   queried; when no name may be asked the result is EAI_NONAME, libc never called. Audit: every name proceeds
 *   (logged "would block").
 * - after a successful lookup every AF_INET/AF_INET6 result is bound to the name that produced it (binding.c), so a
 *   later connect to one of those addresses is decided with that name's rules.
 * Real function missing (dlsym): EAI_SYSTEM with errno ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "hook.h"
#include "resolver.h"

static int service_port(const char *service) {
  if (service == NULL || service[0] == '\0') return EGP_PORT_UNKNOWN;
  long v = 0;
  for (const char *p = service; *p; p++) {
    if (*p < '0' || *p > '9') return EGP_PORT_UNKNOWN;
    v = v * 10 + (*p - '0');
    if (v > 65535) return EGP_PORT_UNKNOWN;
  }
  return (int)v;
}

static int hints_proto(const struct addrinfo *h) {
  if (h == NULL) return EGP_PROTO_UNKNOWN;
  if (h->ai_socktype == SOCK_STREAM || h->ai_protocol == IPPROTO_TCP) return EGP_PROTO_TCP;
  if (h->ai_socktype == SOCK_DGRAM || h->ai_protocol == IPPROTO_UDP) return EGP_PROTO_UDP;
  return EGP_PROTO_UNKNOWN;
}

struct gai_call {
  eg_getaddrinfo_fn real;
  const char *service;
  const struct addrinfo *hints;
  struct addrinfo **res;
};

/* One real getaddrinfo for `name`; the search needs EAI_NONAME / EAI_NODATA to go on, anything about the arguments
 * ends it, and a server failure (EAI_AGAIN, EAI_FAIL) ends the search list. */
static struct eg_answer try_gai(void *ctx, const char *name) {
  struct gai_call *c = ctx;
  struct addrinfo *out = NULL;
  struct eg_answer a = {c->real(name, c->service, c->hints, &out), 0, EG_STOP};
  switch (a.rc) {
  case 0: a.outcome = EG_FOUND, *c->res = out; break;
  case EAI_NONAME: a.outcome = EG_NOT_FOUND; break;
#ifdef EAI_NODATA
  case EAI_NODATA: a.outcome = EG_NO_DATA; break;
#endif
  case EAI_AGAIN:
  case EAI_FAIL: a.outcome = EG_STOP; break;
  default: a.outcome = EG_ABORT; break;
  }
  return a;
}

int eg_getaddrinfo_checked(eg_getaddrinfo_fn real, const char *node, const char *service, const struct addrinfo *hints,
                           struct addrinfo **res) {
  if (eg_passthrough() || node == NULL || node[0] == '\0' || (hints && (hints->ai_flags & AI_NUMERICHOST)) ||
      res == NULL)
    return real(node, service, hints, res);
  int saved = errno;
  eg_enter();
  char copy[EG_MAXDNAME]; /* decide and ask a private copy: another thread cannot change the name in between */
  size_t n = strnlen(node, sizeof copy);
  if (n < sizeof copy) node = memcpy(copy, node, n + 1);
  if (eg_is_ip_literal(node)) {
    eg_leave();
    errno = saved;
    return real(node, service, hints, res);
  }
  struct gai_call c = {real, service, hints, res};
  struct eg_lookup l = {.raw = node,
                        .call = "getaddrinfo",
                        .errno_name = "EAI_NONAME",
                        .port = service_port(service),
                        .proto = hints_proto(hints),
                        .nss = 1,
                        .nss_alias = 1,
                        .res = eg_res_current(),
                        .try_name = try_gai,
                        .ctx = &c,
                        .refused = {EAI_NONAME, 0, EG_NOT_FOUND}};
  struct eg_answer a = eg_lookup_run(&l);
  int e = errno;
  if (a.outcome == EG_FOUND && l.found.readable) {
    for (const struct addrinfo *ai = *res; ai != NULL; ai = ai->ai_next) {
      egp_ip ip;
      int port;
      if (eg_sockaddr_ip(ai->ai_addr, ai->ai_addrlen, &ip, &port)) eg_bind(&ip, l.found.text, l.found.len);
    }
  }
  eg_leave();
  errno = e;
  return a.rc;
}

EG_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
  eg_getaddrinfo_fn real = EG_REAL(getaddrinfo);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return EAI_SYSTEM;
  }
  return eg_getaddrinfo_checked(real, node, service, hints, res);
}
