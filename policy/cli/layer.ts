/**
 * `egress-guard layer [--arch x86_64|arm64|all] -o <dir> [--policy <file>]`: writes the Lambda layer zips for tools
 * other than CDK (SAM, Terraform, the console, `aws lambda publish-layer-version`).
 * - The guard layer: the prebuilt zip the package ships for each architecture (checked against its SHA256SUMS
 *   first), copied as `egress-guard-layer-<arch>.zip`. No compiler, no sources, no network.
 * - With `--policy`: the compiled policy `policy.egp` and the policy layer `egress-guard-policy.zip`, whose one file
 *   is `egress-guard/policies/<hash>.egp`: the path `egress-guard env --policy` (and the CDK construct) set as
 *   EGRESS_GUARD_POLICY. The zip is deterministic (same policy, same bytes: Terraform's source hash and SAM's upload
 *   change only when the policy does).
 * - With `--proxy`: the proxy-mode layer `egress-guard-proxy-layer.zip` (docs/PROXY.md), one for both architectures.
 * Prints one line per file written (name, bytes, sha256). Exit: 0 written, 1 the policy has errors, 2 usage or I/O.
 */

import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LAYER_ARCHES, type LayerArch, layerZipName, PROXY_LAYER_ZIP } from '../../layer/build/contents.js';
import { PrebuiltLayerError, prebuiltLayer, prebuiltProxyLayer } from '../../layer/build/prebuilt.js';
import { loadPolicyFile, policyLayerPath, policyLayerZip } from '../../layer/policy-layer.js';
import { writeFileAtomic } from '../compile/write-atomic.js';
import { parse, str } from './args.js';
import { reportError } from './report.js';
import { type CliIO, EXIT_OK, EXIT_USAGE, UsageError } from './types.js';

export const LAYER_USAGE = `usage: egress-guard layer [--arch x86_64|arm64|all] -o <dir> [--policy <policy.yaml|policy.egp>] [--proxy]
  Writes the layer zips to deploy with any tool (SAM, Terraform, the console, the AWS CLI):
    egress-guard-layer-<arch>.zip   the guard (prebuilt, checked against the package's SHA256SUMS)
    policy.egp, egress-guard-policy.zip   with --policy: the compiled policy and its layer
    egress-guard-proxy-layer.zip    with --proxy: the proxy-mode layer (docs/PROXY.md), both architectures
  --arch A            x86_64, arm64 or all (default: all)
  -o, --output DIR    where to write (created if needed)
  --policy FILE       also compile (or validate) the policy and write its layer
  --proxy             also write the proxy-mode layer
  exit status: 0 written, 1 the policy has errors, 2 usage or I/O error
`;

export const POLICY_LAYER_ZIP = 'egress-guard-policy.zip';

export function archesOf(value: string | undefined): LayerArch[] {
  if (value === undefined || value === 'all') return [...LAYER_ARCHES];
  if (value === 'x86_64' || value === 'arm64') return [value];
  throw new UsageError('E_USAGE', `--arch must be x86_64, arm64 or all, got '${value}'`);
}

const line = (path: string, bytes: Uint8Array) =>
  `wrote ${path} (${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')})\n`;

export async function layerCommand(argv: string[], io: CliIO): Promise<number> {
  try {
    const { values, positionals } = parse(argv, {
      arch: { type: 'string' },
      output: { type: 'string', short: 'o' },
      policy: { type: 'string' },
      proxy: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout(LAYER_USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError('E_USAGE', `unexpected argument '${positionals[0]}'`);
    const out = str(values.output);
    if (!out) throw new UsageError('E_USAGE', 'give the output directory with -o DIR');
    const arches = archesOf(str(values.arch));
    const policyFile = str(values.policy);
    // Everything is checked before anything is written.
    const policy = policyFile ? loadPolicyFile(policyFile, io.cwd) : undefined;
    for (const w of policy?.warnings ?? []) io.stderr(`${w}\n`);
    const layers = arches.map((a) => prebuiltLayer(a));
    const proxy = values.proxy ? prebuiltProxyLayer() : undefined;
    const dir = resolve(io.cwd, out);
    mkdirSync(dir, { recursive: true });
    for (const l of layers) {
      const to = join(dir, layerZipName(l.arch));
      copyFileSync(l.zip, to);
      io.stdout(`wrote ${join(out, layerZipName(l.arch))} (sha256 ${l.sha256})\n`);
    }
    if (proxy) {
      copyFileSync(proxy.zip, join(dir, PROXY_LAYER_ZIP));
      io.stdout(`wrote ${join(out, PROXY_LAYER_ZIP)} (sha256 ${proxy.sha256})\n`);
    }
    if (policy) {
      writeFileAtomic(join(dir, 'policy.egp'), policy.bytes);
      io.stdout(line(join(out, 'policy.egp'), policy.bytes));
      const zip = policyLayerZip(policy);
      writeFileAtomic(join(dir, POLICY_LAYER_ZIP), zip);
      io.stdout(line(join(out, POLICY_LAYER_ZIP), zip));
      io.stdout(`EGRESS_GUARD_POLICY=${policyLayerPath(policy.hash)}  (egress-guard env --policy ${policyFile})\n`);
    }
    return EXIT_OK;
  } catch (err) {
    if (err instanceof PrebuiltLayerError) {
      io.stderr(`egress-guard layer: ${err.code}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    return reportError(io, 'layer', LAYER_USAGE, err);
  }
}
