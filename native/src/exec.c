/*
 * exec.c — hooks for the exec family: execve, execv, execvp, execvpe, execl, execlp, execle, fexecve, execveat, and
 * the syscall(SYS_execve / SYS_execveat) forms (called from syscall.c).
 *
 * Contract (docs/INTERPOSER.md "Children keep the guard"):
 * - The new program gets the guard's frozen settings in its environment, whatever environment it was handed
 *   (childenv.c): the env-less forms (execv, execvp, execl, execlp) use `environ` as libc would, and all go to the
 *   kernel through the real execve/execvpe/fexecve/execveat with the rewritten array. So the mode, log level, log
 *   destination, policy, state file, always-allowed endpoints and LD_PRELOAD (this library, by absolute path, first)
 *   are the parent's.
 * - An exec is never blocked for what it runs. Before it, a target the guard cannot load into is reported once
 *   (`uncovered`, uncovered.c). The only new failure is -1/ENOMEM when the environment cannot be built (an anonymous
 *   mapping failed): a child never starts with an environment the guard did not write.
 * - Safe where exec is used: no malloc, no lock, no stdio (vfork children, signal handlers, forked children of
 *   threaded programs). errno is preserved except for the failing exec's own errno.
 * - Mode off and re-entry: straight to libc, untouched. A missing real function: -1/ENOSYS (execveat falls back to
 *   the system call: glibc < 2.34 has no execveat()).
 * execvp/execlp/execvpe look the file up along PATH only to name it in an `uncovered` line; libc does the real
 * search. execl* collect at most 4096 arguments into a stack array (more: -1/E2BIG, as the kernel would).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hook.h"

extern char **environ;

typedef long (*syscall_fn)(long, ...);

int eg_exec_active(void) {
  if (eg_inside()) return 0;
  eg_init();
  return eg.mode != EG_MODE_OFF;
}

/* Resolve `file` along PATH like execvp (first executable candidate), only to name it; returns path or NULL. */
const char *eg_search_path(const char *file, char buf[EG_PATH_MAX]) {
  if (file == NULL || file[0] == '\0') return NULL;
  if (strchr(file, '/') != NULL) return file;
  const char *p = getenv("PATH");
  if (p == NULL) p = "/bin:/usr/bin";
  size_t fl = strlen(file);
  while (1) {
    const char *end = strchr(p, ':');
    size_t dl = end ? (size_t)(end - p) : strlen(p);
    if (dl + 1 + fl + 1 <= PATH_MAX) {
      size_t n = 0;
      if (dl == 0) buf[n++] = '.';
      else memcpy(buf, p, dl), n = dl;
      buf[n++] = '/';
      memcpy(buf + n, file, fl + 1);
      if (access(buf, X_OK) == 0) return buf;
    }
    if (end == NULL) return NULL;
    p = end + 1;
  }
}

void eg_fd_name(int fd, char *out, size_t cap) {
  char link[32] = "/proc/self/fd/";
  size_t n = 14;
  char digits[12];
  size_t d = 0;
  unsigned v = fd < 0 ? 0u : (unsigned)fd;
  do digits[d++] = (char)('0' + v % 10), v /= 10;
  while (v);
  while (d) link[n++] = digits[--d];
  link[n] = '\0';
  int saved = errno;
  ssize_t r = fd < 0 ? -1 : readlink(link, out, cap - 1);
  errno = saved;
  if (r > 0) {
    out[r] = '\0';
    return;
  }
  size_t l = n - 14 < cap - 4 ? n - 14 : 0;
  memcpy(out, "fd:", 3);
  memcpy(out + 3, link + 14, l);
  out[3 + l] = '\0';
}

char *const *eg_exec_prepare(const char *path, int fd, char *const envp[], const char *call, struct eg_envmem *mem) {
  int saved = errno;
  eg_enter();
  eg_log_flush(); /* the new image starts with an empty limiter: write what this one counted */
  if (fd >= 0) eg_uncovered_fd(fd, path, call);
  else eg_uncovered_path(path, call);
  char *const *env = eg_child_env(envp, mem);
  eg_leave();
  if (env != NULL) errno = saved;
  return env;
}

/* Calls real with the prepared environment; releases it if the exec returns (it failed). */
#define RUN_EXEC(call_expr)                                                                                            \
  do {                                                                                                                 \
    if (env == NULL) return -1;                                                                                        \
    int r_ = (call_expr);                                                                                              \
    int e_ = errno;                                                                                                    \
    eg_child_env_release(&mem);                                                                                        \
    errno = e_;                                                                                                        \
    return r_;                                                                                                         \
  } while (0)

EG_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  eg_execve_fn real = EG_REAL(execve);
  if (EG_UNLIKELY(real == NULL)) return errno = ENOSYS, -1;
  if (!eg_exec_active()) return real(path, argv, envp);
  struct eg_envmem mem;
  char *const *env = eg_exec_prepare(path, -1, envp, "execve", &mem);
  RUN_EXEC(real(path, argv, env));
}

EG_EXPORT int execv(const char *path, char *const argv[]) {
  eg_execve_fn real = EG_REAL(execve);
  if (EG_UNLIKELY(real == NULL)) return errno = ENOSYS, -1;
  if (!eg_exec_active()) return real(path, argv, environ);
  struct eg_envmem mem;
  char *const *env = eg_exec_prepare(path, -1, environ, "execv", &mem);
  RUN_EXEC(real(path, argv, env));
}

static int execvpe_common(const char *file, char *const argv[], char *const envp[], const char *call) {
  eg_execvpe_fn real = EG_REAL(execvpe);
  if (EG_UNLIKELY(real == NULL)) return errno = ENOSYS, -1;
  if (!eg_exec_active()) return real(file, argv, envp);
  char buf[PATH_MAX];
  int saved = errno;
  const char *found = eg_search_path(file, buf);
  errno = saved;
  struct eg_envmem mem;
  char *const *env = eg_exec_prepare(found, -1, envp, call, &mem);
  RUN_EXEC(real(file, argv, env));
}

EG_EXPORT int execvp(const char *file, char *const argv[]) { return execvpe_common(file, argv, environ, "execvp"); }

EG_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  return execvpe_common(file, argv, envp, "execvpe");
}

EG_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  eg_fexecve_fn real = EG_REAL(fexecve);
  if (EG_UNLIKELY(real == NULL)) return errno = ENOSYS, -1;
  if (!eg_exec_active()) return real(fd, argv, envp);
  char shown[PATH_MAX];
  eg_fd_name(fd, shown, sizeof shown);
  struct eg_envmem mem;
  char *const *env = eg_exec_prepare(shown, fd, envp, "fexecve", &mem);
  RUN_EXEC(real(fd, argv, env));
}

/* The file execveat would run, opened for inspection (-1 when it cannot be); *owned: close it afterwards. */
static int open_target(int dirfd, const char *path, int flags, int *owned) {
  *owned = 0;
  if (path == NULL) return -1;
  if (path[0] == '\0' && (flags & AT_EMPTY_PATH)) return dirfd;
  int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
  *owned = fd >= 0;
  return fd;
}

/* execveat with the environment rewritten; real_fn NULL = issue the system call through sys. */
static long execveat_common(int dirfd, const char *path, char *const argv[], char *const envp[], int flags,
                            const char *call, eg_execveat_fn real_fn, syscall_fn sys) {
  char shown[PATH_MAX];
  int owned, saved = errno;
  eg_enter();
  int fd = open_target(dirfd, path, flags, &owned);
  eg_leave();
  errno = saved;
  const char *name = path;
  if (path == NULL || path[0] != '/') eg_fd_name(fd >= 0 ? fd : dirfd, shown, sizeof shown), name = shown;
  struct eg_envmem mem;
  char *const *env = eg_exec_prepare(name, fd, envp, call, &mem);
  if (owned) {
    eg_enter();
    close(fd);
    eg_leave();
  }
  if (env != NULL) errno = saved;
  if (env == NULL) return -1;
  long r = real_fn ? real_fn(dirfd, path, argv, env, flags)
                   : sys(SYS_execveat, (long)dirfd, (long)path, (long)argv, (long)env, (long)flags);
  int e = errno;
  eg_child_env_release(&mem);
  errno = e;
  return r;
}

EG_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
  eg_execveat_fn real = EG_REAL(execveat);
  syscall_fn sys = (syscall_fn)EG_REAL(syscall);
  if (EG_UNLIKELY(real == NULL && sys == NULL)) return errno = ENOSYS, -1;
  if (!eg_exec_active()) {
    if (real) return real(dirfd, path, argv, envp, flags);
    return (int)sys(SYS_execveat, (long)dirfd, (long)path, (long)argv, (long)envp, (long)flags);
  }
  return (int)execveat_common(dirfd, path, argv, envp, flags, "execveat", real, sys);
}

long eg_syscall_exec(syscall_fn sys, long nr, const long a[6]) {
  long a1 = a[0], a2 = a[1], a3 = a[2], a4 = a[3], a5 = a[4];
  if (!eg_exec_active()) return sys(nr, a1, a2, a3, a4, a5, a[5]);
  if (nr == SYS_execve) {
    struct eg_envmem mem;
    char *const *env = eg_exec_prepare((const char *)a1, -1, (char *const *)a3, "syscall(execve)", &mem);
    if (env == NULL) return -1;
    long r = sys(nr, a1, a2, (long)env);
    int e = errno;
    eg_child_env_release(&mem);
    errno = e;
    return r;
  }
  return execveat_common((int)a1, (const char *)a2, (char *const *)a3, (char *const *)a4, (int)a5, "syscall(execveat)",
                         NULL, sys);
}

#define MAX_LARGS 4096

/* Collect execl-style arguments (arg0, ..., NULL) into argv; argc = the count, or -1 when there are too many. */
#define COLLECT_ARGS(argv, arg0, ap)                                                                                   \
  do {                                                                                                                 \
    argc = 0;                                                                                                          \
    argv[argc++] = (char *)(arg0);                                                                                     \
    while (argv[argc - 1] != NULL) {                                                                                   \
      if (argc >= MAX_LARGS) {                                                                                         \
        argc = -1;                                                                                                     \
        break;                                                                                                         \
      }                                                                                                                \
      argv[argc++] = va_arg(ap, char *);                                                                               \
    }                                                                                                                  \
  } while (0)

EG_EXPORT int execl(const char *path, const char *arg0, ...) {
  char *argv[MAX_LARGS];
  int argc;
  va_list ap;
  va_start(ap, arg0);
  COLLECT_ARGS(argv, arg0, ap);
  va_end(ap);
  if (argc < 0) return errno = E2BIG, -1;
  return execv(path, argv);
}

EG_EXPORT int execlp(const char *file, const char *arg0, ...) {
  char *argv[MAX_LARGS];
  int argc;
  va_list ap;
  va_start(ap, arg0);
  COLLECT_ARGS(argv, arg0, ap);
  va_end(ap);
  if (argc < 0) return errno = E2BIG, -1;
  return execvpe_common(file, argv, environ, "execlp");
}

EG_EXPORT int execle(const char *path, const char *arg0, ...) {
  char *argv[MAX_LARGS];
  int argc;
  va_list ap;
  va_start(ap, arg0);
  COLLECT_ARGS(argv, arg0, ap);
  char *const *envp = argc < 0 ? NULL : va_arg(ap, char *const *);
  va_end(ap);
  if (argc < 0) return errno = E2BIG, -1;
  return execve(path, argv, envp);
}
