/*
 * resolver.h — the interposer's lookup side: every name glibc's resolver may query for a lookup is decided before it
 * can be queried, read the way the resolver reads it (docs/INTERPOSER.md "Lookups"). Internal to libegressguard.so.
 */
#ifndef EG_RESOLVER_H
#define EG_RESOLVER_H

#include <stddef.h>

#include "dnsname.h"
#include "guard.h"

#define EG_MAXDNAME 1025 /* MAXDNAME: the longest text glibc builds a candidate name into */

struct __res_state;

/* --- lookup.c: one name decided --- */
struct eg_name {
  char text[256]; /* the name as decided (dnsname.h), or the raw text (truncated to 253 bytes) when not readable */
  size_t len;
  int readable; /* 1: text is the name glibc would query; 0: refused as `dns-malformed` */
};
/*
 * Decide one name a lookup would query: read `raw` as the resolver does (dnsname.h) and decide that name with the
 * policy (event `dns`, `call`; `port`/`proto` are what the program asked for, shown in the log line only: a lookup is
 * decided for the name alone). A name that cannot be read is denied with rule `dns-malformed`. Counts and logs.
 * Returns 1 when it may be queried (allowed, or audit mode), 0 when enforce mode blocks it. Fills *n either way.
 */
int eg_decide_name(const char *raw, const char *call, int port, int proto, const char *errno_name,
                   struct eg_name *n) EG_HIDDEN;

/* --- lookup.c: one lookup = the names glibc would query for it, in glibc's order, each decided first --- */

/* How one real call ended, as the search needs to know (glibc __res_context_search): */
enum eg_outcome {
  EG_FOUND,     /* an answer: the lookup is done */
  EG_NOT_FOUND, /* HOST_NOT_FOUND (NXDOMAIN): try the next name */
  EG_NO_DATA,   /* NO_DATA (the name exists, not the type): try the next name, report NO_DATA at the end */
  EG_SERVFAIL,  /* TRY_AGAIN from a SERVFAIL answer: try the next name */
  EG_STOP,      /* any other failure: stop searching the list (the name as given may still be tried) */
  EG_ABORT      /* a failure no other name can change (bad arguments, ERANGE, no memory, refused connection) */
};
/* What a real call returned, in the hook's own terms (getaddrinfo: rc = EAI_*; gethostbyname*: herr = h_errno …). */
struct eg_answer {
  int rc;
  int herr;
  enum eg_outcome outcome;
};

struct eg_lookup {
  /* in */
  const char *raw;         /* the name as the program passed it */
  const char *call;        /* the hook (log `call`) */
  const char *errno_name;  /* what a blocked name reports (log `errno`) */
  int port, proto;         /* what the program asked for (log only) */
  int nss;                 /* 1: a hosts-file + DNS lookup (getaddrinfo, gethostbyname*, getnetbyname): `res` is pinned
                              around each call and the hosts file is asked first when DNS would search first;
                              0: DNS only (res_search: each call is an exact res_query, nothing to pin) */
  int nss_alias;           /* nss_dns replaces a dotless name by its HOSTALIASES target before searching (host lookups:
                              getaddrinfo, gethostbyname*; not getnetbyname) */
  struct __res_state *res; /* the resolver state whose search list and options apply */
  /* one real call for `name` (exactly as glibc should query it); fills the hook's own results in ctx */
  struct eg_answer (*try_name)(void *ctx, const char *name);
  void *ctx;
  struct eg_answer refused; /* reported when every name was blocked (nothing could be asked) */
  /* out */
  struct eg_name found; /* the name that answered (bind the answer's addresses to it when readable) */
};
/*
 * Run the lookup: the names glibc's search would query for `raw` — its HOSTALIASES target, the name as given, the name
 * with each search domain appended — in glibc's order and with glibc's stopping rules, each decided first
 * (eg_decide_name: logged; in enforce mode a blocked name is skipped, never queried), each queried alone. Returns the
 * answer to report: the first EG_FOUND (l->found says which name), else what glibc would report (the name as given
 * when it was tried first, else the last NO_DATA or SERVFAIL, else the last answer), or l->refused when nothing
 * could be asked. Runs inside the guard (eg_enter) and leaves errno as the last real call left it (untouched when
 * there was none).
 */
struct eg_answer eg_lookup_run(struct eg_lookup *l) EG_HIDDEN;

/* --- reverse.c --- */
/* Decide a reverse lookup of `ip` (allowed iff it is an allowed destination for some use, with its bound name);
 * counts and logs. 1 = it may be looked up. */
int eg_reverse_check(const egp_ip *ip, const char *call, const char *errno_name) EG_HIDDEN;

/* --- resstate.c: the calling thread's resolver state --- */
/* The thread's state (`_res`), initialised and re-attached to the current configuration as glibc would before a
 * lookup (at most once a second). */
struct __res_state *eg_res_current(void) EG_HIDDEN;
struct eg_res_pin {
  unsigned long options;
  int nscount;
};
/* For one real call: no search list, no HOSTALIASES, no configuration reload (so glibc queries the name it is given,
 * as given); local_only: no nameserver either (only the hosts file and other local sources can answer). */
void eg_res_pin(struct __res_state *r, struct eg_res_pin *saved, int local_only) EG_HIDDEN;
void eg_res_unpin(struct __res_state *r, const struct eg_res_pin *saved) EG_HIDDEN;

/* --- hostalias.c --- */
/* 1 and out = the target when $HOSTALIASES maps `name` (compared as DNS names), else 0. */
int eg_hostalias(const char *name, char out[EG_MAXDNAME]) EG_HIDDEN;

#endif
