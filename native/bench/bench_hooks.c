/*
 * bench_hooks — the interposer's cost on real calls: guarded / unguarded ratio of
 *   connect   a loopback TCP loop: socket, SO_LINGER{1,0} (no TIME_WAIT pile-up), connect, accept, close ×2
 *   gai       getaddrinfo("localhost", "80") + freeaddrinfo
 *   udpconnect connect() of a UDP socket to 127.0.0.1:9 (a short syscall: shows the guard's added ns per connect)
 *   udpwrite  write() of 1 byte on a UDP socket connected to a loopback receiver (the write hooks' path for a
 *             descriptor without flags: raw DNS and byte budgets must cost it nothing but a load)
 *   denied    (child mode only, bench/run.ts `deniedConnect`) connect() of a UDP socket to 127.0.0.2:9, which the
 *             100-rule policy of bench/policies.ts does not allow: in enforce mode each call is refused and logged,
 *             or counted by the log rate limiter (docs/LOGGING.md "Rate limit"); unguarded, a short syscall
 * in enforce mode with a 100-rule policy whose allowed traffic this is (the policy is written by this program with
 * the test writer; loopback allowed by the policy flag, as the compiler's default).
 *
 *   build/bench_hooks build/libegressguard.so [rounds] [iters]      (make -C native bench)
 * Each round runs this binary twice as a child — once plain, once with LD_PRELOAD — alternating which goes first;
 * the child prints its CPU ns per iteration (CLOCK_PROCESS_CPUTIME_ID, so preemption by other work on a busy machine
 * is not counted). Reported: medians over rounds, and the
 * median of the per-round ratios (guarded/unguarded measured back to back, so machine-load drift cancels out), and
 * the ratio of each arm's fastest round (noise only ever adds time, so the fastest rounds are the least disturbed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cputime.h"

static int child_connect(long iters) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7F000001);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 128) != 0) return 1;
  socklen_t al = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &al);
  struct linger lg = {1, 0};
  for (int warm = 0; warm < 2; warm++) {
    long n = warm ? iters : iters / 10;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) return 2;
      int s = accept(ls, NULL, NULL);
      if (s < 0) return 3;
      close(c);
      close(s);
    }
    if (warm) printf("%.1f\n", (now_ns() - t0) / (double)n);
  }
  return 0;
}

/* connect() of a UDP socket to a loopback address: no handshake, so the syscall is short and the guard's added
 * cost per connect (SO_TYPE query + decision) is a large, measurable share. */
static int child_udpconnect(long iters) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7F000001);
  a.sin_port = htons(9);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  for (int warm = 0; warm < 2; warm++) {
    long n = warm ? iters * 10 : iters;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
      if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return 5;
    if (warm) printf("%.1f\n", (now_ns() - t0) / (double)n);
  }
  return 0;
}

/* connect() of a UDP socket to 127.0.0.2:9 (denied by the benchmark policy: EACCES under the guard in enforce mode). */
static int child_denied(long iters) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7F000002);
  a.sin_port = htons(9);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  for (int warm = 0; warm < 2; warm++) {
    long n = warm ? iters : iters / 10;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
      if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EACCES) return 7;
    if (warm) printf("%.1f\n", (now_ns() - t0) / (double)n);
  }
  return 0;
}

/* write() on a connected UDP socket whose receiver never reads (full buffers drop datagrams; writes still succeed). */
static int child_udpwrite(long iters) {
  int rx = socket(AF_INET, SOCK_DGRAM, 0), fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7F000001);
  if (bind(rx, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(rx, (struct sockaddr *)&a, &al) != 0) return 6;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return 6;
  for (int warm = 0; warm < 2; warm++) {
    long n = warm ? iters * 10 : iters;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
      if (write(fd, "x", 1) != 1) return 6;
    if (warm) printf("%.1f\n", (now_ns() - t0) / (double)n);
  }
  return 0;
}

static int child_gai(long iters) {
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  for (int warm = 0; warm < 2; warm++) {
    long n = warm ? iters : iters / 10;
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
      struct addrinfo *res;
      if (getaddrinfo("localhost", "80", &hints, &res) != 0) return 4;
      freeaddrinfo(res);
    }
    if (warm) printf("%.1f\n", (now_ns() - t0) / (double)n);
  }
  return 0;
}

/* Run `self child <what> <iters>`, with or without the guard; returns ns/iter or -1. */
static double run_child(const char *self, const char *what, long iters, const char *lib, const char *policy) {
  int pfd[2];
  if (pipe(pfd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    if (lib) {
      setenv("LD_PRELOAD", lib, 1);
      setenv("EGRESS_GUARD_POLICY", policy, 1);
      setenv("EGRESS_GUARD_MODE", "enforce", 1);
    } else {
      unsetenv("LD_PRELOAD");
    }
    char n[32];
    snprintf(n, sizeof n, "%ld", iters);
    execl(self, self, "child", what, n, (char *)NULL);
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

/* A 100-rule enforce policy in the FORMAT.md layout, written with the test writer (linked in via egpw.c). */
#include "egpw.h"
#include "egp.h"
static int write_policy(const char *path) {
  struct egpw_rule rules[100];
  static char names[100][32], targets[100][64];
  for (int i = 0; i < 100; i++) {
    snprintf(names[i], 32, "rule%d", i);
    rules[i] = (struct egpw_rule){names[i], i % 10 == 9, 3, 0, targets[i], 0, {{0, 0}}};
    if (i % 3 == 0) rules[i].kind = EGPW_HOST, snprintf(targets[i], 64, "svc%d.example.com", i);
    else if (i % 3 == 1) rules[i].kind = EGPW_WILD, snprintf(targets[i], 64, "zone%d.example.net", i);
    else rules[i].kind = EGPW_CIDR, snprintf(targets[i], 64, "10.%d.0.0/16", i);
    if (i % 2) rules[i].nports = 1, rules[i].ports[0][0] = 443, rules[i].ports[0][1] = 443;
  }
  uint8_t *buf;
  size_t len;
  if (egpw_build(rules, 100, EGP_FLAG_ENFORCE | EGP_FLAG_ALLOW_LOOPBACK, &buf, &len) != 0) return -1;
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  fwrite(buf, 1, len, f);
  fclose(f);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "child") == 0) {
    long iters = atol(argv[3]);
    if (strcmp(argv[2], "connect") == 0) return child_connect(iters);
    if (strcmp(argv[2], "udpconnect") == 0) return child_udpconnect(iters);
    if (strcmp(argv[2], "udpwrite") == 0) return child_udpwrite(iters);
    if (strcmp(argv[2], "denied") == 0) return child_denied(iters);
    return child_gai(iters);
  }
  if (argc < 2) {
    fprintf(stderr, "usage: bench_hooks LIBEGRESSGUARD.so [rounds] [iters]\n");
    return 2;
  }
  char lib[4096], self[4096];
  if (!realpath(argv[1], lib) || !realpath("/proc/self/exe", self)) return 2;
  int rounds = argc > 2 ? atoi(argv[2]) : 9;
  long iters = argc > 3 ? atol(argv[3]) : 20000;
  if (rounds < 1 || rounds > 99) rounds = 9;
  char policy[] = "/tmp/egbench-XXXXXX";
  int fd = mkstemp(policy);
  if (fd < 0 || write_policy(policy) != 0) return 2;
  close(fd);
  const char *what[4] = {"connect", "gai", "udpconnect", "udpwrite"};
  for (int w = 0; w < 4; w++) {
    double plain[99], guarded[99], ratio[99];
    for (int r = 0; r < rounds; r++) {
      double a, b;
      if (r % 2 == 0) a = run_child(self, what[w], iters, NULL, NULL), b = run_child(self, what[w], iters, lib, policy);
      else b = run_child(self, what[w], iters, lib, policy), a = run_child(self, what[w], iters, NULL, NULL);
      if (a <= 0 || b <= 0) {
        fprintf(stderr, "bench_hooks: a %s child failed\n", what[w]);
        unlink(policy);
        return 1;
      }
      plain[r] = a, guarded[r] = b, ratio[r] = b / a;
    }
    double mr = median(ratio, rounds), mp = median(plain, rounds), mg = median(guarded, rounds);
    /* after median() sorted them: [0] is each arm's fastest round, the least disturbed by other work */
    printf("{\"bench\":\"hooks\",\"loop\":\"%s\",\"rounds\":%d,\"iters\":%ld,\"unguardedNs\":%.1f,\"guardedNs\":%.1f,"
           "\"ratio\":%.4f,\"ratioMin\":%.4f,\"ratioMax\":%.4f,\"fastestUnguardedNs\":%.1f,\"fastestGuardedNs\":%.1f,"
           "\"ratioOfFastest\":%.4f,\"addedNsMedian\":%.1f}\n",
           what[w], rounds, iters, mp, mg, mr, ratio[0], ratio[rounds - 1], plain[0], guarded[0], guarded[0] / plain[0],
           mg - mp);
    fflush(stdout);
  }
  unlink(policy);
  return 0;
}
