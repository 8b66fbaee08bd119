/*
 * egp_match.c — FORMAT.md "Decisions" over a validated egp_t. No allocation, no system call, no global state.
 *
 * Every element read from the file is bounds-checked here (FORMAT.md: checks that would cost O(n) at load happen at
 * use): a key outside STRINGS, a set running past RULESETS, a rule index >= rule_count or a slot pointing past the
 * entries make that element "not found"; nothing from the file is used as an offset unchecked.
 */
#include "egp.h"
#include "egp_rd.h"

static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

uint32_t egp_hash(const uint8_t *key, size_t len) {
  uint32_t h = 0x811C9DC5u;
  for (size_t i = 0; i < len; i++) {
    h ^= key[i];
    h *= 0x01000193u;
  }
  return fmix32(h);
}

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

/* h3 over `len` bytes at k, which must be followed by at least 7 readable bytes that are all zero (the padding of
 * FORMAT.md's "bytes at or past len read as 0"): one 8-byte load per step. */
static inline uint32_t hash3_padded(const uint8_t *k, size_t len) {
  uint32_t a = 0x9E3779B9u ^ (uint32_t)len, b = 0x85EBCA77u ^ (uint32_t)len;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t w = egp_rd64(k + i);
    a = rotl32((a ^ (uint32_t)w) * 0xCC9E2D51u, 15);
    b = rotl32((b ^ (uint32_t)(w >> 32)) * 0x1B873593u, 13);
  }
  return fmix32(a ^ rotl32(b, 16));
}

uint32_t egp_hash3(const uint8_t *key, size_t len) {
  uint8_t buf[256 + 8] = {0};
  if (len > 256) { /* not a name (<= 253 bytes): hash it in place, the tail through the buffer */
    size_t whole = len & ~(size_t)7;
    uint32_t a = 0x9E3779B9u ^ (uint32_t)len, b = 0x85EBCA77u ^ (uint32_t)len;
    for (size_t i = 0; i < len; i += 8) {
      uint64_t w = 0;
      memcpy(&w, key + i, i < whole ? 8 : len - i);
      a = rotl32((a ^ (uint32_t)w) * 0xCC9E2D51u, 15);
      b = rotl32((b ^ (uint32_t)(w >> 32)) * 0x1B873593u, 13);
    }
    return fmix32(a ^ rotl32(b, 16));
  }
  memcpy(buf, key, len);
  return hash3_padded(buf, len);
}

int egp_normalize_name(const char *name, size_t len, char out[256]) {
  if (len > 0 && name[len - 1] == '.') len--;
  if (len == 0 || len > 253) return -1;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  out[len] = '\0';
  return (int)len;
}

const char *egp_rule_name(const egp_t *p, int32_t rule, uint32_t *len) {
  if (rule < 0 || (uint32_t)rule >= p->n_rules) return NULL;
  const uint8_t *r = p->rules + 24ull * (uint32_t)rule;
  uint32_t off = egp_rd32(r), n = egp_rd32(r + 4); /* validated at load */
  *len = n;
  return (const char *)p->strings + off;
}

/* Does rule `ri` match the use (FORMAT.md "A rule matches the use")? */
static int rule_matches(const egp_t *p, uint32_t ri, int port, int proto, int *is_deny) {
  const uint8_t *r = p->rules + 24ull * ri;
  uint8_t action = r[8], rproto = r[9];
  *is_deny = action == 1;
  if (proto != EGP_PROTO_UNKNOWN && !(rproto & proto)) return 0;
  if (action == 1 && proto == EGP_PROTO_UNKNOWN && rproto != 3) return 0;
  uint32_t pc = egp_rd32(r + 16);
  if (pc == 0) return 1;
  if (port == EGP_PORT_UNKNOWN) return action == 0;
  uint32_t pf = egp_rd32(r + 12); /* pf + pc <= n_ports validated at load */
  for (uint32_t k = 0; k < pc; k++) {
    const uint8_t *pr = p->ports + 4ull * (pf + k);
    if ((uint32_t)port >= egp_rd16(pr) && (uint32_t)port <= egp_rd16(pr + 2)) return 1;
  }
  return 0;
}

/* Scan one rule set; lower *deny / *allow to the lowest matching deny / allow rule index (INT32_MAX = none). */
static void scan_set(const egp_t *p, uint32_t set, int port, int proto, int32_t *deny, int32_t *allow) {
  if (set == 0 || set >= p->n_words) return;
  uint32_t n = egp_rd32(p->words + 4ull * set);
  if ((uint64_t)set + 1 + n > p->n_words) return;
  int need_deny = 1, need_allow = 1;
  for (uint32_t k = 0; k < n && (need_deny || need_allow); k++) {
    uint32_t ri = egp_rd32(p->words + 4ull * (set + 1 + k));
    if (ri >= p->n_rules) continue;
    int is_deny;
    if (!rule_matches(p, ri, port, proto, &is_deny)) continue;
    if (is_deny && need_deny) {
      if ((int32_t)ri < *deny) *deny = (int32_t)ri;
      need_deny = 0; /* sets are ascending: the first match is the lowest in this set */
    } else if (!is_deny && need_allow) {
      if ((int32_t)ri < *allow) *allow = (int32_t)ri;
      need_allow = 0;
    }
  }
}

/* A version 3 name set: SET_INLINE | rule, or a RULESETS word index (FORMAT.md "Version 3 name tables"). */
static void scan_name_set3(const egp_t *p, uint32_t set, int port, int proto, int32_t *deny, int32_t *allow) {
  if (!(set & (uint32_t)EGP_SET_INLINE)) {
    scan_set(p, set, port, proto, deny, allow);
    return;
  }
  uint32_t ri = set & ~(uint32_t)EGP_SET_INLINE;
  int is_deny;
  if (ri >= p->n_rules || !rule_matches(p, ri, port, proto, &is_deny)) return;
  int32_t *best = is_deny ? deny : allow;
  if ((int32_t)ri < *best) *best = (int32_t)ri;
}

/* Hash-table lookup (FORMAT.md "Lookup") of key with hash h: the set of its entry, or 0 when not found. */
static uint32_t table_find(const egp_t *p, const uint8_t *slots, uint32_t cap, const uint8_t *entries,
                           uint32_t n_entries, const uint8_t *key, size_t len, uint32_t h) {
  if (cap == 0) return 0;
  uint32_t i = h & (cap - 1);
  for (uint32_t step = 0; step < cap; step++) {
    uint32_t s = egp_rd32(slots + 4ull * i);
    if (s == 0) return 0;
    if (s - 1 < n_entries) {
      const uint8_t *e = entries + 16ull * (s - 1);
      if (egp_rd32(e) == h && egp_rd32(e + 8) == len) {
        uint32_t off = egp_rd32(e + 4), set = egp_rd32(e + 12);
        /* most likely the hit: fetch its rule set while the key is compared (a hint; it reads nothing) */
        if (set < p->n_words) __builtin_prefetch(p->words + 4ull * set);
        if ((uint64_t)off + len <= p->n_strings && memcmp(p->strings + off, key, len) == 0) return set;
      }
    }
    i = (i + 1) & (cap - 1);
  }
  return 0;
}

static inline int has_len(const uint64_t lens[4], size_t l) { return l < 256 && (lens[l >> 6] >> (l & 63)) & 1; }

/* Bit 7 of byte j set when b[j] == '.', for the n <= 8 bytes at b (the rest count as zero bytes, never a dot). b - 8 + n
 * must be readable when n < 8 and back >= 8 - n (the last word of a name of >= 8 bytes is read ending at its end). */
static inline uint64_t dots8(const uint8_t *b, size_t n, size_t back) {
  uint64_t w = 0;
  if (n == 8) memcpy(&w, b, 8);
  else if (back >= 8 - n) memcpy(&w, b - (8 - n), 8), w >>= 8 * (8 - n);
  else
    for (size_t j = 0; j < n; j++) w |= (uint64_t)b[j] << (8 * j);
  uint64_t x = w ^ 0x2E2E2E2E2E2E2E2Eull; /* a zero byte where there was a dot */
  uint64_t t = ((x & 0x7F7F7F7F7F7F7F7Full) + 0x7F7F7F7F7F7F7F7Full) | x;
  return ~t & 0x8080808080808080ull;
}

#define MAX_CANDS 128 /* a name of at most 253 bytes has at most 127 dots */

/* Lowest matching deny/allow over all name candidates of `name` (FORMAT.md "Name candidates").
 * Performance: the FNV-1a hashes of the name and of its suffixes are computed four at a time in one pass over the
 * bytes, the chains interleaved in registers (they are independent, so the multiplies overlap), and the
 * slots of every candidate are prefetched before any is probed, so the cache misses of a large table overlap. */
static void scan_name3(const egp_t *p, const char *name, size_t len, int port, int proto, int32_t *deny,
                       int32_t *allow);

static void scan_name(const egp_t *p, const char *name, size_t len, int port, int proto, int32_t *deny,
                      int32_t *allow) {
  if (p->version >= 3) {
    scan_name3(p, name, len, port, proto, deny, allow);
    return;
  }
  const uint8_t *k = (const uint8_t *)name;
  size_t start[MAX_CANDS];
  uint32_t h[MAX_CANDS];
  uint8_t is_exact[MAX_CANDS];
  int nc = 0;
  /* only candidates whose length some entry of their table has (egp.h "length filters") */
  if (p->n_exact_slots != 0 && (p->exact_all_lens || has_len(p->exact_lens, len))) start[nc] = 0, is_exact[nc++] = 1;
  if (p->n_wild_slots != 0)
    for (size_t base = 0; base + 1 < len; base += 8) { /* the dots, eight bytes at a time, in ascending order */
      uint64_t m = dots8(k + base, len - base < 8 ? len - base : 8, base);
      for (; m != 0; m &= m - 1) {
        size_t i = base + ((size_t)__builtin_ctzll(m) >> 3);
        if (i + 1 < len && nc < MAX_CANDS && (p->wild_all_lens || has_len(p->wild_lens, len - i - 1)))
          start[nc] = i + 1, is_exact[nc++] = 0;
      }
    }
  if (nc == 0) return;
  /* chains in groups of four, held in registers; a chain absorbs byte i only once i >= its start (cmov) */
  for (int g = 0; g < nc; g += 4) {
    if (g + 1 == nc) { /* a lone last chain (often the only one, the exact name): no idle lanes (BENCHMARKS.md) */
      uint32_t h0 = 0x811C9DC5u;
      for (size_t i = start[g]; i < len; i++) h0 = (h0 ^ k[i]) * 0x01000193u;
      h[g] = h0;
      break;
    }
    if (g + 2 == nc) { /* two last chains (a name below a wildcard: the exact name and one suffix): two lanes */
      size_t s1 = start[g + 1];
      uint32_t h0 = 0x811C9DC5u, h1 = h0;
      for (size_t i = start[g]; i < len; i++) {
        uint32_t b = k[i], n1 = (h1 ^ b) * 0x01000193u;
        h0 = (h0 ^ b) * 0x01000193u;
        h1 = i >= s1 ? n1 : h1;
      }
      h[g] = h0, h[g + 1] = h1;
      break;
    }
    size_t s0 = start[g], s1 = g + 1 < nc ? start[g + 1] : len, s2 = g + 2 < nc ? start[g + 2] : len,
           s3 = g + 3 < nc ? start[g + 3] : len;
    uint32_t h0 = 0x811C9DC5u, h1 = h0, h2 = h0, h3 = h0;
    for (size_t i = s0; i < len; i++) {
      uint32_t b = k[i];
      h0 = (h0 ^ b) * 0x01000193u;
      uint32_t n1 = (h1 ^ b) * 0x01000193u, n2 = (h2 ^ b) * 0x01000193u, n3 = (h3 ^ b) * 0x01000193u;
      h1 = i >= s1 ? n1 : h1;
      h2 = i >= s2 ? n2 : h2;
      h3 = i >= s3 ? n3 : h3;
    }
    h[g] = h0;
    if (g + 1 < nc) h[g + 1] = h1;
    if (g + 2 < nc) h[g + 2] = h2;
    if (g + 3 < nc) h[g + 3] = h3;
  }
  for (int c = 0; c < nc; c++) {
    h[c] = fmix32(h[c]);
    __builtin_prefetch(is_exact[c] ? p->exact_slots + 4ull * (h[c] & (p->n_exact_slots - 1))
                                   : p->wild_slots + 4ull * (h[c] & (p->n_wild_slots - 1)));
  }
  /* the first slot of every candidate is read, and the entry it points to prefetched, before any entry is read */
  for (int c = 0; c < nc; c++) {
    const uint8_t *slots = is_exact[c] ? p->exact_slots : p->wild_slots;
    uint32_t cap = is_exact[c] ? p->n_exact_slots : p->n_wild_slots, n = is_exact[c] ? p->n_exact : p->n_wild;
    uint32_t s = egp_rd32(slots + 4ull * (h[c] & (cap - 1)));
    if (s != 0 && s - 1 < n) __builtin_prefetch((is_exact[c] ? p->exact : p->wild) + 16ull * (s - 1));
  }
  for (int c = 0; c < nc; c++) {
    uint32_t set = is_exact[c] ? table_find(p, p->exact_slots, p->n_exact_slots, p->exact, p->n_exact, k, len, h[c])
                               : table_find(p, p->wild_slots, p->n_wild_slots, p->wild, p->n_wild, k + start[c],
                                            len - start[c], h[c]);
    scan_set(p, set, port, proto, deny, allow);
  }
}

/* Version 3 (FORMAT.md "Version 3 name tables"): the candidates in the order of versions 1 and 2, the first one
 * whose key is found gives the one set to scan (it carries the others' rules). For speed every candidate is hashed and
 * its first slot line prefetched before any is read; then the first slot of each is read and, where its hash and
 * length match, the key's line and the set's rule (or RULESETS) line are prefetched; only then are keys compared in
 * order. So on a large table the misses of all candidates overlap: slot lines, then key and rule lines. */
static int find3(const egp_t *p, int t, const uint8_t *key, size_t len, uint32_t h, uint32_t *set) {
  const uint8_t *tab = p->table3[t];
  uint32_t cap = p->n_table3[t];
  uint32_t i = h & (cap - 1);
  for (uint32_t step = 0; step < cap; step++) {
    const uint8_t *s = tab + (uint64_t)EGP_SLOT_SIZE * i;
    uint32_t kl = egp_rd16(s + 8);
    if (kl == 0) return 0;
    if (egp_rd32(s) == h && kl == len) {
      uint32_t off = egp_rd32(s + 4);
      if ((uint64_t)off + len <= p->n_strings && memcmp(p->strings + off, key, len) == 0) {
        *set = egp_rd32(s + 12);
        return 1;
      }
    }
    i = (i + 1) & (cap - 1);
  }
  return 0;
}

static inline int lens3_has(const egp_t *p, int t, size_t l) {
  return l < 256 && (p->name_lens[32 * t + (l >> 3)] >> (l & 7)) & 1;
}

static void scan_name3(const egp_t *p, const char *name, size_t len, int port, int proto, int32_t *deny,
                       int32_t *allow) {
  if (len == 0 || len > EGP_MAX_NAME_LEN) return;
  uint8_t buf[256 + 8];
  memcpy(buf, name, len);
  memset(buf + len, 0, 8); /* h3 reads whole words: the bytes past the name are zero */
  uint8_t start[MAX_CANDS], tab[MAX_CANDS];
  uint32_t h[MAX_CANDS];
  int nc = 0;
  if (p->n_table3[0] != 0 && lens3_has(p, 0, len)) start[nc] = 0, tab[nc++] = 0;
  if (p->n_table3[1] != 0)
    for (size_t base = 0; base + 1 < len; base += 8) { /* the dots, eight bytes at a time, in ascending order */
      uint64_t m = dots8(buf + base, len - base < 8 ? len - base : 8, base);
      for (; m != 0; m &= m - 1) {
        size_t i = base + ((size_t)__builtin_ctzll(m) >> 3);
        if (i + 1 < len && nc < MAX_CANDS && lens3_has(p, 1, len - i - 1)) start[nc] = (uint8_t)(i + 1), tab[nc++] = 1;
      }
    }
  for (int c = 0; c < nc; c++) {
    h[c] = hash3_padded(buf + start[c], len - start[c]);
    __builtin_prefetch(p->table3[tab[c]] + (uint64_t)EGP_SLOT_SIZE * (h[c] & (p->n_table3[tab[c]] - 1)));
  }
  for (int c = 0; c < nc; c++) {
    const uint8_t *s = p->table3[tab[c]] + (uint64_t)EGP_SLOT_SIZE * (h[c] & (p->n_table3[tab[c]] - 1));
    if (egp_rd32(s) != h[c] || egp_rd16(s + 8) != len - start[c]) continue;
    uint32_t off = egp_rd32(s + 4), set = egp_rd32(s + 12);
    if (off < p->n_strings) __builtin_prefetch(p->strings + off);
    if (set & (uint32_t)EGP_SET_INLINE) {
      uint32_t ri = set & ~(uint32_t)EGP_SET_INLINE;
      if (ri < p->n_rules) __builtin_prefetch(p->rules + (uint64_t)EGP_RULE_SIZE * ri + 8);
    } else if (set < p->n_words) {
      __builtin_prefetch(p->words + 4ull * set);
    }
  }
  for (int c = 0; c < nc; c++) {
    uint32_t set;
    if (find3(p, tab[c], buf + start[c], len - start[c], h[c], &set)) {
      scan_name_set3(p, set, port, proto, deny, allow);
      return;
    }
  }
}

/* Only `localhost` itself: the hosts file answers it. A name below it (`db.localhost`) is sent to DNS by glibc like any
 * other, so it is decided like any other (FORMAT.md "Name decision"). */
static int is_localhost(const char *n, size_t len) { return len == 9 && memcmp(n, "localhost", 9) == 0; }

void egp_decide_name(const egp_t *p, const char *name, size_t len, int port, int proto, egp_decision *d) {
  int32_t deny = INT32_MAX, allow = INT32_MAX;
  scan_name(p, name, len, port, proto, &deny, &allow);
  if (deny != INT32_MAX) {
    d->allow = 0;
    d->rule = deny;
  } else if (allow != INT32_MAX) {
    d->allow = 1;
    d->rule = allow;
  } else if ((p->flags & EGP_FLAG_ALLOW_LOOPBACK) && is_localhost(name, len)) {
    d->allow = 1;
    d->rule = EGP_RULE_LOOPBACK;
  } else {
    d->allow = 0;
    d->rule = EGP_RULE_DEFAULT;
  }
}

/* Interval search (FORMAT.md "IP intervals"): the last interval whose start <= the address, by the same sequence of
 * probes as the plain binary search `lo, hi = 0, n; mid = lo + (hi - lo) / 2; start[mid] <= ip ? lo = mid : hi = mid`
 * (so a file whose starts are not ascending decides exactly as the reference matcher does), with two changes for
 * speed (BENCHMARKS.md "Notes"): both possible next probes are prefetched before this one is compared, so on a large
 * table the cache misses of consecutive steps overlap; IPv6 starts are compared as two 64-bit numbers, not by memcmp.
 * The step stays a branch (KEEP_BRANCH: an empty asm the compiler cannot merge into a conditional move): a predicted
 * branch lets the CPU run ahead into the next step, a conditional move makes each step wait for the previous load. */
#define KEEP_BRANCH() __asm__ volatile("" ::: "memory")
static uint32_t v4_set(const egp_t *p, uint32_t ip) {
  const uint8_t *v = p->v4;
  uint32_t lo = 0, hi = p->n_v4; /* invariant: answer in [lo, hi); entry 0 starts at 0 (validated) */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    __builtin_prefetch(v + 8ull * (lo + (mid - lo) / 2));
    __builtin_prefetch(v + 8ull * (mid + (hi - mid) / 2));
    if (egp_rd32(v + 8ull * mid) <= ip) {
      lo = mid;
      KEEP_BRANCH();
    } else {
      hi = mid;
    }
  }
  return egp_rd32(v + 8ull * lo + 4);
}

static inline uint64_t be64(const uint8_t *b) { return __builtin_bswap64(egp_rd64(b)); }

/* IPv6 starts compare as two big-endian 64-bit halves (equal to memcmp over the 16 bytes); see v4_set. */
static uint32_t v6_set(const egp_t *p, const uint8_t ip[16]) {
  const uint8_t *v = p->v6;
  uint64_t ih = be64(ip), il = be64(ip + 8);
  uint32_t lo = 0, hi = p->n_v6;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    __builtin_prefetch(v + 24ull * (lo + (mid - lo) / 2));
    __builtin_prefetch(v + 24ull * (mid + (hi - mid) / 2));
    const uint8_t *e = v + 24ull * mid;
    uint64_t sh = be64(e), sl = be64(e + 8);
    if (sh < ih || (sh == ih && sl <= il)) {
      lo = mid;
      KEEP_BRANCH();
    } else {
      hi = mid;
    }
  }
  return egp_rd32(v + 24ull * lo + 16);
}

/* Version 2 (FORMAT.md "Interval trees"): walk the tree from the root: in each node the child is the last key <= the
 * address (the count of keys <= it, minus one, at least 0; clamped to the level's last node), and in the leaf the
 * interval is the last start <= it. Counting keys rather than stopping at the first greater one keeps each node one
 * branch-free pass over one cache line, and gives the same answer as the reference reader on any bytes.
 * Speed (BENCHMARKS.md "Notes"): on arriving at a node, the lines of all its children (consecutive nodes or leaves
 * of the level below) are prefetched, so the miss of the child taken overlaps the wait for this node — only where
 * the level below is large (PREFETCH_MIN_NODES lines or more): smaller levels stay cached, and their prefetches
 * would only add instructions to a cache-resident lookup. */
#define PREFETCH_MIN_NODES 256u
static inline void prefetch_lines(const uint8_t *first, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) __builtin_prefetch(first + 64ull * i);
}

/* Prefetch the children of node `node` of inner level l (the next inner level, or the leaves at `leaves`). */
static inline void prefetch_children(const struct egp_tree *t, int l, uint32_t node, uint32_t fanout,
                                     const uint8_t *index, const uint8_t *leaves) {
  if (t->nodes[l + 1] < PREFETCH_MIN_NODES) return;
  uint32_t c0 = node * fanout, n = t->nodes[l + 1] > c0 ? t->nodes[l + 1] - c0 : 0;
  if (n > fanout) n = fanout;
  prefetch_lines(l + 1 < t->depth ? index + 64ull * (t->first[l + 1] + c0) : leaves + 64ull * c0, n);
}

static uint32_t v4_tree_find(const egp_t *p, uint32_t ip) {
  const struct egp_tree *t = &p->v4_tree;
  uint32_t node = 0;
  for (int l = 0; l < t->depth; l++) {
    prefetch_children(t, l, node, EGP_V4_FANOUT, p->v4_index, p->v4);
    const uint8_t *k = p->v4_index + 4ull * EGP_V4_FANOUT * (t->first[l] + node);
    uint32_t c = 0;
    for (int i = 0; i < EGP_V4_FANOUT; i++) c += egp_rd32(k + 4 * i) <= ip;
    uint32_t child = node * EGP_V4_FANOUT + (c ? c - 1 : 0);
    node = child < t->nodes[l + 1] ? child : t->nodes[l + 1] - 1;
  }
  uint32_t first = node * EGP_LEAF_INTERVALS, n = p->n_v4 - first, c = 0;
  if (n > EGP_LEAF_INTERVALS) n = EGP_LEAF_INTERVALS;
  for (uint32_t i = 0; i < n; i++) c += egp_rd32(p->v4 + 8ull * (first + i)) <= ip;
  return first + (c ? c - 1 : 0);
}

/* The last index whose V6_KEYS key <= k (the tree walk of v4_tree_find over 64-bit keys). */
static uint32_t v6_key_find(const egp_t *p, uint64_t k) {
  const struct egp_tree *t = &p->v6_tree;
  uint32_t node = 0;
  for (int l = 0; l < t->depth; l++) {
    prefetch_children(t, l, node, EGP_V6_FANOUT, p->v6_index, p->v6_keys);
    const uint8_t *keys = p->v6_index + 8ull * EGP_V6_FANOUT * (t->first[l] + node);
    uint32_t c = 0;
    for (int i = 0; i < EGP_V6_FANOUT; i++) c += egp_rd64(keys + 8 * i) <= k;
    uint32_t child = node * EGP_V6_FANOUT + (c ? c - 1 : 0);
    node = child < t->nodes[l + 1] ? child : t->nodes[l + 1] - 1;
  }
  uint32_t first = node * EGP_LEAF_INTERVALS, n = p->n_v6 - first, c = 0;
  if (n > EGP_LEAF_INTERVALS) n = EGP_LEAF_INTERVALS;
  /* the leaf's intervals (whose starts and sets the caller reads next) are fetched while its keys are read, so the
   * interval's miss overlaps the leaf's instead of following it (only for a large table: see PREFETCH_MIN_NODES) */
  if (t->nodes[t->depth] >= PREFETCH_MIN_NODES)
    for (uint64_t o = 0; o < 24ull * n; o += 64) __builtin_prefetch(p->v6 + 24ull * first + o);
  for (uint32_t i = 0; i < n; i++) c += egp_rd64(p->v6_keys + 8ull * (first + i)) <= k;
  return first + (c ? c - 1 : 0);
}

/* IPv6 in version 2: j = the last interval whose /64 prefix (V6_KEYS) <= the address's. When that prefix is below
 * the address's, j is the answer; when it is equal and j is the only interval starting in that /64, the answer is j
 * or j - 1 by the low half; otherwise (several intervals start inside this /64) the binary search of v6_set runs over
 * the intervals from the last one of a lower prefix to j. */
static uint32_t v6_tree_find(const egp_t *p, const uint8_t ip[16]) {
  uint64_t ih = be64(ip), il = be64(ip + 8);
  uint32_t j = v6_key_find(p, ih);
  if (egp_rd64(p->v6_keys + 8ull * j) < ih || j == 0) return j;
  if (egp_rd64(p->v6_keys + 8ull * (j - 1)) < ih) return be64(p->v6 + 24ull * j + 8) <= il ? j : j - 1;
  uint32_t lo = ih == 0 ? 0 : v6_key_find(p, ih - 1), hi = j + 1;
  if (lo > j) lo = j;
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    const uint8_t *e = p->v6 + 24ull * mid;
    uint64_t sh = be64(e), sl = be64(e + 8);
    if (sh < ih || (sh == ih && sl <= il)) lo = mid;
    else hi = mid;
  }
  return lo;
}

static int is_loopback(const egp_ip *ip) {
  if (!ip->is_v6) return (ip->v4 >> 24) == 127;
  static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return memcmp(ip->v6, one, 16) == 0;
}

void egp_decide_addr(const egp_t *p, const egp_ip *ip, int port, int proto, const char *bound, size_t bound_len,
                     egp_decision *d) {
  int32_t ip_deny = INT32_MAX, ip_allow = INT32_MAX, nm_deny = INT32_MAX, nm_allow = INT32_MAX;
  uint32_t set;
  if (p->version >= 2)
    set = ip->is_v6 ? egp_rd32(p->v6 + 24ull * v6_tree_find(p, ip->v6) + 16)
                    : egp_rd32(p->v4 + 8ull * v4_tree_find(p, ip->v4) + 4);
  else set = ip->is_v6 ? v6_set(p, ip->v6) : v4_set(p, ip->v4);
  scan_set(p, set, port, proto, &ip_deny, &ip_allow);
  if (bound != NULL && bound_len > 0) scan_name(p, bound, bound_len, port, proto, &nm_deny, &nm_allow);
  d->allow = 0;
  if (ip_deny != INT32_MAX) d->rule = ip_deny;
  else if (nm_deny != INT32_MAX) d->rule = nm_deny;
  else if (ip_allow != INT32_MAX) d->allow = 1, d->rule = ip_allow;
  else if (nm_allow != INT32_MAX) d->allow = 1, d->rule = nm_allow;
  else if ((p->flags & EGP_FLAG_ALLOW_LOOPBACK) && is_loopback(ip)) d->allow = 1, d->rule = EGP_RULE_LOOPBACK;
  else d->rule = EGP_RULE_DEFAULT;
}
