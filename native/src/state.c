/*
 * state.c — the interposer's side of the shared invoke-state file (docs/STATE.md).
 *
 * eg_state_open() (at init): open(O_RDWR|O_CREAT, 0600); when shorter than 256 bytes, ftruncate(256) and write the
 * magic, version and size (the wrapper may have created it first: both tolerated); map 256 bytes MAP_SHARED; a
 * wrong magic/version/size is logged once and the file is ignored (never trusted). No lock anywhere: requestId is
 * read with the seqlock protocol of STATE.md (at most 64 tries), flags with one atomic load, counters are bumped
 * with relaxed atomic adds. The mapping survives fork (children count into the same file).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <string.h>

#include "guard.h"
#include "egp_rd.h"

#define ST_SIZE 256
#define ST_MAGIC "EGSTATE\x01"
#define ST_FLAG_BUDGET_TRIPPED 0x2u

static uint8_t *st; /* set once at init, before the state becomes visible (init's release store) */

void eg_state_open(const char *path) {
  if (path == NULL || path[0] == '\0') return;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    eg_log_policy_error("E_STATE_OPEN", path, "cannot open or create the state file; requestId and budgets unavailable",
                        0, 0, (uint64_t)errno, 0);
    return;
  }
  off_t end = lseek(fd, 0, SEEK_END);
  if (end >= 0 && end < ST_SIZE) {
    uint8_t hdr[16];
    memcpy(hdr, ST_MAGIC, 8);
    uint32_t v = 1, sz = ST_SIZE;
    memcpy(hdr + 8, &v, 4);
    memcpy(hdr + 12, &sz, 4);
    if (ftruncate(fd, ST_SIZE) != 0 || pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) end = -1;
  }
  void *m = end < 0 ? MAP_FAILED : mmap(NULL, ST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    eg_log_policy_error("E_STATE_OPEN", path, "cannot size or map the state file", 0, 0, 0, 0);
    return;
  }
  uint8_t *b = m;
  if (memcmp(b, ST_MAGIC, 8) != 0 || egp_rd32(b + 8) != 1 || egp_rd32(b + 12) != ST_SIZE) {
    eg_log_policy_error("E_STATE_INVALID", path, "state file has a wrong magic, version or size; ignored", 0, 0, 0, 0);
    munmap(m, ST_SIZE);
    return;
  }
  st = b;
}

size_t eg_state_request_id(char out[65]) {
  if (st == NULL) return 0;
  uint64_t *seqp = (uint64_t *)(void *)(st + 16);
  for (int tries = 0; tries < 64; tries++) {
    uint64_t s1 = __atomic_load_n(seqp, __ATOMIC_ACQUIRE);
    if (s1 & 1) continue;
    uint32_t len = __atomic_load_n((uint32_t *)(void *)(st + 36), __ATOMIC_RELAXED);
    uint64_t words[8];
    for (int i = 0; i < 8; i++) words[i] = __atomic_load_n((uint64_t *)(void *)(st + 40 + 8 * i), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(seqp, __ATOMIC_RELAXED) != s1) continue;
    if (len > 64) len = 0;
    memcpy(out, words, len);
    out[len] = '\0';
    return len;
  }
  return 0;
}

int eg_state_budget_tripped(void) {
  if (st == NULL) return 0;
  return (__atomic_load_n((uint32_t *)(void *)(st + 32), __ATOMIC_RELAXED) & ST_FLAG_BUDGET_TRIPPED) != 0;
}

void eg_state_count(int which) {
  if (st == NULL) return;
  __atomic_fetch_add((uint64_t *)(void *)(st + 128 + 8 * which), 1, __ATOMIC_RELAXED);
}
