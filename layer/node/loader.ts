/**
 * Loads the user's original handler from a Node handler string, resolving it the way the Node.js Lambda runtime does
 * (docs/LAMBDA.md "Invocations and extensions"), relative to `LAMBDA_TASK_ROOT`.
 *
 * Contract: `loadHandler(spec, taskRoot)`
 * - `spec` is `[dir/…/]module.export[.nested…]`: everything up to the last `/` is a directory under the task root; in
 *   the rest, the first `.` separates the module file name from the export path (nested properties allowed:
 *   `index.handlers.main` is `handlers.main` of `index`). `..` anywhere is refused (no escaping the task root).
 * - The module file is tried in the runtime's order: the exact name (CommonJS `require`); `<name>.js` by `require`
 *   unless the nearest package.json says `"type": "module"`, else by `import`; `<name>.mjs` by `import`; `<name>.cjs`
 *   by `require`; finally a package name resolved from `node_modules` of the task root.
 * - Errors are `HandlerLoadError` with stable codes: `E_HANDLER_UNSET`, `E_HANDLER_MALFORMED`,
 *   `E_HANDLER_MODULE_NOT_FOUND`, `E_HANDLER_IMPORT` (the module threw or has a syntax error; `cause` holds it),
 *   `E_HANDLER_NOT_FOUND` (the export is missing or not a function).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HandlerLoadError } from './errors.js';
import type { AnyHandler } from './wrap.js';

export interface HandlerSpec {
  /** Directory part, relative to the task root ('' when none). */
  dir: string;
  module: string;
  exportPath: string[];
}

export function parseHandlerSpec(spec: string | undefined): HandlerSpec {
  if (spec === undefined || spec.trim() === '') {
    throw new HandlerLoadError(
      'E_HANDLER_UNSET',
      'EGRESS_GUARD_ORIGINAL_HANDLER is not set: the exec wrapper stores the function handler there; set it to e.g. "index.handler"',
    );
  }
  if (spec.includes('..')) {
    throw new HandlerLoadError('E_HANDLER_MALFORMED', `handler "${spec}": ".." is not allowed in a handler path`);
  }
  const slash = spec.lastIndexOf('/');
  const dir = slash < 0 ? '' : spec.slice(0, slash);
  const base = spec.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0 || dot === base.length - 1) {
    throw new HandlerLoadError(
      'E_HANDLER_MALFORMED',
      `handler "${spec}" is not of the form "file.export" (e.g. "index.handler" or "src/app.main")`,
    );
  }
  const exportPath = base.slice(dot + 1).split('.');
  if (exportPath.some((p) => p === '')) {
    throw new HandlerLoadError('E_HANDLER_MALFORMED', `handler "${spec}" has an empty export name`);
  }
  return { dir, module: base.slice(0, dot), exportPath };
}

/** The "type" of the nearest package.json above `file`, or undefined. */
function nearestPackageType(file: string): string | undefined {
  let d = dirname(file);
  for (;;) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) {
      try {
        return (JSON.parse(readFileSync(pj, 'utf8')) as { type?: string }).type;
      } catch {
        return undefined;
      }
    }
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

async function loadModule(taskRoot: string, s: HandlerSpec, spec: string): Promise<unknown> {
  const req = createRequire(join(taskRoot, '__egress_guard_loader__.js'));
  const base = resolve(taskRoot, s.dir, s.module);
  const attempt = async (path: string, how: 'require' | 'import'): Promise<{ mod: unknown } | undefined> => {
    if (!existsSync(path)) return undefined;
    try {
      return { mod: how === 'require' ? req(path) : await import(pathToFileURL(path).href) };
    } catch (e) {
      throw new HandlerLoadError(
        'E_HANDLER_IMPORT',
        `handler "${spec}": loading ${path} failed: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  };
  const esmJs = nearestPackageType(`${base}.js`) === 'module';
  const found =
    (await attempt(base, 'require')) ??
    (await attempt(`${base}.js`, esmJs ? 'import' : 'require')) ??
    (await attempt(`${base}.mjs`, 'import')) ??
    (await attempt(`${base}.cjs`, 'require'));
  if (found !== undefined) return found.mod;
  let pkg: string;
  try {
    pkg = req.resolve(s.module, { paths: [taskRoot, resolve(taskRoot, s.dir)] });
  } catch {
    throw new HandlerLoadError(
      'E_HANDLER_MODULE_NOT_FOUND',
      `handler "${spec}": no module ${base}(.js|.mjs|.cjs) and no package "${s.module}" under ${taskRoot}`,
    );
  }
  return (await attempt(pkg, 'require'))?.mod;
}

export async function loadHandler(spec: string | undefined, taskRoot: string): Promise<AnyHandler> {
  const s = parseHandlerSpec(spec);
  const mod = await loadModule(taskRoot, s, spec as string);
  let v: unknown = mod;
  for (const key of s.exportPath) {
    v =
      v !== null && (typeof v === 'object' || typeof v === 'function')
        ? (v as Record<string, unknown>)[key]
        : undefined;
  }
  if (typeof v !== 'function') {
    throw new HandlerLoadError(
      'E_HANDLER_NOT_FOUND',
      `handler "${spec}": ${s.exportPath.join('.')} is ${v === undefined ? 'not exported' : `a ${typeof v}, not a function`} by module ${s.module}`,
    );
  }
  return v as AnyHandler;
}
