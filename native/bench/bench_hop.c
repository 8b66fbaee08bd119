/*
 * bench_hop — what one more process on a request/response path costs on this machine, without any runtime: the
 * floor under the agent's per-invoke latency (docs/METERING.md "Latency per invoke").
 *
 *   build/bench_hop [iters]      (make -C native bench)
 *
 * Three processes over loopback TCP (TCP_NODELAY), shaped like an invoke: A (the Runtime API) sends 480 bytes (an
 * event), B (the runtime) answers 185 bytes (a result). "direct": A and B are connected; "relay": a third process R
 * sits between them and relays each message with one poll(2), one read(2) and one write(2), as a proxy in the agent's
 * place must (two more wake-ups and two more TCP transits per round trip). A times each round trip; a 200 µs pause
 * between round trips lets every process go back to sleep, as between invokes. Arms: unpinned (where the scheduler
 * puts them), and pinned to CPUs (A/R/B) to separate a wake-up on the waker's CPU from one on another CPU (this tool
 * pins its own processes only). Prints one JSON line per arm: median, p10 and p90 of the round trip in µs.
 * Loopback only: nothing leaves the machine.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EVENT 480
#define RESULT 185
#define WARMUP 200

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  sched_setaffinity(0, sizeof s, &s);
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int listener(int *port) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t n = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0 ||
      getsockname(l, (struct sockaddr *)&a, &n) != 0)
    exit(1);
  *port = ntohs(a.sin_port);
  return l;
}

static int dial(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) exit(1);
  nodelay(s);
  return s;
}

static int take(int l) {
  int s = accept(l, NULL, NULL);
  if (s < 0) exit(1);
  nodelay(s);
  return s;
}

/* Reads exactly n bytes (the peer sends each message with one write); exits on EOF or error. */
static void read_n(int fd, char *b, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, b + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(0);
    got += (size_t)r;
  }
}

static void write_n(int fd, const char *b, size_t n) {
  if (write(fd, b, n) != (ssize_t)n) _exit(0);
}

/* R: one poll on the side it expects a message from, then one read and one write, both ways. */
static void relay_msg(int from, int to, char *b, size_t n) {
  struct pollfd p = {from, POLLIN, 0};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {}
  read_n(from, b, n);
  write_n(to, b, n);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void arm(const char *name, int relayed, int ca, int cr, int cb, int iters) {
  static char buf[65536];
  int pa, pr;
  int la = listener(&pa), lr = listener(&pr);
  pid_t kids[2] = {0, 0};
  if ((kids[0] = fork()) == 0) { /* B, the runtime */
    pin(cb);
    int s = dial(relayed ? pr : pa);
    for (;;) {
      read_n(s, buf, EVENT);
      write_n(s, buf, RESULT);
    }
  }
  if (relayed && (kids[1] = fork()) == 0) { /* R, the relay */
    pin(cr);
    int c = take(lr), u = dial(pa);
    for (;;) {
      relay_msg(u, c, buf, EVENT);
      relay_msg(c, u, buf, RESULT);
    }
  }
  pin(ca);
  int s = take(la);
  double *t = malloc(sizeof(double) * (size_t)iters);
  if (t == NULL) exit(1);
  memset(buf, 'x', EVENT);
  for (int i = 0; i < iters + WARMUP; i++) {
    double t0 = now_ns();
    write_n(s, buf, EVENT);
    read_n(s, buf, RESULT);
    if (i >= WARMUP) t[i - WARMUP] = now_ns() - t0;
    usleep(200);
  }
  qsort(t, (size_t)iters, sizeof(double), cmp);
  printf("{\"bench\":\"hop\",\"arm\":\"%s\",\"pins\":\"%d/%d/%d\",\"medianUs\":%.1f,\"p10Us\":%.1f,\"p90Us\":%.1f}\n",
         name, ca, cr, cb, t[iters / 2] / 1e3, t[iters / 10] / 1e3, t[iters * 9 / 10] / 1e3);
  fflush(stdout);
  free(t);
  close(s);
  for (int k = 0; k < 2; k++)
    if (kids[k] > 0) kill(kids[k], SIGKILL), waitpid(kids[k], NULL, 0);
  close(la);
  close(lr);
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 3000;
  if (iters < 10) iters = 10;
  int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < cpus && c < CPU_SETSIZE; c++) CPU_SET(c, &all);
  arm("direct", 0, -1, -1, -1, iters);
  arm("relay", 1, -1, -1, -1, iters);
  if (cpus >= 2) {
    arm("direct", 0, 0, -1, 0, iters); /* A and B on one CPU */
    arm("relay", 1, 0, 0, 0, iters);   /* all three on one CPU */
    arm("direct", 0, 0, -1, 1, iters); /* every message wakes a process on the other CPU */
    arm("relay", 1, 0, 1, 0, iters);   /* every message wakes the relay or the peer on the other CPU */
  }
  sched_setaffinity(0, sizeof all, &all);
  return 0;
}
