/*
 * lookup.c — the names a lookup may query, decided one by one (contracts in resolver.h; docs/INTERPOSER.md
 * "Lookups").
 *
 * glibc's resolver does not only query the name it is given: for a name with fewer dots than `ndots` it tries the
 * search domains first, after a failed answer it tries them after, and a dotless name may be replaced by its
 * HOSTALIASES target — all configurable by the program itself (LOCALDOMAIN, RES_OPTIONS, HOSTALIASES in its own
 * environment). Deciding only the name given would let `data.example.com` (allowed, NXDOMAIN) be followed by a query
 * for `data.example.com.attacker.example` whose answer glibc returns as data.example.com's. So the guard runs the
 * search itself, the way __res_context_search does (same order, same stopping rules), and asks glibc for one name at a
 * time with the search switched off (resstate.c): every name that reaches DNS was decided, and an answer is bound to
 * the name that produced it.
 *
 * For a hosts-file + DNS lookup glibc asks the hosts file for the name as given before DNS. When the search puts
 * another name first (a dotless name, or ndots raised), the guard first asks for the name as given with no
 * nameserver (a local-only probe) — so `localhost` with a search list still comes from the hosts file, and nothing
 * else is decided or queried unless it must be.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <resolv.h>
#include <string.h>

#include "resolver.h"

int eg_decide_name(const char *raw, const char *call, int port, int proto, const char *errno_name, struct eg_name *n) {
  n->readable = eg_dnsname_read(raw, n->text, &n->len) == EG_DNSNAME_OK;
  struct eg_query q = {"dns", call, n->text, n->len, NULL, port, proto};
  if (n->readable) return eg_check(&q, errno_name);
  size_t len = strlen(raw); /* logged as given (json.c escapes any byte), at most as long as a DNS name */
  n->len = len > 253 ? 253 : len;
  memcpy(n->text, raw, n->len);
  n->text[n->len] = '\0';
  q.host_len = n->len;
  return eg_check_denied(&q, EG_RULE_DNS_MALFORMED, errno_name);
}

/* A run in progress: what glibc's search keeps, plus which answer to report. */
struct run {
  struct eg_lookup *l;
  const char *raw; /* the run's own copy of l->raw: what is decided is what is asked */
  int saved_errno, errno_set, last_errno;
  int tried; /* real calls made (the local-only probe excluded) */
  struct eg_answer last, nodata, servfail, asis;
  int have_nodata, have_servfail, have_asis;
  /* the name as given is decided once, though it may be asked twice (probe, then DNS) */
  int raw_decided, raw_ok;
  struct eg_name raw_name;
};

static unsigned dots_in(const char *s) {
  unsigned n = 0;
  for (; *s; s++) n += *s == '.';
  return n;
}

static int ends_with_dot(const char *s) {
  size_t n = strlen(s);
  return n > 0 && s[n - 1] == '.';
}

/* Decide `name` (once per run for the name as given). 1 = it may be asked. */
static int decide(struct run *r, const char *name, struct eg_name *n) {
  struct eg_lookup *l = r->l;
  if (name == r->raw || strcmp(name, r->raw) == 0) {
    if (!r->raw_decided) {
      r->raw_ok = eg_decide_name(r->raw, l->call, l->port, l->proto, l->errno_name, &r->raw_name);
      r->raw_decided = 1;
    }
    *n = r->raw_name;
    return r->raw_ok;
  }
  return eg_decide_name(name, l->call, l->port, l->proto, l->errno_name, n);
}

/* One real call for `name`, pinned as resolver.h says; errno is the program's going in, glibc's coming out. */
static struct eg_answer ask(struct run *r, const char *name, int local_only) {
  struct eg_lookup *l = r->l;
  struct eg_res_pin pin;
  if (l->nss) eg_res_pin(l->res, &pin, local_only);
  errno = r->saved_errno;
  struct eg_answer a = l->try_name(l->ctx, name);
  r->last_errno = errno;
  r->errno_set = 1;
  if (l->nss) eg_res_unpin(l->res, &pin);
  return a;
}

/* Decide and ask one name of the search. */
enum step { BLOCKED, ASKED, OVER /* found, or a failure that ends the lookup (EG_ABORT) */ };
static enum step attempt(struct run *r, const char *name, int asis_first, struct eg_answer *a) {
  struct eg_name n;
  if (!decide(r, name, &n)) return BLOCKED; /* never queried: the search goes on as if the name did not exist */
  *a = ask(r, name, 0);
  r->tried++;
  r->last = *a;
  if (asis_first) r->asis = *a, r->have_asis = 1;
  if (a->outcome == EG_NO_DATA) r->nodata = *a, r->have_nodata = 1;
  if (a->outcome == EG_SERVFAIL) r->servfail = *a, r->have_servfail = 1;
  if (a->outcome == EG_FOUND) r->l->found = n;
  return a->outcome == EG_FOUND || a->outcome == EG_ABORT ? OVER : ASKED;
}

/* The answer glibc would report once nothing was found (__res_context_search's closing rules). */
static struct eg_answer closing(const struct run *r) {
  if (r->tried == 0) return r->l->refused;
  if (r->have_asis) return r->asis;
  if (r->have_nodata) return r->nodata;
  if (r->have_servfail) return r->servfail;
  return r->last;
}

static struct eg_answer finish(struct run *r, struct eg_answer a) {
  errno = r->errno_set ? r->last_errno : r->saved_errno;
  return a;
}

/*
 * The search for `base` (the name as given, or its nss HOSTALIASES target), mirroring __res_context_search: the
 * HOSTALIASES target of a dotless name alone; else the name as is first when it has ndots dots or a trailing dot (and
 * then only it, with a trailing dot); then each search domain (all with RES_DNSRCH, the first only with just
 * RES_DEFNAMES); then the name as is, unless tried already, a root domain stood for it, or RES_NOTLDQUERY forbids a
 * dotless one.
 */
static struct eg_answer search(struct run *r, const char *base, unsigned long opts, unsigned ndots) {
  struct eg_answer a;
  char alias[EG_MAXDNAME];
  unsigned dots = dots_in(base);
  int trailing = ends_with_dot(base);
  if (dots == 0 && !(opts & RES_NOALIASES) && eg_hostalias(base, alias)) {
    return finish(r, attempt(r, alias, 0, &a) == OVER ? a : closing(r));
  }
  int tried_asis = 0, searched = 0, root_on_list = 0;
  if (dots >= ndots || trailing) {
    tried_asis = 1;
    enum step st = attempt(r, base, 1, &a);
    if (st == OVER) return finish(r, a);
    if (trailing) return finish(r, closing(r)); /* an absolute name is only ever asked as is */
  }
  if ((dots == 0 && (opts & RES_DEFNAMES)) || (dots > 0 && !trailing && (opts & RES_DNSRCH))) {
    struct __res_state *res = r->l->res;
    for (int i = 0; i < MAXDNSRCH && res->dnsrch[i] != NULL; i++) {
      const char *d = res->dnsrch[i];
      searched = 1;
      if (d[0] == '.') d++;
      if (d[0] == '\0') root_on_list = 1;
      char cand[EG_MAXDNAME];
      size_t bl = strlen(base), dl = strlen(d);
      if (bl + dl + 1 >= sizeof cand) continue; /* glibc: NO_RECOVERY for this one, no query */
      memcpy(cand, base, bl);
      cand[bl] = '.';
      memcpy(cand + bl + 1, d, dl + 1);
      enum step st = attempt(r, cand, 0, &a);
      if (st == OVER) return finish(r, a);
      if (st == ASKED && a.outcome == EG_STOP) break;
      if (!(opts & RES_DNSRCH)) break;
    }
  }
  if ((dots > 0 || !searched || !(opts & RES_NOTLDQUERY)) && !(tried_asis || root_on_list)) {
    if (attempt(r, base, 0, &a) == OVER) return finish(r, a);
  }
  return finish(r, closing(r));
}

struct eg_answer eg_lookup_run(struct eg_lookup *l) {
  struct run r;
  memset(&r, 0, sizeof r);
  r.l = l;
  r.saved_errno = errno;
  l->found.readable = 0;
  l->found.len = 0;
  /* Decide and ask a private copy: another thread of the program cannot change the name in between. A name too long
   * for the copy is longer than any glibc builds a query from: it is decided (unreadable) from the original and, in
   * enforce mode, never asked. */
  char copy[EG_MAXDNAME];
  size_t rl = strnlen(l->raw, sizeof copy);
  r.raw = l->raw;
  if (rl < sizeof copy) {
    memcpy(copy, l->raw, rl + 1);
    r.raw = copy;
  }
  unsigned long opts = l->res->options;
  unsigned ndots = l->res->ndots;
  const char *base = r.raw;
  char alias[EG_MAXDNAME];
  int replaced = 0;
  /* nss_dns replaces a dotless name by its HOSTALIASES target before it searches (the hosts file still gets the
   * name as given) */
  if (l->nss_alias && dots_in(r.raw) == 0 && !(opts & RES_NOALIASES) && eg_hostalias(r.raw, alias))
    base = alias, replaced = 1;
  if (l->nss) {
    /* The hosts file answers the name as given before DNS. When DNS would not start with exactly that name, ask it
     * first with no nameserver; if it answers, nothing else is asked. */
    int dns_starts_with_raw = !replaced && (dots_in(base) >= ndots || ends_with_dot(base));
    if (!dns_starts_with_raw) {
      struct eg_name n;
      if (decide(&r, r.raw, &n)) {
        struct eg_answer a = ask(&r, r.raw, 1);
        if (a.outcome == EG_FOUND) {
          l->found = n;
          return finish(&r, a);
        }
      }
    }
  }
  return search(&r, base, opts, ndots);
}
