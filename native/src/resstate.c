/*
 * resstate.c — the calling thread's resolver state (glibc's `_res`, <resolv.h>): made current before a lookup reads
 * its search list, and pinned while a real lookup runs so glibc queries exactly the name it is given. Contract in
 * resolver.h ("resstate.c"); why in docs/INTERPOSER.md "Lookups".
 *
 * glibc keeps one `struct __res_state` per thread (public ABI: options, ndots, dnsrch, nscount). Since glibc 2.26 a
 * lookup first re-attaches it to the current configuration when /etc/resolv.conf changed — unless RES_NORELOAD is
 * set — and a state that was never used is initialised on first use. Both would let glibc change the search list or
 * the options between the guard's reading of them and its query. So:
 *  - eg_res_current() makes the state current itself, through glibc's own path: a gethostbyname_r of a numeric
 *    address obtains the resolver context (initialise, or re-attach if the file changed) and answers without any
 *    lookup. At most once a second per thread (the configuration is re-read from disk at most that often anyway:
 *    glibc compares the file's identity and times), and whenever the state is not initialised.
 *  - eg_res_pin() sets, for the duration of one real call: search off (RES_DNSRCH, RES_DEFNAMES cleared), HOSTALIASES
 *    off (RES_NOALIASES), reload off (RES_NORELOAD) — glibc then sends the name it was given and nothing else — and,
 *    for a hosts-file-only probe, no nameserver (nscount 0: glibc's send fails with ESRCH before any socket exists).
 *    eg_res_unpin() restores both fields. The state is the calling thread's: no other thread sees the change.
 */
#define _GNU_SOURCE
#include <arpa/nameser.h>
#include <resolv.h>
#include <time.h>

#include "hook.h"
#include "resolver.h"

static __thread long next_refresh __attribute__((tls_model("initial-exec")));

static long now_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) return 0;
  return (long)ts.tv_sec + 1; /* never 0: 0 is "not refreshed yet" */
}

/* glibc's own "obtain the resolver context" step, without a lookup: a numeric name is answered in place. */
static void refresh(void) {
  eg_gethostbyname_r_fn real = EG_REAL(gethostbyname_r);
  if (real == NULL) return;
  struct hostent he, *result = NULL;
  char buf[256];
  int herr = 0;
  real("0.0.0.0", &he, buf, sizeof buf, &result, &herr);
}

struct __res_state *eg_res_current(void) {
  struct __res_state *r = __res_state();
  long now = now_seconds();
  if (!(r->options & RES_INIT) || now == 0 || now >= next_refresh) {
    refresh();
    next_refresh = now + 1;
  }
  if (!(r->options & RES_INIT)) res_init(); /* the context step found nothing to use: initialise as glibc would */
  return r;
}

void eg_res_pin(struct __res_state *r, struct eg_res_pin *saved, int local_only) {
  saved->options = r->options;
  saved->nscount = r->nscount;
  r->options = (r->options & ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES)) | RES_NOALIASES | RES_NORELOAD;
  if (local_only) r->nscount = 0;
}

void eg_res_unpin(struct __res_state *r, const struct eg_res_pin *saved) {
  r->options = saved->options;
  r->nscount = saved->nscount;
}
