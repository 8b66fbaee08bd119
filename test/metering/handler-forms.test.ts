// The layer's Node entry (the real esbuild bundle) loads every handler string form the Node runtime accepts and keeps
// each handler's calling convention; driven by the stand-in runtime (driver/node-driver.mjs), one process per case.

import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, FUNCTIONS, lines, runDriver, tempDir } from './harness.js';

let dir = '';
let bundle = '';
let taskRoot = '';
beforeAll(() => {
  dir = tempDir();
  bundle = buildBundle(dir);
  // The task root is a copy of functions/forms plus a package under node_modules/ (the "handler resolved by package
  // name" form), made here so the repository tracks no node_modules/ folder.
  taskRoot = join(dir, 'forms');
  cpSync(join(FUNCTIONS, 'forms'), taskRoot, { recursive: true });
  const pkg = join(taskRoot, 'node_modules', 'eg-pkg-handler');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), '{ "name": "eg-pkg-handler", "main": "main.js" }\n');
  writeFileSync(
    join(pkg, 'main.js'),
    "// A handler module resolved from node_modules by package name.\nexports.handler = async () => ({ form: 'package' });\n",
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (original: string, event: unknown = { n: 7 }) =>
  runDriver({
    lang: 'node',
    handler: bundle.replace(/\.mjs$/, '.handler'),
    original,
    taskRoot,
    invokes: [{ requestId: `req-${original}`, event }],
  });

describe('Node handler forms through the layer bundle', () => {
  it.each([
    ['index.handler', { form: 'cjs-js', requestId: 'req-index.handler', echo: 7 }],
    ['index.handlers.main', { form: 'nested' }],
    ['lib/deep/app.main', { form: 'esm-mjs-nested', echo: 7 }],
    ['esm-pkg/main.handler', { form: 'esm-js-type-module' }],
    ['legacy.handler', { form: 'callback', requestId: 'req-legacy.handler' }],
    ['legacy.hybrid', { form: 'hybrid' }],
    ['eg-pkg-handler.handler', { form: 'package' }],
  ])('%s', async (original, value) => {
    const r = await run(original);
    expect(r.results).toEqual([{ requestId: `req-${original}`, ok: true, value }]);
    const inv = lines(r, 'invoke', `req-${original}`);
    expect(inv).toHaveLength(1);
    expect(inv[0]).toMatchObject({ outcome: 'ok', function: 'metering-test', budgetExceeded: false });
    expect(r.stdout.filter((l) => l._aws && l.requestId === `req-${original}`)).toHaveLength(1);
  });

  it('passes callback errors and synchronous throws through, still metering the invoke', async () => {
    const a = await run('legacy.handler', { fail: true });
    expect(a.results[0]).toMatchObject({ ok: false, error: { code: 'E_CB' } });
    expect(lines(a, 'invoke')[0]).toMatchObject({ outcome: 'error' });
    const b = await run('legacy.syncThrow');
    expect(b.results[0]).toMatchObject({ ok: false, error: { code: 'E_SYNC' } });
    expect(lines(b, 'invoke')[0]).toMatchObject({ outcome: 'error' });
  });

  it.each([
    ['index.nothing', 'Runtime.HandlerNotFound', 'E_HANDLER_NOT_FOUND'],
    ['index.notAFunction', 'Runtime.HandlerNotFound', 'E_HANDLER_NOT_FOUND'],
    ['missing.handler', 'Runtime.ImportModuleError', 'E_HANDLER_MODULE_NOT_FOUND'],
    ['broken.handler', 'Runtime.ImportModuleError', 'E_HANDLER_IMPORT'],
    ['nodot', 'Runtime.MalformedHandlerName', 'E_HANDLER_MALFORMED'],
    ['../escape.handler', 'Runtime.MalformedHandlerName', 'E_HANDLER_MALFORMED'],
  ])('fails the init phase for %s with %s (%s)', async (original, name, code) => {
    const r = await run(original);
    expect(r.status).not.toBe(0);
    expect(r.results).toEqual([]);
    expect(r.stderr).toContain(name);
    expect(r.stderr).toContain(code);
  });
});
