/*
 * fuzz_egp.c — libFuzzer harness for the compiled-policy reader (egp_load.c, egp_match.c, crc32.c).
 *
 * Contract: for ANY byte string, egp_parse() must return without reading outside the buffer (the input is copied into
 * an exactly-sized heap block, so ASan sees any overread), and on success every decision must be consistent:
 *   - a decision naming a rule index has that index < rule_count, and the rule's action agrees with the decision
 *     (an allow names an allow rule, a deny names a deny rule);
 *   - decisions are deterministic (the same query twice gives the same answer);
 *   - egp_rule_name() of every rule stays inside STRINGS.
 * A violated invariant calls __builtin_trap(), which libFuzzer reports as a crash.
 *
 * Each input is parsed twice: as is (exercises the magic/size/CRC checks), and as a copy whose meta and body CRCs are
 * recomputed (so mutations reach the structural checks of docs/FORMAT.md "How a reader validates" and the matcher
 * instead of all dying at check 3/4). Queries: fixed names/addresses, every exact and wildcard key the file holds
 * (bounded), and addresses at the interval boundaries (bounded), with unknown and known ports and protocols.
 * Seeds: valid compiled policies (native/fuzz/corpus/egp/, docs in native/fuzz/README.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "egp.h"
#include "egp_rd.h"

static const int ports[] = {EGP_PORT_UNKNOWN, 0, 53, 443, 5432, 65535};
static const int protos[] = {EGP_PROTO_UNKNOWN, EGP_PROTO_TCP, EGP_PROTO_UDP};

static void check_decision(const egp_t *p, const egp_decision *d) {
  CHECK(d->allow == 0 || d->allow == 1);
  if (d->rule >= 0) {
    CHECK((uint32_t)d->rule < p->n_rules);
    uint8_t action = p->rules[24u * (uint32_t)d->rule + 8];
    CHECK(action == (d->allow ? 0 : 1));
  } else {
    CHECK(d->rule == EGP_RULE_DEFAULT || d->rule == EGP_RULE_LOOPBACK);
    CHECK(d->allow == (d->rule == EGP_RULE_LOOPBACK));
  }
}

static void name_queries(const egp_t *p, const char *name, size_t len) {
  char norm[256];
  int n = egp_normalize_name(name, len, norm);
  if (n < 0) return;
  for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
    for (size_t k = 0; k < sizeof protos / sizeof protos[0]; k++) {
      egp_decision a, b;
      egp_decide_name(p, norm, (size_t)n, ports[i], protos[k], &a);
      egp_decide_name(p, norm, (size_t)n, ports[i], protos[k], &b);
      check_decision(p, &a);
      CHECK(a.allow == b.allow && a.rule == b.rule);
    }
  }
}

static void addr_queries(const egp_t *p, const egp_ip *ip, const char *bound, size_t blen) {
  for (size_t i = 1; i < sizeof ports / sizeof ports[0]; i++) {
    for (size_t k = 1; k < sizeof protos / sizeof protos[0]; k++) {
      egp_decision a, b;
      egp_decide_addr(p, ip, ports[i], protos[k], bound, blen, &a);
      egp_decide_addr(p, ip, ports[i], protos[k], bound, blen, &b);
      check_decision(p, &a);
      CHECK(a.allow == b.allow && a.rule == b.rule);
    }
  }
}

/* A key of a name table entry, if it lies inside STRINGS (the matcher must tolerate it when it does not). */
static int entry_key(const egp_t *p, const uint8_t *entries, uint32_t i, char out[256], size_t *len) {
  const uint8_t *e = entries + 16ull * i;
  uint32_t off = egp_rd32(e + 4), kl = egp_rd32(e + 8);
  if (kl == 0 || kl > 250 || (uint64_t)off + kl > p->n_strings) return 0;
  memcpy(out, p->strings + off, kl);
  *len = kl;
  return 1;
}

static void exercise(const egp_t *p) {
  for (uint32_t r = 0; r < p->n_rules && r < 256; r++) {
    uint32_t len = 0;
    const char *s = egp_rule_name(p, (int32_t)r, &len);
    CHECK(s != NULL && len >= 1 && len <= 255);
    CHECK((const uint8_t *)s >= p->strings && (const uint8_t *)s + len <= p->strings + p->n_strings);
    volatile char c = s[len - 1]; /* touch the last byte: ASan checks it */
    (void)c;
  }
  uint32_t dummy;
  CHECK(egp_rule_name(p, -1, &dummy) == NULL);
  CHECK(egp_rule_name(p, (int32_t)p->n_rules, &dummy) == NULL || p->n_rules > INT32_MAX);

  static const char *const names[] = {"localhost",
                                      "a.localhost",
                                      "api.example.com",
                                      "x.s3.amazonaws.com",
                                      "evil.s3.amazonaws.com",
                                      "registry.npmjs.org",
                                      "a.b.c.d.e.f",
                                      "com",
                                      "."};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) name_queries(p, names[i], strlen(names[i]));

  char key[260];
  size_t kl;
  for (uint32_t i = 0; i < p->n_exact && i < 64; i++)
    if (entry_key(p, p->exact, i, key, &kl)) name_queries(p, key, kl);
  for (uint32_t i = 0; i < p->n_wild && i < 64; i++) {
    if (!entry_key(p, p->wild, i, key + 2, &kl)) continue;
    key[0] = 'x', key[1] = '.';
    name_queries(p, key, kl + 2);
    name_queries(p, key + 2, kl); /* the suffix itself is never matched by the wildcard */
  }

  egp_ip ip;
  memset(&ip, 0, sizeof ip);
  static const uint32_t v4s[] = {0, 0x7F000001u, 0x0A000001u, 0xA9FEA9FEu, 0xC0000200u, 0xFFFFFFFFu};
  for (size_t i = 0; i < sizeof v4s / sizeof v4s[0]; i++) {
    ip.v4 = v4s[i];
    addr_queries(p, &ip, NULL, 0);
    addr_queries(p, &ip, "api.example.com", 15);
  }
  for (uint32_t i = 0; i < p->n_v4 && i < 64; i++) {
    uint32_t start = egp_rd32(p->v4 + 8ull * i);
    ip.v4 = start;
    addr_queries(p, &ip, NULL, 0);
    ip.v4 = start - 1;
    addr_queries(p, &ip, "localhost", 9);
  }
  ip.is_v6 = 1;
  memset(ip.v6, 0, 16);
  ip.v6[15] = 1;
  addr_queries(p, &ip, NULL, 0);
  memset(ip.v6, 0xff, 16);
  addr_queries(p, &ip, NULL, 0);
  for (uint32_t i = 0; i < p->n_v6 && i < 64; i++) {
    memcpy(ip.v6, p->v6 + 24ull * i, 16);
    addr_queries(p, &ip, NULL, 0);
  }
}

/* Recompute meta_crc32 and body_crc32 in place (FORMAT.md "Header") when the header makes that possible. */
static void fix_crcs(uint8_t *b, size_t size) {
  if (size < EGP_HEADER_SIZE) return;
  uint32_t nsec = egp_rd32(b + 24);
  if (nsec > 64) return;
  uint64_t table_end = EGP_HEADER_SIZE + 16ull * nsec;
  if (table_end > size) return;
  uint32_t body = egp_crc32(0, b + table_end, (size_t)(size - table_end));
  memcpy(b + 32, &body, 4);
  memset(b + 28, 0, 4);
  uint32_t meta = egp_crc32(0, b, (size_t)table_end);
  memcpy(b + 28, &meta, 4);
}

static void parse_one(const uint8_t *buf, size_t size) {
  egp_t p;
  struct egp_error err;
  memset(&err, 0, sizeof err);
  if (egp_parse(&p, buf, size, 1, &err) == 0) {
    CHECK(err.code == EGP_OK);
    exercise(&p);
  } else {
    CHECK(err.code > EGP_OK && err.code < EGP_E_COUNT && err.what != NULL);
    CHECK(strncmp(egp_err_code(err.code), "E_POLICY_", 9) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  if (copy == NULL) return 0;
  if (size) memcpy(copy, data, size);
  parse_one(copy, size);
  fix_crcs(copy, size);
  parse_one(copy, size);
  free(copy);
  return 0;
}
