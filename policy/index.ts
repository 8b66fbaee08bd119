/** Public API of the policy compiler and reference matcher. Re-exports only. */
export {
  type CompileOptions,
  type CompileResult,
  compilePolicyFile,
  compilePolicyFileSync,
  compilePolicyText,
  compilePolicyTextSync,
} from './compile/compile.js';
export { writeFileAtomic } from './compile/write-atomic.js';
export { type Diagnostic, formatDiagnostic, PolicyError, type Severity } from './diagnostics.js';
export { encodePolicy } from './format/writer.js';
export {
  type CompiledBudgets,
  CompiledPolicy,
  type CompiledRule,
  type Decision,
  type DecisionResult,
  loadCompiled,
  type QueryProto,
} from './match/compiled.js';
export { FormatError, type FormatErrorCode } from './match/errors.js';
export { normalizeName } from './names/normalize.js';
export type { PolicyAst } from './semantic/ast.js';
