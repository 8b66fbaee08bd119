/**
 * `EgressGuard`: attaches the egress guard to one Lambda function or, as an Aspect, to every function in a scope.
 *
 *   EgressGuard.applyTo(app, { policy: 'policy.yaml', mode: 'audit' });   // every function in the app
 *   EgressGuard.guard(fn, { policy: 'policy.yaml', mode: 'enforce' });    // one function
 *
 * Contract, per function:
 * - The policy is compiled once, when the EgressGuard is created (a bad policy throws right there, with
 *   file:line:col), and shipped as a small policy layer (`EgressGuardPolicy`).
 * - Layers: the guard layer of the function's architecture (`EgressGuardLayer.of`) and the policy layer. Lambda allows
 *   5 layers per function: a function that would go past that gets an error annotation instead.
 * - Environment: AWS_LAMBDA_EXEC_WRAPPER=/opt/egress-guard/wrapper (an existing wrapper value moves to
 *   EGRESS_GUARD_NEXT_WRAPPER and still runs: the wrapper chains to it), EGRESS_GUARD_POLICY, and when given
 *   EGRESS_GUARD_MODE / EGRESS_GUARD_LOG_LEVEL / EGRESS_GUARD_WRAP_HANDLER=false, then `environment` overrides.
 * - Skipped with a warning annotation that says why (`egress-guard:skipped`): container images (no layers, no
 *   exec wrapper), Lambda@Edge (no layers, no environment variables), `provided.*` runtimes (the exec wrapper is
 *   ignored: docs/LAMBDA.md "Exec wrapper and LD_PRELOAD"), and functions `exclude` rejects. Runtimes other than Node and Python are
 *   guarded (LD_PRELOAD) with an info annotation that per-invoke metering is not available there.
 * - Idempotent: a function is guarded at most once, whatever number of aspects visit it.
 */
import { Annotations, AspectPriority, Aspects, type IAspect, Stack } from 'aws-cdk-lib';
import { experimental } from 'aws-cdk-lib/aws-cloudfront';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { EgressGuardLayer } from './layer.js';
import { type CompiledPolicy, compilePolicyForSynth, EgressGuardPolicy } from './policy.js';

export const WRAPPER_PATH = '/opt/egress-guard/wrapper';
export const MAX_LAYERS = 5;

export type EgressGuardMode = 'audit' | 'enforce' | 'off';
export type EgressGuardLogLevel = 'all' | 'allow' | 'deny' | 'off';

export interface EgressGuardProps {
  /** Path to the policy YAML (compiled at synth time) or to a compiled `.egp`. */
  readonly policy: string;
  /**
   * audit (log what would be blocked), enforce (block) or off (no guard; metering wrappers still chain).
   * @default - the `mode` written in the policy file
   */
  readonly mode?: EgressGuardMode;
  /**
   * Log verbosity of the interposer (EGRESS_GUARD_LOG_LEVEL; see docs/LOGGING.md).
   * @default - per mode: audit logs each distinct destination once, enforce only denials
   */
  readonly logLevel?: EgressGuardLogLevel;
  /**
   * Redirect the handler to the metering wrapper (per-invoke bytes, budgets, request ids) for Node and Python.
   * @default true
   */
  readonly metering?: boolean;
  /**
   * Extra environment variables set on every guarded function (applied last: they override the ones above).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Layers to use instead of building the guard layer from this repository (e.g. a layer version you published).
   * @default - an EgressGuardLayer per architecture, one per stack
   */
  readonly layers?: { readonly x86_64?: lambda.ILayerVersion; readonly arm64?: lambda.ILayerVersion };
  /**
   * Build the guard layer from this repository's sources instead of using the prebuilt zips the package ships
   * (contributors, in a clone: needs a C compiler, make and the aarch64 cross compiler). Ignored with `layers`.
   * @default false
   */
  readonly fromSource?: boolean;
  /**
   * Functions for which this returns true are left alone (with an annotation).
   * @default - none excluded
   */
  readonly exclude?: (fn: lambda.Function) => boolean;
}

/** Why a function cannot be guarded, or undefined when it can. Codes are stable. */
export function unguardableReason(fn: lambda.Function): { code: string; why: string } | undefined {
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  if (fn.runtime === lambda.Runtime.FROM_IMAGE || cfn.packageType === 'Image') {
    return {
      code: 'IMAGE',
      why: 'container image functions do not use layers or AWS_LAMBDA_EXEC_WRAPPER; preload libegressguard.so in the image instead',
    };
  }
  if (
    fn.node.scopes.some((s) => s instanceof experimental.EdgeFunction) ||
    Stack.of(fn).node.id.startsWith('edge-lambda-stack-')
  ) {
    return { code: 'EDGE', why: 'Lambda@Edge functions support neither layers nor environment variables' };
  }
  if (fn.runtime.name.startsWith('provided')) {
    return {
      code: 'PROVIDED',
      why: `the ${fn.runtime.name} runtime ignores AWS_LAMBDA_EXEC_WRAPPER, so the guard would never load`,
    };
  }
  return undefined;
}

export class EgressGuard implements IAspect {
  /** Guards every function in `scope` (and in scopes added to it later) through an Aspect. */
  static applyTo(scope: IConstruct, props: EgressGuardProps): EgressGuard {
    const guard = new EgressGuard(props);
    Aspects.of(scope).add(guard, { priority: AspectPriority.MUTATING });
    return guard;
  }

  /** Guards one function now. */
  static guard(fn: lambda.Function, props: EgressGuardProps): EgressGuard {
    const guard = new EgressGuard(props);
    guard.guardFunction(fn);
    return guard;
  }

  public readonly props: EgressGuardProps;
  /** The compiled policy (compiled in the constructor: a bad policy fails here, with file:line:col). */
  public readonly policy: CompiledPolicy;
  /** Functions this guard attached to. */
  public readonly guarded: lambda.Function[] = [];

  constructor(props: EgressGuardProps) {
    const problems: string[] = [];
    if (props.mode !== undefined && !['audit', 'enforce', 'off'].includes(props.mode)) {
      problems.push(`mode must be audit, enforce or off, got '${props.mode}'`);
    }
    if (props.logLevel !== undefined && !['all', 'allow', 'deny', 'off'].includes(props.logLevel)) {
      problems.push(`logLevel must be all, allow, deny or off, got '${props.logLevel}'`);
    }
    for (const k of Object.keys(props.environment ?? {})) {
      if (k.startsWith('AWS_') && k !== 'AWS_LAMBDA_EXEC_WRAPPER')
        problems.push(`environment cannot set the reserved variable '${k}'`);
    }
    if (problems.length > 0) throw new Error(`egress-guard: invalid EgressGuard props:\n  ${problems.join('\n  ')}`);
    this.props = props;
    this.policy = compilePolicyForSynth(props.policy);
  }

  visit(node: IConstruct): void {
    if (node instanceof lambda.Function) this.guardFunction(node);
  }

  /** Attaches the guard to `fn` (see the file header); returns false when it was skipped. */
  guardFunction(fn: lambda.Function): boolean {
    if (guardedFunctions.has(fn)) return true;
    const skip =
      unguardableReason(fn) ??
      (this.props.exclude?.(fn)
        ? { code: 'EXCLUDED', why: 'excluded by the EgressGuard `exclude` option' }
        : undefined);
    if (skip) {
      Annotations.of(fn).addWarningV2(`egress-guard:skipped:${skip.code}`, `egress-guard: not guarded: ${skip.why}`);
      return false;
    }
    const stack = Stack.of(fn);
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    const existingLayers = (stack.resolve(cfn.layers) as unknown[] | undefined)?.length ?? 0;
    if (existingLayers + 2 > MAX_LAYERS) {
      Annotations.of(fn).addError(
        `egress-guard: cannot attach: the function already has ${existingLayers} layers and the guard needs 2 (Lambda allows ${MAX_LAYERS})`,
      );
      return false;
    }
    guardedFunctions.add(fn);

    const arch = fn.architecture.name === lambda.Architecture.ARM_64.name ? 'arm64' : 'x86_64';
    const layer =
      this.props.layers?.[arch] ?? EgressGuardLayer.of(fn, fn.architecture, { fromSource: this.props.fromSource });
    const policy = EgressGuardPolicy.of(fn, this.policy);
    fn.addLayers(layer, policy.layer);

    const env =
      (stack.resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
    const previous = env.AWS_LAMBDA_EXEC_WRAPPER;
    if (typeof previous === 'string' && previous !== WRAPPER_PATH)
      fn.addEnvironment('EGRESS_GUARD_NEXT_WRAPPER', previous);
    fn.addEnvironment('AWS_LAMBDA_EXEC_WRAPPER', WRAPPER_PATH);
    fn.addEnvironment('EGRESS_GUARD_POLICY', policy.policyPath);
    if (this.props.mode) fn.addEnvironment('EGRESS_GUARD_MODE', this.props.mode);
    if (this.props.logLevel) fn.addEnvironment('EGRESS_GUARD_LOG_LEVEL', this.props.logLevel);
    if (this.props.metering === false) fn.addEnvironment('EGRESS_GUARD_WRAP_HANDLER', 'false');
    for (const [k, v] of Object.entries(this.props.environment ?? {})) fn.addEnvironment(k, v);

    const family = fn.runtime.family;
    if (
      this.props.metering !== false &&
      family !== lambda.RuntimeFamily.NODEJS &&
      family !== lambda.RuntimeFamily.PYTHON
    ) {
      Annotations.of(fn).addInfoV2(
        'egress-guard:no-metering',
        `egress-guard: ${fn.runtime.name}: connections are guarded, but per-invoke metering and budgets exist only for Node.js and Python`,
      );
    }
    this.guarded.push(fn);
    return true;
  }
}

const guardedFunctions = new WeakSet<lambda.Function>();
