/*
 * connect.c — the connect family: connect(2) and syscall(SYS_connect).
 *
 * eg_connect(via, fd, addr, len) — contract: mode off and re-entry go straight to the kernel. Otherwise the address
 * is read the way the kernel reads it, from a private copy (dest.c: IPv6 from 24 bytes, IPv4-mapped as IPv4,
 * AF_UNSPEC = disconnect …), and an AF_INET/AF_INET6 destination is decided with its bound name, logged with
 * via->call ("connect", "syscall(connect)"). Allowed: the kernel gets the private copy (so another thread cannot
 * change the destination after the decision), errno untouched; before it, a port-53 destination marks the descriptor
 * EG_FD_DNS (dns.c) and an egress one EG_FD_EGRESS (budget.c; its receive buffer is capped then if the invoke's
 * receive budget is nearly spent: before the SYN, which carries the window scale); after it, eg_budget_connected()
 * drops EG_FD_EGRESS from a socket that really connected somewhere that is not egress (a disconnect included).
 * Enforce + deny: -1 with errno EACCES ("a local firewall rule", connect(2)), without calling the kernel. Anything
 * else (AF_UNIX, AF_NETLINK, a length the kernel refuses) is passed on as given. Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include "dest.h"
#include "fdtab.h"
#include "hook.h"

static int real_connect(const struct eg_via *v, int fd, const struct sockaddr *addr, socklen_t len) {
  if (v->sys) return (int)eg_raw_syscall(v->nr, fd, (long)addr, (long)len, 0, 0, 0);
  eg_connect_fn real = EG_REAL(connect);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return real(fd, addr, len);
}

int eg_connect(const struct eg_via *v, int fd, const struct sockaddr *addr, socklen_t len) {
  uint64_t epoch = eg_fd_epoch();
  if (eg_passthrough()) {
    int r = real_connect(v, fd, addr, len);
    eg_budget_connected(fd, addr, len, r, epoch);
    return r;
  }
  int saved = errno;
  eg_enter();
  struct eg_sock s = EG_SOCK(fd);
  struct eg_dest d;
  eg_dest_read(&d, addr, len, EG_DEST_CONNECT, &s);
  int ok = eg_check_dest(&s, &d, "connect", v->call, 0);
  struct sockaddr_storage plain_buf;
  socklen_t plain_len;
  const struct sockaddr *plain = eg_dest_plain(&d, &plain_buf, &plain_len);
  if (ok && d.kind == EG_DEST_INET) {
    if (d.port == 53) eg_fd_set(fd, EG_FD_DNS);
    if (eg_budget_note_dest(fd, plain, plain_len)) eg_budget_rx_window(fd);
  }
  if (!eg_verdict(ok, saved)) return -1;
  int r = real_connect(v, fd, d.sa, d.len);
  eg_budget_connected(fd, plain, plain_len, r, epoch);
  return r;
}

static const struct eg_via via_connect = {0, 0, "connect", NULL};
static const struct eg_via via___connect = {0, 0, "__connect", NULL};

EG_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  return eg_connect(&via_connect, fd, addr, len);
}

/* libc's public alias of connect (hooks.def). */
EG_EXPORT int __connect(int fd, const struct sockaddr *addr, socklen_t len) {
  return eg_connect(&via___connect, fd, addr, len);
}
