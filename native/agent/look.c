/*
 * look.c — the armed sampler's look interval (contract in look.h).
 */
#include "look.h"

uint64_t lk_interval_ns(const uint64_t budget[3], uint64_t rx, uint64_t tx, uint64_t floor_ns, uint64_t cap_ns) {
  const uint64_t seen[3] = {rx, tx, rx > UINT64_MAX - tx ? UINT64_MAX : rx + tx};
  uint64_t ns = cap_ns;
  for (int i = 0; i < 3; i++) {
    if (budget[i] == UINT64_MAX) continue;
    uint64_t left = budget[i] > seen[i] ? budget[i] - seen[i] : 0;
    uint64_t over = budget[i] > LK_MIN_OVERSHOOT ? budget[i] : LK_MIN_OVERSHOOT;
    uint64_t bytes = left > UINT64_MAX - over ? UINT64_MAX : left + over;
    /* 1.25 bytes per ns one way (b × 4/5 ns), 2.5 both ways (b × 2/5 ns); rounded down, so the assumed rate never
     * moves more than `bytes` in that time */
    uint64_t t = i == 2 ? bytes / 5 * 2 : bytes / 5 * 4;
    if (t < ns) ns = t;
  }
  return ns < floor_ns ? floor_ns : ns;
}
