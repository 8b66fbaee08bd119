/*
 * fuzz_json.c — libFuzzer harness for the log line writer (json.c): hostile host names cannot forge fields or lines.
 *
 * Input: byte 0 picks the line buffer size (16 … 4096 bytes, an exactly-sized heap block so ASan sees any overflow);
 * the rest is an arbitrary byte string written as two string fields (as a host name and inside msg) between other
 * fields. Invariants (a violation traps, which libFuzzer reports as a crash):
 *   - the output is exactly one JSON object: a strict JSON grammar check of the whole line, ending in "}\n", with no
 *     raw byte < 0x20 or 0x7f, only valid UTF-8, no raw U+2028/U+2029;
 *   - decoding the "host" value gives the input with each byte of an invalid UTF-8 sequence replaced by U+FFFD
 *     (an independent decoder computes the expectation); a truncated value ends in "..." and is a prefix of it;
 *   - the line length never exceeds the buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

/* Unicode table 3-7 well-formed sequence length at s, 0 when none starts there. */
static size_t wf_len(const uint8_t *s, size_t n) {
  uint8_t c = s[0];
  if (c <= 0x7F) return 1;
  uint8_t lo = 0x80, hi = 0xBF;
  size_t len;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c == 0xE0) len = 3, lo = 0xA0;
  else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) len = 3;
  else if (c == 0xED) len = 3, hi = 0x9F;
  else if (c == 0xF0) len = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) len = 4;
  else if (c == 0xF4) len = 4, hi = 0x8F;
  else return 0;
  if (n < len) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return len;
}

/* Expected decoded value: input with every byte of an ill-formed sequence replaced by EF BF BD. */
static size_t expected(const uint8_t *in, size_t n, uint8_t *out) {
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    size_t l = wf_len(in + i, n - i);
    if (l == 0) {
      memcpy(out + o, "\xEF\xBF\xBD", 3), o += 3, i++;
    } else {
      memcpy(out + o, in + i, l), o += l, i += l;
    }
  }
  return o;
}

struct parser {
  const uint8_t *s;
  size_t n, i;
};

static int hexv(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static size_t put_utf8(uint32_t cp, uint8_t *o) {
  if (cp < 0x80) return o[0] = (uint8_t)cp, 1;
  if (cp < 0x800) return o[0] = (uint8_t)(0xC0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 63)), 2;
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xE0 | cp >> 12), o[1] = (uint8_t)(0x80 | ((cp >> 6) & 63)), o[2] = (uint8_t)(0x80 | (cp & 63));
    return 3;
  }
  o[0] = (uint8_t)(0xF0 | cp >> 18), o[1] = (uint8_t)(0x80 | ((cp >> 12) & 63));
  o[2] = (uint8_t)(0x80 | ((cp >> 6) & 63)), o[3] = (uint8_t)(0x80 | (cp & 63));
  return 4;
}

/* Strict JSON string at p->i (opening quote); decodes into out (may be NULL). Traps on any grammar violation. */
static size_t parse_string(struct parser *p, uint8_t *out) {
  size_t o = 0;
  CHECK(p->i < p->n && p->s[p->i] == '"');
  p->i++;
  for (;;) {
    CHECK(p->i < p->n);
    uint8_t c = p->s[p->i];
    if (c == '"') {
      p->i++;
      return o;
    }
    CHECK(c >= 0x20 && c != 0x7f); /* raw control bytes (and DEL, by json.h's contract) never appear */
    if (c == '\\') {
      CHECK(p->i + 1 < p->n);
      uint8_t e = p->s[p->i + 1];
      uint32_t cp;
      p->i += 2;
      switch (e) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = 8; break;
      case 'f': cp = 12; break;
      case 'n': cp = 10; break;
      case 'r': cp = 13; break;
      case 't': cp = 9; break;
      case 'u': {
        CHECK(p->i + 4 <= p->n);
        cp = 0;
        for (int k = 0; k < 4; k++) {
          int h = hexv(p->s[p->i + k]);
          CHECK(h >= 0);
          cp = cp * 16 + (uint32_t)h;
        }
        p->i += 4;
        CHECK(cp < 0xD800 || cp > 0xDFFF); /* the writer never needs surrogate escapes */
        break;
      }
      default: CHECK(0); cp = 0;
      }
      if (out) o += put_utf8(cp, out + o);
      continue;
    }
    size_t l = wf_len(p->s + p->i, p->n - p->i);
    CHECK(l > 0);                                                                               /* only valid UTF-8 */
    CHECK(!(l == 3 && c == 0xE2 && p->s[p->i + 1] == 0x80 && (p->s[p->i + 2] & 0xFE) == 0xA8)); /* no raw U+2028/9 */
    if (out) memcpy(out + o, p->s + p->i, l), o += l;
    p->i += l;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t bufsize = 16 + (size_t)data[0] * 16;
  const char *val = (const char *)data + 1;
  size_t vlen = size - 1;
  char *buf = malloc(bufsize);
  uint8_t *want = malloc(vlen * 3 + 1);
  uint8_t *got = malloc(bufsize * 4 + 4);
  if (!buf || !want || !got) abort();

  struct jbuf j;
  jb_init(&j, buf, bufsize);
  jb_u64(&j, "level", 40);
  jb_str(&j, "msg", val, vlen);
  jb_str(&j, "host", val, vlen);
  jb_bool(&j, "blocked", 1);
  jb_i64(&j, "n", -42);
  size_t len = jb_finish(&j);
  CHECK(len <= bufsize && len >= 3);
  CHECK(buf[len - 1] == '\n' && buf[len - 2] == '}' && buf[0] == '{');
  for (size_t i = 0; i + 1 < len; i++) CHECK(buf[i] != '\n');

  /* strict grammar: {"key":value,...}\n with string / unsigned / negative number / true / false values */
  struct parser p = {(const uint8_t *)buf, len - 1, 1};
  size_t want_len = expected((const uint8_t *)val, vlen, want);
  int first = 1;
  while (p.i < p.n && p.s[p.i] != '}') {
    if (!first) CHECK(p.s[p.i++] == ',');
    first = 0;
    uint8_t keybuf[64];
    size_t kl = 0;
    size_t start = p.i;
    parse_string(&p, NULL);
    kl = p.i - start - 2;
    CHECK(kl < sizeof keybuf);
    memcpy(keybuf, p.s + start + 1, kl);
    CHECK(p.i < p.n && p.s[p.i++] == ':');
    CHECK(p.i < p.n);
    uint8_t c = p.s[p.i];
    if (c == '"') {
      size_t gl = parse_string(&p, got);
      if ((kl == 4 && memcmp(keybuf, "host", 4) == 0) || (kl == 3 && memcmp(keybuf, "msg", 3) == 0)) {
        if (gl == want_len && memcmp(got, want, gl) == 0) continue; /* complete and exact */
        /* otherwise it must be a truncated prefix ending in "..." */
        CHECK(j.truncated && gl >= 3 && memcmp(got + gl - 3, "...", 3) == 0);
        CHECK(gl - 3 <= want_len && memcmp(got, want, gl - 3) == 0);
      }
    } else if (c == 't') {
      CHECK(p.i + 4 <= p.n && memcmp(p.s + p.i, "true", 4) == 0);
      p.i += 4;
    } else if (c == 'f') {
      CHECK(p.i + 5 <= p.n && memcmp(p.s + p.i, "false", 5) == 0);
      p.i += 5;
    } else {
      if (c == '-') p.i++;
      CHECK(p.i < p.n && p.s[p.i] >= '0' && p.s[p.i] <= '9');
      CHECK(!(p.s[p.i] == '0' && p.i + 1 < p.n && p.s[p.i + 1] >= '0' && p.s[p.i + 1] <= '9'));
      while (p.i < p.n && p.s[p.i] >= '0' && p.s[p.i] <= '9') p.i++;
    }
  }
  CHECK(p.i == p.n - 1 && p.s[p.i] == '}');

  /* eg_json_escape alone: never writes past cap, stops on a character boundary */
  size_t cap = data[0];
  char *small = malloc(cap ? cap : 1);
  int tr = 0;
  size_t w = eg_json_escape(small, cap, val, vlen, &tr);
  CHECK(w <= cap);
  free(small);
  free(buf);
  free(want);
  free(got);
  return 0;
}
