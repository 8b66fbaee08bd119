// The decisions that matter, each shown with real traffic: no lookup leaves for a denied name, connect is refused at
// once (not after a timeout), name→address bindings, deny on the address of an allowed name, ports, protocols,
// IPv4-mapped IPv6, the Lambda Runtime API, mode overrides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../../support/capability.js';
import { needLibrary } from '../../support/guard.js';
import { BLACKHOLE, createWorld, expectLog, explain, nodeProbe, pyProbe, RUNTIME_API, type World } from './world.js';

const ok = needNetns() && needLibrary() && needCommand('python3');

describe.skipIf(!ok)('guard decisions with real traffic', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld('egdec');
  });
  afterAll(() => world?.destroy());

  const dnsQueries = (name: string) => world.server.of('dns').filter((e) => e.name === name).length;

  it('enforce refuses a denied name before any lookup: present in the hosts file, it still fails', async () => {
    const r = await pyProbe(world, [{ op: 'getaddrinfo', host: 'evil.test', port: 8080 }], { mode: 'enforce' });
    expect(r.results[0], explain(r)).toMatchObject({ ok: false, code: 'EAI_NONAME' });
    const l = expectLog(r.logs, { event: 'dns', host: 'evil.test', decision: 'deny', blocked: true });
    expect(l).toMatchObject({ rule: 'evil', errno: 'EAI_NONAME', mode: 'enforce', port: 8080 });
    // the same lookup without enforce finds it in the hosts file: the failure above is the guard's
    const a = await pyProbe(world, [{ op: 'getaddrinfo', host: 'evil.test', port: 8080 }], { mode: 'audit' });
    expect(a.results[0], explain(a)).toMatchObject({ ok: true, addresses: ['10.77.0.2'] });
  });

  it('enforce sends no DNS query for a denied name; audit does', async () => {
    const before = dnsQueries('unknown.test');
    const r = await pyProbe(world, [{ op: 'getaddrinfo', host: 'unknown.test' }], { mode: 'enforce' });
    expect(r.results[0], explain(r)).toMatchObject({ ok: false, code: 'EAI_NONAME' });
    expectLog(r.logs, { event: 'dns', host: 'unknown.test', blocked: true, rule: 'default' });
    expect(await world.server.waitFor(() => dnsQueries('unknown.test') > before, 500)).toBe(false);

    const a = await pyProbe(world, [{ op: 'getaddrinfo', host: 'unknown.test' }], { mode: 'audit' });
    expect(a.results[0], explain(a)).toMatchObject({ ok: true, addresses: ['10.77.0.2'] });
    expect(await world.server.waitFor(() => dnsQueries('unknown.test') > before, 5_000)).toBe(true);
  });

  it('enforce fails a denied connect with EACCES at once where the unguarded connect would hang', async () => {
    // Five attempts in one process; the fastest must be under 50 ms (the minimum filters out scheduling noise on a
    // loaded CI machine; a guard that waited for the network would take ≥ 1 s every time).
    const attempts = Array.from({ length: 5 }, () => ({ op: 'connect', host: BLACKHOLE, port: 443, timeout: 1 }));
    const r = await pyProbe(world, attempts, { mode: 'enforce' });
    expect(r.results, explain(r)).toHaveLength(5);
    for (const x of r.results) expect(x).toMatchObject({ ok: false, code: 'EACCES', errno: 13 });
    expect(Math.min(...r.results.map((x) => x.ms))).toBeLessThan(50);
    expectLog(r.logs, { event: 'connect', ip: BLACKHOLE, port: 443, blocked: true, errno: 'EACCES' });

    const n = await nodeProbe(world, [{ op: 'connect', host: BLACKHOLE, port: 443, timeoutMs: 1000 }], {
      mode: 'enforce',
    });
    expect(n.results[0], explain(n)).toMatchObject({ ok: false, code: 'EACCES' });
    expect(n.results[0]?.ms).toBeLessThan(1000);

    // audit lets the same connect through: it hangs until the client's own 1 s timeout
    const a = await pyProbe(world, [{ op: 'connect', host: BLACKHOLE, port: 443, timeout: 1 }], { mode: 'audit' });
    expect(a.results[0], explain(a)).toMatchObject({ ok: false, code: 'TIMEOUT' });
    expect(a.results[0]?.ms).toBeGreaterThanOrEqual(900);
  });

  it('an allowed name that resolves to a denied address is blocked at connect', async () => {
    const r = await pyProbe(
      world,
      [
        { op: 'getaddrinfo', host: 'trap.test', port: 8080 },
        { op: 'create_connection', host: 'trap.test', port: 8080 },
      ],
      { mode: 'enforce' },
    );
    expect(r.results[0], explain(r)).toMatchObject({ ok: true, addresses: ['10.77.0.66'] });
    expect(r.results[1]).toMatchObject({ ok: false, code: 'EACCES' });
    const l = expectLog(r.logs, { event: 'connect', ip: '10.77.0.66', blocked: true });
    expect(l).toMatchObject({ host: 'trap.test', rule: 'trap-net', port: 8080, proto: 'tcp' });
  });

  it('an IP no allowed name resolved to is blocked, the same IP passes once an allowed name resolved to it', async () => {
    const r = await pyProbe(
      world,
      [
        { op: 'connect', host: '10.77.0.1', port: 8080 },
        { op: 'getaddrinfo', host: 'good.test', port: 8080 },
        { op: 'connect', host: '10.77.0.1', port: 8080 },
        { op: 'connect', host: '10.77.0.2', port: 8080 },
        { op: 'connect', host: '10.77.0.1', port: 9999 }, // good.test is allowed on 8080/7000 (tcp) only
      ],
      { mode: 'enforce' },
    );
    expect(r.results, explain(r)).toHaveLength(5);
    const [first, , bound, other, wrongPort] = r.results;
    expect(first).toMatchObject({ ok: false, code: 'EACCES' });
    expect(bound).toMatchObject({ ok: true });
    expect(other).toMatchObject({ ok: false, code: 'EACCES' });
    expect(wrongPort).toMatchObject({ ok: false, code: 'EACCES' });
    expectLog(r.logs, { event: 'connect', ip: '10.77.0.1', port: 8080, rule: 'default', blocked: true });
    expectLog(r.logs, { event: 'connect', ip: '10.77.0.1', port: 9999, blocked: true });
  });

  it('allows an IP literal rule by port and protocol, and normalises IPv4-mapped IPv6', async () => {
    const r = await pyProbe(
      world,
      [
        { op: 'connect', host: '10.77.0.3', port: 8080 },
        { op: 'connect', host: '::ffff:10.77.0.3', port: 8080 },
        { op: 'connect', host: '::ffff:10.77.0.2', port: 8080 },
        { op: 'connect', host: '10.77.0.3', port: 7000 },
      ],
      { mode: 'enforce' },
    );
    expect(r.results, explain(r)).toHaveLength(4);
    expect(r.results[0]).toMatchObject({ ok: true });
    expect(r.results[1]).toMatchObject({ ok: true });
    expect(r.results[2]).toMatchObject({ ok: false, code: 'EACCES' });
    expect(r.results[3]).toMatchObject({ ok: false, code: 'EACCES' });
    // the mapped address is logged as plain IPv4
    expectLog(r.logs, { event: 'connect', ip: '10.77.0.2', port: 8080, blocked: true });
    expect(r.logs.filter((l) => String(l.ip).startsWith('::ffff:'))).toEqual([]);
  });

  it('every libc way of reaching an address is checked: sendmsg (UDP) and TCP Fast Open (sendto MSG_FASTOPEN)', async () => {
    const ops = [
      { op: 'udp_sendmsg', host: '10.77.0.3', port: 9999, payload: 'msg-allowed' },
      { op: 'udp_sendmsg', host: '10.77.0.2', port: 9999, payload: 'msg-denied' },
      { op: 'tfo', host: '10.77.0.2', port: 7000, payload: 'tfo-denied' },
    ];
    const r = await pyProbe(world, ops, { mode: 'enforce' });
    expect(r.results, explain(r)).toHaveLength(3);
    expect(r.results[0]).toMatchObject({ ok: true, reply: 'ack:msg-allowed' });
    expect(r.results[1]).toMatchObject({ ok: false, code: 'EACCES' });
    expect(r.results[2]).toMatchObject({ ok: false, code: 'EACCES' });
    expectLog(r.logs, { ip: '10.77.0.2', port: 9999, proto: 'udp', blocked: true, call: 'sendmsg' });
    expectLog(r.logs, { ip: '10.77.0.2', port: 7000, proto: 'tcp', blocked: true, call: 'sendto' });
    // audit: the same calls reach the servers
    const a = await pyProbe(world, ops, { mode: 'audit' });
    expect(a.results[1], explain(a)).toMatchObject({ ok: true, reply: 'ack:msg-denied' });
    expect(a.results[2], explain(a)).toMatchObject({ ok: true, echo: 'tfo-denied' });
  });

  it('the Lambda Runtime API from AWS_LAMBDA_RUNTIME_API always passes, even with no rule for it', async () => {
    const r = await pyProbe(
      world,
      [
        { op: 'urllib', url: `http://${RUNTIME_API}/2018-06-01/runtime/invocation/next` },
        { op: 'connect', host: '169.254.77.9', port: 8080 }, // same host, another port: not the Runtime API
      ],
      { mode: 'enforce', env: { AWS_LAMBDA_RUNTIME_API: RUNTIME_API }, logLevel: 'all' },
    );
    expect(r.results[0], explain(r)).toMatchObject({ ok: true, status: 200, body: 'runtime-api' });
    expect(r.results[1]).toMatchObject({ ok: false, code: 'EACCES' });
    expectLog(r.logs, {
      event: 'connect',
      ip: '169.254.77.9',
      port: 9001,
      decision: 'allow',
      rule: 'builtin:runtime-api',
    });
    // without the variable the same request is blocked
    const w = await pyProbe(world, [{ op: 'urllib', url: `http://${RUNTIME_API}/` }], { mode: 'enforce' });
    expect(w.results[0], explain(w)).toMatchObject({ ok: false, code: 'EACCES' });
  });

  it('EGRESS_GUARD_MODE overrides the mode in the file (enforce in the file, audit at run time)', async () => {
    const r = await pyProbe(world, [{ op: 'create_connection', host: '10.77.0.2', port: 7000, send: 'ovr' }], {});
    expect(r.results[0], explain(r)).toMatchObject({ ok: false, code: 'EACCES' }); // file mode: enforce
    const a = await pyProbe(world, [{ op: 'create_connection', host: '10.77.0.2', port: 7000, send: 'ovr' }], {
      mode: 'audit',
    });
    expect(a.results[0], explain(a)).toMatchObject({ ok: true, echo: 'ovr' });
    expectLog(a.logs, { event: 'connect', ip: '10.77.0.2', decision: 'deny', blocked: false, mode: 'audit' });
  });
});
