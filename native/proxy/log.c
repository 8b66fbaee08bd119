/*
 * log.c — the proxy's JSON log lines, in the interposer's format (docs/LOGGING.md): one JSON object per line, written
 * with one write(2) from a stack buffer (at most 4000 bytes, below PIPE_BUF, so lines from the proxy's threads and
 * from other processes sharing the pipe never interleave). No stdio, no allocation.
 *
 * Verbosity follows EGRESS_GUARD_LOG_LEVEL exactly as the interposer does: allowed destinations are logged at level
 * `allow` (audit's default) once per distinct (host, ip, port, decision, rule) per process, denials always unless the
 * level is `off`. The dedupe set is a fixed table under a mutex (the proxy is not a hot path; a full table logs rather
 * than loses). Decision lines to be written pass the interposer's rate limiter (src/ratelimit.c, the same source;
 * docs/LOGGING.md "Rate limit"): repeats beyond EGRESS_GUARD_LOG_RATE per window become one summary line per window;
 * pending counts are written at the next decision or INVOKE event once due, and at exit.
 * Lines carry `requestId` when one is known: the agent's (state file) while an invoke is in flight, else the one of
 * the latest INVOKE event the proxy received as an extension.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "ratelimit.h"
#include "proxy.h"

#define LINE_MAX_BYTES 4000
#define DEDUPE_SLOTS 1024u

static uint64_t dedupe[DEDUPE_SLOTS];
static pthread_mutex_t dedupe_lock = PTHREAD_MUTEX_INITIALIZER;

static void write_line(const char *buf, size_t len) {
  if (px.log_fd < 0) return;
  int saved = errno;
  ssize_t n;
  do {
    n = write(px.log_fd, buf, len); /* SIGPIPE is ignored by main(): a broken pipe drops the line */
  } while (n < 0 && errno == EINTR);
  errno = saved;
}

static const char *mode_name(void) { return px.mode == PX_MODE_ENFORCE ? "enforce" : "audit"; }

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
  size_t rl = px_meter_request_id(rid);
  if (rl == 0) rl = px_extension_request_id(rid);
  if (rl) jb_str(j, "requestId", rid, rl);
  write_line(j->b, jb_finish(j));
}

static uint64_t fp_mix(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

static int seen_before(uint64_t fp) {
  if (fp == 0) fp = 1;
  int seen = 0;
  pthread_mutex_lock(&dedupe_lock);
  uint32_t i = (uint32_t)(fp ^ (fp >> 32)) & (DEDUPE_SLOTS - 1);
  for (int probe = 0; probe < 16; probe++, i = (i + 1) & (DEDUPE_SLOTS - 1)) {
    if (dedupe[i] == fp) {
      seen = 1;
      break;
    }
    if (dedupe[i] == 0) {
      dedupe[i] = fp;
      break;
    }
  }
  pthread_mutex_unlock(&dedupe_lock);
  return seen;
}

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

static size_t ip_text(const egp_ip *ip, char out[64]) {
  struct sb s = {{0}, 0};
  if (!ip->is_v6) {
    for (int k = 3; k >= 0; k--) {
      sb_u(&s, (ip->v4 >> (8 * k)) & 0xff);
      if (k) sb_str(&s, ".");
    }
  } else { /* RFC 5952: lower-case hex, the longest run (>= 2) of zero groups as "::" */
    uint16_t g[8];
    for (int i = 0; i < 8; i++) g[i] = (uint16_t)((ip->v6[2 * i] << 8) | ip->v6[2 * i + 1]);
    int best = -1, bestlen = 0;
    for (int i = 0; i < 8;) {
      int j = i;
      while (j < 8 && g[j] == 0) j++;
      if (j - i > bestlen && j - i >= 2) best = i, bestlen = j - i;
      i = j > i ? j : i + 1;
    }
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
      if (i == best) {
        sb_str(&s, i == 0 ? "::" : ":");
        i += bestlen - 1;
        continue;
      }
      int started = 0;
      for (int sh = 12; sh >= 0; sh -= 4) {
        unsigned d = (g[i] >> sh) & 15;
        if (d || started || sh == 0) sb_add(&s, &hx[d], 1), started = 1;
      }
      if (i < 7) sb_str(&s, ":");
    }
  }
  memcpy(out, s.b, s.n);
  out[s.n] = '\0';
  return s.n;
}

static void decision_line(const struct eg_rl_key *k, uint64_t suppressed, unsigned window_s) {
  uint32_t rlen = 0;
  const char *rname = px_rule_display(k->rule, &rlen);
  char ipbuf[64];
  size_t iplen = k->ip ? ip_text(k->ip, ipbuf) : 0;
  struct sb m = {{0}, 0};
  sb_str(&m, k->allow ? "allow connect " : "deny connect ");
  if (k->ip) {
    if (k->ip->is_v6) sb_str(&m, "[");
    sb_add(&m, ipbuf, iplen);
    if (k->ip->is_v6) sb_str(&m, "]");
    sb_str(&m, ":"), sb_u(&m, (unsigned)k->port);
    if (k->host) sb_str(&m, " ("), sb_add(&m, k->host, k->host_len), sb_str(&m, ")");
  } else if (k->host) {
    sb_add(&m, k->host, k->host_len), sb_str(&m, ":"), sb_u(&m, (unsigned)k->port);
  }
  sb_str(&m, " via proxy");
  if (!k->allow) sb_str(&m, k->blocked ? " (blocked)" : px.mode == PX_MODE_ENFORCE ? "" : " (would block)");
  if (suppressed) {
    char t[24];
    size_t tn = 0;
    for (uint64_t v = suppressed; v; v /= 10) t[sizeof t - 1 - tn++] = (char)('0' + v % 10);
    sb_str(&m, ": "), sb_add(&m, t + sizeof t - tn, tn), sb_str(&m, " more suppressed (log rate limit, ");
    sb_u(&m, window_s), sb_str(&m, " s window)");
  }

  char buf[LINE_MAX_BYTES];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  common(&j, k->allow ? 30 : k->blocked ? 50 : 40, m.b, m.n, "connect");
  if (k->host) jb_str(&j, "host", k->host, k->host_len);
  if (k->ip) jb_str(&j, "ip", ipbuf, iplen);
  jb_u64(&j, "port", (uint64_t)k->port);
  jb_str(&j, "proto", "tcp", 3);
  jb_str(&j, "decision", k->allow ? "allow" : "deny", k->allow ? 5 : 4);
  jb_bool(&j, "blocked", k->blocked);
  jb_str(&j, "rule", rname, rlen);
  jb_str(&j, "mode", mode_name(), strlen(mode_name()));
  jb_str(&j, "call", k->call, strlen(k->call));
  if (k->blocked) jb_u64(&j, "status", 403);
  if (suppressed) {
    jb_u64(&j, "suppressed", suppressed);
    jb_u64(&j, "window", window_s);
  }
  if (k->rid_len) jb_str(&j, "requestId", k->rid, k->rid_len);
  write_line(j.b, jb_finish(&j));
}

static size_t current_rid(char out[EG_RL_RID_MAX + 1]) {
  size_t rl = px_meter_request_id(out);
  return rl ? rl : px_extension_request_id(out);
}

static uint64_t rid_marker(const char *rid, size_t len) { return fp_mix(0xcbf29ce484222325ull, rid, len); }

void px_log_rate_init(unsigned burst, unsigned window_s) {
  eg_rl_configure(burst, window_s, decision_line, current_rid);
}

void px_log_tick(void) {
  char rid[EG_RL_RID_MAX + 1];
  size_t rl = current_rid(rid);
  eg_rl_tick(rid_marker(rid, rl));
}

/* exit (SHUTDOWN, or a start-up error): the counts of the open windows are written, not lost. */
__attribute__((destructor)) static void flush_at_exit(void) { eg_rl_flush(); }

void px_log_decision(const char *call, const char *host, size_t host_len, const egp_ip *ip, int port, int allow,
                     int blocked, int32_t rule) {
  if (px.level == PX_LEVEL_OFF) return;
  char rid[EG_RL_RID_MAX + 1];
  size_t rl = current_rid(rid);
  eg_rl_tick(rid_marker(rid, rl));
  if (!blocked && allow && px.level < PX_LEVEL_ALLOW) return;
  if (allow && px.level != PX_LEVEL_ALL) { /* allowed destinations: once per process */
    uint32_t rlen = 0;
    const char *rname = px_rule_display(rule, &rlen);
    char ipbuf[64];
    size_t iplen = ip ? ip_text(ip, ipbuf) : 0;
    uint64_t fp = 0xcbf29ce484222325ull;
    fp = fp_mix(fp, "connect", 8);
    if (host) fp = fp_mix(fp, host, host_len);
    fp = fp_mix(fp, "\0", 1);
    fp = fp_mix(fp, ipbuf, iplen);
    int meta[3] = {port, EGP_PROTO_TCP, allow};
    fp = fp_mix(fp, meta, sizeof meta);
    fp = fp_mix(fp, rname, rlen);
    if (seen_before(fp)) return;
  }
  struct eg_rl_key k = {"connect", call,    NULL, NULL, host, host ? host_len : 0, ip, port, EGP_PROTO_TCP,
                        allow,     blocked, rule, rid,  rl};
  if (!eg_rl_admit(&k)) return; /* counted: the summary line of its window carries it */
  decision_line(&k, 0, 0);
}

void px_log_event(int level, const char *event, const char *msg, const char *const *kv) {
  if (px.log_fd < 0 || (px.level == PX_LEVEL_OFF && level < 50)) return;
  char buf[LINE_MAX_BYTES];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  common(&j, level, msg, strlen(msg), event);
  for (; kv && kv[0] && kv[1]; kv += 2) jb_str(&j, kv[0], kv[1], strlen(kv[1]));
  if (px.mode != PX_MODE_OFF) jb_str(&j, "mode", mode_name(), strlen(mode_name()));
  finish(&j);
}

void px_log_policy_error(const char *code, const char *path, const char *detail, int fail_closed) {
  if (px.log_fd < 0) return;
  struct sb m = {{0}, 0};
  sb_str(&m, "policy error "), sb_str(&m, code), sb_str(&m, ": "), sb_str(&m, detail);
  if (path) sb_str(&m, " ("), sb_str(&m, path), sb_str(&m, ")");
  sb_str(&m, fail_closed ? "; failing closed: all egress denied except builtins" : "; continuing");
  char buf[LINE_MAX_BYTES];
  struct jbuf j;
  jb_init(&j, buf, sizeof buf);
  int is_error = strncmp(code, "E_POLICY", 8) == 0 || strncmp(code, "E_CONFIG", 8) == 0;
  common(&j, is_error ? 50 : 40, m.b, m.n, "policy");
  jb_str(&j, "error", code, strlen(code));
  if (path) jb_str(&j, "path", path, strlen(path));
  jb_str(&j, "detail", detail, strlen(detail));
  jb_bool(&j, "failClosed", fail_closed);
  if (px.mode != PX_MODE_OFF) jb_str(&j, "mode", mode_name(), strlen(mode_name()));
  finish(&j);
}
