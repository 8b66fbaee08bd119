/**
 * A connect made by a signal handler while the guard is busy in the same thread is decided (docs/INTERPOSER.md
 * "Signal handlers"). Attacker: programs/sigconnect.c — native code (a signal handler is native code; Python runs its
 * handlers between bytecodes, outside the signal), as root inside the test's namespace because it plays the silent
 * nameserver on 127.0.0.1:53 that keeps getaddrinfo — and the guard's raised re-entry depth — waiting while SIGALRM
 * fires. The handler connects to the denied address. Passing = the echo server there saw nothing, the handler's
 * connect failed with EACCES and was logged, for every way of installing a handler; a handler that leaves the lookup
 * with siglongjmp leaves the thread guarded; the program reads back its own handler, never the guard's trampoline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENIED, ECHO, needSocketArena, SocketArena } from './socket-arena.js';

const ok = needSocketArena();

describe.skipIf(!ok)('signal handlers and re-entry', () => {
  let arena: SocketArena;
  beforeAll(async () => {
    arena = await SocketArena.create('egsig');
  });
  afterAll(() => arena?.destroy());

  async function run(mode: string) {
    const r = await arena.run(['sigconnect', mode, DENIED, String(ECHO), 'allowed.test'], { privileged: true });
    expect(r.status, r.stderr).toBe(0);
    const out = r.results[0] as Record<string, unknown>;
    const blocked = r.logs.filter((l) => l.event === 'connect' && l.ip === DENIED && l.blocked === true);
    return { out, blocked };
  }

  for (const mode of ['sigaction', 'siginfo', 'signal', 'sysv_signal', 'sigset']) {
    it(`${mode}: the handler's connect inside getaddrinfo is decided and refused`, async () => {
      const { out, blocked } = await run(mode);
      expect(out).toMatchObject({ mode, firedInLookup: true, rc: -1, errno: 'EACCES' });
      expect(blocked).toHaveLength(1);
      expect(arena.echoAt(DENIED)).toBe(0);
    }, 60_000);
  }

  it('a handler that leaves the lookup with siglongjmp leaves the thread guarded', async () => {
    const { out, blocked } = await run('longjmp');
    expect(out).toMatchObject({ firedInLookup: true, rc: -1, errno: 'EACCES', afterRc: -1, afterErrno: 'EACCES' });
    expect(blocked).toHaveLength(2);
    expect(arena.echoAt(DENIED)).toBe(0);
  }, 60_000);

  it('the program reads back its own handler, not the guard’s trampoline', async () => {
    const { out } = await run('query');
    expect(out).toMatchObject({ transparent: true, firedInLookup: true, errno: 'EACCES' });
  }, 60_000);
});
