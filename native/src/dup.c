/*
 * dup.c — the dup family: dup, dup2, dup3, fcntl/fcntl64 (F_DUPFD, F_DUPFD_CLOEXEC) and their syscall() forms.
 * A duplicated descriptor refers to the same open socket, so it must carry the same flags (fdtab.h): a copy of a
 * port-53 socket is as much raw DNS as its original.
 *
 * Contract: these never change what the call does (same arguments, same result, errno untouched).
 *  - eg_dup_begin(), before the kernel call: the table epoch.
 *  - eg_dup_end(oldfd, newfd, epoch, onto), after a call that returned newfd (< 0: failed, nothing happens): newfd
 *    takes oldfd's object bits (replacing those of whatever it held before), and, when the host chose the number
 *    (`onto`: dup2/dup3), log.c learns that its log descriptor number may have been overwritten (not for the guard's
 *    own calls: re-entry).
 *  - fcntl is variadic: its third argument is read as a pointer-sized word and passed on unchanged, as glibc's own
 *    fcntl reads it; every command other than F_DUPFD/F_DUPFD_CLOEXEC costs one compare. fcntl64 is the name programs
 *    built with _FILE_OFFSET_BITS=64 call on glibc >= 2.28; where libc has none, fcntl is called (same ABI on 64-bit).
 * Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>

#include "fdtab.h"
#include "hook.h"

uint64_t eg_dup_begin(void) { return eg_fd_epoch(); }

void eg_dup_end(int oldfd, int newfd, uint64_t epoch, int onto) {
  if (newfd < 0) return;
  if (onto && !eg_inside()) eg_log_fd_replaced(newfd);
  if (oldfd != newfd) eg_fd_copy(oldfd, newfd, epoch);
}

int eg_fcntl_is_dup(int cmd) { return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC; }

EG_EXPORT int dup(int oldfd) {
  eg_dup_fn real = EG_REAL(dup);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  uint64_t epoch = eg_dup_begin();
  int r = real(oldfd);
  int e = errno;
  eg_dup_end(oldfd, r, epoch, 0);
  errno = e;
  return r;
}

EG_EXPORT int dup2(int oldfd, int newfd) {
  eg_dup2_fn real = EG_REAL(dup2);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  uint64_t epoch = eg_dup_begin();
  int r = real(oldfd, newfd);
  int e = errno;
  eg_dup_end(oldfd, r, epoch, 1);
  errno = e;
  return r;
}

EG_EXPORT int dup3(int oldfd, int newfd, int flags) {
  eg_dup3_fn real = EG_REAL(dup3);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  uint64_t epoch = eg_dup_begin();
  int r = real(oldfd, newfd, flags);
  int e = errno;
  eg_dup_end(oldfd, r, epoch, 1);
  errno = e;
  return r;
}

/* fcntl and fcntl64 with the real function already chosen. */
static int fcntl_with(eg_fcntl_fn real, int fd, int cmd, void *arg) {
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!eg_fcntl_is_dup(cmd))) return real(fd, cmd, arg);
  uint64_t epoch = eg_dup_begin();
  int r = real(fd, cmd, arg);
  int e = errno;
  eg_dup_end(fd, r, epoch, 0);
  errno = e;
  return r;
}

EG_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl_with(EG_REAL(fcntl), fd, cmd, arg);
}

EG_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  eg_fcntl64_fn real = EG_REAL(fcntl64);
  return fcntl_with(real != NULL ? (eg_fcntl_fn)real : EG_REAL(fcntl), fd, cmd, arg);
}
