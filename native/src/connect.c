/*
 * connect.c — the connect family: connect(2) and syscall(SYS_connect).
 *
 * eg_connect_check(fd, addr, len, call) — contract: non-INET families (AF_UNIX, AF_NETLINK, AF_UNSPEC disconnect …),
 * mode off and re-entry pass. An AF_INET/AF_INET6 destination (IPv4-mapped normalised) is decided with its bound
 * name (eg_check_sockaddr) and logged with `call`. Allowed: 1, errno untouched; the descriptor is marked EG_FD_DNS
 * first when the destination is port 53 (dns.c), and EG_FD_EGRESS when it is egress (budget.c; its receive buffer is
 * capped then if the invoke's receive budget is nearly spent). After the real connect, eg_budget_connected() drops
 * EG_FD_EGRESS from a socket that really connected somewhere that is not egress. Enforce + deny: 0 with errno EACCES ("a local firewall rule",
 * connect(2)), and the caller returns -1 without calling the kernel.
 * connect(): the check, then the real connect. Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include "fdtab.h"
#include "hook.h"

int eg_connect_check(int fd, const struct sockaddr *addr, socklen_t len, const char *call) {
  if (eg_passthrough()) return 1;
  int saved = errno, type = -1;
  eg_enter();
  int ok = eg_check_sockaddr(fd, &type, addr, len, "connect", call, 0);
  if (ok) {
    eg_dns_note_connect(fd, addr, len);
    if (eg_budget_note_dest(fd, addr, len)) eg_budget_rx_window(fd); /* before the SYN: it carries the window scale */
  }
  return eg_verdict(ok, saved);
}

EG_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  eg_connect_fn real = EG_REAL(connect);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  uint64_t epoch = eg_fd_epoch();
  if (!eg_connect_check(fd, addr, len, "connect")) return -1;
  int r = real(fd, addr, len);
  eg_budget_connected(fd, addr, len, r, epoch);
  return r;
}
