/*
 * fileid.c — the identity (device, inode), type and owner of an open file: for the exec checks (uncovered.c) and
 * for the files the guard hands down to children (the policy, the log destination; init.c, logfd.c).
 *
 * Contract: eg_fd_stat() fills *st and returns 0, or returns -1 (errno unchanged either way). The fstat system call
 * is issued through libc's syscall() (the real one, not our hook): a glibc >= 2.33 build binds fstat to a GLIBC_2.33
 * symbol, which would stop the library loading on older Lambda images (docs/INTERPOSER.md "Building"). The kernel's
 * struct stat is glibc's on x86_64 and aarch64.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fdtab.h"
#include "hook.h"

typedef long (*syscall_fn)(long, ...);

int eg_fd_stat(int fd, struct stat *st) {
  syscall_fn sys = (syscall_fn)EG_REAL(syscall);
  if (sys == NULL || fd < 0) return -1;
  int saved = errno;
  long r = sys(SYS_fstat, (long)fd, (long)st);
  errno = saved;
  return r == 0 ? 0 : -1;
}

int eg_same_file(const struct stat *a, uint64_t dev, uint64_t ino) {
  return (uint64_t)a->st_dev == dev && (uint64_t)a->st_ino == ino;
}
