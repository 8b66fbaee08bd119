/*
 * state.c — the interposer's side of the shared invoke-state file, version 2 (docs/STATE.md; layout in
 * gen/state.h, generated from contracts/state.yaml).
 *
 * eg_state_open() (at init): maps the file through state_file.c, which creates it atomically when it is missing (the
 * agent may be creating it at the same moment: both are tolerated). A wrong magic/version/size is logged once and the
 * file is ignored (never trusted). No lock anywhere: the request id is read with the seqlock protocol of STATE.md (at
 * most 64 tries), flags with one atomic load, counters are bumped with relaxed atomic adds. The mapping survives fork
 * (children count into the same file).
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

int eg_state_budget_tripped(void) {
  if (st == NULL) return 0;
  return (__atomic_load_n(ST_U32(EG_STATE_OFF_FLAGS), __ATOMIC_RELAXED) & EG_STATE_FLAG_BUDGET_TRIPPED) != 0;
}

void eg_state_count(int which) {
  if (st == NULL) return;
  __atomic_fetch_add(ST_U64(EG_STATE_OFF_N_ALLOWED + 8 * which), 1, __ATOMIC_RELAXED);
}
