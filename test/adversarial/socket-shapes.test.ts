/**
 * Argument shapes the kernel accepts are the shapes the guard decides (docs/INTERPOSER.md "Argument shapes").
 * Attacker: programs/socket_shapes.py — plain Python (socket + ctypes), unprivileged, enforce mode, in a namespace of
 * the test's own. Passing = the witness saw nothing from any attempt, and a guard line says what was blocked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardLog } from '../support/guard.js';
import {
  ALLOWED,
  ALLOWED6,
  type ArenaRun,
  DENIED,
  DENIED6,
  ECHO,
  NAMESERVER,
  NAMESERVER6,
  needSocketArena,
  SINK,
  SocketArena,
} from './socket-arena.js';

const ok = needSocketArena();

describe.skipIf(!ok)('argument shapes: what the kernel accepts is what the guard decides', () => {
  let arena: SocketArena;
  let run: ArenaRun;
  const result = (c: string) => run.results.find((r) => r.case === c);
  const blocked = (fields: Partial<GuardLog>) =>
    run.logs.filter((l) => l.blocked === true && Object.entries(fields).every(([k, v]) => l[k] === v));

  beforeAll(async () => {
    arena = await SocketArena.create('egshape');
    run = await arena.run([
      'socket_shapes.py',
      'shapes',
      ALLOWED,
      DENIED,
      NAMESERVER,
      ALLOWED6,
      DENIED6,
      NAMESERVER6,
      String(SINK),
      String(ECHO),
    ]);
    expect(run.status, run.stderr).toBe(0);
    await arena.settled('shapes');
  }, 120_000);
  afterAll(() => arena?.destroy());

  it('the witness saw nothing from any attempt', () => {
    expect(arena.udpAt(DENIED)).toEqual([]);
    expect(arena.udpAt(DENIED6)).toEqual([]);
    expect(arena.echoAt(DENIED)).toBe(0);
    expect(arena.echoAt(DENIED6)).toBe(0);
    expect(arena.dnsNames().filter((n) => n.endsWith('exfil.test'))).toEqual([]);
  });

  it('IPv6 addresses of 24–27 bytes (no sin6_scope_id) are decided', () => {
    for (const c of ['v6-len24-connect', 'v6-len24-sendto', 'v6-len26-sendto'])
      expect(result(c), c).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(blocked({ event: 'connect', ip: DENIED6, call: 'connect' })).toHaveLength(1);
    expect(blocked({ event: 'sendto', ip: DENIED6, call: 'sendto', proto: 'udp' })).toHaveLength(2);
  });

  it('lengths above sizeof(struct sockaddr_in) are decided up to the 128 bytes the kernel reads; 129 fails as EINVAL', () => {
    expect(result('v4-len32-sendto')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(result('v4-len128-sendto')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(result('v4-len129-sendto')).toMatchObject({ rc: -1, errno: 'EINVAL' });
    expect(result('sendmsg-namelen200')).toMatchObject({ rc: -1, errno: 'EACCES' }); // a msghdr's name is cut to 128
  });

  it('AF_UNSPEC on an AF_INET datagram socket is decided as the AF_INET address the kernel sends to', () => {
    expect(result('unspec-v4-sendto')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(result('unspec-v4-sendmmsg')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(blocked({ event: 'sendto', ip: DENIED, call: 'sendto' }).length).toBeGreaterThan(0);
    expect(blocked({ event: 'sendto', ip: DENIED, call: 'sendmmsg' })).toHaveLength(1);
  });

  it('AF_UNSPEC on an AF_INET6 datagram socket, and a msghdr name of length 0, mean "the connected peer": raw DNS is decided', () => {
    expect(result('unspec-v6-dns')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(result('sendmsg-namelen0-dns')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(blocked({ event: 'dns', host: 'unspec6.exfil.test', call: 'sendto(dns)' })).toHaveLength(1);
    expect(blocked({ event: 'dns', host: 'namelen0.exfil.test', call: 'sendmsg(dns)' })).toHaveLength(1);
  });

  it('AF_INET and IPv4-mapped addresses on an AF_INET6 socket are decided as IPv4', () => {
    expect(result('inet-on-v6-sendto')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(result('mapped-v6-sendto')).toMatchObject({ rc: -1, errno: 'EACCES' });
  });

  it('connect(AF_UNSPEC) is a disconnect: it passes, silently, whatever bytes follow the family', () => {
    expect(result('unspec-connect')).toMatchObject({ rc: 0 });
    expect(run.logs.filter((l) => l.event === 'connect' && l.ip === undefined)).toEqual([]);
  });

  it("libc's public __connect, __send, __write, __dup2, __fcntl are the same hooks", () => {
    for (const c of ['alias-__connect', 'alias-__send', 'alias-__write', 'alias-__dup2', 'alias-__fcntl'])
      expect(result(c), c).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(blocked({ event: 'connect', ip: DENIED, call: '__connect' })).toHaveLength(1);
    expect(blocked({ event: 'dns', host: 'send.exfil.test', call: '__send(dns)' })).toHaveLength(1);
    expect(blocked({ event: 'dns', host: 'write.exfil.test', call: '__write(dns)' })).toHaveLength(1);
    expect(blocked({ event: 'dns', host: 'dup2.exfil.test', call: 'write(dns)' })).toHaveLength(1);
    expect(blocked({ event: 'dns', host: 'fcntl.exfil.test', call: 'write(dns)' })).toHaveLength(1);
  });

  it('one sendmmsg vector with mixed destinations sends only what precedes the denied one', () => {
    expect(result('sendmmsg-mixed')).toMatchObject({ rc: 1 });
    const mixed = arena.udpAt(ALLOWED6).filter((p) => p.startsWith('case:mmsg-mixed-'));
    expect(mixed).toEqual(['case:mmsg-mixed-0']);
    expect(blocked({ ip: DENIED6, call: 'sendmmsg' })).toHaveLength(1);
  });

  it('syscall() numbers are read as the kernel reads them (low 32 bits; the x32 bit)', () => {
    expect(result('syscall-hi-connect')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(result('syscall-hi-sendto')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(blocked({ call: 'syscall(connect)', ip: DENIED })).toHaveLength(2); // high bits and x32
    expect(blocked({ call: 'syscall(sendto)', ip: DENIED })).toHaveLength(1);
    expect(result('syscall-x32-connect-denied')).toMatchObject({ rc: -1, errno: 'EACCES' });
    // an allowed x32 connect reaches the kernel with the caller's own number: it fails exactly as it would unguarded
    const x32 = result('x32-getpid');
    const allowed = result('syscall-x32-connect-allowed');
    if (x32?.rc === -1) expect(allowed).toMatchObject({ rc: -1, errno: x32.errno });
    else expect(allowed).toMatchObject({ rc: 0 });
  });
});
