/*
 * close.c — the close family: close, close_range and their syscall() forms. What the guard keeps per descriptor
 * number (its own log descriptor, log.c; the flag table, fdtab.c) must follow the host's closes.
 *
 * Contract: these never change what the call does (same arguments, same result, errno untouched).
 *  - eg_close_begin(fd), before the kernel call: tells log.c when the host closes the number the guard logs to, so
 *    the guard never writes a log line into a socket or file the host later opens on that number (not for the
 *    guard's own closes: re-entry). Returns the table epoch.
 *  - eg_close_end(fd, epoch), after: drops the descriptor's object bits (EG_FD_DNS, EG_FD_EGRESS) unless another
 *    thread set them after the epoch on the reused number (fdtab.c's rules).
 *  - close_range: the same over the range; CLOSE_RANGE_CLOEXEC closes nothing, so it changes nothing.
 * No init is needed (before init there is no log descriptor and no flag), so close() costs two loads and a compare.
 * Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include "fdtab.h"
#include "hook.h"

#define EG_CLOSE_RANGE_CLOEXEC 4u /* linux/close_range.h (not in every libc's headers) */

uint64_t eg_close_begin(int fd) {
  if (!eg_inside()) eg_log_fd_closed(fd);
  return eg_fd_epoch();
}

void eg_close_end(int fd, uint64_t epoch) { eg_fd_clear(fd, EG_FD_OBJECT_BITS, epoch); }

uint64_t eg_close_range_begin(unsigned int first, unsigned int last, unsigned int flags) {
  if (!eg_inside() && !(flags & EG_CLOSE_RANGE_CLOEXEC)) eg_log_fd_range_closed(first, last);
  return eg_fd_epoch();
}

void eg_close_range_end(unsigned int first, unsigned int last, unsigned int flags, uint64_t epoch) {
  if (!(flags & EG_CLOSE_RANGE_CLOEXEC)) eg_fd_clear_range(first, last, EG_FD_OBJECT_BITS, epoch);
}

EG_EXPORT int close(int fd) {
  eg_close_fn real = EG_REAL(close);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  uint64_t epoch = eg_close_begin(fd);
  int r = real(fd);
  int e = errno;
  eg_close_end(fd, epoch); /* also after a failure: Linux releases the number even when close reports EINTR/EIO */
  errno = e;
  return r;
}

EG_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
  eg_close_range_fn real = EG_REAL(close_range);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  uint64_t epoch = eg_close_range_begin(first, last, (unsigned int)flags);
  int r = real(first, last, flags);
  int e = errno;
  if (r == 0) eg_close_range_end(first, last, (unsigned int)flags, epoch);
  errno = e;
  return r;
}
