/*
 * ownfd.c — the descriptors the guard owns: its copy of the log destination and the sealed policy (the copy init.c
 * makes of a policy file the first process could rewrite, handed down to children). What the host's close,
 * close_range, closefrom, dup2 and dup3 do to them, and how children inherit them (docs/INTERPOSER.md "The guard's
 * own descriptors", docs/LOGGING.md "Where lines go").
 *
 * Contract:
 * - At init (eg_log_open) the guard takes its OWN descriptor for the log destination: inherited from the parent when
 *   EGRESS_GUARD_LOG_FD="<fd>:<dev>:<inode>" names an open descriptor that is still that file (a pipe, a tty, a log
 *   file: identity by device and inode, so a number the spawning program re-pointed elsewhere is not trusted);
 *   else (the spawning program's posix_spawn file actions closed or re-pointed that number here) the parent's
 *   descriptor itself — pidfd_getfd(), which needs ptrace rights over the parent, or an open of /proc/<parent>/fd/<fd>,
 *   which needs permission on the file — same identity check: the parent normally still holds it;
 *   otherwise a duplicate of fd 2 (EGRESS_GUARD_LOG=stderr) or the opened file (EGRESS_GUARD_LOG=<path>), moved to the
 *   lowest free number >= 100 (>= 3 when the limit is lower) to stay out of the program's way. It is NOT
 *   close-on-exec: children inherit it, and their guard writes where the first process's did even when their own
 *   stderr was redirected.
 * - Protected semantics, for every owned descriptor (eg_owned):
 *     close(fd)                    → returns 0 and closes nothing (the guard keeps it);
 *     close_range / closefrom      → the range is closed around it (same result otherwise, flags honoured);
 *     dup2 / dup3 onto it          → the guard first moves its copy to a new number (fcntl F_DUPFD, not
 *                                    close-on-exec), waits for log lines in flight on the old number, then the
 *                                    host's call runs unchanged — so the host gets exactly the number it asked for.
 *   The host can therefore not stop guard lines by closing or overwriting descriptors, and the guard never writes
 *   into a descriptor the host re-used. (fcntl F_SETFD on it is not intercepted: a child then falls back, see below.)
 * - Writers (eg_log_write) never block on each other: a line is one write(2) on the current number; a move flips a
 *   generation and waits (bounded, ~50 ms) until writers of the old generation are done (Dekker-style counters, one
 *   per generation parity, sequentially consistent). Moves are serialised by a spin flag.
 * - The policy descriptor (EGRESS_GUARD_POLICY=/proc/self/fd/N, the sealed copy init.c made or a parent handed
 *   down) is owned the same way once init.c loaded it, so the program cannot close it or put another file under its
 *   number.
 * - Children: eg_render_inherited() gives "EGRESS_GUARD_LOG_FD=<fd>:<dev>:<inode>" and
 *   "EGRESS_GUARD_POLICY=/proc/self/fd/<fd>" for childenv.c, rendered at exec time because the numbers may have
 *   moved since init.
 * - fork: the child clears the in-flight counters and the move flag (threads that held them do not exist there).
 *   vfork: the child shares this memory but not the descriptors, so it never moves anything (a dup2 onto an owned
 *   number there replaces the child's copy only; the parent's state stays right).
 * Which numbers are owned is the EG_FD_PROTECTED bit of the descriptor table (fdtab.h): the hot path of close() for
 * a descriptor the guard does not own is one load; beyond the table, two compares.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdtab.h"
#include "hook.h"

#define OWN_MIN_FD 100

static int owned[EG_OWN_COUNT] = {-1, -1}; /* current number of each owned descriptor, -1 = none */
static uint64_t owned_dev[EG_OWN_COUNT], owned_ino[EG_OWN_COUNT];

/* log writers: generation + per-parity in-flight counters (see the contract) */
static unsigned log_gen;
static int log_fd_gen[2] = {-1, -1};
static unsigned log_inflight[2];
static int moving;
/* The process whose descriptor table `owned` describes (set at init and in fork's child handler). A vfork() child
 * shares this memory but has its own descriptors: it must never renumber (that would corrupt the parent's view). */
static pid_t owner;

static size_t put_u64(char *p, uint64_t v) {
  char t[24];
  size_t n = 0;
  do t[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  for (size_t i = 0; i < n; i++) p[i] = t[n - 1 - i];
  return n;
}

int eg_owned(int fd) {
  unsigned f = eg_fd_flags(fd);
  if (EG_LIKELY(!(f & EG_FD_UNTRACKED))) return (f & EG_FD_PROTECTED) != 0; /* the hot path: one load */
  return fd == __atomic_load_n(&owned[EG_OWN_LOG], __ATOMIC_RELAXED) ||
         fd == __atomic_load_n(&owned[EG_OWN_POLICY], __ATOMIC_RELAXED);
}

int eg_owned_fd(int which) { return __atomic_load_n(&owned[which], __ATOMIC_RELAXED); }

/* A new number for fd: the lowest free one >= OWN_MIN_FD (>= 3 when the descriptor limit is lower), inherited by
 * children (no close-on-exec). -1 when none. */
static int renumber(int fd) {
  eg_enter(); /* the guard's own fcntl: straight to libc */
  int n = fcntl(fd, F_DUPFD, OWN_MIN_FD);
  if (n < 0) n = fcntl(fd, F_DUPFD, 3);
  eg_leave();
  return n;
}

void eg_own(int which, int fd, int dup_first) {
  int n = fd;
  if (fd >= 0 && dup_first) n = renumber(fd);
  if (n >= 0) {
    struct stat st;
    if (eg_fd_stat(n, &st) == 0) owned_dev[which] = (uint64_t)st.st_dev, owned_ino[which] = (uint64_t)st.st_ino;
  }
  if (which == EG_OWN_LOG) {
    log_fd_gen[0] = log_fd_gen[1] = n;
    __atomic_store_n(&log_gen, 0, __ATOMIC_SEQ_CST);
  }
  if (n >= 0) eg_fd_set(n, EG_FD_PROTECTED);
  __atomic_store_n(&owner, getpid(), __ATOMIC_RELAXED);
  __atomic_store_n(&owned[which], n, __ATOMIC_SEQ_CST);
}

/* "fd:dev:ino" → 0 and the values, or -1. */
static int parse_fd_id(const char *s, int *fd, uint64_t *dev, uint64_t *ino) {
  uint64_t v[3] = {0, 0, 0};
  for (int k = 0; k < 3; k++) {
    if (*s < '0' || *s > '9') return -1;
    for (; *s >= '0' && *s <= '9'; s++) v[k] = v[k] * 10 + (uint64_t)(*s - '0');
    if (k < 2 && *s++ != ':') return -1;
  }
  if (*s != '\0' || v[0] > 0x7fffffff) return -1;
  *fd = (int)v[0], *dev = v[1], *ino = v[2];
  return 0;
}

/* "/proc/<pid>/fd/<fd>" into out (>= 48 bytes). */
void eg_proc_fd_path(char *out, long pid, int fd) {
  static const char a[] = "/proc/", b[] = "/fd/";
  size_t n = 0;
  memcpy(out, a, sizeof a - 1), n = sizeof a - 1;
  n += put_u64(out + n, (uint64_t)pid);
  memcpy(out + n, b, sizeof b - 1), n += sizeof b - 1;
  n += put_u64(out + n, (uint64_t)fd);
  out[n] = '\0';
}

/* pidfd_open / pidfd_getfd (Linux >= 5.6; the same numbers on x86_64 and aarch64). */
#define EG_SYS_PIDFD_OPEN 434
#define EG_SYS_PIDFD_GETFD 438
typedef long (*syscall_fn)(long, ...);

int eg_fd_from_parent(int fd, int open_flags) {
  syscall_fn sys = (syscall_fn)EG_REAL(syscall);
  int saved = errno, got = -1;
  /* a duplicate of the parent's descriptor (needs ptrace rights over the parent; no permission check on the file) */
  long pidfd = sys ? sys(EG_SYS_PIDFD_OPEN, (long)getppid(), 0L) : -1;
  if (pidfd >= 0) {
    got = (int)sys(EG_SYS_PIDFD_GETFD, pidfd, (long)fd, 0L);
    close((int)pidfd);
  }
  if (got < 0) { /* a new open of the same file (needs permission on the file itself) */
    char path[64];
    eg_proc_fd_path(path, (long)getppid(), fd);
    got = open(path, open_flags | O_CLOEXEC | O_NOCTTY);
  }
  errno = saved;
  return got;
}

int eg_own_inherited(int which, const char *spec) {
  int fd;
  uint64_t dev, ino;
  struct stat st;
  if (spec == NULL || parse_fd_id(spec, &fd, &dev, &ino) != 0) return -1;
  if (eg_fd_stat(fd, &st) == 0 && eg_same_file(&st, dev, ino)) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
    eg_own(which, fd, 0);
    return 0;
  }
  /* The spawning program closed or re-pointed that number in this process (posix_spawn file actions can): take the
   * same destination from the parent, which normally still holds it, and check it is still that file. */
  int nfd = eg_fd_from_parent(fd, which == EG_OWN_LOG ? O_WRONLY | O_APPEND : O_RDONLY);
  if (nfd < 0) return -1;
  int ok = eg_fd_stat(nfd, &st) == 0 && eg_same_file(&st, dev, ino);
  if (ok) eg_own(which, nfd, 1);
  close(nfd);
  return ok && eg_owned_fd(which) >= 0 ? 0 : -1;
}

/* Moves the owned descriptor `which` off its number (the host is about to dup2 onto it). */
static int move_away(int which) {
  while (__atomic_exchange_n(&moving, 1, __ATOMIC_ACQUIRE)) sched_yield();
  int old = __atomic_load_n(&owned[which], __ATOMIC_SEQ_CST);
  uint64_t epoch = eg_fd_epoch();
  int n = old >= 0 ? renumber(old) : -1;
  if (n >= 0) eg_fd_set(n, EG_FD_PROTECTED);
  if (old >= 0) eg_fd_clear(old, EG_FD_PROTECTED, epoch);
  if (n >= 0) {
    if (which == EG_OWN_LOG) {
      unsigned g = __atomic_load_n(&log_gen, __ATOMIC_SEQ_CST);
      log_fd_gen[(g + 1) & 1] = n;
      __atomic_store_n(&owned[which], n, __ATOMIC_SEQ_CST);
      __atomic_store_n(&log_gen, g + 1, __ATOMIC_SEQ_CST);
      struct timespec tick = {0, 100000}; /* 0.1 ms, at most ~500 times: never hang the host */
      for (int i = 0; i < 500 && __atomic_load_n(&log_inflight[g & 1], __ATOMIC_SEQ_CST) != 0; i++)
        nanosleep(&tick, NULL);
    } else {
      __atomic_store_n(&owned[which], n, __ATOMIC_SEQ_CST);
    }
    /* `old` stays open until the host's dup2 replaces it atomically: no other thread can take the number meanwhile */
  } else {
    __atomic_store_n(&owned[which], -1, __ATOMIC_SEQ_CST); /* no number left: give it up rather than fail dup2 */
    old = -1;
  }
  __atomic_store_n(&moving, 0, __ATOMIC_RELEASE);
  return old;
}

int eg_owned_before_replace(int newfd) {
  int stale = -1;
  if (__atomic_load_n(&owner, __ATOMIC_RELAXED) != getpid()) return -1; /* a vfork child: leave the parent's state */
  for (int w = 0; w < EG_OWN_COUNT; w++)
    if (newfd >= 0 && newfd == __atomic_load_n(&owned[w], __ATOMIC_SEQ_CST)) stale = move_away(w);
  return stale;
}

int eg_owned_close_range(unsigned first, unsigned last, int flags, int (*fn)(const void *ctx, unsigned, unsigned, int),
                         const void *ctx) {
  int own[EG_OWN_COUNT], k = 0;
  for (int w = 0; w < EG_OWN_COUNT; w++) {
    int fd = __atomic_load_n(&owned[w], __ATOMIC_RELAXED);
    if (fd >= 0 && (unsigned)fd >= first && (unsigned)fd <= last) own[k++] = fd;
  }
  if (k == 0) return fn(ctx, first, last, flags);
  if (k == 2 && own[0] > own[1]) {
    int t = own[0];
    own[0] = own[1], own[1] = t;
  }
  unsigned lo = first;
  int r = 0;
  for (int i = 0; i <= k; i++) {
    unsigned hi = i < k ? (unsigned)own[i] : last;
    if (i < k && (unsigned)own[i] == lo) { /* the piece below is empty */
      lo = (unsigned)own[i] + 1;
      continue;
    }
    if (i < k) hi -= 1;
    if (lo <= hi && fn(ctx, lo, hi, flags) != 0) r = -1;
    if (i < k) {
      if ((unsigned)own[i] == last) break;
      lo = (unsigned)own[i] + 1;
    }
  }
  return r;
}

void eg_log_write(const char *buf, size_t len) {
  unsigned g;
  for (;;) {
    g = __atomic_load_n(&log_gen, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&log_inflight[g & 1], 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&log_gen, __ATOMIC_SEQ_CST) == g) break;
    __atomic_fetch_sub(&log_inflight[g & 1], 1, __ATOMIC_SEQ_CST);
  }
  int fd = __atomic_load_n(&owned[EG_OWN_LOG], __ATOMIC_SEQ_CST) < 0 ? -1 : log_fd_gen[g & 1];
  if (fd >= 0) {
    int saved = errno;
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    int masked = pthread_sigmask(SIG_BLOCK, &pipe_set, &old) == 0;
    int was_pending = 1;
    if (masked && sigpending(&pending) == 0) was_pending = sigismember(&pending, SIGPIPE);
    ssize_t n;
    do {
      n = write(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EPIPE && masked && !was_pending) {
      struct timespec zero = {0, 0};
      sigtimedwait(&pipe_set, NULL, &zero);
    }
    if (masked) pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
  }
  __atomic_fetch_sub(&log_inflight[g & 1], 1, __ATOMIC_SEQ_CST);
}

size_t eg_render_inherited(char out[EG_INHERITED_MAX][EG_INHERITED_LEN]) {
  size_t n = 0;
  if (eg_render_owned(EG_OWN_LOG, "EGRESS_GUARD_LOG_FD=", out[n], EG_INHERITED_LEN)) n++;
  int pfd = __atomic_load_n(&owned[EG_OWN_POLICY], __ATOMIC_SEQ_CST);
  if (pfd >= 0) {
    static const char prefix[] = "EGRESS_GUARD_POLICY=/proc/self/fd/";
    memcpy(out[n], prefix, sizeof prefix - 1);
    size_t l = sizeof prefix - 1 + put_u64(out[n] + sizeof prefix - 1, (uint64_t)pfd);
    out[n][l] = '\0';
    n++;
  }
  return n;
}

size_t eg_render_owned(int which, const char *prefix, char *out, size_t cap) {
  int fd = __atomic_load_n(&owned[which], __ATOMIC_SEQ_CST);
  size_t pl = strlen(prefix);
  if (fd < 0 || pl + 3 * 21 + 3 > cap) return 0;
  memcpy(out, prefix, pl);
  size_t n = pl;
  n += put_u64(out + n, (uint64_t)fd);
  out[n++] = ':';
  n += put_u64(out + n, owned_dev[which]);
  out[n++] = ':';
  n += put_u64(out + n, owned_ino[which]);
  out[n] = '\0';
  return n;
}

void eg_own_atfork_child(void) {
  __atomic_store_n(&owner, getpid(), __ATOMIC_RELAXED);
  __atomic_store_n(&log_inflight[0], 0, __ATOMIC_RELAXED);
  __atomic_store_n(&log_inflight[1], 0, __ATOMIC_RELAXED);
  __atomic_store_n(&moving, 0, __ATOMIC_RELAXED);
}
