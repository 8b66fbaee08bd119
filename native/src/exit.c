/*
 * exit.c — _exit and _Exit: the process ends without running exit handlers, so the log rate limiter's pending counts
 * are written first (docs/LOGGING.md "Rate limit"; exit() writes them from a destructor).
 *
 * Contract: the status and the ending are the real function's; nothing is ever refused. Before it, when the guard is
 * initialised and on, and this is not the guard's own call: eg_log_flush() (lock-free and async-signal-safe, like the
 * _exit a signal handler may call; in a vfork child it writes the parent's pending summaries, each count once).
 * Real function missing: the exit_group system call.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "hook.h"

static _Noreturn void end(int id, int status) {
  if (!eg_inside() && __atomic_load_n(&eg_init_state, __ATOMIC_ACQUIRE) == 2 && eg.mode != EG_MODE_OFF) eg_log_flush();
  eg__exit_fn real = (eg__exit_fn)eg_real(id);
  if (real != NULL) real(status);
  for (;;) eg_raw_syscall(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

EG_EXPORT void _exit(int status) { end(EG_HOOK__exit, status); }

EG_EXPORT void _Exit(int status) { end(EG_HOOK__Exit, status); }
