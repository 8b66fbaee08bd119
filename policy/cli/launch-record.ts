/**
 * The launch record of `egress-guard run` (contracts/launch.yaml; docs/POLICY.md "The launcher and its records"):
 * after a run has prepared its command, what that run depended on and the variables it set, so the native launcher
 * (native/launcher/) can start the next identical run without Node.js.
 *
 * Contract of `writeLaunchRecord`:
 * - Written only for a run that has all of: a cache entry with a manifest behind its `.egp` (or a `.egp` given
 *   directly), the cache not disabled (`--no-cache`), a `--` whose following words are exactly the parsed command
 *   (the launcher splits its arguments at the first `--` and parses nothing), and a command that resolves by the PATH
 *   search to a file that is not statically linked. Otherwise nothing is written (and nothing removed: a record the
 *   launcher finds is only used after every check passes).
 * - Inputs: the key's strings (contracts/launch.yaml `key_tag`) and, in the record, the literal working directory,
 *   arguments, command word and `key_env` values; the stamp of the command's file, of the library and of every file
 *   of the compiler identity (./run-cache.ts) and of the cache's `.egp`; the SHA-256 of the policy's bytes as read by
 *   this run and of every names file as the cache entry recorded it.
 * - Output: `<dir>/<key>.launch`, mode 0600, in a directory of mode 0700 owned by this user (set up like the policy
 *   cache's), written to a temp file and renamed into place; an identical existing record is left alone. Never
 *   throws: a record that cannot be written only means the next run takes the Node.js path.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAUNCH_DIR, LAUNCH_ITEM, LAUNCH_KEY_ENV, LAUNCH_KEY_TAG, LAUNCH_MAGIC, LAUNCH_SUFFIX } from '../gen/launch.js';
import { cacheHome, compilerFiles, privateDir } from './run-cache.js';

/** A file and the SHA-256 (hex) of its bytes. */
export interface Hashed {
  path: string;
  sha256: string;
}

/** What a prepared run depended on (besides its arguments and environment). */
export interface LaunchFacts {
  /** the guard library (absolute) */
  library: string;
  /** the policy file (absolute) and the hash of the bytes this run read */
  policy: Hashed;
  /** the names files the compile read, as its cache entry recorded them */
  names: Hashed[];
  /**
   * the cache entry's `.egp` the command gets, checked by its stamp: the cache names it by the hash of its bytes and
   * never modifies it in place (a corrupt one is replaced by a rename: a new inode). Absent when the policy was given
   * as a `.egp`: then the policy's own hash covers it.
   */
  cachedEgp?: string;
  /** what the run wrote to stderr before the command (the compile's warnings) */
  warnings: string[];
}

export interface LaunchRun {
  /** run's arguments (after the word `run`) */
  argv: string[];
  /** the parsed command */
  command: string[];
  cwd: string;
  /** the environment run started from */
  baseEnv: NodeJS.ProcessEnv;
  /** the environment the command gets */
  env: NodeJS.ProcessEnv;
  /** the file the command resolved to (absolute), not statically linked */
  exe: string;
  facts: LaunchFacts;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The directory of the launch records for `env` (contracts/launch.yaml `dir`). */
export function launchDirFor(env: NodeJS.ProcessEnv): string {
  return join(cacheHome(env), LAUNCH_DIR);
}

/** A file's stamp, "dev:ino:size:mtime_ns:ctime_ns" (contracts/launch.yaml). */
export function stampOf(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The record's key (hex): SHA-256 of the key strings, each followed by a NUL (contracts/launch.yaml `key_tag`). */
export function launchKey(cwd: string, prefix: string[], cmd: string, env: NodeJS.ProcessEnv): string {
  const h = createHash('sha256');
  const part = (s: string) => h.update(s).update('\0');
  part(LAUNCH_KEY_TAG);
  part(cwd);
  part(String(prefix.length));
  for (const a of prefix) part(a);
  part(cmd);
  for (const name of LAUNCH_KEY_ENV) part(env[name] === undefined ? name : `${name}=${env[name]}`);
  return h.digest('hex');
}

/** The record's bytes (contracts/launch.yaml): NUL-terminated strings. Throws when a string holds a NUL. */
export function encodeLaunchRecord(run: LaunchRun, prefix: string[]): Buffer {
  const out: string[] = [LAUNCH_MAGIC];
  const item = (kind: keyof typeof LAUNCH_ITEM, ...values: string[]) => {
    if (values.length !== LAUNCH_ITEM[kind].values) throw new Error(`launch record: ${kind} takes ${values.length}`);
    out.push(LAUNCH_ITEM[kind].word, ...values);
  };
  item('CWD', run.cwd);
  for (const a of prefix) item('ARG', a);
  item('CMD', run.command[0] as string);
  for (const name of LAUNCH_KEY_ENV) {
    const v = run.baseEnv[name];
    if (v === undefined) item('UNSET', name);
    else item('ENV', name, v);
  }
  item('EXE', run.exe, stampOf(run.exe));
  item('STAT', run.facts.library, stampOf(run.facts.library));
  for (const [f, stamp] of compilerFiles()) item('STAT', f, stamp); // as the compiler identity saw them
  if (run.facts.cachedEgp !== undefined) item('STAT', run.facts.cachedEgp, stampOf(run.facts.cachedEgp));
  for (const f of [run.facts.policy, ...run.facts.names]) item('SHA256', f.path, f.sha256);
  for (const w of run.facts.warnings) item('WARN', w);
  for (const [name, value] of Object.entries(run.env)) {
    if (value !== undefined && value !== run.baseEnv[name]) item('SET', name, value);
  }
  item('END');
  if (out.some((s) => s.includes('\0'))) throw new Error('launch record: a string holds a NUL');
  return Buffer.from(`${out.join('\0')}\0`);
}

/** Writes the record of a run (see the contract at the top); returns its path, or undefined when none was written. */
export function writeLaunchRecord(run: LaunchRun): string | undefined {
  try {
    const split = run.argv.indexOf('--');
    if (split < 0) return undefined;
    const after = run.argv.slice(split + 1);
    if (after.length !== run.command.length || after.some((a, i) => a !== run.command[i])) return undefined;
    const prefix = run.argv.slice(0, split);
    const bytes = encodeLaunchRecord(run, prefix);
    const dir = privateDir(launchDirFor(run.baseEnv));
    if (dir === undefined) return undefined;
    const path = join(dir, `${launchKey(run.cwd, prefix, run.command[0] as string, run.baseEnv)}${LAUNCH_SUFFIX}`);
    try {
      const st = statSync(path);
      if ((st.mode & 0o777) === 0o600 && readFileSync(path).equals(bytes)) return path;
    } catch {
      // none yet
    }
    const tmp = join(dir, `.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    try {
      writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, path);
    } finally {
      rmSync(tmp, { force: true });
    }
    return path;
  } catch {
    return undefined;
  }
}

/** SHA-256 of bytes, for the facts. */
export function hashed(path: string, bytes: Uint8Array): Hashed {
  return { path, sha256: sha256(bytes) };
}
