/**
 * The compiled-policy cache of `egress-guard run`: a YAML policy is compiled once per content, later runs reuse the
 * `.egp` (docs/POLICY.md "Command line", `run`).
 *
 * Contract:
 * - Directory: `$XDG_CACHE_HOME/egress-guard/policies` (when that variable is an absolute path), else
 *   `$HOME/.cache/egress-guard/policies` (beside the library an installed package extracts, layer/build/prebuilt.ts). Created with mode 0700; an existing one must be a real directory owned by this user
 *   (a group/world-accessible one is set back to 0700). Anything else — or any I/O error — and `openPolicyCache`
 *   returns undefined: the caller compiles into a private temp dir instead, as without a cache.
 * - Entries: `<k>.json`, the manifest, where k = SHA-256 of (compiler identity, the policy's absolute path, the
 *   policy's bytes); it names every names file the compiler read with the SHA-256 of its bytes, the warnings the
 *   compile printed, and the output `<h>.egp`, where h = SHA-256 of the compiled bytes (content-addressed).
 *   The compiler identity is the package version and the stamp (size, mtime, inode) of package.json; in a clone (the
 *   package root holds `native/`), also the stamps of every code file of the compiler's directory and of
 *   package-lock.json: an upgraded, rebuilt or re-installed compiler never reuses an entry.
 * - Lookup (`lookup`): the manifest must parse and have the expected shape, every names file must still hash to the
 *   recorded digest, the `.egp` must hash to its name AND pass the full reader checks (`loadCompiled`, verify
 *   `full`). Any failure is a miss (never an error): the policy is compiled again and the entry rewritten.
 * - Writes are atomic: a temp file (`wx`, mode 0600) fsynced, then `link`ed to the `.egp` name (never replacing a
 *   good entry another `run` may be using: EEXIST with the right bytes keeps the existing file) or renamed over a
 *   corrupt one; the manifest is renamed into place. So concurrent runs only ever see complete entries. Mode 0600,
 *   not read-only: the guard loads a policy file its process could rewrite from a sealed copy (native/src/init.c), and
 *   a read-only file of the user's own could still be made writable by the command.
 * - A names file modified in the second before or during the compile could have been read in either version: then
 *   the `.egp` is written but no manifest, so the next run compiles again rather than trust it.
 * Entries are never evicted (one small manifest and one `.egp` per policy version); removing the directory is safe.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a compile left in the cache (or found there). */
export interface CachedPolicy {
  /** absolute path of the `.egp` */
  path: string;
  /** the compile's warnings, formatted as the compiler prints them */
  warnings: string[];
  /** every names file the compile read, with the SHA-256 of its bytes (checked on a hit, recorded on a store) */
  deps: { path: string; sha256: string }[];
  /** false when the entry has no manifest (a names file changed during the compile): a later run compiles again */
  manifest: boolean;
}

interface Manifest {
  deps: { path: string; sha256: string }[];
  egp: string;
  warnings: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;
let tmpCounter = 0;

/** SHA-256 of one file's bytes (what `sha256sum` prints). */
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** SHA-256 of several parts, each followed by a NUL (so no two different lists collide). */
const sha256 = (...parts: (string | Uint8Array)[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

/** The user's cache home: `$XDG_CACHE_HOME` when it is an absolute path, else `$HOME/.cache`. */
export function cacheHome(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return xdg;
  return join(env.HOME || homedir(), '.cache');
}

/** The cache directory for `env` (see the contract), not yet created. */
export function cacheDirFor(env: NodeJS.ProcessEnv): string {
  return join(cacheHome(env), 'egress-guard', 'policies');
}

/**
 * Creates (or checks) a private directory: a real directory owned by this user, set to mode 0700. Returns it, or
 * undefined when it cannot be used safely (anything else there, or any I/O error).
 */
export function privateDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid())) return undefined;
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return dir;
  } catch {
    return undefined;
  }
}

/** Creates (or checks) the cache directory; undefined when it cannot be used safely. */
export function openPolicyCache(env: NodeJS.ProcessEnv): PolicyCache | undefined {
  const dir = privateDir(cacheDirFor(env));
  return dir === undefined ? undefined : new PolicyCache(dir);
}

let identity: string | undefined;
let identityFiles: [string, string][] = [];

/**
 * The files whose stamps make up the compiler identity, each with its full stamp "dev:ino:size:mtime_ns:ctime_ns"
 * as it was when the identity was computed (absolute paths, sorted; a file that could not be stat'ed has none).
 */
export function compilerFiles(): [path: string, stamp: string][] {
  compilerIdentity();
  return identityFiles;
}

/** The compiler identity (see the contract): computed once per process. */
export function compilerIdentity(): string {
  if (identity !== undefined) return identity;
  const files: [string, string][] = [];
  const codeDir = dirname(dirname(fileURLToPath(import.meta.url))); // policy/ (src) or dist/policy/
  const parts: string[] = [];
  const stamp = (path: string) => {
    try {
      const st = statSync(path, { bigint: true });
      parts.push(`${path}:${st.size}:${st.mtimeNs}:${st.ino}`);
      files.push([path, `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`]);
    } catch {
      parts.push(`${path}:-`);
    }
  };
  const root = dirname(codeDir).endsWith('dist') ? dirname(dirname(codeDir)) : dirname(codeDir);
  // A clone (it has the native sources) is edited and rebuilt under the same version: stamp every code file. An
  // installed package changes only with its version.
  if (existsSync(join(root, 'native'))) {
    for (const e of readdirSync(codeDir, { recursive: true, withFileTypes: true })) {
      if (e.isFile() && /\.(js|ts|json)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
        stamp(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
      }
    }
    stamp(join(root, 'package-lock.json'));
  }
  let version = '?';
  try {
    version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    // no package.json: the file stamps alone identify the compiler
  }
  stamp(join(root, 'package.json'));
  identity = sha256(version, parts.sort().join('\n'));
  identityFiles = files.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return identity;
}

export class PolicyCache {
  constructor(readonly dir: string) {}

  /** The manifest key of a policy (absolute path) with these bytes. */
  key(policyPath: string, policyBytes: Uint8Array): string {
    return sha256('egress-guard run cache 1', compilerIdentity(), policyPath, policyBytes);
  }

  /** A valid entry for `key`, or undefined (any doubt is a miss). `verify` runs the full reader checks. */
  lookup(key: string, verify: (bytes: Uint8Array) => void): CachedPolicy | undefined {
    const m = this.readManifest(key);
    if (!m) return undefined;
    for (const d of m.deps) {
      try {
        if (digest(readFileSync(d.path)) !== d.sha256) return undefined;
      } catch {
        return undefined;
      }
    }
    const path = join(this.dir, `${m.egp}.egp`);
    if (!this.goodEgp(path, m.egp, verify)) return undefined;
    return { path, warnings: m.warnings, deps: m.deps, manifest: true };
  }

  /**
   * Stores a compile's output: the `.egp` always, the manifest only when every names file is unchanged since
   * `startedMs` (see the contract). Returns the entry. Throws on I/O errors.
   */
  store(
    key: string,
    egp: Uint8Array,
    deps: string[],
    warnings: string[],
    startedMs: number,
    verify: (bytes: Uint8Array) => void,
  ): CachedPolicy {
    const h = digest(egp);
    const path = join(this.dir, `${h}.egp`);
    const tmp = this.writeTemp(egp);
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!this.goodEgp(path, h, verify)) renameSync(tmp, path); // a corrupt entry: replace it
    } finally {
      rmSync(tmp, { force: true });
    }
    const stable = deps.every((d) => statSync(d).mtimeMs < startedMs - 1000);
    const hashed = deps.map((d) => ({ path: d, sha256: digest(readFileSync(d)) }));
    if (stable) {
      const manifest: Manifest = { deps: hashed, egp: h, warnings };
      const mtmp = this.writeTemp(Buffer.from(JSON.stringify(manifest)));
      try {
        renameSync(mtmp, join(this.dir, `${key}.json`));
      } finally {
        rmSync(mtmp, { force: true });
      }
    }
    return { path, warnings, deps: hashed, manifest: stable };
  }

  private readManifest(key: string): Manifest | undefined {
    try {
      const m = JSON.parse(readFileSync(join(this.dir, `${key}.json`), 'utf8')) as Partial<Manifest>;
      const okDeps =
        Array.isArray(m.deps) &&
        m.deps.every((d) => typeof d?.path === 'string' && isAbsolute(d.path) && HEX64.test(String(d.sha256)));
      const okWarnings = Array.isArray(m.warnings) && m.warnings.every((w) => typeof w === 'string');
      if (!okDeps || !okWarnings || typeof m.egp !== 'string' || !HEX64.test(m.egp)) return undefined;
      return m as Manifest;
    } catch {
      return undefined;
    }
  }

  /** True when the file exists, hashes to `h` and passes `verify` (the full reader checks). */
  private goodEgp(path: string, h: string, verify: (bytes: Uint8Array) => void): boolean {
    try {
      const bytes = readFileSync(path);
      if (digest(bytes) !== h) return false;
      verify(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return true;
    } catch {
      return false;
    }
  }

  /** A new file in the cache directory holding `bytes`, fsynced, mode 0600; returns its path. */
  private writeTemp(bytes: Uint8Array): string {
    const tmp = join(this.dir, `.tmp-${process.pid}-${tmpCounter++}-${Date.now()}`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    return tmp;
  }
}
