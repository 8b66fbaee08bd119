/**
 * Warnings for legal but suspicious policies (placeholder until the full checks land).
 */
import type { Diagnostic } from '../diagnostics.js';
import type { PolicySource } from '../parse/source.js';
import type { PolicyAst } from './ast.js';

export function findWarnings(_src: PolicySource, _ast: PolicyAst): Diagnostic[] {
  return [];
}
