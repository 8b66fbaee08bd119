/*
 * init.c — configuration from the environment and one-time initialisation (docs/INTERPOSER.md "Configuration").
 *
 * Contract: eg_init() is called at the top of every hook (another library's constructor may call connect or
 * getaddrinfo before our constructor runs) and by our constructor. The first caller runs eg_init_slow() with the
 * re-entry guard raised; concurrent callers wait (sched_yield) until it finishes — it does a bounded amount of work:
 * getenv, realpath, open/pread/mmap of the policy and state files, a few log lines at most. After it, `eg` and the
 * frozen child settings (childenv.c) are immutable.
 * Fork: pthread_atfork's child handler resets an init interrupted by fork in another thread, clears half-written
 * binding entries, the log dedupe set ("once per process" starts again in the child) and system.c's locks.
 *
 * Every process reads its own environment the same way; what makes children keep the guard is that each exec/spawn
 * hands them the values frozen here (eg_freeze: the value that makes a child compute the same effective setting),
 * whatever environment the program passed (childenv.c). So the operator's settings are read by the first guarded
 * process — e.g. the function's EGRESS_GUARD_MODE, the back-out without a deploy — and no descendant can change them.
 *
 * Environment (contracts/config.yaml lists every variable; config.h applies the one configuration rule: words are
 * compared trimmed and case-insensitively, blank = unset):
 *   EGRESS_GUARD_MODE       audit | enforce | off — overrides the file's ENFORCE flag. Anything else is a config
 *                           error: enforce + fail closed, one E_CONFIG_MODE line (children get the same bad value, so
 *                           they fail closed too). Unset + no valid policy: enforce. `off`: nothing is opened, checked,
 *                           logged or frozen.
 *   EGRESS_GUARD_POLICY     path of the compiled policy (made absolute for children; /proc/self/fd/N kept as is).
 *                           Unset/missing/invalid: one `policy` error line; enforce fails closed, audit fails open.
 *   EGRESS_GUARD_POLICY_ID  "<dev>:<inode>" the policy file must have (set for children, and by `egress-guard run`);
 *                           another file at that path: E_POLICY_REPLACED, handled like an invalid policy.
 *   EGRESS_GUARD_LOG        stderr (default) | off | a file path (opened O_APPEND|O_CREAT, 0644; absolute for
 *                           children).
 *   EGRESS_GUARD_LOG_LEVEL  all | allow | deny | off; default allow in audit, deny in enforce (invalid: the default
 *                           and one E_CONFIG_LOG_LEVEL warning).
 *   EGRESS_GUARD_LOG_RATE, EGRESS_GUARD_LOG_RATE_WINDOW_S  the decision-line rate limiter (log.c; invalid: the
 *                           default and one E_CONFIG_LOG_RATE / E_CONFIG_LOG_RATE_WINDOW_S warning).
 *   EGRESS_GUARD_STATE      path of the shared state file (docs/STATE.md); unset = none.
 *   EGRESS_GUARD_VERIFY     full = check the body CRC of policies above 1 MiB too (invalid: auto, E_CONFIG_VERIFY).
 *   AWS_LAMBDA_RUNTIME_API, AWS_XRAY_DAEMON_ADDRESS: endpoints that always pass — accepted only where Lambda puts
 *                           them, on a loopback or link-local address (or `localhost`); anything else: one
 *                           E_CONFIG_ENDPOINT warning, not always allowed, not passed to children.
 *   EGRESS_GUARD_UPSTREAM_API (the real Runtime API behind the agent; agent_spawn.c starts the agent first, here):
 *                           read the same way, but always REFUSED (decide.c, rule runtime-upstream): only the agent
 *                           talks to it.
 *   EGRESS_GUARD_AGENT      off | an absolute path of egress-guard-agent (agent_spawn.c); passed on as read.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtab.h"
#include "guard.h"
#include "hook.h"

struct eg_config eg;
int eg_init_state;
__thread int eg_depth __attribute__((tls_model("initial-exec")));

static void atfork_child(void) {
  int s = 1;
  __atomic_compare_exchange_n(&eg_init_state, &s, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  eg_binding_atfork_child();
  eg_log_atfork_child();
  eg_budget_atfork_child();
  eg_fd_own();
  eg_system_atfork_child();
}

static void copy_env(char *dst, size_t cap, const char *v) {
  size_t n = v ? strlen(v) : 0;
  if (n >= cap) n = 0; /* absurdly long: treated as unset; reported by the caller */
  if (n) memcpy(dst, v, n);
  dst[n] = '\0';
}

/* The absolute form of path for children (a relative path breaks in a child that changed directory); path itself
 * when it cannot be resolved (the child then fails the same way the parent did). */
static const char *absolute(const char *path, char buf[PATH_MAX]) {
  if (path == NULL || path[0] == '\0') return path;
  if (strncmp(path, "/proc/self/fd/", 14) == 0) return path; /* a descriptor: the child resolves its own */
  return realpath(path, buf) != NULL ? buf : path;
}

static const char *mode_name(int m) { return m == EG_MODE_ENFORCE ? "enforce" : m == EG_MODE_AUDIT ? "audit" : "off"; }
static const char *level_name(int l) {
  return l == EG_LEVEL_ALL ? "all" : l == EG_LEVEL_ALLOW ? "allow" : l == EG_LEVEL_DENY ? "deny" : "off";
}

/* X-Ray: "host:port" (UDP traces and TCP sampling both go there) or "tcp:host:port udp:host:port". */
static int parse_xray(const char *v, struct eg_endpoint *ep) {
  const char *u = strstr(v, "udp:");
  if (u != NULL) {
    char tmp[320];
    size_t n = strcspn(u + 4, " ");
    if (n >= sizeof tmp) return -1;
    memcpy(tmp, u + 4, n);
    tmp[n] = '\0';
    v = tmp;
    if (eg_parse_endpoint(v, ep) != 0) return -1;
  } else if (eg_parse_endpoint(v, ep) != 0) {
    return -1;
  }
  ep->protos = EGP_PROTO_UDP | EGP_PROTO_TCP;
  return 0;
}

/* An always-allowed endpoint from `var`: accepted only on loopback/link-local (docs/INTERPOSER.md "Decisions"). */
static void endpoint(const char *var, struct eg_endpoint *ep, int is_xray) {
  const char *v = getenv(var);
  if (v == NULL || v[0] == '\0') {
    eg_freeze(var, NULL);
    return;
  }
  struct eg_endpoint parsed;
  memset(&parsed, 0, sizeof parsed);
  int ok = (is_xray ? parse_xray(v, &parsed) : eg_parse_endpoint(v, &parsed)) == 0;
  if (ok && !is_xray) parsed.protos = EGP_PROTO_TCP;
  if (!ok || !eg_endpoint_is_local(&parsed)) {
    eg_log_config_error("E_CONFIG_ENDPOINT", var, v,
                        ok ? "not a loopback or link-local address (where Lambda puts it): not always allowed"
                           : "not host:port: not always allowed");
    eg_freeze(var, NULL);
    return;
  }
  *ep = parsed;
  eg_freeze(var, v);
}

/*
 * A policy file's identity, as the first process hands it to children (EGRESS_GUARD_POLICY_ID):
 * "<dev>:<ino>:<size>:<ctime in ns>". The size and the change time make an in-place rewrite of the same inode a
 * different identity (nobody but root can set a file's ctime), so a child of a program that rewrote its policy file
 * in place fails like a replaced policy (E_POLICY_REPLACED: closed in enforce mode). The two-part form "<dev>:<ino>"
 * names a sealed copy (format_id) or comes from an older guard or by hand: it checks the inode only.
 */
struct file_id {
  uint64_t v[4];
  int parts; /* 2 or 4 */
};

static int parse_id(const char *s, struct file_id *id) {
  id->parts = 0;
  for (int k = 0; k < 4; k++) {
    if (*s < '0' || *s > '9') return -1;
    uint64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
      if (x > (UINT64_MAX - 9) / 10) return -1;
      x = x * 10 + (uint64_t)(*s - '0');
    }
    id->v[k] = x;
    id->parts = k + 1;
    if (*s == '\0') return id->parts == 2 || id->parts == 4 ? 0 : -1;
    if (*s++ != ':') return -1;
  }
  return -1;
}

static uint64_t ctime_ns(const struct stat *st) {
  return (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec;
}

static int same_identity(const struct stat *st, const struct file_id *id) {
  if (!eg_same_file(st, id->v[0], id->v[1])) return 0;
  return id->parts == 2 || (id->v[2] == (uint64_t)st->st_size && id->v[3] == ctime_ns(st));
}

static char *put_u64(char *out, uint64_t x) {
  char t[24];
  int n = 0;
  do t[n++] = (char)('0' + x % 10), x /= 10;
  while (x);
  while (n > 0) *out++ = t[--n];
  return out;
}

/* parts: 4 for a file, 2 for a sealed copy — its bytes cannot change, while even a refused write to it updates its
 * change time (the kernel stamps the time before it checks the seals), which must not fail its children. */
static void format_id(char *out, const struct stat *st, int parts) {
  uint64_t v[4] = {(uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size, ctime_ns(st)};
  for (int k = 0; k < parts; k++) {
    out = put_u64(out, v[k]);
    *out++ = k < parts - 1 ? ':' : '\0';
  }
}

/* N when path is "/proc/self/fd/N" (the sealed copy a guarded parent hands down, sealed_copy below), else -1. */
static int policy_fd_number(const char *path) {
  if (strncmp(path, "/proc/self/fd/", 14) != 0 || path[14] == '\0') return -1;
  long n = 0;
  for (const char *p = path + 14; *p; p++) {
    if (*p < '0' || *p > '9' || n > 0xffffff) return -1;
    n = n * 10 + (*p - '0');
  }
  return (int)n;
}

/* 1 when fd is open and is the file `want` ("<dev>:<ino>") names (or nothing is wanted). */
static int matches(int fd, const char *want) {
  struct stat st;
  struct file_id id;
  if (fd < 0) return 0;
  if (want == NULL || want[0] == '\0') return 1;
  return parse_id(want, &id) == 0 && eg_fd_stat(fd, &st) == 0 && same_identity(&st, &id);
}

/*
 * A policy file this process could rewrite in place (a local copy, `egress-guard run`'s compiled temp file) is loaded
 * from, and handed to children as, a sealed copy: a memfd holding the same bytes, sealed against writing, shrinking
 * and growing (F_SEAL_WRITE: not even its owner or root can change it), owned like a policy `egress-guard run` hands
 * over (ownfd.c: EGRESS_GUARD_POLICY=/proc/self/fd/N, EGRESS_GUARD_POLICY_ID its identity). So the program cannot
 * rewrite the file between its own start and its children's — what they load is what the first process loaded
 * (test/adversarial/run-policy.test.ts). Only in the first process (no EGRESS_GUARD_POLICY_ID handed down), only for
 * files of at most SEAL_MAX bytes — the size the loader copies into private memory anyway (egp_load.c), so the copy
 * costs start-up nothing it did not already cost; a larger file (a threat feed of millions of names) would cost
 * tens of milliseconds and its size again in memory at every first start, so it is used as is and its children
 * check its identity, size and change time instead (format_id: an in-place rewrite fails them closed). A file on a
 * read-only filesystem (a Lambda layer under /opt) or one this process neither may write nor owns is used as is.
 * -1 when not copied.
 */
#define SEAL_MAX ((off_t)1 << 20)
static int sealed_copy(int fd) {
  struct stat st;
  if (eg_fd_stat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > SEAL_MAX) return -1;
  long flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int m = (int)eg_raw_syscall(SYS_memfd_create, (long)"egress-guard-policy", flags, 0, 0, 0, 0);
  if (m < 0) return -1;
  char buf[16384];
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t w = 0; w < n;) {
      ssize_t k = write(m, buf + w, (size_t)(n - w));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        close(m);
        return -1;
      }
      w += k;
    }
    off += n;
  }
  if (off != st.st_size || fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    close(m);
    return -1;
  }
  return m;
}

/* 1 when this process could rewrite the file in place: it may write it, or it owns it and so may chmod it writable
 * (a user's own read-only .egp) — unless the filesystem itself is read-only (a Lambda layer under /opt). */
static int rewritable(int fd, const char *path) {
  if (access(path, W_OK) == 0) return 1;
  struct stat st;
  struct statvfs vfs;
  if (eg_fd_stat(fd, &st) != 0 || st.st_uid != geteuid()) return 0;
  return fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) == 0;
}

/* Open, identify and load the policy; freezes EGRESS_GUARD_POLICY and EGRESS_GUARD_POLICY_ID (a policy handed over
 * as a descriptor is owned instead, ownfd.c, and named to children by its current number). 1 = loaded. */
static int load_policy(const char *path, int verify_full, struct egp_error *err, int *replaced) {
  char abs[PATH_MAX], idbuf[96];
  *replaced = 0;
  copy_env(eg.policy_path, sizeof eg.policy_path, path);
  const char *want = getenv(EG_CFG_POLICY_ID_NAME);
  int fdnum = policy_fd_number(eg.policy_path);
  int fd = eg.policy_path[0] ? open(eg.policy_path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
  int sealed = -1;
  if (fd >= 0 && fdnum < 0 && (want == NULL || want[0] == '\0') && rewritable(fd, eg.policy_path) &&
      (sealed = sealed_copy(fd)) >= 0) {
    close(fd);
    fd = sealed;
  }
  eg_freeze(EG_CFG_POLICY_NAME, eg.policy_path[0] && fdnum < 0 && sealed < 0 ? absolute(eg.policy_path, abs) : NULL);
  int via_parent = 0;
  if (fdnum >= 0 && !matches(fd, want)) {
    /* the spawning program closed or re-pointed that number here (posix_spawn file actions can): reach the sealed
     * policy through the parent, which normally still holds it; the identity check below still applies */
    int pfd = eg_fd_from_parent(fdnum, O_RDONLY);
    if (pfd >= 0 && matches(pfd, want)) {
      if (fd >= 0) close(fd);
      fd = pfd, via_parent = 1;
    } else if (pfd >= 0) {
      close(pfd);
    }
  }
  if (fd < 0) {
    eg_freeze(EG_CFG_POLICY_ID_NAME, want && want[0] ? want : NULL);
    if (fdnum >= 0) eg_freeze(EG_CFG_POLICY_NAME, eg.policy_path);      /* children fail the same way */
    return egp_open(&eg.policy, eg.policy_path, verify_full, err) == 0; /* reports why, with the reader's codes */
  }
  struct stat st;
  int have = eg_fd_stat(fd, &st) == 0;
  if (want != NULL && want[0] != '\0') {
    struct file_id id;
    if (parse_id(want, &id) != 0 || !have || !same_identity(&st, &id)) *replaced = 1;
    eg_freeze(EG_CFG_POLICY_ID_NAME, want);
  } else if (have) {
    format_id(idbuf, &st, sealed >= 0 || fdnum >= 0 ? 2 : 4);
    eg_freeze(EG_CFG_POLICY_ID_NAME, idbuf);
  }
  int ok = !*replaced && egp_load_fd(&eg.policy, fd, verify_full, err) == 0;
  if (fdnum >= 0 || sealed >= 0) /* protected, named to children */
    eg_own(EG_OWN_POLICY, via_parent || sealed >= 0 ? fd : fdnum, via_parent || sealed >= 0);
  close(fd);
  return ok;
}

/* This library's absolute path, and the entries the operator preloaded before it (they stay before it in every
 * child: e.g. a sanitizer runtime that must come first). */
static void freeze_preload(void) {
  Dl_info self;
  char path[PATH_MAX], entry[PATH_MAX], real[PATH_MAX], before[2 * PATH_MAX];
  size_t bl = 0;
  if (dladdr((void *)(uintptr_t)&freeze_preload, &self) == 0 || self.dli_fname == NULL ||
      realpath(self.dli_fname, path) == NULL) {
    eg_freeze_preload("", ""); /* unknown: children cannot be told to load us (uncovered.c reports it) */
    return;
  }
  const char *list = getenv("LD_PRELOAD");
  int found = 0;
  while (list && *list && !found) {
    list += strspn(list, ": \t");
    size_t n = strcspn(list, ": \t");
    if (n == 0 || n >= sizeof entry) break;
    memcpy(entry, list, n);
    entry[n] = '\0';
    list += n;
    if (realpath(entry, real) != NULL && strcmp(real, path) == 0) {
      found = 1;
      break;
    }
    /* kept as the operator wrote it, made absolute when relative (a child may change directory) */
    const char *r = entry[0] == '/' || realpath(entry, real) == NULL ? entry : real;
    const char *base = strrchr(r, '/');
    base = base ? base + 1 : r;
    size_t rl = strlen(r);
    if (strncmp(base, "libegressguard", 14) == 0 || bl + rl + 2 > sizeof before) continue;
    if (bl) before[bl++] = ':';
    memcpy(before + bl, r, rl);
    bl += rl;
  }
  if (!found) bl = 0; /* loaded another way (/etc/ld.so.preload, DT_NEEDED): nothing comes "before" it */
  before[bl] = '\0';
  eg_freeze_preload(before, path);
}

static const char *env(const char *name) { return getenv(name); }

/* EGRESS_GUARD_LOG_RATE and EGRESS_GUARD_LOG_RATE_WINDOW_S (docs/LOGGING.md "Rate limit"), frozen for children. */
static void log_rate(void) {
  long rate = EG_CFG_LOG_RATE_DEFAULT, window = EG_CFG_LOG_RATE_WINDOW_S_DEFAULT;
  if (eg_cfg_int(getenv(EG_CFG_LOG_RATE_NAME), EG_CFG_LOG_RATE_MIN, EG_CFG_LOG_RATE_MAX, &rate) == EG_CFG_INVALID)
    eg_log_policy_error(EG_CFG_LOG_RATE_ERROR, NULL, EG_CFG_LOG_RATE_INVALID_MSG, 0, 0, 0, 0);
  if (eg_cfg_int(getenv(EG_CFG_LOG_RATE_WINDOW_S_NAME), EG_CFG_LOG_RATE_WINDOW_S_MIN, EG_CFG_LOG_RATE_WINDOW_S_MAX,
                 &window) == EG_CFG_INVALID)
    eg_log_policy_error(EG_CFG_LOG_RATE_WINDOW_S_ERROR, NULL, EG_CFG_LOG_RATE_WINDOW_S_INVALID_MSG, 0, 0, 0, 0);
  eg_log_rate_init((unsigned)rate, (unsigned)window);
  static char text[2][24];
  long v[2] = {rate, window};
  for (int i = 0; i < 2; i++) {
    size_t n = 0;
    char t[24];
    do t[n++] = (char)('0' + v[i] % 10), v[i] /= 10;
    while (v[i]);
    for (size_t k = 0; k < n; k++) text[i][k] = t[n - 1 - k];
    text[i][n] = '\0';
  }
  eg_freeze(EG_CFG_LOG_RATE_NAME, text[0]);
  eg_freeze(EG_CFG_LOG_RATE_WINDOW_S_NAME, text[1]);
}

static void do_init(void) {
  eg_child_env_reset(); /* a fork may have interrupted an earlier init */
  struct eg_settings cfg;
  eg_settings_read(&cfg, env); /* the configuration rule: config.h */
  if (cfg.mode == EG_MODE_OFF) {
    eg.mode = EG_MODE_OFF;
    return; /* off disables everything: no file is opened, no line is written, nothing is frozen */
  }
  if (cfg.log_dest == EG_CFG_LOG_STDERR) eg.log_to_stderr = 1;
  else if (cfg.log_dest == EG_CFG_PATH) copy_env(eg.log_path, sizeof eg.log_path, cfg.log_path);
  eg.mode = cfg.mode >= 0 ? cfg.mode : EG_MODE_ENFORCE; /* provisional until the policy is read */
  eg.level = EG_LEVEL_ALL;                              /* provisional: errors during init are logged */
  eg_log_open();
  eg_agent_spawn(); /* may point AWS_LAMBDA_RUNTIME_API at the agent: before it is read below */
  const char *agent = getenv("EGRESS_GUARD_AGENT");
  eg_freeze("EGRESS_GUARD_AGENT", agent && agent[0] ? agent : NULL);
  char abs[PATH_MAX];
  eg_freeze(EG_CFG_LOG_NAME, eg.log_to_stderr ? "stderr" : eg.log_path[0] ? absolute(eg.log_path, abs) : "off");

  struct egp_error err;
  eg_freeze(EG_CFG_VERIFY_NAME, cfg.verify_full ? "full" : NULL);
  int replaced;
  eg.policy_ok = load_policy(cfg.policy_path, cfg.verify_full, &err, &replaced);
  if (eg.policy_ok && cfg.mode < 0) eg.mode = (eg.policy.flags & EGP_FLAG_ENFORCE) ? EG_MODE_ENFORCE : EG_MODE_AUDIT;
  if (cfg.mode_invalid) {
    eg.policy_ok = 0; /* fail closed: nothing but loopback and the built-ins */
    eg_log_policy_error(EG_CFG_MODE_ERROR, NULL, EG_CFG_MODE_INVALID_MSG, 1, 0, 0, 0);
  } else if (replaced) {
    eg_log_policy_error("E_POLICY_REPLACED", eg.policy_path,
                        "the policy file is not the one the parent process loaded (EGRESS_GUARD_POLICY_ID)",
                        eg.mode == EG_MODE_ENFORCE, 0, 0, 0);
  } else if (!eg.policy_ok) {
    eg_log_policy_error(egp_err_code(err.code), eg.policy_path[0] ? eg.policy_path : NULL, err.what,
                        eg.mode == EG_MODE_ENFORCE, err.expected, err.got, egp_err_has_expected(err.code));
  }
  /* an invalid mode is passed on as it was written, so children fail closed the same way */
  eg_freeze(EG_CFG_MODE_NAME, cfg.mode_invalid ? getenv(EG_CFG_MODE_NAME) : mode_name(eg.mode));
  eg.level = eg_settings_level(&cfg, eg.mode == EG_MODE_ENFORCE);
  if (cfg.log_level_invalid)
    eg_log_policy_error(EG_CFG_LOG_LEVEL_ERROR, NULL, EG_CFG_LOG_LEVEL_INVALID_MSG, 0, 0, 0, 0);
  if (cfg.verify_invalid) eg_log_policy_error(EG_CFG_VERIFY_ERROR, NULL, EG_CFG_VERIFY_INVALID_MSG, 0, 0, 0, 0);
  eg_freeze(EG_CFG_LOG_LEVEL_NAME, level_name(eg.level));
  log_rate();

  endpoint("AWS_LAMBDA_RUNTIME_API", &eg.runtime_api, 0);
  endpoint("EGRESS_GUARD_UPSTREAM_API", &eg.runtime_upstream, 0);
  endpoint("AWS_XRAY_DAEMON_ADDRESS", &eg.xray, 1);
  eg_fd_own();
  const char *state = eg_cfg_path(getenv(EG_CFG_STATE_NAME)); /* read after eg_agent_spawn(), which may set it */
  eg_state_open(state);
  eg_budget_init();
  eg_freeze(EG_CFG_STATE_NAME, state ? absolute(state, abs) : NULL);

  freeze_preload();
}

void eg_init_slow(void) {
  int s = 0;
  /* the re-entry guard goes up BEFORE the state does: a signal handler that runs a hook on this thread while it
   * initialises must pass straight through, never wait for an init that cannot finish until the handler returns */
  eg_enter();
  if (__atomic_compare_exchange_n(&eg_init_state, &s, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
    static int atfork_done;
    if (!atfork_done) {
      atfork_done = 1;
      pthread_atfork(NULL, NULL, atfork_child);
    }
    do_init();
    __atomic_store_n(&eg_init_state, 2, __ATOMIC_RELEASE);
    eg_leave();
    return;
  }
  eg_leave();
  while (__atomic_load_n(&eg_init_state, __ATOMIC_ACQUIRE) != 2) {
    if (__atomic_load_n(&eg_init_state, __ATOMIC_ACQUIRE) == 0) { /* reset by a fork in the child: retry */
      eg_init_slow();
      return;
    }
    sched_yield();
  }
}

__attribute__((constructor)) static void eg_constructor(void) { eg_init(); }
