/*
 * exec.c — hooks for execve, execv, execvp, execvpe, execl, execlp, execle, posix_spawn, posix_spawnp.
 *
 * Contract: these NEVER block and never change what runs. Before the real call they look at the target and log one
 * `uncovered` event (docs/LOGGING.md) and count it in the state file when the guard will not be inside the child:
 *   reason "static":     an ELF with no PT_INTERP (statically linked, e.g. CGO_ENABLED=0 Go): LD_PRELOAD cannot load;
 *   reason "no-preload": the child's environment has no LD_PRELOAD naming this library's file — reported only when
 *                        this process got the library through LD_PRELOAD (not /etc/ld.so.preload or DT_NEEDED,
 *                        which reach the child anyway).
 * Only the first 64 program headers are read (pread into a stack buffer); unreadable or non-ELF targets (scripts) are
 * not reported. The dynamic loader run directly (ld-linux*.so …) is not reported. execvp/execlp/posix_spawnp find
 * the file along the caller's PATH exactly as far as needed to name it. execl* collect their arguments into a stack
 * array (at most 4096) and go through the execv* paths; more arguments fail with E2BIG as the kernel would.
 * Missing real function: -1/ENOSYS (posix_spawn*: ENOSYS returned).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "egp_rd.h"
#include "hook.h"

extern char **environ;


/* 1 when path is an ELF executable without PT_INTERP. */
static int is_static_elf(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return 0;
  uint8_t eh[64];
  int result = 0;
  if (pread(fd, eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh, "\x7f" "ELF", 4) != 0) goto out_close;
  uint64_t phoff;
  uint16_t phentsize, phnum, type = egp_rd16(eh + 16);
  if (type != 2 /* ET_EXEC */ && type != 3 /* ET_DYN */) goto out_close;
  if (eh[4] == 2) { /* ELFCLASS64 */
    phoff = egp_rd64(eh + 32);
    phentsize = egp_rd16(eh + 54);
    phnum = egp_rd16(eh + 56);
  } else if (eh[4] == 1) {
    phoff = egp_rd32(eh + 28);
    phentsize = egp_rd16(eh + 42);
    phnum = egp_rd16(eh + 44);
  } else {
    goto out_close;
  }
  if (phnum == 0 || phentsize < 8 || phentsize > 64) goto out_close;
  if (phnum > 64) phnum = 64;
  uint8_t ph[64 * 64];
  size_t want = (size_t)phnum * phentsize;
  if (pread(fd, ph, want, (off_t)phoff) != (ssize_t)want) goto out_close;
  result = 1;
  for (uint16_t i = 0; i < phnum; i++)
    if (egp_rd32(ph + (size_t)i * phentsize) == 3 /* PT_INTERP */) result = 0;
out_close:
  close(fd);
  return result;
}

static int is_loader(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld.so", 5) == 0 || strncmp(base, "ld64.so", 7) == 0;
}

/* 1 when the child's environment preloads this library (matched by its file name, e.g. libegressguard.so). */
static int env_has_guard(char *const envp[]) {
  if (envp == NULL) return 0;
  for (char *const *e = envp; *e != NULL; e++)
    if (strncmp(*e, "LD_PRELOAD=", 11) == 0 && strstr(*e + 11, eg.self_name) != NULL) return 1;
  return 0;
}

/* Resolve `file` along PATH like execvp (first executable candidate); returns path or NULL. */
static const char *search_path(const char *file, char buf[PATH_MAX]) {
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

/* Report what the guard will not see in the child. Never fails the exec. */
static void inspect(const char *path, char *const envp[], const char *call) {
  if (eg_inside()) return;
  eg_init();
  if (eg.mode == EG_MODE_OFF || path == NULL) return;
  int saved = errno;
  eg_enter();
  const char *reason = NULL;
  if (!is_loader(path) && is_static_elf(path)) reason = "static";
  else if (eg.preloaded_by_env && !env_has_guard(envp)) reason = "no-preload";
  if (reason) {
    eg_state_count(EG_COUNT_UNCOVERED);
    eg_log_uncovered(path, reason, call);
  }
  eg_leave();
  errno = saved;
}

EG_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  eg_execve_fn real = EG_REAL(execve);
  if (EG_UNLIKELY(real == NULL)) return errno = ENOSYS, -1;
  inspect(path, envp, "execve");
  return real(path, argv, envp);
}

EG_EXPORT int execv(const char *path, char *const argv[]) {
  eg_execv_fn real = EG_REAL(execv);
  if (EG_UNLIKELY(real == NULL)) return errno = ENOSYS, -1;
  inspect(path, environ, "execv");
  return real(path, argv);
}

EG_EXPORT int execvp(const char *file, char *const argv[]) {
  eg_execvp_fn real = EG_REAL(execvp);
  if (EG_UNLIKELY(real == NULL)) return errno = ENOSYS, -1;
  if (!eg_inside()) {
    char buf[PATH_MAX];
    int saved = errno;
    inspect(search_path(file, buf), environ, "execvp");
    errno = saved;
  }
  return real(file, argv);
}

EG_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  eg_execvpe_fn real = EG_REAL(execvpe);
  if (EG_UNLIKELY(real == NULL)) return errno = ENOSYS, -1;
  if (!eg_inside()) {
    char buf[PATH_MAX];
    int saved = errno;
    inspect(search_path(file, buf), envp, "execvpe");
    errno = saved;
  }
  return real(file, argv, envp);
}

#define MAX_LARGS 4096

/* Collect execl-style arguments (arg0, ..., NULL) into argv; returns the count or -1 when there are too many. */
#define COLLECT_ARGS(argv, arg0, ap)                   \
  do {                                                 \
    argc = 0;                                          \
    argv[argc++] = (char *)(arg0);                     \
    while (argv[argc - 1] != NULL) {                   \
      if (argc >= MAX_LARGS) {                         \
        argc = -1;                                     \
        break;                                         \
      }                                                \
      argv[argc++] = va_arg(ap, char *);               \
    }                                                  \
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
  return execvp(file, argv);
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

EG_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  eg_posix_spawn_fn real = EG_REAL(posix_spawn);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  inspect(path, envp, "posix_spawn");
  return real(pid, path, fa, attr, argv, envp);
}

EG_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  eg_posix_spawnp_fn real = EG_REAL(posix_spawnp);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  if (!eg_inside()) {
    char buf[PATH_MAX];
    int saved = errno;
    inspect(search_path(file, buf), envp, "posix_spawnp");
    errno = saved;
  }
  return real(pid, file, fa, attr, argv, envp);
}
