/*
 * close.c — the close family: close, close_range, closefrom and their syscall() forms. What the guard keeps per
 * descriptor number (its own descriptors, ownfd.c; the flag table, fdtab.c) must follow the host's closes.
 *
 * Contract of eg_close / eg_close_range: for a descriptor the guard does not own they never change what the call does
 * (same arguments, same result, errno as the kernel left it).
 *  - A descriptor the guard owns (EG_FD_PROTECTED: its log destination, the sealed policy; ownfd.c "Protected
 *    semantics"): close() returns 0 and closes nothing; close_range()/closefrom() act on the rest of the range (the
 *    flags, CLOSE_RANGE_CLOEXEC included, never reach it). The guard's own calls (re-entry) are not intercepted.
 *  - the table epoch is read before the kernel call; after it, the closed descriptors' object bits (EG_FD_DNS,
 *    EG_FD_EGRESS) are dropped unless another thread set them after the epoch on a reused number (fdtab.c's rules).
 *    close() drops them even when it reports an error: Linux releases the number even on EINTR/EIO. close_range
 *    drops them when it succeeds; CLOSE_RANGE_CLOEXEC closes nothing, so it changes nothing.
 *  - closefrom(low) (glibc >= 2.34) is close_range(low, ~0U, 0), as glibc implements it (the system call when libc
 *    has no close_range).
 * No init is needed (before init the guard owns nothing and no flag is set), so close() costs one load and a compare.
 * Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "fdtab.h"
#include "hook.h"

#define EG_CLOSE_RANGE_CLOEXEC 4u /* linux/close_range.h (not in every libc's headers) */
#ifndef SYS_close_range
#define SYS_close_range 436 /* the same number on x86_64 and aarch64 */
#endif

int eg_close(const struct eg_via *v, int fd) {
  if (EG_UNLIKELY(eg_owned(fd)) && !eg_inside()) return 0; /* the guard keeps it (ownfd.c) */
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

/* One piece of a range, without the guard's own descriptors in it. */
static int close_range_piece(const void *ctx, unsigned int first, unsigned int last, int flags) {
  const struct eg_via *v = ctx;
  int closes = !((unsigned int)flags & EG_CLOSE_RANGE_CLOEXEC);
  uint64_t epoch = eg_fd_epoch();
  int r;
  eg_close_range_fn real = v->sys ? NULL : EG_REAL(close_range);
  if (v->sys || real == NULL) r = (int)eg_raw_syscall(v->sys ? v->nr : SYS_close_range, first, last, flags, 0, 0, 0);
  else r = real(first, last, flags);
  int e = errno;
  if (r == 0 && closes) eg_fd_clear_range(first, last, EG_FD_OBJECT_BITS, epoch);
  errno = e;
  return r;
}

int eg_close_range(const struct eg_via *v, unsigned int first, unsigned int last, int flags) {
  if (eg_inside()) return close_range_piece(v, first, last, flags);
  return eg_owned_close_range(first, last, flags, close_range_piece, v);
}

static const struct eg_via via_close = {0, 0, "close", NULL};

EG_EXPORT int close(int fd) { return eg_close(&via_close, fd); }

/* libc's public alias of close (hooks.def). */
EG_EXPORT int __close(int fd) { return eg_close(&via_close, fd); }

EG_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
  return eg_close_range(&via_close, first, last, flags);
}

EG_EXPORT void closefrom(int lowfd) {
  int e = errno;
  eg_close_range(&via_close, lowfd < 0 ? 0u : (unsigned int)lowfd, ~0u, 0);
  errno = e;
}
