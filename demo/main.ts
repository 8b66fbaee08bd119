/**
 * `npm run demo`: the example functions run the way Lambda runs them, against local servers, audit then enforce.
 *
 * Two halves of one program (bundled to dist/demo/main.mjs by demo/start.mjs):
 * - outer (default): compiles examples/policy.yaml, unpacks the real layer zip at a stand-in for /opt, copies each
 *   example function into a task root with the compiled policy as `egress-policy.egp` (the documented way to ship a
 *   policy in the function package), creates the demo network (demo/netns.ts), starts the "internet" servers there
 *   (demo/servers.ts) and, per mode and function, runs the inner half inside a fresh function namespace; prints the
 *   summary; always cleans up.
 * - inner (`--inside cfg.json`): for one mode and function, a local Runtime API (demo/runtime-api.ts), the runtime process
 *   started through the real exec wrapper (`wrapper <runtime> …`, as AWS_LAMBDA_EXEC_WRAPPER makes Lambda do), and
 *   several invokes with request ids; prints every guard decision, per-invoke bytes and budget breaches readably
 *   (demo/pretty.ts) and a summary.
 * Options: `--short` (fewer invokes, for the test suite), `--policy FILE` (another policy than examples/policy.yaml).
 * Exit status: 0 when the demo ran and every expectation in the summary held, 1 otherwise, 2 when it could not run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compilePolicyFileSync } from '../policy/index.js';
import { createFunctionNs, createInternet, type DemoHost } from './netns.js';
import { bytes, c, formatGuardLine, newTally, type Tally } from './pretty.js';
import { type InvokeOutcome, RuntimeApi } from './runtime-api.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const out = (s = '') => process.stdout.write(`${s}\n`);

/** The example hosts, as named in examples/policy.yaml, mapped into the demo's own namespace. */
const HOSTS: (DemoHost & { role: 'allowed' | 'denied' | 'big' })[] = [
  { role: 'allowed', name: 'api.partner.example', ip: '10.201.1.10' },
  { role: 'denied', name: 'upload.attacker.example', ip: '10.201.1.20' },
  { role: 'big', name: 'downloads.partner.example', ip: '10.201.1.30' },
];
/** Over the example policy's per-invoke budgets (rxBytes 50 MiB, totalBytes 60 MiB). */
const BIG_BYTES = 64 * 1024 * 1024;
const URLS = {
  ALLOWED_URL: `http://${HOSTS[0]?.name}/v1/status`,
  DENIED_URL: `http://${HOSTS[1]?.name}/collect`,
  BIG_URL: `http://${HOSTS[2]?.name}/bytes/${BIG_BYTES}`,
};

interface FunctionSpec {
  id: 'node' | 'python';
  /** What drives the handler: the runtime interface client in use. */
  runtime: string;
  handler: string;
  executionEnv: string;
  command: string[];
  task: string;
}

interface InnerConfig {
  opt: string;
  work: string;
  short: boolean;
  mode: 'audit' | 'enforce';
  fn: FunctionSpec;
  /** Where the inner half appends its Row (JSON) for the summary. */
  rows: string;
}

// ---------------------------------------------------------------------------------------------------------- outer

function fail(msg: string): never {
  process.stderr.write(`demo: ${msg}\n`);
  process.exit(2);
}

async function outer(short: boolean, policyArg: string | undefined): Promise<number> {
  out(c.bold('egress-guard demo: the example functions, run the way Lambda runs them, against local servers'));
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    fail(
      'needs root to create its two network namespaces (run it as root, e.g. in the CI container, or `sudo npm run demo`)',
    );
  }
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86_64';
  const zip = join(root, 'dist', 'layers', `egress-guard-layer-${arch}.zip`);
  if (!existsSync(zip)) fail(`${zip} is missing: run \`npm run build:layer\` (npm run demo does it first)`);

  const work = mkdtempSync(join(tmpdir(), 'egress-guard-demo-'));
  const cleanups: (() => void)[] = [() => rmSync(work, { recursive: true, force: true })];
  const cleanup = () => {
    for (const f of cleanups.splice(0).reverse()) {
      try {
        f();
      } catch {
        // best effort: keep cleaning
      }
    }
  };
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(code);
    });
  }
  try {
    // 1. The example policy, compiled as `egress-guard compile` would.
    const policySrc = policyArg ? resolve(policyArg) : join(root, 'examples', 'policy.yaml');
    const compiled = compilePolicyFileSync(policySrc);
    const policy = join(work, 'policy.egp');
    writeFileSync(policy, compiled.bytes);
    out(
      `${c.dim('1.')} compiled ${rel(policySrc)} → ${compiled.bytes.length} bytes (${compiled.warnings.length} warnings)`,
    );

    // 2. The real layer, unzipped at a stand-in for /opt (EGRESS_GUARD_OPT tells the wrapper; local runs only).
    const opt = join(work, 'opt');
    const uz = spawnSync('unzip', ['-q', zip, '-d', opt], { encoding: 'utf8' });
    if (uz.status !== 0) throw new Error(`unzip ${zip} failed: ${uz.stderr}`);
    out(`${c.dim('2.')} unpacked ${rel(zip)} at ${opt} (stands for /opt)`);

    // 3. Task roots: the example code plus the compiled policy as egress-policy.egp.
    const functions: FunctionSpec[] = [];
    const runtimeDir = join(work, 'runtime');
    mkdirSync(runtimeDir);
    cpSync(join(here, 'node-runtime.mjs'), join(runtimeDir, 'node-runtime.mjs'));
    for (const f of ['python_runtime.py', 'python_ric_bootstrap.py'])
      cpSync(join(root, 'demo', 'runtime', f), join(runtimeDir, f));
    const task = (id: string) => {
      const dir = join(work, 'task', id);
      cpSync(join(root, 'examples', 'functions', id), dir, { recursive: true });
      cpSync(policy, join(dir, 'egress-policy.egp'));
      return dir;
    };
    functions.push({
      id: 'node',
      runtime: "the demo's Node runtime loop (demo/runtime/node-runtime.ts)",
      handler: 'index.handler',
      executionEnv: `AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`,
      command: [process.execPath, join(runtimeDir, 'node-runtime.mjs')],
      task: task('node'),
    });
    const py = spawnSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (py.status === 0) {
      // The real runtime interface client when it is installed (PyPI awslambdaric), else the demo's own loop.
      const ric = spawnSync('python3', ['-c', 'import awslambdaric'], { stdio: 'ignore' }).status === 0;
      functions.push({
        id: 'python',
        runtime: ric
          ? 'the AWS runtime interface client (PyPI awslambdaric)'
          : "the demo's Python runtime loop (awslambdaric is not installed)",
        handler: 'app.handler',
        executionEnv: `AWS_Lambda_python${py.stdout.trim()}`,
        command: ['python3', join(runtimeDir, ric ? 'python_ric_bootstrap.py' : 'python_runtime.py')],
        task: task('python'),
      });
    } else {
      out(c.yellow('   python3 is not installed: the Python example is skipped'));
    }
    out(
      `${c.dim('3.')} task roots: ${functions.map((f) => `${f.id} (${f.handler})`).join(', ')}, each with egress-policy.egp`,
    );

    // 4. The network: the "internet" namespace now; one fresh function namespace per run below.
    const prefix = `egdemo-${process.pid}`;
    const internet = createInternet(`${prefix}-net`, HOSTS);
    cleanups.push(() => internet.destroy());
    out(
      `${c.dim('4.')} network namespace ${internet.name} (the "internet"): ${HOSTS.map((h) => `${h.name}=${h.ip}`).join(', ')}`,
    );

    // 5. The servers.
    const listeners = HOSTS.map((h) => ({ name: h.name, ip: h.ip, port: 80 }));
    const servers = spawn(
      'ip',
      ['netns', 'exec', internet.name, process.execPath, join(here, 'servers.mjs'), JSON.stringify(listeners)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    cleanups.push(() => servers.kill('SIGKILL'));
    await waitReady(servers);
    out(`${c.dim('5.')} servers listening on ${listeners.map((l) => `${l.ip}:80`).join(', ')}`);

    // 6. Each run: a fresh function namespace (a cold start in a fresh sandbox) and the inner half inside it (its
    //    private /etc/hosts is bind-mounted by ip netns exec).
    const rows = join(work, 'rows.jsonl');
    let run = 0;
    for (const mode of ['audit', 'enforce'] as const) {
      out();
      out(c.bold(`── ${mode.toUpperCase()} mode ${'─'.repeat(60)}`));
      for (const fn of functions) {
        const ns = createFunctionNs(`${prefix}-fn${++run}`, internet, HOSTS);
        cleanups.push(() => ns.destroy()); // also on a signal mid-run; deleting twice is harmless
        try {
          const cfgPath = join(work, `inner-${run}.json`);
          writeFileSync(cfgPath, JSON.stringify({ opt, work, short, mode, fn, rows } satisfies InnerConfig));
          const inner = spawn(
            'ip',
            ['netns', 'exec', ns.name, process.execPath, fileURLToPath(import.meta.url), '--inside', cfgPath],
            {
              stdio: 'inherit',
            },
          );
          cleanups.push(() => inner.kill('SIGKILL'));
          const code = await new Promise<number>((ok) => inner.on('exit', (c) => ok(c ?? 1)));
          if (code !== 0) throw new Error(`the ${fn.id} run in ${mode} mode failed (exit ${code})`);
        } finally {
          ns.destroy();
        }
      }
    }
    const all = readFileSync(rows, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Row);
    return summary(all);
  } finally {
    cleanup();
  }
}

function rel(p: string): string {
  return p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p;
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((ok, ko) => {
    const t = setTimeout(() => ko(new Error('demo servers did not start')), 15_000);
    child.on('exit', (code) => ko(new Error(`demo servers exited (${code})`)));
    if (!child.stdout) return ko(new Error('no stdout'));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"ready"')) {
        clearTimeout(t);
        ok();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------------- inner

interface Invocation {
  title: string;
  event: { steps: string[] };
}

const INVOCATIONS: Invocation[] = [
  { title: 'an allowed call', event: { steps: ['allowed'] } },
  { title: 'a call the policy does not allow', event: { steps: ['denied'] } },
  { title: `a big transfer (${bytes(BIG_BYTES)}, over the per-invoke budget)`, event: { steps: ['big'] } },
  { title: 'the next invoke starts clean', event: { steps: ['allowed'] } },
];

interface Row {
  mode: string;
  fn: string;
  tally: Tally;
  outcomes: InvokeOutcome[];
}

async function inner(cfg: InnerConfig): Promise<number> {
  const invocations = cfg.short ? INVOCATIONS.slice(0, 3) : INVOCATIONS;
  const row = await runFunction(cfg, cfg.fn, cfg.mode, invocations);
  appendFileSync(cfg.rows, `${JSON.stringify(row)}\n`);
  return 0;
}

async function runFunction(cfg: InnerConfig, fn: FunctionSpec, mode: string, invocations: Invocation[]): Promise<Row> {
  const tag = `${fn.id}·${mode}`;
  const tally = newTally();
  const api = new RuntimeApi(`arn:aws:lambda:us-east-1:000000000000:function:egress-guard-demo-${fn.id}`);
  const address = await api.listen();
  const wrapper = join(cfg.opt, 'egress-guard', 'wrapper');
  const stateDir = join(cfg.work, `state-${fn.id}-${mode}`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    PYTHONUNBUFFERED: '1',
    LAMBDA_TASK_ROOT: fn.task,
    LAMBDA_RUNTIME_DIR: dirname(fn.command[1] ?? ''),
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: fn.executionEnv,
    AWS_LAMBDA_RUNTIME_API: address,
    AWS_LAMBDA_EXEC_WRAPPER: wrapper,
    AWS_LAMBDA_FUNCTION_NAME: `egress-guard-demo-${fn.id}`,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/egress-guard-demo-${fn.id}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'demo',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    EGRESS_GUARD_MODE: mode,
    EGRESS_GUARD_STATE: join(stateDir, 'state'),
    EGRESS_GUARD_OPT: cfg.opt, // local runs only: where the layer is unpacked instead of /opt
    ...URLS,
  };
  out();
  out(
    c.bold(`${fn.id} function (${mode}) — started as: wrapper ${fn.command.map((a) => a.split('/').pop()).join(' ')}`),
  );
  out(c.dim(`  handler ${fn.handler}, driven by ${fn.runtime}; Runtime API on ${address}`));
  // Lambda starts `$AWS_LAMBDA_EXEC_WRAPPER <runtime command>`; the wrapper execs the runtime.
  const child = spawn(wrapper, fn.command, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const seenInvoke = new Set<string>();
  const waiters = new Map<string, () => void>();
  const onLine = (line: string) => {
    let parsed: Record<string, unknown> | undefined;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) parsed = v as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    if (parsed?._aws) return; // CloudWatch EMF metric line: the same figures as the invoke line
    if (parsed && 'example' in parsed) return; // the function's own result print; shown below as the response
    const text = parsed ? formatGuardLine(parsed, tag, tally) : undefined;
    if (text) out(`  ${text}`);
    else if (line.trim()) out(`  ${c.dim(`[${tag}] ${line}`)}`);
    if (parsed?.event === 'invoke' && typeof parsed.requestId === 'string') {
      seenInvoke.add(parsed.requestId);
      waiters.get(parsed.requestId)?.();
    }
  };
  if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
  let exited = false;
  child.on('exit', (code, sig) => {
    exited = true;
    api.fail(`the runtime process exited (${code ?? sig}) during the invoke`);
  });

  const outcomes: InvokeOutcome[] = [];
  for (const [i, inv] of invocations.entries()) {
    const requestId = randomUUID();
    out(
      `  ${c.bold(`invoke ${i + 1}`)} ${c.dim(`req ${requestId.slice(0, 8)}`)} ${inv.title} ${c.dim(JSON.stringify(inv.event))}`,
    );
    let outcome: InvokeOutcome;
    try {
      outcome = await api.invoke(inv.event, { requestId, timeoutMs: 20_000 });
    } catch (e) {
      outcome = { requestId, ok: false, body: String((e as Error).message), errorType: 'Harness', durationMs: 0 };
    }
    // Wait (briefly) for the wrapper's invoke summary so the output reads in order.
    if (!seenInvoke.has(requestId) && !exited) {
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, 2_000);
        waiters.set(requestId, () => {
          clearTimeout(t);
          ok();
        });
      });
    }
    outcomes.push(outcome);
    if (!outcome.ok) tally.failedInvokes++;
    out(`  ${c.dim(`req ${requestId.slice(0, 8)}`)} → ${describeOutcome(outcome)}`);
  }
  child.kill('SIGTERM');
  await new Promise<void>((ok) => (exited ? ok() : child.on('exit', () => ok())));
  await api.close();
  return { mode, fn: fn.id, tally, outcomes };
}

function describeOutcome(o: InvokeOutcome): string {
  if (!o.ok) {
    const b = o.body as { errorType?: string; errorMessage?: string } | string;
    const msg = typeof b === 'string' ? b : `${b?.errorType ?? o.errorType}: ${b?.errorMessage ?? ''}`;
    return `${c.red('invocation failed')} ${msg}`;
  }
  const results = (o.body as { results?: Record<string, unknown>[] } | undefined)?.results ?? [];
  return results
    .map((r) =>
      r.ok
        ? `${String(r.step)}: ${c.green(`HTTP ${String(r.status)}`)}, ${bytes(Number(r.bytes))} received`
        : `${String(r.step)}: ${c.red(`failed with ${String(r.error ?? `HTTP ${r.status}`)}`)}`,
    )
    .join('; ');
}

/** Prints the summary table and checks the demo's expectations (what a person should see). */
function summary(rows: Row[]): number {
  out();
  out(c.bold('── SUMMARY ──────────────────────────────────────────────────────────────────'));
  out(
    `  ${'function'.padEnd(16)}${'allowed'.padStart(8)}${'would-block'.padStart(13)}${'blocked'.padStart(9)}${'over-budget'.padStart(13)}${'failed'.padStart(8)}${'rx'.padStart(11)}${'tx'.padStart(11)}`,
  );
  for (const r of rows) {
    const t = r.tally;
    out(
      `  ${`${r.fn}·${r.mode}`.padEnd(16)}${String(t.allowed).padStart(8)}${String(t.wouldBlock).padStart(13)}${String(t.blocked).padStart(9)}${String(t.budgetBreaches).padStart(13)}${`${t.failedInvokes}/${r.outcomes.length}`.padStart(8)}${bytes(t.rxBytes).padStart(11)}${bytes(t.txBytes).padStart(11)}`,
    );
  }
  const problems: string[] = [];
  for (const r of rows) {
    const t = r.tally;
    const tag = `${r.fn}·${r.mode}`;
    if (r.mode === 'audit') {
      if (t.wouldBlock === 0) problems.push(`${tag}: no would-block decision for the denied call`);
      if (t.blocked !== 0) problems.push(`${tag}: audit mode blocked something`);
    } else if (t.blocked === 0) problems.push(`${tag}: nothing was blocked in enforce mode`);
    if (t.budgetBreaches === 0) problems.push(`${tag}: the big transfer did not breach the budget`);
    if (r.outcomes[0]?.ok !== true) problems.push(`${tag}: the allowed call's invoke failed`);
  }
  out();
  if (problems.length === 0) {
    out(
      c.green(
        'demo: OK — audit showed what would be blocked and let it through; enforce blocked it; the budget breach was caught.',
      ),
    );
    return 0;
  }
  out(c.red(`demo: ${problems.length} expectation(s) not met:`));
  for (const p of problems) out(`  - ${p}`);
  return 1;
}

// ------------------------------------------------------------------------------------------------------------ main

const argv = process.argv.slice(2);
const at = argv.indexOf('--inside');
if (at >= 0) {
  const cfg = JSON.parse(readFileSync(argv[at + 1] ?? '', 'utf8')) as InnerConfig;
  inner(cfg).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`demo (inner): ${e instanceof Error ? e.stack : e}\n`);
      process.exit(2);
    },
  );
} else {
  const p = argv.indexOf('--policy');
  outer(argv.includes('--short'), p >= 0 ? argv[p + 1] : undefined).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`demo: ${e instanceof Error ? e.message : e}\n`);
      process.exit(2);
    },
  );
}
