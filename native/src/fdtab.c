/*
 * fdtab.c — the per-descriptor flag table (fdtab.h; docs/INTERPOSER.md "Descriptor table").
 *
 * Layout: 65,536 words of .bss (512 KiB of address space; only pages of descriptors actually flagged are touched).
 * Word = generation << 8 | flags. Every set takes a new generation from one global counter; lock-free (atomic
 * compare-and-swap per word), no allocation, async-signal-safe, and fork-safe (a child inherits the descriptors and
 * the table together; exec starts a new table — inherited descriptors are a documented case).
 *
 * Invariant — a bit may be set when it is stale, never clear when it is true (except in the instant between a check
 * and its own system call, which no user-space guard can close: docs/INTERPOSER.md). So:
 *  - sets happen BEFORE the system call that makes them true (connect() marks the number, then connects);
 *  - clears happen AFTER the system call that makes them false (close, dup2 over a number), and only if nobody set
 *    the word since the epoch taken before that call: when another thread reuses the closed number for a new
 *    socket and marks it meanwhile, its mark is newer than the epoch and survives;
 *  - every holder of a set bit confirms with the kernel before it acts (getpeername for EG_FD_DNS, …).
 * The generation is 56 bits: it never wraps in a process's life.
 *
 * vfork (Python's subprocess, posix_spawn in some libcs): the child shares this memory — this table — until it execs,
 * but not the descriptors. Its closes (close_range before exec) must not clear the parent's flags, so a clear is done
 * only by the process that owns the table (eg_fd_own(): at init and in fork's child handler); the check is one getpid()
 * and is paid only when there is a bit to clear.
 */
#include <unistd.h>

#include "fdtab.h"

uint64_t eg_fdtab[EG_FD_TABLE];
static uint64_t generation; /* last generation handed out (global: a range clear compares with one epoch) */
static unsigned long high;  /* highest descriptor ever set: bounds range clears */

#define GEN(w) ((w) >> 8)

static pid_t owner; /* the process this table describes; 0 before init (no flag is set before init) */

void eg_fd_own(void) { __atomic_store_n(&owner, getpid(), __ATOMIC_RELAXED); }

static int owned(void) {
  pid_t o = __atomic_load_n(&owner, __ATOMIC_RELAXED);
  return o == 0 || o == getpid();
}

uint64_t eg_fd_epoch(void) { return __atomic_load_n(&generation, __ATOMIC_SEQ_CST); }

static uint64_t next_generation(void) { return __atomic_add_fetch(&generation, 1, __ATOMIC_SEQ_CST); }

static void raise_high(unsigned long fd) {
  unsigned long h = __atomic_load_n(&high, __ATOMIC_RELAXED);
  while (fd > h && !__atomic_compare_exchange_n(&high, &h, fd, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}

void eg_fd_set(int fd, unsigned bits) {
  if ((unsigned)fd >= EG_FD_TABLE || bits == 0) return;
  raise_high((unsigned long)fd);
  uint64_t g = next_generation();
  uint64_t w = __atomic_load_n(&eg_fdtab[fd], __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(&eg_fdtab[fd], &w, (g << 8) | (w & EG_FD_FLAG_MASK) | bits, 1, __ATOMIC_SEQ_CST,
                                      __ATOMIC_RELAXED)) {}
}

void eg_fd_clear(int fd, unsigned bits, uint64_t epoch) {
  if ((unsigned)fd >= EG_FD_TABLE) return;
  uint64_t w = __atomic_load_n(&eg_fdtab[fd], __ATOMIC_SEQ_CST);
  if ((w & bits) == 0 || !owned()) return;
  while ((w & bits) != 0 && GEN(w) <= epoch) {
    if (__atomic_compare_exchange_n(&eg_fdtab[fd], &w, w & ~(uint64_t)bits, 1, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      return;
  }
}

void eg_fd_clear_range(unsigned long first, unsigned long last, unsigned bits, uint64_t epoch) {
  unsigned long h = __atomic_load_n(&high, __ATOMIC_RELAXED);
  if (last > h) last = h;
  for (unsigned long fd = first; fd <= last; fd++)
    if (__atomic_load_n(&eg_fdtab[fd], __ATOMIC_RELAXED) & bits) eg_fd_clear((int)fd, bits, epoch);
}

void eg_fd_copy(int from, int to, uint64_t epoch) {
  if ((unsigned)to >= EG_FD_TABLE) return;
  unsigned f = eg_fd_flags(from);
  unsigned bits = (f & EG_FD_UNTRACKED) ? (unsigned)EG_FD_DNS : (f & EG_FD_OBJECT_BITS);
  uint64_t w = __atomic_load_n(&eg_fdtab[to], __ATOMIC_SEQ_CST);
  if ((w & EG_FD_OBJECT_BITS) == bits || !owned()) return; /* already right (the common case: both 0) */
  raise_high((unsigned long)to);
  uint64_t g = next_generation();
  for (;;) {
    /* set since the epoch: keep that set and add ours; otherwise the number's old object bits are replaced */
    uint64_t keep = GEN(w) > epoch ? (w & EG_FD_FLAG_MASK) : (w & EG_FD_FLAG_MASK & ~(uint64_t)EG_FD_OBJECT_BITS);
    if (__atomic_compare_exchange_n(&eg_fdtab[to], &w, (g << 8) | keep | bits, 1, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      return;
  }
}
