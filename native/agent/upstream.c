/*
 * upstream.c — connections to the real Runtime API (cfg.up_addr), and the error the agent posts for an invoke that
 * exceeded an enforced budget: POST /2018-06-01/runtime/invocation/{id}/error with errorType EgressBudgetExceeded
 * (the header Lambda-Runtime-Function-Error-Type says the same), on a connection of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "http.h"

int up_connect(void) {
  int fd = socket(cfg.up_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  while (connect(fd, (const struct sockaddr *)&cfg.up_addr, cfg.up_len) != 0) {
    if (errno == EINTR) continue;
    close(fd);
    return -1;
  }
  return fd;
}

int up_post_error(const char *id, size_t id_len, const char *body, size_t len) {
  int fd = up_connect();
  if (fd < 0) return -1;
  char head[512];
  int n = snprintf(head, sizeof head,
                   "POST /2018-06-01/runtime/invocation/%.*s/error HTTP/1.1\r\nHost: %s\r\n"
                   "Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: EgressBudgetExceeded\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   (int)id_len, id, cfg.upstream, len);
  int status = -1;
  struct conn c;
  struct http_msg m;
  m.head = malloc(HTTP_HEAD_MAX);
  if (m.head != NULL && n > 0 && (size_t)n < sizeof head && http_write_all(fd, head, (size_t)n) == 0 &&
      http_write_all(fd, body, len) == 0 && conn_init(&c, fd) == 0) {
    if (http_read_head(&c, &m, 0) == 0) status = m.status;
    conn_free(&c);
  }
  free(m.head);
  close(fd);
  return status;
}
