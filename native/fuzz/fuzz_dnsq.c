/*
 * fuzz_dnsq.c — libFuzzer harness for the raw-DNS query grammar (src/dnsq.c, contract in src/dnsq.h).
 *
 * Input: any bytes as an outgoing DNS message (an exactly-sized heap block: ASan sees any overread). Invariants:
 *   - the result is EG_DNSQ_BAD or EG_DNSQ_NAME, and parsing is deterministic;
 *   - the datagram is read whole: a NAME datagram is refused with any byte cut off its end or one byte added;
 *   - a NAME is at most 253 bytes, NUL-terminated at out_len, ASCII lower-case, with no byte <= 0x20 or 0x7f, no
 *     empty label (no leading, trailing or doubled dot) — so it can never smuggle a separator into a decision or a log;
 *   - round trip: encoding the name back into a one-question message and parsing that gives the same name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dnsq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *msg = malloc(size ? size : 1);
  if (msg == NULL) return 0;
  if (size) memcpy(msg, data, size);
  char out[256], again[256];
  size_t len = 0, len2 = 0;
  int r = eg_dnsq_name(msg, size, out, &len);
  CHECK(r == EG_DNSQ_BAD || r == EG_DNSQ_NAME);
  CHECK(eg_dnsq_name(msg, size, again, &len2) == r && len2 == len && memcmp(out, again, len) == 0);
  if (r == EG_DNSQ_NAME) {
    CHECK(eg_dnsq_name(msg, size - 1, again, &len2) == EG_DNSQ_BAD);
    uint8_t *longer = malloc(size + 1);
    memcpy(longer, msg, size);
    longer[size] = 0;
    CHECK(eg_dnsq_name(longer, size + 1, again, &len2) == EG_DNSQ_BAD);
    free(longer);
  }
  if (r == EG_DNSQ_NAME) {
    CHECK(len <= 253 && out[len] == '\0' && strlen(out) == len);
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)out[i];
      CHECK(c > 0x20 && c != 0x7f && !(c >= 'A' && c <= 'Z'));
      if (c == '.') CHECK(i > 0 && i + 1 < len && out[i + 1] != '.');
    }
    /* round trip through a fresh one-question message */
    uint8_t wire[12 + 256 + 4];
    memset(wire, 0, 12);
    wire[5] = 1;
    uint8_t qtc[4] = {0, 1, 0, 1}; /* A, IN */
    size_t w = 12, start = 0;
    for (size_t i = 0; i <= len; i++) {
      if (i == len || out[i] == '.') {
        if (i > start) {
          wire[w++] = (uint8_t)(i - start);
          memcpy(wire + w, out + start, i - start);
          w += i - start;
        }
        start = i + 1;
      }
    }
    wire[w++] = 0;
    memcpy(wire + w, qtc, 4), w += 4;
    uint8_t *exact = malloc(w);
    memcpy(exact, wire, w);
    CHECK(eg_dnsq_name(exact, w, again, &len2) == EG_DNSQ_NAME && len2 == len && memcmp(out, again, len) == 0);
    free(exact);
  }
  free(msg);
  return 0;
}
