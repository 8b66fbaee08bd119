/*
 * write.c — hooks for write, writev, pwritev2/pwritev64v2 (at the current offset), sendfile, sendfile64 and splice:
 * raw DNS (dns.c, dnsio.c) and byte budgets on egress sockets (budget.c).
 *
 * Contract: a call whose descriptors carry none of EG_FD_WRITE_WATCH costs one byte load per descriptor and goes
 * straight to libc with the same arguments.
 *  - raw DNS: on a UDP socket connected to port 53 (EG_FD_DNS, confirmed with getpeername) a write is one datagram,
 *    decided like a send() on it (dns.c; logged with call "write(dns)", "writev(dns)", "pwritev2(dns)",
 *    "sendfile(dns)", "splice(dns)"). write/writev/pwritev2 then send the guard's private copy; sendfile/splice read
 *    the datagram themselves and send a copy (dnsio.c). Refused: -1/EACCES, nothing sent.
 *  - byte budgets: on an egress socket the bytes moved are counted (write, writev, pwritev2, sendfile: io_tx of the
 *    output socket; splice: io_tx when the output is an egress socket, io_rx when the input is one), the length is
 *    clamped while an invoke is armed in enforce mode (writev: a shortened copy of the iovec, at most EG_IOV_CLAMP
 *    entries, only when the clamp bites), and the call is refused with ECONNRESET (stream) / EACCES (datagram) while
 *    the invoke's budget is tripped.
 *  - pwritev2 with an offset other than -1 writes at a file offset, which a socket refuses (ESPIPE): it is passed on.
 * Results and errno are libc's. Missing real function: -1/ENOSYS.
 * syscall(SYS_write/SYS_writev/SYS_pwritev2/SYS_sendfile/SYS_splice) takes the same steps (syscall.c, sysio.c).
 */
#define _GNU_SOURCE
#include <sys/uio.h>

#include "dest.h"
#include "dnsio.h"
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

/* libc's write, under the budgets when fd is an egress socket. Also how dnsio.c sends its copy. */
ssize_t eg_write_out(int fd, const void *buf, size_t n, const char *call) {
  eg_write_fn real = EG_REAL(write);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside()) return real(fd, buf, n);
  struct wr a = {real, fd, buf};
  return eg_budget_io(fd, EG_IO_TX, n, do_write, &a, call);
}

static ssize_t write_watched(int fd, const void *buf, size_t n, const char *call, const char *dns_call) {
  struct eg_dnsbuf dns;
  if (!eg_dns_write(fd, buf, n, NULL, 0, dns_call, &dns)) return -1;
  if (dns.use) return eg_write_out(fd, dns.b, dns.len, call);
  return eg_write_out(fd, buf, n, call);
}

EG_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  if (EG_LIKELY((eg_fd_flags(fd) & EG_FD_WRITE_WATCH) == 0)) {
    eg_write_fn real = EG_REAL(write);
    return EG_LIKELY(real != NULL) ? real(fd, buf, n) : eg_missing();
  }
  return write_watched(fd, buf, n, "write", "write(dns)");
}

/* libc's public alias of write (hooks.def). */
EG_EXPORT ssize_t __write(int fd, const void *buf, size_t n) {
  if (EG_LIKELY((eg_fd_flags(fd) & EG_FD_WRITE_WATCH) == 0)) {
    eg_write_fn real = EG_REAL(write);
    return EG_LIKELY(real != NULL) ? real(fd, buf, n) : eg_missing();
  }
  return write_watched(fd, buf, n, "__write", "__write(dns)");
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

static ssize_t writev_watched(eg_writev_fn real, int fd, const struct iovec *iov, int cnt) {
  struct eg_dnsbuf dns;
  struct iovec one;
  if (iov != NULL && cnt > 0) {
    if (!eg_dns_write(fd, NULL, 0, iov, (size_t)cnt, "writev(dns)", &dns)) return -1;
    if (dns.use) {
      one.iov_base = dns.b;
      one.iov_len = dns.len;
      iov = &one, cnt = 1;
    }
  }
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside() || iov == NULL || cnt <= 0) return real(fd, iov, cnt);
  struct wv a = {real, fd, iov, cnt, eg_iov_total(iov, (size_t)cnt)};
  return eg_budget_io(fd, EG_IO_TX, a.total, do_writev, &a, "writev");
}

EG_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  eg_writev_fn real = EG_REAL(writev);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY((eg_fd_flags(fd) & EG_FD_WRITE_WATCH) == 0)) return real(fd, iov, cnt);
  return writev_watched(real, fd, iov, cnt);
}

/* pwritev2 at offset -1 is writev on a socket (with RWF_* flags): the same steps, the same flags kept. */
struct pw {
  eg_pwritev2_fn real;
  int fd;
  const struct iovec *iov;
  int cnt;
  int flags;
  size_t total;
};
static ssize_t do_pwritev2(void *c, size_t n) {
  struct pw *a = c;
  if (n >= a->total) return a->real(a->fd, a->iov, a->cnt, -1, a->flags);
  struct iovec cut[EG_IOV_CLAMP];
  return a->real(a->fd, cut, eg_iov_clamp(a->iov, a->cnt, n, cut), -1, a->flags);
}

static ssize_t pwritev2_common(eg_pwritev2_fn real, int fd, const struct iovec *iov, int cnt, off_t off, int flags,
                               const char *call) {
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  if (EG_LIKELY((eg_fd_flags(fd) & EG_FD_WRITE_WATCH) == 0) || off != -1 || iov == NULL || cnt <= 0)
    return real(fd, iov, cnt, off, flags);
  struct eg_dnsbuf dns;
  struct iovec one;
  if (!eg_dns_write(fd, NULL, 0, iov, (size_t)cnt, "pwritev2(dns)", &dns)) return -1;
  if (dns.use) {
    one.iov_base = dns.b;
    one.iov_len = dns.len;
    iov = &one, cnt = 1;
  }
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside()) return real(fd, iov, cnt, off, flags);
  struct pw a = {real, fd, iov, cnt, flags, eg_iov_total(iov, (size_t)cnt)};
  return eg_budget_io(fd, EG_IO_TX, a.total, do_pwritev2, &a, call);
}

EG_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags) {
  return pwritev2_common(EG_REAL(pwritev2), fd, iov, cnt, off, flags, "pwritev2");
}

/* On 64-bit targets off_t is 64 bits: pwritev64v2 has pwritev2's signature (hooks.def declares it so). */
EG_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags) {
  eg_pwritev64v2_fn real = EG_REAL(pwritev64v2);
  return pwritev2_common(real != NULL ? (eg_pwritev2_fn)real : EG_REAL(pwritev2), fd, iov, cnt, off, flags,
                         "pwritev64v2");
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

static ssize_t sendfile_common(eg_sendfile_fn real, int out, int in, off_t *off, size_t n, const char *call,
                               const char *dns_call) {
  ssize_t r;
  if (EG_UNLIKELY(eg_fd_maybe_dns(out)) && eg_dns_sendfile(out, in, off, n, dns_call, eg_write_out, &r)) return r;
  if (EG_LIKELY(!eg_fd_egress(out)) || eg_inside()) return real(out, in, off, n);
  struct sf a = {real, out, in, off};
  return eg_budget_io(out, EG_IO_TX, n, do_sendfile, &a, call);
}

EG_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n) {
  eg_sendfile_fn real = EG_REAL(sendfile);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return sendfile_common(real, out, in, off, n, "sendfile", "sendfile(dns)");
}

/* On 64-bit targets off_t is 64 bits: sendfile64 has sendfile's signature (hooks.def declares it so). */
EG_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n) {
  eg_sendfile64_fn real = EG_REAL(sendfile64);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return sendfile_common((eg_sendfile_fn)real, out, in, off, n, "sendfile64", "sendfile64(dns)");
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
  ssize_t r;
  if (EG_UNLIKELY(eg_fd_maybe_dns(out)) && eg_dns_splice(in, off_in, out, n, flags, "splice(dns)", eg_write_out, &r))
    return r;
  int tx = eg_fd_egress(out), rx = eg_fd_egress(in);
  if (EG_LIKELY(!tx && !rx) || eg_inside()) return real(in, off_in, out, off_out, n, flags);
  struct sp a = {real, in, off_in, out, off_out, flags};
  /* one side is a pipe: a socket-to-socket splice does not exist, so one direction is counted */
  return tx ? eg_budget_io(out, EG_IO_TX, n, do_splice, &a, "splice")
            : eg_budget_io(in, EG_IO_RX, n, do_splice, &a, "splice");
}
