// Writing one's own memory through /proc/self/mem from plain Python (no ctypes, no native code of its own): the
// attacker (test/adversarial/programs/procmem_got.py) tries to open its memory file for writing in every spelling
// (/proc/self/mem, /proc/<pid>/mem, /proc/thread-self/mem, /proc/<pid>/task/<tid>/mem, a symlink, a read-only
// descriptor re-opened through /proc/self/fd) to point the GOT slot of `connect` in the Python executable at libc's own
// `connect`, then requests a denied server. Unguarded this unwires every hook (the kernel lets a process write its own
// pages whatever their protection). Passing = every write-open fails with EACCES and one `memory` line names the file,
// the request is refused by the guard, and the witness server saw nothing (native/src/procmem.c).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsWhere } from '../support/guard.js';
import { ALLOWED, Arena, type AttackRun, DENIED, explainRun, needAttacker, PY } from './attacker.js';

describe.skipIf(!needAttacker())('/proc/self/mem: the process cannot rewire its own calls', () => {
  let arena: Arena;
  let run: AttackRun;
  beforeAll(async () => {
    arena = await Arena.create('egmem');
    run = await arena.run({ cmd: PY, args: [arena.program('procmem_got.py'), DENIED, ALLOWED] });
    expect(await arena.settled('procmem'), explainRun(run)).toBe(true);
  });
  afterAll(() => arena?.destroy());

  it('every spelling of a write-open of its memory file is refused with EACCES and logged', () => {
    const out = run.results[0] as { slots: number; opens: Record<string, string> };
    expect(out.slots, explainRun(run)).toBeGreaterThan(0);
    const opens = Object.values(out.opens);
    expect(opens, explainRun(run)).toHaveLength(6);
    expect(new Set(opens)).toEqual(new Set(['Permission denied']));
    const lines = logsWhere(run.logs, { event: 'memory', rule: 'unsupported-call', blocked: true });
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(String(l.option)).toMatch(/^\/proc\/\d+\/(task\/\d+\/)?mem$/);
  });

  it('so the hooks stay wired: the denied server is refused by the guard and saw nothing', () => {
    expect(run.results[0], explainRun(run)).toMatchObject({ error: expect.stringContaining('Permission denied') });
    expect(arena.sawRequest('/procmem-got')).toBe(false);
    expect(logsWhere(run.logs, { event: 'connect', ip: DENIED, blocked: true })).toHaveLength(1);
  });

  it('Node: fs.openSync of its memory file for writing gets EACCES, one line', async () => {
    const code =
      "const fs=require('node:fs');const r={};for(const p of ['/proc/self/mem','/proc/thread-self/mem'])" +
      "{try{fs.closeSync(fs.openSync(p,'r+'));r[p]='opened'}catch(e){r[p]=e.code}}console.log(JSON.stringify(r))";
    const r = await arena.run({ cmd: process.execPath, args: ['-e', code] });
    expect(r.results[0], explainRun(r)).toEqual({ '/proc/self/mem': 'EACCES', '/proc/thread-self/mem': 'EACCES' });
    expect(logsWhere(r.logs, { event: 'memory', blocked: true })).toHaveLength(2);
  });
});
