/*
 * getaddrinfo.c — hook for getaddrinfo(3).
 *
 * Contract:
 * - mode off, re-entry (our own calls, or a resolver module running under this hook), node == NULL/"" (a local or
 *   passive address), AI_NUMERICHOST, or a node that is an IP literal (inet_aton forms such as "127.1" included):
 *   straight to libc — no name is looked up, and the connect check decides on the address.
 * - otherwise the name the resolver will query (resolver.h: escapes decoded; one it cannot read is refused as
 *   dns-malformed) is decided BEFORE libc sees it (port from a numeric service, else unknown; proto from hints).
 *   Enforce + deny: return EAI_NONAME without calling libc, so no DNS query leaves. Audit + deny: the
 *   lookup proceeds (logged "would block").
 * - after a successful lookup every AF_INET/AF_INET6 result is bound to the name (binding.c), so a later connect to
 *   one of those addresses is decided with the name's rules.
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

EG_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **res) {
  eg_getaddrinfo_fn real = EG_REAL(getaddrinfo);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return EAI_SYSTEM;
  }
  if (eg_passthrough() || node == NULL || node[0] == '\0' || (hints && (hints->ai_flags & AI_NUMERICHOST)))
    return real(node, service, hints, res);
  int saved = errno;
  eg_enter();
  if (eg_is_ip_literal(node)) {
    eg_leave();
    errno = saved;
    return real(node, service, hints, res);
  }
  struct eg_name name;
  int ok = eg_decide_name(node, "getaddrinfo", service_port(service), hints_proto(hints), "EAI_NONAME", &name);
  eg_leave();
  if (!ok) {
    errno = saved;
    return EAI_NONAME;
  }
  errno = saved;
  eg_enter(); /* the resolver's own sockets (NSS modules, nscd) are not the program's egress */
  int rc = real(node, service, hints, res);
  int e = errno;
  if (rc == 0 && res != NULL) {
    for (const struct addrinfo *ai = *res; ai != NULL; ai = ai->ai_next) {
      egp_ip ip;
      int port;
      if (name.readable && eg_sockaddr_ip(ai->ai_addr, ai->ai_addrlen, &ip, &port)) eg_bind(&ip, name.text, name.len);
    }
  }
  eg_leave();
  errno = e;
  return rc;
}
