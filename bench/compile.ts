/**
 * Compiler benchmark (not a test): `npm run build:ts && node dist/bench/compile.js [--names N] [--runs R]`.
 *
 * Measures, as medians of R runs (default 5; interleaved where two things are compared):
 * 1. compile time of a 100-rule policy (names, wildcards, CIDRs v4/v6, ports, deny rules);
 * 2. compile time of a policy with a names file of N names (default 1,000,000; a threat-feed denylist with 10%
 *    wildcards), the output size, and the process's peak RSS;
 * 3. at that size: loading the compiled file (header/table checks only, and with the full body checksum), and the
 *    reference matcher's decision time per query (hits and misses), plus `egress-guard explain` end to end.
 * Writes everything to a temp dir (removed at the end) and prints a table plus one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicyFileSync, loadCompiled, writeFileAtomic } from '../policy/index.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const N = opt('--names', 1_000_000);
const RUNS = opt('--runs', 5);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const time = (f: () => void) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
/** CPU time (user + system) of this process while `f` runs: less distorted than wall time on a busy machine. */
const cpu = (f: () => void) => {
  const c = process.cpuUsage();
  f();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
};

function policy100(): string {
  const rules: string[] = [];
  for (let i = 0; i < 40; i++) rules.push(`  - host: svc${i}.api.example.com\n    ports: [443]`);
  for (let i = 0; i < 20; i++) rules.push(`  - host: "*.region${i}.amazonaws.com"\n    ports: [443]`);
  for (let i = 0; i < 15; i++) rules.push(`  - cidr: 10.${i}.0.0/16\n    ports: [5432, "8000-8100"]`);
  for (let i = 0; i < 10; i++) rules.push(`  - cidr: "2001:db8:${i.toString(16)}::/48"`);
  const deny: string[] = [];
  for (let i = 0; i < 10; i++) deny.push(`  - host: "*.bad${i}.example"`);
  for (let i = 0; i < 5; i++) deny.push(`  - cidr: 10.${i}.${i}.0/24\n    proto: tcp`);
  return `version: 1\nmode: enforce\nallow:\n${rules.join('\n')}\ndeny:\n${deny.join('\n')}\n`;
}

/** Deterministic threat-feed-like names: two to four labels, 10% wildcards. */
function feed(n: number): string {
  const parts: string[] = [];
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const a = (x >>> 8).toString(36);
    const name = `${a}-${i.toString(36)}.${['com', 'net', 'org', 'info', 'xyz', 'top'][x % 6]}`;
    parts.push(i % 10 === 0 ? `*.${name}` : x % 3 === 0 ? `cdn.${name}` : name);
  }
  return `# generated feed: ${n} names\n${parts.join('\n')}\n`;
}

const dir = mkdtempSync(join(tmpdir(), 'egp-bench-'));
try {
  const small = join(dir, 'p100.yaml');
  writeFileSync(small, policy100());
  compilePolicyFileSync(small); // warm up
  const smallTimes = Array.from({ length: Math.max(RUNS, 10) }, () => time(() => compilePolicyFileSync(small)));

  const feedText = feed(N);
  writeFileSync(join(dir, 'feed.txt'), feedText);
  const big = join(dir, 'big.yaml');
  writeFileSync(big, `${policy100()}  - name: threat-feed\n    hosts_file: feed.txt\n`);
  const bigOut = join(dir, 'big.egp');
  const bigTimes: number[] = [];
  const bigCpu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let wall = 0;
    bigCpu.push(
      cpu(() => {
        wall = time(() => writeFileAtomic(bigOut, compilePolicyFileSync(big).bytes));
      }),
    );
    bigTimes.push(wall);
  }
  const smallCpu = median(Array.from({ length: Math.max(RUNS, 10) }, () => cpu(() => compilePolicyFileSync(small))));
  const loadAvg = (await import('node:os')).loadavg()[0]!;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;

  const fileBytes = new Uint8Array(readFileSync(bigOut));
  const loadAuto = Array.from({ length: RUNS }, () => time(() => loadCompiled(fileBytes)));
  const loadFull = Array.from({ length: RUNS }, () => time(() => loadCompiled(fileBytes, { verify: 'full' })));
  const p = loadCompiled(fileBytes);
  const lines = feedText.split('\n').filter((l) => l && !l.startsWith('#'));
  const hits = lines.filter((_, i) => i % 997 === 1).map((l) => (l.startsWith('*.') ? `x.${l.slice(2)}` : l));
  const misses = hits.map((h) => `nope-${h}`);
  const Q = 100_000;
  const perQuery = (qs: string[]) =>
    median(
      Array.from({ length: RUNS }, () => {
        const t = performance.now();
        for (let i = 0; i < Q; i++) p.decideName(qs[i % qs.length]!, 443, 'tcp');
        return ((performance.now() - t) * 1000) / Q;
      }),
    );
  const hitUs = perQuery(hits);
  const missUs = perQuery(misses);
  const deniedOk = hits.every((h) => p.decideName(h).rule === 'threat-feed');
  const addrUs = median(
    Array.from({ length: RUNS }, () => {
      const t = performance.now();
      for (let i = 0; i < Q; i++) p.decideAddr(`10.${i & 15}.1.${i & 255}`, 5432, 'tcp', hits[i % hits.length]);
      return ((performance.now() - t) * 1000) / Q;
    }),
  );

  const bin = join(dirname(fileURLToPath(import.meta.url)), '../policy/bin.js');
  const explainMs = median(
    Array.from({ length: RUNS }, () =>
      time(() => {
        const r = spawnSync(process.execPath, [bin, 'explain', bigOut, `${hits[3]}:443`], { encoding: 'utf8' });
        if (r.status !== 1) throw new Error(`explain exit ${r.status}: ${r.stderr}`);
      }),
    ),
  );
  const nodeMs = median(Array.from({ length: RUNS }, () => time(() => spawnSync(process.execPath, ['-e', '0']))));

  const result = {
    compile100RulesMs: +median(smallTimes).toFixed(2),
    compile100RulesCpuMs: +smallCpu.toFixed(2),
    names: N,
    compileNamesMs: +median(bigTimes).toFixed(0),
    compileNamesCpuMs: +median(bigCpu).toFixed(0),
    compileNamesRunsMs: bigTimes.map((t) => +t.toFixed(0)),
    outputBytes: statSync(bigOut).size,
    peakRssMiB: +peakRssMiB.toFixed(0),
    loadMs: +median(loadAuto).toFixed(2),
    loadFullVerifyMs: +median(loadFull).toFixed(1),
    decideNameHitUs: +hitUs.toFixed(2),
    decideNameMissUs: +missUs.toFixed(2),
    decideAddrWithBoundNameUs: +addrUs.toFixed(2),
    explainCliMs: +explainMs.toFixed(0),
    nodeStartupMs: +nodeMs.toFixed(0),
    denylistHitsDenied: deniedOk,
    loadAverage: +loadAvg.toFixed(1),
  };
  const rows: Array<[string, string]> = [
    ['compile, 100 rules (median wall / CPU)', `${result.compile100RulesMs} ms / ${result.compile100RulesCpuMs} ms`],
    [
      `compile + write, ${N.toLocaleString('en')} names (median of ${RUNS}, wall / CPU)`,
      `${result.compileNamesMs} ms / ${result.compileNamesCpuMs} ms`,
    ],
    ['output file size', `${(result.outputBytes / 1024 / 1024).toFixed(1)} MiB (${result.outputBytes} bytes)`],
    ['peak RSS of this process', `${result.peakRssMiB} MiB`],
    ['load (header + table checks)', `${result.loadMs} ms`],
    ['load with full body CRC', `${result.loadFullVerifyMs} ms`],
    ['decideName, hit (per query)', `${result.decideNameHitUs} µs`],
    ['decideName, miss (per query)', `${result.decideNameMissUs} µs`],
    ['decideAddr + bound name (per query)', `${result.decideAddrWithBoundNameUs} µs`],
    ['machine load average during the run', `${result.loadAverage} (wall times inflate when it exceeds the cores)`],
    ['`egress-guard explain` end to end', `${result.explainCliMs} ms (node startup alone: ${result.nodeStartupMs} ms)`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  console.log(JSON.stringify(result));
  if (!deniedOk) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
