// Budgets end to end with the real interposer (LD_PRELOAD of native/build/libegressguard.so) and the real wrappers:
// an over-budget invoke in enforce mode trips BUDGET_TRIPPED at once, the handler's next connect in that invoke is
// blocked by the interposer and logged with the invoke's request id, the invocation fails with the typed error, and the
// next invocation works. In audit mode the same traffic is only logged. Node and Python wrappers alike.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyTextSync } from '../../policy/index.js';
import { need, needCommand, needNetns } from '../support/capability.js';
import { buildBundle, INTERPOSER, lines, runDriver, tempDir } from './harness.js';
import { createWorld, KiB, MiB, SERVER_IP, type World } from './world.js';

const ok =
  needNetns() &&
  need('libegressguard.so', existsSync(INTERPOSER), `${INTERPOSER} is missing (npm run build:native)`) &&
  needCommand('python3');

const POLICY = `version: 1
mode: enforce
allow:
  - name: meter-server
    ip: ${SERVER_IP}
budgets:
  perInvoke:
    rxBytes: ${MiB}
`;

describe.skipIf(!ok)('byte budgets with the interposer', () => {
  let w: World;
  let dir = '';
  let bundle = '';
  let policy = '';

  beforeAll(async () => {
    dir = tempDir();
    bundle = buildBundle(dir);
    policy = join(dir, 'policy.egp');
    writeFileSync(policy, compilePolicyTextSync(POLICY, 'budget-policy.yaml').bytes);
    w = await createWorld('egme');
  });

  afterAll(() => {
    w?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const overAndNext = (lang: 'node' | 'python', mode: 'enforce' | 'audit') => [
    {
      requestId: `over-${mode}`,
      event: {
        download: { url: `${w.http}/bytes/${3 * MiB}` },
        thenConnect: {
          host: SERVER_IP,
          port: w.echoPort,
          waitForTripMs: mode === 'enforce' ? 5_000 : 300,
          expectInterrupt: lang === 'python' && mode === 'enforce',
        },
      },
    },
    { requestId: `next-${mode}`, event: { download: { url: `${w.http}/bytes/${100 * KiB}` } } },
  ];

  const run = (lang: 'node' | 'python', mode: 'enforce' | 'audit') =>
    runDriver({
      lang,
      handler: bundle.replace(/\.mjs$/, '.handler'),
      original: 'transfer.handler',
      invokes: overAndNext(lang, mode),
      ns: w.fn,
      preload: true,
      settle: true,
      env: { EGRESS_GUARD_POLICY: policy, EGRESS_GUARD_MODE: mode },
    });

  it('python, EGRESS_GUARD_INTERRUPT=off: the handler runs to its end, then the invocation fails typed', async () => {
    const invokes = overAndNext('python', 'enforce');
    (invokes[0]!.event as { thenConnect: { expectInterrupt: boolean } }).thenConnect.expectInterrupt = false;
    const r = await runDriver({
      lang: 'python',
      original: 'transfer.handler',
      invokes,
      ns: w.fn,
      preload: true,
      settle: true,
      env: { EGRESS_GUARD_POLICY: policy, EGRESS_GUARD_MODE: 'enforce', EGRESS_GUARD_INTERRUPT: 'off' },
    });
    const [over, settled, next] = r.results;
    expect(over).toMatchObject({ ok: false, error: { name: 'EgressBudgetExceededError', code: 'E_BUDGET_EXCEEDED' } });
    // not interrupted: the whole download completed, then the new connect was refused
    expect(settled?.settled).toEqual({ afterTrip: { connected: false, code: 'EACCES' }, interrupted: false });
    expect(lines(r, 'invoke', 'over-enforce')[0]?.rxBytes).toBeGreaterThan(3 * MiB);
    expect(next).toMatchObject({ ok: true });
  });

  describe.each(['node', 'python'] as const)('%s wrapper', (lang) => {
    it('enforce: trips, blocks the next connect with the request id, fails typed, next invoke clean', async () => {
      const r = await run(lang, 'enforce');
      const [over, settled, next] = r.results;
      expect(over).toMatchObject({
        requestId: 'over-enforce',
        ok: false,
        error: { name: 'EgressBudgetExceededError', code: 'E_BUDGET_EXCEEDED', budget: 'rxBytes', limit: MiB },
      });
      expect(over?.error?.observed).toBeGreaterThan(MiB);
      console.log(`${lang} enforce: 1 MiB rx budget tripped at ${over?.error?.observed} bytes`);
      // the handler went on after the trip; its new connection was refused by the interposer
      expect(settled).toMatchObject({
        requestId: 'over-enforce',
        settled: { afterTrip: { connected: false, code: 'EACCES' } },
      });
      if (lang === 'python') expect(settled?.settled?.interrupted).toBe(true);
      const blocked = lines(r, 'connect').filter((l) => l.blocked === true);
      expect(blocked).toHaveLength(1);
      expect(blocked[0]).toMatchObject({
        requestId: 'over-enforce',
        rule: 'budget',
        decision: 'deny',
        ip: SERVER_IP,
        port: w.echoPort,
        mode: 'enforce',
        errno: 'EACCES',
      });
      expect(lines(r, 'budget', 'over-enforce')).toEqual([
        expect.objectContaining({ code: 'E_BUDGET_EXCEEDED', exceeded: 'rxBytes', limit: MiB, enforced: true }),
      ]);
      expect(lines(r, 'invoke', 'over-enforce')[0]).toMatchObject({ budgetExceeded: true, mode: 'enforce' });
      // the next invoke starts clean
      expect(next).toMatchObject({ requestId: 'next-enforce', ok: true, value: { downloaded: 100 * KiB } });
      expect(lines(r, 'invoke', 'next-enforce')[0]).toMatchObject({ budgetExceeded: false, blocked: 0 });
      // Node fails the invocation at the trip, so the blocked connect comes after its end; the Python handler is
      // interrupted and makes the connect (in its cleanup) before the invocation ends, so it is counted there
      const blockedInInvoke = lang === 'python' ? 1 : 0;
      expect(lines(r, 'invoke', 'over-enforce')[0]?.blocked).toBe(blockedInInvoke);
      const emf = r.stdout.filter((l) => l._aws);
      expect(emf.map((l) => [l.requestId, l.BudgetExceeded, l.BlockedConnections])).toEqual([
        ['over-enforce', 1, blockedInInvoke],
        ['next-enforce', 0, 0],
      ]);
    });

    it('audit: logs the breach and the metric, blocks nothing', async () => {
      const r = await run(lang, 'audit');
      const [over, settled, next] = r.results;
      expect(over).toMatchObject({ requestId: 'over-audit', ok: true, value: { downloaded: 3 * MiB } });
      expect(settled).toMatchObject({ settled: { afterTrip: { connected: true } } });
      expect(next).toMatchObject({ requestId: 'next-audit', ok: true });
      expect(lines(r, 'connect').filter((l) => l.blocked === true)).toEqual([]);
      expect(lines(r, 'budget', 'over-audit')).toEqual([
        expect.objectContaining({ exceeded: 'rxBytes', enforced: false, mode: 'audit' }),
      ]);
      // audit logs each destination once per process, attributed to the invoke that first used it
      expect(lines(r, 'connect')[0]).toMatchObject({ requestId: 'over-audit', decision: 'allow', ip: SERVER_IP });
      const inv = lines(r, 'invoke', 'over-audit')[0];
      expect(inv).toMatchObject({ budgetExceeded: true, blocked: 0 });
      expect(inv?.rxBytes).toBeGreaterThan(3 * MiB);
      expect(r.stdout.filter((l) => l._aws).map((l) => l.BudgetExceeded)).toEqual([1, 0]);
    });
  });
});
