/*
 * dest.h — the destination of a connect or send as the kernel will read it, taken from a private copy, and the
 * facts about the socket that reading needs. Contract: src/dest.c.
 */
#ifndef EG_DEST_H
#define EG_DEST_H

#include <sys/socket.h>
#include <sys/types.h>

#include "dnsq.h"
#include "guard.h"

/* What the guard asked the kernel about a socket, lazily: -1 = not asked yet. One per hook call. */
struct eg_sock {
  int fd;
  int type;     /* SO_TYPE (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW …; 0 when it cannot be read) */
  int protocol; /* SO_PROTOCOL (IPPROTO_UDP, IPPROTO_ICMP …) */
  int domain;   /* SO_DOMAIN (AF_INET, AF_INET6 …) */
};
#define EG_SOCK(fd)                                                                                                    \
  { (fd), -1, -1, -1 }
int eg_sock_type(struct eg_sock *s) EG_HIDDEN;
int eg_sock_domain(struct eg_sock *s) EG_HIDDEN;
/* The policy protocol: stream = TCP; datagram with IPPROTO_UDP/UDPLITE = UDP; anything else (ICMP "ping" sockets,
 * raw sockets) = unknown, and then the port is unknown too (EGP_PORT_UNKNOWN). */
int eg_sock_policy_proto(struct eg_sock *s) EG_HIDDEN;

/* How the kernel receives the address: connect(), sendto() (the caller's length; over 128 bytes fails with EINVAL),
 * or a msghdr's msg_name (a NULL name or a zero length means "no address"; over 128 bytes is cut to 128). */
enum eg_dest_op { EG_DEST_CONNECT, EG_DEST_SENDTO, EG_DEST_MSG };

enum eg_dest_kind {
  EG_DEST_NONE, /* no destination: the datagram goes to the connected peer (already decided by connect) */
  EG_DEST_INET, /* an IPv4/IPv6 destination the kernel will send to: `ip`/`port` are what must be decided */
  EG_DEST_PASS  /* nothing the kernel sends to (another family, a disconnect, a length the kernel refuses) */
};

struct eg_dest {
  int kind;                  /* enum eg_dest_kind */
  egp_ip ip;                 /* EG_DEST_INET: normalised (IPv4-mapped → IPv4) */
  int port;                  /* EG_DEST_INET */
  const struct sockaddr *sa; /* what to hand the kernel: &copy, or the caller's pointer when it is refused anyway */
  socklen_t len;             /* … and its length */
  struct sockaddr_storage copy;
};

/* Reads (sa, len) for `op` on socket s into d (contract at the top of dest.c). Never fails; never blocks. */
void eg_dest_read(struct eg_dest *d, const void *sa, socklen_t len, int op, struct eg_sock *s) EG_HIDDEN;

/* The destination for code that reads a plain sockaddr (budget.c): for EG_DEST_INET a canonical AF_INET/AF_INET6
 * address of the decided ip/port (so a 24-byte IPv6 or an AF_UNSPEC send reads as what the kernel uses); otherwise
 * d->sa/d->len as they are. */
const struct sockaddr *eg_dest_plain(const struct eg_dest *d, struct sockaddr_storage *buf, socklen_t *len) EG_HIDDEN;

/* --- decide.c --- */
/* Decide an EG_DEST_INET destination with its bound name (other kinds pass): 1 = proceed. `only_dgram`: the address
 * only matters on non-stream sockets (a send without MSG_FASTOPEN). Skips the socket queries when the destination is
 * allowed for every protocol and allowed traffic is not logged (decide.c). */
int eg_check_dest(struct eg_sock *s, const struct eg_dest *d, const char *event, const char *call,
                  int only_dgram) EG_HIDDEN;

/* --- dns.c: raw DNS datagrams (contract at the top of dns.c) --- */
struct eg_dnsbuf {
  int use; /* 1: b/len hold the whole datagram, and the caller sends them instead of its own buffer */
  size_t len;
  uint8_t b[EG_DNSQ_MAX]; /* the largest query datagram the grammar accepts (dnsq.h) */
};
struct iovec;
/* 1 when this datagram goes to UDP port 53: the explicit destination's port, or (EG_DEST_NONE) the connected peer's
 * of a descriptor marked EG_FD_DNS (asked with getpeername). */
int eg_dns_target(struct eg_sock *s, const struct eg_dest *d) EG_HIDDEN;
/* Copies the datagram (buf/n, or iov/iovcnt when iov != NULL) into priv and decides its question: 1 = proceed (with
 * priv's bytes when priv->use), 0 = refused (enforce). */
int eg_dns_decide(const void *buf, size_t n, const struct iovec *iov, size_t iovcnt, const char *call,
                  struct eg_dnsbuf *priv) EG_HIDDEN;
/* The write family (write, writev, pwritev2 at the current offset) on fd: when fd is a UDP socket connected to port
 * 53 (eg_dns_target), its datagram is copied into priv and decided as above; otherwise nothing happens. Returns 1 =
 * proceed (with priv's bytes when priv->use), 0 = refused (errno EACCES). Mode off and re-entry: 1. */
int eg_dns_write(int fd, const void *buf, size_t n, const struct iovec *iov, size_t iovcnt, const char *call,
                 struct eg_dnsbuf *priv) EG_HIDDEN;

#endif
