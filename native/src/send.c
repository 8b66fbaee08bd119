/*
 * send.c — the send family: send, sendto, sendmsg, sendmmsg and their syscall() forms (datagram destinations, TCP
 * Fast Open, raw DNS, byte budgets).
 *
 * Contract of eg_sendto / eg_sendmsg / eg_sendmmsg (mode off and re-entry go straight to the real call):
 *  - the destination is read the way the kernel reads it (dest.c: sendto's addr/len, each msghdr's msg_name/
 *    msg_namelen), from a private copy, and an AF_INET/AF_INET6 destination is decided where the kernel uses it: on
 *    non-stream sockets, or on a stream socket with MSG_FASTOPEN (the connect happens inside the send; torsocks
 *    handles the same bypass). Logged as event `sendto` with via->call ("sendto", "syscall(sendmsg)" …). A send
 *    without an address goes to the connected peer, which connect() already decided.
 *  - raw DNS (dns.c): a UDP datagram to port 53 — explicit destination, or the connected peer of a descriptor marked
 *    EG_FD_DNS — also has its question decided, logged with via->dns_call; the kernel then gets the guard's private
 *    copy of the datagram. send() is hooked for this (c-ares in Node 20 sends its queries with send() on a connected
 *    UDP socket); on an unmarked descriptor it costs one load.
 *  - control messages that would redirect the packet (an IPv4 source route, an IPv6 routing header: sockopt.c) are
 *    refused like a denied destination (event `sockopt`, rule `socket-redirect`).
 *  - what the kernel receives is private: the address copy, a copy of each msghdr (so msg_name cannot be switched
 *    after the decision), its control messages, the DNS datagram copy. sendmmsg copies its vector in chunks of
 *    EG_MMSG_CHUNK messages (a DNS datagram, or a message with control data, goes alone), sends each chunk with one
 *    real call and writes each sent message's msg_len back.
 *  - enforce + deny: -1/EACCES before anything leaves; sendmmsg sends the messages before the first refused one and
 *    returns their count (-1/EACCES if it is the first), which is sendmmsg's own partial-success contract. errno is
 *    preserved whenever the send proceeds.
 *  - byte budgets (budget.c): an allowed datagram to an egress address flags its socket EG_FD_EGRESS (never unflags);
 *    on an EG_FD_EGRESS socket the real call is counted into io_tx, clamped while an invoke is armed (send/sendto/
 *    sendmsg on stream sockets; never sendmmsg: datagrams), refused while its budget is tripped (ECONNRESET on a
 *    stream, EACCES for a datagram); budget lines name via->call.
 * Real function missing: -1/ENOSYS.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/uio.h>

#include "dest.h"
#include "fdtab.h"
#include "hook.h"
#include "sockopt.h"

#define EG_MMSG_CHUNK 8

/* --- the real calls: libc's function or syscall() with the caller's number; through the budgets on egress --- */

static ssize_t raw_sendto(const struct eg_via *v, int fd, const void *buf, size_t n, int flags,
                          const struct sockaddr *addr, socklen_t len) {
  if (v->sys) return eg_raw_syscall(v->nr, fd, (long)buf, (long)n, flags, (long)addr, (long)len);
  eg_sendto_fn real = EG_REAL(sendto);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return real(fd, buf, n, flags, addr, len);
}

static ssize_t raw_sendmsg(const struct eg_via *v, int fd, const struct msghdr *msg, int flags) {
  if (v->sys) return eg_raw_syscall(v->nr, fd, (long)msg, flags, 0, 0, 0);
  eg_sendmsg_fn real = EG_REAL(sendmsg);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return real(fd, msg, flags);
}

static int raw_sendmmsg(const struct eg_via *v, int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  if (v->sys) return (int)eg_raw_syscall(v->nr, fd, (long)vec, (long)vlen, flags, 0, 0);
  eg_sendmmsg_fn real = EG_REAL(sendmmsg);
  if (EG_UNLIKELY(real == NULL)) return eg_missing();
  return real(fd, vec, vlen, flags);
}

struct st {
  const struct eg_via *v;
  int fd;
  const void *buf;
  int flags;
  const struct sockaddr *addr;
  socklen_t len;
};
static ssize_t do_sendto(void *c, size_t n) {
  struct st *a = c;
  return raw_sendto(a->v, a->fd, a->buf, n, a->flags, a->addr, a->len);
}

static ssize_t real_sendto(const struct eg_via *v, int fd, const void *buf, size_t n, int flags,
                           const struct sockaddr *addr, socklen_t len) {
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside()) return raw_sendto(v, fd, buf, n, flags, addr, len);
  struct st a = {v, fd, buf, flags, addr, len};
  return eg_budget_io(fd, EG_IO_TX, n, do_sendto, &a, v->call);
}

struct sm {
  const struct eg_via *v;
  int fd;
  const struct msghdr *msg;
  int flags;
  size_t total;
};
static ssize_t do_sendmsg(void *c, size_t n) {
  struct sm *a = c;
  if (n >= a->total) return raw_sendmsg(a->v, a->fd, a->msg, a->flags);
  struct iovec cut[EG_IOV_CLAMP];
  struct msghdr m = *a->msg;
  m.msg_iov = cut;
  m.msg_iovlen = (size_t)eg_iov_clamp(a->msg->msg_iov, (int)a->msg->msg_iovlen, n, cut);
  return raw_sendmsg(a->v, a->fd, &m, a->flags);
}

static ssize_t real_sendmsg(const struct eg_via *v, int fd, const struct msghdr *msg, int flags) {
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside() || msg == NULL || msg->msg_iovlen > (size_t)1024)
    return raw_sendmsg(v, fd, msg, flags);
  struct sm a = {v, fd, msg, flags, eg_iov_total(msg->msg_iov, msg->msg_iovlen)};
  return eg_budget_io(fd, EG_IO_TX, a.total, do_sendmsg, &a, v->call);
}

/* Counted (the sum of msg_len), never clamped (a datagram is not cut in two); refused while tripped. */
static int real_sendmmsg(const struct eg_via *v, int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  if (EG_LIKELY(!eg_fd_egress(fd)) || eg_inside() || vec == NULL) return raw_sendmmsg(v, fd, vec, vlen, flags);
  struct eg_grant g;
  if (eg_budget_begin(fd, EG_IO_TX, 0, &g, v->call) == EG_BUDGET_FAIL) {
    errno = g.fail_errno;
    return -1;
  }
  int sent = raw_sendmmsg(v, fd, vec, vlen, flags);
  ssize_t bytes = sent > 0 ? 0 : sent;
  for (int i = 0; i < sent; i++) bytes += (ssize_t)vec[i].msg_len;
  eg_budget_end(EG_IO_TX, bytes, &g, v->call);
  return sent;
}

/* --- the decisions --- */

/* Decides one message (inside the guard): its destination, then its DNS question. 1 = send, 0 = refused. */
static int decide_one(const struct eg_via *v, struct eg_sock *s, struct eg_dest *d, int flags, const void *buf,
                      size_t n, const struct iovec *iov, size_t iovcnt, struct eg_dnsbuf *dns) {
  dns->use = 0;
  if (!eg_check_dest(s, d, "sendto", v->call, !(flags & MSG_FASTOPEN))) return 0;
  if (eg_dns_target(s, d) && !eg_dns_decide(buf, n, iov, iovcnt, v->dns_call, dns)) return 0;
  if (d->kind == EG_DEST_INET) {
    struct sockaddr_storage plain_buf;
    socklen_t plain_len;
    const struct sockaddr *plain = eg_dest_plain(d, &plain_buf, &plain_len);
    eg_budget_note_dest(s->fd, plain, plain_len);
  }
  return 1;
}

ssize_t eg_sendto(const struct eg_via *v, int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                  socklen_t len) {
  if ((addr == NULL && !eg_fd_maybe_dns(fd)) || eg_passthrough()) return real_sendto(v, fd, buf, n, flags, addr, len);
  int saved = errno;
  eg_enter();
  struct eg_sock s = EG_SOCK(fd);
  struct eg_dest d;
  struct eg_dnsbuf dns;
  eg_dest_read(&d, addr, len, EG_DEST_SENDTO, &s);
  if (!eg_verdict(decide_one(v, &s, &d, flags, buf, n, NULL, 0, &dns), saved)) return -1;
  if (dns.use) buf = dns.b, n = dns.len;
  return real_sendto(v, fd, buf, n, flags, d.sa, d.len);
}

/* A private copy of *msg: its address read into d, its data replaced by the DNS copy when there is one. */
struct msg_copy {
  struct msghdr m;
  struct eg_dest d;
  struct iovec one;
};

static int has_control(const struct msghdr *m) { return m->msg_control != NULL && m->msg_controllen > 0; }

/* Copies and decides *msg (inside the guard): 1 = send c->m, 0 = refused. ctl (EG_CMSG_MAX bytes) receives the copy
 * of its control messages, which are checked for redirections (sockopt.c). */
static int copy_and_decide(const struct eg_via *v, struct eg_sock *s, const struct msghdr *msg, int flags,
                           struct msg_copy *c, struct eg_dnsbuf *dns, uint8_t *ctl) {
  c->m = *msg;
  dns->use = 0;
  if (has_control(&c->m)) {
    if (c->m.msg_controllen <= EG_CMSG_MAX) {
      memcpy(ctl, c->m.msg_control, c->m.msg_controllen);
      c->m.msg_control = ctl;
    }
    if (!eg_cmsg_check(c->m.msg_control, c->m.msg_controllen, v->call)) return 0;
  }
  eg_dest_read(&c->d, c->m.msg_name, c->m.msg_namelen, EG_DEST_MSG, s);
  c->m.msg_name = (void *)(uintptr_t)c->d.sa;
  c->m.msg_namelen = c->d.len;
  if (!decide_one(v, s, &c->d, flags, NULL, 0, c->m.msg_iov, c->m.msg_iovlen, dns)) return 0;
  if (dns->use) {
    c->one.iov_base = dns->b;
    c->one.iov_len = dns->len;
    c->m.msg_iov = &c->one;
    c->m.msg_iovlen = 1;
  }
  return 1;
}

ssize_t eg_sendmsg(const struct eg_via *v, int fd, const struct msghdr *msg, int flags) {
  if (msg == NULL || eg_passthrough()) return real_sendmsg(v, fd, msg, flags);
  int saved = errno;
  eg_enter();
  struct eg_sock s = EG_SOCK(fd);
  struct msg_copy c;
  struct eg_dnsbuf dns;
  uint8_t ctl[EG_CMSG_MAX];
  int ok = copy_and_decide(v, &s, msg, flags, &c, &dns, ctl);
  if (!eg_verdict(ok, saved)) return -1;
  return real_sendmsg(v, fd, &c.m, flags);
}

/* 1 when message m must go alone because it is raw DNS (its datagram is sent from the one private DNS buffer). */
static int is_dns(struct eg_sock *s, const struct msghdr *m) {
  struct eg_dest d;
  eg_dest_read(&d, m->msg_name, m->msg_namelen, EG_DEST_MSG, s);
  return eg_dns_target(s, &d);
}

int eg_sendmmsg(const struct eg_via *v, int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  if (vec == NULL || eg_passthrough()) return real_sendmmsg(v, fd, vec, vlen, flags);
  int saved = errno;
  unsigned int done = 0;
  struct eg_sock s = EG_SOCK(fd);
  while (done < vlen) {
    struct mmsghdr chunk[EG_MMSG_CHUNK];
    struct msg_copy c[EG_MMSG_CHUNK];
    struct eg_dnsbuf dns;
    uint8_t ctl[EG_CMSG_MAX];
    unsigned int k = 0;
    int refused = 0;
    eg_enter();
    while (k < EG_MMSG_CHUNK && done + k < vlen) {
      struct mmsghdr h = vec[done + k];    /* read once */
      int alone = has_control(&h.msg_hdr); /* one control buffer, one DNS buffer per chunk: such messages go alone */
      if (k > 0 && (alone || is_dns(&s, &h.msg_hdr))) break;
      if (!copy_and_decide(v, &s, &h.msg_hdr, flags, &c[k], &dns, ctl)) {
        refused = 1;
        break;
      }
      chunk[k].msg_hdr = c[k].m;
      chunk[k].msg_len = 0;
      k++;
      if (dns.use || alone) break;
    }
    eg_leave();
    if (k == 0) { /* refused first */
      if (done > 0) break;
      errno = EACCES;
      return -1;
    }
    errno = saved;
    int r = real_sendmmsg(v, fd, chunk, k, flags);
    if (r < 0) return done > 0 ? (int)done : -1; /* the kernel reports a later error the same way */
    for (int i = 0; i < r; i++) vec[done + (unsigned int)i].msg_len = chunk[i].msg_len;
    done += (unsigned int)r;
    if ((unsigned int)r < k || refused) break;
  }
  errno = saved;
  return (int)done;
}

static const struct eg_via via_send = {0, 0, "send", "send(dns)"};
static const struct eg_via via_sendto = {0, 0, "sendto", "sendto(dns)"};
static const struct eg_via via_sendmsg = {0, 0, "sendmsg", "sendmsg(dns)"};
static const struct eg_via via_sendmmsg = {0, 0, "sendmmsg", "sendmmsg(dns)"};

EG_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  return eg_sendto(&via_send, fd, buf, n, flags, NULL, 0);
}

/* libc's public alias of send (hooks.def). */
static const struct eg_via via___send = {0, 0, "__send", "__send(dns)"};
EG_EXPORT ssize_t __send(int fd, const void *buf, size_t n, int flags) {
  return eg_sendto(&via___send, fd, buf, n, flags, NULL, 0);
}

EG_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len) {
  return eg_sendto(&via_sendto, fd, buf, n, flags, addr, len);
}

EG_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  return eg_sendmsg(&via_sendmsg, fd, msg, flags);
}

EG_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags) {
  return eg_sendmmsg(&via_sendmmsg, fd, vec, vlen, flags);
}
