/**
 * Public API of the Node wrapper for people who wrap by hand instead of using the layer's exec wrapper:
 * `export const handler = withEgressGuard(async (event, context) => …, { budgets: { rxBytes: 10_000_000 } })`.
 */
export type { GuardOptions } from './config.js';
export { EgressBudgetExceededError, HandlerLoadError } from './errors.js';
export { loadHandler, parseHandlerSpec } from './loader.js';
export { withEgressGuard } from './wrap.js';
