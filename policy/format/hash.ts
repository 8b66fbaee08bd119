/**
 * The name hashes of the format: versions 1 and 2 (docs/FORMAT.md, "Hash"): FNV-1a 32 over the key bytes, then the
 * murmur3 finaliser; version 3: `hash3Bytes` below.
 * `hashBytes(buf, off, len)` hashes a byte range without copying; `hashString` hashes an ASCII string.
 */

export function hashBytes(buf: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = off, end = off + len; i < end; i++) {
    h ^= buf[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return finalise(h);
}

/** `s` must be ASCII (normalised names always are). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return finalise(h);
}

function finalise(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The version 3 name hash (docs/FORMAT.md, "Version 3 name tables"): two 32-bit lanes, eight key bytes per step (the
 * little-endian words at 8i and 8i + 4, bytes past the key read as 0), then the murmur3 finaliser. Four dependent
 * steps for a 27-byte name where FNV-1a takes 27.
 */
export function hash3Bytes(buf: Uint8Array, off: number, len: number): number {
  return hash3((k) => (k < len ? buf[off + k]! : 0), len);
}

/** `hash3Bytes` of an ASCII string. */
export function hash3String(s: string): number {
  return hash3((k) => (k < s.length ? s.charCodeAt(k) & 0xff : 0), s.length);
}

/** h3 over `len` bytes, byte k read by `at` (0 at or past len). */
function hash3(at: (k: number) => number, len: number): number {
  const word = (k: number): number => at(k) | (at(k + 1) << 8) | (at(k + 2) << 16) | (at(k + 3) << 24);
  let a = 0x9e3779b9 ^ len;
  let b = 0x85ebca77 ^ len;
  for (let i = 0; i < len; i += 8) {
    a = rotl(Math.imul(a ^ word(i), 0xcc9e2d51), 15);
    b = rotl(Math.imul(b ^ word(i + 4), 0x1b873593), 13);
  }
  return finalise(a ^ rotl(b, 16));
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}
