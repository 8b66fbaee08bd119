/*
 * dnsq_test.c — C unit tests of the DNS question-name parser (src/dnsq.c), including hostile messages.
 *
 *   dnsq_tests      (make -C native check)
 * Output: one "ok N - what" / "not ok N - what" line per check and "# passed P failed F"; exit 1 on any failure.
 * Every message is built into a heap buffer of exactly its length, so a read past the end is caught by ASan/valgrind
 * builds; the random part feeds 200,000 mutated messages and asserts the output invariants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsq.h"

static int passed, failed, seq;

static void check(int cond, const char *what) {
  seq++;
  if (cond) passed++;
  else failed++;
  printf("%s %d - %s\n", cond ? "ok" : "not ok", seq, what);
}

/* Header (id 0x1234, RD, QDCOUNT qd) + the given name bytes + QTYPE A, QCLASS IN (tail bytes of it kept). */
static size_t build(uint8_t *b, unsigned qd, const uint8_t *name, size_t nlen, size_t tail) {
  static const uint8_t hdr[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  memcpy(b, hdr, 12);
  b[4] = (uint8_t)(qd >> 8), b[5] = (uint8_t)qd;
  memcpy(b + 12, name, nlen);
  static const uint8_t q[4] = {0, 1, 0, 1};
  memcpy(b + 12 + nlen, q, tail);
  return 12 + nlen + tail;
}

static int parse(const uint8_t *msg, size_t n, char out[256], size_t *len) {
  uint8_t *copy = malloc(n ? n : 1); /* exact size: out-of-bounds reads are visible to sanitizers */
  memcpy(copy, msg, n);
  int r = eg_dnsq_name(copy, n, out, len);
  free(copy);
  return r;
}

static int name_is(const uint8_t *name, size_t nlen, const char *want) {
  uint8_t b[600];
  char out[256];
  size_t len;
  size_t n = build(b, 1, name, nlen, 4);
  return parse(b, n, out, &len) == EG_DNSQ_NAME && len == strlen(want) && strcmp(out, want) == 0;
}

static int verdict(unsigned qd, const uint8_t *name, size_t nlen, size_t tail) {
  uint8_t b[600];
  char out[256];
  size_t len;
  size_t n = build(b, qd, name, nlen, tail);
  return parse(b, n, out, &len);
}

#define N(s) (const uint8_t *)(s), sizeof(s) - 1

int main(void) {
  char out[256];
  size_t len;
  /* well-formed */
  check(name_is(N("\7example\3com\0"), "example.com"), "a plain query name");
  check(name_is(N("\7ExAmPle\3COM\0"), "example.com"), "ASCII is lower-cased");
  check(name_is(N("\0"), ""), "the root name is the empty string");
  check(name_is(N("\4_sip\4_udp\1x\0"), "_sip._udp.x"), "underscores pass");
  check(name_is(N("\3\xc3\xa9t\0"), "\xc3\xa9t"), "non-ASCII bytes are kept (they match no rule)");
  check(name_is(N("\3\xff\xfe\x80\0"), "\xff\xfe\x80"), "invalid UTF-8 is kept as bytes");
  {
    uint8_t b[600];
    size_t n = build(b, 1, N("\3abc\0"), 4);
    b[2] = 0x81; /* a response: parsed all the same */
    check(parse(b, n, out, &len) == EG_DNSQ_NAME && strcmp(out, "abc") == 0, "the QR bit does not change parsing");
    uint8_t big[700];
    memcpy(big, b, n);
    memset(big + n, 0xc0, sizeof big - n); /* trailing sections are ignored */
    check(parse(big, sizeof big, out, &len) == EG_DNSQ_NAME && len == 3, "bytes after the question are ignored");
  }
  /* the longest legal name: 255 wire bytes (3 x 63 + 61 labels) → 253 text bytes */
  {
    uint8_t name[300];
    size_t k = 0;
    for (int l = 0; l < 4; l++) {
      int ll = l < 3 ? 63 : 61;
      name[k++] = (uint8_t)ll;
      memset(name + k, 'a', (size_t)ll);
      k += (size_t)ll;
    }
    name[k++] = 0;
    check(k == 255 && verdict(1, name, k, 4) == EG_DNSQ_NAME, "a 255-byte wire name (253 characters) is accepted");
    uint8_t b[600];
    size_t n = build(b, 1, name, k, 4);
    check(parse(b, n, out, &len) == EG_DNSQ_NAME && len == 253 && strlen(out) == 253, "its text is 253 bytes");
    uint8_t name2[300]; /* last label 62 bytes: 256 wire bytes */
    size_t k2 = 0;
    for (int l = 0; l < 4; l++) {
      int ll = l < 3 ? 63 : 62;
      name2[k2++] = (uint8_t)ll;
      memset(name2 + k2, 'b', (size_t)ll);
      k2 += (size_t)ll;
    }
    name2[k2++] = 0;
    check(k2 == 256 && verdict(1, name2, k2, 4) == EG_DNSQ_BAD, "a 256-byte wire name is refused");
    uint8_t name3[600];
    size_t k3 = 0;
    for (int l = 0; l < 8; l++) {
      name3[k3++] = 63;
      memset(name3 + k3, 'c', 63);
      k3 += 63;
    }
    name3[k3++] = 0;
    check(verdict(1, name3, k3, 4) == EG_DNSQ_BAD, "a 500+ byte name is refused");
  }
  /* hostile */
  check(verdict(0, N(""), 0) == EG_DNSQ_NONE, "QDCOUNT 0: no name");
  check(verdict(2, N("\1a\0\0\1\0\1\1b\0"), 4) == EG_DNSQ_BAD, "QDCOUNT 2 is refused");
  check(verdict(0xffff, N("\1a\0"), 4) == EG_DNSQ_BAD, "QDCOUNT 65535 is refused");
  for (size_t n = 0; n < 12; n++) {
    uint8_t b[12] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    if (parse(b, n, out, &len) != EG_DNSQ_BAD) {
      check(0, "a truncated header is refused");
      break;
    }
    if (n == 11) check(1, "every truncated header (0-11 bytes) is refused");
  }
  check(eg_dnsq_name(NULL, 100, out, &len) == EG_DNSQ_BAD, "NULL buffer is refused");
  check(verdict(1, N(""), 0) == EG_DNSQ_BAD, "a header with no question is refused");
  check(verdict(1, N("\7exam"), 0) == EG_DNSQ_BAD, "a label cut short is refused");
  check(verdict(1, N("\7example"), 0) == EG_DNSQ_BAD, "a name without its root label is refused");
  check(verdict(1, N("\7example\0"), 0) == EG_DNSQ_BAD, "a question without QTYPE/QCLASS is refused");
  check(verdict(1, N("\7example\0"), 3) == EG_DNSQ_BAD, "a question with a short QCLASS is refused");
  check(verdict(1, N("\x40" "aaaa\0"), 4) == EG_DNSQ_BAD, "label length 64 is refused");
  check(verdict(1, N("\x7f" "a\0"), 4) == EG_DNSQ_BAD, "label length 127 (extended label type) is refused");
  check(verdict(1, N("\xff\0"), 4) == EG_DNSQ_BAD, "label length byte 0xff is refused");
  check(verdict(1, N("\xc0\x0c"), 4) == EG_DNSQ_BAD, "a compression pointer to itself (a loop) is refused");
  check(verdict(1, N("\1a\xc0\x0c"), 4) == EG_DNSQ_BAD, "a pointer after a label (loop) is refused");
  check(verdict(1, N("\xc0\x00"), 4) == EG_DNSQ_BAD, "a pointer into the header is refused");
  check(verdict(1, N("\3a.b\0"), 4) == EG_DNSQ_BAD, "a '.' inside a label is refused (ambiguous text)");
  check(verdict(1, N("\3a\0b\0"), 4) == EG_DNSQ_BAD, "a NUL inside a label is refused");
  check(verdict(1, N("\3a b\0"), 4) == EG_DNSQ_BAD, "a space inside a label is refused");
  check(verdict(1, N("\3a\nb\0"), 4) == EG_DNSQ_BAD, "a newline inside a label is refused");
  check(verdict(1, N("\3a\x7f" "b\0"), 4) == EG_DNSQ_BAD, "DEL inside a label is refused");
  /* random mutations: never a crash, and any NAME output respects the invariants */
  {
    unsigned long x = 88172645463325252UL;
    int bad = 0;
    uint8_t base[64];
    size_t bn = build(base, 1, N("\3www\7example\3com\0"), 4);
    for (int it = 0; it < 200000 && !bad; it++) {
      uint8_t b[96];
      size_t n = bn;
      memcpy(b, base, bn);
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      int flips = 1 + (int)(x % 6);
      for (int f = 0; f < flips; f++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[x % bn] = (uint8_t)(x >> 32);
      }
      n = (size_t)((x >> 20) % (bn + 1));
      int r = parse(b, n, out, &len);
      if (r == EG_DNSQ_NAME) {
        if (len > 253 || strlen(out) != len) bad = 1;
        for (size_t k = 0; k < len; k++) {
          uint8_t c = (uint8_t)out[k];
          if (c <= 0x20 || c == 0x7f || (c >= 'A' && c <= 'Z')) bad = 1;
        }
      } else if (r != EG_DNSQ_BAD && r != EG_DNSQ_NONE) {
        bad = 1;
      }
    }
    check(!bad, "200,000 mutated messages: no crash, names within bounds, lower-case, no control bytes");
  }
  printf("# passed %d failed %d\n", passed, failed);
  return failed ? 1 : 0;
}
