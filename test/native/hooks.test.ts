/**
 * Each hook of libegressguard.so in a real process (native/test/hookprobe.c) under LD_PRELOAD, inside a network and
 * mount namespace of the test's own (`unshare -mn`): 10.66.0.0/24 and fd66::1 live on that namespace's loopback, a
 * private hosts file names some of them, and an unguarded listener accepts on the addresses used. Traffic never
 * leaves the namespace; no DNS query is ever sent (every name is in the private hosts file or refused first).
 * Asserts return values, errno names and the JSON log lines (codes and fields, not prose).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyTextSync } from '../../policy/index.js';
import { isRoot, need, runs } from '../support/capability.js';

const ROOT = join(import.meta.dirname, '../..');
const BUILD = join(ROOT, 'native/build');
const LIB = join(BUILD, 'libegressguard.so');
const PROBE = join(BUILD, 'hookprobe');
const P = 8080;

const ok =
  need('a C compiler and make', runs('cc', ['--version']) && runs('make', ['--version']), 'cc/make missing') &&
  need('root and namespaces', isRoot() && runs('unshare', ['-mn', 'true']), 'needs root for unshare -mn') &&
  need('iproute2', runs('ip', ['-V']), '`ip -V` did not run');

const HOSTS = `127.0.0.1 localhost
10.66.0.4 allowed.test
10.66.0.7 allowed2.test
10.66.0.5 denied.test
10.66.0.6 other.test
`;

const POLICY = `version: 1
mode: enforce
loopback: deny
allow:
  - name: net2
    cidr: 10.66.0.2/32
    ports: [${P}]
  - name: allowed-name
    host: allowed.test
    ports: [${P}]
  - name: allowed2
    host: allowed2.test
  - name: udp20
    cidr: 10.66.0.20/32
    proto: udp
  - name: v6ok
    cidr: "fd66::1/128"
  - name: both8
    cidr: 10.66.0.8/32
deny:
  - name: udp8
    cidr: 10.66.0.8/32
    proto: udp
  - name: denied-name
    host: denied.test
  - name: hole7
    cidr: 10.66.0.7/32
`;

interface LogLine {
  [k: string]: unknown;
}
interface ProbeResult {
  status: number | null;
  results: Array<Record<string, unknown>>;
  logs: LogLine[];
  badLines: string[];
  stdout: string;
}

let dir = '';
let policy = '';

/** Run `hookprobe args…` guarded inside a fresh namespace with the listener running. */
function probe(args: string[], env: Record<string, string> = {}): ProbeResult {
  const script = [
    'set -e',
    'ip link set lo up',
    'ip addr add 10.66.0.0/24 dev lo',
    'ip -6 addr add fd66::1/128 dev lo nodad',
    'ip addr add 169.254.66.0/24 dev lo',
    `mount --bind ${dir}/hosts /etc/hosts`,
    `ready=$(mktemp -u ${dir}/ready.XXXXXX)`,
    `env -u LD_PRELOAD ${PROBE} listen "$ready" 10.66.0.2:${P} 10.66.0.3:${P} 10.66.0.4:${P} 10.66.0.7:${P} 10.66.0.8:${P} 169.254.66.3:${P} "fd66::1:${P}" >/dev/null 2>&1 &`,
    'lpid=$!',
    'i=0; while [ ! -e "$ready" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done',
    'set +e',
    `env LD_PRELOAD=${LIB} "$@"`,
    'rc=$?',
    'kill $lpid 2>/dev/null',
    'exit $rc',
  ].join('\n');
  const r = spawnSync('unshare', ['-mn', 'sh', '-c', script, 'sh', PROBE, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      EGRESS_GUARD_POLICY: policy,
      ...env,
    },
  });
  const results = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const logs: LogLine[] = [];
  const badLines: string[] = [];
  for (const l of r.stderr.split('\n')) {
    if (l === '') continue;
    try {
      const o = JSON.parse(l) as LogLine;
      if (o.name === 'egress-guard') logs.push(o);
      else badLines.push(l);
    } catch {
      badLines.push(l);
    }
  }
  return { status: r.status, results, logs, badLines, stdout: r.stdout };
}

function where(logs: LogLine[], fields: Record<string, unknown>): LogLine[] {
  return logs.filter((l) => Object.entries(fields).every(([k, v]) => l[k] === v));
}

describe.skipIf(!ok)('libegressguard.so hooks in real processes', () => {
  beforeAll(() => {
    const m = spawnSync('make', ['-s', '-C', join(ROOT, 'native')], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`make -C native failed: ${m.stderr}`);
    dir = mkdtempSync(join(tmpdir(), 'eghooks-'));
    writeFileSync(join(dir, 'hosts'), HOSTS);
    policy = join(dir, 'policy.egp');
    writeFileSync(policy, compilePolicyTextSync(POLICY, 'hooks.yaml').bytes);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('enforce mode', () => {
    it('connect: an allowed address connects silently; a denied one fails with EACCES and one blocked line', () => {
      const a = probe(['connect', '10.66.0.2', String(P)]);
      expect(a.results[0]).toEqual({ call: 'connect', rc: 0 });
      expect(a.logs).toEqual([]); // enforce logs denials only
      const d = probe(['connect', '10.66.0.3', String(P)]);
      expect(d.results[0]).toMatchObject({ call: 'connect', rc: -1, errno: 'EACCES' });
      expect(d.badLines).toEqual([]);
      expect(d.logs).toHaveLength(1);
      expect(d.logs[0]).toMatchObject({
        level: 50,
        name: 'egress-guard',
        event: 'connect',
        ip: '10.66.0.3',
        port: P,
        proto: 'tcp',
        decision: 'deny',
        blocked: true,
        rule: 'default',
        mode: 'enforce',
        call: 'connect',
        errno: 'EACCES',
      });
      expect(typeof d.logs[0]?.time).toBe('number');
      expect(typeof d.logs[0]?.pid).toBe('number');
    });

    it('the port and protocol of a rule matter', () => {
      expect(probe(['connect', '10.66.0.2', '8081']).results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(probe(['sendto', '10.66.0.2', String(P)]).results[0]).toEqual({ call: 'sendto', rc: 1 }); // no proto: both
      expect(probe(['sendto', '10.66.0.2', '8081']).results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      // (to port 53 the probe sends a DNS query for allowed2.test, 31 bytes: the raw-DNS check lets it through)
      expect(probe(['sendto', '10.66.0.20', '53']).results[0]).toEqual({ call: 'sendto', rc: 31 });
      expect(probe(['connect', '10.66.0.20', String(P)]).results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      // allowed for any protocol but denied for UDP: the socket's type decides
      expect(probe(['connect', '10.66.0.8', String(P)]).results[0]).toEqual({ call: 'connect', rc: 0 });
      const u8 = probe(['sendto', '10.66.0.8', String(P)]);
      expect(u8.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(u8.logs[0]).toMatchObject({ rule: 'udp8', proto: 'udp', blocked: true });
    });

    it('IPv4-mapped IPv6 is decided (and logged) as IPv4; IPv6 rules apply', () => {
      const d = probe(['connect', '::ffff:10.66.0.3', String(P)]);
      expect(d.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(d.logs[0]).toMatchObject({ ip: '10.66.0.3', blocked: true });
      expect(probe(['connect', 'fd66::1', String(P)]).results[0]).toEqual({ call: 'connect', rc: 0 });
      const v6 = probe(['connect', 'fd66::2', String(P)]);
      expect(v6.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(v6.logs[0]).toMatchObject({ ip: 'fd66::2', blocked: true });
    });

    it('syscall(SYS_connect) and syscall(SYS_sendto) get the same checks; other numbers pass untouched', () => {
      const c = probe(['syscall-connect', '10.66.0.3', String(P)]);
      expect(c.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(c.logs[0]).toMatchObject({ call: 'syscall(connect)', blocked: true });
      expect(probe(['syscall-connect', '10.66.0.2', String(P)]).results[0]).toMatchObject({ rc: 0 });
      const s = probe(['syscall-sendto', '10.66.0.9', '53']);
      expect(s.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(s.logs[0]).toMatchObject({ event: 'sendto', call: 'syscall(sendto)', proto: 'udp' });
      const p = probe(['syscall-passthrough']);
      expect(p.results[0]).toEqual({ call: 'syscall-passthrough', pidOk: true, bogusRc: -1, bogusErrno: 'ENOSYS' });
      expect(p.logs).toEqual([]);
    });

    it('sendmsg, sendmmsg (allowed prefix sent) and TCP Fast Open are checked', () => {
      expect(probe(['sendmsg', '10.66.0.9', '53']).results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(probe(['sendmsg', '10.66.0.20', '53']).results[0]).toEqual({ call: 'sendmsg', rc: 31 });
      expect(probe(['sendmmsg', '10.66.0.20', '10.66.0.9', '53']).results[0]).toEqual({ call: 'sendmmsg', rc: 1 });
      expect(probe(['sendmmsg', '10.66.0.9', '10.66.0.20', '53']).results[0]).toMatchObject({
        rc: -1,
        errno: 'EACCES',
      });
      const f = probe(['fastopen', '10.66.0.3', String(P)]);
      expect(f.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(f.logs[0]).toMatchObject({ call: 'sendto', proto: 'tcp', blocked: true });
    });

    it('raw DNS: the query name of a datagram to port 53 is decided, also on a connected socket (no address)', () => {
      const calls: Record<string, string> = {
        send: 'send(dns)',
        sendto: 'sendto(dns)',
        sendmsg: 'sendmsg(dns)',
        sendmmsg: 'sendmmsg(dns)',
        syscall: 'syscall(sendto,dns)',
      };
      for (const [how, call] of Object.entries(calls)) {
        const ok = probe(['dns', how, '10.66.0.20', 'allowed2.test']);
        expect(ok.results[0], how).toEqual({ call: `dns-${how}`, rc: how === 'sendmmsg' ? 1 : 31 });
        expect(ok.logs, how).toEqual([]);
        const d = probe(['dns', how, '10.66.0.20', 'Denied.TEST']);
        expect(d.results[0], how).toMatchObject({ rc: -1, errno: 'EACCES' });
        expect(d.logs, how).toHaveLength(1);
        expect(d.logs[0], how).toMatchObject({
          level: 50,
          event: 'dns',
          host: 'denied.test',
          rule: 'denied-name',
          decision: 'deny',
          blocked: true,
          call,
          errno: 'EACCES',
        });
        expect(d.logs[0]?.ip, how).toBeUndefined();
      }
      // a name no rule allows: default; bytes that are not a DNS question: dns-malformed
      const other = probe(['dns', 'send', '10.66.0.20', 'other.test']);
      expect(other.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(other.logs[0]).toMatchObject({ event: 'dns', host: 'other.test', rule: 'default', blocked: true });
      const junk = probe(['dns', 'junk', '10.66.0.20', 'allowed2.test']);
      expect(junk.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(junk.logs[0]).toMatchObject({ event: 'dns', rule: 'dns-malformed', blocked: true, call: 'send(dns)' });
      expect(junk.logs[0]?.host).toBeUndefined();
      // connected elsewhere afterwards: no longer parsed
      expect(probe(['dns', 'reconnect', '10.66.0.20', 'x']).results[0]).toEqual({ call: 'dns-reconnect', rc: 1 });
      // audit: the query leaves and the log says it would have been blocked
      const a = probe(['dns', 'send', '10.66.0.20', 'denied.test'], { EGRESS_GUARD_MODE: 'audit' });
      expect(a.results[0]).toEqual({ call: 'dns-send', rc: 29 });
      const dnsLines = a.logs.filter((l) => l.event === 'dns');
      expect(dnsLines).toHaveLength(1);
      expect(dnsLines[0]).toMatchObject({ host: 'denied.test', decision: 'deny', blocked: false, call: 'send(dns)' });
    });

    it('raw DNS: a copy of a port-53 socket (dup, dup2, dup3, fcntl F_DUPFD*, their syscall forms) is decided too', () => {
      for (const how of ['dup', 'dup2', 'dup3', 'fcntl', 'fcntl64', 'syscall-dup', 'syscall-dup3', 'syscall-fcntl']) {
        const d = probe(['dns', how, '10.66.0.20', 'denied.test']);
        expect(d.results[0], how).toMatchObject({ call: `dns-${how}`, rc: -1, errno: 'EACCES' });
        expect(d.logs, how).toHaveLength(1);
        expect(d.logs[0], how).toMatchObject({ event: 'dns', host: 'denied.test', blocked: true, call: 'send(dns)' });
        const ok = probe(['dns', how, '10.66.0.20', 'allowed2.test']);
        expect(ok.results[0], how).toEqual({ call: `dns-${how}`, rc: 31 });
      }
    });

    it('non-INET sockets pass', () => {
      const u = probe(['unix', join(tmpdir(), 'no-such-egress-guard-socket')]);
      expect(u.results[0]).toMatchObject({ rc: -1, errno: 'ENOENT' });
      expect(u.logs).toEqual([]);
    });

    it('getaddrinfo: a denied name is refused before resolution with EAI_NONAME; an allowed one resolves', () => {
      const d = probe(['gai', 'denied.test', String(P)]);
      expect(d.results[0]).toMatchObject({ rc: expect.any(Number), eai: 'EAI_NONAME', results: 0 });
      expect(d.logs[0]).toMatchObject({
        event: 'dns',
        host: 'denied.test',
        rule: 'denied-name',
        decision: 'deny',
        blocked: true,
        errno: 'EAI_NONAME',
        call: 'getaddrinfo',
        port: P,
        proto: 'tcp',
      });
      expect(probe(['gai', 'Other.TEST.']).logs[0]).toMatchObject({ host: 'other.test', rule: 'default' });
      expect(probe(['gai', 'allowed.test', String(P)]).results[0]).toMatchObject({ rc: 0, results: 1 });
      // IP literals (inet_aton forms too) need no query: they pass, and the connect decides on the address
      for (const lit of ['10.66.0.3', '0x0a.66.0.3', '10.66.3', 'fd66::9', 'fe80::1%lo']) {
        const l = probe(['gai', lit]);
        expect(l.results[0], lit).toMatchObject({ rc: 0 });
        expect(l.logs, lit).toEqual([]);
      }
    });

    it('binding: an allowed name’s address connects; the same address without the lookup, or a denied address behind an allowed name, does not', () => {
      expect(probe(['gai-connect', 'allowed.test', String(P)]).results[0]).toEqual({ call: 'gai-connect', rc: 0 });
      expect(probe(['connect', '10.66.0.4', String(P)]).results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      const hole = probe(['gai-connect', 'allowed2.test', String(P)]);
      expect(hole.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(hole.logs[0]).toMatchObject({ host: 'allowed2.test', ip: '10.66.0.7', rule: 'hole7', blocked: true });
    });

    it('gethostbyname, gethostbyname_r and gethostbyname2_r refuse denied names as glibc does for unknown ones', () => {
      expect(probe(['ghbn', 'denied.test']).results[0]).toEqual({ call: 'ghbn', found: false, h_errno: 1 });
      expect(probe(['ghbn_r', 'denied.test']).results[0]).toEqual({ call: 'ghbn_r', rc: 0, found: false, h_errno: 1 });
      const r2 = probe(['ghbn2_r', 'denied.test']);
      expect(r2.results[0]).toEqual({ call: 'ghbn2_r', rc: 0, found: false, h_errno: 1 });
      expect(r2.logs[0]).toMatchObject({ call: 'gethostbyname2_r', errno: 'HOST_NOT_FOUND', blocked: true });
      expect(probe(['ghbn', 'allowed2.test']).results[0]).toEqual({ call: 'ghbn', found: true, h_errno: 0 });
    });

    it('a broken stderr pipe never kills the host (SIGPIPE at its default); the host’s own SIGPIPE is left alone', () => {
      const r = probe(['sigpipe', '10.66.0.3', String(P)]);
      expect(r.status).toBe(0);
      expect(r.results[0]).toEqual({
        call: 'sigpipe',
        rc: -1,
        errno: 'EACCES',
        survived: true,
        ownWrite: 'EPIPE',
        ownSigpipePending: true,
      });
    });

    it('closing every descriptor like a daemon does neither stops the log nor makes the guard write into a reused number', () => {
      const log = join(dir, 'reuse.log');
      const r = probe(['logfd-reuse', '10.66.0.3', String(P)], { EGRESS_GUARD_LOG: log });
      expect(r.results[0]).toMatchObject({ call: 'logfd-reuse', bytesInPipe: 0 });
      const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(2); // the guard kept its own descriptor (ownfd.c): close() of it closed nothing
      for (const l of lines) expect(JSON.parse(l)).toMatchObject({ event: 'connect', blocked: true });
    });

    it('exec and posix_spawn of a statically linked binary are reported as uncovered, never blocked', () => {
      const bin = join(BUILD, 'static-hello');
      const e = probe(['exec', bin]);
      expect(e.stdout).toContain('{"static":"ran"}');
      expect(where(e.logs, { event: 'uncovered' })[0]).toMatchObject({ path: bin, reason: 'static', call: 'execve' });
      const s = probe(['spawn', bin]);
      expect(s.results.at(-1)).toEqual({ call: 'spawn', rc: 0, exit: 0 });
      expect(where(s.logs, { event: 'uncovered' })[0]).toMatchObject({ reason: 'static', call: 'posix_spawn' });
    });

    it('8 threads × 1,000 mixed connects: every decision right, every log line whole', () => {
      const r = probe(['threads', '10.66.0.2', '10.66.0.3', String(P)], { EGRESS_GUARD_LOG_RATE: '0' });
      expect(r.results[0], `status ${r.status} ${r.badLines.slice(-3).join('\n')}`).toEqual({
        call: 'threads',
        threads: 8,
        perThread: 1000,
        wrong: 0,
      });
      expect(r.badLines).toEqual([]);
      expect(where(r.logs, { blocked: true })).toHaveLength(4000); // the rate limiter off: one line per call
    });

    it('8 threads × 1,000 mixed connects through the log rate limiter: few lines, exact counts', () => {
      const r = probe(['threads', '10.66.0.2', '10.66.0.3', String(P)]);
      expect(r.results[0]).toMatchObject({ call: 'threads', wrong: 0 });
      expect(r.badLines).toEqual([]);
      const blocked = where(r.logs, { blocked: true });
      const keys = new Set(blocked.map((l) => l.call)).size; // connect and syscall(connect): one key each
      expect(blocked.length).toBeLessThanOrEqual(keys * 11 * 2); // ≤ RATE + 1 per key and window, ≤ 2 windows
      expect(blocked.reduce((n, l) => n + (typeof l.suppressed === 'number' ? l.suppressed : 1), 0)).toBe(4000);
    });

    it('a forked child stays guarded and logs its own pid', () => {
      const r = probe(['fork', '10.66.0.3', String(P)]);
      const child = r.results.find((x) => x.call === 'fork-child');
      const parent = r.results.find((x) => x.call === 'fork');
      expect(child).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(r.logs[0]?.pid).toBe(parent?.childPid);
    });

    it('a connect from another library’s constructor, before the guard’s own, is decided', () => {
      const r = probe(['ctor'], { EG_CTOR_CONNECT: `10.66.0.3:${P}` });
      expect(r.results[0]).toMatchObject({ call: 'ctor', rc: -1, errno: 'EACCES' });
      expect(r.logs[0]).toMatchObject({ ip: '10.66.0.3', blocked: true });
    });
  });

  describe('shared state file (docs/STATE.md)', () => {
    function stateFile(flags: number, requestId: string): string {
      const b = Buffer.alloc(512); // version 2 (docs/STATE.md)
      b.write('EGSTATE\x02', 0, 'latin1');
      b.writeUInt32LE(2, 8);
      b.writeUInt32LE(512, 12);
      b.writeBigUInt64LE(2n, 16); // seq: even = stable
      b.writeBigUInt64LE(1n, 24); // invoke_seq
      b.writeUInt32LE(flags, 32);
      b.writeUInt32LE(requestId.length, 36);
      b.write(requestId, 40, 'latin1');
      const path = join(dir, `state-${flags}-${requestId}`);
      writeFileSync(path, b);
      return path;
    }
    const counters = (path: string) => {
      const b = readFileSync(path);
      return [192, 200, 208, 216].map((o) => Number(b.readBigUInt64LE(o))); // n_allowed, n_denied, n_blocked, n_uncovered
    };

    it('log lines carry the requestId; decisions are counted (allowed, denied, blocked, uncovered)', () => {
      const st = stateFile(1, 'req-7f3a');
      const r = probe(['connect', '10.66.0.3', String(P)], { EGRESS_GUARD_STATE: st });
      expect(r.logs[0]).toMatchObject({ requestId: 'req-7f3a', blocked: true });
      probe(['connect', '10.66.0.2', String(P)], { EGRESS_GUARD_STATE: st });
      probe(['exec', join(BUILD, 'static-hello')], { EGRESS_GUARD_STATE: st });
      expect(counters(st)).toEqual([1, 1, 1, 1]);
    });

    it('BUDGET_TRIPPED blocks new egress in enforce mode (rule budget), not in audit', () => {
      const st = stateFile(3, 'req-budget');
      const r = probe(['connect', '10.66.0.2', String(P)], { EGRESS_GUARD_STATE: st });
      expect(r.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(r.logs[0]).toMatchObject({ rule: 'budget', blocked: true, requestId: 'req-budget' });
      const a = probe(['connect', '10.66.0.2', String(P)], { EGRESS_GUARD_STATE: st, EGRESS_GUARD_MODE: 'audit' });
      expect(a.results[0]).toEqual({ call: 'connect', rc: 0 });
    });

    it('a missing state file is created whole (directory included); a foreign or version 1 file is ignored', () => {
      const st = join(dir, 'new-dir', 'created-state');
      probe(['connect', '10.66.0.2', String(P)], { EGRESS_GUARD_STATE: st });
      const b = readFileSync(st);
      expect(b.length).toBe(512);
      expect(b.subarray(0, 8).toString('latin1')).toBe('EGSTATE\x02');
      expect([b.readUInt32LE(8), b.readUInt32LE(12)]).toEqual([2, 512]);
      for (const off of [144, 152, 160]) expect(b.readBigUInt64LE(off)).toBe(2n ** 64n - 1n); // not armed
      expect(Number(b.readBigUInt64LE(192))).toBe(1); // the allowed connect was counted
      expect(readdirSync(join(dir, 'new-dir'))).toEqual(['created-state']); // no temporary file left behind
      const v1 = Buffer.alloc(256);
      v1.write('EGSTATE\x01', 0, 'latin1');
      v1.writeUInt32LE(1, 8);
      v1.writeUInt32LE(256, 12);
      for (const [name, bytes] of [
        ['foreign-state', Buffer.alloc(512, 7)],
        ['v1-state', v1],
      ] as const) {
        const foreign = join(dir, name);
        writeFileSync(foreign, bytes);
        const r = probe(['connect', '10.66.0.3', String(P)], { EGRESS_GUARD_STATE: foreign });
        expect(where(r.logs, { event: 'policy' })[0]).toMatchObject({ error: 'E_STATE_INVALID', level: 40 });
        expect(where(r.logs, { event: 'connect' })[0]).toMatchObject({ blocked: true });
        expect(readFileSync(foreign).equals(bytes)).toBe(true); // never written
      }
    });
  });

  describe('audit, off and broken policies', () => {
    it('audit: denied traffic proceeds; allowed destinations are logged once, would-blocks with exact counts', () => {
      const r = probe(['threads', '10.66.0.2', '10.66.0.3', String(P)], { EGRESS_GUARD_MODE: 'audit' });
      // in audit nothing is blocked, so the "denied" connects succeed: the probe counts them as wrong
      expect(r.results[0]).toMatchObject({ call: 'threads', wrong: 4000 });
      const deny = where(r.logs, { decision: 'deny', ip: '10.66.0.3' });
      const allow = where(r.logs, { decision: 'allow', ip: '10.66.0.2' });
      // 4,000 connects (libc and syscall) to one destination: the rate limiter's lines, summing to 4,000
      const keys = new Set(deny.map((l) => l.call)).size;
      expect(deny.length).toBeLessThanOrEqual(keys * 11 * 2);
      expect(deny.reduce((n, l) => n + (typeof l.suppressed === 'number' ? l.suppressed : 1), 0)).toBe(4000);
      expect(allow).toHaveLength(1);
      for (const l of deny) expect(l).toMatchObject({ level: 40, blocked: false, mode: 'audit', rule: 'default' });
      const gai = probe(['gai', 'denied.test'], { EGRESS_GUARD_MODE: 'audit' });
      expect(gai.results[0]).toMatchObject({ rc: 0, results: 1 });
      expect(gai.logs[0]).toMatchObject({ event: 'dns', decision: 'deny', blocked: false, rule: 'denied-name' });
    });

    it('off: nothing is checked or logged', () => {
      const r = probe(['connect', '10.66.0.3', String(P)], { EGRESS_GUARD_MODE: 'off' });
      expect(r.results[0]).toEqual({ call: 'connect', rc: 0 });
      expect(r.logs).toEqual([]);
    });

    it('a corrupt policy: enforce fails closed with one policy line, audit fails open', () => {
      const bad = join(dir, 'corrupt.egp');
      const bytes = Buffer.from(readFileSync(policy));
      bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0xff;
      writeFileSync(bad, bytes);
      const e = probe(['connect', '10.66.0.2', String(P)], { EGRESS_GUARD_POLICY: bad });
      expect(e.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      const pol = where(e.logs, { event: 'policy' });
      expect(pol).toHaveLength(1);
      expect(pol[0]).toMatchObject({ level: 50, error: 'E_POLICY_BODY_CRC', failClosed: true, path: bad });
      expect(where(e.logs, { event: 'connect' })[0]).toMatchObject({ rule: 'policy-error', blocked: true });
      const a = probe(['connect', '10.66.0.3', String(P)], { EGRESS_GUARD_POLICY: bad, EGRESS_GUARD_MODE: 'audit' });
      expect(a.results[0]).toEqual({ call: 'connect', rc: 0 });
      expect(where(a.logs, { event: 'policy' })[0]).toMatchObject({ error: 'E_POLICY_BODY_CRC', failClosed: false });
      const missing = probe(['connect', '10.66.0.2', String(P)], { EGRESS_GUARD_POLICY: join(dir, 'nope.egp') });
      expect(missing.results[0]).toMatchObject({ rc: -1, errno: 'EACCES' });
      expect(where(missing.logs, { event: 'policy' })[0]).toMatchObject({
        error: 'E_POLICY_MISSING',
        failClosed: true,
      });
    });

    it('the Lambda Runtime API and X-Ray daemon always pass, even failing closed', () => {
      const env = {
        EGRESS_GUARD_POLICY: join(dir, 'nope.egp'),
        EGRESS_GUARD_LOG_LEVEL: 'all',
        AWS_LAMBDA_RUNTIME_API: `169.254.66.3:${P}`,
        AWS_XRAY_DAEMON_ADDRESS: '169.254.66.9:2000',
      };
      const r = probe(['connect', '169.254.66.3', String(P)], env);
      expect(r.results[0]).toEqual({ call: 'connect', rc: 0 });
      expect(where(r.logs, { event: 'connect' })[0]).toMatchObject({ rule: 'builtin:runtime-api', decision: 'allow' });
      const x = probe(['sendto', '169.254.66.9', '2000'], env);
      expect(x.results[0]).toEqual({ call: 'sendto', rc: 1 });
      expect(where(x.logs, { event: 'sendto' })[0]).toMatchObject({ rule: 'builtin:xray' });
      // the same addresses at another port are not the endpoints: no exfiltration channel beside them
      const other = probe(['sendto', '169.254.66.9', '2001'], env);
      expect(other.results[0]).toMatchObject({ call: 'sendto', rc: -1, errno: 'EACCES' });
      const otherApi = probe(['connect', '169.254.66.3', String(P + 1)], env);
      expect(otherApi.results[0]).toMatchObject({ call: 'connect', rc: -1, errno: 'EACCES' });
    });

    it('endpoints outside loopback and link-local are not always allowed (one E_CONFIG_ENDPOINT line each)', () => {
      const env = {
        EGRESS_GUARD_POLICY: join(dir, 'nope.egp'),
        AWS_LAMBDA_RUNTIME_API: `10.66.0.3:${P}`,
        AWS_XRAY_DAEMON_ADDRESS: 'tcp:10.66.0.9:2000 udp:10.66.0.9:2000',
      };
      const r = probe(['connect', '10.66.0.3', String(P)], env);
      expect(r.results[0]).toMatchObject({ call: 'connect', rc: -1, errno: 'EACCES' });
      expect(where(r.logs, { event: 'connect' })[0]).toMatchObject({ rule: 'policy-error', blocked: true });
      const warned = where(r.logs, { event: 'policy', error: 'E_CONFIG_ENDPOINT' });
      expect(warned.map((l) => [l.variable, l.value])).toEqual([
        ['AWS_LAMBDA_RUNTIME_API', `10.66.0.3:${P}`],
        ['AWS_XRAY_DAEMON_ADDRESS', 'tcp:10.66.0.9:2000 udp:10.66.0.9:2000'],
      ]);
      const x = probe(['sendto', '10.66.0.9', '2000'], env);
      expect(x.results[0]).toMatchObject({ call: 'sendto', rc: -1, errno: 'EACCES' });
    });
  });
});
