/*
 * send.c — hooks for sendto, sendmsg, sendmmsg: datagram destinations and TCP Fast Open.
 *
 * Contract: only an explicit AF_INET/AF_INET6 destination is checked — sendto's `addr`, sendmsg's `msg_name`, each
 * sendmmsg message's `msg_name` — and only where the kernel uses it: on non-stream sockets, or on a stream socket
 * with MSG_FASTOPEN (the connect happens inside the send; torsocks handles the same bypass). A send without an
 * address goes to the connected peer, which connect() already checked. Enforce + deny: -1/EACCES without calling
 * libc; sendmmsg sends the messages before the first denied one and returns their count (-1/EACCES if it is the
 * first), which is sendmmsg's own partial-success contract. errno is preserved otherwise. Missing real: -1/ENOSYS.
 * Raw DNS (dns.c): a datagram to port 53 — explicit address, or the connected peer of a descriptor connect() marked —
 * also has its query name decided (event `dns`, call "send(dns)", "sendto(dns)", "sendmsg(dns)", "sendmmsg(dns)");
 * a denied name fails the same way, before the packet leaves. send() is hooked for this alone (c-ares in Node 20
 * sends its queries with send() on a connected UDP socket); on an unmarked descriptor it costs one bit test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>

#include "guard.h"

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef int (*sendmmsg_fn)(int, struct mmsghdr *, unsigned int, int);

static int passthrough(void) {
  if (eg_inside()) return 1;
  eg_init();
  return eg.mode == EG_MODE_OFF;
}

EG_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  send_fn real = (send_fn)eg_real(EG_REAL_SEND);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  if (!eg_dns_marked(fd) || passthrough()) return real(fd, buf, n, flags);
  int saved = errno, type = -1;
  eg_enter();
  int ok = eg_dns_check(fd, &type, NULL, 0, buf, n, NULL, 0, "send(dns)");
  eg_leave();
  if (!ok) {
    errno = EACCES;
    return -1;
  }
  errno = saved;
  return real(fd, buf, n, flags);
}

EG_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len) {
  sendto_fn real = (sendto_fn)eg_real(EG_REAL_SENDTO);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  if ((addr == NULL && !eg_dns_marked(fd)) || passthrough()) return real(fd, buf, n, flags, addr, len);
  int saved = errno, type = -1;
  eg_enter();
  int ok = addr == NULL || eg_check_sockaddr(fd, &type, addr, len, "sendto", "sendto", !(flags & MSG_FASTOPEN));
  if (ok) ok = eg_dns_check(fd, &type, addr, len, buf, n, NULL, 0, "sendto(dns)");
  eg_leave();
  if (!ok) {
    errno = EACCES;
    return -1;
  }
  errno = saved;
  return real(fd, buf, n, flags, addr, len);
}

EG_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  sendmsg_fn real = (sendmsg_fn)eg_real(EG_REAL_SENDMSG);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  if (msg == NULL || (msg->msg_name == NULL && !eg_dns_marked(fd)) || passthrough()) return real(fd, msg, flags);
  int saved = errno, type = -1;
  eg_enter();
  int ok = msg->msg_name == NULL ||
           eg_check_sockaddr(fd, &type, msg->msg_name, msg->msg_namelen, "sendto", "sendmsg", !(flags & MSG_FASTOPEN));
  if (ok)
    ok = eg_dns_check(fd, &type, msg->msg_name, msg->msg_namelen, NULL, 0, msg->msg_iov, msg->msg_iovlen,
                      "sendmsg(dns)");
  eg_leave();
  if (!ok) {
    errno = EACCES;
    return -1;
  }
  errno = saved;
  return real(fd, msg, flags);
}

EG_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  sendmmsg_fn real = (sendmmsg_fn)eg_real(EG_REAL_SENDMMSG);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  if (vec == NULL || passthrough()) return real(fd, vec, vlen, flags);
  int saved = errno, type = -1;
  unsigned int allowed = vlen;
  eg_enter();
  for (unsigned int i = 0; i < vlen; i++) {
    const struct msghdr *m = &vec[i].msg_hdr;
    if ((m->msg_name != NULL &&
         !eg_check_sockaddr(fd, &type, m->msg_name, m->msg_namelen, "sendto", "sendmmsg", !(flags & MSG_FASTOPEN))) ||
        !eg_dns_check(fd, &type, m->msg_name, m->msg_namelen, NULL, 0, m->msg_iov, m->msg_iovlen, "sendmmsg(dns)")) {
      allowed = i;
      break;
    }
  }
  eg_leave();
  if (allowed == 0 && vlen > 0) {
    errno = EACCES;
    return -1;
  }
  errno = saved;
  return real(fd, vec, allowed, flags);
}
