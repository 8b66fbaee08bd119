/**
 * Helpers shared by the hardening tests (test/hardening/*.test.ts).
 *
 * - `make(...targets)`: builds native targets (hardening.mk) once per process, one make at a time across test files
 *   (flock); throws with the output on failure.
 * - `sanitizerRuntime('asan')`: absolute path of clang's shared ASan runtime (it must be the first LD_PRELOAD entry,
 *   before the sanitized libegressguard.so).
 * - builds: 'plain' preloads native/build/libegressguard.so; 'asan' preloads the ASan runtime and
 *   native/build/asan/libegressguard.so; 'tsan' preloads nothing: the TSan programs link the interposer in.
 * - `guardEnv(o)`: the environment assignments that load a given build of the guard (`env(1)` style `K=V` list).
 * - `runUnder(o)`: runs `cmd args` with those assignments through `env(1)` — inside a namespace when `ns` is given
 *   (so the guard is never loaded into `ip` itself) — and returns the run result plus the guard's log parsed.
 * - `parseLog(text)`: every line → JSON object, or into `bad` when it is not one (torn / forged / not JSON).
 * - `SANITIZER_ERRORS`: what a sanitizer report looks like on stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { GuardLog } from '../support/guard.js';
import { LIBRARY, ROOT, scratchDir } from '../support/guard.js';
import { type Netns, type RunResult, runChild } from '../support/netns.js';

export const NATIVE = join(ROOT, 'native');
export const BUILD = join(NATIVE, 'build');

const built = new Set<string>();
export function make(...targets: string[]): void {
  const todo = targets.filter((t) => !built.has(t));
  if (todo.length === 0) return;
  // test files run in parallel and share targets (build/asan/…): one make at a time across processes (flock(1))
  mkdirSync(BUILD, { recursive: true });
  const r = spawnSync('flock', [join(BUILD, '.hardening-make.lock'), 'make', '-s', '-C', NATIVE, ...todo], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`make ${todo.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  for (const t of todo) built.add(t);
}

export function sanitizerRuntime(kind: 'asan'): string {
  const r = spawnSync('clang', [`-print-file-name=libclang_rt.${kind}-x86_64.so`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  if (!existsSync(p)) throw new Error(`no ${kind} runtime found by clang (${p})`);
  return p;
}

export type Build = 'plain' | 'asan' | 'tsan';

export const SANITIZER_ERRORS =
  /ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer|ERROR: LeakSanitizer|SUMMARY: (Address|Thread|UndefinedBehavior)Sanitizer/;

export interface GuardEnvOptions {
  build?: Build;
  policy?: string;
  mode?: string;
  log?: string;
  logLevel?: string;
  env?: Record<string, string>;
}

export function guardEnv(o: GuardEnvOptions): string[] {
  const b = o.build ?? 'plain';
  // tsan: the program has the interposer linked in (hardening.mk explains why), so nothing is preloaded
  const preload =
    b === 'plain'
      ? LIBRARY
      : b === 'asan'
        ? `${sanitizerRuntime('asan')}:${join(BUILD, 'asan/libegressguard.so')}`
        : '';
  const env: Record<string, string> = { ...(o.env ?? {}) };
  if (b === 'asan') {
    env.ASAN_OPTIONS = 'detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=66';
    env.UBSAN_OPTIONS = 'halt_on_error=1:print_stacktrace=1:exitcode=66';
  }
  if (b === 'tsan') env.TSAN_OPTIONS = 'halt_on_error=1:exitcode=66:report_signal_unsafe=0';
  if (o.policy !== undefined) env.EGRESS_GUARD_POLICY = o.policy;
  if (o.mode !== undefined) env.EGRESS_GUARD_MODE = o.mode;
  if (o.log !== undefined) env.EGRESS_GUARD_LOG = o.log;
  if (o.logLevel !== undefined) env.EGRESS_GUARD_LOG_LEVEL = o.logLevel;
  if (preload) env.LD_PRELOAD = preload;
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** The test runner's environment without guard or sanitizer settings. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('EGRESS_GUARD_') || k === 'LD_PRELOAD' || /^(A|T|UB)SAN_OPTIONS$/.test(k)) continue;
    e[k] = v;
  }
  return e;
}

export interface LogParse {
  logs: GuardLog[];
  bad: string[];
}

export function parseLog(text: string): LogParse {
  const logs: GuardLog[] = [];
  const bad: string[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && (v as GuardLog).name === 'egress-guard') {
        logs.push(v as GuardLog);
        continue;
      }
    } catch {}
    bad.push(line);
  }
  return { logs, bad };
}

let counter = 0;
export function logPath(tag: string): string {
  return join(scratchDir(), `hard-${process.pid}-${++counter}-${tag}.log`);
}

export interface UnderResult extends RunResult, LogParse {
  logText: string;
}

export interface RunUnderOptions extends GuardEnvOptions {
  cmd: string;
  args?: string[];
  ns?: Netns;
  input?: string;
  timeoutMs?: number;
  /** log to this file (default: a fresh scratch file); 'stderr' parses the guard's lines out of stderr */
  logTo?: string;
}

export async function runUnder(o: RunUnderOptions): Promise<UnderResult> {
  const file = o.logTo === 'stderr' ? undefined : (o.logTo ?? logPath('run'));
  const assigns = guardEnv({ ...o, log: file ?? 'stderr' });
  const argv = [...assigns, o.cmd, ...(o.args ?? [])];
  const child = o.ns
    ? o.ns.spawn('env', argv, { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'], cwd: ROOT })
    : spawn('env', argv, { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'], cwd: ROOT });
  const r = await runChild(child, o.input, o.timeoutMs ?? 60_000);
  let logText: string;
  if (file) {
    logText = existsSync(file) ? readFileSync(file, 'utf8') : '';
    rmSync(file, { force: true });
  } else {
    logText = r.stderr
      .split('\n')
      .filter((l) => l.includes('"name":"egress-guard"'))
      .join('\n');
  }
  return { ...r, ...parseLog(logText), logText };
}
