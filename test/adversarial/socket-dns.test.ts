/**
 * Raw DNS to an allowed nameserver is decided by its question whichever call writes it (docs/INTERPOSER.md "Raw DNS").
 * Attacker: programs/socket_dns.py — plain Python (os, socket, fcntl, ctypes, subprocess; dnspython as a real client),
 * unprivileged, enforce mode, in a namespace of the test's own whose DNS server records every question that arrives.
 * Passing = no question for a denied name (`*.exfil.test`) and no datagram outside the query grammar reached the
 * server, each attempt was refused with EACCES and logged, and the allowed question went through every same call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardLog } from '../support/guard.js';
import { ALLOWED, type ArenaRun, NAMESERVER, needSocketArena, SINK, SocketArena } from './socket-arena.js';

const ok = needSocketArena();

const CALLS: Record<string, string> = {
  write: 'write(dns)',
  writev: 'writev(dns)',
  pwritev2: 'pwritev2(dns)',
  'sendfile-offset': 'sendfile64(dns)', // Python is built with _FILE_OFFSET_BITS=64
  sendfile: 'sendfile64(dns)',
  splice: 'splice(dns)',
  dup: 'write(dns)',
  dup2: 'write(dns)',
  'fcntl-dupfd': 'write(dns)',
  'socket-fileno': 'send(dns)',
  'syscall-write': 'syscall(write,dns)',
  'syscall-writev': 'syscall(writev,dns)',
  'syscall-pwritev2': 'syscall(pwritev2,dns)',
  'syscall-sendfile': 'syscall(sendfile,dns)',
  'syscall-splice': 'syscall(splice,dns)',
};
const GRAMMAR = [
  'two-questions',
  'no-question',
  'trailing-byte',
  'response',
  'update',
  'ecs-option',
  'padding-with-data',
  'too-long',
  'tunnel-bytes',
];

describe.skipIf(!ok)('raw DNS: every call that writes a datagram to port 53 is decided by its question', () => {
  let arena: SocketArena;
  let run: ArenaRun;
  const result = (c: string) => run.results.find((r) => r.case === c);
  const lines = (fields: Partial<GuardLog>) =>
    run.logs.filter((l) => Object.entries(fields).every(([k, v]) => l[k] === v));

  beforeAll(async () => {
    arena = await SocketArena.create('egdns');
    run = await arena.run(['socket_dns.py', 'dns', ALLOWED, NAMESERVER, String(SINK)], { timeoutMs: 90_000 });
    expect(run.status, run.stderr).toBe(0);
    await arena.settled('dns');
  }, 120_000);
  afterAll(() => arena?.destroy());

  it('the nameserver saw no denied question and nothing outside the grammar', () => {
    expect(arena.dnsNames().filter((n) => n !== 'allowed.test')).toEqual([]);
    // the allowed question arrived once per call that sent it, plus dnspython's and the grammar's real-client query
    expect(arena.dnsNames()).toHaveLength(Object.keys(CALLS).length + 2);
  });

  it('write, writev, pwritev2, sendfile, splice, dup/dup2/F_DUPFD copies and the syscall() forms: refused and logged', () => {
    for (const [c, call] of Object.entries(CALLS)) {
      expect(result(`denied-${c}`), c).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(lines({ event: 'dns', host: `denied-${c}.exfil.test`, call, blocked: true }), c).toHaveLength(1);
      expect(result(`allowed-${c}`), c).toMatchObject({ rc: expect.any(Number), errno: null });
      expect(Number(result(`allowed-${c}`)?.rc), c).toBeGreaterThan(0);
    }
  });

  it('a socket inherited across exec, or received as SCM_RIGHTS, is decided in the program that holds it', () => {
    expect(result('inherited')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(result('scm-rights')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(lines({ event: 'dns', host: 'inherited.exfil.test', blocked: true })).toHaveLength(1);
    expect(lines({ event: 'dns', host: 'rights.exfil.test', blocked: true })).toHaveLength(1);
  });

  it('datagrams outside the query grammar are refused as dns-malformed, for an allowed name too', () => {
    for (const g of GRAMMAR) expect(result(`grammar-${g}`), g).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(lines({ event: 'dns', rule: 'dns-malformed', blocked: true, call: 'send(dns)' })).toHaveLength(
      GRAMMAR.length,
    );
    expect(Number(result('grammar-edns-cookie-padding')?.rc)).toBeGreaterThan(0);
  });

  it('c-ares (Node dns.Resolver), a real client with EDNS and cookies: allowed answered, denied refused', async () => {
    const node = await arena.run(['socket_dns_node.mjs', NAMESERVER, 'allowed.test', 'node.exfil.test']);
    expect(node.status, node.stderr).toBe(0);
    expect(node.results.find((r) => r.case === 'node-allowed.test')).toMatchObject({ ok: true, addresses: [ALLOWED] });
    expect(node.results.find((r) => r.case === 'node-node.exfil.test')).toMatchObject({ ok: false });
    const refused = node.logs.filter((l) => l.event === 'dns' && l.host === 'node.exfil.test' && l.blocked === true);
    expect(refused.length).toBeGreaterThan(0);
    expect(arena.dnsNames()).not.toContain('node.exfil.test');
  });

  it('dnspython, a real client: its allowed query is answered, its denied one refused', () => {
    expect(result('dnspython-allowed')).toMatchObject({ rc: 1 });
    expect(result('dnspython-denied')).toMatchObject({ rc: -1, errno: 'EACCES' });
    expect(lines({ event: 'dns', host: 'dnspython.exfil.test', call: 'sendto(dns)', blocked: true })).toHaveLength(1);
  });
});
