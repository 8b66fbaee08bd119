// Per-invoke bytes, request ids, init traffic and timeouts, measured by the agent for real runtimes started the way
// Lambda starts them (the real exec wrapper, the real Runtime API protocol of demo/runtime-api.ts), with real traffic
// over a veth pair between two network namespaces (world.ts). The Node runtime is the demo's loop; the Python one is
// the real AWS runtime interface client (PyPI awslambdaric) — the agent knows neither: it reads the Runtime API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand, needNetns } from '../support/capability.js';
import { events, hasRic, type Kit, makeKit, type RuntimeKind, runFunction } from './harness.js';
import { createWorld, expectDownload, expectEcho, KiB, MiB, SERVER_IP, type World } from './world.js';

const ok =
  needNetns() && needCommand('python3') && need('awslambdaric', hasRic(), 'pip install awslambdaric (.ci/run does)');

const RUNTIMES: [RuntimeKind, string][] = [
  ['node', 'transfer.handler'],
  ['python-ric', 'transfer.handler'],
];

describe.skipIf(!ok).each(RUNTIMES)('per-invoke bytes through the agent (%s)', (runtime, handler) => {
  let w: World;
  let kit: Kit;
  beforeAll(async () => {
    kit = await makeKit();
    w = await createWorld(runtime === 'node' ? 'egan' : 'egap');
  }, 300_000);
  afterAll(() => {
    w?.destroy();
    kit?.destroy();
  });

  it('measures each of several invokes on its own, and tags every guard line with its request id', async () => {
    const ids = ['dl-3m', 'idle', 'echo-512k', 'dl-1m-throws', 'dl-200k'];
    const r = await runFunction({
      kit,
      runtime,
      handler,
      ns: w.fn,
      env: { EGRESS_GUARD_MODE: 'audit', EGRESS_GUARD_LOG_LEVEL: 'all' },
      invokes: [
        { requestId: 'dl-3m', event: { download: `${w.http}/bytes/${3 * MiB}` } },
        { requestId: 'idle', event: { sleepMs: 50 } },
        { requestId: 'echo-512k', event: { upload: { host: SERVER_IP, port: w.echoPort, bytes: 512 * KiB } } },
        { requestId: 'dl-1m-throws', event: { download: `${w.http}/bytes/${MiB}`, throwAfter: true } },
        { requestId: 'dl-200k', event: { download: `${w.http}/bytes/${200 * KiB}` } },
      ],
    });
    expect(r.outcomes.map((o) => [o.requestId, o.ok])).toEqual([
      ['dl-3m', true],
      ['idle', true],
      ['echo-512k', true],
      ['dl-1m-throws', false],
      ['dl-200k', true],
    ]);
    const inv = (id: string) => {
      const l = events(r, 'invoke', id);
      expect(l, id).toHaveLength(1);
      return l[0] as { rxBytes: number; txBytes: number; outcome: string; betweenInvokes?: { rxBytes: number } };
    };
    console.log(
      `${runtime} [id, rx, tx]`,
      ids.map((id) => [id, inv(id).rxBytes, inv(id).txBytes]),
    );
    expectDownload(inv('dl-3m').rxBytes, inv('dl-3m').txBytes, 3 * MiB);
    expect(inv('idle').rxBytes).toBeLessThan(KiB);
    expect(inv('idle').txBytes).toBeLessThan(KiB);
    expectEcho(inv('echo-512k').rxBytes, inv('echo-512k').txBytes, 512 * KiB);
    expect(inv('dl-1m-throws').outcome).toBe('error');
    expectDownload(inv('dl-1m-throws').rxBytes, inv('dl-1m-throws').txBytes, MiB);
    expectDownload(inv('dl-200k').rxBytes, inv('dl-200k').txBytes, 200 * KiB);
    expect(inv('dl-200k').betweenInvokes?.rxBytes).toBeLessThan(KiB);
    // the interposer's decisions carry the request id of the invoke that made them
    const connects = events(r, 'connect').filter((l) => l.ip === SERVER_IP);
    expect(connects.map((l) => l.requestId)).toEqual(['dl-3m', 'echo-512k', 'dl-1m-throws', 'dl-200k']);
    // one EMF line per invoke, with the same figures
    expect(r.emf.map((l) => l.requestId)).toEqual(ids);
    expect(r.emf[0]).toMatchObject({ FunctionName: 'agent-test', RxBytes: inv('dl-3m').rxBytes, BudgetExceeded: 0 });
    expect(r.emf[0]?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'EgressGuard',
      Dimensions: [['FunctionName']],
    });
    // the runtime talked to the agent only; the Runtime API saw the usual protocol, one result per invoke
    expect(r.requests.filter((q) => q.startsWith('POST')).length).toBe(ids.length);
  });

  it('reports init-phase traffic once, separately, and counts only the interfaces it is told to', async () => {
    const r = await runFunction({
      kit,
      runtime,
      handler,
      ns: w.fn,
      env: { EGRESS_GUARD_MODE: 'audit', EGRESS_GUARD_INTERFACES_EXCLUDE: 'lo,e*' },
      invokes: [{ requestId: 'excluded', event: { download: `${w.http}/bytes/${MiB}` } }],
    });
    const init = events(r, 'init');
    expect(init).toHaveLength(1);
    expect(init[0]?.interfaces).toContain('lo');
    expect(init[0]?.counted).toEqual([]);
    expect(events(r, 'invoke', 'excluded')[0]).toMatchObject({ rxBytes: 0, txBytes: 0 });
  });

  it('writes the figures of an invoke that runs into its deadline shortly before it', async () => {
    const r = await runFunction({
      kit,
      runtime,
      handler,
      ns: w.fn,
      env: { EGRESS_GUARD_MODE: 'audit' },
      invokes: [
        { requestId: 'slow', event: { download: `${w.http}/bytes/${MiB}`, sleepMs: 15_000 }, timeoutMs: 4_000 },
      ],
    });
    expect(r.outcomes[0]?.failed).toMatch(/timed out/);
    const s = events(r, 'invoke', 'slow');
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ outcome: 'timeout', timedOut: true, level: 40 });
    expectDownload(s[0]?.rxBytes, s[0]?.txBytes, MiB);
  });
});
