/**
 * Differential test: the C matcher (native/build/egpq, the interposer's own loader + matcher objects) and the TS
 * reference matcher (`loadCompiled`) must give the same decision, rule and ruleIndex for every query — ≥ 100,000
 * random queries over several policies compiled by the real compiler: exact and wildcard names (overlapping allow and
 * deny), IPv4/IPv6 CIDRs with holes, IPv4-mapped addresses, port lists and ranges, tcp/udp/any, bound names,
 * unknown ports/protocols, loopback allowed or denied. Deterministic (seeded PRNG) so a failure reproduces.
 * Every policy is compiled in every format version (docs/FORMAT.md "History"); the version 2 and 3 files must also
 * decide every query exactly as the version 1 file of the same policy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyTextSync, type DecisionResult, loadCompiled, type QueryProto } from '../../policy/index.js';
import { need, runs } from '../support/capability.js';

const ROOT = join(import.meta.dirname, '../..');
const EGPQ = join(ROOT, 'native/build/egpq');
const haveCc = need(
  'a C compiler and make',
  runs('cc', ['--version']) && runs('make', ['--version']),
  'cc/make missing',
);

/** xorshift32: deterministic across runs. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

interface Gen {
  rnd: () => number;
  pick<T>(xs: readonly T[]): T;
  int(lo: number, hi: number): number;
}
function gen(seed: number): Gen {
  const rnd = prng(seed);
  return {
    rnd,
    pick: (xs) => xs[Math.floor(rnd() * xs.length)]!,
    int: (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)),
  };
}

const LABELS = ['api', 'www', 'a', 'b', 'svc', 'x1', 'data', 'cdn', 'eu-west-1', 'internal', 'db', 'q'];
const TLDS = ['com', 'net', 'io', 'org', 'internal'];

function randName(g: Gen, depth = g.int(1, 3)): string {
  const parts = [g.pick(TLDS)];
  for (let i = 0; i < depth; i++) parts.unshift(g.pick(LABELS));
  return parts.join('.');
}

function v4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
function v6(groups: number[]): string {
  return groups.map((x) => x.toString(16)).join(':');
}

interface PolicySpec {
  yaml: string;
  names: string[];
  v4nets: Array<[number, number]>; // [start, end] inclusive
  v6bases: number[][];
  ports: number[];
}

/** A random policy. `size` rules; `flavour` biases the rule kinds. */
function randomPolicy(g: Gen, size: number, flavour: 'mixed' | 'wild' | 'v6', loopback: boolean): PolicySpec {
  const names: string[] = [];
  const v4nets: Array<[number, number]> = [];
  const v6bases: number[][] = [];
  const ports: number[] = [];
  const rule = (): string => {
    const r = g.rnd();
    const lines: string[] = [];
    const kind =
      flavour === 'wild'
        ? r < 0.6
          ? 'wild'
          : r < 0.9
            ? 'host'
            : 'cidr4'
        : flavour === 'v6'
          ? r < 0.6
            ? 'cidr6'
            : r < 0.8
              ? 'cidr4'
              : 'host'
          : g.pick(['host', 'wild', 'cidr4', 'cidr6', 'ip'] as const);
    if (kind === 'host' || kind === 'wild') {
      const n = randName(g);
      names.push(n);
      lines.push(`  - host: "${kind === 'wild' ? '*.' : ''}${n}"`);
    } else if (kind === 'cidr4' || kind === 'ip') {
      const bits = kind === 'ip' ? 32 : g.int(8, 30);
      const base = (g.pick([10, 172, 192, 100]) << 24) | (g.int(0, 3) << 16) | (g.int(0, 255) << 8);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      const start = (base & mask) >>> 0;
      const end = (start | (~mask >>> 0)) >>> 0;
      v4nets.push([start, end]);
      lines.push(kind === 'ip' ? `  - ip: ${v4(start)}` : `  - cidr: ${v4(start)}/${bits}`);
    } else {
      const base = [0x2001, 0xdb8, g.int(0, 3), g.int(0, 0xffff), 0, 0, 0, 0];
      const bits = g.pick([32, 48, 64, 96, 120, 128]);
      for (let i = 0; i < 8; i++) if (i * 16 >= bits) base[i] = 0;
      v6bases.push(base);
      lines.push(`  - cidr: "${v6(base)}/${bits}"`);
    }
    if (g.rnd() < 0.5) {
      const ps: Array<number | string> = [];
      for (let i = g.int(1, 3); i > 0; i--) {
        const p = g.pick([22, 53, 80, 443, 5432, 8080, g.int(1, 65535)]);
        ports.push(p);
        if (g.rnd() < 0.3) {
          const hi = Math.min(65535, p + g.int(1, 200));
          ports.push(hi);
          ps.push(`"${p}-${hi}"`);
        } else ps.push(p);
      }
      lines.push(`    ports: [${ps.join(', ')}]`);
    }
    const pr = g.rnd();
    if (pr < 0.2) lines.push('    proto: udp');
    else if (pr < 0.45) lines.push('    proto: tcp');
    return lines.join('\n');
  };
  const allow: string[] = [];
  const deny: string[] = [];
  for (let i = 0; i < size; i++) (g.rnd() < 0.7 ? allow : deny).push(rule());
  // denies under allowed wildcards (holes), the classic overlap
  for (let i = 0; i < Math.min(5, names.length); i++) deny.push(`  - host: "${g.pick(LABELS)}.${g.pick(names)}"`);
  const yaml = [
    'version: 1',
    `mode: ${g.rnd() < 0.5 ? 'enforce' : 'audit'}`,
    `loopback: ${loopback ? 'allow' : 'deny'}`,
    'allow:',
    ...allow,
    ...(deny.length ? ['deny:', ...deny] : []),
    '',
  ].join('\n');
  return { yaml, names, v4nets, v6bases, ports };
}

type Query =
  | { q: 'name'; name: string; port?: number; proto?: QueryProto }
  | { q: 'addr'; ip: string; port: number; proto: QueryProto; bound?: string };

function randomQueries(g: Gen, spec: PolicySpec, n: number): Query[] {
  const out: Query[] = [];
  const port = (): number => (g.rnd() < 0.6 && spec.ports.length ? g.pick(spec.ports) + g.int(-1, 1) : g.int(1, 65535));
  const name = (): string => {
    const r = g.rnd();
    if (r < 0.3 && spec.names.length) return g.pick(spec.names);
    if (r < 0.55 && spec.names.length) return `${g.pick(LABELS)}.${g.pick(spec.names)}`;
    if (r < 0.65 && spec.names.length) return `${g.pick(LABELS)}.${g.pick(LABELS)}.${g.pick(spec.names)}`;
    if (r < 0.72 && spec.names.length) return g.pick(spec.names).split('.').slice(1).join('.') || 'com';
    if (r < 0.76) return g.pick(['localhost', 'a.localhost', 'localhost.com', 'xlocalhost']);
    return randName(g);
  };
  for (let i = 0; i < n; i++) {
    const proto: QueryProto = g.rnd() < 0.5 ? 'tcp' : 'udp';
    if (g.rnd() < 0.4) {
      const q: Query = { q: 'name', name: name() };
      if (g.rnd() < 0.6) q.port = port();
      if (g.rnd() < 0.6) q.proto = proto;
      out.push(q);
      continue;
    }
    let ip: string;
    const r = g.rnd();
    if (r < 0.45 && spec.v4nets.length) {
      const [s, e] = g.pick(spec.v4nets);
      const at = g.pick([s, e, (s - 1) >>> 0, (e + 1) >>> 0, s + Math.floor((e - s) * g.rnd())]);
      ip = g.rnd() < 0.15 ? `::ffff:${v4(at >>> 0)}` : v4(at >>> 0);
    } else if (r < 0.75 && spec.v6bases.length) {
      const b = [...g.pick(spec.v6bases)];
      const k = g.int(0, 7);
      b[k] = (b[k]! + g.int(-1, 1) + 0x10000) & 0xffff;
      ip = v6(b);
    } else if (r < 0.8) {
      ip = g.pick(['127.0.0.1', '127.9.9.9', '::1', '::2', '128.0.0.1', '0.0.0.0', '255.255.255.255', '::']);
    } else {
      ip = v4(Math.floor(g.rnd() * 4294967296));
    }
    const q: Query = { q: 'addr', ip, port: port(), proto };
    if (g.rnd() < 0.5) q.bound = name();
    out.push(q);
  }
  return out;
}

function toLine(q: Query): string {
  if (q.q === 'name') return `name ${q.name} ${q.port ?? '-'} ${q.proto ?? '-'}`;
  return `addr ${q.ip} ${q.port} ${q.proto}${q.bound ? ` ${q.bound}` : ''}`;
}

const POLICIES: Array<{
  label: string;
  seed: number;
  size: number;
  flavour: 'mixed' | 'wild' | 'v6';
  loopback: boolean;
  queries: number;
}> = [
  { label: 'mixed, 60 rules, loopback allowed', seed: 11, size: 60, flavour: 'mixed', loopback: true, queries: 30_000 },
  {
    label: 'wildcard-heavy, 40 rules, loopback denied',
    seed: 22,
    size: 40,
    flavour: 'wild',
    loopback: false,
    queries: 25_000,
  },
  { label: 'IPv6-heavy, 50 rules', seed: 33, size: 50, flavour: 'v6', loopback: true, queries: 25_000 },
  { label: 'mixed, 1500 rules', seed: 44, size: 1500, flavour: 'mixed', loopback: false, queries: 25_000 },
];

describe.skipIf(!haveCc).each([1, 2, 3] as const)(
  'C matcher (egpq) agrees with the TS reference matcher, format version %i',
  (version) => {
    let dir = '';
    beforeAll(() => {
      const r = spawnSync('make', ['-s', '-C', join(ROOT, 'native'), 'build/egpq'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`building egpq failed: ${r.stderr}`);
      dir = mkdtempSync(join(tmpdir(), 'egdiff-'));
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    let total = 0;
    it.each(POLICIES)('$label', ({ seed, size, flavour, loopback, queries }) => {
      const g = gen(seed);
      const spec = randomPolicy(g, size, flavour, loopback);
      const { bytes } = compilePolicyTextSync(spec.yaml, `diff-${seed}.yaml`, { formatVersion: version });
      const file = join(dir, `p${seed}.egp`);
      writeFileSync(file, bytes);
      const ref = loadCompiled(bytes);
      expect(ref.version).toBe(version);
      const v1 =
        version === 1
          ? ref
          : loadCompiled(compilePolicyTextSync(spec.yaml, `diff-${seed}.yaml`, { formatVersion: 1 }).bytes);
      const qs = randomQueries(g, spec, queries);
      const r = spawnSync(EGPQ, [file], {
        input: `${qs.map(toLine).join('\n')}\n`,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      expect(r.status, r.stderr).toBe(0);
      const got = r.stdout.trimEnd().split('\n');
      expect(got.length).toBe(qs.length);
      const mismatches: string[] = [];
      const seen = { allow: 0, deny: 0, rules: new Set<string>() };
      qs.forEach((q, i) => {
        const want: DecisionResult =
          q.q === 'name' ? ref.decideName(q.name, q.port, q.proto) : ref.decideAddr(q.ip, q.port, q.proto, q.bound);
        const c = JSON.parse(got[i]!) as DecisionResult;
        if (v1 !== ref) {
          const old =
            q.q === 'name' ? v1.decideName(q.name, q.port, q.proto) : v1.decideAddr(q.ip, q.port, q.proto, q.bound);
          if (old.decision !== want.decision || old.rule !== want.rule || old.ruleIndex !== want.ruleIndex) {
            if (mismatches.length < 5)
              mismatches.push(`${toLine(q)} → v1 ${JSON.stringify(old)} vs v${version} ${JSON.stringify(want)}`);
          }
        }
        seen[want.decision]++;
        seen.rules.add(want.rule);
        if (c.decision !== want.decision || c.rule !== want.rule || c.ruleIndex !== want.ruleIndex) {
          if (mismatches.length < 5) mismatches.push(`${toLine(q)} → C ${got[i]} vs TS ${JSON.stringify(want)}`);
        }
      });
      expect(mismatches).toEqual([]);
      // the queries exercise both outcomes and many rules (a generator producing only "default" would prove nothing)
      expect(seen.allow).toBeGreaterThan(queries * 0.05);
      expect(seen.deny).toBeGreaterThan(queries * 0.05);
      expect(seen.rules.size).toBeGreaterThan(Math.min(20, size / 3));
      total += qs.length;
    });

    it('covered at least 100,000 queries in total', () => {
      expect(total).toBeGreaterThanOrEqual(100_000);
    });
  },
);
