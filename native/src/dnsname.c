/*
 * dnsname.c — read a host name as glibc's resolver does (ns_name_pton), for deciding lookups. Contract: dnsname.h.
 *
 * The walk mirrors ns_name_pton's bookkeeping on the wire form it would build into a 255-byte buffer (NS_MAXCDNAME):
 * `wire` is the number of wire bytes used so far, `label` the offset of the current label's length byte. The text
 * form is written as labels are completed.
 */
#include "dnsname.h"

#define WIRE_MAX 255 /* NS_MAXCDNAME: length bytes + label bytes + the root */
#define LABEL_MAX 63

static int digit(unsigned c) { return c >= '0' && c <= '9'; }

int eg_dnsname_read(const char *src, char out[256], size_t *out_len) {
  const unsigned char *p = (const unsigned char *)src;
  size_t wire = 1, label = 0, n = 0;
  unsigned c;
  *out_len = 0;
  out[0] = '\0';
  while ((c = *p++) != 0) {
    if (c == '\\') {
      c = *p++;
      if (c == 0) return EG_DNSNAME_BAD; /* trailing backslash */
      if (digit(c)) {
        unsigned d1 = *p++, d2;
        if (!digit(d1)) return EG_DNSNAME_BAD;
        d2 = *p++;
        if (!digit(d2)) return EG_DNSNAME_BAD;
        c = (c - '0') * 100 + (d1 - '0') * 10 + (d2 - '0');
        if (c > 255) return EG_DNSNAME_BAD;
      }
      /* an escaped byte is literal label content, '.' included */
    } else if (c == '.') {
      size_t len = wire - label - 1;
      if (len > LABEL_MAX) return EG_DNSNAME_BAD;
      if (*p == '\0') { /* fully qualified: the root label follows */
        if (len != 0) wire++;
        if (wire > WIRE_MAX) return EG_DNSNAME_BAD;
        break;
      }
      if (len == 0 || *p == '.') return EG_DNSNAME_BAD; /* empty label */
      label = wire++;
      out[n++] = '.';
      continue;
    }
    if (wire >= WIRE_MAX) return EG_DNSNAME_BAD;
    wire++;
    if (!eg_dnsname_byte_ok(c)) return EG_DNSNAME_BAD;
    out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  if (c == 0) { /* ended without a final dot: close the last label and add the root */
    size_t len = wire - label - 1;
    if (len > LABEL_MAX) return EG_DNSNAME_BAD;
    if (len != 0) {
      if (wire >= WIRE_MAX) return EG_DNSNAME_BAD;
      wire++;
    }
    if (wire > WIRE_MAX) return EG_DNSNAME_BAD;
  }
  if (n == 0) return EG_DNSNAME_BAD; /* the root name: not a host */
  out[n] = '\0';
  *out_len = n;
  return EG_DNSNAME_OK;
}
