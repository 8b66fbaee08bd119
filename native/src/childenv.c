/*
 * childenv.c — the environment every child of a guarded process gets: the parent's EFFECTIVE guard settings,
 * whatever environment the program handed to exec/spawn (docs/INTERPOSER.md "Children keep the guard").
 *
 * Contract:
 * - While init.c reads the environment it calls eg_freeze(name, value) once per setting, with the value that makes a
 *   child compute the same effective setting (NULL: the child must not have the variable at all), and
 *   eg_freeze_preload() with this library's absolute path and the entries the operator preloaded before it. After
 *   init nothing recorded here changes, so exec-time readers need no lock (torsocks' "immutable after init").
 * - eg_child_env(envp, mem) returns the environment to hand to the kernel: every entry of envp (NULL = empty) except
 *   those naming a guarded variable (eg_guarded_name(); duplicates and entries without '=' included), then the frozen
 *   entries, then the descriptor-based entries rendered now (eg_render_inherited(): their numbers can change after
 *   init, see log.c), then LD_PRELOAD = <operator's earlier preloads> : <this library> : <envp's other preloads, minus
 *   anything named libegressguard*>. So a child cannot switch the mode off, lower the log level, point at another
 *   policy, preload a decoy or a library that would shadow the hooks, or redefine the always-allowed endpoints.
 * - In mode off nothing was frozen: envp is returned unchanged (the operator's back-out: docs/INTERPOSER.md).
 * - Memory: the caller's `struct eg_envmem` (on its stack) when everything fits, else one anonymous mapping that
 *   eg_child_env_release() unmaps. No malloc, no lock, no stdio: safe in a vfork() child and in a signal handler
 *   (execve is async-signal-safe; so is this). When the mapping fails the result is NULL with errno ENOMEM and the
 *   caller fails the exec: a child never starts with an environment the guard did not write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "config.h"
#include "guard.h"

/* Every variable a child gets from its parent's effective settings (and never from the environment it is handed).
 * LD_PRELOAD is composed separately. Keep in sync with init.c (each name is frozen there) and docs/INTERPOSER.md. */
static const char *const guarded[] = {
    "LD_PRELOAD",
    EG_CFG_MODE_NAME,
    EG_CFG_POLICY_NAME,
    EG_CFG_POLICY_ID_NAME,
    EG_CFG_LOG_NAME,
    EG_CFG_LOG_FD_NAME,
    EG_CFG_LOG_LEVEL_NAME,
    EG_CFG_LOG_RATE_NAME,
    EG_CFG_LOG_RATE_WINDOW_S_NAME,
    EG_CFG_STATE_NAME,
    EG_CFG_VERIFY_NAME,
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_XRAY_DAEMON_ADDRESS",
    "EGRESS_GUARD_UPSTREAM_API",
    "EGRESS_GUARD_AGENT",
};
#define N_GUARDED (sizeof guarded / sizeof guarded[0])

#define FROZEN_BYTES 8192
static char frozen_buf[FROZEN_BYTES];
static size_t frozen_used;
static const char *frozen[N_GUARDED];
static size_t n_frozen;
static int frozen_any; /* 1 once init froze something: the guard is active */

/* "LD_PRELOAD=<before>:<self>" — what every child's LD_PRELOAD starts with. */
static char preload_head[2 * EG_PATH_MAX + 16];
static size_t preload_head_len;

int eg_guarded_name(const char *entry) {
  size_t n = strcspn(entry, "=");
  for (size_t i = 0; i < N_GUARDED; i++)
    if (strlen(guarded[i]) == n && memcmp(entry, guarded[i], n) == 0) return 1;
  return 0;
}

static const char *store(const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
  if (frozen_used + la + lb + lc + 1 > FROZEN_BYTES) return NULL;
  char *p = frozen_buf + frozen_used;
  memcpy(p, a, la);
  memcpy(p + la, b, lb);
  memcpy(p + la + lb, c, lc + 1);
  frozen_used += la + lb + lc + 1;
  return p;
}

void eg_child_env_reset(void) {
  frozen_used = 0;
  n_frozen = 0;
  frozen_any = 0;
  preload_head_len = 0;
}

int eg_freeze(const char *name, const char *value) {
  frozen_any = 1;
  if (value == NULL) return 0;
  if (n_frozen >= N_GUARDED) return -1;
  const char *e = store(name, "=", value);
  if (e == NULL) return -1;
  frozen[n_frozen++] = e;
  return 0;
}

int eg_freeze_preload(const char *before, const char *self) {
  frozen_any = 1;
  size_t lb = strlen(before), ls = strlen(self);
  if (ls == 0 || strpbrk(self, ": \t") != NULL) return -1; /* ld.so could not read it back: cannot be named */
  if (11 + lb + 1 + ls + 1 > sizeof preload_head) return -1;
  char *p = preload_head;
  memcpy(p, "LD_PRELOAD=", 11), p += 11;
  if (lb) memcpy(p, before, lb), p += lb, *p++ = ':';
  memcpy(p, self, ls + 1);
  preload_head_len = 11 + (lb ? lb + 1 : 0) + ls;
  return 0;
}

int eg_child_env_active(void) { return frozen_any; }
int eg_child_preload_known(void) { return preload_head_len > 0; }

/* 1 when the LD_PRELOAD entry [s, s+n) names some copy of the guard (ours, a decoy, another layer's). */
static int is_guard_entry(const char *s, size_t n) {
  const char *base = s;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '/') base = s + i + 1;
  size_t bl = (size_t)(s + n - base);
  return bl >= 14 && memcmp(base, "libegressguard", 14) == 0;
}

/* 1 when [s, s+n) is one of the ':'-separated entries of preload_head (after "LD_PRELOAD="). */
static int in_head(const char *s, size_t n) {
  const char *p = preload_head + 11, *end = preload_head + preload_head_len;
  while (p < end) {
    const char *c = memchr(p, ':', (size_t)(end - p));
    size_t l = c ? (size_t)(c - p) : (size_t)(end - p);
    if (l == n && memcmp(p, s, n) == 0) return 1;
    p += l + 1;
  }
  return 0;
}

/* Appends envp's LD_PRELOAD entries that are neither a guard nor already in the head to out (each after a ':');
 * returns bytes written. ld.so splits LD_PRELOAD on ':' and ' ' (rtld.c); tabs are treated the same, to be strict. */
static size_t append_others(char *out, const char *list) {
  size_t n = 0;
  while (*list) {
    size_t skip = strspn(list, ": \t");
    list += skip;
    size_t len = strcspn(list, ": \t");
    if (len == 0) break;
    if (!is_guard_entry(list, len) && !in_head(list, len)) {
      if (out) out[n] = ':', memcpy(out + n + 1, list, len);
      n += len + 1;
    }
    list += len;
  }
  return n;
}

char *const *eg_child_env(char *const envp[], struct eg_envmem *mem) {
  mem->map = NULL;
  mem->map_len = 0;
  if (!eg_child_env_active()) return envp;
  size_t n = 0;
  const char *given_preload = "";
  if (envp != NULL)
    for (; envp[n] != NULL; n++)
      if (strncmp(envp[n], "LD_PRELOAD=", 11) == 0) given_preload = envp[n] + 11; /* the last one, as ld.so reads */

  char inherited[EG_INHERITED_MAX][EG_INHERITED_LEN];
  size_t n_inherited = eg_render_inherited(inherited);

  size_t inherited_bytes = 0;
  for (size_t i = 0; i < n_inherited; i++) inherited_bytes += strlen(inherited[i]) + 1;
  size_t preload_len = preload_head_len + append_others(NULL, given_preload) + 1;
  size_t slots = n + n_frozen + n_inherited + 2;
  size_t need = slots * sizeof(char *) + preload_len + inherited_bytes;
  char *base = mem->stack;
  if (need > sizeof mem->stack) {
    size_t len = (need + 4095) & ~(size_t)4095;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      errno = ENOMEM;
      return NULL;
    }
    mem->map = m;
    mem->map_len = len;
    base = m;
  }
  char **out = (char **)(void *)base;
  char *preload = base + slots * sizeof(char *);
  memcpy(preload, preload_head, preload_head_len);
  size_t pl = preload_head_len + append_others(preload + preload_head_len, given_preload);
  preload[pl] = '\0';

  /* without a name for this library (eg_freeze_preload failed), the given LD_PRELOAD is all a child can have */
  int keep_preload = preload_head_len == 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!eg_guarded_name(envp[i]) || (keep_preload && strncmp(envp[i], "LD_PRELOAD=", 11) == 0)) out[k++] = envp[i];
  for (size_t i = 0; i < n_frozen; i++) out[k++] = (char *)frozen[i];
  /* the rendered entries live in this frame: copy them after the preload string (counted in `need`) */
  char *tail = preload + pl + 1;
  for (size_t i = 0; i < n_inherited; i++) {
    size_t l = strlen(inherited[i]) + 1;
    memcpy(tail, inherited[i], l);
    out[k++] = tail;
    tail += l;
  }
  if (!keep_preload) out[k++] = preload;
  out[k] = NULL;
  return out;
}

void eg_child_env_release(struct eg_envmem *mem) {
  if (mem->map != NULL) {
    int saved = errno;
    munmap(mem->map, mem->map_len);
    errno = saved;
    mem->map = NULL;
  }
}
