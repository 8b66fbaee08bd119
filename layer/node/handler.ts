/**
 * The layer's Node entry point, bundled to `/opt/egress-guard/node/handler.mjs` (bundle.mjs). The exec wrapper points
 * `_HANDLER` at `/opt/egress-guard/node/handler.handler` and keeps the function's own handler string in
 * `EGRESS_GUARD_ORIGINAL_HANDLER` (the usual layer pattern; docs/LAMBDA.md "Invocations and extensions").
 *
 * Contract: at import (the init phase) it creates the guard — taking the "load" snapshot — and then loads the original
 * handler with top-level await, so the user module's own init traffic and init errors happen in the init phase exactly
 * as without the guard. It exports `handler`, the wrapped original, with the original's shape (wrap.ts).
 */
import { loadHandler } from './loader.js';
import { Guard } from './meter.js';
import { withEgressGuard } from './wrap.js';

// The guard's process-wide resources open before the user module loads, so the init line counts its traffic.
new Guard();
const original = await loadHandler(
  process.env.EGRESS_GUARD_ORIGINAL_HANDLER,
  process.env.LAMBDA_TASK_ROOT ?? process.cwd(),
);

export const handler = withEgressGuard(original);
