/**
 * Load: 32 threads × 5,000 mixed lookups, connects and datagrams (allowed and denied) in one process under the guard
 * — the normal build, the ASan+UBSan build and the TSan build (native/stress/stress.c, hardening.mk). Every decision
 * must be right (the program checks each call's result), no sanitizer may report anything, and the log must hold
 * exactly one valid JSON line per decision (EGRESS_GUARD_LOG_LEVEL=all, the log rate limiter off): nothing lost,
 * nothing torn. Then again with the rate limiter on (its default; docs/LOGGING.md "Rate limit"): 32 threads hitting
 * the same few keys at once, where no sanitizer may report anything either and the lines, summary lines counted as
 * their `suppressed` occurrences, must still add up to every decision of each kind.
 * (TSan: the program links the interposer's sources in, since clang 14's shared TSan runtime cannot be preloaded
 * here — see native/hardening.mk.) Also: the C unit tests built with ASan+UBSan (`make -C native asan`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { compilePolicy, needLibrary, scratchDir } from '../support/guard.js';
import { Netns } from '../support/netns.js';
import { BUILD, type Build, make, runUnder, SANITIZER_ERRORS } from './support.js';

const ok = needNetns() && needLibrary() && needCommand('clang');
const THREADS = Number(process.env.EG_STRESS_THREADS ?? 32);
const ITERS = Number(process.env.EG_STRESS_ITERS ?? 5000);
const PORT = 7411;
const GOOD = '10.88.0.1';
const DENIED = '10.88.0.2';
const UDP = '10.88.0.3';

interface Summary {
  threads: number;
  iters: number;
  ops: number;
  wrong: number;
  expectedLines: number;
  kinds: number[];
  firstWrong: string;
}

describe.skipIf(!ok)('load: 32 threads × 5,000 mixed operations', () => {
  let ns: Netns;
  let policy: string;
  beforeAll(async () => {
    make('build/stress', 'build/asan/stress', 'build/asan/libegressguard.so', 'build/tsan/stress');
    ns = Netns.create({
      prefix: 'eghl',
      addresses: [`${GOOD}/32`, `${DENIED}/32`, `${UDP}/32`],
      hosts: { 'good.test': GOOD, 'evil.test': DENIED },
    });
    const yaml = join(scratchDir(), 'load-policy.yaml');
    writeFileSync(
      yaml,
      `version: 1
mode: enforce
loopback: allow
allow:
  - name: good
    host: good.test
    ports: [${PORT}]
    proto: tcp
  - name: udp-sink
    ip: ${UDP}
    proto: udp
deny:
  - name: evil
    host: evil.test
`,
    );
    policy = await compilePolicy(yaml);
  });
  afterAll(() => ns?.destroy());

  const builds: Build[] = ['plain', 'asan', 'tsan'];
  for (const [build, limiter] of builds.flatMap((b) => [
    [b, false],
    [b, true],
  ]) as [Build, boolean][]) {
    const title = limiter
      ? `${build} build, log rate limiter on: every decision right, no sanitizer report, occurrences add up`
      : `${build} build: every decision right, no sanitizer report, one intact log line per decision`;
    it(title, async () => {
      const exe = join(BUILD, build === 'plain' ? 'stress' : `${build}/stress`);
      const r = await runUnder({
        ns,
        build,
        policy,
        logLevel: 'all',
        env: limiter ? {} : { EGRESS_GUARD_LOG_RATE: '0' },
        cmd: exe,
        args: [String(THREADS), String(ITERS), String(PORT), 'good.test', GOOD, 'evil.test', DENIED, UDP],
        timeoutMs: 600_000,
      });
      const ctx = `status ${r.status} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(0, 4000)}`;
      expect(r.stderr, ctx).not.toMatch(SANITIZER_ERRORS);
      expect(r.status, ctx).toBe(0);
      const s = JSON.parse(r.stdout.trim()) as Summary;
      expect(s.wrong, ctx).toBe(0);
      expect(s.ops).toBe(THREADS * ITERS);
      // the log: every line a JSON object of the guard, exactly one per decision (limiter on: per occurrence)
      expect(r.bad.slice(0, 5), 'torn or foreign lines').toEqual([]);
      const occurrences = (l: (typeof r.logs)[number]) => (typeof l.suppressed === 'number' ? l.suppressed : 1);
      if (limiter) {
        expect(r.logs.length).toBeLessThan(s.expectedLines / 10);
        expect(r.logs.reduce((a, l) => a + occurrences(l), 0)).toBe(s.expectedLines);
      } else {
        expect(r.logs.length).toBe(s.expectedLines);
      }
      const count = (f: (l: (typeof r.logs)[number]) => boolean) =>
        r.logs.filter(f).reduce((a, l) => a + occurrences(l), 0);
      const [k0, k1, k2, k3, k4, k5, k6, k7] = s.kinds as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      expect(count((l) => l.event === 'dns' && l.decision === 'allow' && l.host === 'good.test')).toBe(k0 + k6);
      expect(count((l) => l.event === 'dns' && l.blocked === true && l.host === 'evil.test' && l.rule === 'evil')).toBe(
        k1,
      );
      expect(count((l) => l.event === 'connect' && l.blocked === true && l.ip === DENIED && l.errno === 'EACCES')).toBe(
        k2,
      );
      expect(count((l) => l.event === 'connect' && l.rule === 'builtin:loopback')).toBe(k3);
      expect(count((l) => l.event === 'sendto' && l.decision === 'allow' && l.rule === 'udp-sink')).toBe(k4);
      expect(count((l) => l.event === 'sendto' && l.blocked === true && l.ip === DENIED)).toBe(k5);
      expect(count((l) => l.event === 'connect' && l.ip === GOOD && l.host === 'good.test' && l.rule === 'good')).toBe(
        k0 + k7,
      );
      expect(new Set(r.logs.map((l) => l.pid)).size).toBe(1);
    }, 900_000);
  }
});

describe.skipIf(!needCommand('clang'))('C unit tests under ASan+UBSan', () => {
  it('make -C native asan builds and runs them without a report', () => {
    make('asan');
  }, 600_000);
});
