/*
 * meter.c — the proxy's side of the shared invoke-state file, version 2 (docs/STATE.md): request id, budget
 * thresholds and trips, byte and decision counters. The same protocol as the interposer, so bytes moved through the
 * proxy count against the invoke's budget exactly like bytes a guarded process moves itself.
 *
 * Contract:
 * - px_meter_open(): open(O_RDWR|O_CREAT, 0600); a file shorter than 512 bytes is sized and given the header (the
 *   proxy, as an extension, usually starts before the agent; both tolerate the other having created it); mapped
 *   MAP_SHARED. A wrong magic/version/size is logged once (E_STATE_INVALID) and the file is ignored, never trusted.
 * - Counters are monotonic for the file's life and only ever increased with relaxed atomic adds (nobody resets them:
 *   thresholds are absolute values on them, set by the agent at invoke start).
 * - A trip: the first process to see a counter pass its threshold while ARMED claims trip_budget (CAS from 0), sets
 *   BUDGET_TRIPPED in flags and bumps trip_gen; every process (this one included) cuts its egress sockets once per
 *   trip_gen value it has not acted on yet (px_meter_new_trip()), and only while BUDGET_TRIPPED is still set: a trip
 *   noticed after its invoke ended (the agent clears the flag when the next one starts) cuts nothing.
 * - No lock, no system call after open; safe from any thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "egp_rd.h"
#include "gen/state.h"
#include "proxy.h"

/* Layout: contracts/state.yaml → gen/state.h (docs/STATE.md). */
#define ST_SIZE EG_STATE_SIZE
#define ST_MAGIC EG_STATE_MAGIC
#define ST_VERSION EG_STATE_VERSION

static uint8_t *st;       /* set before any thread starts */
static uint32_t seen_gen; /* the last trip_gen this process cut for */

static uint64_t *u64at(size_t off) { return (uint64_t *)(void *)(st + off); }
static uint32_t *u32at(size_t off) { return (uint32_t *)(void *)(st + off); }
static uint32_t flags(void) { return __atomic_load_n(u32at(EG_STATE_OFF_FLAGS), __ATOMIC_ACQUIRE); }
static uint64_t load64(size_t off) { return __atomic_load_n(u64at(off), __ATOMIC_RELAXED); }

void px_meter_open(const char *path) {
  if (path == NULL || path[0] == '\0') return;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    px_log_policy_error("E_STATE_OPEN", path, "cannot open or create the state file; requestId and budgets unavailable",
                        0);
    return;
  }
  off_t end = lseek(fd, 0, SEEK_END);
  if (end >= 0 && end < (off_t)ST_SIZE) {
    uint8_t hdr[16];
    memcpy(hdr, ST_MAGIC, 8);
    uint32_t v = ST_VERSION, sz = ST_SIZE;
    memcpy(hdr + 8, &v, 4);
    memcpy(hdr + 12, &sz, 4);
    if (ftruncate(fd, ST_SIZE) != 0 || pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) end = -1;
  }
  void *m = end < 0 ? MAP_FAILED : mmap(NULL, ST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    px_log_policy_error("E_STATE_OPEN", path, "cannot size or map the state file", 0);
    return;
  }
  uint8_t *b = m;
  if (memcmp(b, ST_MAGIC, 8) != 0 || egp_rd32(b + 8) != ST_VERSION || egp_rd32(b + 12) != ST_SIZE) {
    px_log_policy_error("E_STATE_INVALID", path, "state file has a wrong magic, version or size; ignored", 0);
    munmap(m, ST_SIZE);
    return;
  }
  st = b;
  seen_gen = __atomic_load_n(u32at(EG_STATE_OFF_TRIP_GEN), __ATOMIC_ACQUIRE); /* trips before we started are not ours */
}

size_t px_meter_request_id(char out[65]) {
  if (st == NULL) return 0;
  for (int tries = 0; tries < 64; tries++) {
    uint64_t s1 = __atomic_load_n(u64at(EG_STATE_OFF_SEQ), __ATOMIC_ACQUIRE);
    if (s1 & 1) continue;
    uint32_t n = __atomic_load_n(u32at(EG_STATE_OFF_REQUEST_ID_LEN), __ATOMIC_RELAXED);
    if (n > EG_STATE_REQUEST_ID_MAX) n = 0;
    for (uint32_t i = 0; i < n; i++) out[i] = (char)__atomic_load_n(st + EG_STATE_OFF_REQUEST_ID + i, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(u64at(EG_STATE_OFF_SEQ), __ATOMIC_RELAXED) != s1) continue;
    for (uint32_t i = 0; i < n; i++)
      if ((unsigned char)out[i] < 0x21 || (unsigned char)out[i] > 0x7e) return 0; /* printable ASCII only */
    out[n] = '\0';
    return n;
  }
  return 0;
}

int px_meter_budget_tripped(void) { return st != NULL && (flags() & EG_STATE_FLAG_BUDGET_TRIPPED) != 0; }

static void trip(uint32_t which) { /* EG_STATE_TRIP_* */
  uint32_t zero = 0;
  __atomic_compare_exchange_n(u32at(EG_STATE_OFF_TRIP_BUDGET), &zero, which, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
  /* whoever sets BUDGET_TRIPPED moves trip_gen, after the flag (docs/STATE.md "Trip") */
  uint32_t before = __atomic_fetch_or(u32at(EG_STATE_OFF_FLAGS), EG_STATE_FLAG_BUDGET_TRIPPED, __ATOMIC_ACQ_REL);
  if (!(before & EG_STATE_FLAG_BUDGET_TRIPPED)) __atomic_fetch_add(u32at(EG_STATE_OFF_TRIP_GEN), 1, __ATOMIC_ACQ_REL);
}

int px_meter_add(uint64_t rx, uint64_t tx) {
  if (st == NULL) return 0;
  if (px.count_bytes) {
    uint64_t r = __atomic_add_fetch(u64at(EG_STATE_OFF_IO_RX), rx, __ATOMIC_RELAXED);
    uint64_t t = __atomic_add_fetch(u64at(EG_STATE_OFF_IO_TX), tx, __ATOMIC_RELAXED);
    if (px.mode == PX_MODE_ENFORCE && (flags() & EG_STATE_FLAG_ARMED)) {
      if (r > load64(EG_STATE_OFF_RX_TRIP_AT)) trip(EG_STATE_TRIP_RX_BYTES);
      else if (t > load64(EG_STATE_OFF_TX_TRIP_AT)) trip(EG_STATE_TRIP_TX_BYTES);
      else if (r + t > load64(EG_STATE_OFF_TOTAL_TRIP_AT)) trip(EG_STATE_TRIP_TOTAL_BYTES);
    }
  }
  return px_meter_new_trip();
}

uint64_t px_meter_tx_room(void) {
  if (st == NULL || !px.count_bytes || px.mode != PX_MODE_ENFORCE || !(flags() & EG_STATE_FLAG_ARMED))
    return UINT64_MAX;
  uint64_t r = load64(EG_STATE_OFF_IO_RX), t = load64(EG_STATE_OFF_IO_TX);
  uint64_t tx_at = load64(EG_STATE_OFF_TX_TRIP_AT), total_at = load64(EG_STATE_OFF_TOTAL_TRIP_AT);
  uint64_t room = tx_at > t ? tx_at - t : 0;
  uint64_t room_total = total_at > r + t ? total_at - (r + t) : 0;
  return room < room_total ? room : room_total;
}

int px_meter_new_trip(void) {
  if (st == NULL) return 0;
  uint32_t g = __atomic_load_n(u32at(EG_STATE_OFF_TRIP_GEN), __ATOMIC_ACQUIRE);
  uint32_t seen = __atomic_load_n(&seen_gen, __ATOMIC_RELAXED);
  while (g != seen) {
    if (__atomic_compare_exchange_n(&seen_gen, &seen, g, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      return px_meter_budget_tripped(); /* else the trip's invoke is over: the sockets open now are the next one's */
  }
  return 0;
}

void px_meter_count(int which) {
  if (st != NULL) __atomic_fetch_add(u64at(EG_STATE_OFF_N_ALLOWED + 8u * (unsigned)which), 1, __ATOMIC_RELAXED);
}

void px_meter_count_cut(uint64_t n) {
  if (st != NULL && n) __atomic_fetch_add(u64at(EG_STATE_OFF_N_CUT), n, __ATOMIC_RELAXED);
}
