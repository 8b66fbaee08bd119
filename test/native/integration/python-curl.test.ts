// Real `python3` (urllib, socket, UDP sendto) and `curl` under the guard, against servers in our own namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../../support/capability.js';
import { logsWhere, needLibrary, runGuarded } from '../../support/guard.js';
import { createWorld, expectLog, explain, POLICY, pyProbe, type World } from './world.js';

const ok = needNetns() && needLibrary() && needCommand('python3') && needCommand('curl');

describe.skipIf(!ok)('python3 under the guard', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld('egpy');
  });
  afterAll(() => world?.destroy());

  const ops = [
    { op: 'urllib', url: 'http://good.test:8080/py' },
    { op: 'getaddrinfo', host: 'evil.test', port: 8080 },
    { op: 'gethostbyname', host: 'other.test' },
    { op: 'libc_gethostbyname', host: 'evil.test' },
    { op: 'create_connection', host: '10.77.0.2', port: 7000, send: 'py-echo' },
    { op: 'udp', host: 'good.test', port: 9999, payload: 'udp-allowed' },
    { op: 'udp', host: '10.77.0.2', port: 9999, payload: 'udp-denied' },
    { op: 'udp', host: '10.77.0.3', port: 9999, payload: 'udp-literal' },
  ];

  it('audit: everything passes; would-be blocks are logged', async () => {
    const r = await pyProbe(world, ops, { mode: 'audit' });
    expect(r.results, explain(r)).toHaveLength(ops.length);
    const [url, gai, ghbn, libcGhbn, tcp, udpOk, udpDenied, udpLiteral] = r.results;
    expect(url).toMatchObject({ ok: true, status: 200, body: 'hello from 10.77.0.1:8080\n' });
    expect(gai).toMatchObject({ ok: true, addresses: ['10.77.0.2'] });
    expect(ghbn).toMatchObject({ ok: true, addresses: ['10.77.0.2'] });
    expect(libcGhbn).toMatchObject({ ok: true, addresses: ['10.77.0.2'] });
    expect(tcp).toMatchObject({ ok: true, echo: 'py-echo' });
    expect(udpOk).toMatchObject({ ok: true, reply: 'ack:udp-allowed' });
    expect(udpDenied).toMatchObject({ ok: true, reply: 'ack:udp-denied' });
    expect(udpLiteral).toMatchObject({ ok: true, reply: 'ack:udp-literal' });
    expect(r.badLogLines).toEqual([]);
    expect(logsWhere(r.logs, { blocked: true })).toEqual([]);
    expectLog(r.logs, { event: 'dns', host: 'evil.test', decision: 'deny', rule: 'evil', call: 'getaddrinfo' });
    expectLog(r.logs, { event: 'dns', host: 'other.test', decision: 'deny', rule: 'default' });
    expectLog(r.logs, { event: 'connect', ip: '10.77.0.2', port: 7000, decision: 'deny', proto: 'tcp' });
    const u = expectLog(r.logs, { event: 'sendto', ip: '10.77.0.2', port: 9999, decision: 'deny' });
    // audit let the lookups of evil.test through, and every lookup binds its addresses to the name it was for
    // (native/src/getaddrinfo.c): the datagram is attributed to evil.test and its deny rule
    expect(u).toMatchObject({ proto: 'udp', blocked: false, rule: 'evil', host: 'evil.test', mode: 'audit' });
    expectLog(r.logs, { event: 'sendto', ip: '10.77.0.1', port: 9999, decision: 'allow', rule: 'good-udp' });
    expectLog(r.logs, { event: 'sendto', ip: '10.77.0.3', port: 9999, decision: 'allow', rule: 'literal' });
  });

  it('enforce: allowed traffic intact; denied names EAI_NONAME; denied TCP/UDP destinations EACCES', async () => {
    const before = world.server.of('udp').filter((e) => e.payload === 'udp-denied').length;
    const r = await pyProbe(world, ops, { mode: 'enforce' });
    expect(r.results, explain(r)).toHaveLength(ops.length);
    const [url, gai, ghbn, libcGhbn, tcp, udpOk, udpDenied, udpLiteral] = r.results;
    expect(url).toMatchObject({ ok: true, status: 200, body: 'hello from 10.77.0.1:8080\n' });
    expect(gai).toMatchObject({ ok: false, code: 'EAI_NONAME' });
    expect(ghbn).toMatchObject({ ok: false, code: 'EAI_NONAME' }); // CPython resolves through getaddrinfo
    expect(libcGhbn).toMatchObject({ ok: false, code: 'HOST_NOT_FOUND' }); // glibc's gethostbyname itself
    expect(tcp).toMatchObject({ ok: false, code: 'EACCES' });
    expect(udpOk).toMatchObject({ ok: true, reply: 'ack:udp-allowed' });
    expect(udpDenied).toMatchObject({ ok: false, code: 'EACCES' });
    expect(udpLiteral).toMatchObject({ ok: true, reply: 'ack:udp-literal' });
    expectLog(r.logs, { event: 'dns', host: 'other.test', decision: 'deny', blocked: true, call: 'getaddrinfo' });
    const h = expectLog(r.logs, { event: 'dns', host: 'evil.test', blocked: true, call: 'gethostbyname' });
    expect(h).toMatchObject({ rule: 'evil', errno: 'HOST_NOT_FOUND' });
    expectLog(r.logs, { event: 'sendto', ip: '10.77.0.2', port: 9999, blocked: true, errno: 'EACCES' });
    // the denied datagram never reached the server
    expect(await world.server.waitFor((ev) => ev.filter((e) => e.payload === 'udp-denied').length > before, 300)).toBe(
      false,
    );
  });
});

describe.skipIf(!ok)('curl under the guard', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld('egcurl');
  });
  afterAll(() => world?.destroy());

  const curl = (url: string, mode: string) =>
    runGuarded({ cmd: 'curl', args: ['-sS', '--max-time', '5', url], policy: POLICY, mode, ns: world.ns });

  it('fetches an allowed URL intact in enforce mode', async () => {
    const r = await curl('http://good.test:8080/bytes/100000', 'enforce');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('x'.repeat(100000));
    expect(r.logs).toEqual([]);
  });

  it('enforce: a denied name fails to resolve (exit 6), a denied address fails to connect (exit 7)', async () => {
    const name = await curl('http://evil.test:8080/', 'enforce');
    expect(name.status, name.stderr).toBe(6);
    expectLog(name.logs, { event: 'dns', host: 'evil.test', blocked: true, rule: 'evil' });
    const addr = await curl('http://10.77.0.2:8080/', 'enforce');
    expect(addr.status, addr.stderr).toBe(7);
    expectLog(addr.logs, { event: 'connect', ip: '10.77.0.2', port: 8080, blocked: true, errno: 'EACCES' });
  });

  it('audit: the same requests succeed and are logged as would-block', async () => {
    const r = await curl('http://evil.test:8080/', 'audit');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello from 10.77.0.2:8080\n');
    expectLog(r.logs, { event: 'dns', host: 'evil.test', decision: 'deny', blocked: false, rule: 'evil' });
    expectLog(r.logs, { event: 'connect', ip: '10.77.0.2', port: 8080, decision: 'deny', blocked: false });
  });
});
