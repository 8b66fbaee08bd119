// `egress-guard run`'s compiled-policy cache (policy/cli/run-cache.ts), through the built bin: a hit reuses the entry
// (and prints the same warnings), a changed policy or names file is compiled again, a corrupt entry is rebuilt,
// concurrent cold runs agree on one complete entry, and a `.egp` input never loads the compiler.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, LIBRARY, needBin, needLibrary, scratchDir } from '../../support/guard.js';
import { runChild } from '../../support/netns.js';

/** Prints the policy path the command got, then the first 7 bytes of that file (the magic). */
const SHOW = 'printf "%s\\n" "$EGRESS_GUARD_POLICY"; head -c 7 "$EGRESS_GUARD_POLICY"';

interface Setup {
  dir: string;
  cache: string;
  policy: string;
  list: string;
}

/** A policy with a names file (and one warning), both dated a minute ago, and an empty cache home. */
function setup(): Setup {
  const dir = mkdtempSync(join(scratchDir(), 'cache-'));
  const list = join(dir, 'list.txt');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(list, 'a.example.com\nb.example.com\n');
  writeFileSync(
    policy,
    [
      'version: 1',
      'mode: enforce',
      'allow:',
      '  - host: api.example.com',
      '  - host: old.example.com',
      'deny:',
      '  - host: old.example.com',
      '  - hosts_file: list.txt',
      '',
    ].join('\n'),
  );
  age(list, policy);
  return { dir, cache: join(dir, 'xdg'), policy, list };
}

/** Dates files a minute back: the cache keeps no manifest for names files changed in the last second. */
function age(...files: string[]): void {
  const t = Date.now() / 1000 - 60;
  for (const f of files) utimesSync(f, t, t);
}

function run(s: Setup, policy = s.policy, extra: string[] = []) {
  const r = spawnSync(process.execPath, [BIN, 'run', '--policy', policy, ...extra, '--', 'sh', '-c', SHOW], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, XDG_CACHE_HOME: s.cache, EGRESS_GUARD_LIBRARY: LIBRARY, EGRESS_GUARD_LOG: 'off' },
  });
  const [path, magic] = r.stdout.split('\n');
  return { status: r.status, stderr: r.stderr, path: path as string, magic };
}

/** What `egress-guard compile` makes of the policy: the bytes a correct entry holds. */
function compiled(s: Setup): Buffer {
  const out = join(s.dir, `ref-${Math.random().toString(36).slice(2)}.egp`);
  const r = spawnSync(process.execPath, [BIN, 'compile', s.policy, '-o', out, '-q'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(out);
}

const entries = (s: Setup) => readdirSync(join(s.cache, 'egress-guard', 'policies')).sort();

describe.skipIf(!(needLibrary() && needBin()))('run: the compiled-policy cache', () => {
  it('compiles once, then reuses the entry: same file, untouched, same warnings; 0700 directory, 0600 files', () => {
    const s = setup();
    const first = run(s);
    expect(first.status, first.stderr).toBe(0);
    expect(first.path.startsWith(join(s.cache, 'egress-guard/policies/'))).toBe(true);
    expect(first.magic).toBe('EGRDPOL');
    expect(readFileSync(first.path).equals(compiled(s))).toBe(true);
    expect(first.stderr).toContain('ALLOW_CANCELLED_BY_DENY');
    const names = entries(s);
    expect(names.filter((n) => n.endsWith('.egp'))).toHaveLength(1);
    expect(names.filter((n) => n.endsWith('.json'))).toHaveLength(1);
    expect(names).toHaveLength(2); // no temp file left
    const before = names.map((n) => statSync(join(s.cache, 'egress-guard', 'policies', n), { bigint: true }));

    const second = run(s);
    expect(second.status, second.stderr).toBe(0);
    expect(second.path).toBe(first.path);
    expect(second.stderr).toBe(first.stderr); // the warnings again, from the manifest
    const after = names.map((n) => statSync(join(s.cache, 'egress-guard', 'policies', n), { bigint: true }));
    expect(after.map((st) => [st.ino, st.mtimeNs])).toEqual(before.map((st) => [st.ino, st.mtimeNs]));
    expect(statSync(join(s.cache, 'egress-guard', 'policies')).mode & 0o777).toBe(0o700);
    for (const st of after) expect(Number(st.mode) & 0o777).toBe(0o600);
  });

  it('compiles again when the policy or a names file it reads changes', () => {
    const s = setup();
    const first = run(s);
    expect(first.status, first.stderr).toBe(0);

    writeFileSync(s.list, 'a.example.com\nc.example.com\n');
    age(s.list);
    const list = run(s);
    expect(list.status, list.stderr).toBe(0);
    expect(list.path).not.toBe(first.path);
    expect(readFileSync(list.path).equals(compiled(s))).toBe(true);

    writeFileSync(s.policy, readFileSync(s.policy, 'utf8').replace('api.example.com', 'api2.example.com'));
    const policy = run(s);
    expect(policy.status, policy.stderr).toBe(0);
    expect(policy.path).not.toBe(list.path);
    expect(readFileSync(policy.path).equals(compiled(s))).toBe(true);

    // a names file changed within the last second is not trusted to a manifest: the next run compiles again
    writeFileSync(s.list, 'd.example.com\n');
    const fresh = run(s);
    expect(readFileSync(fresh.path).equals(compiled(s))).toBe(true);
    const manifests = entries(s).filter((n) => n.endsWith('.json'));
    writeFileSync(s.list, 'a.example.com\nc.example.com\n'); // back to the content cached above, dated now
    const back = run(s);
    expect(back.path).toBe(policy.path); // the digests decide, not the dates
    expect(entries(s).filter((n) => n.endsWith('.json'))).toEqual(manifests);
  });

  it('rebuilds a corrupt entry (altered, truncated, garbage manifest) instead of trusting it', () => {
    const s = setup();
    const first = run(s);
    expect(first.status, first.stderr).toBe(0);
    const good = readFileSync(first.path);
    const manifest = entries(s).find((n) => n.endsWith('.json')) as string;
    const corruptions: [string, Buffer | string][] = [
      [first.path, Buffer.concat([good.subarray(0, 100), Buffer.from([good[100]! ^ 0xff]), good.subarray(101)])],
      [first.path, good.subarray(0, good.length >> 1)],
      [first.path, Buffer.alloc(0)],
      [join(s.cache, 'egress-guard', 'policies', manifest), '{"deps":[],"egp":"not hex","warnings":[]}'],
      [join(s.cache, 'egress-guard', 'policies', manifest), 'garbage'],
    ];
    for (const [file, bytes] of corruptions) {
      chmodSync(file, 0o600);
      writeFileSync(file, bytes);
      const r = run(s);
      expect(r.status, r.stderr).toBe(0);
      expect(r.path).toBe(first.path);
      expect(r.magic).toBe('EGRDPOL');
      expect(readFileSync(first.path).equals(good)).toBe(true);
    }
  });

  it('concurrent cold runs all start with the same complete entry and leave no temp files', async () => {
    const s = setup();
    const env = {
      PATH: process.env.PATH,
      XDG_CACHE_HOME: s.cache,
      EGRESS_GUARD_LIBRARY: LIBRARY,
      EGRESS_GUARD_LOG: 'off',
    };
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        runChild(
          spawn(process.execPath, [BIN, 'run', '--policy', s.policy, '--', 'sh', '-c', SHOW], {
            env,
            stdio: ['pipe', 'pipe', 'pipe'],
          }),
          undefined,
          60_000,
        ),
      ),
    );
    const names = entries(s);
    expect(names.filter((n) => n.endsWith('.egp'))).toHaveLength(1);
    expect(names.filter((n) => n.endsWith('.json'))).toHaveLength(1);
    expect(names).toHaveLength(2);
    const egp = join(s.cache, 'egress-guard', 'policies', names.find((n) => n.endsWith('.egp')) as string);
    expect(results.map((r) => [r.status, r.stdout])).toEqual(results.map(() => [0, `${egp}\nEGRDPOL`]));
    expect(readFileSync(egp).equals(compiled(s))).toBe(true);
  }, 90_000);

  it('--no-cache compiles into a private temp file, removed when the command exits', () => {
    const s = setup();
    const r = run(s, s.policy, ['--no-cache']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.path).toMatch(/\/egress-guard-run-[^/]+\/policy\.egp$/);
    expect(r.magic).toBe('EGRDPOL');
    expect(existsSync(r.path)).toBe(false);
    expect(existsSync(s.cache)).toBe(false);
  });

  it('an unusable cache directory (a file stands where it should be) falls back to a private temp file', () => {
    const s = setup();
    mkdirSync(join(s.cache, 'egress-guard'), { recursive: true });
    writeFileSync(join(s.cache, 'egress-guard', 'policies'), 'not a directory');
    const r = run(s);
    expect(r.status, r.stderr).toBe(0);
    expect(r.path).toMatch(/\/egress-guard-run-[^/]+\/policy\.egp$/);
    expect(existsSync(r.path)).toBe(false);
  });

  it('a .egp input and a cache hit never load the compiler (no yaml, no ajv, no compile module)', () => {
    const s = setup();
    const egp = join(s.dir, 'given.egp');
    writeFileSync(egp, compiled(s));
    expect(run(s).status).toBe(0); // fill the cache
    const trace = join(s.dir, 'modules.txt');
    // an ESM load hook (module.register) that appends every module URL node loads to `trace`
    const hooks = `data:text/javascript,${encodeURIComponent(
      `import{appendFileSync}from'node:fs';export async function load(u,c,n){appendFileSync(${JSON.stringify(trace)},u+'\\n');return n(u,c);}`,
    )}`;
    const register = `data:text/javascript,${encodeURIComponent(
      `import{register}from'node:module';register(${JSON.stringify(hooks)});`,
    )}`;
    for (const policy of [egp, s.policy]) {
      writeFileSync(trace, '');
      const r = spawnSync(process.execPath, ['--import', register, BIN, 'run', '--policy', policy, '--', 'true'], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          XDG_CACHE_HOME: s.cache,
          EGRESS_GUARD_LIBRARY: LIBRARY,
          EGRESS_GUARD_LOG: 'off',
        },
      });
      expect(r.status, r.stderr).toBe(0);
      const loaded = readFileSync(trace, 'utf8').split('\n');
      expect(loaded.some((u) => u.endsWith('/policy/cli/run.js'))).toBe(true); // the trace works
      expect(
        loaded.filter((u) => /node_modules\/(yaml|ajv)\/|\/policy\/(compile|parse|schema|semantic)\//.test(u)),
      ).toEqual([]);
    }
  });
});
