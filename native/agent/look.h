/*
 * look.h — when the armed sampler looks again (docs/METERING.md "Budgets"). Pure: no state, no system call.
 *
 * The sampler is the backstop for bytes the interposer's hooks cannot see (io_uring, raw system calls, static
 * binaries, other processes). Its bound, for each budget B that is set: a transfer the hooks do not see, moving at
 * most 10 Gbit/s (1.25 bytes per ns) in each direction (rx + tx together at most twice that), is at most
 * max(B, LK_MIN_OVERSHOOT) bytes past B when a look first sees it past B — or what it moves in floor_ns when the
 * floor (EGRESS_GUARD_SAMPLE_MS) is the longer time. A look that comes late adds what the transfer moves meanwhile.
 *
 * - lk_interval_ns(budget, rx, tx, floor_ns, cap_ns): ns from a look that saw the invoke at `rx`/`tx` bytes (budget:
 *   AG_RX, AG_TX, AG_TOTAL limits, UINT64_MAX = not set) to the next look. For each budget set: left L = B − seen
 *   (0 once past it) and allowed overshoot O = max(B, LK_MIN_OVERSHOOT); at the assumed rate the transfer cannot move
 *   more than L + O bytes in (L + O) / rate ns, so that is when the next look comes (rounded down), the shortest over
 *   the budgets, never sooner than floor_ns nor later than cap_ns (cap_ns when no budget is set).
 */
#ifndef EG_LOOK_H
#define EG_LOOK_H
#include <stdint.h>

/* The least overshoot allowed past a budget (a 1 MiB budget lets at most 2 MiB out). */
#define LK_MIN_OVERSHOOT (1024ull * 1024ull)
/* The longest time between two looks, in multiples of the floor (EGRESS_GUARD_SAMPLE_MS): cap_ns. */
#define LK_MAX_FACTOR 32

uint64_t lk_interval_ns(const uint64_t budget[3], uint64_t rx, uint64_t tx, uint64_t floor_ns, uint64_t cap_ns);

#endif
