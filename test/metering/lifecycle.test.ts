// How the agent starts and what happens when it cannot run:
// - provided.* runtimes and container images (only LD_PRELOAD and the policy in the environment, no exec wrapper;
//   the handler on argv as in `python3 -m awslambdaric app.handler`): the interposer's constructor starts the agent,
//   so they are metered exactly like managed runtimes;
// - the agent killed mid-invoke (as a compromised dependency could do, same user): the runtime cannot reach the
//   Runtime API, exits, and the invoke fails at once — it never hangs;
// - the agent binary missing: one `agent` warning line says metering is off and why; the function still runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand, needNetns } from '../support/capability.js';
import { events, FUNCTIONS, hasRic, type Kit, makeKit, type RuntimeKind, runFunction } from './harness.js';
import { createWorld, expectDownload, MiB, type World } from './world.js';

const ok =
  needNetns() && needCommand('python3') && need('awslambdaric', hasRic(), 'pip install awslambdaric (.ci/run does)');

describe.skipIf(!ok)('agent start-up and failure', () => {
  let w: World;
  let kit: Kit;
  beforeAll(async () => {
    kit = await makeKit();
    w = await createWorld('egal');
  }, 300_000);
  afterAll(() => {
    w?.destroy();
    kit?.destroy();
  });

  it('a container-style start (handler on argv, LD_PRELOAD only, no exec wrapper) is metered', async () => {
    const r = await runFunction({
      kit,
      runtime: 'python-ric',
      handler: 'ignored.handler',
      command: ['python3', '-m', 'awslambdaric', 'transfer.handler'],
      direct: true,
      ns: w.fn,
      env: { EGRESS_GUARD_MODE: 'audit', PYTHONPATH: FUNCTIONS },
      invokes: [{ requestId: 'argv-1', event: { download: `${w.http}/bytes/${MiB}` } }],
    });
    expect(r.outcomes[0]).toMatchObject({ requestId: 'argv-1', ok: true, body: { downloaded: MiB } });
    const inv = events(r, 'invoke', 'argv-1');
    expect(inv).toHaveLength(1);
    expectDownload(inv[0]?.rxBytes, inv[0]?.txBytes, MiB);
    expect(events(r, 'agent')).toEqual([]);
  });

  it.each(['node', 'python-ric'] as RuntimeKind[])(
    '%s: the agent killed mid-invoke fails the invoke at once (the runtime exits), never hangs',
    async (runtime) => {
      const r = await runFunction({
        kit,
        runtime,
        handler: 'transfer.handler',
        ns: w.fn,
        env: { EGRESS_GUARD_MODE: 'audit' },
        invokes: [
          { requestId: 'doomed', event: { sleepMs: 1_500 }, timeoutMs: 60_000 },
          { requestId: 'never', event: {} },
        ],
        killAgentAfterMs: 500,
      });
      // not a timeout: the runtime process ended and the Runtime API failed the invoke because of it
      expect(r.outcomes[0]?.failed).toMatch(/the runtime process exited/);
      expect(r.exit).not.toBeNull();
      expect(r.outcomes).toHaveLength(1);
    },
  );

  it('the agent binary missing: one warning line, the function runs unmetered', async () => {
    const r = await runFunction({
      kit,
      runtime: 'node',
      handler: 'transfer.handler',
      ns: w.fn,
      env: { EGRESS_GUARD_MODE: 'audit', EGRESS_GUARD_AGENT: '/nonexistent/egress-guard-agent' },
      invokes: [{ requestId: 'plain', event: {} }],
    });
    expect(r.outcomes[0]).toMatchObject({ ok: true });
    const agent = events(r, 'agent');
    expect(agent).toHaveLength(1);
    expect(agent[0]).toMatchObject({ error: 'E_AGENT_MISSING', metering: false, level: 40 });
    expect(events(r, 'invoke')).toEqual([]);
  });
});
