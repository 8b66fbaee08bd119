/*
 * bench_match — decision cost of the C matcher (no hooks) at 10 / 1k / 100k / 1M rules.
 *
 *   build/bench_match [max_rules]      (make -C native bench)
 * Each policy is built in memory with the test writer: 70% exact names, 15% wildcards, 15% IPv4 CIDRs (/24), allow
 * and deny mixed. Three workloads, ns per decision, median of 7 interleaved rounds:
 *   name-hot   decide_name over 1,024 names that exist in the policy (cache-resident: the steady state of a process
 *              talking to a few endpoints);
 *   name-cold  decide_name over names drawn from the whole policy (cache misses dominate at 1M rules);
 *   addr       decide_addr of random IPv4 addresses with a bound name (binary search + the name's candidates).
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so preemption on a busy machine does not count.
 * Output: one JSON line per (rules, workload) so `npm run bench` can collect it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "egp.h"
#include "egpw.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static volatile int sink;

int main(int argc, char **argv) {
  size_t max = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
  size_t sizes[] = {10, 1000, 100000, 1000000};
  for (int si = 0; si < 4 && sizes[si] <= max; si++) {
    size_t n = sizes[si];
    struct egpw_rule *rules = calloc(n, sizeof *rules);
    char(*targets)[64] = calloc(n, 64);
    char(*names)[24] = calloc(n, 24);
    for (size_t i = 0; i < n; i++) {
      struct egpw_rule *r = &rules[i];
      snprintf(names[i], 24, "r%zu", i);
      r->name = names[i];
      r->action = (i % 10 == 9);
      r->proto = 3;
      uint64_t x = rnd();
      if (i % 20 < 14) {
        r->kind = EGPW_HOST;
        snprintf(targets[i], 64, "h%zu-%04x.svc%u.example.com", i, (unsigned)(x & 0xffff), (unsigned)(x >> 40) % 97);
      } else if (i % 20 < 17) {
        r->kind = EGPW_WILD;
        snprintf(targets[i], 64, "w%zu.example.net", i);
      } else {
        r->kind = EGPW_CIDR;
        snprintf(targets[i], 64, "%u.%u.%u.0/24", 10 + (unsigned)(x % 200), (unsigned)(x >> 8) & 255,
                 (unsigned)(x >> 16) & 255);
      }
      r->target = targets[i];
      if (i % 3 == 0) r->nports = 1, r->ports[0][0] = 443, r->ports[0][1] = 443;
    }
    uint8_t *buf;
    size_t len;
    double tb = now_ns();
    if (egpw_build(rules, n, EGP_FLAG_ENFORCE | EGP_FLAG_ALLOW_LOOPBACK, &buf, &len) != 0) return 1;
    double built = now_ns() - tb;
    egp_t p;
    struct egp_error err;
    if (egp_parse(&p, buf, len, 0, &err) != 0) {
      fprintf(stderr, "parse failed: %s\n", err.what);
      return 1;
    }
    /* query sets: hot names (1,024 existing, some as subdomains of wildcards), cold (16k across the policy) */
    enum { HOT = 1024, COLD = 16384, ADDRS = 16384 };
    static char hot[HOT][80], cold[COLD][80];
    static size_t hotl[HOT], coldl[COLD];
    static egp_ip addrs[ADDRS];
    for (int k = 0; k < HOT + COLD; k++) {
      size_t i = (size_t)(rnd() % (k < HOT ? (n < 1024 ? n : 1024) : n));
      char *dst = k < HOT ? hot[k] : cold[k - HOT];
      if (rules[i].kind == EGPW_WILD) snprintf(dst, 80, "api.%s", rules[i].target);
      else if (rules[i].kind == EGPW_HOST) snprintf(dst, 80, "%s", rules[i].target);
      else snprintf(dst, 80, "nothing%u.example.org", (unsigned)i);
      if (k < HOT) hotl[k] = strlen(dst);
      else coldl[k - HOT] = strlen(dst);
    }
    for (int k = 0; k < ADDRS; k++) addrs[k].is_v6 = 0, addrs[k].v4 = (uint32_t)rnd();
    const char *wl[3] = {"name-hot", "name-cold", "addr"};
    double res[3][7];
    long iters = 400000;
    for (int round = 0; round < 7; round++) {
      for (int w = 0; w < 3; w++) {
        egp_decision d;
        int acc = 0;
        double t0 = now_ns();
        for (long it = 0; it < iters; it++) {
          if (w == 0) egp_decide_name(&p, hot[it & (HOT - 1)], hotl[it & (HOT - 1)], 443, EGP_PROTO_TCP, &d);
          else if (w == 1) egp_decide_name(&p, cold[it & (COLD - 1)], coldl[it & (COLD - 1)], 443, EGP_PROTO_TCP, &d);
          else
            egp_decide_addr(&p, &addrs[it & (ADDRS - 1)], 443, EGP_PROTO_TCP, hot[it & (HOT - 1)], hotl[it & (HOT - 1)],
                            &d);
          acc += d.allow;
        }
        res[w][round] = (now_ns() - t0) / (double)iters;
        sink += acc;
      }
    }
    for (int w = 0; w < 3; w++) {
      qsort(res[w], 7, sizeof(double), cmpd);
      printf(
          "{\"bench\":\"decision\",\"rules\":%zu,\"workload\":\"%s\",\"nsPerDecision\":%.1f,\"min\":%.1f,\"max\":%.1f,"
          "\"fileBytes\":%zu,\"buildMs\":%.0f}\n",
          n, wl[w], res[w][3], res[w][0], res[w][6], len, built / 1e6);
    }
    fflush(stdout);
    free(buf);
    free(rules);
    free(targets);
    free(names);
  }
  return 0;
}
