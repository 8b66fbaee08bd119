/*
 * guard.h — internal interfaces of libegressguard.so shared by the hook files (docs/INTERPOSER.md).
 *
 * Threading model: `eg` (the configuration) is written once by eg_init_slow() and is immutable afterwards; every hook
 * calls eg_init() first, whose fast path is one acquire load, so readers need no lock. Mutable shared state lives in
 * binding.c (seqlocked table), log.c (dedupe set, log fd) and state.c (the shared state file) — each file documents
 * its own concurrency and fork rules.
 */
#ifndef EG_GUARD_H
#define EG_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"
#include "egp.h"

#define EG_EXPORT __attribute__((visibility("default")))
#define EG_HIDDEN __attribute__((visibility("hidden")))
#define EG_LIKELY(x) __builtin_expect(!!(x), 1)
#define EG_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Mode and log level: the word indices of contracts/config.yaml (config.h parses them). */
enum eg_mode {
  EG_MODE_OFF = EG_CFG_MODE_OFF,
  EG_MODE_AUDIT = EG_CFG_MODE_AUDIT,
  EG_MODE_ENFORCE = EG_CFG_MODE_ENFORCE
};
enum eg_level {
  EG_LEVEL_OFF = EG_CFG_LOG_LEVEL_OFF,
  EG_LEVEL_DENY = EG_CFG_LOG_LEVEL_DENY,
  EG_LEVEL_ALLOW = EG_CFG_LOG_LEVEL_ALLOW,
  EG_LEVEL_ALL = EG_CFG_LOG_LEVEL_ALL
};

/* Rule codes: EGP_RULE_* (readers) and EG_RULE_* (interposer only) come from gen/egp_format.h via egp.h. */

/* An always-allowed endpoint from the environment (docs/LAMBDA.md "Runtime API and always-allowed endpoints"). */
struct eg_endpoint {
  int set;    /* 1 when configured */
  int has_ip; /* host was an IP literal: ip is valid */
  egp_ip ip;
  char host[256]; /* normalised host name when it is not a literal */
  size_t host_len;
  int port;
  unsigned protos; /* EGP_PROTO_TCP | EGP_PROTO_UDP bits */
};

/* Configuration: immutable after init (see above). */
struct eg_config {
  int mode;      /* enum eg_mode */
  int level;     /* enum eg_level */
  int policy_ok; /* 1: `policy` is valid; 0: fail closed (enforce) / fail open (audit) */
  egp_t policy;
  struct eg_endpoint runtime_api, xray;
  struct eg_endpoint runtime_upstream; /* EGRESS_GUARD_UPSTREAM_API: the real Runtime API behind the agent */
  int log_to_stderr;                   /* EGRESS_GUARD_LOG=stderr (default) */
  char log_path[1024];                 /* EGRESS_GUARD_LOG=<path> */
  char policy_path[1024];
};
extern struct eg_config eg EG_HIDDEN;

/* --- init.c --- */
extern int eg_init_state EG_HIDDEN; /* 0 none, 1 running, 2 done */
void eg_init_slow(void) EG_HIDDEN;
static inline void eg_init(void) {
  if (EG_LIKELY(__atomic_load_n(&eg_init_state, __ATOMIC_ACQUIRE) == 2)) return;
  eg_init_slow();
}

/* Thread-local re-entry depth: > 0 while this thread runs guard code, so libc calls made by the guard itself (and
 * by a resolver running under our getaddrinfo hook) go straight to libc. */
extern __thread int eg_depth __attribute__((tls_model("initial-exec"))) EG_HIDDEN;
static inline int eg_inside(void) { return eg_depth > 0; }
static inline void eg_enter(void) { eg_depth++; }
static inline void eg_leave(void) { eg_depth--; }

/* --- addr.c --- */
/* Parse a sockaddr of `len` bytes: 1 with *ip and *port filled for a usable AF_INET/AF_INET6 address (IPv4-mapped
 * normalised to IPv4), 0 for anything else (NULL, other families, too short). */
int eg_sockaddr_ip(const struct sockaddr *sa, socklen_t len, egp_ip *ip, int *port) EG_HIDDEN;
/* Format an address ("10.0.0.1", "2001:db8::1") into out (>= 46 bytes); returns the length. */
size_t eg_ip_format(const egp_ip *ip, char *out) EG_HIDDEN;
/* Parse "host:port" / "[v6]:port"; returns 0 on success. */
int eg_parse_endpoint(const char *s, struct eg_endpoint *ep) EG_HIDDEN;
/* 1 when a parsed endpoint is where Lambda puts its own endpoints: a loopback or link-local address (127.0.0.0/8,
 * 169.254.0.0/16, ::1, fe80::/10) or the name `localhost`. */
int eg_endpoint_is_local(const struct eg_endpoint *ep) EG_HIDDEN;
/* 1 when a lookup's node is an IP literal that getaddrinfo/gethostbyname would parse without a query (inet_aton forms
 * such as "127.1", IPv6 with an optional %scope). A name with any other character returns 0 without calling libc. */
int eg_is_ip_literal(const char *node) EG_HIDDEN;
/* The protocol of socket fd (SO_TYPE): EGP_PROTO_TCP / EGP_PROTO_UDP / EGP_PROTO_UNKNOWN. *is_stream set. */
int eg_socket_proto(int fd, int *sock_type) EG_HIDDEN;

/* --- binding.c: ip -> name bound by an earlier lookup --- */
void eg_bind(const egp_ip *ip, const char *name, size_t len) EG_HIDDEN;
/* Copies the bound name into out (256 bytes); returns its length or 0 when none. Never blocks. */
size_t eg_bound_name(const egp_ip *ip, char out[256]) EG_HIDDEN;
void eg_binding_atfork_child(void) EG_HIDDEN;

/* --- decide.c: the interposer's decisions (builtins + policy + budget), logging and counters --- */
struct eg_query {
  const char *event; /* "dns", "connect", "sendto" */
  const char *call;  /* "getaddrinfo", "connect", "syscall(connect)" … */
  const char *host;  /* name looked up (dns) or bound name; NULL when none */
  size_t host_len;
  const egp_ip *ip; /* destination (connect/sendto); NULL for dns */
  int port;         /* EGP_PORT_UNKNOWN when unknown */
  int proto;        /* EGP_PROTO_* */
};
/* Decide, count and log. Returns 1 when the call may proceed, 0 when enforce mode blocks it. */
int eg_check(const struct eg_query *q, const char *errno_name) EG_HIDDEN;
/* The same for a call the guard refuses whatever the policy says (`rule`: e.g. EG_RULE_DNS_MALFORMED for a lookup
 * name the resolver would not read as one DNS name): counted and logged as a deny; blocked in enforce mode only. */
int eg_check_denied(const struct eg_query *q, int32_t rule, const char *errno_name) EG_HIDDEN;
/* eg_check_denied for a socket option or control message (event `sockopt`, rule `socket-redirect`, the `option`
 * field naming it: sockopt.c). */
int eg_check_option(const char *option, const char *call) EG_HIDDEN;
/* The same for any call the guard refuses whatever the policy says, with event `event`, the `option` field naming
 * what (e.g. the memory file of procmem.c) and `rule`. */
int eg_check_refused(const char *event, const char *option, const char *call, int32_t rule) EG_HIDDEN;
const char *eg_rule_display(int32_t rule, uint32_t *len) EG_HIDDEN;
/* 1 when sa is an AF_INET/AF_INET6 destination that is egress: not loopback, not the Runtime API or X-Ray endpoint
 * (with the name bound to the address, as decisions see it). */
int eg_is_egress_dest(const struct sockaddr *sa, socklen_t len) EG_HIDDEN;

/* --- dns.c --- */
/* A socket the process did not connect itself (inherited across exec, received as SCM_RIGHTS): marked EG_FD_DNS when
 * its peer is port 53, so its datagrams are decided like those of a socket connect() marked (budget.c adopts them). */
void eg_dns_adopt(int fd, const struct sockaddr *peer, socklen_t len) EG_HIDDEN;

/* --- state.c: the shared invoke-state file, version 2 (docs/STATE.md; flag bits and trip values: gen/state.h) --- */
enum { EG_IO_RX = 0, EG_IO_TX = 1 };                        /* io_rx / io_tx */
enum { EG_TRIP_RX = 0, EG_TRIP_TX = 1, EG_TRIP_TOTAL = 2 }; /* rx_trip_at / tx_trip_at / total_trip_at */
enum {
  EG_COUNT_ALLOWED = 0,
  EG_COUNT_DENIED = 1,
  EG_COUNT_BLOCKED = 2,
  EG_COUNT_UNCOVERED = 3,
  EG_COUNT_SUPPRESSED = 4,
  EG_COUNT_CUT = 5
};
void eg_state_open(const char *path) EG_HIDDEN;
int eg_state_present(void) EG_HIDDEN;               /* a valid state file is mapped */
size_t eg_state_request_id(char out[65]) EG_HIDDEN; /* 0 when unknown */
uint64_t eg_state_invoke_seq(void) EG_HIDDEN;       /* +1 per invoke (0: init phase or no file) */
uint32_t eg_state_flags(void) EG_HIDDEN;            /* EG_STATE_FLAG_* bits; 0 without a file */
int eg_state_budget_tripped(void) EG_HIDDEN;
uint32_t eg_state_trip_gen(void) EG_HIDDEN;
uint32_t eg_state_trip_budget(void) EG_HIDDEN;           /* EG_STATE_TRIP_* */
uint64_t eg_state_io(int dir) EG_HIDDEN;                 /* EG_IO_* counter */
uint64_t eg_state_io_add(int dir, uint64_t n) EG_HIDDEN; /* returns the new value */
uint64_t eg_state_trip_at(int which) EG_HIDDEN;          /* EG_TRIP_*; EG_STATE_NO_LIMIT = none */
uint32_t eg_state_trip(uint32_t budget) EG_HIDDEN;       /* trips the invoke for EG_STATE_TRIP_*; returns trip_gen */
void eg_state_count(int which) EG_HIDDEN;
void eg_state_count_n(int which, uint64_t n) EG_HIDDEN;

/* --- budget.c: per-invoke byte budgets at the transfer hooks (contract at the top of budget.c) --- */
struct msghdr;
#define EG_IOV_CLAMP 64             /* iovec entries a clamped vector call keeps */
#define EG_BUDGET_FAIL ((size_t)-1) /* eg_budget_begin(): refuse the call with g->fail_errno */
struct eg_grant {
  size_t granted; /* bytes reserved in this process's in-flight total (0: none) */
  int active;     /* eg_budget_end() must count */
  int fail_errno;
};
void eg_budget_init(void) EG_HIDDEN;
void eg_budget_atfork_child(void) EG_HIDDEN;
/* Before a connect/send to sa that was allowed: flags fd EG_FD_EGRESS when sa is egress; returns 1 then. */
int eg_budget_note_dest(int fd, const struct sockaddr *sa, socklen_t len) EG_HIDDEN;
/* After connect(fd, sa) returned r: a socket that really connected to a destination that is not egress (r == 0 or
 * EINPROGRESS) loses its flag; epoch: eg_fd_epoch() taken before the connect (fdtab.h). */
void eg_budget_connected(int fd, const struct sockaddr *sa, socklen_t len, int r, uint64_t epoch) EG_HIDDEN;
/* Flags fd by its connected peer (a socket that arrived by exec or SCM_RIGHTS); 1 when it is egress. */
int eg_budget_adopt(int fd) EG_HIDDEN;
void eg_budget_adopt_rights(const struct msghdr *msg) EG_HIDDEN; /* after recvmsg: the SCM_RIGHTS descriptors */
/* Before a stream socket connects (or first receives) while armed: cap its receive buffer when little is left. */
void eg_budget_rx_window(int fd) EG_HIDDEN;
size_t eg_budget_begin(int fd, int dir, size_t len, struct eg_grant *g, const char *call) EG_HIDDEN;
void eg_budget_end(int dir, ssize_t done, const struct eg_grant *g, const char *call) EG_HIDDEN;
/* begin → op(ctx, granted length) → end; -1 with errno when refused. */
typedef ssize_t (*eg_io_op)(void *ctx, size_t n);
ssize_t eg_budget_io(int fd, int dir, size_t len, eg_io_op op, void *ctx, const char *call) EG_HIDDEN;
/* Copies the first `grant` bytes' worth of iov (at most EG_IOV_CLAMP entries); returns the entry count. */
int eg_iov_clamp(const struct iovec *iov, int cnt, size_t grant, struct iovec out[EG_IOV_CLAMP]) EG_HIDDEN;
size_t eg_iov_total(const struct iovec *iov, size_t cnt) EG_HIDDEN; /* SIZE_MAX on overflow */
/* sysio.c: a transfer syscall() on an egress socket, performed with budgets; 0 = not one (the caller runs it). */
typedef long (*eg_syscall_raw_fn)(long, ...);
int eg_sys_io(eg_syscall_raw_fn real, long nr, long raw_nr, const long args[6], long *ret) EG_HIDDEN;

/* --- fileid.c: identity of an open file (raw fstat: no GLIBC_2.33 symbol) --- */
struct stat;
int eg_fd_stat(int fd, struct stat *st) EG_HIDDEN;
int eg_same_file(const struct stat *a, uint64_t dev, uint64_t ino) EG_HIDDEN;

/* --- childenv.c: the frozen settings every child gets (contract at the top of childenv.c) --- */
#define EG_PATH_MAX 4096
#define EG_INHERITED_MAX 2 /* entries rendered at exec time (descriptor numbers: log.c) */
#define EG_INHERITED_LEN 96
struct eg_envmem {
  _Alignas(void *) char stack[6144];
  void *map;
  size_t map_len;
};
void eg_child_env_reset(void) EG_HIDDEN;
int eg_freeze(const char *name, const char *value) EG_HIDDEN;          /* value NULL: children must not have it */
int eg_freeze_preload(const char *before, const char *self) EG_HIDDEN; /* -1: self cannot be named */
int eg_child_env_active(void) EG_HIDDEN;                               /* 1 once init froze the settings */
int eg_child_preload_known(void) EG_HIDDEN;                            /* 1 when children can be told to load us */
int eg_guarded_name(const char *entry) EG_HIDDEN;                      /* "NAME=…" names a frozen variable */
char *const *eg_child_env(char *const envp[], struct eg_envmem *mem) EG_HIDDEN; /* NULL + ENOMEM on failure */
void eg_child_env_release(struct eg_envmem *mem) EG_HIDDEN;
/* Fills out[i] with "NAME=value" entries whose values are only known at exec time; returns their count. */
size_t eg_render_inherited(char out[EG_INHERITED_MAX][EG_INHERITED_LEN]) EG_HIDDEN;

/* --- exec.c / spawn.c / system.c / uncovered.c: starting children --- */
int eg_exec_active(void) EG_HIDDEN; /* not re-entered, initialised, mode not off */
const char *eg_search_path(const char *file, char buf[EG_PATH_MAX]) EG_HIDDEN; /* buf: PATH_MAX */
void eg_fd_name(int fd, char *out, size_t cap) EG_HIDDEN;
/* Reports an uncovered target and builds the child's environment (mem released by eg_child_env_release). */
char *const *eg_exec_prepare(const char *path, int fd, char *const envp[], const char *call,
                             struct eg_envmem *mem) EG_HIDDEN;
void eg_uncovered_fd(int fd, const char *shown, const char *call) EG_HIDDEN;
void eg_uncovered_path(const char *path, const char *call) EG_HIDDEN;
#include <spawn.h>
int eg_spawn(pid_t *pid, const char *path, int search, const posix_spawn_file_actions_t *fa,
             const posix_spawnattr_t *attr, char *const argv[], char *const envp[], const char *call) EG_HIDDEN;
void eg_system_atfork_child(void) EG_HIDDEN;

/* --- ownfd.c: descriptors the guard owns (contract at the top of ownfd.c) --- */
enum { EG_OWN_LOG = 0, EG_OWN_POLICY = 1, EG_OWN_COUNT = 2 };
int eg_owned(int fd) EG_HIDDEN;       /* 1 when the guard owns fd: the host may not close or replace it */
int eg_owned_fd(int which) EG_HIDDEN; /* current number of an owned descriptor, -1 = none */
void eg_own(int which, int fd, int dup_first) EG_HIDDEN;     /* take fd (a renumbered duplicate when dup_first) */
int eg_own_inherited(int which, const char *spec) EG_HIDDEN; /* adopt "<fd>:<dev>:<ino>" if still that file */
void eg_proc_fd_path(char *out, long pid, int fd) EG_HIDDEN; /* "/proc/<pid>/fd/<fd>", out >= 48 bytes */
int eg_fd_from_parent(int fd, int open_flags) EG_HIDDEN;     /* the parent's descriptor fd, here; -1 if out of reach */
int eg_owned_before_replace(int newfd) EG_HIDDEN; /* before dup2 onto newfd; returns the old copy to close on failure */
/* close_range(first, last, flags) in pieces around the owned descriptors: fn(ctx, lo, hi, flags) for each piece. */
int eg_owned_close_range(unsigned first, unsigned last, int flags, int (*fn)(const void *ctx, unsigned, unsigned, int),
                         const void *ctx) EG_HIDDEN;
size_t eg_render_owned(int which, const char *prefix, char *out, size_t cap) EG_HIDDEN; /* "<prefix><fd>:<dev>:<ino>" */
void eg_log_write(const char *buf, size_t len) EG_HIDDEN; /* one write(2) to the guard's log descriptor */
void eg_own_atfork_child(void) EG_HIDDEN;

/* --- log.c --- */
void eg_log_open(void) EG_HIDDEN;
/* One decision line (docs/LOGGING.md "Network events"). */
void eg_log_decision(const struct eg_query *q, int allow, int blocked, int32_t rule, const char *errno_name) EG_HIDDEN;
/* The same with an `option` field (event `sockopt`: the socket option or control message decided; NULL: none). */
void eg_log_decision_opt(const struct eg_query *q, const char *option, int allow, int blocked, int32_t rule,
                         const char *errno_name) EG_HIDDEN;
void eg_log_policy_error(const char *code, const char *path, const char *what, int fail_closed, uint64_t expected,
                         uint64_t got, int has_expected) EG_HIDDEN;
/* A configuration variable with an unusable value (event `policy`, fields `variable`, `value`; level 40). */
void eg_log_config_error(const char *code, const char *variable, const char *value, const char *what) EG_HIDDEN;
void eg_log_uncovered(const char *path, const char *reason, const char *call) EG_HIDDEN;
/* One `cut` line: this process cut `sockets` egress sockets after the invoke's `budget` (EG_STATE_TRIP_*) tripped. */
void eg_log_cut(uint32_t budget, unsigned sockets, const char *call, uint64_t io_rx, uint64_t io_tx) EG_HIDDEN;
void eg_log_atfork_child(void) EG_HIDDEN;
/* The decision-line rate limiter (docs/LOGGING.md "Rate limit"): set up at init (burst 0: off); the tick writes the
 * summaries that are due (every decision calls it; one atomic load when nothing is pending); flush writes every
 * pending summary now (before exec and _exit; a destructor does it at exit). */
void eg_log_rate_init(unsigned burst, unsigned window_s) EG_HIDDEN;
void eg_log_tick(void) EG_HIDDEN;
void eg_log_flush(void) EG_HIDDEN;
/* One `agent` line (level 40): the agent could not be started, so per-invoke metering is off (docs/LOGGING.md). */
void eg_log_agent(const char *code, const char *path, const char *what) EG_HIDDEN;

/* --- agent_spawn.c: starts egress-guard-agent for a Lambda runtime (contract at the top of agent_spawn.c) --- */
void eg_agent_spawn(void) EG_HIDDEN;

#endif
