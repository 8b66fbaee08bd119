/**
 * One configuration rule (contracts/config.yaml), three implementations, the same verdicts: the same environments are
 * fed to
 * - the real interposer (native/src/config.c via init.c) in a real process: bash connecting to loopback ports the
 *   policy allows and denies, its verdict read from what it does (EACCES or not) and what it logs;
 * - the real TypeScript function the CLI and the CDK use (`readGuardSettings`, policy/config/rule.ts);
 * - the real exec wrapper (native/wrapper, built: it reads the mode through native/src/config.c): which
 *   EGRESS_GUARD_MODE and LD_PRELOAD it hands the runtime, and whether it refuses to start an enforce-mode runtime
 *   without the library.
 * The environments include what an operator types (`Enforce`, ` enforce `, `OFF`) and what must NOT be taken for a
 * word: inner blanks, non-ASCII blanks (NBSP, which String#trim would remove), glob characters, near misses.
 */
import { type StdioOptions, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { guardEnvironment } from '../../layer/environment.js';
import { parseRunArgs } from '../../policy/cli/run.js';
import {
  checkVariables,
  effectiveLogLevel,
  GUARD_MODES,
  type GuardLogLevel,
  type GuardMode,
  parseBool,
  parseIntValue,
  parseWord,
  readGuardSettings,
  trimAscii,
} from '../../policy/config/rule.js';
import { compilePolicyTextSync } from '../../policy/index.js';
import { need, needCommand } from '../support/capability.js';
import { LIBRARY, needLibrary, ROOT } from '../support/guard.js';

const WRAPPER = join(ROOT, 'native/build/wrapper');
const ALLOWED = 9;
const DENIED = 17; // nothing listens on either: an allowed connect is refused by the kernel, a denied one by the guard
const POLICY_MODE: GuardMode = 'audit'; // what an unset EGRESS_GUARD_MODE means with this policy

const MODE_VALUES: Array<string | undefined> = [
  undefined,
  '',
  '   ',
  'audit',
  'AUDIT',
  'Audit',
  'enforce',
  'Enforce',
  ' ENFORCE ',
  '\tenforce\n',
  '\v\f\renforce\r',
  'off',
  'OFF',
  ' Off\r',
  'enforced',
  'en force',
  'audit,enforce',
  '1',
  'yes',
  'enforce\u00a0',
  '\u00a0off',
  '\u2003audit',
  'of',
  '"off"',
  '*',
  '[Oo]ff',
  'ENFORCE\u0130',
];
const LEVEL_VALUES: Array<string | undefined> = [
  undefined,
  'all',
  'ALL',
  ' allow ',
  'Deny',
  'OFF',
  '\toff\t',
  'none',
  'verbose',
  'al l',
  'allow\u00a0',
];

const okC = needLibrary() && needCommand('bash');
const okWrapper = need('the exec wrapper', existsSync(WRAPPER), `${WRAPPER} is not built (run \`make -C native\`)`);

let dir = '';
let policy = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eg-config-rule-'));
  policy = join(dir, 'policy.egp');
  const yaml = `version: 1\nmode: ${POLICY_MODE}\nloopback: deny\nallow:\n  - name: ok\n    cidr: 127.0.0.1/32\n    ports: [${ALLOWED}]\n`;
  writeFileSync(policy, compilePolicyTextSync(yaml, 'policy.yaml').bytes);
});

/** stdin from /dev/null: bash reads ~/.bashrc when its stdin is a socket (what Node's pipes are), as under rshd. */
const STDIO: StdioOptions = ['ignore', 'pipe', 'pipe'];

const label = (v: string | undefined) => (v === undefined ? '(unset)' : JSON.stringify(v));

function withVar(name: string, v: string | undefined, base: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...base };
  if (v !== undefined) env[name] = v;
  return env;
}

interface Observed {
  deniedRefusedByGuard: boolean; // the connect to the denied port failed with EACCES (the kernel would refuse it)
  errors: unknown[]; // `error` of every `policy` line
  denies: number; // `connect` lines with decision deny
  allows: number; // `connect` lines with decision allow
  lines: number;
}

/**
 * Runs bash under the interposer: one connect to the denied port, then two to the allowed one, all in the same
 * process (`true 3<>/dev/tcp/…` connects without forking; a fork would reset the per-process log de-duplication).
 */
function interposer(env: Record<string, string>): Observed {
  const tcp = (port: number) => `true 3<>/dev/tcp/127.0.0.1/${port}`;
  const r = spawnSync('bash', ['--norc', '-c', `${tcp(DENIED)}; ${tcp(ALLOWED)}; ${tcp(ALLOWED)}`], {
    env: { ...env, LD_PRELOAD: LIBRARY, EGRESS_GUARD_POLICY: policy },
    stdio: STDIO,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const stderr = r.stderr.split('\n');
  const lines = stderr.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const connects = lines.filter((l) => l.event === 'connect');
  return {
    deniedRefusedByGuard: stderr.some((l) => l.endsWith(`/dev/tcp/127.0.0.1/${DENIED}: Permission denied`)),
    errors: lines.filter((l) => l.event === 'policy').map((l) => l.error),
    denies: connects.filter((l) => l.decision === 'deny').length,
    allows: connects.filter((l) => l.decision === 'allow').length,
    lines: lines.length,
  };
}

/** The mode the interposer acted in: an invalid one reports E_CONFIG_MODE; enforce refuses; audit logs; off is mute. */
function observedMode(o: Observed): { mode: GuardMode; modeInvalid: boolean } {
  const modeInvalid = o.errors.includes('E_CONFIG_MODE');
  const mode = modeInvalid || o.deniedRefusedByGuard ? 'enforce' : o.lines > 0 ? 'audit' : 'off';
  return { mode, modeInvalid };
}

/** The level it logged at (audit mode): all logs both allowed connects, allow the first, deny only the denial. */
function observedLevel(o: Observed): { level: GuardLogLevel; levelInvalid: boolean } {
  const level = o.allows === 2 ? 'all' : o.allows === 1 ? 'allow' : o.denies > 0 ? 'deny' : 'off';
  return { level, levelInvalid: o.errors.includes('E_CONFIG_LOG_LEVEL') };
}

describe.skipIf(!okC)('the interposer and the TypeScript rule agree', () => {
  it.each(MODE_VALUES.map((v) => [label(v), v]))('EGRESS_GUARD_MODE=%s', (_l, v) => {
    const env = withVar('EGRESS_GUARD_MODE', v);
    const ts = readGuardSettings(env);
    expect(observedMode(interposer(env))).toEqual({ mode: ts.mode ?? POLICY_MODE, modeInvalid: ts.modeInvalid });
  });

  it.each(LEVEL_VALUES.map((v) => [label(v), v]))('EGRESS_GUARD_LOG_LEVEL=%s (audit mode)', (_l, v) => {
    const env = withVar('EGRESS_GUARD_LOG_LEVEL', v, { EGRESS_GUARD_MODE: 'audit' });
    const ts = readGuardSettings(env);
    expect(observedLevel(interposer(env))).toEqual({
      level: effectiveLogLevel(ts, false),
      levelInvalid: ts.problems.some((p) => p.variable === 'EGRESS_GUARD_LOG_LEVEL'),
    });
  });
});

interface WrapperVerdict {
  /** what the runtime is handed, or "(unset)" */
  mode: string;
  preloaded: boolean;
  /** exit status when the layer has no library for this architecture */
  statusWithoutLibrary: number | null;
}

/** The exec wrapper's verdict: with a stand-in library (a harmless system one), then without. */
function wrapper(env: Record<string, string>): WrapperVerdict {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, not a JS template
  const show = 'printf "%s|%s" "${EGRESS_GUARD_MODE-(unset)}" "${LD_PRELOAD:+preloaded}"';
  const run = (opt: string) =>
    spawnSync(WRAPPER, ['sh', '-c', show], {
      env: { ...env, EGRESS_GUARD_OPT: opt },
      stdio: STDIO,
      encoding: 'utf8',
    });
  const [mode, preloaded] = run(withLib).stdout.split('|') as [string, string];
  return { mode, preloaded: preloaded === 'preloaded', statusWithoutLibrary: run(withoutLib).status };
}

/** What the TS rule says the wrapper will do. */
function tsWrapperVerdict(env: Record<string, string>): WrapperVerdict {
  const s = readGuardSettings(env);
  const raw = env.EGRESS_GUARD_MODE;
  return {
    mode: s.modeInvalid ? (raw as string) : (s.mode ?? '(unset)'),
    preloaded: s.mode !== 'off',
    statusWithoutLibrary: s.mode === 'enforce' ? 78 : 0,
  };
}

let withLib = '';
let withoutLib = '';
const stand = ['/lib/x86_64-linux-gnu/libm.so.6', '/lib/aarch64-linux-gnu/libm.so.6', '/lib64/libm.so.6'].find((p) =>
  existsSync(p),
);

describe.skipIf(!okWrapper || stand === undefined)('the exec wrapper and the TypeScript rule agree', () => {
  beforeAll(() => {
    withLib = join(dir, 'with');
    withoutLib = join(dir, 'without');
    mkdirSync(join(withLib, 'egress-guard/lib'), { recursive: true });
    mkdirSync(join(withoutLib, 'egress-guard/lib'), { recursive: true });
    copyFileSync(stand as string, join(withLib, 'egress-guard/lib/libegressguard.so'));
  });

  it.each(MODE_VALUES.map((v) => [label(v), v]))('EGRESS_GUARD_MODE=%s', (_l, v) => {
    const env = withVar('EGRESS_GUARD_MODE', v);
    expect(wrapper(env)).toEqual(tsWrapperVerdict(env));
  });
});

describe('the TypeScript rule and the TS readers that use it', () => {
  it('trims only ASCII whitespace and folds only ASCII case', () => {
    expect(trimAscii(' \t\n\v\f\rx\r\f\v\n\t ')).toBe('x');
    expect(trimAscii('\u00a0x\u2003')).toBe('\u00a0x\u2003'); // String#trim would strip both
    expect(parseWord('\u212Aoff', ['koff'])).toBe('invalid'); // KELVIN SIGN: toLowerCase() would make it "k"
    expect(parseWord('ENFORCE', GUARD_MODES)).toBe(GUARD_MODES.indexOf('enforce'));
  });

  it('booleans take true/on/1 and false/off/0; integers digits only, in range', () => {
    expect(['TRUE', ' on', '1', 'False', 'OFF ', '0', '', 'yes', '2'].map(parseBool)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      'unset',
      'invalid',
      'invalid',
    ]);
    expect(['10', ' 60000 ', '0', '60001', '1e3', '-5', '0x10', ''].map((v) => parseIntValue(v, 1, 60_000))).toEqual([
      10,
      60_000,
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      'invalid',
      'unset',
    ]);
  });

  it('checkVariables names unknown EGRESS_GUARD_* variables and every invalid value with its code', () => {
    const problems = checkVariables({
      EGRESS_GUARD_MODE: 'Enforce', // valid
      EGRESS_GUARD_MOD: 'enforce', // a typo nobody reads
      EGRESS_GUARD_LOG_LEVEL: 'verbose',
      EGRESS_GUARD_METRICS: 'maybe',
      EGRESS_GUARD_SAMPLE_MS: '0',
      EGRESS_GUARD_POLICY: ' /opt/x.egp', // a path: used as given
      OTHER: 'x',
    });
    expect(problems.map((p) => [p.variable, p.code])).toEqual([
      ['EGRESS_GUARD_MOD', 'E_CONFIG_UNKNOWN'],
      ['EGRESS_GUARD_LOG_LEVEL', 'E_CONFIG_LOG_LEVEL'],
      ['EGRESS_GUARD_METRICS', 'E_CONFIG_METRICS'],
      ['EGRESS_GUARD_SAMPLE_MS', 'E_CONFIG_SAMPLE_MS'],
    ]);
  });

  it('the CDK/env function writes canonical words and refuses what the guard would reject', () => {
    const base = { runtime: 'nodejs22.x', policyPath: '/opt/egress-guard/policies/x.egp' };
    const env = guardEnvironment({ ...base, mode: ' Enforce ' as GuardMode, logLevel: 'ALL' as GuardLogLevel });
    expect([env.EGRESS_GUARD_MODE, env.EGRESS_GUARD_LOG_LEVEL]).toEqual(['enforce', 'all']);
    expect(() => guardEnvironment({ ...base, mode: 'enforced' as GuardMode })).toThrow(/mode must be audit/);
    expect(() => guardEnvironment({ ...base, extra: { EGRESS_GUARD_MODE: 'Enforc' } })).toThrow(/E_CONFIG_MODE/);
    expect(() => guardEnvironment({ ...base, extra: { EGRESS_GUARD_MODES: 'off' } })).toThrow(/E_CONFIG_UNKNOWN/);
  });

  it('egress-guard run --mode takes the same words', () => {
    expect(parseRunArgs(['--mode', 'Enforce', '--', 'true']).mode).toBe('enforce');
    expect(parseRunArgs(['--mode= OFF', '--', 'true']).mode).toBe('off');
    expect(() => parseRunArgs(['--mode', 'enforced', '--', 'true'])).toThrow(/--mode must be/);
  });
});
