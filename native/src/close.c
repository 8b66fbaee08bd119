/*
 * close.c — hooks for close, close_range, dup2, dup3: the guard's per-fd state is its own log descriptor and the
 * raw-DNS hint bits (dns.c).
 *
 * Contract: these never change what the call does (same arguments, same result, errno untouched); they only tell
 * log.c when the host closes or overwrites the number the guard logs to, so the guard never writes a log line into a
 * socket or file the host later opens on that number, and clear dns.c's "connected to port 53" bit of the number
 * (an atomic bit operation, only when the bit is set). No init is needed (before init there is no log fd), so
 * close() costs one compare. syscall(SYS_close) and friends are covered in syscall.c (libuv closes that way).
 * Missing real function: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "guard.h"

typedef int (*close_fn)(int);
typedef int (*close_range_fn)(unsigned int, unsigned int, int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);

EG_EXPORT int close(int fd) {
  close_fn real = (close_fn)eg_real(EG_REAL_CLOSE);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  if (!eg_inside()) eg_log_fd_closed(fd);
  eg_dns_forget(fd);
  return real(fd);
}

EG_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
  close_range_fn real = (close_range_fn)eg_real(EG_REAL_CLOSE_RANGE);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  if (!eg_inside() && !(flags & 4 /* CLOSE_RANGE_CLOEXEC */))
    eg_log_fd_range_closed(first, last);
  if (!(flags & 4 /* CLOSE_RANGE_CLOEXEC */)) eg_dns_forget_range(first, last);
  return real(first, last, flags);
}

EG_EXPORT int dup2(int oldfd, int newfd) {
  dup2_fn real = (dup2_fn)eg_real(EG_REAL_DUP2);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  int r = real(oldfd, newfd);
  if (r >= 0 && !eg_inside()) eg_log_fd_replaced(newfd);
  if (r >= 0 && oldfd != newfd) eg_dns_forget(newfd);
  return r;
}

EG_EXPORT int dup3(int oldfd, int newfd, int flags) {
  dup3_fn real = (dup3_fn)eg_real(EG_REAL_DUP3);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  int r = real(oldfd, newfd, flags);
  if (r >= 0 && !eg_inside()) eg_log_fd_replaced(newfd);
  if (r >= 0) eg_dns_forget(newfd);
  return r;
}
