/*
 * ratelimit.h — the log rate limiter of decision lines, one source for the interposer (src/log.c) and the egress
 * proxy (proxy/log.c); docs/LOGGING.md "Rate limit".
 *
 * Contract:
 * - A decision line is identified by its key (every field of the line but time, pid and msg; the request id
 *   included, so a window never spans two invokes). The slot keeps a copy of every field, so summaries are written
 *   from the copy, at any time. Per key and per window of `window_s` seconds (aligned on the
 *   monotonic clock), the first `burst` lines are logged; further ones are counted, and the count is handed to the
 *   emit callback exactly once, as one summary for that key and window: when the key occurs in a later window, when
 *   eg_rl_tick() sees a later window or another invoke marker, or at eg_rl_flush(). Every occurrence is therefore
 *   either admitted (the caller writes its line) or part of exactly one summary: counts add up.
 * - Keys are compared in full (host, request id, event, call, option and errno bytes, address, port, protocol,
 *   decision, rule), never by hash alone: a distinct destination is never counted against
 *   another. A key that finds no slot (table full around its hash, a slot being written, a host longer than
 *   EG_RL_HOST_MAX, a string of 32 bytes or more) is admitted: logged rather than lost.
 * - Fixed memory (EG_RL_SLOTS slots); no lock, no allocation, no system call but clock_gettime(CLOCK_MONOTONIC_COARSE)
 *   and, only while another caller is keying a slot in k's probe range, sched_yield() (at most 64 scans, then k is
 *   admitted: never an unbounded wait, so a signal handler that interrupted that caller still returns). A key is
 *   therefore kept in one slot, not raced into two (which would double its lines per window). Every slot update is
 *   one compare-and-swap of one 64-bit word, so admit/tick/flush are safe in signal handlers and from any number of
 *   threads. The emit callback runs on the caller's thread, after the swap
 *   that took the count.
 * - eg_rl_reset() (a fork child, single-threaded) forgets everything: the parent still holds, and reports, its counts.
 */
#ifndef EG_RATELIMIT_H
#define EG_RATELIMIT_H
#include <stddef.h>
#include <stdint.h>

#include "egp.h"

#define EG_RL_SLOTS 256u
#define EG_RL_HOST_MAX 255u
#define EG_RL_RID_MAX 64u

struct eg_rl_key {
  const char *event, *call, *option, *errno_name; /* option and errno_name may be NULL */
  const char *host;                               /* NULL: none */
  size_t host_len;
  const egp_ip *ip; /* NULL: none */
  int port, proto;
  int allow, blocked;
  int32_t rule;
  const char *rid; /* the request id the line carries (rid_len 0: none) */
  size_t rid_len;
};

/* Writes one summary line: `suppressed` occurrences of k were not logged in a window of window_s seconds. */
typedef void (*eg_rl_emit_fn)(const struct eg_rl_key *k, uint64_t suppressed, unsigned window_s);
/* The request id current now (0: none), for eg_rl_tick()'s "another invoke" test. */
typedef size_t (*eg_rl_rid_fn)(char out[EG_RL_RID_MAX + 1]);

/* Before any other call (init, single-threaded). burst 0: the limiter is off (everything admitted). */
void eg_rl_configure(unsigned burst, unsigned window_s, eg_rl_emit_fn emit, eg_rl_rid_fn rid);
int eg_rl_enabled(void);
/* 1: log this occurrence; 0: counted (the caller counts it as suppressed). May emit an earlier window's summary. */
int eg_rl_admit(const struct eg_rl_key *k);
/* Cheap when nothing is pending (one atomic load). Otherwise, once per window or invoke marker: emits the summaries
 * of past windows and of other request ids than the current one. `marker` changes when the invoke does. */
void eg_rl_tick(uint64_t marker);
/* Emits every pending count now, current windows included (exit, exec). */
void eg_rl_flush(void);
void eg_rl_reset(void);

#endif
