// The overshoot bound end to end through the real agent (egress-guard-agent, docs/METERING.md): the runtime runs
// behind the exec wrapper, the agent arms each invoke from the policy's budgets, the interposer stops the bytes, and
// the agent fails the invoke with EgressBudgetExceeded and reports its /proc/net/dev figures. With a 1 MiB budget a
// fast 5 MiB download and a fast 5 MiB upload stay within 2 MiB — as the peer saw it and as the agent reported it —
// and the next invoke is clean: its bytes are its own, with nothing of the cut transfers' tail.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyTextSync } from '../../policy/index.js';
import { events, hasRic, type Kit, makeKit, type RuntimeKind, runFunction } from '../metering/harness.js';
import { need, needCommand, needNetns } from '../support/capability.js';
import { createWorld, KiB, MiB, PEER_IP, ROOT, type World } from './world.js';

const ok =
  needNetns() && needCommand('python3') && need('awslambdaric', hasRic(), 'pip install awslambdaric (.ci/run does)');
const BOUND = 2 * MiB;

describe.skipIf(!ok).each(['node', 'python-ric'] as RuntimeKind[])('budgets through the agent (%s)', (runtime) => {
  let w: World;
  let kit: Kit;
  let policy = '';
  beforeAll(async () => {
    kit = await makeKit();
    w = await createWorld(runtime === 'node' ? 'egan' : 'egap');
    policy = join(kit.dir, 'budgets.egp');
    const text = `version: 1
mode: enforce
allow:
  - name: peer
    ip: ${PEER_IP}
budgets:
  perInvoke:
    rxBytes: ${MiB}
    txBytes: ${MiB}
`;
    writeFileSync(policy, compilePolicyTextSync(text, 'budgets.yaml').bytes);
  }, 300_000);
  afterAll(() => {
    w?.destroy();
    kit?.destroy();
  });

  it('a 5 MiB download and a 5 MiB upload stop within 2 MiB, fail typed; the next invoke is its own', async () => {
    const r = await runFunction({
      kit,
      runtime,
      handler: 'budget.handler',
      ns: w.fn,
      env: { EGRESS_GUARD_POLICY: policy, LAMBDA_TASK_ROOT: join(ROOT, 'test/budgets/functions') },
      invokes: [
        { requestId: 'down', event: { download: `${w.witness}/bytes/${5 * MiB}` } },
        { requestId: 'up', event: { upload: { url: `${w.witness}/upload`, bytes: 5 * MiB } } },
        { requestId: 'next', event: { download: `${w.witness}/bytes/${100 * KiB}` } },
      ],
    });
    const [down, up, next] = r.outcomes;
    const all = `${r.stderr}\n--- guard lines\n${r.logs.map((l) => JSON.stringify(l)).join('\n')}`;
    expect(down, all).toMatchObject({ requestId: 'down', ok: false, errorType: 'EgressBudgetExceeded' });
    expect(up, all).toMatchObject({ requestId: 'up', ok: false, errorType: 'EgressBudgetExceeded' });
    expect(next, all).toMatchObject({ requestId: 'next', ok: true, body: { moved: 100 * KiB } });

    // the peer is the witness
    const downSeen = await w.nextWitness('download');
    const upSeen = await w.nextWitness('upload');
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
