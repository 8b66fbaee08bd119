/*
 * procmem.c — opening a process's memory file for writing: open, open64, __open, __open64, __open_2, __open64_2,
 * openat, openat64, __openat_2, __openat64_2, creat, creat64.
 *
 * A process may write its own pages through /proc/self/mem whatever their protection (the kernel writes with
 * FOLL_FORCE), and its descendants' too. With plain file I/O — Python's open(), Node's fs — a program can so rewrite
 * the GOT slot of `connect` to point at libc's own and unwire every hook (test/adversarial/procmem.test.ts). So a
 * write-open of such a file is refused.
 *
 * Contract:
 *  - An open for reading only (O_ACCMODE == O_RDONLY) goes straight to libc: one compare, no init.
 *  - Any other open runs, then, unless the call is the guard's own (re-entry) or the descriptor is not on procfs
 *    (fstatfs, one system call), the descriptor's link in /proc/self/fd is read: when it names a memory file —
 *    `<procfs>/<pid>/mem` or `<procfs>/<pid>/task/<tid>/mem`, whatever spelling opened it (/proc/self/mem,
 *    /proc/thread-self/mem, a symlink, a re-open through /proc/self/fd) — the open is decided: refused in enforce
 *    mode (the descriptor is closed, -1/EACCES), let through in audit; one line, event `memory`, `option` the file,
 *    rule `unsupported-call` (docs/LOGGING.md). Mode off: straight to libc.
 *  - errno is preserved whenever the open proceeds. Real function missing: -1/ENOSYS.
 * Not covered (docs/COVERAGE.md): opens inside libc (fopen), syscall(SYS_openat2) and io_uring, process_vm_writev and
 * ptrace — native access, or the kernel's to close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "guard.h"
#include "hook.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* p points after a '/': skips "<digits>/"; NULL when there are no digits or no slash after them. */
static const char *digits_slash(const char *p) {
  const char *s = p;
  while (*p >= '0' && *p <= '9') p++;
  return p > s && *p == '/' ? p + 1 : NULL;
}

/* 1 when `link` ends in "/<pid>/mem" or "/<pid>/task/<tid>/mem" (the procfs mount point before it is not read). */
static int names_mem_file(const char *link) {
  for (const char *p = strchr(link, '/'); p != NULL; p = strchr(p + 1, '/')) {
    const char *q = digits_slash(p + 1);
    if (q == NULL) continue;
    if (strcmp(q, "mem") == 0) return 1;
    if (strncmp(q, "task/", 5) == 0 && (q = digits_slash(q + 5)) != NULL && strcmp(q, "mem") == 0) return 1;
  }
  return 0;
}

/* After an open for writing that returned fd: 1 when it may stay open (see the contract). */
static int decide_open(int fd, const char *call) {
  if (fd < 0 || eg_inside()) return 1;
  int saved = errno;
  struct statfs sf;
  if (fstatfs(fd, &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC) {
    errno = saved;
    return 1;
  }
  char path[48], link[256];
  eg_proc_fd_path(path, (long)getpid(), fd);
  ssize_t n = readlink(path, link, sizeof link - 1);
  if (n <= 0) {
    errno = saved;
    return 1;
  }
  link[n] = '\0';
  if (!names_mem_file(link) || eg_passthrough()) {
    errno = saved;
    return 1;
  }
  eg_enter();
  int ok = eg_check_refused("memory", link, call, EG_RULE_UNSUPPORTED_CALL);
  if (!ok) close(fd);
  return eg_verdict(ok, saved);
}

static int opened(int fd, int flags, const char *call) {
  if (EG_LIKELY((flags & O_ACCMODE) == O_RDONLY)) return fd;
  return decide_open(fd, call) ? fd : -1;
}

/* The mode argument exists when O_CREAT or O_TMPFILE is set; read it only then, as libc does. */
#define MODE_ARG(flags, last)                                                                                          \
  mode_t mode = 0;                                                                                                     \
  if ((flags) & (O_CREAT | O_TMPFILE)) {                                                                               \
    va_list ap;                                                                                                        \
    va_start(ap, last);                                                                                                \
    mode = (mode_t)va_arg(ap, int);                                                                                    \
    va_end(ap);                                                                                                        \
  }

#define OPEN_HOOK(name)                                                                                                \
  EG_EXPORT int name(const char *path, int flags, ...) {                                                               \
    MODE_ARG(flags, flags)                                                                                             \
    eg_##name##_fn real = EG_REAL(name);                                                                               \
    if (EG_UNLIKELY(real == NULL)) return eg_missing();                                                                \
    return opened(real(path, flags, mode), flags, #name);                                                              \
  }
#define OPENAT_HOOK(name)                                                                                              \
  EG_EXPORT int name(int dirfd, const char *path, int flags, ...) {                                                    \
    MODE_ARG(flags, flags)                                                                                             \
    eg_##name##_fn real = EG_REAL(name);                                                                               \
    if (EG_UNLIKELY(real == NULL)) return eg_missing();                                                                \
    return opened(real(dirfd, path, flags, mode), flags, #name);                                                       \
  }

OPEN_HOOK(open)
OPEN_HOOK(open64)
OPEN_HOOK(__open)
OPEN_HOOK(__open64)
OPENAT_HOOK(openat)
OPENAT_HOOK(openat64)

/* The _FORTIFY_SOURCE forms (no mode: libc's checks refuse O_CREAT without one), logged as the call they check. */
#define OPEN2_HOOK(name, call)                                                                                         \
  EG_EXPORT int name(const char *path, int flags) {                                                                    \
    eg_##name##_fn real = EG_REAL(name);                                                                               \
    return real == NULL ? eg_missing() : opened(real(path, flags), flags, call);                                       \
  }
#define OPENAT2_HOOK(name, call)                                                                                       \
  EG_EXPORT int name(int dirfd, const char *path, int flags) {                                                         \
    eg_##name##_fn real = EG_REAL(name);                                                                               \
    return real == NULL ? eg_missing() : opened(real(dirfd, path, flags), flags, call);                                \
  }
/* creat = open(O_CREAT | O_WRONLY | O_TRUNC). */
#define CREAT_HOOK(name)                                                                                               \
  EG_EXPORT int name(const char *path, mode_t mode) {                                                                  \
    eg_##name##_fn real = EG_REAL(name);                                                                               \
    return real == NULL ? eg_missing() : opened(real(path, mode), O_WRONLY, "creat");                                  \
  }

OPEN2_HOOK(__open_2, "open")
OPEN2_HOOK(__open64_2, "open")
OPENAT2_HOOK(__openat_2, "openat")
OPENAT2_HOOK(__openat64_2, "openat")
CREAT_HOOK(creat)
CREAT_HOOK(creat64)
