/**
 * decode(encode(policy)) decides like the documented semantics: random policies (every rule kind, names files,
 * ports, protocols, deny rules, loopback on/off) are compiled through the whole pipeline; the reference matcher over
 * the compiled bytes and the independent AST-level implementation (reference-semantics.ts) must agree on the
 * decision, the rule and its index for thousands of random queries. Seeded: a failure prints its seed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicyText, loadCompiled } from '../../policy/index.js';
import { tempDir } from './helpers.js';
import { Reference } from './reference-semantics.js';

function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type R = ReturnType<typeof rng>;

const LABELS = ['a', 'b', 'api', 'x', 'www', 'svc'];
const TLDS = ['test', 'example'];
const PORTS = [1, 2, 22, 53, 79, 80, 81, 443, 5432, 7999, 8000, 8050, 8100, 8101, 65535];

const randName = (g: R, depth = 1 + g.int(3)) =>
  [...Array.from({ length: depth }, () => g.pick(LABELS)), g.pick(TLDS)].join('.');

const V4_BASES = [0x0a000000, 0x0a010000, 0x0a010200, 0xc0000200, 0x7f000000, 0xa9fea9fe, 0x00000000];
const v4s = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

function randV4Cidr(g: R): { text: string; start: number; end: number } {
  const prefix = g.pick([0, 8, 16, 24, 28, 31, 32]);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const base = (g.pick(V4_BASES) + g.int(256) * (g.next() < 0.3 ? 1 : 0)) >>> 0;
  const start = (base & mask) >>> 0;
  const end = (start | (~mask >>> 0)) >>> 0;
  return { text: `${v4s(start)}/${prefix}`, start, end };
}

const V6_CIDRS = [
  '2001:db8::/32',
  '2001:db8:1::/48',
  '2001:db8:1::1/128',
  'fd00::/8',
  '::ffff:10.0.0.0/104',
  '::/0',
  '::1/128',
];
const V6_ADDRS = [
  '2001:db8::1',
  '2001:db8:1::1',
  '2001:db8:1::2',
  '2001:db7:ffff::1',
  'fd00::5',
  'fe80::1',
  '::1',
  '::',
  '::ffff:10.1.2.3',
  '::ffff:c000:0201',
];

function randPorts(g: R): string {
  if (g.next() < 0.5) return '';
  const items = Array.from({ length: 1 + g.int(3) }, () => {
    if (g.next() < 0.6) return String(g.pick(PORTS));
    const a = g.pick(PORTS);
    const b = g.pick(PORTS);
    return `"${Math.min(a, b)}-${Math.max(a, b)}"`;
  });
  return `\n    ports: [${items.join(', ')}]`;
}

function randPolicy(g: R, dir: string, id: number): { text: string; names: string[] } {
  const used: string[] = [];
  const rule = (k: number): string => {
    const proto = g.next() < 0.3 ? `\n    proto: ${g.pick(['tcp', 'udp'])}` : '';
    const name = g.next() < 0.3 ? `\n    name: r${k}` : '';
    const kind = g.int(7);
    let dest: string;
    if (kind === 0) dest = `host: ${randName(g)}`;
    else if (kind === 1) dest = `host: "*.${randName(g, g.int(2))}"`;
    else if (kind === 2) dest = `cidr: ${randV4Cidr(g).text}`;
    else if (kind === 3) dest = `cidr: "${g.pick(V6_CIDRS)}"`;
    else if (kind === 4) dest = `ip: "${g.pick(['10.1.2.3', '192.0.2.1', '2001:db8::1', '::ffff:192.0.2.9'])}"`;
    else if (kind === 5) {
      const file = `names-${id}-${k}.txt`;
      const lines = Array.from({ length: 3 + g.int(10) }, () => {
        const n = g.next() < 0.3 ? `*.${randName(g, g.int(2))}` : randName(g);
        return g.next() < 0.2 ? `${n.toUpperCase()}.  # shouting, with a dot` : n;
      });
      writeFileSync(join(dir, file), `# random names\n${lines.join('\n')}\n`);
      dest = `hosts_file: ${file}`;
    } else {
      const n = randName(g);
      used.push(n);
      return `  - "${g.next() < 0.5 ? `${n}:${g.pick(PORTS)}` : `[2001:db8::1]:${g.pick(PORTS)}`}"`;
    }
    return `  - ${dest}${randPorts(g)}${proto}${name}`;
  };
  let k = 0;
  const allow = Array.from({ length: 1 + g.int(8) }, () => rule(k++));
  const deny = Array.from({ length: g.int(5) }, () => rule(k++));
  const text = [
    'version: 1',
    `mode: ${g.pick(['audit', 'enforce'])}`,
    `loopback: ${g.pick(['allow', 'deny'])}`,
    'allow:',
    ...allow,
    ...(deny.length ? ['deny:', ...deny] : []),
    '',
  ].join('\n');
  return { text, names: used };
}

type Decided = { decision: string; rule: string; ruleIndex: number | null };
/** Cheap comparison; builds the (large) failure context only on a mismatch. */
function same(got: Decided, want: Decided, context: () => string): void {
  if (got.decision !== want.decision || got.rule !== want.rule || got.ruleIndex !== want.ruleIndex) {
    expect(got, context()).toEqual(want);
  }
}

function randomizeCase(g: R, s: string): string {
  return [...s].map((c) => (g.next() < 0.3 ? c.toUpperCase() : c)).join('');
}

describe('compiled decisions equal the reference semantics', () => {
  const dir = tempDir('egp-diff-');
  const POLICIES = 30;
  const QUERIES = 200;

  it(`${POLICIES} random policies × ${QUERIES * 2} random queries`, async () => {
    let compared = 0;
    const tally = { nameOther: 0, nameRule: 0, addrOther: 0, addrRule: 0 };
    for (let seed = 1; seed <= POLICIES; seed++) {
      const g = rng(seed * 7919);
      const { text } = randPolicy(g, dir, seed);
      const file = `p${seed}.yaml`;
      writeFileSync(join(dir, file), text);
      const r = await compilePolicyText(text, file, { cwd: dir });
      const compiled = loadCompiled(r.bytes);
      // the same policy in every format version (docs/FORMAT.md "History") decides every query alike
      const versions = [];
      for (const v of [1, 2, 3] as const) {
        versions.push(loadCompiled((await compilePolicyText(text, file, { cwd: dir, formatVersion: v })).bytes));
        expect(versions[versions.length - 1]!.version).toBe(v);
      }
      const ref = new Reference(r.ast);
      const ctx = (q: unknown) => `seed ${seed}, query ${JSON.stringify(q)}\n${text}`;
      for (let i = 0; i < QUERIES; i++) {
        // name query
        let name = randName(g, 1 + g.int(4));
        if (g.next() < 0.1) name = g.pick(['localhost', 'db.localhost', 'localhost.test', 'test', 'example']);
        if (g.next() < 0.3) name = randomizeCase(g, name);
        if (g.next() < 0.2) name += '.';
        const port = g.next() < 0.4 ? undefined : g.pick(PORTS);
        const proto = g.next() < 0.3 ? undefined : g.pick(['tcp', 'udp'] as const);
        same(compiled.decideName(name, port, proto), ref.decideName(name, port, proto), () =>
          ctx({ name, port, proto }),
        );
        for (const p of versions) {
          same(p.decideName(name, port, proto), ref.decideName(name, port, proto), () =>
            ctx({ name, port, proto, version: p.version }),
          );
        }
        // address query: near rule boundaries, IPv4, IPv4-mapped, IPv6, loopback
        let ip: string;
        const c = randV4Cidr(g);
        const kind = g.int(5);
        if (kind === 0) ip = v4s(c.start);
        else if (kind === 1) ip = v4s(c.end);
        else if (kind === 2) ip = v4s((c.start - 1) >>> 0);
        else if (kind === 3) ip = v4s((c.end + 1) >>> 0);
        else ip = g.pick(V6_ADDRS);
        if (kind < 4 && g.next() < 0.25) ip = `::ffff:${ip}`;
        const bound = g.next() < 0.4 ? randName(g) : undefined;
        const aport = g.pick(PORTS);
        const aproto = g.pick(['tcp', 'udp'] as const);
        same(compiled.decideAddr(ip, aport, aproto, bound), ref.decideAddr(ip, aport, aproto, bound), () =>
          ctx({ ip, aport, aproto, bound }),
        );
        for (const p of versions) {
          same(p.decideAddr(ip, aport, aproto, bound), ref.decideAddr(ip, aport, aproto, bound), () =>
            ctx({ ip, aport, aproto, bound, version: p.version }),
          );
        }
        compared += 2;
        tally[compiled.decideName(name, port, proto).ruleIndex === null ? 'nameOther' : 'nameRule']++;
        tally[compiled.decideAddr(ip, aport, aproto, bound).ruleIndex === null ? 'addrOther' : 'addrRule']++;
      }
    }
    expect(compared).toBe(POLICIES * QUERIES * 2);
    // the queries exercise the rules, not just the default: a good share is decided by a rule
    expect(tally.nameRule).toBeGreaterThan(POLICIES * QUERIES * 0.2);
    expect(tally.addrRule).toBeGreaterThan(POLICIES * QUERIES * 0.2);
  });
});
