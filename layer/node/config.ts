/**
 * Options of the Node wrapper and how each defaults from the environment (docs/METERING.md lists them all).
 *
 * Contract: `resolveConfig(options, env)` never throws; a malformed number falls back to the default and is reported in
 * `warnings` (the caller logs them once) — a metering option must never stop a function from running.
 */
import type { InterfaceSelection } from './procnetdev.js';

export interface GuardOptions {
  /** Compiled policy whose header holds the budgets and mode. Default `EGRESS_GUARD_POLICY`; none = no budgets. */
  policyPath?: string;
  /** Overrides the mode (`EGRESS_GUARD_MODE`, then the policy's mode, then `audit`). `off` = no wrapping at all. */
  mode?: 'audit' | 'enforce' | 'off';
  /** Per-invoke byte budgets; each one given replaces the policy's. */
  budgets?: { rxBytes?: number | bigint; txBytes?: number | bigint; totalBytes?: number | bigint };
  /** Shared invoke-state file (docs/STATE.md). Default `EGRESS_GUARD_STATE`; `null` = none. */
  statePath?: string | null;
  /** Budget sampling interval while the handler runs. Default `EGRESS_GUARD_SAMPLE_MS` or 10 ms. */
  sampleIntervalMs?: number;
  /** The final snapshot of an invoke that is about to time out is taken this long before the deadline. Default 50. */
  timeoutMarginMs?: number;
  /** Which interfaces count. Default `EGRESS_GUARD_INTERFACES` / `EGRESS_GUARD_INTERFACES_EXCLUDE` (comma lists), else all but `lo`. */
  interfaces?: InterfaceSelection;
  /** EMF namespace. Default `EGRESS_GUARD_METRICS_NAMESPACE` or `EgressGuard`. */
  metricsNamespace?: string;
  /** Write the EMF line. Default true unless `EGRESS_GUARD_METRICS=off`. */
  metrics?: boolean;
  /** Default `/proc/net/dev`. */
  procNetDevPath?: string;
  /** Default `AWS_LAMBDA_FUNCTION_NAME`. */
  functionName?: string;
}

export interface ResolvedConfig {
  policyPath: string | undefined;
  modeOverride: string | undefined;
  budgetOverrides: GuardOptions['budgets'];
  statePath: string | undefined;
  sampleIntervalMs: number;
  timeoutMarginMs: number;
  interfaces: InterfaceSelection;
  metricsNamespace: string;
  metrics: boolean;
  procNetDevPath: string;
  functionName: string;
  /** `AWS_LAMBDA_MAX_CONCURRENCY` > 1: Lambda Managed Instances, several invokes share the environment. */
  multiConcurrency: boolean;
  warnings: { code: string; msg: string }[];
}

export const DEFAULT_SAMPLE_MS = 10;
export const DEFAULT_TIMEOUT_MARGIN_MS = 50;

function list(v: string | undefined): string[] | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function resolveConfig(o: GuardOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const warnings: ResolvedConfig['warnings'] = [];
  const num = (given: number | undefined, envName: string, def: number, min: number): number => {
    if (given !== undefined) {
      if (Number.isFinite(given) && given >= min) return given;
      warnings.push({
        code: 'E_OPTION_INVALID',
        msg: `option for ${envName} must be a number >= ${min}, got ${given}`,
      });
      return def;
    }
    const raw = env[envName];
    if (raw === undefined || raw.trim() === '') return def;
    const n = Number(raw);
    if (Number.isFinite(n) && n >= min) return n;
    warnings.push({
      code: 'E_OPTION_INVALID',
      msg: `${envName} must be a number >= ${min}, got "${raw}"; using ${def}`,
    });
    return def;
  };
  const include = o.interfaces?.include ?? list(env.EGRESS_GUARD_INTERFACES);
  const exclude = o.interfaces?.exclude ?? list(env.EGRESS_GUARD_INTERFACES_EXCLUDE) ?? ['lo'];
  const maxConc = Number(env.AWS_LAMBDA_MAX_CONCURRENCY ?? '1');
  return {
    policyPath: o.policyPath ?? (env.EGRESS_GUARD_POLICY || undefined),
    modeOverride: o.mode ?? env.EGRESS_GUARD_MODE,
    budgetOverrides: o.budgets,
    statePath: o.statePath === null ? undefined : (o.statePath ?? (env.EGRESS_GUARD_STATE || undefined)),
    sampleIntervalMs: num(o.sampleIntervalMs, 'EGRESS_GUARD_SAMPLE_MS', DEFAULT_SAMPLE_MS, 1),
    timeoutMarginMs: num(o.timeoutMarginMs, 'EGRESS_GUARD_TIMEOUT_MARGIN_MS', DEFAULT_TIMEOUT_MARGIN_MS, 0),
    interfaces: include === undefined ? { exclude } : { include, exclude },
    metricsNamespace: o.metricsNamespace ?? (env.EGRESS_GUARD_METRICS_NAMESPACE || 'EgressGuard'),
    metrics: o.metrics ?? env.EGRESS_GUARD_METRICS?.trim().toLowerCase() !== 'off',
    procNetDevPath: o.procNetDevPath ?? '/proc/net/dev',
    functionName: o.functionName ?? env.AWS_LAMBDA_FUNCTION_NAME ?? '',
    multiConcurrency: Number.isFinite(maxConc) && maxConc > 1,
    warnings,
  };
}
