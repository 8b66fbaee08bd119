// Real traffic, real counters, for both wrappers: the function runs in one namespace through the layer's Node bundle or
// Python module and a stand-in runtime (driver/), the server in another, joined by a veth pair (world.ts). Per-invoke figures must match what was
// transferred, within the tolerance justified in world.ts / docs/METERING.md.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { buildBundle, type Invoke, lines, runDriver, tempDir } from './harness.js';
import { createWorld, expectDownload, expectEcho, KiB, MiB, SERVER_IP, type World } from './world.js';

const ok = needNetns() && needCommand('python3');

describe.skipIf(!ok).each(['node', 'python'] as const)('per-invoke bytes over a veth pair (%s wrapper)', (lang) => {
  let w: World;
  let dir = '';
  let bundle = '';

  beforeAll(async () => {
    dir = tempDir();
    bundle = buildBundle(dir);
    w = await createWorld(lang === 'node' ? 'egmn' : 'egmp');
  });

  afterAll(() => {
    w?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (original: string, invokes: Invoke[], env: Record<string, string> = {}) =>
    runDriver({ lang, handler: bundle.replace(/\.mjs$/, '.handler'), original, invokes, ns: w.fn, env });

  it('measures each of several back-to-back invokes on its own, a throwing one included', async () => {
    const ids = ['dl-3m', 'idle', 'echo-512k', 'dl-1m-throws', 'dl-200k'];
    const r = await run('transfer.handler', [
      { requestId: 'dl-3m', event: { download: { url: `${w.http}/bytes/${3 * MiB}` } } },
      { requestId: 'idle', event: { sleepMs: 50 } },
      { requestId: 'echo-512k', event: { upload: { host: SERVER_IP, port: w.echoPort, bytes: 512 * KiB } } },
      { requestId: 'dl-1m-throws', event: { download: { url: `${w.http}/bytes/${MiB}` }, throwAfter: true } },
      { requestId: 'dl-200k', event: { download: { url: `${w.http}/bytes/${200 * KiB}` } } },
    ]);
    expect(r.results.map((x) => x.ok)).toEqual([true, true, true, false, true]);
    const inv = (id: string) => {
      const l = lines(r, 'invoke', id);
      expect(l).toHaveLength(1);
      return l[0] as { rxBytes: number; txBytes: number; outcome: string };
    };
    console.log(
      `${lang} measured [id, rx, tx]`,
      ids.map((id) => [id, inv(id).rxBytes, inv(id).txBytes]),
    );
    expectDownload(inv('dl-3m').rxBytes, inv('dl-3m').txBytes, 3 * MiB);
    // nothing was transferred during the idle invoke: at most the previous connection's last frame bleeds in
    expect(inv('idle').rxBytes).toBeLessThan(KiB);
    expect(inv('idle').txBytes).toBeLessThan(KiB);
    expectEcho(inv('echo-512k').rxBytes, inv('echo-512k').txBytes, 512 * KiB);
    expect(inv('dl-1m-throws').outcome).toBe('error');
    expectDownload(inv('dl-1m-throws').rxBytes, inv('dl-1m-throws').txBytes, MiB);
    expectDownload(inv('dl-200k').rxBytes, inv('dl-200k').txBytes, 200 * KiB);
    // one EMF line per invoke, with the same figures
    const emf = r.stdout.filter((l) => l._aws);
    expect(emf.map((l) => l.requestId)).toEqual(ids);
    expect(emf[0]).toMatchObject({ FunctionName: 'metering-test', RxBytes: inv('dl-3m').rxBytes, BudgetExceeded: 0 });
    expect(emf[0]?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'EgressGuard',
      Dimensions: [['FunctionName']],
    });
  });

  it('reports init-phase traffic once, separately from the invokes', async () => {
    const r = await run('initfetch.handler', [{ requestId: 'after-init-1' }, { requestId: 'after-init-2' }], {
      INIT_FETCH_URL: `${w.http}/bytes/${300 * KiB}`,
    });
    expect(r.results.map((x) => x.value?.initBytes)).toEqual([300 * KiB, 300 * KiB]);
    const init = lines(r, 'init');
    expect(init).toHaveLength(1);
    expect(init[0]?.interfaces).toContain('lo');
    expect(init[0]?.counted).not.toContain('lo');
    expectDownload(init[0]?.sinceLoad.rxBytes, init[0]?.sinceLoad.txBytes, 300 * KiB);
    expect(init[0]?.rxBytes).toBeGreaterThanOrEqual(init[0]?.sinceLoad.rxBytes);
    for (const id of ['after-init-1', 'after-init-2']) expect(lines(r, 'invoke', id)[0]?.rxBytes).toBeLessThan(KiB);
  });

  it('takes the final snapshot shortly before the deadline of an invoke that times out', async () => {
    const r = await run('transfer.handler', [
      { requestId: 'slow', event: { download: { url: `${w.http}/bytes/${MiB}` }, sleepMs: 5_000 }, timeoutMs: 1_500 },
    ]);
    expect(r.results).toEqual([{ requestId: 'slow', ok: false, timedOut: true }]);
    const s = lines(r, 'invoke', 'slow');
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ outcome: 'timeout', timedOut: true });
    expectDownload(s[0]?.rxBytes, s[0]?.txBytes, MiB);
    expect(s[0]?.durationMs).toBeGreaterThan(1_000);
    expect(s[0]?.durationMs).toBeLessThan(1_500);
  });

  it('counts only the interfaces it is told to (EGRESS_GUARD_INTERFACES_EXCLUDE)', async () => {
    const r = await run(
      'transfer.handler',
      [{ requestId: 'excluded', event: { download: { url: `${w.http}/bytes/${MiB}` } } }],
      {
        EGRESS_GUARD_INTERFACES_EXCLUDE: 'lo,e*',
      },
    );
    expect(lines(r, 'invoke', 'excluded')[0]).toMatchObject({ rxBytes: 0, txBytes: 0 });
    expect(lines(r, 'init')[0]?.counted).toEqual([]);
  });
});
