/**
 * `egress-guard publish-layer --region R [--arch …] [--name N] [--public | --org ID | --account ID] [--policy F]
 * [--proxy] [--endpoint URL] [--json]`: publishes the shipped layer zips (and, with `--policy`, the policy layer; with
 * `--proxy`, the proxy-mode layer) as Lambda layer versions with the AWS SDK for JavaScript v3, and prints their ARNs (the `layers` prop of the CDK construct
 * takes them; SAM and Terraform take ARNs too).
 *
 * Contract:
 * - One layer per architecture, `<name>-<arch>` (default name `egress-guard`), CompatibleArchitectures = that one
 *   architecture, the zip's SHA-256 in the description; the policy layer is `<name>-policy`; the proxy-mode layer
 *   (docs/PROXY.md, one zip for both architectures) is `<name>-proxy`, CompatibleArchitectures = both.
 * - Sharing: `--public` (anyone: principal `*`), `--org o-…` (principal `*` limited to that AWS Organization),
 *   `--account 123456789012`; at most one; default private to the account.
 * - Where it publishes: without an endpoint, real AWS in `--region` with the SDK's default credentials chain (how a
 *   user publishes). An endpoint override (`--endpoint`, or `AWS_ENDPOINT_URL_LAMBDA` / `AWS_ENDPOINT_URL`, which the
 *   SDK would otherwise honour silently) must be a loopback address: it exists for local AWS API emulators (moto,
 *   LocalStack), and the command refuses anything else (`E_PUBLISH_ENDPOINT_NOT_LOCAL`) before any request, so a
 *   test or a script can never be pointed at a remote endpoint by mistake.
 * - Needs `@aws-sdk/client-lambda` (an optional peer dependency: `npm install @aws-sdk/client-lambda`); without it,
 *   `E_PUBLISH_SDK_MISSING`. Everything is checked before the first request. Exit: 0 published, 1 AWS refused (the
 *   service's error code and message are printed), 2 usage, policy or I/O error.
 */
import { readFileSync } from 'node:fs';
import { LAYER_ARCHES, type LayerArch, layerZipName, PROXY_LAYER_ZIP } from '../../layer/build/contents.js';
import { PrebuiltLayerError, prebuiltLayer, prebuiltProxyLayer } from '../../layer/build/prebuilt.js';
import { loadPolicyFile, type PolicyFile, policyLayerPath, policyLayerZip } from '../../layer/policy-layer.js';
import { parse, str } from './args.js';
import { archesOf } from './layer.js';
import { reportError } from './report.js';
import { type CliIO, EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError } from './types.js';

export const PUBLISH_USAGE = `usage: egress-guard publish-layer --region REGION [options]
  Publishes the guard layer (one version per architecture) and prints the ARNs.
  --region R          the AWS region (required)
  --arch A            x86_64, arm64 or all (default: all)
  --name N            layer name prefix: N-x86_64, N-arm64, N-policy, N-proxy (default: egress-guard)
  --public            let every AWS account use the versions
  --org ID            let the accounts of this AWS Organization (o-…) use them
  --account ID        let this account (12 digits) use them
  --policy FILE       also publish the policy layer (N-policy) and print EGRESS_GUARD_POLICY
  --proxy             also publish the proxy-mode layer (N-proxy, both architectures; docs/PROXY.md)
  --endpoint URL      a local AWS API emulator (loopback only, e.g. http://127.0.0.1:5000); default: AWS
  --json              print {"x86_64": arn, …, "proxy": arn, "policy": {"arn", "path"}} instead of lines
  credentials: the AWS SDK's default chain (environment, profile, SSO, …)
  exit status: 0 published, 1 AWS refused, 2 usage, policy or I/O error
`;

export class PublishError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** True for an http(s) URL whose host is loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopbackUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The endpoint override in force (flag, then the SDK's variables), refused unless loopback. */
export function localEndpoint(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const [where, value] = flag
    ? ['--endpoint', flag]
    : env.AWS_ENDPOINT_URL_LAMBDA
      ? ['AWS_ENDPOINT_URL_LAMBDA', env.AWS_ENDPOINT_URL_LAMBDA]
      : env.AWS_ENDPOINT_URL
        ? ['AWS_ENDPOINT_URL', env.AWS_ENDPOINT_URL]
        : [undefined, undefined];
  if (value === undefined) return undefined;
  if (!isLoopbackUrl(value)) {
    throw new PublishError(
      'E_PUBLISH_ENDPOINT_NOT_LOCAL',
      `${where} is ${value}: an endpoint override must be a local AWS API emulator on a loopback address; to publish to AWS, give no endpoint (and unset ${where})`,
    );
  }
  return value;
}

type Share = { Principal: string; OrganizationId?: string } | undefined;

function shareOf(values: Record<string, string | boolean | undefined>): Share {
  const chosen = ['public', 'org', 'account'].filter((k) => values[k] !== undefined && values[k] !== false);
  if (chosen.length > 1) throw new UsageError('E_USAGE', 'give at most one of --public, --org, --account');
  if (values.public) return { Principal: '*' };
  const org = str(values.org);
  if (org !== undefined) {
    if (!/^o-[a-z0-9]{10,32}$/.test(org))
      throw new UsageError('E_USAGE', `--org '${org}' is not an organization id (o-…)`);
    return { Principal: '*', OrganizationId: org };
  }
  const account = str(values.account);
  if (account !== undefined) {
    if (!/^\d{12}$/.test(account))
      throw new UsageError('E_USAGE', `--account '${account}' is not a 12-digit account id`);
    return { Principal: account };
  }
  return undefined;
}

interface Published {
  name: string;
  arn: string;
  version: number;
}

/** What to publish, where and how, all checked before the first request. */
interface Plan {
  region: string;
  name: string;
  layers: { arch: LayerArch; zip: string; sha256: string }[];
  proxy?: { zip: string; sha256: string };
  policy?: PolicyFile;
  share: Share;
  endpoint?: string;
  json: boolean;
}

const OPTIONS = {
  region: { type: 'string' },
  arch: { type: 'string' },
  name: { type: 'string' },
  public: { type: 'boolean' },
  org: { type: 'string' },
  account: { type: 'string' },
  policy: { type: 'string' },
  proxy: { type: 'boolean' },
  endpoint: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The plan the arguments ask for (undefined for --help). Throws UsageError, PublishError, PrebuiltLayerError. */
function planOf(argv: string[], io: CliIO): Plan | undefined {
  const { values, positionals } = parse(argv, OPTIONS);
  if (values.help) return undefined;
  if (positionals.length > 0) throw new UsageError('E_USAGE', `unexpected argument '${positionals[0]}'`);
  const region = str(values.region);
  if (!region || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new UsageError('E_USAGE', 'give the AWS region with --region (e.g. eu-west-1)');
  }
  const name = str(values.name) ?? 'egress-guard';
  if (!/^[A-Za-z0-9_-]{1,90}$/.test(name)) throw new UsageError('E_USAGE', `--name '${name}' is not a layer name`);
  const arches = archesOf(str(values.arch));
  const share = shareOf(values);
  const endpoint = localEndpoint(str(values.endpoint), io.env);
  const policyFile = str(values.policy);
  return {
    region,
    name,
    layers: arches.map((a) => prebuiltLayer(a)),
    ...(values.proxy ? { proxy: prebuiltProxyLayer() } : {}),
    ...(policyFile ? { policy: loadPolicyFile(policyFile, io.cwd) } : {}),
    share,
    ...(endpoint ? { endpoint } : {}),
    json: values.json === true,
  };
}

/** Publishes every layer of the plan, in order: architectures, proxy, policy. Keys as in the --json output. */
async function publishAll(plan: Plan): Promise<Record<string, Published | (Published & { path: string })>> {
  const sdk = await import('@aws-sdk/client-lambda').catch(() => {
    throw new PublishError(
      'E_PUBLISH_SDK_MISSING',
      'publishing needs the AWS SDK for JavaScript v3: npm install @aws-sdk/client-lambda',
    );
  });
  const client = new sdk.LambdaClient({ region: plan.region, ...(plan.endpoint ? { endpoint: plan.endpoint } : {}) });
  const publish = async (layerName: string, zip: Uint8Array, description: string, arches: LayerArch[] = []) => {
    const out = await client.send(
      new sdk.PublishLayerVersionCommand({
        LayerName: layerName,
        Content: { ZipFile: zip },
        Description: description,
        LicenseInfo: 'MIT-0',
        ...(arches.length > 0 ? { CompatibleArchitectures: arches } : {}),
      }),
    );
    if (plan.share) {
      await client.send(
        new sdk.AddLayerVersionPermissionCommand({
          LayerName: layerName,
          VersionNumber: out.Version,
          StatementId: 'egress-guard-share',
          Action: 'lambda:GetLayerVersion',
          ...plan.share,
        }),
      );
    }
    return { name: layerName, arn: out.LayerVersionArn as string, version: out.Version as number };
  };

  const { name } = plan;
  const result: Record<string, Published | (Published & { path: string })> = {};
  for (const l of plan.layers) {
    const description = `egress-guard (${l.arch}) ${layerZipName(l.arch)} sha256 ${l.sha256}`;
    result[l.arch] = await publish(`${name}-${l.arch}`, readFileSync(l.zip), description, [l.arch]);
  }
  if (plan.proxy) {
    const description = `egress-guard proxy mode ${PROXY_LAYER_ZIP} sha256 ${plan.proxy.sha256}`;
    result.proxy = await publish(`${name}-proxy`, readFileSync(plan.proxy.zip), description, [...LAYER_ARCHES]);
  }
  if (plan.policy) {
    const p = plan.policy;
    result.policy = {
      ...(await publish(`${name}-policy`, policyLayerZip(p), `egress-guard compiled policy ${p.hash}`)),
      path: policyLayerPath(p.hash),
    };
  }
  return result;
}

function printResult(io: CliIO, result: Record<string, Published | (Published & { path: string })>, json: boolean) {
  if (json) {
    const out = Object.fromEntries(
      Object.entries(result).map(([k, v]) => [k, 'path' in v ? { arn: v.arn, path: v.path } : v.arn]),
    );
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  for (const [k, v] of Object.entries(result)) io.stdout(`${k.padEnd(7)} ${v.arn}\n`);
  if (result.policy && 'path' in result.policy) io.stdout(`EGRESS_GUARD_POLICY=${result.policy.path}\n`);
}

export async function publishLayerCommand(argv: string[], io: CliIO): Promise<number> {
  try {
    const plan = planOf(argv, io);
    if (plan === undefined) {
      io.stdout(PUBLISH_USAGE);
      return EXIT_OK;
    }
    printResult(io, await publishAll(plan), plan.json);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof PublishError || err instanceof PrebuiltLayerError) {
      io.stderr(`egress-guard publish-layer: ${err.code}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    const aws = err as { name?: string; message?: string; $metadata?: unknown };
    if (aws && typeof aws === 'object' && '$metadata' in aws) {
      io.stderr(`egress-guard publish-layer: AWS refused: ${aws.name}: ${aws.message}\n`);
      return EXIT_FAIL;
    }
    return reportError(io, 'publish-layer', PUBLISH_USAGE, err);
  }
}
