/**
 * A small, faithful Node.js runtime loop — the part of Lambda's nodejs runtime (/var/runtime/index.mjs) the demo
 * needs — started by the exec wrapper exactly as Lambda starts the real one (`wrapper node node-runtime.mjs`).
 *
 * Why not the real runtime interface client: npm `aws-lambda-ric` compiles aws-lambda-cpp and libcurl from source at
 * install time (cmake, autotools, minutes) — impractical for `npm ci && npm run demo` offline (docs/DEPLOY.md).
 *
 * Contract (what the real runtime does and the guard relies on):
 * - Reads `_HANDLER`, `LAMBDA_TASK_ROOT`, `AWS_LAMBDA_RUNTIME_API` (which the guard points at its agent).
 * - Handler string `[dir/]file.export[.nested]`: the module is `path.resolve(LAMBDA_TASK_ROOT, dir, file)` + the first
 *   of `.js`, `.mjs`, `.cjs` that exists (an absolute dir resolves as is); loaded with import().
 * - Loop: GET …/invocation/next → call handler(event, context[, callback]) → POST …/{id}/response, or …/{id}/error
 *   with {errorType, errorMessage, stackTrace} when it throws/rejects/calls back with an error.
 * - A handler that cannot be loaded: POST …/init/error, exit 1 (Lambda reports Runtime.ImportModuleError).
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const api = process.env.AWS_LAMBDA_RUNTIME_API ?? '127.0.0.1:9001';
const [apiHost, apiPort] = api.split(':') as [string, string];
const base = '/2018-06-01/runtime';

type Handler = (event: unknown, context: unknown, callback?: (err: unknown, res?: unknown) => void) => unknown;

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
    (ok, fail) => {
      const req = request({ host: apiHost, port: Number(apiPort), method, path: base + path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      });
      req.on('error', fail);
      req.end(body);
    },
  );
}

function errorBody(e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  return JSON.stringify({
    errorType: err.name || 'Error',
    errorMessage: err.message,
    stackTrace: (err.stack ?? '').split('\n').slice(1),
  });
}

async function loadHandler(spec: string): Promise<Handler> {
  const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  const slash = spec.lastIndexOf('/');
  const dir = slash >= 0 ? spec.slice(0, slash) : '.';
  const rest = slash >= 0 ? spec.slice(slash + 1) : spec;
  const dot = rest.indexOf('.');
  if (dot < 1) throw Object.assign(new Error(`Bad handler ${spec}`), { name: 'Runtime.MalformedHandlerName' });
  const file = resolve(root, dir, rest.slice(0, dot));
  const path = ['.js', '.mjs', '.cjs'].map((ext) => file + ext).find((p) => existsSync(p));
  if (!path) throw Object.assign(new Error(`Cannot find module '${file}'`), { name: 'Runtime.ImportModuleError' });
  let target: unknown = await import(pathToFileURL(path).href);
  for (const key of rest.slice(dot + 1).split('.')) target = (target as Record<string, unknown> | undefined)?.[key];
  if (typeof target !== 'function') {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return target as Handler;
}

function invokeHandler(handler: Handler, event: unknown, context: unknown): Promise<unknown> {
  return new Promise((ok, fail) => {
    let done = false;
    const callback = (err: unknown, res?: unknown) => {
      if (done) return;
      done = true;
      if (err) fail(err);
      else ok(res);
    };
    try {
      const r = handler(event, context, callback);
      if (r && typeof (r as Promise<unknown>).then === 'function')
        (r as Promise<unknown>).then(callback.bind(null, null), (e) => callback(e ?? new Error('rejected')));
      else if (handler.length < 3) callback(null, r);
    } catch (e) {
      callback(e);
    }
  });
}

async function main(): Promise<void> {
  let handler: Handler;
  try {
    handler = await loadHandler(process.env._HANDLER ?? '');
  } catch (e) {
    await call('POST', '/init/error', errorBody(e), { 'lambda-runtime-function-error-type': (e as Error).name });
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const id = String(next.headers['lambda-runtime-aws-request-id']);
    const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
    const context = {
      awsRequestId: id,
      invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    process.env._X_AMZN_TRACE_ID = String(next.headers['lambda-runtime-trace-id'] ?? '');
    try {
      const result = await invokeHandler(handler, JSON.parse(next.body || 'null'), context);
      await call('POST', `/invocation/${encodeURIComponent(id)}/response`, JSON.stringify(result ?? null));
    } catch (e) {
      await call('POST', `/invocation/${encodeURIComponent(id)}/error`, errorBody(e), {
        'lambda-runtime-function-error-type': (e as Error)?.name ?? 'Error',
      });
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`node-runtime: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(2);
});
