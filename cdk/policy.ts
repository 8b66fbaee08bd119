/**
 * `EgressGuardPolicy`: a policy compiled at synth time and shipped as a tiny layer.
 *
 * Contract:
 * - `policy` is a path to a policy YAML (compiled with the project's compiler) or to an already compiled `.egp`.
 *   A YAML error fails synthesis with every diagnostic printed as `file:line:col: error CODE: message` plus the source
 *   line and a caret (`EgressGuardPolicyError`, code `E_CDK_POLICY`).
 * - The compiled bytes land at `/opt/egress-guard/policies/<sha256-prefix>.egp` (`policyPath`), so several policies
 *   (one per function group) can never clash, and a changed policy is a new asset and a new layer version.
 * - Policies never go into environment variables (4 KB limit for all of them, docs/LAMBDA.md "Layers and limits").
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { compilePolicyFileSync, formatDiagnostic } from '../policy/index.js';

const EGP_MAGIC = Buffer.from('EGRDPOL\x01', 'latin1');

export class EgressGuardPolicyError extends Error {
  readonly code = 'E_CDK_POLICY';
  constructor(message: string) {
    super(message);
    this.name = 'EgressGuardPolicyError';
  }
}

export interface CompiledPolicy {
  /** Absolute path of the source. */
  readonly source: string;
  readonly bytes: Buffer;
  /** First 16 hex digits of the SHA-256 of `bytes`. */
  readonly hash: string;
  /** Compiler warnings, formatted `file:line:col …`. */
  readonly warnings: string[];
}

interface DiagnosticLike {
  file?: string;
  line?: number;
  col?: number;
  code?: string;
  message?: string;
}

/** Compiles (or reads) a policy; throws EgressGuardPolicyError with file:line:col diagnostics. */
export function compilePolicyForSynth(path: string): CompiledPolicy {
  const source = resolve(path);
  if (!existsSync(source)) {
    throw new EgressGuardPolicyError(`egress-guard: policy file '${path}' does not exist (resolved to ${source})`);
  }
  let bytes: Buffer;
  let warnings: string[] = [];
  const raw = readFileSync(source);
  if (raw.subarray(0, 8).equals(EGP_MAGIC)) {
    bytes = raw;
  } else {
    try {
      const out = compilePolicyFileSync(source);
      bytes = Buffer.from(out.bytes);
      warnings = out.warnings.map((w) => formatDiagnostic(w));
    } catch (e) {
      const err = e as { diagnostics?: DiagnosticLike[]; format?: () => string; message?: string };
      if (Array.isArray(err.diagnostics)) {
        const text =
          typeof err.format === 'function'
            ? err.format()
            : err.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: error ${d.code}: ${d.message}`).join('\n');
        throw new EgressGuardPolicyError(`egress-guard: the policy ${path} does not compile:\n${text}`);
      }
      throw e;
    }
  }
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return { source, bytes, hash, warnings };
}

export interface EgressGuardPolicyProps {
  /** Path to `policy.yaml` (compiled at synth time) or to a compiled `.egp`. */
  readonly policy: string;
  /**
   * What happens to old layer versions when they are replaced.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class EgressGuardPolicy extends Construct {
  /** The shared policy layer for `policy` in the stack of `scope` (compiled and created on first use). */
  static of(scope: Construct, compiled: CompiledPolicy): EgressGuardPolicy {
    const stack = Stack.of(scope);
    const id = `EgressGuardPolicy-${compiled.hash}`;
    const existing = stack.node.tryFindChild(id);
    if (existing instanceof EgressGuardPolicy) return existing;
    return new EgressGuardPolicy(stack, id, { policy: compiled.source }, compiled);
  }

  /** The layer holding the compiled policy. */
  public readonly layer: lambda.LayerVersion;
  /** Where the compiled policy is inside the function: the value of EGRESS_GUARD_POLICY. */
  public readonly policyPath: string;
  public readonly compiled: CompiledPolicy;

  constructor(scope: Construct, id: string, props: EgressGuardPolicyProps, precompiled?: CompiledPolicy) {
    super(scope, id);
    this.compiled = precompiled ?? compilePolicyForSynth(props.policy);
    const name = `${this.compiled.hash}.egp`;
    const dir = mkdtempSync(join(tmpdir(), 'egress-guard-policy-'));
    // CDK copies the asset into the cloud assembly during synthesis; the temp dir goes when the process ends.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'egress-guard', 'policies'), { recursive: true });
    writeFileSync(join(dir, 'egress-guard', 'policies', name), this.compiled.bytes, { mode: 0o644 });
    this.policyPath = `/opt/egress-guard/policies/${name}`;
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      code: lambda.Code.fromAsset(dir, { assetHash: this.compiled.hash }),
      description: `egress-guard compiled policy ${this.compiled.hash} (from ${this.compiled.source.split('/').pop()})`,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }
}
