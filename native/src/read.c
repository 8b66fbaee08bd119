/*
 * read.c — hooks for read, readv and the fortified __read_chk: byte budgets on egress sockets (budget.c).
 *
 * Contract: a descriptor without EG_FD_EGRESS (files, pipes, loopback and Runtime API sockets, everything before
 * init) costs one byte load and goes straight to libc with the same arguments. On an egress socket the transfer runs
 * under eg_budget_io(): counted into io_rx, its length clamped while an invoke is armed in enforce mode (readv: the
 * iovec is copied and shortened — at most EG_IOV_CLAMP entries — only when the clamp bites), refused with ECONNRESET
 * while the invoke's budget is tripped. The result and errno are libc's. Missing real function: -1/ENOSYS.
 * syscall(SYS_read/SYS_readv) takes the same path (syscall.c).
 */
#define _GNU_SOURCE
#include "fdtab.h"
#include "hook.h"

struct rd {
  eg_read_fn real;
  int fd;
  void *buf;
};
static ssize_t do_read(void *c, size_t n) {
  struct rd *r = c;
  return r->real(r->fd, r->buf, n);
}

EG_EXPORT ssize_t read(int fd, void *buf, size_t n) {
  eg_read_fn real = EG_REAL(read);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside()) return real(fd, buf, n);
  struct rd r = {real, fd, buf};
  return eg_budget_io(fd, EG_IO_RX, n, do_read, &r, "read");
}

struct rdv {
  eg_readv_fn real;
  int fd;
  const struct iovec *iov;
  int cnt;
  size_t total;
};
static ssize_t do_readv(void *c, size_t n) {
  struct rdv *r = c;
  if (n >= r->total) return r->real(r->fd, r->iov, r->cnt);
  struct iovec cut[EG_IOV_CLAMP];
  return r->real(r->fd, cut, eg_iov_clamp(r->iov, r->cnt, n, cut));
}

EG_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt) {
  eg_readv_fn real = EG_REAL(readv);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside() || iov == NULL || cnt <= 0) return real(fd, iov, cnt);
  struct rdv r = {real, fd, iov, cnt, eg_iov_total(iov, (size_t)cnt)};
  return eg_budget_io(fd, EG_IO_RX, r.total, do_readv, &r, "readv");
}

/* _FORTIFY_SOURCE builds call __read_chk(fd, buf, n, buflen) for read(); glibc's version reaches the kernel
 * without going through read(), so it is hooked too. Clamping only lowers n, never past buflen's check. */
struct rdc {
  eg___read_chk_fn real;
  int fd;
  void *buf;
  size_t buflen;
};
static ssize_t do_read_chk(void *c, size_t n) {
  struct rdc *r = c;
  return r->real(r->fd, r->buf, n, r->buflen);
}

EG_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  eg___read_chk_fn real = EG_REAL(__read_chk);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside() || n > buflen) return real(fd, buf, n, buflen);
  struct rdc r = {real, fd, buf, buflen};
  return eg_budget_io(fd, EG_IO_RX, n, do_read_chk, &r, "__read_chk");
}
