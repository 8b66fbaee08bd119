/*
 * report.c — the agent's log lines and the CloudWatch EMF line (contract: docs/LOGGING.md, docs/METERING.md).
 *
 * Every line is one JSON object written with one write(2) (line.h keeps it below PIPE_BUF), to cfg.log_fd; the EMF
 * line goes to stdout (fd 1), which Lambda collects as is (never wrapped, unlike console.log in Node).
 */
#define _GNU_SOURCE
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "line.h"

static const char *const BUDGET_NAMES[3] = {"rxBytes", "txBytes", "totalBytes"};
const char *report_budget_name(int which) { return which >= 0 && which < 3 ? BUDGET_NAMES[which] : "unknown"; }

static const char *mode_name(void) {
  return cfg.mode == AG_MODE_ENFORCE ? "enforce" : cfg.mode == AG_MODE_AUDIT ? "audit" : "off";
}

void report_write(int fd, const char *line, size_t len) {
  if (fd < 0) return;
  while (len > 0) {
    ssize_t n = write(fd, line, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* a broken log never stops the agent */
    line += n;
    len -= (size_t)n;
  }
}

static void common(struct line *l, int level, const char *msg, const char *event, const char *id) {
  ln_open(l);
  ln_u64(l, "level", (uint64_t)level);
  ln_u64(l, "time", ag_epoch_ms());
  ln_u64(l, "pid", (uint64_t)getpid());
  ln_str(l, "name", "egress-guard");
  ln_str(l, "msg", msg);
  ln_str(l, "event", event);
  if (id != NULL && id[0] != '\0') ln_str(l, "requestId", id);
}

static void budget_obj(struct line *l) {
  ln_obj(l, "budget");
  for (int i = 0; i < 3; i++)
    if (cfg.budget[i] != AG_NONE) ln_u64(l, BUDGET_NAMES[i], cfg.budget[i]);
  ln_close(l);
}

static void emit(struct line *l, int fd) {
  size_t n = ln_finish(l);
  report_write(fd, l->b, n);
}

void report_warning(const char *code, const char *msg) {
  struct line l;
  common(&l, 40, msg, "agent", NULL);
  ln_str(&l, "error", code);
  emit(&l, cfg.log_fd);
}

void report_init_line(const struct nd_snap *load, const struct nd_snap *first, const char *id) {
  uint64_t rx, tx;
  nd_total(first, &cfg.filter, &rx, &tx);
  struct nd_delta since;
  nd_delta(load, first, &cfg.filter, &since);
  char msg[600];
  int m = snprintf(msg, sizeof msg, "init: rx %llu B, tx %llu B before the first invoke; interfaces",
                   (unsigned long long)rx, (unsigned long long)tx);
  for (int i = 0; i < first->n && m > 0 && (size_t)m < sizeof msg - 40; i++)
    m += snprintf(msg + m, sizeof msg - (size_t)m, "%s %s", i ? "," : "", first->ifs[i].name);
  struct line l;
  common(&l, 30, msg, "init", id);
  ln_str(&l, "function", cfg.function_name);
  ln_u64(&l, "rxBytes", rx);
  ln_u64(&l, "txBytes", tx);
  ln_obj(&l, "sinceLoad");
  ln_u64(&l, "rxBytes", since.rx);
  ln_u64(&l, "txBytes", since.tx);
  ln_close(&l);
  ln_arr(&l, "interfaces");
  for (int i = 0; i < first->n; i++) ln_str(&l, NULL, first->ifs[i].name);
  ln_close(&l);
  ln_arr(&l, "counted");
  for (int i = 0; i < first->n; i++)
    if (nd_counts(&cfg.filter, first->ifs[i].name)) ln_str(&l, NULL, first->ifs[i].name);
  ln_close(&l);
  ln_str(&l, "mode", mode_name());
  budget_obj(&l);
  if (first->n_malformed > 0) {
    ln_arr(&l, "malformedLines");
    for (int i = 0; i < first->n_malformed && i < ND_MAX_MALFORMED; i++)
      ln_u64(&l, NULL, (uint64_t)first->malformed[i]);
    ln_close(&l);
  }
  emit(&l, cfg.log_fd);
}

void report_budget_line(const struct budget_note *b) {
  char msg[300];
  snprintf(msg, sizeof msg, "budget %s exceeded: %llu > %llu bytes (%s)", report_budget_name(b->which),
           (unsigned long long)b->observed, (unsigned long long)b->limit,
           b->enforced     ? "egress of this invoke cut, invocation failed with EgressBudgetExceeded"
           : b->concurrent ? "concurrent invokes: not enforced"
                           : "audit: nothing blocked");
  struct line l;
  common(&l, b->enforced ? 50 : 40, msg, "budget", b->id);
  ln_str(&l, "function", cfg.function_name);
  ln_str(&l, "code", "E_BUDGET_EXCEEDED");
  ln_str(&l, "exceeded", report_budget_name(b->which));
  ln_u64(&l, "limit", b->limit);
  ln_u64(&l, "observed", b->observed);
  ln_u64(&l, "rxBytes", b->rx);
  ln_u64(&l, "txBytes", b->tx);
  budget_obj(&l);
  ln_str(&l, "mode", mode_name());
  ln_bool(&l, "enforced", b->enforced);
  ln_str(&l, "trippedBy", b->by);
  if (b->concurrent) ln_bool(&l, "concurrent", 1);
  emit(&l, cfg.log_fd);
}

static void names(struct line *l, const char *key, const struct nd_snap *s, const int *idx, int n) {
  if (n == 0) return;
  ln_arr(l, key);
  for (int i = 0; i < n; i++) ln_str(l, NULL, s->ifs[idx[i]].name);
  ln_close(l);
}

static void emf_line(const struct inv_summary *s, uint64_t rx, uint64_t tx) {
  struct line l;
  ln_open(&l);
  ln_obj(&l, "_aws");
  ln_u64(&l, "Timestamp", ag_epoch_ms());
  ln_arr(&l, "CloudWatchMetrics");
  ln_obj(&l, NULL);
  ln_str(&l, "Namespace", cfg.metrics_ns);
  ln_arr(&l, "Dimensions");
  ln_arr(&l, NULL);
  ln_str(&l, NULL, "FunctionName");
  ln_close(&l);
  ln_close(&l);
  ln_arr(&l, "Metrics");
  static const char *const plain[] = {
      "RxBytes", "Bytes", "TxBytes", "Bytes", "BudgetExceeded", "Count", "BlockedConnections", "Count"};
  static const char *const conc[] = {"BudgetExceeded", "Count", "ConcurrentInvokes", "Count"};
  const char *const *m = s->concurrent ? conc : plain;
  int n = s->concurrent ? 2 : 4;
  for (int i = 0; i < n; i++) {
    ln_obj(&l, NULL);
    ln_str(&l, "Name", m[2 * i]);
    ln_str(&l, "Unit", m[2 * i + 1]);
    ln_close(&l);
  }
  ln_close(&l); /* Metrics */
  ln_close(&l); /* directive */
  ln_close(&l); /* CloudWatchMetrics */
  ln_close(&l); /* _aws */
  ln_str(&l, "FunctionName", cfg.function_name);
  if (s->concurrent) {
    ln_u64(&l, "BudgetExceeded", s->exceeded ? 1 : 0);
    ln_u64(&l, "ConcurrentInvokes", 1);
  } else {
    ln_u64(&l, "RxBytes", rx);
    ln_u64(&l, "TxBytes", tx);
    ln_u64(&l, "BudgetExceeded", s->exceeded ? 1 : 0);
    ln_u64(&l, "BlockedConnections", s->have_events ? s->events[AG_N_BLOCKED] : 0);
  }
  ln_str(&l, "requestId", s->id);
  emit(&l, 1);
}

void report_invoke_line(const struct inv_summary *s) {
  uint64_t rx = s->netdev_ok ? s->d.rx : 0, tx = s->netdev_ok ? s->d.tx : 0;
  char msg[300];
  snprintf(msg, sizeof msg, "invoke %s: rx %llu B, tx %llu B in %.1f ms%s%s%s", s->id, (unsigned long long)rx,
           (unsigned long long)tx, (double)s->duration_ns / 1e6, s->exceeded ? ", budget exceeded" : "",
           s->failed_by_guard ? ", failed with EgressBudgetExceeded" : "",
           s->concurrent ? " (concurrent invokes: environment-wide figures)" : "");
  int level = s->failed_by_guard ? 50 : (s->exceeded || s->timed_out) ? 40 : 30;
  struct line l;
  common(&l, level, msg, "invoke", s->id);
  ln_str(&l, "function", cfg.function_name);
  ln_u64(&l, "rxBytes", rx);
  ln_u64(&l, "txBytes", tx);
  ln_ms(&l, "durationMs", s->duration_ns);
  budget_obj(&l);
  ln_bool(&l, "budgetExceeded", s->exceeded);
  if (s->have_events) {
    ln_u64(&l, "allowed", s->events[AG_N_ALLOWED]);
    ln_u64(&l, "denied", s->events[AG_N_DENIED]);
    ln_u64(&l, "blocked", s->events[AG_N_BLOCKED]);
    ln_u64(&l, "cut", s->events[AG_N_CUT]);
    ln_u64(&l, "suppressed", s->events[AG_N_SUPPRESSED]);
  }
  ln_str(&l, "mode", mode_name());
  static const char *const outcomes[] = {"ok", "error", "timeout"};
  ln_str(&l, "outcome", outcomes[s->outcome]);
  if (s->failed_by_guard) ln_str(&l, "errorType", "EgressBudgetExceeded");
  if (s->timed_out) ln_bool(&l, "timedOut", 1);
  if (s->concurrent) ln_bool(&l, "concurrent", 1);
  if (s->has_between) {
    ln_obj(&l, "betweenInvokes");
    ln_u64(&l, "rxBytes", s->between_rx);
    ln_u64(&l, "txBytes", s->between_tx);
    ln_close(&l);
  }
  if (!s->netdev_ok) ln_str(&l, "error", "E_PROCNETDEV_READ");
  else {
    names(&l, "counterReset", &s->end, s->d.reset, s->d.n_reset);
    names(&l, "interfacesAppeared", &s->end, s->d.appeared, s->d.n_appeared);
    names(&l, "interfacesVanished", &s->start, s->d.vanished, s->d.n_vanished);
  }
  emit(&l, cfg.log_fd);
  if (cfg.metrics) emf_line(s, rx, tx);
}
