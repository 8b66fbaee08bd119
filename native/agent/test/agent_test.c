/*
 * agent_test.c — C unit tests of the agent's pure parts, run by `make -C native check` (test/native/unit.test.ts
 * asserts the lines): /proc/net/dev parsing on the fixtures of test/fixtures/procnetdev (written with the kernel's
 * format string), interface selection, deltas with resets and appearing/vanishing interfaces, and the JSON line
 * builder (nesting, escaping, truncation), the armed sampler's look interval (look.h: the overshoot bound it keeps).
 * Output: "ok N - what" / "not ok N - what", then "# passed P failed F".
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "look.h"
#include "netdev.h"

static int passed, failed;
static void check(int cond, const char *what) {
  if (cond) printf("ok %d - %s\n", ++passed + failed, what);
  else printf("not ok %d - %s\n", passed + ++failed, what);
}

static const char *dir;
static int load(const char *name, struct nd_snap *s) {
  char path[1024], buf[65536];
  snprintf(path, sizeof path, "%s/%s.txt", dir, name);
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("# cannot open %s\n", path);
    return -2;
  }
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  return nd_parse(buf, n, s);
}

static const struct nd_iface *iface(const struct nd_snap *s, const char *name) {
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->ifs[i].name, name) == 0) return &s->ifs[i];
  return NULL;
}

static void test_parse(void) {
  struct nd_snap s;
  check(load("lambda-start", &s) == 0 && s.n == 5 && s.n_malformed == 0, "lambda-start: 5 interfaces, none malformed");
  const char *names[] = {"lo", "vinternal_1", "vint_runtime", "vtarget_1", "telemetry1_sb"};
  int order = s.n == 5;
  for (int i = 0; i < 5 && order; i++) order = strcmp(s.ifs[i].name, names[i]) == 0;
  check(order, "lambda-start: Lambda-like names in file order");
  const struct nd_iface *v = iface(&s, "vinternal_1");
  check(v && v->rx_bytes == 1203331 && v->rx_packets == 2211 && v->tx_bytes == 88410 && v->tx_packets == 990,
        "lambda-start: vinternal_1 counters exact");
  check(load("long-names", &s) == 0 && s.n == 3, "long-names: 3 interfaces");
  const struct nd_iface *a = iface(&s, "abcdefghijklmno"), *b = iface(&s, "veth-long_name1");
  check(a && a->rx_bytes == 123456789012345ull && a->tx_bytes == 98765432109876ull,
        "long-names: a 15-byte name glued to a wide counter");
  check(b && b->rx_bytes == 18446744073709551615ull && b->tx_bytes == 18446744073709551614ull,
        "long-names: u64 maxima exact");
  check(load("malformed", &s) == 0 && s.n == 2 && s.n_malformed == 4 && s.malformed[0] == 4 && s.malformed[1] == 6 &&
            s.malformed[2] == 7 && s.malformed[3] == 8,
        "malformed: good lines kept, bad lines 4 6 7 8 reported");
  const char *not_dev = "eth0: 1 2 3\n";
  check(nd_parse(not_dev, strlen(not_dev), &s) == -1, "text without a header is not /proc/net/dev");
}

static void test_filter(void) {
  struct nd_filter f;
  nd_filter_init(&f, NULL, NULL);
  check(!nd_counts(&f, "lo") && nd_counts(&f, "vinternal_1") && nd_counts(&f, "telemetry1_sb") && nd_counts(&f, "x"),
        "default filter: everything but lo");
  nd_filter_init(&f, "v*, eth0", "lo,vint_runtime");
  check(nd_counts(&f, "vinternal_1") && !nd_counts(&f, "vint_runtime") && nd_counts(&f, "vtarget_1") &&
            nd_counts(&f, "eth0") && !nd_counts(&f, "eth1") && !nd_counts(&f, "lo"),
        "include globs, exclude wins");
  nd_filter_init(&f, "lo", "none");
  check(nd_counts(&f, "lo") && !nd_counts(&f, "eth0"), "an exclude list replaces the default lo");
  check(nd_glob("a*b*c", "aXXbYYc") && !nd_glob("a*b*c", "aXXbYY") && nd_glob("*", "") && nd_glob("*_1", "vinternal_1"),
        "glob with several stars");
  char many[400] = "";
  for (int i = 0; i < 17; i++) strcat(many, "x,");
  check(nd_filter_init(&f, many, NULL) == -1 && f.n_include == 0 && !nd_counts(&f, "lo"),
        "too many patterns: error, default filter");
}

static void test_delta(void) {
  struct nd_snap a, b;
  struct nd_filter all;
  struct nd_delta d;
  nd_filter_init(&all, NULL, NULL);
  load("lambda-start", &a), load("lambda-end", &b);
  nd_delta(&a, &b, &all, &d);
  check(d.rx == 1048576 + 4321 + 100 && d.tx == 23456 + 200 + 512 && d.n_reset + d.n_appeared + d.n_vanished == 0,
        "lambda: sum of every interface but lo");
  load("huge-start", &a), load("huge-end", &b);
  nd_delta(&a, &b, &all, &d);
  uint64_t rx, tx;
  nd_total(&b, &all, &rx, &tx);
  check(d.rx == 3 && d.tx == 1001 && tx == 18446744073709551001ull, "huge: exact above 2^53");
  load("reset-start", &a), load("reset-end", &b);
  nd_delta(&a, &b, &all, &d);
  check(d.n_reset == 1 && strcmp(b.ifs[d.reset[0]].name, "eth1") == 0 && d.rx == 100 + 300 && d.tx == 200 + 400,
        "reset: counted since the reset, named");
  load("missing-start", &a), load("missing-end", &b);
  nd_delta(&a, &b, &all, &d);
  check(d.n_vanished == 1 && strcmp(a.ifs[d.vanished[0]].name, "eth1") == 0 && d.n_appeared == 1 &&
            strcmp(b.ifs[d.appeared[0]].name, "eth2") == 0 && d.rx == 500 + 70 && d.tx == 600 + 80,
        "vanished and appeared interfaces: named, new ones counted from 0");
  struct nd_filter f;
  nd_filter_init(&f, NULL, "lo,eth1");
  load("reset-start", &a), load("reset-end", &b);
  nd_delta(&a, &b, &f, &d);
  check(d.rx == 100 && d.tx == 200 && d.n_reset == 0, "excluded interfaces: no reset noise");
}

static void test_line(void) {
  struct line l;
  ln_open(&l);
  ln_str(&l, "msg", "a \"quoted\"\nline\\");
  ln_u64(&l, "n", 18446744073709551615ull);
  ln_i64(&l, "neg", -42);
  ln_ms(&l, "ms", 1234567);
  ln_obj(&l, "o");
  ln_bool(&l, "t", 1);
  ln_arr(&l, "a");
  ln_str(&l, NULL, "x");
  ln_u64(&l, NULL, 7);
  ln_close(&l);
  ln_close(&l);
  size_t n = ln_finish(&l);
  const char *want = "{\"msg\":\"a \\\"quoted\\\"\\nline\\\\\",\"n\":18446744073709551615,\"neg\":-42,\"ms\":1.235,"
                     "\"o\":{\"t\":true,\"a\":[\"x\",7]}}\n";
  check(n == strlen(want) && memcmp(l.b, want, n) == 0, "line: nesting, escaping, u64, i64, ms");
  ln_open(&l);
  ln_arr(&l, "big");
  char chunk[100];
  memset(chunk, 'z', sizeof chunk - 1);
  chunk[99] = '\0';
  for (int i = 0; i < 200; i++) ln_str(&l, NULL, chunk);
  ln_close(&l);
  ln_str(&l, "after", "dropped");
  n = ln_finish(&l);
  check(n <= LN_CAP && l.b[n - 1] == '\n' && l.b[n - 2] == '}' && strstr(l.b, "\"truncated\":true") != NULL &&
            strstr(l.b, "after") == NULL,
        "line: an overlong line is cut, closed and marked truncated");
}

/* What a transfer at the assumed rate moves in `ns` (1.25 bytes per ns each way, twice that for rx + tx). */
static uint64_t moved(uint64_t ns, int total) {
  return total ? ns / 2 * 5 + (ns % 2) * 5 / 2 : ns / 4 * 5 + (ns % 4) * 5 / 4;
}

static void test_look(void) {
  const uint64_t N = UINT64_MAX, MIB = 1024 * 1024, FLOOR = 1000000, CAP = 32 * FLOOR;
  const uint64_t none[3] = {N, N, N}, tx5[3] = {50 * MIB, 5 * MIB, N}, one[3] = {MIB, N, N};
  check(lk_interval_ns(none, 0, 0, FLOOR, CAP) == CAP, "look: no budget set, the longest interval");
  /* 5 MiB tx budget untouched: 5 MiB left + 5 MiB allowed past it at 1.25 bytes per ns */
  check(lk_interval_ns(tx5, 0, 0, FLOOR, CAP) == 10 * MIB / 5 * 4, "look: 5 MiB left, 5 MiB allowed: 8.39 ms");
  check(lk_interval_ns(tx5, 0, 5 * MIB + 1, FLOOR, CAP) == 5 * MIB / 5 * 4, "look: past the budget, what it allows");
  check(lk_interval_ns(one, 0, 0, FLOOR, CAP) == 2 * MIB / 5 * 4, "look: 1 MiB budget untouched: 1.68 ms");
  check(lk_interval_ns(one, MIB, 0, FLOOR, CAP) == FLOOR, "look: at a 1 MiB budget, never sooner than the floor");
  check(lk_interval_ns(one, MIB, 0, 100000, CAP) == MIB / 5 * 4, "look: at a 1 MiB budget, 1 MiB allowed: 0.84 ms");
  const uint64_t big[3] = {N - 1, N - 1, N - 1};
  check(lk_interval_ns(big, 0, 0, FLOOR, CAP) == CAP, "look: budgets near 2^64 do not wrap");
  /* the bound, over a spread of budgets and bytes seen: at the next look a transfer at the assumed rate is at most
   * max(B, 1 MiB) past each budget B, unless the floor made the look later; never sooner than the floor */
  int bound = 1, floor_ok = 1;
  const uint64_t budgets[] = {1, 4096, 256 * 1024, MIB - 1, MIB, MIB + 1, 5 * MIB, 50 * MIB, 1ull << 40};
  for (size_t bi = 0; bi < sizeof budgets / sizeof budgets[0]; bi++) {
    for (int which = 0; which < 3; which++) {
      uint64_t b[3] = {N, N, N};
      b[which] = budgets[bi];
      for (uint64_t seen = 0; seen <= 2 * budgets[bi] + 3 && seen < (1ull << 41); seen = seen * 3 + 1) {
        uint64_t rx = which == 1 ? 0 : seen, tx = which == 1 ? seen : 0;
        if (which == 2) rx = seen / 2, tx = seen - seen / 2;
        for (uint64_t fl = 1; fl <= 10000000; fl *= 100) {
          uint64_t ns = lk_interval_ns(b, rx, tx, fl, 1ull << 62);
          uint64_t left = budgets[bi] > seen ? budgets[bi] - seen : 0;
          uint64_t over = budgets[bi] > MIB ? budgets[bi] : MIB;
          if (ns < fl) floor_ok = 0;
          if (ns > fl && moved(ns, which == 2) > left + over) bound = 0;
        }
      }
    }
  }
  check(bound, "look: at the next look, at most max(B, 1 MiB) past B at 10 Gbit/s (each budget, 3 directions)");
  check(floor_ok, "look: never sooner than the floor");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: agent_tests <test/fixtures/procnetdev>\n");
    return 2;
  }
  dir = argv[1];
  test_parse();
  test_filter();
  test_delta();
  test_line();
  test_look();
  printf("# passed %d failed %d\n", passed, failed);
  return failed ? 1 : 0;
}
