/*
 * agent.h — egress-guard-agent: a Lambda Runtime API proxy that knows every invoke's boundaries and request id, for
 * any runtime (docs/METERING.md "The agent"). Internal interfaces between its files:
 *
 *   main.c     start-up: arguments, configuration, the listening socket handed over by the spawner, threads
 *   config.c   the environment → `cfg` (immutable after start-up, so every thread reads it without a lock)
 *   proxy.c    worker threads, one runtime connection each at a time: relays requests upstream (pooled keep-alive
 *              connections) and responses back, and calls invoke.c
 *              at the invoke boundaries (/next answered, /response or /error posted)
 *   invoke.c   the invoke table (one mutex): begin, end, budget checks, trips, the state file, concurrency
 *   sampler.c  one thread: the armed budget sampler (1–32 ms while an enforced invoke runs) and invoke deadlines,
 *              woken by a timer invoke.c sets
 *   report.c   the `init`, `invoke` and `budget` lines and the EMF line (docs/LOGGING.md)
 *   upstream.c connections to the real Runtime API, and the error the agent posts for an over-budget invoke
 *   netdev.c   /proc/net/dev parsing and byte arithmetic (pure)
 *   statew.c   the agent's writes to the invoke state file v2 (docs/STATE.md)
 */
#ifndef EG_AGENT_H
#define EG_AGENT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gen/config.h"
#include "netdev.h"

/* The mode: the word indices of contracts/config.yaml (src/config.h parses them). */
enum { AG_MODE_OFF = EG_CFG_MODE_OFF, AG_MODE_AUDIT = EG_CFG_MODE_AUDIT, AG_MODE_ENFORCE = EG_CFG_MODE_ENFORCE };
enum { AG_RX = 0, AG_TX = 1, AG_TOTAL = 2 };
#define AG_NONE UINT64_MAX

/* Configuration: written once by config_load() before any thread starts, immutable afterwards. */
struct ag_config {
  char upstream[300]; /* host:port of the real Runtime API */
  struct sockaddr_storage up_addr;
  socklen_t up_len;
  int mode;
  uint64_t budget[3]; /* AG_RX, AG_TX, AG_TOTAL; AG_NONE = no limit */
  int has_budgets;
  char state_path[4096];
  int log_fd;  /* guard lines: stderr, a file (O_APPEND) or -1 (off) */
  int metrics; /* EMF line on stdout */
  char metrics_ns[256];
  char function_name[256];
  uint64_t sample_ns;
  uint64_t timeout_margin_ns;
  int multi_concurrency; /* AWS_LAMBDA_MAX_CONCURRENCY > 1 */
  struct nd_filter filter;
  char netdev_path[256];
  /* problems found while loading (reported once by main.c) */
  char warn[512];
};
extern struct ag_config cfg;

/* config.c: returns 0, or -1 with a message on stderr (the agent cannot run: no upstream). */
int config_load(void);

/* --- time --- */
uint64_t ag_now_ns(void);   /* CLOCK_MONOTONIC */
uint64_t ag_epoch_ms(void); /* CLOCK_REALTIME */

/* --- statew.c (the state file; NULL mapping = no state file, every call is a no-op) --- */
enum { AG_N_ALLOWED, AG_N_DENIED, AG_N_BLOCKED, AG_N_UNCOVERED, AG_N_SUPPRESSED, AG_N_CUT, AG_N_COUNT };
int statew_open(const char *path); /* 0, or -1 (logged by the caller) */
int statew_ok(void);
void statew_set_pid(uint64_t pid);
/* invoke start: invoke_seq+1, flags, request id (seqlocked); trip_budget reset; thresholds (AG_NONE = not armed) */
uint64_t statew_begin(const char *id, size_t len, uint32_t flags, const uint64_t trip_at[3]);
/* invoke end: IN_INVOKE and ARMED cleared (unless others run: keep_in_invoke), thresholds disarmed */
void statew_end(int keep_in_invoke);
void statew_set_flags(uint32_t bits);
void statew_disarm(void);
void statew_counters(uint64_t out[AG_N_COUNT]);
void statew_io(uint64_t *rx, uint64_t *tx);
/* The budget the interposer tripped (EG_STATE_TRIP_*), 0 when none. */
uint32_t statew_trip_budget(void);
/* Trips `budget` (EG_STATE_TRIP_*): CAS from 0, BUDGET_TRIPPED, then trip_gen + 1 when this call set the flag
 * (docs/STATE.md "Trip"). Returns 1 when this call tripped it. */
int statew_trip(uint32_t budget);

/* --- invoke.c --- */
struct invoke;
int inv_init(void);
/* /next answered 200: the invoke starts (before the event reaches the runtime). */
struct invoke *inv_begin(const char *id, size_t id_len, uint64_t deadline_ms);
/* After the event was relayed (off the critical path): wakes the sampler (the invoke's deadline, its first look), and
 * writes the init line on the first invoke. */
void inv_after_begin(struct invoke *inv);

/* INV_REJECT: the runtime already posted a result for this request id; the Runtime API's own answer to a second one
 * (403 InvalidStateTransition) is given locally, nothing is forwarded or written. */
enum inv_action { INV_FORWARD = 0, INV_REPLACE = 1, INV_SWALLOW = 2, INV_REJECT = 3 };
enum inv_outcome { OUT_OK = 0, OUT_ERROR = 1, OUT_TIMEOUT = 2 };
/* A non-streaming /response or /error of request `id` arrived: ends the invoke (armed: end snapshot, final budget
 * check; otherwise both wait for inv_report).
 * *inv is set when the invoke is tracked (report with inv_report after relaying). INV_SWALLOW returns only once the
 * agent's own error post for the invoke has been answered by Lambda. */
enum inv_action inv_end(const char *id, size_t id_len, int outcome, struct invoke **inv);
/* A streaming response starts: returns INV_FORWARD (relay with the watch of *inv), INV_SWALLOW or INV_REJECT. */
enum inv_action inv_stream_begin(const char *id, size_t id_len, struct invoke **inv);
int inv_stream_wake_fd(struct invoke *inv);
/* For the relay's watch: 1 when the stream must end with our error now (a trip), or at_end: final check. */
int inv_stream_should_abort(void *inv, int at_end);
const char *inv_stream_trailers(struct invoke *inv);
void inv_stream_end(struct invoke *inv, int outcome);
/* Writes the invoke line (and the EMF line) of an ended invoke and releases it; takes the end snapshot first when
 * inv_end deferred it (called after the relay). */
void inv_report(struct invoke *inv);
/* The error body the agent posts upstream for an over-budget invoke. */
size_t inv_error_body(struct invoke *inv, char *out, size_t cap);
/* sampler.c entry points */
void inv_tick(void);    /* the sampler's work when its timer fires; sets the timer for the next time it is needed */
int inv_timer_fd(void); /* the sampler's timerfd: the sampler blocks in read(2) on it */

/* --- upstream.c --- */
int up_connect(void);                                                           /* a connected socket, or -1 */
int up_post_error(const char *id, size_t id_len, const char *body, size_t len); /* HTTP status or -1 */

/* --- proxy.c --- */
void proxy_serve(int listen_fd); /* never returns */

/* --- sampler.c --- */
int sampler_start(void);

/* --- report.c --- */
struct report_invoke;
void report_write(int fd, const char *line, size_t len); /* one write(2), errors ignored */

#endif
