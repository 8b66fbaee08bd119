/*
 * proxy.c — the Runtime API relay: a pool of worker threads, each serving one connection of the runtime (and of its
 * worker processes on Lambda Managed Instances) at a time, with keep-alive connections to the real Runtime API that
 * outlive the runtime's connections (a pool of idle ones).
 *
 * Contract
 * - Every request is relayed upstream unchanged (head bytes as sent; `Expect: 100-continue` is answered here and not
 *   forwarded) and every response back unchanged, bodies streamed piece by piece (no size limit of ours; Lambda's
 *   own limits apply: 6 MB sync payloads, streamed responses as Lambda allows them).
 * - GET /2018-06-01/runtime/invocation/next answered 200: the invoke begins (invoke.c) BEFORE the event is relayed,
 *   so the state file carries the request id before the handler runs.
 * - POST …/invocation/{id}/response or …/error: the invoke ends when the head arrives (invoke.c decides: relay it,
 *   replace it with EgressBudgetExceeded, or answer it here with 202 when the agent already failed the invoke — only
 *   once Lambda has the agent's own error, so the runtime's next /next finds the invoke closed). A second result for
 *   a request whose result the runtime already posted is answered here with the Runtime API's 403
 *   InvalidStateTransition: never forwarded, no lines.
 *   A streamed response (Lambda-Runtime-Function-Response-Mode: streaming) ends with its final chunk; a trip while
 *   it streams ends the upstream stream with the Lambda error trailers and drops the rest.
 * - Anything else (init/error, restore, extensions, unknown paths) is relayed as is.
 * - The upstream unreachable: 502 to the runtime, whose client then fails the way it fails without the agent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "http.h"

#define API "/2018-06-01/runtime/invocation/"

enum kind { K_OTHER, K_NEXT, K_RESPONSE, K_ERROR };

struct session {
  struct conn cli, up;
  int up_idle; /* up carries no request without its full response: it can serve another session */
  struct http_msg req, resp;
};

/* Idle keep-alive connections to the Runtime API, shared by every session: a runtime that opens a connection per
 * request (Python's http.client, urllib) then pays no upstream connect on the invoke's path. */
#define POOL_MAX 8
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static int pool[POOL_MAX];
static int pool_n;

static int pool_get(void) {
  pthread_mutex_lock(&pool_mu);
  int fd = pool_n > 0 ? pool[--pool_n] : -1;
  pthread_mutex_unlock(&pool_mu);
  return fd;
}

static void pool_put(int fd) {
  pthread_mutex_lock(&pool_mu);
  if (pool_n < POOL_MAX) pool[pool_n++] = fd, fd = -1;
  pthread_mutex_unlock(&pool_mu);
  if (fd >= 0) close(fd);
}

/* 1 when fd is an open connection with nothing to read (Lambda has not closed it). */
static int alive(int fd) {
  char b;
  ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static const char ACCEPTED[] =
    "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}";
static const char BAD_GATEWAY[] =
    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: 117\r\nConnection: close\r\n\r\n"
    "{\"errorType\":\"EgressGuard.AgentUpstreamError\",\"errorMessage\":\"egress-guard-agent cannot reach the Runtime API\"}";
/* The Runtime API's answer to a second result for one request (as the Runtime Interface Emulator gives it). */
#define SECOND_RESULT_BODY                                                                                             \
  "{\"errorType\":\"InvalidStateTransition\",\"errorMessage\":\"egress-guard-agent: the runtime already posted the "   \
  "result of this request\"}"
_Static_assert(sizeof SECOND_RESULT_BODY - 1 == 129, "Content-Length below");
static const char SECOND_RESULT[] =
    "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 129\r\n\r\n" SECOND_RESULT_BODY;
static const char BAD_REQUEST[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

static enum kind classify(const struct http_msg *m, const char **id, size_t *id_len) {
  size_t pl = strlen(m->path), al = sizeof API - 1;
  if (pl < al || memcmp(m->path, API, al) != 0) return K_OTHER;
  const char *rest = m->path + al;
  if (strcmp(rest, "next") == 0) return strcmp(m->method, "GET") == 0 ? K_NEXT : K_OTHER;
  const char *slash = strchr(rest, '/');
  if (slash == NULL || slash == rest || strcmp(m->method, "POST") != 0) return K_OTHER;
  *id = rest;
  *id_len = (size_t)(slash - rest);
  if (strcmp(slash, "/response") == 0) return K_RESPONSE;
  if (strcmp(slash, "/error") == 0) return K_ERROR;
  return K_OTHER;
}

/* An upstream connection that is open and idle (a closed keep-alive connection is replaced). */
static int upstream(struct session *s) {
  if (s->up.fd >= 0) {
    if (s->up_idle && s->up.len == 0 && alive(s->up.fd)) {
      s->up_idle = 0;
      return 0;
    }
    close(s->up.fd);
    s->up.fd = -1;
  }
  s->up.off = s->up.len = 0;
  int fd;
  while ((fd = pool_get()) >= 0 && !alive(fd)) close(fd);
  s->up.fd = fd >= 0 ? fd : up_connect();
  s->up_idle = 0;
  return s->up.fd >= 0 ? 0 : -1;
}

/* Waits for the upstream's answer; -1 when the runtime went away meanwhile (its long poll was abandoned). */
static int wait_upstream(struct session *s) {
  if (s->up.len > 0) return 0;
  struct pollfd p[2] = {{s->up.fd, POLLIN, 0}, {s->cli.fd, POLLIN | POLLRDHUP, 0}};
  for (;;) {
    int r = poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (p[0].revents) return 0;
    if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) return -1;
    p[1].events = 0; /* the runtime sent more (pipelining): it waits in the buffer */
  }
}

/* Reads the upstream response head (skipping 1xx interim answers) and relays it and its body to the runtime. */
static int relay_response(struct session *s, int (*on_head)(struct session *, void *), void *ctx) {
  for (;;) {
    if (wait_upstream(s) != 0) return -1;
    if (http_read_head(&s->up, &s->resp, 0) != 0) return -2;
    if (s->resp.status >= 100 && s->resp.status < 200 && s->resp.status != 101) continue;
    break;
  }
  if (on_head) on_head(s, ctx);
  int whole = http_write_head_body(s->cli.fd, &s->resp, 0, &s->up);
  if (whole < 0) return -1;
  int to_eof = !s->resp.chunked && s->resp.content_length < 0;
  if (!whole && http_relay_body(&s->up, s->cli.fd, &s->resp, to_eof, NULL) != 0) return -1;
  if (to_eof || s->resp.close) {
    close(s->up.fd);
    s->up.fd = -1;
  }
  s->up_idle = 1;
  return 0;
}

static int forward_request(struct session *s, struct http_watch *w) {
  if (upstream(s) != 0) return -2;
  int whole = w ? http_write_head(s->up.fd, &s->req, 1) : http_write_head_body(s->up.fd, &s->req, 1, &s->cli);
  if (whole < 0) return -2;
  if (whole == 1) return 0;
  return http_relay_body(&s->cli, s->up.fd, &s->req, 0, w) == 0 ? 0 : -1;
}

static int bad_gateway(struct session *s) {
  http_write_all(s->cli.fd, BAD_GATEWAY, sizeof BAD_GATEWAY - 1);
  return -1;
}

/* GET …/next: the invoke begins when the answer carries a request id. */
struct next_ctx {
  struct invoke *inv;
};
static int on_next(struct session *s, void *p) {
  struct next_ctx *c = p;
  size_t idl = 0, dl = 0;
  const char *id = http_header(&s->resp, "lambda-runtime-aws-request-id", &idl);
  const char *dv = http_header(&s->resp, "lambda-runtime-deadline-ms", &dl);
  if (s->resp.status != 200 || id == NULL || idl == 0 || idl > 64) return 0;
  uint64_t deadline = 0;
  for (size_t i = 0; dv && i < dl && dv[i] >= '0' && dv[i] <= '9' && i < 19; i++)
    deadline = deadline * 10 + (uint64_t)(dv[i] - '0');
  char idbuf[65];
  memcpy(idbuf, id, idl);
  idbuf[idl] = '\0';
  c->inv = inv_begin(idbuf, idl, deadline);
  return 0;
}

static int handle_next(struct session *s) {
  int rc = forward_request(s, NULL);
  if (rc == -2) return bad_gateway(s);
  if (rc != 0) return -1;
  struct next_ctx c = {NULL};
  rc = relay_response(s, on_next, &c);
  if (c.inv) inv_after_begin(c.inv);
  return rc == -2 ? bad_gateway(s) : rc;
}

static int drain_and_accept(struct session *s) {
  if (http_relay_body(&s->cli, -1, &s->req, 0, NULL) != 0) return -1;
  return http_write_all(s->cli.fd, ACCEPTED, sizeof ACCEPTED - 1);
}

static int drain_and_reject(struct session *s) {
  if (http_relay_body(&s->cli, -1, &s->req, 0, NULL) != 0) return -1;
  return http_write_all(s->cli.fd, SECOND_RESULT, sizeof SECOND_RESULT - 1);
}

/* Posts our EgressBudgetExceeded on the session's upstream connection and relays Lambda's answer. */
static int replace_with_error(struct session *s, struct invoke *inv, const char *id, size_t id_len) {
  if (http_relay_body(&s->cli, -1, &s->req, 0, NULL) != 0) return -1;
  char body[1024], head[512];
  size_t n = inv_error_body(inv, body, sizeof body);
  int hn = snprintf(head, sizeof head,
                    "POST " API "%.*s/error HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                    "Lambda-Runtime-Function-Error-Type: EgressBudgetExceeded\r\nContent-Length: %zu\r\n\r\n",
                    (int)id_len, id, cfg.upstream, n);
  if (upstream(s) != 0 || hn <= 0 || (size_t)hn >= sizeof head || http_write_all(s->up.fd, head, (size_t)hn) != 0 ||
      http_write_all(s->up.fd, body, n) != 0)
    return bad_gateway(s);
  int rc = relay_response(s, NULL, NULL);
  return rc == -2 ? bad_gateway(s) : rc;
}

static int is_streaming(const struct http_msg *m) {
  size_t l;
  const char *v = http_header(m, "lambda-runtime-function-response-mode", &l);
  return v != NULL && l == 9 && strncasecmp(v, "streaming", 9) == 0;
}

static int handle_stream(struct session *s, const char *id, size_t id_len) {
  struct invoke *inv;
  enum inv_action act = inv_stream_begin(id, id_len, &inv);
  if (act == INV_REJECT) return drain_and_reject(s);
  if (act == INV_SWALLOW) {
    int rc = drain_and_accept(s);
    if (inv) inv_report(inv);
    return rc;
  }
  struct http_watch w = {0};
  if (inv) {
    w.fd = inv_stream_wake_fd(inv);
    w.should_abort = inv_stream_should_abort;
    w.ctx = inv;
    w.trailers = inv_stream_trailers(inv);
  }
  int rc = forward_request(s, inv ? &w : NULL);
  if (inv) inv_stream_end(inv, OUT_OK);
  if (rc == 0) rc = relay_response(s, NULL, NULL);
  if (inv) inv_report(inv);
  return rc == -2 ? bad_gateway(s) : rc;
}

static int handle_result(struct session *s, enum kind k, const char *id, size_t id_len) {
  if (k == K_RESPONSE && is_streaming(&s->req)) return handle_stream(s, id, id_len);
  struct invoke *inv;
  enum inv_action act = inv_end(id, id_len, k == K_ERROR ? OUT_ERROR : OUT_OK, &inv);
  int rc;
  if (act == INV_REJECT) return drain_and_reject(s);
  if (act == INV_SWALLOW) rc = drain_and_accept(s);
  else if (act == INV_REPLACE) rc = replace_with_error(s, inv, id, id_len);
  else {
    rc = forward_request(s, NULL);
    if (rc == 0) rc = relay_response(s, NULL, NULL);
    if (rc == -2) rc = bad_gateway(s);
  }
  if (inv) inv_report(inv);
  return rc;
}

static int handle(struct session *s) {
  if (s->req.expect_continue && http_write_all(s->cli.fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0) return -1;
  const char *id = NULL;
  size_t id_len = 0;
  enum kind k = classify(&s->req, &id, &id_len);
  if (k == K_NEXT) return handle_next(s);
  if (k == K_RESPONSE || k == K_ERROR) return handle_result(s, k, id, id_len);
  int rc = forward_request(s, NULL);
  if (rc == 0) rc = relay_response(s, NULL, NULL);
  return rc == -2 ? bad_gateway(s) : rc;
}

/* Serves one runtime connection until it closes; the session's buffers are reused by the next connection. */
static void serve(struct session *s, int fd) {
  s->cli.fd = fd;
  s->cli.off = s->cli.len = 0;
  for (;;) {
    int r = http_read_head(&s->cli, &s->req, 1);
    if (r == -2) http_write_all(s->cli.fd, BAD_REQUEST, sizeof BAD_REQUEST - 1);
    if (r != 0) break;
    if (handle(s) != 0 || s->req.close || s->resp.close) break;
  }
  close(s->cli.fd);
  s->cli.fd = -1;
  if (s->up.fd >= 0) {
    if (s->up_idle && s->up.len == 0) pool_put(s->up.fd);
    else close(s->up.fd);
    s->up.fd = -1;
  }
}

static struct session *session_new(void) {
  struct session *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->req.head = malloc(HTTP_HEAD_MAX);
  s->resp.head = malloc(HTTP_HEAD_MAX);
  if (s->req.head == NULL || s->resp.head == NULL || conn_init(&s->cli, -1) != 0 || conn_init(&s->up, -1) != 0) {
    conn_free(&s->cli);
    conn_free(&s->up);
    free(s->req.head);
    free(s->resp.head);
    free(s);
    return NULL;
  }
  return s;
}

/* Workers: each blocks in accept(2) on the listening socket and serves the connection it gets, with buffers it
 * allocated once. WORKERS_START wait from the start (a runtime holds at most two connections at a time: its
 * long-polling GET …/next and its result; one more is spare); when the last idle one takes a connection it starts
 * another (up to WORKERS_MAX; beyond, connections wait in the backlog), so no thread is created on an invoke's path.
 * Each thread made at start-up costs about 0.1 ms of CPU on a 2-vCPU VM, taken from the runtime's own start. */
#define WORKERS_START 3
#define WORKERS_MAX 256
static int listen_fd = -1;
static pthread_mutex_t workers_mu = PTHREAD_MUTEX_INITIALIZER;
static int workers, idle_workers;

static int spawn_worker(void);

static void *worker(void *arg) {
  (void)arg;
  struct session *s = session_new();
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED) usleep(10000); /* EMFILE/ENOMEM: let connections finish */
      continue;
    }
    pthread_mutex_lock(&workers_mu);
    int grow = --idle_workers == 0 && workers < WORKERS_MAX;
    pthread_mutex_unlock(&workers_mu);
    if (grow) spawn_worker();
    if (s == NULL) s = session_new();
    if (s == NULL) {
      close(fd);
    } else {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      serve(s, fd);
    }
    pthread_mutex_lock(&workers_mu);
    idle_workers++;
    pthread_mutex_unlock(&workers_mu);
  }
  return NULL;
}

static int spawn_worker(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_mutex_lock(&workers_mu);
  workers++, idle_workers++;
  pthread_mutex_unlock(&workers_mu);
  pthread_t t;
  int rc = pthread_create(&t, &attr, worker, NULL);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_mutex_lock(&workers_mu);
    workers--, idle_workers--;
    pthread_mutex_unlock(&workers_mu);
    return -1;
  }
  return 0;
}

void proxy_serve(int lfd) {
  listen_fd = lfd;
  /* One upstream connection opened now, while the runtime starts: its first GET …/next (the end of its init) then
   * goes out at once instead of waiting for a connect and the Runtime API's accept. */
  int fd = up_connect();
  if (fd >= 0) pool_put(fd);
  for (int i = 1; i < WORKERS_START; i++) spawn_worker();
  pthread_mutex_lock(&workers_mu);
  workers++, idle_workers++;
  pthread_mutex_unlock(&workers_mu);
  worker(NULL); /* the main thread is a worker too */
}
