/*
 * bootstrap.c — the runtime matrix's plain-sockets function (test/runtimes/arm64.test.ts): a `provided.al2023` custom
 * runtime that speaks HTTP/1.1 over BSD sockets itself, as minimal C runtimes do, with no library beyond libc, so it
 * can be cross-built for aarch64 and run under qemu-aarch64 with the aarch64 layer. The handler follows
 * test/runtimes/support/matrix.ts: event {"urls": [...], "probe": [...]} → GET every url (an error fails the invoke),
 * GET every probe ignoring errors → {"bytes": N}. The event's arrays are read with a minimal scanner (quoted strings
 * without escapes: the test's own). Every request is one connection (`Connection: close`), read to its
 * Content-Length, or to the end when there is none.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Connects to "host:port". Returns the socket, or -1. */
static int dial(const char *hostport) {
  char host[256];
  const char *colon = strrchr(hostport, ':');
  if (colon == NULL || (size_t)(colon - hostport) >= sizeof host) return -1;
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = '\0';
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return -1;
  int fd = socket(res->ai_family, res->ai_socktype, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

struct reply {
  int status;
  char id[128]; /* Lambda-Runtime-Aws-Request-Id, when present */
  char *body;   /* NUL-terminated; NULL when the reply was not read */
  size_t len;
};

/* One request on a new connection; fills r. Returns 0 when a whole reply was read. */
static int request(const char *hostport, const char *method, const char *path, const char *body, struct reply *r) {
  memset(r, 0, sizeof *r);
  int fd = dial(hostport);
  if (fd < 0) return -1;
  char head[1024];
  size_t blen = body ? strlen(body) : 0;
  int hl = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
                    method, path, hostport, blen);
  if (hl <= 0 || (size_t)hl >= sizeof head || send_all(fd, head, (size_t)hl) != 0 ||
      (blen > 0 && send_all(fd, body, blen) != 0)) {
    close(fd);
    return -1;
  }
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap + 1);
  size_t body_at = 0; /* offset of the body once the head is in, else 0 */
  long want = -1;     /* bytes of body expected, -1: to the end */
  while (buf != NULL) {
    if (n == cap) {
      char *p = realloc(buf, 2 * cap + 1);
      if (p == NULL) break;
      buf = p, cap *= 2;
    }
    ssize_t got = recv(fd, buf + n, cap - n, 0);
    if (got <= 0) break;
    n += (size_t)got;
    buf[n] = '\0';
    char *end = body_at == 0 ? strstr(buf, "\r\n\r\n") : NULL;
    if (end != NULL) {
      body_at = (size_t)(end + 4 - buf);
      for (char *line = strstr(buf, "\r\n"); line != NULL && line < end; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, "Content-Length:", 15) == 0) want = strtol(h + 15, NULL, 10);
        if (strncasecmp(h, "Lambda-Runtime-Aws-Request-Id:", 30) == 0) {
          const char *v = h + 30 + strspn(h + 30, " ");
          snprintf(r->id, sizeof r->id, "%.*s", (int)strcspn(v, "\r\n"), v);
        }
      }
    }
    if (body_at != 0 && want >= 0 && n - body_at >= (size_t)want) break;
  }
  close(fd);
  if (buf == NULL) return -1;
  buf[n] = '\0';
  if (body_at == 0 || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
    free(buf);
    return -1;
  }
  size_t off = body_at;
  r->len = n - off;
  if (want >= 0 && r->len != (size_t)want) {
    free(buf);
    return -1;
  }
  memmove(buf, buf + off, r->len + 1);
  r->body = buf;
  return 0;
}

/* GET an http:// url; returns the body length, or -1 when the transfer failed or the status is not 200. */
static long get(const char *url) {
  if (strncmp(url, "http://", 7) != 0) return -1;
  char hostport[256];
  const char *slash = strchr(url + 7, '/');
  const char *path = slash ? slash : "/";
  size_t hl = slash ? (size_t)(slash - url - 7) : strlen(url + 7);
  if (hl >= sizeof hostport) return -1;
  memcpy(hostport, url + 7, hl);
  hostport[hl] = '\0';
  struct reply r;
  if (request(hostport, "GET", path, NULL, &r) != 0) return -1;
  long n = r.status == 200 ? (long)r.len : -1;
  free(r.body);
  return n;
}

/* Calls get for each string of the array `key` in the JSON text: the sum of the lengths, or -1 when `must` and one
 * failed. */
static long each(const char *json, const char *key, int must) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":[", key);
  const char *p = strstr(json, pat);
  long total = 0;
  if (p == NULL) return 0;
  for (p += strlen(pat); *p && *p != ']';) {
    const char *q = strchr(p, '"');
    const char *e = q ? strchr(q + 1, '"') : NULL;
    if (q == NULL || e == NULL) break;
    char url[512];
    snprintf(url, sizeof url, "%.*s", (int)(e - q - 1), q + 1);
    long n = get(url);
    if (n < 0 && must) return -1;
    if (n > 0) total += n;
    p = e + 1;
  }
  return total;
}

int main(void) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == NULL) return 1;
  for (;;) {
    struct reply ev;
    if (request(api, "GET", "/2018-06-01/runtime/invocation/next", NULL, &ev) != 0 || ev.status != 200 ||
        ev.id[0] == '\0')
      return 1;
    long bytes = each(ev.body, "urls", 1);
    if (bytes >= 0) each(ev.body, "probe", 0);
    char path[256], body[128];
    if (bytes >= 0) {
      snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", ev.id);
      snprintf(body, sizeof body, "{\"bytes\":%ld}", bytes);
    } else {
      snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", ev.id);
      snprintf(body, sizeof body, "{\"errorMessage\":\"a request failed\",\"errorType\":\"FetchError\"}");
    }
    struct reply done;
    if (request(api, "POST", path, body, &done) == 0) free(done.body);
    free(ev.body);
  }
}
