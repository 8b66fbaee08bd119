/**
 * What one client run showed, step by step, and the verdict the suite draws from it.
 *
 * Three independent witnesses per step: what the **program** printed (client protocol, docs/COMPATIBILITY.md), what
 * the **guard** logged (docs/LOGGING.md lines attributed to the step by destination), and whether the traffic
 * **reached** the suite's server in the namespace (its records carry the step's token). The verdict needs them to agree:
 *
 * | verdict        | mode    | program | guard log                    | reached |
 * |----------------|---------|---------|------------------------------|---------|
 * | `works`        | both    | ok      | (not a deny)                 | yes     | allowed step
 * | `broken`       | both    | error or no answer, or a deny log, or not reached   | allowed step
 * | `blocked`      | enforce | error   | a deny with `blocked: true`  | no      | denied step
 * | `logged`       | audit   | ok      | a deny with `blocked: false` | yes     | denied step
 * | `missed`       | both    | ok      | no deny at all               | yes     | denied step: the guard never saw it
 * | `inconsistent` | any other combination (the reason says which witness disagreed)                   |
 */
import type { GuardLog } from '../../support/guard.js';
import type { Mode, StepId } from './scenario.js';

export type Verdict = 'works' | 'broken' | 'blocked' | 'logged' | 'missed' | 'inconsistent';

export interface ProgramStep {
  ok: boolean;
  /** the program's view: a short result, or the error identity it would branch on */
  what: string;
  detail: string;
}

export interface StepObservation {
  step: StepId;
  mode: Mode;
  program: ProgramStep | undefined;
  /** the guard's log lines about this step's destination */
  logs: GuardLog[];
  reached: boolean;
}

export interface Judgement {
  verdict: Verdict;
  reason: string;
}

/** Parses the client protocol's `COMPAT\tstep\tok|error\twhat\tdetail` lines; other lines are ignored. */
export function parseClientOutput(stdout: string): Map<string, ProgramStep> {
  const out = new Map<string, ProgramStep>();
  for (const line of stdout.split('\n')) {
    const f = line.split('\t');
    if (f[0] !== 'COMPAT' || f.length < 4) continue;
    out.set(f[1] as string, { ok: f[2] === 'ok', what: f[3] ?? '', detail: f[4] ?? '' });
  }
  return out;
}

export function judge(o: StepObservation): Judgement {
  const p = o.program;
  if (p === undefined) return { verdict: o.step === 'allowed' ? 'broken' : 'inconsistent', reason: 'no answer' };
  const denies = o.logs.filter((l) => l.decision === 'deny');
  if (o.step === 'allowed') {
    if (p.ok && o.reached && denies.length === 0) return { verdict: 'works', reason: '' };
    return {
      verdict: 'broken',
      reason: `program ${p.ok ? 'ok' : `failed (${p.what})`}, ${o.reached ? 'reached' : 'not reached'}, ${denies.length} deny log(s)`,
    };
  }
  const blockedLogs = denies.filter((l) => l.blocked === true);
  if (o.mode === 'enforce') {
    if (!p.ok && blockedLogs.length > 0 && !o.reached) return { verdict: 'blocked', reason: '' };
  } else if (p.ok && o.reached && denies.length > 0 && blockedLogs.length === 0) {
    return { verdict: 'logged', reason: '' };
  }
  if (p.ok && o.reached && denies.length === 0) return { verdict: 'missed', reason: 'no deny log, traffic reached' };
  return {
    verdict: 'inconsistent',
    reason:
      `program ${p.ok ? 'ok' : `failed (${p.what})`}, ${o.reached ? 'reached' : 'not reached'}, ` +
      `${denies.length} deny log(s) of which ${blockedLogs.length} blocked`,
  };
}

/** Log lines about a destination: the name it was looked up by or bound to, or its address (and port when known). */
export function attribute(
  logs: GuardLog[],
  dest: { host?: string; ip: string; port: number; proto: 'tcp' | 'udp' },
): GuardLog[] {
  return logs.filter((l) => {
    if (dest.host !== undefined && l.host === dest.host) return true;
    return l.ip === dest.ip && (l.port === undefined || l.port === dest.port);
  });
}

/** The intercepted calls named in log lines (`getaddrinfo`, `connect`, `sendto` …), sorted, unique. */
export function callsOf(logs: GuardLog[]): string[] {
  return [...new Set(logs.map((l) => l.call).filter((c): c is string => typeof c === 'string'))].sort();
}
