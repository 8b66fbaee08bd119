/**
 * A host name read the way glibc's resolver reads it (ns_name_pton): the name a lookup is decided on.
 *
 * The TypeScript twin of the interposer's `native/src/dnsname.c` (its header is the contract; docs/POLICY.md "Names
 * in lookups"). glibc interprets backslash escapes before it queries: `b\097d.example.com` is queried as
 * `bad.example.com`, and `a\.b` is one label holding a dot. `readLookupName` returns the name the resolver would put
 * on the wire, normalised as FORMAT.md says (ASCII lower-case, no trailing dot), or `null` when the interposer cannot
 * decide it as text and refuses the lookup (rule `dns-malformed`): anything ns_name_pton rejects (a label of 64+
 * bytes, a wire form over 255 bytes, an empty label, a bad escape, a trailing backslash), the root name, and any label
 * byte that is `.`, a control byte, space, DEL or non-ASCII. A string is read as its UTF-8 bytes, as a C program
 * would pass it. `test/native/dnsname.test.ts` checks that both implementations agree.
 */

const WIRE_MAX = 255;
const LABEL_MAX = 63;

const isDigit = (c: number | undefined): c is number => c !== undefined && c >= 0x30 && c <= 0x39;
const readable = (c: number): boolean => c > 0x20 && c < 0x7f && c !== 0x2e;

export function readLookupName(raw: string | Uint8Array): string | null {
  const src = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  const end = src.indexOf(0) === -1 ? src.length : src.indexOf(0); // a C string ends at its first NUL
  let wire = 1;
  let label = 0;
  let out = '';
  let i = 0;
  let qualified = false;
  while (i < end) {
    let c = src[i++] as number;
    if (c === 0x5c) {
      if (i >= end) return null; // trailing backslash
      c = src[i++] as number;
      if (isDigit(c)) {
        const d1 = i < end ? src[i++] : undefined;
        if (!isDigit(d1)) return null;
        const d2 = i < end ? src[i++] : undefined;
        if (!isDigit(d2)) return null;
        c = (c - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30);
        if (c > 255) return null;
      }
    } else if (c === 0x2e) {
      const len = wire - label - 1;
      if (len > LABEL_MAX) return null;
      if (i >= end) {
        if (len !== 0) wire++;
        if (wire > WIRE_MAX) return null;
        qualified = true;
        break;
      }
      if (len === 0 || src[i] === 0x2e) return null;
      label = wire++;
      out += '.';
      continue;
    }
    if (wire >= WIRE_MAX) return null;
    wire++;
    if (!readable(c)) return null;
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  if (!qualified) {
    const len = wire - label - 1;
    if (len > LABEL_MAX) return null;
    if (len !== 0) {
      if (wire >= WIRE_MAX) return null;
      wire++;
    }
    if (wire > WIRE_MAX) return null;
  }
  return out === '' ? null : out;
}
