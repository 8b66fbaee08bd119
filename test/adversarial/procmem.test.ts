// Writing one's own memory through /proc/self/mem from plain Python (no ctypes, no native code of its own): the
// attacker (test/adversarial/programs/procmem_got.py) points the GOT slot of `connect` in the Python executable at
// libc's own `connect`, then requests a denied server. A process may always write its own memory this way, whatever
// the page protections, so the guard's hooks can be unwired by file I/O alone: SECURITY.md "What it does not
// promise" (overwriting the guard's memory), docs/COVERAGE.md. This test demonstrates the residual — the witness server
// receives the request and no guard line mentions it — and fails the day it is closed (then rewrite it as an attack
// that must fail).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED, Arena, type AttackRun, DENIED, explainRun, needAttacker, PY } from './attacker.js';

describe.skipIf(!needAttacker())('/proc/self/mem: the process rewires its own calls', () => {
  let arena: Arena;
  let run: AttackRun;
  beforeAll(async () => {
    arena = await Arena.create('egmem');
    run = await arena.run({ cmd: PY, args: [arena.program('procmem_got.py'), DENIED, ALLOWED] });
    expect(await arena.settled('procmem'), explainRun(run)).toBe(true);
  });
  afterAll(() => arena?.destroy());

  it('RESIDUAL: a GOT slot rewritten through /proc/self/mem reaches a denied server, unlogged', () => {
    expect(run.results[0], explainRun(run)).toMatchObject({ status: 200 });
    expect((run.results[0]?.slots as number) > 0).toBe(true);
    expect(arena.sawRequest('/procmem-got')).toBe(true);
    expect(run.logs.filter((l) => l.ip === DENIED)).toEqual([]);
  });
});
