/*
 * hook.h — what every hook file shares: the ids and types of the real functions (generated from hooks.def), their
 * lazy lookup, and the two ends every checked hook has in common — the prologue that lets a call straight through,
 * and the verdict that either restores errno or refuses with EACCES. Include it instead of guard.h in a hook file.
 *
 * The shape of a hook family (torsocks): ONE internal checked function, eg_<family>_check(…), decides and logs; the
 * exported symbol and the syscall() dispatcher (syscall.c) both call it and then make their own real call. A check
 * returns 1 = proceed (errno as the caller left it) or 0 = refused (errno = EACCES, logged).
 */
#ifndef EG_HOOK_H
#define EG_HOOK_H

#ifndef _GNU_SOURCE
#error "hook files define _GNU_SOURCE before any include (struct mmsghdr, execvpe, …)"
#endif

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "guard.h"

struct __res_state; /* <resolv.h>'s resolver state, a parameter of the res_n* hooks (resquery.c) */
struct sigevent;    /* <signal.h>: getaddrinfo_a's notification (gai_a.c) */
struct timeval;     /* <sys/time.h>: the Sun RPC client's time-outs, by value (sunrpc.c) */

enum eg_hook_id {
#define HOOK(name, ret, params) EG_HOOK_##name,
#include "hooks.def"
#undef HOOK
  EG_HOOK_COUNT
};

#define HOOK(name, ret, params) typedef ret(*eg_##name##_fn) params;
#include "hooks.def"
#undef HOOK

/* real.c: the next definition of hook `id` (dlsym(RTLD_NEXT)), or NULL when there is none or dlsym handed back our own
 * hook. Callers then fail that one call with ENOSYS (EAI_SYSTEM, NO_RECOVERY …): never abort(), never recursion. */
void *eg_real(int id) EG_HIDDEN;
#define EG_REAL(name) ((eg_##name##_fn)eg_real(EG_HOOK_##name))

/* The real function is missing: -1/ENOSYS. */
static inline int eg_missing(void) {
  errno = ENOSYS;
  return -1;
}

/* The prologue: 1 when the call must go straight to libc — the guard's own calls (re-entry), or mode off. Runs the
 * one-time init otherwise. */
static inline int eg_passthrough(void) {
  if (eg_inside()) return 1;
  eg_init();
  return eg.mode == EG_MODE_OFF;
}

/* The epilogue of a check that ran inside the guard (eg_enter() … ): leaves the guard and sets errno — the caller's
 * `saved` value when the call may proceed, EACCES when it is refused ("a local firewall rule", connect(2)). Returns
 * ok. */
static inline int eg_verdict(int ok, int saved) {
  eg_leave();
  errno = ok ? saved : EACCES;
  return ok;
}

/* --- the families: one function each, called by the exported symbol and by syscall.c (contracts in each file) --- */

/* How a family function makes its real call, and how its log lines name the call: through libc's function (the
 * exported hooks) or through syscall() with the caller's own number (syscall.c). */
struct eg_via {
  int sys;              /* 0: libc's function; 1: libc's syscall() with `nr` */
  long nr;              /* the caller's own number (sys): the kernel reads it exactly as the caller wrote it */
  const char *call;     /* `call` of destination lines: "sendto", "syscall(sendto)" …; also the budget lines' */
  const char *dns_call; /* `call` of raw-DNS lines: "sendto(dns)", "syscall(sendto,dns)" … (send family only) */
};
/* libc's syscall() with six argument words; -1/ENOSYS when it is missing. */
long eg_raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) EG_HIDDEN;

/* connect.c */
int eg_connect(const struct eg_via *v, int fd, const struct sockaddr *addr, socklen_t len) EG_HIDDEN;
/* send.c */
ssize_t eg_sendto(const struct eg_via *v, int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                  socklen_t len) EG_HIDDEN;
ssize_t eg_sendmsg(const struct eg_via *v, int fd, const struct msghdr *msg, int flags) EG_HIDDEN;
int eg_sendmmsg(const struct eg_via *v, int fd, struct mmsghdr *vec, unsigned int vlen, int flags) EG_HIDDEN;
/* sockopt.c */
int eg_setsockopt(const struct eg_via *v, int fd, int level, int name, const void *val, socklen_t len) EG_HIDDEN;
/* close.c */
int eg_close(const struct eg_via *v, int fd) EG_HIDDEN;
int eg_close_range(const struct eg_via *v, unsigned int first, unsigned int last, int flags) EG_HIDDEN;
/* getaddrinfo.c: the whole guarded lookup (the names it may query decided one by one, lookup.c); also used by
 * getaddrinfo_a. Returns what getaddrinfo returns. */
int eg_getaddrinfo_checked(eg_getaddrinfo_fn real, const char *node, const char *service, const struct addrinfo *hints,
                           struct addrinfo **res) EG_HIDDEN;
/* dup.c */
int eg_dup(const struct eg_via *v, int oldfd) EG_HIDDEN;
int eg_dup2(const struct eg_via *v, int oldfd, int newfd) EG_HIDDEN;
int eg_dup3(const struct eg_via *v, int oldfd, int newfd, int flags) EG_HIDDEN;
/* real: libc's fcntl or fcntl64 (ignored via syscall()) */
int eg_fcntl(const struct eg_via *v, eg_fcntl_fn real, int fd, int cmd, void *arg) EG_HIDDEN;
/* exec.c: syscall(SYS_execve / SYS_execveat) with the child's environment written by the guard (sys: libc's
 * syscall(), nr: the caller's own number) */
long eg_syscall_exec(long (*sys)(long, ...), long nr, const long a[6]) EG_HIDDEN;

#endif
