/*
 * close.c — the close family: close, close_range and their syscall() forms. What the guard keeps per descriptor
 * number (its own log descriptor, log.c; the flag table, fdtab.c) must follow the host's closes.
 *
 * Contract of eg_close / eg_close_range: they never change what the call does (same arguments, same result, errno
 * as the kernel left it).
 *  - before the kernel call: log.c learns when the host closes the number the guard logs to, so the guard never
 *    writes a log line into a socket or file the host later opens on that number (not for the guard's own closes:
 *    re-entry); the table epoch is read.
 *  - after it: the closed descriptors' object bits (EG_FD_DNS, EG_FD_EGRESS) are dropped unless another thread set
 *    them after the epoch on a reused number (fdtab.c's rules). close() drops them even when it reports an error:
 *    Linux releases the number even on EINTR/EIO. close_range drops them when it succeeds; CLOSE_RANGE_CLOEXEC closes
 *    nothing, so it changes nothing.
 * No init is needed (before init there is no log descriptor and no flag), so close() costs a few loads and compares.
 * Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include "fdtab.h"
#include "hook.h"

#define EG_CLOSE_RANGE_CLOEXEC 4u /* linux/close_range.h (not in every libc's headers) */

int eg_close(const struct eg_via *v, int fd) {
  if (!eg_inside()) eg_log_fd_closed(fd);
  uint64_t epoch = eg_fd_epoch();
  int r;
  if (v->sys) {
    r = (int)eg_raw_syscall(v->nr, fd, 0, 0, 0, 0, 0);
  } else {
    eg_close_fn real = EG_REAL(close);
    r = real != NULL ? real(fd) : eg_missing();
  }
  int e = errno;
  eg_fd_clear(fd, EG_FD_OBJECT_BITS, epoch);
  errno = e;
  return r;
}

int eg_close_range(const struct eg_via *v, unsigned int first, unsigned int last, int flags) {
  int closes = !((unsigned int)flags & EG_CLOSE_RANGE_CLOEXEC);
  if (closes && !eg_inside()) eg_log_fd_range_closed(first, last);
  uint64_t epoch = eg_fd_epoch();
  int r;
  if (v->sys) {
    r = (int)eg_raw_syscall(v->nr, first, last, flags, 0, 0, 0);
  } else {
    eg_close_range_fn real = EG_REAL(close_range);
    r = real != NULL ? real(first, last, flags) : eg_missing();
  }
  int e = errno;
  if (r == 0 && closes) eg_fd_clear_range(first, last, EG_FD_OBJECT_BITS, epoch);
  errno = e;
  return r;
}

static const struct eg_via via_close = {0, 0, "close", NULL};

EG_EXPORT int close(int fd) { return eg_close(&via_close, fd); }

EG_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
  return eg_close_range(&via_close, first, last, flags);
}
