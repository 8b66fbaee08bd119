// Tests of the network-namespace helper itself: addresses, private hosts/resolv.conf, servers, veth, teardown.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needNetns } from './capability.js';
import { Netns, type NetnsServer } from './netns.js';

const ok = needNetns();

describe.skipIf(!ok)('Netns helper', () => {
  let ns: Netns;
  let server: NetnsServer;

  beforeAll(async () => {
    ns = Netns.create({
      prefix: 'egself',
      addresses: ['10.77.0.1/32', '10.77.0.2/32', 'fd00::77/128'],
      hosts: { 'alpha.test': '10.77.0.1', 'beta.test': ['10.77.0.2', 'fd00::77'] },
    });
    server = await ns.startServer({
      http: [
        { host: '10.77.0.1', port: 0, body: 'alpha-body' },
        { host: 'fd00::77', port: 8080 },
      ],
      udp: [{ host: '10.77.0.2', port: 0 }],
      dns: [{ host: '127.0.0.1', port: 53, records: { 'gamma.test': ['10.77.0.2', 'fd00::77'] } }],
    });
  });
  afterAll(() => ns?.destroy());

  it('names the namespace uniquely and puts the addresses on lo', () => {
    expect(ns.name).toMatch(new RegExp(`^egself-${process.pid}-\\d+$`));
    const r = ns.exec('ip', ['-o', 'addr', 'show', 'dev', 'lo']);
    expect(r.status).toBe(0);
    for (const a of ['10.77.0.1/32', '10.77.0.2/32', 'fd00::77/128']) expect(r.stdout).toContain(a);
    expect(r.stdout).toContain('127.0.0.1/8');
  });

  it('resolves names from the private hosts file only inside the namespace', () => {
    const inside = ns.exec('getent', ['hosts', 'alpha.test']);
    expect(inside.status).toBe(0);
    expect(inside.stdout).toMatch(/^10\.77\.0\.1\s+alpha\.test/);
    expect(existsSync(`/etc/netns/${ns.name}/hosts`)).toBe(true);
  });

  it('sends names missing from the hosts file to the DNS server inside the namespace', async () => {
    const r = ns.exec('getent', ['ahostsv4', 'gamma.test']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('10.77.0.2');
    expect(await server.waitFor((ev) => ev.some((e) => e.kind === 'dns' && e.name === 'gamma.test'))).toBe(true);
    const nx = ns.exec('getent', ['ahostsv4', 'nothing.test']);
    expect(nx.status).toBe(2); // getent: key not found
  });

  it('serves HTTP on IPv4 and IPv6 addresses of lo', async () => {
    const port = server.port('http', '10.77.0.1');
    const v4 = ns.exec('curl', ['-sS', '--max-time', '5', `http://alpha.test:${port}/x`]);
    expect(v4.stdout).toBe('alpha-body');
    const v6 = await ns.run('curl', ['-sS', '--max-time', '5', 'http://[fd00::77]:8080/bytes/1000']);
    expect(v6.status).toBe(0);
    expect(v6.stdout).toBe('x'.repeat(1000));
    const paths = () => server.of('http').map((e) => e.path);
    expect(await server.waitFor(() => paths().includes('/x') && paths().includes('/bytes/1000'))).toBe(true);
  });

  it('receives and acknowledges UDP datagrams', async () => {
    const port = server.port('udp', '10.77.0.2');
    const code = `
      const s = require('dgram').createSocket('udp4');
      s.on('message', (m) => { process.stdout.write(m.toString()); s.close(); });
      s.send('ping-1', ${port}, '10.77.0.2');`;
    const r = ns.exec(process.execPath, ['-e', code], { timeout: 10_000 });
    expect(r.stdout).toBe('ack:ping-1');
    expect(await server.waitFor((ev) => ev.some((e) => e.kind === 'udp' && e.payload === 'ping-1'))).toBe(true);
  });

  it('keeps the private hosts file out of the host', () => {
    expect(readFileSync('/etc/hosts', 'utf8')).not.toContain('alpha.test');
  });
});

describe.skipIf(!ok)('Netns.link (veth between two namespaces)', () => {
  it('carries traffic over a non-lo interface that /proc/net/dev counts, and tears everything down', async () => {
    const a = Netns.create({ prefix: 'egselfa' });
    const b = Netns.create({ prefix: 'egselfb' });
    try {
      const { devA, devB } = Netns.link(a, b, { a: '10.200.0.1/24', b: '10.200.0.2/24' });
      const srv = await b.startServer({ http: [{ host: '10.200.0.2', port: 0 }] });
      const port = srv.port('http', '10.200.0.2');
      const r = a.exec('curl', ['-sS', '--max-time', '5', `http://10.200.0.2:${port}/bytes/50000`]);
      expect(r.stdout.length).toBe(50000);
      const dev = a.exec('cat', ['/proc/net/dev']).stdout;
      const line = dev.split('\n').find((l) => l.trim().startsWith(`${devA}:`));
      expect(line).toBeDefined();
      const rx = Number((line as string).split(':')[1]?.trim().split(/\s+/)[0]);
      expect(rx).toBeGreaterThan(50000);
      expect(b.exec('ip', ['-o', 'link', 'show', devB]).status).toBe(0);
      a.destroy();
      b.destroy();
      // destroy() killed the server it started and removed both namespaces (the veth went with them)
      await new Promise((r) => setTimeout(r, 100));
      expect(srv.child.exitCode !== null || srv.child.signalCode !== null).toBe(true);
    } finally {
      a.destroy();
      b.destroy();
    }
    expect(existsSync(`/run/netns/${a.name}`)).toBe(false);
    expect(existsSync(`/etc/netns/${a.name}`)).toBe(false);
    expect(existsSync(`/run/netns/${b.name}`)).toBe(false);
  });
});
