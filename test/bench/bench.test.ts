/**
 * Smoke test of `npm run bench` (bench/run.ts) in --quick mode, and of bench/run-cli.ts (one round): every benchmark
 * still runs end to end and the JSON it writes holds every figure BENCHMARKS.md reports, with sane types. NO timing assertions: this machine is shared and noisy,
 * and quick mode's figures mean nothing (BENCHMARKS.md holds the real ones).
 * Needs what `npm test` already built (dist/, native/build/), a C compiler, python3, zip and the aarch64 cross compiler.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WRITE_VERSION } from '../../policy/gen/format.js';
import { needCommand } from '../support/capability.js';

const root = resolve(import.meta.dirname, '../..');
const ok =
  needCommand('cc') && needCommand('python3') && needCommand('zip', '-v') && needCommand('aarch64-linux-gnu-gcc'); // arm64 layer
const dir = mkdtempSync(join(tmpdir(), 'eg-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pos = (x: unknown) => {
  expect(typeof x).toBe('number');
  expect(Number.isFinite(x)).toBe(true);
  expect(x as number).toBeGreaterThan(0);
};
const spreadOk = (s: { median: number; min: number; max: number }) => {
  pos(s.median);
  expect(s.min).toBeLessThanOrEqual(s.median);
  expect(s.max).toBeGreaterThanOrEqual(s.median);
};

describe.skipIf(!ok)('npm run bench --quick (smoke)', () => {
  it('runs every benchmark and writes JSON with every figure', { timeout: 300_000 }, () => {
    const out = join(dir, 'results.json');
    const r = spawnSync(process.execPath, [join(root, 'dist/bench/run.js'), '--quick', '--json', '--out', out], {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
      timeout: 280_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(printed).toEqual(j);
    expect(j.quick).toBe(true);
    pos(j.machine.nproc);
    expect(j.machine.loadAverageStart).toHaveLength(3);

    // 1 + 2: both loops, audit and enforce, ratios against the same run's baseline
    expect(j.hooks.map((h: { loop: string }) => h.loop)).toEqual([
      'socket+connect+accept+close',
      'getaddrinfo("localhost")',
    ]);
    for (const h of j.hooks) {
      pos(h.unguardedNs);
      for (const m of [h.audit, h.enforce]) {
        spreadOk(m);
        pos(m.guardedNs);
      }
    }
    // 1b: a denied connect in a loop, with the log rate limiter and without: every call's line only without it
    const dc = j.deniedConnect;
    for (const k of ['unguardedNs', 'limitedNs', 'unlimitedNs']) pos(dc[k]);
    spreadOk(dc.unlimitedOverLimited);
    expect(dc.linesUnlimited).toBe(dc.iters + dc.iters / 10); // bench_hooks runs iters/10 warm-up calls first
    expect(dc.linesLimited).toBeLessThanOrEqual(2 * 11); // ≤ 10 lines + 1 summary per 10 s window, ≤ 2 windows
    // 3: every class of lookup at every size quick mode runs, both working sets
    const classes = new Set(j.decision.map((d: { cls: string }) => d.cls));
    expect([...classes].sort()).toEqual(['ipv4', 'ipv6', 'name', 'wildcard']);
    expect(new Set(j.decision.map((d: { rules: number }) => d.rules))).toEqual(new Set([10, 1000]));
    // every size in the default format version, the largest also in the other ones (docs/FORMAT.md "Versions")
    const at = (rules: number) =>
      new Set(j.decision.filter((d: { rules: number }) => d.rules === rules).map((d: { format: number }) => d.format));
    expect(at(10)).toEqual(new Set([WRITE_VERSION]));
    expect(at(1000)).toEqual(new Set([1, 2, 3]));
    for (const d of j.decision) {
      pos(d.nsMedian);
      pos(d.fileBytes);
      expect(['hot', 'spread']).toContain(d.set);
    }
    // 4: node and python start-up
    expect(j.startup.map((s: { command: string }) => s.command)).toEqual(['node -e 0', 'python3 -c pass']);
    for (const s of j.startup) {
      spreadOk(s.cpu);
      spreadOk(s.wall);
      pos(s.unguardedCpuMs);
    }
    // 5: compile, 100 rules and the denylist
    expect(j.compile).toHaveLength(2);
    for (const c of j.compile) {
      spreadOk(c.wallMs);
      pos(c.outputBytes);
    }
    expect(j.compile[1].names).toBeGreaterThan(0);
    // 6: the agent: init and per-invoke overhead for both runtimes, the sampler's CPU armed and not
    expect(j.agent.init.map((w: { lang: string }) => w.lang)).toEqual(['node', 'python']);
    for (const w of j.agent.init) {
      pos(w.plainMs);
      pos(w.guardedMs);
      pos(w.plainCpuMs);
      expect(typeof w.runtimeCpuAddedMs).toBe('number');
      pos(w.agentCpuMs); // its pid is in the state file before it relays the runtime's first GET …/next
      expect(w.agentCpuRounds).toBe(w.rounds);
    }
    expect(j.agent.invoke.map((w: { lang: string }) => w.lang)).toEqual(['node', 'python']);
    for (const w of j.agent.invoke) {
      pos(w.plainMedianUs);
      pos(w.guardedMedianUs);
      expect(typeof w.addedMedianUs).toBe('number');
      expect(w.roundMedianUs).toHaveLength(w.rounds);
    }
    expect(j.agent.sampler.map((w: { armed: boolean }) => w.armed)).toEqual([true, false]);
    for (const w of j.agent.sampler) {
      expect(w.runs).toBeGreaterThan(0);
      expect(w.minCorePercent).toBeGreaterThanOrEqual(0);
      expect(w.corePercent).toBeGreaterThanOrEqual(w.minCorePercent);
      expect(w.maxCorePercent).toBeGreaterThanOrEqual(w.corePercent);
    }
    // the floor under the sampler: bench_wake at the agent's own interval for the benchmark's budgets (5 MiB tx:
    // (5 + 5) MiB at 10 Gbit/s), woken that often, with and without the look's read
    expect(j.agent.samplerFloor.intervalUs).toBeCloseTo(8388.6, 1);
    pos(j.agent.samplerFloor.wakeCorePercent);
    pos(j.agent.samplerFloor.lookCorePercent);
    pos(j.agent.samplerFloor.lookUs);
    // 7: memory, small and large policy; the library's own mapping is found
    expect(j.memory).toHaveLength(2);
    for (const m of j.memory) {
      pos(m.unguardedRssKb);
      pos(m.guardedRssKb);
      pos(m.libraryRssKb);
      expect(typeof m.addedExcludingPolicyKb).toBe('number');
      expect(typeof m.policyMappedRssKb).toBe('number');
    }
    // 8: both layer zips
    expect(j.layer.map((l: { arch: string }) => l.arch).sort()).toEqual(['arm64', 'x86_64']);
    for (const l of j.layer) pos(l.zipBytes);
    // 9: what egress-guard run adds, every case, in the same results file
    expect(Object.keys(j.runCli.added).sort()).toEqual(['cold', 'egp', 'launcher', 'node', 'warm']);
    for (const v of Object.values(j.runCli.added) as { cpuMs: { median: number }; wallMs: { median: number } }[]) {
      expect(Number.isFinite(v.cpuMs.median)).toBe(true);
      expect(Number.isFinite(v.wallMs.median)).toBe(true);
    }
  });

  it('bench/run-cli (what `egress-guard run` adds) runs and reports every case', { timeout: 120_000 }, () => {
    const r = spawnSync(process.execPath, [join(root, 'dist/bench/run-cli.js'), '--rounds', '1', '--json'], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.rounds).toBe(1);
    expect(Object.keys(j.added)).toEqual(['warm', 'launcher', 'cold', 'egp', 'node']);
    for (const c of Object.values(j.added) as { wallMs: { n: number }; cpuMs: { n: number } }[]) {
      expect(c.wallMs.n).toBe(1);
      expect(c.cpuMs.n).toBe(1);
    }
  });
});
