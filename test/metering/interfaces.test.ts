// /proc/net/dev longer than one read: the agent reads it with one pread(2) when the read comes back short of a
// kernel buffer (native/agent/netdev.h "nd_read"), so an environment with many interfaces, where the file spans
// several reads, must still have every interface read — or the bytes of an interface listed past the first read
// would be counted nowhere and a budget would not see them. The function namespace gets 30 idle veth pairs before
// its link to the server, so that link is listed last, past the first 4 KiB of the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needNetns } from '../support/capability.js';
import { Netns, type NetnsServer } from '../support/netns.js';
import { events, type Kit, makeKit, runFunction } from './harness.js';
import { expectDownload, MiB } from './world.js';

const ok = needNetns();

const SERVER_IP = '10.203.0.1';
const PADS = 30; // 62 interfaces in all: past 4 KiB of text, within the 64 a snapshot holds (ND_MAX_IFACES)

describe.skipIf(!ok)('an interface listed past the first read of /proc/net/dev', () => {
  let kit: Kit;
  let server: Netns;
  let fn: Netns;
  let srv: NetnsServer;
  let fnLink = '';
  beforeAll(async () => {
    kit = await makeKit();
    server = Netns.create({ prefix: 'egif-s' });
    fn = Netns.create({ prefix: 'egif-f' });
    for (const ns of [server, fn]) {
      for (const k of ['all', 'default']) ns.exec('sysctl', ['-q', '-w', `net.ipv6.conf.${k}.disable_ipv6=1`]);
    }
    for (let i = 0; i < PADS; i++) {
      const r = fn.exec('ip', ['link', 'add', `pad${i}a`, 'type', 'veth', 'peer', 'name', `pad${i}b`]);
      expect(r.status, r.stderr).toBe(0);
    }
    const names = Netns.link(server, fn, { a: `${SERVER_IP}/24`, b: '10.203.0.2/24' });
    fnLink = names.devB;
    srv = await server.startServer({ http: [{ host: SERVER_IP, port: 0 }] });
  }, 300_000);
  afterAll(() => {
    server?.destroy();
    fn?.destroy();
    kit?.destroy();
  });

  it('is read and its bytes are the invoke’s', async () => {
    const text = fn.exec('cat', ['/proc/net/dev']).stdout;
    const lines = text.split('\n').filter((l) => l.includes(':'));
    expect(text.length).toBeGreaterThan(4096);
    expect(lines.at(-1)?.trim().startsWith(`${fnLink}:`)).toBe(true);
    expect(text.indexOf(`${fnLink}:`)).toBeGreaterThan(4096);
    const r = await runFunction({
      kit,
      runtime: 'node',
      handler: 'transfer.handler',
      ns: fn,
      env: { EGRESS_GUARD_MODE: 'audit' },
      invokes: [
        { requestId: 'dl-1m', event: { download: `http://${SERVER_IP}:${srv.port('http', SERVER_IP)}/bytes/${MiB}` } },
      ],
    });
    expect(r.outcomes.map((o) => [o.requestId, o.ok])).toEqual([['dl-1m', true]]);
    const init = events(r, 'init');
    expect(init).toHaveLength(1);
    expect(init[0]?.interfaces).toHaveLength(lines.length);
    expect(init[0]?.interfaces).toContain(fnLink);
    expect(init[0]?.counted).toContain(fnLink);
    const inv = events(r, 'invoke', 'dl-1m')[0] as { rxBytes: number; txBytes: number };
    expectDownload(inv.rxBytes, inv.txBytes, MiB);
  });
});
