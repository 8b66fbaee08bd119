/*
 * report.h — what report.c writes (docs/LOGGING.md "Invoke summaries", docs/METERING.md "Output"): plain copies of
 * an invoke's figures, taken under invoke.c's mutex and written after it is released (a slow log pipe never holds
 * up the proxy).
 */
#ifndef EG_AGENT_REPORT_H
#define EG_AGENT_REPORT_H
#include <stdint.h>

#include "agent.h"

struct budget_note {
  char id[65];
  int which;                /* AG_RX, AG_TX, AG_TOTAL */
  uint64_t limit, observed; /* bytes */
  uint64_t rx, tx;          /* the invoke's bytes (/proc/net/dev) when it tripped */
  int enforced, concurrent;
  const char *by; /* "sampler", "interposer", "end" */
};

struct inv_summary {
  char id[65];
  int outcome;         /* OUT_* */
  int failed_by_guard; /* the agent answered Lambda with EgressBudgetExceeded */
  uint64_t duration_ns;
  int netdev_ok;
  struct nd_delta d;
  struct nd_snap start, end;   /* for the names in d */
  uint64_t events[AG_N_COUNT]; /* counter deltas */
  int have_events;
  int exceeded, concurrent, timed_out;
  int has_between;
  uint64_t between_rx, between_tx;
};

void report_init_line(const struct nd_snap *load, const struct nd_snap *first, const char *id);
void report_budget_line(const struct budget_note *b);
void report_invoke_line(const struct inv_summary *s);
void report_warning(const char *code, const char *msg);
const char *report_budget_name(int which);

#endif
