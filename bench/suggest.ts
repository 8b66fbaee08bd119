/**
 * Throughput and memory of `egress-guard suggest` on a large synthetic log (`npm run bench:suggest`; rerunnable,
 * writes only a temporary file, removed at the end).
 *
 * The log imitates a busy account's CloudWatch export in plain-line form: per invoke START/END/REPORT, Lambda
 * text-format function lines, an EMF line, the wrapper's invoke summary, and on some invokes guard network events
 * (plain and text-prefixed) to a pool of destinations across 50 functions; every request id is unique, so the
 * request-id → function map is exercised at its bound.
 *
 * Method: generate the file once; then, interleaved (A B A B …), `--repeat` times each:
 *  A. baseline: read the file in 1 MiB chunks and count newlines (what any line-based tool must at least do);
 *  P. parse floor: `readline` over the file and `JSON.parse` of every line that contains `egress-guard` (what any
 *     JSON-aware reader of these logs must at least do);
 *  B. suggest: the real pipeline (`collect` + `suggestPolicy`, including its compile-and-match self-check).
 * Reported: medians of lines/s and MB/s, B's time relative to A and to P, and the largest RSS sampled (every 50 ms)
 * during the B runs, next to the RSS before them: memory must not grow with the input.
 *
 * Usage: node dist/bench/suggest.js [--size 256MiB] [--repeat 3]   (or: npx vite-node bench/suggest.ts -- …);
 * `KEEP=1` keeps the generated file and prints its path.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openInput } from '../policy/suggest/input.js';
import { collect, suggestPolicy } from '../policy/suggest/run.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)?$/.exec(s);
  if (!m) throw new Error(`--size: expected e.g. 256MiB or 1GiB, got ${s}`);
  const mult = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[m[2] ?? 'B']!;
  return Math.floor(Number(m[1]) * mult);
}

/** Deterministic pseudo-random numbers (the same file every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

function generate(file: string, target: number): number {
  const r = rng(7);
  const fns = Array.from({ length: 50 }, (_, i) => `service-${String(i).padStart(2, '0')}`);
  const hosts: string[] = [];
  for (let i = 0; i < 400; i++) hosts.push(`api${i % 40}.partner${Math.floor(i / 40)}.example.com`);
  for (let i = 0; i < 100; i++) hosts.push(`bucket-${i}.s3.us-east-1.amazonaws.com`);
  hosts.push('dynamodb.us-east-1.amazonaws.com', 'sqs.us-east-1.amazonaws.com', 'api.stripe.com');
  const ips = Array.from({ length: 200 }, (_, i) => `10.${i % 4}.${Math.floor(i / 4)}.${(i * 37) % 250}`);
  const fd = openSync(file, 'w');
  let written = 0;
  let lines = 0;
  let buf: string[] = [];
  let bufLen = 0;
  const push = (l: string) => {
    buf.push(l);
    bufLen += l.length + 1;
    lines++;
    if (bufLen > 1 << 20) {
      const b = Buffer.from(`${buf.join('\n')}\n`);
      writeSync(fd, b);
      written += b.length;
      buf = [];
      bufLen = 0;
    }
  };
  let t = Date.UTC(2026, 10, 1);
  for (let inv = 0; written + bufLen < target; inv++) {
    const fn = fns[Math.floor(r() * fns.length)]!;
    const req = `${(inv >>> 0).toString(16).padStart(8, '0')}-${Math.floor(r() * 65536)
      .toString(16)
      .padStart(4, '0')}-4abc-8def-${Math.floor(r() * 2 ** 48)
      .toString(16)
      .padStart(12, '0')}`;
    t += 7;
    push(`START RequestId: ${req} Version: $LATEST`);
    push(`${new Date(t).toISOString()}\t${req}\tINFO\thandling event ${inv} for customer ${Math.floor(r() * 1e6)}`);
    if (r() < 0.3) {
      const n = 1 + Math.floor(r() * 3);
      for (let k = 0; k < n; k++) {
        const byName = r() < 0.8;
        const host = hosts[Math.floor(r() * hosts.length)]!;
        const ip = ips[Math.floor(r() * ips.length)]!;
        const port = byName ? 443 : [5432, 6379, 8125][Math.floor(r() * 3)]!;
        const ev = byName
          ? `"event":"connect","host":"${host}","ip":"52.94.${k}.${inv % 250}","port":${port},"proto":"tcp"`
          : `"event":"connect","ip":"${ip}","port":${port},"proto":"tcp"`;
        const line = `{"level":40,"time":${t},"pid":8,"name":"egress-guard","msg":"deny connect (would block)",${ev},"decision":"deny","blocked":false,"rule":"default","mode":"audit","call":"connect","requestId":"${req}"}`;
        push(r() < 0.2 ? `${new Date(t).toISOString()}\t${req}\tINFO\t${line}` : line);
      }
    }
    push(
      `${new Date(t + 3).toISOString()}\t${req}\tINFO\t{"orderId":${inv},"status":"stored","items":${Math.floor(r() * 9)}}`,
    );
    const rx = Math.floor(r() ** 2 * 5e6);
    const tx = Math.floor(r() ** 2 * 5e5);
    push(
      `{"_aws":{"Timestamp":${t},"CloudWatchMetrics":[{"Namespace":"EgressGuard","Dimensions":[["FunctionName"]],"Metrics":[{"Name":"RxBytes","Unit":"Bytes"}]}]},"FunctionName":"${fn}","RxBytes":${rx}}`,
    );
    push(
      `{"level":30,"time":${t + 4},"pid":8,"name":"egress-guard","msg":"invoke","event":"invoke","requestId":"${req}","function":"${fn}","rxBytes":${rx},"txBytes":${tx},"durationMs":12,"budget":{},"budgetExceeded":false,"allowed":1,"denied":0,"blocked":0}`,
    );
    push(`END RequestId: ${req}`);
    push(
      `REPORT RequestId: ${req}\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB`,
    );
  }
  if (buf.length > 0) writeSync(fd, Buffer.from(`${buf.join('\n')}\n`));
  closeSync(fd);
  return lines;
}

async function baseline(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  }
  return n;
}

async function parseFloor(file: string): Promise<number> {
  let n = 0;
  const rl = createInterface({
    input: createReadStream(file, { highWaterMark: 1 << 20 }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of rl) {
    n++;
    if (line.includes('egress-guard')) {
      const i = line.indexOf('{');
      JSON.parse(line.slice(i));
    }
  }
  return n;
}

async function runSuggest(file: string): Promise<{ lines: number; rules: number; destinations: number }> {
  const agg = await collect([openInput(file, process.stdin)]);
  const s = await suggestPolicy(agg);
  return { lines: agg.stats.lines, rules: s.rules.length, destinations: agg.destinations.size };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const size = parseSize(arg('--size', '256MiB'));
  const repeat = Number(arg('--repeat', '3'));
  const dir = mkdtempSync(join(tmpdir(), 'bench-suggest-'));
  const file = join(dir, 'guard.log');
  try {
    const g0 = performance.now();
    const lines = generate(file, size);
    const bytes = statSync(file).size;
    console.log(
      `generated ${(bytes / 2 ** 20).toFixed(0)} MiB, ${lines.toLocaleString('en-US')} lines in ${((performance.now() - g0) / 1000).toFixed(1)} s`,
    );
    const rssBefore = process.memoryUsage().rss;
    let rssMax = rssBefore;
    const baseT: number[] = [];
    const parseT: number[] = [];
    const sugT: number[] = [];
    let last = { lines: 0, rules: 0, destinations: 0 };
    for (let i = 0; i < repeat; i++) {
      let t = performance.now();
      const n = await baseline(file);
      baseT.push((performance.now() - t) / 1000);
      t = performance.now();
      await parseFloor(file);
      parseT.push((performance.now() - t) / 1000);
      const sampler = setInterval(() => {
        rssMax = Math.max(rssMax, process.memoryUsage().rss);
      }, 50);
      t = performance.now();
      last = await runSuggest(file);
      sugT.push((performance.now() - t) / 1000);
      clearInterval(sampler);
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      if (n !== last.lines) throw new Error(`line counts differ: baseline ${n}, suggest ${last.lines}`);
      console.log(
        `run ${i + 1}: newline count ${baseT[i]!.toFixed(2)} s, parse floor ${parseT[i]!.toFixed(2)} s, suggest ${sugT[i]!.toFixed(2)} s`,
      );
    }
    const mb = bytes / 2 ** 20;
    const b = median(baseT);
    const p = median(parseT);
    const s = median(sugT);
    console.log(`suggest: ${last.destinations} distinct destinations → ${last.rules} rules`);
    console.log(
      `median over ${repeat} interleaved runs: suggest ${Math.round(lines / s).toLocaleString('en-US')} lines/s ` +
        `(${(mb / s).toFixed(0)} MiB/s); newline count ${(mb / b).toFixed(0)} MiB/s (suggest takes ${(s / b).toFixed(1)}×); ` +
        `readline + JSON.parse floor ${Math.round(lines / p).toLocaleString('en-US')} lines/s (suggest takes ${(s / p).toFixed(1)}×)`,
    );
    console.log(
      `RSS before the suggest runs ${(rssBefore / 2 ** 20).toFixed(0)} MiB, largest during them ${(rssMax / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(file);
  }
}

await main();
