/*
 * extension.c — the proxy as a Lambda external extension (the Extensions API: docs/LAMBDA.md "Extensions API and
 * OS-only bootstraps").
 *
 * Contract:
 * - px_extension_start(name): POST /2020-01-01/extension/register at AWS_LAMBDA_RUNTIME_API with the header
 *   `Lambda-Extension-Name: name` (it must equal the file name under /opt/extensions) for INVOKE and SHUTDOWN, then a
 *   thread loops on GET /2020-01-01/extension/event/next. main() calls it only after the listener is bound: Lambda
 *   starts the runtime once every extension has registered, so the proxy is always ready before the function's
 *   first request.
 * - INVOKE: the event's requestId becomes the proxy's current request id (log lines carry it when the agent's state
 *   file has none); the proxy does no per-invoke work, so it asks for the next event at once and never delays an
 *   invoke's completion. SHUTDOWN: exit 0.
 * - Failure to register, or an Extensions API that stops answering (3 consecutive failures), exits the process with
 *   status 1: Lambda then reports the extension's failure instead of running the function with its proxy gone.
 * - Each call is one short HTTP/1.1 exchange on a new loopback connection (`Connection: close`), read to EOF; at most
 *   64 KiB of a response is kept (the fields we read come first; the rest is read and dropped).
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"

#define RESP_MAX 65536

static char api_host[128], api_port[8];
static char ext_id[128];
static char current_rid[65];
static size_t current_rid_len;
static pthread_mutex_t rid_lock = PTHREAD_MUTEX_INITIALIZER;

size_t px_extension_request_id(char out[65]) {
  pthread_mutex_lock(&rid_lock);
  size_t n = current_rid_len;
  memcpy(out, current_rid, n);
  out[n] = '\0';
  pthread_mutex_unlock(&rid_lock);
  return n;
}

/* One exchange; returns the response length in resp (NUL-terminated) or -1. */
static long exchange(const char *req, size_t req_len, char *resp, size_t cap) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  if (getaddrinfo(api_host, api_port, &hints, &res) != 0 || res == NULL) return -1;
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return -1;
  }
  freeaddrinfo(res);
  size_t off = 0;
  while (off < req_len) {
    ssize_t n = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)n;
  }
  size_t len = 0;
  char sink[4096];
  for (;;) {
    ssize_t n = len < cap - 1 ? recv(fd, resp + len, cap - 1 - len, 0) : recv(fd, sink, sizeof sink, 0);
    if (n < 0) {
      close(fd);
      return -1;
    }
    if (n == 0) break;
    if (len < cap - 1) len += (size_t)n;
  }
  close(fd);
  resp[len] = '\0';
  return (long)len;
}

static int status_of(const char *resp, long len) {
  if (len < 12 || memcmp(resp, "HTTP/1.", 7) != 0) return 0;
  return (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
}

/* Value of header `name` (case-insensitive) in the head; copies it into out. */
static int header(const char *resp, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  const char *end = strstr(resp, "\r\n\r\n");
  for (const char *p = strstr(resp, "\r\n"); p && (!end || p < end); p = strstr(p + 2, "\r\n")) {
    const char *h = p + 2;
    if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
      h += nl + 1;
      while (*h == ' ') h++;
      size_t n = strcspn(h, "\r\n");
      if (n == 0 || n >= cap) return 0;
      memcpy(out, h, n);
      out[n] = '\0';
      return 1;
    }
  }
  return 0;
}

/* A string field of the JSON body ("key": "value" with no escapes in value); 1 when found. */
static int json_field(const char *body, const char *key, char *out, size_t cap) {
  char pat[64];
  size_t kl = strlen(key);
  if (kl + 3 > sizeof pat) return 0;
  pat[0] = '"';
  memcpy(pat + 1, key, kl);
  pat[kl + 1] = '"';
  pat[kl + 2] = '\0';
  const char *p = strstr(body, pat);
  if (p == NULL) return 0;
  p += kl + 2;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p++ != ':') return 0;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p++ != '"') return 0;
  size_t n = 0;
  while (p[n] != '"' && p[n] != '\0' && p[n] != '\\') n++;
  if (p[n] != '"' || n >= cap) return 0;
  memcpy(out, p, n);
  out[n] = '\0';
  return 1;
}

static void *event_loop(void *arg) {
  (void)arg;
  static char resp[RESP_MAX];
  char req[512];
  int failures = 0;
  for (;;) {
    size_t rl = 0;
    const char *parts[] = {"GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: ", api_host,
                           "\r\nLambda-Extension-Identifier: ", ext_id, "\r\nConnection: close\r\n\r\n"};
    for (size_t i = 0; i < 5; i++) {
      size_t l = strlen(parts[i]);
      memcpy(req + rl, parts[i], l);
      rl += l;
    }
    long n = exchange(req, rl, resp, sizeof resp);
    if (n < 0 || status_of(resp, n) != 200) {
      if (++failures >= 3) {
        px_log_event(50, "proxy", "egress proxy: the Extensions API stopped answering; exiting", NULL);
        exit(1);
      }
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
      continue;
    }
    failures = 0;
    const char *body = strstr(resp, "\r\n\r\n");
    body = body ? body + 4 : resp;
    char type[32], rid[65];
    if (!json_field(body, "eventType", type, sizeof type)) continue;
    if (strcmp(type, "SHUTDOWN") == 0) exit(0);
    if (strcmp(type, "INVOKE") == 0 && json_field(body, "requestId", rid, sizeof rid)) {
      pthread_mutex_lock(&rid_lock);
      current_rid_len = strlen(rid);
      memcpy(current_rid, rid, current_rid_len + 1);
      pthread_mutex_unlock(&rid_lock);
      px_log_tick(); /* the previous invoke's rate-limit summaries, with its request id */
    }
  }
  return NULL;
}

int px_extension_start(const char *name) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  struct px_endpoint ep;
  if (api == NULL || px_parse_builtin(api, &ep) != 0) return -1;
  const char *colon = strrchr(api, ':');
  size_t hl = (size_t)(colon - api);
  if (api[0] == '[') api++, hl -= 2; /* "[::1]:9001" */
  if (hl >= sizeof api_host || strlen(colon + 1) >= sizeof api_port) return -1;
  memcpy(api_host, api, hl);
  api_host[hl] = '\0';
  strcpy(api_port, colon + 1);
  if (strlen(name) > 100 || strpbrk(name, "\r\n") != NULL) return -1;

  static const char body[] = "{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}";
  _Static_assert(sizeof body - 1 == 32, "Content-Length below");
  char req[1024], resp[8192];
  size_t rl = 0;
  const char *parts[] = {"POST /2020-01-01/extension/register HTTP/1.1\r\nHost: ",
                         api_host,
                         "\r\nLambda-Extension-Name: ",
                         name,
                         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 32\r\n\r\n",
                         body};
  for (size_t i = 0; i < 6; i++) {
    size_t l = strlen(parts[i]);
    memcpy(req + rl, parts[i], l);
    rl += l;
  }
  long n = exchange(req, rl, resp, sizeof resp);
  if (n < 0 || status_of(resp, n) != 200 || !header(resp, "Lambda-Extension-Identifier", ext_id, sizeof ext_id))
    return -1;
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, event_loop, NULL);
  pthread_attr_destroy(&attr);
  return rc == 0 ? 0 : -1;
}
