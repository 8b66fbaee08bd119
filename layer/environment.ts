/**
 * The function environment that turns the guard on: ONE function, `guardEnvironment`, used by the CDK constructs
 * (`cdk/egress-guard.ts`) and by `egress-guard env` (SAM, Terraform, the console), so every deployment path sets the
 * same variables. `runtimeCoverage` says, for a Lambda runtime identifier, how the guard loads there and exactly what
 * it covers; the CDK annotations and `egress-guard env` print its words.
 *
 * How the guard loads (docs/LAMBDA.md "Exec wrapper and LD_PRELOAD"):
 * - managed runtimes (Node.js, Python, Java, .NET, Ruby): `AWS_LAMBDA_EXEC_WRAPPER=/opt/egress-guard/wrapper`; the
 *   wrapper preloads the library (keeping it out of external extensions) and chains to a wrapper that was already
 *   configured (`EGRESS_GUARD_NEXT_WRAPPER`);
 * - OS-only runtimes (`provided`, `provided.al2`, `provided.al2023`) ignore AWS_LAMBDA_EXEC_WRAPPER, so
 *   `LD_PRELOAD=/opt/egress-guard/lib/libegressguard.so` is set on the function itself (prepended to an existing
 *   value, once); the library then starts what the wrapper would start.
 * Then, for both: `EGRESS_GUARD_POLICY` (the policy layer's path), `EGRESS_GUARD_MODE` / `EGRESS_GUARD_LOG_LEVEL` when
 * given (in their canonical spelling), `EGRESS_GUARD_AGENT=off` when metering is off (no metering agent:
 * docs/METERING.md), and last the caller's `extra` variables — refused when the configuration rule
 * (contracts/config.yaml) would reject an EGRESS_GUARD_* value or when no component reads the name.
 */
import {
  checkVariables,
  GUARD_LOG_LEVELS,
  GUARD_MODES,
  type GuardLogLevel,
  type GuardMode,
  parseWord,
} from '../policy/config/rule.js';
import { VARIABLES } from '../policy/gen/config.js';
import { LAYER_ROOT } from './build/contents.js';

export const WRAPPER_PATH = `${LAYER_ROOT}/wrapper`;
export const LIBRARY_PATH = `${LAYER_ROOT}/lib/libegressguard.so`;

/**
 * Proxy mode's variables (docs/PROXY.md "Deploying it"): upper- and lower-case proxy variables at the proxy's default
 * listen address (contracts/config.yaml EGRESS_GUARD_PROXY_LISTEN), the Runtime API and X-Ray kept direct, and the
 * state file the proxy shares with the agent and the interposer.
 */
const PROXY_URL = `http://${VARIABLES.PROXY_LISTEN.default}`;
const NO_PROXY = 'localhost,127.0.0.1,::1,169.254.79.129';
export const PROXY_ENVIRONMENT: Readonly<Record<string, string>> = {
  HTTPS_PROXY: PROXY_URL,
  HTTP_PROXY: PROXY_URL,
  https_proxy: PROXY_URL,
  http_proxy: PROXY_URL,
  NO_PROXY,
  no_proxy: NO_PROXY,
  EGRESS_GUARD_STATE: '/tmp/egress-guard/state',
};

export const PROXY_COVERAGE =
  'proxy mode: HTTP(S) requests sent through HTTPS_PROXY/HTTP_PROXY (Go net/http, the AWS SDK for Go v2 …) are ' +
  "decided, logged and counted by the layer's egress proxy with the same policy; it is cooperative — code that " +
  'dials directly is not seen (docs/PROXY.md).';

export { GUARD_LOG_LEVELS, GUARD_MODES, type GuardLogLevel, type GuardMode } from '../policy/config/rule.js';

export interface GuardEnvironmentOptions {
  /** The Lambda runtime identifier (`nodejs22.x`, `python3.12`, `java21`, `provided.al2023` …). */
  readonly runtime: string;
  /** Where the compiled policy is inside the function (`policyLayerPath(hash)`). */
  readonly policyPath: string;
  /** @default - the mode written in the policy */
  readonly mode?: GuardMode;
  /** @default - per mode (docs/LOGGING.md) */
  readonly logLevel?: GuardLogLevel;
  /** @default true */
  readonly metering?: boolean;
  /**
   * Proxy mode (docs/PROXY.md): point HTTP clients at the layer's egress proxy (HTTPS_PROXY …), for programs the
   * interposer cannot see into (static Go). The function also needs the proxy-mode layer.
   * @default false
   */
  readonly proxy?: boolean;
  /** The function's environment before the guard (an existing exec wrapper is chained, LD_PRELOAD kept). */
  readonly current?: Readonly<Record<string, unknown>>;
  /** Set last: they override the guard's own. `AWS_*` names other than AWS_LAMBDA_EXEC_WRAPPER are refused. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Every problem with the options, as sentences (empty when they are fine). */
export function checkGuardOptions(o: Partial<GuardEnvironmentOptions>): string[] {
  const problems: string[] = [];
  if (o.mode !== undefined && typeof parseWord(o.mode, GUARD_MODES) !== 'number') {
    problems.push(`mode must be audit, enforce or off, got '${o.mode}'`);
  }
  if (o.logLevel !== undefined && typeof parseWord(o.logLevel, GUARD_LOG_LEVELS) !== 'number') {
    problems.push(`logLevel must be all, allow, deny or off, got '${o.logLevel}'`);
  }
  for (const k of Object.keys(o.extra ?? {})) {
    if (k.startsWith('AWS_') && k !== 'AWS_LAMBDA_EXEC_WRAPPER') {
      problems.push(`environment cannot set the reserved variable '${k}'`);
    }
  }
  // the configuration rule (contracts/config.yaml): a value every component would reject, or a name none reads
  for (const p of checkVariables(o.extra ?? {})) problems.push(`environment: ${p.code}: ${p.message}`);
  return problems;
}

/** The word `value` stands for under the configuration rule (checked valid by checkGuardOptions). */
function canonical<T extends string>(value: string, words: readonly T[]): T {
  return words[parseWord(value, words) as number] as T;
}

export function isOsOnlyRuntime(runtime: string): boolean {
  return runtime === 'provided' || runtime.startsWith('provided.');
}

/** The variables to set on the function (see the file header). Throws on invalid options. */
export function guardEnvironment(o: GuardEnvironmentOptions): Record<string, string> {
  const problems = checkGuardOptions(o);
  if (problems.length > 0) throw new Error(`egress-guard: invalid options:\n  ${problems.join('\n  ')}`);
  const env: Record<string, string> = {};
  const current = o.current ?? {};
  if (isOsOnlyRuntime(o.runtime)) {
    const existing = typeof current.LD_PRELOAD === 'string' ? current.LD_PRELOAD : '';
    const parts = existing.split(/[ :]/).filter((p) => p !== '');
    env.LD_PRELOAD = parts.includes(LIBRARY_PATH) ? existing : [LIBRARY_PATH, ...parts].join(':');
  } else {
    const previous = current.AWS_LAMBDA_EXEC_WRAPPER;
    if (typeof previous === 'string' && previous !== '' && previous !== WRAPPER_PATH) {
      env.EGRESS_GUARD_NEXT_WRAPPER = previous;
    }
    env.AWS_LAMBDA_EXEC_WRAPPER = WRAPPER_PATH;
  }
  env.EGRESS_GUARD_POLICY = o.policyPath;
  if (o.mode) env.EGRESS_GUARD_MODE = canonical(o.mode, GUARD_MODES);
  if (o.logLevel) env.EGRESS_GUARD_LOG_LEVEL = canonical(o.logLevel, GUARD_LOG_LEVELS);
  if (o.metering === false) env.EGRESS_GUARD_AGENT = 'off';
  if (o.proxy) Object.assign(env, PROXY_ENVIRONMENT);
  Object.assign(env, o.extra ?? {});
  return env;
}

export interface RuntimeCoverage {
  /** How the guard loads: through the exec wrapper, or LD_PRELOAD set on the function. */
  readonly loads: 'exec-wrapper' | 'ld-preload';
  /** Per-invoke bytes, request ids and budgets for this runtime (the agent: every runtime whose bootstrap loads the
   * library; a static bootstrap loads nothing, see PROVIDED_COVERAGE). */
  readonly metering: boolean;
  /** What the user must know, when there is something (stable `code`, one paragraph of `text`). */
  readonly note?: { readonly code: string; readonly text: string };
}

export const PROVIDED_COVERAGE =
  'guarded through LD_PRELOAD set on the function. Covered fully: programs that resolve and connect through glibc — ' +
  'Rust (the glibc target: lambda_runtime with reqwest or hyper), C and C++. Go: a cgo build has its name lookups ' +
  'decided (through glibc), but its connections are made by the Go runtime with raw system calls and are not seen; a ' +
  'static Go binary (CGO_ENABLED=0, the default for cross builds) and any static (e.g. musl) binary are not seen at ' +
  'all (the guard logs them as `uncovered` when a guarded process starts them) — for those, only traffic sent ' +
  'through the egress proxy (HTTPS_PROXY) is decided. See docs/COVERAGE.md.';

export function runtimeCoverage(runtime: string): RuntimeCoverage {
  if (isOsOnlyRuntime(runtime)) {
    return {
      loads: 'ld-preload',
      metering: true,
      note: { code: 'PROVIDED', text: `${runtime}: ${PROVIDED_COVERAGE}` },
    };
  }
  // every managed runtime is metered: the agent reads the Runtime API, whatever the runtime's language
  return { loads: 'exec-wrapper', metering: true };
}
