/*
 * reverse.c — hooks for reverse lookups: getnameinfo (when it resolves the host), gethostbyaddr, gethostbyaddr_r.
 *
 * A reverse lookup sends a PTR query for a name built from the address (d.c.b.a.in-addr.arpa, nibbles.ip6.arpa) to
 * the nameserver, which forwards it to whoever runs that reverse zone: an address chosen by the program carries data
 * to that party. The rule (docs/POLICY.md "Decisions"): a reverse lookup of an address is allowed when the address is
 * an allowed destination — decide_addr with the port and protocol unknown and the name it was bound to by an earlier
 * lookup (so the peer of a connection the policy allows can be named), loopback per the policy's loopback setting —
 * decided before libc sees it. Logged as event `dns` with `ip` (no port), `call` the hook.
 *
 * Contract:
 * - mode off, re-entry, an address that is not AF_INET/AF_INET6 (of the length its family needs): straight to libc.
 * - getnameinfo: no host wanted (host NULL or hostlen 0) or NI_NUMERICHOST: straight to libc (nothing is looked up).
 *   Denied in enforce mode: as glibc does when no name is found — EAI_NONAME with NI_NAMEREQD, else the numeric
 *   form (libc called with NI_NUMERICHOST added), so the program carries on and no PTR query leaves.
 * - gethostbyaddr / gethostbyaddr_r denied in enforce mode: NULL with h_errno HOST_NOT_FOUND / 0 with *result NULL
 *   and *h_errnop HOST_NOT_FOUND, as glibc for an address without a name; errno unchanged.
 * - Nothing is bound: a PTR answer names the address, it does not resolve a name to addresses.
 * - The address decided is the one libc looks up: it is copied first and the copy passed on (another thread cannot
 *   rewrite the program's buffer in between).
 * Real function missing: EAI_SYSTEM/ENOSYS, NULL/NO_RECOVERY, ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "hook.h"
#include "resolver.h"

/* The address of a reverse lookup, or 0 when it is not one the guard decides (libc handles the rest). */
static int reverse_ip(const void *addr, socklen_t len, int type, egp_ip *ip) {
  if (addr == NULL) return 0;
  if (type == AF_INET && len == 4) {
    struct sockaddr_in sa = {.sin_family = AF_INET};
    memcpy(&sa.sin_addr, addr, 4);
    int port;
    return eg_sockaddr_ip((const struct sockaddr *)&sa, sizeof sa, ip, &port);
  }
  if (type == AF_INET6 && len == 16) {
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    memcpy(&sa.sin6_addr, addr, 16);
    int port;
    return eg_sockaddr_ip((const struct sockaddr *)&sa, sizeof sa, ip, &port);
  }
  return 0;
}

int eg_reverse_check(const egp_ip *ip, const char *call, const char *errno_name) {
  char bound[256];
  size_t blen = eg_bound_name(ip, bound);
  struct eg_query q = {"dns", call, blen ? bound : NULL, blen, ip, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN};
  return eg_check(&q, errno_name);
}

/* Decide inside the guard; errno as the caller left it. 1 = ask libc. */
static int allowed(const egp_ip *ip, const char *call, const char *errno_name) {
  int saved = errno;
  eg_enter();
  int ok = eg_reverse_check(ip, call, errno_name);
  eg_leave();
  errno = saved;
  return ok;
}

EG_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                          socklen_t servlen, int flags) {
  eg_getnameinfo_fn real = EG_REAL(getnameinfo);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return EAI_SYSTEM;
  }
  if (eg_passthrough() || host == NULL || hostlen == 0 || (flags & NI_NUMERICHOST))
    return real(sa, salen, host, hostlen, serv, servlen, flags);
  struct sockaddr_storage copy;
  if (sa == NULL || salen == 0 || salen > sizeof copy) return real(sa, salen, host, hostlen, serv, servlen, flags);
  sa = memcpy(&copy, sa, salen);
  egp_ip ip;
  int port;
  if (!eg_sockaddr_ip(sa, salen, &ip, &port)) return real(sa, salen, host, hostlen, serv, servlen, flags);
  if (allowed(&ip, "getnameinfo", (flags & NI_NAMEREQD) ? "EAI_NONAME" : NULL))
    return real(sa, salen, host, hostlen, serv, servlen, flags);
  if (flags & NI_NAMEREQD) return EAI_NONAME;
  return real(sa, salen, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
}

EG_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type) {
  eg_gethostbyaddr_fn real = EG_REAL(gethostbyaddr);
  if (EG_UNLIKELY(real == NULL)) {
    h_errno = NO_RECOVERY;
    return NULL;
  }
  egp_ip ip;
  unsigned char copy[16];
  if (addr != NULL && len <= sizeof copy && len > 0) addr = memcpy(copy, addr, len);
  if (eg_passthrough() || !reverse_ip(addr, len, type, &ip)) return real(addr, len, type);
  if (allowed(&ip, "gethostbyaddr", "HOST_NOT_FOUND")) return real(addr, len, type);
  h_errno = HOST_NOT_FOUND;
  return NULL;
}

EG_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen,
                              struct hostent **result, int *h_errnop) {
  eg_gethostbyaddr_r_fn real = EG_REAL(gethostbyaddr_r);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  egp_ip ip;
  unsigned char copy[16];
  if (addr != NULL && len <= sizeof copy && len > 0) addr = memcpy(copy, addr, len);
  if (eg_passthrough() || !reverse_ip(addr, len, type, &ip) || allowed(&ip, "gethostbyaddr_r", "HOST_NOT_FOUND"))
    return real(addr, len, type, ret, buf, buflen, result, h_errnop);
  if (result) *result = NULL;
  if (h_errnop) *h_errnop = HOST_NOT_FOUND;
  return 0;
}
