/*
 * fuzz_dnsname.c — libFuzzer harness for the lookup-name reader (src/dnsname.c, contract in src/dnsname.h).
 *
 * Input: any bytes, cut at the first NUL, as the name a program passes to getaddrinfo/res_query (an exactly-sized
 * heap block: ASan sees any overread). Invariants:
 *   - differential: the reader accepts a name iff glibc's own ns_name_pton accepts it into the 255-byte buffer
 *     res_mkquery uses and the wire form is not the root and holds only bytes a policy can write; the text is then
 *     exactly that wire form, lower-cased — the name decided is the name glibc queries;
 *   - a name read is 1..253 bytes, NUL-terminated at out_len, printable ASCII without upper case, with no empty
 *     label — so it can never smuggle a separator into a decision or a log line;
 *   - reading is deterministic, and reading the output again gives the output (a fixed point).
 */
#include <arpa/nameser.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dnsname.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t n = 0;
  while (n < size && data[n] != 0) n++;
  char *src = malloc(n + 1);
  if (src == NULL) return 0;
  memcpy(src, data, n);
  src[n] = '\0';
  char out[256], again[256], want[256];
  size_t len = 0, len2 = 0;
  int r = eg_dnsname_read(src, out, &len);
  CHECK(r == EG_DNSNAME_OK || r == EG_DNSNAME_BAD);
  CHECK(eg_dnsname_read(src, again, &len2) == r);
  int w = oracle(src, want);
  CHECK(w == (r == EG_DNSNAME_OK));
  if (r == EG_DNSNAME_OK) {
    CHECK(strcmp(out, want) == 0);
    CHECK(len >= 1 && len <= 253 && out[len] == '\0' && strlen(out) == len);
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)out[i];
      CHECK(c > 0x20 && c < 0x7f && !(c >= 'A' && c <= 'Z'));
      if (c == '.') CHECK(i > 0 && i + 1 < len && out[i + 1] != '.');
    }
    if (strchr(out, '\\') == NULL) { /* a backslash in the output would be read as an escape again */
      CHECK(eg_dnsname_read(out, again, &len2) == EG_DNSNAME_OK && len2 == len && strcmp(out, again) == 0);
    }
  }
  free(src);
  return 0;
}
