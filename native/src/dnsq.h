/*
 * dnsq.h — the query name of an outgoing DNS message (RFC 1035 4.1), for the raw-DNS check (src/dns.c).
 *
 * Contract of eg_dnsq_name: reads at most `n` bytes of `p` (the start of one DNS message, no TCP length prefix),
 * never allocates, never calls libc beyond nothing at all (pure function, async-signal-safe, usable in unit tests).
 *  - EG_DNSQ_NONE: QDCOUNT is 0 — the message names nothing (e.g. a cookie-only message); nothing to decide.
 *  - EG_DNSQ_NAME: QDCOUNT is 1 and the question name is well formed: `out` holds it as FORMAT.md normalises names
 *    (ASCII lower-cased, labels joined with '.', no trailing dot; the root name is ""), *out_len its length (<= 253).
 *    Bytes >= 0x80 are kept as they are (no IDN: such a name matches no rule, docs/INTERPOSER.md).
 *  - EG_DNSQ_BAD: anything else — shorter than the header, QDCOUNT > 1, the name or its QTYPE/QCLASS truncated, a label
 *    of 64+ bytes (length bytes 0x40–0xff, which also covers every compression pointer: a question name at offset 12
 *    has nothing earlier to point to, so pointers are refused rather than followed — no loop is possible), a name over
 *    255 wire bytes, or a label byte that would make its text form ambiguous ('.', bytes <= 0x20, 0x7f).
 * Only the first 12 + 255 + 4 bytes matter, so callers may pass a prefix of a larger message (EG_DNSQ_PREFIX).
 */
#ifndef EG_DNSQ_H
#define EG_DNSQ_H

#include <stddef.h>
#include <stdint.h>

enum { EG_DNSQ_BAD = -1, EG_DNSQ_NONE = 0, EG_DNSQ_NAME = 1 };
#define EG_DNSQ_PREFIX (12 + 255 + 4)

int eg_dnsq_name(const uint8_t *p, size_t n, char out[256], size_t *out_len);

#endif
