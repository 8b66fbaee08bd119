/**
 * A package-lock.json for a fresh app that depends on nothing but the packed tarball, built from this repository's own
 * lock: the tarball's runtime dependencies at exactly the versions (and integrity hashes) `npm ci` put in the npm
 * cache, so `npm ci --offline` installs the app with no network at all (tests may not reach a registry).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

interface LockEntry {
  version?: string;
  integrity?: string;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [k: string]: unknown;
}

interface Lock {
  packages: Record<string, LockEntry>;
}

/** Where Node would find `dep` for the package installed at `from` (a lock key), walking up the node_modules. */
function resolveIn(lock: Lock, from: string, dep: string): string | undefined {
  let base = from;
  for (;;) {
    const key = base ? `${base}/node_modules/${dep}` : `node_modules/${dep}`;
    if (lock.packages[key]) return key;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

export function appLock(repoLockPath: string, tarball: string, name: string, deps: Record<string, string>): object {
  const repo = JSON.parse(readFileSync(repoLockPath, 'utf8')) as Lock;
  const packages: Record<string, LockEntry> = {};
  const todo: [string, string][] = Object.keys(deps).map((d) => ['', d]);
  while (todo.length > 0) {
    const [from, dep] = todo.pop() as [string, string];
    const key = resolveIn(repo, from, dep);
    if (!key) throw new Error(`${dep} (needed by ${from || name}) is not in ${repoLockPath}`);
    if (packages[key]) continue;
    const entry = { ...(repo.packages[key] as LockEntry) };
    delete entry.dev;
    delete entry.peer;
    packages[key] = entry;
    for (const d of Object.keys(entry.dependencies ?? {})) todo.push([key, d]);
  }
  const bytes = readFileSync(tarball);
  const integrity = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
  const root = repo.packages[''] as LockEntry;
  const meta = Object.fromEntries(
    ['version', 'license', 'bin', 'engines', 'peerDependencies', 'peerDependenciesMeta']
      .filter((k) => root[k] !== undefined)
      .map((k) => [k, root[k]]),
  );
  return {
    name: 'fresh-app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'fresh-app', version: '1.0.0', dependencies: { [name]: `file:${tarball}` } },
      [`node_modules/${name}`]: { ...meta, resolved: `file:${tarball}`, integrity, dependencies: deps },
      ...Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a < b ? -1 : 1))),
    },
  };
}
