/*
 * system.c — hooks for system(), popen() and pclose().
 *
 * Why: glibc's system() and popen() start `/bin/sh -c` through an internal posix_spawn that no preload can see, with
 * whatever `environ` holds at that moment — so `os.environ["EGRESS_GUARD_MODE"] = "off"; os.system(…)` would start an
 * unguarded shell. Here both are implemented on eg_spawn() (spawn.c), so the shell gets the guard's frozen settings
 * (childenv.c) like every other child.
 *
 * Contract (POSIX system(3) and popen(3), as glibc implements them):
 * - system(NULL) returns nonzero when a shell can run. system(cmd) runs `/bin/sh -c -- cmd`; while it waits, SIGINT
 *   and SIGQUIT are ignored (reference-counted across threads) and SIGCHLD is blocked in the caller; the shell gets
 *   the caller's signal mask and default SIGINT/SIGQUIT (unless they were ignored). Returns the wait status, -1 when
 *   waiting failed, and the status of `exit 127` when the shell could not be started.
 * - popen(cmd, "r"|"w" [+ "e"]) runs `/bin/sh -c -- cmd` with its stdout (r) or stdin (w) on a pipe and returns a
 *   stdio stream on the other end (fdopen: the one stdio call here — popen's result IS a stream). The parent's end is
 *   close-on-exec only with "e"; the child never inherits the pipes of other popen() streams. Any other mode: NULL,
 *   EINVAL. At most POPEN_MAX (1024) streams may be open at once through this hook (beyond: NULL, EMFILE).
 * - pclose(f) of a stream from this popen closes it and returns the shell's wait status (-1 if waiting failed); any
 *   other stream goes to libc's pclose.
 * - Mode off and re-entry: libc's own functions, untouched. Missing real function in that case: -1/ENOSYS (NULL for
 *   popen).
 * Locks: one mutex for the signal reference count and one for the stream table (neither function is
 * async-signal-safe in libc either); both re-initialised in a forked child (eg_system_atfork_child).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook.h"

extern char **environ;

#define SHELL_PATH "/bin/sh"
#define POPEN_MAX 1024

static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static int sig_refs;
static struct sigaction saved_intr, saved_quit;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  FILE *f;
  pid_t pid;
} streams[POPEN_MAX];

void eg_system_atfork_child(void) {
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  memcpy(&sig_lock, &fresh, sizeof fresh);
  memcpy(&table_lock, &fresh, sizeof fresh);
  sig_refs = 0;
}

static int wait_for(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

static int run_system(const char *line) {
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  pthread_mutex_lock(&sig_lock);
  if (sig_refs++ == 0) {
    sigaction(SIGINT, &ign, &saved_intr);
    sigaction(SIGQUIT, &ign, &saved_quit);
  }
  pthread_mutex_unlock(&sig_lock);

  sigset_t chld, omask, reset;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, &omask);
  sigemptyset(&reset);
  if (saved_intr.sa_handler != SIG_IGN) sigaddset(&reset, SIGINT);
  if (saved_quit.sa_handler != SIG_IGN) sigaddset(&reset, SIGQUIT);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &omask);
  posix_spawnattr_setsigdefault(&attr, &reset);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  char *argv[] = {(char *)"sh", (char *)"-c", (char *)"--", (char *)line, NULL};
  pid_t pid;
  int r = eg_spawn(&pid, SHELL_PATH, 0, NULL, &attr, argv, environ, "system");
  posix_spawnattr_destroy(&attr);
  int status = r == 0 ? wait_for(pid) : W_EXITCODE(127, 0);
  int e = errno;

  pthread_mutex_lock(&sig_lock);
  if (--sig_refs == 0) {
    sigaction(SIGINT, &saved_intr, NULL);
    sigaction(SIGQUIT, &saved_quit, NULL);
  }
  pthread_mutex_unlock(&sig_lock);
  pthread_sigmask(SIG_SETMASK, &omask, NULL);
  errno = e;
  return status;
}

EG_EXPORT int system(const char *line) {
  if (!eg_exec_active()) {
    eg_system_fn real = EG_REAL(system);
    return real ? real(line) : (errno = ENOSYS, -1);
  }
  if (line == NULL) return run_system("exit 0") == 0;
  return run_system(line);
}

/* Claims a table slot for a stream about to be created; -1 when full. */
static int claim_slot(void) {
  for (int i = 0; i < POPEN_MAX; i++)
    if (streams[i].f == NULL && streams[i].pid == 0) {
      streams[i].pid = -1; /* reserved */
      return i;
    }
  return -1;
}

EG_EXPORT FILE *popen(const char *command, const char *mode) {
  if (!eg_exec_active()) {
    eg_popen_fn real = EG_REAL(popen);
    return real ? real(command, mode) : (errno = ENOSYS, (FILE *)NULL);
  }
  int rd = 0, wr = 0, cloexec = 0;
  for (const char *m = mode; m && *m; m++) {
    if (*m == 'r') rd = 1;
    else if (*m == 'w') wr = 1;
    else if (*m == 'e') cloexec = 1;
    else return errno = EINVAL, (FILE *)NULL;
  }
  if (rd == wr) return errno = EINVAL, (FILE *)NULL;

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return NULL;
  int mine = rd ? fds[0] : fds[1], theirs = rd ? fds[1] : fds[0], target = rd ? 1 : 0;
  if (theirs == target) { /* a dup2 onto itself would keep close-on-exec set (glibc < 2.29): move it first */
    int moved = fcntl(theirs, F_DUPFD_CLOEXEC, 3);
    close(theirs);
    if (moved < 0) {
      close(mine);
      return NULL;
    }
    theirs = moved;
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, theirs, target);
  pthread_mutex_lock(&table_lock);
  int slot = claim_slot();
  for (int i = 0; slot >= 0 && i < POPEN_MAX; i++) /* POSIX: earlier popen() streams are not open in the child */
    if (streams[i].f != NULL) posix_spawn_file_actions_addclose(&fa, fileno(streams[i].f));
  pthread_mutex_unlock(&table_lock);
  int r = EMFILE;
  pid_t pid = 0;
  if (slot >= 0) {
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)"--", (char *)command, NULL};
    r = eg_spawn(&pid, SHELL_PATH, 0, &fa, NULL, argv, environ, "popen");
  }
  posix_spawn_file_actions_destroy(&fa);
  close(theirs);
  FILE *f = NULL;
  if (r == 0) {
    if (!cloexec) fcntl(mine, F_SETFD, 0);
    f = fdopen(mine, rd ? "r" : "w");
    if (f == NULL) {
      r = errno;
      close(mine);
      wait_for(pid);
    }
  } else {
    close(mine);
  }
  pthread_mutex_lock(&table_lock);
  if (slot >= 0) {
    streams[slot].f = f;
    streams[slot].pid = f ? pid : 0;
  }
  pthread_mutex_unlock(&table_lock);
  if (f == NULL) errno = r;
  return f;
}

EG_EXPORT int pclose(FILE *f) {
  pid_t pid = 0;
  pthread_mutex_lock(&table_lock);
  for (int i = 0; f != NULL && i < POPEN_MAX; i++)
    if (streams[i].f == f) {
      pid = streams[i].pid;
      streams[i].f = NULL;
      streams[i].pid = 0;
      break;
    }
  pthread_mutex_unlock(&table_lock);
  if (pid == 0) {
    eg_pclose_fn real = EG_REAL(pclose);
    return real ? real(f) : (errno = ENOSYS, -1);
  }
  fclose(f);
  return wait_for(pid);
}
