/*
 * relay.c — the byte pump between a client and its upstream, with budget accounting and cuts.
 *
 * Contract:
 * - Both sockets are made non-blocking and pumped with poll(): each direction has its own buffer, so a client that
 *   uploads while the server answers never deadlocks the pair. A half-close is passed on (shutdown(SHUT_WR)).
 * - Bytes are counted where they cross the upstream socket (what the peer saw, at the application level): received
 *   from upstream → io_rx, sent to upstream → io_tx (meter.c). While a transmit budget is armed, a send is clipped
 *   to the room left plus one byte, so the byte that trips the budget is the last one the peer gets: uploads through
 *   the proxy overshoot by at most one byte per concurrent connection.
 * - A trip (by this process or any other sharing the state file) shuts down every live upstream socket of this
 *   process once per trip (px_relay_cut_all), and the client side of each cut connection is then reset (SO_LINGER 0),
 *   so a client can never mistake a cut transfer for a complete one. A poll timeout of 100 ms bounds how long an idle
 *   connection takes to notice a trip made elsewhere (it moves no bytes meanwhile).
 * - An upstream that hangs up after its answer: everything it sent is still delivered to the client before the
 *   client side is shut down; only bytes the client sent that the upstream can no longer take make it a broken
 *   transfer (reset).
 * - forward (plain HTTP) connections: the response head is rewritten (px_rewrite_response) so the client closes the
 *   connection after the response: one request per proxy connection, each one decided.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy.h"

#define SLOTS 1024
#define BUF 65536

static struct {
  int fd;  /* -1 = free */
  int cut; /* set by px_relay_cut_all */
} live[SLOTS];
static int live_init;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static int registry_add(int fd) {
  pthread_mutex_lock(&live_lock);
  if (!live_init) {
    for (int i = 0; i < SLOTS; i++) live[i].fd = -1;
    live_init = 1;
  }
  int slot = -1;
  for (int i = 0; i < SLOTS && slot < 0; i++)
    if (live[i].fd < 0) slot = i, live[i].fd = fd, live[i].cut = 0;
  pthread_mutex_unlock(&live_lock);
  return slot;
}

static int registry_cut(int slot) { return slot >= 0 && __atomic_load_n(&live[slot].cut, __ATOMIC_ACQUIRE); }

static void registry_remove(int slot) {
  if (slot < 0) return;
  pthread_mutex_lock(&live_lock);
  live[slot].fd = -1;
  pthread_mutex_unlock(&live_lock);
}

void px_relay_cut_all(void) {
  uint64_t n = 0;
  pthread_mutex_lock(&live_lock);
  for (int i = 0; live_init && i < SLOTS; i++) {
    if (live[i].fd >= 0 && !live[i].cut) {
      shutdown(live[i].fd, SHUT_RDWR);
      __atomic_store_n(&live[i].cut, 1, __ATOMIC_RELEASE);
      n++;
    }
  }
  pthread_mutex_unlock(&live_lock);
  px_meter_count_cut(n);
}

struct dir {
  int from, to;
  int from_upstream; /* bytes read are rx */
  char *buf;
  size_t cap, len, off;
  int eof, shut;
  int head_mode; /* forward responses: rewriting the response head */
  char *head;
  size_t head_len;
};

static void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Room to read into: the head buffer while rewriting heads — only while d->buf can still take a whole rewritten
 * head plus what follows it (at most BUF + 64 bytes), so interim (1xx) heads a client does not read cannot pile up
 * past the buffer — else the free end of d->buf. */
static size_t in_room(const struct dir *d) {
  if (d->head_mode) return d->len <= d->cap - BUF - 64 ? BUF - d->head_len : 0;
  return d->cap - d->len;
}

/* Move complete response heads from d->head into d->buf (rewritten). Returns -1 on a head too large. */
static int take_heads(struct dir *d) {
  while (d->head_mode) {
    size_t end = px_head_end(d->head, d->head_len);
    if (end == 0) return d->head_len >= BUF ? -1 : 0;
    int status = 0;
    size_t n = px_rewrite_response(d->head, end, d->buf + d->len, d->cap - d->len, &status);
    if (n == 0) return -1;
    d->len += n;
    if (status >= 200 || status == 0) d->head_mode = 0; /* final (or unparsable): the rest is the body, raw */
    size_t rest = d->head_len - end;
    if (d->head_mode) {
      memmove(d->head, d->head + end, rest);
      d->head_len = rest;
    } else {
      if (rest > d->cap - d->len) return -1; /* cannot happen given in_room(); never write past the buffer */
      memcpy(d->buf + d->len, d->head + end, rest);
      d->len += rest;
      d->head_len = 0;
    }
  }
  return 0;
}

/* Read what is available; 0 ok (maybe EAGAIN), -1 fatal. */
static int pump_in(struct dir *d, int *trip) {
  char *dst = d->head_mode ? d->head + d->head_len : d->buf + d->len;
  size_t room = in_room(d);
  if (room == 0) return 0;
  ssize_t n = recv(d->from, dst, room, 0);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  if (n == 0) {
    d->eof = 1;
    return d->head_mode && d->head_len ? -1 : 0; /* EOF inside a response head: broken */
  }
  if (d->from_upstream && px_meter_add((uint64_t)n, 0)) *trip = 1;
  if (d->head_mode) {
    d->head_len += (size_t)n;
    return take_heads(d);
  }
  d->len += (size_t)n;
  return 0;
}

static int pump_out(struct dir *d, int *trip) {
  size_t want = d->len - d->off;
  if (!d->from_upstream) {
    uint64_t room = px_meter_tx_room();
    if (room != UINT64_MAX && want > room + 1) want = (size_t)room + 1;
  }
  ssize_t n = send(d->to, d->buf + d->off, want, MSG_NOSIGNAL);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  if (!d->from_upstream && px_meter_add(0, (uint64_t)n)) *trip = 1;
  d->off += (size_t)n;
  if (d->off == d->len) d->off = d->len = 0;
  return 0;
}

void px_relay(int client, int upstream, const char *first, size_t first_len, int rewrite_response) {
  struct dir up = {client, upstream, 0, NULL, BUF, 0, 0, 0, 0, 0, NULL, 0};
  struct dir down = {upstream, client, 1, NULL, 2 * BUF + 64, 0, 0, 0, 0, rewrite_response, NULL, 0};
  up.buf = malloc(up.cap);
  down.buf = malloc(down.cap);
  down.head = rewrite_response ? malloc(BUF) : NULL;
  int slot = registry_add(upstream);
  int trip = 0, failed = up.buf == NULL || down.buf == NULL || (rewrite_response && down.head == NULL) || slot < 0;
  if (!failed && first_len > 0) {
    if (first_len > up.cap) failed = 1;
    else memcpy(up.buf, first, first_len), up.len = first_len;
  }
  set_nonblock(client);
  set_nonblock(upstream);
  while (!failed) {
    struct dir *ds[2] = {&up, &down};
    for (int i = 0; i < 2; i++) { /* pass on a half-close once its direction has drained */
      struct dir *d = ds[i];
      if (d->eof && d->len == 0 && !d->shut) shutdown(d->to, SHUT_WR), d->shut = 1;
    }
    if (up.shut && down.shut) break;
    struct pollfd p[2] = {{client, 0, 0}, {upstream, 0, 0}};
    for (int i = 0; i < 2; i++) {
      struct dir *d = ds[i];
      int from_i = d->from == client ? 0 : 1, to_i = 1 - from_i;
      if (!d->eof && in_room(d) > 0) p[from_i].events |= POLLIN;
      if (d->len > d->off) p[to_i].events |= POLLOUT;
    }
    /* A socket with nothing to do now is left out: poll reports a hang-up whatever the events asked, so a peer that
     * has hung up while the other side is slow would otherwise wake this loop at once, over and over. */
    for (int i = 0; i < 2; i++)
      if (p[i].events == 0) p[i].fd = -1;
    int r = poll(p, 2, 100);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      if ((p[0].revents & POLLIN) || (p[0].revents & (POLLHUP | POLLERR) && !up.eof)) failed |= pump_in(&up, &trip) < 0;
      if (!failed && ((p[1].revents & POLLIN) || (p[1].revents & (POLLHUP | POLLERR) && !down.eof)))
        failed |= pump_in(&down, &trip) < 0;
      if (!failed && (p[1].revents & POLLOUT)) failed |= pump_out(&up, &trip) < 0;
      if (!failed && (p[0].revents & POLLOUT)) failed |= pump_out(&down, &trip) < 0;
      if (!failed && (p[0].revents & POLLNVAL || p[1].revents & POLLNVAL)) failed = 1;
      /* a hang-up after the read side ended: that peer is gone; done, or broken if bytes for it are still pending */
      if (!failed && (p[0].revents & (POLLHUP | POLLERR)) && up.eof) {
        if (down.len > down.off) failed = 1;
        else break;
      }
      /* the upstream hung up after its answer ended: what it sent and the client has not taken yet is still delivered
       * (the loop ends when the client side is shut down, above) */
      if (!failed && (p[1].revents & (POLLHUP | POLLERR)) && down.eof) {
        if (up.len > up.off) failed = 1;
        else if (down.len == down.off) break;
      }
    } else if (px_meter_new_trip()) {
      trip = 1;
    }
    if (trip) {
      px_relay_cut_all();
      trip = 0;
    }
    if (registry_cut(slot)) failed = 1;
  }
  if (failed || registry_cut(slot)) { /* reset the client: a cut or broken transfer must not look complete */
    struct linger lg = {1, 0};
    setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  registry_remove(slot);
  close(upstream);
  close(client);
  free(up.buf);
  free(down.buf);
  free(down.head);
}
