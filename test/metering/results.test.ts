// One result per request, whatever the runtime posts (docs/METERING.md "Budgets"). A bare Runtime API loop
// (functions/raw_runtime.py, no client library) under the real agent and the demo Runtime API, which, like Lambda,
// refuses a GET …/next while the runtime holds an invoke without a result:
// - a runtime that posts its result twice: the second is answered by the agent with the Runtime API's own 403
//   InvalidStateTransition, never reaches Lambda, and writes nothing: one invoke line and one EMF line per request;
// - a runtime that reacts at once to the budget cut (posts its error, then asks for the next event): the agent
//   answers the late error only once Lambda has the agent's own EgressBudgetExceeded, so the runtime's next GET
//   …/next never finds the invoke open (aws-lambda-go exits on the 403 it would get, and Lambda retries the event).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { events, FUNCTIONS, type Kit, makeKit, runFunction } from './harness.js';
import { createWorld, KiB, meterPolicy, type World } from './world.js';

const ok = needNetns() && needCommand('python3');
const RAW = ['python3', join(FUNCTIONS, 'raw_runtime.py')];

/** `RAW <id> <kind> <status>` lines of the runtime's stderr. */
function posts(stderr: string): string[][] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('RAW '))
    .map((l) => l.split(' ').slice(1, 4));
}

describe.skipIf(!ok)('one result per request, whatever the runtime posts', () => {
  let w: World;
  let kit: Kit;
  let enforce = '';
  beforeAll(async () => {
    kit = await makeKit();
    w = await createWorld('egrr');
    enforce = meterPolicy(kit.dir, 'enforce', 'enforce', `    rxBytes: ${64 * KiB}\n`);
  }, 300_000);
  afterAll(() => {
    w?.destroy();
    kit?.destroy();
  });

  it('a second response or error for one request is refused locally (403), never forwarded, and writes nothing', async () => {
    const r = await runFunction({
      kit,
      runtime: 'python',
      handler: 'ignored.handler',
      command: RAW,
      direct: true,
      ns: w.fn,
      env: { EGRESS_GUARD_POLICY: enforce },
      invokes: [
        { requestId: 'twice-ok', event: { download: `${w.http}/bytes/${KiB}`, results: ['response', 'response'] } },
        { requestId: 'twice-err', event: { results: ['error', 'response'] } },
        { requestId: 'over', event: { download: `${w.http}/bytes/${512 * KiB}`, results: ['response', 'error'] } },
        { requestId: 'after', event: { download: `${w.http}/bytes/${KiB}` } },
      ],
    });
    const ids = ['twice-ok', 'twice-err', 'over', 'after'];
    expect(
      r.outcomes.map((o) => [o.requestId, o.ok, o.errorType]),
      r.stderr,
    ).toEqual([
      ['twice-ok', true, undefined],
      ['twice-err', false, 'Unhandled'],
      ['over', false, 'EgressBudgetExceeded'],
      ['after', true, undefined],
    ]);
    expect(posts(r.stderr)).toEqual([
      ['twice-ok', 'response', '202'],
      ['twice-ok', 'response', '403'],
      ['twice-err', 'error', '202'],
      ['twice-err', 'response', '403'],
      ['over', 'error', '202'],
      ['over', 'error', '403'],
      ['after', 'response', '202'],
    ]);
    // Lambda received one result per request
    for (const id of ids)
      expect(
        r.requests.filter((q) => q.includes(`/${id}/`)),
        id,
      ).toHaveLength(1);
    for (const id of ids) expect(events(r, 'invoke', id), id).toHaveLength(1);
    expect(r.emf.map((l) => l.requestId)).toEqual(ids);
    expect(events(r, 'budget').map((l) => l.requestId)).toEqual(['over']);
  });

  it("the runtime's next GET …/next right after its late error never finds the tripped invoke open", async () => {
    // the handler gives up 0.5–6 ms into a download that crosses the budget early: in some invokes its error comes
    // while the agent's own EgressBudgetExceeded post (the sampler's trip) is on its way to Lambda
    const n = 24;
    const invokes = Array.from({ length: n }, (_, i) => ({
      requestId: `race-${i}`,
      event: { download: `${w.http}/bytes/${1024 * KiB}`, errorAtMs: 0.5 + (i % 12) * 0.5 },
    }));
    const r = await runFunction({
      kit,
      runtime: 'python',
      handler: 'ignored.handler',
      command: RAW,
      direct: true,
      ns: w.fn,
      env: { EGRESS_GUARD_POLICY: enforce },
      invokes,
    });
    expect(r.stderr).not.toMatch(/RAW next/);
    expect(r.exit, r.stderr).not.toBe(3);
    // each invoke failed once: with the agent's error, or with the handler's own when it gave up before the trip
    expect(r.outcomes.map((o) => o.requestId)).toEqual(invokes.map((i) => i.requestId));
    for (const o of r.outcomes) expect(['EgressBudgetExceeded', 'GaveUp'], JSON.stringify(o)).toContain(o.errorType);
    for (const i of invokes) {
      expect(events(r, 'invoke', i.requestId), i.requestId).toHaveLength(1);
      expect(events(r, 'budget', i.requestId).length, i.requestId).toBeLessThanOrEqual(1);
    }
    expect(r.emf.map((l) => l.requestId)).toEqual(invokes.map((i) => i.requestId));
    const by = events(r, 'budget').map((l) => l.trippedBy as string);
    const gaveUp = r.outcomes.filter((o) => o.errorType === 'GaveUp').length;
    console.log(
      `gave up first: ${gaveUp}; tripped by: ${[...new Set(by)].map((b) => `${b} ${by.filter((x) => x === b).length}`).join(', ')}`,
    );
  });
});
