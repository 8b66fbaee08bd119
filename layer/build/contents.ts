/**
 * What the egress-guard layer holds: the ONE list of layer files. The layer build, the release build, the
 * reproducibility check and the layer tests all read it; changing what the layer ships is editing this list.
 *
 * Lambda unpacks a layer into /opt, so every path starts with `egress-guard/` (→ /opt/egress-guard/…). Nothing goes
 * under /opt/nodejs, /opt/python, /opt/lib or /opt/bin (searched by the runtimes), so the layer can never shadow a
 * runtime's own modules such as the AWS SDK (docs/LAMBDA.md "Layers and limits"). Layer layout v2: native code only
 * (the exec wrapper, the interposer, the metering agent); no per-language module (docs/DEPLOY.md "The layer").
 *
 * Where each file comes from (`from`):
 * - `file`: copied from the repository (`source`, relative to its root);
 * - `make`: built by the Makefile in `dir`, which must put it at `$(BUILD)/<target>` for x86_64 and
 *   `$(BUILD)/aarch64/<target>` for arm64 (the convention of native/Makefile); the release build passes a fresh
 *   `BUILD` directory so every byte is compiled from the sources;
 * - `npm`: written to `output` (relative to the root) by `npm run <script>`.
 */
export type LayerArch = 'x86_64' | 'arm64';
export const LAYER_ARCHES: readonly LayerArch[] = ['x86_64', 'arm64'];

export type LayerSource =
  | { readonly kind: 'file'; readonly source: string }
  | { readonly kind: 'make'; readonly dir: string; readonly target: string }
  | { readonly kind: 'npm'; readonly script: string; readonly output: string };

export interface LayerFile {
  /** Path inside the zip. */
  readonly path: string;
  /** Unix mode recorded in the zip (Lambda keeps it when it unpacks the layer). */
  readonly mode: 0o755 | 0o644;
  readonly from: LayerSource;
}

// biome-ignore format: one line per file
export const LAYER_FILES: readonly LayerFile[] = [
  { path: 'egress-guard/wrapper', mode: 0o755, from: { kind: 'make', dir: 'native', target: 'wrapper' } },
  { path: 'egress-guard/lib/libegressguard.so', mode: 0o755, from: { kind: 'make', dir: 'native', target: 'libegressguard.so' } },
  { path: 'egress-guard/bin/egress-guard-agent', mode: 0o755, from: { kind: 'make', dir: 'native', target: 'egress-guard-agent' } },
  { path: 'egress-guard/bin/egress-guard-proxy', mode: 0o755, from: { kind: 'make', dir: 'native', target: 'egress-guard-proxy' } },
];

/**
 * The proxy-mode layer (one zip for both architectures, docs/PROXY.md "Deploying it"): only the external-extension
 * launcher, which starts the main layer's `bin/egress-guard-proxy`. Opt-in per function, because Lambda starts every
 * file of /opt/extensions.
 */
// biome-ignore format: one line per file
export const PROXY_LAYER_FILES: readonly LayerFile[] = [
  { path: 'extensions/egress-guard-proxy', mode: 0o755, from: { kind: 'file', source: 'layer/extensions/egress-guard-proxy' } },
];

/** File name of the proxy-mode layer zip (in the package: `dist/layers/<name>`). */
export const PROXY_LAYER_ZIP = 'egress-guard-proxy-layer.zip';

/**
 * The native launcher of `egress-guard run` (docs/POLICY.md "The launcher and its records"): in no layer. The build
 * puts one per architecture beside the zips, at `dist/launcher/<arch>/egress-guard-run` (`launcherPath`), which the
 * package ships: from there it finds the CLI at `../../policy/bin.js`.
 */
export const LAUNCHER_FILE: LayerFile = {
  path: 'egress-guard-run',
  mode: 0o755,
  from: { kind: 'make', dir: 'native', target: 'egress-guard-run' },
};

/** Where the launcher of `arch` goes, relative to the package root. */
export function launcherPath(arch: LayerArch): string {
  return `dist/launcher/${arch}/egress-guard-run`;
}

/** File name of the prebuilt zip of `arch` (in the package: `dist/layers/<name>`). */
export function layerZipName(arch: LayerArch): string {
  return `egress-guard-layer-${arch}.zip`;
}

/** Name of the checksum file beside the zips (`sha256sum -c` format). */
export const CHECKSUMS_FILE = 'SHA256SUMS';

/** Inside a function, where the layer's files are. */
export const LAYER_ROOT = '/opt/egress-guard';
