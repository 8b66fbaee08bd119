// Children keep the guard (docs/INTERPOSER.md "Children keep the guard"): an unprivileged Python or Node program
// under the guard in enforce mode starts a child every way it can, handing it an environment that switches the guard
// off, lowers logging, points at a permissive policy or a decoy library, or redefines the always-allowed endpoints.
// Passing = the child ran with the parent's settings, its request to the denied server never arrived, and a guard line
// from the child's pid says what was blocked. The last attempt is a documented residual (docs/COVERAGE.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardLog, logsWhere } from '../support/guard.js';
import { Arena, type AttackRun, DENIED, explainRun, LINK_LOCAL, needAttacker, PY } from './attacker.js';

const PY_ATTACKS = [
  'env-mode-off',
  'env-mode-audit',
  'env-preload-empty',
  'env-preload-removed',
  'env-empty',
  'env-decoy',
  'env-libc-first',
  'env-permissive-policy',
  'env-log-off',
  'env-level-off',
  'env-runtime-api',
  'env-runtime-api-link-local',
  'env-xray-link-local',
  'os-execve',
  'os-execv-putenv',
  'os-fexecve',
  'os-posix-spawn',
  'os-posix-spawnp',
  'os-system',
  'libc-popen',
  'libc-execveat',
  'libc-syscall-execve',
  'libc-syscall-execveat',
  'subprocess-shell',
  'subprocess-close-fds',
  'subprocess-no-close-fds',
  'subprocess-devnull',
  'ld-so-preload-libc',
];
const NODE_ATTACKS = [
  'env-mode-off',
  'env-empty',
  'env-preload-empty',
  'env-decoy',
  'env-permissive-policy',
  'env-log-off',
  'exec-shell',
  'process-env',
  'spawn-sync-shell',
  'spawn-detached-ignore',
];

describe.skipIf(!needAttacker())('children keep the guard: attempts by an unprivileged program', () => {
  let arena: Arena;
  let py: AttackRun;
  let node: AttackRun;
  beforeAll(async () => {
    arena = await Arena.create('egkids');
    py = await arena.run({ cmd: PY, args: [arena.program('children.py'), ...PY_ATTACKS], timeoutMs: 120_000 });
    node = await arena.run({
      cmd: process.execPath,
      args: [arena.program('children.mjs'), ...NODE_ATTACKS],
      timeoutMs: 120_000,
    });
  }, 300_000);
  afterAll(() => arena?.destroy());

  /** The child of `tag` was guarded with the parent's settings and blocked; the server never saw its request. */
  async function expectHeld(run: AttackRun, tag: string, host = DENIED): Promise<GuardLog> {
    const victim = run.results.find((r) => r.victim === tag);
    expect(victim, `no result from the child of ${tag}\n${explainRun(run)}`).toBeDefined();
    expect(run.results.find((r) => r.error !== undefined && `py-${r.attack}` === tag)).toBeUndefined();
    expect(victim, explainRun(run)).toMatchObject({ ok: false, errno: 13, mode: 'enforce', policy: arena.policy });
    expect(String(victim?.preload).split(':')[0]).toBe(arena.library);
    expect(await arena.settled(tag), `the sentinel of ${tag} never arrived`).toBe(true);
    expect(arena.sawRequest(`/${tag}`), `the server received the request of ${tag}`).toBe(false);
    const line = logsWhere(run.logs, {
      event: 'connect',
      ip: host,
      port: 8080,
      blocked: true,
      pid: victim?.pid as number,
    });
    expect(line, `no blocked line from the child of ${tag}\n${explainRun(run)}`).toHaveLength(1);
    return line[0] as GuardLog;
  }

  describe('Python', () => {
    for (const attack of PY_ATTACKS) {
      const host = attack.includes('link-local') ? LINK_LOCAL : DENIED;
      it(`${attack}: the child is guarded with the parent's settings`, async () => {
        await expectHeld(py, `py-${attack}`, host);
      });
    }

    it('popen() through the guard returns the shell status from pclose()', () => {
      expect(py.results.find((r) => r.attack === 'libc-popen')).toMatchObject({ pclose: 0 });
    });
  });

  describe('Node', () => {
    for (const attack of NODE_ATTACKS) {
      it(`${attack}: the child is guarded with the parent's settings`, async () => {
        await expectHeld(node, `node-${attack}`);
      });
    }
  });

  it('nothing the children were handed produced a policy or configuration complaint: they never read it', () => {
    for (const run of [py, node]) expect(logsWhere(run.logs, { event: 'policy' }), explainRun(run)).toEqual([]);
  });

  it('REPORTED: a set-user-ID child runs unguarded (the loader ignores LD_PRELOAD) — one `uncovered` line, reason secure', async () => {
    const r = await arena.run({ cmd: PY, args: [arena.program('children.py'), 'setuid-child'] });
    const tag = 'py-setuid-child';
    const child = r.results.find((x) => x.victim === tag);
    expect(child, explainRun(r)).toMatchObject({ euid: 0, ok: true });
    expect(await arena.settled(tag)).toBe(true);
    expect(arena.sawRequest(`/${tag}`)).toBe(true);
    const u = logsWhere(r.logs, { event: 'uncovered', reason: 'secure', path: arena.program('setuid_connect') });
    expect(u, explainRun(r)).toHaveLength(1);
  });

  it('RESIDUAL: libc entered through ctypes on libc’s own handle skips every hook (docs/COVERAGE.md)', async () => {
    const r = await arena.run({ cmd: PY, args: [arena.program('children.py'), 'residual-ctypes-libc-execve'] });
    const tag = 'py-residual-ctypes-libc-execve';
    expect(
      r.results.find((x) => x.victim === tag),
      explainRun(r),
    ).toMatchObject({ ok: true, mode: 'off' });
    expect(await arena.settled(tag)).toBe(true);
    expect(arena.sawRequest(`/${tag}`)).toBe(true);
  });
});

describe.skipIf(!needAttacker())('the always-allowed endpoints of the FIRST process', () => {
  let arena: Arena;
  beforeAll(async () => {
    arena = await Arena.create('egfirst');
  }, 120_000);
  afterAll(() => arena?.destroy());

  it('AWS_LAMBDA_RUNTIME_API / AWS_XRAY_DAEMON_ADDRESS outside loopback and link-local are refused with a warning', async () => {
    const r = await arena.run({
      cmd: PY,
      args: [arena.program('victim.py'), 'first-runtime-api', DENIED, '8080'],
      env: { AWS_LAMBDA_RUNTIME_API: `${DENIED}:8080`, AWS_XRAY_DAEMON_ADDRESS: `${DENIED}:8080` },
    });
    expect(r.results[0], explainRun(r)).toMatchObject({ ok: false, errno: 13 });
    expect(logsWhere(r.logs, { event: 'connect', ip: DENIED, blocked: true, rule: 'default' })).toHaveLength(1);
    const warned = logsWhere(r.logs, { event: 'policy', error: 'E_CONFIG_ENDPOINT' }).map((l) => l.variable);
    expect(warned).toEqual(['AWS_LAMBDA_RUNTIME_API', 'AWS_XRAY_DAEMON_ADDRESS']);
    expect(arena.sawRequest('/first-runtime-api')).toBe(false);
  });

  it('a link-local Runtime API (where Lambda puts it) passes as builtin:runtime-api', async () => {
    const r = await arena.run({
      cmd: PY,
      args: [arena.program('victim.py'), 'first-link-local', LINK_LOCAL, '8080'],
      env: { AWS_LAMBDA_RUNTIME_API: `${LINK_LOCAL}:8080`, EGRESS_GUARD_LOG_LEVEL: 'all' },
    });
    expect(r.results[0], explainRun(r)).toMatchObject({ ok: true });
    expect(logsWhere(r.logs, { event: 'connect', ip: LINK_LOCAL, rule: 'builtin:runtime-api' })).toHaveLength(1);
  });

  it('the operator’s EGRESS_GUARD_MODE=off on the first process backs the guard out (nothing checked, nothing logged)', async () => {
    const r = await arena.run({
      cmd: PY,
      args: [arena.program('children.py'), 'os-posix-spawn'],
      env: { EGRESS_GUARD_MODE: 'off' },
    });
    expect(
      r.results.find((x) => x.victim === 'py-os-posix-spawn'),
      explainRun(r),
    ).toMatchObject({ ok: true });
    expect(r.logs).toEqual([]);
  });
});
