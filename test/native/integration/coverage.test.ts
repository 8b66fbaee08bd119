// What the guard covers and what it cannot see — one test per row of docs/COVERAGE.md. Every test runs a real
// program under the guard in ENFORCE mode against a destination the policy denies, and shows whether the guard
// stopped it. "Not covered" rows pass when the traffic gets through: they document the gap, and fail the day the
// behaviour changes (then docs/COVERAGE.md must change with them).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand, needNetns } from '../../support/capability.js';
import { logsWhere, needLibrary, ROOT, runGuarded, scratchDir } from '../../support/guard.js';
import { createWorld, explain, nodeProbe, POLICY, PYTHON, type World } from './world.js';

/** Go: the toolchain at /usr/local/go, else `go` on PATH. */
const GO = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
const FIX = join(ROOT, 'test/fixtures/integration/programs');
const COVERAGE_POLICY = join(ROOT, 'test/fixtures/integration/coverage-policy.yaml');

const ok = needNetns() && needLibrary() && needCommand('gcc') && needCommand('curl') && needCommand('python3');
const haveGo = need(
  'go',
  spawnSync(GO, ['version']).status === 0,
  'no Go toolchain (/usr/local/go/bin/go or go on PATH)',
);

function build(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const out = join(scratchDir(), name);
  const r = spawnSync(cmd, [...args.map((a) => a.replace('$OUT', out))], { encoding: 'utf8', env, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`building ${name} failed: ${r.stderr}`);
  return out;
}

describe.skipIf(!ok)('coverage: what the guard sees and what it cannot', () => {
  let world: World;
  const bin: Record<string, string> = {};
  beforeAll(async () => {
    world = await createWorld('egcov');
    for (const c of ['rawconnect', 'libcsyscall', 'iouring', 'sendmmsg']) {
      bin[c] = build(c, 'gcc', ['-O1', '-o', '$OUT', join(FIX, `${c}.c`)]);
    }
  });
  afterAll(() => world?.destroy());

  const enforce = (cmd: string, args: string[], extra: { policy?: string; logLevel?: 'all' } = {}) =>
    runGuarded({ cmd, args, policy: extra.policy ?? POLICY, mode: 'enforce', ns: world.ns, logLevel: extra.logLevel });

  it('COVERED: libc lookups and connects of a dynamically linked program (curl)', async () => {
    const r = await enforce('curl', ['-sS', '--max-time', '3', 'http://10.77.0.2:8080/']);
    expect(r.status, r.stderr).toBe(7);
    expect(logsWhere(r.logs, { event: 'connect', ip: '10.77.0.2', blocked: true })).toHaveLength(1);
  });

  it("COVERED: connect through libc's syscall(SYS_connect, …)", async () => {
    const r = await enforce(bin.libcsyscall as string, ['10.77.0.2', '8080']);
    expect(r.stdout.trim(), explain(r)).toBe('error 13');
    expect(logsWhere(r.logs, { ip: '10.77.0.2', blocked: true, call: 'syscall(connect)' })).toHaveLength(1);
  });

  it('COVERED: datagrams sent with sendmmsg(2)', async () => {
    const denied = await enforce(bin.sendmmsg as string, ['10.77.0.2', '9999', 'mm-denied']);
    expect(denied.stdout.trim(), explain(denied)).toBe('error 13');
    expect(logsWhere(denied.logs, { ip: '10.77.0.2', port: 9999, blocked: true, call: 'sendmmsg' })).toHaveLength(1);
    const allowed = await enforce(bin.sendmmsg as string, ['10.77.0.3', '9999', 'mm-allowed']);
    expect(allowed.stdout.trim(), explain(allowed)).toBe('reply ack:mm-allowed');
  });

  it('COVERED: child processes inherit the guard (sh -c …)', async () => {
    const r = await enforce('sh', ['-c', 'curl -sS --max-time 3 http://10.77.0.2:8080/; echo "curl=$?"']);
    expect(r.stdout, r.stderr).toContain('curl=7');
  });

  it('COVERED: a child started without LD_PRELOAD (env -u LD_PRELOAD …) — the guard writes it back', async () => {
    const r = await enforce('sh', [
      '-c',
      'env -u LD_PRELOAD curl -sS --max-time 3 http://10.77.0.2:8080/; echo "curl=$?"',
    ]);
    expect(r.stdout, explain(r)).toContain('curl=7');
    expect(logsWhere(r.logs, { event: 'connect', ip: '10.77.0.2', blocked: true })).toHaveLength(1);
    expect(logsWhere(r.logs, { event: 'uncovered' })).toEqual([]);
  });

  it('NOT COVERED: syscalls made with inline assembly (no libc call to intercept)', async () => {
    const r = await enforce(bin.rawconnect as string, ['10.77.0.2', '8080']);
    expect(r.stdout.trim(), explain(r)).toBe('connected');
    expect(logsWhere(r.logs, { event: 'connect' })).toEqual([]);
  });

  it('NOT COVERED: io_uring (IORING_OP_CONNECT is performed by the kernel, no connect() call)', async () => {
    const r = await enforce(bin.iouring as string, ['10.77.0.2', '8080']);
    const unsupported = r.stdout.startsWith('unsupported');
    need('io_uring', !unsupported, `io_uring is not available on this kernel (${r.stdout.trim()})`);
    if (unsupported) return;
    expect(r.stdout.trim(), explain(r)).toBe('connected');
    expect(logsWhere(r.logs, { event: 'connect' })).toEqual([]);
  });

  it.skipIf(!haveGo)(
    'NOT COVERED: a statically linked binary (CGO_ENABLED=0 Go) — the guard logs it as `uncovered`',
    async () => {
      const goEnv = { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOPROXY: 'off' };
      const exe = build('staticgo', GO, ['build', '-o', '$OUT', join(FIX, 'staticgo.go')], goEnv);
      expect(spawnSync('file', [exe], { encoding: 'utf8' }).stdout).toMatch(/statically linked/);
      // evil.test is a denied name and 10.77.0.2 a denied address: Go's own resolver and raw syscalls see neither.
      // `sh -c` gives it a guarded parent, which is the only place the exec can be noticed.
      const r = await enforce('sh', ['-c', `"${exe}" evil.test:8080; echo "go=$?"`]);
      expect(r.stdout, explain(r)).toContain('connected 10.77.0.2:8080');
      expect(r.stdout).toContain('go=0');
      expect(logsWhere(r.logs, { event: 'connect' })).toEqual([]);
      expect(logsWhere(r.logs, { event: 'dns' })).toEqual([]);
      const u = logsWhere(r.logs, { event: 'uncovered' });
      expect(u, explain(r)).toHaveLength(1);
      expect(u[0]).toMatchObject({ path: exe, level: 40, reason: 'static' });
    },
    300_000,
  );

  it.skipIf(!haveGo)(
    'PARTLY COVERED: a dynamically linked (cgo) Go binary — lookups only with GODEBUG=netdns=cgo, connects never',
    async () => {
      const goEnv = { ...process.env, CGO_ENABLED: '1', GOTOOLCHAIN: 'local', GOPROXY: 'off' };
      const exe = build('cgogo', GO, ['build', '-o', '$OUT', join(FIX, 'staticgo.go')], goEnv);
      expect(spawnSync('file', [exe], { encoding: 'utf8' }).stdout).toMatch(/dynamically linked/);
      const go = (target: string, netdns: string) =>
        runGuarded({
          cmd: exe,
          args: [target],
          policy: POLICY,
          mode: 'enforce',
          ns: world.ns,
          env: { GODEBUG: `netdns=${netdns}` },
        });
      // Go's own resolver (the default even with cgo) reads /etc/hosts itself: the denied name is not seen
      const pure = await go('evil.test:8080', 'go');
      expect(pure.stdout.trim(), explain(pure)).toBe('connected 10.77.0.2:8080');
      expect(pure.logs).toEqual([]);
      // with the cgo resolver the lookup goes through getaddrinfo and is refused
      const cgo = await go('evil.test:8080', 'cgo');
      expect(cgo.stdout.trim(), explain(cgo)).toMatch(/^error .*no such host/);
      expect(logsWhere(cgo.logs, { event: 'dns', host: 'evil.test', blocked: true })).toHaveLength(1);
      // but Go connects with raw syscalls even when dynamically linked: a denied address is reached
      const literal = await go('10.77.0.2:8080', 'cgo');
      expect(literal.stdout.trim(), explain(literal)).toBe('connected 10.77.0.2:8080');
      expect(logsWhere(literal.logs, { event: 'connect' })).toEqual([]);
    },
    300_000,
  );

  it('COVERED: raw DNS packets to port 53 — the query name inside is decided before the packet leaves', async () => {
    const rawdns = join(FIX, 'rawdns.py');
    const seen = (name: string) => world.server.of('dns').filter((e) => e.name === name).length;
    // with no rule for the nameserver, the datagram itself is refused
    const blocked = await enforce(PYTHON, [rawdns, 'evil-dns.test', '10.77.0.53']);
    expect(blocked.stdout.trim(), explain(blocked)).toBe('error EACCES');
    expect(logsWhere(blocked.logs, { event: 'sendto', ip: '10.77.0.53', port: 53, blocked: true })).toHaveLength(1);
    // the nameserver is an allowed destination: a query for an allowed name goes out and is answered …
    const before = seen('evil-dns.test');
    const allowedBefore = seen('dns-only.test');
    const good = await enforce(PYTHON, [rawdns, 'dns-only.test', '10.77.0.53'], { policy: COVERAGE_POLICY });
    expect(good.stdout.trim(), explain(good)).toBe('answer 10.77.0.5');
    // … a query for a DENIED name (Python sendto with the address) is refused before it leaves
    const r = await enforce(PYTHON, [rawdns, 'evil-dns.test', '10.77.0.53'], { policy: COVERAGE_POLICY });
    expect(r.stdout.trim(), explain(r)).toBe('error EACCES');
    expect(
      logsWhere(r.logs, { event: 'dns', host: 'evil-dns.test', call: 'sendto(dns)', blocked: true, rule: 'evil-dns' }),
    ).toHaveLength(1);
    // a hostile question (a compression pointer to itself) is not parsed but refused
    const ptr = await enforce(PYTHON, [rawdns, '@pointer', '10.77.0.53'], { policy: COVERAGE_POLICY });
    expect(ptr.stdout.trim(), explain(ptr)).toBe('error EACCES');
    expect(logsWhere(ptr.logs, { event: 'dns', rule: 'dns-malformed', blocked: true })).toHaveLength(1);
    // Node's dns.resolve4 (c-ares: connect() to the nameserver, then send() without an address): same decision
    const n = await nodeProbe(
      world,
      [
        { op: 'resolve4', host: 'dns-only.test' },
        { op: 'resolve4', host: 'evil-dns.test' },
        { op: 'lookup', host: 'evil-dns.test' },
      ],
      { policy: COVERAGE_POLICY, mode: 'enforce' },
    );
    expect(n.results[0], explain(n)).toMatchObject({ ok: true, addresses: ['10.77.0.5'] });
    expect(n.results[1]).toMatchObject({ ok: false });
    expect(n.results[2]).toMatchObject({ ok: false, code: 'ENOTFOUND' });
    expect(
      logsWhere(n.logs, { event: 'dns', host: 'evil-dns.test', call: 'send(dns)', blocked: true }),
    ).not.toHaveLength(0);
    // the allowed queries above reached the server; the denied ones never did
    expect(await world.server.waitFor(() => seen('dns-only.test') >= allowedBefore + 2)).toBe(true);
    expect(seen('evil-dns.test')).toBe(before);
    // audit: the same query leaves, and the log says it would have been blocked
    const a = await nodeProbe(world, [{ op: 'resolve4', host: 'evil-dns.test' }], {
      policy: COVERAGE_POLICY,
      mode: 'audit',
    });
    expect(a.results[0], explain(a)).toMatchObject({ ok: true, addresses: ['10.77.0.2'] });
    expect(
      logsWhere(a.logs, { event: 'dns', host: 'evil-dns.test', call: 'send(dns)', decision: 'deny', blocked: false }),
    ).toHaveLength(1);
    expect(await world.server.waitFor(() => seen('evil-dns.test') > before)).toBe(true);
  });

  it("NOT SEEN (by design): glibc's own resolver sockets — the name is checked at getaddrinfo instead", async () => {
    // dns-only.test is allowed and only the DNS server at 10.77.0.53 knows it; no rule allows 10.77.0.53, yet the
    // lookup works: glibc queries the nameserver through internal calls the preload does not intercept.
    const r = await runGuarded({
      cmd: PYTHON,
      args: [
        join(ROOT, 'test/fixtures/integration/probe.py'),
        JSON.stringify([{ op: 'urllib', url: 'http://dns-only.test:8080/' }]),
      ],
      policy: POLICY,
      mode: 'enforce',
      ns: world.ns,
      logLevel: 'all',
    });
    expect(r.stdout, explain(r)).toContain('"body": "hello from 10.77.0.5:8080\\n"');
    expect(world.server.of('dns').some((e) => e.name === 'dns-only.test')).toBe(true);
    expect(r.logs.filter((l) => l.ip === '10.77.0.53')).toEqual([]);
    expect(logsWhere(r.logs, { event: 'dns', host: 'dns-only.test', decision: 'allow' })).not.toHaveLength(0);
  });
});
