/* egpw.c — see egpw.h. Straightforward, allocation-heavy, test-only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egp.h"
#include "egpw.h"

struct vec {
  uint8_t *b;
  size_t n, cap;
};
static void vput(struct vec *v, const void *p, size_t n) {
  if (v->n + n > v->cap) {
    v->cap = (v->n + n) * 2 + 64;
    v->b = realloc(v->b, v->cap);
  }
  memcpy(v->b + v->n, p, n);
  v->n += n;
}
static void vput32(struct vec *v, uint32_t x) { vput(v, &x, 4); }
static void vput16(struct vec *v, uint16_t x) { vput(v, &x, 2); }

/* --- rule-set interning (dedupe identical sets) --- */
struct sets {
  struct vec words; /* u32 words */
  uint32_t *tab;    /* hash -> word index + 1 */
  size_t cap, count;
};
static uint32_t *W(struct sets *s) { return (uint32_t *)(void *)s->words.b; }
static uint64_t set_hash(const uint32_t *r, uint32_t n) {
  uint64_t h = 1469598103934665603ull ^ n;
  for (uint32_t i = 0; i < n; i++) h = (h ^ r[i]) * 1099511628211ull;
  return h;
}
static uint32_t intern(struct sets *s, const uint32_t *r, uint32_t n) {
  if (n == 0) return 0;
  if (s->count * 2 >= s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    uint32_t *nt = calloc(ncap, 4);
    for (size_t i = 0; i < s->cap; i++)
      if (s->tab[i]) {
        uint32_t w = s->tab[i] - 1;
        size_t j = set_hash(W(s) + w + 1, W(s)[w]) & (ncap - 1);
        while (nt[j]) j = (j + 1) & (ncap - 1);
        nt[j] = s->tab[i];
      }
    free(s->tab);
    s->tab = nt;
    s->cap = ncap;
  }
  size_t j = set_hash(r, n) & (s->cap - 1);
  while (s->tab[j]) {
    uint32_t w = s->tab[j] - 1;
    if (W(s)[w] == n && memcmp(W(s) + w + 1, r, 4ull * n) == 0) return w;
    j = (j + 1) & (s->cap - 1);
  }
  uint32_t w = (uint32_t)(s->words.n / 4);
  vput32(&s->words, n);
  for (uint32_t i = 0; i < n; i++) vput32(&s->words, r[i]);
  s->tab[j] = w + 1;
  s->count++;
  return w;
}

/* --- names --- */
#define MAX_LABELS 128 /* a name of at most 253 bytes has at most 127 dots */
struct kr {
  const char *key;
  uint32_t len, rule;
};
static int kr_cmp(const void *a, const void *b) {
  const struct kr *x = a, *y = b;
  uint32_t m = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->key, y->key, m);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static void build_names(struct kr *kv, size_t n, struct sets *sets, struct vec *strings, struct vec *slots_out,
                        struct vec *entries_out) {
  qsort(kv, n, sizeof *kv, kr_cmp);
  size_t ne = 0;
  uint32_t *tmp = malloc(4 * (n + 1));
  uint32_t *hashes = malloc(4 * (n + 1));
  for (size_t i = 0; i < n;) {
    size_t j = i;
    uint32_t cnt = 0;
    while (j < n && kv[j].len == kv[i].len && memcmp(kv[j].key, kv[i].key, kv[i].len) == 0) {
      if (cnt == 0 || tmp[cnt - 1] != kv[j].rule) tmp[cnt++] = kv[j].rule;
      j++;
    }
    uint32_t set = intern(sets, tmp, cnt);
    uint32_t off = (uint32_t)strings->n;
    vput(strings, kv[i].key, kv[i].len);
    uint32_t h = egp_hash((const uint8_t *)kv[i].key, kv[i].len);
    hashes[ne++] = h;
    vput32(entries_out, h);
    vput32(entries_out, off);
    vput32(entries_out, kv[i].len);
    vput32(entries_out, set);
    i = j;
  }
  if (ne > 0) {
    uint32_t cap = 1;
    while (cap < 2 * ne) cap <<= 1;
    uint32_t *slots = calloc(cap, 4);
    for (size_t e = 0; e < ne; e++) {
      uint32_t i = hashes[e] & (cap - 1);
      while (slots[i]) i = (i + 1) & (cap - 1);
      slots[i] = (uint32_t)e + 1;
    }
    vput(slots_out, slots, 4ull * cap);
    free(slots);
  }
  free(tmp);
  free(hashes);
}

/* --- version 3 name tables (FORMAT.md "Version 3 name tables") --- */
struct grp {
  const struct kr *kv; /* the pairs of one key, rules ascending */
  size_t n;
};
static size_t groups(const struct kr *kv, size_t n, struct grp *out) {
  size_t ng = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && kv[j].len == kv[i].len && memcmp(kv[j].key, kv[i].key, kv[i].len) == 0) j++;
    out[ng++] = (struct grp){kv + i, j - i};
    i = j;
  }
  return ng;
}
static int u32cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}
struct wildx { /* the WILD keys by h3, to find the wildcard ancestors of a key */
  const struct grp *g;
  uint32_t *tab, cap;
};
static const struct grp *wild_find(const struct wildx *w, const char *key, uint32_t len) {
  if (w->cap == 0) return NULL;
  for (uint32_t i = egp_hash3((const uint8_t *)key, len) & (w->cap - 1); w->tab[i]; i = (i + 1) & (w->cap - 1)) {
    const struct grp *g = &w->g[w->tab[i] - 1];
    if (g->kv[0].len == len && memcmp(g->kv[0].key, key, len) == 0) return g;
  }
  return NULL;
}
/* One table: slots (cap x 16 bytes) into slots_out, key lengths into lens (32 bytes). */
static void build_table3(const struct grp *g, size_t ng, const struct wildx *w, struct sets *sets, struct vec *strings,
                         struct vec *slots_out, uint8_t lens[32]) {
  uint32_t cap = 0;
  if (ng > 0)
    for (cap = 1; cap < 2 * ng;) cap <<= 1;
  uint8_t *slots = calloc(cap ? cap : 1, EGP_SLOT_SIZE);
  uint32_t *rules = NULL;
  size_t rcap = 0;
  for (size_t k = 0; k < ng; k++) {
    const char *key = g[k].kv[0].key;
    uint32_t len = g[k].kv[0].len, nr = 0;
    for (int pass = 0; pass < 2; pass++) { /* pass 0 counts, pass 1 fills: own rules, then each ancestor's */
      const struct grp *src[MAX_LABELS];
      size_t ns = 0;
      src[ns++] = &g[k];
      for (uint32_t d = 0; d + 1 < len && ns < MAX_LABELS; d++)
        if (key[d] == '.') {
          const struct grp *a = wild_find(w, key + d + 1, len - d - 1);
          if (a) src[ns++] = a;
        }
      size_t total = 0;
      for (size_t q = 0; q < ns; q++) total += src[q]->n;
      if (pass == 0) {
        if (total > rcap) rcap = total, rules = realloc(rules, 4 * rcap);
        continue;
      }
      for (size_t q = 0; q < ns; q++)
        for (size_t j = 0; j < src[q]->n; j++) rules[nr++] = src[q]->kv[j].rule;
    }
    qsort(rules, nr, 4, u32cmp);
    uint32_t u = 0;
    for (uint32_t j = 0; j < nr; j++)
      if (u == 0 || rules[u - 1] != rules[j]) rules[u++] = rules[j];
    uint32_t set = u == 1 ? ((uint32_t)EGP_SET_INLINE | rules[0]) : intern(sets, rules, u);
    static const uint8_t z[64] = {0};
    if (len <= EGP_SLOT_ALIGN && strings->n % EGP_SLOT_ALIGN + len > EGP_SLOT_ALIGN)
      vput(strings, z, EGP_SLOT_ALIGN - strings->n % EGP_SLOT_ALIGN);
    uint32_t off = (uint32_t)strings->n;
    vput(strings, key, len);
    uint32_t h = egp_hash3((const uint8_t *)key, len), i = h & (cap - 1);
    while (slots[EGP_SLOT_SIZE * i + 8] | slots[EGP_SLOT_SIZE * i + 9]) i = (i + 1) & (cap - 1);
    uint8_t *s = slots + EGP_SLOT_SIZE * i;
    uint16_t l16 = (uint16_t)len;
    memcpy(s, &h, 4);
    memcpy(s + 4, &off, 4);
    memcpy(s + 8, &l16, 2);
    memcpy(s + 12, &set, 4);
    lens[len >> 3] |= (uint8_t)(1u << (len & 7));
  }
  if (cap) vput(slots_out, slots, (size_t)EGP_SLOT_SIZE * cap);
  free(slots);
  free(rules);
}
static void build_names3(struct kr *ex, size_t nex, struct kr *wi, size_t nw, struct sets *sets, struct vec *strings,
                         struct vec *exact_out, struct vec *wild_out, struct vec *lens_out) {
  qsort(ex, nex, sizeof *ex, kr_cmp);
  qsort(wi, nw, sizeof *wi, kr_cmp);
  struct grp *ge = malloc(sizeof *ge * (nex + 1)), *gw = malloc(sizeof *gw * (nw + 1));
  size_t nge = groups(ex, nex, ge), ngw = groups(wi, nw, gw);
  struct wildx w = {gw, NULL, 0};
  if (ngw)
    for (w.cap = 1; w.cap < 2 * ngw;) w.cap <<= 1;
  w.tab = calloc(w.cap ? w.cap : 1, 4);
  for (size_t k = 0; k < ngw; k++) {
    uint32_t i = egp_hash3((const uint8_t *)gw[k].kv[0].key, gw[k].kv[0].len) & (w.cap - 1);
    while (w.tab[i]) i = (i + 1) & (w.cap - 1);
    w.tab[i] = (uint32_t)k + 1;
  }
  uint8_t lens[64] = {0};
  build_table3(ge, nge, &w, sets, strings, exact_out, lens);
  build_table3(gw, ngw, &w, sets, strings, wild_out, lens + 32);
  vput(lens_out, lens, 64);
  free(w.tab);
  free(ge);
  free(gw);
}

/* --- intervals --- */
struct iv {
  uint8_t lo[16], hi[16]; /* inclusive, big-endian bytes (v4 uses the last 4) */
  uint32_t rule;
};
static int parse_cidr(const char *t, int *v6, uint8_t lo[16], uint8_t hi[16]) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", t);
  char *slash = strchr(buf, '/');
  int bits = -1;
  if (slash) *slash = 0, bits = atoi(slash + 1);
  uint8_t a[16] = {0};
  if (inet_pton(AF_INET, buf, a + 12) == 1) {
    *v6 = 0;
    if (bits < 0) bits = 32;
    if (bits > 32) return -1;
    bits += 96;
  } else if (inet_pton(AF_INET6, buf, a) == 1) {
    *v6 = 1;
    if (bits < 0) bits = 128;
    if (bits > 128) return -1;
  } else {
    return -1;
  }
  for (int i = 0; i < 16; i++) {
    int keep = bits - 8 * i;
    uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    lo[i] = a[i] & mask;
    hi[i] = a[i] | (uint8_t)~mask;
  }
  if (!*v6) memset(lo, 0, 12), memset(hi, 0, 12);
  return 0;
}
static int b16cmp(const void *a, const void *b) { return memcmp(a, b, 16); }
/* next = x + 1; returns 1 on overflow past the space (width bytes at the end) */
static int inc(uint8_t x[16], int from) {
  for (int i = 15; i >= from; i--)
    if (++x[i] != 0) return 0;
  return 1;
}

static void build_intervals(struct iv *ivs, size_t n, int v6, struct sets *sets, struct vec *out) {
  int from = v6 ? 0 : 12;
  uint8_t(*pts)[16] = malloc(16 * (2 * n + 1));
  size_t np = 0;
  memset(pts[np++], 0, 16);
  for (size_t i = 0; i < n; i++) {
    memcpy(pts[np++], ivs[i].lo, 16);
    uint8_t e[16];
    memcpy(e, ivs[i].hi, 16);
    if (!inc(e, from)) memcpy(pts[np++], e, 16);
  }
  qsort(pts, np, 16, b16cmp);
  size_t u = 0;
  for (size_t i = 0; i < np; i++)
    if (u == 0 || memcmp(pts[u - 1], pts[i], 16) != 0) memcpy(pts[u++], pts[i], 16);
  /* per elementary interval, the rules covering it */
  uint32_t **lists = calloc(u, sizeof *lists);
  uint32_t *cnt = calloc(u, 4), *cap = calloc(u, 4);
  for (size_t r = 0; r < n; r++) {
    /* first interval index with start == lo */
    size_t lo = 0, hi = u;
    while (lo < hi) {
      size_t m = (lo + hi) / 2;
      if (memcmp(pts[m], ivs[r].lo, 16) < 0) lo = m + 1;
      else hi = m;
    }
    for (size_t k = lo; k < u && memcmp(pts[k], ivs[r].hi, 16) <= 0; k++) {
      if (cnt[k] == cap[k]) cap[k] = cap[k] ? cap[k] * 2 : 2, lists[k] = realloc(lists[k], 4ull * cap[k]);
      lists[k][cnt[k]++] = ivs[r].rule;
    }
  }
  uint32_t prev_set = UINT32_MAX;
  for (size_t k = 0; k < u; k++) {
    /* rules were appended in rule order: ascending already (ivs sorted by rule) */
    uint32_t set = intern(sets, lists[k], cnt[k]);
    free(lists[k]);
    if (set == prev_set) continue; /* merge adjacent identical */
    prev_set = set;
    if (v6) {
      vput(out, pts[k], 16);
      vput32(out, set);
      vput32(out, 0);
    } else {
      uint32_t s = ((uint32_t)pts[k][12] << 24) | ((uint32_t)pts[k][13] << 16) | ((uint32_t)pts[k][14] << 8) |
                   pts[k][15];
      vput32(out, s);
      vput32(out, set);
    }
  }
  free(lists);
  free(cnt);
  free(cap);
  free(pts);
}

static void align_to(struct vec *v, size_t a) {
  static const uint8_t z[64] = {0};
  if (v->n % a) vput(v, z, a - v->n % a);
}

/* Version 2 interval tree (FORMAT.md "Interval trees") over n leaf keys (key(i) = the i-th start or V6 prefix): inner
 * levels built bottom-up, each node `fanout` keys (the first key under each child; all-ones past the last child),
 * written root first. */
static void build_tree(const uint8_t *elems, size_t esize, size_t n, int ksize, int fanout, struct vec *out) {
  size_t nl = (n + 7) / 8, cnt = 0, levels = 0, lvl_n[16];
  uint64_t *keys = malloc(8 * (nl + 1)), *lv[16];
  for (size_t i = 0; i < nl; i++) {
    uint64_t k = 0;
    memcpy(&k, elems + esize * i * 8, (size_t)ksize);
    keys[i] = k;
  }
  cnt = nl;
  while (cnt > 1) {
    size_t up = (cnt + (size_t)fanout - 1) / (size_t)fanout;
    uint64_t *node = malloc(8 * up * (size_t)fanout);
    for (size_t i = 0; i < up * (size_t)fanout; i++)
      node[i] = i < cnt ? keys[i] : (ksize == 4 ? UINT32_MAX : UINT64_MAX);
    lv[levels] = node, lvl_n[levels++] = up;
    for (size_t i = 0; i < up; i++) keys[i] = node[i * (size_t)fanout];
    cnt = up;
  }
  for (size_t l = levels; l-- > 0;) {
    for (size_t i = 0; i < lvl_n[l] * (size_t)fanout; i++) vput(out, &lv[l][i], (size_t)ksize);
    free(lv[l]);
  }
  free(keys);
}

int egpw_build(const struct egpw_rule *in, size_t n, uint32_t flags, uint8_t **out, size_t *out_len) {
  return egpw_build_version(in, n, flags, EGP_WRITE_VERSION, out, out_len);
}

int egpw_build_version(const struct egpw_rule *in, size_t n, uint32_t flags, int version, uint8_t **out,
                       size_t *out_len) {
  const struct egpw_rule **rules = malloc(sizeof *rules * (n + 1));
  size_t k = 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n; i++)
      if (in[i].action == pass) rules[k++] = &in[i];
  struct vec rec = {0}, ports = {0}, strings = {0}, es = {0}, ee = {0}, ws = {0}, we = {0}, v4 = {0}, v6 = {0},
             v4i = {0}, v6k = {0}, v6i = {0}, et = {0}, wt = {0}, nl = {0};
  struct sets sets = {0};
  vput32(&sets.words, 0);
  struct kr *exact = malloc(sizeof *exact * (n + 1)), *wild = malloc(sizeof *wild * (n + 1));
  struct iv *iv4 = malloc(sizeof *iv4 * (n + 1)), *iv6 = malloc(sizeof *iv6 * (n + 1));
  size_t nex = 0, nw = 0, n4 = 0, n6 = 0;
  for (uint32_t i = 0; i < n; i++) {
    const struct egpw_rule *r = rules[i];
    uint32_t name_off = (uint32_t)strings.n, name_len = (uint32_t)strlen(r->name);
    vput(&strings, r->name, name_len);
    vput32(&rec, name_off);
    vput32(&rec, name_len);
    uint8_t b[4] = {(uint8_t)r->action, (uint8_t)r->proto, (uint8_t)r->kind, 0};
    vput(&rec, b, 4);
    vput32(&rec, (uint32_t)(ports.n / 4));
    vput32(&rec, (uint32_t)r->nports);
    vput32(&rec, i + 1);
    for (int p = 0; p < r->nports; p++) vput16(&ports, r->ports[p][0]), vput16(&ports, r->ports[p][1]);
    if (r->kind == EGPW_HOST) exact[nex++] = (struct kr){r->target, (uint32_t)strlen(r->target), i};
    else if (r->kind == EGPW_WILD) wild[nw++] = (struct kr){r->target, (uint32_t)strlen(r->target), i};
    else if (r->kind == EGPW_CIDR) {
      struct iv x;
      int is6;
      if (parse_cidr(r->target, &is6, x.lo, x.hi) != 0) return -1;
      x.rule = i;
      if (is6) iv6[n6++] = x;
      else iv4[n4++] = x;
    } else {
      return -1;
    }
  }
  if (version >= 3) {
    build_names3(exact, nex, wild, nw, &sets, &strings, &et, &wt, &nl);
  } else {
    build_names(exact, nex, &sets, &strings, &es, &ee);
    build_names(wild, nw, &sets, &strings, &ws, &we);
  }
  build_intervals(iv4, n4, 0, &sets, &v4);
  build_intervals(iv6, n6, 1, &sets, &v6);
  if (version >= 2) {
    size_t nv6 = v6.n / 24;
    for (size_t i = 0; i < nv6; i++) { /* the high halves of the starts, as numbers */
      uint64_t be;
      memcpy(&be, v6.b + 24 * i, 8);
      be = __builtin_bswap64(be);
      vput(&v6k, &be, 8);
    }
    build_tree(v4.b, 8, v4.n / 8, 4, EGP_V4_FANOUT, &v4i);
    build_tree(v6k.b, 8, nv6, 8, EGP_V6_FANOUT, &v6i);
  }

  int nsec = version >= 3 ? 16 : version >= 2 ? 13 : 10;
  struct vec *secs[16] = {&rec, &ports, &sets.words, &strings, &es,  &ee, &ws, &we,
                          &v4,  &v6,    &v4i,        &v6k,     &v6i, &et, &wt, &nl};
  static const uint32_t esz_by_id[EGP_SEC_COUNT + 1] = EGP_SEC_ELEMENT_SIZES;
  struct vec f = {0};
  uint8_t hdr[64] = {0};
  vput(&f, hdr, 64);
  uint8_t table[16 * 16] = {0};
  vput(&f, table, 16 * (size_t)nsec);
  uint64_t offs[16];
  for (int s = 0; s < nsec; s++) {
    int id = s + 1;
    int tree = version >= 2 && (id == EGP_SEC_V4_INTERVALS || (id >= EGP_SEC_V4_INDEX && id <= EGP_SEC_V6_INDEX));
    int names3 = version >= 3 && (id == EGP_SEC_STRINGS || id == EGP_SEC_EXACT_TABLE || id == EGP_SEC_WILD_TABLE);
    align_to(&f, tree ? EGP_TREE_ALIGN : names3 ? EGP_SLOT_ALIGN : 8);
    offs[s] = f.n;
    if (secs[s]->n) vput(&f, secs[s]->b, secs[s]->n);
  }
  align_to(&f, 8);
  for (int s = 0; s < nsec; s++) {
    uint32_t id = (uint32_t)s + 1, count = (uint32_t)(secs[s]->n / esz_by_id[s + 1]);
    memcpy(f.b + 64 + 16 * s, &id, 4);
    memcpy(f.b + 64 + 16 * s + 4, &count, 4);
    memcpy(f.b + 64 + 16 * s + 8, &offs[s], 8);
  }
  memcpy(f.b, EGP_MAGIC, 8);
  uint16_t ver = (uint16_t)version, hs = 64;
  memcpy(f.b + 8, &ver, 2);
  memcpy(f.b + 10, &hs, 2);
  memcpy(f.b + 12, &flags, 4);
  uint64_t fs = f.n;
  memcpy(f.b + 16, &fs, 8);
  uint32_t nsec32 = (uint32_t)nsec, rc = (uint32_t)n;
  memcpy(f.b + 24, &nsec32, 4);
  memcpy(f.b + 36, &rc, 4);
  uint64_t none = UINT64_MAX;
  memcpy(f.b + 40, &none, 8);
  memcpy(f.b + 48, &none, 8);
  memcpy(f.b + 56, &none, 8);
  size_t table_end = 64 + 16 * (size_t)nsec;
  uint32_t body = egp_crc32(0, f.b + table_end, f.n - table_end);
  uint32_t meta = egp_crc32(0, f.b, table_end); /* bytes 28..35 are still zero here */
  memcpy(f.b + 28, &meta, 4);
  memcpy(f.b + 32, &body, 4);
  *out = f.b;
  *out_len = f.n;
  for (int s = 0; s < 16; s++) free(secs[s]->b);
  free(sets.tab);
  free(exact);
  free(wild);
  free(iv4);
  free(iv6);
  free(rules);
  return 0;
}
