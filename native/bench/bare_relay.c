/*
 * bare_relay — the floor of any Runtime API proxy in the agent's place: a byte relay that does nothing else (no HTTP
 * parsing, no invoke boundaries, no /proc/net/dev, no state file, no lines). Started exactly like egress-guard-agent
 * (EGRESS_GUARD_AGENT=<this>), so the agent benchmark can put it where the agent runs:
 *
 *   node dist/bench/agent.js --compare native/build/bare_relay [--invokes N]
 *
 * then "old" is this relay and "new" the agent: oldAddedUs is what the hop alone adds to an invoke (two more
 * processes woken, two more loopback TCP transits on the measured path), newMinusOldUs what the agent's own work adds
 * on top (docs/METERING.md "Latency per invoke").
 *
 * Contract: `bare_relay --listen-fd N [--parent PID]` (the spawner's arguments); relays every connection accepted on
 * fd N to EGRESS_GUARD_UPSTREAM_API, which must be a 127.0.0.1 address (it refuses anything else: a benchmark tool
 * sends to loopback only), on a connection of its own, both ways, until either side closes. WORKERS threads wait in
 * accept(2) from the start (as the agent's workers do: no thread is created on an invoke's path); each serves one
 * connection at a time with poll(2) on both sockets and one read and one write per piece. Exits with its parent
 * (PR_SET_PDEATHSIG). Exit status 2 on bad arguments or upstream.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define WORKERS 4

static struct sockaddr_in up;
static int listen_fd = -1;

static int connect_up(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr *)&up, sizeof up) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Writes all of buf; -1 on error. */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void relay(int cli, int upfd, char *buf, size_t cap) {
  struct pollfd p[2] = {{cli, POLLIN, 0}, {upfd, POLLIN, 0}};
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i].revents == 0) continue;
      ssize_t n = read(p[i].fd, buf, cap);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || write_all(p[1 - i].fd, buf, (size_t)n) != 0) return;
    }
  }
}

static void *worker(void *arg) {
  (void)arg;
  static _Thread_local char buf[65536];
  for (;;) {
    int cli = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (cli < 0) {
      if (errno != EINTR && errno != ECONNABORTED) usleep(10000);
      continue;
    }
    int one = 1;
    setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int upfd = connect_up();
    if (upfd >= 0) {
      relay(cli, upfd, buf, sizeof buf);
      close(upfd);
    }
    close(cli);
  }
  return NULL;
}

/* EGRESS_GUARD_UPSTREAM_API "127.0.0.1:PORT" into `up`; -1 when absent, malformed or not loopback. */
static int parse_upstream(void) {
  const char *v = getenv("EGRESS_GUARD_UPSTREAM_API");
  static const char host[] = "127.0.0.1:";
  if (v == NULL || strncmp(v, host, sizeof host - 1) != 0) return -1;
  char *end = NULL;
  long port = strtol(v + sizeof host - 1, &end, 10);
  if (end == v + sizeof host - 1 || *end != '\0' || port <= 0 || port > 65535) return -1;
  memset(&up, 0, sizeof up);
  up.sin_family = AF_INET;
  up.sin_port = htons((uint16_t)port);
  up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--listen-fd") == 0 && i + 1 < argc) listen_fd = atoi(argv[++i]);
    else if (strcmp(argv[i], "--parent") == 0 && i + 1 < argc) i++;
    else return 2;
  }
  if (listen_fd < 3 || parse_upstream() != 0) return 2;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i < WORKERS; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) == 0) pthread_detach(t);
  }
  worker(NULL);
  return 0;
}
