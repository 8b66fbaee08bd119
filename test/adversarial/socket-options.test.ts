/**
 * Socket options and ancillary data that would make packets for an allowed address reach another one are refused in
 * enforce mode (docs/INTERPOSER.md "Socket options"). Attacker: programs/socket_opts.py — plain Python, unprivileged,
 * and again as root inside the namespace (recent kernels honour IPv4 source routes only with CAP_NET_RAW; the guard
 * must not depend on that). The witness is the wire: programs/sniff.py records where every packet was really sent.
 * Passing = no packet went to a denied address, each attempt was refused with EACCES and one `sockopt` line, and the
 * options real programs set still work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALLOWED,
  ALLOWED6,
  type ArenaRun,
  DENIED,
  DENIED6,
  needSocketArena,
  type PacketWitness,
  SINK,
  SocketArena,
} from './socket-arena.js';

const ok = needSocketArena();

const REFUSED: Record<string, [string, string]> = {
  'v6-rthdr-srh': ['IPV6_RTHDR', 'setsockopt'],
  'v6-rthdr-cmsg': ['IPV6_RTHDR', 'sendmsg'],
  'v6-2292pktoptions': ['IPV6_RTHDR', 'setsockopt'],
  'v6-nexthop': ['IPV6_NEXTHOP', 'setsockopt'],
  'v6-flowlabel-options': ['IPV6_FLOWLABEL_MGR', 'setsockopt'],
  'v4-ip-options-lsrr': ['IP_OPTIONS', 'setsockopt'],
  'v4-retopts-cmsg': ['IP_RETOPTS', 'sendmsg'],
  'v4-xfrm-policy': ['IP_XFRM_POLICY', 'setsockopt'],
  'syscall-setsockopt': ['IPV6_RTHDR', 'syscall(setsockopt)'],
};

describe.skipIf(!ok)('socket options that redirect packets', () => {
  let arena: SocketArena;
  let wire: PacketWitness;
  const runs: Record<string, ArenaRun> = {};

  beforeAll(async () => {
    arena = await SocketArena.create('egopts');
    wire = await arena.packetWitness();
    for (const who of ['nobody', 'root'] as const) {
      const r = await arena.run(['socket_opts.py', who, ALLOWED, DENIED, ALLOWED6, DENIED6, String(SINK)], {
        privileged: who === 'root',
      });
      expect(r.status, r.stderr).toBe(0);
      await wire.settled(who);
      runs[who] = r;
    }
  }, 120_000);
  afterAll(() => arena?.destroy());

  it('no packet went to a denied address, unprivileged or as root', () => {
    expect(wire.to(DENIED)).toEqual([]);
    expect(wire.to(DENIED6)).toEqual([]);
  });

  for (const who of ['nobody', 'root'] as const) {
    it(`${who}: each redirecting option or control message is refused with EACCES and one sockopt line`, () => {
      const run = runs[who] as ArenaRun;
      for (const [c, [option, call]] of Object.entries(REFUSED)) {
        expect(
          run.results.find((r) => r.case === c),
          c,
        ).toMatchObject({ rc: -1, errno: 'EACCES' });
        const lines = run.logs.filter((l) => l.event === 'sockopt' && l.option === option && l.call === call);
        expect(lines.length, c).toBeGreaterThan(0);
        expect(lines[0], c).toMatchObject({
          rule: 'socket-redirect',
          decision: 'deny',
          blocked: true,
          errno: 'EACCES',
        });
      }
      expect(run.logs.filter((l) => l.event === 'sockopt')).toHaveLength(Object.keys(REFUSED).length);
    });

    it(`${who}: the sends that follow a refused option go where the program addressed them`, () => {
      const run = runs[who] as ArenaRun;
      for (const c of ['v6-rthdr-srh', 'v6-2292pktoptions', 'v4-ip-options-lsrr'])
        expect(
          run.results.find((r) => r.case === `${c}:send`),
          c,
        ).toMatchObject({ rc: 0 });
      const sinks = [...arena.udpAt(ALLOWED), ...arena.udpAt(ALLOWED6)];
      expect(sinks).toContain('case:v6-rthdr-srh');
      expect(sinks).toContain('case:v4-ip-options-lsrr');
    });

    it(`${who}: the options programs really set still work (IP_TOS, record route, clearing a routing header, IPV6_PKTINFO)`, () => {
      const run = runs[who] as ArenaRun;
      for (const c of [
        'ok-ip-tos',
        'ok-ip-options-rr',
        'ok-ip-options-rr:send',
        'ok-v6-rthdr-clear',
        'ok-v6-pktinfo-cmsg',
      ])
        expect(
          run.results.find((r) => r.case === c),
          c,
        ).toMatchObject({ rc: 0 });
    });
  }
});
