/*
 * dnsq_test.c — C unit tests of the DNS query grammar and question-name parser (src/dnsq.c), including hostile
 * messages and the exact datagrams real clients send.
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
  check(verdict(1, N("\3\xc3\xa9t\0"), 4) == EG_DNSQ_BAD, "non-ASCII bytes are refused, as in lookup names");
  check(verdict(1, N("\3\xff\xfe\x80\0"), 4) == EG_DNSQ_BAD, "invalid UTF-8 is refused");
  {
    uint8_t b[600];
    size_t n = build(b, 1, N("\3abc\0"), 4);
    b[2] = 0x81; /* a response */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "a response (QR 1) is refused");
    b[2] = 0x29; /* opcode 5: an update */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "an UPDATE (opcode 5) is refused");
    b[2] = 0x03; /* TC */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "TC set in a query is refused");
    b[2] = 0x00, b[3] = 0x30; /* RD 0; AD, CD set: what dig and validating stubs send */
    check(parse(b, n, out, &len) == EG_DNSQ_NAME && strcmp(out, "abc") == 0, "RD 0, AD and CD set are accepted");
    b[3] = 0x40; /* Z */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "the Z bit is refused");
    b[3] = 0x01; /* RCODE */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "a non-zero RCODE is refused");
    b[3] = 0x80; /* RA */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "RA set in a query is refused");
    b[3] = 0;
    uint8_t big[600];
    memcpy(big, b, n);
    big[n] = 0;
    check(parse(big, n + 1, out, &len) == EG_DNSQ_BAD && len == 0 && out[0] == '\0', "one trailing byte is refused");
    memset(big + n, 0xc0, 100);
    check(parse(big, n + 100, out, &len) == EG_DNSQ_BAD, "trailing bytes are refused");
    b[7] = 1; /* ANCOUNT */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "an answer record in a query is refused");
    b[7] = 0, b[9] = 1; /* NSCOUNT */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "an authority record in a query is refused");
    b[9] = 0, b[11] = 2; /* ARCOUNT 2 */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "two additional records are refused");
    b[11] = 1; /* ARCOUNT 1 and no record */
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "an announced OPT record that is missing is refused");
  }
  /* QTYPE and QCLASS */
  {
    uint8_t b[64];
    size_t n = build(b, 1, N("\1a\0"), 4);
    static const unsigned bad_types[] = {0, 41, 249, 250, 251, 252};
    int ok = 1;
    for (size_t k = 0; k < sizeof bad_types / sizeof *bad_types; k++) {
      b[n - 4] = (uint8_t)(bad_types[k] >> 8), b[n - 3] = (uint8_t)bad_types[k];
      ok &= parse(b, n, out, &len) == EG_DNSQ_BAD;
    }
    check(ok, "QTYPE 0, OPT, TKEY, TSIG, IXFR, AXFR are refused");
    static const unsigned good_types[] = {1, 28, 5, 15, 16, 33, 12, 65, 64, 255, 257};
    ok = 1;
    for (size_t k = 0; k < sizeof good_types / sizeof *good_types; k++) {
      b[n - 4] = (uint8_t)(good_types[k] >> 8), b[n - 3] = (uint8_t)good_types[k];
      ok &= parse(b, n, out, &len) == EG_DNSQ_NAME;
    }
    check(ok, "A, AAAA, CNAME, MX, TXT, SRV, PTR, HTTPS, SVCB, ANY, CAA are accepted");
    b[n - 4] = 0, b[n - 3] = 1;
    b[n - 1] = 3;
    check(parse(b, n, out, &len) == EG_DNSQ_NAME, "QCLASS CH is accepted");
    b[n - 1] = 2;
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "QCLASS 2 is refused");
    b[n - 2] = 0xfe, b[n - 1] = 0;
    check(parse(b, n, out, &len) == EG_DNSQ_BAD, "QCLASS NONE (254) is refused");
  }
  /* the EDNS OPT record */
  {
    uint8_t b[600];
    size_t q = build(b, 1, N("\7example\3com\0"), 4);
    b[11] = 1;
    static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0}; /* 1232, DO, no options */
    memcpy(b + q, opt, 11);
    check(parse(b, q + 11, out, &len) == EG_DNSQ_NAME && strcmp(out, "example.com") == 0,
          "an OPT record (payload 1232, DO, no options) is accepted");
    /* COOKIE 8, then 8+16, then PADDING 20 zero bytes, then NSID */
    size_t m = q + 11;
    static const uint8_t cookie[12] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(b + m, cookie, 12), m += 12;
    b[q + 10] = 12;
    check(parse(b, m, out, &len) == EG_DNSQ_NAME, "a client COOKIE option is accepted");
    uint8_t pad[24] = {0, 12, 0, 20};
    memcpy(b + m, pad, 24), m += 24;
    static const uint8_t nsid[4] = {0, 3, 0, 0};
    memcpy(b + m, nsid, 4), m += 4;
    b[q + 10] = 40;
    check(parse(b, m, out, &len) == EG_DNSQ_NAME, "COOKIE, zero PADDING and an empty NSID together are accepted");
    b[m - 24 + 10] = 1; /* a padding byte that is not zero */
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "PADDING that carries data is refused");
    b[m - 24 + 10] = 0;
    b[q + 10] = 39;
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "options that do not fill RDLENGTH exactly are refused");
    b[q + 10] = 41;
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "RDLENGTH past the end is refused");
    b[q + 10] = 40;
    b[q + 11 + 1] = 8; /* the first option becomes ECS (8) */
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "an EDNS Client Subnet option is refused");
    b[q + 11 + 1] = 10, b[q + 11 + 3] = 9;
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "a 9-byte COOKIE is refused");
    b[q + 11 + 3] = 8;
    b[q + 6] = 1; /* EDNS version 1 */
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "EDNS version 1 is refused");
    b[q + 6] = 0, b[q + 8] = 1; /* a Z flag */
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "EDNS Z flags other than DO are refused");
    b[q + 8] = 0, b[q] = 1;
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "an OPT record with a non-root owner is refused");
    b[q] = 0, b[q + 2] = 250; /* a TSIG-like record instead of OPT */
    check(parse(b, m, out, &len) == EG_DNSQ_BAD, "an additional record other than OPT is refused");
    b[q + 2] = 41;
    check(parse(b, m, out, &len) == EG_DNSQ_NAME, "(restored: accepted again)");
    check(parse(b, m - 1, out, &len) == EG_DNSQ_BAD, "an OPT record cut short is refused");
  }
  /* real clients' datagrams, byte for byte */
  {
    /* dnspython 2.3 make_query("allowed.test", "A", use_edns=0) as its stub resolver sends it (payload 1232) */
    static const uint8_t dnspython[] = {0xab, 0xcd, 0x01, 0x00, 0,   1,    0,    0,   0,   0,   0,   1, 7, 'a',
                                        'l',  'l',  'o',  'w',  'e', 'd',  4,    't', 'e', 's', 't', 0, 0, 1,
                                        0,    1,    0,    0,    41,  0x04, 0xd0, 0,   0,   0,   0,   0, 0};
    check(parse(dnspython, sizeof dnspython, out, &len) == EG_DNSQ_NAME && strcmp(out, "allowed.test") == 0,
          "dnspython's query (OPT, payload 1232)");
    /* dig 9.18: AD set, OPT with payload 1232 and a COOKIE */
    static const uint8_t dig[] = {0x12, 0x34, 0x01, 0x20, 0,   1,    0,    0,    0,    0,   0,   1, 7,
                                  'e',  'x',  'a',  'm',  'p', 'l',  'e',  3,    'c',  'o', 'm', 0, 0,
                                  1,    0,    1,    0,    0,   41,   0x04, 0xd0, 0,    0,   0,   0, 0,
                                  12,   0,    10,   0,    8,   0xde, 0xad, 0xbe, 0xef, 1,   2,   3, 4};
    check(parse(dig, sizeof dig, out, &len) == EG_DNSQ_NAME && strcmp(out, "example.com") == 0,
          "dig's query (AD, OPT with a COOKIE)");
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
    uint8_t huge[EG_DNSQ_MAX + 1];
    size_t hn = build(huge, 1, name, k, 4);
    huge[11] = 1;
    static const uint8_t opt[15] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0xe7, 0, 12, 0, 0xe3}; /* PADDING 227 */
    memcpy(huge + hn, opt, 15);
    memset(huge + hn + 15, 0, 227);
    check(hn + 15 + 227 == EG_DNSQ_MAX + 1 && parse(huge, sizeof huge, out, &len) == EG_DNSQ_BAD,
          "a datagram of 513 bytes is refused, however well formed");
    huge[hn + 10] = 0xe6, huge[hn + 14] = 0xe2; /* one byte less of padding */
    check(parse(huge, EG_DNSQ_MAX, out, &len) == EG_DNSQ_NAME, "512 bytes are accepted");
  }
  /* hostile */
  check(verdict(0, N(""), 0) == EG_DNSQ_BAD, "QDCOUNT 0 (no question) is refused");
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
  check(verdict(1,
                N("\x40"
                  "aaaa\0"),
                4) == EG_DNSQ_BAD,
        "label length 64 is refused");
  check(verdict(1,
                N("\x7f"
                  "a\0"),
                4) == EG_DNSQ_BAD,
        "label length 127 (extended label type) is refused");
  check(verdict(1, N("\xff\0"), 4) == EG_DNSQ_BAD, "label length byte 0xff is refused");
  check(verdict(1, N("\xc0\x0c"), 4) == EG_DNSQ_BAD, "a compression pointer to itself (a loop) is refused");
  check(verdict(1, N("\1a\xc0\x0c"), 4) == EG_DNSQ_BAD, "a pointer after a label (loop) is refused");
  check(verdict(1, N("\xc0\x00"), 4) == EG_DNSQ_BAD, "a pointer into the header is refused");
  check(verdict(1, N("\3a.b\0"), 4) == EG_DNSQ_BAD, "a '.' inside a label is refused (ambiguous text)");
  check(verdict(1, N("\3a\0b\0"), 4) == EG_DNSQ_BAD, "a NUL inside a label is refused");
  check(verdict(1, N("\3a b\0"), 4) == EG_DNSQ_BAD, "a space inside a label is refused");
  check(verdict(1, N("\3a\nb\0"), 4) == EG_DNSQ_BAD, "a newline inside a label is refused");
  check(verdict(1,
                N("\3a\x7f"
                  "b\0"),
                4) == EG_DNSQ_BAD,
        "DEL inside a label is refused");
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
      } else if (r != EG_DNSQ_BAD) {
        bad = 1;
      }
    }
    check(!bad, "200,000 mutated messages: no crash, names within bounds, lower-case, no control bytes");
  }
  printf("# passed %d failed %d\n", passed, failed);
  return failed ? 1 : 0;
}
