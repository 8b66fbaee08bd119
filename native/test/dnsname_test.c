/*
 * dnsname_test.c — C unit tests of the lookup-name reader (src/dnsname.c) against glibc's own ns_name_pton.
 *
 *   dnsname_tests      (make -C native check)
 * Output: one "ok N - what" / "not ok N - what" line per check and "# passed P failed F"; exit 1 on any failure.
 * The oracle is the resolver itself: a name is readable iff glibc's ns_name_pton accepts it (into the 255-byte buffer
 * res_mkquery uses) and the wire form it builds is not the root and has only bytes a policy can write; the text is
 * then that wire form, lower-cased. Fixed cases document the rules; 2,000,000 random names (escapes, dots, label and
 * name lengths at their limits, control and non-ASCII bytes) must agree with the oracle.
 */
#include <arpa/nameser.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsname.h"

static int passed, failed, seq;

static void check(int cond, const char *what) {
  seq++;
  if (cond) passed++;
  else failed++;
  printf("%s %d - %s\n", cond ? "ok" : "not ok", seq, what);
}

/* What glibc would query for src, as text (returns 1), or 0 when the guard must refuse it. */
static int oracle(const char *src, char out[256]) {
  unsigned char wire[NS_MAXCDNAME];
  if (ns_name_pton(src, wire, sizeof wire) < 0) return 0;
  size_t i = 0, n = 0;
  while (wire[i] != 0) {
    unsigned len = wire[i++];
    if (n) out[n++] = '.';
    for (unsigned k = 0; k < len; k++) {
      unsigned c = wire[i++];
      if (c <= 0x20 || c >= 0x7f || c == '.') return 0;
      out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  }
  out[n] = '\0';
  return n > 0;
}

/* 1 when eg_dnsname_read agrees with the oracle on src. */
static int agrees(const char *src) {
  char want[256], got[256];
  size_t len;
  int w = oracle(src, want);
  int g = eg_dnsname_read(src, got, &len) == EG_DNSNAME_OK;
  if (w != g) return 0;
  return !g || (strcmp(want, got) == 0 && len == strlen(got));
}

static int reads_as(const char *src, const char *want) {
  char got[256];
  size_t len;
  if (want == NULL) return eg_dnsname_read(src, got, &len) == EG_DNSNAME_BAD;
  return eg_dnsname_read(src, got, &len) == EG_DNSNAME_OK && strcmp(got, want) == 0 && len == strlen(want);
}

static void fixed_cases(void) {
  static const struct {
    const char *src, *want, *what;
  } cases[] = {
      {"api.example.com", "api.example.com", "a plain name reads as itself"},
      {"Api.EXAMPLE.com.", "api.example.com", "upper case and one trailing dot are normalised"},
      {"b\\097d.example.com", "bad.example.com", "\\DDD is a decimal byte: b\\097d is bad"},
      {"\\066AD.Example.com", "bad.example.com", "an escaped upper-case letter is lower-cased"},
      {"\\b\\a\\d.example.com", "bad.example.com", "\\X is X"},
      {"a\\.b.example.com", NULL, "an escaped dot inside a label is refused (one label, not two)"},
      {"bad.example.com\\.", NULL, "a trailing escaped dot is label content: refused"},
      {"a\\032b.example.com", NULL, "an escaped space is refused"},
      {"a\\000b.example.com", NULL, "an escaped NUL is refused"},
      {"\\195\\188.example.com", NULL, "escaped non-ASCII bytes are refused"},
      {"b\xc3\xbc"
       "cher.example",
       NULL, "raw UTF-8 is refused (IDNs are passed as punycode)"},
      {"\\\\.example.com", "\\.example.com", "an escaped backslash is a readable byte"},
      {"a..b", NULL, "an empty label is refused"},
      {".a.example.com", NULL, "a leading dot is refused"},
      {"a.example.com..", NULL, "two trailing dots are refused"},
      {".", NULL, "the root name is refused"},
      {"a\\", NULL, "a trailing backslash is refused"},
      {"\\1x.example.com", NULL, "\\D must be followed by two more digits"},
      {"\\256.example.com", NULL, "\\DDD above 255 is refused"},
      {"\\255.example.com", NULL, "\\255 is a non-ASCII byte: refused"},
      {"a*b+c_d-e.example.com", "a*b+c_d-e.example.com", "other printable ASCII bytes are kept"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    check(reads_as(cases[i].src, cases[i].want) && agrees(cases[i].src), cases[i].what);
  }
}

static void limits(void) {
  char name[600], want[600];
  memset(name, 'a', 63);
  strcpy(name + 63, ".example.com");
  check(reads_as(name, NULL) == 0 && agrees(name), "a 63-byte label is read");
  memset(name, 'a', 64);
  strcpy(name + 64, ".example.com");
  check(reads_as(name, NULL) && agrees(name), "a 64-byte label is refused");
  /* 4 labels of 63 + 1 byte: wire = 4*64 + 2 + 1 = 259 > 255; 3 × 63 + 61: wire = 3*64 + 62 + 1 = 255, text 253 */
  size_t n = 0;
  for (int l = 0; l < 3; l++) memset(name + n, 'b', 63), n += 63, name[n++] = '.';
  memset(name + n, 'c', 61), n += 61, name[n] = '\0';
  strcpy(want, name);
  check(reads_as(name, want) && strlen(want) == 253 && agrees(name), "a 253-byte name (255 wire bytes) is read");
  name[n++] = 'c', name[n] = '\0';
  check(reads_as(name, NULL) && agrees(name), "a 254-byte name is refused");
  name[n - 1] = '.';
  check(reads_as(name, want) && agrees(name), "the 253-byte name with a trailing dot is read");
  strcpy(name, "\\098");
  for (int l = 0; l < 62; l++) strcat(name, "\\097");
  strcat(name, ".com");
  check(agrees(name) && reads_as(name, NULL) == 0, "escapes count as one byte each toward the label limit");
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static unsigned next(unsigned bound) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (unsigned)(rng % bound);
}

static void random_names(unsigned count) {
  static const char alphabet[] = "aBz09.\\\\..-_*\x01 \x7f\x80\xff";
  char name[700];
  unsigned bad = 0, first_bad = 0;
  for (unsigned i = 0; i < count; i++) {
    size_t n = 0, want = next(8) == 0 ? 200 + next(300) : next(40);
    while (n < want) {
      unsigned pick = next(10);
      if (pick < 5) {
        name[n++] = alphabet[next(sizeof alphabet - 1)];
      } else if (pick < 7) { /* \DDD with any three digits (some above 255) */
        n += (size_t)snprintf(name + n, 5, "\\%03u", next(300));
      } else if (pick < 8) { /* a run of letters near a label limit */
        unsigned run = 55 + next(12);
        for (unsigned k = 0; k < run && n < want; k++) name[n++] = 'x';
      } else {
        name[n++] = (char)('a' + next(26));
      }
    }
    name[n] = '\0';
    if (!agrees(name)) {
      if (bad++ == 0) first_bad = i;
    }
  }
  char what[160];
  snprintf(what, sizeof what, "%u random names read as glibc's ns_name_pton reads them (%u differ, first #%u)", count,
           bad, first_bad);
  check(bad == 0, what);
}

int main(void) {
  fixed_cases();
  limits();
  random_names(2000000);
  printf("# passed %d failed %d\n", passed, failed);
  return failed ? 1 : 0;
}
