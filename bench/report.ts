/**
 * Renders `.bench/results.json` (written by `npm run bench`) as the Markdown tables of BENCHMARKS.md "Latest figures":
 *   node dist/bench/report.js [results.json]      → stdout
 * Pure formatting: every number comes from the JSON; nothing is measured here.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WRITE_VERSION } from '../policy/gen/format.js';
import type { Spread } from './stats.js';

// biome-ignore lint/suspicious/noExplicitAny: the JSON written by bench/run.ts; its shape is checked by test/bench
type J = any;
const file = resolve(process.argv[2] ?? join(process.cwd(), '.bench/results.json'));
const j: J = JSON.parse(readFileSync(file, 'utf8'));
const g = j.goals;
const f = (x: number, d = 3) => Number(x).toFixed(d);
const signed = (x: number, d = 3) => `${x >= 0 ? '+' : '−'}${f(Math.abs(x), d)}`;
const sp = (s: Pick<Spread, 'median' | 'min' | 'max'>, d = 3) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;
const ok = (b: boolean) => (b ? 'met' : '**missed**');
const out: string[] = [];
const p = (s = '') => out.push(s);

const m = j.machine;
p(
  `Run ${j.started} → ${j.finished}: ${m.nproc} vCPU ${m.cpuModel}, kernel ${m.kernel}, Node ${m.node}; load average ` +
    `${m.loadAverageStart.join(' / ')} at the start, ${j.loadAverageEnd.join(' / ')} at the end (1 / 5 / 15 min).`,
);
p();
p('| # | figure | measured: median (min–max) | goal | |');
p('|---|--------|----------------------------|------|-|');
for (const h of j.hooks ?? [])
  for (const mode of ['audit', 'enforce'])
    p(
      `| ${h.loop.startsWith('socket') ? 1 : 2} | ${h.loop}, ${mode} (${h.rounds} rounds × ${h.iters}) | ratio ${sp(h[mode])}; ` +
        `${f(h.unguardedNs / 1000, 2)} → ${f(h[mode].guardedNs / 1000, 2)} µs CPU per iteration | ≤ ${g.hooksRatio} | ${ok(h[mode].median <= g.hooksRatio)} |`,
    );
const goalNs = (set: string): number =>
  set === 'hot' ? g.decisionNsAt1M : (g.decisionSpreadNsAt1M ?? g.decisionNsAt1M);
// rows of the default format version (older JSON has no `format`: its only version)
const defaultFormat = (d: J): boolean => (d.format ?? WRITE_VERSION) === WRITE_VERSION;
const big = (j.decision ?? []).filter((d: J) => d.rules === 1_000_000 && defaultFormat(d));
for (const d of big)
  p(
    `| 3 | decision at 1M rules, ${d.cls}, ${d.set} (${d.queries} queries) | ${sp({ median: d.nsMedian, min: d.nsMin, max: d.nsMax }, 1)} ns | ≤ ${goalNs(d.set)} ns | ${ok(d.nsMedian <= goalNs(d.set))} |`,
  );
for (const s of j.startup ?? [])
  p(
    `| 4 | start \`${s.command}\`, ${j.quick ? 'small' : '1M-rule'} policy (${s.rounds} pairs) | CPU ratio ${sp(s.cpu)}; wall ratio ${sp(s.wall)}; ` +
      `${f(s.unguardedCpuMs, 1)} → ${f(s.guardedCpuMs, 1)} ms CPU | ≤ ${g.startupRatio} | ${ok(s.cpu.median <= g.startupRatio)} |`,
  );
if (j.startupInstructions) {
  const si = j.startupInstructions;
  p(
    `| 4 | start \`${si.command}\`, 1M-rule policy: instructions (callgrind) | ${si.unguarded.toLocaleString('en')} → ${si.guarded.toLocaleString('en')}: ratio ${f(si.ratio, 4)} | ≤ ${g.startupRatio} | ${ok(si.ratio <= g.startupRatio)} |`,
  );
}
for (const c of j.compile ?? [])
  p(
    `| 5 | \`egress-guard compile\`, ${c.policy} (${c.runs} runs) | wall ${sp(c.wallMs, 0)} ms; CPU ${sp(c.cpuMs, 0)} ms; ${c.outputBytes.toLocaleString('en')} bytes out | ≤ ${g.compileMs} ms | ${ok(c.wallMs.median <= g.compileMs)} |`,
  );
for (const a of j.agent?.init ?? [])
  p(
    `| 6 | ${a.lang} init added: spawn → first GET /next (${a.rounds} rounds) | ${signed(a.addedMs, 2)} ms (plain ${f(a.plainMs, 1)} ms, guarded ${f(a.guardedMs, 1)} ms; min–max ${f(a.addedMinMs, 2)}–${f(a.addedMaxMs, 2)}) | ≤ ${g.initAddedMs} ms | ${ok(a.addedMs <= g.initAddedMs)} |`,
  );
for (const a of j.agent?.invoke ?? [])
  p(
    `| 6 | ${a.lang} per-invoke overhead, Runtime API loop (${a.invokes} pairs${a.rounds ? ` over ${a.rounds} pairs of runtimes` : ''}) | ${signed(a.addedMedianUs, 1)} µs (plain ${a.plainMedianUs} µs, guarded ${a.guardedMedianUs} µs${a.roundMedianUs ? `; each pair of runtimes ${f(Math.min(...a.roundMedianUs), 0)} to ${f(Math.max(...a.roundMedianUs), 0)} µs` : ''}) | ≤ ${g.invokeAddedUs} µs | ${ok(a.addedMedianUs <= g.invokeAddedUs)} |`,
  );
for (const a of j.agent?.sampler ?? [])
  p(
    `| 6 | agent CPU over a 2 s invoke, ${a.armed ? 'sampler armed' : 'not armed (audit)'} (${a.runs} runs) | ${f(a.corePercent, 2)} % of one core (min–max ${f(a.minCorePercent, 2)}–${f(a.maxCorePercent, 2)}) | ${a.armed ? `≤ ${g.samplerCorePercent} %` : '—'} | ${a.armed ? ok(a.corePercent <= g.samplerCorePercent) : '—'} |`,
  );
const fl = j.agent?.samplerFloor;
if (fl)
  p(
    `| 6 | floor on this machine: one thread woken every ${f(fl.intervalUs / 1000, 1)} ms, the sampler's interval here (${fl.runs} runs) | ${f(fl.wakeCorePercent, 2)} % of one core alone; ${f(fl.lookCorePercent, 2)} % with a look's \`/proc/net/dev\` read (${f(fl.lookUs, 0)} µs a look) | — | |`,
  );
for (const r of j.memory ?? [])
  p(
    `| 7 | RSS, ${r.policy} (${r.policyFileBytes.toLocaleString('en')}-byte file) | +${r.addedExcludingPolicyKb} KiB besides the policy mapping (library's own mappings ${r.libraryRssKb} KiB); ${r.policyMappedSizeKb > 0 ? `policy mapping ${r.policyMappedRssKb} KiB resident of ${r.policyMappedSizeKb} KiB mapped` : 'policy file ≤ 1 MiB: copied, counted in the added figure'}; ${r.unguardedRssKb} → ${r.guardedRssKb} KiB total | — | |`,
  );
if (j.deniedConnect) {
  const d = j.deniedConnect;
  p(
    `| 1b | denied connect in a loop, enforce, lines to a pipe | ${f(d.limitedNs, 0)} ns per call with the log rate limiter (${d.linesLimited} lines), ${f(d.unlimitedNs, 0)} ns without (${d.linesUnlimited} lines): ×${sp(d.unlimitedOverLimited, 2)}; unguarded ${f(d.unguardedNs, 0)} ns | — | |`,
  );
}
const RUN_CASE: Record<string, string> = {
  launcher: 'policy unchanged, through the `egress-guard-run` bin (native launcher, launch record in place)',
  warm: 'policy unchanged, through the Node CLI (warm cache)',
  cold: 'cold cache, Node CLI',
  egp: 'a compiled .egp, Node CLI',
  node: '`node -e 0` alone, for reference',
};
for (const [k, v] of Object.entries<J>(j.runCli?.added ?? {}))
  p(
    `| 9 | \`egress-guard run -- /bin/true\` added, ${RUN_CASE[k] ?? k} (${j.runCli.rounds} rounds) | CPU +${sp(v.cpuMs, 1)} ms; wall +${f(v.wallMs.median, 1)} ms | ${k === 'launcher' ? `≤ ${g.runAddedMs} ms` : '—'} | ${k === 'launcher' ? ok(v.cpuMs.median <= g.runAddedMs) : ''} |`,
  );
for (const l of j.layer ?? [])
  p(
    `| 8 | layer zip, ${l.arch} | ${l.zipBytes.toLocaleString('en')} bytes | ≤ ${g.layerZipBytes.toLocaleString('en')} | ${ok(l.zipBytes <= g.layerZipBytes)} |`,
  );
if (j.hookInstructions) {
  p();
  p('Instructions per call (callgrind, user space; exact):');
  p();
  p('| loop | unguarded | guard adds, audit | guard adds, enforce |');
  p('|------|----------:|------------------:|--------------------:|');
  for (const h of j.hookInstructions)
    p(`| ${h.loop} | ${h.unguardedPerIter} | ${h.auditAddedPerIter} | ${h.enforceAddedPerIter} |`);
}
p();
p('Decision cost by policy size (ns per decision, median of rounds; hot = 16 queries repeated, spread = up to 4,096):');
p();
const sizes = [...new Set((j.decision ?? []).map((d: J) => d.rules))] as number[];
const classes = ['name', 'wildcard', 'ipv4', 'ipv6'];
p(`| rules | file | ${classes.map((c) => `${c} hot | ${c} spread`).join(' | ')} |`);
p(`|------:|-----:|${classes.map(() => '-----:|-----:').join('|')}|`);
for (const n of sizes) {
  const rows = j.decision.filter((d: J) => d.rules === n && defaultFormat(d));
  const cell = (c: string, s: string) => {
    const d = rows.find((x: J) => x.cls === c && x.set === s);
    return d ? f(d.nsMedian, 0) : '–';
  };
  const kb = rows[0].fileBytes / 1024;
  p(
    `| ${n.toLocaleString('en')} | ${kb >= 1024 ? `${f(kb / 1024, 1)} MiB` : `${f(kb, 1)} KiB`} | ${classes.map((c) => `${cell(c, 'hot')} | ${cell(c, 'spread')}`).join(' | ')} |`,
  );
}
const other = (j.decision ?? []).filter((d: J) => !defaultFormat(d));
if (other.length > 0) {
  const n = other[0].rules as number;
  p();
  p(
    `The same ${n.toLocaleString('en')}-rule policy in each format version (run one after the other; ns, median of rounds):`,
  );
  p();
  p(`| format | file | ${classes.map((c) => `${c} hot | ${c} spread`).join(' | ')} |`);
  p(`|-------:|-----:|${classes.map(() => '-----:|-----:').join('|')}|`);
  const versions = [
    ...new Set(j.decision.filter((d: J) => d.rules === n).map((d: J) => d.format ?? WRITE_VERSION)),
  ] as number[];
  for (const v of versions.sort()) {
    const rows = j.decision.filter((d: J) => d.rules === n && (d.format ?? WRITE_VERSION) === v);
    const cell = (c: string, s: string) => {
      const d = rows.find((x: J) => x.cls === c && x.set === s);
      return d ? f(d.nsMedian, 0) : '–';
    };
    const kb = rows[0].fileBytes / 1024;
    p(
      `| ${v} | ${kb >= 1024 ? `${f(kb / 1024, 1)} MiB` : `${f(kb, 1)} KiB`} | ${classes.map((c) => `${cell(c, 'hot')} | ${cell(c, 'spread')}`).join(' | ')} |`,
    );
  }
}
process.stdout.write(`${out.join('\n')}\n`);
