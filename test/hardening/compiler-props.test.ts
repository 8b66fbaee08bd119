/**
 * The policy compiler under random and hostile input (fast-check).
 *
 * - Random VALID policies (exact and wildcard hosts, IPv4/IPv6 CIDRs and single IPs, port lists and ranges, proto,
 *   loopback, mode): compile → the compiled file, read by the reference matcher, decides every random query exactly
 *   as an independent model of docs/FORMAT.md "Decisions" written here from the page (rule order, deny before allow,
 *   lowest index, wildcard strictly below its suffix, unknown port/proto rules, bound names, loopback).
 * - Random INVALID input (arbitrary text, arbitrary YAML values, valid policies with one value replaced by garbage):
 *   either it compiles (and then the file loads) or it throws PolicyError whose every diagnostic has a stable code,
 *   the file name and a 1-based line:col — never another exception, never a crash.
 * - Hostile input: YAML alias bombs, deep nesting, an enormous file, non-UTF-8 bytes and UTF-16.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicyFileSync, compilePolicyTextSync, loadCompiled, PolicyError } from '../../policy/index.js';

// ---------- model of a policy and of FORMAT.md "Decisions" ----------
type Proto = 'tcp' | 'udp';
type Target =
  | { kind: 'host'; name: string }
  | { kind: 'wild'; suffix: string }
  | { kind: 'net'; v6: boolean; base: bigint; prefix: number };
interface Rule {
  action: 'allow' | 'deny';
  target: Target;
  ports: [number, number][]; // empty = every port
  proto?: Proto;
}
interface Model {
  mode: 'audit' | 'enforce';
  loopback: 'allow' | 'deny';
  allow: Rule[];
  deny: Rule[];
}

const LABELS = ['a', 'b', 'api', 'x1', 'svc'];
const BASE = 'ex.test';
const nameArb = fc
  .array(fc.constantFrom(...LABELS), { minLength: 0, maxLength: 3 })
  .map((ls) => [...ls, BASE].join('.'));
const portRangeArb = fc.oneof(
  fc.constantFrom(80, 443, 5432, 8080).map((p): [number, number] => [p, p]),
  fc
    .tuple(fc.integer({ min: 1, max: 9000 }), fc.integer({ min: 0, max: 200 }))
    .map(([lo, w]): [number, number] => [lo, Math.min(65535, lo + w)]),
);
const v4Arb = fc.tuple(
  fc.integer({ min: 0, max: 3 }),
  fc.integer({ min: 0, max: 255 }),
  fc.integer({ min: 0, max: 255 }),
);
function mask(v: bigint, bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return v & (all ^ ((1n << BigInt(bits - prefix)) - 1n));
}
const targetArb: fc.Arbitrary<Target> = fc.oneof(
  nameArb.map((name): Target => ({ kind: 'host', name })),
  nameArb.map((suffix): Target => ({ kind: 'wild', suffix })),
  fc.tuple(v4Arb, fc.integer({ min: 8, max: 32 })).map(([[b, c, d], prefix]): Target => {
    const v = (10n << 24n) | (BigInt(b) << 16n) | (BigInt(c) << 8n) | BigInt(d);
    return { kind: 'net', v6: false, base: mask(v, 32, prefix), prefix };
  }),
  fc
    .tuple(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), fc.integer({ min: 32, max: 128 }))
    .map(([low, prefix]): Target => {
      const v = (0x20010db8n << 96n) | (low << 64n) | low;
      return { kind: 'net', v6: true, base: mask(v, 128, prefix), prefix };
    }),
);
const ruleArb = (action: 'allow' | 'deny'): fc.Arbitrary<Rule> =>
  fc.record({
    action: fc.constant(action),
    target: targetArb,
    ports: fc.oneof(fc.constant([] as [number, number][]), fc.array(portRangeArb, { minLength: 1, maxLength: 3 })),
    proto: fc.option(fc.constantFrom<Proto>('tcp', 'udp'), { nil: undefined }),
  });
const modelArb: fc.Arbitrary<Model> = fc.record({
  mode: fc.constantFrom('audit' as const, 'enforce' as const),
  loopback: fc.constantFrom('allow' as const, 'deny' as const),
  allow: fc.array(ruleArb('allow'), { minLength: 1, maxLength: 8 }),
  deny: fc.array(ruleArb('deny'), { minLength: 0, maxLength: 5 }),
});

function ipText(v: bigint, v6: boolean): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':');
}

function toYaml(m: Model): string {
  const rule = (r: Rule, name: string) => {
    const t = r.target;
    const target =
      t.kind === 'host'
        ? `host: "${t.name}"`
        : t.kind === 'wild'
          ? `host: "*.${t.suffix}"`
          : `cidr: "${ipText(t.base, t.v6)}/${t.prefix}"`;
    const ports = r.ports.length
      ? `\n    ports: [${r.ports.map(([lo, hi]) => (lo === hi ? `${lo}` : `"${lo}-${hi}"`)).join(', ')}]`
      : '';
    const proto = r.proto ? `\n    proto: ${r.proto}` : '';
    return `  - name: ${name}\n    ${target}${ports}${proto}\n`;
  };
  let y = `version: 1\nmode: ${m.mode}\nloopback: ${m.loopback}\nallow:\n`;
  m.allow.forEach((r, i) => {
    y += rule(r, `a${i}`);
  });
  if (m.deny.length) {
    y += 'deny:\n';
    m.deny.forEach((r, i) => {
      y += rule(r, `d${i}`);
    });
  }
  return y;
}

interface Query {
  name?: string;
  ip?: { v: bigint; v6: boolean };
  port?: number;
  proto?: Proto;
  bound?: string;
}

/** FORMAT.md "A rule matches the use". */
function matchesUse(r: Rule, port: number | undefined, proto: Proto | undefined): boolean {
  if (proto !== undefined && r.proto !== undefined && r.proto !== proto) return false;
  if (r.action === 'deny' && proto === undefined && r.proto !== undefined) return false;
  if (r.ports.length === 0) return true;
  if (port === undefined) return r.action === 'allow';
  return r.ports.some(([lo, hi]) => port >= lo && port <= hi);
}
function nameHits(r: Rule, name: string): boolean {
  const t = r.target;
  if (t.kind === 'host') return t.name === name;
  if (t.kind === 'wild') return name.endsWith(`.${t.suffix}`);
  return false;
}
function ipHits(r: Rule, ip: { v: bigint; v6: boolean }): boolean {
  const t = r.target;
  if (t.kind !== 'net' || t.v6 !== ip.v6) return false;
  return mask(ip.v, t.v6 ? 128 : 32, t.prefix) === t.base;
}
type Decision = { decision: 'allow' | 'deny'; rule: string };
function decide(m: Model, q: Query): Decision {
  const rules = [...m.allow.map((r, i) => ({ r, n: `a${i}` })), ...m.deny.map((r, i) => ({ r, n: `d${i}` }))];
  const first = (pred: (r: Rule) => boolean, action: 'allow' | 'deny') =>
    rules.find(({ r }) => r.action === action && pred(r) && matchesUse(r, q.port, q.proto));
  const loop = m.loopback === 'allow';
  if (q.ip === undefined) {
    const name = q.name as string;
    const d = first((r) => nameHits(r, name), 'deny');
    if (d) return { decision: 'deny', rule: d.n };
    const a = first((r) => nameHits(r, name), 'allow');
    if (a) return { decision: 'allow', rule: a.n };
    // FORMAT.md "Name decision" step 3: `localhost` only (glibc sends a name below it to DNS)
    if (loop && name === 'localhost') return { decision: 'allow', rule: 'builtin:loopback' };
    return { decision: 'deny', rule: 'default' };
  }
  const ip = q.ip;
  const b = q.bound;
  const steps: [(r: Rule) => boolean, 'allow' | 'deny'][] = [
    [(r) => ipHits(r, ip), 'deny'],
    [(r) => b !== undefined && nameHits(r, b), 'deny'],
    [(r) => ipHits(r, ip), 'allow'],
    [(r) => b !== undefined && nameHits(r, b), 'allow'],
  ];
  for (const [pred, action] of steps) {
    const hit = first(pred, action);
    if (hit) return { decision: action, rule: hit.n };
  }
  const isLoop = ip.v6 ? ip.v === 1n : ip.v >> 24n === 127n;
  if (loop && isLoop) return { decision: 'allow', rule: 'builtin:loopback' };
  return { decision: 'deny', rule: 'default' };
}

const queryArb = (m: Model): fc.Arbitrary<Query> => {
  const nets = [...m.allow, ...m.deny]
    .map((r) => r.target)
    .filter((t): t is Extract<Target, { kind: 'net' }> => t.kind === 'net');
  const ipArb = fc.oneof(
    v4Arb.map(([b, c, d]) => ({ v: (10n << 24n) | (BigInt(b) << 16n) | (BigInt(c) << 8n) | BigInt(d), v6: false })),
    fc
      .bigInt({ min: 0n, max: (1n << 32n) - 1n })
      .map((low) => ({ v: (0x20010db8n << 96n) | (low << 64n) | low, v6: true })),
    fc.constantFrom({ v: 0x7f000001n, v6: false }, { v: 1n, v6: true }, { v: 0xc0a80001n, v6: false }),
    ...(nets.length
      ? [
          fc.tuple(fc.constantFrom(...nets), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([t, r]) => {
            const bits = t.v6 ? 128 : 32;
            const host = r & ((1n << BigInt(bits - t.prefix)) - 1n);
            return { v: t.base | host, v6: t.v6 };
          }),
        ]
      : []),
  );
  const portArb = fc.option(fc.oneof(fc.constantFrom(80, 443, 5432, 8080), fc.integer({ min: 1, max: 65535 })), {
    nil: undefined,
  });
  const protoArb = fc.option(fc.constantFrom<Proto>('tcp', 'udp'), { nil: undefined });
  const nameQ = fc.oneof(nameArb, fc.constantFrom('localhost', 'db.localhost', 'other.test', BASE));
  return fc.oneof(
    fc.record({ name: nameQ, port: portArb, proto: protoArb }),
    fc.record({
      ip: ipArb,
      port: fc.oneof(fc.constantFrom(80, 443, 5432, 8080), fc.integer({ min: 1, max: 65535 })),
      proto: fc.constantFrom<Proto>('tcp', 'udp'),
      bound: fc.option(nameArb, { nil: undefined }),
    }),
  );
};

function compileOrExplain(yaml: string) {
  try {
    return compilePolicyTextSync(yaml, 'random.yaml');
  } catch (e) {
    if (e instanceof PolicyError) throw new Error(`valid policy rejected:\n${yaml}\n${e.format()}`);
    throw e;
  }
}

describe('compiler: random valid policies decide as FORMAT.md says', () => {
  it('compile → reference matcher == the model, for random queries', () => {
    fc.assert(
      fc.property(
        modelArb.chain((m) => fc.tuple(fc.constant(m), fc.array(queryArb(m), { minLength: 40, maxLength: 40 }))),
        ([m, queries]) => {
          const yaml = toYaml(m);
          const p = loadCompiled(compileOrExplain(yaml).bytes);
          expect(p.mode).toBe(m.mode);
          for (const q of queries) {
            const want = decide(m, q);
            const got =
              q.ip === undefined
                ? p.decideName(q.name as string, q.port, q.proto)
                : p.decideAddr(ipText(q.ip.v, q.ip.v6), q.port, q.proto, q.bound);
            expect(
              { decision: got.decision, rule: got.rule },
              `${yaml}\n${JSON.stringify(q, (_, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`,
            ).toEqual(want);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

// ---------- invalid input ----------
function expectCleanOutcome(text: string, file = 'bad.yaml'): void {
  let out: ReturnType<typeof compilePolicyTextSync> | undefined;
  try {
    out = compilePolicyTextSync(text, file);
  } catch (e) {
    if (!(e instanceof PolicyError))
      throw new Error(`not a PolicyError for ${JSON.stringify(text).slice(0, 300)}: ${String(e)}`);
    const errors = e.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    for (const d of e.diagnostics) {
      expect(d.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(d.file).toBe(file);
      expect(d.message.length).toBeGreaterThan(0);
      expect(Number.isInteger(d.line) && d.line >= 1).toBe(true);
      expect(Number.isInteger(d.col) && d.col >= 1).toBe(true);
    }
    expect(e.format()).toContain(file);
    return;
  }
  expect(() => loadCompiled(out.bytes)).not.toThrow();
}

const garbageArb = fc.oneof(
  fc.jsonValue(),
  fc.string(),
  fc.constantFrom(
    null,
    -1,
    0,
    1.5,
    1e300,
    '',
    '*',
    '*.',
    '::',
    '0.0.0.0/-1',
    '10.0.0.0/33',
    '65536',
    '1-0',
    'x'.repeat(300),
    '\u0000',
    '☃',
  ),
);
const KEYS = ['version', 'mode', 'loopback', 'allow', 'deny', 'budgets'];

describe('compiler: invalid input gives a clean, located error', () => {
  it('arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (t) => expectCleanOutcome(t)),
      { numRuns: 300 },
    );
  });
  it('arbitrary YAML values at the top and under every key', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...KEYS, 'extra'), garbageArb), (doc) =>
        expectCleanOutcome(JSON.stringify({ version: 1, ...doc })),
      ),
      { numRuns: 300 },
    );
  });
  it('a valid policy with one rule field replaced by garbage', () => {
    const fields = ['host', 'cidr', 'ip', 'ports', 'proto', 'name', 'hosts_file', 'bogus'];
    fc.assert(
      fc.property(modelArb, fc.constantFrom(...fields), garbageArb, fc.nat(20), (m, field, value, at) => {
        const doc = {
          version: 1,
          mode: m.mode,
          allow: [{ host: 'a.ex.test' }, { cidr: '10.0.0.0/8', ports: [443] }] as Record<string, unknown>[],
        };
        const rule = doc.allow[at % doc.allow.length] as Record<string, unknown>;
        rule[field] = value;
        expectCleanOutcome(`# comment\n${JSON.stringify(doc, null, 1)}\n`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('compiler: hostile input', () => {
  it('a billion-laughs alias bomb fails with YAML_ALIAS_LIMIT', () => {
    let y = 'a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]\n';
    for (let i = 1; i < 10; i++)
      y += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    y += 'version: 1\nallow: *a9\n';
    try {
      compilePolicyTextSync(y, 'bomb.yaml');
      expect.unreachable('the bomb compiled');
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      expect((e as PolicyError).diagnostics.map((d) => d.code)).toContain('YAML_ALIAS_LIMIT');
    }
  });
  it('deeply nested flow and block collections: a clean error, no stack overflow', () => {
    expectCleanOutcome(`version: 1\nallow: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
    expectCleanOutcome(`version: 1\nallow: ${'['.repeat(50_000)}\n`);
    expectCleanOutcome(`version: 1\nallow: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}\n`);
    let block = 'version: 1\nallow:\n';
    for (let i = 0; i < 2000; i++) block += `${' '.repeat(2 + i)}-\n`;
    expectCleanOutcome(block);
  });
  it('an enormous file (5 MB in one line; 20,000 garbage rules) fails cleanly', () => {
    expectCleanOutcome(`version: 1\n# ${'x'.repeat(5_000_000)}\nallow: 7\n`);
    expectCleanOutcome(`version: 1\nallow:\n${'  - host: "not a host!"\n'.repeat(20_000)}`);
  }, 120_000);
  it('non-UTF-8 bytes in a host fail with a located error; UTF-16 input fails cleanly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-hard-'));
    const bad = join(dir, 'latin1.yaml');
    writeFileSync(
      bad,
      Buffer.concat([
        Buffer.from('version: 1\nallow:\n  - host: ex'),
        Buffer.from([0xff, 0xe9]),
        Buffer.from('ample.com\n'),
      ]),
    );
    try {
      compilePolicyFileSync(bad);
      expect.unreachable('compiled');
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      const d = (e as PolicyError).diagnostics[0]!;
      expect(d).toMatchObject({ code: 'HOST_IDN_INVALID', line: 3, severity: 'error' });
    }
    const u16 = join(dir, 'utf16.yaml');
    writeFileSync(u16, Buffer.from('\ufeffversion: 1\nallow:\n  - host: a.ex.test\n', 'utf16le'));
    expect(() => compilePolicyFileSync(u16)).toThrow(PolicyError);
  });
});
