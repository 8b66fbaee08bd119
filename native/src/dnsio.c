/*
 * dnsio.c — sendfile and splice into a raw-DNS socket: the kernel would copy the datagram from a file or a pipe
 * without the guard ever seeing its bytes, so here the guard reads them itself, decides them like any other raw DNS
 * datagram (dns.c, dnsq.h) and sends its own copy (docs/INTERPOSER.md "Raw DNS").
 *
 * Contract of eg_dns_sendfile / eg_dns_splice: 0 = "not a raw-DNS datagram, do the real call" — mode off, re-entry,
 * an output descriptor that is not a UDP socket connected to port 53 (eg_dns_target), a splice with an input offset
 * (the kernel refuses it: ESPIPE); otherwise they make the call themselves and return 1 with *ret set as the real call
 * would (errno too):
 *  - at most EG_DNSQ_MAX + 1 bytes are read from the input: sendfile with pread() at *off when off is given (the file
 *    position untouched, *off advanced by what was sent), else read() (the position advanced by what was sent: a
 *    refused or failed send moves it back with lseek when the input can seek); splice with read() from its pipe,
 *    after a poll() when SPLICE_F_NONBLOCK asks not to wait (-1/EAGAIN when nothing is there). A zero count, or
 *    end of input, returns 0.
 *  - the bytes read are one datagram: decided (rule `dns-malformed` when they break the grammar, more than
 *    EG_DNSQ_MAX bytes included), then sent with `send` (the write family's write, with its byte budgets). Refused:
 *    -1/EACCES and nothing sent. A pipe cannot be un-read: what a refused splice read is gone (as the datagram).
 *  - audit mode sends what was read even when it breaks the grammar; a datagram longer than EG_DNSQ_MAX + 1 bytes is
 *    then sent as its first EG_DNSQ_MAX + 1 bytes (sendfile with an offset, or a seekable input, instead leaves the
 *    call to the kernel unchanged).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "dest.h"
#include "dnsio.h"
#include "fdtab.h"
#include "hook.h"

/* 1 when `out` is where a raw-DNS datagram goes (outside the guard on entry; inside on return 1). */
static int dns_out(int out) {
  if (!eg_fd_maybe_dns(out) || eg_passthrough()) return 0;
  eg_enter();
  struct eg_sock s = EG_SOCK(out);
  struct eg_dest none = {.kind = EG_DEST_NONE, .port = EGP_PORT_UNKNOWN};
  if (eg_dns_target(&s, &none)) return 1;
  eg_leave();
  return 0;
}

/* Decides raw[0..got) (inside the guard) and sends it; the guard is left. *ret: the send's result, or -1/EACCES. */
static int decide_and_send(int out, const uint8_t *raw, size_t got, const char *call, eg_dns_send_fn send,
                           ssize_t *ret) {
  struct eg_dnsbuf dns;
  int saved = errno;
  int ok = eg_dns_decide(raw, got, NULL, 0, call, &dns);
  eg_leave();
  if (!ok) {
    errno = EACCES;
    *ret = -1;
    return 0;
  }
  errno = saved;
  *ret = dns.use ? send(out, dns.b, dns.len, call) : send(out, raw, got, call);
  return 1;
}

/* Reads are one byte longer than the grammar allows, so "too long" is seen. */
#define WANT_MAX (EG_DNSQ_MAX + 1)

int eg_dns_sendfile(int out, int in, off_t *off, size_t count, const char *call, eg_dns_send_fn send, ssize_t *ret) {
  if (!dns_out(out)) return 0;
  uint8_t raw[WANT_MAX];
  size_t want = count < WANT_MAX ? count : WANT_MAX;
  ssize_t got = want == 0 ? 0 : off != NULL ? pread(in, raw, want, *off) : read(in, raw, want);
  if (got <= 0) {
    eg_leave();
    *ret = got;
    return 1;
  }
  if ((size_t)got > EG_DNSQ_MAX && eg.mode != EG_MODE_ENFORCE && (off != NULL || lseek(in, -got, SEEK_CUR) >= 0)) {
    eg_leave(); /* audit, too long to copy: the kernel sends it as it is (nothing was consumed) */
    return 0;
  }
  int sent = decide_and_send(out, raw, (size_t)got, call, send, ret);
  if (off != NULL) {
    if (*ret > 0) *off += *ret;
  } else if (!sent || *ret < 0) {
    int e = errno;
    (void)lseek(in, -got, SEEK_CUR); /* nothing was sent: as if nothing was read (fails harmlessly on a pipe) */
    errno = e;
  }
  return 1;
}

int eg_dns_splice(int in, loff_t *off_in, int out, size_t len, unsigned int flags, const char *call,
                  eg_dns_send_fn send, ssize_t *ret) {
  if (off_in != NULL || !dns_out(out)) return 0;
  if (flags & SPLICE_F_NONBLOCK) {
    struct pollfd p = {in, POLLIN, 0};
    if (poll(&p, 1, 0) == 0) {
      eg_leave();
      errno = EAGAIN;
      *ret = -1;
      return 1;
    }
  }
  uint8_t raw[WANT_MAX];
  size_t want = len < WANT_MAX ? len : WANT_MAX;
  ssize_t got = want == 0 ? 0 : read(in, raw, want);
  if (got <= 0) {
    eg_leave();
    *ret = got;
    return 1;
  }
  decide_and_send(out, raw, (size_t)got, call, send, ret);
  return 1;
}
