/*
 * sysio.c — the transfer system calls made through syscall(2) (SYS_read, SYS_write, SYS_readv, SYS_writev,
 * SYS_pwritev2 at offset -1, SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg, SYS_sendfile, SYS_splice): byte
 * budgets exactly as for their libc hooks (read.c, write.c, recv.c, send.c; contract in budget.c). A compromised
 * dependency can reach syscall() without native code (Python's ctypes), so this route is not left open.
 *
 * Contract: eg_sys_io(real, nr, raw_nr, …) returns 0 — "not mine, run it as usual" — unless `nr` (the number as the
 * kernel reads it, syscall.c) is one of the above and its descriptor is an egress socket; then it performs the call
 * itself with the real syscall() and the caller's own `raw_nr` (length clamped, counted, refused while tripped: -1
 * with errno) and returns 1 with the result in *ret. SYS_sendto, SYS_sendmsg and SYS_sendmmsg are not here: their
 * family functions (send.c) decide them and run their budgets themselves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "fdtab.h"

struct sc {
  eg_syscall_raw_fn real;
  long nr, a[6];
  int len_arg; /* which argument holds the length (clamped), -1: none */
  const struct iovec *iov;
  int iovcnt;
  size_t total;
  struct msghdr *msg;
};

static ssize_t do_sys(void *c, size_t n) {
  struct sc *s = c;
  long a[6] = {s->a[0], s->a[1], s->a[2], s->a[3], s->a[4], s->a[5]};
  struct iovec cut[EG_IOV_CLAMP];
  struct msghdr m;
  int via_m = 0; /* the call was given m (a clamped copy of *s->msg): copy its results back */
  if (s->len_arg >= 0) {
    a[s->len_arg] = (long)n;
  } else if (s->iov != NULL && n < s->total) {
    int k = eg_iov_clamp(s->iov, s->iovcnt, n, cut);
    if (s->msg != NULL) {
      m = *s->msg;
      m.msg_iov = cut;
      m.msg_iovlen = (size_t)k;
      a[1] = (long)&m;
      via_m = 1;
    } else {
      a[1] = (long)cut;
      a[2] = k;
    }
  }
  long r = s->real(s->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (via_m) {
    s->msg->msg_namelen = m.msg_namelen;
    s->msg->msg_controllen = m.msg_controllen;
    s->msg->msg_flags = m.msg_flags;
  }
  return r;
}

/* recvmmsg/sendmmsg: counted (sum of msg_len), never clamped (datagrams). */
static long mmsg(eg_syscall_raw_fn real, long nr, const long a[6], int dir, const char *call) {
  struct eg_grant g;
  if (eg_budget_begin((int)a[0], dir, 0, &g, call) == EG_BUDGET_FAIL) {
    errno = g.fail_errno;
    return -1;
  }
  long got = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  ssize_t bytes = got > 0 ? 0 : got;
  const struct mmsghdr *vec = (const struct mmsghdr *)a[1];
  for (long i = 0; i < got; i++) bytes += (ssize_t)vec[i].msg_len;
  eg_budget_end(dir, bytes, &g, call);
  return got;
}

int eg_sys_io(eg_syscall_raw_fn real, long nr, long raw_nr, const long args[6], long *ret) {
  struct sc s = {real, raw_nr, {args[0], args[1], args[2], args[3], args[4], args[5]}, -1, NULL, 0, 0, NULL};
  int fd = (int)args[0], dir;
  size_t len;
  const char *call;
  switch (nr) {
  case SYS_read:
  case SYS_write:
    dir = nr == SYS_read ? EG_IO_RX : EG_IO_TX;
    call = nr == SYS_read ? "syscall(read)" : "syscall(write)";
    s.len_arg = 2;
    len = (size_t)args[2];
    break;
  case SYS_pwritev2:
    if (args[3] != -1) return 0; /* at a file offset: a socket refuses it (ESPIPE) */
    /* at the current offset it is writev (its flags, args[5], are kept) */
    __attribute__((fallthrough));
  case SYS_readv:
  case SYS_writev:
    if (args[1] == 0 || args[2] <= 0) return 0;
    dir = nr == SYS_readv ? EG_IO_RX : EG_IO_TX;
    call = nr == SYS_readv ? "syscall(readv)" : nr == SYS_writev ? "syscall(writev)" : "syscall(pwritev2)";
    s.iov = (const struct iovec *)args[1];
    s.iovcnt = (int)args[2];
    len = s.total = eg_iov_total(s.iov, (size_t)s.iovcnt);
    break;
  case SYS_recvfrom:
    if ((int)args[3] & MSG_PEEK) return 0;
    dir = EG_IO_RX;
    call = "syscall(recvfrom)";
    s.len_arg = 2;
    len = (size_t)args[2];
    break;
  case SYS_recvmsg:
    if (args[1] == 0 || ((int)args[2] & MSG_PEEK)) return 0;
    dir = EG_IO_RX;
    call = "syscall(recvmsg)";
    s.msg = (struct msghdr *)args[1];
    if (s.msg->msg_iovlen > 1024) return 0;
    s.iov = s.msg->msg_iov;
    s.iovcnt = (int)s.msg->msg_iovlen;
    len = s.total = eg_iov_total(s.iov, (size_t)s.iovcnt);
    break;
  case SYS_recvmmsg:
    if (!eg_fd_egress(fd) || args[1] == 0) return 0;
    *ret = mmsg(real, raw_nr, args, EG_IO_RX, "syscall(recvmmsg)");
    return 1;
  case SYS_sendfile:
    dir = EG_IO_TX;
    call = "syscall(sendfile)";
    s.len_arg = 3;
    len = (size_t)args[3];
    break;
  case SYS_splice:
    if (eg_fd_egress((int)args[2])) fd = (int)args[2], dir = EG_IO_TX;
    else dir = EG_IO_RX;
    call = "syscall(splice)";
    s.len_arg = 4;
    len = (size_t)args[4];
    break;
  default: return 0;
  }
  if (!eg_fd_egress(fd)) {
    if (nr != SYS_recvmsg) return 0;
    *ret = real(raw_nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  } else {
    *ret = eg_budget_io(fd, dir, len, do_sys, &s, call);
  }
  if (nr == SYS_recvmsg && *ret >= 0 && s.msg->msg_controllen > 0) eg_budget_adopt_rights(s.msg);
  return 1;
}
