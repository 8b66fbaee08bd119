/*
 * dup.c — the dup family: dup, dup2, dup3, fcntl/fcntl64 (F_DUPFD, F_DUPFD_CLOEXEC) and their syscall() forms.
 * A duplicated descriptor refers to the same open socket, so it must carry the same flags (fdtab.h): a copy of a
 * port-53 socket is as much raw DNS as its original.
 *
 * Contract: these never change what the call does (same arguments, same result, errno as the kernel left it).
 *  - the table epoch is read before the kernel call; after a call that returned newfd >= 0, newfd takes oldfd's
 *    object bits (replacing those of whatever it held before; sets made since the epoch are kept: fdtab.c).
 *  - dup2/dup3 onto a descriptor the guard owns (ownfd.c "Protected semantics"): the guard first moves its copy to
 *    another number, then the call runs unchanged; if it then fails, the copy left at the old number (owned by nobody
 *    any more) is closed. Not for the guard's own calls (re-entry).
 *  - fcntl is variadic: its third argument is read as a pointer-sized word and passed on unchanged, as glibc's own
 *    fcntl reads it; every command other than F_DUPFD/F_DUPFD_CLOEXEC costs one compare. fcntl64 is the name programs
 *    built with _FILE_OFFSET_BITS=64 call on glibc >= 2.28; where libc has none, fcntl is called (same ABI on 64-bit).
 * Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "fdtab.h"
#include "hook.h"

/* After the kernel call: newfd (< 0: it failed) now holds oldfd's open file. */
static int copied(int oldfd, int newfd, uint64_t epoch, int stale) {
  int e = errno;
  if (newfd >= 0 && oldfd != newfd) eg_fd_copy(oldfd, newfd, epoch);
  if (newfd < 0 && stale >= 0) {
    eg_enter();
    close(stale);
    eg_leave();
  }
  errno = e;
  return newfd;
}

/* Before dup2/dup3 onto `onto`: the guard's own copy moves away; returns the number it left (-1: nothing moved). */
static int vacate(int oldfd, int onto) { return oldfd == onto || eg_inside() ? -1 : eg_owned_before_replace(onto); }

int eg_dup(const struct eg_via *v, int oldfd) {
  uint64_t epoch = eg_fd_epoch();
  int r;
  if (v->sys) {
    r = (int)eg_raw_syscall(v->nr, oldfd, 0, 0, 0, 0, 0);
  } else {
    eg_dup_fn real = EG_REAL(dup);
    r = real != NULL ? real(oldfd) : eg_missing();
  }
  return copied(oldfd, r, epoch, -1);
}

int eg_dup2(const struct eg_via *v, int oldfd, int newfd) {
  int stale = vacate(oldfd, newfd);
  uint64_t epoch = eg_fd_epoch();
  int r;
  if (v->sys) {
    r = (int)eg_raw_syscall(v->nr, oldfd, newfd, 0, 0, 0, 0);
  } else {
    eg_dup2_fn real = EG_REAL(dup2);
    r = real != NULL ? real(oldfd, newfd) : eg_missing();
  }
  return copied(oldfd, r, epoch, stale);
}

int eg_dup3(const struct eg_via *v, int oldfd, int newfd, int flags) {
  int stale = vacate(oldfd, newfd);
  uint64_t epoch = eg_fd_epoch();
  int r;
  if (v->sys) {
    r = (int)eg_raw_syscall(v->nr, oldfd, newfd, flags, 0, 0, 0);
  } else {
    eg_dup3_fn real = EG_REAL(dup3);
    r = real != NULL ? real(oldfd, newfd, flags) : eg_missing();
  }
  return copied(oldfd, r, epoch, stale);
}

int eg_fcntl(const struct eg_via *v, eg_fcntl_fn real, int fd, int cmd, void *arg) {
  if (EG_LIKELY(cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)) {
    if (v->sys) return (int)eg_raw_syscall(v->nr, fd, cmd, (long)arg, 0, 0, 0);
    return real != NULL ? real(fd, cmd, arg) : eg_missing();
  }
  uint64_t epoch = eg_fd_epoch();
  int r;
  if (v->sys) r = (int)eg_raw_syscall(v->nr, fd, cmd, (long)arg, 0, 0, 0);
  else r = real != NULL ? real(fd, cmd, arg) : eg_missing();
  return copied(fd, r, epoch, -1);
}

static const struct eg_via via_dup = {0, 0, "dup", NULL};

EG_EXPORT int dup(int oldfd) { return eg_dup(&via_dup, oldfd); }
EG_EXPORT int dup2(int oldfd, int newfd) { return eg_dup2(&via_dup, oldfd, newfd); }
EG_EXPORT int __dup2(int oldfd, int newfd) { return eg_dup2(&via_dup, oldfd, newfd); } /* libc's public alias */
EG_EXPORT int dup3(int oldfd, int newfd, int flags) { return eg_dup3(&via_dup, oldfd, newfd, flags); }

EG_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return eg_fcntl(&via_dup, EG_REAL(fcntl), fd, cmd, arg);
}

/* libc's public alias of fcntl (hooks.def). */
EG_EXPORT int __fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return eg_fcntl(&via_dup, EG_REAL(fcntl), fd, cmd, arg);
}

EG_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  eg_fcntl64_fn real64 = EG_REAL(fcntl64);
  return eg_fcntl(&via_dup, real64 != NULL ? (eg_fcntl_fn)real64 : EG_REAL(fcntl), fd, cmd, arg);
}
