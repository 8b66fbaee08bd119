/**
 * `EgressGuard`: attaches the egress guard to one Lambda function or, as an Aspect, to every function in a scope.
 *
 *   EgressGuard.applyTo(app, { policy: 'policy.yaml', mode: 'audit' });   // every function in the app
 *   EgressGuard.guard(fn, { policy: 'policy.yaml', mode: 'enforce' });    // one function
 *
 * Contract, per function:
 * - The policy is compiled (YAML) or fully validated (a compiled `.egp`: every reader check, CRCs included) once,
 *   when the EgressGuard is created: a bad policy throws right there, with file:line:col or the failed check. It is
 *   shipped as a small policy layer (`EgressGuardPolicy`).
 * - Layers: the guard layer of the function's architecture (`EgressGuardLayer.of`: the prebuilt zip the package
 *   ships, unless `layers` or `fromSource`) and the policy layer. Lambda allows 5 layers per function: a function
 *   that would go past that gets an error annotation instead.
 * - Environment: exactly `guardEnvironment()` of `layer/environment.ts` (the same function `egress-guard env` prints):
 *   the exec wrapper for managed runtimes, LD_PRELOAD for `provided.*`; policy, mode, log level; `environment` last.
 * - Annotations (`egress-guard:<code>`): what is covered where there is something to know (`provided.*`: exactly what
 *   is seen for Rust, C/C++ and Go); warnings for functions skipped and why (container
 *   images, Lambda@Edge, `exclude`); errors for what cannot be done: a function imported by reference (its
 *   configuration belongs to whoever created it), a second EgressGuard on a function already guarded by another one
 *   (never silently ignored: two policies on one function would be a lie about which one is in force), too many
 *   layers. The same EgressGuard visiting a function twice changes nothing.
 */
import { Annotations, AspectPriority, Aspects, type IAspect, Stack } from 'aws-cdk-lib';
import { experimental } from 'aws-cdk-lib/aws-cloudfront';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import {
  checkGuardOptions,
  type GuardLogLevel,
  type GuardMode,
  guardEnvironment,
  PROXY_COVERAGE,
  runtimeCoverage,
} from '../layer/environment.js';
import { EgressGuardLayer, EgressGuardProxyLayer, layerArch } from './layer.js';
import { type CompiledPolicy, compilePolicyForSynth, EgressGuardPolicy } from './policy.js';

export { LIBRARY_PATH, WRAPPER_PATH } from '../layer/environment.js';
export const MAX_LAYERS = 5;

export type EgressGuardMode = GuardMode;
export type EgressGuardLogLevel = GuardLogLevel;

export interface EgressGuardProps {
  /** Path to the policy YAML (compiled at synth time) or to a compiled `.egp` (fully validated at synth time). */
  readonly policy: string;
  /**
   * audit (log what would be blocked), enforce (block) or off (no guard and no metering; a chained wrapper still runs).
   * @default - the `mode` written in the policy file
   */
  readonly mode?: EgressGuardMode;
  /**
   * Log verbosity of the interposer (EGRESS_GUARD_LOG_LEVEL; see docs/LOGGING.md).
   * @default - per mode: audit logs each distinct destination once, enforce only denials
   */
  readonly logLevel?: EgressGuardLogLevel;
  /**
   * Per-invoke metering (bytes, budgets, request ids) by the agent, for every runtime; `false` sets
   * EGRESS_GUARD_AGENT=off (connections are still guarded).
   * @default true
   */
  readonly metering?: boolean;
  /**
   * Extra environment variables set on every guarded function (applied last: they override the ones above).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Layers to use instead of the shipped zips (e.g. layer versions you published with `egress-guard publish-layer`).
   * @default - an EgressGuardLayer per architecture, one per stack
   */
  readonly layers?: { readonly x86_64?: lambda.ILayerVersion; readonly arm64?: lambda.ILayerVersion };
  /**
   * Proxy mode (docs/PROXY.md): add the proxy-mode layer and point HTTP clients at the layer's egress proxy
   * (HTTPS_PROXY …), for programs the interposer cannot see into — static Go on `provided.*`. Cooperative: code that
   * dials directly is not seen.
   * @default false
   */
  readonly proxy?: boolean;
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
  return undefined;
}

export class EgressGuard implements IAspect {
  /** Guards every function in `scope` (and in scopes added to it later) through an Aspect. */
  static applyTo(scope: IConstruct, props: EgressGuardProps): EgressGuard {
    const guard = new EgressGuard(props);
    Aspects.of(scope).add(guard, { priority: AspectPriority.MUTATING });
    return guard;
  }

  /**
   * Guards one function now. A function imported by reference (`Function.fromFunctionArn` …) gets an error
   * annotation: its layers and environment belong to the stack or tool that created it.
   */
  static guard(fn: lambda.IFunction, props: EgressGuardProps): EgressGuard {
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
    const problems = checkGuardOptions({ mode: props.mode, logLevel: props.logLevel, extra: props.environment });
    if (problems.length > 0) throw new Error(`egress-guard: invalid EgressGuard props:\n  ${problems.join('\n  ')}`);
    this.props = props;
    this.policy = compilePolicyForSynth(props.policy);
  }

  visit(node: IConstruct): void {
    if (node instanceof lambda.Function) this.guardFunction(node);
  }

  /** Attaches the guard to `fn` (see the file header); returns false when it was not attached. */
  guardFunction(fn: lambda.IFunction): boolean {
    if (!(fn instanceof lambda.Function)) {
      Annotations.of(fn).addError(
        'egress-guard: cannot guard a function imported by reference: its layers and environment belong to the stack or tool that created it. Guard it where it is defined, or add the layers and the variables of `egress-guard env` there (docs/DEPLOY.md)',
      );
      return false;
    }
    const owner = guardedFunctions.get(fn);
    if (owner === this) return true;
    if (owner) {
      Annotations.of(fn).addError(
        `egress-guard: this function is already guarded by another EgressGuard (policy ${owner.policy.source}); a function takes one guard: remove one, or keep this function out of the other with \`exclude\``,
      );
      return false;
    }
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
    const needed = this.props.proxy ? 3 : 2;
    if (existingLayers + needed > MAX_LAYERS) {
      Annotations.of(fn).addError(
        `egress-guard: cannot attach: the function already has ${existingLayers} layers and the guard needs ${needed} (Lambda allows ${MAX_LAYERS})`,
      );
      return false;
    }
    guardedFunctions.set(fn, this);

    const arch = layerArch(fn.architecture);
    const layer =
      this.props.layers?.[arch] ?? EgressGuardLayer.of(fn, fn.architecture, { fromSource: this.props.fromSource });
    const policy = EgressGuardPolicy.of(fn, this.policy);
    fn.addLayers(layer, policy.layer);
    if (this.props.proxy) fn.addLayers(EgressGuardProxyLayer.of(fn, { fromSource: this.props.fromSource }));

    const current =
      (stack.resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
    const env = guardEnvironment({
      runtime: fn.runtime.name,
      policyPath: policy.policyPath,
      mode: this.props.mode,
      logLevel: this.props.logLevel,
      metering: this.props.metering,
      proxy: this.props.proxy,
      current,
      extra: this.props.environment,
    });
    for (const [k, v] of Object.entries(env)) fn.addEnvironment(k, v);

    const coverage = runtimeCoverage(fn.runtime.name);
    if (coverage.note) {
      Annotations.of(fn).addInfoV2(
        `egress-guard:coverage:${coverage.note.code}`,
        `egress-guard: ${coverage.note.text}`,
      );
    }
    if (this.props.proxy) {
      Annotations.of(fn).addInfoV2('egress-guard:coverage:PROXY', `egress-guard: ${PROXY_COVERAGE}`);
    }
    this.guarded.push(fn);
    return true;
  }
}

const guardedFunctions = new WeakMap<lambda.Function, EgressGuard>();
