/**
 * The demo's local Runtime API speaks the Lambda Runtime API protocol (real HTTP on loopback), and the demo's Node
 * runtime loop drives a real handler through it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Type-only imports put the demo's entry files in the type-checked program (`npm run typecheck`).
import type {} from '../../demo/main.js';
import type {} from '../../demo/runtime/node-runtime.js';
import { RuntimeApi } from '../../demo/runtime-api.js';
import type {} from '../../demo/servers.js';

function http(address: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const [host, port] = address.split(':');
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((ok, ko) => {
    const req = request({ host, port: Number(port), method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', ko);
    req.end(body);
  });
}

describe('local Runtime API', () => {
  it('hands out an invoke with the protocol headers and settles it from /response and /error', async () => {
    const api = new RuntimeApi('arn:aws:lambda:us-east-1:000000000000:function:t');
    const address = await api.listen();
    try {
      const first = api.invoke({ hello: 'world' }, { requestId: 'req-1', timeoutMs: 5_000 });
      const next = await http(address, 'GET', '/2018-06-01/runtime/invocation/next');
      expect(next.status).toBe(200);
      expect(JSON.parse(next.body)).toEqual({ hello: 'world' });
      expect(next.headers['lambda-runtime-aws-request-id']).toBe('req-1');
      expect(Number(next.headers['lambda-runtime-deadline-ms'])).toBeGreaterThan(Date.now());
      expect(next.headers['lambda-runtime-invoked-function-arn']).toBe(
        'arn:aws:lambda:us-east-1:000000000000:function:t',
      );
      expect(String(next.headers['lambda-runtime-trace-id'])).toMatch(/^Root=1-/);
      const posted = await http(address, 'POST', '/2018-06-01/runtime/invocation/req-1/response', '{"ok":1}');
      expect(posted.status).toBe(202);
      await expect(first).resolves.toMatchObject({ requestId: 'req-1', ok: true, body: { ok: 1 } });
      // Settled: a second outcome for the same id is refused.
      expect((await http(address, 'POST', '/2018-06-01/runtime/invocation/req-1/response', '{}')).status).toBe(400);

      // The long poll waits for the next invoke.
      const pending = http(address, 'GET', '/2018-06-01/runtime/invocation/next');
      const second = api.invoke([1, 2], { requestId: 'req-2' });
      expect(JSON.parse((await pending).body)).toEqual([1, 2]);
      const err = await http(
        address,
        'POST',
        '/2018-06-01/runtime/invocation/req-2/error',
        '{"errorType":"Boom","errorMessage":"no"}',
        {
          'Lambda-Runtime-Function-Error-Type': 'Unhandled',
        },
      );
      expect(err.status).toBe(202);
      await expect(second).resolves.toMatchObject({ ok: false, errorType: 'Unhandled', body: { errorType: 'Boom' } });
      expect((await http(address, 'GET', '/2018-06-01/runtime/nope')).status).toBe(404);
    } finally {
      await api.close();
    }
  });

  it('fails an invoke after its deadline and after an init error', async () => {
    const api = new RuntimeApi();
    const address = await api.listen();
    try {
      await expect(api.invoke({}, { timeoutMs: 50 })).rejects.toThrow(/timed out/);
      await http(address, 'POST', '/2018-06-01/runtime/init/error', '{"errorType":"Runtime.ImportModuleError"}');
      await expect(api.invoke({})).rejects.toThrow(/init error/);
    } finally {
      await api.close();
    }
  });
});

describe('demo Node runtime loop', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eg-rt-'));
    await build({
      entryPoints: [join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'demo', 'runtime', 'node-runtime.ts')],
      outfile: join(dir, 'node-runtime.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'error',
    });
    writeFileSync(
      join(dir, 'fn.mjs'),
      'export const deep = { h: async (e, ctx) => { if (e.fail) throw new TypeError("bad"); return { e, id: ctx.awsRequestId, left: ctx.getRemainingTimeInMillis() > 0 }; } };\n',
    );
    writeFileSync(join(dir, 'cb.cjs'), 'exports.h = (e, ctx, cb) => setTimeout(() => cb(null, { cb: e.n }), 5);\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [handler, event, expected] of [
    ['fn.deep.h', { x: 1 }, { e: { x: 1 }, id: 'r-1', left: true }],
    ['cb.h', { n: 7 }, { cb: 7 }],
  ] as const) {
    it(`loads ${handler} from the task root and posts its result`, async () => {
      const api = new RuntimeApi();
      const address = await api.listen();
      const child = spawn(process.execPath, [join(dir, 'node-runtime.mjs')], {
        env: { PATH: process.env.PATH, _HANDLER: handler, LAMBDA_TASK_ROOT: dir, AWS_LAMBDA_RUNTIME_API: address },
        stdio: 'ignore',
      });
      try {
        expect((await api.invoke(event, { requestId: 'r-1' })).body).toEqual(expected);
        if (handler === 'fn.deep.h') {
          const failed = await api.invoke({ fail: true }, { requestId: 'r-2' });
          expect(failed).toMatchObject({
            ok: false,
            errorType: 'TypeError',
            body: { errorType: 'TypeError', errorMessage: 'bad' },
          });
        }
      } finally {
        child.kill('SIGKILL');
        await api.close();
      }
    });
  }

  it('reports a handler that cannot be loaded as an init error', async () => {
    const api = new RuntimeApi();
    const address = await api.listen();
    const child = spawn(process.execPath, [join(dir, 'node-runtime.mjs')], {
      env: { PATH: process.env.PATH, _HANDLER: 'missing.h', LAMBDA_TASK_ROOT: dir, AWS_LAMBDA_RUNTIME_API: address },
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((ok) => child.on('exit', ok));
    expect(code).toBe(1);
    await expect(api.invoke({})).rejects.toThrow(/Runtime.ImportModuleError|Cannot find module/);
    await api.close();
  });
});
