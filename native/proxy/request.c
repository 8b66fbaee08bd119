/*
 * request.c — HTTP/1.x request and response heads for the proxy: parse what the client asks for, rewrite heads for
 * the origin server and back. Pure functions over caller buffers: no I/O, no allocation, every index bounds-checked.
 *
 * Contract (what the proxy accepts — docs/PROXY.md "Requests"):
 * - `CONNECT host:port HTTP/1.x` (port required) and absolute-form `METHOD http://host[:port]/path HTTP/1.x`
 *   (port 80 by default). Anything else is refused: origin-form requests to the proxy itself and other schemes get
 *   501, malformed heads 400.
 * - The host is decided exactly as it will be resolved, so only spellings with one meaning are accepted: an IPv6
 *   literal in brackets, an IPv4 address in any form glibc's inet_aton() accepts (decided as that address, never as
 *   a name), or a DNS name of letters, digits, '-', '_' and '.' (labels 1–63 bytes, at most 253 in all, one optional
 *   trailing dot), normalised to lower case without the trailing dot. Backslashes, '%', userinfo ('@'), empty labels
 *   and any other byte are refused with 400: the resolver could read them as a different name than the one decided.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy.h"

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int ieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen != blen) return 0;
  for (size_t i = 0; i < alen; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

size_t px_head_end(const char *buf, size_t len) {
  for (size_t i = 3; i < len; i++)
    if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') return i + 1;
  return 0;
}

/* One line of the head starting at `at`: returns its length without CRLF and sets *next past it; 0-length = blank. */
static size_t line_at(const char *buf, size_t len, size_t at, size_t *next) {
  size_t i = at;
  while (i + 1 < len && !(buf[i] == '\r' && buf[i + 1] == '\n')) i++;
  *next = i + 2 <= len ? i + 2 : len;
  return i - at;
}

int px_parse_ip(const char *s, size_t len, egp_ip *ip) {
  char tmp[64];
  if (len == 0 || len >= sizeof tmp) return 0;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  struct in_addr a4;
  unsigned char a6[16];
  if (inet_pton(AF_INET6, tmp, a6) == 1) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a6, mapped, 12) == 0) {
      ip->is_v6 = 0;
      ip->v4 = ((uint32_t)a6[12] << 24) | ((uint32_t)a6[13] << 16) | ((uint32_t)a6[14] << 8) | a6[15];
    } else {
      ip->is_v6 = 1;
      memcpy(ip->v6, a6, 16);
    }
    return 1;
  }
  /* inet_aton: every IPv4 spelling getaddrinfo() itself would take as a number ("127.1", "0x7f.1", "2130706433") */
  if (inet_aton(tmp, &a4) != 0) {
    ip->is_v6 = 0;
    ip->v4 = ntohl(a4.s_addr);
    return 1;
  }
  return 0;
}

/* A DNS name as described at the top; normalised into out. Returns its length or -1. */
static int parse_name(const char *s, size_t len, char out[256]) {
  if (len > 0 && s[len - 1] == '.') len--;
  if (len == 0 || len > 253) return -1;
  size_t label = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '.') {
      if (label == 0) return -1;
      label = 0;
      out[i] = '.';
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return -1;
    if (++label > 63) return -1;
    out[i] = (char)lower(c);
  }
  if (label == 0) return -1;
  out[len] = '\0';
  return (int)len;
}

static int parse_port(const char *s, size_t len) {
  if (len == 0 || len > 5) return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v >= 1 && v <= 65535 ? v : -1;
}

/* authority = host [":" port]; IPv6 in brackets. Fills r->host/ip/port. 0 or 400. */
static int parse_authority(const char *a, size_t len, int default_port, struct px_request *r) {
  const char *host = a;
  size_t hlen;
  const char *rest;
  if (len == 0) return 400;
  if (memchr(a, '@', len) != NULL) return 400;
  if (a[0] == '[') {
    const char *rb = memchr(a, ']', len);
    if (rb == NULL) return 400;
    host = a + 1;
    hlen = (size_t)(rb - host);
    rest = rb + 1;
    /* only an IPv6 literal belongs in brackets; zone ids ('%') are not egress destinations */
    if (memchr(host, ':', hlen) == NULL || memchr(host, '%', hlen) != NULL || !px_parse_ip(host, hlen, &r->ip))
      return 400;
    r->host_is_ip = 1;
  } else {
    const char *colon = memchr(a, ':', len);
    hlen = colon ? (size_t)(colon - a) : len;
    rest = a + hlen;
    if (hlen == 0) return 400;
    r->host_is_ip = px_parse_ip(host, hlen, &r->ip);
  }
  size_t rlen = (size_t)(a + len - rest);
  if (rlen == 0) {
    if (default_port < 0) return 400;
    r->port = default_port;
  } else {
    if (rest[0] != ':') return 400;
    r->port = parse_port(rest + 1, rlen - 1);
    if (r->port < 0) return 400;
  }
  if (r->host_is_ip) {
    if (hlen >= sizeof r->host) return 400;
    memcpy(r->host, host, hlen);
    r->host[hlen] = '\0';
    r->host_len = hlen;
    return 0;
  }
  int n = parse_name(host, hlen, r->host);
  if (n < 0) return 400;
  r->host_len = (size_t)n;
  return 0;
}

int px_parse_request(const char *buf, size_t len, struct px_request *r) {
  memset(r, 0, sizeof *r);
  size_t end = px_head_end(buf, len);
  if (end == 0) return 400;
  r->head_len = end;
  size_t next;
  size_t ll = line_at(buf, end, 0, &next);
  const char *line = buf;
  const char *sp1 = memchr(line, ' ', ll);
  if (sp1 == NULL || sp1 == line) return 400;
  size_t mlen = (size_t)(sp1 - line);
  const char *target = sp1 + 1;
  const char *sp2 = memchr(target, ' ', ll - mlen - 1);
  if (sp2 == NULL || sp2 == target) return 400;
  size_t tlen = (size_t)(sp2 - target);
  const char *ver = sp2 + 1;
  size_t vlen = (size_t)(line + ll - ver);
  if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1')) return 400;
  for (size_t i = 0; i < mlen; i++)
    if (line[i] < 'A' || line[i] > 'Z') return 400;
  if (mlen == 7 && memcmp(line, "CONNECT", 7) == 0) {
    r->kind = PX_KIND_CONNECT;
    return parse_authority(target, tlen, -1, r);
  }
  if (tlen < 7 || !ieq(target, 7, "http://")) return 501;
  r->kind = PX_KIND_FORWARD;
  const char *auth = target + 7;
  size_t alen = 0;
  while (alen < tlen - 7 && auth[alen] != '/' && auth[alen] != '?' && auth[alen] != '#') alen++;
  return parse_authority(auth, alen, 80, r);
}

static int is_hop_by_hop(const char *line, size_t len, int request) {
  const char *colon = memchr(line, ':', len);
  if (colon == NULL) return 0;
  size_t n = (size_t)(colon - line);
  return ieq(line, n, "connection") || ieq(line, n, "keep-alive") || ieq(line, n, "proxy-connection") ||
         (request && (ieq(line, n, "proxy-authorization") || ieq(line, n, "te") || ieq(line, n, "upgrade")));
}

struct out {
  char *b;
  size_t cap, n;
  int full;
};
static void put(struct out *o, const char *p, size_t n) {
  if (o->full || n > o->cap - o->n) {
    o->full = 1;
    return;
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

/* Copy header lines after the first line, dropping hop-by-hop ones, then `Connection: close` and the blank line. */
static size_t copy_headers(const char *head, size_t len, size_t at, struct out *o, int request) {
  while (at < len) {
    size_t next;
    size_t ll = line_at(head, len, at, &next);
    if (ll == 0) break;
    if (!is_hop_by_hop(head + at, ll, request)) {
      put(o, head + at, ll);
      put(o, "\r\n", 2);
    }
    at = next;
  }
  put(o, "Connection: close\r\n\r\n", 21);
  return o->full ? 0 : o->n;
}

size_t px_rewrite_request(const char *head, size_t len, char *out, size_t cap) {
  struct out o = {out, cap, 0, 0};
  size_t next;
  size_t ll = line_at(head, len, 0, &next);
  const char *sp1 = memchr(head, ' ', ll);
  if (sp1 == NULL) return 0;
  const char *target = sp1 + 1;
  const char *sp2 = memchr(target, ' ', (size_t)(head + ll - target));
  if (sp2 == NULL || (size_t)(sp2 - target) < 7) return 0;
  const char *path = target + 7;
  while (path < sp2 && *path != '/' && *path != '?' && *path != '#') path++;
  put(&o, head, (size_t)(target - head));
  if (path == sp2 || *path != '/') put(&o, "/", 1);
  /* a fragment is never sent to a server */
  const char *frag = memchr(path, '#', (size_t)(sp2 - path));
  put(&o, path, (size_t)((frag ? frag : sp2) - path));
  put(&o, sp2, (size_t)(head + ll - sp2));
  put(&o, "\r\n", 2);
  return copy_headers(head, len, next, &o, 1);
}

size_t px_rewrite_response(const char *head, size_t len, char *out, size_t cap, int *status) {
  struct out o = {out, cap, 0, 0};
  size_t next;
  size_t ll = line_at(head, len, 0, &next);
  *status = 0;
  if (ll >= 12 && memcmp(head, "HTTP/1.", 7) == 0 && head[8] == ' ' && head[9] >= '1' && head[9] <= '5' &&
      head[10] >= '0' && head[10] <= '9' && head[11] >= '0' && head[11] <= '9')
    *status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
  if (*status == 0 || *status < 200) { /* malformed or interim (1xx): passed through unchanged */
    if (len > cap) return 0;
    memcpy(out, head, len);
    return len;
  }
  put(&o, head, ll);
  put(&o, "\r\n", 2);
  return copy_headers(head, len, next, &o, 0);
}
