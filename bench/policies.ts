/**
 * Policy generators for `npm run bench` (bench/run.ts). The hook, start-up, memory and compile benchmarks use YAML
 * compiled by the real compiler (`egress-guard compile`), so they measure the files users ship.
 *
 * - `hooksPolicy()`: the 100-rule policy of the hook loops: exact names, wildcards, IPv4 and IPv6 CIDRs with ports,
 *   deny rules, `loopback: deny` and explicit `ip: 127.0.0.1` / `host: localhost` rules — so the loopback traffic of
 *   the loops is allowed by a rule found in the tables, not by the loopback shortcut.
 * - `sizedPolicy(n)`: n rules for the decision-cost benchmark (70 % exact names, 15 % wildcards, 10 % IPv4 /24s,
 *   5 % IPv6 /64s, one in ten a deny), as `mkpolicy` input (see there why), and queries that hit rules spread over the
 *   whole policy (the `decide` program's input format).
 * - `denylistPolicy(n)`: `hooksPolicy()` plus an n-name threat-feed denylist (10 % wildcards): the compile benchmark.
 * All generators are deterministic (fixed-seed PRNG), so two runs compile the same bytes.
 */

/** xorshift32: deterministic, fast, good enough to spread entries. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function hooksPolicy(): string {
  const allow: string[] = ['  - ip: 127.0.0.1', '  - host: localhost'];
  for (let i = 0; i < 40; i++) allow.push(`  - host: svc${i}.api.example.com\n    ports: [443]`);
  for (let i = 0; i < 20; i++) allow.push(`  - host: "*.region${i}.amazonaws.com"\n    ports: [443]`);
  for (let i = 0; i < 14; i++) allow.push(`  - cidr: 10.${i}.0.0/16\n    ports: [5432, "8000-8100"]`);
  for (let i = 0; i < 9; i++) allow.push(`  - cidr: "2001:db8:${i.toString(16)}::/48"`);
  const deny: string[] = [];
  for (let i = 0; i < 10; i++) deny.push(`  - host: "*.bad${i}.example"`);
  for (let i = 0; i < 5; i++) deny.push(`  - cidr: 10.${i}.${i}.0/24\n    proto: tcp`);
  // 2 + 40 + 20 + 14 + 9 allow + 15 deny = 100 rules
  return `version: 1\nmode: audit\nloopback: deny\nallow:\n${allow.join('\n')}\ndeny:\n${deny.join('\n')}\n`;
}

export interface SizedPolicy {
  /** rule lines for native/build/mkpolicy (the C test writer: same FORMAT.md file, one rule per entry) */
  rules: string;
  queries: string;
}

const hex = (n: number) => n.toString(16);

/**
 * n rules (n >= 4) for the decision benchmark, written by `mkpolicy` rather than the YAML compiler: parsing 150,000
 * CIDR rules of YAML takes ≈ 12 s (measured; BENCHMARKS.md), and the matcher only sees the compiled tables.
 */
export function sizedPolicy(n: number): SizedPolicy {
  const rnd = prng(0x9e3779b9 ^ n);
  const v4 = Math.max(1, Math.round(n * 0.1));
  const v6 = Math.max(1, Math.round(n * 0.05));
  const wild = Math.max(1, Math.round(n * 0.15));
  const exact = n - v4 - v6 - wild;
  const pick = (count: number) => {
    // up to 4,096 indices spread over [0, count)
    const k = Math.min(count, 4096);
    return Array.from({ length: k }, (_, j) => Math.floor(((j + (rnd() % 1000) / 1000) * count) / k));
  };
  const exactName = (i: number) => `h${i}-${hex((i * 2654435761) & 0xffff)}.svc${i % 97}.example.com`;
  const wildName = (i: number) => `w${i}.zone${i % 89}.example.net`;
  const v4net = (i: number) => `${10 + ((i >>> 16) % 200)}.${(i >>> 8) & 255}.${i & 255}`;
  const v6net = (i: number) => `2001:db8:${hex(i >>> 16)}:${hex(i & 0xffff)}`;
  const lines: string[] = [];
  // every tenth rule a deny, ports on a third (as real policies mix them); queries use port 443
  const act = (i: number) => (i % 10 === 9 ? 'deny' : 'allow');
  const ports = (i: number) => (i % 3 === 0 ? '443' : '*');
  for (let i = 0; i < exact; i++) lines.push(`${act(i)} any host ${exactName(i)} ${ports(i)} e${i}`);
  for (let i = 0; i < wild; i++) lines.push(`${act(i)} any wild ${wildName(i)} ${ports(i)} w${i}`);
  for (let i = 0; i < v4; i++) lines.push(`${act(i)} any cidr ${v4net(i)}.0/24 ${ports(i)} c${i}`);
  for (let i = 0; i < v6; i++) lines.push(`${act(i)} any cidr ${v6net(i)}::/64 ${ports(i)} s${i}`);
  const q: string[] = [];
  for (const i of pick(exact)) q.push(`n ${exactName(i)}`);
  for (const i of pick(wild)) q.push(`w api.${wildName(i)}`);
  for (const i of pick(v4)) q.push(`4 ${v4net(i)}.${1 + (rnd() % 254)}`);
  for (const i of pick(v6)) q.push(`6 ${v6net(i)}::${hex(1 + (rnd() % 0xfffe))}`);
  // shuffle so consecutive lookups do not walk the table in order
  for (let i = q.length - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [q[i], q[j]] = [q[j]!, q[i]!];
  }
  return { rules: `${lines.join('\n')}\n`, queries: `${q.join('\n')}\n` };
}

/** The 100-rule policy plus an n-name denylist read from `namesFileName` (threat-feed-like, 10 % wildcards). */
export function denylistPolicy(n: number, namesFileName: string): { yaml: string; namesFile: string } {
  const rnd = prng(0x12345678);
  const tld = ['com', 'net', 'org', 'info', 'xyz', 'top'];
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = rnd();
    const name = `${(x >>> 8).toString(36)}-${i.toString(36)}.${tld[x % 6]}`;
    parts.push(i % 10 === 0 ? `*.${name}` : x % 3 === 0 ? `cdn.${name}` : name);
  }
  return {
    yaml: `${hooksPolicy()}  - name: threat-feed\n    hosts_file: ${namesFileName}\n`,
    namesFile: `# generated feed: ${n} names\n${parts.join('\n')}\n`,
  };
}
