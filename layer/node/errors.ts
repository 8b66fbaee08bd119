/**
 * Typed errors the wrapper raises into the invocation (the Lambda runtime reports `name` as `errorType`).
 *
 * - `EgressBudgetExceededError` (`code: 'E_BUDGET_EXCEEDED'`): enforce mode, a per-invoke byte budget was exceeded.
 *   Carries the budget's name, its limit and the bytes observed when it tripped (JSON numbers: exact to 2^53).
 * - `HandlerLoadError`: the original handler could not be loaded; `name` follows the Node runtime's own error types
 *   (`Runtime.MalformedHandlerName`, `Runtime.ImportModuleError`, `Runtime.HandlerNotFound`) so they read the same in
 *   the console, and `code` is ours and stable.
 */
import type { BudgetName } from './policy.js';

export class EgressBudgetExceededError extends Error {
  readonly code = 'E_BUDGET_EXCEEDED';
  constructor(
    readonly budget: BudgetName,
    readonly limit: number,
    readonly observed: number,
    readonly requestId: string,
  ) {
    super(
      `egress budget exceeded: ${budget} ${observed} bytes observed, limit ${limit} (request ${requestId}); ` +
        'further egress of this invocation is blocked; raise budgets.perInvoke in the policy if this is expected',
    );
    this.name = 'EgressBudgetExceededError';
  }
}

export type HandlerLoadCode =
  | 'E_HANDLER_UNSET'
  | 'E_HANDLER_MALFORMED'
  | 'E_HANDLER_MODULE_NOT_FOUND'
  | 'E_HANDLER_IMPORT'
  | 'E_HANDLER_NOT_FOUND';

const RUNTIME_NAMES: Record<HandlerLoadCode, string> = {
  E_HANDLER_UNSET: 'Runtime.MalformedHandlerName',
  E_HANDLER_MALFORMED: 'Runtime.MalformedHandlerName',
  E_HANDLER_MODULE_NOT_FOUND: 'Runtime.ImportModuleError',
  E_HANDLER_IMPORT: 'Runtime.ImportModuleError',
  E_HANDLER_NOT_FOUND: 'Runtime.HandlerNotFound',
};

export class HandlerLoadError extends Error {
  constructor(
    readonly code: HandlerLoadCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = RUNTIME_NAMES[code];
  }
}
