// A missing, unreadable or invalid compiled policy: enforce fails CLOSED (everything but the always-pass destinations
// is denied) with one clear error line; audit fails OPEN with one error line; the process never crashes, hangs or
// writes to stdout. Every broken file here is derived from a real compiled policy.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../../support/capability.js';
import { compilePolicy, type GuardLog, logsWhere, needLibrary, scratchDir } from '../../support/guard.js';
import { createWorld, explain, POLICY, pyProbe, RUNTIME_API, type World } from './world.js';

const ok = needNetns() && needLibrary() && needCommand('python3');

/** Broken policies: name → [path, expected error code]. */
async function brokenPolicies(): Promise<[string, string, string][]> {
  const good = readFileSync(await compilePolicy(POLICY));
  const dir = join(scratchDir(), 'broken');
  mkdirSync(dir, { recursive: true });
  const write = (name: string, bytes: Buffer | string) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const flipped = Buffer.from(good);
  flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 0x5a; // body byte: body CRC fails
  const badMagic = Buffer.from(good);
  badMagic[0] = 0x58;
  const version = Buffer.from(good);
  version.writeUInt16LE(4, 8); // newer than every version a reader reads (docs/FORMAT.md "Versions")
  return [
    ['missing file', join(dir, 'does-not-exist.egp'), 'E_POLICY_MISSING'],
    ['a directory', dir, 'E_POLICY_'],
    ['empty file', write('empty.egp', ''), 'E_POLICY_TOO_SMALL'],
    ['YAML instead of a compiled file', write('policy.yaml.egp', readFileSync(POLICY)), 'E_POLICY_MAGIC'],
    ['bad magic', write('magic.egp', badMagic), 'E_POLICY_MAGIC'],
    ['unknown version', write('version.egp', version), 'E_POLICY_VERSION'],
    ['truncated', write('truncated.egp', good.subarray(0, good.length - 8)), 'E_POLICY_SIZE_MISMATCH'],
    ['a flipped body byte', write('flipped.egp', flipped), 'E_POLICY_BODY_CRC'],
  ];
}

const OPS = [
  { op: 'getaddrinfo', host: 'good.test', port: 8080 },
  { op: 'connect', host: '10.77.0.3', port: 8080 },
  { op: 'urllib', url: `http://${RUNTIME_API}/next` },
];

function policyErrors(logs: GuardLog[]): GuardLog[] {
  return logsWhere(logs, { event: 'policy' });
}

describe.skipIf(!ok)('invalid or missing policy', () => {
  let world: World;
  let cases: [string, string, string][];
  beforeAll(async () => {
    world = await createWorld('egfail');
    cases = await brokenPolicies();
  });
  afterAll(() => world?.destroy());

  it('enforce fails closed: one error line, egress denied, the Runtime API still passes', async () => {
    for (const [what, path, code] of cases) {
      const r = await pyProbe(world, OPS, {
        policy: path,
        mode: 'enforce',
        env: { AWS_LAMBDA_RUNTIME_API: RUNTIME_API },
      });
      const ctx = `${what}\n${explain(r)}`;
      expect(r.status, ctx).toBe(0);
      expect(r.badLogLines, ctx).toEqual([]);
      expect(r.results, ctx).toHaveLength(3);
      expect(r.results[0], ctx).toMatchObject({ ok: false, code: 'EAI_NONAME' });
      expect(r.results[1], ctx).toMatchObject({ ok: false, code: 'EACCES' });
      expect(r.results[2], ctx).toMatchObject({ ok: true, status: 200, body: 'runtime-api' });
      const errs = policyErrors(r.logs);
      expect(errs, ctx).toHaveLength(1);
      expect(errs[0], ctx).toMatchObject({ level: 50, failClosed: true, error: expect.stringMatching(/^E_POLICY_/) });
      expect(String(errs[0]?.error).startsWith(code), ctx).toBe(true);
      expect(errs[0]?.path, ctx).toBe(path);
      const blocked = logsWhere(r.logs, { event: 'connect', ip: '10.77.0.3', blocked: true });
      expect(blocked[0], ctx).toMatchObject({ rule: 'policy-error', errno: 'EACCES' });
    }
  });

  it('audit fails open: traffic passes, one error line', async () => {
    for (const [what, path, code] of cases) {
      const r = await pyProbe(world, OPS, {
        policy: path,
        mode: 'audit',
        env: { AWS_LAMBDA_RUNTIME_API: RUNTIME_API },
      });
      const ctx = `${what}\n${explain(r)}`;
      expect(r.status, ctx).toBe(0);
      expect(r.results, ctx).toHaveLength(3);
      expect(r.results[0], ctx).toMatchObject({ ok: true, addresses: ['10.77.0.1'] });
      expect(r.results[1], ctx).toMatchObject({ ok: true });
      expect(r.results[2], ctx).toMatchObject({ ok: true, status: 200 });
      const errs = policyErrors(r.logs);
      expect(errs, ctx).toHaveLength(1);
      expect(errs[0], ctx).toMatchObject({ failClosed: false });
      expect(String(errs[0]?.error).startsWith(code), ctx).toBe(true);
      expect(logsWhere(r.logs, { blocked: true }), ctx).toEqual([]);
      expect(
        r.logs.filter((l) => l.level >= 50),
        ctx,
      ).toHaveLength(1);
    }
  });

  it('off: nothing is blocked and nothing is logged, whatever the policy file holds', async () => {
    for (const [what, path] of cases) {
      const r = await pyProbe(world, OPS, { policy: path, mode: 'off', logLevel: 'all' });
      const ctx = `${what}\n${explain(r)}`;
      expect(
        r.results.map((x) => x.ok),
        ctx,
      ).toEqual([true, true, true]);
      expect(r.logs, ctx).toEqual([]);
    }
  });

  it('enforce with no EGRESS_GUARD_POLICY at all fails closed too', async () => {
    const r = await pyProbe(world, [{ op: 'connect', host: '10.77.0.3', port: 8080 }], {
      policy: undefined,
      mode: 'enforce',
    });
    expect(r.results[0], explain(r)).toMatchObject({ ok: false, code: 'EACCES' });
    expect(policyErrors(r.logs)).toHaveLength(1);
    expect(policyErrors(r.logs)[0]).toMatchObject({ failClosed: true });
  });
});
