/*
 * cputime.h — what the hook benchmarks share (bench_hooks.c, bench_budget.c): process CPU time and the median.
 *
 * Process CPU time (user + system): the benchmarks run on shared 2-core machines where other work preempts them, and
 * all the work of their loops (both ends of a connection, the kernel's TCP processing) runs in the measured process.
 */
#ifndef EG_BENCH_CPUTIME_H
#define EG_BENCH_CPUTIME_H
#include <stdlib.h>
#include <time.h>

static inline double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Sorts v (so v[0] is the smallest afterwards) and returns its median. */
static inline double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmpd);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
