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
 *  - byte budgets (budget.c): an allowed datagram to an egress address flags its socket EG_FD_EGRESS (never unflags).
 * The exported hooks: the check, then the real call — on an EG_FD_EGRESS socket under the budgets: counted into
 * io_tx, clamped while an invoke is armed (send/sendto/sendmsg on stream sockets; never sendmmsg: datagrams), refused
 * while its budget is tripped (ECONNRESET on a stream, EACCES for a datagram). syscall() forms: sysio.c.
 * Real function missing: -1/ENOSYS.
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
  if (ok && addr != NULL) eg_budget_note_dest(fd, addr, len);
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
  if (ok && msg->msg_name != NULL) eg_budget_note_dest(fd, msg->msg_name, msg->msg_namelen);
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
    if (m->msg_name != NULL) eg_budget_note_dest(fd, m->msg_name, m->msg_namelen);
  }
  eg_verdict(allowed > 0 || vlen == 0, saved);
  return allowed;
}

/* Byte budgets (budget.c): the transfer itself, counted into io_tx and clamped when fd is an egress socket. */
struct sd {
  eg_send_fn real;
  int fd;
  const void *buf;
  int flags;
};
static ssize_t do_send(void *c, size_t n) {
  struct sd *a = c;
  return a->real(a->fd, a->buf, n, a->flags);
}

struct st {
  eg_sendto_fn real;
  int fd;
  const void *buf;
  int flags;
  const struct sockaddr *addr;
  socklen_t len;
};
static ssize_t do_sendto(void *c, size_t n) {
  struct st *a = c;
  return a->real(a->fd, a->buf, n, a->flags, a->addr, a->len);
}

struct sm {
  eg_sendmsg_fn real;
  int fd;
  const struct msghdr *msg;
  int flags;
  size_t total;
};
static ssize_t do_sendmsg(void *c, size_t n) {
  struct sm *a = c;
  if (n >= a->total) return a->real(a->fd, a->msg, a->flags);
  struct iovec cut[EG_IOV_CLAMP];
  struct msghdr m = *a->msg;
  m.msg_iov = cut;
  m.msg_iovlen = (size_t)eg_iov_clamp(a->msg->msg_iov, (int)a->msg->msg_iovlen, n, cut);
  return a->real(a->fd, &m, a->flags);
}

static int sendmmsg_counted(eg_sendmmsg_fn real, int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  struct eg_grant g;
  /* length 0: counted and refused while tripped, never clamped (a datagram is not cut in two) */
  if (eg_budget_begin(fd, EG_IO_TX, 0, &g, "sendmmsg") == EG_BUDGET_FAIL) {
    errno = g.fail_errno;
    return -1;
  }
  int sent = real(fd, vec, vlen, flags);
  ssize_t bytes = sent > 0 ? 0 : sent;
  for (int i = 0; i < sent; i++) bytes += (ssize_t)vec[i].msg_len;
  eg_budget_end(EG_IO_TX, bytes, &g, "sendmmsg");
  return sent;
}

EG_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  eg_send_fn real = EG_REAL(send);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (!eg_sendto_check(fd, buf, n, flags, NULL, 0, "send", "send(dns)")) return -1;
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside()) return real(fd, buf, n, flags);
  struct sd a = {real, fd, buf, flags};
  return eg_budget_io(fd, EG_IO_TX, n, do_send, &a, "send");
}

EG_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len) {
  eg_sendto_fn real = EG_REAL(sendto);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (!eg_sendto_check(fd, buf, n, flags, addr, len, "sendto", "sendto(dns)")) return -1;
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside()) return real(fd, buf, n, flags, addr, len);
  struct st a = {real, fd, buf, flags, addr, len};
  return eg_budget_io(fd, EG_IO_TX, n, do_sendto, &a, "sendto");
}

EG_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  eg_sendmsg_fn real = EG_REAL(sendmsg);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (!eg_sendmsg_check(fd, msg, flags, "sendmsg", "sendmsg(dns)")) return -1;
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside() || msg == NULL || msg->msg_iovlen > (size_t)1024)
    return real(fd, msg, flags);
  struct sm a = {real, fd, msg, flags, eg_iov_total(msg->msg_iov, msg->msg_iovlen)};
  return eg_budget_io(fd, EG_IO_TX, a.total, do_sendmsg, &a, "sendmsg");
}

EG_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  eg_sendmmsg_fn real = EG_REAL(sendmmsg);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  unsigned int allowed = eg_sendmmsg_check(fd, vec, vlen, flags, "sendmmsg", "sendmmsg(dns)");
  if (allowed == 0 && vlen > 0) return -1;
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside() || vec == NULL) return real(fd, vec, allowed, flags);
  return sendmmsg_counted(real, fd, vec, allowed, flags);
}
