// Budgets through the agent, for every runtime alike: in enforce mode an invoke over its budget fails with
// EgressBudgetExceeded as Lambda sees it (the Runtime API receives the agent's error, never the handler's late
// response), the next invoke is clean and its own; in audit mode the breach is only reported. Overlapping invokes
// (Lambda Managed Instances) are reported as concurrent and never enforced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand, needNetns } from '../support/capability.js';
import { events, hasRic, type Kit, makeKit, type RuntimeKind, runFunction } from './harness.js';
import { createWorld, KiB, MiB, meterPolicy, type World } from './world.js';

const ok =
  needNetns() && needCommand('python3') && need('awslambdaric', hasRic(), 'pip install awslambdaric (.ci/run does)');

describe.skipIf(!ok).each(['node', 'python-ric'] as RuntimeKind[])('budgets through the agent (%s)', (runtime) => {
  let w: World;
  let kit: Kit;
  let enforce = '';
  let audit = '';
  beforeAll(async () => {
    kit = await makeKit();
    w = await createWorld(runtime === 'node' ? 'egbn' : 'egbp');
    enforce = meterPolicy(kit.dir, 'enforce', 'enforce', `    rxBytes: ${MiB}\n`);
    audit = meterPolicy(kit.dir, 'audit', 'audit', `    rxBytes: ${MiB}\n`);
  }, 300_000);
  afterAll(() => {
    w?.destroy();
    kit?.destroy();
  });

  const overThenNext = () => [
    // 5 MiB over a 1 MiB budget, then the handler keeps running for a while (its late response must be dropped)
    { requestId: 'over', event: { download: `${w.http}/bytes/${5 * MiB}`, sleepMs: 300 } },
    { requestId: 'next', event: { download: `${w.http}/bytes/${100 * KiB}` } },
  ];

  it('enforce: the over-budget invoke fails with EgressBudgetExceeded at once; the next one is clean', async () => {
    const r = await runFunction({
      kit,
      runtime,
      handler: 'transfer.handler',
      ns: w.fn,
      env: { EGRESS_GUARD_POLICY: enforce },
      invokes: overThenNext(),
    });
    const [over, next] = r.outcomes;
    expect(over).toMatchObject({ requestId: 'over', ok: false, errorType: 'EgressBudgetExceeded' });
    expect(over?.body).toMatchObject({
      errorType: 'EgressBudgetExceeded',
      code: 'E_BUDGET_EXCEEDED',
      budget: 'rxBytes',
      limit: MiB,
    });
    expect((over?.body as { observed?: number } | undefined)?.observed).toBeGreaterThan(MiB);
    // Lambda got exactly one result for the invoke: the agent's error; the handler's own response never went up
    expect(r.requests.filter((q) => q.includes('/over/'))).toEqual(['POST /2018-06-01/runtime/invocation/over/error']);
    expect(next).toMatchObject({ requestId: 'next', ok: true, body: { downloaded: 100 * KiB } });
    const budget = events(r, 'budget', 'over');
    expect(budget).toHaveLength(1);
    expect(budget[0]).toMatchObject({
      code: 'E_BUDGET_EXCEEDED',
      exceeded: 'rxBytes',
      limit: MiB,
      enforced: true,
      level: 50,
    });
    expect(['sampler', 'interposer']).toContain(budget[0]?.trippedBy);
    console.log(`${runtime}: 1 MiB rx budget tripped at ${budget[0]?.observed} bytes by the ${budget[0]?.trippedBy}`);
    expect(events(r, 'invoke', 'over')[0]).toMatchObject({
      budgetExceeded: true,
      outcome: 'error',
      errorType: 'EgressBudgetExceeded',
      level: 50,
    });
    // the next invoke is charged its own bytes only
    const nextLine = events(r, 'invoke', 'next')[0];
    expect(nextLine).toMatchObject({ budgetExceeded: false, outcome: 'ok' });
    expect(nextLine?.rxBytes).toBeLessThan(200 * KiB);
    expect(r.emf.map((l) => [l.requestId, l.BudgetExceeded])).toEqual([
      ['over', 1],
      ['next', 0],
    ]);
  });

  it('audit: reports the breach, blocks nothing, the response goes through', async () => {
    const r = await runFunction({
      kit,
      runtime,
      handler: 'transfer.handler',
      ns: w.fn,
      env: { EGRESS_GUARD_POLICY: audit },
      invokes: overThenNext(),
    });
    expect(r.outcomes.map((o) => [o.requestId, o.ok])).toEqual([
      ['over', true],
      ['next', true],
    ]);
    expect(r.outcomes[0]?.body).toMatchObject({ downloaded: 5 * MiB });
    expect(events(r, 'budget', 'over')).toEqual([
      expect.objectContaining({ exceeded: 'rxBytes', enforced: false, mode: 'audit', trippedBy: 'end', level: 40 }),
    ]);
    expect(events(r, 'invoke', 'over')[0]).toMatchObject({ budgetExceeded: true, outcome: 'ok', level: 40 });
    expect(r.emf.map((l) => l.BudgetExceeded)).toEqual([1, 0]);
  });

  it('AWS_LAMBDA_MAX_CONCURRENCY > 1: every invoke is concurrent, budgets are reported but not enforced', async () => {
    const r = await runFunction({
      kit,
      runtime,
      handler: 'transfer.handler',
      ns: w.fn,
      env: { EGRESS_GUARD_POLICY: enforce, AWS_LAMBDA_MAX_CONCURRENCY: '4' },
      invokes: [{ requestId: 'conc', event: { download: `${w.http}/bytes/${2 * MiB}` } }],
    });
    expect(r.outcomes[0]).toMatchObject({ ok: true, body: { downloaded: 2 * MiB } });
    expect(events(r, 'invoke', 'conc')[0]).toMatchObject({ concurrent: true, budgetExceeded: true });
    expect(events(r, 'budget', 'conc')[0]).toMatchObject({ enforced: false, concurrent: true });
    expect(r.emf[0]?.ConcurrentInvokes).toBe(1);
    expect(r.emf[0]?.RxBytes).toBeUndefined();
  });
});
