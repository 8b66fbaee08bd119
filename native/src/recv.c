/*
 * recv.c — hooks for recv, recvfrom, recvmsg, recvmmsg and the fortified __recv_chk/__recvfrom_chk: byte budgets on
 * egress sockets (budget.c).
 *
 * Contract: a descriptor without EG_FD_EGRESS costs one byte load and goes straight to libc. On an egress socket the
 * bytes received are counted into io_rx; while an invoke is armed in enforce mode a stream receive is clamped (the
 * buffer length, or a shortened copy of the iovec — at most EG_IOV_CLAMP entries); while its budget is tripped a
 * receive on a stream socket fails with ECONNRESET. MSG_PEEK consumes nothing and is neither counted nor clamped.
 * recvmmsg (datagrams) is counted, never clamped: a datagram is not cut in two. After any recvmsg that returned
 * ancillary data, SCM_RIGHTS descriptors are adopted (budget.c): a socket handed over by another process is counted. Results and errno are libc's.
 * Missing real function: -1/ENOSYS. syscall(SYS_recvfrom/SYS_recvmsg/SYS_recvmmsg) takes the same path (syscall.c).
 */
#define _GNU_SOURCE
#include "fdtab.h"
#include "hook.h"

static int counted(int fd, int flags) { return eg_fd_egress(fd) && !eg_inside() && !(flags & MSG_PEEK); }

struct rf {
  eg_recvfrom_fn real;
  int fd;
  void *buf;
  int flags;
  struct sockaddr *addr;
  socklen_t *alen;
};
static ssize_t do_recvfrom(void *c, size_t n) {
  struct rf *r = c;
  return r->real(r->fd, r->buf, n, r->flags, r->addr, r->alen);
}

EG_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *alen) {
  eg_recvfrom_fn real = EG_REAL(recvfrom);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!counted(fd, flags))) return real(fd, buf, n, flags, addr, alen);
  struct rf r = {real, fd, buf, flags, addr, alen};
  return eg_budget_io(fd, EG_IO_RX, n, do_recvfrom, &r, "recvfrom");
}

struct rv {
  eg_recv_fn real;
  int fd;
  void *buf;
  int flags;
};
static ssize_t do_recv(void *c, size_t n) {
  struct rv *r = c;
  return r->real(r->fd, r->buf, n, r->flags);
}

EG_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  eg_recv_fn real = EG_REAL(recv);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!counted(fd, flags))) return real(fd, buf, n, flags);
  struct rv r = {real, fd, buf, flags};
  return eg_budget_io(fd, EG_IO_RX, n, do_recv, &r, "recv");
}

struct rm {
  eg_recvmsg_fn real;
  int fd;
  struct msghdr *msg;
  int flags;
  size_t total;
};
static ssize_t do_recvmsg(void *c, size_t n) {
  struct rm *r = c;
  if (n >= r->total) return r->real(r->fd, r->msg, r->flags);
  struct iovec cut[EG_IOV_CLAMP];
  struct msghdr m = *r->msg;
  m.msg_iov = cut;
  m.msg_iovlen = (size_t)eg_iov_clamp(r->msg->msg_iov, (int)r->msg->msg_iovlen, n, cut);
  ssize_t got = r->real(r->fd, &m, r->flags);
  /* what the kernel wrote back into our copy belongs to the caller's header */
  r->msg->msg_namelen = m.msg_namelen;
  r->msg->msg_controllen = m.msg_controllen;
  r->msg->msg_flags = m.msg_flags;
  return got;
}

EG_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  eg_recvmsg_fn real = EG_REAL(recvmsg);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  ssize_t got;
  if (EG_LIKELY(!counted(fd, flags)) || msg == NULL || msg->msg_iovlen > (size_t)1024) {
    got = real(fd, msg, flags);
  } else {
    struct rm r = {real, fd, msg, flags, eg_iov_total(msg->msg_iov, msg->msg_iovlen)};
    got = eg_budget_io(fd, EG_IO_RX, r.total, do_recvmsg, &r, "recvmsg");
  }
  /* descriptors passed by another process: an egress socket among them is counted and cut like our own */
  if (got >= 0 && msg != NULL && msg->msg_controllen > 0 && !eg_inside()) eg_budget_adopt_rights(msg);
  return got;
}

EG_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout) {
  eg_recvmmsg_fn real = EG_REAL(recvmmsg);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!counted(fd, flags)) || vec == NULL) return real(fd, vec, vlen, flags, timeout);
  struct eg_grant g;
  /* length 0: counted, refused while tripped, never clamped (datagrams) */
  if (eg_budget_begin(fd, EG_IO_RX, 0, &g, "recvmmsg") == EG_BUDGET_FAIL) {
    errno = g.fail_errno;
    return -1;
  }
  int got = real(fd, vec, vlen, flags, timeout);
  ssize_t bytes = got > 0 ? 0 : got;
  for (int i = 0; i < got; i++) bytes += (ssize_t)vec[i].msg_len;
  eg_budget_end(EG_IO_RX, bytes, &g, "recvmmsg");
  return got;
}

/* _FORTIFY_SOURCE builds call these for recv()/recvfrom(); glibc's versions reach the kernel without going through
 * the public symbols, so they are hooked too. Clamping only lowers n, never past buflen's check. */
struct rc {
  eg___recv_chk_fn real;
  int fd;
  void *buf;
  size_t buflen;
  int flags;
};
static ssize_t do_recv_chk(void *c, size_t n) {
  struct rc *r = c;
  return r->real(r->fd, r->buf, n, r->buflen, r->flags);
}

EG_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  eg___recv_chk_fn real = EG_REAL(__recv_chk);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!counted(fd, flags)) || n > buflen) return real(fd, buf, n, buflen, flags);
  struct rc r = {real, fd, buf, buflen, flags};
  return eg_budget_io(fd, EG_IO_RX, n, do_recv_chk, &r, "__recv_chk");
}

struct rfc {
  eg___recvfrom_chk_fn real;
  int fd;
  void *buf;
  size_t buflen;
  int flags;
  struct sockaddr *addr;
  socklen_t *alen;
};
static ssize_t do_recvfrom_chk(void *c, size_t n) {
  struct rfc *r = c;
  return r->real(r->fd, r->buf, n, r->buflen, r->flags, r->addr, r->alen);
}

EG_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
                                 socklen_t *alen) {
  eg___recvfrom_chk_fn real = EG_REAL(__recvfrom_chk);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!counted(fd, flags)) || n > buflen) return real(fd, buf, n, buflen, flags, addr, alen);
  struct rfc r = {real, fd, buf, buflen, flags, addr, alen};
  return eg_budget_io(fd, EG_IO_RX, n, do_recvfrom_chk, &r, "__recvfrom_chk");
}
