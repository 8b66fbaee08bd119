/**
 * Run a real command under the guard and collect what it logged.
 *
 * API
 * - `ROOT`, `LIBRARY` (absolute path of the x86_64 build; `EGRESS_GUARD_LIBRARY` overrides), `BIN` (built CLI).
 * - `needLibrary()` / `needBin()`: capability gates (CI throws when missing; elsewhere skip with a reason).
 * - `compilePolicy(yamlPath)` → absolute path of the compiled `.egp` (compiled once per process with the real
 *   compiler, cached, in a temp dir removed at exit).
 * - `await runGuarded({ cmd, args, policy, mode, ns, env, via, logLevel, input, timeoutMs })` →
 *   `{ status, signal, stdout, stderr, logs, badLogLines, elapsedMs }`.
 *   - `policy`: a `.egp` path (used as is) or a `.yaml`/`.yml` path (compiled with `compilePolicy`); any other
 *     string is passed through verbatim as `EGRESS_GUARD_POLICY` (missing/invalid-file tests). Omit to leave it unset.
 *   - `mode`: sets `EGRESS_GUARD_MODE` (omit to use the file's mode).
 *   - `ns`: run inside that network namespace (`ip netns exec`); the guard is *not* loaded into `ip` itself.
 *   - `via: 'env'` (default) sets `LD_PRELOAD` and friends with `env(1)` right before the command;
 *     `via: 'cli'` runs `node dist/policy/bin.js run …` (the real CLI) which sets them itself.
 *   - The guard logs to a private file (`EGRESS_GUARD_LOG=<tmp>/guard.log`); `logs` holds its lines parsed as JSON
 *     (`badLogLines` the lines that were not JSON objects — a test should expect it empty). `log: 'stderr'` leaves
 *     the guard's lines on stderr instead (then `logs` is parsed from stderr lines whose `name` is `egress-guard`).
 *   - `env`: extra variables for the command (e.g. `AWS_LAMBDA_RUNTIME_API`).
 * - `GuardLog`: the fields of docs/LOGGING.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicyFile } from '../../policy/index.js';
import { need } from './capability.js';
import { type Netns, type RunResult, runChild } from './netns.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const LIBRARY = process.env.EGRESS_GUARD_LIBRARY ?? join(ROOT, 'native/build/libegressguard.so');
export const LIBRARY_AARCH64 = join(ROOT, 'native/build/aarch64/libegressguard.so');
export const BIN = join(ROOT, 'dist/policy/bin.js');

export function needLibrary(): boolean {
  return need('libegressguard.so', existsSync(LIBRARY), `${LIBRARY} is not built (run \`make -C native\`)`);
}

export function needBin(): boolean {
  return need('the built CLI', existsSync(BIN), `${BIN} is not built (run \`npm run build:ts\`)`);
}

/** One log line of the guard (docs/LOGGING.md). Unknown fields are kept. */
export interface GuardLog {
  level: number;
  time: number;
  pid: number;
  name: string;
  msg: string;
  event: string;
  host?: string;
  ip?: string;
  port?: number;
  proto?: string;
  decision?: 'allow' | 'deny';
  blocked?: boolean;
  rule?: string;
  mode?: string;
  call?: string;
  errno?: string;
  error?: string;
  path?: string;
  failClosed?: boolean;
  requestId?: string;
  [k: string]: unknown;
}

let scratch: string | undefined;
/** A temp dir for this test process, removed at exit. */
export function scratchDir(): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'eg-guard-'));
    scratch = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

const compiled = new Map<string, string>();
let runCounter = 0;

/** Compiles a policy YAML with the real compiler (once per path per process); returns the `.egp` path. */
export async function compilePolicy(yamlPath: string): Promise<string> {
  const abs = resolve(ROOT, yamlPath);
  const hit = compiled.get(abs);
  if (hit !== undefined) return hit;
  const out = join(scratchDir(), `p${compiled.size}-${abs.replace(/[^A-Za-z0-9]+/g, '_').slice(-60)}.egp`);
  await compilePolicyFile(abs, out);
  compiled.set(abs, out);
  return out;
}

export interface GuardRunOptions {
  cmd: string;
  args?: string[];
  policy?: string;
  mode?: 'audit' | 'enforce' | 'off' | string;
  ns?: Netns;
  env?: Record<string, string>;
  via?: 'env' | 'cli';
  log?: 'file' | 'stderr';
  logLevel?: 'all' | 'allow' | 'deny' | 'off';
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

export interface GuardResult extends RunResult {
  logs: GuardLog[];
  badLogLines: string[];
  elapsedMs: number;
}

function parseLogLines(text: string, onlyGuard: boolean): { logs: GuardLog[]; bad: string[] } {
  const logs: GuardLog[] = [];
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (!onlyGuard) bad.push(line);
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      if (!onlyGuard) bad.push(line);
      continue;
    }
    const o = v as GuardLog;
    if (onlyGuard && o.name !== 'egress-guard') continue;
    logs.push(o);
  }
  return { logs, bad };
}

export async function runGuarded(o: GuardRunOptions): Promise<GuardResult> {
  let policy = o.policy;
  if (policy !== undefined && /\.ya?ml$/.test(policy)) policy = await compilePolicy(policy);
  else if (policy?.endsWith('.egp') && !isAbsolute(policy)) policy = resolve(ROOT, policy);

  const logFile = join(scratchDir(), `run-${++runCounter}.log`);
  const useFile = (o.log ?? 'file') === 'file';
  const guardEnv: Record<string, string> = { EGRESS_GUARD_LOG: useFile ? logFile : 'stderr' };
  if (o.logLevel !== undefined) guardEnv.EGRESS_GUARD_LOG_LEVEL = o.logLevel;
  const extra = { ...(o.env ?? {}) };

  let argv: string[];
  if ((o.via ?? 'env') === 'env') {
    if (policy !== undefined) guardEnv.EGRESS_GUARD_POLICY = policy;
    if (o.mode !== undefined) guardEnv.EGRESS_GUARD_MODE = o.mode;
    guardEnv.LD_PRELOAD = LIBRARY;
    const assigns = Object.entries({ ...extra, ...guardEnv }).map(([k, v]) => `${k}=${v}`);
    argv = ['env', ...assigns, o.cmd, ...(o.args ?? [])];
  } else {
    const flags: string[] = [];
    if (policy !== undefined) flags.push('--policy', policy);
    if (o.mode !== undefined) flags.push('--mode', o.mode);
    flags.push('--log', guardEnv.EGRESS_GUARD_LOG as string);
    const assigns = Object.entries(extra).map(([k, v]) => `${k}=${v}`);
    const lvl = o.logLevel !== undefined ? [`EGRESS_GUARD_LOG_LEVEL=${o.logLevel}`] : [];
    argv = ['env', ...assigns, ...lvl, process.execPath, BIN, 'run', ...flags, '--', o.cmd, ...(o.args ?? [])];
  }

  // The test runner's own environment must not leak guard settings into the command.
  const baseEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('EGRESS_GUARD_') && k !== 'LD_PRELOAD' && !k.startsWith('AWS_')) baseEnv[k] = v;
  }
  if (o.via === 'cli' && process.env.EGRESS_GUARD_LIBRARY) baseEnv.EGRESS_GUARD_LIBRARY = LIBRARY;

  const [cmd, args] = o.ns ? o.ns.wrap(argv[0] as string, argv.slice(1)) : [argv[0] as string, argv.slice(1)];
  const start = performance.now();
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: baseEnv, cwd: o.cwd ?? ROOT });
  const r = await runChild(child, o.input, o.timeoutMs ?? 30_000);
  const elapsedMs = performance.now() - start;

  const text = useFile ? (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') : r.stderr;
  const { logs, bad } = parseLogLines(text, !useFile);
  if (useFile) rmSync(logFile, { force: true });
  return { ...r, logs, badLogLines: bad, elapsedMs };
}

/** Log lines matching every given field (e.g. `{ event: 'connect', decision: 'deny' }`). */
export function logsWhere(logs: GuardLog[], fields: Partial<GuardLog>): GuardLog[] {
  return logs.filter((l) => Object.entries(fields).every(([k, v]) => l[k] === v));
}
