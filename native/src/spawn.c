/*
 * spawn.c — hooks for posix_spawn and posix_spawnp.
 *
 * Contract: as exec.c's — the child gets the guard's frozen settings in its environment whatever `envp` says
 * (childenv.c), a target the guard cannot load into is reported once (`uncovered`), the spawn is never refused for
 * what it runs. File actions and attributes are passed to libc untouched. Errors are returned, never put in errno
 * (posix_spawn's convention): ENOMEM when the environment cannot be built, ENOSYS when the real function is missing.
 * Mode off and re-entry: straight to libc.
 * eg_spawn() is the same step for the guard's own system()/popen() (system.c), which must not go through a hook
 * twice.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <spawn.h>

#include "hook.h"

int eg_spawn(pid_t *pid, const char *path, int search, const posix_spawn_file_actions_t *fa,
             const posix_spawnattr_t *attr, char *const argv[], char *const envp[], const char *call) {
  eg_posix_spawn_fn real = search ? EG_REAL(posix_spawnp) : EG_REAL(posix_spawn);
  if (EG_UNLIKELY(real == NULL)) return ENOSYS;
  if (!eg_exec_active()) return real(pid, path, fa, attr, argv, envp);
  int saved = errno;
  char buf[PATH_MAX];
  const char *shown = search ? eg_search_path(path, buf) : path;
  struct eg_envmem mem;
  char *const *env = eg_exec_prepare(shown, -1, envp, call, &mem);
  if (env == NULL) {
    errno = saved;
    return ENOMEM;
  }
  int r = real(pid, path, fa, attr, argv, env);
  eg_child_env_release(&mem);
  errno = saved;
  return r;
}

EG_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  return eg_spawn(pid, path, 0, fa, attr, argv, envp, "posix_spawn");
}

EG_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  return eg_spawn(pid, file, 1, fa, attr, argv, envp, "posix_spawnp");
}
