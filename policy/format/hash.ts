/**
 * The name hash of the format (docs/FORMAT.md, "Hash"): FNV-1a 32 over the key bytes, then the murmur3 finaliser.
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
