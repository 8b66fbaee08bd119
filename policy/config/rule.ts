/**
 * The configuration rule of contracts/config.yaml in TypeScript: ONE implementation for every TS reader of
 * EGRESS_GUARD_* values (the CLI, the CDK constructs, `egress-guard env`). The C side (native/src/config.c) and the
 * exec wrapper's generated block apply the same rule to the same words; test/contracts/config-rule.test.ts feeds the
 * same environments to all three and asserts identical results.
 *
 * The rule: unset or blank = the default; words are compared after trimming ASCII whitespace (only the six
 * characters of WHITESPACE — not String#trim's Unicode set) and ASCII-lower-casing (not toLowerCase, which maps some
 * non-ASCII letters onto ASCII ones), and must then equal one of the variable's words exactly; anything else is
 * invalid. Paths are used as given.
 */
import { BOOL_WORDS, VARIABLES, WHITESPACE } from '../gen/config.js';

/** A parsed value: the word's index (or the number, or the boolean), or why there is none. */
export type Parsed<T> = T | 'unset' | 'invalid';

export type GuardMode = (typeof VARIABLES.MODE.values)[number];
export type GuardLogLevel = (typeof VARIABLES.LOG_LEVEL.values)[number];
export const GUARD_MODES: readonly GuardMode[] = VARIABLES.MODE.values;
export const GUARD_LOG_LEVELS: readonly GuardLogLevel[] = VARIABLES.LOG_LEVEL.values;

/** `value` without the ASCII whitespace around it. */
export function trimAscii(value: string): string {
  let b = 0;
  let e = value.length;
  while (b < e && WHITESPACE.includes(value[b] as string)) b++;
  while (e > b && WHITESPACE.includes(value[e - 1] as string)) e--;
  return value.slice(b, e);
}

const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

/** The index of `raw` among `words` under the rule. */
export function parseWord(raw: string | undefined, words: readonly string[]): Parsed<number> {
  const t = raw === undefined ? '' : trimAscii(raw);
  if (t === '') return 'unset';
  const i = words.indexOf(asciiLower(t));
  return i >= 0 ? i : 'invalid';
}

export function parseBool(raw: string | undefined): Parsed<boolean> {
  const yes = parseWord(raw, BOOL_WORDS.true);
  if (yes === 'unset') return 'unset';
  if (yes !== 'invalid') return true;
  return parseWord(raw, BOOL_WORDS.false) === 'invalid' ? 'invalid' : false;
}

/** Decimal digits only (after trimming), within [min, max]. */
export function parseIntValue(raw: string | undefined, min: number, max: number): Parsed<number> {
  const t = raw === undefined ? '' : trimAscii(raw);
  if (t === '') return 'unset';
  if (!/^[0-9]+$/.test(t)) return 'invalid';
  const n = Number(t);
  return n >= min && n <= max ? n : 'invalid';
}

/** An invalid value: its variable, the stable code and sentence every implementation reports, and whether it fails closed. */
export interface ConfigProblem {
  variable: string;
  code: string;
  message: string;
  failClosed: boolean;
}

/** The guard's settings from an environment, parsed by the rule (the C twin is `struct eg_settings`). */
export interface GuardSettings {
  /** null: unset, the compiled policy decides. An invalid value gives 'enforce' with `modeInvalid`. */
  mode: GuardMode | null;
  /** EGRESS_GUARD_MODE was invalid: enforce, failing closed (only loopback and the built-ins pass). */
  modeInvalid: boolean;
  /** null: the mode's default (`effectiveLogLevel`). */
  logLevel: GuardLogLevel | null;
  log: { dest: 'stderr' } | { dest: 'off' } | { dest: 'path'; path: string };
  verifyFull: boolean;
  policyPath: string | null;
  statePath: string | null;
  /** Every invalid value, in the order of contracts/config.yaml. */
  problems: ConfigProblem[];
}

type Env = Readonly<Record<string, string | undefined>>;

const problem = (v: { name: string; invalid: { error: string; message: string; failClosed: boolean } }) => ({
  variable: v.name,
  code: v.invalid.error,
  message: v.invalid.message,
  failClosed: v.invalid.failClosed,
});

export function readGuardSettings(env: Env): GuardSettings {
  const problems: ConfigProblem[] = [];
  const { MODE, LOG, LOG_LEVEL, VERIFY, POLICY, STATE } = VARIABLES;
  const m = parseWord(env[MODE.name], MODE.values);
  if (m === 'invalid') problems.push(problem(MODE));
  const l = parseWord(env[LOG_LEVEL.name], LOG_LEVEL.values);
  if (l === 'invalid') problems.push(problem(LOG_LEVEL));
  const v = parseWord(env[VERIFY.name], VERIFY.values);
  if (v === 'invalid') problems.push(problem(VERIFY));
  const d = parseWord(env[LOG.name], LOG.keywords);
  const rawLog = env[LOG.name] as string;
  const path = (name: string) => (trimAscii(env[name] ?? '') === '' ? null : (env[name] as string));
  return {
    mode: m === 'invalid' ? MODE.invalid.use : m === 'unset' ? null : MODE.values[m]!,
    modeInvalid: m === 'invalid',
    logLevel: typeof l === 'number' ? LOG_LEVEL.values[l]! : null,
    log:
      d === 'unset'
        ? { dest: 'stderr' }
        : d === 'invalid'
          ? { dest: 'path', path: rawLog }
          : { dest: LOG.keywords[d]! },
    verifyFull: typeof v === 'number' && VERIFY.values[v] === 'full',
    policyPath: path(POLICY.name),
    statePath: path(STATE.name),
    problems,
  };
}

/** The log level in effect: the configured one, else the mode's default (deny in enforce, allow otherwise). */
export function effectiveLogLevel(s: GuardSettings, enforce: boolean): GuardLogLevel {
  return s.logLevel ?? (enforce ? 'deny' : 'allow');
}

/**
 * Every problem with the EGRESS_GUARD_* variables of `env` (a function environment about to be deployed): names that
 * no component reads (a typo would be silently ignored: `E_CONFIG_UNKNOWN`) and values the rule rejects.
 */
export function checkVariables(env: Env): ConfigProblem[] {
  const known = new Map<string, (typeof VARIABLES)[keyof typeof VARIABLES]>(
    Object.values(VARIABLES).map((v) => [v.name, v]),
  );
  const problems: ConfigProblem[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('EGRESS_GUARD_')) continue;
    const v = known.get(name);
    if (v === undefined) {
      problems.push({
        variable: name,
        code: 'E_CONFIG_UNKNOWN',
        message: `${name} is not read by any egress-guard component (contracts/config.yaml lists them): a typo?`,
        failClosed: false,
      });
      continue;
    }
    if (!('invalid' in v)) continue; // paths and free strings: used as given
    const parsed =
      v.kind === 'bool'
        ? parseBool(raw)
        : v.kind === 'int'
          ? parseIntValue(raw, v.min, v.max)
          : parseWord(raw, v.values);
    if (parsed === 'invalid') problems.push(problem(v));
  }
  return problems;
}
