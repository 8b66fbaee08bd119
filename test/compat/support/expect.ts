/**
 * The assertions every client run gets, given what the suite expects of that client (its row in a test file).
 *
 * For each run: the client answered every step and exited 0 (unless its exit status is per-step, like curl's); every guard line is valid JSON; enforce mode logged no
 * `allow` line (its default verbosity is denials only, docs/LOGGING.md); audit mode blocked nothing.
 * For each step: the verdict (./verdict.ts) is the expected one; for `blocked` steps the program saw the expected
 * error identity and the guard's line names the expected errno, rule `default` and the mode; for `logged` steps the
 * audit line says `blocked: false`; in audit mode the `allowed` step was logged as allowed by the policy's rule when
 * the client resolves through libc.
 */
import { expect } from 'vitest';
import { type ClientRun, describeRun, stepOf } from './harness.js';
import type { Mode, StepId } from './scenario.js';
import type { Verdict } from './verdict.js';

export interface StepExpectation {
  audit: Verdict;
  enforce: Verdict;
  /** enforce mode, when blocked: what the program sees (its error identity) */
  sees?: string;
  /** enforce mode, when blocked: the `errno` field of the guard's line */
  errno?: string;
}

export interface ClientExpectation {
  steps: Partial<Record<StepId, StepExpectation>>;
  /** audit: the `allowed` step produced an `allow` line with the policy's rule (false for clients the guard misses) */
  allowLogged: boolean;
}

export const ALLOW_RULE = 'compat-allowed';

/** The common cells: a step that works in both modes, a name / an address the policy denies (logged in audit). */
export const WORKS = { audit: 'works', enforce: 'works' } as const;
export const BLOCKED_NAME = { audit: 'logged', enforce: 'blocked', errno: 'EAI_NONAME' } as const;
export const BLOCKED_IP = { audit: 'logged', enforce: 'blocked', errno: 'EACCES' } as const;

export function assertRun(run: ClientRun | undefined, want: ClientExpectation, mode: Mode): void {
  const ctx = describeRun(run);
  expect(run, ctx).toBeDefined();
  if (run === undefined) return;
  if (run.spec.exitAny !== true) expect(run.guard.status, ctx).toBe(0);
  expect(run.guard.signal, ctx).toBe(null);
  expect(run.guard.badLogLines, ctx).toEqual([]);
  if (mode === 'enforce') {
    expect(
      run.guard.logs.filter((l) => l.decision === 'allow'),
      ctx,
    ).toEqual([]);
  } else {
    expect(
      run.guard.logs.filter((l) => l.blocked === true),
      ctx,
    ).toEqual([]);
  }
  for (const [step, w] of Object.entries(want.steps) as [StepId, StepExpectation][]) {
    const s = stepOf(run, step);
    expect(`${step}: ${s.verdict}`, ctx).toBe(`${step}: ${w[mode]}`);
    if (s.verdict === 'blocked') {
      if (w.sees !== undefined) expect(s.program?.what, ctx).toBe(w.sees);
      const line = s.logs.find((l) => l.decision === 'deny' && l.blocked === true);
      expect(line?.rule, ctx).toBe('default');
      expect(line?.mode, ctx).toBe('enforce');
      if (w.errno !== undefined) expect(line?.errno, ctx).toBe(w.errno);
    }
    if (s.verdict === 'logged') {
      const line = s.logs.find((l) => l.decision === 'deny');
      expect(line?.blocked, ctx).toBe(false);
      expect(line?.mode, ctx).toBe('audit');
    }
  }
  if (mode === 'audit' && want.steps.allowed !== undefined) {
    const allowLines = stepOf(run, 'allowed').logs.filter((l) => l.decision === 'allow' && l.rule === ALLOW_RULE);
    expect(allowLines.length > 0, ctx).toBe(want.allowLogged);
  }
}
