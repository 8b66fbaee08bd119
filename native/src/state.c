/*
 * state.c — the interposer's side of the shared invoke-state file, version 2 (docs/STATE.md; layout in
 * gen/state.h, generated from contracts/state.yaml).
 *
 * eg_state_open() (at init): maps the file through state_file.c, which creates it atomically when it is missing (the
 * agent may be creating it at the same moment: both are tolerated). A wrong magic/version/size is logged once and the
 * file is ignored (never trusted).
 *
 * Access rules (no lock anywhere, so every accessor is safe in a signal handler and after fork; the mapping survives
 * fork, so children count into the same file):
 *  - requestId: the seqlock protocol of STATE.md (at most 64 tries, then "unknown");
 *  - flags, trip_gen, thresholds: single atomic loads (the agent writes each with one aligned store);
 *  - counters (io_rx, io_tx, n_*): relaxed atomic adds, never reset;
 *  - the trip (budget.c): trip_budget by CAS from 0 (the first tripper names the budget), flags |= BUDGET_TRIPPED, and
 *    trip_gen += 1 only by the caller that set the flag (one trip, one generation, however many callers cross at once).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "guard.h"
#include "state_file.h"
#include "gen/state.h"

static uint8_t *st; /* set once at init, before the state becomes visible (init's release store) */

#define ST_U32(off) ((uint32_t *)(void *)(st + (off)))
#define ST_U64(off) ((uint64_t *)(void *)(st + (off)))

void eg_state_open(const char *path) {
  if (path == NULL || path[0] == '\0') return;
  int err, sys;
  uint8_t *m = eg_state_file_map(path, &err, &sys);
  if (m == NULL && err == EG_STF_E_INVALID) {
    eg_log_policy_error("E_STATE_INVALID", path, "state file has a wrong magic, version or size; ignored", 0, 0, 0, 0);
    return;
  }
  if (m == NULL) {
    eg_log_policy_error("E_STATE_OPEN", path, "cannot open or create the state file; requestId and budgets unavailable",
                        0, 0, (uint64_t)sys, 0);
    return;
  }
  st = m;
}

size_t eg_state_request_id(char out[65]) {
  if (st == NULL) return 0;
  uint64_t *seqp = ST_U64(EG_STATE_OFF_SEQ);
  for (int tries = 0; tries < 64; tries++) {
    uint64_t s1 = __atomic_load_n(seqp, __ATOMIC_ACQUIRE);
    if (s1 & 1) continue;
    uint32_t len = __atomic_load_n(ST_U32(EG_STATE_OFF_REQUEST_ID_LEN), __ATOMIC_RELAXED);
    uint64_t words[EG_STATE_REQUEST_ID_MAX / 8];
    for (unsigned i = 0; i < EG_STATE_REQUEST_ID_MAX / 8; i++)
      words[i] = __atomic_load_n(ST_U64(EG_STATE_OFF_REQUEST_ID + 8 * i), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(seqp, __ATOMIC_RELAXED) != s1) continue;
    if (len > EG_STATE_REQUEST_ID_MAX) len = 0;
    memcpy(out, words, len);
    out[len] = '\0';
    return len;
  }
  return 0;
}

int eg_state_present(void) { return st != NULL; }

/* One aligned 64-bit load: a changed value is all the rate limiter asks of it (the seqlock is for the request id). */
uint64_t eg_state_invoke_seq(void) {
  return st == NULL ? 0 : __atomic_load_n(ST_U64(EG_STATE_OFF_INVOKE_SEQ), __ATOMIC_RELAXED);
}

uint32_t eg_state_flags(void) { return st == NULL ? 0 : __atomic_load_n(ST_U32(EG_STATE_OFF_FLAGS), __ATOMIC_ACQUIRE); }

int eg_state_budget_tripped(void) { return (eg_state_flags() & EG_STATE_FLAG_BUDGET_TRIPPED) != 0; }

uint32_t eg_state_trip_gen(void) {
  return st == NULL ? 0 : __atomic_load_n(ST_U32(EG_STATE_OFF_TRIP_GEN), __ATOMIC_ACQUIRE);
}

uint32_t eg_state_trip_budget(void) {
  return st == NULL ? 0 : __atomic_load_n(ST_U32(EG_STATE_OFF_TRIP_BUDGET), __ATOMIC_RELAXED);
}

uint64_t eg_state_io(int dir) {
  return st == NULL ? 0 : __atomic_load_n(ST_U64(EG_STATE_OFF_IO_RX + 8 * dir), __ATOMIC_RELAXED);
}

uint64_t eg_state_io_add(int dir, uint64_t n) {
  if (st == NULL) return 0;
  return __atomic_add_fetch(ST_U64(EG_STATE_OFF_IO_RX + 8 * dir), n, __ATOMIC_RELAXED);
}

uint64_t eg_state_trip_at(int which) {
  return st == NULL ? EG_STATE_NO_LIMIT
                    : __atomic_load_n(ST_U64(EG_STATE_OFF_RX_TRIP_AT + 8 * which), __ATOMIC_RELAXED);
}

uint32_t eg_state_trip(uint32_t budget) {
  if (st == NULL) return 0;
  uint32_t none = EG_STATE_TRIP_NONE;
  __atomic_compare_exchange_n(ST_U32(EG_STATE_OFF_TRIP_BUDGET), &none, budget, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  uint32_t before = __atomic_fetch_or(ST_U32(EG_STATE_OFF_FLAGS), EG_STATE_FLAG_BUDGET_TRIPPED, __ATOMIC_ACQ_REL);
  if (before & EG_STATE_FLAG_BUDGET_TRIPPED) return eg_state_trip_gen(); /* someone else tripped first: one trip */
  return __atomic_add_fetch(ST_U32(EG_STATE_OFF_TRIP_GEN), 1, __ATOMIC_ACQ_REL);
}

void eg_state_count(int which) { eg_state_count_n(which, 1); }

void eg_state_count_n(int which, uint64_t n) {
  if (st == NULL) return;
  __atomic_fetch_add(ST_U64(EG_STATE_OFF_N_ALLOWED + 8 * which), n, __ATOMIC_RELAXED);
}
