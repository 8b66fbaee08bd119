/*
 * dnsname.h — a host name read the way glibc's resolver reads it, for deciding lookups (docs/INTERPOSER.md "Names").
 *
 * Why: glibc turns the text a program passes to getaddrinfo, gethostbyname*, res_query … into DNS wire format with
 * ns_name_pton, which interprets backslash escapes: "b\097d.example.com" is queried as bad.example.com, "a\.b" is ONE
 * label holding a dot. Deciding the raw text would let every such spelling of a denied name through an allowed
 * wildcard. So the guard decides the name the resolver will put on the wire, never the text it was handed.
 *
 * Contract of eg_dnsname_read (pure: no allocation, no libc, async-signal-safe; usable in unit tests and fuzzers):
 *  - src: a NUL-terminated string as the program passed it.
 *  - EG_DNSNAME_OK: src is one well-formed DNS name that glibc would send as is, and every label byte can be written
 *    in a policy's text form. `out` holds it as FORMAT.md normalises names: labels joined with '.', ASCII lower-cased,
 *    no trailing dot; *out_len (1..253) its length, out[*out_len] = '\0'.
 *  - EG_DNSNAME_BAD: anything else. Exactly the inputs glibc's ns_name_pton (2.28 … 2.36) rejects — a label of 64+
 *    bytes, a wire form over 255 bytes, an empty label ("a..b", ".a"), a bad escape ("\1x", "\256"), a trailing
 *    backslash — plus names glibc accepts but the guard cannot decide as text: the root name ("."), and any label
 *    byte that is '.', a control byte, space, DEL or >= 0x80 (no IDN here: programs pass IDNs as punycode). A caller
 *    in enforce mode refuses such a lookup (rule `dns-malformed`); glibc 2.34+ itself sends none of them through
 *    getaddrinfo/gethostbyname (res_hnok), but res_query and glibc 2.26 do.
 * Escape semantics (ns_name_pton): "\DDD" (exactly three decimal digits, value <= 255) is that byte; "\X" for any
 * other X is X itself, even '.' or '\'. glibc before 2.28 drops a trailing backslash instead of failing: refusing it
 * is the safe side. The TypeScript twin is policy/names/lookup.ts; test/native/dnsname.test.ts keeps them equal.
 */
#ifndef EG_DNSNAME_H
#define EG_DNSNAME_H

#include <stddef.h>

enum { EG_DNSNAME_BAD = -1, EG_DNSNAME_OK = 0 };

/* A label byte a policy's text form can carry: printable ASCII other than '.'. The one rule of what a name may hold,
 * for lookup names (below) and for the question of a raw DNS datagram (dnsq.c). */
static inline int eg_dnsname_byte_ok(unsigned c) { return c > 0x20 && c < 0x7f && c != '.'; }

int eg_dnsname_read(const char *src, char out[256], size_t *out_len);

#endif
