/*
 * stress.c — the load test program (SECURITY.md "Load"): N threads × M mixed lookups, connects and datagrams,
 * allowed and denied, against the guard loaded with LD_PRELOAD (normal, ASan+UBSan or TSan build). It checks every
 * decision itself and prints one JSON summary line on stdout; the caller (test/hardening/load.test.ts) checks the log.
 *
 *   stress THREADS ITERS PORT GOOD_HOST GOOD_IP DENIED_HOST DENIED_IP UDP_IP
 *
 * Expected environment: a network namespace of the caller's own in which GOOD_HOST resolves (hosts file) to GOOD_IP,
 * GOOD_IP / DENIED_IP / UDP_IP are addresses on lo, and the guard runs in enforce mode with a policy that allows
 * GOOD_HOST on TCP PORT, UDP to UDP_IP, loopback, and denies DENIED_HOST; DENIED_IP is allowed by nothing.
 * The program listens on 0.0.0.0:PORT itself (an accept thread that closes what it accepts).
 *
 * Operation k of a thread (k = 0 … ITERS-1) is kind (k + thread) % 8:
 *   0 getaddrinfo(GOOD_HOST) + connect to the first result   → 0 and 0          (2 log lines: dns allow, connect allow)
 *   1 getaddrinfo(DENIED_HOST)                               → EAI_NONAME       (dns deny, blocked)
 *   2 connect DENIED_IP:PORT                                 → -1/EACCES        (connect deny, blocked)
 *   3 connect 127.0.0.1:PORT                                 → 0                (connect allow, builtin:loopback)
 *   4 sendto UDP_IP:PORT                                     → bytes sent       (sendto allow)
 *   5 sendto DENIED_IP:PORT                                  → -1/EACCES        (sendto deny, blocked)
 *   6 gethostbyname_r(GOOD_HOST)                             → found            (dns allow)
 *   7 connect GOOD_IP:PORT (bound to GOOD_HOST by lookups)   → 0                (connect allow)
 * Every thread starts with one kind-0 operation, so GOOD_IP is bound before any kind 7 (a binding lost under
 * contention would show as a wrong decision here). Client sockets close with SO_LINGER 0 (no TIME_WAIT pile-up).
 * Output: {"threads":T,"iters":M,"ops":N,"wrong":W,"expectedLines":L,"kinds":[…per kind counts…],"firstWrong":"…"}
 * Exit 0 when every decision was right.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port;
static const char *good_host, *denied_host;
static struct sockaddr_in good_ip, denied_ip, udp_ip, loop_ip;
static long iters;
static long wrong, kind_count[8];
static char first_wrong[256];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void bad(int kind, const char *what, int err) {
  pthread_mutex_lock(&mu);
  if (wrong++ == 0) snprintf(first_wrong, sizeof first_wrong, "kind %d: %s (%s)", kind, what, strerror(err));
  pthread_mutex_unlock(&mu);
}

static void linger_close(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

/* connect to sa; expect success (want_ok) or EACCES. */
static void try_connect(int kind, const struct sockaddr_in *sa, int want_ok) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return bad(kind, "socket", errno);
  errno = 0;
  int r = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
  int e = errno;
  if (want_ok && r != 0) bad(kind, "allowed connect failed", e);
  if (!want_ok && !(r == -1 && e == EACCES)) bad(kind, "denied connect was not EACCES", e);
  linger_close(fd);
}

static void op(int kind, int udp) {
  switch (kind) {
  case 0: {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    char svc[8];
    snprintf(svc, sizeof svc, "%d", port);
    int rc = getaddrinfo(good_host, svc, &hints, &res);
    if (rc != 0 || res == NULL) return bad(kind, "allowed lookup failed", rc == EAI_SYSTEM ? errno : 0);
    struct sockaddr_in sa;
    memcpy(&sa, res->ai_addr, sizeof sa);
    freeaddrinfo(res);
    if (sa.sin_addr.s_addr != good_ip.sin_addr.s_addr) return bad(kind, "lookup gave another address", 0);
    try_connect(kind, &sa, 1);
    break;
  }
  case 1: {
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(denied_host, NULL, NULL, &res);
    if (rc != EAI_NONAME) bad(kind, "denied lookup was not EAI_NONAME", 0);
    if (res) freeaddrinfo(res);
    break;
  }
  case 2: try_connect(kind, &denied_ip, 0); break;
  case 3: try_connect(kind, &loop_ip, 1); break;
  case 4:
  case 5: {
    const struct sockaddr_in *sa = kind == 4 ? &udp_ip : &denied_ip;
    errno = 0;
    ssize_t n = sendto(udp, "x", 1, 0, (const struct sockaddr *)sa, sizeof *sa);
    int e = errno;
    if (kind == 4 && n != 1) bad(kind, "allowed sendto failed", e);
    if (kind == 5 && !(n == -1 && e == EACCES)) bad(kind, "denied sendto was not EACCES", e);
    break;
  }
  case 6: {
    struct hostent he, *result = NULL;
    char buf[2048];
    int herr = 0;
    int rc = gethostbyname_r(good_host, &he, buf, sizeof buf, &result, &herr);
    if (rc != 0 || result == NULL) bad(kind, "allowed gethostbyname_r failed", rc);
    break;
  }
  case 7: try_connect(kind, &good_ip, 1); break;
  }
}

static void *worker(void *arg) {
  long t = (long)arg;
  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  long local[8] = {0};
  op(0, udp);
  local[0]++;
  for (long k = 1; k < iters; k++) {
    int kind = (int)((k + t) % 8);
    op(kind, udp);
    local[kind]++;
  }
  close(udp);
  pthread_mutex_lock(&mu);
  for (int i = 0; i < 8; i++) kind_count[i] += local[i];
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *acceptor(void *arg) {
  int lfd = (int)(long)arg;
  for (;;) {
    int c = accept(lfd, NULL, NULL);
    if (c >= 0) close(c);
  }
  return NULL;
}

static int addr(const char *s, struct sockaddr_in *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, s, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: stress THREADS ITERS PORT GOOD_HOST GOOD_IP DENIED_HOST DENIED_IP UDP_IP\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  iters = atol(argv[2]);
  port = atoi(argv[3]);
  good_host = argv[4];
  denied_host = argv[6];
  if (threads < 1 || threads > 1024 || iters < 1 || addr(argv[5], &good_ip) || addr(argv[7], &denied_ip) ||
      addr(argv[8], &udp_ip) || addr("127.0.0.1", &loop_ip)) {
    fprintf(stderr, "stress: bad arguments\n");
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in any;
  memset(&any, 0, sizeof any);
  any.sin_family = AF_INET;
  any.sin_port = htons((uint16_t)port);
  if (bind(lfd, (struct sockaddr *)&any, sizeof any) != 0 || listen(lfd, 4096) != 0) {
    perror("stress: listen");
    return 2;
  }
  pthread_t acc;
  pthread_create(&acc, NULL, acceptor, (void *)(long)lfd);
  pthread_t *tids = calloc((size_t)threads, sizeof *tids);
  for (long t = 0; t < threads; t++) pthread_create(&tids[t], NULL, worker, (void *)t);
  for (int t = 0; t < threads; t++) pthread_join(tids[t], NULL);
  long ops = 0;
  for (int i = 0; i < 8; i++) ops += kind_count[i];
  /* log lines with EGRESS_GUARD_LOG_LEVEL=all: kind 0 writes two (dns + connect), every other kind one */
  long lines = ops + kind_count[0];
  printf("{\"threads\":%d,\"iters\":%ld,\"ops\":%ld,\"wrong\":%ld,\"expectedLines\":%ld,\"kinds\":[", threads, iters,
         ops, wrong, lines);
  for (int i = 0; i < 8; i++) printf("%s%ld", i ? "," : "", kind_count[i]);
  printf("],\"firstWrong\":\"");
  for (const char *p = first_wrong; *p; p++)
    if (*p != '"' && *p != '\\') putchar(*p);
  printf("\"}\n");
  fflush(stdout);
  _exit(wrong == 0 ? 0 : 1); /* the acceptor thread is still blocked in accept */
}
