/*
 * budget.c — per-invoke byte budgets enforced at the socket calls the interposer sees (docs/METERING.md "Budgets").
 *
 * Contract (every function here is lock-free, allocation-free and errno-preserving; safe in signal handlers and
 * after fork):
 *  - Which descriptors: those fdtab.c flags EG_FD_EGRESS — eg_budget_note_dest() sets the flag when a socket connects
 *    (or sends) to an AF_INET/AF_INET6 destination that is not loopback and not the Runtime API / X-Ray endpoint;
 *    eg_budget_connected() clears it only after the same socket really connected elsewhere (connect returned 0 or
 *    EINPROGRESS): a connect that fails (EISCONN on a connected socket, a refused destination) or a datagram sent to
 *    loopback never unflags a socket. Nothing is done without a state file (no budgets then).
 *    Sockets that arrive another way are adopted by their peer address: those inherited across exec (at init, from
 *    /proc/self/fd) and those received as SCM_RIGHTS ancillary data (recvmsg).
 *  - Accounting: every successful transfer on such a descriptor adds its byte count to io_rx or io_tx in the state
 *    file (eg_budget_end), whatever the mode: the counters are monotonic for the life of the file.
 *  - Clamp (enforce mode, state flag ARMED): eg_budget_begin() lowers a stream call's length to what is left of the
 *    tighter applicable budget + 1, less what other threads of this process have been granted and not yet moved; so
 *    the call that crosses a threshold moves at most one byte past it, whichever thread makes it. Stream sockets
 *    accept partial I/O (the program comes back for the rest). Datagrams are never cut in two: a datagram call keeps
 *    its length (the overshoot is at most one datagram).
 *  - Trip: when a transfer takes a counter past its threshold, this process trips the invoke (state.c: trip_budget by
 *    CAS, BUDGET_TRIPPED, trip_gen += 1) and cuts every EG_FD_EGRESS stream socket it has open: connect(AF_UNSPEC),
 *    which on TCP discards both socket buffers and sends RST (the peer sees the connection reset, never a clean end;
 *    a waiting call in the program returns an error); when the kernel refuses it (EBUSY on kernels that forbid a
 *    disconnect while another thread waits on the socket), shutdown(SHUT_RDWR) instead.
 *  - Other processes sharing the state file, and trips made by the agent's sampler, are noticed at this process's next
 *    call on an egress descriptor (trip_gen differs from the one it last handled): it cuts its own egress sockets then.
 *  - While BUDGET_TRIPPED is set (enforce): a call on an egress stream socket fails with ECONNRESET, a datagram send
 *    with EACCES (receiving a datagram that already arrived costs nothing more); new connections are refused by
 *    decide.c (rule `budget`).
 *  - Receive window: the kernel receives ahead of the program (what is in the receive buffer crossed the wire). While
 *    armed with a receive or total budget with less than EG_RXCAP_BELOW left, an egress stream socket gets SO_RCVBUF
 *    = a quarter of what is left (at least EG_RXCAP_MIN) before it connects, or at its first receive if it was opened
 *    earlier; once per socket (fdtab bit EG_FD_RXCAP). The kernel doubles the value, so the window it can advertise
 *    stays under half of what is left.
 *  - Audit mode, or not ARMED: count only.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdtab.h"
#include "gen/state.h"
#include "hook.h"

#define EG_RXCAP_BELOW (16ull << 20)
#define EG_RXCAP_MIN (32 << 10)

static uint32_t seen_gen;   /* the trip_gen this process last handled */
static int egress_hwm = -1; /* highest descriptor ever flagged EG_FD_EGRESS: bounds the cut scan */
static uint64_t pending[2]; /* bytes granted to calls in flight in this process, per direction (EG_IO_RX/TX) */

int eg_budget_adopt(int fd) {
  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  if (fd < 0 || getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) return 0;
  eg_dns_adopt(fd, (struct sockaddr *)&peer, plen); /* raw DNS is decided with or without a state file (dns.c) */
  if (!eg_state_present()) return 0;
  return eg_budget_note_dest(fd, (struct sockaddr *)&peer, plen);
}

/* Sockets this process inherited across exec (its table started empty): adopted from /proc/self/fd, read with
 * getdents64 into a stack buffer (no allocation, no stdio). */
static void adopt_inherited(void) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  char buf[4096];
  long n;
  /* eg_raw_syscall, not syscall(): our own syscall() hook reads six argument words, three more than passed here */
  while ((n = eg_raw_syscall(SYS_getdents64, dir, (long)buf, (long)sizeof buf, 0, 0, 0)) > 0) {
    for (long off = 0; off < n;) {
      const struct dirent64 *d = (const struct dirent64 *)(void *)(buf + off);
      if (d->d_reclen == 0 || off + d->d_reclen > n) break;
      off += d->d_reclen;
      int fd = 0, digits = 0;
      for (const char *c = d->d_name; *c >= '0' && *c <= '9' && fd < (1 << 24); c++, digits++)
        fd = fd * 10 + (*c - '0');
      if (digits > 0 && d->d_name[digits] == '\0' && fd != dir) eg_budget_adopt(fd);
    }
  }
  close(dir);
}

void eg_budget_init(void) {
  __atomic_store_n(&seen_gen, eg_state_trip_gen(), __ATOMIC_RELAXED);
  adopt_inherited(); /* also marks inherited port-53 sockets EG_FD_DNS */
}

void eg_budget_adopt_rights(const struct msghdr *msg) {
  struct msghdr *m = (struct msghdr *)(uintptr_t)msg; /* CMSG_NXTHDR takes a non-const header; nothing is written */
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      eg_budget_adopt(fd);
    }
  }
}

void eg_budget_atfork_child(void) {
  __atomic_store_n(&pending[0], 0, __ATOMIC_RELAXED); /* the parent's calls in flight are not the child's */
  __atomic_store_n(&pending[1], 0, __ATOMIC_RELAXED);
}

static int enforcing(uint32_t flags) { return eg.mode == EG_MODE_ENFORCE && (flags & EG_STATE_FLAG_ARMED); }

static int stream_socket(int fd) {
  int type = -1;
  eg_socket_proto(fd, &type);
  return type == SOCK_STREAM;
}

int eg_budget_note_dest(int fd, const struct sockaddr *sa, socklen_t len) {
  if (fd < 0 || !eg_state_present() || !eg_is_egress_dest(sa, len)) return 0;
  eg_fd_set(fd, EG_FD_EGRESS);
  int hwm = __atomic_load_n(&egress_hwm, __ATOMIC_RELAXED);
  while (fd > hwm && !__atomic_compare_exchange_n(&egress_hwm, &hwm, fd, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
  return 1;
}

void eg_budget_connected(int fd, const struct sockaddr *sa, socklen_t len, int r, uint64_t epoch) {
  if (!(eg_fd_flags(fd) & EG_FD_EGRESS) || (r != 0 && errno != EINPROGRESS) || eg_is_egress_dest(sa, len)) return;
  int saved = errno;
  eg_fd_clear(fd, EG_FD_EGRESS | EG_FD_RXCAP, epoch);
  errno = saved;
}

/* What is left before the tighter receive-side threshold (rx or total) is crossed; EG_STATE_NO_LIMIT without one. */
static uint64_t rx_left(void) {
  uint64_t rx = eg_state_io(EG_IO_RX), tx = eg_state_io(EG_IO_TX);
  uint64_t at = eg_state_trip_at(EG_TRIP_RX), tot = eg_state_trip_at(EG_TRIP_TOTAL);
  uint64_t left = EG_STATE_NO_LIMIT;
  if (at != EG_STATE_NO_LIMIT) left = at > rx ? at - rx : 0;
  if (tot != EG_STATE_NO_LIMIT) {
    uint64_t t = tot > rx + tx ? tot - rx - tx : 0;
    if (t < left) left = t;
  }
  return left;
}

void eg_budget_rx_window(int fd) {
  if (fd < 0 || (eg_fd_flags(fd) & (EG_FD_EGRESS | EG_FD_RXCAP)) != EG_FD_EGRESS) return;
  if (!enforcing(eg_state_flags())) return;
  uint64_t left = rx_left();
  if (left >= EG_RXCAP_BELOW) return;
  eg_fd_set(fd, EG_FD_RXCAP);
  if (!stream_socket(fd)) return;
  int saved = errno;
  int v = (int)(left / 4 > EG_RXCAP_MIN ? left / 4 : EG_RXCAP_MIN);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  errno = saved;
}

/* Disconnects one socket so that neither buffer is delivered: 1 when it was a connected egress stream socket (the
 * flag is a hint: the kernel's peer address confirms it). */
static int cut_fd(int fd) {
  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 || !eg_is_egress_dest((struct sockaddr *)&peer, plen) ||
      !stream_socket(fd))
    return 0;
  eg_connect_fn real = EG_REAL(connect);
  struct sockaddr unspec;
  memset(&unspec, 0, sizeof unspec);
  unspec.sa_family = AF_UNSPEC;
  if (real == NULL || real(fd, &unspec, sizeof unspec) != 0) shutdown(fd, SHUT_RDWR);
  return 1;
}

/* Cuts every egress stream socket of this process once for trip generation `gen` (one thread wins the CAS). */
static void handle_trip(uint32_t gen, const char *call) {
  uint32_t seen = __atomic_load_n(&seen_gen, __ATOMIC_RELAXED);
  if (seen == gen || !__atomic_compare_exchange_n(&seen_gen, &seen, gen, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return;
  /* The flag is read after the generation: every tripper sets BUDGET_TRIPPED before it moves trip_gen, so a clear
   * flag here means a trip of an invoke that is already over (the next one's start cleared it): nothing to cut, the
   * sockets open now may belong to the new invoke. */
  if (eg.mode != EG_MODE_ENFORCE || !(eg_state_flags() & EG_STATE_FLAG_BUDGET_TRIPPED)) return;
  int saved = errno;
  unsigned cut = 0;
  int hwm = __atomic_load_n(&egress_hwm, __ATOMIC_RELAXED);
  for (int fd = 0; fd <= hwm; fd++)
    if (eg_fd_flags(fd) & EG_FD_EGRESS) cut += (unsigned)cut_fd(fd);
  if (cut) eg_state_count_n(EG_COUNT_CUT, cut);
  eg_log_cut(eg_state_trip_budget(), cut, call, eg_state_io(EG_IO_RX), eg_state_io(EG_IO_TX));
  errno = saved;
}

/* Bytes this direction may still move before its tighter threshold is crossed, +1 (the crossing byte); EG_STATE_NO_LIMIT
 * without a threshold. Other threads' grants in flight count as moved; `mine` (this call's own claim, already in
 * `pending`) does not. */
static uint64_t allowance(int dir, uint64_t mine) {
  uint64_t io[2] = {eg_state_io(EG_IO_RX), eg_state_io(EG_IO_TX)};
  uint64_t pend[2] = {__atomic_load_n(&pending[0], __ATOMIC_SEQ_CST), __atomic_load_n(&pending[1], __ATOMIC_SEQ_CST)};
  pend[dir] -= mine;
  uint64_t at = eg_state_trip_at(dir == EG_IO_RX ? EG_TRIP_RX : EG_TRIP_TX), tot = eg_state_trip_at(EG_TRIP_TOTAL);
  uint64_t left = EG_STATE_NO_LIMIT;
  if (at != EG_STATE_NO_LIMIT) {
    uint64_t used = io[dir] + pend[dir];
    left = at >= used ? at - used + 1 : 0;
  }
  if (tot != EG_STATE_NO_LIMIT) {
    uint64_t used = io[0] + io[1] + pend[0] + pend[1];
    uint64_t t = tot >= used ? tot - used + 1 : 0;
    if (t < left) left = t;
  }
  return left;
}

size_t eg_budget_begin(int fd, int dir, size_t len, struct eg_grant *g, const char *call) {
  g->granted = 0;
  g->active = 0;
  g->fail_errno = 0; /* set only by a refusal: a len of SIZE_MAX == EG_BUDGET_FAIL passed through is not one */
  if (!eg_state_present()) return len;
  uint32_t gen = eg_state_trip_gen(); /* before the flags: a new generation's BUDGET_TRIPPED is then visible */
  uint32_t flags = eg_state_flags();
  if (EG_UNLIKELY(gen != __atomic_load_n(&seen_gen, __ATOMIC_RELAXED))) handle_trip(gen, call);
  g->active = 1;
  if (eg.mode == EG_MODE_ENFORCE && (flags & EG_STATE_FLAG_BUDGET_TRIPPED)) {
    int stream = stream_socket(fd);
    if (stream || dir == EG_IO_TX) {
      g->active = 0;
      g->fail_errno = stream ? ECONNRESET : EACCES;
      return EG_BUDGET_FAIL;
    }
    return len;
  }
  if (!enforcing(flags) || len == 0) return len;
  if (dir == EG_IO_RX && !(eg_fd_flags(fd) & EG_FD_RXCAP)) eg_budget_rx_window(fd);
  /* claim first, then look: another thread's claim is counted by whichever of us looks second */
  __atomic_fetch_add(&pending[dir], (uint64_t)len, __ATOMIC_SEQ_CST);
  uint64_t allow = allowance(dir, (uint64_t)len);
  size_t grant = len;
  if (allow < (uint64_t)len && stream_socket(fd)) grant = allow > 0 ? (size_t)allow : 1;
  if (grant < len) __atomic_fetch_sub(&pending[dir], (uint64_t)(len - grant), __ATOMIC_SEQ_CST);
  g->granted = grant;
  return grant;
}

void eg_budget_end(int dir, ssize_t done, const struct eg_grant *g, const char *call) {
  if (!g->active) return;
  int saved = errno;
  uint64_t now = done > 0 ? eg_state_io_add(dir, (uint64_t)done) : eg_state_io(dir);
  if (g->granted) __atomic_fetch_sub(&pending[dir], (uint64_t)g->granted, __ATOMIC_SEQ_CST);
  if (done > 0) {
    uint32_t flags = eg_state_flags();
    if (enforcing(flags) && !(flags & EG_STATE_FLAG_BUDGET_TRIPPED)) {
      uint64_t other = eg_state_io(dir == EG_IO_RX ? EG_IO_TX : EG_IO_RX);
      uint32_t which = 0;
      if (now > eg_state_trip_at(dir == EG_IO_RX ? EG_TRIP_RX : EG_TRIP_TX))
        which = dir == EG_IO_RX ? EG_STATE_TRIP_RX_BYTES : EG_STATE_TRIP_TX_BYTES;
      else if (now + other > eg_state_trip_at(EG_TRIP_TOTAL)) which = EG_STATE_TRIP_TOTAL_BYTES;
      if (which) handle_trip(eg_state_trip(which), call);
    }
  }
  errno = saved;
}

ssize_t eg_budget_io(int fd, int dir, size_t len, eg_io_op op, void *ctx, const char *call) {
  struct eg_grant g;
  size_t n = eg_budget_begin(fd, dir, len, &g, call);
  if (n == EG_BUDGET_FAIL && g.fail_errno != 0) {
    errno = g.fail_errno;
    return -1;
  }
  ssize_t r = op(ctx, n);
  eg_budget_end(dir, r, &g, call);
  return r;
}

int eg_iov_clamp(const struct iovec *iov, int cnt, size_t grant, struct iovec out[EG_IOV_CLAMP]) {
  int n = 0;
  for (int i = 0; i < cnt && grant > 0 && n < EG_IOV_CLAMP; i++) {
    if (iov[i].iov_len == 0) continue;
    out[n] = iov[i];
    if (out[n].iov_len > grant) out[n].iov_len = grant;
    grant -= out[n].iov_len;
    n++;
  }
  return n;
}

size_t eg_iov_total(const struct iovec *iov, size_t cnt) {
  size_t total = 0;
  for (size_t i = 0; i < cnt; i++) {
    if (iov[i].iov_len > SIZE_MAX - total) return SIZE_MAX;
    total += iov[i].iov_len;
  }
  return total;
}
