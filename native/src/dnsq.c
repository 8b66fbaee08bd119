/*
 * dnsq.c — the grammar of an outgoing DNS query datagram and its question name. Contract: src/dnsq.h.
 */
#include "dnsq.h"

#include "dnsname.h"

static unsigned u16(const uint8_t *p) { return ((unsigned)p[0] << 8) | p[1]; }

/* The question name at p[*i]: into out/len; 0 when it breaks the grammar. */
static int qname(const uint8_t *p, size_t n, size_t *i, char out[256], size_t *len) {
  size_t wire = 0;
  *len = 0;
  for (;;) {
    if (*i >= n) return 0;
    unsigned lab = p[(*i)++];
    wire += 1 + lab;
    if (wire > 255) return 0; /* RFC 1035 2.3.4: 255 octets including the length bytes and the root */
    if (lab == 0) break;
    if (lab > 63) return 0; /* 0x40–0xbf reserved/extended, 0xc0–0xff compression pointer */
    if (lab > n - *i) return 0;
    if (*len > 0) out[(*len)++] = '.';
    for (unsigned k = 0; k < lab; k++) {
      uint8_t c = p[(*i)++];
      if (!eg_dnsname_byte_ok(c)) return 0; /* the one rule of lookup names (dnsname.h) */
      if (c >= 'A' && c <= 'Z') c = (uint8_t)(c - 'A' + 'a');
      out[(*len)++] = (char)c;
    }
  }
  /* wire <= 255 and wire counts one byte per label beyond the text: *len <= 253 < 256. */
  out[*len] = '\0';
  return 1;
}

static int qtype_ok(unsigned t) { return t != 0 && t != 41 && (t < 249 || t > 252); }
static int qclass_ok(unsigned c) { return c == 1 || c == 3 || c == 4 || c == 255; }

/* The OPT record's options, p[0..len): each one allowed, together filling len exactly. */
static int options_ok(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    if (len - i < 4) return 0;
    unsigned code = u16(p + i), olen = u16(p + i + 2);
    i += 4;
    if (olen > len - i) return 0;
    switch (code) {
    case 3: /* NSID: a request is empty */
      if (olen != 0) return 0;
      break;
    case 10: /* COOKIE: client cookie (8), optionally followed by the server cookie (8–32) */
      if (olen != 8 && (olen < 16 || olen > 40)) return 0;
      break;
    case 12: /* PADDING: zero bytes only */
      for (unsigned k = 0; k < olen; k++)
        if (p[i + k] != 0) return 0;
      break;
    default: return 0;
    }
    i += olen;
  }
  return 1;
}

/* One OPT record at p[*i] (RFC 6891 6.1.2). */
static int opt_record(const uint8_t *p, size_t n, size_t *i) {
  if (n - *i < 11) return 0;
  const uint8_t *r = p + *i;
  if (r[0] != 0 || u16(r + 1) != 41) return 0;   /* root owner, TYPE OPT; r+3: CLASS = payload size, any */
  if (r[5] != 0 || r[6] != 0) return 0;          /* extended RCODE, VERSION */
  if ((r[7] & 0x7f) != 0 || r[8] != 0) return 0; /* flags: DO (0x80 of r[7]) only */
  unsigned rdlen = u16(r + 9);
  *i += 11;
  if (rdlen > n - *i || !options_ok(p + *i, rdlen)) return 0;
  *i += rdlen;
  return 1;
}

int eg_dnsq_name(const uint8_t *p, size_t n, char out[256], size_t *out_len) {
  *out_len = 0;
  out[0] = '\0';
  if (p == NULL || n < 12 || n > EG_DNSQ_MAX) return EG_DNSQ_BAD;
  if ((p[2] & 0xfe) != 0) return EG_DNSQ_BAD; /* QR, OPCODE, AA, TC; RD free */
  if ((p[3] & 0xcf) != 0) return EG_DNSQ_BAD; /* RA, Z, RCODE; AD and CD free */
  unsigned ar = u16(p + 10);
  if (u16(p + 4) != 1 || u16(p + 6) != 0 || u16(p + 8) != 0 || ar > 1) return EG_DNSQ_BAD;
  size_t i = 12, len;
  if (!qname(p, n, &i, out, &len)) {
    out[0] = '\0';
    return EG_DNSQ_BAD;
  }
  if (n - i < 4 || !qtype_ok(u16(p + i)) || !qclass_ok(u16(p + i + 2))) goto bad;
  i += 4;
  if (ar == 1 && !opt_record(p, n, &i)) goto bad;
  if (i != n) goto bad; /* trailing bytes */
  *out_len = len;
  return EG_DNSQ_NAME;
bad:
  out[0] = '\0';
  return EG_DNSQ_BAD;
}
