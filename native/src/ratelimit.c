/*
 * ratelimit.c — see ratelimit.h for the contract.
 *
 * Each slot holds one key and a 64-bit word updated only by compare-and-swap:
 *   bits  0..23 suppressed  occurrences counted and not yet summarised in this window
 *   bits 24..33 logged      occurrences admitted in this window (saturates at burst, which is at most 1000)
 *   bits 34..49 epoch       the window: monotonic seconds / window_s, modulo 2^16
 *   bit  50     ready       the key fields are written and stable
 *   bit  51     busy        a claimer is writing the key fields
 *   bits 52..63 gen         +1 each time the slot takes another key
 * A reader loads the word, reads the key fields, and commits with a compare-and-swap on the same word: the swap
 * succeeds only when no claimer re-keyed the slot in between (a claimer first swaps the word to busy with a new
 * generation, writes the fields, then publishes ready with a release store), so what it read was the slot's key.
 * A slot is re-keyed only when it holds no count and its window is over; a full suppressed counter is summarised at
 * once and starts again at one.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"

#define PROBES 8u
#define CLAIM_TRIES 64 /* scans of the probe range before a line is logged rather than counted */

#define SUPP_MASK 0xffffffull
#define LOGGED_SHIFT 24
#define LOGGED_MASK (0x3ffull << LOGGED_SHIFT)
#define EPOCH_SHIFT 34
#define EPOCH_MASK (0xffffull << EPOCH_SHIFT)
#define READY (1ull << 50)
#define BUSY (1ull << 51)
#define GEN_SHIFT 52
#define GEN_MASK (0xfffull << GEN_SHIFT)

#define SUPP(w) ((w)&SUPP_MASK)
#define LOGGED(w) (((w)&LOGGED_MASK) >> LOGGED_SHIFT)
#define EPOCH(w) (((w)&EPOCH_MASK) >> EPOCH_SHIFT)

#define STR_MAX 32u /* event, call, option, errno name: longer ones are admitted */

struct slot {
  uint64_t word;
  char str[4][STR_MAX]; /* event, call, option, errno name; NUL-terminated, "" for none */
  int32_t rule, port, proto;
  uint8_t allow, blocked, has_ip, rid_len;
  uint16_t host_len; /* EG_RL_HOST_MAX + 1: no host */
  egp_ip ip;
  char host[EG_RL_HOST_MAX];
  char rid[EG_RL_RID_MAX];
};

static struct slot slots[EG_RL_SLOTS];
static unsigned burst, window_s = 1;
static eg_rl_emit_fn emit_fn;
static eg_rl_rid_fn rid_fn;
static int pending;            /* some slot may hold a count */
static uint64_t flushed_epoch; /* eg_rl_tick(): the window and marker of its last flush */
static uint64_t flushed_marker;

#define NO_HOST ((uint16_t)(EG_RL_HOST_MAX + 1))

void eg_rl_configure(unsigned b, unsigned w, eg_rl_emit_fn emit, eg_rl_rid_fn rid) {
  burst = b > 1000 ? 1000 : b;
  window_s = w ? w : 1;
  emit_fn = emit;
  rid_fn = rid;
}

int eg_rl_enabled(void) { return burst != 0; }

static uint64_t epoch_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return ((uint64_t)ts.tv_sec / window_s) & 0xffff;
}

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v;
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

static uint64_t key_hash(const struct eg_rl_key *k) {
  uint64_t h = 0xcbf29ce484222325ull;
  const char *strs[4] = {k->event, k->call, k->option, k->errno_name};
  for (int i = 0; i < 4; i++) {
    uint64_t v = 0;
    if (strs[i]) memcpy(&v, strs[i], strnlen(strs[i], 8));
    h = mix(h, v);
  }
  h = mix(h, (uint64_t)(uint32_t)k->rule << 32 | (uint64_t)(uint32_t)k->port);
  h = mix(h, (uint64_t)(uint32_t)k->proto << 2 | (uint64_t)(k->allow != 0) << 1 | (uint64_t)(k->blocked != 0));
  if (k->ip) {
    uint64_t a, b;
    memcpy(&a, k->ip->v6, 8);
    memcpy(&b, k->ip->v6 + 8, 8);
    h = mix(h, k->ip->is_v6 ? a : k->ip->v4);
    h = mix(h, k->ip->is_v6 ? b : 0);
  }
  if (k->host) {
    size_t i = 0;
    for (; i + 8 <= k->host_len; i += 8) {
      uint64_t v;
      memcpy(&v, k->host + i, 8);
      h = mix(h, v);
    }
    uint64_t t = 0;
    memcpy(&t, k->host + i, k->host_len - i);
    h = mix(h, t ^ k->host_len);
  }
  return h;
}

static int same_ip(const egp_ip *a, const egp_ip *b) {
  if (a->is_v6 != b->is_v6) return 0;
  return a->is_v6 ? memcmp(a->v6, b->v6, 16) == 0 : a->v4 == b->v4;
}

/* The slot's fields equal k (read without a lock: the caller's swap on the word validates them). */
static int same_str(const char *stored, const char *s) { return strcmp(stored, s ? s : "") == 0; }

static int matches(const struct slot *s, const struct eg_rl_key *k) {
  if (!same_str(s->str[0], k->event) || !same_str(s->str[1], k->call) || !same_str(s->str[2], k->option) ||
      !same_str(s->str[3], k->errno_name) || s->rule != k->rule || s->port != k->port || s->proto != k->proto ||
      s->allow != (k->allow != 0) || s->blocked != (k->blocked != 0) || s->has_ip != (k->ip != NULL) ||
      s->rid_len != k->rid_len)
    return 0;
  if (k->host ? s->host_len != k->host_len || memcmp(s->host, k->host, k->host_len) != 0 : s->host_len != NO_HOST)
    return 0;
  if (k->ip && !same_ip(&s->ip, k->ip)) return 0;
  return memcmp(s->rid, k->rid, k->rid_len) == 0;
}

static void write_key(struct slot *s, const struct eg_rl_key *k) {
  const char *strs[4] = {k->event, k->call, k->option, k->errno_name};
  for (int i = 0; i < 4; i++) {
    size_t n = strs[i] ? strlen(strs[i]) : 0;
    memcpy(s->str[i], strs[i] ? strs[i] : "", n);
    s->str[i][n] = '\0';
  }
  s->rule = k->rule, s->port = k->port, s->proto = k->proto;
  s->allow = k->allow != 0, s->blocked = k->blocked != 0, s->has_ip = k->ip != NULL;
  s->rid_len = (uint8_t)k->rid_len;
  memcpy(s->rid, k->rid, k->rid_len);
  if (k->ip) s->ip = *k->ip;
  s->host_len = k->host ? (uint16_t)k->host_len : NO_HOST;
  if (k->host) memcpy(s->host, k->host, k->host_len);
}

struct copy {
  struct eg_rl_key k;
  egp_ip ip;
  char host[EG_RL_HOST_MAX], rid[EG_RL_RID_MAX], str[4][STR_MAX];
};

/* A copy of the slot's key (validated by the caller's swap: until then it may be torn, so every length is clamped). */
static void read_key(const struct slot *s, struct copy *c) {
  struct eg_rl_key *k = &c->k;
  egp_ip *ip = &c->ip;
  char *host = c->host, *rid = c->rid;
  for (int i = 0; i < 4; i++) {
    memcpy(c->str[i], s->str[i], STR_MAX);
    c->str[i][STR_MAX - 1] = '\0';
  }
  k->event = c->str[0], k->call = c->str[1];
  k->option = c->str[2][0] ? c->str[2] : NULL, k->errno_name = c->str[3][0] ? c->str[3] : NULL;
  k->rule = s->rule, k->port = s->port, k->proto = s->proto, k->allow = s->allow, k->blocked = s->blocked;
  *ip = s->ip;
  k->ip = s->has_ip ? ip : NULL;
  size_t hl = s->host_len > EG_RL_HOST_MAX ? 0 : s->host_len;
  memcpy(host, s->host, hl);
  k->host = s->host_len > EG_RL_HOST_MAX ? NULL : host;
  k->host_len = hl;
  size_t rl = s->rid_len > EG_RL_RID_MAX ? EG_RL_RID_MAX : s->rid_len;
  memcpy(rid, s->rid, rl);
  k->rid = rid;
  k->rid_len = rl;
}

static int cas(uint64_t *p, uint64_t *expected, uint64_t desired) {
  return __atomic_compare_exchange_n(p, expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE);
}

/* One occurrence of the key of slot s (read as word w): 1 logged, 0 counted, -1 the slot was re-keyed meanwhile. */
static int bump(struct slot *s, uint64_t w, uint64_t ep, const struct eg_rl_key *k) {
  uint64_t gen = w & GEN_MASK;
  for (;;) {
    if ((w & (READY | BUSY)) != READY || (w & GEN_MASK) != gen) return -1;
    uint64_t next, summary = 0;
    int log;
    if (EPOCH(w) != ep) { /* a new window: its first line; the old window's count is summarised */
      next = gen | READY | (ep << EPOCH_SHIFT) | (1ull << LOGGED_SHIFT);
      summary = SUPP(w), log = 1;
    } else if (LOGGED(w) < burst) {
      next = w + (1ull << LOGGED_SHIFT), log = 1;
    } else if (SUPP(w) == SUPP_MASK) {
      next = (w & ~SUPP_MASK) | 1, summary = SUPP_MASK, log = 0;
    } else {
      next = w + 1, log = 0;
    }
    if (cas(&s->word, &w, next)) {
      if (summary && emit_fn) emit_fn(k, summary, window_s);
      if (!log && !__atomic_load_n(&pending, __ATOMIC_SEQ_CST)) __atomic_store_n(&pending, 1, __ATOMIC_SEQ_CST);
      return log;
    }
  }
}

int eg_rl_admit(const struct eg_rl_key *k) {
  if (burst == 0 || (k->host && k->host_len > EG_RL_HOST_MAX) || k->rid_len > EG_RL_RID_MAX) return 1;
  const char *strs[4] = {k->event, k->call, k->option, k->errno_name};
  for (int i = 0; i < 4; i++)
    if (strs[i] && strnlen(strs[i], STR_MAX) >= STR_MAX) return 1;
  uint64_t ep = epoch_now();
  uint64_t h = key_hash(k);
  for (int attempt = 0; attempt < CLAIM_TRIES; attempt++) {
    struct slot *take = NULL;
    uint64_t take_w = 0;
    int again = 0;
    for (unsigned p = 0; p < PROBES && !again; p++) {
      struct slot *s = &slots[(h + p) & (EG_RL_SLOTS - 1)];
      uint64_t w = __atomic_load_n(&s->word, __ATOMIC_ACQUIRE);
      if (w == 0) {
        if (take == NULL) take = s, take_w = 0;
        continue;
      }
      if (w & BUSY) { /* being keyed, perhaps for k by another thread: wait for it rather than key a second slot */
        again = 1;
        break;
      }
      if (matches(s, k)) {
        int r = bump(s, w, ep, k);
        if (r >= 0) return r;
        again = 1; /* re-keyed under us: look again */
      } else if (take == NULL && SUPP(w) == 0 && EPOCH(w) != ep) {
        take = s, take_w = w;
      }
    }
    if (again) {
      if (attempt >= 4) sched_yield(); /* the claimer may be preempted (or interrupted by this very handler) */
      continue;
    }
    if (take == NULL) return 1; /* nothing free around this hash: logged rather than lost */
    uint64_t gen = (((take_w & GEN_MASK) >> GEN_SHIFT) + 1) & 0xfff;
    if (!cas(&take->word, &take_w, BUSY | (gen << GEN_SHIFT))) continue;
    write_key(take, k);
    __atomic_store_n(&take->word, (gen << GEN_SHIFT) | READY | (ep << EPOCH_SHIFT) | (1ull << LOGGED_SHIFT),
                     __ATOMIC_RELEASE);
    return 1;
  }
  return 1;
}

/* Summarises the counts of every slot (all) or of the slots whose window is over or whose request id is not rid. */
static void flush(int all, uint64_t ep, const char *rid, size_t rid_len) {
  __atomic_store_n(&pending, 0, __ATOMIC_SEQ_CST);
  for (unsigned i = 0; i < EG_RL_SLOTS; i++) {
    struct slot *s = &slots[i];
    uint64_t w = __atomic_load_n(&s->word, __ATOMIC_ACQUIRE);
    while ((w & (READY | BUSY)) == READY && SUPP(w) != 0) {
      struct copy c;
      read_key(s, &c);
      int due = all || EPOCH(w) != ep || c.k.rid_len != rid_len || memcmp(c.k.rid, rid, rid_len) != 0;
      if (!due) {
        __atomic_store_n(&pending, 1, __ATOMIC_SEQ_CST);
        break;
      }
      uint64_t n = SUPP(w);
      if (cas(&s->word, &w, w & ~SUPP_MASK)) {
        if (emit_fn) emit_fn(&c.k, n, window_s);
        break;
      }
    }
  }
}

void eg_rl_tick(uint64_t marker) {
  if (!__atomic_load_n(&pending, __ATOMIC_SEQ_CST)) return;
  uint64_t ep = epoch_now();
  if (ep == __atomic_load_n(&flushed_epoch, __ATOMIC_RELAXED) &&
      marker == __atomic_load_n(&flushed_marker, __ATOMIC_RELAXED))
    return;
  __atomic_store_n(&flushed_epoch, ep, __ATOMIC_RELAXED);
  __atomic_store_n(&flushed_marker, marker, __ATOMIC_RELAXED);
  char rid[EG_RL_RID_MAX + 1];
  size_t rl = rid_fn ? rid_fn(rid) : 0;
  flush(0, ep, rid, rl);
}

void eg_rl_flush(void) {
  if (burst == 0) return;
  flush(1, epoch_now(), "", 0);
}

void eg_rl_reset(void) {
  memset(slots, 0, sizeof slots);
  pending = 0;
  flushed_epoch = 0;
  flushed_marker = 0;
}
