/*
 * signal.c — signal handlers run with the guard's re-entry depth cleared, so a connect made by a handler is decided
 * even when the signal interrupted the guard (docs/INTERPOSER.md "Signal handlers").
 *
 * Why: while a thread runs guard code — and for the whole of libc's resolver under the getaddrinfo/gethostbyname
 * hooks, which can wait seconds for a nameserver — its re-entry depth is raised, and every hooked call on that thread
 * goes straight to libc (guard.h). A signal handler interrupting that thread would inherit the raised depth: its
 * connect() would pass undecided. And a handler that leaves with siglongjmp would leave the depth raised for good.
 *
 * Contract: sigaction, __sigaction, signal, bsd_signal, ssignal, sysv_signal, __sysv_signal and sigset install, in
 * place of a handler function, the guard's trampoline, and record the program's handler (with whether it takes
 * SA_SIGINFO arguments) for that signal. Everything else the call sets — flags, mask, SIG_DFL, SIG_IGN, SIG_HOLD —
 * reaches libc unchanged, and what the calls report back is translated: an old handler that is the trampoline is
 * reported as the program's handler, so a program never sees the trampoline. The trampoline saves the thread's depth,
 * clears it, calls the program's handler with the arguments it expects, and restores the depth when the handler
 * returns; a handler that leaves with siglongjmp leaves the depth cleared, which is right: the interrupted guard code
 * will never resume. One exception: while the guard's own initialisation runs on the interrupted thread the depth is
 * kept (a hook called by the handler would otherwise wait for an init that cannot finish under it); such a handler's
 * calls pass, in the first milliseconds of a process only.
 * Records are per signal, in a ring of EG_SIG_RING immutable slots published with one atomic store: no lock (sigaction
 * is async-signal-safe and may itself be called from a handler), and the trampoline reads a slot that is whole.
 * Not wrapped (docs/INTERPOSER.md): handlers installed with rt_sigaction through syscall() or inline assembly, and the
 * obsolete sigvec.
 */
#define _GNU_SOURCE
#include <signal.h>

#include "hook.h"

#define EG_NSIG 65    /* signals 1 … 64 */
#define EG_SIG_RING 4 /* installs of one signal that may overlap a trampoline reading its slot */

typedef void (*any_fn)(void);
struct rec {
  any_fn fn;
  int siginfo; /* 1: fn is void (*)(int, siginfo_t *, void *) (SA_SIGINFO); 0: void (*)(int) */
};
static struct rec ring[EG_NSIG][EG_SIG_RING];
static unsigned int next_slot[EG_NSIG];
static struct rec *current[EG_NSIG];

static void trampoline(int sig, siginfo_t *si, void *uc) {
  struct rec *r = __atomic_load_n(&current[sig], __ATOMIC_ACQUIRE);
  if (r == NULL) return; /* not reachable: a record is published before the trampoline is installed */
  any_fn fn = r->fn;
  int info = r->siginfo;
  int depth = eg_depth;
  if (depth > 0 && __atomic_load_n(&eg_init_state, __ATOMIC_ACQUIRE) == 2) eg_depth = 0;
  if (info) ((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
  else ((void (*)(int))fn)(sig);
  eg_depth = depth;
}

/* A handler value that is a function (not SIG_DFL, SIG_IGN, SIG_HOLD or SIG_ERR). */
static int is_function(uintptr_t h) { return h > 2 && h != (uintptr_t)-1; }

/* Publishes the program's handler for sig; returns the record it replaces (to restore on failure). */
static struct rec *publish(int sig, any_fn fn, int siginfo) {
  unsigned int k = __atomic_fetch_add(&next_slot[sig], 1, __ATOMIC_RELAXED) % EG_SIG_RING;
  struct rec *r = &ring[sig][k];
  r->fn = fn;
  r->siginfo = siginfo;
  return __atomic_exchange_n(&current[sig], r, __ATOMIC_ACQ_REL);
}

static void unpublish(int sig, struct rec *prev) { __atomic_store_n(&current[sig], prev, __ATOMIC_RELEASE); }

/* The program's handler for an old disposition that is the trampoline (prev: the record current before the call). */
static uintptr_t translate(uintptr_t old, const struct rec *prev) {
  if (old != (uintptr_t)&trampoline) return old;
  return prev != NULL ? (uintptr_t)prev->fn : (uintptr_t)SIG_DFL;
}

static int in_range(int sig) { return sig > 0 && sig < EG_NSIG; }

static int sigaction_with(eg_sigaction_fn real, int sig, const struct sigaction *act, struct sigaction *oact) {
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (!in_range(sig)) return real(sig, act, oact);
  struct sigaction a;
  struct rec *prev = __atomic_load_n(&current[sig], __ATOMIC_ACQUIRE);
  int wrapped = 0;
  if (act != NULL && is_function((uintptr_t)act->sa_handler)) {
    a = *act; /* also private: oact may be the same structure */
    int info = (a.sa_flags & SA_SIGINFO) != 0;
    prev = publish(sig, info ? (any_fn)a.sa_sigaction : (any_fn)a.sa_handler, info);
    a.sa_sigaction = trampoline;
    act = &a;
    wrapped = 1;
  }
  int r = real(sig, act, oact);
  int e = errno;
  if (r != 0 && wrapped) unpublish(sig, prev);
  if (r == 0 && oact != NULL)
    oact->sa_sigaction = (void (*)(int, siginfo_t *, void *))translate((uintptr_t)oact->sa_sigaction, prev);
  errno = e;
  return r;
}

EG_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oact) {
  return sigaction_with(EG_REAL(sigaction), sig, act, oact);
}

EG_EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *oact) {
  eg___sigaction_fn real = EG_REAL(__sigaction);
  return sigaction_with(real != NULL ? (eg_sigaction_fn)real : EG_REAL(sigaction), sig, act, oact);
}

typedef void (*handler_fn)(int);

/* signal() and its relatives: the same substitution, through the real function (its own flags and mask). */
static handler_fn signal_with(handler_fn (*real)(int, handler_fn), int sig, handler_fn h) {
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return SIG_ERR;
  }
  if (!in_range(sig) || !is_function((uintptr_t)h)) {
    struct rec *prev = in_range(sig) ? __atomic_load_n(&current[sig], __ATOMIC_ACQUIRE) : NULL;
    handler_fn old = real(sig, h);
    return (handler_fn)translate((uintptr_t)old, prev);
  }
  struct rec *prev = publish(sig, (any_fn)h, 0);
  handler_fn old = real(sig, (handler_fn)(uintptr_t)&trampoline);
  if (old == SIG_ERR) {
    int e = errno;
    unpublish(sig, prev);
    errno = e;
    return SIG_ERR;
  }
  return (handler_fn)translate((uintptr_t)old, prev);
}

EG_EXPORT handler_fn signal(int sig, handler_fn h) { return signal_with(EG_REAL(signal), sig, h); }
EG_EXPORT handler_fn bsd_signal(int sig, handler_fn h) { return signal_with(EG_REAL(bsd_signal), sig, h); }
EG_EXPORT handler_fn ssignal(int sig, handler_fn h) { return signal_with(EG_REAL(ssignal), sig, h); }
EG_EXPORT handler_fn sysv_signal(int sig, handler_fn h) { return signal_with(EG_REAL(sysv_signal), sig, h); }
EG_EXPORT handler_fn __sysv_signal(int sig, handler_fn h) { return signal_with(EG_REAL(__sysv_signal), sig, h); }
EG_EXPORT handler_fn sigset(int sig, handler_fn h) { return signal_with(EG_REAL(sigset), sig, h); }
