/**
 * Builds the compiled clients once per suite run: the Go client (cgo and static) and the Java client.
 *
 * Outputs go to `<tmpdir>/egress-guard-compat-build/<hash of the sources and toolchain>/`, so a second test run with
 * unchanged sources reuses them; a build writes into a private directory and renames it into place (parallel runs
 * never see half a build). Toolchains are found explicitly (CI's PATH need not contain /usr/local/go/bin).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { need, needCommand } from '../../support/capability.js';
import { ROOT } from '../../support/guard.js';

export const CLIENTS = join(ROOT, 'test/compat/clients');
const BUILD_ROOT = join(tmpdir(), 'egress-guard-compat-build');

/** The `go` binary: /usr/local/go/bin/go (the documented install), else `go` on PATH; undefined when neither runs. */
export function findGo(): string | undefined {
  for (const c of ['/usr/local/go/bin/go', 'go']) {
    if (spawnSync(c, ['version'], { stdio: 'ignore', timeout: 20_000 }).status === 0) return c;
  }
  return undefined;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, cwd, timeout: 540_000 });
  if (r.status !== 0) {
    throw new Error(
      `compat build: \`${cmd} ${args.join(' ')}\` failed (${r.status ?? r.signal}): ${r.stderr}${r.error ?? ''}`,
    );
  }
  return r.stdout + r.stderr;
}

/** Builds into a cached directory keyed by `key`; `build(dir)` fills a fresh private directory. */
function cached(kind: string, key: string, build: (dir: string) => void): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const dir = join(BUILD_ROOT, `${kind}-${hash}`);
  if (existsSync(join(dir, '.done'))) return dir;
  mkdirSync(BUILD_ROOT, { recursive: true });
  const tmp = mkdtempSync(join(BUILD_ROOT, `${kind}-tmp-`));
  try {
    build(tmp);
    run('touch', [join(tmp, '.done')]);
    try {
      renameSync(tmp, dir);
    } catch {
      // another run finished the same build first: use theirs
    }
    // Builds of older sources are never used again: remove them (best effort).
    for (const old of readdirSync(BUILD_ROOT)) {
      if (old.startsWith(`${kind}-`) && !old.startsWith(`${kind}-tmp-`) && join(BUILD_ROOT, old) !== dir) {
        rmSync(join(BUILD_ROOT, old), { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

export interface GoBuild {
  /** CGO_ENABLED=1, `-tags netcgo`: dynamically linked, names through libc getaddrinfo */
  cgo: string;
  /** CGO_ENABLED=0: statically linked, no ELF interpreter */
  static: string;
}

export const GO_CGO_NAME = 'compat-go-cgo';
export const GO_STATIC_NAME = 'compat-go-static';

export function buildGo(go: string): GoBuild {
  const src = join(CLIENTS, 'go/main.go');
  // The key covers everything that shapes the binaries: source, toolchain and this function's build commands.
  const key = readFileSync(src, 'utf8') + run(go, ['version']) + buildGo.toString();
  const dir = cached('go', key, (out) => {
    const base = { ...process.env, GOTOOLCHAIN: 'local', GO111MODULE: 'on' };
    run(go, ['build', '-tags', 'netcgo', '-ldflags=-s -w', '-o', join(out, GO_CGO_NAME), src], {
      ...base,
      CGO_ENABLED: '1',
    });
    run(go, ['build', '-ldflags=-s -w', '-o', join(out, GO_STATIC_NAME), src], { ...base, CGO_ENABLED: '0' });
  });
  return { cgo: join(dir, GO_CGO_NAME), static: join(dir, GO_STATIC_NAME) };
}

/** Compiles Compat.java with javac; returns the class directory (run `java -cp DIR Compat …`). */
export function buildJava(): string {
  const src = join(CLIENTS, 'java/Compat.java');
  const key = readFileSync(src, 'utf8') + run('javac', ['-version']);
  return cached('java', key, (out) => {
    run('javac', ['-d', out, src]);
  });
}

/** `true` when the ELF file has no PT_INTERP (program interpreter): statically linked. */
export function isStaticElf(path: string): boolean {
  return !/Requesting program interpreter|INTERP/.test(run('readelf', ['-l', path]));
}

/** The .NET runtime's version (`dotnet-<version>` in the tools cache, unpacked there by .ci/run). */
export const DOTNET_VERSION = readFileSync(join(ROOT, 'test/support/DOTNET_VERSION'), 'utf8').trim();
const DOTNET_DIR = join(
  process.env.EGRESS_GUARD_TOOLS ?? join(homedir(), '.cache/egress-guard-tools'),
  `dotnet-${DOTNET_VERSION}`,
);

/** The `dotnet` host of the tools cache's .NET runtime; undefined when it does not run. */
export function findDotnet(): string | undefined {
  const bin = join(DOTNET_DIR, 'dotnet');
  return spawnSync(bin, ['--list-runtimes'], { stdio: 'ignore', timeout: 20_000 }).status === 0 ? bin : undefined;
}

/** The capability gate of the .NET tests: the runtime in the tools cache and Mono's C# compiler. */
export function needDotnet(): boolean {
  return (
    needCommand('mcs') &&
    need(
      'the .NET runtime',
      findDotnet() !== undefined,
      `no .NET runtime ${DOTNET_VERSION} in the tools cache (.ci/run)`,
    )
  );
}

/** The assemblies C# programs of the suite are compiled against: the runtime's own (no reference pack is served). */
const DOTNET_REFS = [
  'System.Private.CoreLib',
  'System.Private.Uri',
  'System.Runtime',
  'System.Runtime.Extensions',
  'System.Console',
  'System.Collections',
  'System.Net.Http',
  'System.Net.Sockets',
  'System.Net.Primitives',
  'System.Net.NameResolution',
  'System.Text.RegularExpressions',
  'System.Text.Json',
  'System.Memory',
  'System.Threading',
  'System.Threading.Tasks',
];

/**
 * Compiles one C# file with Mono's `mcs` against the runtime's assemblies into `<name>.dll` with the
 * `<name>.runtimeconfig.json` that makes `dotnet <name>.dll` run it on the tools cache's .NET runtime (globalization
 * invariant: the machine need not have ICU). Returns the path of the dll.
 */
export function buildDotnet(name: string, src: string): string {
  const dotnet = findDotnet();
  if (dotnet === undefined) throw new Error(`compat build: no .NET runtime at ${DOTNET_DIR} (run .ci/run)`);
  const fx = join(DOTNET_DIR, 'shared', 'Microsoft.NETCore.App', DOTNET_VERSION);
  const key = readFileSync(src, 'utf8') + run('mcs', ['--version']) + DOTNET_VERSION;
  const dir = cached(`dotnet-${name}`, key, (out) => {
    const refs = DOTNET_REFS.map((r) => `-r:${join(fx, `${r}.dll`)}`);
    run('mcs', ['-nostdlib', '-noconfig', '-optimize+', `-out:${join(out, `${name}.dll`)}`, ...refs, src]);
    const config = {
      runtimeOptions: {
        framework: { name: 'Microsoft.NETCore.App', version: DOTNET_VERSION },
        configProperties: { 'System.Globalization.Invariant': true },
      },
    };
    writeFileSync(join(out, `${name}.runtimeconfig.json`), `${JSON.stringify(config, null, 2)}\n`);
  });
  return join(dir, `${name}.dll`);
}
