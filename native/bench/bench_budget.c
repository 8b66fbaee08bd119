/*
 * bench_budget — what byte budgets cost on the calls that move bytes (budget.c): a request/response loop over one TCP
 * connection to a non-loopback address — 1 KiB sent and 1 KiB received by the client per iteration (two egress calls,
 * counted), answered by an unguarded-path server thread in the same process (two calls on a socket without flags).
 *
 *   build/bench_budget build/libegressguard.so [rounds] [iters]      (make -C native bench)
 *
 * Network rule: the address (10.77.0.1) is added to `lo` inside a network namespace this program creates for itself
 * (unshare(CLONE_NEWNET), so it needs root); it refuses to run otherwise, and nothing it sends can leave.
 * Arms, each a child process with the same loop, in rotating order every round:
 *   plain    no guard
 *   guard    the guard (enforce, a policy allowing the address), no state file: no budgets, so no descriptor is flagged
 *   counted  the guard (enforce, a policy allowing the address) and a state file that is not armed: every egress call
 *            adds to io_rx/io_tx
 *   armed    the same with the state file armed (budgets far above what the loop moves): every egress call also
 *            computes its allowance (claim, look, release)
 * Each child prints its CPU ns per iteration (CLOCK_PROCESS_CPUTIME_ID: both ends run in it). Reported as JSON lines
 * ({"bench":"budget",…}): medians, and the median of the per-round ratios against `plain` of the same round.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cputime.h"

#include "egp.h"
#include "egpw.h"

#define ADDR "10.77.0.1"
#define MSG 1024

/* A private network namespace with lo up and ADDR on it: the only place this program's traffic can go. */
static int own_namespace(void) {
  if (unshare(CLONE_NEWNET) != 0) return -1;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return -1;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return -1;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo:1");
  struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
  a->sin_family = AF_INET;
  inet_pton(AF_INET, ADDR, &a->sin_addr);
  int r = ioctl(s, SIOCSIFADDR, &ifr);
  close(s);
  return r;
}

static void *echo(void *arg) {
  int fd = *(int *)arg;
  char buf[MSG];
  for (;;) {
    ssize_t got = 0;
    while (got < MSG) {
      ssize_t r = recv(fd, buf + got, (size_t)(MSG - got), 0);
      if (r <= 0) return NULL;
      got += r;
    }
    if (send(fd, buf, MSG, 0) != MSG) return NULL;
  }
}

static int child(long iters) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ADDR, &a.sin_addr);
  socklen_t al = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) return 1;
  getsockname(ls, (struct sockaddr *)&a, &al);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) return 2;
  int s = accept(ls, NULL, NULL);
  pthread_t t;
  pthread_create(&t, NULL, echo, &s);
  char buf[MSG];
  memset(buf, 'b', sizeof buf);
  for (int warm = 0; warm < 2; warm++) {
    long n = warm ? iters : iters / 10;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      if (send(c, buf, MSG, 0) != MSG) return 3;
      ssize_t got = 0;
      while (got < MSG) {
        ssize_t r = recv(c, buf + got, (size_t)(MSG - got), 0);
        if (r <= 0) return 4;
        got += r;
      }
    }
    if (warm) printf("%.1f\n", (now_ns() - t0) / (double)n);
  }
  return 0;
}

/* A fresh state file; armed: thresholds 1 TiB above zero and flags IN_INVOKE | ARMED (docs/STATE.md). */
static int write_state(const char *path, int armed) {
  uint8_t img[512];
  memset(img, 0, sizeof img);
  memcpy(img, "EGSTATE\x02", 8);
  uint32_t v = 2, sz = 512, flags = armed ? 0x9u : 0;
  memcpy(img + 8, &v, 4);
  memcpy(img + 12, &sz, 4);
  memcpy(img + 32, &flags, 4);
  uint64_t at = armed ? (uint64_t)1 << 40 : UINT64_MAX;
  for (int i = 0; i < 3; i++) memcpy(img + 144 + 8 * i, &at, 8);
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(img, 1, sizeof img, f);
  fclose(f);
  return w == sizeof img ? 0 : -1;
}

static int write_policy(const char *path) {
  struct egpw_rule rule = {"bench", 0, 3, EGPW_CIDR, ADDR, 0, {{0, 0}}};
  uint8_t *buf;
  size_t len;
  if (egpw_build(&rule, 1, EGP_FLAG_ENFORCE | EGP_FLAG_ALLOW_LOOPBACK, &buf, &len) != 0) return -1;
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  fwrite(buf, 1, len, f);
  fclose(f);
  free(buf);
  return 0;
}

enum { PLAIN, GUARD, COUNTED, ARMED, ARMS };
static const char *const arm_name[ARMS] = {"plain", "guard", "counted", "armed"};

static double run_child(const char *self, long iters, int arm, const char *lib, const char *policy, const char *state) {
  if (arm >= COUNTED && write_state(state, arm == ARMED) != 0) return -1;
  int pfd[2];
  if (pipe(pfd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    unsetenv("LD_PRELOAD");
    if (arm != PLAIN) {
      setenv("LD_PRELOAD", lib, 1);
      setenv("EGRESS_GUARD_POLICY", policy, 1);
      setenv("EGRESS_GUARD_MODE", "enforce", 1);
      if (arm >= COUNTED) setenv("EGRESS_GUARD_STATE", state, 1);
      else unsetenv("EGRESS_GUARD_STATE");
      setenv("EGRESS_GUARD_LOG", "off", 1);
    }
    char n[32];
    snprintf(n, sizeof n, "%ld", iters);
    execl(self, self, "child", n, (char *)NULL);
    _exit(127);
  }
  close(pfd[1]);
  char buf[64] = {0};
  ssize_t r = read(pfd[0], buf, sizeof buf - 1);
  close(pfd[0]);
  int st;
  waitpid(pid, &st, 0);
  if (r <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  return atof(buf);
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "child") == 0) return child(atol(argv[2]));
  if (argc < 2) {
    fprintf(stderr, "usage: bench_budget LIBEGRESSGUARD.so [rounds] [iters]\n");
    return 2;
  }
  if (own_namespace() != 0) {
    fprintf(stderr, "bench_budget: cannot create its own network namespace (needs root); refusing to run\n");
    return 2;
  }
  char lib[4096], self[4096];
  if (!realpath(argv[1], lib) || !realpath("/proc/self/exe", self)) return 2;
  int rounds = argc > 2 ? atoi(argv[2]) : 9;
  long iters = argc > 3 ? atol(argv[3]) : 50000;
  if (rounds < 1 || rounds > 99) rounds = 9;
  char policy[] = "/tmp/egbudget-policy-XXXXXX", state[] = "/tmp/egbudget-state-XXXXXX";
  int pf = mkstemp(policy), sf = mkstemp(state);
  if (pf < 0 || sf < 0 || write_policy(policy) != 0) return 2;
  close(pf);
  close(sf);
  double ns[ARMS][99], ratio[ARMS][99];
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < ARMS; k++) {
      int arm = (r + k) % ARMS;
      ns[arm][r] = run_child(self, iters, arm, lib, policy, state);
      if (ns[arm][r] <= 0) {
        fprintf(stderr, "bench_budget: the %s child failed\n", arm_name[arm]);
        unlink(policy), unlink(state);
        return 1;
      }
    }
    for (int arm = 0; arm < ARMS; arm++) ratio[arm][r] = ns[arm][r] / ns[PLAIN][r];
  }
  double plain = median(ns[PLAIN], rounds);
  for (int arm = GUARD; arm < ARMS; arm++) {
    double m = median(ns[arm], rounds), mr = median(ratio[arm], rounds);
    printf("{\"bench\":\"budget\",\"arm\":\"%s\",\"rounds\":%d,\"iters\":%ld,\"unguardedNs\":%.1f,\"guardedNs\":%.1f,"
           "\"ratio\":%.4f,\"ratioMin\":%.4f,\"ratioMax\":%.4f}\n",
           arm_name[arm], rounds, iters, plain, m, mr, ratio[arm][0], ratio[arm][rounds - 1]);
  }
  unlink(policy);
  unlink(state);
  return 0;
}
