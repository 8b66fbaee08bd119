/*
 * gethostbyname.c — hooks for gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r.
 *
 * Contract (as getaddrinfo.c): IP literals, mode off and re-entry go straight to libc. Every name glibc would query
 * for `node` (the name read as the resolver reads it, its HOSTALIASES target, the name with each search domain) is
 * decided before it can be queried, and glibc is asked for one name at a time with its own search off (lookup.c).
 * When no name may be asked (enforce mode), the hooks fail exactly as glibc does for a name that does not exist:
 * gethostbyname* return NULL with h_errno = HOST_NOT_FOUND; the _r forms return 0 with *result = NULL and
 * *h_errnop = HOST_NOT_FOUND; errno is left unchanged. After a successful lookup the addresses are bound to the name
 * that produced them. Real function missing: NULL with h_errno NO_RECOVERY (the _r forms return ENOSYS).
 * eg_gethostbyname_checked is the family's one checked function: every form goes through it with a way to make one
 * real call.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "hook.h"
#include "resolver.h"

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

/* The outcome of an h_errno for the search (glibc's __res_context_search: not found and no data go on). */
static enum eg_outcome outcome_of(int herr) {
  switch (herr) {
  case HOST_NOT_FOUND: return EG_NOT_FOUND;
  case NO_DATA: return EG_NO_DATA;
  case NETDB_INTERNAL: return EG_ABORT;
  default: return EG_STOP;
  }
}

/* One form of the family: its real function and arguments, and where its answer lands. */
struct ghb_call {
  int form; /* 0 gethostbyname, 1 gethostbyname2, 2 gethostbyname_r, 3 gethostbyname2_r */
  void *real;
  int af;
  struct hostent *ret;
  char *buf;
  size_t buflen;
  struct hostent **result;
  int *h_errnop;
  struct hostent *h; /* the answer (non-_r forms: glibc's static hostent) */
};

static struct eg_answer try_ghb(void *ctx, const char *name) {
  struct ghb_call *c = ctx;
  struct eg_answer a = {0, 0, EG_FOUND};
  switch (c->form) {
  case 0: c->h = ((eg_gethostbyname_fn)c->real)(name), a.herr = c->h ? 0 : h_errno; break;
  case 1: c->h = ((eg_gethostbyname2_fn)c->real)(name, c->af), a.herr = c->h ? 0 : h_errno; break;
  case 2: a.rc = ((eg_gethostbyname_r_fn)c->real)(name, c->ret, c->buf, c->buflen, c->result, c->h_errnop); break;
  default: a.rc = ((eg_gethostbyname2_r_fn)c->real)(name, c->af, c->ret, c->buf, c->buflen, c->result, c->h_errnop);
  }
  if (c->form >= 2) {
    c->h = a.rc == 0 && c->result != NULL ? *c->result : NULL;
    if (a.rc != 0) return (struct eg_answer){a.rc, c->h_errnop ? *c->h_errnop : NETDB_INTERNAL, EG_ABORT}; /* ERANGE */
    a.herr = c->h ? 0 : (c->h_errnop ? *c->h_errnop : HOST_NOT_FOUND);
  }
  if (c->h == NULL) a.outcome = outcome_of(a.herr == 0 ? HOST_NOT_FOUND : a.herr);
  return a;
}

/* The guarded lookup for every form. Returns the answer to report (c->h holds the hostent when found). */
static struct eg_answer eg_gethostbyname_checked(struct ghb_call *c, const char *node, const char *call) {
  int saved = errno;
  eg_enter();
  char copy[EG_MAXDNAME]; /* decide and ask a private copy: another thread cannot change the name in between */
  if (node != NULL) {
    size_t n = strnlen(node, sizeof copy);
    if (n < sizeof copy) node = memcpy(copy, node, n + 1);
  }
  if (node == NULL || node[0] == '\0' || eg_is_ip_literal(node)) { /* nothing the resolver would query */
    errno = saved;
    struct eg_answer a = try_ghb(c, node);
    int e = errno;
    eg_leave();
    errno = e;
    return a;
  }
  struct eg_lookup l = {.raw = node,
                        .call = call,
                        .errno_name = "HOST_NOT_FOUND",
                        .port = EGP_PORT_UNKNOWN,
                        .proto = EGP_PROTO_UNKNOWN,
                        .nss = 1,
                        .nss_alias = 1,
                        .res = eg_res_current(),
                        .try_name = try_ghb,
                        .ctx = c,
                        .refused = {0, HOST_NOT_FOUND, EG_NOT_FOUND}};
  struct eg_answer a = eg_lookup_run(&l);
  int e = errno;
  if (a.outcome == EG_FOUND) bind_hostent(c->h, &l.found);
  else c->h = NULL;
  eg_leave();
  errno = e;
  return a;
}

EG_EXPORT struct hostent *gethostbyname(const char *node) {
  eg_gethostbyname_fn real = EG_REAL(gethostbyname);
  if (EG_UNLIKELY(real == NULL)) {
    h_errno = NO_RECOVERY;
    return NULL;
  }
  if (eg_passthrough()) return real(node);
  struct ghb_call c = {.form = 0, .real = (void *)real};
  struct eg_answer a = eg_gethostbyname_checked(&c, node, "gethostbyname");
  if (c.h == NULL) h_errno = a.herr;
  return c.h;
}

EG_EXPORT struct hostent *gethostbyname2(const char *node, int af) {
  eg_gethostbyname2_fn real = EG_REAL(gethostbyname2);
  if (EG_UNLIKELY(real == NULL)) {
    h_errno = NO_RECOVERY;
    return NULL;
  }
  if (eg_passthrough()) return real(node, af);
  struct ghb_call c = {.form = 1, .real = (void *)real, .af = af};
  struct eg_answer a = eg_gethostbyname_checked(&c, node, "gethostbyname2");
  if (c.h == NULL) h_errno = a.herr;
  return c.h;
}

/* The _r forms report as glibc does: the return value, *result (NULL unless found) and *h_errnop. */
static int report_r(const struct ghb_call *c, struct eg_answer a) {
  if (c->result) *c->result = c->h;
  if (c->h == NULL && c->h_errnop) *c->h_errnop = a.herr;
  return a.rc;
}

EG_EXPORT int gethostbyname_r(const char *node, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                              int *h_errnop) {
  eg_gethostbyname_r_fn real = EG_REAL(gethostbyname_r);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  if (eg_passthrough()) return real(node, ret, buf, buflen, result, h_errnop);
  struct ghb_call c = {2, (void *)real, 0, ret, buf, buflen, result, h_errnop, NULL};
  return report_r(&c, eg_gethostbyname_checked(&c, node, "gethostbyname_r"));
}

EG_EXPORT int gethostbyname2_r(const char *node, int af, struct hostent *ret, char *buf, size_t buflen,
                               struct hostent **result, int *h_errnop) {
  eg_gethostbyname2_r_fn real = EG_REAL(gethostbyname2_r);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  if (eg_passthrough()) return real(node, af, ret, buf, buflen, result, h_errnop);
  struct ghb_call c = {3, (void *)real, af, ret, buf, buflen, result, h_errnop, NULL};
  return report_r(&c, eg_gethostbyname_checked(&c, node, "gethostbyname2_r"));
}
