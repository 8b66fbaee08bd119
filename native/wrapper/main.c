/*
 * egress-guard exec wrapper: AWS_LAMBDA_EXEC_WRAPPER=/opt/egress-guard/wrapper (docs/DEPLOY.md "The exec wrapper").
 *
 *   wrapper <runtime command…>
 *
 * Contract (test/layer/wrapper.test.ts, test/contracts/config-rule.test.ts):
 * - Lambda starts the managed runtime as `wrapper <runtime command…>`; the wrapper may change the environment and
 *   must exec the command (docs/LAMBDA.md, "Exec wrapper and LD_PRELOAD"). Arguments pass through untouched; the
 *   command is found as `exec "$@"` finds it (a name without a slash is looked up on PATH, /bin:/usr/bin when PATH
 *   is unset; a file the kernel cannot execute is run by /bin/sh). With no command it exits 0.
 * - Cheap: a statically linked program without libc (rt.h says why), a handful of system calls; it prints nothing on
 *   the happy path and runs no other program.
 * - A problem is one pino-style JSON line on stderr (event "wrapper", a stable `error` code):
 *     E_WRAPPER_LIB_MISSING  the library is not in the layer: the runtime still starts unguarded (fail-open) unless
 *                            the mode is enforce (or invalid, which counts as enforce): then exit 78, so no
 *                            invocation runs unguarded (fail closed);
 *     E_WRAPPER_EXEC         the command (or the next wrapper) could not be executed: exit 127 when it was not
 *                            found, else 126 (the shell's statuses for the same failures).
 * - Environment it sets:
 *   LD_PRELOAD             <root>/lib/libegressguard.so prepended once (absolute path; idempotent: already one of
 *                          the entries → kept where it is). The entries are rewritten with ld.so's ':' separator
 *                          (ld.so also accepts spaces), the operator's order kept. The library's constructor, in the
 *                          runtime process, starts <root>/bin/egress-guard-agent (the Runtime API proxy that meters
 *                          every invoke) and points AWS_LAMBDA_RUNTIME_API at it (docs/METERING.md "How the agent
 *                          starts"). The handler (_HANDLER) is never touched.
 *   EGRESS_GUARD_POLICY    unless set: $LAMBDA_TASK_ROOT/egress-policy.egp if that file is readable (the function's
 *                          own package), else <root>/policy.egp if the layer ships a default.
 *   EGRESS_GUARD_MODE      by the configuration rule of contracts/config.yaml (src/config.c over the generated
 *                          words): a valid value is passed on in its canonical spelling, a blank one is removed; an
 *                          invalid one is passed on untouched, so the interposer reaches the same verdict (enforce,
 *                          failing closed) and reports it. Mode off: nothing is changed except the chaining.
 * - Chaining: EGRESS_GUARD_NEXT_WRAPPER (e.g. /opt/otel-instrument) is exec'd with the runtime command instead of the
 *   command itself, so a wrapper that was configured before ours still runs (one wrapper slot per function). The
 *   variable is removed first; naming this wrapper itself (the same path as argv[0], or the same file) is ignored.
 * - <root> is /opt/egress-guard. EGRESS_GUARD_OPT replaces the /opt prefix: for local runs only (`npm run demo`,
 *   tests); never set it in a deployed function.
 * - Being static, the wrapper never loads the interposer itself, even when LD_PRELOAD already names it (and a guarded
 *   process that execs it logs it as `uncovered`, docs/LOGGING.md: Lambda's own start of it is not guarded).
 * - The environment is read from the process's start (envp), changed in a copy, and passed to execve.
 */
#include <linux/errno.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "rt.h"

#define EXIT_LIB_MISSING 78
#define PATH_CAP 4096
#define R_OK_MODE 4 /* access(2)'s R_OK */
#define DEFAULT_PATH "/bin:/usr/bin"

/* The environment being built: entries "NAME=value", n of cap used, NULL-terminated when handed to execve. */
struct env {
  char **v;
  size_t n, cap;
};

/* 1 when entry is "name=…". */
static int is_named(const char *entry, const char *name) {
  while (*name != '\0' && *entry == *name) entry++, name++;
  return *name == '\0' && *entry == '=';
}

/* Index of the first entry named name, or -1. */
static long env_find(const struct env *e, const char *name) {
  for (size_t i = 0; i < e->n; i++)
    if (is_named(e->v[i], name)) return (long)i;
  return -1;
}

static const char *env_get(const struct env *e, const char *name) {
  long i = env_find(e, name);
  return i < 0 ? NULL : e->v[i] + strlen(name) + 1;
}

/* Removes every entry named name but the one at index keep (keep = -1: every one). */
static void env_drop(struct env *e, const char *name, long keep) {
  size_t o = 0;
  for (size_t i = 0; i < e->n; i++) {
    if ((long)i != keep && is_named(e->v[i], name)) continue;
    e->v[o++] = e->v[i];
  }
  e->n = o;
  e->v[e->n] = NULL;
}

static char *concat(const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
  char *s = rt_alloc(la + lb + lc + 1);
  if (s == NULL) return NULL;
  memcpy(s, a, la);
  memcpy(s + la, b, lb);
  memcpy(s + la + lb, c, lc);
  s[la + lb + lc] = '\0';
  return s;
}

/* name=value in place of the first entry named name (the others removed), or appended. 0 when out of memory. */
static int env_set(struct env *e, const char *name, const char *value) {
  char *entry = concat(name, "=", value);
  if (entry == NULL) return 0;
  long i = env_find(e, name);
  if (i >= 0) {
    e->v[i] = entry;
    env_drop(e, name, i);
  } else {
    e->v[e->n++] = entry; /* cap leaves room for every variable this program sets */
    e->v[e->n] = NULL;
  }
  return 1;
}

static const char *err_name(long err) {
  switch (err) {
  case ENOENT: return "ENOENT: no such file or directory";
  case EACCES: return "EACCES: permission denied";
  case ENOEXEC: return "ENOEXEC: exec format error";
  case ENOTDIR: return "ENOTDIR: not a directory";
  case E2BIG: return "E2BIG: argument list too long";
  case ENOMEM: return "ENOMEM: out of memory";
  case ELOOP: return "ELOOP: too many levels of symbolic links";
  case ENAMETOOLONG: return "ENAMETOOLONG: file name too long";
  case ETXTBSY: return "ETXTBSY: text file busy";
  default: return "error";
  }
}

/* One JSON line on stderr (never stdout: Lambda's stdout is the function's log stream). Failure paths only. The
 * message is the concatenation of parts (NULL ends the list early). */
static void fail_line(const char *code, const char *a, const char *b, const char *c, const char *d) {
  char msg[PATH_CAP + 256];
  size_t n = 0;
  const char *part[] = {a, b, c, d};
  for (size_t p = 0; p < 4 && part[p] != NULL; p++) {
    size_t l = strlen(part[p]);
    if (l > sizeof msg - n) l = sizeof msg - n;
    memcpy(msg + n, part[p], l);
    n += l;
  }
  char line[sizeof msg * 2 + 256];
  struct jbuf j;
  jb_init(&j, line, sizeof line);
  jb_u64(&j, "level", 50);
  jb_u64(&j, "time", rt_realtime_ms());
  jb_u64(&j, "pid", (uint64_t)rt_getpid());
  jb_str(&j, "name", "egress-guard", 12);
  jb_str(&j, "event", "wrapper", 7);
  jb_str(&j, "error", code, strlen(code));
  jb_str(&j, "msg", msg, n);
  size_t len = jb_finish(&j);
  for (size_t off = 0; off < len;) {
    long w = rt_write(2, line + off, len - off);
    if (w == -EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
}

static int readable(const char *path) { return path != NULL && rt_faccessat(path, R_OK_MODE) == 0; }

static int is_sep(char ch) { return ch == ':' || ch == ' '; }

/*
 * LD_PRELOAD with lib in it once: the existing entries (split at ':' and ' ', as ld.so splits them; empty ones
 * dropped) joined with ':', lib prepended unless one of them is lib. NULL when out of memory.
 */
static char *preload_with(const char *old, const char *lib) {
  size_t ll = strlen(lib), ol = old ? strlen(old) : 0;
  char *out = rt_alloc(ll + ol + 2);
  if (out == NULL) return NULL;
  size_t n = 0;
  int found = 0;
  for (size_t i = 0; i < ol;) {
    while (i < ol && is_sep(old[i])) i++;
    size_t s = i;
    while (i < ol && !is_sep(old[i])) i++;
    if (i == s) break;
    if (i - s == ll && memcmp(old + s, lib, ll) == 0) found = 1;
    if (n > 0) out[n++] = ':';
    memcpy(out + n, old + s, i - s);
    n += i - s;
  }
  out[n] = '\0';
  if (!found) {
    memmove(out + ll + (n > 0), out, n + 1);
    memcpy(out, lib, ll);
    if (n > 0) out[ll] = ':';
  }
  return out;
}

/* 1 when next names this program: the path it was started by, or the same file. */
static int is_self(const char *next, const char *argv0) {
  if (argv0 != NULL && rt_streq(next, argv0)) return 1;
  uint64_t d1, i1, d2, i2;
  return rt_stat_id(next, &d1, &i1) == 0 && rt_stat_id("/proc/self/exe", &d2, &i2) == 0 && d1 == d2 && i1 == i2;
}

/* execve, and for a file the kernel does not recognise (ENOEXEC), /bin/sh running it, as execvp does. */
static long exec_file(const char *path, char **argv, char **envp) {
  long r = rt_execve(path, argv, envp);
  if (r != -ENOEXEC) return r;
  size_t n = 0;
  while (argv[n] != NULL) n++;
  char **sh = rt_alloc((n + 2) * sizeof *sh);
  if (sh == NULL) return r;
  sh[0] = "/bin/sh";
  sh[1] = (char *)path;
  for (size_t i = 1; i <= n; i++) sh[i + 1] = argv[i];
  rt_execve(sh[0], sh, envp);
  return r;
}

/* execvp's search: a name with a slash as given, else each PATH directory in turn (an empty one is the working
 * directory). Returns only on failure: -EACCES when some candidate was not executable, else the last error. */
static long exec_search(char **argv, char **envp, const char *path) {
  const char *file = argv[0];
  if (rt_strchr(file, '/') != NULL) return exec_file(file, argv, envp);
  if (*file == '\0') return -ENOENT;
  size_t fl = strlen(file);
  int eacces = 0;
  long r = -ENOENT;
  for (const char *p = path != NULL ? path : DEFAULT_PATH;;) {
    const char *end = rt_strchr(p, ':');
    size_t dl = end != NULL ? (size_t)(end - p) : strlen(p);
    char cand[PATH_CAP];
    if (dl + 1 + fl < sizeof cand) {
      memcpy(cand, p, dl);
      size_t o = dl;
      if (dl > 0) cand[o++] = '/';
      memcpy(cand + o, file, fl + 1);
      r = exec_file(cand, argv, envp);
      if (r == -EACCES) eacces = 1;
      else if (r != -ENOENT && r != -ENOTDIR && r != -ESTALE && r != -ENODEV && r != -ETIMEDOUT) return r;
    }
    if (end == NULL) break;
    p = end + 1;
  }
  return eacces ? -EACCES : r;
}

int wr_main(int argc, char **argv, char **envp) {
  size_t n = 0;
  while (envp[n] != NULL) n++;
  struct env e = {rt_alloc((n + 4) * sizeof(char *)), n, n + 4}; /* + MODE, LD_PRELOAD, POLICY and the NULL */
  if (e.v == NULL) return 126;
  memcpy(e.v, envp, (n + 1) * sizeof(char *));

  const char *opt = env_get(&e, EG_CFG_OPT_NAME);
  char *root = concat(opt != NULL && *opt != '\0' ? opt : EG_CFG_OPT_DEFAULT, "/egress-guard", "");
  if (root == NULL) return 126;

  /* The chain target (another product's wrapper) is decided first; it applies even when the guard is off. */
  const char *next = env_get(&e, EG_CFG_NEXT_WRAPPER_NAME);
  if (next != NULL && *next == '\0') next = NULL;
  env_drop(&e, EG_CFG_NEXT_WRAPPER_NAME, -1);
  if (next != NULL && is_self(next, argc > 0 ? argv[0] : NULL)) next = NULL; /* chaining to ourselves would loop */

  /* The mode by the configuration rule. */
  static const char *const modes[] = {EG_CFG_MODE_WORDS};
  int mode = eg_cfg_word(env_get(&e, EG_CFG_MODE_NAME), modes, EG_CFG_MODE_NWORDS);
  if (mode == EG_CFG_INVALID) {
    mode = EG_CFG_MODE_INVALID_USE; /* passed on untouched: the interposer reports it */
  } else if (mode == EG_CFG_UNSET) {
    env_drop(&e, EG_CFG_MODE_NAME, -1);
  } else if (!env_set(&e, EG_CFG_MODE_NAME, modes[mode])) {
    return 126;
  }

  if (mode != EG_CFG_MODE_OFF) {
    /* The interposer, once, by absolute path (relative paths break after chdir). */
    char *lib = concat(root, "/lib/libegressguard.so", "");
    if (lib == NULL) return 126;
    if (readable(lib)) {
      char *pre = preload_with(env_get(&e, "LD_PRELOAD"), lib);
      if (pre == NULL || !env_set(&e, "LD_PRELOAD", pre)) return 126;
    } else {
      fail_line("E_WRAPPER_LIB_MISSING", "egress-guard: ", lib,
                " is missing: add the egress-guard layer for this function's architecture", NULL);
      if (mode == EG_CFG_MODE_ENFORCE) return EXIT_LIB_MISSING; /* an invalid mode counts as enforce */
    }

    /* The compiled policy: explicit > the function's own package > the layer's default. */
    const char *policy = env_get(&e, EG_CFG_POLICY_NAME);
    if (policy == NULL || *policy == '\0') {
      const char *task = env_get(&e, "LAMBDA_TASK_ROOT");
      char *own = task != NULL && *task != '\0' ? concat(task, "/egress-policy.egp", "") : NULL;
      char *dflt = concat(root, "/policy.egp", "");
      const char *found = readable(own) ? own : readable(dflt) ? dflt : NULL;
      if (found != NULL && !env_set(&e, EG_CFG_POLICY_NAME, found)) return 126;
    }
  }

  /* Hand over: the command, or the next wrapper with the command as its arguments. */
  char **cmd = argc > 0 ? argv + 1 : argv;
  if (next != NULL) {
    char **with = rt_alloc(((size_t)(argc > 0 ? argc : 1) + 1) * sizeof *with);
    if (with == NULL) return 126;
    with[0] = (char *)next;
    for (int i = 1; i <= argc; i++) with[i] = argv[i]; /* argv[argc] is the NULL */
    if (argc == 0) with[1] = NULL;
    cmd = with;
  } else if (cmd[0] == NULL) {
    return 0; /* `exec` with nothing to run */
  }
  long r = exec_search(cmd, e.v, env_get(&e, "PATH"));
  fail_line("E_WRAPPER_EXEC", "egress-guard: cannot execute ", cmd[0], ": ", err_name(-r));
  return r == -ENOENT || r == -ENOTDIR ? 127 : 126;
}
