/**
 * Proxy mode (docs/PROXY.md): the real `egress-guard-proxy` in a network namespace, used by a static Go program —
 * the case the interposer cannot see into — through Go's net/http (plain HTTP and CONNECT/TLS) and the AWS SDK for
 * Go v2, against peers that record what actually arrived and a DNS server that records every query.
 * Each enforcement claim has the attempt that would break it; the cooperative gap (a direct dial) is asserted as
 * the documented residual it is.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGo, findGo } from '../compat/support/build.js';
import { needCommand, needNetns } from '../support/capability.js';
import { LIBRARY, needLibrary, ROOT, scratchDir } from '../support/guard.js';
import { ADDR, FLAG, ProxyLab, type ProxyProcess, patchState, readState, writeState } from './support/lab.js';

const ok = needNetns() && needLibrary() && needCommand('go', 'version') && needCommand('openssl', 'version');
const MiB = 1024 * 1024;

describe.skipIf(!ok)('egress proxy: static Go through HTTPS_PROXY/HTTP_PROXY', () => {
  let lab: ProxyLab;
  beforeAll(async () => {
    lab = await ProxyLab.create();
  }, 600_000);
  afterAll(() => lab?.destroy());

  describe('enforce mode', () => {
    let proxy: ProxyProcess;
    beforeAll(async () => {
      proxy = await lab.startProxy({ mode: 'enforce', env: { EGRESS_GUARD_LOG_LEVEL: 'all' } });
    });
    afterAll(() => proxy?.stop());

    it('says at start what it covers and where it listens', () => {
      const ready = proxy.logs().filter((l) => l.event === 'proxy');
      expect(ready).toHaveLength(1);
      expect(ready[0]).toMatchObject({ listen: '127.0.0.1:9128', covers: 'proxy', mode: 'enforce' });
    });

    it('lets allowed requests through: net/http (plain and CONNECT/TLS) and the AWS SDK for Go v2', async () => {
      const r = await lab.go({
        plain: 'http://allowed.proxy.test:8080/e-plain/bytes/1000',
        tls: 'https://allowed.proxy.test:8443/e-tls/bytes/2000',
        put: 's3put+http://s3.proxy.test:8080/bucket/e-put?size=70000',
        get: 's3get+http://s3.proxy.test:8080/bucket/e-get/bytes/5000',
      });
      expect(r.get('plain')).toMatchObject({ ok: true, what: 'HTTP 200', detail: '1000 bytes' });
      expect(r.get('tls')).toMatchObject({ ok: true, what: 'HTTP 200', detail: '2000 bytes' });
      expect(r.get('put')).toMatchObject({ ok: true, what: 'PutObject ok' });
      expect(r.get('get')).toMatchObject({ ok: true, what: 'GetObject 5000 bytes' });
      expect(lab.arrived('e-put')).toEqual([expect.objectContaining({ method: 'PUT', complete: true })]);
      expect(lab.arrived('e-put')[0]?.bytes).toBeGreaterThanOrEqual(70000);
      const allowed = proxy.logs().filter((l) => l.event === 'connect' && l.decision === 'allow');
      expect(allowed).toContainEqual(
        expect.objectContaining({
          host: 'allowed.proxy.test',
          port: 8443,
          call: 'proxy-connect',
          rule: 'proxy-allowed',
        }),
      );
      expect(allowed).toContainEqual(
        expect.objectContaining({
          host: 's3.proxy.test',
          ip: ADDR.allowed,
          port: 8080,
          call: 'proxy-http',
          rule: 'proxy-s3',
        }),
      );
    }, 120_000);

    it('refuses denied destinations before anything leaves: 403, a blocked line, the peer saw nothing', async () => {
      const r = await lab.go({
        name: 'http://denied.proxy.test:8080/e-denied-name',
        tls: 'https://denied.proxy.test:8443/e-denied-tls',
        literal: `http://${ADDR.denied}:8080/e-denied-ip`,
        rebind: 'http://rebind.proxy.test:8080/e-rebind',
        port: 'http://allowed.proxy.test:9999/e-other-port',
      });
      expect(r.get('name')).toMatchObject({ ok: true, what: 'HTTP 403' });
      expect(r.get('tls')?.ok).toBe(false); // Go: "Forbidden" from the proxy's CONNECT answer
      expect(r.get('tls')?.detail).toMatch(/Forbidden/);
      expect(r.get('literal')).toMatchObject({ ok: true, what: 'HTTP 403' });
      expect(r.get('rebind')).toMatchObject({ ok: true, what: 'HTTP 403' });
      expect(r.get('port')).toMatchObject({ ok: true, what: 'HTTP 403' });
      for (const t of ['e-denied-name', 'e-denied-tls', 'e-denied-ip', 'e-rebind', 'e-other-port']) {
        expect(lab.arrived(t), t).toEqual([]);
      }
      const blocked = proxy.logs().filter((l) => l.blocked === true);
      expect(blocked).toContainEqual(
        expect.objectContaining({
          level: 50,
          host: 'denied.proxy.test',
          port: 8080,
          rule: 'default',
          call: 'proxy-http',
          status: 403,
        }),
      );
      expect(blocked).toContainEqual(
        expect.objectContaining({ host: 'denied.proxy.test', port: 8443, call: 'proxy-connect' }),
      );
      expect(blocked).toContainEqual(expect.objectContaining({ ip: ADDR.denied, rule: 'internal-range' }));
      // an allowed name whose address is in a denied range: the address rule wins, the line names both
      expect(blocked).toContainEqual(
        expect.objectContaining({ host: 'rebind.proxy.test', ip: ADDR.denied, rule: 'internal-range' }),
      );
      expect(blocked).toContainEqual(
        expect.objectContaining({ host: 'allowed.proxy.test', port: 9999, rule: 'default' }),
      );
    }, 120_000);

    it('never resolves a denied name (a lookup is egress too) and resolves an allowed one exactly as written', async () => {
      const r = await lab.go({
        secret: 'http://secret.proxy.test:8080/e-secret',
        nx: 'http://nx.proxy.test:8080/e-nx',
      });
      expect(r.get('secret')).toMatchObject({ ok: true, what: 'HTTP 403' });
      expect(r.get('nx')).toMatchObject({ ok: true, what: 'HTTP 502' }); // allowed, but no such name
      await lab.dns.waitFor((ev) => ev.some((e) => String(e.name).startsWith('nx.proxy.test')), 5_000);
      expect(lab.queried('secret.')).toEqual([]);
      // resolv.conf has `search corp.example`: the decided name is the only one queried
      const nx = lab.queried('nx.');
      expect(nx.length).toBeGreaterThan(0);
      expect(new Set(nx)).toEqual(new Set(['nx.proxy.test']));
    }, 60_000);

    it('attacker spellings: every one is refused or decided as what it really is', async () => {
      const status = async (head: string) => (await lab.raw(head)).split('\r\n')[0];
      // a backslash could be read by the resolver as an escape: refused before any decision
      expect(await status('CONNECT allowed.proxy.test\\.evil:8080 HTTP/1.1\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
      // userinfo in the authority
      expect(await status('GET http://allowed.proxy.test@denied.proxy.test:8080/e-ui HTTP/1.1\r\n\r\n')).toBe(
        'HTTP/1.1 400 Bad Request',
      );
      // numeric spellings glibc would read as an address are decided as that address (10.78.0.3 → internal-range)
      expect(await status('CONNECT 0x0a.0x4e.0.3:8080 HTTP/1.1\r\n\r\n')).toBe('HTTP/1.1 403 Forbidden');
      expect(await status('CONNECT 168689667:8080 HTTP/1.1\r\n\r\n')).toBe('HTTP/1.1 403 Forbidden');
      // origin-form: the proxy itself is not a web server
      expect(await status('GET /e-origin HTTP/1.1\r\nHost: denied.proxy.test:8080\r\n\r\n')).toBe(
        'HTTP/1.1 501 Not Implemented',
      );
      // a second, pipelined request for a denied host on an allowed connection never reaches that host: the proxy
      // decides one request per connection and the rest of the stream can only go to the destination decided
      // (here the allowed peer, which rejects data after `Connection: close` with its own 400)
      const linesBefore = proxy.logs().length;
      const out = await lab.raw(
        'GET http://allowed.proxy.test:8080/e-first HTTP/1.1\r\nHost: allowed.proxy.test:8080\r\n\r\n' +
          'GET http://denied.proxy.test:8080/e-smuggled HTTP/1.1\r\nHost: denied.proxy.test:8080\r\n\r\n',
      );
      expect(out).toMatch(/^HTTP\/1\.1 \d{3} /);
      expect(lab.arrived('e-smuggled').filter((a) => a.listener.startsWith(ADDR.denied))).toEqual([]);
      // and no connection to the denied host was even attempted for it
      expect(
        proxy
          .logs()
          .slice(linesBefore)
          .filter((l) => l.host === 'denied.proxy.test'),
      ).toEqual([]);
      expect(lab.arrived('e-ui')).toEqual([]);
      expect(lab.arrived('e-origin')).toEqual([]);
    }, 60_000);

    it('a hostile upstream flooding interim (100 Continue) heads cannot overrun the proxy', async () => {
      // 200,000 interim heads (5 MB: far more than the proxy's buffers, and than the socket buffers, kept small in
      // this namespace for the test) before the final response, to a client that reads nothing for the first second
      const script =
        "require('net').createServer((s) => { s.once('data', () => { s.write('HTTP/1.1 100 Continue\\r\\n\\r\\n'.repeat(200000)); " +
        "s.end('HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: keep-alive\\r\\n\\r\\nok'); }); }).listen(8081, '10.78.0.2', () => console.log('up'));";
      for (const k of ['tcp_rmem', 'tcp_wmem']) lab.ns.exec('sysctl', ['-q', '-w', `net.ipv4.${k}=4096 16384 65536`]);
      const server = lab.ns.spawn(process.execPath, ['-e', script]);
      await new Promise<void>((r) => server.stdout?.once('data', () => r()));
      try {
        const out = await lab.raw(
          'GET http://allowed.proxy.test:8081/e-flood HTTP/1.1\r\nHost: allowed.proxy.test\r\n\r\n',
        );
        expect(out.split('HTTP/1.1 100 Continue\r\n\r\n').length - 1).toBe(200000);
        expect(out.endsWith('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')).toBe(true);
        expect(proxy.child.exitCode).toBe(null); // still serving
      } finally {
        const gone = new Promise((r) => server.once('exit', r));
        server.kill('SIGKILL');
        await gone; // its port is free for the next test
        lab.ns.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_rmem=4096 131072 6291456']);
        lab.ns.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_wmem=4096 16384 4194304']);
      }
    }, 60_000);

    it('an upstream that answers and hangs up before a slow client has read it all: the client still gets it all', async () => {
      // 2 MB answered and closed at once; the client leaves it unread for a second and socket buffers are small, so the
      // proxy still holds part of the answer when the upstream has hung up. Dropping that tail would end the client's
      // connection cleanly on a truncated response.
      const size = 2_000_000;
      const script =
        "require('net').createServer((s) => { s.once('data', () => { " +
        `s.end('HTTP/1.1 200 OK\\r\\nContent-Length: ${size}\\r\\n\\r\\n' + 'b'.repeat(${size})); }); })` +
        ".listen(8081, '10.78.0.2', () => console.log('up'));";
      for (const k of ['tcp_rmem', 'tcp_wmem']) lab.ns.exec('sysctl', ['-q', '-w', `net.ipv4.${k}=4096 16384 65536`]);
      const server = lab.ns.spawn(process.execPath, ['-e', script]);
      await new Promise<void>((r) => server.stdout?.once('data', () => r()));
      try {
        for (let i = 0; i < 3; i++) {
          const out = await lab.raw(
            'GET http://allowed.proxy.test:8081/e-tail HTTP/1.1\r\nHost: allowed.proxy.test\r\n\r\n',
            1000,
          );
          expect(out.startsWith(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n`)).toBe(true);
          const body = out.slice(out.indexOf('\r\n\r\n') + 4);
          expect(body.length).toBe(size);
          expect(body).toBe('b'.repeat(size));
        }
      } finally {
        const gone = new Promise((r) => server.once('exit', r));
        server.kill('SIGKILL');
        await gone; // its port is free for the next test
        lab.ns.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_rmem=4096 131072 6291456']);
        lab.ns.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_wmem=4096 16384 4194304']);
      }
    }, 60_000);

    it('residual (cooperative): a client that dials directly is not seen by the proxy', async () => {
      const before = proxy.logs().length;
      const r = await lab.go({ direct: 'direct+http://denied.proxy.test:8080/e-direct' });
      expect(r.get('direct')).toMatchObject({ ok: true, what: 'HTTP 200' });
      expect(lab.arrived('e-direct')).toHaveLength(1);
      expect(proxy.logs().slice(before)).toEqual([]);
    }, 60_000);
  });

  describe('audit mode', () => {
    it('serves a denied request and logs it as would-block', async () => {
      const proxy = await lab.startProxy({ mode: 'audit' });
      try {
        const r = await lab.go({ name: 'http://denied.proxy.test:8080/a-denied' });
        expect(r.get('name')).toMatchObject({ ok: true, what: 'HTTP 200' });
        expect(lab.arrived('a-denied')).toHaveLength(1);
        expect(proxy.logs()).toContainEqual(
          expect.objectContaining({
            level: 40,
            host: 'denied.proxy.test',
            decision: 'deny',
            blocked: false,
            mode: 'audit',
          }),
        );
      } finally {
        proxy.stop();
      }
    }, 60_000);
  });

  describe('log rate limit (docs/LOGGING.md "Rate limit"), the interposer\'s limiter in the proxy', () => {
    // A client in a retry loop against a denied name: the proxy answers 403 each time; its lines are bounded and
    // their counts add up to the requests it refused, whole windows summarised at the next decision.
    const FLOOD = `
const net = require('node:net');
const n = Number(process.argv[1]);
let refused = 0;
const one = () => new Promise((done) => {
  const s = net.connect(9128, '127.0.0.1', () =>
    s.end('GET http://denied.proxy.test:8080/r-flood HTTP/1.1\\r\\nHost: denied.proxy.test:8080\\r\\n\\r\\n'));
  let b = '';
  s.on('data', (d) => { b += d; });
  s.on('close', () => { if (b.startsWith('HTTP/1.1 403')) refused++; done(); });
  s.on('error', done);
});
(async () => { for (let i = 0; i < n; i++) await one(); console.log(JSON.stringify({ refused })); })();
`;
    it('a denied request repeated 300 times: at most 11 lines per 1 s window, counts exact', async () => {
      const proxy = await lab.startProxy({ mode: 'enforce', env: { EGRESS_GUARD_LOG_RATE_WINDOW_S: '1' } });
      try {
        const t0 = performance.now();
        const r = await lab.ns.run(process.execPath, ['-e', FLOOD, '300']);
        const seconds = (performance.now() - t0) / 1000;
        expect(JSON.parse(r.stdout), r.stderr).toEqual({ refused: 300 });
        await new Promise((res) => setTimeout(res, 1200)); // the last window ends …
        expect(
          (
            await lab.raw('GET http://secret.proxy.test:8080/r-next HTTP/1.1\r\nHost: secret.proxy.test:8080\r\n\r\n')
          ).slice(0, 12),
        ).toBe('HTTP/1.1 403'); // … and the next decision writes its summary
        const lines = proxy.logs().filter((l) => l.host === 'denied.proxy.test' && l.call === 'proxy-http');
        expect(lines.reduce((a, l) => a + (typeof l.suppressed === 'number' ? l.suppressed : 1), 0)).toBe(300);
        expect(lines.length).toBeLessThanOrEqual(11 * (Math.floor(seconds + 1) + 2));
        const summaries = lines.filter((l) => l.suppressed !== undefined);
        expect(summaries.length).toBeGreaterThan(0);
        for (const l of summaries) {
          expect(l).toMatchObject({ blocked: true, status: 403, rule: 'default', window: 1, port: 8080 });
        }
        expect(lab.arrived('r-flood')).toEqual([]);
      } finally {
        proxy.stop();
      }
    }, 120_000);
  });

  it('passes its C unit tests (request heads, host spellings, bootstrap classification)', () => {
    const make = spawnSync('make', ['-s', '-C', join(ROOT, 'native'), 'build/proxy_tests', 'build/static-hello'], {
      encoding: 'utf8',
    });
    expect(make.status, make.stderr).toBe(0);
    const r = spawnSync(join(ROOT, 'native/build/proxy_tests'), [join(ROOT, 'native/build/static-hello'), '/bin/sh'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.status).toBe(0);
  });

  it('says at start what it covers for the function bootstrap: static Go, cgo Go with the interposer', async () => {
    const { cgo, static: stat } = buildGo(findGo() as string);
    const cases = [
      { bin: stat, env: {} as Record<string, string>, kind: 'go-static', covers: 'proxy' },
      { bin: cgo, env: { LD_PRELOAD: LIBRARY }, kind: 'go-dynamic', covers: 'proxy+lookups' },
      { bin: '/bin/sh', env: { LD_PRELOAD: LIBRARY }, kind: 'dynamic', covers: 'proxy+libc' },
    ];
    for (const c of cases) {
      const task = mkdtempSync(join(scratchDir(), 'task-'));
      symlinkSync(c.bin, join(task, 'bootstrap'));
      const proxy = await lab.startProxy({ mode: 'enforce', env: { LAMBDA_TASK_ROOT: task, ...c.env } });
      try {
        const ready = proxy.logs().filter((l) => l.event === 'proxy');
        expect(ready, c.kind).toEqual([
          expect.objectContaining({ bootstrap: join(task, 'bootstrap'), bootstrapKind: c.kind, covers: c.covers }),
        ]);
        expect(ready[0]?.level).toBe(c.kind.startsWith('go-') ? 40 : 30);
        // with the interposer loaded into the proxy, a proxied request still works and is decided once by the proxy
        const r = await lab.go({ plain: `http://allowed.proxy.test:8080/c-${c.kind}` });
        expect(r.get('plain')).toMatchObject({ ok: true, what: 'HTTP 200' });
      } finally {
        proxy.stop();
      }
    }
  }, 600_000);

  it('refuses to listen anywhere but loopback', async () => {
    const r = await lab.ns.run('env', [
      '-i',
      `EGRESS_GUARD_PROXY_LISTEN=${ADDR.allowed}:9129`,
      `EGRESS_GUARD_POLICY=${lab.policy}`,
      'EGRESS_GUARD_LOG=stderr',
      join(ROOT, 'native/build/egress-guard-proxy'),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/"error":"E_CONFIG_PROXY_LISTEN"/);
  });

  describe('budgets (the invoke state file, as the agent arms it)', () => {
    const cases = [
      { dir: 'tx', field: 'tx_trip_at', step: `post+http://allowed.proxy.test:8080/b-up?size=${5 * MiB}`, trip: 2n },
      { dir: 'rx', field: 'rx_trip_at', step: `http://allowed.proxy.test:8080/b-down/bytes/${5 * MiB}`, trip: 1n },
    ] as const;
    for (const c of cases) {
      it(`${c.dir}: a 5 MiB transfer with a 1 MiB budget is cut near 1 MiB, the next request is refused`, async () => {
        const state = join(scratchDir(), `state-${c.dir}`);
        writeState(state, {
          invoke_seq: 1n,
          flags: FLAG.IN_INVOKE | FLAG.ARMED,
          requestId: `req-${c.dir}`,
          [c.field]: BigInt(MiB),
        });
        const proxy = await lab.startProxy({ mode: 'enforce', env: { EGRESS_GUARD_STATE: state } });
        try {
          const r = await lab.go({ big: c.step, next: 'http://allowed.proxy.test:8080/b-next' });
          expect(r.get('big')?.ok).toBe(false);
          expect(r.get('next')).toMatchObject({ ok: true, what: 'HTTP 403' });
          const s = readState(state);
          expect(s.trip_budget).toBe(c.trip);
          expect(s.trip_gen).toBe(1n);
          expect(s.flags & BigInt(FLAG.BUDGET_TRIPPED)).toBe(BigInt(FLAG.BUDGET_TRIPPED));
          expect(s.n_cut).toBeGreaterThanOrEqual(1n);
          if (c.dir === 'tx') {
            await lab.peer.waitFor(() => lab.arrived('b-up').length > 0);
            const up = lab.arrived('b-up');
            expect(up).toHaveLength(1);
            expect(up[0]?.complete).toBe(false);
            // the peer got at most the budget (+1 byte): the head counts too, so the body is a little less
            expect(up[0]?.bytes).toBeLessThanOrEqual(MiB + 1);
            expect(up[0]?.bytes).toBeGreaterThan(MiB - 4096);
            expect(Number(s.io_tx)).toBeGreaterThanOrEqual(up[0]?.bytes ?? 0);
            expect(Number(s.io_tx)).toBeLessThanOrEqual((up[0]?.bytes ?? 0) * 1.01 + 1024);
          } else {
            expect(Number(s.io_rx)).toBeGreaterThan(MiB);
            expect(Number(s.io_rx)).toBeLessThan(2 * MiB);
          }
          expect(proxy.logs()).toContainEqual(
            expect.objectContaining({
              rule: 'budget',
              blocked: true,
              host: 'allowed.proxy.test',
              requestId: `req-${c.dir}`,
            }),
          );
        } finally {
          proxy.stop();
          rmSync(state, { force: true });
        }
      }, 120_000);
    }

    it('a trip of an invoke that is over cuts nothing of the next one, however late the proxy notices it', async () => {
      // Invoke 1 trips elsewhere (the agent's sampler, or the interposer in another process) while this proxy has no
      // connection open, so nothing here acts on that trip during invoke 1. Invoke 2 starts (the agent clears
      // BUDGET_TRIPPED and re-arms); its transfer through the proxy must not be cut for invoke 1's trip.
      const state = join(scratchDir(), 'state-late-trip');
      writeState(state, { invoke_seq: 1n, flags: FLAG.IN_INVOKE | FLAG.ARMED, requestId: 'req-1' });
      const proxy = await lab.startProxy({ mode: 'enforce', env: { EGRESS_GUARD_STATE: state } });
      try {
        patchState(state, { flags: FLAG.IN_INVOKE | FLAG.ARMED | FLAG.BUDGET_TRIPPED, trip_budget: 1, trip_gen: 1 });
        patchState(state, { flags: 0, trip_budget: 0 }); // invoke 1 ends
        patchState(state, { invoke_seq: 2n, rx_trip_at: BigInt(64 * MiB), flags: FLAG.IN_INVOKE | FLAG.ARMED });
        const r = await lab.go({ big: `http://allowed.proxy.test:8080/b-late/bytes/${MiB}` });
        expect(r.get('big')).toMatchObject({ ok: true, what: 'HTTP 200', detail: `${MiB} bytes` });
        const s = readState(state);
        expect(s.n_cut).toBe(0n);
        expect(proxy.logs().filter((l) => l.event === 'cut')).toEqual([]);
      } finally {
        proxy.stop();
        rmSync(state, { force: true });
      }
    }, 120_000);
  });
});
