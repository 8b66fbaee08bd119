/**
 * Test harness of the metering tests: builds the layer's Node bundle, runs the stand-in runtime drivers
 * (driver/node-driver.mjs, driver/py_driver.py) as child processes — optionally inside a network namespace and under
 * LD_PRELOAD of the real interposer — and collects what they wrote: invoke results, guard log lines, EMF lines.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Netns } from '../support/netns.js';
import { runChild } from '../support/netns.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const FUNCTIONS = join(ROOT, 'test/metering/functions');
export const NODE_DRIVER = join(ROOT, 'test/metering/driver/node-driver.mjs');
export const PY_DRIVER = join(ROOT, 'test/metering/driver/py_driver.py');
export const PY_WRAPPER_DIR = join(ROOT, 'layer/python');
export const INTERPOSER = join(ROOT, 'native/build/libegressguard.so');

export function tempDir(prefix = 'eg-meter-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Bundles layer/node/handler.ts exactly as `npm run build:layer-node` does, into `dir`; returns the file. */
export function buildBundle(dir: string): string {
  const out = join(dir, 'handler.mjs');
  const r = spawnSync(process.execPath, [join(ROOT, 'layer/node/bundle.mjs'), '--outfile', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bundle failed: ${r.stderr}`);
  return out;
}

export interface Invoke {
  requestId: string;
  event?: unknown;
  timeoutMs?: number;
}

export interface InvokeResult {
  requestId: string;
  ok?: boolean;
  value?: Record<string, unknown>;
  error?: { name?: string; code?: string; budget?: string; limit?: number; observed?: number; message?: string };
  timedOut?: boolean;
  settled?: Record<string, unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: log lines are free-form JSON; tests assert on the fields they need.
export type LogLine = Record<string, any>;

export interface DriverRun {
  status: number | null;
  results: InvokeResult[];
  /** Every JSON line of the guard log file (wrapper and interposer). */
  logs: LogLine[];
  /** Every JSON line the driver wrote to stdout (EMF). */
  stdout: LogLine[];
  stderr: string;
}

export interface DriverOptions {
  lang: 'node' | 'python';
  /** Node: `_HANDLER` (e.g. `/tmp/x/handler.handler` for the bundle); Python: the module path is fixed. */
  handler?: string;
  /** The function's own handler string (EGRESS_GUARD_ORIGINAL_HANDLER). */
  original: string;
  taskRoot?: string;
  invokes: Invoke[];
  env?: Record<string, string>;
  ns?: Netns;
  preload?: boolean;
  settle?: boolean;
  /** Node driver: start every invoke at once (overlapping, as on Lambda Managed Instances). */
  parallel?: boolean;
  timeoutMs?: number;
}

function jsonLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as LogLine);
    } catch {
      // not ours
    }
  }
  return out;
}

export async function runDriver(o: DriverOptions): Promise<DriverRun> {
  const dir = tempDir('eg-drv-');
  try {
    const resultFile = join(dir, 'results.jsonl');
    const logFile = join(dir, 'guard.log');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LAMBDA_TASK_ROOT: o.taskRoot ?? FUNCTIONS,
      EGRESS_GUARD_ORIGINAL_HANDLER: o.original,
      EGRESS_GUARD_LOG: logFile,
      EGRESS_GUARD_STATE: join(dir, 'state'),
      AWS_LAMBDA_FUNCTION_NAME: 'metering-test',
      ...(o.preload ? { LD_PRELOAD: INTERPOSER } : {}),
      ...o.env,
    };
    const plan = JSON.stringify({
      invokes: o.invokes,
      resultFile,
      settleGlobal: o.settle ? '__egSettle' : undefined,
      parallel: o.parallel,
    });
    let cmd: string;
    let args: string[];
    if (o.lang === 'node') {
      env._HANDLER = o.handler ?? '';
      cmd = process.execPath;
      args = [NODE_DRIVER, plan];
    } else {
      env._HANDLER = 'egress_guard_wrapper.handler';
      env.PYTHONPATH = PY_WRAPPER_DIR;
      env.PYTHONDONTWRITEBYTECODE = '1';
      cmd = 'python3';
      args = [PY_DRIVER, plan];
    }
    const { spawn } = await import('node:child_process');
    const child = o.ns
      ? o.ns.spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const r = await runChild(child, '', o.timeoutMs ?? 60_000);
    const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
    return {
      status: r.status,
      results: jsonLines(read(resultFile)) as InvokeResult[],
      logs: jsonLines(read(logFile)),
      stdout: jsonLines(r.stdout),
      stderr: r.stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Guard lines of one event kind (and one request id). */
export function lines(run: DriverRun, event: string, requestId?: string): LogLine[] {
  return run.logs.filter(
    (l) => l.name === 'egress-guard' && l.event === event && (requestId === undefined || l.requestId === requestId),
  );
}
