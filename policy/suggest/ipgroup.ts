/**
 * Groups IP-only destinations (docs/SUGGEST.md, "Addresses"): addresses stay single `ip:` rules unless at least
 * `minSiblings` distinct addresses fall in one IPv4 /24 (or one IPv6 /64); those become one `cidr:` rule, the
 * smallest prefix covering them (never wider than /24 or /64). Output is sorted (IPv4 before IPv6, numerically).
 */
import { formatAddr, parseAddr } from '../net/ip.js';

export interface AddrGroup {
  kind: 'ip' | 'cidr';
  /** `ip` text, or `a.b.c.d/len` */
  value: string;
  members: string[];
  v: 4 | 6;
  /** first address, for ordering */
  start: bigint;
}

interface Parsed {
  text: string;
  v: 4 | 6;
  n: bigint;
}

export function groupAddresses(ips: Iterable<string>, minSiblings: number): AddrGroup[] {
  const buckets = new Map<string, Parsed[]>();
  for (const text of new Set(ips)) {
    const a = parseAddr(text);
    if (!a) continue;
    const n = BigInt(a.n);
    const key = a.v === 4 ? `4/${n >> 8n}` : `6/${n >> 64n}`;
    let b = buckets.get(key);
    if (!b) {
      b = [];
      buckets.set(key, b);
    }
    b.push({ text: formatAddr(a), v: a.v, n });
  }
  const out: AddrGroup[] = [];
  for (const members of buckets.values()) {
    members.sort((x, y) => (x.n < y.n ? -1 : x.n > y.n ? 1 : 0));
    if (minSiblings >= 2 && members.length >= minSiblings) {
      const first = members[0]!;
      const last = members[members.length - 1]!;
      const bits = first.v === 4 ? 32 : 128;
      let prefix = bits;
      while (prefix > 0 && first.n >> BigInt(bits - prefix) !== last.n >> BigInt(bits - prefix)) prefix--;
      const start = (first.n >> BigInt(bits - prefix)) << BigInt(bits - prefix);
      const base = first.v === 4 ? formatAddr({ v: 4, n: Number(start) }) : formatAddr({ v: 6, n: start });
      out.push({ kind: 'cidr', value: `${base}/${prefix}`, members: members.map((m) => m.text), v: first.v, start });
    } else {
      for (const m of members) out.push({ kind: 'ip', value: m.text, members: [m.text], v: m.v, start: m.n });
    }
  }
  return out.sort((a, b) => a.v - b.v || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}
