/*
 * resquery.c — hooks for the resolver's query functions: res_query, res_search, res_querydomain, res_send, their
 * res_n* forms (an explicit resolver state), and the __res_* names programs built against glibc < 2.34 call (there
 * <resolv.h> turns res_query into __res_query, in libresolv; since 2.34 both live in libc, the __res_ ones as compat
 * symbols). Each sends DNS queries itself, with sockets internal to libc the other hooks never see.
 *
 * Contract (names are read and decided as in resolver.h; port and protocol unknown; event `dns`, `call` the hook):
 * - res_query / res_nquery: the name is queried exactly as given (no search): decided first.
 * - res_querydomain / res_nquerydomain: the name queried is "name.domain" (or name without a domain): decided first.
 * - res_search / res_nsearch: the search glibc would run (HOSTALIASES, ndots, the search list of the state used:
 *   the thread's, or the one given) is run by the guard, each name decided first and queried alone with the real
 *   res_query / res_nquery (lookup.c) — same order, same stopping rules (a SERVFAIL answer goes on, a refused
 *   connection ends the search), same h_errno at the end.
 * - res_send / res_nsend: the query is a message the program built: its question name is read as raw DNS is
 *   (dnsq.h) and decided; a message whose question cannot be read is denied with rule `dns-malformed`; one with no
 *   question passes.
 * - Denied in enforce mode: -1 without any query — h_errno (and the state's res_h_errno) HOST_NOT_FOUND for the query
 *   functions, as for a name that does not exist; errno EACCES for res_send, as for a raw DNS send. errno is
 *   otherwise left as the program had it. Nothing is bound: the answers are raw messages the program parses.
 * - What is decided is what is sent: names and messages are copied first and the copies passed to libc, so another
 *   thread cannot rewrite the program's buffer in between.
 * - mode off, re-entry: straight to libc. Real function missing (neither name): -1, errno ENOSYS, NETDB_INTERNAL.
 */
#define _GNU_SOURCE
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "dnsq.h"
#include "hook.h"
#include "resolver.h"

/* Older <resolv.h> turn these names into their __res_ spellings; the hooks below define both. */
#undef res_query
#undef res_nquery
#undef res_search
#undef res_nsearch
#undef res_querydomain
#undef res_nquerydomain
#undef res_send
#undef res_nsend

/* The real function of a hook, or of its other spelling (glibc >= 2.34 has no default __res_query to find). */
#define REAL_EITHER(a, b) ((eg_##a##_fn)(EG_REAL(a) != NULL ? (void *)EG_REAL(a) : (void *)EG_REAL(b)))

static int missing(void) {
  errno = ENOSYS;
  h_errno = NETDB_INTERNAL;
  return -1;
}

static int refuse_query(struct __res_state *statp) {
  if (statp) statp->res_h_errno = HOST_NOT_FOUND;
  h_errno = HOST_NOT_FOUND;
  return -1;
}

/* Decide one name the resolver will query; errno as the program left it. 1 = query it. */
static int name_ok(const char *name, const char *call) {
  int saved = errno;
  eg_enter();
  struct eg_name n;
  int ok = eg_decide_name(name, call, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN, "HOST_NOT_FOUND", &n);
  eg_leave();
  errno = saved;
  return ok;
}

/* --- res_query, res_nquery --- */

/* A private copy of a name, so the name decided is the name asked even if another thread rewrites the program's
 * buffer; NULL when it does not fit (longer than any name glibc builds a query from: then decided, unreadable). */
static const char *copy_name(const char *name, char copy[EG_MAXDNAME]) {
  size_t n = strnlen(name, EG_MAXDNAME);
  return n < EG_MAXDNAME ? memcpy(copy, name, n + 1) : name;
}

static int query(eg_res_nquery_fn nreal, eg_res_query_fn real, struct __res_state *statp, const char *dname, int cls,
                 int type, unsigned char *answer, int anslen, const char *call) {
  char copy[EG_MAXDNAME];
  if (!eg_passthrough() && dname != NULL) {
    dname = copy_name(dname, copy);
    if (!name_ok(dname, call)) return refuse_query(statp);
  }
  return nreal ? nreal(statp, dname, cls, type, answer, anslen) : real(dname, cls, type, answer, anslen);
}

EG_EXPORT int res_query(const char *dname, int cls, int type, unsigned char *answer, int anslen) {
  eg_res_query_fn real = REAL_EITHER(res_query, __res_query);
  return real ? query(NULL, real, __res_state(), dname, cls, type, answer, anslen, "res_query") : missing();
}
EG_EXPORT int __res_query(const char *dname, int cls, int type, unsigned char *answer, int anslen) {
  eg_res_query_fn real = REAL_EITHER(__res_query, res_query);
  return real ? query(NULL, real, __res_state(), dname, cls, type, answer, anslen, "res_query") : missing();
}
EG_EXPORT int res_nquery(struct __res_state *statp, const char *dname, int cls, int type, unsigned char *answer,
                         int anslen) {
  eg_res_nquery_fn real = REAL_EITHER(res_nquery, __res_nquery);
  return real ? query(real, NULL, statp, dname, cls, type, answer, anslen, "res_nquery") : missing();
}
EG_EXPORT int __res_nquery(struct __res_state *statp, const char *dname, int cls, int type, unsigned char *answer,
                           int anslen) {
  eg_res_nquery_fn real = REAL_EITHER(__res_nquery, res_nquery);
  return real ? query(real, NULL, statp, dname, cls, type, answer, anslen, "res_nquery") : missing();
}

/* --- res_querydomain, res_nquerydomain: the name queried is name.domain --- */

static int querydomain(void *real, int n, struct __res_state *statp, const char *name, const char *domain, int cls,
                       int type, unsigned char *answer, int anslen, const char *call) {
  char full[EG_MAXDNAME], ncopy[EG_MAXDNAME], dcopy[EG_MAXDNAME];
  int ok = 1;
  if (!eg_passthrough() && name != NULL) {
    name = copy_name(name, ncopy);
    if (domain) domain = copy_name(domain, dcopy);
    size_t nl = strlen(name), dl = domain ? strlen(domain) : 0;
    if (domain == NULL) ok = name_ok(name, call);
    else if (nl + dl + 1 < sizeof full) { /* longer: glibc refuses it (NO_RECOVERY) without a query */
      memcpy(full, name, nl);
      full[nl] = '.';
      memcpy(full + nl + 1, domain, dl + 1);
      ok = name_ok(full, call);
    }
  }
  if (!ok) return refuse_query(statp);
  return n ? ((eg_res_nquerydomain_fn)real)(statp, name, domain, cls, type, answer, anslen)
           : ((eg_res_querydomain_fn)real)(name, domain, cls, type, answer, anslen);
}

EG_EXPORT int res_querydomain(const char *name, const char *domain, int cls, int type, unsigned char *answer,
                              int anslen) {
  eg_res_querydomain_fn real = REAL_EITHER(res_querydomain, __res_querydomain);
  return real ? querydomain((void *)real, 0, __res_state(), name, domain, cls, type, answer, anslen, "res_querydomain")
              : missing();
}
EG_EXPORT int __res_querydomain(const char *name, const char *domain, int cls, int type, unsigned char *answer,
                                int anslen) {
  eg_res_querydomain_fn real = REAL_EITHER(__res_querydomain, res_querydomain);
  return real ? querydomain((void *)real, 0, __res_state(), name, domain, cls, type, answer, anslen, "res_querydomain")
              : missing();
}
EG_EXPORT int res_nquerydomain(struct __res_state *statp, const char *name, const char *domain, int cls, int type,
                               unsigned char *answer, int anslen) {
  eg_res_nquerydomain_fn real = REAL_EITHER(res_nquerydomain, __res_nquerydomain);
  return real ? querydomain((void *)real, 1, statp, name, domain, cls, type, answer, anslen, "res_nquerydomain")
              : missing();
}
EG_EXPORT int __res_nquerydomain(struct __res_state *statp, const char *name, const char *domain, int cls, int type,
                                 unsigned char *answer, int anslen) {
  eg_res_nquerydomain_fn real = REAL_EITHER(__res_nquerydomain, res_nquerydomain);
  return real ? querydomain((void *)real, 1, statp, name, domain, cls, type, answer, anslen, "res_nquerydomain")
              : missing();
}

/* --- res_search, res_nsearch: the search run by the guard, one exact query per name --- */

struct search_call {
  eg_res_nquery_fn nreal; /* res_nsearch: the real res_nquery on statp */
  eg_res_query_fn real;   /* res_search: the real res_query on the thread's state */
  struct __res_state *statp;
  int cls, type;
  unsigned char *answer;
  int anslen;
};

/* One exact query, classified as __res_context_search classifies the answer of each name it tries. */
static struct eg_answer try_query(void *ctx, const char *name) {
  struct search_call *c = ctx;
  errno = 0; /* as __res_context_search: a refused connection is told by errno */
  int n = c->nreal ? c->nreal(c->statp, name, c->cls, c->type, c->answer, c->anslen)
                   : c->real(name, c->cls, c->type, c->answer, c->anslen);
  struct eg_answer a = {n, c->statp->res_h_errno, EG_FOUND};
  if (n >= 0) return a;
  if (errno == ECONNREFUSED) return (struct eg_answer){-1, TRY_AGAIN, EG_ABORT}; /* no server: glibc gives up */
  switch (a.herr) {
  case HOST_NOT_FOUND: a.outcome = EG_NOT_FOUND; break;
  case NO_DATA: a.outcome = EG_NO_DATA; break;
  case TRY_AGAIN:
    a.outcome = c->answer != NULL && c->anslen >= HFIXEDSZ && (c->answer[3] & 0x0f) == ns_r_servfail ? EG_SERVFAIL
                                                                                                     : EG_STOP;
    break;
  case NETDB_INTERNAL: a.outcome = EG_ABORT; break;
  default: a.outcome = EG_STOP;
  }
  return a;
}

/* The guarded search (not in passthrough). */
static int search_checked(struct search_call *c, const char *dname, const char *call) {
  eg_enter();
  struct eg_lookup l = {.raw = dname,
                        .call = call,
                        .errno_name = "HOST_NOT_FOUND",
                        .port = EGP_PORT_UNKNOWN,
                        .proto = EGP_PROTO_UNKNOWN,
                        .nss = 0,
                        .res = c->statp,
                        .try_name = try_query,
                        .ctx = c,
                        .refused = {-1, HOST_NOT_FOUND, EG_NOT_FOUND}};
  struct eg_answer a = eg_lookup_run(&l);
  int e = errno;
  eg_leave();
  if (a.outcome != EG_FOUND) {
    c->statp->res_h_errno = a.herr;
    h_errno = a.herr;
  }
  errno = e;
  return a.outcome == EG_FOUND ? a.rc : -1;
}

static int search_thread(eg_res_query_fn real, const char *dname, int cls, int type, unsigned char *answer,
                         int anslen) {
  if (real == NULL) return missing();
  if (eg_passthrough() || dname == NULL) return real(dname, cls, type, answer, anslen);
  struct search_call c = {NULL, real, NULL, cls, type, answer, anslen};
  int saved = errno;
  eg_enter(); /* the thread's state, made current as glibc would before it searches */
  c.statp = eg_res_current();
  eg_leave();
  errno = saved;
  return search_checked(&c, dname, "res_search");
}

static int search_state(eg_res_nquery_fn nreal, struct __res_state *statp, const char *dname, int cls, int type,
                        unsigned char *answer, int anslen) {
  if (nreal == NULL) return missing();
  if (eg_passthrough() || dname == NULL || statp == NULL) return nreal(statp, dname, cls, type, answer, anslen);
  struct search_call c = {nreal, NULL, statp, cls, type, answer, anslen};
  return search_checked(&c, dname, "res_nsearch");
}

EG_EXPORT int res_search(const char *dname, int cls, int type, unsigned char *answer, int anslen) {
  return search_thread(REAL_EITHER(res_query, __res_query), dname, cls, type, answer, anslen);
}
EG_EXPORT int __res_search(const char *dname, int cls, int type, unsigned char *answer, int anslen) {
  return search_thread(REAL_EITHER(__res_query, res_query), dname, cls, type, answer, anslen);
}
EG_EXPORT int res_nsearch(struct __res_state *statp, const char *dname, int cls, int type, unsigned char *answer,
                          int anslen) {
  return search_state(REAL_EITHER(res_nquery, __res_nquery), statp, dname, cls, type, answer, anslen);
}
EG_EXPORT int __res_nsearch(struct __res_state *statp, const char *dname, int cls, int type, unsigned char *answer,
                            int anslen) {
  return search_state(REAL_EITHER(__res_nquery, res_nquery), statp, dname, cls, type, answer, anslen);
}

/* --- res_send, res_nsend: a message the program built --- */

/* Decide the question of msg as raw DNS is decided (dnsq.h). 1 = it may be sent. */
static int message_ok(const unsigned char *msg, int msglen, const char *call) {
  if (msg == NULL || msglen < 0) return 1; /* glibc rejects it itself */
  int saved = errno;
  eg_enter();
  char name[256];
  size_t len;
  int r = eg_dnsq_name(msg, (size_t)msglen, name, &len);
  int ok = 1;
  struct eg_query q = {"dns", call, name, len, NULL, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN};
  if (r == EG_DNSQ_NAME) {
    ok = eg_check(&q, "EACCES");
  } else if (r == EG_DNSQ_BAD) {
    q.host = NULL, q.host_len = 0;
    ok = eg_check_denied(&q, EG_RULE_DNS_MALFORMED, "EACCES");
  }
  eg_leave();
  errno = ok ? saved : EACCES;
  return ok;
}

/*
 * The message as sent: a private copy of the program's bytes (on the stack, or the heap past 4 KiB), so another thread
 * cannot change the question between the decision and the send. Returns what the send returned, or -1/EACCES when
 * refused, -1/ENOMEM when no copy could be made.
 */
struct send_call {
  eg_res_send_fn real;
  eg_res_nsend_fn nreal;
  struct __res_state *statp;
};
static int send_checked(const struct send_call *c, const unsigned char *msg, int msglen, unsigned char *answer,
                        int anslen, const char *call) {
  unsigned char small[4096], *heap = NULL;
  if (!eg_passthrough() && msg != NULL && msglen > 0) {
    unsigned char *copy = small;
    if ((size_t)msglen > sizeof small && (copy = heap = malloc((size_t)msglen)) == NULL) {
      errno = ENOMEM;
      return -1;
    }
    msg = memcpy(copy, msg, (size_t)msglen);
    if (!message_ok(msg, msglen, call)) {
      free(heap);
      return -1;
    }
  }
  int r = c->nreal ? c->nreal(c->statp, msg, msglen, answer, anslen) : c->real(msg, msglen, answer, anslen);
  int e = errno;
  free(heap);
  errno = e;
  return r;
}

EG_EXPORT int res_send(const unsigned char *msg, int msglen, unsigned char *answer, int anslen) {
  struct send_call c = {REAL_EITHER(res_send, __res_send), NULL, NULL};
  return c.real ? send_checked(&c, msg, msglen, answer, anslen, "res_send") : missing();
}
EG_EXPORT int __res_send(const unsigned char *msg, int msglen, unsigned char *answer, int anslen) {
  struct send_call c = {REAL_EITHER(__res_send, res_send), NULL, NULL};
  return c.real ? send_checked(&c, msg, msglen, answer, anslen, "res_send") : missing();
}
EG_EXPORT int res_nsend(struct __res_state *statp, const unsigned char *msg, int msglen, unsigned char *answer,
                        int anslen) {
  struct send_call c = {NULL, REAL_EITHER(res_nsend, __res_nsend), statp};
  return c.nreal ? send_checked(&c, msg, msglen, answer, anslen, "res_nsend") : missing();
}
EG_EXPORT int __res_nsend(struct __res_state *statp, const unsigned char *msg, int msglen, unsigned char *answer,
                          int anslen) {
  struct send_call c = {NULL, REAL_EITHER(__res_nsend, res_nsend), statp};
  return c.nreal ? send_checked(&c, msg, msglen, answer, anslen, "res_nsend") : missing();
}
