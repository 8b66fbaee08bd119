/*
 * statew.c — the agent's side of the invoke state file v2 (docs/STATE.md; layout in gen/state.h,
 * generated from contracts/state.yaml).
 *
 * The agent is the only writer of the seqlocked fields [24, 104) (serialised by invoke.c's mutex): seq goes odd,
 * the fields are stored, seq goes even, with release ordering, so the interposer's lock-free reader never sees a
 * torn request id. Fields that the interposer also writes are only ever changed with atomic operations: flags
 * (the interposer may OR BUDGET_TRIPPED into it), trip_gen (atomic add), trip_budget (CAS from 0). Thresholds are
 * absolute values on the interposer's monotonic io counters, so no counter is ever reset (no reset race).
 */
#define _GNU_SOURCE
#include <string.h>

#include "agent.h"
#include "state_file.h"
#include "gen/state.h"

static uint8_t *st;

#define U32(off) ((uint32_t *)(void *)(st + (off)))
#define U64(off) ((uint64_t *)(void *)(st + (off)))

int statew_open(const char *path) {
  int err, sys;
  st = eg_state_file_map(path, &err, &sys);
  return st ? 0 : -1;
}

int statew_ok(void) { return st != NULL; }

void statew_set_pid(uint64_t pid) {
  if (st) __atomic_store_n(U64(EG_STATE_OFF_AGENT_PID), pid, __ATOMIC_RELEASE);
}

static uint64_t seq_begin(void) {
  uint64_t s = __atomic_load_n(U64(EG_STATE_OFF_SEQ), __ATOMIC_RELAXED);
  if (!(s & 1)) s++;
  else s += 2; /* a writer died mid-update: skip past it */
  __atomic_store_n(U64(EG_STATE_OFF_SEQ), s, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  return s;
}

static void seq_end(uint64_t odd) { __atomic_store_n(U64(EG_STATE_OFF_SEQ), odd + 1, __ATOMIC_RELEASE); }

static void set_thresholds(const uint64_t at[3]) {
  __atomic_store_n(U64(EG_STATE_OFF_RX_TRIP_AT), at[AG_RX], __ATOMIC_RELEASE);
  __atomic_store_n(U64(EG_STATE_OFF_TX_TRIP_AT), at[AG_TX], __ATOMIC_RELEASE);
  __atomic_store_n(U64(EG_STATE_OFF_TOTAL_TRIP_AT), at[AG_TOTAL], __ATOMIC_RELEASE);
}

void statew_disarm(void) {
  if (!st) return;
  const uint64_t none[3] = {AG_NONE, AG_NONE, AG_NONE};
  set_thresholds(none);
  __atomic_and_fetch(U32(EG_STATE_OFF_FLAGS), ~EG_STATE_FLAG_ARMED, __ATOMIC_RELEASE);
}

uint64_t statew_begin(const char *id, size_t len, uint32_t flags, const uint64_t trip_at[3]) {
  if (!st) return 0;
  /* thresholds are "not armed" since the previous end, so nobody can trip while the trip state is reset */
  statew_disarm();
  __atomic_store_n(U32(EG_STATE_OFF_TRIP_BUDGET), EG_STATE_TRIP_NONE, __ATOMIC_RELEASE);
  uint64_t odd = seq_begin();
  uint64_t inv = __atomic_load_n(U64(EG_STATE_OFF_INVOKE_SEQ), __ATOMIC_RELAXED) + 1;
  __atomic_store_n(U64(EG_STATE_OFF_INVOKE_SEQ), inv, __ATOMIC_RELAXED);
  __atomic_store_n(U32(EG_STATE_OFF_FLAGS), flags, __ATOMIC_RELAXED); /* clears BUDGET_TRIPPED of the previous invoke */
  if (len > EG_STATE_REQUEST_ID_MAX) len = 0; /* dropped rather than truncated into a wrong id */
  uint8_t rid[EG_STATE_REQUEST_ID_MAX] = {0};
  memcpy(rid, id, len);
  for (unsigned i = 0; i < EG_STATE_REQUEST_ID_MAX / 8; i++) {
    uint64_t w;
    memcpy(&w, rid + 8 * i, 8);
    __atomic_store_n(U64(EG_STATE_OFF_REQUEST_ID + 8 * i), w, __ATOMIC_RELAXED);
  }
  __atomic_store_n(U32(EG_STATE_OFF_REQUEST_ID_LEN), (uint32_t)len, __ATOMIC_RELAXED);
  seq_end(odd);
  if (flags & EG_STATE_FLAG_ARMED) set_thresholds(trip_at);
  return inv;
}

void statew_end(int keep_in_invoke) {
  if (!st) return;
  statew_disarm();
  uint64_t odd = seq_begin();
  uint32_t clear = keep_in_invoke ? EG_STATE_FLAG_ARMED : (EG_STATE_FLAG_IN_INVOKE | EG_STATE_FLAG_ARMED);
  __atomic_and_fetch(U32(EG_STATE_OFF_FLAGS), ~clear, __ATOMIC_RELAXED);
  seq_end(odd);
}

void statew_set_flags(uint32_t bits) {
  if (st) __atomic_or_fetch(U32(EG_STATE_OFF_FLAGS), bits, __ATOMIC_RELEASE);
}

void statew_counters(uint64_t out[AG_N_COUNT]) {
  for (int i = 0; i < AG_N_COUNT; i++)
    out[i] = st ? __atomic_load_n(U64(EG_STATE_OFF_N_ALLOWED + 8 * i), __ATOMIC_RELAXED) : 0;
}

void statew_io(uint64_t *rx, uint64_t *tx) {
  *rx = st ? __atomic_load_n(U64(EG_STATE_OFF_IO_RX), __ATOMIC_ACQUIRE) : 0;
  *tx = st ? __atomic_load_n(U64(EG_STATE_OFF_IO_TX), __ATOMIC_ACQUIRE) : 0;
}

uint32_t statew_trip_budget(void) {
  if (!st) return 0;
  uint32_t b = __atomic_load_n(U32(EG_STATE_OFF_TRIP_BUDGET), __ATOMIC_ACQUIRE);
  if (b == EG_STATE_TRIP_NONE &&
      (__atomic_load_n(U32(EG_STATE_OFF_FLAGS), __ATOMIC_ACQUIRE) & EG_STATE_FLAG_BUDGET_TRIPPED))
    return EG_STATE_TRIP_TOTAL_BYTES + 1; /* tripped without saying which budget */
  return b;
}

int statew_trip(uint32_t budget) {
  if (!st) return 1;
  uint32_t expect = EG_STATE_TRIP_NONE;
  __atomic_compare_exchange_n(U32(EG_STATE_OFF_TRIP_BUDGET), &expect, budget, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  /* the flag before the generation: whoever sees the new trip_gen sees BUDGET_TRIPPED with it */
  uint32_t before = __atomic_fetch_or(U32(EG_STATE_OFF_FLAGS), EG_STATE_FLAG_BUDGET_TRIPPED, __ATOMIC_ACQ_REL);
  if (before & EG_STATE_FLAG_BUDGET_TRIPPED) return 0; /* tripped already (the interposer, a proxy): one trip */
  __atomic_fetch_add(U32(EG_STATE_OFF_TRIP_GEN), 1, __ATOMIC_ACQ_REL);
  return 1;
}
