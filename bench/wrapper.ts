/**
 * Added latency of the handler wrappers per invocation (`npm run bench:wrapper`; rerunnable, writes nothing to the
 * tree). Goal: ≤ 200 µs median added per invoke.
 *
 * Method: one worker process per language imports both the wrapped handler (the real layer entry: the esbuild bundle
 * `dist/layer/node/handler.mjs`, or `layer/python/egress_guard_wrapper.py`) and the same do-nothing handler unwrapped,
 * then calls them alternately (ABAB…, the first of each pair alternating) with event/context objects as the runtime
 * does. Each call is timed from just before the call to the settled result. Reported: medians and p90 of both, and
 * the median of the per-pair differences. The wrapper runs in its production configuration: policy with budgets (so
 * the sampler timer is armed), shared state file, guard log to a file (on Lambda it is a pipe to the log agent), EMF to
 * stdout (sent to /dev/null here). Timing noise from other processes on this 2-core machine hits both sides of a pair.
 *
 * Usage: npm run bench:wrapper -- [--invokes 5000] [--sample-ms 10] [--no-python]
 * (= vite-node bench/wrapper.ts; the workers are bench/wrapper-worker.mjs and bench/wrapper.py)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicyTextSync } from '../policy/index.js';

// bench/wrapper.ts (vite-node) or dist/bench/wrapper.js (compiled): the repository root is one or two levels up
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, here.endsWith(join('dist', 'bench')) ? '../..' : '..');
const fnDir = join(root, 'bench/wrapper-fn');

interface Stats {
  lang: string;
  invokes: number;
  plainMedianUs: number;
  wrappedMedianUs: number;
  plainP90Us: number;
  wrappedP90Us: number;
  addedMedianUs: number;
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function main(): Promise<void> {
  const n = arg('--invokes', 5000);
  const sampleMs = arg('--sample-ms', 10);
  const dir = mkdtempSync(join(tmpdir(), 'eg-bench-'));
  try {
    const bundle = join(dir, 'handler.mjs');
    const b = spawnSync(process.execPath, [join(root, 'layer/node/bundle.mjs'), '--outfile', bundle], {
      stdio: 'inherit',
    });
    if (b.status !== 0) throw new Error('bundle failed');
    // a policy with budgets far above what a no-op moves: the sampler is armed, nothing trips
    const policy = join(dir, 'bench.egp');
    writeFileSync(
      policy,
      compilePolicyTextSync(
        'version: 1\nmode: enforce\nallow:\n  - ip: 127.0.0.1\nbudgets:\n  perInvoke:\n    totalBytes: 1000000000\n',
        'bench.yaml',
      ).bytes,
    );
    const env = {
      ...process.env,
      EG_BENCH_BUNDLE: bundle,
      LAMBDA_TASK_ROOT: fnDir,
      EGRESS_GUARD_ORIGINAL_HANDLER: 'noop.handler',
      EGRESS_GUARD_POLICY: policy,
      EGRESS_GUARD_STATE: join(dir, 'state'),
      EGRESS_GUARD_LOG: join(dir, 'guard.log'),
      EGRESS_GUARD_SAMPLE_MS: String(sampleMs),
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
    };
    const results: Stats[] = [];
    const nodeOut = join(dir, 'node.json');
    const r = spawnSync(process.execPath, [join(root, 'bench/wrapper-worker.mjs'), String(n), nodeOut], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0) throw new Error('node worker failed');
    results.push(JSON.parse(readFileSync(nodeOut, 'utf8')) as Stats);
    if (!process.argv.includes('--no-python') && spawnSync('python3', ['--version']).status === 0) {
      const pyOut = join(dir, 'python.json');
      const p = spawnSync('python3', [join(root, 'bench/wrapper.py'), String(n), pyOut], {
        env: {
          ...env,
          PYTHONPATH: join(root, 'layer/python'),
          _HANDLER: 'egress_guard_wrapper.handler',
          PYTHONDONTWRITEBYTECODE: '1',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (p.status !== 0) throw new Error('python worker failed');
      results.push(JSON.parse(readFileSync(pyOut, 'utf8')) as Stats);
    }
    console.log(`wrapper overhead per invoke (µs), ${n} interleaved pairs, sampling every ${sampleMs} ms`);
    console.table(results);
    console.log(JSON.stringify({ bench: 'wrapper', results })); // one line for `npm run bench` (bench/run.ts)
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
