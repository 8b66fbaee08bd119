/*
 * unit.c — C unit tests of the policy reader (loader + matcher), the test writer and the JSON escaper.
 *
 *   unit_tests GOLDEN_DIR      (make -C native check passes ../test/fixtures/golden)
 * Output: one "ok N - what" / "not ok N - what: why" line per check and a final "# passed P failed F"; exit 1 on any
 * failure. test/native/unit.test.ts runs it and asserts the lines.
 *  1. golden: every query of <fixture>.queries.jsonl decided by the C matcher over <fixture>.egp gives the recorded
 *     decision, rule and ruleIndex (the C reader is held to the TS writer's bytes and the reference matcher's answers);
 *  2. rejections: each validation check of FORMAT.md "How a reader validates" fails with its stable code on a
 *     corrupted copy of tiny.egp (CRCs recomputed where the check under test comes after them);
 *  3. use-time bounds checks: corrupt sets/slots/keys decide "not found", never read out of bounds;
 *  4. robustness: 20,000 random corruptions (CRC fixed up so they reach the matcher) are parsed and queried;
 *  5. JSON escaping of hostile strings; 6. the test writer round-trips; 7. CRC/hash test vectors;
 *  8. files over 1 MiB: the body CRC only with verify_full (EGRESS_GUARD_VERIFY=full).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egp.h"
#include "egp_rd.h"
#include "egpw.h"
#include "json.h"

static int passed, failed, seq;

static void check(int cond, const char *what, const char *why) {
  seq++;
  if (cond) {
    passed++;
    printf("ok %d - %s\n", seq, what);
  } else {
    failed++;
    printf("not ok %d - %s: %s\n", seq, what, why ? why : "");
  }
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
  fclose(f);
  b[n] = 0;
  *len = (size_t)n;
  return b;
}

/* --- a flat JSON object reader for the fixture lines: "key": string | number | null --- */
struct kv {
  char key[32];
  char val[512];
  int is_null, is_str;
};
static int parse_flat(const char *s, struct kv *out, int max) {
  int n = 0;
  while (*s && *s != '{') s++;
  if (*s++ != '{') return -1;
  while (*s && n < max) {
    while (*s == ' ' || *s == ',') s++;
    if (*s == '}') break;
    if (*s++ != '"') return -1;
    size_t k = 0;
    while (*s && *s != '"' && k < sizeof out[n].key - 1) out[n].key[k++] = *s++;
    out[n].key[k] = 0;
    if (*s++ != '"' || *s++ != ':') return -1;
    out[n].is_null = out[n].is_str = 0;
    size_t v = 0;
    if (*s == '"') {
      s++;
      out[n].is_str = 1;
      while (*s && *s != '"' && v < sizeof out[n].val - 1) {
        if (*s == '\\' && s[1] == 'u') { /* \uXXXX: keep as UTF-8 (BMP only; enough for fixtures) */
          unsigned cp = (unsigned)strtoul((char[5]){s[2], s[3], s[4], s[5], 0}, NULL, 16);
          if (cp < 0x80) out[n].val[v++] = (char)cp;
          else if (cp < 0x800) out[n].val[v++] = (char)(0xC0 | cp >> 6), out[n].val[v++] = (char)(0x80 | (cp & 63));
          else
            out[n].val[v++] = (char)(0xE0 | cp >> 12), out[n].val[v++] = (char)(0x80 | ((cp >> 6) & 63)),
            out[n].val[v++] = (char)(0x80 | (cp & 63));
          s += 6;
          continue;
        }
        if (*s == '\\') s++;
        out[n].val[v++] = *s++;
      }
      if (*s++ != '"') return -1;
    } else {
      while (*s && *s != ',' && *s != '}' && v < sizeof out[n].val - 1) out[n].val[v++] = *s++;
    }
    out[n].val[v] = 0;
    if (!out[n].is_str && strcmp(out[n].val, "null") == 0) out[n].is_null = 1;
    n++;
  }
  return n;
}
static const struct kv *get(const struct kv *kv, int n, const char *key) {
  for (int i = 0; i < n; i++)
    if (strcmp(kv[i].key, key) == 0) return &kv[i];
  return NULL;
}

static int parse_ip(const char *s, egp_ip *ip) {
  struct in_addr a4;
  uint8_t a6[16];
  char buf[64];
  size_t l = strlen(s);
  if (l >= sizeof buf) return -1;
  if (s[0] == '[' && l > 2) memcpy(buf, s + 1, l - 2), buf[l - 2] = 0;
  else memcpy(buf, s, l + 1);
  memset(ip, 0, sizeof *ip);
  if (inet_pton(AF_INET, buf, &a4) == 1) return ip->v4 = ntohl(a4.s_addr), 0;
  if (inet_pton(AF_INET6, buf, a6) != 1) return -1;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(a6, mapped, 12) == 0)
    ip->v4 = ((uint32_t)a6[12] << 24) | ((uint32_t)a6[13] << 16) | ((uint32_t)a6[14] << 8) | a6[15];
  else ip->is_v6 = 1, memcpy(ip->v6, a6, 16);
  return 0;
}

static int proto_of(const struct kv *v) {
  if (v == NULL) return EGP_PROTO_UNKNOWN;
  return strcmp(v->val, "tcp") == 0 ? EGP_PROTO_TCP : EGP_PROTO_UDP;
}

/* golden fixture `name`.egp decides every query of `queries`.queries.jsonl as the reference matcher does */
static void golden(const char *dir, const char *name, const char *queries) {
  char path[1024], what[256], why[1024];
  snprintf(path, sizeof path, "%s/%s.egp", dir, name);
  egp_t p;
  struct egp_error err;
  snprintf(what, sizeof what, "golden %s.egp validates", name);
  int ok = egp_open(&p, path, 1, &err) == 0;
  check(ok, what, egp_err_code(err.code));
  if (!ok) return;
  snprintf(path, sizeof path, "%s/%s.queries.jsonl", dir, queries);
  size_t len;
  char *text = (char *)slurp(path, &len);
  int total = 0, bad = 0;
  why[0] = 0;
  for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    struct kv kv[16];
    int n = parse_flat(line, kv, 16);
    if (n <= 0) continue;
    total++;
    const struct kv *q = get(kv, n, "q"), *port = get(kv, n, "port"), *dec = get(kv, n, "decision"),
                    *rule = get(kv, n, "rule"), *ri = get(kv, n, "ruleIndex");
    egp_decision d;
    int pt = port ? atoi(port->val) : EGP_PORT_UNKNOWN, pr = proto_of(get(kv, n, "proto"));
    if (strcmp(q->val, "name") == 0) {
      const struct kv *nm = get(kv, n, "normalized");
      egp_decide_name(&p, nm->val, strlen(nm->val), pt, pr, &d);
    } else {
      egp_ip ip;
      const struct kv *ipv = get(kv, n, "ip"), *b = get(kv, n, "boundName");
      if (parse_ip(ipv->val, &ip) != 0) {
        bad++;
        continue;
      }
      char bn[256];
      int bl = b ? egp_normalize_name(b->val, strlen(b->val), bn) : -1;
      egp_decide_addr(&p, &ip, pt, pr, bl > 0 ? bn : NULL, bl > 0 ? (size_t)bl : 0, &d);
    }
    uint32_t rl = 0;
    const char *rn = egp_rule_name(&p, d.rule, &rl);
    char rbuf[300];
    if (rn) snprintf(rbuf, sizeof rbuf, "%.*s", (int)rl, rn);
    else snprintf(rbuf, sizeof rbuf, "%s", d.rule == EGP_RULE_LOOPBACK ? "builtin:loopback" : "default");
    int want_allow = strcmp(dec->val, "allow") == 0;
    int want_idx = ri->is_null ? -1 : atoi(ri->val);
    int got_idx = d.rule >= 0 ? d.rule : -1;
    if (want_allow != d.allow || strcmp(rbuf, rule->val) != 0 || want_idx != got_idx) {
      if (bad++ == 0) snprintf(why, sizeof why, "%s -> got %s %s %d", line, d.allow ? "allow" : "deny", rbuf, got_idx);
    }
  }
  snprintf(what, sizeof what, "golden %s: %d queries agree with the reference matcher", name, total);
  check(total > 0 && bad == 0, what, why);
  free(text);
}

/* --- corruption helpers on a copy of tiny.egp --- */
static uint8_t *base_buf;
static size_t base_len;

static void put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static uint32_t get32(const uint8_t *b, size_t off) {
  uint32_t v;
  memcpy(&v, b + off, 4);
  return v;
}
static uint64_t get64(const uint8_t *b, size_t off) {
  uint64_t v;
  memcpy(&v, b + off, 8);
  return v;
}
static void fix_crc(uint8_t *b, size_t len) {
  uint32_t nsec = get32(b, 24);
  size_t te = 64 + 16 * (size_t)nsec;
  if (te > len) return;
  put32(b, 28, 0);
  put32(b, 32, 0);
  uint32_t body = egp_crc32(0, b + te, len - te);
  uint32_t meta = egp_crc32(0, b, te);
  put32(b, 28, meta);
  put32(b, 32, body);
}
/* offset of section id's table entry */
static size_t sec_entry(const uint8_t *b, uint32_t id) {
  uint32_t nsec = get32(b, 24);
  for (uint32_t i = 0; i < nsec; i++)
    if (get32(b, 64 + 16 * i) == id) return 64 + 16 * (size_t)i;
  return 0;
}
static size_t sec_off(const uint8_t *b, uint32_t id) { return (size_t)get64(b, sec_entry(b, id) + 8); }

static void expect_reject(uint8_t *b, size_t len, int code, const char *what) {
  egp_t p;
  struct egp_error err;
  int rc = egp_parse(&p, b, len, 1, &err);
  char why[200];
  snprintf(why, sizeof why, "got %s (%s)", rc == 0 ? "accepted" : egp_err_code(err.code), rc == 0 ? "" : err.what);
  char w[200];
  snprintf(w, sizeof w, "rejects %s with %s", what, egp_err_code(code));
  check(rc != 0 && err.code == code, w, why);
}

static uint8_t *copy(void) {
  uint8_t *b = malloc(base_len);
  memcpy(b, base_buf, base_len);
  return b;
}

static void rejections(void) {
  uint8_t *b;
  egp_t p;
  struct egp_error err;
  int parsed = egp_parse(&p, base_buf, base_len, 1, &err) == 0;
  check(parsed, "tiny.egp parses from memory", parsed ? NULL : err.what);
  /* truncation at every section boundary and in the header */
  int trunc_ok = 1;
  for (size_t cut = 0; cut < base_len; cut += (cut < 256 ? 1 : 8)) {
    if (egp_parse(&p, base_buf, cut, 1, &err) == 0) trunc_ok = 0;
  }
  check(trunc_ok, "rejects every truncation of tiny.egp", "a truncated file was accepted");
  b = copy(), expect_reject(b, EGP_HEADER_SIZE - 1, EGP_E_TOO_SMALL, "a file shorter than the header"), free(b);
  b = copy(), b[0] ^= 1, expect_reject(b, base_len, EGP_E_MAGIC, "a wrong magic"), free(b);
  b = copy(), b[8] = 4, expect_reject(b, base_len, EGP_E_VERSION, "version 4"), free(b);
  b = copy(), b[8] = 0, expect_reject(b, base_len, EGP_E_VERSION, "version 0"), free(b);
  {
    b = copy(), b[8] = 4;
    egp_parse(&p, b, base_len, 1, &err);
    check(err.expected == 3 && err.got == 4, "version error reports expected 3 (the newest), got 4", NULL);
    free(b);
  }
  b = copy(), b[10] = 32, expect_reject(b, base_len, EGP_E_HEADER_SIZE, "header_size 32"), free(b);
  b = copy(), b[12] |= 4, expect_reject(b, base_len, EGP_E_FLAGS, "an unknown flag bit"), free(b);
  b = copy(), put64(b, 16, base_len + 8), expect_reject(b, base_len, EGP_E_SIZE_MISMATCH, "file_size != real size"),
  free(b);
  b = copy(), put32(b, 24, 9), expect_reject(b, base_len, EGP_E_SECTION_COUNT, "section_count 9"), free(b);
  b = copy(), put32(b, 24, 65), expect_reject(b, base_len, EGP_E_SECTION_COUNT, "section_count 65"), free(b);
  b = copy(), b[40] ^= 1, expect_reject(b, base_len, EGP_E_META_CRC, "a header bit flip (meta CRC)"), free(b);
  b = copy(), b[base_len - 9] ^= 0x10, expect_reject(b, base_len, EGP_E_BODY_CRC, "a body bit flip (body CRC)"),
  free(b);
  /* structural checks: CRCs recomputed so the check under test is reached */
  b = copy(), put32(b, sec_entry(b, 2), 1), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SECTION_ORDER, "section ids out of order"), free(b);
  b = copy(), put64(b, sec_entry(b, 4) + 8, sec_off(b, 4) + 4), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SECTION_BOUNDS, "an offset not a multiple of 8"), free(b);
  b = copy(), put64(b, sec_entry(b, 4) + 8, (uint64_t)base_len + 64), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SECTION_BOUNDS, "an offset past the end"), free(b);
  b = copy(), put64(b, sec_entry(b, 4) + 8, 0xFFFFFFFFFFFFFFF8ull), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SECTION_BOUNDS, "an offset that would overflow"), free(b);
  b = copy(), put32(b, sec_entry(b, 4) + 4, 0xFFFFFFFFu), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SECTION_BOUNDS, "a huge count"), free(b);
  b = copy(), put64(b, sec_entry(b, 2) + 8, sec_off(b, 1)), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SECTION_OVERLAP, "overlapping sections"), free(b);
  b = copy(), put64(b, sec_entry(b, 1) + 8, 16), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SECTION_BOUNDS, "a section inside the header"), free(b);
  b = copy(), put32(b, sec_entry(b, 10), 11), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SECTION_MISSING, "a missing required section"), free(b);
  b = copy(), put32(b, 36, get32(b, 36) + 1), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_RULE_COUNT, "rule_count != RULES count"), free(b);
  size_t r0 = sec_off(base_buf, 1);
  b = copy(), put32(b, r0 + 4, 0), fix_crc(b, base_len), expect_reject(b, base_len, EGP_E_RULE, "name_len 0"), free(b);
  b = copy(), put32(b, r0, 0xFFFFFFF0u), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_RULE, "a rule name outside STRINGS"), free(b);
  b = copy(), b[r0 + 8] = 2, fix_crc(b, base_len), expect_reject(b, base_len, EGP_E_RULE, "action 2"), free(b);
  b = copy(), b[r0 + 9] = 0, fix_crc(b, base_len), expect_reject(b, base_len, EGP_E_RULE, "proto 0"), free(b);
  b = copy(), b[r0 + 10] = 5, fix_crc(b, base_len), expect_reject(b, base_len, EGP_E_RULE, "kind 5"), free(b);
  b = copy(), put32(b, r0 + 12, 0xFFFFFFFFu), put32(b, r0 + 16, 2), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_RULE, "port ranges outside PORTS (overflow)"), free(b);
  if (get32(base_buf, sec_entry(base_buf, 2) + 4) > 0) {
    size_t p0 = sec_off(base_buf, 2);
    b = copy(), put32(b, p0, 0x0001FFFFu), fix_crc(b, base_len),
    expect_reject(b, base_len, EGP_E_PORT_RANGE, "a port range with lo > hi"), free(b);
  }
  b = copy(), put32(b, sec_off(b, 3), 7), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_RULESETS, "RULESETS word 0 != 0"), free(b);
  b = copy(), put32(b, sec_entry(b, 5) + 4, 3), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_SLOTS, "a slot count that is not a power of two"), free(b);
  b = copy(), put32(b, sec_off(b, 9), 5), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_INTERVALS, "V4 intervals not starting at 0"), free(b);
  b = copy(), b[sec_off(b, 10) + 3] = 1, fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_INTERVALS, "V6 intervals not starting at ::"), free(b);
  b = copy(), put32(b, sec_entry(b, 9) + 4, 0), fix_crc(b, base_len),
  expect_reject(b, base_len, EGP_E_INTERVALS, "an empty V4 interval table"), free(b);
  /* missing file */
  check(egp_open(&p, "/nonexistent/egress-guard.egp", 0, &err) != 0 && err.code == EGP_E_MISSING,
        "a missing file is E_POLICY_MISSING", NULL);
  check(egp_open(&p, "", 0, &err) != 0 && err.code == EGP_E_MISSING, "an empty path is E_POLICY_MISSING", NULL);
  check(egp_open(&p, "/", 0, &err) != 0 && (err.code == EGP_E_OPEN || err.code == EGP_E_TOO_SMALL),
        "a directory is rejected", egp_err_code(err.code));
}

static int decide_some(const egp_t *p) {
  egp_decision d;
  int allows = 0;
  const char *names[] = {"api.example.com", "x.s3.amazonaws.com", "evil.s3.amazonaws.com", "a.b.ngrok.io", "localhost"};
  for (int i = 0; i < 5; i++)
    for (int port = -1; port < 2; port++) {
      egp_decide_name(p, names[i], strlen(names[i]), port == -1 ? EGP_PORT_UNKNOWN : 443, port + 1, &d);
      allows += d.allow;
    }
  egp_ip ip = {0, 0x0A010203u, {0}};
  egp_decide_addr(p, &ip, 5432, EGP_PROTO_TCP, "api.example.com", 15, &d);
  allows += d.allow;
  ip.is_v6 = 1;
  memset(ip.v6, 0x20, 16);
  egp_decide_addr(p, &ip, 53, EGP_PROTO_UDP, NULL, 0, &d);
  return allows + d.allow;
}

static void use_time_checks(void) {
  egp_t p;
  struct egp_error err;
  uint8_t *b;
  /* every EXACT entry's set pointing far past RULESETS, every key offset outside STRINGS, slots past the entries */
  size_t ee = sec_off(base_buf, 6);
  uint32_t ne = get32(base_buf, sec_entry(base_buf, 6) + 4);
  b = copy();
  for (uint32_t i = 0; i < ne; i++) put32(b, ee + 16 * i + 12, 0xFFFFFFF0u);
  fix_crc(b, base_len);
  int ok = egp_parse(&p, b, base_len, 1, &err) == 0;
  egp_decision d;
  if (ok) egp_decide_name(&p, "api.example.com", 15, 443, EGP_PROTO_TCP, &d);
  check(ok && !d.allow && d.rule == EGP_RULE_DEFAULT, "a set index past RULESETS is not found", NULL);
  free(b);
  b = copy();
  for (uint32_t i = 0; i < ne; i++) put32(b, ee + 16 * i + 4, 0xFFFFFF00u);
  fix_crc(b, base_len);
  ok = egp_parse(&p, b, base_len, 1, &err) == 0;
  if (ok) egp_decide_name(&p, "api.example.com", 15, 443, EGP_PROTO_TCP, &d);
  check(ok && !d.allow, "a key outside STRINGS is not found", NULL);
  free(b);
  b = copy();
  size_t es = sec_off(base_buf, 5);
  uint32_t ns = get32(base_buf, sec_entry(base_buf, 5) + 4);
  for (uint32_t i = 0; i < ns; i++) put32(b, es + 4 * i, 0x7FFFFFFFu);
  fix_crc(b, base_len);
  ok = egp_parse(&p, b, base_len, 1, &err) == 0;
  if (ok) egp_decide_name(&p, "api.example.com", 15, 443, EGP_PROTO_TCP, &d);
  check(ok && !d.allow, "a full table of slots past the entries terminates, not found", NULL);
  free(b);
  /* rule indices >= rule_count inside a set */
  b = copy();
  size_t rs = sec_off(base_buf, 3);
  uint32_t nw = get32(base_buf, sec_entry(base_buf, 3) + 4);
  for (uint32_t i = 1; i < nw; i++) put32(b, rs + 4 * i, 0x00FFFFFFu);
  fix_crc(b, base_len);
  ok = egp_parse(&p, b, base_len, 1, &err) == 0;
  if (ok) egp_decide_name(&p, "api.example.com", 15, 443, EGP_PROTO_TCP, &d);
  check(ok && !d.allow && d.rule == EGP_RULE_DEFAULT, "rule indices >= rule_count are skipped", NULL);
  free(b);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void robustness(void) {
  int parsed = 0;
  for (int it = 0; it < 20000; it++) {
    uint8_t *b = copy();
    int flips = 1 + (int)(rnd() % 8);
    for (int f = 0; f < flips; f++) {
      size_t at = 64 + rnd() % (base_len - 64);
      if (rnd() % 3 == 0) put32(b, at & ~(size_t)3, (uint32_t)rnd());
      else b[at] ^= (uint8_t)(1u << (rnd() % 8));
    }
    fix_crc(b, base_len);
    egp_t p;
    struct egp_error err;
    if (egp_parse(&p, b, base_len, 1, &err) == 0) {
      parsed++;
      decide_some(&p);
    }
    free(b);
  }
  char w[128];
  snprintf(w, sizeof w, "20000 random corruptions handled without a crash (%d parsed and queried)", parsed);
  check(1, w, NULL);
}

/* Minimal JSON string-content validator: returns 1 when s[0..n) is a valid JSON string body in valid UTF-8. */
static int valid_json_body(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == '"') return 0;
    if (c == '\\') {
      if (i + 1 >= n) return 0;
      char e = s[++i];
      if (e == 'u') {
        if (i + 4 >= n) return 0;
        i += 4;
      } else if (!strchr("\"\\/bfnrt", e)) {
        return 0;
      }
    } else if (c >= 0x80) {
      int l = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
      if (!l || i + (size_t)l > n) return 0;
      for (int k = 1; k < l; k++)
        if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
      i += (size_t)l - 1;
    }
  }
  return 1;
}

static void json_tests(void) {
  char out[256];
  int tr = 0;
  const char hostile[] = "evil\",\"decision\":\"allow\"}\n{\"x\":\"\\\x01\x7f";
  size_t n = eg_json_escape(out, sizeof out, hostile, sizeof hostile - 1, &tr);
  out[n] = 0;
  check(strcmp(out, "evil\\\",\\\"decision\\\":\\\"allow\\\"}\\n{\\\"x\\\":\\\"\\\\\\u0001\\u007f") == 0,
        "escapes quotes, backslashes, newline, control bytes and DEL", out);
  const char bad_utf8[] = "a\xff\xc3(\xed\xa0\x80\xe2\x80\xa8\xc3\xa9";
  n = eg_json_escape(out, sizeof out, bad_utf8, sizeof bad_utf8 - 1, &tr);
  out[n] = 0;
  check(strcmp(out, "a\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\\u2028\xc3\xa9") == 0,
        "invalid UTF-8 becomes \\ufffd, U+2028 escaped, valid UTF-8 kept", out);
  /* random byte strings: always one valid JSON line */
  int all_ok = 1;
  for (int it = 0; it < 20000 && all_ok; it++) {
    char in[300];
    size_t len = rnd() % sizeof in;
    for (size_t i = 0; i < len; i++) in[i] = (char)rnd();
    char line[512];
    struct jbuf j;
    jb_init(&j, line, sizeof line);
    jb_str(&j, "host", in, len);
    jb_str(&j, "msg", in, len);
    jb_u64(&j, "port", 443);
    size_t ln = jb_finish(&j);
    if (ln > sizeof line || line[0] != '{' || line[ln - 1] != '\n' || line[ln - 2] != '}') all_ok = 0;
    if (memchr(line, '\n', ln - 1)) all_ok = 0;
    /* the two string bodies must be valid */
    const char *h = strstr(line, "\"host\":\"");
    if (!h) all_ok = 0;
    else {
      const char *s = h + 8, *e = s;
      while (*e && !(*e == '"' && e[-1] != '\\')) e++;
      /* find the real end: scan honouring escapes */
      e = s;
      while (*e && *e != '"') e += (*e == '\\') ? 2 : 1;
      if (!valid_json_body(s, (size_t)(e - s))) all_ok = 0;
    }
  }
  check(all_ok, "20000 random byte strings give one valid JSON object on one line (truncated at 512)", NULL);
}

static void writer_tests(int version) {
  struct egpw_rule rules[] = {
      {"web", 0, 1, EGPW_HOST, "example.com", 1, {{443, 443}}},
      {"internal", 0, 3, EGPW_WILD, "svc.internal", 0, {{0, 0}}},
      {"net", 0, 1, EGPW_CIDR, "10.0.0.0/8", 2, {{80, 80}, {8000, 8100}}},
      {"bad", 1, 3, EGPW_HOST, "bad.svc.internal", 0, {{0, 0}}},
      {"v6", 0, 3, EGPW_CIDR, "2001:db8::/32", 0, {{0, 0}}},
      {"udpdeny", 1, 2, EGPW_CIDR, "10.9.0.0/16", 0, {{0, 0}}},
  };
  uint8_t *buf;
  size_t len;
  egp_t p;
  struct egp_error err;
  err.what = "build failed";
  char what[128];
  int ok = egpw_build_version(rules, 6, EGP_FLAG_ENFORCE | EGP_FLAG_ALLOW_LOOPBACK, version, &buf, &len) == 0 &&
           egp_parse(&p, buf, len, 1, &err) == 0 && p.version == (uint32_t)version;
  snprintf(what, sizeof what, "the test writer's version %d output validates", version);
  check(ok, what, ok ? NULL : err.what);
  if (!ok) return;
  egp_decision d;
  egp_decide_name(&p, "x.svc.internal", 14, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN, &d);
  int good = d.allow && d.rule == 1;
  egp_decide_name(&p, "bad.svc.internal", 16, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN, &d);
  good &= !d.allow && d.rule == 4;
  egp_decide_name(&p, "svc.internal", 12, EGP_PORT_UNKNOWN, EGP_PROTO_UNKNOWN, &d);
  good &= !d.allow && d.rule == EGP_RULE_DEFAULT;
  egp_ip ip = {0, 0x0A090101u, {0}};
  egp_decide_addr(&p, &ip, 80, EGP_PROTO_UDP, NULL, 0, &d);
  good &= !d.allow && d.rule == 5;
  egp_decide_addr(&p, &ip, 80, EGP_PROTO_TCP, NULL, 0, &d);
  good &= d.allow && d.rule == 2;
  ip.v4 = 0x01020304u;
  egp_decide_addr(&p, &ip, 443, EGP_PROTO_TCP, "example.com", 11, &d);
  good &= d.allow && d.rule == 0;
  egp_decide_addr(&p, &ip, 80, EGP_PROTO_TCP, "example.com", 11, &d);
  good &= !d.allow && d.rule == EGP_RULE_DEFAULT;
  ip.v4 = 0x7F000001u;
  egp_decide_addr(&p, &ip, 1, EGP_PROTO_TCP, NULL, 0, &d);
  good &= d.allow && d.rule == EGP_RULE_LOOPBACK;
  snprintf(what, sizeof what, "the test writer's version %d policy decides as FORMAT.md says", version);
  check(good, what, NULL);
  free(buf);
}

static uint64_t xs_state = 0x9E3779B97F4A7C15ull;
static uint32_t xs32(void) {
  xs_state ^= xs_state << 13, xs_state ^= xs_state >> 7, xs_state ^= xs_state << 17;
  return (uint32_t)(xs_state >> 16);
}

/* Version 2's interval trees find the same interval as version 1's binary search: one policy of many IPv4 and IPv6
 * CIDRs (deep trees, partial last nodes, several intervals inside one /64, the last address of each space) written
 * in both versions, and 200,000 addresses (random, every interval start and the address before it) decided by both. */
static void tree_equivalence_tests(void) {
  enum { N4 = 5000, N6 = 3000 };
  struct egpw_rule *rules = calloc(N4 + N6 + 4, sizeof *rules);
  char(*t)[64] = calloc(N4 + N6 + 4, 64);
  size_t n = 0;
  for (int i = 0; i < N4; i++, n++) {
    uint32_t a = xs32();
    int len = 8 + (int)(xs32() % 25);
    snprintf(t[n], 64, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
    rules[n] = (struct egpw_rule){t[n], (int)(xs32() % 4 == 0), 3, EGPW_CIDR, t[n], 0, {{0, 0}}};
  }
  for (int i = 0; i < N6; i++, n++) {
    /* a few /64s, many rules inside them and across them */
    unsigned g = xs32() % 40, h = xs32() % 0x10000, x = xs32() % 0x10000;
    int len = i % 3 == 0 ? 48 + (int)(xs32() % 17) : 65 + (int)(xs32() % 64);
    snprintf(t[n], 64, "2001:db8:%x:%x:%x::/%d", g, i % 3 == 0 ? h : 7, x, len);
    rules[n] = (struct egpw_rule){t[n], (int)(xs32() % 4 == 0), 3, EGPW_CIDR, t[n], 0, {{0, 0}}};
  }
  const char *edges[] = {"255.255.255.255/32", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::/127", "0.0.0.0/32"};
  for (int i = 0; i < 4; i++, n++) rules[n] = (struct egpw_rule){edges[i], 0, 3, EGPW_CIDR, edges[i], 0, {{0, 0}}};
  uint8_t *b1, *b2;
  size_t l1, l2;
  egp_t p1, p2;
  struct egp_error err;
  int ok = egpw_build_version(rules, n, EGP_FLAG_ENFORCE, 1, &b1, &l1) == 0 &&
           egpw_build_version(rules, n, EGP_FLAG_ENFORCE, 2, &b2, &l2) == 0 && egp_parse(&p1, b1, l1, 1, &err) == 0 &&
           egp_parse(&p2, b2, l2, 1, &err) == 0;
  check(ok && p2.v4_tree.depth >= 2 && p2.v6_tree.depth >= 2, "a CIDR policy builds in both versions with deep trees",
        ok ? NULL : err.what);
  if (!ok) return;
  int same = 1, total = 0;
  char why[256] = "";
  for (uint32_t k = 0; k < 200000; k++) {
    egp_ip ip;
    memset(&ip, 0, sizeof ip);
    uint32_t pick = k % 4;
    if (k % 2 == 0) { /* IPv4: random, or an interval start, or the address before one */
      uint32_t i = xs32() % p1.n_v4, s = egp_rd32(p1.v4 + 8ull * i);
      ip.v4 = pick == 0 ? xs32() : pick == 2 ? s : s - 1;
      if (k == 0) ip.v4 = UINT32_MAX;
    } else {
      ip.is_v6 = 1;
      uint32_t i = xs32() % p1.n_v6;
      memcpy(ip.v6, p1.v6 + 24ull * i, 16);
      if (pick == 1) /* random low half inside the same /64 */
        for (int j = 8; j < 16; j++) ip.v6[j] = (uint8_t)xs32();
      else if (pick == 3) /* the address before the start */
        for (int j = 15; j >= 0 && ip.v6[j]-- == 0; j--) {}
      if (k == 1) memset(ip.v6, 0xff, 16);
    }
    egp_decision d1, d2;
    egp_decide_addr(&p1, &ip, 443, EGP_PROTO_TCP, NULL, 0, &d1);
    egp_decide_addr(&p2, &ip, 443, EGP_PROTO_TCP, NULL, 0, &d2);
    total++;
    if (d1.allow != d2.allow || d1.rule != d2.rule) {
      if (same) snprintf(why, sizeof why, "query %u: v1 %d/%d, v2 %d/%d", k, d1.allow, d1.rule, d2.allow, d2.rule);
      same = 0;
    }
  }
  check(same && total == 200000, "200,000 addresses decide the same in versions 1 and 2", why);
  free(b1);
  free(b2);
  free(rules);
  free(t);
}

/* Version 3's name tables decide every name as version 1's: a policy of nested exact and wildcard names (allow and
 * deny, ports, one name under several wildcards, a wildcard under a wildcard) in both versions, and 100,000 names
 * (listed, below wildcards, unlisted, deep) decided by both at three port/protocol forms. */
static void name_equivalence_tests(void) {
  enum { N = 3000 };
  static const char *labels[] = {"a", "b", "api", "svc", "x1", "eu-west-1", "internal", "cdn", "q", "data"};
  static const char *tlds[] = {"com", "net", "io"};
  struct egpw_rule *rules = calloc(N, sizeof *rules);
  char(*t)[96] = calloc(N, 96);
  for (int i = 0; i < N; i++) {
    char *o = t[i];
    int depth = 1 + (int)(xs32() % 4), w = 0;
    for (int d = 0; d < depth; d++) w += snprintf(o + w, 96 - (size_t)w, "%s.", labels[xs32() % 10]);
    snprintf(o + w, 96 - (size_t)w, "%s", tlds[xs32() % 3]);
    int kind = xs32() % 3 == 0 ? EGPW_WILD : EGPW_HOST, nports = xs32() % 4 == 0;
    rules[i] = (struct egpw_rule){t[i],        (int)(xs32() % 5 == 0), 1 + (int)(xs32() % 3), kind, t[i], nports,
                                  {{443, 443}}};
  }
  uint8_t *b1, *b3;
  size_t l1, l3;
  egp_t p1, p3;
  struct egp_error err;
  int ok = egpw_build_version(rules, N, EGP_FLAG_ENFORCE, 1, &b1, &l1) == 0 &&
           egpw_build_version(rules, N, EGP_FLAG_ENFORCE, 3, &b3, &l3) == 0 && egp_parse(&p1, b1, l1, 1, &err) == 0 &&
           egp_parse(&p3, b3, l3, 1, &err) == 0 && p3.version == 3;
  check(ok, "a names policy builds in versions 1 and 3", ok ? NULL : err.what);
  if (!ok) return;
  int same = 1, total = 0, allowed = 0;
  char why[256] = "";
  for (uint32_t k = 0; k < 100000; k++) {
    char q[128];
    int w = 0;
    for (int d = (int)(xs32() % 3); d > 0; d--) w += snprintf(q + w, sizeof q - (size_t)w, "%s.", labels[xs32() % 10]);
    snprintf(q + w, sizeof q - (size_t)w, "%s", k % 4 == 3 ? tlds[xs32() % 3] : t[xs32() % N]);
    int port = k % 3 == 0 ? EGP_PORT_UNKNOWN : k % 3 == 1 ? 443 : 80;
    int proto = k % 3 == 0 ? EGP_PROTO_UNKNOWN : 1 + (int)(k % 2);
    egp_decision d1, d3;
    egp_decide_name(&p1, q, strlen(q), port, proto, &d1);
    egp_decide_name(&p3, q, strlen(q), port, proto, &d3);
    total++;
    allowed += d1.allow;
    if (d1.allow != d3.allow || d1.rule != d3.rule) {
      if (same) snprintf(why, sizeof why, "%s: v1 %d/%d, v3 %d/%d", q, d1.allow, d1.rule, d3.allow, d3.rule);
      same = 0;
    }
  }
  check(same && total == 100000 && allowed > 10000 && allowed < 90000,
        "100,000 names decide the same in versions 1 and 3 (both outcomes)", why);
  free(b1);
  free(b3);
  free(rules);
  free(t);
}

/* Policies over 1 MiB: the body CRC is checked only with verify_full (FORMAT.md check 4); bounds checks still hold. */
static void large_file_tests(void) {
  enum { N = 30000 };
  struct egpw_rule *rules = calloc(N, sizeof *rules);
  char(*names)[48] = calloc(N, 48);
  for (int i = 0; i < N; i++) {
    snprintf(names[i], 48, "host-%06d.large.example.com", i);
    rules[i] = (struct egpw_rule){names[i], 0, 3, EGPW_HOST, names[i], 0, {{0, 0}}};
  }
  uint8_t *buf;
  size_t len;
  egp_t p;
  struct egp_error err;
  int built = egpw_build(rules, N, EGP_FLAG_ENFORCE, &buf, &len) == 0;
  check(built && len > EGP_BODY_CRC_ALWAYS_MAX, "a 30,000-rule test policy is larger than 1 MiB", NULL);
  if (!built) return;
  check(egp_parse(&p, buf, len, 0, &err) == 0, "a large valid file parses without the full body CRC", NULL);
  buf[len - 200] ^= 0x5a; /* inside the last section (V6 intervals) or padding before it */
  int fast = egp_parse(&p, buf, len, 0, &err) == 0;
  int full = egp_parse(&p, buf, len, 1, &err);
  check(fast && full != 0 && err.code == EGP_E_BODY_CRC,
        "above 1 MiB a body bit flip passes without EGRESS_GUARD_VERIFY=full and fails E_POLICY_BODY_CRC with it",
        NULL);
  free(buf);
  free(rules);
  free(names);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "../test/fixtures/golden";
  check(egp_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32(\"123456789\") = 0xCBF43926", NULL);
  char norm[256];
  int nl = egp_normalize_name("API.Example.COM.", 16, norm);
  check(nl == 15 && strcmp(norm, "api.example.com") == 0, "names are lower-cased and lose one trailing dot", norm);
  golden(dir, "tiny", "tiny");
  golden(dir, "names", "names");
  golden(dir, "cidrs", "cidrs");
  golden(dir, "tiny.v2", "tiny");
  golden(dir, "names.v2", "names");
  golden(dir, "cidrs.v2", "cidrs");
  golden(dir, "tiny.v3", "tiny");
  golden(dir, "names.v3", "names");
  golden(dir, "cidrs.v3", "cidrs");
  char path[1024];
  snprintf(path, sizeof path, "%s/tiny.egp", dir);
  base_buf = slurp(path, &base_len);
  check(base_buf != NULL && base_len > 256, "tiny.egp is readable", path);
  if (base_buf) {
    rejections();
    use_time_checks();
    robustness();
  }
  json_tests();
  writer_tests(1);
  writer_tests(2);
  writer_tests(3);
  tree_equivalence_tests();
  name_equivalence_tests();
  large_file_tests();
  printf("# passed %d failed %d\n", passed, failed);
  return failed ? 1 : 0;
}
