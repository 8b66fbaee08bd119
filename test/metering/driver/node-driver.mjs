#!/usr/bin/env node
// A stand-in for the Node.js Lambda runtime's invoke loop, for tests and benchmarks.
//
// It imports a handler module the way the runtime does (`_HANDLER` = `<file>.<export>`, the file an absolute path or
// relative to LAMBDA_TASK_ROOT; with the layer that is /opt/egress-guard/node/handler.handler), then invokes it once
// per entry of the plan with an event and a context carrying `awsRequestId` and `getRemainingTimeInMillis`, calling it
// as the runtime does: `handler(event, context, callback)`, using the returned promise if there is one, else waiting
// for the callback. A deadline that passes ends the process at once (Lambda kills a timed-out runtime).
//
// Plan (JSON in argv[2]): { invokes: [{ requestId, event?, timeoutMs? }], resultFile, settleGlobal?, parallel? }
// `parallel`: all invokes start at once and overlap, as on Lambda Managed Instances (several invokes per environment).
// Results: one JSON line per invoke appended to resultFile: { requestId, ok, value? , error? }.
// Test plumbing only: when `settleGlobal` is set and a handler stored a promise in globalThis[settleGlobal], the driver
// awaits it after the invoke, so background work of a failed invoke is over before the next invoke starts.
import { appendFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const plan = JSON.parse(process.argv[2] ?? '{}');
const spec = process.env._HANDLER ?? '';
const dot = spec.lastIndexOf('.');
const file = spec.slice(0, dot);
const exp = spec.slice(dot + 1);
const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
let path = isAbsolute(file) ? file : resolve(taskRoot, file);
if (!/\.(m|c)?js$/.test(path)) path += '.mjs';
const mod = await import(pathToFileURL(path).href);
const handler = mod[exp];
if (typeof handler !== 'function') throw new Error(`driver: ${spec} is not a function`);

const record = (o) => appendFileSync(plan.resultFile, `${JSON.stringify(o)}\n`);
const errJson = (e) =>
  e instanceof Error || (e && typeof e === 'object')
    ? {
        name: e.name,
        message: e.message,
        code: e.code,
        budget: e.budget,
        limit: e.limit,
        observed: e.observed,
        requestId: e.requestId,
      }
    : { message: String(e) };

async function invoke(inv) {
  const deadline = Date.now() + (inv.timeoutMs ?? 30_000);
  const context = {
    awsRequestId: inv.requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'driver-fn',
    functionVersion: '$LATEST',
    memoryLimitInMB: '128',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  const outcome = await new Promise((res) => {
    const timer = setTimeout(() => res({ timedOut: true }), Math.max(0, deadline - Date.now()));
    const done = (o) => {
      clearTimeout(timer);
      res(o);
    };
    try {
      const r = handler(inv.event ?? {}, context, (err, value) =>
        err != null ? done({ ok: false, error: errJson(err) }) : done({ ok: true, value }),
      );
      if (r && typeof r.then === 'function') {
        r.then(
          (value) => done({ ok: true, value }),
          (e) => done({ ok: false, error: errJson(e) }),
        );
      }
    } catch (e) {
      done({ ok: false, error: errJson(e) });
    }
  });
  if (outcome.timedOut) {
    record({ requestId: inv.requestId, ok: false, timedOut: true });
    process.exit(0);
  }
  record({ requestId: inv.requestId, ...outcome });
  if (!plan.parallel && plan.settleGlobal && globalThis[plan.settleGlobal]) {
    const settled = await globalThis[plan.settleGlobal];
    globalThis[plan.settleGlobal] = undefined;
    record({ requestId: inv.requestId, settled });
  }
}

if (plan.parallel) await Promise.all((plan.invokes ?? []).map(invoke));
else for (const inv of plan.invokes ?? []) await invoke(inv);
