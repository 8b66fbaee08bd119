/*
 * log.c — JSON log lines (docs/LOGGING.md), written with exactly one write(2) per line from a stack buffer.
 *
 * Contract:
 * - Never stdio, never stdout, never allocation. A line is at most EG_LOG_LINE_MAX (4000) bytes, below PIPE_BUF, so
 *   concurrent lines from many threads or processes sharing a pipe never interleave (fields that would not fit are
 *   truncated with "..." or dropped; the line always stays one valid JSON object).
 * - Failures of the log fd never harm the host: EBADF/EPIPE/ENOSPC/EAGAIN drop the line (no retry loop, no hang).
 *   SIGPIPE: the write runs with SIGPIPE blocked in the calling thread; if it raised EPIPE and SIGPIPE was not
 *   already pending, the signal it generated is consumed with sigtimedwait(0) before the mask is restored. So a
 *   broken stderr pipe never kills a host that did not ignore SIGPIPE (the AWS sample aborts on a broken stdout).
 * - Lines go to the guard's OWN descriptor for the destination (ownfd.c), taken at init: closing, dup2-ing over or
 *   close_range-ing fd 2 or the guard's descriptor does not stop them, and children write to the same destination
 *   whatever their stdio is.
 * - Verbosity (EGRESS_GUARD_LOG_LEVEL, defaults per mode in docs/LOGGING.md): allowed calls are logged once per
 *   distinct (event, host, ip, port, proto, decision, rule) per process (a lock-free set of 4096 fingerprints; when
 *   full, lines are logged rather than lost); `all` disables that; denials are always logged unless the level is
 *   `off`. Policy/state errors are always logged.
 * - Rate limit (ratelimit.c, docs/LOGGING.md "Rate limit"): every decision line that is to be written (denials, and
 *   allowed ones at level `all`) passes the limiter. Repeats of one line beyond EGRESS_GUARD_LOG_RATE per window are
 *   counted (state file n_suppressed) and written as one summary line per window carrying `suppressed` and `window`.
 *   Pending counts are written at the next decision of the process once their window is over or the invoke changed
 *   (eg_log_tick), before an exec (eg_log_flush from exec.c), and at exit (a destructor; _exit/_Exit: exit.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "guard.h"
#include "gen/state.h"
#include "json.h"
#include "ratelimit.h"

#define EG_LOG_LINE_MAX 4000

#define DEDUPE_SLOTS 4096u
static uint64_t dedupe[DEDUPE_SLOTS];

/* Takes the guard's own descriptor for the destination (ownfd.c): the parent's, when it handed one down and it is
 * still the same file; else a duplicate of fd 2 or the opened file. A file that cannot be opened: stderr instead,
 * with one E_LOG_OPEN line. */
void eg_log_open(void) {
  if (!eg.log_to_stderr && eg.log_path[0] == '\0') return; /* off */
  if (eg_own_inherited(EG_OWN_LOG, getenv(EG_CFG_LOG_FD_NAME)) == 0) return;
  if (!eg.log_to_stderr) {
    int fd = open(eg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd >= 0) {
      eg_own(EG_OWN_LOG, fd, 1);
      close(fd);
      if (eg_owned_fd(EG_OWN_LOG) >= 0) return;
    }
    int e = errno;
    eg.log_to_stderr = 1;
    eg_own(EG_OWN_LOG, 2, 1);
    eg_log_policy_error("E_LOG_OPEN", eg.log_path, "cannot open EGRESS_GUARD_LOG file; logging to stderr", 0, 0,
                        (uint64_t)e, 0);
    return;
  }
  eg_own(EG_OWN_LOG, 2, 1); /* fd 2 closed at start: no destination, nothing is written */
}

void eg_log_atfork_child(void) {
  for (unsigned i = 0; i < DEDUPE_SLOTS; i++) __atomic_store_n(&dedupe[i], 0, __ATOMIC_RELAXED);
  eg_rl_reset(); /* the parent summarises the counts it holds; the child starts with none */
  eg_own_atfork_child();
}

static void write_line(const char *buf, size_t len) { eg_log_write(buf, len); }

static void common(struct jbuf *j, int level, const char *msg, size_t msg_len, const char *event) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  jb_u64(j, "level", (uint64_t)level);
  jb_u64(j, "time", (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
  jb_u64(j, "pid", (uint64_t)getpid());
  jb_str(j, "name", "egress-guard", 12);
  jb_str(j, "msg", msg, msg_len);
  jb_str(j, "event", event, strlen(event));
}

static void finish(struct jbuf *j) {
  char rid[65];
  size_t rl = eg_state_request_id(rid);
  if (rl) jb_str(j, "requestId", rid, rl);
  size_t len = jb_finish(j);
  write_line(j->b, len);
}

/* small bounded string builder for msg */
struct sb {
  char b[600];
  size_t n;
};
static void sb_add(struct sb *s, const char *p, size_t n) {
  if (n > sizeof s->b - s->n) n = sizeof s->b - s->n;
  memcpy(s->b + s->n, p, n);
  s->n += n;
}
static void sb_str(struct sb *s, const char *p) { sb_add(s, p, strlen(p)); }
static void sb_u(struct sb *s, unsigned v) {
  char t[12];
  int n = 0;
  do t[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  while (n) sb_add(s, &t[--n], 1);
}

static const char *proto_name(int proto) {
  return proto == EGP_PROTO_TCP ? "tcp" : proto == EGP_PROTO_UDP ? "udp" : NULL;
}

static uint64_t fp_mix(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

/* 1 when this fingerprint was already logged by this process; otherwise records it and returns 0. */
static int seen_before(uint64_t fp) {
  if (fp == 0) fp = 1;
  uint32_t i = (uint32_t)(fp ^ (fp >> 32)) & (DEDUPE_SLOTS - 1);
  for (int probe = 0; probe < 16; probe++, i = (i + 1) & (DEDUPE_SLOTS - 1)) {
    uint64_t cur = __atomic_load_n(&dedupe[i], __ATOMIC_RELAXED);
    if (cur == fp) return 1;
    if (cur == 0) {
      if (__atomic_compare_exchange_n(&dedupe[i], &cur, fp, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return 0;
      if (cur == fp) return 1;
    }
  }
  return 0; /* full around here: log rather than lose */
}

void eg_log_decision(const struct eg_query *q, int allow, int blocked, int32_t rule, const char *errno_name) {
  eg_log_decision_opt(q, NULL, allow, blocked, rule, errno_name);
}

/* One decision line from its key; suppressed > 0: the rate limiter's summary of that many unlogged repeats. */
static void decision_line(const struct eg_rl_key *k, uint64_t suppressed, unsigned window_s) {
  uint32_t rlen = 0;
  const char *rname = eg_rule_display(k->rule, &rlen);
  char ipbuf[64];
  size_t iplen = k->ip ? eg_ip_format(k->ip, ipbuf) : 0;
  struct sb m;
  m.n = 0;
  sb_str(&m, k->allow ? "allow " : "deny ");
  sb_str(&m, k->event);
  sb_str(&m, " ");
  if (k->ip) {
    if (k->ip->is_v6) sb_str(&m, "[");
    sb_add(&m, ipbuf, iplen);
    if (k->ip->is_v6) sb_str(&m, "]");
    if (k->port != EGP_PORT_UNKNOWN) sb_str(&m, ":"), sb_u(&m, (unsigned)k->port);
    if (k->host) sb_str(&m, " ("), sb_add(&m, k->host, k->host_len), sb_str(&m, ")");
  } else if (k->host) {
    sb_add(&m, k->host, k->host_len);
  }
  if (k->option) sb_str(&m, k->option);
  if (!k->allow) sb_str(&m, k->blocked ? " (blocked)" : eg.mode == EG_MODE_ENFORCE ? "" : " (would block)");
  if (suppressed) {
    char t[24];
    size_t tn = 0;
    for (uint64_t v = suppressed; v; v /= 10) t[sizeof t - 1 - tn++] = (char)('0' + v % 10);
    sb_str(&m, ": "), sb_add(&m, t + sizeof t - tn, tn), sb_str(&m, " more suppressed (log rate limit, "),
        sb_u(&m, window_s);
    sb_str(&m, " s window)");
  }

  char buf[EG_LOG_LINE_MAX];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  common(&j, k->allow ? 30 : k->blocked ? 50 : 40, m.b, m.n, k->event);
  if (k->host) jb_str(&j, "host", k->host, k->host_len);
  if (k->ip) jb_str(&j, "ip", ipbuf, iplen);
  if (k->option) jb_str(&j, "option", k->option, strlen(k->option));
  if (k->port != EGP_PORT_UNKNOWN) jb_u64(&j, "port", (uint64_t)k->port);
  const char *pn = proto_name(k->proto);
  if (pn) jb_str(&j, "proto", pn, 3);
  jb_str(&j, "decision", k->allow ? "allow" : "deny", k->allow ? 5 : 4);
  jb_bool(&j, "blocked", k->blocked);
  jb_str(&j, "rule", rname, rlen);
  jb_str(&j, "mode", eg.mode == EG_MODE_ENFORCE ? "enforce" : "audit", eg.mode == EG_MODE_ENFORCE ? 7 : 5);
  jb_str(&j, "call", k->call, strlen(k->call));
  if (k->blocked && k->errno_name) jb_str(&j, "errno", k->errno_name, strlen(k->errno_name));
  if (suppressed) {
    jb_u64(&j, "suppressed", suppressed);
    jb_u64(&j, "window", window_s);
  }
  if (k->rid_len) jb_str(&j, "requestId", k->rid, k->rid_len);
  write_line(j.b, jb_finish(&j));
}

static void summary_line(const struct eg_rl_key *k, uint64_t suppressed, unsigned window_s) {
  int saved = errno;
  decision_line(k, suppressed, window_s);
  errno = saved;
}

static size_t current_rid(char out[EG_RL_RID_MAX + 1]) { return eg_state_request_id(out); }

void eg_log_rate_init(unsigned burst, unsigned window_s) {
  eg_rl_configure(burst, window_s, summary_line, current_rid);
}

void eg_log_tick(void) { eg_rl_tick(eg_state_invoke_seq()); }

void eg_log_flush(void) {
  int saved = errno;
  eg_rl_flush();
  errno = saved;
}

/* exit() (and dlclose): the counts of this process's open windows are written, not lost. */
__attribute__((destructor)) static void flush_at_exit(void) {
  if (eg_init_state == 2 && eg.mode != EG_MODE_OFF) eg_log_flush();
}

void eg_log_decision_opt(const struct eg_query *q, const char *option, int allow, int blocked, int32_t rule,
                         const char *errno_name) {
  if (eg.level == EG_LEVEL_OFF) return;
  int saved = errno;
  eg_log_tick();
  if (!blocked && allow && eg.level < EG_LEVEL_ALLOW) {
    errno = saved;
    return;
  }
  if (allow && eg.level != EG_LEVEL_ALL) { /* allowed destinations: once per process (docs/LOGGING.md) */
    uint32_t rlen = 0;
    const char *rname = eg_rule_display(rule, &rlen);
    char ipbuf[64];
    size_t iplen = q->ip ? eg_ip_format(q->ip, ipbuf) : 0;
    uint64_t fp = 0xcbf29ce484222325ull;
    fp = fp_mix(fp, q->event, strlen(q->event) + 1);
    if (q->host) fp = fp_mix(fp, q->host, q->host_len);
    if (option) fp = fp_mix(fp, option, strlen(option));
    fp = fp_mix(fp, "\0", 1);
    fp = fp_mix(fp, ipbuf, iplen);
    int m[3] = {q->port, q->proto, allow};
    uint8_t meta[sizeof m];
    memcpy(meta, m, sizeof meta); /* the same bytes; the static analyzer does not follow an int array read bytewise */
    fp = fp_mix(fp, meta, sizeof meta);
    fp = fp_mix(fp, rname, rlen);
    if (seen_before(fp)) {
      errno = saved;
      return;
    }
  }
  char rid[EG_RL_RID_MAX + 1];
  size_t rl = eg_state_request_id(rid);
  struct eg_rl_key k = {q->event, q->call,     option,  blocked ? errno_name : NULL,
                        q->host,  q->host_len, q->ip,   q->port,
                        q->proto, allow,       blocked, rule,
                        rid,      rl};
  if (!eg_rl_admit(&k)) { /* counted: the summary line of its window carries it */
    eg_state_count(EG_COUNT_SUPPRESSED);
    errno = saved;
    return;
  }
  decision_line(&k, 0, 0);
  errno = saved;
}

void eg_log_policy_error(const char *code, const char *path, const char *what, int fail_closed, uint64_t expected,
                         uint64_t got, int has_expected) {
  int saved = errno;
  struct sb m;
  m.n = 0;
  sb_str(&m, "policy error ");
  sb_str(&m, code);
  sb_str(&m, ": ");
  sb_str(&m, what);
  if (path) sb_str(&m, " ("), sb_str(&m, path), sb_str(&m, ")");
  sb_str(&m, fail_closed ? "; failing closed: all egress denied except builtins" : "; continuing");
  char buf[EG_LOG_LINE_MAX];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  /* the policy itself unusable: an error (50) in either mode; state-file / log-file / log-level problems: warnings */
  int is_error = strncmp(code, "E_POLICY", 8) == 0 || strcmp(code, "E_CONFIG_MODE") == 0;
  common(&j, is_error ? 50 : 40, m.b, m.n, "policy");
  jb_str(&j, "error", code, strlen(code));
  if (path) jb_str(&j, "path", path, strlen(path));
  jb_str(&j, "detail", what, strlen(what));
  if (has_expected) {
    jb_u64(&j, "expected", expected);
    jb_u64(&j, "got", got);
  } else if (got) {
    jb_u64(&j, "sysErrno", got);
  }
  jb_bool(&j, "failClosed", fail_closed);
  if (eg.mode != EG_MODE_OFF)
    jb_str(&j, "mode", eg.mode == EG_MODE_ENFORCE ? "enforce" : "audit", eg.mode == EG_MODE_ENFORCE ? 7 : 5);
  finish(&j);
  errno = saved;
}

void eg_log_config_error(const char *code, const char *variable, const char *value, const char *what) {
  int saved = errno;
  struct sb m;
  m.n = 0;
  sb_str(&m, "config error ");
  sb_str(&m, code);
  sb_str(&m, ": ");
  sb_str(&m, variable);
  sb_str(&m, "=");
  sb_str(&m, value);
  sb_str(&m, ": ");
  sb_str(&m, what);
  char buf[EG_LOG_LINE_MAX];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  common(&j, 40, m.b, m.n, "policy");
  jb_str(&j, "error", code, strlen(code));
  jb_str(&j, "variable", variable, strlen(variable));
  jb_str(&j, "value", value, strlen(value));
  jb_str(&j, "detail", what, strlen(what));
  jb_bool(&j, "failClosed", 0);
  jb_str(&j, "mode", eg.mode == EG_MODE_ENFORCE ? "enforce" : "audit", eg.mode == EG_MODE_ENFORCE ? 7 : 5);
  finish(&j);
  errno = saved;
}

void eg_log_uncovered(const char *path, const char *reason, const char *call) {
  if (eg.level == EG_LEVEL_OFF) return;
  int saved = errno;
  struct sb m;
  m.n = 0;
  sb_str(&m, "uncovered exec ");
  sb_str(&m, path);
  sb_str(&m, strcmp(reason, "static") == 0 ? ": statically linked, the guard cannot see its traffic"
             : strcmp(reason, "secure") == 0
                 ? ": set-user-ID, set-group-ID or file capabilities: the loader ignores LD_PRELOAD"
                 : ": this library's path cannot be named in LD_PRELOAD, the guard is not loaded");
  char buf[EG_LOG_LINE_MAX];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  common(&j, 40, m.b, m.n, "uncovered");
  jb_str(&j, "path", path, strlen(path));
  jb_str(&j, "reason", reason, strlen(reason));
  jb_str(&j, "call", call, strlen(call));
  jb_str(&j, "mode", eg.mode == EG_MODE_ENFORCE ? "enforce" : "audit", eg.mode == EG_MODE_ENFORCE ? 7 : 5);
  finish(&j);
  errno = saved;
}

void eg_log_agent(const char *code, const char *path, const char *what) {
  int saved = errno;
  struct sb m;
  m.n = 0;
  sb_str(&m, "agent ");
  sb_str(&m, code);
  sb_str(&m, ": ");
  sb_str(&m, what);
  char buf[EG_LOG_LINE_MAX];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  common(&j, 40, m.b, m.n, "agent");
  jb_str(&j, "error", code, strlen(code));
  if (path) jb_str(&j, "path", path, strlen(path));
  jb_bool(&j, "metering", 0);
  finish(&j);
  errno = saved;
}

static const char *budget_name(uint32_t budget) {
  return budget == EG_STATE_TRIP_RX_BYTES      ? "rxBytes"
         : budget == EG_STATE_TRIP_TX_BYTES    ? "txBytes"
         : budget == EG_STATE_TRIP_TOTAL_BYTES ? "totalBytes"
                                               : NULL;
}

void eg_log_cut(uint32_t budget, unsigned sockets, const char *call, uint64_t io_rx, uint64_t io_tx) {
  if (eg.level == EG_LEVEL_OFF) return;
  int saved = errno;
  const char *bn = budget_name(budget);
  struct sb m;
  m.n = 0;
  sb_str(&m, "budget ");
  sb_str(&m, bn ? bn : "(agent)");
  sb_str(&m, " exceeded: cut ");
  sb_u(&m, sockets);
  sb_str(&m, sockets == 1 ? " egress socket" : " egress sockets");
  char buf[EG_LOG_LINE_MAX];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  common(&j, 50, m.b, m.n, "cut");
  if (bn) jb_str(&j, "budget", bn, strlen(bn));
  jb_u64(&j, "sockets", sockets);
  jb_str(&j, "call", call, strlen(call));
  jb_u64(&j, "ioRxBytes", io_rx);
  jb_u64(&j, "ioTxBytes", io_tx);
  jb_str(&j, "mode", "enforce", 7);
  finish(&j);
  errno = saved;
}
