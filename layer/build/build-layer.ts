/**
 * Builds the egress-guard Lambda layer: one zip per architecture, `dist/egress-guard-layer-<arch>.zip`.
 *
 * Layout inside each zip (Lambda unpacks layers into /opt, so everything lands under /opt/egress-guard/):
 *   egress-guard/wrapper                       0755  the exec wrapper (AWS_LAMBDA_EXEC_WRAPPER)
 *   egress-guard/lib/libegressguard.so         0755  the interposer built for that architecture
 *   egress-guard/node/handler.mjs              0644  the Node handler wrapper (one esbuild bundle)
 *   egress-guard/python/egress_guard_wrapper.py (and its sibling modules)  0644  the Python handler wrapper
 * Deliberately NOT shipped: anything under /opt/nodejs, /opt/python or /opt/lib (paths the runtimes search for
 * modules and libraries), so the layer can never shadow the runtime's own modules such as the AWS SDK
 * (docs/LAMBDA.md "Layers and limits"). Only `egress_guard_wrapper` and `egress_guard_*` Python modules are
 * put on PYTHONPATH, by the wrapper, and only for Python functions.
 *
 * Exports `stageLayer` (used by the CDK layer construct's local bundling and by the demo) and `buildLayers`.
 * Run directly (`npm run build:layer`) it builds both zips and prints their sizes; `-- --host` (what `npm run demo`
 * uses) or `-- x86_64` / `-- arm64` builds only those.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LayerArch = 'x86_64' | 'arm64';
export const LAYER_ARCHES: readonly LayerArch[] = ['x86_64', 'arm64'];
/** Size budget of each layer zip: 1 MB (a small layer downloads and unpacks fast on a cold start). */
export const MAX_LAYER_ZIP_BYTES = 1_000_000;

/** The repository root: the nearest ancestor holding the project's package.json (works from src and from dist). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'native', 'Makefile')) || existsSync(join(dir, 'layer', 'wrapper', 'wrapper'))) {
      if (existsSync(join(dir, 'package.json'))) return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('egress-guard layer build: cannot find the repository root (package.json)');
    dir = up;
  }
}

function lockPath(root: string): string {
  return join(tmpdir(), `egress-guard-build-${createHash('sha256').update(root).digest('hex').slice(0, 12)}.lock`);
}

let flockAvailable: boolean | undefined;
function hasFlock(): boolean {
  flockAvailable ??= spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
  return flockAvailable;
}

export class LayerBuildError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LayerBuildError';
  }
}

/**
 * Runs a build step under an exclusive lock (flock(1)) shared by every process building this checkout, so parallel
 * test files (or a test and a CDK synth) never write the same library or bundle at the same time.
 */
function run(cmd: string, args: string[], cwd: string): void {
  const lock = lockPath(cwd);
  const [c, a] = hasFlock() ? ['flock', [lock, cmd, ...args]] : [cmd, args];
  const r = spawnSync(c, a, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  if (r.status !== 0) {
    throw new LayerBuildError(
      'E_LAYER_STEP',
      `egress-guard layer build: \`${cmd} ${args.join(' ')}\` failed (${r.status ?? r.signal ?? r.error}):\n${r.stdout}${r.stderr}`,
    );
  }
}

/** Where each input of the layer comes from, for one architecture. */
export function layerSources(arch: LayerArch, root = repoRoot()) {
  return {
    wrapper: join(root, 'layer', 'wrapper', 'wrapper'),
    lib: join(root, 'native', 'build', ...(arch === 'arm64' ? ['aarch64'] : []), 'libegressguard.so'),
    nodeHandler: join(root, 'dist', 'layer', 'node', 'handler.mjs'),
    pythonDir: join(root, 'layer', 'python'),
  };
}

export interface StageOptions {
  /** Build the inputs first (make, esbuild). Default true. */
  build?: boolean;
}

const built = new Set<string>();

/** Phase 1 + 2: builds the interposer for `arch` and the Node handler bundle (each at most once per process). */
export function buildInputs(arch: LayerArch, root = repoRoot()): void {
  // Phase 1: the interposer. `make -C native` builds x86_64 (the host); `make -C native aarch64` cross-builds arm64.
  const target = arch === 'arm64' ? 'aarch64' : 'all';
  if (!built.has(`native:${target}`)) {
    run('make', ['-s', '-C', 'native', ...(arch === 'arm64' ? ['aarch64'] : [])], root);
    built.add(`native:${target}`);
  }
  // Phase 2: the Node handler wrapper, bundled by esbuild into one file (the metering part's build script).
  if (!built.has('node')) {
    run('npm', ['run', '-s', 'build:layer-node'], root);
    built.add('node');
  }
}

/**
 * Phases 1 and 2 without blocking the event loop (for test files and other async callers): the same commands, under
 * the same lock, awaited; afterwards `buildInputs`/`stageLayer` in this process find them done.
 */
export async function prebuild(arches: readonly LayerArch[] = LAYER_ARCHES, root = repoRoot()): Promise<void> {
  const steps: [string, string[]][] = [];
  for (const arch of arches) {
    const target = arch === 'arm64' ? 'aarch64' : 'all';
    if (!built.has(`native:${target}`))
      steps.push(['make', ['-s', '-C', 'native', ...(arch === 'arm64' ? ['aarch64'] : [])]]);
  }
  if (!built.has('node')) steps.push(['npm', ['run', '-s', 'build:layer-node']]);
  for (const [cmd, args] of steps) {
    const lock = lockPath(root);
    const [c, a] = hasFlock() ? ['flock', [lock, cmd, ...args]] : [cmd, args];
    const r = await new Promise<{ status: number | null; output: string }>((done) => {
      const child = spawn(c, a, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.on('close', (status) => done({ status, output }));
    });
    if (r.status !== 0) {
      throw new LayerBuildError(
        'E_LAYER_STEP',
        `egress-guard layer build: \`${cmd} ${args.join(' ')}\` failed (${r.status}):\n${r.output}`,
      );
    }
  }
  for (const arch of arches) built.add(`native:${arch === 'arm64' ? 'aarch64' : 'all'}`);
  built.add('node');
}

/**
 * Phase 3: copies the layer layout for `arch` into `dest` (which then holds `egress-guard/…`), with explicit modes.
 * Throws LayerBuildError E_LAYER_INPUT_MISSING naming the missing input and the command that makes it.
 */
export function stageLayer(arch: LayerArch, dest: string, opts: StageOptions = {}): string {
  const root = repoRoot();
  if (opts.build !== false) buildInputs(arch, root);
  const src = layerSources(arch, root);
  const missing: string[] = [];
  for (const [what, path] of Object.entries(src)) if (!existsSync(path)) missing.push(`${what}: ${path}`);
  if (missing.length > 0) {
    throw new LayerBuildError(
      'E_LAYER_INPUT_MISSING',
      `egress-guard layer build (${arch}): missing input(s):\n  ${missing.join('\n  ')}\nrun \`npm run build:layer\` from the repository root`,
    );
  }
  const base = join(dest, 'egress-guard');
  rmSync(base, { recursive: true, force: true });
  const put = (from: string, to: string, mode: number) => {
    const out = join(base, to);
    mkdirSync(dirname(out), { recursive: true, mode: 0o755 });
    copyFileSync(from, out);
    chmodSync(out, mode);
  };
  put(src.wrapper, 'wrapper', 0o755);
  put(src.lib, 'lib/libegressguard.so', 0o755);
  put(src.nodeHandler, 'node/handler.mjs', 0o644);
  // Only our own modules: `egress_guard_wrapper.py` and any `egress_guard_*.py` helpers (never a package name a
  // function could also import, such as `boto3`).
  for (const f of readdirSync(src.pythonDir).sort()) {
    if (/^egress_guard_[a-z0-9_]*\.py$/.test(f) || f === 'egress_guard_wrapper.py') {
      put(join(src.pythonDir, f), `python/${f}`, 0o644);
    }
  }
  if (!existsSync(join(base, 'python', 'egress_guard_wrapper.py'))) {
    throw new LayerBuildError(
      'E_LAYER_INPUT_MISSING',
      `egress-guard layer build: ${src.pythonDir}/egress_guard_wrapper.py is missing`,
    );
  }
  return base;
}

/** Every file under `dir`, relative, sorted (deterministic zip order). */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(join(dir, rel)).isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

export interface BuiltLayer {
  arch: LayerArch;
  zip: string;
  bytes: number;
  files: string[];
}

/** Phases 1–5 for every architecture: stage, zip deterministically, check the size goal. */
export function buildLayers(arches: readonly LayerArch[] = LAYER_ARCHES, outDir?: string): BuiltLayer[] {
  const root = repoRoot();
  const dist = outDir ?? join(root, 'dist');
  const results: BuiltLayer[] = [];
  for (const arch of arches) {
    const stage = join(dist, 'layer', 'stage', arch);
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(stage, { recursive: true });
    stageLayer(arch, stage);
    // Phase 4: zip. Sorted file list, fixed timestamps (1980-01-01, the zip epoch) and no extra attributes (-X), so
    // the same inputs give the same bytes; Unix modes are kept in the central directory.
    const files = listFiles(stage);
    const epoch = new Date('1980-01-02T00:00:00Z');
    for (const f of files) utimesSync(join(stage, f), epoch, epoch);
    const zip = resolve(dist, `egress-guard-layer-${arch}.zip`);
    rmSync(zip, { force: true });
    const r = spawnSync('zip', ['-X', '-D', '-q', '-9', zip, '-@'], { cwd: stage, input: `${files.join('\n')}\n` });
    if (r.status !== 0) {
      throw new LayerBuildError('E_LAYER_ZIP', `egress-guard layer build: zip failed (${r.status}): ${r.stderr}`);
    }
    // Phase 5: the size goal.
    const bytes = statSync(zip).size;
    if (bytes > MAX_LAYER_ZIP_BYTES) {
      throw new LayerBuildError(
        'E_LAYER_TOO_BIG',
        `egress-guard layer build: ${zip} is ${bytes} bytes (goal ≤ ${MAX_LAYER_ZIP_BYTES})`,
      );
    }
    results.push({ arch, zip, bytes, files });
  }
  return results;
}

/** CLI arguments: none = every architecture; `x86_64` / `arm64` = those; `--host` = this machine's only. */
export function archesFromArgs(args: string[]): LayerArch[] {
  if (args.length === 0) return [...LAYER_ARCHES];
  return args.map((a) => {
    if (a === '--host') return process.arch === 'arm64' ? 'arm64' : 'x86_64';
    if (a === 'x86_64' || a === 'arm64') return a;
    throw new LayerBuildError(
      'E_LAYER_USAGE',
      `egress-guard layer build: unknown argument '${a}' (expected x86_64, arm64 or --host)`,
    );
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    for (const l of buildLayers(archesFromArgs(process.argv.slice(2)))) {
      console.log(`${relative(process.cwd(), l.zip)}  ${l.bytes} bytes  (${l.files.length} files)`);
    }
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
