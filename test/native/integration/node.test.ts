// Real `node` under the guard: fetch, http.get, net.connect and dns.lookup against servers in our own namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needNetns } from '../../support/capability.js';
import { logsWhere, needLibrary } from '../../support/guard.js';
import { createWorld, expectLog, explain, nodeProbe, type World } from './world.js';

const ok = needNetns() && needLibrary();

describe.skipIf(!ok)('node under the guard', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld('egnode');
  });
  afterAll(() => world?.destroy());

  it('audit: passes every request and logs what enforce would block', async () => {
    const r = await nodeProbe(
      world,
      [
        { op: 'fetch', url: 'http://good.test:8080/a' },
        { op: 'fetch', url: 'http://other.test:8080/b' },
        { op: 'httpget', url: 'http://10.77.0.2:8080/c' },
        { op: 'connect', host: '10.77.0.2', port: 7000, send: 'audit-echo' },
        { op: 'lookup', host: 'evil.test' },
      ],
      { mode: 'audit' },
    );
    expect(r.results, explain(r)).toHaveLength(5);
    const [good, other, literal, echo, evil] = r.results;
    expect(good).toMatchObject({ ok: true, status: 200, body: 'hello from 10.77.0.1:8080\n' });
    expect(other).toMatchObject({ ok: true, status: 200, body: 'hello from 10.77.0.2:8080\n' });
    expect(literal).toMatchObject({ ok: true, status: 200 });
    expect(echo).toMatchObject({ ok: true, echo: 'audit-echo' });
    expect(evil).toMatchObject({ ok: true, addresses: ['10.77.0.2'] });

    expect(r.badLogLines).toEqual([]);
    expect(logsWhere(r.logs, { blocked: true })).toEqual([]);
    for (const l of r.logs) expect(l).toMatchObject({ name: 'egress-guard', mode: 'audit', pid: expect.any(Number) });
    expectLog(r.logs, { event: 'dns', host: 'good.test', decision: 'allow', rule: 'good' });
    expectLog(r.logs, { event: 'connect', ip: '10.77.0.1', port: 8080, decision: 'allow', rule: 'good' });
    expectLog(r.logs, { event: 'dns', host: 'other.test', decision: 'deny', blocked: false, rule: 'default' });
    expectLog(r.logs, { event: 'dns', host: 'evil.test', decision: 'deny', blocked: false, rule: 'evil' });
    const c = expectLog(r.logs, { event: 'connect', ip: '10.77.0.2', port: 7000, decision: 'deny' });
    expect(c).toMatchObject({ proto: 'tcp', blocked: false, rule: 'default', level: 40 });
  });

  it('enforce: allowed traffic is untouched, denied names fail before resolution, denied addresses at connect', async () => {
    const r = await nodeProbe(
      world,
      [
        { op: 'connect', host: '10.77.0.1', port: 7000 }, // no allowed name resolved to it yet
        { op: 'fetch', url: 'http://good.test:8080/bytes/200000' },
        { op: 'connect', host: '10.77.0.1', port: 7000, send: 'bound-now' }, // good.test resolved to it
        { op: 'httpget', url: 'http://good6.test:8080/v6' },
        { op: 'httpget', url: 'http://web.apps.test:8080/w' },
        { op: 'httpget', url: 'http://bad.apps.test:8080/x' },
        { op: 'lookup', host: 'evil.test' },
        { op: 'fetch', url: 'http://trap.test:8080/t' },
        { op: 'connect', host: '10.77.0.2', port: 7000, send: 'never' },
        { op: 'udp', host: 'good.test', port: 9999, payload: 'node-udp' },
        { op: 'udp', host: '10.77.0.2', port: 9999, payload: 'node-udp-denied' },
      ],
      { mode: 'enforce' },
    );
    expect(r.results, explain(r)).toHaveLength(11);
    const [literalFirst, big, literalBound, v6, wild, badApp, evil, trap, denied, udpOk, udpDenied] = r.results;
    expect(udpOk).toMatchObject({ ok: true, reply: 'ack:node-udp' });
    expect(udpDenied).toMatchObject({ ok: false, code: 'EACCES' });
    expect(literalFirst).toMatchObject({ ok: false, code: 'EACCES' });
    expect(big).toMatchObject({ ok: true, status: 200 });
    expect(big?.body).toBe('x'.repeat(200000));
    expect(literalBound).toMatchObject({ ok: true, echo: 'bound-now' });
    expect(v6).toMatchObject({ ok: true, status: 200, body: 'hello from [fd00::77]:8080\n' });
    expect(wild).toMatchObject({ ok: true, status: 200, body: 'hello from 10.77.0.4:8080\n' });
    expect(badApp).toMatchObject({ ok: false, code: 'ENOTFOUND' });
    expect(evil).toMatchObject({ ok: false, code: 'ENOTFOUND' });
    expect(trap).toMatchObject({ ok: false, code: 'EACCES' });
    expect(denied).toMatchObject({ ok: false, code: 'EACCES' });

    expect(r.badLogLines).toEqual([]);
    expectLog(r.logs, { event: 'dns', host: 'evil.test', decision: 'deny', blocked: true, rule: 'evil' });
    expectLog(r.logs, { event: 'dns', host: 'bad.apps.test', decision: 'deny', blocked: true, rule: 'bad-app' });
    const t = expectLog(r.logs, { event: 'connect', ip: '10.77.0.66', decision: 'deny', blocked: true });
    expect(t).toMatchObject({ host: 'trap.test', port: 8080, rule: 'trap-net', errno: 'EACCES', level: 50 });
    expectLog(r.logs, { event: 'connect', ip: '10.77.0.2', port: 7000, blocked: true, rule: 'default' });
    expectLog(r.logs, { event: 'connect', ip: '10.77.0.1', port: 7000, blocked: true, rule: 'default' });
    // enforce logs denials only by default: allowed traffic costs no log line
    expect(logsWhere(r.logs, { decision: 'allow' })).toEqual([]);
    // the blocked destinations never saw a byte
    const server = world.server;
    expect(server.of('http').filter((e) => e.listener === '10.77.0.66:8080')).toEqual([]);
    expect(server.of('echo').filter((e) => e.listener === '10.77.0.2:7000' && e.bytes === 5)).toEqual([]);
  });

  it('off: blocks nothing and logs nothing', async () => {
    const r = await nodeProbe(
      world,
      [
        { op: 'lookup', host: 'evil.test' },
        { op: 'connect', host: '10.77.0.2', port: 7000, send: 'off' },
      ],
      { mode: 'off', logLevel: 'all' },
    );
    expect(r.results, explain(r)).toHaveLength(2);
    expect(r.results[0]).toMatchObject({ ok: true, addresses: ['10.77.0.2'] });
    expect(r.results[1]).toMatchObject({ ok: true, echo: 'off' });
    expect(r.logs).toEqual([]);
    expect(r.badLogLines).toEqual([]);
  });
});
