/**
 * A generated, deterministic medium policy of IP rules for the interval-builder regression test
 * (cidr-intervals.test.ts): IPv4 and IPv6 networks of every size that overlap and nest, consecutive IPv6 /64s (the
 * shape that made IPv6 compiling quadratic), IPv4-mapped IPv6 networks (lowered to IPv4 ranges), port lists and
 * ranges, protocols, and deny rules. Pure text: no compiler imports, so the same text can be fed to any build.
 */
export function cidrPolicyYaml(seed = 7): string {
  let s = seed >>> 0;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const hex = (n: number) => n.toString(16);
  const v4 = (n: number, p: number) => {
    const m = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
    const a = (n & m) >>> 0;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${p}`;
  };
  const extra = (i: number): string => {
    const k = i % 7;
    if (k === 0) return `\n    ports: [${1 + rnd(65535)}, "${1000 + rnd(50)}-${1100 + rnd(50)}"]`;
    if (k === 1) return `\n    proto: tcp\n    ports: [443]`;
    if (k === 2) return '\n    proto: udp';
    return '';
  };
  // IPv6 network text (eight full groups) of `n` cut to `p` bits
  const v6 = (n: bigint, p: number) => {
    const a = n & ~((1n << BigInt(128 - p)) - 1n);
    const g = Array.from({ length: 8 }, (_, k) => hex(Number((a >> BigInt(112 - 16 * k)) & 0xffffn)));
    return `${g.join(':')}/${p}`;
  };
  const bits = (words: number) =>
    Array.from({ length: words }, () => BigInt(rnd(65536))).reduce((a, w) => (a << 16n) | w, 0n);
  const allow: string[] = [];
  const deny: string[] = [];
  const add = (cidr: string, i: number) =>
    (i % 9 === 4 ? deny : allow).push(`  - name: r${i}\n    cidr: "${cidr}"${extra(i)}`);
  let i = 0;
  // IPv4: nested and overlapping networks inside 10/8 and 172.16/12, plus scattered ones
  for (let k = 0; k < 1200; k++, i++) {
    const base = k % 3 === 0 ? 0x0a000000 : k % 3 === 1 ? 0xac100000 : (rnd(223) + 1) * 0x1000000;
    add(v4(base + rnd(1 << 20) * 16, 8 + rnd(25)), i);
  }
  // IPv6: consecutive /64s, nested /32–/128 networks in 2001:db8::/32, scattered ones
  for (let k = 0; k < 800; k++, i++) add(`2001:db8:${hex(k >>> 8)}:${hex(k & 255)}::/64`, i);
  for (let k = 0; k < 800; k++, i++) add(v6((0x20010db8n << 96n) | bits(6), 32 + rnd(97)), i);
  for (let k = 0; k < 200; k++, i++) add(v6((BigInt(0x2000 + rnd(0x1000)) << 112n) | bits(7), 16 + rnd(33)), i);
  // IPv4-mapped IPv6 networks, some reaching outside ::ffff:0:0/96
  for (let k = 0; k < 100; k++, i++) {
    const mapped = (0xffffn << 32n) | BigInt(rnd(0x7fffffff) * 2);
    add(k % 10 === 0 ? v6(mapped, 80 + rnd(17)) : v6(mapped, 96 + rnd(33)), i);
  }
  return ['version: 1', 'mode: enforce', 'allow:', ...allow, 'deny:', ...deny, ''].join('\n');
}
