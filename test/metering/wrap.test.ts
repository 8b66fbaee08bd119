// withEgressGuard in process: the wrapper keeps each handler's shape (the Node runtime decides by shape how to call
// it), publishes the request id from the right argument, settles exactly once, and `off` means unwrapped.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './harness.js';

const dir = tempDir();
process.env.EGRESS_GUARD_LOG = join(dir, 'guard.log');
const { withEgressGuard, EgressBudgetExceededError } = await import('../../layer/node/index.js');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const state = join(dir, 'state');
const opts = { statePath: state, metrics: false, policyPath: undefined };
const ctx = (id: string) => ({ awsRequestId: id, getRemainingTimeInMillis: () => 10_000 });
const requestIdInState = () => {
  const b = readFileSync(state);
  return b.subarray(40, 40 + b.readUInt32LE(36)).toString();
};
const logLines = () =>
  readFileSync(join(dir, 'guard.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('withEgressGuard', () => {
  it('keeps the async shape and the result', async () => {
    const h = withEgressGuard(async (e: { n: number }, _c: unknown) => e.n * 2, opts);
    expect(h.length).toBe(2);
    await expect(h({ n: 21 }, ctx('a1'))).resolves.toBe(42);
    expect(requestIdInState()).toBe('a1');
  });

  it('keeps the callback shape, and a callback error stays an error', async () => {
    const h = withEgressGuard((e: { fail?: boolean }, _c: unknown, cb: (err: unknown, v?: unknown) => void) => {
      setTimeout(() => (e.fail ? cb(new Error('nope')) : cb(null, 'fine')), 1);
    }, opts);
    expect(h.length).toBe(3);
    const call = (fail: boolean, id: string) =>
      new Promise((resolve) => h({ fail }, ctx(id), (err: unknown, v?: unknown) => resolve([err, v])));
    expect(await call(false, 'c1')).toEqual([null, 'fine']);
    const [err] = (await call(true, 'c2')) as [Error];
    expect(err.message).toBe('nope');
    const inv = logLines().filter((l) => l.event === 'invoke');
    expect(inv.find((l) => l.requestId === 'c2')).toMatchObject({ outcome: 'error' });
  });

  it('settles a callback-style handler once even if it both calls back and returns a promise', async () => {
    const results: unknown[] = [];
    const h = withEgressGuard(async (_e: unknown, _c: unknown, cb: (err: unknown, v?: unknown) => void) => {
      cb(null, 'from-callback');
      return 'from-promise';
    }, opts);
    const r = await new Promise((resolve) => {
      const p = h({}, ctx('both'), (_err: unknown, v?: unknown) => {
        results.push(v);
        resolve(v);
      });
      if (p && typeof (p as Promise<unknown>).then === 'function') (p as Promise<unknown>).then(resolve);
    });
    expect(r).toBe('from-callback');
    expect(logLines().filter((l) => l.event === 'invoke' && l.requestId === 'both')).toHaveLength(1);
  });

  it('wraps response-streaming handlers: marker copied, context taken from the third argument', async () => {
    const fn = async (_e: unknown, stream: { out: string[] }) => {
      stream.out.push('chunk');
      return undefined;
    };
    Object.assign(fn, { [STREAMING]: 'response' });
    const h = withEgressGuard(fn, opts) as typeof fn & { [STREAMING]?: string };
    expect(h[STREAMING]).toBe('response');
    const stream = { out: [] as string[] };
    await (h as unknown as (e: unknown, s: unknown, c: unknown) => Promise<unknown>)({}, stream, ctx('stream-1'));
    expect(stream.out).toEqual(['chunk']);
    expect(requestIdInState()).toBe('stream-1');
  });

  it('fails at once with the typed error when a budget is exceeded in enforce mode', async () => {
    // a zero budget over loopback (counted here): the invoke's own 1000-byte reply exceeds it
    const net = await import('node:net');
    const srv = net.createServer((s) => s.end('x'.repeat(1000)));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    let inner: Promise<unknown> = Promise.resolve();
    const g = withEgressGuard(
      async (_e: unknown, _c: unknown) => {
        inner = new Promise((resolve) => {
          const c = net.connect(port, '127.0.0.1');
          c.on('data', () => {});
          c.on('error', () => resolve('error'));
          c.on('close', () => resolve('done'));
        });
        return inner;
      },
      { ...opts, mode: 'enforce', budgets: { rxBytes: 0 }, interfaces: { include: ['*'], exclude: [] } },
    );
    const err = await g({}, ctx('zero')).catch((e: unknown) => e);
    await inner;
    srv.close();
    expect(err).toBeInstanceOf(EgressBudgetExceededError);
    expect(err).toMatchObject({ code: 'E_BUDGET_EXCEEDED', budget: 'rxBytes', limit: 0, requestId: 'zero' });
    expect((err as { observed: number }).observed).toBeGreaterThan(0);
  });

  it('returns the handler itself in mode off, and refuses what is not a function', () => {
    const fn = async () => 1;
    expect(withEgressGuard(fn, { ...opts, mode: 'off' })).toBe(fn);
    expect(() => withEgressGuard(42 as unknown as () => void)).toThrow(TypeError);
  });
});
