/**
 * Builds the egress-guard Lambda layer from the sources: one zip per architecture, `dist/layers/<zip>` plus
 * `dist/layers/SHA256SUMS`. What goes in each zip is the list in `./contents.ts`; how it is zipped is `./zip.ts`.
 *
 * Also writes the proxy-mode layer (`egress-guard-proxy-layer.zip`, one for both architectures, `PROXY_LAYER_FILES`),
 * and the native launcher of `egress-guard run` for each architecture built (`LAUNCHER_FILE`: in no zip, but beside
 * them at `<out>/../launcher/<arch>/egress-guard-run`, i.e. `dist/launcher/…`, which the package ships).
 *
 * Phases: (1) build the inputs (`make` for native files, `npm run` for bundles), under a lock shared by every process
 * building this checkout; (2) stage them with explicit modes; (3) zip deterministically; (4) check the size goal;
 * (5) record the SHA-256 of each zip in SHA256SUMS (entries of other architectures already there are kept).
 *
 * Reproducible: the same sources and toolchain give byte-identical zips (sorted by the list, fixed timestamps and
 * modes, stored entries; the C build has no embedded paths or dates). `--release` builds the native inputs from
 * scratch in a fresh build directory, so nothing stale from a developer's tree can enter a release; the
 * reproducibility test builds twice that way and compares the bytes.
 *
 * Command line (`node dist/layer/build/build-layer.js [--release] [--out DIR] [x86_64|arm64|--host]…`): no
 * architecture = both. `npm run build:layer` (both, incremental), `npm run build:release` (both, from scratch: what
 * `npm pack` ships), `npm run build:layer -- --host` (the demo).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../policy/compile/write-atomic.js';
import {
  CHECKSUMS_FILE,
  LAUNCHER_FILE,
  LAYER_ARCHES,
  LAYER_FILES,
  type LayerArch,
  type LayerFile,
  layerZipName,
  PROXY_LAYER_FILES,
  PROXY_LAYER_ZIP,
} from './contents.js';
import { parseChecksums } from './prebuilt.js';
import { writeZip } from './zip.js';

export { LAYER_ARCHES, type LayerArch } from './contents.js';

/** Size budget of each layer zip: 1 MB (a small layer downloads and unpacks fast on a cold start). */
export const MAX_LAYER_ZIP_BYTES = 1_000_000;

/** The repository root: the nearest ancestor holding native/Makefile and package.json (works from src and dist). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'native', 'Makefile')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new LayerBuildError(
        'E_LAYER_NO_SOURCES',
        'egress-guard layer build: no sources here (native/Makefile not found above this file): building the layer needs a clone of the repository; an installed package ships the prebuilt zips instead',
      );
    }
    dir = up;
  }
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

export interface BuildOptions {
  /**
   * A directory for the native build outputs (`BUILD=` of each Makefile), e.g. a fresh one for a from-scratch build.
   * @default - each Makefile's own build/ directory (incremental)
   */
  buildDir?: string;
}

/** Where `make` puts the outputs of `dir` for this build. */
function makeBuildDir(root: string, dir: string, opts: BuildOptions): string {
  return opts.buildDir ? join(opts.buildDir, dir.replaceAll('/', '_')) : join(root, dir, 'build');
}

/** The file on disk that becomes `file` in the zip of `arch`. */
export function inputPath(file: LayerFile, arch: LayerArch, root = repoRoot(), opts: BuildOptions = {}): string {
  const from = file.from;
  if (from.kind === 'file') return join(root, from.source);
  if (from.kind === 'npm') return join(root, from.output);
  return join(makeBuildDir(root, from.dir, opts), ...(arch === 'arm64' ? ['aarch64'] : []), from.target);
}

/** Every input of the layer of `arch`, by its path in the zip. */
export function layerSources(arch: LayerArch, root = repoRoot(), opts: BuildOptions = {}): Record<string, string> {
  return Object.fromEntries(LAYER_FILES.map((f) => [f.path, inputPath(f, arch, root, opts)]));
}

/** The commands that build the inputs of `arches` (one `make` per Makefile, one `npm run` per script). */
function buildSteps(arches: readonly LayerArch[], root: string, opts: BuildOptions): [string, string[]][] {
  const steps: [string, string[]][] = [];
  const makeTargets = new Map<string, string[]>();
  for (const f of [...LAYER_FILES, LAUNCHER_FILE]) {
    if (f.from.kind === 'make') {
      const targets = makeTargets.get(f.from.dir) ?? [];
      for (const arch of arches) targets.push(inputPath(f, arch, root, opts));
      makeTargets.set(f.from.dir, targets);
    } else if (f.from.kind === 'npm') {
      const step: [string, string[]] = ['npm', ['run', '-s', f.from.script]];
      if (!steps.some(([, a]) => a.join(' ') === step[1].join(' '))) steps.push(step);
    }
  }
  for (const [dir, targets] of makeTargets) {
    steps.unshift(['make', ['-s', '-C', dir, `BUILD=${makeBuildDir(root, dir, opts)}`, ...targets]]);
  }
  return steps;
}

function lockPath(root: string): string {
  return join(tmpdir(), `egress-guard-build-${createHash('sha256').update(root).digest('hex').slice(0, 12)}.lock`);
}

let flockAvailable: boolean | undefined;
function locked(cmd: string, args: string[], root: string): [string, string[]] {
  flockAvailable ??= spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
  return flockAvailable ? ['flock', [lockPath(root), cmd, ...args]] : [cmd, args];
}

function stepFailed(cmd: string, args: string[], status: unknown, output: string): LayerBuildError {
  return new LayerBuildError(
    'E_LAYER_STEP',
    `egress-guard layer build: \`${cmd} ${args.join(' ')}\` failed (${String(status)}):\n${output}`,
  );
}

const done = new Set<string>();

/** Phase 1: builds the inputs of `arches` (each command at most once per process), under the checkout's lock. */
export function buildInputs(arches: readonly LayerArch[], root = repoRoot(), opts: BuildOptions = {}): void {
  for (const [cmd, args] of buildSteps(arches, root, opts)) {
    const key = `${cmd} ${args.join(' ')}`;
    if (done.has(key)) continue;
    const [c, a] = locked(cmd, args, root);
    const r = spawnSync(c, a, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    if (r.status !== 0) throw stepFailed(cmd, args, r.status ?? r.signal ?? r.error, `${r.stdout}${r.stderr}`);
    done.add(key);
  }
}

/**
 * Phase 1 without blocking the event loop (for test files and other async callers): the same commands, under the
 * same lock, awaited; afterwards `buildInputs`/`stageLayer`/`buildLayers` in this process find them done.
 */
export async function prebuild(
  arches: readonly LayerArch[] = LAYER_ARCHES,
  root = repoRoot(),
  opts: BuildOptions = {},
): Promise<void> {
  for (const [cmd, args] of buildSteps(arches, root, opts)) {
    const key = `${cmd} ${args.join(' ')}`;
    if (done.has(key)) continue;
    const [c, a] = locked(cmd, args, root);
    const r = await new Promise<{ status: number | null; output: string }>((resolveStep) => {
      const child = spawn(c, a, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.on('close', (status) => resolveStep({ status, output }));
    });
    if (r.status !== 0) throw stepFailed(cmd, args, r.status, r.output);
    done.add(key);
  }
}

/** The inputs of `arch`, checked to exist; throws E_LAYER_INPUT_MISSING naming each missing one. */
function existingInputs(
  arch: LayerArch,
  root: string,
  opts: BuildOptions,
  files: readonly LayerFile[] = LAYER_FILES,
): [LayerFile, string][] {
  const inputs = files.map((f) => [f, inputPath(f, arch, root, opts)] as [LayerFile, string]);
  const missing = inputs.filter(([, p]) => !existsSync(p)).map(([f, p]) => `${f.path}: ${p}`);
  if (missing.length > 0) {
    throw new LayerBuildError(
      'E_LAYER_INPUT_MISSING',
      `egress-guard layer build (${arch}): missing input(s):\n  ${missing.join('\n  ')}\nrun \`npm run build:layer\` from the repository root`,
    );
  }
  return inputs;
}

/**
 * Phase 2: copies the layer layout for `arch` into `dest` (which then holds `egress-guard/…`), with explicit modes.
 * Builds the inputs first unless `build: false`.
 */
export function stageLayer(arch: LayerArch, dest: string, opts: BuildOptions & { build?: boolean } = {}): string {
  const root = repoRoot();
  if (opts.build !== false) buildInputs([arch], root, opts);
  rmSync(join(dest, 'egress-guard'), { recursive: true, force: true });
  for (const [f, from] of existingInputs(arch, root, opts)) {
    const out = join(dest, f.path);
    mkdirSync(dirname(out), { recursive: true, mode: 0o755 });
    copyFileSync(from, out);
    chmodSync(out, f.mode);
  }
  return join(dest, 'egress-guard');
}

/** Phase 3: the zip of `arch`, from the inputs (already built). */
export function zipLayer(arch: LayerArch, root = repoRoot(), opts: BuildOptions = {}): Buffer {
  return writeZip(
    existingInputs(arch, root, opts).map(([f, from]) => ({ name: f.path, data: readFileSync(from), mode: f.mode })),
  );
}

/** The proxy-mode layer's zip (architecture-independent: its one file is a shell script), from the sources. */
export function zipProxyLayer(root = repoRoot()): Buffer {
  return writeZip(
    existingInputs('x86_64', root, {}, PROXY_LAYER_FILES).map(([f, from]) => ({
      name: f.path,
      data: readFileSync(from),
      mode: f.mode,
    })),
  );
}

export interface BuiltLayer {
  arch: LayerArch;
  zip: string;
  bytes: number;
  sha256: string;
  files: string[];
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Phases 1–5 for every architecture in `arches`, into `outDir` (default `dist/layers`). */
export function buildLayers(
  arches: readonly LayerArch[] = LAYER_ARCHES,
  outDir?: string,
  opts: BuildOptions = {},
): BuiltLayer[] {
  const root = repoRoot();
  const dist = outDir ?? join(root, 'dist', 'layers');
  mkdirSync(dist, { recursive: true });
  buildInputs(arches, root, opts);
  const results: BuiltLayer[] = [];
  for (const arch of arches) {
    const bytes = zipLayer(arch, root, opts);
    if (bytes.length > MAX_LAYER_ZIP_BYTES) {
      throw new LayerBuildError(
        'E_LAYER_TOO_BIG',
        `egress-guard layer build: the ${arch} zip is ${bytes.length} bytes (goal ≤ ${MAX_LAYER_ZIP_BYTES})`,
      );
    }
    const zip = join(dist, layerZipName(arch));
    writeFileAtomic(zip, bytes);
    results.push({ arch, zip, bytes: bytes.length, sha256: sha256(bytes), files: LAYER_FILES.map((f) => f.path) });
  }
  for (const arch of arches) {
    const [[, from]] = existingInputs(arch, root, opts, [LAUNCHER_FILE]) as [[LayerFile, string]];
    const out = join(dist, '..', 'launcher', arch, LAUNCHER_FILE.path);
    mkdirSync(dirname(out), { recursive: true, mode: 0o755 });
    writeFileAtomic(out, readFileSync(from));
    chmodSync(out, LAUNCHER_FILE.mode);
  }
  const proxyZip = zipProxyLayer(root);
  writeFileAtomic(join(dist, PROXY_LAYER_ZIP), proxyZip);
  const sumsPath = join(dist, CHECKSUMS_FILE);
  const sums = existsSync(sumsPath) ? parseChecksums(readFileSync(sumsPath, 'utf8')) : new Map<string, string>();
  for (const l of results) sums.set(layerZipName(l.arch), l.sha256);
  sums.set(PROXY_LAYER_ZIP, sha256(proxyZip));
  const text = [...sums.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, digest]) => `${digest}  ${name}\n`)
    .join('');
  writeFileAtomic(sumsPath, Buffer.from(text));
  return results;
}

/** Both architectures from scratch (a fresh native build directory, removed afterwards): what a release ships. */
export function buildRelease(outDir?: string, arches: readonly LayerArch[] = LAYER_ARCHES): BuiltLayer[] {
  const buildDir = mkdtempSync(join(tmpdir(), 'egress-guard-release-'));
  try {
    return buildLayers(arches, outDir, { buildDir });
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}

/** `buildRelease` without blocking the event loop (test files): the compiles are awaited child processes. */
export async function buildReleaseAsync(
  outDir?: string,
  arches: readonly LayerArch[] = LAYER_ARCHES,
): Promise<BuiltLayer[]> {
  const buildDir = mkdtempSync(join(tmpdir(), 'egress-guard-release-'));
  try {
    await prebuild(arches, repoRoot(), { buildDir });
    return buildLayers(arches, outDir, { buildDir });
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}

/** CLI arguments: architectures (`x86_64`, `arm64`, `--host` = this machine's), `--release`, `--out DIR`. */
export function parseBuildArgs(args: string[]): { arches: LayerArch[]; release: boolean; out?: string } {
  const arches: LayerArch[] = [];
  let release = false;
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--release') release = true;
    else if (a === '--out' && i + 1 < args.length) out = resolve(args[++i] as string);
    else if (a === '--host') arches.push(process.arch === 'arm64' ? 'arm64' : 'x86_64');
    else if (a === 'x86_64' || a === 'arm64') arches.push(a);
    else {
      throw new LayerBuildError(
        'E_LAYER_USAGE',
        `egress-guard layer build: unknown argument '${a}' (expected x86_64, arm64, --host, --release, --out DIR)`,
      );
    }
  }
  return { arches: arches.length > 0 ? arches : [...LAYER_ARCHES], release, out };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { arches, release, out } = parseBuildArgs(process.argv.slice(2));
    const layers = release ? buildRelease(out, arches) : buildLayers(arches, out);
    for (const l of layers) {
      console.log(`${relative(process.cwd(), l.zip)}  ${l.bytes} bytes  sha256 ${l.sha256}`);
    }
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
