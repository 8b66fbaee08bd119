/**
 * Faults around a guarded process: its stderr (the guard's log) is closed or a full disk, the log file cannot be
 * opened; hostile and non-UTF-8 host names go into the log; another library's constructor calls getaddrinfo and
 * connect before the guard's own constructor may have run; a guarded process executes a statically linked binary.
 * The host process must carry on with the right decisions in every case (SECURITY.md "Failure modes").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { compilePolicy, LIBRARY, needLibrary, ROOT, scratchDir } from '../support/guard.js';
import { Netns } from '../support/netns.js';
import { BUILD, make, runUnder } from './support.js';

const ok = needNetns() && needLibrary() && needCommand('gcc') && needCommand('python3');
const PORT = 7431;
const GOOD = '10.90.0.1';
const DENIED = '10.90.0.2';
const PROGRAMS = join(ROOT, 'test/hardening/programs');
const PROBE = join(BUILD, 'probe');
const DENIED_RESULT = JSON.stringify({ gai: 'EAI_NONAME', connect: 'EACCES' });

function cc(args: string[]): void {
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc ${args.join(' ')}: ${r.stderr}`);
}

describe.skipIf(!ok)('faults around a guarded process', () => {
  let ns: Netns;
  let policy: string;
  const dir = scratchDir();
  beforeAll(async () => {
    make('build/probe');
    ns = Netns.create({
      prefix: 'eghf',
      addresses: [`${GOOD}/32`, `${DENIED}/32`],
      hosts: { 'good.test': GOOD, 'evil.test': DENIED },
    });
    const yaml = join(dir, 'faults.yaml');
    writeFileSync(
      yaml,
      `version: 1\nmode: enforce\nallow:\n  - name: good\n    host: good.test\n  - name: goodnet\n    ip: ${GOOD}\ndeny:\n  - name: evil\n    host: evil.test\n`,
    );
    policy = await compilePolicy(yaml);
  });
  afterAll(() => ns?.destroy());

  const denied = ['evil.test', DENIED, String(PORT)];

  for (const [what, redirect] of [
    ['closed (EBADF)', '2>&-'],
    ['a full disk (/dev/full, ENOSPC)', '2>/dev/full'],
  ] as const) {
    it(`stderr ${what}: the program carries on, decisions unchanged`, async () => {
      const r = await runUnder({
        ns,
        policy,
        logTo: 'stderr',
        logLevel: 'all',
        cmd: 'sh',
        args: ['-c', `exec "$0" "$@" ${redirect}`, PROBE, ...denied],
      });
      expect(r.signal).toBeNull();
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(DENIED_RESULT);
    });
  }

  it('an unopenable log file with stderr closed: one fallback attempt, no harm', async () => {
    const r = await runUnder({
      ns,
      policy,
      logTo: '/nonexistent-dir/eg/guard.log',
      cmd: 'sh',
      args: ['-c', 'exec "$0" "$@" 2>&-', PROBE, ...denied],
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(DENIED_RESULT);
  });

  it('the log fd is a pipe nobody reads any more (EPIPE + SIGPIPE): the program is not killed', async () => {
    // `true` exits at once, so every guard line hits a pipe without a reader; probe does not ignore SIGPIPE.
    const out = join(dir, 'epipe.out');
    const r = await runUnder({
      ns,
      policy,
      logTo: 'stderr',
      logLevel: 'all',
      cmd: 'sh',
      args: ['-c', `( sleep 0.3; exec "$0" "$@" >${out} ) 2>&1 | true; cat ${out}`, PROBE, ...denied],
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(DENIED_RESULT);
  });

  it('hostile and non-UTF-8 host names give exactly one valid JSON line each, fields intact', async () => {
    const names: Buffer[] = [
      Buffer.from('a"b.test'),
      Buffer.from('back\\\\slash.test'), // an escaped backslash: the resolver reads one backslash byte
      Buffer.from('new\nline.test","decision":"allow","x":"'),
      Buffer.from('cr\rlf\n{"name":"egress-guard","level":30}'),
      Buffer.from([0x63, 0x01, 0x02, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x7f, 0x2e, 0x74]), // control bytes, ESC sequence
      Buffer.from([0x62, 0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x2e, 0x74]), // invalid UTF-8
      Buffer.from('\u2028sep\u2029.test'),
      Buffer.from('ünïcödé.例え.test'),
      Buffer.from(`${'x'.repeat(300)}.test`), // longer than any DNS name
      Buffer.from('UPPER.Case.TEST.'),
    ];
    const r = await runUnder({
      ns,
      policy,
      logLevel: 'all',
      cmd: 'python3',
      args: [join(PROGRAMS, 'agent.py'), 'names', ...names.map((n) => n.toString('hex'))],
    });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim()) as string[];
    expect(results).toEqual(names.map(() => 'EAI_NONAME')); // none allowed: refused before any lookup
    expect(r.bad).toEqual([]);
    const dns = r.logs.filter((l) => l.event === 'dns');
    expect(dns).toHaveLength(names.length); // no forged or split lines
    expect(r.logs).toHaveLength(names.length);
    // names the resolver reads as one DNS name are decided (no rule allows them); the others are refused as
    // `dns-malformed` and logged as the program passed them
    const readable = new Set(['a"b.test', 'back\\slash.test', 'upper.case.test']);
    for (const l of dns) {
      expect(l).toMatchObject({
        decision: 'deny',
        blocked: true,
        rule: readable.has(l.host as string) ? 'default' : 'dns-malformed',
        name: 'egress-guard',
        mode: 'enforce',
      });
    }
    // on the wire: one line per name, no raw control byte or DEL anywhere inside a line
    const raw = r.logText.split('\n').filter((l) => l !== '');
    expect(raw).toHaveLength(names.length);
    for (const line of raw) {
      const bad = [...line].filter((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
      expect(bad).toEqual([]);
    }
    const hosts = dns.map((l) => l.host);
    expect(hosts).toContain('a"b.test');
    expect(hosts).toContain('back\\slash.test');
    expect(hosts).toContain('new\nline.test","decision":"allow","x":"');
    expect(hosts).toContain('\u2028sep\u2029.test');
    expect(hosts).toContain('ünïcödé.例え.test');
    expect(hosts).toContain('upper.case.test');
    expect(hosts).toContain(`b${'\ufffd'.repeat(7)}.t`);
    expect(hosts.find((h) => h?.startsWith('xxx'))?.length).toBe(253);
  });

  describe('another library calls getaddrinfo/connect from its constructor', () => {
    let early: string;
    let probeEarly: string;
    beforeAll(() => {
      early = join(dir, 'libearly.so');
      cc(['-shared', '-fPIC', '-O1', '-o', early, join(PROGRAMS, 'early.c')]);
      probeEarly = join(dir, 'probe-early');
      cc([
        '-O1',
        '-o',
        probeEarly,
        join(ROOT, 'native/stress/probe.c'),
        '-Wl,--no-as-needed',
        `-L${dir}`,
        '-l:libearly.so',
        `-Wl,-rpath,${dir}`,
      ]);
    });

    const cases: [string, () => { preload: string; cmd: string }][] = [
      ['preloaded after the guard', () => ({ preload: `${LIBRARY}:${early}`, cmd: PROBE })],
      ['preloaded before the guard', () => ({ preload: `${early}:${LIBRARY}`, cmd: PROBE })],
      ['a library the program links against', () => ({ preload: LIBRARY, cmd: probeEarly })],
    ];
    for (const [what, setup] of cases) {
      it(`${what}: its calls are decided and blocked too`, async () => {
        const { preload, cmd } = setup();
        const out = join(dir, `early-${Math.random().toString(36).slice(2)}.txt`);
        const log = join(dir, `early-${Math.random().toString(36).slice(2)}.log`);
        const r = await ns.run('env', [
          `LD_PRELOAD=${preload}`,
          `EGRESS_GUARD_POLICY=${policy}`,
          `EGRESS_GUARD_LOG=${log}`,
          `EARLY_OUT=${out}`,
          'EARLY_HOST=evil.test',
          `EARLY_IP=${DENIED}`,
          `EARLY_PORT=${PORT}`,
          cmd,
          'good.test',
          GOOD,
          String(PORT),
        ]);
        expect(r.status, r.stderr).toBe(0);
        expect(readFileSync(out, 'utf8')).toBe('gai -2\nconnect -1 13\n'); // EAI_NONAME; EACCES
        expect(JSON.parse(r.stdout)).toEqual({ gai: 'ok', connect: 'ECONNREFUSED' }); // main's allowed calls pass
        const lines = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines.filter((l) => l.event === 'dns' && l.host === 'evil.test' && l.blocked === true)).toHaveLength(1);
        expect(lines.filter((l) => l.event === 'connect' && l.ip === DENIED && l.blocked === true)).toHaveLength(1);
        expect(lines.filter((l) => l.event === 'policy')).toEqual([]);
      });
    }
  });

  it('executing a statically linked binary is reported as uncovered; a dynamic one is not', async () => {
    const stat = join(dir, 'static-true');
    writeFileSync(join(dir, 'true.c'), 'int main(void) { return 0; }\n');
    cc(['-static', '-O1', '-o', stat, join(dir, 'true.c')]);
    const r = await runUnder({ ns, policy, cmd: 'sh', args: ['-c', `${stat} && /bin/true && echo done`] });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('done');
    const unc = r.logs.filter((l) => l.event === 'uncovered');
    expect(unc).toHaveLength(1);
    expect(unc[0]).toMatchObject({ path: stat, reason: 'static' });
  });
});
