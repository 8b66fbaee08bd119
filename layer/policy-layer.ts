/**
 * The policy layer: a compiled policy shipped as a tiny Lambda layer, `egress-guard/policies/<hash>.egp` (→
 * `/opt/egress-guard/policies/<hash>.egp` in the function), shared by the CDK constructs and the CLI (`egress-guard
 * layer --policy`, `egress-guard env --policy`), so every deployment tool names and packs a policy the same way.
 *
 * Contract:
 * - `loadPolicyFile(path)`: a policy YAML is compiled with the project's compiler (errors: `PolicyError`, every
 *   diagnostic with file:line:col); a compiled `.egp` (recognised by its magic, whatever its name) goes through every
 *   reader check of docs/FORMAT.md, CRCs included, and every rule is decoded (errors: `FormatError` naming the check).
 * - `<hash>` is the first 16 hex digits of the SHA-256 of the compiled bytes: distinct policies never clash, and a
 *   changed policy is a new file name, so a new layer version.
 * - `policyLayerZip` is deterministic (`../build/zip.ts`): the same policy gives the same zip bytes everywhere.
 * Policies never go into environment variables (4 KB for all of them, docs/LAMBDA.md "Layers and limits").
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { compilePolicyFileSync } from '../policy/compile/compile.js';
import { formatDiagnostic } from '../policy/diagnostics.js';
import { MAGIC } from '../policy/gen/format.js';
import { loadCompiled } from '../policy/match/compiled.js';
import { LAYER_ROOT } from './build/contents.js';
import { writeZip } from './build/zip.js';

export interface PolicyFile {
  /** Absolute path of the source (YAML or .egp). */
  readonly source: string;
  /** The compiled bytes. */
  readonly bytes: Buffer;
  /** First 16 hex digits of the SHA-256 of `bytes`. */
  readonly hash: string;
  /** The mode written in the policy. */
  readonly mode: 'audit' | 'enforce';
  /** Compiler warnings, formatted `file:line:col …` (none for a .egp). */
  readonly warnings: string[];
}

function isCompiled(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

export function loadPolicyFile(path: string, cwd = process.cwd()): PolicyFile {
  const source = resolve(cwd, path);
  const raw = readFileSync(source);
  let bytes: Buffer;
  let warnings: string[] = [];
  if (isCompiled(raw)) {
    bytes = raw;
  } else {
    const out = compilePolicyFileSync(source);
    bytes = Buffer.from(out.bytes);
    warnings = out.warnings.map((w) => formatDiagnostic(w));
  }
  const policy = loadCompiled(bytes, { verify: 'full' });
  void policy.rules; // decodes (and so checks) every rule
  return { source, bytes, hash: policyHash(bytes), mode: policy.mode, warnings };
}

export function policyHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** The policy's path inside the zip. */
export function policyZipEntry(hash: string): string {
  return `egress-guard/policies/${hash}.egp`;
}

/** The policy's path inside the function: the value of EGRESS_GUARD_POLICY. */
export function policyLayerPath(hash: string): string {
  return `${LAYER_ROOT}/policies/${hash}.egp`;
}

/** File name of the policy layer zip the CLI writes. */
export function policyZipName(hash: string): string {
  return `egress-guard-policy-${hash}.zip`;
}

export function policyLayerZip(policy: Pick<PolicyFile, 'bytes' | 'hash'>): Buffer {
  return writeZip([{ name: policyZipEntry(policy.hash), data: policy.bytes, mode: 0o644 }]);
}

/** A short description of the policy for layer descriptions. */
export function policyDescription(policy: Pick<PolicyFile, 'hash' | 'source'>): string {
  return `egress-guard compiled policy ${policy.hash} (from ${basename(policy.source)})`;
}
