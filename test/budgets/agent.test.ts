// The overshoot bound end to end through the real agent (egress-guard-agent, docs/METERING.md): the runtime runs
// behind the exec wrapper, the agent arms each invoke from the policy's budgets, the interposer stops the bytes, and
// the agent fails the invoke with EgressBudgetExceeded and reports its /proc/net/dev figures. With a 1 MiB budget a
// fast 5 MiB download and a fast 5 MiB upload stay within 2 MiB — as the peer saw it and as the agent reported it —
// and the next invoke is clean: its bytes are its own, with nothing of the cut transfers' tail.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyTextSync } from '../../policy/index.js';
import {
  events,
  type FunctionRun,
  hasRic,
  type Kit,
  makeKit,
  type RuntimeKind,
  runFunction,
} from '../metering/harness.js';
import { need, needCommand, needNetns } from '../support/capability.js';
import { createWorld, KiB, MiB, PEER_IP, ROOT, type World } from './world.js';

const ok =
  needNetns() && needCommand('python3') && need('awslambdaric', hasRic(), 'pip install awslambdaric (.ci/run does)');
const BOUND = 2 * MiB;

/** The layer kit, the two-namespace world and an enforce policy allowing the peer with `budgets` (YAML lines). */
interface Setup {
  w: World;
  kit: Kit;
  policy: string;
}
/** The run's stderr and guard lines, for a failing assertion's message. */
function explain(r: FunctionRun): string {
  return `${r.stderr}\n--- guard lines\n${r.logs.map((l) => JSON.stringify(l)).join('\n')}`;
}

function setUp(prefix: string, budgets: string): Setup {
  const s = {} as Setup;
  beforeAll(async () => {
    s.kit = await makeKit();
    s.w = await createWorld(prefix);
    s.policy = join(s.kit.dir, `${prefix}.egp`);
    const text = `version: 1\nmode: enforce\nallow:\n  - name: peer\n    ip: ${PEER_IP}\nbudgets:\n  perInvoke:\n${budgets}`;
    writeFileSync(s.policy, compilePolicyTextSync(text, `${prefix}.yaml`).bytes);
  }, 300_000);
  afterAll(() => {
    s.w?.destroy();
    s.kit?.destroy();
  });
  return s;
}

describe.skipIf(!ok).each(['node', 'python-ric'] as RuntimeKind[])('budgets through the agent (%s)', (runtime) => {
  const s = setUp(runtime === 'node' ? 'egan' : 'egap', `    rxBytes: ${MiB}\n    txBytes: ${MiB}\n`);

  it('a 5 MiB download and a 5 MiB upload stop within 2 MiB, fail typed; the next invoke is its own', async () => {
    const r = await runFunction({
      kit: s.kit,
      runtime,
      handler: 'budget.handler',
      ns: s.w.fn,
      env: { EGRESS_GUARD_POLICY: s.policy, LAMBDA_TASK_ROOT: join(ROOT, 'test/budgets/functions') },
      invokes: [
        { requestId: 'down', event: { download: `${s.w.witness}/bytes/${5 * MiB}` } },
        { requestId: 'up', event: { upload: { url: `${s.w.witness}/upload`, bytes: 5 * MiB } } },
        { requestId: 'next', event: { download: `${s.w.witness}/bytes/${100 * KiB}` } },
      ],
    });
    const [down, up, next] = r.outcomes;
    const all = explain(r);
    expect(down, all).toMatchObject({ requestId: 'down', ok: false, errorType: 'EgressBudgetExceeded' });
    expect(up, all).toMatchObject({ requestId: 'up', ok: false, errorType: 'EgressBudgetExceeded' });
    expect(next, all).toMatchObject({ requestId: 'next', ok: true, body: { moved: 100 * KiB } });

    // the peer is the witness
    const downSeen = await s.w.nextWitness('download');
    const upSeen = await s.w.nextWitness('upload');
    expect(downSeen.acked).toBeLessThanOrEqual(BOUND);
    expect(upSeen.complete).toBe(false);
    expect(upSeen.received).toBeLessThanOrEqual(BOUND);

    // and so is the agent's own /proc/net/dev figure for each invoke
    const inv = (id: string) => events(r, 'invoke', id)[0];
    expect(inv('down')?.rxBytes).toBeLessThanOrEqual(BOUND);
    expect(inv('up')?.txBytes).toBeLessThanOrEqual(BOUND);
    expect(events(r, 'budget', 'down')).toEqual([expect.objectContaining({ exceeded: 'rxBytes', enforced: true })]);
    expect(events(r, 'budget', 'up')).toEqual([expect.objectContaining({ exceeded: 'txBytes', enforced: true })]);
    expect(events(r, 'cut', 'down')).toHaveLength(1);

    // no bleed: the next invoke carries its own 100 KiB, nothing of the cut transfers
    const own = inv('next');
    expect(own?.budgetExceeded).toBe(false);
    expect(own?.rxBytes).toBeGreaterThanOrEqual(100 * KiB);
    expect(own?.rxBytes).toBeLessThanOrEqual(1.15 * 100 * KiB + 4 * KiB);
    console.log(
      `${runtime} through the agent: download peer ${downSeen.acked} / agent rx ${inv('down')?.rxBytes}; ` +
        `upload peer ${upSeen.received} / agent tx ${inv('up')?.txBytes}; next rx ${own?.rxBytes}`,
    );
  });
});

// The interposer stops a transfer at the budget in the socket call itself, often before the bytes reach the wire; the
// invoke must fail all the same, whether or not the agent's sampler looked meanwhile and whatever /proc/net/dev shows.
// Here the peer never reads (its window closes), so what the function sent past the window stays in its own kernel's
// buffer and the cut discards it: the wire sees far less than the budget. The sampler looks once a second at most
// (EGRESS_GUARD_SAMPLE_MS=1000), so the decision falls to the agent's end-of-invoke check.
describe.skipIf(!ok)("budgets through the agent: the interposer's trip fails the invoke by itself", () => {
  const BUDGET = 256 * KiB;
  const s = setUp('egas', `    txBytes: ${BUDGET}\n`);

  it('a send past the budget into a closed window: the invoke fails typed though the wire saw less', async () => {
    const r = await runFunction({
      kit: s.kit,
      runtime: 'python-ric',
      handler: 'budget.handler',
      ns: s.w.fn,
      env: {
        EGRESS_GUARD_POLICY: s.policy,
        EGRESS_GUARD_SAMPLE_MS: '1000',
        LAMBDA_TASK_ROOT: join(ROOT, 'test/budgets/functions'),
      },
      invokes: [
        { requestId: 'stall', event: { stall: { url: `${s.w.witness}/stall`, bytes: MiB } } },
        { requestId: 'next', event: { download: `${s.w.witness}/bytes/${10 * KiB}` } },
      ],
    });
    const all = explain(r);
    const [stall, next] = r.outcomes;
    // the scenario: the interposer cut the socket at the budget, and the wire carried less than the budget
    expect(events(r, 'cut', 'stall'), all).toHaveLength(1);
    const inv = events(r, 'invoke', 'stall')[0];
    expect(inv?.txBytes, all).toBeLessThan(BUDGET);
    // the claim: the invoke failed with EgressBudgetExceeded, reported once, as the interposer's trip
    expect(stall, all).toMatchObject({ requestId: 'stall', ok: false, errorType: 'EgressBudgetExceeded' });
    expect(events(r, 'budget', 'stall'), all).toEqual([
      expect.objectContaining({ exceeded: 'txBytes', enforced: true, trippedBy: 'interposer' }),
    ]);
    expect(inv?.budgetExceeded, all).toBe(true);
    expect(next, all).toMatchObject({ requestId: 'next', ok: true, body: { moved: 10 * KiB } });
  });
});

// Bytes the interposer's hooks never see (libc's own write(), reached through libc.so.6 itself: docs/METERING.md
// "What budgets cannot stop") are bounded by the agent's /proc/net/dev sampler alone: it must see the invoke past its
// budget while the handler still runs, and fail it. (How far past depends on the transfer's rate against the rate the
// sampler assumes, docs/METERING.md "Budgets": not asserted here, a veth pair being far faster than any network.)
describe.skipIf(!ok)('budgets through the agent: bytes the hooks cannot see', () => {
  const s = setUp('egau', `    txBytes: ${MiB}\n`);

  it("the sampler trips the invoke on the wire's figure and fails it typed; the next invoke is clean", async () => {
    const r = await runFunction({
      kit: s.kit,
      runtime: 'python-ric',
      handler: 'budget.handler',
      ns: s.w.fn,
      env: { EGRESS_GUARD_POLICY: s.policy, LAMBDA_TASK_ROOT: join(ROOT, 'test/budgets/functions') },
      invokes: [
        { requestId: 'unseen', event: { unseen: { url: `${s.w.witness}/upload`, bytes: 5 * MiB, sleepMs: 1000 } } },
        { requestId: 'next', event: { download: `${s.w.witness}/bytes/${10 * KiB}` } },
      ],
    });
    const all = explain(r);
    const [unseen, next] = r.outcomes;
    // the attack: the body went out past the budget without the hooks stopping it (the peer got more than the budget)
    const seen = await s.w.nextWitness('upload');
    expect(seen.received, all).toBeGreaterThan(MiB);
    // the claim: the sampler saw it on the wire and the invoke failed with EgressBudgetExceeded, reported once
    expect(unseen, all).toMatchObject({ requestId: 'unseen', ok: false, errorType: 'EgressBudgetExceeded' });
    expect(events(r, 'budget', 'unseen'), all).toEqual([
      expect.objectContaining({ exceeded: 'txBytes', enforced: true, trippedBy: 'sampler' }),
    ]);
    expect(events(r, 'invoke', 'unseen')[0]?.txBytes, all).toBeGreaterThan(MiB);
    expect(next, all).toMatchObject({ requestId: 'next', ok: true, body: { moved: 10 * KiB } });
  });
});
