/*
 * bench_wake — the floor under the armed sampler's CPU (docs/METERING.md "Sampler CPU while armed"): what this machine
 * charges for waking one sleeping thread at the sampler's look interval, with nothing else running in it.
 *
 *   build/bench_wake POLICY.egp [seconds]      (bench/agent.ts runs it between the sampler's own runs)
 *
 * The interval is the agent's own for an invoke that moves no bytes under POLICY's budgets: look.h's lk_interval_ns
 * with the default floor (EGRESS_GUARD_SAMPLE_MS) and cap, the same call the agent makes. For `seconds` (default 2)
 * each, two arms, one after the other in one thread, each woken by an absolute CLOCK_MONOTONIC timerfd as the agent's
 * sampler is:
 * - "wake": the wake-up alone (read the timerfd, set it again);
 * - "look": the wake-up and the look's read of /proc/net/dev (netdev.c nd_read, the agent's parser).
 * Prints one JSON line: the interval, the wake-ups of each arm and each arm's CPU (the thread's, user + system) as a
 * share of one core. Reads a file; sends nothing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../agent/look.h"
#include "../agent/netdev.h"
#include "../src/egp.h"
#include "../src/gen/config.h"

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wakes every interval_ns for seconds; with read_netdev, reads /proc/net/dev at each wake-up. Returns the wake-ups and
 * sets *cpu_ns to the thread's CPU time over them. */
static int arm(int tfd, int nd, uint64_t interval_ns, double seconds, int read_netdev, uint64_t *cpu_ns) {
  static char buf[65536];
  static struct nd_snap snap;
  uint64_t start = clock_ns(CLOCK_MONOTONIC), end = start + (uint64_t)(seconds * 1e9), next = start;
  uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  int wakes = 0;
  while (next + interval_ns <= end) {
    next += interval_ns;
    struct itimerspec its = {{0, 0}, {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)}};
    uint64_t expirations;
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0 ||
        read(tfd, &expirations, sizeof expirations) != (ssize_t)sizeof expirations)
      return -1;
    if (read_netdev && nd_read(nd, buf, sizeof buf, &snap) != 0) return -1;
    wakes++;
  }
  *cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
  return wakes;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: bench_wake POLICY.egp [seconds]\n");
    return 2;
  }
  double seconds = argc == 3 ? atof(argv[2]) : 2.0;
  egp_t p;
  struct egp_error err;
  if (egp_open(&p, argv[1], 0, &err) != 0) {
    fprintf(stderr, "bench_wake: %s: cannot read the policy (error %d)\n", argv[1], (int)err.code);
    return 1;
  }
  const uint64_t budget[3] = {p.budget_rx, p.budget_tx, p.budget_total};
  uint64_t floor_ns = (uint64_t)EG_CFG_SAMPLE_MS_DEFAULT * 1000000ull;
  uint64_t interval_ns = lk_interval_ns(budget, 0, 0, floor_ns, floor_ns * LK_MAX_FACTOR);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  int nd = open("/proc/net/dev", O_RDONLY | O_CLOEXEC);
  if (tfd < 0 || nd < 0 || seconds <= 0) {
    perror("bench_wake");
    return 1;
  }
  uint64_t wake_ns = 0, look_ns = 0;
  int wakes = arm(tfd, nd, interval_ns, seconds, 0, &wake_ns);
  int looks = arm(tfd, nd, interval_ns, seconds, 1, &look_ns);
  if (wakes <= 0 || looks <= 0) {
    perror("bench_wake");
    return 1;
  }
  printf("{\"bench\":\"wake\",\"intervalUs\":%.1f,\"wakes\":%d,\"wakeCorePercent\":%.4f,\"wakeUs\":%.1f,"
         "\"looks\":%d,\"lookCorePercent\":%.4f,\"lookUs\":%.1f}\n",
         (double)interval_ns / 1e3, wakes, (double)wake_ns / (seconds * 1e9) * 100, (double)wake_ns / wakes / 1e3,
         looks, (double)look_ns / (seconds * 1e9) * 100, (double)look_ns / looks / 1e3);
  return 0;
}
