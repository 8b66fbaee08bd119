/*
 * dnsq.c — parse the question name of an outgoing DNS message. Contract: src/dnsq.h.
 */
#include "dnsq.h"

int eg_dnsq_name(const uint8_t *p, size_t n, char out[256], size_t *out_len) {
  *out_len = 0;
  out[0] = '\0';
  if (p == NULL || n < 12) return EG_DNSQ_BAD;
  unsigned qdcount = ((unsigned)p[4] << 8) | p[5];
  if (qdcount == 0) return EG_DNSQ_NONE;
  if (qdcount != 1) return EG_DNSQ_BAD;
  size_t i = 12, len = 0, wire = 0;
  for (;;) {
    if (i >= n) return EG_DNSQ_BAD;
    unsigned lab = p[i++];
    wire += 1 + lab;
    if (wire > 255) return EG_DNSQ_BAD; /* RFC 1035 2.3.4: 255 octets including the length bytes and the root */
    if (lab == 0) break;
    if (lab > 63) return EG_DNSQ_BAD; /* 0x40–0xbf reserved/extended, 0xc0–0xff compression pointer */
    if (lab > n - i) return EG_DNSQ_BAD;
    if (len > 0) out[len++] = '.';
    for (unsigned k = 0; k < lab; k++) {
      uint8_t c = p[i++];
      if (c <= 0x20 || c == '.' || c == 0x7f) return EG_DNSQ_BAD;
      if (c >= 'A' && c <= 'Z') c = (uint8_t)(c - 'A' + 'a');
      out[len++] = (char)c;
    }
  }
  /* wire <= 255 and wire counts one byte per label beyond the text: len <= 253 < 256. */
  if (n - i < 4) return EG_DNSQ_BAD; /* QTYPE, QCLASS */
  out[len] = '\0';
  *out_len = len;
  return EG_DNSQ_NAME;
}
