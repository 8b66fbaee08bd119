/*
 * decide — decision cost of the C matcher on a policy compiled by the real compiler (`egress-guard compile`).
 *
 *   decide POLICY.egp QUERIES [rounds] [iters]
 * QUERIES holds one query per line, "<class> <value>": class n (exact name), w (a name below a wildcard rule),
 * 4 (an IPv4 address), 6 (an IPv6 address); values come from the policy's own rules, so lookups hit real entries
 * spread over the whole table (the orchestrator bench/run.ts writes both files). The file is mapped read-only with
 * egp_open() exactly as the interposer maps it, and decided with the same egp_decide_name / egp_decide_addr.
 * For each class two working sets are timed, interleaved round by round:
 *   hot    the first 16 queries of the class over and over (a function talking to a few endpoints: cache-resident);
 *   spread every query of the class (up to 4,096, drawn across the whole policy: cache and TLB misses dominate).
 * Time is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID: preemption on a shared machine does not count).
 * Output: one JSON line per (class, set): {"cls","set","queries","nsMedian","nsMin","nsMax"}; the matcher results
 * are checked (every query of classes n/w/4/6 must be decided by a rule, not the default) so a wrong workload fails.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "egp.h"

enum { MAXQ = 4096, HOT = 16, MAXR = 99 };

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

struct q {
  char name[256];
  size_t len;
  egp_ip ip;
};
static struct q qs[4][MAXQ];
static int nq[4];
static volatile int sink;

static int cls_index(char c) { return c == 'n' ? 0 : c == 'w' ? 1 : c == '4' ? 2 : c == '6' ? 3 : -1; }

static void decide(const egp_t *p, int c, const struct q *x, egp_decision *d) {
  if (c < 2) egp_decide_name(p, x->name, x->len, 443, EGP_PROTO_TCP, d);
  else egp_decide_addr(p, &x->ip, 443, EGP_PROTO_TCP, NULL, 0, d);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: decide POLICY.egp QUERIES [rounds] [iters]\n");
    return 2;
  }
  int rounds = argc > 3 ? atoi(argv[3]) : 7;
  long iters = argc > 4 ? atol(argv[4]) : 200000;
  if (rounds < 1 || rounds > MAXR) rounds = 7;
  egp_t p;
  struct egp_error err;
  if (egp_open(&p, argv[1], 0, &err) != 0) {
    fprintf(stderr, "decide: %s: %s\n", argv[1], err.what);
    return 1;
  }
  FILE *f = fopen(argv[2], "r");
  if (!f) return 1;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    int c = cls_index(line[0]);
    if (c < 0 || line[1] != ' ' || nq[c] >= MAXQ) continue;
    char *v = line + 2;
    v[strcspn(v, "\r\n")] = 0;
    struct q *x = &qs[c][nq[c]];
    if (c < 2) {
      int l = egp_normalize_name(v, strlen(v), x->name);
      if (l < 0) continue;
      x->len = (size_t)l;
    } else if (c == 2) {
      struct in_addr a;
      if (inet_pton(AF_INET, v, &a) != 1) continue;
      x->ip.is_v6 = 0, x->ip.v4 = ntohl(a.s_addr);
    } else {
      if (inet_pton(AF_INET6, v, x->ip.v6) != 1) continue;
      x->ip.is_v6 = 1;
    }
    nq[c]++;
  }
  fclose(f);
  static const char *names[4] = {"name", "wildcard", "ipv4", "ipv6"};
  for (int c = 0; c < 4; c++) {
    if (nq[c] == 0) continue;
    for (int i = 0; i < nq[c]; i++) {
      egp_decision d;
      decide(&p, c, &qs[c][i], &d);
      if (d.rule < 0) {
        fprintf(stderr, "decide: %s query %d was decided by no rule (rule %d)\n", names[c], i, (int)d.rule);
        return 1;
      }
    }
    double res[2][MAXR];
    for (int r = 0; r < rounds; r++) {
      for (int s = 0; s < 2; s++) {
        int set = (r % 2) ? 1 - s : s; /* alternate which set goes first */
        int n = set == 0 ? (nq[c] < HOT ? nq[c] : HOT) : nq[c];
        egp_decision d;
        int acc = 0, k = 0;
        double t0 = now_ns();
        for (long it = 0; it < iters; it++) {
          decide(&p, c, &qs[c][k], &d);
          acc += d.allow;
          if (++k == n) k = 0;
        }
        res[set][r] = (now_ns() - t0) / (double)iters;
        sink += acc;
      }
    }
    for (int set = 0; set < 2; set++) {
      qsort(res[set], (size_t)rounds, sizeof(double), cmpd);
      double med = rounds % 2 ? res[set][rounds / 2] : (res[set][rounds / 2 - 1] + res[set][rounds / 2]) / 2;
      printf("{\"cls\":\"%s\",\"set\":\"%s\",\"queries\":%d,\"nsMedian\":%.1f,\"nsMin\":%.1f,\"nsMax\":%.1f}\n",
             names[c], set ? "spread" : "hot", set ? nq[c] : (nq[c] < HOT ? nq[c] : HOT), med, res[set][0],
             res[set][rounds - 1]);
    }
  }
  return 0;
}
