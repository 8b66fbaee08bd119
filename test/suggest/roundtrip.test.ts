/**
 * Round trip: the suggested policy, compiled by the real compiler (no warnings) and queried with the real reference
 * matcher, allows every observed event — lookups as name decisions, connects/sends as address decisions with their
 * bound name — and denies an unobserved sibling name or an unobserved port unless a wildcard was chosen for it.
 * The observed events are generated here (not read back through `suggest`), so the check is independent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicyText, loadCompiled } from '../../policy/index.js';
import { FIXTURES, netLine, suggest } from './helpers.js';

interface Ev {
  event: 'dns' | 'connect' | 'sendto';
  host?: string;
  ip?: string;
  port?: number;
  proto?: 'tcp' | 'udp';
}

const PARENTS = ['example.com', 'svc.example.org', 's3.us-east-1.amazonaws.com', 'amazonaws.com', 'example.co.uk'];
const label = fc.constantFrom('a', 'b', 'c', 'd', 'api', 'cdn', 'img');
const host = fc.tuple(label, fc.constantFrom(...PARENTS)).map(([l, p]) => `${l}.${p}`);
const port = fc.constantFrom(443, 80, 8443, 5432, 8125);
const ip = fc.oneof(
  fc.integer({ min: 1, max: 254 }).map((n) => `198.51.100.${n}`),
  fc.integer({ min: 1, max: 254 }).map((n) => `203.0.113.${n}`),
  fc.integer({ min: 1, max: 0xffff }).map((n) => `2001:db8::${n.toString(16)}`),
);
const ev: fc.Arbitrary<Ev> = fc.oneof(
  fc.record({ event: fc.constant('dns' as const), host }),
  fc.record({ event: fc.constant('dns' as const), host, port, proto: fc.constant('tcp' as const) }),
  fc.record({ event: fc.constant('connect' as const), host, ip, port, proto: fc.constant('tcp' as const) }),
  fc.record({ event: fc.constant('connect' as const), ip, port, proto: fc.constant('tcp' as const) }),
  fc.record({ event: fc.constant('sendto' as const), ip, port, proto: fc.constant('udp' as const) }),
);

async function compileSuggestion(lines: string[], args: string[] = []) {
  const r = await suggest(args, { stdin: lines.join('\n') });
  expect(r.code, r.stderr).toBe(0);
  const c = await compilePolicyText(r.stdout, 'suggested.yaml');
  expect(c.warnings).toEqual([]);
  return { text: r.stdout, policy: loadCompiled(c.bytes) };
}

function check(policy: ReturnType<typeof loadCompiled>, e: Ev) {
  if (e.event === 'dns') return policy.decideName(e.host!, e.port, e.proto);
  return policy.decideAddr(e.ip!, e.port!, e.proto ?? 'tcp', e.host);
}

describe('round trip through the real compiler and matcher', () => {
  it('property: every observed event is allowed; unobserved siblings and ports are denied unless widened', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ev, { minLength: 1, maxLength: 25 }), fc.constantFrom(0, 3), async (evs, k) => {
        const { text, policy } = await compileSuggestion(
          evs.map((e) => netLine({ ...e, decision: 'deny' })),
          ['--min-siblings', String(k)],
        );
        for (const e of evs) expect(check(policy, e).decision, JSON.stringify(e)).toBe('allow');
        for (const e of evs) {
          if (e.host === undefined) continue;
          const parent = e.host.slice(e.host.indexOf('.') + 1);
          const sibling = `zz-unseen.${parent}`;
          const widened =
            text.includes(`"*.${parent}"`) || text.includes(`"*.${parent.slice(parent.indexOf('.') + 1)}"`);
          if (k === 0) expect(text).not.toContain('"*.');
          if (!widened) expect(policy.decideName(sibling, 443, 'tcp').decision).toBe('deny');
          else expect(policy.decideName(sibling, e.port, e.proto).decision).toBe('allow');
          const ports = new Set(evs.filter((x) => x.host === e.host && x.port !== undefined).map((x) => x.port));
          if (ports.size > 0 && !widened) {
            expect(policy.decideAddr('192.0.2.99', 1, 'tcp', e.host).decision).toBe('deny');
          }
        }
        for (const e of evs) {
          if (e.host !== undefined || e.ip === undefined) continue;
          if (!text.includes('cidr:')) expect(policy.decideAddr(e.ip, 1, e.proto ?? 'tcp').decision).toBe('deny');
        }
      }),
      { numRuns: 60 },
    );
  });

  it('the golden sample policy compiles without warnings and allows every sample event', async () => {
    const r = await suggest(['orders-api.log', 'billing-worker.json', 'thumbnailer.txt'], { cwd: FIXTURES });
    const c = await compilePolicyText(r.stdout, 'suggested.yaml');
    expect(c.warnings).toEqual([]);
    const p = loadCompiled(c.bytes);
    expect(p.mode).toBe('audit');
    expect(p.budgets.rxBytes).toBeGreaterThan(0);
    expect(p.decideName('img1.cdn.example.com', 443, 'tcp').decision).toBe('allow');
    expect(p.decideName('new.cdn.example.com', 443, 'tcp').decision).toBe('allow'); // the wildcard was chosen
    expect(p.decideName('another-bucket.s3.us-east-1.amazonaws.com', 443, 'tcp').decision).toBe('deny');
    expect(p.decideAddr('52.46.1.2', 443, 'tcp', 'sqs.us-east-1.amazonaws.com').decision).toBe('allow');
    expect(p.decideAddr('::ffff:10.0.5.12', 8125, 'udp').decision).toBe('allow'); // inside the /29
    expect(p.decideAddr('10.0.5.16', 8125, 'udp').decision).toBe('deny'); // outside it
    expect(p.decideAddr('10.0.12.34', 5432, 'tcp').decision).toBe('allow');
    expect(p.decideAddr('10.0.12.34', 5433, 'tcp').decision).toBe('deny');
    expect(p.decideAddr('2600:1f18:abcd:1::10', 443, 'tcp').decision).toBe('allow');
    expect(p.decideAddr('127.0.0.1', 6379, 'tcp').decision).toBe('allow'); // loopback: allow
  });

  it('--mode enforce and --no-budgets', async () => {
    const { policy, text } = await compileSuggestion(
      [netLine({ event: 'dns', host: 'api.example.com' })],
      ['--mode', 'enforce', '--no-budgets'],
    );
    expect(policy.mode).toBe('enforce');
    expect(text).not.toContain('budgets:');
  });
});
