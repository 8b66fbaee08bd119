/*
 * connect.c — hook for connect(2).
 *
 * Contract: non-INET families (AF_UNIX, AF_NETLINK, AF_UNSPEC disconnect …), mode off and re-entry go straight to
 * libc. An AF_INET/AF_INET6 destination (IPv4-mapped normalised) is decided with its bound name (eg_check_sockaddr);
 * enforce + deny returns -1 with errno EACCES at once, without calling libc ("a local firewall rule", connect(2)).
 * errno is preserved on every path that reaches libc. Real function missing: -1/ENOSYS.
 * It also tells dns.c whether the descriptor now talks to port 53 (the raw-DNS hint bit; any other connect clears it).
 */
#define _GNU_SOURCE
#include <errno.h>

#include "guard.h"

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

EG_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  connect_fn real = (connect_fn)eg_real(EG_REAL_CONNECT);
  if (EG_UNLIKELY(real == NULL)) {
    errno = ENOSYS;
    return -1;
  }
  if (eg_inside()) return real(fd, addr, len);
  eg_init();
  if (eg.mode == EG_MODE_OFF) return real(fd, addr, len);
  int saved = errno;
  eg_enter();
  int type = -1;
  int ok = eg_check_sockaddr(fd, &type, addr, len, "connect", "connect", 0);
  if (ok) eg_dns_note_connect(fd, addr, len);
  eg_leave();
  if (!ok) {
    errno = EACCES;
    return -1;
  }
  errno = saved;
  return real(fd, addr, len);
}
