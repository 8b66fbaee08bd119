/*
 * conn.c — one client connection: read the request head, decide, resolve, connect upstream, hand over to the relay.
 *
 * Contract (docs/PROXY.md "What the proxy decides"):
 * - The destination is decided BEFORE anything leaves the machine: a denied name is never even resolved (a lookup is
 *   egress too: DNS can carry data out). Enforce mode answers a denied request with `403 Forbidden` and logs it
 *   blocked; audit mode logs it as would-block and serves it.
 * - A name is resolved exactly as decided: main() empties the resolver's search list (LOCALDOMAIN="" overrides
 *   resolv.conf's `search`/`domain`) and clears HOSTALIASES and RES_OPTIONS, so glibc never queries the decided name
 *   with a domain appended, nor an alias of it. (A trailing dot would do the same for DNS, but glibc's hosts-file
 *   lookup does not match names written with one.)
 * - Every address the name resolved to is decided again with the name bound (decide_addr): a deny rule on an address
 *   (say, a metadata or private range) wins over the allowed name; denied addresses are skipped in enforce mode.
 * - One request per proxy connection for plain HTTP (the upstream and the client both get `Connection: close`);
 *   CONNECT tunnels carry whatever the client sends (typically TLS) to the one destination decided.
 * - Bounded: the head must arrive within 30 s and fit in 16 KiB (else 408 / 431); an upstream connect waits 10 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "proxy.h"

static void respond(int fd, int status, const char *reason, const char *body) {
  char buf[1024];
  size_t blen = strlen(body), n = 0;
  const char *parts[] = {
      "HTTP/1.1 ",        NULL, " ",        reason, "\r\nContent-Type: text/plain\r\nConnection: close\r\n",
      "Content-Length: ", NULL, "\r\n\r\n", body};
  char st[4] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10), (char)('0' + status % 10), 0};
  char cl[24];
  size_t k = sizeof cl - 1;
  cl[k] = '\0';
  size_t v = blen;
  do cl[--k] = (char)('0' + v % 10), v /= 10;
  while (v && k > 0);
  parts[1] = st;
  parts[6] = cl + k;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    size_t l = strlen(parts[i]);
    if (n + l > sizeof buf) l = sizeof buf - n;
    memcpy(buf + n, parts[i], l);
    n += l;
  }
  (void)!send(fd, buf, n, MSG_NOSIGNAL);
}

/* Decide, count and log one destination. Returns 1 when the connection may proceed. */
static int check(const char *call, const struct px_request *r, const egp_ip *ip, int32_t *rule) {
  *rule = EGP_RULE_DEFAULT;
  if (px.mode == PX_MODE_OFF) return 1; /* off: a plain relay */
  egp_decision d;
  const char *host = r->host_is_ip ? NULL : r->host;
  px_decide(host, r->host_len, ip, r->port, &d);
  int blocked = !d.allow && px.mode == PX_MODE_ENFORCE;
  px_meter_count(d.allow ? PX_COUNT_ALLOWED : PX_COUNT_DENIED);
  if (blocked) px_meter_count(PX_COUNT_BLOCKED);
  px_log_decision(call, host, r->host_len, ip, r->port, d.allow, blocked, d.rule);
  *rule = d.rule;
  return !blocked;
}

static int sockaddr_ip(const struct sockaddr *sa, egp_ip *ip) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    ip->is_v6 = 0;
    ip->v4 = ntohl(in->sin_addr.s_addr);
    return 1;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *b = in6->sin6_addr.s6_addr;
    if (memcmp(b, mapped, 12) == 0) {
      ip->is_v6 = 0;
      ip->v4 = ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15];
    } else {
      ip->is_v6 = 1;
      memcpy(ip->v6, b, 16);
    }
    return 1;
  }
  return 0;
}

/* Non-blocking connect with a 10 s limit; returns the connected socket or -1. */
static int dial(const struct sockaddr *sa, socklen_t len) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
  if (fd < 0) return -1;
  if (connect(fd, sa, len) != 0) {
    if (errno != EINPROGRESS) {
      close(fd);
      return -1;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    if (poll(&p, 1, 10000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
      close(fd);
      return -1;
    }
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static struct sockaddr_storage literal_addr(const egp_ip *ip, int port, socklen_t *len) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (!ip->is_v6) {
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    in->sin_addr.s_addr = htonl(ip->v4);
    *len = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    memcpy(in6->sin6_addr.s6_addr, ip->v6, 16);
    *len = sizeof *in6;
  }
  return ss;
}

/* Resolve and connect to the first address that is allowed and answers. -1 with *status set (403 / 502). */
static int connect_upstream(const char *call, const struct px_request *r, int *status) {
  int32_t rule;
  if (r->host_is_ip) {
    /* the literal was already decided as an address (decide_addr without a bound name) */
    socklen_t len;
    struct sockaddr_storage ss = literal_addr(&r->ip, r->port, &len);
    int fd = dial((struct sockaddr *)&ss, len);
    *status = 502;
    return fd;
  }
  char port[8];
  size_t pl = 0;
  char t[8];
  int v = r->port;
  do t[pl++] = (char)('0' + v % 10), v /= 10;
  while (v);
  for (size_t i = 0; i < pl; i++) port[i] = t[pl - 1 - i];
  port[pl] = '\0';
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  if (getaddrinfo(r->host, port, &hints, &res) != 0 || res == NULL) {
    *status = 502;
    return -1;
  }
  int fd = -1, any_allowed = 0;
  for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
    egp_ip ip;
    if (!sockaddr_ip(ai->ai_addr, &ip) || !check(call, r, &ip, &rule)) continue;
    any_allowed = 1;
    fd = dial(ai->ai_addr, ai->ai_addrlen);
  }
  freeaddrinfo(res);
  *status = any_allowed ? 502 : 403;
  return fd;
}

/* Serves one client; returns 1 when the relay took (and closed) the client socket. */
static int serve(int client) {
  struct timeval tv = {30, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[PX_HEAD_MAX];
  size_t len = 0, end = 0;
  while (end == 0) {
    if (len == sizeof buf) {
      respond(client, 431, "Request Header Fields Too Large", "egress-guard proxy: request head over 16 KiB\n");
      return 0;
    }
    ssize_t n = recv(client, buf + len, sizeof buf - len, 0);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        respond(client, 408, "Request Timeout", "egress-guard proxy: no complete request head within 30 s\n");
      return 0;
    }
    len += (size_t)n;
    end = px_head_end(buf, len);
  }
  struct timeval none = {0, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);

  struct px_request r;
  int st = px_parse_request(buf, len, &r);
  if (st == 501) {
    respond(client, 501, "Not Implemented",
            "egress-guard proxy: only CONNECT host:port and absolute http:// requests are proxied\n");
    return 0;
  }
  if (st != 0) {
    respond(client, 400, "Bad Request", "egress-guard proxy: malformed request or a host name it will not resolve\n");
    return 0;
  }
  const char *call = r.kind == PX_KIND_CONNECT ? "proxy-connect" : "proxy-http";
  int32_t rule;
  if (!check(call, &r, r.host_is_ip ? &r.ip : NULL, &rule)) {
    uint32_t rl;
    const char *rn = px_rule_display(rule, &rl);
    char body[512];
    size_t bn = 0;
    const char *pre = "egress-guard: destination denied by the egress policy (rule ";
    memcpy(body, pre, strlen(pre)), bn = strlen(pre);
    if (rl > 300) rl = 300;
    memcpy(body + bn, rn, rl), bn += rl;
    memcpy(body + bn, ")\n", 3);
    respond(client, 403, "Forbidden", body);
    return 0;
  }
  int status = 502;
  int up = connect_upstream(call, &r, &status);
  if (up < 0) {
    if (status == 403) respond(client, 403, "Forbidden", "egress-guard: every address of this name is denied\n");
    else respond(client, 502, "Bad Gateway", "egress-guard proxy: cannot reach the destination\n");
    return 0;
  }
  if (r.kind == PX_KIND_CONNECT) {
    static const char ok[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
    if (send(client, ok, sizeof ok - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof ok - 1)) {
      close(up);
      return 0;
    }
    px_relay(client, up, buf + r.head_len, len - r.head_len, 0);
    return 1;
  }
  {
    char head[PX_HEAD_MAX + 64];
    size_t hn = px_rewrite_request(buf, r.head_len, head, sizeof head - (len - r.head_len));
    if (hn == 0) {
      close(up);
      respond(client, 400, "Bad Request", "egress-guard proxy: request head cannot be rewritten\n");
      return 0;
    }
    memcpy(head + hn, buf + r.head_len, len - r.head_len);
    px_relay(client, up, head, hn + (len - r.head_len), 1);
    return 1;
  }
}

static int active;

void *px_conn_main(void *arg) {
  int client = (int)(intptr_t)arg;
  if (__atomic_add_fetch(&active, 1, __ATOMIC_RELAXED) > 512) {
    respond(client, 503, "Service Unavailable", "egress-guard proxy: too many connections\n");
    close(client);
  } else if (!serve(client)) {
    close(client);
  }
  __atomic_sub_fetch(&active, 1, __ATOMIC_RELAXED);
  return NULL;
}
