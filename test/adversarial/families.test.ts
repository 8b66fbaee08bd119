// Socket families and address kinds beyond plain unicast TCP/UDP, tried by an unprivileged plain-Python program in
// enforce mode (test/adversarial/programs/families.py) in a namespace of the test's own, where unprivileged ICMP
// "ping" sockets are enabled. What the guard decides — broadcast, multicast, ICMP echo, 0.0.0.0 (which the kernel
// delivers locally), IPv4-compatible and NAT64 IPv6 forms, a decimal IPv4 literal — is refused with EACCES and one
// line naming the address. What needs privilege (raw and packet sockets) the kernel refuses first. What the guard does
// not decide (docs/COVERAGE.md "Sockets"): AF_VSOCK, which stays inside the machine except to the hypervisor host,
// and SCTP, which this kernel does not have — those two tests flip the day that changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsWhere } from '../support/guard.js';
import { ALLOWED, Arena, type AttackRun, DENIED, explainRun, needAttacker, PY } from './attacker.js';

/** DENIED's four bytes as the last two groups of an IPv6 address, as the guard logs them (10.88.0.2 → a58:2). */
const DENIED_HEX = (() => {
  const [a = 0, b = 0, c = 0, d = 0] = DENIED.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
})();

describe.skipIf(!needAttacker())('socket families and address kinds', () => {
  let arena: Arena;
  let run: AttackRun;
  const result = (c: string) => run.results.find((r) => r.case === c);
  beforeAll(async () => {
    arena = await Arena.create('egfam');
    const sysctl = arena.ns.exec('sysctl', ['-w', 'net.ipv4.ping_group_range=0 2147483647']);
    expect(sysctl.status, sysctl.stderr).toBe(0);
    run = await arena.run({ cmd: PY, args: [arena.program('families.py'), DENIED, ALLOWED] });
    expect(await arena.settled('families'), explainRun(run)).toBe(true);
  });
  afterAll(() => arena?.destroy());

  it.each([
    ['broadcast', 'sendto', '255.255.255.255'],
    ['multicast', 'sendto', '224.0.0.1'],
    ['ping-denied', 'sendto', DENIED],
    ['unspecified-0.0.0.0', 'connect', '0.0.0.0'],
    ['compat-v6', 'connect', `::${DENIED_HEX}`],
    ['nat64-v6', 'connect', `64:ff9b::${DENIED_HEX}`],
    ['decimal-literal', 'connect', DENIED],
  ])('%s: refused with EACCES, one line naming the address', (kase, event, ip) => {
    expect(result(kase), explainRun(run)).toMatchObject({ ok: false, errno: 'EACCES' });
    expect(logsWhere(run.logs, { event, ip, blocked: true }), explainRun(run)).toHaveLength(1);
  });

  it('raw and packet sockets need CAP_NET_RAW: the kernel refuses them to an unprivileged program', () => {
    expect(result('raw-socket')).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(result('packet-socket')).toMatchObject({ ok: false, errno: 'EPERM' });
  });

  it('NOT DECIDED: an AF_VSOCK connect (here to this machine) passes the guard without a line', () => {
    const v = result('vsock-local');
    expect(v, explainRun(run)).toBeDefined();
    expect(v?.errno).not.toBe('EACCES');
    expect(run.logs.filter((l) => l.event === 'connect' && l.ip === undefined && l.host === undefined)).toEqual([]);
  });

  it('NOT TESTABLE HERE: this kernel has no SCTP (its connectx options and address control messages are not decided)', () => {
    expect(result('sctp-socket')).toMatchObject({ ok: false });
    expect(['EPROTONOSUPPORT', 'ESOCKTNOSUPPORT']).toContain(result('sctp-socket')?.errno);
  });
});
