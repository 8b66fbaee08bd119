/*
 * connect.c — the connect family: connect(2) and syscall(SYS_connect).
 *
 * eg_connect_check(fd, addr, len, call) — contract: non-INET families (AF_UNIX, AF_NETLINK, AF_UNSPEC disconnect …),
 * mode off and re-entry pass. An AF_INET/AF_INET6 destination (IPv4-mapped normalised) is decided with its bound
 * name (eg_check_sockaddr) and logged with `call`. Allowed: 1, errno untouched; the descriptor is marked EG_FD_DNS
 * first when the destination is port 53 (dns.c). Enforce + deny: 0 with errno EACCES ("a local firewall rule",
 * connect(2)), and the caller returns -1 without calling the kernel.
 * connect(): the check, then the real connect. Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include "hook.h"

int eg_connect_check(int fd, const struct sockaddr *addr, socklen_t len, const char *call) {
  if (eg_passthrough()) return 1;
  int saved = errno, type = -1;
  eg_enter();
  int ok = eg_check_sockaddr(fd, &type, addr, len, "connect", call, 0);
  if (ok) eg_dns_note_connect(fd, addr, len);
  return eg_verdict(ok, saved);
}

EG_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  eg_connect_fn real = EG_REAL(connect);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (!eg_connect_check(fd, addr, len, "connect")) return -1;
  return real(fd, addr, len);
}
