/**
 * The agent under ThreadSanitizer. Its worker threads (one per runtime connection) and its sampler thread share the
 * invoke table, the state file and the pool of upstream connections (native/agent/). A real function runs through the
 * real layer with the agent built with TSan (`make -C native build/tsan/egress-guard-agent`, EGRESS_GUARD_AGENT), in
 * enforce mode with a 1 MiB receive budget, through invokes that reach every place where those threads meet:
 * invokes that end before the sampler's first look; one that runs for 300 ms while the sampler looks at it; one the
 * sampler trips mid-transfer (it posts EgressBudgetExceeded while a worker waits for the handler's late result, which
 * is then answered locally); and the next one. TSan writes its reports to the agent's stderr, which is the runtime's
 * and which the test collects: any report fails the test. TSAN_OPTIONS=verbosity=1 makes the runtime print a line at
 * start, which proves that the TSan agent ran and that its output reaches the test.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, type Kit, makeKit, runFunction } from '../metering/harness.js';
import { createWorld, KiB, MiB, meterPolicy, type World } from '../metering/world.js';
import { needCommand, needNetns } from '../support/capability.js';
import { BUILD, make, SANITIZER_ERRORS } from './support.js';

const ok = needNetns() && needCommand('clang');

describe.skipIf(!ok)('the agent under ThreadSanitizer', () => {
  let w: World;
  let kit: Kit;
  let policy = '';
  beforeAll(async () => {
    make('build/tsan/egress-guard-agent');
    kit = await makeKit();
    w = await createWorld('egts');
    policy = meterPolicy(kit.dir, 'tsan', 'enforce', `    rxBytes: ${MiB}\n`);
  }, 600_000);
  afterAll(() => {
    w?.destroy();
    kit?.destroy();
  });

  it('workers and sampler through short, long, tripped and next invokes: no report', async () => {
    const r = await runFunction({
      kit,
      runtime: 'node',
      handler: 'transfer.handler',
      ns: w.fn,
      env: {
        EGRESS_GUARD_POLICY: policy,
        EGRESS_GUARD_AGENT: join(BUILD, 'tsan', 'egress-guard-agent'),
        TSAN_OPTIONS: 'verbosity=1 halt_on_error=0',
      },
      invokes: [
        { requestId: 'short-1', event: { download: `${w.http}/bytes/${100 * KiB}` } },
        { requestId: 'short-2', event: { download: `${w.http}/bytes/${100 * KiB}` } },
        { requestId: 'looked-at', event: { download: `${w.http}/bytes/${512 * KiB}`, sleepMs: 300 } },
        { requestId: 'over', event: { download: `${w.http}/bytes/${5 * MiB}`, sleepMs: 300 } },
        { requestId: 'next', event: { download: `${w.http}/bytes/${100 * KiB}` } },
      ],
    });
    expect(r.stderr).toMatch(/==\d+==/); // the TSan runtime's own start-up lines: the TSan agent ran, its stderr is here
    expect(r.stderr).not.toMatch(SANITIZER_ERRORS);
    expect(r.outcomes.map((o) => [o.requestId, o.ok ?? false, o.errorType ?? ''])).toEqual([
      ['short-1', true, ''],
      ['short-2', true, ''],
      ['looked-at', true, ''],
      ['over', false, 'EgressBudgetExceeded'],
      ['next', true, ''],
    ]);
    for (const id of ['short-1', 'short-2', 'looked-at', 'over', 'next'])
      expect(events(r, 'invoke', id)).toHaveLength(1);
  });
});
