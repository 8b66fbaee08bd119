/**
 * IP address and CIDR parsing shared by the compiler and the reference matcher.
 * IPv4 is a `number` (192.0.2.1 = 0xC0000201); IPv6 a `bigint` (128-bit, network order as a number).
 * `toQueryAddress` turns IPv4-mapped IPv6 (`::ffff:a.b.c.d`) into IPv4, as docs/FORMAT.md requires of readers.
 * Parsing is strict: dotted-quad IPv4 only (no leading zeros, no shorthand like `10.1`), no IPv6 zone ids.
 */

export type Addr = { v: 4; n: number } | { v: 6; n: bigint };

export const V4_MAPPED_BASE = 0xffff_0000_0000n;
export const V4_MAPPED_LAST = 0xffff_ffff_ffffn;

export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function parseIPv6(s: string): bigint | null {
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  let head: string[] = [];
  let tail: string[] = [];
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return null;
    head = s.slice(0, dbl) === '' ? [] : s.slice(0, dbl).split(':');
    tail = s.slice(dbl + 2) === '' ? [] : s.slice(dbl + 2).split(':');
  } else {
    head = s.split(':');
  }
  const groups: number[] = [];
  const take = (parts: string[], out: number[], allowV4Last: boolean): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (allowV4Last && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (v4 === null) return false;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
      out.push(Number.parseInt(p, 16));
    }
    return true;
  };
  const h: number[] = [];
  const t: number[] = [];
  if (!take(head, h, dbl < 0)) return null;
  if (!take(tail, t, true)) return null;
  if (dbl >= 0) {
    if (h.length + t.length > 7) return null;
    groups.push(...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t);
  } else {
    if (h.length !== 8) return null;
    groups.push(...h);
  }
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(g);
  return n;
}

/** Parses an IPv4 or IPv6 address (IPv6 may be written in brackets). Does not map `::ffff:…` to IPv4. */
export function parseAddr(s: string): Addr | null {
  const v4 = parseIPv4(s);
  if (v4 !== null) return { v: 4, n: v4 };
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  const v6 = parseIPv6(bare);
  if (v6 !== null) return { v: 6, n: v6 };
  return null;
}

/** The address a reader looks up: IPv4-mapped IPv6 becomes IPv4. */
export function toQueryAddress(a: Addr): Addr {
  if (a.v === 6 && a.n >= V4_MAPPED_BASE && a.n <= V4_MAPPED_LAST) return { v: 4, n: Number(a.n - V4_MAPPED_BASE) };
  return a;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** RFC 5952 text form (lower-case, longest zero run compressed). */
export function formatIPv6(n: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((n >> BigInt(16 * i)) & 0xffffn));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

export function formatAddr(a: Addr): string {
  return a.v === 4 ? formatIPv4(a.n) : formatIPv6(a.n);
}

/** A parsed CIDR: inclusive range plus whether host bits were set below the prefix. */
export interface Cidr {
  v: 4 | 6;
  start: bigint;
  end: bigint;
  prefix: number;
  hostBitsSet: boolean;
}

export type CidrError = 'bad-address' | 'bad-prefix';

/** `a.b.c.d/len`, `x::y/len`, or a bare address (= /32 or /128). */
export function parseCidr(s: string): Cidr | CidrError {
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const addr = parseAddr(addrText);
  if (!addr) return 'bad-address';
  const bits = addr.v === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return 'bad-prefix';
    prefix = Number(p);
    if (prefix > bits) return 'bad-prefix';
  }
  const n = BigInt(addr.n);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const start = n & ~hostMask;
  return { v: addr.v, start, end: start | hostMask, prefix, hostBitsSet: (n & hostMask) !== 0n };
}
