/*
 * init.c — configuration from the environment and one-time initialisation (docs/INTERPOSER.md "Configuration").
 *
 * Contract: eg_init() is called at the top of every hook (another library's constructor may call connect or
 * getaddrinfo before our constructor runs) and by our constructor. The first caller runs eg_init_slow() with the
 * re-entry guard raised; concurrent callers wait (sched_yield) until it finishes — it does a bounded amount of work:
 * getenv, open/pread/mmap of the policy and state files, a few log lines at most. After it, `eg` is immutable.
 * Fork: pthread_atfork's child handler resets an init interrupted by fork in another thread, clears half-written
 * binding entries and the log dedupe set ("once per process" starts again in the child).
 *
 * Environment (contracts/config.yaml lists every variable; config.h applies the one configuration rule: words are
 * compared trimmed and case-insensitively, blank = unset):
 *   EGRESS_GUARD_MODE     audit | enforce | off — overrides the file's ENFORCE flag. Anything else is a config error:
 *                         enforce + fail closed, with one E_CONFIG_MODE line. Unset + no valid policy: enforce.
 *   EGRESS_GUARD_POLICY   path of the compiled policy. Unset/missing/invalid: one `policy` error line; enforce
 *                         fails closed, audit fails open.
 *   EGRESS_GUARD_LOG      stderr (default) | off | a file path (opened O_APPEND|O_CREAT, 0644).
 *   EGRESS_GUARD_LOG_LEVEL all | allow | deny | off; default allow in audit, deny in enforce (invalid: the default
 *                         and one E_CONFIG_LOG_LEVEL warning).
 *   EGRESS_GUARD_STATE    path of the shared state file (docs/STATE.md); unset = none.
 *   EGRESS_GUARD_VERIFY   full = check the body CRC of policies above 1 MiB too (invalid: auto, E_CONFIG_VERIFY).
 *   AWS_LAMBDA_RUNTIME_API, AWS_XRAY_DAEMON_ADDRESS: endpoints that always pass; so does EGRESS_GUARD_UPSTREAM_API,
 *                         the real Runtime API behind the agent (agent_spawn.c starts the agent first, here).
 *   EGRESS_GUARD_AGENT    off | an absolute path of egress-guard-agent (agent_spawn.c).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "fdtab.h"
#include "guard.h"

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
}

static void copy_env(char *dst, size_t cap, const char *v) {
  size_t n = v ? strlen(v) : 0;
  if (n >= cap) n = 0; /* absurdly long: treated as unset; reported by the caller */
  if (n) memcpy(dst, v, n);
  dst[n] = '\0';
}

/* X-Ray: "host:port" (UDP traces and TCP sampling both go there) or "tcp:host:port udp:host:port". */
static void parse_xray(const char *v) {
  if (v == NULL) return;
  const char *u = strstr(v, "udp:");
  if (u != NULL) {
    char tmp[320];
    size_t n = strcspn(u + 4, " ");
    if (n < sizeof tmp) {
      memcpy(tmp, u + 4, n);
      tmp[n] = '\0';
      if (eg_parse_endpoint(tmp, &eg.xray) == 0) eg.xray.protos = EGP_PROTO_UDP | EGP_PROTO_TCP;
    }
    return;
  }
  if (eg_parse_endpoint(v, &eg.xray) == 0) eg.xray.protos = EGP_PROTO_UDP | EGP_PROTO_TCP;
}

static const char *env(const char *name) { return getenv(name); }

static void do_init(void) {
  struct eg_settings cfg;
  eg_settings_read(&cfg, env); /* the configuration rule: config.h */
  if (cfg.mode == EG_MODE_OFF) {
    eg.mode = EG_MODE_OFF;
    return; /* off disables everything: no file is opened, no line is written */
  }
  if (cfg.log_dest == EG_CFG_LOG_STDERR) eg.log_to_stderr = 1;
  else if (cfg.log_dest == EG_CFG_PATH) copy_env(eg.log_path, sizeof eg.log_path, cfg.log_path);
  eg.mode = cfg.mode >= 0 ? cfg.mode : EG_MODE_ENFORCE; /* provisional until the policy is read */
  eg.level = EG_LEVEL_ALL;                               /* provisional: errors during init are logged */
  eg_log_open();
  eg_agent_spawn(); /* may point AWS_LAMBDA_RUNTIME_API at the agent: before it is read below */

  copy_env(eg.policy_path, sizeof eg.policy_path, cfg.policy_path);
  struct egp_error err;
  eg.policy_ok = egp_open(&eg.policy, eg.policy_path, cfg.verify_full, &err) == 0;
  if (eg.policy_ok && cfg.mode < 0)
    eg.mode = (eg.policy.flags & EGP_FLAG_ENFORCE) ? EG_MODE_ENFORCE : EG_MODE_AUDIT;
  if (cfg.mode_invalid) {
    eg.policy_ok = 0; /* fail closed: nothing but loopback and the built-ins */
    eg_log_policy_error(EG_CFG_MODE_ERROR, NULL, EG_CFG_MODE_INVALID_MSG, 1, 0, 0, 0);
  } else if (!eg.policy_ok) {
    eg_log_policy_error(egp_err_code(err.code), eg.policy_path[0] ? eg.policy_path : NULL, err.what,
                        eg.mode == EG_MODE_ENFORCE, err.expected, err.got, egp_err_has_expected(err.code));
  }
  eg.level = eg_settings_level(&cfg, eg.mode == EG_MODE_ENFORCE);
  if (cfg.log_level_invalid)
    eg_log_policy_error(EG_CFG_LOG_LEVEL_ERROR, NULL, EG_CFG_LOG_LEVEL_INVALID_MSG, 0, 0, 0, 0);
  if (cfg.verify_invalid) eg_log_policy_error(EG_CFG_VERIFY_ERROR, NULL, EG_CFG_VERIFY_INVALID_MSG, 0, 0, 0, 0);

  if (eg_parse_endpoint(getenv("AWS_LAMBDA_RUNTIME_API"), &eg.runtime_api) == 0) eg.runtime_api.protos = EGP_PROTO_TCP;
  if (eg_parse_endpoint(getenv("EGRESS_GUARD_UPSTREAM_API"), &eg.runtime_upstream) == 0)
    eg.runtime_upstream.protos = EGP_PROTO_TCP;
  parse_xray(getenv("AWS_XRAY_DAEMON_ADDRESS"));
  eg_fd_own();
  eg_state_open(eg_cfg_path(getenv(EG_CFG_STATE_NAME))); /* read after eg_agent_spawn(), which may set it */
  eg_budget_init();

  Dl_info self;
  const char *base = "libegressguard";
  if (dladdr((void *)(uintptr_t)&do_init, &self) != 0 && self.dli_fname != NULL) {
    const char *slash = strrchr(self.dli_fname, '/');
    base = slash ? slash + 1 : self.dli_fname;
  }
  copy_env(eg.self_name, sizeof eg.self_name, base);
  const char *pre = getenv("LD_PRELOAD");
  eg.preloaded_by_env = pre != NULL && eg.self_name[0] != '\0' && strstr(pre, eg.self_name) != NULL;
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
