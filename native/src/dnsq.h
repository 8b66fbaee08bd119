/*
 * dnsq.h — the one grammar of a DNS query datagram the guard lets reach a nameserver, and its question name, for the
 * raw-DNS check (src/dns.c; docs/INTERPOSER.md "Raw DNS" states the same grammar for users).
 *
 * Contract of eg_dnsq_name: reads exactly the `n` bytes of `p` (one whole UDP datagram), never allocates, calls no
 * libc (pure, async-signal-safe, usable in unit tests and fuzzing). EG_DNSQ_NAME when the datagram is, in full:
 *  - a header: QR 0, OPCODE 0 (QUERY), AA 0, TC 0, RD any; RA 0, Z 0, AD any, CD any, RCODE 0; QDCOUNT 1,
 *    ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1;
 *  - one question: a name of labels of 1–63 bytes ending with the root label, at most 255 wire bytes, no compression
 *    pointer (a question at offset 12 has nothing earlier to point to: pointers are refused, never followed), only
 *    label bytes a policy's text can carry (eg_dnsname_byte_ok: printable ASCII but '.', as for lookup names); QTYPE any but 0, OPT (41), TKEY
 *    (249), TSIG (250), IXFR (251), AXFR (252); QCLASS IN (1), CH (3), HS (4) or ANY (255);
 *  - with ARCOUNT 1, one EDNS OPT record (RFC 6891): root owner name, TYPE 41, CLASS (the UDP payload size) any,
 *    extended RCODE 0, VERSION 0, flags DO or none, RDATA a sequence of options that fills RDLENGTH exactly, each
 *    one of: NSID (3) empty, COOKIE (10) of 8 or 16–40 bytes, PADDING (12) of zero bytes;
 *  - and nothing after it; at most EG_DNSQ_MAX bytes in all.
 * That is what glibc, c-ares, dnspython and dig send. Then `out` holds the name as FORMAT.md normalises names (ASCII
 * lower-cased, labels joined with '.', no trailing dot; the root name is ""), *out_len its length (<= 253).
 * EG_DNSQ_BAD for anything else — including no question or several, a response, an update, a signed (TSIG) message,
 * other additional records, unknown options and trailing bytes — so a datagram to port 53 carries one question a
 * policy decides, and nothing else.
 */
#ifndef EG_DNSQ_H
#define EG_DNSQ_H

#include <stddef.h>
#include <stdint.h>

enum { EG_DNSQ_BAD = -1, EG_DNSQ_NAME = 1 };
#define EG_DNSQ_MAX 512 /* the largest query datagram the grammar accepts */

int eg_dnsq_name(const uint8_t *p, size_t n, char out[256], size_t *out_len);

#endif
