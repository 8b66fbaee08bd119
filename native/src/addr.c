/*
 * addr.c — socket address helpers: sockaddr → normalised egp_ip (IPv4-mapped IPv6 becomes IPv4, FORMAT.md
 * "Conventions"), text formatting without stdio, "host:port" endpoint parsing, and the socket's protocol.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "guard.h"

int eg_sockaddr_ip(const struct sockaddr *sa, socklen_t len, egp_ip *ip, int *port) {
  if (sa == NULL || len < (socklen_t)sizeof(sa_family_t)) return 0;
  sa_family_t fam;
  memcpy(&fam, sa, sizeof fam);
  if (fam == AF_INET) {
    struct sockaddr_in in;
    if (len < (socklen_t)sizeof in) return 0;
    memcpy(&in, sa, sizeof in);
    ip->is_v6 = 0;
    ip->v4 = ntohl(in.sin_addr.s_addr);
    *port = ntohs(in.sin_port);
    return 1;
  }
  if (fam == AF_INET6) {
    struct sockaddr_in6 in6;
    if (len < (socklen_t)sizeof in6) return 0;
    memcpy(&in6, sa, sizeof in6);
    const uint8_t *b = in6.sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    *port = ntohs(in6.sin6_port);
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

size_t eg_ip_format(const egp_ip *ip, char *out) {
  if (!ip->is_v6) {
    size_t n = 0;
    for (int k = 3; k >= 0; k--) {
      unsigned o = (ip->v4 >> (8 * k)) & 0xff;
      if (o >= 100) out[n++] = (char)('0' + o / 100);
      if (o >= 10) out[n++] = (char)('0' + (o / 10) % 10);
      out[n++] = (char)('0' + o % 10);
      if (k) out[n++] = '.';
    }
    out[n] = '\0';
    return n;
  }
  /* RFC 5952: lower-case hex, longest run (>= 2) of zero groups as "::" (first one on ties) */
  uint16_t g[8];
  for (int i = 0; i < 8; i++) g[i] = (uint16_t)((ip->v6[2 * i] << 8) | ip->v6[2 * i + 1]);
  int best = -1, bestlen = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) j++;
    if (j - i > bestlen && j - i >= 2) best = i, bestlen = j - i;
    i = j;
  }
  static const char hx[] = "0123456789abcdef";
  size_t n = 0;
  for (int i = 0; i < 8; i++) {
    if (i == best) {
      out[n++] = ':';
      if (i == 0) out[n++] = ':';
      i += bestlen - 1;
      continue;
    }
    int started = 0;
    for (int s = 12; s >= 0; s -= 4) {
      unsigned d = (g[i] >> s) & 15;
      if (d || started || s == 0) out[n++] = hx[d], started = 1;
    }
    if (i < 7) out[n++] = ':';
  }
  out[n] = '\0';
  return n;
}

int eg_parse_endpoint(const char *s, struct eg_endpoint *ep) {
  memset(ep, 0, sizeof *ep);
  if (s == NULL) return -1;
  size_t len = strlen(s);
  const char *host = s, *colon;
  size_t hlen;
  if (len == 0 || len > 300) return -1;
  if (s[0] == '[') {
    const char *rb = memchr(s, ']', len);
    if (rb == NULL || rb[1] != ':') return -1;
    host = s + 1;
    hlen = (size_t)(rb - host);
    colon = rb + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL) return -1;
    hlen = (size_t)(colon - s);
  }
  long port = 0;
  const char *p = colon + 1;
  if (*p == '\0') return -1;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    port = port * 10 + (*p - '0');
    if (port > 65535) return -1;
  }
  char h[256];
  if (hlen == 0 || hlen >= sizeof h) return -1;
  memcpy(h, host, hlen);
  h[hlen] = '\0';
  ep->port = (int)port;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, h, &a4) == 1) {
    ep->has_ip = 1;
    ep->ip.v4 = ntohl(a4.s_addr);
  } else if (inet_pton(AF_INET6, h, &a6) == 1) {
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = a6;
    int dummy;
    eg_sockaddr_ip((const struct sockaddr *)&sa, sizeof sa, &ep->ip, &dummy);
    ep->has_ip = 1;
  } else {
    int n = egp_normalize_name(h, hlen, ep->host);
    if (n < 0) return -1;
    ep->host_len = (size_t)n;
  }
  ep->set = 1;
  return 0;
}

int eg_is_ip_literal(const char *node) {
  /* fast path: host names almost always hold a letter outside hex digits and 'x' before any '%' */
  for (const char *c = node; *c && *c != '%'; c++) {
    char ch = *c;
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || ch == '.' || ch == ':' ||
          ch == 'x' || ch == 'X'))
      return 0;
  }
  struct in_addr a4;
  unsigned char a6[16];
  if (inet_aton(node, &a4) != 0) return 1;
  char tmp[64];
  size_t n = strcspn(node, "%"); /* fe80::1%eth0 */
  if (n >= sizeof tmp) return 0;
  memcpy(tmp, node, n);
  tmp[n] = '\0';
  return inet_pton(AF_INET6, tmp, a6) == 1;
}

int eg_socket_proto(int fd, int *sock_type) {
  int type = 0;
  socklen_t l = sizeof type;
  int saved = errno;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) != 0) type = 0;
  errno = saved;
  *sock_type = type;
  if (type == SOCK_STREAM) return EGP_PROTO_TCP;
  if (type == SOCK_DGRAM) return EGP_PROTO_UDP;
  return EGP_PROTO_UNKNOWN;
}

int eg_endpoint_is_local(const struct eg_endpoint *ep) {
  if (!ep->has_ip) return ep->host_len == 9 && memcmp(ep->host, "localhost", 9) == 0;
  if (!ep->ip.is_v6) return (ep->ip.v4 >> 24) == 127 || (ep->ip.v4 >> 16) == 0xa9fe; /* 127/8, 169.254/16 */
  static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return memcmp(ep->ip.v6, one, 16) == 0 ||
         (ep->ip.v6[0] == 0xfe && (ep->ip.v6[1] & 0xc0) == 0x80); /* ::1, fe80::/10 */
}
