/**
 * `egress-guard run [--policy policy.yaml|compiled.egp] [--mode audit|enforce|off] [--log stderr|off|PATH]
 *                   -- <command> [args…]`
 *
 * Runs one command under the guard and returns its exit status. Contract:
 * - Policy: `--policy` (else `EGRESS_GUARD_POLICY` from the environment; else an error). A file starting with the
 *   `.egp` magic is used as is (the compiler is not even loaded); anything else is compiled as YAML with the real
 *   compiler, once per content: the result is kept in the per-user cache (`./run-cache.ts`), and a later run of the
 *   same policy (same bytes, same names files, same compiler) reuses it after the full reader checks. With
 *   `--no-cache`, or when the cache directory cannot be used, it is compiled into a private temp dir (removed when
 *   the command exits). The child gets the **absolute** path (docs/LAMBDA.md "Exec wrapper and LD_PRELOAD":
 *   relative preload/policy paths break in children that change directory).
 * - Library: `EGRESS_GUARD_LIBRARY`, else `native/build/libegressguard.so` under the package root (a clone), else —
 *   in an installed package, which has no sources — the library of the shipped layer zip, extracted once to a cache
 *   directory (`prebuiltLibrary`, layer/build/prebuilt.ts). It must exist:
 *   glibc ignores a missing preload with a warning and runs the program unguarded, which `run` must never do silently.
 *   `LD_PRELOAD` gets the absolute library path prepended once (an entry already naming it is left alone; another
 *   copy of `libegressguard.so` is dropped so two guards never load into one process).
 * - `--mode` sets `EGRESS_GUARD_MODE` (omitted: the environment's value, else the file's mode).
 *   `--log` sets `EGRESS_GUARD_LOG` (`stderr`, `off`, or a path made absolute).
 * - Exit status: the command's; 128+n when it died of signal n; 127 when it was not found, 126 when it could not be
 *   executed; 125 when `run` itself failed before starting it (usage, policy, library) — like env(1) and timeout(1),
 *   and unlike the other commands' 2 for usage errors, because any status a command can return is the command's.
 *   `--help` prints the usage to stdout and returns 0. SIGINT/SIGTERM/SIGHUP/SIGQUIT received by `run` while the
 *   command runs are forwarded to it.
 * - A command that is a statically linked ELF (no PT_INTERP, e.g. `CGO_ENABLED=0` Go) cannot load the library: `run`
 *   still runs it, but first writes the same `uncovered` line the library writes when a guarded process execs one
 *   (docs/LOGGING.md; `reason: "static"`, `call: "egress-guard run"`) to the guard's log destination.
 * Errors are written to `io.stderr` as one line `egress-guard run: <CODE>: <what> (<how to fix>)`; codes are stable.
 */
import { type StdioOptions, spawn } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  closeSync,
  existsSync,
  constants as fsConstants,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prebuiltLibrary } from '../../layer/build/prebuilt.js';
import { GUARD_MODES, type GuardMode, parseWord, readGuardSettings } from '../config/rule.js';
import { FLAG_ENFORCE, HEADER, MAGIC } from '../gen/format.js';
import { hashed, type LaunchFacts, writeLaunchRecord } from './launch-record.js';
import { type CachedPolicy, openPolicyCache } from './run-cache.js';

export const RUN_USAGE = `usage: egress-guard run [--policy policy.yaml|compiled.egp] [--mode audit|enforce|off] [--log stderr|off|PATH] [--no-cache] -- <command> [args…]
  Runs the command with the guard preloaded and returns its exit status.
  -p, --policy FILE   the policy: YAML (compiled, and cached per user) or a compiled .egp used as is
                      (default: $EGRESS_GUARD_POLICY)
  -m, --mode MODE     audit, enforce or off (default: $EGRESS_GUARD_MODE, else the policy's mode)
      --log DEST      stderr, off, or a file the guard appends its lines to (default: $EGRESS_GUARD_LOG, else stderr)
      --no-cache      compile a YAML policy into a private temp dir instead of the cache
                      ($XDG_CACHE_HOME/egress-guard/policies, else ~/.cache/egress-guard/policies)
  -h, --help          print this help
  exit status: the command's; 128+n when it died of signal n; 127 not found; 126 not executable; 125 run failed`;

/** Exit status when `run` fails before the command starts (as env(1), nice(1), timeout(1) do). */
export const EXIT_RUN_FAILED = 125;

export interface RunIo {
  stdout?: (text: string) => void;
  stderr: (text: string) => void;
  /** Environment the command starts from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against, and the command's cwd (default `process.cwd()`). */
  cwd?: string;
  /** stdio of the command (default `inherit`). */
  stdio?: StdioOptions;
}

export interface RunArgs {
  policy?: string;
  mode?: GuardMode;
  log?: string;
  /** false with `--no-cache` */
  cache?: boolean;
  command: string[];
}

export class RunError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses `run`'s arguments (after the word `run`). Throws RunError `E_RUN_USAGE` / `E_RUN_MODE`. */
export function parseRunArgs(argv: string[]): RunArgs {
  const out: RunArgs = { command: [] };
  let i = 0;
  const value = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const v = argv[++i];
    if (v === undefined) throw new RunError('E_RUN_USAGE', `${flag} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-')) break;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    if (flag === '--policy' || flag === '-p') out.policy = value(flag, inline);
    else if (flag === '--log') out.log = value(flag, inline);
    else if (a === '--no-cache') out.cache = false;
    else if (flag === '--mode' || flag === '-m') {
      const m = value(flag, inline);
      const i = parseWord(m, GUARD_MODES); // the configuration rule: `Enforce` and ` enforce ` are enforce
      if (typeof i !== 'number') {
        throw new RunError('E_RUN_MODE', `--mode must be audit, enforce or off, got ${JSON.stringify(m)}`);
      }
      out.mode = GUARD_MODES[i];
    } else throw new RunError('E_RUN_USAGE', `unknown option ${JSON.stringify(a)}`);
  }
  out.command = argv.slice(i);
  if (out.command.length === 0) throw new RunError('E_RUN_USAGE', 'no command given after --');
  return out;
}

/** The package root: the nearest ancestor of this file holding our package.json (works from src and dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    dir = up;
  }
}

export function defaultLibrary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EGRESS_GUARD_LIBRARY) return resolve(env.EGRESS_GUARD_LIBRARY);
  const built = join(packageRoot(), 'native/build/libegressguard.so');
  if (existsSync(built) || existsSync(join(packageRoot(), 'native'))) return built;
  // An installed package has no sources: the library of the shipped layer zip (layer/build/prebuilt.ts).
  try {
    return prebuiltLibrary(env);
  } catch {
    return built; // reported as E_RUN_LIBRARY_MISSING by the caller
  }
}

/**
 * `LD_PRELOAD` with `lib` first, exactly once (entries are separated by `:` or spaces, as ld.so reads them). An entry
 * that is already `lib` stays where it is; another copy of the guard (same file name, other path — e.g. a layer's
 * `/opt/…/libegressguard.so` inherited from the environment) is dropped, so two guards never run in one process.
 */
export function withPreload(existing: string | undefined, lib: string): string {
  const entries = (existing ?? '').split(/[:\s]+/).filter((e) => e !== '');
  const others = entries.filter((e) => resolve(e) === lib || basename(e) !== basename(lib));
  if (others.some((e) => resolve(e) === lib)) return others.join(':');
  return [lib, ...others].join(':');
}

const isCompiled = (bytes: Uint8Array): boolean =>
  bytes.length >= MAGIC.length && Buffer.from(bytes.subarray(0, MAGIC.length)).equals(MAGIC);

/** A policy ready for the command. */
interface Compiled {
  /** the `.egp` the command gets */
  path: string;
  cleanup: () => void;
  /** the policy file's bytes as this run read them */
  bytes: Uint8Array;
  /** the cache entry the `.egp` is (absent: a private temp copy) */
  entry?: CachedPolicy;
}

interface Prepared {
  env: NodeJS.ProcessEnv;
  cleanup: () => void;
  /** what the run depended on, for its launch record; absent when it must not have one (see ./launch-record.ts) */
  facts?: LaunchFacts;
}

/**
 * The `.egp` of a YAML policy: from the cache when it holds a valid entry (its warnings printed again), else compiled
 * (warnings printed) and stored there; without a usable cache, compiled into a private temp dir that `cleanup`
 * removes. The compiler is imported only here, on a miss. Throws RunError `E_RUN_POLICY_INVALID`.
 */
async function compileYaml(
  policyPath: string,
  bytes: Buffer,
  env: NodeJS.ProcessEnv,
  useCache: boolean,
  io: RunIo,
): Promise<Compiled> {
  const { loadCompiled } = await import('../match/compiled.js');
  const verify = (b: Uint8Array) => void loadCompiled(b, { verify: 'full' });
  const cache = useCache ? openPolicyCache(env) : undefined;
  const key = cache?.key(policyPath, bytes);
  const hit = key === undefined ? undefined : cache?.lookup(key, verify);
  if (hit) {
    for (const w of hit.warnings) io.stderr(w);
    return { path: hit.path, cleanup: () => {}, bytes, entry: hit };
  }
  const started = Date.now();
  const [{ compilePolicyTextSync }, { formatDiagnostic, PolicyError }] = await Promise.all([
    import('../compile/compile.js'),
    import('../diagnostics.js'),
  ]);
  let r: ReturnType<typeof compilePolicyTextSync>;
  try {
    r = compilePolicyTextSync(bytes.toString('utf8'), policyPath, { cwd: dirname(policyPath) });
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    io.stderr(`${e.format()}\n`);
    throw new RunError('E_RUN_POLICY_INVALID', `${policyPath} is not a valid policy (see the errors above)`);
  }
  const warnings = r.warnings.map((w) => `${formatDiagnostic(w)}\n`);
  for (const w of warnings) io.stderr(w);
  if (cache && key !== undefined) {
    const deps = r.ast.rules.flatMap((rule) => (rule.target.kind === 'names-file' ? [rule.target.path] : []));
    try {
      const entry = cache.store(key, r.bytes, deps, warnings, started, verify);
      return { path: entry.path, cleanup: () => {}, bytes, entry };
    } catch {
      // a full disk or a vanished directory: run with a private copy, as without a cache
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'egress-guard-run-'));
  const path = join(dir, 'policy.egp');
  writeFileSync(path, r.bytes, { mode: 0o600 });
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }), bytes };
}

/** Resolves policy, library and environment for the command. Throws RunError. */
export async function prepareRun(args: RunArgs, io: RunIo): Promise<Prepared> {
  const baseEnv = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  const lib = defaultLibrary(baseEnv);
  if (!existsSync(lib)) {
    throw new RunError(
      'E_RUN_LIBRARY_MISSING',
      `guard library ${lib} does not exist (build it with \`make -C native\`, or set EGRESS_GUARD_LIBRARY)`,
    );
  }
  const given = args.policy ?? baseEnv.EGRESS_GUARD_POLICY;
  if (given === undefined || given === '') {
    throw new RunError('E_RUN_NO_POLICY', 'no policy given (pass --policy policy.yaml or set EGRESS_GUARD_POLICY)');
  }
  const policyPath = resolve(cwd, given);
  if (!existsSync(policyPath) || !statSync(policyPath).isFile()) {
    throw new RunError('E_RUN_POLICY_MISSING', `policy file ${policyPath} does not exist or is not a file`);
  }
  const bytes = readFileSync(policyPath);
  const givenEgp = isCompiled(bytes);
  const c: Compiled = givenEgp
    ? { path: policyPath, cleanup: () => {}, bytes }
    : await compileYaml(policyPath, bytes, baseEnv, args.cache !== false, io);
  const { path: compiled, cleanup } = c;
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  env.LD_PRELOAD = withPreload(baseEnv.LD_PRELOAD, lib);
  env.EGRESS_GUARD_POLICY = compiled;
  if (args.mode !== undefined) env.EGRESS_GUARD_MODE = args.mode;
  if (args.log !== undefined) {
    env.EGRESS_GUARD_LOG = args.log === 'stderr' || args.log === 'off' ? args.log : resolve(cwd, args.log);
  }
  let facts: LaunchFacts | undefined;
  if (args.cache !== false && (givenEgp || c.entry?.manifest === true)) {
    const policy = hashed(policyPath, bytes);
    facts = {
      library: lib,
      policy,
      names: c.entry?.deps ?? [],
      cachedEgp: givenEgp ? undefined : compiled,
      warnings: c.entry?.warnings ?? [],
    };
  }
  return { env, cleanup, facts };
}

/** The file `command` names, as execvp would find it (PATH search when it has no slash); undefined if none. */
export function findExecutable(command: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const candidates = command.includes('/')
    ? [resolve(cwd, command)]
    : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).map((d) => resolve(cwd, d || '.', command));
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when `path` is an ELF executable without a PT_INTERP program header (statically linked). */
export function isStaticElf(path: string): boolean {
  let b: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      b = Buffer.alloc(64 * 1024);
      b = b.subarray(0, readSync(fd, b, 0, b.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  if (b.length < 52 || b.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const phoff = is64 ? Number(le ? b.readBigUInt64LE(32) : b.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  if (phnum === 0 || phentsize < 4) return false;
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > b.length) return false; // program headers beyond what we read: do not guess
    if (u32(off) === 3) return false; // PT_INTERP
  }
  return true;
}

/** Writes one `uncovered` line (docs/LOGGING.md) to the guard's log destination in `env`. */
function logUncovered(path: string, env: NodeJS.ProcessEnv, policy: string, io: RunIo): void {
  const cfg = readGuardSettings(env); // the same rule as the library's (policy/config/rule.ts)
  if (cfg.log.dest === 'off' || cfg.mode === 'off' || cfg.logLevel === 'off') return;
  const dest = cfg.log.dest === 'path' ? cfg.log.path : 'stderr';
  let mode = cfg.mode;
  if (mode === null) {
    const flagsEnd = HEADER.flags.offset + HEADER.flags.size;
    const head = readFileSync(policy).subarray(0, flagsEnd);
    mode =
      head.length >= flagsEnd && (head.readUInt32LE(HEADER.flags.offset) & FLAG_ENFORCE) !== 0 ? 'enforce' : 'audit';
  }
  const line = `${JSON.stringify({
    level: 40,
    time: Date.now(),
    pid: process.pid,
    name: 'egress-guard',
    msg: `uncovered exec ${path}: statically linked, the guard cannot see its traffic`,
    event: 'uncovered',
    path,
    reason: 'static',
    call: 'egress-guard run',
    mode,
  })}\n`;
  if (dest === 'stderr') io.stderr(line);
  else {
    try {
      appendFileSync(dest, line);
    } catch {
      io.stderr(line); // the library will not be able to log there either; never fail the run for it
    }
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/** Spawns the command and resolves with its exit status (see the contract at the top). */
function execute(command: string[], env: NodeJS.ProcessEnv, io: RunIo): Promise<number> {
  return new Promise((resolveStatus) => {
    const [file, ...rest] = command as [string, ...string[]];
    const child = spawn(file, rest, { env, cwd: io.cwd ?? process.cwd(), stdio: io.stdio ?? 'inherit' });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const s of FORWARDED) process.on(s, forward);
    let finished = false;
    const done = (status: number) => {
      if (finished) return;
      finished = true;
      for (const s of FORWARDED) process.off(s, forward);
      resolveStatus(status);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      const notFound = e.code === 'ENOENT';
      io.stderr(
        `egress-guard run: ${notFound ? 'E_RUN_NOT_FOUND' : 'E_RUN_EXEC'}: cannot run ${JSON.stringify(file)}: ${e.message}\n`,
      );
      done(notFound ? 127 : 126);
    });
    child.on('exit', (code, signal) => {
      if (signal !== null) done(128 + (constants.signals[signal] ?? 0));
      else done(code ?? 0);
    });
  });
}

/** The `run` command: argv is everything after the word `run`. Returns the exit status. */
export async function runCommand(argv: string[], io: RunIo): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h') {
    (io.stdout ?? io.stderr)(`${RUN_USAGE}\n`);
    return 0;
  }
  let prepared: Prepared;
  let args: RunArgs;
  try {
    args = parseRunArgs(argv);
    prepared = await prepareRun(args, io);
  } catch (e) {
    if (e instanceof RunError) {
      io.stderr(`egress-guard run: ${e.code}: ${e.message}\n`);
      if (e.code === 'E_RUN_USAGE' || e.code === 'E_RUN_MODE') io.stderr(`${RUN_USAGE}\n`);
      return EXIT_RUN_FAILED;
    }
    throw e;
  }
  try {
    const cwd = io.cwd ?? process.cwd();
    const exe = findExecutable(args.command[0] as string, prepared.env, cwd);
    if (exe !== undefined && isStaticElf(exe)) {
      logUncovered(exe, prepared.env, prepared.env.EGRESS_GUARD_POLICY as string, io);
    } else if (exe !== undefined && prepared.facts !== undefined) {
      const baseEnv = io.env ?? process.env;
      writeLaunchRecord({ argv, command: args.command, cwd, baseEnv, env: prepared.env, exe, facts: prepared.facts });
    }
    return await execute(args.command, prepared.env, io);
  } finally {
    prepared.cleanup();
  }
}
