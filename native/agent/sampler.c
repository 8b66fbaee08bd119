/*
 * sampler.c — the agent's timing thread. It sleeps on invoke.c's eventfd while nothing needs it (no invoke in flight,
 * or none armed and no deadline close), so an idle or audit-mode environment costs no CPU; while an enforced invoke
 * runs it calls inv_tick() when inv_tick() asks to be called again: every cfg.sample_ns (1 ms by default: one pread of
 * /proc/net/dev and a parse of a few lines) near a budget, less often far from it (invoke.c next_look; CPU measured
 * in docs/METERING.md), and at each invoke's reporting deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

uint64_t ag_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ag_epoch_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

static void *run(void *arg) {
  (void)arg;
  int fd = inv_wake_fd();
  uint64_t wait_ns = 0; /* 0 = until woken */
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    struct timespec ts = {(time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull)};
    int r = ppoll(&p, 1, wait_ns ? &ts : NULL, NULL);
    if (r < 0 && errno != EINTR) usleep(1000);
    if (r > 0) {
      uint64_t drain;
      (void)!read(fd, &drain, 8);
    }
    wait_ns = inv_tick(ag_now_ns());
  }
  return NULL;
}

int sampler_start(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  return pthread_create(&t, &attr, run, NULL) == 0 ? 0 : -1;
}
