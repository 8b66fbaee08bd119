/*
 * binding.c — the binding table: destination IP → the name an earlier lookup resolved to it (docs/INTERPOSER.md
 * "Binding table").
 *
 * Shape: 1024 buckets × 4 ways = 4096 entries in .bss (about 1.1 MiB of address space; only touched pages cost
 * memory). Key = the normalised address; value = the normalised name (≤ 253 bytes).
 * Lifetime: an entry lives until the same address is bound again (last lookup wins) or it is evicted as the oldest
 * of its bucket when a new address needs the way. There is no TTL: a binding made by a lookup stays valid for the
 * process, like a connection the program could have kept open. A fork()ed child inherits the table.
 * Concurrency: lock-free seqlock per entry. A writer claims an entry by CAS of its sequence from even to odd (never
 * waits: if that entry is being written by another thread it gives up — the binding is then simply absent, which fails safe: the connect is decided without a bound name). Readers never block either (a few
 * retries, yielding to a preempted writer, then "not bound"), so connect() from a signal handler cannot deadlock.
 * Re-binding an address to the name it already holds writes nothing, so the common case (many threads resolving the
 * same name) never makes an entry busy: otherwise a reader racing that rewrite saw "not bound" and enforce mode
 * blocked an allowed connect (test/hardening/load.test.ts). All shared fields are accessed
 * with atomic loads/stores, so the table is data-race free in the C11 sense (clean under TSan).
 * Fork: no lock is held across fork(); the child handler clears any entry a parent thread was half-way through.
 */
#include <sched.h>
#include <string.h>

#include "guard.h"

#define NBUCKETS 1024u
#define NWAYS 4u
#define NAME_WORDS 32u /* 256 bytes */

struct entry {
  uint32_t seq;   /* even: stable, odd: being written */
  uint32_t stamp; /* insertion order, for eviction */
  uint64_t k0, k1;
  uint32_t meta; /* 0 = empty; else (is_v6 << 16) | name_len */
  uint64_t name[NAME_WORDS];
};

static struct entry table[NBUCKETS * NWAYS];
static uint32_t stamp_counter;

static void key_of(const egp_ip *ip, uint64_t *k0, uint64_t *k1) {
  if (!ip->is_v6) {
    *k0 = ip->v4;
    *k1 = 0;
  } else {
    memcpy(k0, ip->v6, 8);
    memcpy(k1, ip->v6 + 8, 8);
  }
}

static uint32_t bucket_of(uint64_t k0, uint64_t k1, uint32_t v6) {
  uint64_t h = (k0 ^ (k1 * 0x9E3779B97F4A7C15ull) ^ v6) * 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return (uint32_t)h & (NBUCKETS - 1);
}

/* 1 when e (stable, not being written) holds exactly name. Lock-free read as in eg_bound_name. */
static int same_name(struct entry *e, const char *name, size_t len) {
  uint32_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
  if ((s1 & 1) || (__atomic_load_n(&e->meta, __ATOMIC_RELAXED) & 0xffff) != len) return 0;
  uint64_t words[NAME_WORDS] = {0}, cur[NAME_WORDS] = {0};
  memcpy(words, name, len);
  for (unsigned i = 0; i < (len + 7) / 8; i++) cur[i] = __atomic_load_n(&e->name[i], __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != s1) return 0;
  return memcmp(words, cur, sizeof words) == 0;
}

void eg_bind(const egp_ip *ip, const char *name, size_t len) {
  if (len == 0 || len > 253) return;
  uint64_t k0, k1;
  key_of(ip, &k0, &k1);
  uint32_t fam = ip->is_v6 ? 1u : 0u;
  struct entry *b = &table[bucket_of(k0, k1, fam) * NWAYS];
  /* choose: the way holding this key, else an empty way, else the oldest */
  struct entry *victim = NULL;
  uint32_t oldest = 0;
  for (unsigned w = 0; w < NWAYS; w++) {
    struct entry *e = &b[w];
    uint32_t meta = __atomic_load_n(&e->meta, __ATOMIC_RELAXED);
    if (meta != 0 && (meta >> 16) == fam && __atomic_load_n(&e->k0, __ATOMIC_RELAXED) == k0 &&
        __atomic_load_n(&e->k1, __ATOMIC_RELAXED) == k1) {
      if (same_name(e, name, len)) return; /* already bound to this name: no rewrite, readers never see it busy */
      victim = e;
      break;
    }
    uint32_t age = meta == 0 ? UINT32_MAX
                             : __atomic_load_n(&stamp_counter, __ATOMIC_RELAXED) -
                                   __atomic_load_n(&e->stamp, __ATOMIC_RELAXED);
    if (victim == NULL || age > oldest) victim = e, oldest = age;
  }
  uint64_t words[NAME_WORDS] = {0};
  memcpy(words, name, len);
  struct entry *e = victim;
  uint32_t s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
  if ((s & 1) == 0 && __atomic_compare_exchange_n(&e->seq, &s, s + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&e->meta, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&e->k0, k0, __ATOMIC_RELAXED);
    __atomic_store_n(&e->k1, k1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < (len + 7) / 8; i++) __atomic_store_n(&e->name[i], words[i], __ATOMIC_RELAXED);
    __atomic_store_n(&e->stamp, __atomic_add_fetch(&stamp_counter, 1, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&e->meta, (fam << 16) | (uint32_t)len, __ATOMIC_RELAXED);
    __atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
    return;
  }
  /* the chosen way is being written by another thread: drop this binding (fails safe, see above) */
}

size_t eg_bound_name(const egp_ip *ip, char out[256]) {
  uint64_t k0, k1;
  key_of(ip, &k0, &k1);
  uint32_t fam = ip->is_v6 ? 1u : 0u;
  struct entry *b = &table[bucket_of(k0, k1, fam) * NWAYS];
  for (unsigned w = 0; w < NWAYS; w++) {
    struct entry *e = &b[w];
    for (int retry = 0; retry < 64; retry++) {
      uint32_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
      if (s1 & 1) { /* a writer is inside: it may have been preempted, so let it run (bounded; never blocks) */
        if (retry >= 4) sched_yield();
        continue;
      }
      uint32_t meta = __atomic_load_n(&e->meta, __ATOMIC_RELAXED);
      int hit = meta != 0 && (meta >> 16) == fam && __atomic_load_n(&e->k0, __ATOMIC_RELAXED) == k0 &&
                __atomic_load_n(&e->k1, __ATOMIC_RELAXED) == k1;
      size_t len = meta & 0xffff;
      uint64_t words[NAME_WORDS];
      if (hit) {
        if (len > 253) len = 253;
        for (unsigned i = 0; i < (len + 7) / 8; i++) words[i] = __atomic_load_n(&e->name[i], __ATOMIC_RELAXED);
      }
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      if (__atomic_load_n(&e->seq, __ATOMIC_RELAXED) != s1) continue;
      if (!hit) break;
      memcpy(out, words, len);
      out[len] = '\0';
      return len;
    }
  }
  return 0;
}

void eg_binding_atfork_child(void) {
  for (unsigned i = 0; i < NBUCKETS * NWAYS; i++) {
    uint32_t s = __atomic_load_n(&table[i].seq, __ATOMIC_RELAXED);
    if (s & 1) {
      __atomic_store_n(&table[i].meta, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&table[i].seq, s + 1, __ATOMIC_RELEASE);
    }
  }
}
