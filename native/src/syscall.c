/*
 * syscall.c — hook for syscall(2), the route libuv (Node) and others use around libc's wrappers: a dispatcher onto
 * the same checked functions the libc hooks use (hook.h).
 *
 * Contract: SYS_connect, SYS_sendto, SYS_sendmsg and SYS_sendmmsg get exactly the checks of their libc hooks
 * (connect.c, send.c; the log's `call` is "syscall(connect)" …, "syscall(sendto,dns)" for a raw-DNS name);
 * SYS_close, SYS_close_range, SYS_dup, SYS_dup2 (where it exists), SYS_dup3 and SYS_fcntl (F_DUPFD*) keep the
 * guard's per-descriptor state as their libc hooks do (close.c, dup.c). The transfer numbers (SYS_read, SYS_write,
 * SYS_readv, SYS_writev, SYS_recvfrom, SYS_sendto, SYS_recvmsg, SYS_sendmsg, SYS_recvmmsg, SYS_sendmmsg,
 * SYS_sendfile, SYS_splice) on an egress socket run under the byte budgets (sysio.c). A refused call returns -1/EACCES as libc's
 * syscall() reports a kernel error. EVERY other number passes straight through untouched, with all six argument
 * words — an unknown syscall is never denied. Missing real syscall(): -1/ENOSYS.
 * Six `long` varargs are read whatever the number (the raw syscall ABI has at most six); reading words the caller
 * did not pass is what every syscall() interposer does and is harmless on x86_64 and aarch64.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/syscall.h>

#include "fdtab.h"
#include "hook.h"

typedef long (*raw_fn)(long, ...);

/* A call that closes or duplicates descriptors: the real call between the family's begin and end. */
static long fd_call(raw_fn real, long nr, const long a[6]) {
  uint64_t epoch;
  long r;
  int e;
  switch (nr) {
  case SYS_close:
    epoch = eg_close_begin((int)a[0]);
    r = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    e = errno;
    eg_close_end((int)a[0], epoch);
    break;
#ifdef SYS_close_range
  case SYS_close_range:
    epoch = eg_close_range_begin((unsigned int)a[0], (unsigned int)a[1], (unsigned int)a[2]);
    r = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    e = errno;
    if (r == 0) eg_close_range_end((unsigned int)a[0], (unsigned int)a[1], (unsigned int)a[2], epoch);
    break;
#endif
  default: /* SYS_dup, SYS_dup2, SYS_dup3, SYS_fcntl with F_DUPFD* */
    epoch = eg_dup_begin();
    r = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    e = errno;
    eg_dup_end((int)a[0], (int)r, epoch, nr != SYS_dup && nr != SYS_fcntl);
    break;
  }
  errno = e;
  return r;
}

EG_EXPORT long syscall(long nr, ...) {
  long a[6];
  va_list ap;
  va_start(ap, nr);
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  raw_fn real = (raw_fn)EG_REAL(syscall);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  int fd = (int)a[0];
  switch (nr) {
  case SYS_connect: {
    uint64_t epoch = eg_fd_epoch();
    if (!eg_connect_check(fd, (const struct sockaddr *)a[1], (socklen_t)a[2], "syscall(connect)")) return -1;
    long r = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    eg_budget_connected(fd, (const struct sockaddr *)a[1], (socklen_t)a[2], (int)r, epoch);
    return r;
  }
  case SYS_sendto:
    if (!eg_sendto_check(fd, (const void *)a[1], (size_t)a[2], (int)a[3], (const struct sockaddr *)a[4],
                         (socklen_t)a[5], "syscall(sendto)", "syscall(sendto,dns)"))
      return -1;
    break;
  case SYS_sendmsg:
    if (!eg_sendmsg_check(fd, (const struct msghdr *)a[1], (int)a[2], "syscall(sendmsg)", "syscall(sendmsg,dns)"))
      return -1;
    break;
  case SYS_sendmmsg: {
    unsigned int vlen = (unsigned int)a[2];
    unsigned int allowed = eg_sendmmsg_check(fd, (const struct mmsghdr *)a[1], vlen, (int)a[3], "syscall(sendmmsg)",
                                             "syscall(sendmmsg,dns)");
    if (allowed == 0 && vlen > 0) return -1;
    a[2] = (long)allowed; /* send the allowed prefix (sendmmsg's partial-success contract) */
    break;
  }
  case SYS_close:
#ifdef SYS_close_range
  case SYS_close_range:
#endif
  case SYS_dup:
#ifdef SYS_dup2
  case SYS_dup2:
#endif
  case SYS_dup3:
    return fd_call(real, nr, a);
  case SYS_fcntl:
    if (eg_fcntl_is_dup((int)a[1])) return fd_call(real, nr, a);
    break;
  default:
    break;
  }
  long r;
  if (!eg_inside() && eg_sys_io(real, nr, a, &r)) return r; /* a transfer on an egress socket: budgets (sysio.c) */
  return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
