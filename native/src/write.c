/*
 * write.c — hooks for write, writev, sendfile, sendfile64 and splice: byte budgets on egress sockets (budget.c).
 *
 * Contract: a call whose descriptors carry no EG_FD_EGRESS costs one byte load per descriptor and goes straight to
 * libc with the same arguments. On an egress socket the bytes moved are counted (write, writev, sendfile: io_tx of the
 * output socket; splice: io_tx when the output is an egress socket, io_rx when the input is one), the length is
 * clamped while an invoke is armed in enforce mode (writev: a shortened copy of the iovec, at most EG_IOV_CLAMP
 * entries, only when the clamp bites), and the call is refused with ECONNRESET (stream) / EACCES (datagram) while the
 * invoke's budget is tripped. Results and errno are libc's. Missing real function: -1/ENOSYS.
 * syscall(SYS_write/SYS_writev/SYS_sendfile/SYS_splice) takes the same path (syscall.c).
 */
#define _GNU_SOURCE
#include "fdtab.h"
#include "hook.h"



struct wr {
  eg_write_fn real;
  int fd;
  const void *buf;
};
static ssize_t do_write(void *c, size_t n) {
  struct wr *a = c;
  return a->real(a->fd, a->buf, n);
}

EG_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  eg_write_fn real = EG_REAL(write);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside()) return real(fd, buf, n);
  struct wr a = {real, fd, buf};
  return eg_budget_io(fd, EG_IO_TX, n, do_write, &a, "write");
}

struct wv {
  eg_writev_fn real;
  int fd;
  const struct iovec *iov;
  int cnt;
  size_t total;
};
static ssize_t do_writev(void *c, size_t n) {
  struct wv *a = c;
  if (n >= a->total) return a->real(a->fd, a->iov, a->cnt);
  struct iovec cut[EG_IOV_CLAMP];
  return a->real(a->fd, cut, eg_iov_clamp(a->iov, a->cnt, n, cut));
}

EG_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  eg_writev_fn real = EG_REAL(writev);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside() || iov == NULL || cnt <= 0) return real(fd, iov, cnt);
  struct wv a = {real, fd, iov, cnt, eg_iov_total(iov, (size_t)cnt)};
  return eg_budget_io(fd, EG_IO_TX, a.total, do_writev, &a, "writev");
}

struct sf {
  eg_sendfile_fn real;
  int out, in;
  off_t *off;
};
static ssize_t do_sendfile(void *c, size_t n) {
  struct sf *a = c;
  return a->real(a->out, a->in, a->off, n);
}

static ssize_t sendfile_common(eg_sendfile_fn real, int out, int in, off_t *off, size_t n, const char *call) {
  if (EG_LIKELY(!eg_fd_egress(out)) || eg_inside()) return real(out, in, off, n);
  struct sf a = {real, out, in, off};
  return eg_budget_io(out, EG_IO_TX, n, do_sendfile, &a, call);
}

EG_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n) {
  eg_sendfile_fn real = EG_REAL(sendfile);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return sendfile_common(real, out, in, off, n, "sendfile");
}

/* On 64-bit targets off_t is 64 bits: sendfile64 has sendfile's signature (hooks.def declares it so). */
EG_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n) {
  eg_sendfile64_fn real = EG_REAL(sendfile64);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return sendfile_common((eg_sendfile_fn)real, out, in, off, n, "sendfile64");
}

struct sp {
  eg_splice_fn real;
  int in;
  loff_t *off_in;
  int out;
  loff_t *off_out;
  unsigned int flags;
};
static ssize_t do_splice(void *c, size_t n) {
  struct sp *a = c;
  return a->real(a->in, a->off_in, a->out, a->off_out, n, a->flags);
}

EG_EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t n, unsigned int flags) {
  eg_splice_fn real = EG_REAL(splice);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  int tx = eg_fd_egress(out), rx = eg_fd_egress(in);
  if (EG_LIKELY(!tx && !rx) || eg_inside()) return real(in, off_in, out, off_out, n, flags);
  struct sp a = {real, in, off_in, out, off_out, flags};
  /* one side is a pipe: a socket-to-socket splice does not exist, so one direction is counted */
  return tx ? eg_budget_io(out, EG_IO_TX, n, do_splice, &a, "splice") : eg_budget_io(in, EG_IO_RX, n, do_splice, &a, "splice");
}
