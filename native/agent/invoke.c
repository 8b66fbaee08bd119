/*
 * invoke.c — the invoke table: what the agent knows about every invoke in flight, under one mutex.
 *
 * Contract (docs/METERING.md "The agent", docs/STATE.md)
 * - inv_begin(): the Runtime API answered /next with a request id. Before the event reaches the runtime: a
 *   /proc/net/dev snapshot, the interposer's counters, and the state file says IN_INVOKE with the request id (so every
 *   guard line of the handler carries it) and, when the invoke's budgets are enforced (enforce mode, budgets set, not
 *   concurrent: ARMED), the thresholds on the interposer's io counters. Another invoke in flight, or
 *   AWS_LAMBDA_MAX_CONCURRENCY > 1, makes every overlapping invoke `concurrent`: figures are environment-wide,
 *   budgets are reported but never enforced (the trip would hit invokes that did nothing wrong).
 * - inv_end(): the runtime posted the invoke's result. For an ARMED invoke the end snapshot is taken at once and the
 *   final budget check made; an enforced breach replaces the result with EgressBudgetExceeded (INV_REPLACE). Any
 *   other invoke's result cannot be replaced, so its snapshot and check wait for inv_report(), after the relay: off
 *   the result's latency path (the handler has returned, and the runtime waits for Lambda's answer until then). When the agent already answered
 *   Lambda for this invoke (a trip mid-invoke), the runtime's late result is answered locally and dropped
 *   (INV_SWALLOW) — once Lambda has answered the agent's own error post, so the runtime's next /next never finds
 *   the invoke still open: Lambda never receives two results. A second result of the runtime for one request (the
 *   last RESULTS_SEEN requests) is refused (INV_REJECT), whether the invoke is still tracked or not. The invoke and
 *   EMF lines come from inv_report() after the relay, off the latency path.
 * - inv_tick() (sampler.c, when the timer this file sets for the earliest look or deadline fires; an invoke that ends
 *   before its first look never wakes the sampler): while an invoke is ARMED, when the bytes left under its budgets
 *   plus the overshoot look.h allows could be used up at 10 Gbit/s (next_look; at least cfg.sample_ns apart):
 *   /proc/net/dev (read outside the mutex, on the sampler's own descriptor, so an invoke
 *   boundary never waits for it) against its budgets, and the state file's trip (the interposer's exact byte accounting). On a trip: BUDGET_TRIPPED + trip_gen in the state file
 *   (the interposer then cuts the invoke's egress sockets), one `budget` line, and the invoke fails at once: the
 *   agent posts EgressBudgetExceeded upstream (or ends a streaming response with it). Also invoke deadlines: an invoke
 *   still running cfg.timeout_margin_ns before its Lambda-Runtime-Deadline-Ms is reported `timeout` then (the runtime
 *   is killed at the deadline, so it is the last moment to write the figures).
 * - Between invokes: the bytes counted after one invoke ended and before the next began are reported on the next
 *   invoke line as `betweenInvokes` (charged to neither); after a trip BUDGET_TRIPPED stays set until the next invoke
 *   begins, so the tripped invoke's leftovers cannot open new egress meanwhile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "agent.h"
#include "look.h"
#include "report.h"
#include "gen/state.h"

#define MAX_INV 64

enum { IV_RUNNING = 0, IV_STREAMING = 1, IV_ENDED = 2 };

struct invoke {
  int used, state;
  char id[65];
  uint64_t start_ns, end_ns, deadline_ns;
  uint64_t look_ns; /* the sampler's next look at this armed invoke */
  int start_ok, end_ok;
  int end_pending;    /* not armed: the end snapshot waits for inv_report (end_snapshot) */
  int end_others;     /* invokes still in flight when it ended */
  uint64_t end_begun; /* `begun` when it ended: a later invoke start makes its end snapshot no `last_end` */
  uint64_t c0[AG_N_COUNT], c1[AG_N_COUNT];
  uint64_t io0[2];
  int concurrent, armed;
  int answered;     /* the agent gave Lambda this invoke's result (EgressBudgetExceeded) */
  int runtime_done; /* the runtime's own result arrived */
  int reported;     /* the invoke line was claimed */
  int outcome, timed_out;
  int tripped, trip_which;
  uint64_t trip_limit, trip_observed;
  int trip_pending; /* streaming: end the stream with our error */
  int posting;      /* the sampler's EgressBudgetExceeded post to Lambda is in flight */
  int wake_fd;      /* streaming relay's watch */
  int wake_pending; /* wake_fd was written: drain it before the slot serves another invoke */
  int has_between;
  uint64_t between_rx, between_tx;
  /* Large members last: inv_begin clears only what comes before them (each is written before it is read). */
  char trailers[1024];
  struct nd_snap start, end; /* valid when start_ok / end_ok */
};

/* The table (≈ 9 KB an entry, mostly its two snapshots) and which entries are used: bit i of `live` is tab[i].used.
 * Every pass over the invokes in flight walks the set bits only, so a look or an invoke boundary touches the entries
 * in use (usually one) and not 64 entries on 64 pages — after the sampler's sleep, each was a cache and TLB miss. */
static struct invoke tab[MAX_INV];
static uint64_t live;
_Static_assert(MAX_INV == 64, "live has one bit per entry");
#define LIVE_NEXT(m) (&tab[__builtin_ctzll(m)]) /* the entry of m's lowest set bit (m != 0) */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t posted = PTHREAD_COND_INITIALIZER; /* a `posting` ended */
/* Request ids whose result the runtime already posted (the newest RESULTS_SEEN): a second result for one of them is
 * refused locally (INV_REJECT) whether or not the invoke is still in the table. */
#define RESULTS_SEEN 64
static char results_seen[RESULTS_SEEN][65];
static unsigned results_next;
static int nd_fd = -1;
static char nd_buf[65536]; /* under mu */
static struct nd_snap load_snap, last_end;
static int have_load, have_last_end, init_done;
static uint64_t begun; /* invokes begun so far; under mu */
/* The sampler's own /proc/net/dev descriptor and buffer: its reads happen outside mu, so a worker at an invoke boundary
 * never waits for one. */
static int nd_sfd = -1;
static char nd_sbuf[65536];
/* The sampler's timer (CLOCK_MONOTONIC, absolute): armed under mu for the earliest look or reporting deadline of the
 * invokes in flight (timer_sync), disarmed when none needs one. An invoke that ends before its first look never wakes
 * the sampler. */
static int timer_fd = -1;
static uint64_t timer_at; /* what timer_fd is set to (0 = disarmed); under mu */

static const uint32_t TRIP_CODES[3] = {EG_STATE_TRIP_RX_BYTES, EG_STATE_TRIP_TX_BYTES, EG_STATE_TRIP_TOTAL_BYTES};

int inv_timer_fd(void) { return timer_fd; }

static void wake(struct invoke *inv) {
  uint64_t one = 1;
  if (inv->wake_fd >= 0) (void)!write(inv->wake_fd, &one, 8);
  inv->wake_pending = 1;
}

static int read_netdev(struct nd_snap *s) {
  if (nd_fd < 0) return -1;
  return nd_read(nd_fd, nd_buf, sizeof nd_buf, s) == 0 ? 0 : -1;
}

int inv_init(void) {
  nd_fd = open(cfg.netdev_path, O_RDONLY | O_CLOEXEC);
  nd_sfd = open(cfg.netdev_path, O_RDONLY | O_CLOEXEC);
  timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  for (int i = 0; i < MAX_INV; i++) tab[i].wake_fd = -1;
  have_load = read_netdev(&load_snap) == 0;
  return timer_fd >= 0 ? 0 : -1;
}

/* When the sampler must next run for `inv` (0 = never): its reporting deadline, and its next look while armed. */
static uint64_t due_of(const struct invoke *inv) {
  if (!inv->used || inv->state == IV_ENDED) return 0;
  uint64_t due = 0;
  if (inv->deadline_ns != 0)
    due = inv->deadline_ns > cfg.timeout_margin_ns ? inv->deadline_ns - cfg.timeout_margin_ns : 1;
  if (inv->armed && !inv->tripped && (due == 0 || inv->look_ns < due)) due = inv->look_ns;
  return due;
}

/* Sets the sampler's timer to the earliest due time of the table (disarms it when nothing is due). Under mu. */
static void timer_sync(void) {
  uint64_t at = 0;
  for (uint64_t m = live; m != 0; m &= m - 1) {
    uint64_t d = due_of(LIVE_NEXT(m));
    if (d != 0 && (at == 0 || d < at)) at = d;
  }
  if (at == timer_at || timer_fd < 0) return;
  struct itimerspec its = {{0, 0}, {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)}};
  if (timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) timer_at = at;
}

static int in_flight(void) {
  int n = 0;
  for (uint64_t m = live; m != 0; m &= m - 1)
    if (LIVE_NEXT(m)->state != IV_ENDED) n++;
  return n;
}

static struct invoke *find(const char *id, size_t len) {
  if (len > 64) return NULL;
  for (uint64_t m = live; m != 0; m &= m - 1) {
    struct invoke *inv = LIVE_NEXT(m);
    if (strlen(inv->id) == len && memcmp(inv->id, id, len) == 0) return inv;
  }
  return NULL;
}

static void release(struct invoke *inv) {
  inv->used = 0;
  live &= ~(1ull << (inv - tab));
}

/* 1 when the runtime already posted a result for `id`; otherwise records that it posts one now. Under mu. */
static int result_seen(const char *id, size_t len) {
  if (len == 0 || len > 64) return 0;
  for (int i = 0; i < RESULTS_SEEN; i++)
    if (strlen(results_seen[i]) == len && memcmp(results_seen[i], id, len) == 0) return 1;
  char *e = results_seen[results_next++ % RESULTS_SEEN];
  memcpy(e, id, len);
  e[len] = '\0';
  return 0;
}

/* Lambda must have the agent's own result before the runtime hears that its result was taken (and moves on to
 * /next, which Lambda refuses while the invoke is open). Under mu. */
static void wait_posted(struct invoke *inv) {
  while (inv->used && inv->posting) pthread_cond_wait(&posted, &mu);
}

/* A free slot; when full, the oldest entry that only waits for a late result of the runtime is dropped. */
static struct invoke *slot(void) {
  if (~live != 0) return &tab[__builtin_ctzll(~live)];
  struct invoke *oldest = NULL;
  for (int i = 0; i < MAX_INV; i++)
    if (tab[i].reported && !tab[i].posting && (oldest == NULL || tab[i].start_ns < oldest->start_ns)) oldest = &tab[i];
  if (oldest) release(oldest);
  return oldest;
}

/* When the sampler looks at an armed invoke again, from what it saw now: look.h (the bound that interval keeps for
 * bytes the hooks cannot see), never sooner than cfg.sample_ns nor later than LK_MAX_FACTOR × cfg.sample_ns. */
static uint64_t next_look(uint64_t rx, uint64_t tx) {
  return lk_interval_ns(cfg.budget, rx, tx, cfg.sample_ns, cfg.sample_ns * LK_MAX_FACTOR);
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > AG_NONE - b ? AG_NONE : a + b; }

struct invoke *inv_begin(const char *id, size_t id_len, uint64_t deadline_ms) {
  if (id_len == 0 || id_len > 64) return NULL;
  pthread_mutex_lock(&mu);
  struct invoke *inv = slot();
  if (inv == NULL) {
    pthread_mutex_unlock(&mu);
    return NULL;
  }
  int fd = inv->wake_fd, pending = inv->wake_pending;
  memset(inv, 0, offsetof(struct invoke, trailers));
  inv->trailers[0] = '\0';
  inv->wake_fd = fd;
  if (inv->wake_fd < 0) inv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  uint64_t drain;
  while (pending && inv->wake_fd >= 0 && read(inv->wake_fd, &drain, 8) == 8) {}
  inv->used = 1;
  live |= 1ull << (inv - tab);
  begun++;
  memcpy(inv->id, id, id_len);
  inv->start_ok = read_netdev(&inv->start) == 0;
  inv->start_ns = ag_now_ns();
  inv->look_ns = inv->start_ns + next_look(0, 0); /* the start snapshot was just taken */
  if (deadline_ms > 0) {
    uint64_t now_ms = ag_epoch_ms();
    inv->deadline_ns = inv->start_ns + (deadline_ms > now_ms ? (deadline_ms - now_ms) * 1000000ull : 0);
  }
  statew_counters(inv->c0);
  statew_io(&inv->io0[0], &inv->io0[1]);
  int others = in_flight() - 1;
  inv->concurrent = cfg.multi_concurrency || others > 0;
  if (others > 0) {
    for (uint64_t m = live; m != 0; m &= m - 1) {
      struct invoke *o = LIVE_NEXT(m);
      if (o != inv && o->state != IV_ENDED) o->concurrent = 1, o->armed = 0;
    }
  }
  inv->armed = cfg.mode == AG_MODE_ENFORCE && cfg.has_budgets && !inv->concurrent && inv->start_ok;
  uint64_t at[3] = {AG_NONE, AG_NONE, AG_NONE};
  if (inv->armed) {
    if (cfg.budget[AG_RX] != AG_NONE) at[AG_RX] = add_sat(inv->io0[0], cfg.budget[AG_RX]);
    if (cfg.budget[AG_TX] != AG_NONE) at[AG_TX] = add_sat(inv->io0[1], cfg.budget[AG_TX]);
    if (cfg.budget[AG_TOTAL] != AG_NONE) at[AG_TOTAL] = add_sat(inv->io0[0] + inv->io0[1], cfg.budget[AG_TOTAL]);
  }
  uint32_t flags = EG_STATE_FLAG_IN_INVOKE | (inv->armed ? EG_STATE_FLAG_ARMED : 0) |
                   (inv->concurrent ? EG_STATE_FLAG_CONCURRENT : 0);
  statew_begin(id, id_len, flags, at);
  if (have_last_end && others == 0 && inv->start_ok) {
    struct nd_delta d;
    nd_delta(&last_end, &inv->start, &cfg.filter, &d);
    inv->has_between = 1;
    inv->between_rx = d.rx;
    inv->between_tx = d.tx;
  }
  pthread_mutex_unlock(&mu);
  return inv; /* the sampler's timer is set by inv_after_begin, once the event is on its way */
}

void inv_after_begin(struct invoke *inv) {
  static struct nd_snap first;
  char id[65];
  pthread_mutex_lock(&mu);
  timer_sync();
  int todo = !init_done && inv->used && inv->start_ok && have_load;
  if (todo) {
    init_done = 1;
    first = inv->start;
    memcpy(id, inv->id, sizeof id);
  }
  pthread_mutex_unlock(&mu);
  if (todo) report_init_line(&load_snap, &first, id);
}

/* The first budget the delta exceeds (strictly greater), or -1. */
static int exceeded(uint64_t rx, uint64_t tx, uint64_t *limit, uint64_t *observed) {
  const uint64_t v[3] = {rx, tx, rx + tx};
  for (int i = 0; i < 3; i++) {
    if (cfg.budget[i] != AG_NONE && v[i] > cfg.budget[i]) {
      *limit = cfg.budget[i];
      *observed = v[i];
      return i;
    }
  }
  return -1;
}

/* Records a breach (once per invoke), trips the state file when enforced; fills *note for the budget line. Returns 1
 * when the breach is enforced (the invoke must fail). Under mu. */
static int trip(struct invoke *inv, int which, uint64_t limit, uint64_t observed, uint64_t rx, uint64_t tx,
                const char *by, struct budget_note *note) {
  inv->tripped = 1;
  inv->trip_which = which;
  inv->trip_limit = limit;
  inv->trip_observed = observed;
  int enforced = cfg.mode == AG_MODE_ENFORCE && !inv->concurrent;
  if (enforced) statew_trip(TRIP_CODES[which]);
  memcpy(note->id, inv->id, sizeof note->id);
  note->which = which;
  note->limit = limit;
  note->observed = observed;
  note->rx = rx;
  note->tx = tx;
  note->enforced = enforced;
  note->concurrent = inv->concurrent;
  note->by = by;
  return enforced;
}

static void base64(const uint8_t *in, size_t n, char *out, size_t cap) {
  static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n && o + 5 < cap; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    out[o++] = T[v >> 18 & 63];
    out[o++] = T[v >> 12 & 63];
    out[o++] = i + 1 < n ? T[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? T[v & 63] : '=';
  }
  out[o] = '\0';
}

size_t inv_error_body(struct invoke *inv, char *out, size_t cap) {
  const char *name = report_budget_name(inv->trip_which);
  int n = snprintf(out, cap,
                   "{\"errorMessage\":\"egress budget exceeded: %s %llu bytes observed, limit %llu (request %s); the "
                   "invocation's egress was cut; raise budgets.perInvoke in the policy if this is expected\","
                   "\"errorType\":\"EgressBudgetExceeded\",\"stackTrace\":[],\"code\":\"E_BUDGET_EXCEEDED\","
                   "\"budget\":\"%s\",\"limit\":%llu,\"observed\":%llu,\"requestId\":\"%s\"}",
                   name, (unsigned long long)inv->trip_observed, (unsigned long long)inv->trip_limit, inv->id, name,
                   (unsigned long long)inv->trip_limit, (unsigned long long)inv->trip_observed, inv->id);
  return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void build_trailers(struct invoke *inv) {
  char body[900], b64[1300];
  size_t n = inv_error_body(inv, body, sizeof body);
  base64((const uint8_t *)body, n, b64, sizeof b64);
  snprintf(inv->trailers, sizeof inv->trailers,
           "Lambda-Runtime-Function-Error-Type: EgressBudgetExceeded\r\nLambda-Runtime-Function-Error-Body: %.*s\r\n",
           (int)(sizeof inv->trailers - 120), b64);
}

/* The end snapshot of /proc/net/dev; the figures of a lone invoke's end are where betweenInvokes starts. Under mu. */
static void end_snapshot(struct invoke *inv) {
  inv->end_pending = 0;
  inv->end_ok = inv->start_ok && read_netdev(&inv->end) == 0;
  if (inv->end_others == 0 && inv->end_ok && inv->end_begun == begun) {
    last_end = inv->end;
    have_last_end = 1;
  }
}

/* The invoke ends: time, counters, the state file leaves the invoke, and the end snapshot — now, or, with `defer`,
 * in inv_report after the relay (only for an invoke whose budgets are not enforced: no check can replace its result).
 * Under mu. */
static void take_end(struct invoke *inv, int defer) {
  inv->end_ns = ag_now_ns();
  statew_counters(inv->c1);
  inv->state = IV_ENDED;
  int others = in_flight();
  statew_end(others > 0);
  inv->end_others = others;
  inv->end_begun = begun;
  inv->end_ok = 0;
  inv->end_pending = 1;
  if (!defer) end_snapshot(inv);
}

/* The budget the interposer tripped for this armed invoke (its exact byte accounting), as AG_RX/AG_TX/AG_TOTAL with
 * the limit and its io-counter figure; -1 when it did not. trip_budget is zeroed only when the next invoke begins,
 * so this holds after take_end() too. Under mu. */
static int interposer_trip(const struct invoke *inv, uint64_t *limit, uint64_t *observed) {
  uint32_t by = inv->armed ? statew_trip_budget() : EG_STATE_TRIP_NONE;
  if (by == EG_STATE_TRIP_NONE) return -1;
  uint64_t io_rx, io_tx;
  statew_io(&io_rx, &io_tx);
  io_rx -= inv->io0[0], io_tx -= inv->io0[1];
  int which = by == EG_STATE_TRIP_RX_BYTES ? AG_RX : by == EG_STATE_TRIP_TX_BYTES ? AG_TX : AG_TOTAL;
  const uint64_t v[3] = {io_rx, io_tx, io_rx + io_tx};
  *limit = cfg.budget[which];
  *observed = v[which];
  return which;
}

/* The final check at the end; 1 when an enforced breach must fail the invoke. The interposer's trip counts even when
 * /proc/net/dev does not show the breach: the bytes it stopped may never have reached the wire (a cut discards the
 * socket's buffers), and the sampler may not have looked since. Under mu. */
static int final_check(struct invoke *inv, struct budget_note *note, int *noted) {
  *noted = 0;
  if (!cfg.has_budgets || inv->tripped) return 0;
  struct nd_delta d = {0};
  if (inv->end_ok) nd_delta(&inv->start, &inv->end, &cfg.filter, &d);
  uint64_t limit = 0, observed = 0;
  const char *by = "interposer";
  int w = interposer_trip(inv, &limit, &observed);
  if (w < 0 && inv->end_ok) w = exceeded(d.rx, d.tx, &limit, &observed), by = "end";
  if (w < 0) return 0;
  *noted = 1;
  return trip(inv, w, limit, observed, d.rx, d.tx, by, note);
}

enum inv_action inv_end(const char *id, size_t id_len, int outcome, struct invoke **out) {
  struct budget_note note;
  int noted = 0;
  enum inv_action act = INV_FORWARD;
  pthread_mutex_lock(&mu);
  *out = NULL;
  if (result_seen(id, id_len)) {
    pthread_mutex_unlock(&mu);
    return INV_REJECT;
  }
  struct invoke *inv = find(id, id_len);
  if (inv != NULL) {
    inv->runtime_done = 1;
    if (inv->answered) {
      wait_posted(inv);
      act = INV_SWALLOW;
      if (inv->state != IV_ENDED) take_end(inv, 0), inv->outcome = OUT_ERROR;
      *out = inv->reported ? NULL : inv;
      if (inv->reported) release(inv);
    } else if (inv->state == IV_ENDED) {
      if (inv->reported) release(inv); /* reported as timed out: the late result goes to Lambda as is */
    } else {
      /* not armed: nothing can replace the result, so its snapshot and check wait until it is on its way */
      take_end(inv, !inv->armed);
      inv->outcome = outcome;
      if (inv->armed && final_check(inv, &note, &noted)) {
        inv->answered = 1;
        inv->outcome = OUT_ERROR;
        act = INV_REPLACE;
      }
      *out = inv;
    }
  }
  pthread_mutex_unlock(&mu);
  if (noted) report_budget_line(&note);
  return act; /* no wake: the sampler skips an ended invoke when it next looks */
}

enum inv_action inv_stream_begin(const char *id, size_t id_len, struct invoke **out) {
  enum inv_action act = INV_FORWARD;
  pthread_mutex_lock(&mu);
  *out = NULL;
  if (result_seen(id, id_len)) {
    pthread_mutex_unlock(&mu);
    return INV_REJECT;
  }
  struct invoke *inv = find(id, id_len);
  if (inv != NULL) {
    if (inv->answered) {
      wait_posted(inv);
      act = INV_SWALLOW;
      inv->runtime_done = 1;
      if (inv->state != IV_ENDED) take_end(inv, 0), inv->outcome = OUT_ERROR;
      *out = inv->reported ? NULL : inv;
      if (inv->reported) release(inv);
    } else if (inv->state == IV_ENDED) {
      if (inv->reported) release(inv);
    } else {
      inv->state = IV_STREAMING;
      *out = inv;
    }
  }
  pthread_mutex_unlock(&mu);
  return act;
}

int inv_stream_wake_fd(struct invoke *inv) { return inv->wake_fd; }
const char *inv_stream_trailers(struct invoke *inv) { return inv->trailers; }

int inv_stream_should_abort(void *ctx, int at_end) {
  struct invoke *inv = ctx;
  struct budget_note note;
  int noted = 0, abort = 0;
  uint64_t drain;
  while (read(inv->wake_fd, &drain, 8) == 8) {}
  pthread_mutex_lock(&mu);
  if (inv->trip_pending) {
    inv->trip_pending = 0;
    abort = 1;
  } else if (at_end && inv->state == IV_STREAMING && !inv->answered) {
    take_end(inv, 0);
    if (final_check(inv, &note, &noted)) {
      inv->answered = 1;
      build_trailers(inv);
      abort = 1;
    }
  }
  pthread_mutex_unlock(&mu);
  if (noted) report_budget_line(&note);
  return abort;
}

void inv_stream_end(struct invoke *inv, int outcome) {
  pthread_mutex_lock(&mu);
  inv->runtime_done = 1;
  if (inv->state != IV_ENDED) take_end(inv, 0);
  inv->outcome = inv->answered ? OUT_ERROR : outcome;
  timer_sync();
  pthread_mutex_unlock(&mu);
}

/* Copies what the invoke line needs and marks the invoke reported. Under mu. */
static void summarise(struct invoke *inv, struct inv_summary *s) {
  memset(s, 0, sizeof *s);
  inv->reported = 1;
  memcpy(s->id, inv->id, sizeof s->id);
  s->outcome = inv->outcome;
  s->failed_by_guard = inv->answered;
  s->duration_ns = inv->end_ns - inv->start_ns;
  s->netdev_ok = inv->end_ok;
  if (s->netdev_ok) {
    s->start = inv->start;
    s->end = inv->end;
    nd_delta(&s->start, &s->end, &cfg.filter, &s->d);
  }
  s->have_events = statew_ok();
  for (int i = 0; i < AG_N_COUNT; i++) s->events[i] = inv->c1[i] - inv->c0[i];
  s->exceeded = inv->tripped;
  s->concurrent = inv->concurrent;
  s->timed_out = inv->timed_out;
  s->has_between = inv->has_between;
  s->between_rx = inv->between_rx;
  s->between_tx = inv->between_tx;
}

void inv_report(struct invoke *inv) {
  struct inv_summary s;
  struct budget_note note;
  int noted = 0;
  pthread_mutex_lock(&mu);
  int todo = inv->used && !inv->reported && inv->state == IV_ENDED;
  if (todo) {
    if (inv->end_pending) {
      end_snapshot(inv);
      final_check(inv, &note, &noted); /* not armed: reported, never enforced */
    }
    summarise(inv, &s);
    if (inv->runtime_done || !inv->answered) release(inv);
  }
  timer_sync(); /* after the relay: the ended invoke needs no look (the timer is disarmed when none is in flight) */
  pthread_mutex_unlock(&mu);
  if (noted) report_budget_line(&note);
  if (todo) report_invoke_line(&s);
}

/* 1 when the sampler must look at armed invoke `inv` now: its look is due, or the interposer tripped. Under mu. */
static int look_due(const struct invoke *inv, uint64_t now, uint32_t by_interposer) {
  if (!inv->used || inv->state == IV_ENDED || !inv->armed || inv->tripped) return 0;
  return now >= inv->look_ns || by_interposer != EG_STATE_TRIP_NONE;
}

/* One sampler step at `now`; returns 1 when it must run again at once (it wrote a line or tripped: another invoke may
 * need it). The /proc/net/dev read happens outside mu, between two passes over the table. */
static int tick(uint64_t now) {
  static struct inv_summary timed_out[4];
  static struct nd_snap cur;
  struct budget_note note;
  int n_timed = 0, noted = 0, need_look = 0;
  struct invoke *post = NULL;
  char post_id[65];
  char body[1024];
  size_t body_len = 0;
  pthread_mutex_lock(&mu);
  if (timer_at != 0 && now >= timer_at) timer_at = 0; /* it fired: timer_sync below sets it again when needed */
  for (uint64_t m = live; m != 0; m &= m - 1) {
    struct invoke *inv = LIVE_NEXT(m);
    if (inv->state == IV_ENDED || inv->deadline_ns == 0) continue;
    uint64_t due = inv->deadline_ns > cfg.timeout_margin_ns ? inv->deadline_ns - cfg.timeout_margin_ns : 0;
    if (now >= due && n_timed < 4) {
      take_end(inv, 0);
      inv->timed_out = 1;
      inv->outcome = OUT_TIMEOUT;
      summarise(inv, &timed_out[n_timed++]);
      if (!inv->answered) release(inv);
    }
  }
  uint32_t by_interposer = statew_trip_budget();
  for (uint64_t m = live; m != 0 && !need_look; m &= m - 1) need_look = look_due(LIVE_NEXT(m), now, by_interposer);
  pthread_mutex_unlock(&mu);

  uint64_t read_at = ag_now_ns(); /* only invokes whose start snapshot precedes this read are compared with it */
  int ok = need_look && nd_sfd >= 0 && nd_read(nd_sfd, nd_sbuf, sizeof nd_sbuf, &cur) == 0;

  pthread_mutex_lock(&mu);
  by_interposer = statew_trip_budget();
  for (uint64_t m = need_look ? live : 0; m != 0 && !noted; m &= m - 1) {
    struct invoke *inv = LIVE_NEXT(m);
    if (!look_due(inv, now, by_interposer) || inv->start_ns > read_at) continue;
    uint64_t limit = 0, observed = 0, rx = 0, tx = 0;
    int which = interposer_trip(inv, &limit, &observed);
    if (ok) {
      struct nd_delta d;
      nd_delta(&inv->start, &cur, &cfg.filter, &d);
      rx = d.rx, tx = d.tx;
    }
    const char *by = "interposer";
    if (which < 0 && ok) which = exceeded(rx, tx, &limit, &observed), by = "sampler";
    if (which < 0) {
      inv->look_ns = now + (ok ? next_look(rx, tx) : cfg.sample_ns);
      continue;
    }
    noted = 1;
    if (!trip(inv, which, limit, observed, rx, tx, by, &note)) continue;
    inv->answered = 1;
    if (inv->state == IV_STREAMING) {
      build_trailers(inv);
      inv->trip_pending = 1;
      wake(inv);
    } else {
      post = inv;
      inv->posting = 1;
      memcpy(post_id, inv->id, sizeof post_id);
      body_len = inv_error_body(inv, body, sizeof body);
    }
  }
  timer_sync();
  pthread_mutex_unlock(&mu);
  if (noted) report_budget_line(&note);
  if (post != NULL) {
    up_post_error(post_id, strlen(post_id), body, body_len);
    pthread_mutex_lock(&mu);
    post->posting = 0;
    pthread_cond_broadcast(&posted);
    pthread_mutex_unlock(&mu);
  }
  for (int i = 0; i < n_timed; i++) report_invoke_line(&timed_out[i]);
  return noted || n_timed > 0;
}

void inv_tick(void) {
  while (tick(ag_now_ns())) {}
}
