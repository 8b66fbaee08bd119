// A denied retry loop must not flood the logs, and the counts must stay exact (docs/LOGGING.md "Rate limit").
// Unprivileged Python and Node programs under the guard, in the arena's namespace, reconnect to a denied address as
// fast as they can for a few seconds and count their own attempts. Passing = the guard wrote a bounded number of lines
// for that destination, `sum(suppressed ?? 1)` over them equals the program's own count, every distinct destination
// of the run has its own line, the state file's counters (what the invoke summary and the BlockedConnections metric
// report) count every attempt, and `egress-guard suggest` counts attempts, not lines. In enforce and in audit mode.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_FIELD } from '../../policy/gen/state.js';
import { Aggregator } from '../../policy/suggest/aggregate.js';
import type { GuardLog } from '../support/guard.js';
import { Arena, type AttackRun, DENIED, explainRun, needAttacker, PY } from './attacker.js';

const RATE = 10; // EGRESS_GUARD_LOG_RATE's default
const FLOOD_PORT = 8080;
const REFUSED_PORT = 9; // audit: nothing listens there, so each attempt is refused at once inside the namespace

/** The documented bound: per process and destination, (RATE + 1) lines per window touched in T seconds. */
function bound(seconds: number, window: number): number {
  return (RATE + 1) * (Math.floor((seconds + 1) / window) + 2);
}

function occurrences(l: GuardLog): number {
  return typeof l.suppressed === 'number' ? l.suppressed : 1;
}

function attempts(run: AttackRun): number {
  return run.results.reduce((a, r) => a + (r.attempts as number), 0);
}

function linesOf(run: AttackRun, port: number): GuardLog[] {
  return run.logs.filter((l) => l.event === 'connect' && l.ip === DENIED && l.port === port);
}

function stateCounter(path: string, field: keyof typeof STATE_FIELD): number {
  return Number(readFileSync(path).readBigUInt64LE(STATE_FIELD[field].offset));
}

describe.skipIf(!needAttacker())('a denied retry loop does not flood the logs; counts stay exact', () => {
  let arena: Arena;
  let pyEnforce: AttackRun;
  let pyShortWindow: AttackRun;
  let nodeEnforce: AttackRun;
  let pyAudit: AttackRun;
  let pyOff: AttackRun;
  let pyUnderscoreExit: AttackRun;
  let statePath: string;
  beforeAll(async () => {
    arena = await Arena.create('egflood');
    statePath = join(arena.dir, 'logs', 'state');
    const flood = arena.program('flood.py');
    pyEnforce = await arena.run({
      cmd: PY,
      args: [flood, '3', String(FLOOD_PORT), '9100', '20'],
      env: { EGRESS_GUARD_STATE: statePath },
    });
    pyShortWindow = await arena.run({
      cmd: PY,
      args: [flood, '4', String(FLOOD_PORT), '9200', '5', '--fork'],
      env: { EGRESS_GUARD_LOG_RATE_WINDOW_S: '1' },
    });
    nodeEnforce = await arena.run({
      cmd: process.execPath,
      args: [arena.program('flood.mjs'), '3', String(FLOOD_PORT)],
    });
    pyAudit = await arena.run({
      cmd: PY,
      args: [flood, '2', String(REFUSED_PORT)],
      env: { EGRESS_GUARD_MODE: 'audit' },
    });
    pyOff = await arena.run({ cmd: PY, args: [flood, '1', String(FLOOD_PORT)], env: { EGRESS_GUARD_LOG_RATE: '0' } });
    pyUnderscoreExit = await arena.run({ cmd: PY, args: [flood, '2', String(FLOOD_PORT), '9300', '0', '--exit'] });
  }, 300_000);
  afterAll(() => arena?.destroy());

  it(`Python, enforce, 3 s: at most ${bound(3, 10)} lines (11 per 10 s window touched) add up to every attempt`, () => {
    const n = attempts(pyEnforce);
    expect(pyEnforce.results[0]?.errors, explainRun(pyEnforce)).toEqual({ '13': n });
    expect(n).toBeGreaterThan(1000); // a real flood
    const lines = linesOf(pyEnforce, FLOOD_PORT);
    expect(lines.length).toBeLessThanOrEqual(bound(3, 10));
    expect(lines.reduce((a, l) => a + occurrences(l), 0)).toBe(n);
    const summaries = lines.filter((l) => l.suppressed !== undefined);
    expect(summaries.length).toBeGreaterThan(0);
    for (const s of summaries) {
      expect(s).toMatchObject({ decision: 'deny', blocked: true, rule: 'default', call: 'connect', proto: 'tcp' });
      expect(s).toMatchObject({ errno: 'EACCES', mode: 'enforce', window: 10, level: 50 });
      expect(s.msg).toMatch(/^deny connect 10\.88\.0\.2:8080 \(blocked\): \d+ more suppressed/);
    }
  });

  it('every distinct destination of the run has its own line, none of them suppressed', () => {
    for (let p = 9100; p < 9120; p++) {
      const lines = linesOf(pyEnforce, p);
      expect(lines, `port ${p}`).toHaveLength(1);
      expect(lines[0]?.suppressed).toBeUndefined();
    }
  });

  it('the state file counts every attempt: denied/blocked (invoke summary, BlockedConnections) and suppressed', () => {
    const n = attempts(pyEnforce) + 20;
    expect(stateCounter(statePath, 'n_blocked')).toBe(n);
    expect(stateCounter(statePath, 'n_denied')).toBe(n);
    const suppressed = pyEnforce.logs.reduce((a, l) => a + (typeof l.suppressed === 'number' ? l.suppressed : 0), 0);
    expect(stateCounter(statePath, 'n_suppressed')).toBe(suppressed);
  });

  it(`1 s windows, a forked child flooding too: each process at most ${bound(2, 1)} lines, summaries per window, exact`, () => {
    expect(pyShortWindow.results, explainRun(pyShortWindow)).toHaveLength(2);
    const pids = pyShortWindow.results.map((r) => r.pid as number);
    const lines = linesOf(pyShortWindow, FLOOD_PORT);
    for (const pid of pids) {
      const own = lines.filter((l) => l.pid === pid);
      const result = pyShortWindow.results.find((r) => r.pid === pid);
      expect(own.length).toBeLessThanOrEqual(bound(2, 1));
      expect(own.reduce((a, l) => a + occurrences(l), 0)).toBe(result?.attempts);
      expect(own.filter((l) => l.suppressed !== undefined).length).toBeGreaterThanOrEqual(2); // a window rolled over
    }
    for (const s of lines.filter((l) => l.suppressed !== undefined)) expect(s.window).toBe(1);
    for (let p = 9200; p < 9205; p++) expect(linesOf(pyShortWindow, p), `port ${p}`).toHaveLength(1);
  });

  it(`Node, enforce, 3 s: at most ${bound(3, 10)} lines add up to every attempt`, () => {
    const n = attempts(nodeEnforce);
    expect(nodeEnforce.results[0]?.errors, explainRun(nodeEnforce)).toEqual({ EACCES: n });
    expect(n).toBeGreaterThan(1000);
    const lines = linesOf(nodeEnforce, FLOOD_PORT);
    expect(lines.length).toBeLessThanOrEqual(bound(3, 10));
    expect(lines.reduce((a, l) => a + occurrences(l), 0)).toBe(n);
  });

  it(`audit, a repeated would-block, 2 s: at most ${bound(2, 10)} lines add up to every attempt`, () => {
    const n = attempts(pyAudit);
    expect(pyAudit.results[0]?.errors, explainRun(pyAudit)).toEqual({ '111': n }); // ECONNREFUSED: not blocked
    expect(n).toBeGreaterThan(1000);
    const lines = linesOf(pyAudit, REFUSED_PORT);
    expect(lines.length).toBeLessThanOrEqual(bound(2, 10));
    expect(lines.reduce((a, l) => a + occurrences(l), 0)).toBe(n);
    for (const l of lines) expect(l).toMatchObject({ decision: 'deny', blocked: false, mode: 'audit', level: 40 });
    expect(lines.some((l) => l.suppressed !== undefined)).toBe(true);
  });

  it('a process that ends with os._exit (no exit handlers) still writes the counts of its open window', () => {
    const n = attempts(pyUnderscoreExit);
    expect(n, explainRun(pyUnderscoreExit)).toBeGreaterThan(1000);
    const lines = linesOf(pyUnderscoreExit, FLOOD_PORT);
    expect(lines.length).toBeLessThanOrEqual(bound(2, 10));
    expect(lines.reduce((a, l) => a + occurrences(l), 0)).toBe(n);
  });

  it('EGRESS_GUARD_LOG_RATE=0 turns the limiter off: one line per attempt', () => {
    const n = attempts(pyOff);
    const lines = linesOf(pyOff, FLOOD_PORT);
    expect(lines).toHaveLength(n);
    expect(lines.some((l) => l.suppressed !== undefined)).toBe(false);
  });

  it('egress-guard suggest counts attempts, not lines', () => {
    const agg = new Aggregator();
    for (const [i, l] of pyEnforce.logs.entries()) agg.record(l, { source: 'flood', line: i + 1 });
    agg.finish();
    const d = [...agg.destinations.values()].find((x) => x.ip === DENIED && x.port === FLOOD_PORT);
    expect(d?.count).toBe(attempts(pyEnforce));
    expect(d?.logged.blocked).toBe(attempts(pyEnforce));
  });
});
