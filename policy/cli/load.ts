/**
 * Loads a policy for tools that need decisions: a compiled `.egp` (recognised by its magic bytes, whatever its
 * name) is validated and used as is; anything else is compiled as YAML in memory. Throws `PolicyError` or
 * `FormatError`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Diagnostic } from '../diagnostics.js';
import { MAGIC } from '../gen/format.js';
import { type CompiledPolicy, loadCompiled } from '../match/compiled.js';

export interface LoadedPolicy {
  policy: CompiledPolicy;
  source: 'yaml' | 'egp';
  warnings: Diagnostic[];
}

export function isCompiledBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && MAGIC.every((b, i) => bytes[i] === b);
}

/** The compiler (yaml, ajv) is imported only for YAML input: explaining a compiled file starts faster. */
export async function loadAnyPolicy(file: string, cwd: string): Promise<LoadedPolicy> {
  const bytes = new Uint8Array(readFileSync(resolve(cwd, file)));
  if (isCompiledBytes(bytes)) return { policy: loadCompiled(bytes, { verify: 'full' }), source: 'egp', warnings: [] };
  const { compilePolicyTextSync } = await import('../compile/compile.js');
  const r = compilePolicyTextSync(new TextDecoder().decode(bytes), file, { cwd });
  return { policy: loadCompiled(r.bytes), source: 'yaml', warnings: r.warnings };
}
