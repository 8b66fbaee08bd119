/**
 * Benchmark 6: what the guard adds to a Lambda runtime, through a real Runtime API loop (demo/runtime-api.ts) — the
 * exec wrapper, the interposer and the agent together, against the same runtime started plainly, interleaved.
 *
 *   node dist/bench/agent.js [--rounds N] [--invokes N] [--invoke-rounds R] [--sampler-runs N] [--agent PATH] [--wrapper PATH] [--init-only]
 *   (run by bench/run.ts; prints one JSON line)
 *
 * --wrapper PATH: the guarded runs start through that exec wrapper instead of the staged layer's (it still finds the
 * staged library through EGRESS_GUARD_OPT), to compare two versions of the wrapper.
 *
 * --init-only: only the init figures (no invoke, no sampler), for many rounds (`--rounds 200`) when the wall time of
 * init is too noisy to resolve a millisecond.
 *
 * --agent PATH: the guarded runs use that egress-guard-agent binary (EGRESS_GUARD_AGENT) instead of the staged
 * layer's, to compare two versions of the agent in one run of everything else.
 *
 *   node dist/bench/agent.js --compare OLD_AGENT [--invokes N]
 *
 * --compare: only the per-invoke figure, with three runtimes at once per language — unguarded, guarded with the agent
 * OLD_AGENT, guarded with the staged layer's agent — invoked in rotating order, so both agents meet the same load;
 * prints the medians of the per-triple differences (guarded − unguarded for each agent, new − old).
 *
 *   node dist/bench/agent.js --sampler-only [--runs N] [--agent PATH | --compare OLD_AGENT]
 *
 * --sampler-only: only the sampler figure (below), N times (default 1); with --compare, each time for the agent
 * OLD_AGENT and the staged layer's agent, in alternating order, so both meet the same load.
 *
 * - init: from the spawn of the runtime command (guarded: `wrapper <command>`) to the runtime's first
 *   GET /2018-06-01/runtime/invocation/next reaching the Runtime API; Node (the demo's runtime loop) and Python (the
 *   demo's loop, standard library only). N rounds, guarded and plain alternating; the median of the per-round
 *   differences. Beside the wall time, the CPU time spent by then (every thread's schedstat, read when that GET
 *   arrives, while the runtime waits for its answer): the runtime's process (the exec wrapper and the interposer's
 *   constructor run in it, before the runtime), guarded minus plain, and the agent's own; CPU time moves less with
 *   the machine's load than wall time, and on a 1-vCPU function the agent's CPU competes with the runtime's init.
 * - invoke: the latency of one invoke as the caller sees it (queue the event → the runtime's response received by the
 *   Runtime API) of a do-nothing handler, guarded vs plain, pairs alternating; the median of per-pair differences.
 *   --invoke-rounds R (default 8): the --invokes pairs are split over R pairs of runtimes, each pair started afresh
 *   (which one first alternates), because where the scheduler places a runtime and its agent holds for the pair's
 *   life and moves the figure by up to ~100 µs on a 2-vCPU machine; also printed: each round's median.
 * - sampler: the agent's CPU time (every thread's /proc/<agent>/task/<tid>/schedstat, in ns) over a 2 s invoke while
 *   the sampler is armed (enforce mode with budgets), as a share of one core; and the same invoke in audit mode (not
 *   armed). --sampler-runs N (default 5) runs of each, their order alternating; the median, min and max.
 * - samplerFloor: after each pair of sampler runs, native/bench/bench_wake with the same policy: one thread woken at
 *   the agent's own look interval for these budgets, alone and with the look's /proc/net/dev read (the medians) — what
 *   this machine charges for the looks themselves, whatever the agent does around them.
 * Guarded configuration: enforce mode, the 100-rule policy of the hook benchmarks plus per-invoke budgets, guard log
 * to a file, EMF to stdout (read and discarded), state file in a scratch directory.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { RuntimeApi } from '../demo/runtime-api.js';
import { stageLayer } from '../layer/build/build-layer.js';
import { compilePolicyTextSync } from '../policy/index.js';
import { hooksPolicy } from './policies.js';
import { spread } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, here.endsWith(join('dist', 'bench')) ? '../..' : '..');
const args = process.argv.slice(2);
const num = (f: string, d: number) => {
  const i = args.indexOf(f);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const ROUNDS = num('--rounds', 20);
const INVOKES = num('--invokes', 2000);
const AGENT = args.includes('--agent') ? resolve(String(args[args.indexOf('--agent') + 1])) : undefined;
const COMPARE = args.includes('--compare') ? resolve(String(args[args.indexOf('--compare') + 1])) : undefined;
const INIT_ONLY = args.includes('--init-only');
const WRAPPER = args.includes('--wrapper') ? resolve(String(args[args.indexOf('--wrapper') + 1])) : undefined;
const SAMPLER_ONLY = args.includes('--sampler-only');
const RUNS = num('--runs', 1);
const SAMPLER_RUNS = num('--sampler-runs', 5);
const INVOKE_ROUNDS = num('--invoke-rounds', 8);

const work = mkdtempSync(join(tmpdir(), 'eg-bench-agent-'));
const opt = join(work, 'opt');
const task = join(work, 'task');

interface Fn {
  lang: 'node' | 'python';
  command: string[];
  handler: string;
}

async function setup(): Promise<{ fns: Fn[]; policy: string }> {
  stageLayer(process.arch === 'arm64' ? 'arm64' : 'x86_64', opt, { build: false });
  await build({
    entryPoints: [join(root, 'demo/runtime/node-runtime.ts')],
    outfile: join(work, 'node-runtime.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  mkdirSync(task);
  writeFileSync(join(task, 'noop.mjs'), 'export const handler = async (e) => ({ ok: true, e });\n');
  writeFileSync(join(task, 'noop.py'), 'def handler(event, context):\n    return {"ok": True, "e": event}\n');
  // the interpreter itself, as Lambda starts it: a version manager's shim (pyenv: a bash script that runs several
  // programs) would be guarded too and charge its own start-up to the guard
  const python =
    spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim() || 'python3';
  const policy = join(work, 'p100-budgets.egp');
  const yaml = `${hooksPolicy().replace('mode: audit', 'mode: enforce')}budgets:\n  perInvoke:\n    rxBytes: 50MiB\n    txBytes: 5MiB\n`;
  writeFileSync(policy, compilePolicyTextSync(yaml, 'p100-budgets.yaml').bytes);
  return {
    policy,
    fns: [
      { lang: 'node', command: [process.execPath, join(work, 'node-runtime.mjs')], handler: 'noop.handler' },
      { lang: 'python', command: [python, join(root, 'demo/runtime/python_runtime.py')], handler: 'noop.handler' },
    ],
  };
}

interface Started {
  api: RuntimeApi;
  child: ChildProcess;
  state: string;
  /** ms from spawn to the first GET …/next */
  initMs: number;
  /** CPU ms of the runtime's process (all its threads) when that GET arrived */
  runtimeCpuMs: number;
  /** CPU ms of the agent by then (0 unguarded, NaN when its pid was not yet in the state file) */
  agentCpuMs: number;
}

async function start(fn: Fn, guarded: boolean, policy: string, mode = 'enforce', agent = AGENT): Promise<Started> {
  const api = new RuntimeApi();
  const address = await api.listen();
  const dir = mkdtempSync(join(work, 'run-'));
  const state = join(dir, 'state');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LAMBDA_TASK_ROOT: task,
    _HANDLER: fn.handler,
    AWS_LAMBDA_RUNTIME_API: address,
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    PYTHONDONTWRITEBYTECODE: '1',
    ...(guarded
      ? {
          EGRESS_GUARD_OPT: opt,
          EGRESS_GUARD_POLICY: policy,
          EGRESS_GUARD_MODE: mode,
          EGRESS_GUARD_LOG: join(dir, 'guard.log'),
          EGRESS_GUARD_STATE: state,
          ...(agent ? { EGRESS_GUARD_AGENT: agent } : {}),
        }
      : {}),
  };
  let first = 0;
  let runtimeCpuMs = Number.NaN;
  let agentCpuMs = guarded ? Number.NaN : 0;
  const ready = new Promise<void>((ok) => {
    api.onRequest = (method, url) => {
      if (first === 0 && method === 'GET' && url.endsWith('/invocation/next')) {
        first = performance.now();
        runtimeCpuMs = child.pid ? cpuSeconds(child.pid) * 1000 : Number.NaN;
        if (guarded) {
          try {
            const pid = agentPid(state);
            if (pid > 0) agentCpuMs = cpuSeconds(pid) * 1000;
          } catch {
            // no state file yet: left NaN, counted as missing
          }
        }
        ok();
      }
    };
  });
  const argv = guarded ? [WRAPPER ?? join(opt, 'egress-guard', 'wrapper'), ...fn.command] : fn.command;
  const t0 = performance.now();
  const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout?.resume(); // EMF lines: read and discarded
  await ready;
  return { api, child, state, initMs: first - t0, runtimeCpuMs, agentCpuMs };
}

async function stop(s: Started): Promise<void> {
  const gone = new Promise<void>((ok) => s.child.on('exit', () => ok()));
  s.child.kill('SIGKILL');
  await gone;
  await s.api.close();
}

async function timed(s: Started, event: unknown): Promise<number> {
  const t = performance.now();
  const o = await s.api.invoke(event, { timeoutMs: 30_000 });
  if (!o.ok) throw new Error(`bench invoke failed: ${JSON.stringify(o.body)}`);
  return performance.now() - t;
}

/** CPU time of every thread of `pid`, in seconds: the first field of /proc/<pid>/task/<tid>/schedstat (ns on the CPU),
 * exact where /proc/<pid>/stat counts 10 ms ticks (0.5 % of a 2 s invoke per tick). */
function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns / 1e9;
}

const agentPid = (state: string) => Number(readFileSync(state).readBigUInt64LE(112));

/** --compare: per-invoke overhead of two agents against the same unguarded runtime, triples in rotating order. */
async function compare(fns: Fn[], policy: string, old: string): Promise<unknown[]> {
  const out: unknown[] = [];
  const ORDERS = [
    [0, 1, 2],
    [2, 1, 0],
    [1, 2, 0],
    [0, 2, 1],
    [1, 0, 2],
    [2, 0, 1],
  ];
  for (const fn of fns) {
    const arms = [
      await start(fn, false, policy),
      await start(fn, true, policy, 'enforce', old),
      await start(fn, true, policy, 'enforce', undefined),
    ];
    for (let i = 0; i < 50; i++) for (const a of arms) await timed(a, {});
    const t: number[][] = [[], [], []];
    for (let i = 0; i < INVOKES; i++) {
      for (const k of ORDERS[i % ORDERS.length] as number[])
        (t[k] as number[]).push(await timed(arms[k] as Started, { i }));
    }
    for (const a of arms) await stop(a);
    const us = (a: number, b: number) =>
      Math.round(spread((t[a] as number[]).map((x, i) => (x - (t[b] as number[])[i]!) * 1000)).median * 10) / 10;
    out.push({ lang: fn.lang, invokes: INVOKES, oldAddedUs: us(1, 0), newAddedUs: us(2, 0), newMinusOldUs: us(2, 1) });
  }
  return out;
}

/** The agent's CPU over one 2 s invoke of the Python runtime, as a share of one core (the `sampler` figure). */
async function samplerCpu(fns: Fn[], policy: string, mode: string, agent = AGENT): Promise<Record<string, unknown>> {
  writeFileSync(join(task, 'sleep2.py'), 'import time\ndef handler(e, c):\n    time.sleep(2)\n    return {}\n');
  const s = await start({ ...(fns[1] as Fn), handler: 'sleep2.handler' }, true, policy, mode, agent);
  await timed(s, {}); // the first invoke starts the agent's sampler thread and warms everything up
  const pid = agentPid(s.state);
  const before = cpuSeconds(pid);
  const t = performance.now();
  await timed(s, {});
  const wallS = (performance.now() - t) / 1000;
  const cpuS = cpuSeconds(pid) - before;
  await stop(s);
  return { mode, armed: mode === 'enforce', wallS, cpuS, corePercent: (cpuS / wallS) * 100 };
}

interface Wake {
  intervalUs: number;
  wakeCorePercent: number;
  lookCorePercent: number;
  lookUs: number;
}

/** The floor under the sampler's CPU on this machine (native/bench/bench_wake.c): one thread woken at the agent's look
 * interval for this policy's budgets, alone and with the look's /proc/net/dev read, 2 s each. */
function wakeFloor(policy: string): Wake {
  const r = spawnSync(join(root, 'native/build/bench_wake'), [policy, '2'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench_wake failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as Wake;
}

async function main(): Promise<void> {
  const { fns, policy } = await setup();
  if (SAMPLER_ONLY) {
    const runs: unknown[] = [];
    for (let r = 0; r < RUNS; r++) {
      if (COMPARE) {
        const arms: [string, string | undefined][] = [
          ['old', COMPARE],
          ['new', undefined],
        ];
        for (const [name, agent] of r % 2 === 0 ? arms : arms.reverse())
          runs.push({ run: r, agent: name, ...(await samplerCpu(fns, policy, 'enforce', agent)) });
      } else {
        for (const mode of ['enforce', 'audit']) runs.push({ run: r, ...(await samplerCpu(fns, policy, mode)) });
      }
    }
    process.stdout.write(`${JSON.stringify({ bench: 'agent-sampler', old: COMPARE, sampler: runs })}\n`);
    return;
  }
  if (COMPARE) {
    process.stdout.write(
      `${JSON.stringify({ bench: 'agent-compare', old: COMPARE, invoke: await compare(fns, policy, COMPARE) })}\n`,
    );
    return;
  }
  const init: unknown[] = [];
  const invoke: unknown[] = [];
  for (const fn of fns) {
    const plain: Started[] = [];
    const guarded: Started[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const g of r % 2 === 0 ? [false, true] : [true, false]) {
        const s = await start(fn, g, policy);
        (g ? guarded : plain).push(s);
        await stop(s);
      }
    }
    const diffs = guarded.map((g, i) => g.initMs - (plain[i] as Started).initMs);
    const cpuDiffs = guarded.map((g, i) => g.runtimeCpuMs - (plain[i] as Started).runtimeCpuMs);
    const agentCpu = guarded.map((g) => g.agentCpuMs).filter((x) => !Number.isNaN(x));
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    init.push({
      lang: fn.lang,
      rounds: ROUNDS,
      plainMs: spread(plain.map((s) => s.initMs)).median,
      guardedMs: spread(guarded.map((s) => s.initMs)).median,
      addedMs: spread(diffs).median,
      addedMinMs: spread(diffs).min,
      addedMaxMs: spread(diffs).max,
      plainCpuMs: r3(spread(plain.map((s) => s.runtimeCpuMs)).median),
      runtimeCpuAddedMs: r3(spread(cpuDiffs).median),
      agentCpuMs: agentCpu.length > 0 ? r3(spread(agentCpu).median) : null,
      agentCpuRounds: agentCpu.length,
    });
  }
  if (INIT_ONLY) {
    process.stdout.write(`${JSON.stringify({ bench: 'agent', init })}\n`);
    return;
  }
  for (const fn of fns) {
    const plain: number[] = [];
    const guarded: number[] = [];
    const roundMedians: number[] = [];
    const perRound = Math.ceil(INVOKES / INVOKE_ROUNDS);
    for (let r = 0; r < INVOKE_ROUNDS; r++) {
      // A fresh pair each round, started in alternating order: where the scheduler places a runtime and its agent (on
      // the Runtime API's CPU or the other) holds for the pair's life, so one pair measures its placement as much as
      // the guard (round medians of one run: +139 to +245 µs for Node).
      const guardedFirst = r % 2 === 1;
      const one = await start(fn, guardedFirst, policy);
      const two = await start(fn, !guardedFirst, policy);
      const [p, g] = guardedFirst ? [two, one] : [one, two];
      for (let i = 0; i < 50; i++) {
        await timed(p, {}); // warm up both
        await timed(g, {});
      }
      const d: number[] = [];
      for (let i = 0; i < perRound; i++) {
        const first = i % 2 === 0 ? p : g;
        const second = first === p ? g : p;
        const a = await timed(first, { i });
        const b = await timed(second, { i });
        const [pt, gt] = first === p ? [a, b] : [b, a];
        plain.push(pt);
        guarded.push(gt);
        d.push((gt - pt) * 1000);
      }
      roundMedians.push(Math.round(spread(d).median * 10) / 10);
      await stop(p);
      await stop(g);
    }
    const diffs = guarded.map((x, i) => (x - (plain[i] as number)) * 1000);
    invoke.push({
      lang: fn.lang,
      invokes: plain.length,
      rounds: INVOKE_ROUNDS,
      plainMedianUs: Math.round(spread(plain).median * 1000),
      guardedMedianUs: Math.round(spread(guarded).median * 1000),
      addedMedianUs: Math.round(spread(diffs).median * 10) / 10,
      roundMedianUs: roundMedians,
    });
  }
  const runs: { mode: string; corePercent: number }[] = [];
  const floors: Wake[] = [];
  for (let r = 0; r < SAMPLER_RUNS; r++) {
    for (const mode of r % 2 === 0 ? ['enforce', 'audit'] : ['audit', 'enforce'])
      runs.push((await samplerCpu(fns, policy, mode)) as { mode: string; corePercent: number });
    floors.push(wakeFloor(policy));
  }
  const sampler = ['enforce', 'audit'].map((mode) => {
    const s = spread(runs.filter((x) => x.mode === mode).map((x) => x.corePercent));
    return {
      mode,
      armed: mode === 'enforce',
      runs: SAMPLER_RUNS,
      corePercent: s.median,
      minCorePercent: s.min,
      maxCorePercent: s.max,
    };
  });
  const samplerFloor = {
    runs: SAMPLER_RUNS,
    intervalUs: floors[0]?.intervalUs,
    wakeCorePercent: spread(floors.map((f) => f.wakeCorePercent)).median,
    lookCorePercent: spread(floors.map((f) => f.lookCorePercent)).median,
    lookUs: spread(floors.map((f) => f.lookUs)).median,
  };
  process.stdout.write(`${JSON.stringify({ bench: 'agent', init, invoke, sampler, samplerFloor })}\n`);
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench/agent: ${e instanceof Error ? e.stack : e}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
