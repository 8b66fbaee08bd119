// The guard's log, seen from the guarded program: never on stdout, never harmful when stderr is broken or closed,
// never forgeable by a hostile name, and as verbose as docs/LOGGING.md says per mode (audit: each distinct
// destination once; enforce: denials only; `all`: every event).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../../support/capability.js';
import { compilePolicy, LIBRARY, logsWhere, needLibrary, ROOT, scratchDir } from '../../support/guard.js';
import { runChild } from '../../support/netns.js';
import { createWorld, explain, PYTHON, pyProbe, type World, XRAY } from './world.js';

const ok = needNetns() && needLibrary() && needCommand('gcc') && needCommand('python3');
const ARCH_POLICY = join(ROOT, 'test/fixtures/integration/arch-policy.yaml');
const EXPECTED = 'gai-good 0\ngai-evil -2\nconnect-allowed 0\nconnect-denied 13\nsendto-denied 13\n';

describe.skipIf(!ok)('guard log behaviour seen from the program', () => {
  let world: World;
  let guardcheck: string;
  let policy: string;
  beforeAll(async () => {
    world = await createWorld('eglog');
    guardcheck = join(scratchDir(), 'guardcheck');
    const cc = spawnSync('gcc', ['-O1', '-o', guardcheck, join(ROOT, 'test/fixtures/integration/arch/guardcheck.c')]);
    if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
    policy = await compilePolicy(ARCH_POLICY);
  });
  afterAll(() => world?.destroy());

  /**
   * Runs guardcheck (which does NOT ignore SIGPIPE) with fd 2 broken in a given way, guard logging to stderr, in
   * enforce mode so that denials are written. A python launcher sets fd 2 up, restores SIGPIPE's default action and
   * execs the program with the guard's environment.
   */
  async function withBrokenStderr(how: 'epipe' | 'closed') {
    const launcher = `
import os, signal, sys
exe = sys.argv[1]
if sys.argv[2] == "epipe":
    r, w = os.pipe(); os.close(r); os.dup2(w, 2); os.close(w)
else:
    os.close(2)
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
env = dict(os.environ, LD_PRELOAD=${JSON.stringify(LIBRARY)}, EGRESS_GUARD_POLICY=${JSON.stringify(policy)},
           EGRESS_GUARD_MODE="enforce", EGRESS_GUARD_LOG="stderr", EGRESS_GUARD_LOG_LEVEL="all")
os.execve(exe, [exe], env)
`;
    return world.ns.run(PYTHON, ['-c', launcher, guardcheck, how]);
  }

  it('a broken pipe on the log fd (EPIPE) neither kills nor disturbs the program', async () => {
    const r = await withBrokenStderr('epipe');
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(EXPECTED);
  });

  it('a closed log fd (EBADF) neither kills nor disturbs the program', async () => {
    const r = await withBrokenStderr('closed');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(EXPECTED);
  });

  it('writes to stderr by default, never to stdout', async () => {
    const [cmd, args] = world.ns.wrap('env', [
      `LD_PRELOAD=${LIBRARY}`,
      `EGRESS_GUARD_POLICY=${policy}`,
      'EGRESS_GUARD_LOG_LEVEL=all',
      guardcheck,
    ]);
    const r = await runChild(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    expect(r.stdout).toBe(EXPECTED);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ name: 'egress-guard' });
  });

  it('hostile names cannot forge fields or lines', async () => {
    const hostile = [
      'evil.test","decision":"allow","forged":true,"x":"',
      'a\nb.test',
      '{"name":"egress-guard","forged":true}',
      'tab\there.test\\',
      'ctl\u0001\u001f\u007f.test',
      `${'x'.repeat(300)}.test`,
    ];
    const r = await pyProbe(
      world,
      hostile.map((host) => ({ op: 'getaddrinfo', host })),
      { mode: 'audit', logLevel: 'all' },
    );
    expect(r.results, explain(r)).toHaveLength(hostile.length);
    expect(r.badLogLines).toEqual([]);
    for (const l of r.logs) {
      expect(l).not.toHaveProperty('forged');
      expect(l).not.toHaveProperty('x');
      expect(l.name).toBe('egress-guard');
    }
    // the quote-laden name is logged as one string value, not as fields, and is never allowed
    const dns = logsWhere(r.logs, { event: 'dns' });
    expect(dns.every((l) => l.decision === 'deny')).toBe(true);
    expect(dns.some((l) => String(l.host).includes('"decision":"allow"'))).toBe(true);
  });

  it('audit logs each allowed destination once and every would-block; enforce logs denials only; `all` logs every event', async () => {
    const five = (host: string, port: number) => Array.from({ length: 5 }, () => ({ op: 'connect', host, port }));
    const ops = [...five('10.77.0.3', 8080), ...five('10.77.0.2', 7000)];
    const count = (logs: Parameters<typeof logsWhere>[0], ip: string) =>
      logsWhere(logs, { event: 'connect', ip }).length;

    const audit = await pyProbe(world, ops, { mode: 'audit' });
    expect(audit.results, explain(audit)).toHaveLength(10);
    expect(count(audit.logs, '10.77.0.3')).toBe(1); // allowed: once per process
    expect(count(audit.logs, '10.77.0.2')).toBe(5); // would-block: each one, as in enforce (5 is under the rate limit)

    const enforce = await pyProbe(world, ops, { mode: 'enforce' });
    expect(count(enforce.logs, '10.77.0.3')).toBe(0);
    expect(count(enforce.logs, '10.77.0.2')).toBe(5);

    const all = await pyProbe(world, ops, { mode: 'enforce', logLevel: 'all' });
    expect(count(all.logs, '10.77.0.3')).toBe(5);
    expect(count(all.logs, '10.77.0.2')).toBe(5);

    const off = await pyProbe(world, ops, { mode: 'enforce', logLevel: 'off' });
    expect(off.results.slice(5).every((x) => x.code === 'EACCES')).toBe(true); // still enforced
    expect(off.logs).toEqual([]);
  });
});

describe.skipIf(!ok)('X-Ray daemon address', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld('egxray');
  });
  afterAll(() => world?.destroy());

  it('AWS_XRAY_DAEMON_ADDRESS always passes (UDP segments, and TCP: the SDKs fetch sampling rules from the daemon)', async () => {
    const [host, port] = XRAY.split(':') as [string, string];
    const env = { AWS_XRAY_DAEMON_ADDRESS: XRAY };
    const r = await pyProbe(
      world,
      [
        { op: 'udp', host, port: Number(port), payload: 'segment' },
        { op: 'connect', host, port: Number(port) }, // passes the guard; nothing listens on TCP 9999
        { op: 'connect', host, port: 7000 }, // same host, another port: not the daemon
      ],
      { mode: 'enforce', env, logLevel: 'all' },
    );
    expect(r.results[0], explain(r)).toMatchObject({ ok: true, reply: 'ack:segment' });
    expect(r.results[1]).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
    expect(r.results[2]).toMatchObject({ ok: false, code: 'EACCES' });
    expect(logsWhere(r.logs, { event: 'sendto', ip: host, rule: 'builtin:xray' })).toHaveLength(1);
    const without = await pyProbe(world, [{ op: 'udp', host, port: Number(port) }], { mode: 'enforce' });
    expect(without.results[0], explain(without)).toMatchObject({ ok: false, code: 'EACCES' });
  });
});
