/**
 * Harness of the agent tests: the real layer staged at a stand-in for /opt (exec wrapper, libegressguard.so,
 * egress-guard-agent), the real demo Runtime API and runtime loops bundled by esbuild, and `runFunction()`, which
 * runs driver.ts inside a network namespace and returns what happened: the invoke outcomes as the Runtime API saw
 * them, every request it received, the guard's log lines (interposer and agent, from EGRESS_GUARD_LOG) and the EMF
 * lines (the runtime's stdout).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { prebuild, stageLayer } from '../../layer/build/build-layer.js';
import type { Netns } from '../support/netns.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const FUNCTIONS = join(ROOT, 'test/metering/functions');
export const PY_RUNTIME = join(ROOT, 'demo/runtime/python_runtime.py');
export const PY_RIC = join(ROOT, 'demo/runtime/python_ric_bootstrap.py');

export const hasRic = () => spawnSync('python3', ['-c', 'import awslambdaric'], { stdio: 'ignore' }).status === 0;

export interface Kit {
  dir: string;
  opt: string;
  wrapper: string;
  lib: string;
  driver: string;
  nodeRuntime: string;
  destroy(): void;
}

/** Stages the layer and bundles the driver and the Node runtime loop into a temp dir. */
export async function makeKit(): Promise<Kit> {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86_64';
  await prebuild([arch]);
  const dir = mkdtempSync(join(tmpdir(), 'eg-agent-'));
  const opt = join(dir, 'opt');
  stageLayer(arch, opt, { build: false });
  await build({
    entryPoints: {
      driver: join(ROOT, 'test/metering/driver.ts'),
      'node-runtime': join(ROOT, 'demo/runtime/node-runtime.ts'),
    },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return {
    dir,
    opt,
    wrapper: join(opt, 'egress-guard', 'wrapper'),
    lib: join(opt, 'egress-guard', 'lib', 'libegressguard.so'),
    driver: join(dir, 'driver.mjs'),
    nodeRuntime: join(dir, 'node-runtime.mjs'),
    destroy: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: log lines are free-form JSON; tests assert on the fields they need.
export type LogLine = Record<string, any>;

export interface Outcome {
  requestId: string;
  ok?: boolean;
  body?: LogLine | string;
  errorType?: string;
  failed?: string;
  afterMs?: number;
}

export interface FunctionRun {
  outcomes: Outcome[];
  requests: string[];
  exit: string | number | null;
  logs: LogLine[];
  emf: LogLine[];
  stderr: string;
}

export type RuntimeKind = 'node' | 'python' | 'python-ric';

export interface RunOptions {
  kit: Kit;
  runtime: RuntimeKind;
  handler: string;
  invokes: { requestId: string; event?: unknown; timeoutMs?: number }[];
  ns?: Netns;
  env?: Record<string, string>;
  /** Start the runtime without the exec wrapper, with LD_PRELOAD set (provided.*, container images). */
  direct?: boolean;
  /** The runtime command with the handler on argv (`python3 -m awslambdaric app.handler`). */
  command?: string[];
  killAgentAfterMs?: number;
  settleMs?: number;
}

function lines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as LogLine);
    } catch {
      // not a JSON line
    }
  }
  return out;
}

export function commandOf(kit: Kit, runtime: RuntimeKind): string[] {
  if (runtime === 'node') return [process.execPath, kit.nodeRuntime];
  return ['python3', runtime === 'python' ? PY_RUNTIME : PY_RIC];
}

export async function runFunction(o: RunOptions): Promise<FunctionRun> {
  const work = mkdtempSync(join(o.kit.dir, 'run-'));
  const log = join(work, 'guard.log');
  const state = join(work, 'state', 'state');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LAMBDA_TASK_ROOT: FUNCTIONS,
    _HANDLER: o.handler,
    AWS_LAMBDA_FUNCTION_NAME: 'agent-test',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    EGRESS_GUARD_LOG: log,
    EGRESS_GUARD_STATE: state,
    EGRESS_GUARD_OPT: o.kit.opt,
    ...(o.direct ? { LD_PRELOAD: o.kit.lib } : {}),
    ...o.env,
  };
  const plan = {
    command: o.command ?? commandOf(o.kit, o.runtime),
    env,
    wrapper: o.direct ? undefined : o.kit.wrapper,
    invokes: o.invokes,
    killAgentAfterMs: o.killAgentAfterMs,
    settleMs: o.settleMs,
    statePath: state,
  };
  const args = [o.kit.driver, JSON.stringify(plan)];
  const r = o.ns
    ? await o.ns.run(process.execPath, args, { timeoutMs: 120_000 })
    : await (await import('../support/netns.js')).runChild(
        (await import('node:child_process')).spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }),
        '',
        120_000,
      );
  try {
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
      outcomes: Outcome[];
      requests: string[];
      exit: string | number | null;
      stdout: string;
      stderr: string;
    };
    if (!report.outcomes) throw new Error(`driver failed (${r.status}): ${r.stderr}`);
    return {
      outcomes: report.outcomes,
      requests: report.requests,
      exit: report.exit,
      logs: existsSync(log) ? lines(readFileSync(log, 'utf8')) : [],
      emf: lines(report.stdout).filter((l) => l._aws),
      stderr: report.stderr + r.stderr,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Guard lines of one event (and one request id). */
export function events(run: FunctionRun, event: string, requestId?: string): LogLine[] {
  return run.logs.filter(
    (l) => l.name === 'egress-guard' && l.event === event && (requestId === undefined || l.requestId === requestId),
  );
}
