/*
 * dns.c — raw DNS queries sent straight to a nameserver (c-ares in Node's dns.resolve*, dnspython …): the query name
 * inside the packet is decided like a getaddrinfo name (docs/INTERPOSER.md "Raw DNS").
 *
 * Contract:
 *  - Which sends pay anything: a datagram whose destination is port 53 — the explicit address of sendto/sendmsg/
 *    sendmmsg, or, for a send without an address, the connected peer. For the latter connect() sets EG_FD_DNS on the
 *    descriptor (fdtab.c) BEFORE it connects an AF_INET/AF_INET6 socket to port 53; close/close_range clear it and
 *    dup/dup2/dup3/F_DUPFD copy it (also through syscall()). A send without an address on an unmarked descriptor
 *    costs one load. A mark is only a hint: the peer is confirmed with getpeername() (one system call, on marked
 *    descriptors only), so a stale mark (the descriptor reconnected elsewhere) never makes another socket's data be
 *    parsed — it is dropped then; descriptors beyond the table are always asked with getpeername().
 *  - Only datagram sockets are parsed (SO_TYPE, already known to the caller when it checked the destination). TCP to
 *    port 53 (2-byte length prefix, possibly split sends) is decided on its destination only.
 *  - The first EG_DNSQ_PREFIX bytes are gathered from the buffer/iovec into a stack buffer and parsed (src/dnsq.h):
 *    a name is decided with decide_name, port and protocol unknown (FORMAT.md), logged as event `dns` with the
 *    given call ("sendto(dns)" …) and `host`; a malformed question (EG_DNSQ_BAD) is denied with rule `dns-malformed`;
 *    a message with no question passes. Returns 1 when the send may proceed, 0 when enforce mode blocks it.
 *  - No allocation, no stdio, no lock (atomic operations): safe in signal handlers and after fork.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dnsq.h"
#include "fdtab.h"
#include "guard.h"

void eg_dns_note_connect(int fd, const struct sockaddr *sa, socklen_t len) {
  egp_ip ip;
  int port;
  if (eg_sockaddr_ip(sa, len, &ip, &port) && port == 53) eg_fd_set(fd, EG_FD_DNS);
}

int eg_dns_check(int fd, int *sock_type, const struct sockaddr *addr, socklen_t alen, const void *buf, size_t n,
                 const struct iovec *iov, size_t iovcnt, const char *call) {
  egp_ip ip;
  int port;
  if (addr != NULL) {
    if (!eg_sockaddr_ip(addr, alen, &ip, &port) || port != 53) return 1;
  } else {
    if (!eg_fd_maybe_dns(fd)) return 1;
    uint64_t epoch = eg_fd_epoch();
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) return 1; /* not connected: the send itself fails */
    if (!eg_sockaddr_ip((struct sockaddr *)&peer, plen, &ip, &port) || port != 53) {
      eg_fd_clear(fd, EG_FD_DNS, epoch); /* a stale mark: the descriptor reconnected elsewhere */
      return 1;
    }
  }
  int type = *sock_type;
  if (type < 0) {
    eg_socket_proto(fd, &type);
    *sock_type = type;
  }
  if (type != SOCK_DGRAM) return 1;
  uint8_t pkt[EG_DNSQ_PREFIX];
  size_t got = 0;
  if (iov == NULL) {
    got = n < sizeof pkt ? n : sizeof pkt;
    if (got) memcpy(pkt, buf, got);
  } else {
    for (size_t i = 0; i < iovcnt && got < sizeof pkt; i++) {
      size_t take = iov[i].iov_len < sizeof pkt - got ? iov[i].iov_len : sizeof pkt - got;
      if (take && iov[i].iov_base) memcpy(pkt + got, iov[i].iov_base, take);
      got += take;
    }
  }
  char name[256];
  size_t len;
  int r = eg_dnsq_name(pkt, got, name, &len);
  if (r == EG_DNSQ_NONE) return 1;
  struct eg_query q = {"dns", call, r == EG_DNSQ_NAME ? name : NULL, len, NULL, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN};
  return eg_check(&q, "EACCES");
}
