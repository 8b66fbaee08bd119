// The Runtime API path (docs/METERING.md "How the agent starts"): the runtime talks to egress-guard-agent, which
// stands in front of the real Runtime API (EGRESS_GUARD_UPSTREAM_API, in every guarded process's environment). A
// compromised dependency that has blown the invoke's budget tries to answer the invoke itself, straight to the real
// Runtime API, so that it reports success instead of EgressBudgetExceeded — in each spelling that reaches a loopback
// listener (test/adversarial/functions/runtime_escape.py, plain Python). Passing = every attempt gets EACCES with a
// guard line (rule `runtime-upstream`) naming where it went, the Runtime API (demo/runtime-api.ts, the witness) saw
// one answer for the invoke — the agent's EgressBudgetExceeded — and the next invoke is served normally.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyTextSync } from '../../policy/index.js';
import { createWorld, MiB, PEER_IP, ROOT, type World } from '../budgets/world.js';
import { events, hasRic, type Kit, makeKit, runFunction } from '../metering/harness.js';
import { need, needCommand, needNetns } from '../support/capability.js';

const ok =
  needNetns() && needCommand('python3') && need('awslambdaric', hasRic(), 'pip install awslambdaric (.ci/run does)');

describe.skipIf(!ok)('the real Runtime API behind the agent is the agent’s alone', () => {
  let w: World;
  let kit: Kit;
  let policy = '';
  beforeAll(async () => {
    kit = await makeKit();
    w = await createWorld('egrt');
    policy = join(kit.dir, 'budgets.egp');
    const text = `version: 1
mode: enforce
allow:
  - name: peer
    ip: ${PEER_IP}
budgets:
  perInvoke:
    txBytes: ${MiB}
`;
    writeFileSync(policy, compilePolicyTextSync(text, 'budgets.yaml').bytes);
  }, 300_000);
  afterAll(() => {
    w?.destroy();
    kit?.destroy();
  });

  it('a handler past its budget cannot answer its invoke directly: EACCES in every spelling, the invoke fails typed', async () => {
    const r = await runFunction({
      kit,
      runtime: 'python-ric',
      handler: 'runtime_escape.handler',
      ns: w.fn,
      env: { EGRESS_GUARD_POLICY: policy, LAMBDA_TASK_ROOT: join(ROOT, 'test/adversarial/functions') },
      invokes: [
        { requestId: 'escape', event: { upload: { url: `${w.witness}/upload`, bytes: 5 * MiB } } },
        { requestId: 'after', event: {} },
      ],
    });
    const [escaped, after] = r.outcomes;
    // the witness: one answer for the invoke, the agent's, typed
    const why = `${JSON.stringify({ outcomes: r.outcomes, requests: r.requests, budget: events(r, 'budget') })}\n${r.stderr}`;
    expect(escaped, why).toMatchObject({ requestId: 'escape', ok: false, errorType: 'EgressBudgetExceeded' });
    expect(r.requests.filter((q) => q.includes('/invocation/escape/'))).toEqual([
      'POST /2018-06-01/runtime/invocation/escape/error',
    ]);
    // the agent still serves the next invoke: the handler's own view of its attempts
    expect(after).toMatchObject({ requestId: 'after', ok: true });
    const attempts = (after?.body as { attempts?: Record<string, string> } | undefined)?.attempts;
    expect(attempts).toEqual({
      upstream: 'Permission denied',
      any: 'Permission denied',
      mapped: 'Permission denied',
      loopback6: 'Permission denied',
    });
    // and one guard line per attempt of each invoke, naming the address and port
    const refused = r.logs.filter((l) => l.name === 'egress-guard' && l.rule === 'runtime-upstream');
    const port = Number(refused[0]?.port);
    expect(port).toBeGreaterThan(0);
    expect(refused.map((l) => `${l.requestId} ${l.event} ${l.host ?? l.ip}:${l.port} ${l.blocked}`).sort()).toEqual(
      ['escape', 'after']
        .flatMap((id) => ['0.0.0.0', '127.0.0.1', '127.0.0.1', '::1'].map((h) => `${id} connect ${h}:${port} true`))
        .sort(),
    );
    expect(events(r, 'budget', 'escape')).toEqual([expect.objectContaining({ exceeded: 'txBytes', enforced: true })]);
  });
});
