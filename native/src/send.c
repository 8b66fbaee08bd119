/*
 * send.c — the send family: send, sendto, sendmsg, sendmmsg and their syscall() forms (datagram destinations, TCP
 * Fast Open, raw DNS).
 *
 * Contract of the checks (each returns 1 = send, 0 = refused with errno EACCES; sendmmsg: how many messages may go):
 *  - only an explicit AF_INET/AF_INET6 destination is checked — sendto's `addr`, sendmsg's `msg_name`, each sendmmsg
 *    message's `msg_name` — and only where the kernel uses it: on non-stream sockets, or on a stream socket with
 *    MSG_FASTOPEN (the connect happens inside the send; torsocks handles the same bypass). A send without an address
 *    goes to the connected peer, which connect() already checked. Logged with `call` ("sendto", "syscall(sendto)" …).
 *  - raw DNS (dns.c): a datagram to port 53 — explicit address, or the connected peer of a descriptor marked
 *    EG_FD_DNS — also has its query name decided, logged with `dns_call` ("sendto(dns)", "syscall(sendto,dns)" …).
 *    send() is hooked for this alone (c-ares in Node 20 sends its queries with send() on a connected UDP socket); on
 *    an unmarked descriptor it costs one load.
 *  - sendmmsg: the messages before the first refused one may go, which is sendmmsg's own partial-success contract;
 *    when the first is refused the caller returns -1/EACCES.
 *  - mode off and re-entry pass; errno is preserved whenever the send proceeds.
 * The exported hooks: the check, then the real call. Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include "fdtab.h"
#include "hook.h"

int eg_sendto_check(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len,
                    const char *call, const char *dns_call) {
  if ((addr == NULL && !eg_fd_maybe_dns(fd)) || eg_passthrough()) return 1;
  int saved = errno, type = -1;
  eg_enter();
  int ok = addr == NULL || eg_check_sockaddr(fd, &type, addr, len, "sendto", call, !(flags & MSG_FASTOPEN));
  if (ok) ok = eg_dns_check(fd, &type, addr, len, buf, n, NULL, 0, dns_call);
  return eg_verdict(ok, saved);
}

int eg_sendmsg_check(int fd, const struct msghdr *msg, int flags, const char *call, const char *dns_call) {
  if (msg == NULL || (msg->msg_name == NULL && !eg_fd_maybe_dns(fd)) || eg_passthrough()) return 1;
  int saved = errno, type = -1;
  eg_enter();
  int ok = msg->msg_name == NULL ||
           eg_check_sockaddr(fd, &type, msg->msg_name, msg->msg_namelen, "sendto", call, !(flags & MSG_FASTOPEN));
  if (ok)
    ok = eg_dns_check(fd, &type, msg->msg_name, msg->msg_namelen, NULL, 0, msg->msg_iov, msg->msg_iovlen, dns_call);
  return eg_verdict(ok, saved);
}

unsigned int eg_sendmmsg_check(int fd, const struct mmsghdr *vec, unsigned int vlen, int flags, const char *call,
                               const char *dns_call) {
  if (vec == NULL || eg_passthrough()) return vlen;
  int saved = errno, type = -1;
  unsigned int allowed = vlen;
  eg_enter();
  for (unsigned int i = 0; i < vlen; i++) {
    const struct msghdr *m = &vec[i].msg_hdr;
    if ((m->msg_name != NULL &&
         !eg_check_sockaddr(fd, &type, m->msg_name, m->msg_namelen, "sendto", call, !(flags & MSG_FASTOPEN))) ||
        !eg_dns_check(fd, &type, m->msg_name, m->msg_namelen, NULL, 0, m->msg_iov, m->msg_iovlen, dns_call)) {
      allowed = i;
      break;
    }
  }
  eg_verdict(allowed > 0 || vlen == 0, saved);
  return allowed;
}

EG_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  eg_send_fn real = EG_REAL(send);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (!eg_sendto_check(fd, buf, n, flags, NULL, 0, "send", "send(dns)")) return -1;
  return real(fd, buf, n, flags);
}

EG_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len) {
  eg_sendto_fn real = EG_REAL(sendto);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (!eg_sendto_check(fd, buf, n, flags, addr, len, "sendto", "sendto(dns)")) return -1;
  return real(fd, buf, n, flags, addr, len);
}

EG_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  eg_sendmsg_fn real = EG_REAL(sendmsg);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (!eg_sendmsg_check(fd, msg, flags, "sendmsg", "sendmsg(dns)")) return -1;
  return real(fd, msg, flags);
}

EG_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  eg_sendmmsg_fn real = EG_REAL(sendmmsg);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  unsigned int allowed = eg_sendmmsg_check(fd, vec, vlen, flags, "sendmmsg", "sendmmsg(dns)");
  if (allowed == 0 && vlen > 0) return -1;
  return real(fd, vec, allowed, flags);
}
