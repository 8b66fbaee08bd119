// Needs no root: traffic over loopback (counted by telling the meter to count `lo`), a server in this process.
// - Overlapping invokes (Lambda Managed Instances) are detected and reported as such, never as per-invoke figures,
//   and budgets are not enforced across them.
// - The Python wrapper loads every handler string form the Python runtime accepts.
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyTextSync } from '../../policy/index.js';
import { needCommand } from '../support/capability.js';
import { buildBundle, FUNCTIONS, lines, runDriver, tempDir } from './harness.js';

const KiB = 1024;
let dir = '';
let bundle = '';
let server: http.Server;
let url = '';
let policy = '';

beforeAll(async () => {
  dir = tempDir();
  bundle = buildBundle(dir);
  policy = join(dir, 'p.egp');
  writeFileSync(
    policy,
    compilePolicyTextSync(
      'version: 1\nmode: enforce\nallow:\n  - ip: 127.0.0.1\nbudgets:\n  perInvoke:\n    rxBytes: 100000\n',
      'p.yaml',
    ).bytes,
  );
  server = http.createServer((req, res) => {
    const n = Number(/\/bytes\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    res.writeHead(200, { 'content-length': n, connection: 'close' });
    res.end(Buffer.alloc(n, 'x'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

// count loopback (the default excludes it): these tests then see their own transfers
const COUNT_LO = { EGRESS_GUARD_INTERFACES: 'lo', EGRESS_GUARD_INTERFACES_EXCLUDE: 'none' };

describe('concurrent invokes (Node, one process)', () => {
  it('reports overlapping invokes as concurrent, with no per-invoke byte metrics and no enforcement', async () => {
    const r = await runDriver({
      lang: 'node',
      handler: bundle.replace(/\.mjs$/, '.handler'),
      original: 'fetchlo.handler',
      invokes: [
        { requestId: 'c1', event: { url: `${url}/bytes/${300 * KiB}`, holdMs: 200 } },
        { requestId: 'c2', event: { url: `${url}/bytes/${10 * KiB}`, delayMs: 50 } },
      ],
      env: { ...COUNT_LO, EGRESS_GUARD_POLICY: policy },
      parallel: true,
    });
    expect(r.results.map((x) => [x.requestId, x.ok]).sort()).toEqual([
      ['c1', true],
      ['c2', true],
    ]);
    for (const id of ['c1', 'c2']) expect(lines(r, 'invoke', id)[0]).toMatchObject({ concurrent: true });
    const budget = lines(r, 'budget');
    expect(budget.length).toBeGreaterThan(0);
    for (const b of budget) expect(b).toMatchObject({ enforced: false, concurrent: true });
    const emf = r.stdout.filter((l) => l._aws);
    expect(emf).toHaveLength(2);
    for (const e of emf) {
      expect(e.ConcurrentInvokes).toBe(1);
      expect(e.RxBytes).toBeUndefined();
      expect(e._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual([
        'BudgetExceeded',
        'ConcurrentInvokes',
      ]);
    }
  });

  it('treats every invoke as concurrent when AWS_LAMBDA_MAX_CONCURRENCY > 1', async () => {
    const r = await runDriver({
      lang: 'node',
      handler: bundle.replace(/\.mjs$/, '.handler'),
      original: 'fetchlo.handler',
      invokes: [{ requestId: 'solo', event: { url: `${url}/bytes/10` } }],
      env: { ...COUNT_LO, AWS_LAMBDA_MAX_CONCURRENCY: '8' },
    });
    expect(lines(r, 'invoke', 'solo')[0]).toMatchObject({ concurrent: true });
  });

  it('sequential invokes over loopback are per-invoke and budgets are enforced', async () => {
    const r = await runDriver({
      lang: 'node',
      handler: bundle.replace(/\.mjs$/, '.handler'),
      original: 'fetchlo.handler',
      invokes: [
        { requestId: 's1', event: { url: `${url}/bytes/${300 * KiB}` } },
        { requestId: 's2', event: { url: `${url}/bytes/${10 * KiB}` } },
      ],
      env: { ...COUNT_LO, EGRESS_GUARD_POLICY: policy, EGRESS_GUARD_METRICS_NAMESPACE: 'Team/Egress' },
      // s1 fails at the trip while its download goes on; let it end before s2 starts (else its tail lands in s2)
      settle: true,
    });
    expect(r.results[0]).toMatchObject({ ok: false, error: { code: 'E_BUDGET_EXCEEDED', budget: 'rxBytes' } });
    expect(r.results[2]).toMatchObject({ requestId: 's2', ok: true, value: { downloaded: 10 * KiB } });
    expect(lines(r, 'invoke', 's2')[0]).not.toHaveProperty('concurrent');
    const emf = r.stdout.filter((l) => l._aws);
    expect(emf.map((l) => [l._aws.CloudWatchMetrics[0].Namespace, l.requestId, l.BudgetExceeded])).toEqual([
      ['Team/Egress', 's1', 1],
      ['Team/Egress', 's2', 0],
    ]);
  });

  it('writes no EMF line with EGRESS_GUARD_METRICS=off, and still the summary', async () => {
    const r = await runDriver({
      lang: 'node',
      handler: bundle.replace(/\.mjs$/, '.handler'),
      original: 'fetchlo.handler',
      invokes: [{ requestId: 'quiet', event: { url: `${url}/bytes/10` } }],
      env: { EGRESS_GUARD_METRICS: 'off' },
    });
    expect(r.stdout.filter((l) => l._aws)).toEqual([]);
    expect(lines(r, 'invoke', 'quiet')).toHaveLength(1);
  });
});

const py = needCommand('python3');
describe.skipIf(!py)('Python handler forms', () => {
  const run = (original: string) =>
    runDriver({
      lang: 'python',
      original,
      taskRoot: join(FUNCTIONS, 'pyforms'),
      invokes: [{ requestId: `req-${original}` }],
    });
  it.each([
    ['app.handler', { form: 'module', requestId: 'req-app.handler' }],
    ['pkg.sub.mod.main', { form: 'package' }],
    ['pkg/sub/mod.main', { form: 'package' }],
    ['nested/plain.handler', { form: 'dir' }],
  ])('%s', async (original, value) => {
    const r = await run(original);
    expect(r.results).toEqual([{ requestId: `req-${original}`, ok: true, value }]);
    expect(lines(r, 'invoke', `req-${original}`)).toHaveLength(1);
    expect(r.stdout.filter((l) => l._aws)).toHaveLength(1);
  });
  it.each([
    ['app.nothing', 'Runtime.HandlerNotFound', 'E_HANDLER_NOT_FOUND'],
    ['app.NOT_CALLABLE', 'Runtime.HandlerNotFound', 'E_HANDLER_NOT_FOUND'],
    ['missing.handler', 'Runtime.ImportModuleError', 'E_HANDLER_MODULE_NOT_FOUND'],
    ['broken.handler', 'Runtime.ImportModuleError', 'E_HANDLER_IMPORT'],
    ['nodot', 'Runtime.MalformedHandlerName', 'E_HANDLER_MALFORMED'],
  ])('fails the init phase for %s with %s (%s)', async (original, name, code) => {
    const r = await run(original);
    expect(r.status).not.toBe(0);
    expect(r.results).toEqual([]);
    expect(r.stderr).toContain(name);
    expect(r.stderr).toContain(code);
  });
});
