/*
 * sampler.c — the agent's timing thread. It blocks on invoke.c's timer (a timerfd that invoke.c sets, under its
 * mutex, to the earliest look or reporting deadline of the invokes in flight, and disarms when none needs one), so an
 * idle or audit-mode environment costs no CPU and an invoke that ends before its first look never wakes it. Each time
 * the timer fires it calls inv_tick(): a look (one pread of /proc/net/dev and a parse of a few lines) when the bytes
 * left under a budget plus the overshoot look.h allows could be used up at 10 Gbit/s, at least cfg.sample_ns (1 ms by
 * default) apart (invoke.c next_look; CPU measured in docs/METERING.md), and at each invoke's reporting deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
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
  int fd = inv_timer_fd();
  for (;;) {
    uint64_t expirations;
    if (read(fd, &expirations, sizeof expirations) < 0 && errno != EINTR) usleep(1000);
    inv_tick();
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
