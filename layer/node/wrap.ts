/**
 * `withEgressGuard(handler, options)`: wraps a Lambda handler so each invocation is metered, attributed and budgeted.
 *
 * Contract
 * - The wrapper has the handler's shape, because the Node runtime decides by shape how to call it:
 *   - `(event, context)` (async or promise-returning): an async function of two parameters;
 *   - `(event, context, callback)` (callback style, `handler.length >= 3`): a function of three parameters that calls
 *     the runtime's callback itself (so `context.callbackWaitsForEmptyEventLoop` keeps its meaning — our timers are
 *     unref'd and never hold the loop) and, if the handler returns a promise instead, returns a promise; whichever the
 *     handler settles first wins, as in the runtime;
 *   - response-streaming handlers (`awslambda.streamifyResponse`, marked with the runtime's streaming symbol):
 *     `(event, responseStream, context)`, the marker copied to the wrapper.
 * - Every invocation is finished exactly once, whether the handler returns, throws synchronously, rejects, calls back
 *   with an error, or runs into the deadline (then the final snapshot is taken shortly before it; meter.ts).
 * - Enforce mode: when a budget trips mid-invoke, the invocation fails at once with `EgressBudgetExceededError`, without
 *   waiting for the handler (whose later result is ignored, as the runtime ignores a second callback). When the final
 *   check trips, the invocation fails with it even if the handler succeeded.
 * - Mode `off`: the handler is returned unwrapped.
 */
import { Guard, type GuardOptions, type Invocation, type LambdaContextLike } from './meter.js';

// biome-ignore lint/suspicious/noExplicitAny: handlers take and return whatever the event source sends.
export type AnyHandler = (...args: any[]) => any;

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

type Deliver = (isError: boolean, value: unknown) => void;

/**
 * The single exit of an invocation: finishes the meter once, then delivers the outcome — or the budget error, which
 * replaces whatever the handler produced. Later settlements are ignored.
 */
function settleOnce(inv: Invocation | undefined, deliver: Deliver): Deliver {
  let done = false;
  const settle: Deliver = (isError, value) => {
    if (done) return;
    done = true;
    const budgetError = inv?.finish(isError ? 'error' : 'ok');
    if (budgetError !== undefined) deliver(true, budgetError);
    else deliver(isError, value);
  };
  if (inv !== undefined) inv.onTrip = (e) => settle(true, e);
  return settle;
}

/** Promise-style invocation: `call()` may return a value, a promise, or throw. */
function promiseStyle(guard: Guard, context: LambdaContextLike | undefined, call: () => unknown): Promise<unknown> {
  const inv = guard.begin(context);
  return new Promise((resolve, reject) => {
    const settle = settleOnce(inv, (isError, v) => (isError ? reject(v) : resolve(v)));
    let r: unknown;
    try {
      r = call();
    } catch (e) {
      settle(true, e);
      return;
    }
    Promise.resolve(r).then(
      (v) => settle(false, v),
      (e) => settle(true, e),
    );
  });
}

export function withEgressGuard<H extends AnyHandler>(handler: H, options: GuardOptions = {}): H {
  if (typeof handler !== 'function') {
    throw new TypeError(`withEgressGuard: expected a handler function, got ${typeof handler}`);
  }
  const guard = new Guard(options);
  if (guard.mode === 'off') return handler;
  const h = handler as AnyHandler & { [STREAMING]?: unknown; [HIGH_WATER_MARK]?: unknown };

  if (h[STREAMING] !== undefined) {
    const streaming = async function (this: unknown, event: unknown, stream: unknown, context: LambdaContextLike) {
      return promiseStyle(guard, context, () => h.call(this, event, stream, context));
    };
    Object.assign(streaming, { [STREAMING]: h[STREAMING], [HIGH_WATER_MARK]: h[HIGH_WATER_MARK] });
    return streaming as unknown as H;
  }

  if (h.length >= 3) {
    const callbackStyle = function (
      this: unknown,
      event: unknown,
      context: LambdaContextLike,
      callback: (err: unknown, val?: unknown) => void,
    ): unknown {
      const inv = guard.begin(context);
      let target: Deliver | undefined;
      let early: [boolean, unknown] | undefined;
      const settle = settleOnce(inv, (isError, v) => {
        if (target !== undefined) target(isError, v);
        else early = [isError, v];
      });
      let r: unknown;
      try {
        r = h.call(this, event, context, (err: unknown, val?: unknown) =>
          err !== null && err !== undefined ? settle(true, err) : settle(false, val),
        );
      } catch (e) {
        settle(true, e);
      }
      if (isThenable(r) && early === undefined) {
        const p = r;
        return new Promise((resolve, reject) => {
          target = (isError, v) => (isError ? reject(v) : resolve(v));
          p.then(
            (v) => settle(false, v),
            (e) => settle(true, e),
          );
        });
      }
      target = (isError, v) => (isError ? callback(v) : callback(null, v));
      if (early !== undefined) target(early[0], early[1]);
      return undefined;
    };
    return callbackStyle as unknown as H;
  }

  const asyncStyle = async function (this: unknown, event: unknown, context: LambdaContextLike) {
    return promiseStyle(guard, context, () => h.call(this, event, context));
  };
  return asyncStyle as unknown as H;
}
