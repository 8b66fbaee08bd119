/*
 * dns.c — raw DNS queries sent straight to a nameserver (c-ares in Node's dns.resolve*, dnspython …): the query name
 * inside the packet is decided like a getaddrinfo name (docs/INTERPOSER.md "Raw DNS").
 *
 * Contract:
 *  - eg_dns_target: which sends pay anything — a UDP datagram whose destination is port 53: the explicit destination
 *    (dest.c), or, without one, the connected peer. connect() sets EG_FD_DNS on a descriptor BEFORE it connects it to
 *    port 53; close/close_range clear it and dup/dup2/dup3/F_DUPFD copy it (fdtab.c; also through syscall()). A send
 *    without an address on an unmarked descriptor costs one load. A mark is only a hint: the peer is confirmed with
 *    getpeername() (one system call, on marked descriptors only), so a descriptor that reconnected elsewhere is never
 *    parsed (its mark is dropped then); descriptors beyond the table are always asked. Only UDP sockets are parsed
 *    (SO_TYPE/SO_PROTOCOL): TCP to port 53 (a 2-byte length prefix, possibly split sends) is decided on its
 *    destination only.
 *  - eg_dns_decide: the whole datagram (at most EG_DNSQ_MAX bytes) is copied from the buffer or the iovecs into the
 *    caller's private buffer, read there with the one query grammar of src/dnsq.h and decided; the caller then sends
 *    that copy, so another thread cannot change the question between the decision and the send (priv->use; a datagram too large to copy
 *    is denied, and in audit mode sent as it was). A name is decided with decide_name, port
 *    and protocol unknown (FORMAT.md), logged as event `dns` with the given call ("sendto(dns)" …) and `host`; a
 *    datagram outside the grammar (no question or several, trailing bytes, other records, larger than EG_DNSQ_MAX …)
 *    is denied with rule `dns-malformed`. Returns 1 when the send may proceed, 0 when enforce mode blocks it.
 *  - eg_dns_adopt: descriptors the process did not connect itself — inherited across exec (read from /proc/self/fd at
 *    init) or received as SCM_RIGHTS — are marked by their peer, so a DNS socket handed to a child is still decided.
 *  - eg_dns_write: the same for the write family (write, writev, pwritev2), which always sends to the connected peer.
 *  - No allocation, no stdio, no lock (atomic operations): safe in signal handlers and after fork.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dest.h"
#include "dnsq.h"
#include "fdtab.h"

int eg_dns_target(struct eg_sock *s, const struct eg_dest *d) {
  if (d->kind == EG_DEST_INET) {
    if (d->port != 53) return 0;
  } else if (d->kind == EG_DEST_NONE) {
    if (!eg_fd_maybe_dns(s->fd)) return 0;
    uint64_t epoch = eg_fd_epoch();
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    egp_ip ip;
    int port;
    if (getpeername(s->fd, (struct sockaddr *)&peer, &plen) != 0) return 0; /* not connected: the send fails */
    if (!eg_sockaddr_ip((struct sockaddr *)&peer, plen, &ip, &port) || port != 53) {
      eg_fd_clear(s->fd, EG_FD_DNS, epoch); /* a stale mark: the descriptor reconnected elsewhere */
      return 0;
    }
  } else {
    return 0;
  }
  return eg_sock_policy_proto(s) == EGP_PROTO_UDP;
}

/* Gathers the datagram into priv; 0 when it is larger than priv can hold. */
static int gather(const void *buf, size_t n, const struct iovec *iov, size_t iovcnt, struct eg_dnsbuf *priv) {
  priv->len = 0;
  priv->use = 0;
  if (iov == NULL) {
    if (n > sizeof priv->b) return 0;
    if (n) memcpy(priv->b, buf, n);
    priv->len = n;
    priv->use = 1;
    return 1;
  }
  for (size_t i = 0; i < iovcnt; i++) {
    size_t l = iov[i].iov_len;
    if (l > sizeof priv->b - priv->len) return 0;
    if (l) memcpy(priv->b + priv->len, iov[i].iov_base, l);
    priv->len += l;
  }
  priv->use = 1;
  return 1;
}

int eg_dns_decide(const void *buf, size_t n, const struct iovec *iov, size_t iovcnt, const char *call,
                  struct eg_dnsbuf *priv) {
  char name[256];
  size_t len = 0;
  int r = gather(buf, n, iov, iovcnt, priv) ? eg_dnsq_name(priv->b, priv->len, name, &len) : EG_DNSQ_BAD;
  struct eg_query q = {"dns", call, r == EG_DNSQ_NAME ? name : NULL, len, NULL, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN};
  return eg_check(&q, "EACCES");
}

int eg_dns_write(int fd, const void *buf, size_t n, const struct iovec *iov, size_t iovcnt, const char *call,
                 struct eg_dnsbuf *priv) {
  priv->use = 0;
  if (!eg_fd_maybe_dns(fd) || eg_inside()) return 1;
  eg_init();
  if (eg.mode == EG_MODE_OFF) return 1;
  int saved = errno;
  eg_enter();
  struct eg_sock s = EG_SOCK(fd);
  struct eg_dest none = {.kind = EG_DEST_NONE, .port = EGP_PORT_UNKNOWN};
  int ok = !eg_dns_target(&s, &none) || eg_dns_decide(buf, n, iov, iovcnt, call, priv);
  eg_leave();
  errno = ok ? saved : EACCES;
  return ok;
}

void eg_dns_adopt(int fd, const struct sockaddr *peer, socklen_t len) {
  egp_ip ip;
  int port;
  if (eg_sockaddr_ip(peer, len, &ip, &port) && port == 53) eg_fd_set(fd, EG_FD_DNS);
}
