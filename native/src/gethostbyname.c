/*
 * gethostbyname.c — hooks for gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r.
 *
 * Contract (as getaddrinfo.c): IP literals, mode off and re-entry go straight to libc. The name the resolver will
 * query (resolver.h) is decided before libc sees it (port and protocol unknown). Enforce + deny fails exactly as
 * glibc does for a name that does not exist:
 * gethostbyname* return NULL with h_errno = HOST_NOT_FOUND; the _r forms return 0 with *result = NULL and
 * *h_errnop = HOST_NOT_FOUND. errno is left unchanged. After a successful lookup the addresses are bound to the name.
 * Real function missing: NULL with h_errno NO_RECOVERY (the _r forms return ENOSYS).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "hook.h"
#include "resolver.h"

/* 1 = ask libc; 0 = denied (enforce). Fills *n for binding afterwards (n->readable 0 = nothing to bind). */
static int decide(const char *node, const char *call, struct eg_name *n) {
  n->readable = 0;
  if (node == NULL || node[0] == '\0') return 1;
  if (eg_is_ip_literal(node)) return 1;
  return eg_decide_name(node, call, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN, "HOST_NOT_FOUND", n);
}

static void bind_hostent(const struct hostent *h, const struct eg_name *n) {
  if (h == NULL || !n->readable || h->h_addr_list == NULL) return;
  for (char **a = h->h_addr_list; *a != NULL; a++) {
    egp_ip ip;
    memset(&ip, 0, sizeof ip);
    if (h->h_addrtype == AF_INET && h->h_length == 4) {
      uint8_t *b = (uint8_t *)*a;
      ip.v4 = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    } else if (h->h_addrtype == AF_INET6 && h->h_length == 16) {
      struct sockaddr_in6 sa;
      int port;
      memset(&sa, 0, sizeof sa);
      sa.sin6_family = AF_INET6;
      memcpy(&sa.sin6_addr, *a, 16);
      if (!eg_sockaddr_ip((struct sockaddr *)&sa, sizeof sa, &ip, &port)) continue;
    } else {
      continue;
    }
    eg_bind(&ip, n->text, n->len);
  }
}

/* A lookup in progress: the decided name (for binding afterwards) and the caller's errno. */
struct lookup {
  struct eg_name name;
  int saved_errno;
};

/*
 * Before libc: enters the guard and decides `node`. 1 = ask libc (errno restored, still inside the guard: finish()
 * must follow); 0 = denied in enforce (guard left, errno restored: the caller reports HOST_NOT_FOUND its own way).
 */
static int begin(struct lookup *l, const char *node, const char *call) {
  l->saved_errno = errno;
  eg_enter();
  int ok = decide(node, call, &l->name);
  if (!ok) eg_leave();
  errno = l->saved_errno;
  return ok;
}

/* After libc: binds the answer's addresses to the name (h may be NULL), leaves the guard, keeps libc's errno. */
static void finish(const struct lookup *l, const struct hostent *h) {
  int e = errno;
  bind_hostent(h, &l->name);
  eg_leave();
  errno = e;
}

EG_EXPORT struct hostent *gethostbyname(const char *node) {
  eg_gethostbyname_fn real = EG_REAL(gethostbyname);
  if (EG_UNLIKELY(real == NULL)) {
    h_errno = NO_RECOVERY;
    return NULL;
  }
  if (eg_passthrough()) return real(node);
  struct lookup l;
  if (!begin(&l, node, "gethostbyname")) {
    h_errno = HOST_NOT_FOUND;
    return NULL;
  }
  struct hostent *h = real(node);
  finish(&l, h);
  return h;
}

EG_EXPORT struct hostent *gethostbyname2(const char *node, int af) {
  eg_gethostbyname2_fn real = EG_REAL(gethostbyname2);
  if (EG_UNLIKELY(real == NULL)) {
    h_errno = NO_RECOVERY;
    return NULL;
  }
  if (eg_passthrough()) return real(node, af);
  struct lookup l;
  if (!begin(&l, node, "gethostbyname2")) {
    h_errno = HOST_NOT_FOUND;
    return NULL;
  }
  struct hostent *h = real(node, af);
  finish(&l, h);
  return h;
}

/* The _r forms report "no such host" as glibc does: return 0, *result = NULL, *h_errnop = HOST_NOT_FOUND. */
static int refuse_r(struct hostent **result, int *h_errnop) {
  if (result) *result = NULL;
  if (h_errnop) *h_errnop = HOST_NOT_FOUND;
  return 0;
}

EG_EXPORT int gethostbyname_r(const char *node, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                              int *h_errnop) {
  eg_gethostbyname_r_fn real = EG_REAL(gethostbyname_r);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  if (eg_passthrough()) return real(node, ret, buf, buflen, result, h_errnop);
  struct lookup l;
  if (!begin(&l, node, "gethostbyname_r")) return refuse_r(result, h_errnop);
  int rc = real(node, ret, buf, buflen, result, h_errnop);
  finish(&l, rc == 0 && result != NULL ? *result : NULL);
  return rc;
}

EG_EXPORT int gethostbyname2_r(const char *node, int af, struct hostent *ret, char *buf, size_t buflen,
                               struct hostent **result, int *h_errnop) {
  eg_gethostbyname2_r_fn real = EG_REAL(gethostbyname2_r);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  if (eg_passthrough()) return real(node, af, ret, buf, buflen, result, h_errnop);
  struct lookup l;
  if (!begin(&l, node, "gethostbyname2_r")) return refuse_r(result, h_errnop);
  int rc = real(node, af, ret, buf, buflen, result, h_errnop);
  finish(&l, rc == 0 && result != NULL ? *result : NULL);
  return rc;
}
