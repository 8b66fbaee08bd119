/*
 * syscall.c — hook for syscall(2), the route libuv (Node) and others use around libc's wrappers: a dispatcher onto
 * the family functions the libc hooks use (hook.h), so a call decided through syscall() is decided exactly as its
 * libc form (log `call` "syscall(connect)", "syscall(sendto,dns)" …).
 *
 * Contract:
 *  - the number is read as the kernel's entry code reads it (docs/INTERPOSER.md "Argument shapes"): only its low 32
 *    bits count (x86_64 sign-extends them to an int, aarch64 compares them unsigned), so syscall(SYS_connect |
 *    1 << 32, …) is a connect. On x86_64 a number with the x32 bit (0x40000000) selects the x32 table: its entries
 *    shared with the 64-bit table ("common") are dispatched as their 64-bit form; the x32-only entries whose
 *    arguments the guard would have to decide in the 32-bit compat layout (writev 516, sendmsg 518, execve 520,
 *    pwritev 535, sendmmsg 538, setsockopt 541, execveat 545, pwritev2 547) fail with -1/ENOSYS in enforce mode, as on
 *    a kernel without x32 — no 64-bit program has a reason to call them.
 *  - decided: connect, sendto, sendmsg, sendmmsg (connect.c, send.c; with their byte budgets), setsockopt
 *    (sockopt.c); kept track of: close,
 *    close_range, dup, dup2, dup3, fcntl F_DUPFD* (close.c, dup.c, with the guard's own descriptors protected:
 *    ownfd.c); execve and execveat get the guard's environment for the new program (exec.c); the other transfer numbers (read, write, readv,
 *    writev, recvfrom, recvmsg, recvmmsg, sendfile, splice) on an egress socket run under the byte budgets (sysio.c). The family function makes the real call with the caller's own number, so
 *    the kernel sees exactly what it would have seen (a number it does not run still fails as it would have).
 *  - EVERY other number passes straight through untouched, with all six argument words — an unknown syscall is never
 *    denied. Missing real syscall(): -1/ENOSYS.
 * Six `long` varargs are read whatever the number (the raw syscall ABI has at most six); reading words the caller
 * did not pass is what every syscall() interposer does and is harmless on x86_64 and aarch64.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "dest.h"
#include "dnsio.h"
#include "fdtab.h"
#include "hook.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define X32_BIT 0x40000000L

/* The number the kernel will run: its low 32 bits. *x32 is set on x86_64 when it selects the x32 table (and the bit
 * is then removed). */
static long kernel_nr(long nr, int *x32) {
  *x32 = 0;
#if defined(__x86_64__)
  long k = (long)(int)nr;
  if (k >= 0 && (k & X32_BIT)) {
    *x32 = 1;
    k &= ~X32_BIT;
  }
  return k;
#else
  return (long)(unsigned int)nr;
#endif
}

/* An x32-only entry (compat argument layout) the guard would have to decide. */
static int x32_undecidable(long k) {
  return k == 516 || k == 518 || k == 520 || k == 535 || k == 538 || k == 541 || k == 545 || k == 547;
}

/* 1 for the 64-bit entries that are "common" to the x32 table (the ones dispatched below). */
static int x32_common(long k) {
  switch (k) {
  case SYS_read:
  case SYS_write:
  case SYS_sendfile:
  case SYS_splice:
  case SYS_close:
  case SYS_dup:
#ifdef SYS_dup2
  case SYS_dup2:
#endif
  case SYS_connect:
  case SYS_sendto:
  case SYS_fcntl:
  case SYS_dup3:
  case SYS_close_range: return 1; /* execve/execveat are x32-only entries (520, 545): undecidable above */
  default: return 0;
  }
}

/* A write-family number on a descriptor marked EG_FD_DNS (write.c's steps through syscall()): 1 with *ret when the call
 * was refused or made here (sendfile, splice, or a datagram sent from the guard's copy); 0 to go on as usual. */
static int dns_write(long k, long nr, long a[6], long *ret) {
  struct eg_dnsbuf dns;
  struct iovec one;
  int fd = (int)a[0];
  ssize_t r;
  switch (k) {
  case SYS_sendfile:
    if (!eg_dns_sendfile(fd, (int)a[1], (off_t *)a[2], (size_t)a[3], "syscall(sendfile,dns)", eg_write_out, &r))
      return 0;
    *ret = r;
    return 1;
  case SYS_splice:
    if (!eg_dns_splice(fd, (loff_t *)a[1], (int)a[2], (size_t)a[4], (unsigned int)a[5], "syscall(splice,dns)",
                       eg_write_out, &r))
      return 0;
    *ret = r;
    return 1;
  case SYS_write:
    if (!eg_dns_write(fd, (const void *)a[1], (size_t)a[2], NULL, 0, "syscall(write,dns)", &dns)) break;
    if (!dns.use) return 0;
    *ret = eg_raw_syscall(nr, fd, (long)dns.b, (long)dns.len, a[3], a[4], a[5]);
    return 1;
  default: /* writev, pwritev2 */
    if ((k == SYS_pwritev2 && a[3] != -1) || a[1] == 0 || a[2] <= 0) return 0;
    if (!eg_dns_write(fd, NULL, 0, (const struct iovec *)a[1], (size_t)a[2],
                      k == SYS_writev ? "syscall(writev,dns)" : "syscall(pwritev2,dns)", &dns))
      break;
    if (!dns.use) return 0;
    one.iov_base = dns.b, one.iov_len = dns.len;
    *ret = eg_raw_syscall(nr, fd, (long)&one, 1, a[3], a[4], a[5]);
    return 1;
  }
  *ret = -1; /* refused: errno is EACCES */
  return 1;
}

EG_EXPORT long syscall(long nr, ...) {
  long a[6];
  va_list ap;
  va_start(ap, nr);
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  int x32;
  long k = kernel_nr(nr, &x32);
  if (EG_UNLIKELY(x32)) {
    if (x32_undecidable(k) && !eg_passthrough() && eg.mode == EG_MODE_ENFORCE) return eg_missing();
    if (!x32_common(k)) k = -1; /* not a call the guard follows: straight through */
  }
  int fd = (int)a[0];
  struct eg_via v = {1, nr, "syscall", NULL};
  switch (k) {
  case SYS_connect:
    v.call = "syscall(connect)";
    return eg_connect(&v, fd, (const struct sockaddr *)a[1], (socklen_t)a[2]);
  case SYS_sendto:
    v.call = "syscall(sendto)", v.dns_call = "syscall(sendto,dns)";
    return eg_sendto(&v, fd, (const void *)a[1], (size_t)a[2], (int)a[3], (const struct sockaddr *)a[4],
                     (socklen_t)a[5]);
  case SYS_sendmsg:
    v.call = "syscall(sendmsg)", v.dns_call = "syscall(sendmsg,dns)";
    return eg_sendmsg(&v, fd, (const struct msghdr *)a[1], (int)a[2]);
  case SYS_sendmmsg:
    v.call = "syscall(sendmmsg)", v.dns_call = "syscall(sendmmsg,dns)";
    return eg_sendmmsg(&v, fd, (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3]);
  case SYS_setsockopt:
    v.call = "syscall(setsockopt)";
    return eg_setsockopt(&v, fd, (int)a[1], (int)a[2], (const void *)a[3], (socklen_t)a[4]);
  case SYS_close: return eg_close(&v, fd);
  case SYS_close_range: return eg_close_range(&v, (unsigned int)a[0], (unsigned int)a[1], (int)a[2]);
  case SYS_dup: return eg_dup(&v, fd);
#ifdef SYS_dup2
  case SYS_dup2: return eg_dup2(&v, fd, (int)a[1]);
#endif
  case SYS_dup3: return eg_dup3(&v, fd, (int)a[1], (int)a[2]);
  case SYS_fcntl: return eg_fcntl(&v, NULL, fd, (int)a[1], (void *)a[2]);
  case SYS_execve:
  case SYS_execveat: return eg_syscall_exec((long (*)(long, ...))EG_REAL(syscall), nr, a);
  case SYS_write:
  case SYS_writev:
  case SYS_pwritev2:
  case SYS_sendfile:
  case SYS_splice: {
    long r;
    if (EG_UNLIKELY(eg_fd_maybe_dns(k == SYS_splice ? (int)a[2] : fd)) && dns_write(k, nr, a, &r)) return r;
    break;
  }
  default: break;
  }
  long r;
  eg_syscall_raw_fn real = (eg_syscall_raw_fn)EG_REAL(syscall);
  if (real != NULL && k >= 0 && !eg_inside() && eg_sys_io(real, k, nr, a, &r)) return r; /* budgets (sysio.c) */
  return eg_raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
