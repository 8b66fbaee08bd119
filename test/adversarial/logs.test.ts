// Logs cannot be silenced from inside (docs/INTERPOSER.md "The guard's own descriptors"): an unprivileged Python or
// Node program under the guard in enforce mode, logging to its stderr (a pipe the test reads, as Lambda's log
// collector does), closes or re-points fd 2, closes every descriptor, finds the guard's own copy and closes or
// overwrites it, or starts children whose stdio goes nowhere — and then makes a denied connect. Passing = the connect
// failed with EACCES and its guard line still reached the test's pipe, from the right pid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsWhere } from '../support/guard.js';
import { Arena, type AttackRun, DENIED, explainRun, needAttacker, PY } from './attacker.js';

const PY_ATTACKS = [
  'close-2',
  'dup2-devnull-2',
  'closerange',
  'close-each',
  'dup2-over-guard',
  'child-stderr-devnull',
  'child-after-parent-closed',
  'posix-spawn-file-actions',
];
const NODE_ATTACKS = ['close-stderr', 'close-guard-copy', 'child-stdio-ignore'];
const port = (i: number) => 21000 + i;

describe.skipIf(!needAttacker())('logs cannot be silenced from inside', () => {
  let arena: Arena;
  let py: AttackRun;
  const node: AttackRun[] = [];
  beforeAll(async () => {
    arena = await Arena.create('eglogs');
    const specs = PY_ATTACKS.map((a, i) => `${a}:${port(i)}`);
    py = await arena.run({ cmd: PY, args: [arena.program('logs.py'), ...specs], log: 'stderr' });
    for (const [i, a] of NODE_ATTACKS.entries()) {
      node.push(
        await arena.run({
          cmd: process.execPath,
          args: [arena.program('logs.mjs'), `${a}:${port(100 + i)}`],
          log: 'stderr',
        }),
      );
    }
  }, 300_000);
  afterAll(() => arena?.destroy());

  function expectLogged(run: AttackRun, attack: string, p: number): void {
    const result = run.results.find((r) => r.attack === attack || r.victim === `logs-${p}`);
    expect(result, `no result for ${attack}\n${explainRun(run)}`).toBeDefined();
    expect(result?.error, explainRun(run)).toBeUndefined();
    expect(result?.ok, explainRun(run)).toBe(false);
    expect(result?.errno ?? result?.code).toBe(result?.code === undefined ? 13 : 'EACCES');
    const line = logsWhere(run.logs, {
      event: 'connect',
      ip: DENIED,
      port: p,
      blocked: true,
      pid: result?.pid as number,
    });
    expect(line, `the guard line of ${attack} did not reach the log\n${explainRun(run)}`).toHaveLength(1);
  }

  describe('Python', () => {
    for (const [i, attack] of PY_ATTACKS.entries()) {
      it(`${attack}: the blocked connect is still logged`, () => expectLogged(py, attack, port(i)));
    }

    it('every guard line is whole JSON', () => {
      const guardish = py.stderr.split('\n').filter((l) => l.includes('"egress-guard"'));
      expect(guardish.length).toBe(py.logs.length);
    });
  });

  describe('Node', () => {
    for (const [i, attack] of NODE_ATTACKS.entries()) {
      it(`${attack}: the blocked connect is still logged`, () =>
        expectLogged(node[i] as AttackRun, attack, port(100 + i)));
    }
  });

  it('a static child with its stdio on /dev/null is never blocked, and its `uncovered` line reaches the log', async () => {
    const p = 21099;
    const r = await arena.run({
      cmd: PY,
      args: [arena.program('logs.py'), `static-child-devnull:${p}`],
      log: 'stderr',
    });
    expect(
      r.results.find((x) => x.victim === `logs-${p}`),
      explainRun(r),
    ).toMatchObject({ static: true, ok: true });
    expect(arena.sawRequest(`/logs-${p}`)).toBe(true);
    const u = logsWhere(r.logs, { event: 'uncovered', reason: 'static', path: arena.program('static_connect') });
    expect(u, explainRun(r)).toHaveLength(1);
  });

  it('RESIDUAL: file actions that drop the child’s copy, from a parent the child cannot reach — still blocked, line lost (docs/COVERAGE.md)', async () => {
    const p = 21098;
    const r = await arena.run({
      cmd: PY,
      args: [arena.program('logs.py'), `residual-undumpable-parent:${p}`],
      log: 'stderr',
    });
    expect(
      r.results.find((x) => x.victim === `logs-${p}`),
      explainRun(r),
    ).toMatchObject({ ok: false, errno: 13 });
    expect(logsWhere(r.logs, { event: 'connect', port: p })).toEqual([]);
  });
});
