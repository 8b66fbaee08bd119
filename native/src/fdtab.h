/*
 * fdtab.h — what the guard knows about each descriptor number: a few flag bits, read with one load on the hot path.
 * The rules (who sets, who clears, why it is race-safe) are at the top of fdtab.c and in docs/INTERPOSER.md
 * "Descriptor table".
 */
#ifndef EG_FDTAB_H
#define EG_FDTAB_H

#include <stdint.h>

#include "guard.h"

enum {
  /* Maybe a datagram socket connected to port 53: its sends without an address have their DNS question decided
   * (dns.c). A hint: the peer is confirmed with getpeername() before anything is decided. */
  EG_FD_DNS = 1u << 0,
  /* Connected (or sent) to a non-loopback, non-builtin INET destination: its bytes count for budgets, and a budget
   * trip cuts it (budget.c). A hint as well: confirm before acting on it. */
  EG_FD_EGRESS = 1u << 1,
  /* A descriptor the guard owns (its log descriptor, a sealed policy memfd): the host's close/dup2/close_range over
   * it must not take it away from the guard (log.c, init.c). A property of the number, not of the open file. */
  EG_FD_PROTECTED = 1u << 2,
  /* Its receive buffer was capped while a receive budget was nearly spent (budget.c): done once per socket. */
  EG_FD_RXCAP = 1u << 3,
  /* Never stored: returned for descriptors beyond the table, meaning "unknown — ask the kernel". */
  EG_FD_UNTRACKED = 1u << 7,
};
/* The bits that describe the open socket (not the number): copied by dup*, dropped when the number is closed. */
#define EG_FD_OBJECT_BITS ((unsigned)(EG_FD_DNS | EG_FD_EGRESS | EG_FD_RXCAP))

#define EG_FD_TABLE 65536 /* descriptors 0 … 65,535 are tracked; beyond: EG_FD_UNTRACKED */
#define EG_FD_FLAG_MASK 0xffu

/* One 64-bit word per descriptor: bits 0–7 the flags, bits 8–63 the generation of the last set (see fdtab.c). */
extern uint64_t eg_fdtab[EG_FD_TABLE] EG_HIDDEN;

/* The flags of fd: 0 for a descriptor the guard knows nothing about (the hot path: one compare and one load),
 * EG_FD_UNTRACKED for fd >= EG_FD_TABLE, 0 for a negative fd (the kernel fails the call with EBADF). */
static inline unsigned eg_fd_flags(int fd) {
  if (EG_UNLIKELY((unsigned)fd >= EG_FD_TABLE)) return fd < 0 ? 0u : (unsigned)EG_FD_UNTRACKED;
  return (unsigned)(__atomic_load_n(&eg_fdtab[fd], __ATOMIC_RELAXED) & EG_FD_FLAG_MASK);
}

/* 1 when transfers on fd are counted for budgets (budget.c): one load for a descriptor the guard does not know. */
static inline int eg_fd_egress(int fd) { return (eg_fd_flags(fd) & EG_FD_EGRESS) != 0; }

/* 1 when a send without an address on fd must be confirmed as raw DNS (dns.c): marked, or beyond the table. */
static inline int eg_fd_maybe_dns(int fd) { return (eg_fd_flags(fd) & (EG_FD_DNS | EG_FD_UNTRACKED)) != 0; }

/* The flags a write-family call (write.c) must look at: raw DNS, budgets. 0 = straight to libc. */
#define EG_FD_WRITE_WATCH ((unsigned)(EG_FD_DNS | EG_FD_UNTRACKED | EG_FD_EGRESS))

/* This process owns the table (init, and fork's child handler): clears and copies made by a vfork child, which
 * shares the memory but not the descriptors, are ignored (fdtab.c). */
void eg_fd_own(void) EG_HIDDEN;

/* The current generation: take it BEFORE a system call that closes or replaces descriptors, and hand it to the
 * clear/copy that follows the call, so a set made meanwhile by another thread (on a reused number) survives. */
uint64_t eg_fd_epoch(void) EG_HIDDEN;
/* Set bits on fd (with a new generation). No-op beyond the table. */
void eg_fd_set(int fd, unsigned bits) EG_HIDDEN;
/* Clear bits on fd unless the entry was set after `epoch`. */
void eg_fd_clear(int fd, unsigned bits, uint64_t epoch) EG_HIDDEN;
/* The same for every descriptor first … last (inclusive; close_range). */
void eg_fd_clear_range(unsigned long first, unsigned long last, unsigned bits, uint64_t epoch) EG_HIDDEN;
/* After a successful dup/dup2/dup3/F_DUPFD: `to` now holds the open file of `from`; its object bits become from's
 * (an untracked `from` gives EG_FD_DNS, so its sends are confirmed with the kernel). Sets made after `epoch` are
 * kept as well. */
void eg_fd_copy(int from, int to, uint64_t epoch) EG_HIDDEN;

#endif
