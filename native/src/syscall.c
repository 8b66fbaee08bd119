/*
 * syscall.c — hook for syscall(2), the route libuv (Node) and others use around libc's wrappers.
 *
 * Contract: SYS_connect, SYS_sendto, SYS_sendmsg and SYS_sendmmsg get exactly the checks of their libc hooks
 * (connect.c, send.c; the log's `call` is "syscall(connect)" …); SYS_close, SYS_close_range, SYS_dup2 (where it
 * exists) and SYS_dup3 update the log-fd tracking and the raw-DNS hint bits (close.c, dns.c) and then run; the raw-DNS
 * check of a datagram to port 53 (dns.c) logs `call` "syscall(sendto,dns)" …. EVERY other number passes straight through
 * untouched, with all six argument words — an unknown syscall is never denied. Denials return -1/EACCES as libc's
 * syscall() would report a kernel error. Missing real syscall(): -1/ENOSYS.
 * Six `long` varargs are read whatever the number (the raw syscall ABI has at most six); reading words the caller
 * did not pass is what every syscall() interposer does and is harmless on x86_64 and aarch64.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guard.h"

typedef long (*syscall_fn)(long, ...);

static int active(void) {
  if (eg_inside()) return 0;
  eg_init();
  return eg.mode != EG_MODE_OFF;
}

EG_EXPORT long syscall(long nr, ...) {
  va_list ap;
  va_start(ap, nr);
  long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
  long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
  va_end(ap);
  syscall_fn real = (syscall_fn)eg_real(EG_REAL_SYSCALL);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  int ok = 1, type = -1, saved = errno;
  switch (nr) {
  case SYS_connect:
    if (!active()) break;
    eg_enter();
    ok = eg_check_sockaddr((int)a1, &type, (const struct sockaddr *)a2, (socklen_t)a3, "connect", "syscall(connect)", 0);
    if (ok) eg_dns_note_connect((int)a1, (const struct sockaddr *)a2, (socklen_t)a3);
    eg_leave();
    break;
  case SYS_sendto:
    if ((a5 == 0 && !eg_dns_marked((int)a1)) || !active()) break;
    eg_enter();
    ok = a5 == 0 || eg_check_sockaddr((int)a1, &type, (const struct sockaddr *)a5, (socklen_t)a6, "sendto",
                                      "syscall(sendto)", !((int)a4 & MSG_FASTOPEN));
    if (ok)
      ok = eg_dns_check((int)a1, &type, (const struct sockaddr *)a5, (socklen_t)a6, (const void *)a2, (size_t)a3, NULL,
                        0, "syscall(sendto,dns)");
    eg_leave();
    break;
  case SYS_sendmsg: {
    const struct msghdr *m = (const struct msghdr *)a2;
    if (m == NULL || (m->msg_name == NULL && !eg_dns_marked((int)a1)) || !active()) break;
    eg_enter();
    ok = m->msg_name == NULL || eg_check_sockaddr((int)a1, &type, m->msg_name, m->msg_namelen, "sendto",
                                                  "syscall(sendmsg)", !((int)a3 & MSG_FASTOPEN));
    if (ok)
      ok = eg_dns_check((int)a1, &type, m->msg_name, m->msg_namelen, NULL, 0, m->msg_iov, m->msg_iovlen,
                        "syscall(sendmsg,dns)");
    eg_leave();
    break;
  }
  case SYS_sendmmsg: {
    struct mmsghdr *vec = (struct mmsghdr *)a2;
    unsigned int vlen = (unsigned int)a3;
    if (vec == NULL || !active()) break;
    eg_enter();
    for (unsigned int i = 0; i < vlen; i++) {
      const struct msghdr *m = &vec[i].msg_hdr;
      if ((m->msg_name != NULL && !eg_check_sockaddr((int)a1, &type, m->msg_name, m->msg_namelen, "sendto",
                                                     "syscall(sendmmsg)", !((int)a4 & MSG_FASTOPEN))) ||
          !eg_dns_check((int)a1, &type, m->msg_name, m->msg_namelen, NULL, 0, m->msg_iov, m->msg_iovlen,
                        "syscall(sendmmsg,dns)")) {
        a3 = (long)i; /* send the allowed prefix (sendmmsg's partial-success contract) */
        ok = i > 0;
        break;
      }
    }
    eg_leave();
    break;
  }
  case SYS_close:
    eg_log_fd_closed((int)a1);
    eg_dns_forget((int)a1);
    break;
#ifdef SYS_close_range
  case SYS_close_range:
    if (!((unsigned int)a3 & 4u /* CLOSE_RANGE_CLOEXEC */))
    {
      eg_log_fd_range_closed((unsigned long)(unsigned int)a1, (unsigned long)(unsigned int)a2);
      eg_dns_forget_range((unsigned long)(unsigned int)a1, (unsigned long)(unsigned int)a2);
    }
    break;
#endif
#ifdef SYS_dup2
  case SYS_dup2: {
    long r = real(nr, a1, a2, a3, a4, a5, a6);
    if (r >= 0) eg_log_fd_replaced((int)a2);
    if (r >= 0 && a1 != a2) eg_dns_forget((int)a2);
    return r;
  }
#endif
  case SYS_dup3: {
    long r = real(nr, a1, a2, a3, a4, a5, a6);
    if (r >= 0) eg_log_fd_replaced((int)a2);
    if (r >= 0 && a1 != a2) eg_dns_forget((int)a2);
    return r;
  }
  default:
    break;
  }
  if (!ok) {
    errno = EACCES;
    return -1;
  }
  errno = saved;
  return real(nr, a1, a2, a3, a4, a5, a6);
}
