/**
 * The agent killed mid-invoke, under the real Lambda Runtime Interface Emulator (docs/METERING.md "The agent's costs
 * and limits"): Python's `awslambdaric` through the exec wrapper, a handler that sleeps 2 s, the agent SIGKILLed 0.5 s
 * into it (as a crash, the OOM killer or a compromised dependency of the same user could). The invoke must fail
 * clearly and soon — the runtime's result post is refused, it exits, the emulator reports Runtime.ExitError — never
 * hang until the function's 30 s timeout; and the next invoke runs in a fresh runtime with a fresh agent.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_FIELD } from '../../policy/gen/state.js';
import { need, needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import { type MatrixLab, openMatrix } from './support/matrix.js';
import { needRie } from './support/rie.js';

const python = spawnSync('python3', ['-c', 'import awslambdaric, sys; print(sys.executable)'], { encoding: 'utf8' });
const ok =
  needNetns() &&
  needLibrary() &&
  needRie() &&
  need('awslambdaric (PyPI)', python.status === 0, 'python3 -c "import awslambdaric" failed: .ci/run installs it');

const APP =
  'import time\n\n\ndef handler(event, context):\n    time.sleep(event.get("sleep", 0))\n    return {"ok": True}\n';

const AGENT_PID = STATE_FIELD.agent_pid.offset;

describe.skipIf(!ok)('the agent killed mid-invoke, under the emulator', () => {
  let lab: MatrixLab;
  beforeAll(async () => {
    lab = await openMatrix('rtdie', {
      bootstrap: ['/opt/egress-guard/wrapper', python.stdout.trim(), '-m', 'awslambdaric', 'app.handler'],
      task: { 'app.py': { text: APP } },
    });
  }, 300_000);
  afterAll(() => lab?.destroy());

  it('the invoke fails with Runtime.ExitError within seconds, and the next one runs', async () => {
    const warm = await lab.rie.invoke({ sleep: 0 }); // starts the emulator, the runtime and the agent
    expect(warm.status, lab.rie.output).toBe(200);
    const state = join(dirname(lab.logFile), 'state');
    const agent = Number(readFileSync(state).readBigUInt64LE(AGENT_PID));
    expect(agent).toBeGreaterThan(1);

    const doomed = lab.rie.invoke({ sleep: 2 }, { retry: false }); // a retry would be a second invoke
    await new Promise((r) => setTimeout(r, 500));
    process.kill(agent, 'SIGKILL');
    const r = await doomed;
    const all = `${JSON.stringify(r)}\n--- emulator output\n${lab.rie.output}`;
    console.log(`agent killed: the invoke ended after ${r.ms} ms with HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    expect(r.ms, all).toBeLessThan(10_000); // the function's timeout is 30 s
    expect(r.status, all).toBe(502);
    expect(JSON.parse(r.body), all).toMatchObject({ errorType: 'Runtime.ExitError' });
    expect(lab.rie.output, all).toMatch(/Runtime\.ExitError/);

    const next = await lab.rie.invoke({ sleep: 0 }, { retry: false });
    expect(next.status, `${JSON.stringify(next)}\n${lab.rie.output}`).toBe(200);
    expect(JSON.parse(next.body)).toEqual({ ok: true });
    const fresh = Number(readFileSync(state).readBigUInt64LE(AGENT_PID));
    expect(fresh).not.toBe(agent);
  }, 120_000);
});
