/*
 * lines — which parts of a compiled policy one decision reads: distinct 64-byte cache lines and 4 KiB pages per
 * decision, per class of query, and in which section each line lies.
 *
 *   lines POLICY.egp QUERIES
 * QUERIES is the `decide` program's input ("<class> <value>" lines: n, w, 4, 6). The matcher is the real one
 * (native/src/egp_match.c, included below) with its loads from the file counted: egp_rd.h's loads and the key
 * comparisons are replaced by counting versions, and prefetches are left out (a prefetch reads nothing the decision
 * needs). A decision that reads L distinct lines in P distinct pages of a file far larger than the caches pays up to L
 * cache misses and P TLB misses when its working set is spread (BENCHMARKS.md "Notes"). Output: one JSON line per
 * class: {"cls","queries","reads","lines","pages","bySection":{"RULES":lines,…}} (means per decision).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EGP_RD_H /* the counting loads below stand in for egp_rd.h inside egp_match.c */
static void touch(const void *p, size_t n);
static inline uint16_t egp_rd16(const uint8_t *p) {
  uint16_t v;
  touch(p, 2);
  memcpy(&v, p, 2);
  return v;
}
static inline uint32_t egp_rd32(const uint8_t *p) {
  uint32_t v;
  touch(p, 4);
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t egp_rd64(const uint8_t *p) {
  uint64_t v;
  touch(p, 8);
  memcpy(&v, p, 8);
  return v;
}
static inline int counted_memcmp(const void *a, const void *b, size_t n) {
  touch(a, n);
  touch(b, n);
  return memcmp(a, b, n);
}
#define memcmp counted_memcmp
#define __builtin_prefetch(x) ((void)(x))
#include "egp_match.c"
#undef memcmp
#undef __builtin_prefetch

enum { MAXT = 4096, NSEC = 16 };
static const uint8_t *lo_addr, *hi_addr;
static uintptr_t lines[MAXT], pages[MAXT];
static int nlines, npages;
static long nreads;

static void add(uintptr_t *set, int *n, uintptr_t v) {
  for (int i = 0; i < *n; i++)
    if (set[i] == v) return;
  if (*n < MAXT) set[(*n)++] = v;
}

static void touch(const void *p, size_t n) {
  const uint8_t *b = p;
  if (b < lo_addr || b >= hi_addr || n == 0) return; /* the query's own bytes are not the file */
  nreads++;
  for (uintptr_t x = (uintptr_t)b >> 6; x <= ((uintptr_t)b + n - 1) >> 6; x++) add(lines, &nlines, x);
  for (uintptr_t x = (uintptr_t)b >> 12; x <= ((uintptr_t)b + n - 1) >> 12; x++) add(pages, &npages, x);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: lines POLICY.egp QUERIES\n");
    return 2;
  }
  egp_t p;
  struct egp_error err;
  if (egp_open(&p, argv[1], 0, &err) != 0) {
    fprintf(stderr, "lines: %s: %s\n", argv[1], err.what);
    return 1;
  }
  lo_addr = p.base;
  hi_addr = p.base + p.size;
  const char *secname[NSEC] = {"RULES",        "PORTS",         "RULESETS",   "STRINGS",
                               "EXACT_SLOTS",  "EXACT_ENTRIES", "WILD_SLOTS", "WILD_ENTRIES",
                               "V4_INTERVALS", "V6_INTERVALS",  "V4_INDEX",   "V6_KEYS",
                               "V6_INDEX",     "EXACT_TABLE",   "WILD_TABLE", "NAME_LENS"};
  const uint8_t *sec[NSEC] = {p.rules,      p.ports,     p.words,     p.strings,  p.exact_slots, p.exact,
                              p.wild_slots, p.wild,      p.v4,        p.v6,       p.v4_index,    p.v6_keys,
                              p.v6_index,   p.table3[0], p.table3[1], p.name_lens};
  const uint64_t secsz[NSEC] = {
      24ull * p.n_rules,      4ull * p.n_ports,      4ull * p.n_words,      p.n_strings,
      4ull * p.n_exact_slots, 16ull * p.n_exact,     4ull * p.n_wild_slots, 16ull * p.n_wild,
      8ull * p.n_v4,          24ull * p.n_v6,        4ull * p.n_v4_index,   8ull * p.n_v6_keys,
      8ull * p.n_v6_index,    16ull * p.n_table3[0], 16ull * p.n_table3[1], p.version >= 3 ? 64u : 0u};
  static const char *names[4] = {"name", "wildcard", "ipv4", "ipv6"};
  double sum_reads[4] = {0}, sum_lines[4] = {0}, sum_pages[4] = {0}, by[4][NSEC] = {{0}};
  int count[4] = {0};
  FILE *f = fopen(argv[2], "r");
  if (!f) return 1;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    int c = line[0] == 'n' ? 0 : line[0] == 'w' ? 1 : line[0] == '4' ? 2 : line[0] == '6' ? 3 : -1;
    if (c < 0 || line[1] != ' ') continue;
    char *v = line + 2;
    v[strcspn(v, "\r\n")] = 0;
    egp_decision d;
    nlines = npages = 0;
    nreads = 0;
    if (c < 2) {
      char nm[256];
      int l = egp_normalize_name(v, strlen(v), nm);
      if (l < 0) continue;
      egp_decide_name(&p, nm, (size_t)l, 443, EGP_PROTO_TCP, &d);
    } else {
      egp_ip ip;
      memset(&ip, 0, sizeof ip);
      if (c == 2) {
        struct in_addr a;
        if (inet_pton(AF_INET, v, &a) != 1) continue;
        ip.v4 = ntohl(a.s_addr);
      } else {
        if (inet_pton(AF_INET6, v, ip.v6) != 1) continue;
        ip.is_v6 = 1;
      }
      egp_decide_addr(&p, &ip, 443, EGP_PROTO_TCP, NULL, 0, &d);
    }
    count[c]++;
    sum_reads[c] += (double)nreads;
    sum_lines[c] += nlines;
    sum_pages[c] += npages;
    for (int i = 0; i < nlines; i++) {
      const uint8_t *a = (const uint8_t *)(lines[i] << 6);
      for (int s = 0; s < NSEC; s++)
        if (a + 64 > sec[s] && a < sec[s] + secsz[s]) {
          by[c][s] += 1;
          break;
        }
    }
  }
  fclose(f);
  for (int c = 0; c < 4; c++) {
    if (count[c] == 0) continue;
    printf("{\"cls\":\"%s\",\"queries\":%d,\"reads\":%.1f,\"lines\":%.1f,\"pages\":%.1f,\"bySection\":{", names[c],
           count[c], sum_reads[c] / count[c], sum_lines[c] / count[c], sum_pages[c] / count[c]);
    int first = 1;
    for (int s = 0; s < NSEC; s++)
      if (by[c][s] > 0) printf("%s\"%s\":%.1f", first ? "" : ",", secname[s], by[c][s] / count[c]), first = 0;
    printf("}}\n");
  }
  return 0;
}
