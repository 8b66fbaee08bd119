/**
 * The prebuilt layer zips an installed package ships (`dist/layers/`, made by the release build) and their checksums.
 *
 * Contract: `prebuiltLayer(arch)` returns the zip's path and SHA-256 after checking the bytes against the package's
 * `SHA256SUMS` (a truncated or altered zip is an error, never deployed); it throws `PrebuiltLayerError` with
 * `E_LAYER_PREBUILT_MISSING` (in a clone: the zips are built by `npm run build:layer`) or `E_LAYER_CHECKSUM`. Needs no
 * compiler, no sources and no network: this is what `cdk synth` and `egress-guard layer` use by default.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECKSUMS_FILE, type LayerArch, layerZipName, PROXY_LAYER_ZIP } from './contents.js';

export const PACKAGE_NAME = 'lambda-egress-guard';

export class PrebuiltLayerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PrebuiltLayerError';
  }
}

/** The package root: the nearest ancestor of this file whose package.json is this package's (src or dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME) {
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new PrebuiltLayerError('E_LAYER_PACKAGE', `cannot find the ${PACKAGE_NAME} package root`);
    dir = up;
  }
}

/** Where the prebuilt zips are. */
export function prebuiltDir(): string {
  return join(packageRoot(), 'dist', 'layers');
}

/** `SHA256SUMS` text (`sha256sum` format) → file name → hex digest. */
export function parseChecksums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line.trim());
    if (m) out.set(m[2] as string, m[1] as string);
  }
  return out;
}

export interface PrebuiltLayer {
  readonly arch: LayerArch;
  readonly zip: string;
  readonly sha256: string;
}

export function prebuiltLayer(arch: LayerArch): PrebuiltLayer {
  return { arch, ...prebuiltZip(layerZipName(arch), `${arch} layer`) };
}

/** The proxy-mode layer (docs/PROXY.md), checked the same way. */
export function prebuiltProxyLayer(): { zip: string; sha256: string } {
  return prebuiltZip(PROXY_LAYER_ZIP, 'proxy-mode layer');
}

function prebuiltZip(name: string, what: string): { zip: string; sha256: string } {
  const dir = prebuiltDir();
  const zip = join(dir, name);
  const sums = join(dir, CHECKSUMS_FILE);
  if (!existsSync(zip) || !existsSync(sums)) {
    throw new PrebuiltLayerError(
      'E_LAYER_PREBUILT_MISSING',
      `egress-guard: the prebuilt ${what} is missing (${zip}): in a clone of the repository run \`npm run build:layer\`, or build from the sources (EgressGuardLayer \`fromSource: true\`)`,
    );
  }
  const expected = parseChecksums(readFileSync(sums, 'utf8')).get(name);
  const actual = createHash('sha256').update(readFileSync(zip)).digest('hex');
  if (expected !== actual) {
    throw new PrebuiltLayerError(
      'E_LAYER_CHECKSUM',
      `egress-guard: ${zip} does not match ${sums} (expected ${expected ?? 'an entry'}, got ${actual}): reinstall the package or rebuild the layer`,
    );
  }
  return { zip, sha256: actual };
}

/** The bytes of `name` in a zip whose entries are stored (as `./zip.ts` writes them); throws if absent or compressed. */
export function storedEntry(zip: Buffer, name: string): Buffer {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0 || end + 22 > zip.length) throw new PrebuiltLayerError('E_LAYER_ZIP', 'not a zip (no end record)');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count && at + 46 <= end; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) break;
    const nameLen = zip.readUInt16LE(at + 28);
    const skip = nameLen + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    if (zip.toString('utf8', at + 46, at + 46 + nameLen) === name) {
      const method = zip.readUInt16LE(at + 10);
      const size = zip.readUInt32LE(at + 24);
      const local = zip.readUInt32LE(at + 42);
      if (method !== 0 || local + 30 > end || zip.readUInt32LE(local) !== 0x04034b50) {
        throw new PrebuiltLayerError('E_LAYER_ZIP', `${name}: not a stored entry`);
      }
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      if (data + size > end) throw new PrebuiltLayerError('E_LAYER_ZIP', `${name}: entry past the end of the zip`);
      return zip.subarray(data, data + size);
    }
    at += 46 + skip;
  }
  throw new PrebuiltLayerError('E_LAYER_ZIP', `${name} is not in the zip`);
}

/**
 * The interposer of this machine's architecture, from the shipped (checked) layer zip, for `egress-guard run` in an
 * installed package (no sources, no compiler): extracted once to `$XDG_CACHE_HOME/egress-guard/<zip sha256>/`
 * (default `~/.cache`), written atomically, mode 0755; later calls reuse it.
 */
export function prebuiltLibrary(env: NodeJS.ProcessEnv = process.env): string {
  const layer = prebuiltLayer(process.arch === 'arm64' ? 'arm64' : 'x86_64');
  const cache = env.XDG_CACHE_HOME || join(env.HOME || tmpdir(), '.cache');
  const dir = join(cache, 'egress-guard', layer.sha256.slice(0, 16));
  const lib = join(dir, 'libegressguard.so');
  if (existsSync(lib)) return lib;
  mkdirSync(dir, { recursive: true });
  const bytes = storedEntry(readFileSync(layer.zip), 'egress-guard/lib/libegressguard.so');
  const tmp = `${lib}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes, { mode: 0o755 });
  renameSync(tmp, lib);
  return lib;
}
