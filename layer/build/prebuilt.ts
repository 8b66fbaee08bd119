/**
 * The prebuilt layer zips an installed package ships (`dist/layers/`, made by the release build) and their checksums.
 *
 * Contract: `prebuiltLayer(arch)` returns the zip's path and SHA-256 after checking the bytes against the package's
 * `SHA256SUMS` (a truncated or altered zip is an error, never deployed); it throws `PrebuiltLayerError` with
 * `E_LAYER_PREBUILT_MISSING` (in a clone: the zips are built by `npm run build:layer`) or `E_LAYER_CHECKSUM`. Needs no
 * compiler, no sources and no network: this is what `cdk synth` and `egress-guard layer` use by default.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
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
