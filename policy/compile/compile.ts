/**
 * The compiler's entry points: policy text or file → compiled `.egp` bytes (docs/FORMAT.md).
 * Pipeline: YAML with positions (`../parse/`) → JSON Schema (`../schema/`) → semantic checks and names files
 * (`../semantic/`) → warnings → lowering (`./lower.ts`) → writer (`../format/writer.ts`).
 * Any error: throws `PolicyError` with every diagnostic found (errors and warnings), sorted by position.
 * Success: the bytes plus the warnings. The `…Sync` forms exist for callers that cannot await (CDK synthesis).
 * `compilePolicyFile(path, outFile)` also writes the result atomically (temp file + rename; nothing on error).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Diagnostic, PolicyError, sortDiagnostics } from '../diagnostics.js';
import { NameList } from '../format/ir.js';
import { encodePolicy } from '../format/writer.js';
import { loadCompiled } from '../match/compiled.js';
import { PolicySource } from '../parse/source.js';
import { checkSchema, withoutBadParts } from '../schema/validate.js';
import type { PolicyAst } from '../semantic/ast.js';
import { checkPolicy } from '../semantic/check.js';
import { findWarnings, namesFileCancellations } from '../semantic/warnings.js';
import { lowerPolicy } from './lower.js';
import { writeFileAtomic } from './write-atomic.js';

export interface CompileResult {
  bytes: Uint8Array;
  warnings: Diagnostic[];
  /** the checked policy (for tools such as `explain` and tests) */
  ast: PolicyAst;
}

export interface CompileOptions {
  /** directory a relative policy path (and so its names files) is resolved against; default `process.cwd()` */
  cwd?: string;
  /** format version of the output (docs/FORMAT.md "History"); default WRITE_VERSION */
  formatVersion?: 1 | 2 | 3;
}

/** `filename` is shown in diagnostics and locates names files (relative to `opts.cwd`). */
export function compilePolicyTextSync(text: string, filename: string, opts: CompileOptions = {}): CompileResult {
  const src = new PolicySource(filename, text, resolve(opts.cwd ?? process.cwd(), filename));
  if (src.diagnostics.length > 0) throw new PolicyError(sortDiagnostics(src.diagnostics));
  const exact = new NameList();
  const wild = new NameList();
  const schema = checkSchema(src, src.value);
  if (!schema.doc) {
    // Report the semantic problems of the parts the schema accepted too: every error in one go.
    const rest = withoutBadParts(src.value, schema.bad);
    const again = rest ? checkSchema(src, rest.value) : null;
    const more = again?.doc ? checkPolicy(src, again.doc, { exact, wild }, rest!.skip).diagnostics : [];
    const droppedTop = new Set(schema.bad.filter((p) => p.length === 1).map((p) => p[0]));
    const extra = more.filter(
      (d) => d.severity === 'error' && !(d.code === 'POLICY_EMPTY_ALLOW' && droppedTop.has('allow')),
    );
    throw new PolicyError(sortDiagnostics([...schema.diagnostics, ...extra]));
  }
  const checked = checkPolicy(src, schema.doc, { exact, wild });
  const diagnostics = [...checked.diagnostics];
  if (checked.ast) diagnostics.push(...findWarnings(src, checked.ast));
  if (!checked.ast || diagnostics.some((d) => d.severity === 'error')) {
    throw new PolicyError(sortDiagnostics(diagnostics));
  }
  const bytes = encodePolicy(lowerPolicy(checked.ast, exact, wild), { version: opts.formatVersion });
  const warned = new Set(
    diagnostics
      .filter((d) => d.code === 'ALLOW_CANCELLED_BY_DENY')
      .map((d) => checked.ast!.rules.find((r) => r.line === d.line && r.col === d.col)?.index ?? -1),
  );
  diagnostics.push(...namesFileCancellations(src, checked.ast, loadCompiled(bytes), warned));
  return { bytes, warnings: sortDiagnostics(diagnostics), ast: checked.ast };
}

export async function compilePolicyText(text: string, filename: string, opts?: CompileOptions): Promise<CompileResult> {
  return compilePolicyTextSync(text, filename, opts);
}

/** Compiles `file`; with `outFile`, also writes the bytes there atomically (relative paths against `opts.cwd`). */
export function compilePolicyFileSync(file: string, outFile?: string, opts: CompileOptions = {}): CompileResult {
  const cwd = opts.cwd ?? process.cwd();
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PolicyError([
      {
        code: 'POLICY_UNREADABLE',
        message: `cannot read the policy file (${code})`,
        file,
        line: 0,
        col: 0,
        severity: 'error',
      },
    ]);
  }
  const result = compilePolicyTextSync(text, file, { ...opts, cwd });
  if (outFile !== undefined) writeFileAtomic(resolve(cwd, outFile), result.bytes);
  return result;
}

export async function compilePolicyFile(file: string, outFile?: string, opts?: CompileOptions): Promise<CompileResult> {
  return compilePolicyFileSync(file, outFile, opts);
}
