/*
 * proxy.h — internal interfaces of egress-guard-proxy, the cooperative egress proxy (docs/PROXY.md).
 *
 * One file per job: main.c (configuration, the loopback listener, the accept loop), request.c (HTTP heads: pure
 * parsing and rewriting, no I/O), decide.c (builtins + compiled policy + budget, the same order as the interposer),
 * conn.c (one client connection: head, decision, lookup, upstream connect), relay.c (the byte pump, counting and
 * budget cuts), meter.c (the shared invoke-state file, docs/STATE.md), log.c (JSON lines, docs/LOGGING.md),
 * extension.c (the Lambda Extensions API client), coverage.c (what the guard covers for this function's bootstrap).
 *
 * Threading: `px` is written by main() before the first thread starts and is immutable afterwards. Each accepted
 * connection runs on its own detached thread; shared mutable state lives in relay.c (upstream registry, mutex),
 * meter.c (the mapped file, atomics), log.c (dedupe set, mutex) and extension.c (current request id, mutex).
 */
#ifndef PX_PROXY_H
#define PX_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "egp.h"

/* Mode and log level: the word indices of contracts/config.yaml (src/config.h parses them). */
enum px_mode {
  PX_MODE_OFF = EG_CFG_MODE_OFF,
  PX_MODE_AUDIT = EG_CFG_MODE_AUDIT,
  PX_MODE_ENFORCE = EG_CFG_MODE_ENFORCE
};
enum px_level {
  PX_LEVEL_OFF = EG_CFG_LOG_LEVEL_OFF,
  PX_LEVEL_DENY = EG_CFG_LOG_LEVEL_DENY,
  PX_LEVEL_ALLOW = EG_CFG_LOG_LEVEL_ALLOW,
  PX_LEVEL_ALL = EG_CFG_LOG_LEVEL_ALL
};

/* Rule codes beyond egp.h's, logged as `rule` with the interposer's names (docs/LOGGING.md). */
enum {
  PX_RULE_RUNTIME_API = -3, /* builtin:runtime-api */
  PX_RULE_XRAY = -4,        /* builtin:xray */
  PX_RULE_BUDGET = -5,      /* budget */
  PX_RULE_POLICY_ERROR = -6 /* policy-error */
};

/* An always-allowed endpoint (AWS_LAMBDA_RUNTIME_API, AWS_XRAY_DAEMON_ADDRESS); accepted only on loopback or
 * link-local addresses, where Lambda puts them. */
struct px_endpoint {
  int set;
  egp_ip ip;
  int port;
};

struct px_config {
  int mode;      /* enum px_mode */
  int level;     /* enum px_level */
  int policy_ok; /* 0: fail closed (enforce) / fail open (audit), rule policy-error */
  egp_t policy;
  char policy_path[1024];
  struct px_endpoint runtime_api, xray;
  int log_fd;      /* -1: logging off */
  int count_bytes; /* 0 when libegressguard.so is loaded into this process: it counts the same sockets */
  char listen_text[64];
};
extern struct px_config px;

/* --- request.c: HTTP/1.x heads (pure functions; unit-tested in native/proxy/test) --- */
#define PX_HEAD_MAX 16384
enum px_kind { PX_KIND_CONNECT = 1, PX_KIND_FORWARD = 2 };
struct px_request {
  int kind;       /* enum px_kind */
  char host[256]; /* as requested: a name (normalised: lower case, no trailing dot) or an IP literal */
  size_t host_len;
  int host_is_ip; /* the host is an IPv4/IPv6 literal; `ip` holds it */
  egp_ip ip;
  int port;
  size_t head_len; /* bytes of the request head including the blank line */
};
/* Parse the head at buf[0..len) (which must hold the whole head, ending in CRLF CRLF). Returns 0, or an HTTP status
 * to answer with: 400 (malformed, or a name the proxy will not resolve), 501 (not CONNECT and not an http:// URL). */
int px_parse_request(const char *buf, size_t len, struct px_request *r);
/* Offset just past the first CRLF CRLF in buf[0..len), or 0 when there is none yet. */
size_t px_head_end(const char *buf, size_t len);
/* Rewrite a forward request head for the origin server: origin-form request line, hop-by-hop headers (Connection,
 * Keep-Alive, Proxy-Connection, Proxy-Authorization, TE, Upgrade) removed, `Connection: close` added. Returns the
 * new length or 0 when it does not fit in cap. */
size_t px_rewrite_request(const char *head, size_t len, char *out, size_t cap);
/* Rewrite a response head for the client: Connection / Keep-Alive / Proxy-Connection removed, `Connection: close`
 * added. *status receives the status code (0 when the status line is malformed: the head is then copied as is).
 * Returns the new length or 0 when it does not fit. */
size_t px_rewrite_response(const char *head, size_t len, char *out, size_t cap, int *status);

/* --- decide.c --- */
/* Decide a destination: host (normalised name, or NULL for an IP literal), ip (NULL before a lookup), port, TCP.
 * Builtins, then the policy (decide_name / decide_addr with the bound name), then the tripped budget. */
void px_decide(const char *host, size_t host_len, const egp_ip *ip, int port, egp_decision *d);
const char *px_rule_display(int32_t rule, uint32_t *len);
/* Parse "host:port" / "[v6]:port" where host must be an IP literal on loopback or link-local. 0 = ok. */
int px_parse_builtin(const char *s, struct px_endpoint *ep);
/* Parse an IPv4/IPv6 literal (no scope) into ip; 1 on success. */
int px_parse_ip(const char *s, size_t len, egp_ip *ip);
int px_is_loopback(const egp_ip *ip);

/* --- meter.c: the shared invoke-state file v2 (docs/STATE.md) --- */
void px_meter_open(const char *path);     /* unset path: no file, nothing counted */
size_t px_meter_request_id(char out[65]); /* the agent's request id while an invoke is in flight; 0 when none */
int px_meter_budget_tripped(void);
/* Count bytes moved to (tx) or from (rx) an upstream; returns 1 when this (or another process) tripped a budget
 * that now requires cutting: the caller then calls px_relay_cut_all(). */
int px_meter_add(uint64_t rx, uint64_t tx);
/* How many bytes may still be sent upstream before the transmit (or total) budget trips; UINT64_MAX: no limit. */
uint64_t px_meter_tx_room(void);
/* 1 when a trip generation this process has not acted on yet is visible (once per value) and its invoke is still
 * the current one (BUDGET_TRIPPED set); a trip noticed after its invoke ended is consumed and yields 0. */
int px_meter_new_trip(void);
void px_meter_count(int which); /* PX_COUNT_* into the decision counters */
void px_meter_count_cut(uint64_t n);
enum { PX_COUNT_ALLOWED = 0, PX_COUNT_DENIED = 1, PX_COUNT_BLOCKED = 2 };

/* --- relay.c --- */
/* Pump bytes between client and upstream until both directions end; counts upstream bytes; honours budget cuts.
 * Consumes both descriptors. `first`/`first_len`: bytes already read from the client to send upstream first. */
void px_relay(int client, int upstream, const char *first, size_t first_len, int rewrite_response);
void px_relay_cut_all(void); /* shut down every live upstream socket of this process */

/* --- conn.c --- */
void *px_conn_main(void *arg); /* thread entry: arg is the client fd cast through intptr_t */

/* --- log.c --- */
void px_log_decision(const char *call, const char *host, size_t host_len, const egp_ip *ip, int port, int allow,
                     int blocked, int32_t rule);
/* The decision-line rate limiter (src/ratelimit.h): configured at start; the tick writes the summaries that are due. */
void px_log_rate_init(unsigned burst, unsigned window_s);
void px_log_tick(void);
void px_log_event(int level, const char *event, const char *msg, const char *const *kv); /* kv: key, value, …, NULL */
void px_log_policy_error(const char *code, const char *path, const char *detail, int fail_closed);

/* --- extension.c --- */
/* Register with the Extensions API as `name` and start the event thread. 0 on success. */
int px_extension_start(const char *name);
size_t px_extension_request_id(char out[65]);

/* --- coverage.c --- */
/* What the guard covers for this function's bootstrap, as one `proxy` log line at start (docs/PROXY.md). */
void px_coverage_report(void);
enum px_binary {
  PX_BIN_MISSING = 0,
  PX_BIN_SCRIPT,
  PX_BIN_DYNAMIC,
  PX_BIN_STATIC,
  PX_BIN_GO_DYNAMIC,
  PX_BIN_GO_STATIC,
  PX_BIN_OTHER
};
/* Classify an executable from its first bytes and its ELF headers (read with pread; every offset bounds-checked). */
int px_classify_binary(int fd);

#endif
