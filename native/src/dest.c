/*
 * dest.c — the destination of a connect or send, read exactly as Linux reads it (docs/INTERPOSER.md "Argument
 * shapes"), from a private copy that is then what the kernel gets: another thread cannot change the address between
 * the decision and the system call.
 *
 * eg_dest_read(d, sa, len, op, s) — contract:
 *  - copy: the first min(len, 128) bytes (128 = sizeof(struct sockaddr_storage), the most the kernel copies in) go to
 *    d->copy and d->sa points there, so the caller hands the kernel the bytes that were decided. Only a sendto/connect
 *    length over 128 keeps the caller's pointer: the kernel refuses that length (EINVAL) before reading a byte.
 *  - EG_DEST_MSG (msghdr): a NULL name or a zero length is no address (EG_DEST_NONE, d->sa NULL, d->len 0); over 128
 *    bytes is cut to 128 (copy_msghdr_from_user does the same). EG_DEST_SENDTO: sa == NULL or len 0 is no address.
 *  - AF_INET with len >= 16 → EG_DEST_INET. AF_INET6 with len >= 24 (SIN6_LEN_RFC2133: the kernel takes the 24-byte
 *    RFC 2133 layout, without sin6_scope_id) → EG_DEST_INET; IPv4-mapped addresses are decided as IPv4.
 *  - AF_UNSPEC: connect() = disconnect on every socket type → EG_DEST_PASS. On a send it depends on the socket:
 *    a stream ignores it or disconnects (MSG_FASTOPEN) → PASS; an AF_INET datagram or raw socket reads it as AF_INET
 *    (udp_sendmsg, raw_sendmsg) → EG_DEST_INET from the sin_addr/sin_port bytes; an AF_INET6 raw socket reads it as
 *    AF_INET6 (rawv6_sendmsg) → INET; an AF_INET6 datagram socket drops it and sends to the connected peer
 *    (udpv6_sendmsg) → EG_DEST_NONE. Only this case asks the kernel (SO_DOMAIN, SO_TYPE).
 *  - anything shorter than the kernel accepts, and every other family → EG_DEST_PASS (the kernel sends nothing to an
 *    INET address for it; the copy is still what it receives).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "dest.h"

#define SIN6_LEN_RFC2133 24

static int sockopt_int(int fd, int opt) {
  int v = 0, saved = errno;
  socklen_t l = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) != 0) v = 0;
  errno = saved;
  return v;
}

int eg_sock_type(struct eg_sock *s) {
  if (s->type < 0) s->type = sockopt_int(s->fd, SO_TYPE);
  return s->type;
}

int eg_sock_domain(struct eg_sock *s) {
  if (s->domain < 0) s->domain = sockopt_int(s->fd, SO_DOMAIN);
  return s->domain;
}

int eg_sock_policy_proto(struct eg_sock *s) {
  int type = eg_sock_type(s);
  if (type == SOCK_STREAM) return EGP_PROTO_TCP;
  if (type != SOCK_DGRAM) return EGP_PROTO_UNKNOWN;
  if (s->protocol < 0) s->protocol = sockopt_int(s->fd, SO_PROTOCOL);
  return s->protocol == IPPROTO_UDP || s->protocol == IPPROTO_UDPLITE ? EGP_PROTO_UDP : EGP_PROTO_UNKNOWN;
}

static void inet4(struct eg_dest *d) {
  struct sockaddr_in in;
  memcpy(&in, &d->copy, sizeof in);
  d->kind = EG_DEST_INET;
  d->ip.is_v6 = 0;
  d->ip.v4 = ntohl(in.sin_addr.s_addr);
  d->port = ntohs(in.sin_port);
}

static void inet6(struct eg_dest *d) {
  struct sockaddr_in6 in6; /* bytes 24..27 (scope id) are zero when the caller passed the 24-byte layout */
  memcpy(&in6, &d->copy, sizeof in6);
  d->kind = EG_DEST_INET;
  int port;
  eg_sockaddr_ip((const struct sockaddr *)&in6, sizeof in6, &d->ip, &port);
  d->port = port;
}

/* AF_UNSPEC on a send (see the top of this file). */
static void unspec_send(struct eg_dest *d, struct eg_sock *s) {
  int type = eg_sock_type(s), domain = eg_sock_domain(s);
  if (type == SOCK_STREAM) return;
  if (domain == AF_INET) {
    if (d->len >= (socklen_t)sizeof(struct sockaddr_in)) inet4(d);
  } else if (domain == AF_INET6) {
    if (type != SOCK_RAW) d->kind = EG_DEST_NONE;
    else if (d->len >= SIN6_LEN_RFC2133) inet6(d);
  }
}

void eg_dest_read(struct eg_dest *d, const void *sa, socklen_t len, int op, struct eg_sock *s) {
  d->kind = EG_DEST_PASS;
  d->port = EGP_PORT_UNKNOWN;
  memset(&d->ip, 0, sizeof d->ip);
  d->sa = sa;
  d->len = len;
  if (sa == NULL || (len == 0 && op != EG_DEST_CONNECT)) {
    d->kind = EG_DEST_NONE;
    if (op == EG_DEST_MSG) d->sa = NULL, d->len = 0;
    return;
  }
  if (len > sizeof d->copy) {
    if (op != EG_DEST_MSG) return; /* EINVAL from the kernel before it reads the address */
    d->len = len = sizeof d->copy;
  }
  memcpy(&d->copy, sa, len);
  if (len < sizeof(struct sockaddr_in6)) /* the most this file reads back: a 24-byte IPv6 address's scope id is 0 */
    memset((char *)&d->copy + len, 0, sizeof(struct sockaddr_in6) - len);
  d->sa = (const struct sockaddr *)&d->copy;
  if (len < sizeof(sa_family_t)) return;
  switch (d->copy.ss_family) {
  case AF_INET:
    if (len >= sizeof(struct sockaddr_in)) inet4(d);
    break;
  case AF_INET6:
    if (len >= SIN6_LEN_RFC2133) inet6(d);
    break;
  case AF_UNSPEC:
    if (op != EG_DEST_CONNECT) unspec_send(d, s);
    break;
  default: break;
  }
}

const struct sockaddr *eg_dest_plain(const struct eg_dest *d, struct sockaddr_storage *buf, socklen_t *len) {
  if (d->kind != EG_DEST_INET) {
    *len = d->len;
    return d->sa;
  }
  memset(buf, 0, sizeof(struct sockaddr_in6));
  if (!d->ip.is_v6) {
    struct sockaddr_in *in = (struct sockaddr_in *)buf;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)d->port);
    in->sin_addr.s_addr = htonl(d->ip.v4);
    *len = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)buf;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)d->port);
    memcpy(&in6->sin6_addr, d->ip.v6, 16);
    *len = sizeof *in6;
  }
  return (const struct sockaddr *)buf;
}
