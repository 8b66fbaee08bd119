/**
 * `EgressGuardPolicy`: a policy compiled at synth time and shipped as a tiny layer.
 *
 * Contract:
 * - `policy` is a path to a policy YAML (compiled with the project's compiler) or to an already compiled `.egp`
 *   (recognised by its magic, then put through every reader check of docs/FORMAT.md, CRCs included, and every rule
 *   decoded: a corrupt or truncated file fails synthesis, never deployment).
 *   Any error fails synthesis with `EgressGuardPolicyError` (code `E_CDK_POLICY`): for YAML every diagnostic as
 *   `file:line:col: error CODE: message` plus the source line and a caret; for a `.egp` the failed check's code.
 * - The layer is `policyLayerZip` of `layer/policy-layer.ts` — byte for byte what `egress-guard layer --policy`
 *   writes — holding `/opt/egress-guard/policies/<sha256-prefix>.egp` (`policyPath`), so several policies (one per
 *   function group) never clash, and a changed policy is a new asset and a new layer version.
 * - Policies never go into environment variables (4 KB limit for all of them, docs/LAMBDA.md "Layers and limits").
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  loadPolicyFile,
  type PolicyFile,
  policyDescription,
  policyLayerPath,
  policyLayerZip,
  policyZipName,
} from '../layer/policy-layer.js';

export class EgressGuardPolicyError extends Error {
  readonly code = 'E_CDK_POLICY';
  constructor(message: string) {
    super(message);
    this.name = 'EgressGuardPolicyError';
  }
}

export type CompiledPolicy = PolicyFile;

interface DiagnosticLike {
  file?: string;
  line?: number;
  col?: number;
  code?: string;
  message?: string;
}

/** Compiles (or reads and validates) a policy; throws EgressGuardPolicyError with what is wrong and where. */
export function compilePolicyForSynth(path: string): CompiledPolicy {
  const source = resolve(path);
  if (!existsSync(source)) {
    throw new EgressGuardPolicyError(`egress-guard: policy file '${path}' does not exist (resolved to ${source})`);
  }
  try {
    return loadPolicyFile(source);
  } catch (e) {
    const err = e as { diagnostics?: DiagnosticLike[]; format?: () => string; code?: string; message?: string };
    if (Array.isArray(err.diagnostics)) {
      const text =
        typeof err.format === 'function'
          ? err.format()
          : err.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: error ${d.code}: ${d.message}`).join('\n');
      throw new EgressGuardPolicyError(`egress-guard: the policy ${path} does not compile:\n${text}`);
    }
    if (typeof err.code === 'string' && err.code.startsWith('E_POLICY_')) {
      throw new EgressGuardPolicyError(
        `egress-guard: ${path} is not a valid compiled policy: ${err.code}: ${err.message} (recompile it with \`egress-guard compile\`)`,
      );
    }
    throw e;
  }
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
    const dir = mkdtempSync(join(tmpdir(), 'egress-guard-policy-'));
    // CDK copies the asset into the cloud assembly during synthesis; the temp dir goes when the process ends.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const zip = join(dir, policyZipName(this.compiled.hash));
    writeFileSync(zip, policyLayerZip(this.compiled), { mode: 0o644 });
    this.policyPath = policyLayerPath(this.compiled.hash);
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      code: lambda.Code.fromAsset(zip),
      description: policyDescription(this.compiled),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }
}
