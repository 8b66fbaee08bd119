/*
 * config.c — the agent's configuration from its environment (docs/METERING.md "Configuration"). The spawner
 * (native/src/agent_spawn.c) gives the agent the runtime's environment with EGRESS_GUARD_UPSTREAM_API added.
 *
 *   EGRESS_GUARD_UPSTREAM_API      host:port of the real Runtime API (required)
 *   EGRESS_GUARD_POLICY            compiled policy: mode and budgets from its header (same reader as the interposer)
 *   EGRESS_GUARD_MODE              audit | enforce | off (anything else is enforce: the interposer fails closed and
 *                                  logs E_CONFIG_MODE)
 *   EGRESS_GUARD_LOG               stderr (default) | off | a file path (appended)
 *   EGRESS_GUARD_STATE             the invoke state file (the spawner always sets it)
 *   EGRESS_GUARD_INTERFACES[_EXCLUDE]  comma lists of names or `*` globs (default: all but lo)
 *   EGRESS_GUARD_METRICS           off drops the EMF line;  EGRESS_GUARD_METRICS_NAMESPACE (default EgressGuard)
 *   EGRESS_GUARD_SAMPLE_MS         shortest interval between the armed sampler's looks, 1–1000 (default 1)
 *   EGRESS_GUARD_TIMEOUT_MARGIN_MS an invoke still running this long before its deadline is reported as timed out
 *                                  (default 50; the runtime is killed at the deadline)
 *   AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_MAX_CONCURRENCY (> 1: Lambda Managed Instances, every invoke concurrent)
 * Every value is read by the configuration rule shared with the interposer and the proxy (src/config.h,
 * contracts/config.yaml: case and blanks around a word ignored). A malformed option falls back to its default with
 * one warning (cfg.warn); metering never stops a function.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "egp.h"

struct ag_config cfg;

static void warn(const char *what) {
  size_t n = strlen(cfg.warn);
  if (n + strlen(what) + 3 >= sizeof cfg.warn) return;
  if (n) memcpy(cfg.warn + n, "; ", 2), n += 2;
  memcpy(cfg.warn + n, what, strlen(what) + 1);
}

static void copy(char *dst, size_t cap, const char *v) {
  size_t n = v ? strlen(v) : 0;
  if (n >= cap) n = cap - 1;
  if (n) memcpy(dst, v, n);
  dst[n] = '\0';
}

/* An int variable by the configuration rule (src/config.h): its value, or its default with one warning. */
static uint64_t number(const char *name, long def, long min, long max, const char *invalid_msg) {
  long n;
  if (eg_cfg_int(getenv(name), min, max, &n) == 1) return (uint64_t)n;
  if (!eg_cfg_blank(getenv(name))) warn(invalid_msg);
  return (uint64_t)def;
}

static const char *env(const char *name) { return getenv(name); }

/* "host:port" or "[v6]:port" → cfg.up_addr. */
static int resolve_upstream(const char *s) {
  char host[256];
  const char *colon = strrchr(s, ':');
  if (colon == NULL || colon == s) return -1;
  const char *h = s, *he = colon;
  if (*h == '[') {
    if (he[-1] != ']') return -1;
    h++, he--;
  }
  if ((size_t)(he - h) >= sizeof host) return -1;
  memcpy(host, h, (size_t)(he - h));
  host[he - h] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) return -1;
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  char ps[8];
  snprintf(ps, sizeof ps, "%ld", port);
  if (getaddrinfo(host, ps, &hints, &ai) != 0 || ai == NULL) return -1;
  memcpy(&cfg.up_addr, ai->ai_addr, ai->ai_addrlen);
  cfg.up_len = ai->ai_addrlen;
  freeaddrinfo(ai);
  return 0;
}

static void load_policy(int *file_mode) {
  const char *path = getenv("EGRESS_GUARD_POLICY");
  cfg.budget[AG_RX] = cfg.budget[AG_TX] = cfg.budget[AG_TOTAL] = AG_NONE;
  *file_mode = -1;
  if (path == NULL || path[0] == '\0') return;
  egp_t p;
  struct egp_error err;
  if (egp_open(&p, path, 0, &err) != 0) return; /* the interposer logs the `policy` line: no budgets here */
  *file_mode = (p.flags & EGP_FLAG_ENFORCE) ? AG_MODE_ENFORCE : AG_MODE_AUDIT;
  cfg.budget[AG_RX] = p.budget_rx;
  cfg.budget[AG_TX] = p.budget_tx;
  cfg.budget[AG_TOTAL] = p.budget_total;
  munmap((void *)(uintptr_t)p.base, (size_t)p.size);
}

int config_load(void) {
  const char *up = getenv("EGRESS_GUARD_UPSTREAM_API");
  if (up == NULL || up[0] == '\0' || strlen(up) >= sizeof cfg.upstream || resolve_upstream(up) != 0) {
    static const char m[] = "egress-guard-agent: EGRESS_GUARD_UPSTREAM_API must be the Runtime API as host:port "
                            "(the interposer sets it when it starts the agent)\n";
    (void)!write(2, m, sizeof m - 1);
    return -1;
  }
  copy(cfg.upstream, sizeof cfg.upstream, up);

  struct eg_settings set;
  eg_settings_read(&set, env); /* the configuration rule shared with the interposer: src/config.h */
  int file_mode;
  load_policy(&file_mode);
  cfg.mode = set.mode >= 0 ? set.mode : file_mode >= 0 ? file_mode : AG_MODE_ENFORCE; /* invalid: enforce */
  cfg.has_budgets = cfg.mode != AG_MODE_OFF &&
                    (cfg.budget[AG_RX] != AG_NONE || cfg.budget[AG_TX] != AG_NONE || cfg.budget[AG_TOTAL] != AG_NONE);

  if (set.log_dest == EG_CFG_LOG_STDERR) cfg.log_fd = 2;
  else if (set.log_dest == EG_CFG_LOG_OFF) cfg.log_fd = -1;
  else {
    cfg.log_fd = open(set.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (cfg.log_fd < 0) cfg.log_fd = 2; /* the interposer already reports E_LOG_OPEN for the same path */
  }

  copy(cfg.state_path, sizeof cfg.state_path, set.state_path);
  if (nd_filter_init(&cfg.filter, getenv("EGRESS_GUARD_INTERFACES"), getenv("EGRESS_GUARD_INTERFACES_EXCLUDE")) != 0)
    warn("EGRESS_GUARD_INTERFACES[_EXCLUDE] hold more than 16 patterns or a pattern over 31 bytes; counting every "
         "interface but lo");
  int metrics = eg_cfg_bool(getenv(EG_CFG_METRICS_NAME));
  if (metrics == EG_CFG_INVALID) warn(EG_CFG_METRICS_INVALID_MSG);
  cfg.metrics = metrics >= 0 ? metrics : EG_CFG_METRICS_DEFAULT;
  const char *ns = getenv("EGRESS_GUARD_METRICS_NAMESPACE");
  copy(cfg.metrics_ns, sizeof cfg.metrics_ns, ns && ns[0] ? ns : "EgressGuard");
  copy(cfg.function_name, sizeof cfg.function_name, getenv("AWS_LAMBDA_FUNCTION_NAME"));
  cfg.sample_ns = number(EG_CFG_SAMPLE_MS_NAME, EG_CFG_SAMPLE_MS_DEFAULT, EG_CFG_SAMPLE_MS_MIN, EG_CFG_SAMPLE_MS_MAX,
                         EG_CFG_SAMPLE_MS_INVALID_MSG) *
                  1000000ull;
  cfg.timeout_margin_ns = number(EG_CFG_TIMEOUT_MARGIN_MS_NAME, EG_CFG_TIMEOUT_MARGIN_MS_DEFAULT,
                                 EG_CFG_TIMEOUT_MARGIN_MS_MIN, EG_CFG_TIMEOUT_MARGIN_MS_MAX,
                                 EG_CFG_TIMEOUT_MARGIN_MS_INVALID_MSG) *
                          1000000ull;
  const char *mc = getenv("AWS_LAMBDA_MAX_CONCURRENCY");
  cfg.multi_concurrency = mc != NULL && atol(mc) > 1;
  copy(cfg.netdev_path, sizeof cfg.netdev_path, "/proc/net/dev");
  return 0;
}
