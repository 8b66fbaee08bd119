/**
 * `egress-guard publish-layer` against a local AWS API emulator (moto's server, from PyPI), never real AWS: the
 * emulator and the real `egress-guard` binary both run inside a network namespace this test creates (loopback only,
 * no route anywhere). The published versions are read back with boto3 (moto's own client, an independent witness):
 * per-architecture layers holding the shipped zips byte for byte, the sharing permission asked for, the policy layer,
 * the proxy-mode layer.
 * Endpoints that are not loopback are refused before any request. The CDK construct takes the printed ARNs.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressGuard } from '../../cdk/index.js';
import { buildLayers, prebuild, repoRoot } from '../../layer/build/build-layer.js';
import { prebuiltLayer, prebuiltProxyLayer } from '../../layer/build/prebuilt.js';
import { loadPolicyFile, policyLayerPath, policyLayerZip } from '../../layer/policy-layer.js';
import { runCli, tempDir } from '../policy/helpers.js';
import { need, needNetns } from '../support/capability.js';
import { Netns } from '../support/netns.js';

const root = repoRoot();
const BIN = join(root, 'dist', 'policy', 'bin.js');
const PORT = 5000;
const ENDPOINT = `http://127.0.0.1:${PORT}`;
const ok =
  needNetns() &&
  need(
    'moto server',
    spawnSync('python3', ['-c', 'import moto.server, boto3, flask_cors'], { stdio: 'ignore' }).status === 0,
    'python3 cannot import moto.server (pip install "moto[server]")',
  );
// Fake credentials: the emulator accepts any; nothing here can reach AWS anyway.
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'eu-west-1' };

/** boto3 against the emulator, inside the namespace: prints the JSON the snippet returns. */
const READ_BACK = `
import base64, json, sys
import boto3
c = boto3.client("lambda", region_name="eu-west-1", endpoint_url="${ENDPOINT}")
out = {}
for arn in sys.argv[1:]:
    name, version = arn.split(":")[-2], int(arn.split(":")[-1])
    v = c.get_layer_version(LayerName=name, VersionNumber=version)
    try:
        policy = json.loads(c.get_layer_version_policy(LayerName=name, VersionNumber=version)["Policy"])
    except c.exceptions.ResourceNotFoundException:
        policy = None
    out[arn] = {"sha256": base64.b64decode(v["Content"]["CodeSha256"]).hex(), "archs": v.get("CompatibleArchitectures"),
                "size": v["Content"]["CodeSize"], "policy": policy}
print(json.dumps(out))
`;

describe.skipIf(!ok)('egress-guard publish-layer, against moto in a namespace', () => {
  let ns: Netns;
  let dir = '';
  beforeAll(async () => {
    await prebuild();
    buildLayers();
    expect(readFileSync(BIN, 'utf8').length, 'run `npm run build` first').toBeGreaterThan(0);
    dir = tempDir('eg-publish-');
    await runCli(['init'], dir);
    ns = Netns.create({ prefix: 'egpub' });
    ns.spawn('python3', ['-c', `import sys; from moto.server import main; main(['-H', '127.0.0.1', '-p', '${PORT}'])`]);
    const wait = await ns.run('python3', [
      '-c',
      `import time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen("${ENDPOINT}/moto-api/", timeout=1); break
    except Exception:
        time.sleep(0.1)
else:
    raise SystemExit("moto did not start")`,
    ]);
    expect(wait.status, wait.stderr).toBe(0);
  }, 300_000);
  afterAll(() => ns?.destroy());

  const cli = (args: string[], env: Record<string, string> = {}) =>
    ns.run(process.execPath, [BIN, 'publish-layer', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, ...AWS_ENV, ...env },
    });

  it('publishes one layer per architecture with the shipped zip, shared with an organization, and prints the ARNs', async () => {
    const r = await cli(['--region', 'eu-west-1', '--endpoint', ENDPOINT, '--org', 'o-abcdefghij', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const arns = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(arns)).toEqual(['x86_64', 'arm64']);
    expect(arns.x86_64).toMatch(/^arn:aws:lambda:eu-west-1:\d{12}:layer:egress-guard-x86_64:1$/);
    const back = await ns.run('python3', ['-c', READ_BACK, ...Object.values(arns)], {
      env: { ...process.env, ...AWS_ENV },
    });
    expect(back.status, back.stderr).toBe(0);
    const read = JSON.parse(back.stdout) as Record<
      string,
      { sha256: string; archs: string[]; policy: { Statement: { Principal: unknown; Condition?: unknown }[] } }
    >;
    for (const arch of ['x86_64', 'arm64'] as const) {
      const v = read[arns[arch] as string];
      expect(v?.sha256, arch).toBe(prebuiltLayer(arch).sha256);
      expect(v?.archs, arch).toEqual([arch]);
      expect(JSON.stringify(v?.policy.Statement), arch).toContain('o-abcdefghij');
    }
  });

  it('publishes the policy layer with --policy and prints EGRESS_GUARD_POLICY; a second run is version 2', async () => {
    const r = await cli([
      '--region',
      'eu-west-1',
      '--endpoint',
      ENDPOINT,
      '--arch',
      'arm64',
      '--name',
      'team-guard',
      '--policy',
      'policy.yaml',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const policy = loadPolicyFile(join(dir, 'policy.yaml'));
    expect(r.stdout).toMatch(/^arm64 {3}arn:aws:lambda:eu-west-1:\d{12}:layer:team-guard-arm64:1\n/);
    expect(r.stdout).toContain(`EGRESS_GUARD_POLICY=${policyLayerPath(policy.hash)}\n`);
    const policyArn = /^policy {2}(\S+)$/m.exec(r.stdout)?.[1] as string;
    const back = await ns.run('python3', ['-c', READ_BACK, policyArn], { env: { ...process.env, ...AWS_ENV } });
    const zip = policyLayerZip(policy);
    expect(JSON.parse(back.stdout)[policyArn].sha256).toBe(createHash('sha256').update(zip).digest('hex'));
    const again = await cli([
      '--region',
      'eu-west-1',
      '--endpoint',
      ENDPOINT,
      '--arch',
      'arm64',
      '--name',
      'team-guard',
    ]);
    expect(again.stdout).toMatch(/layer:team-guard-arm64:2\n/);
  });

  it('publishes the proxy-mode layer with --proxy: the shipped zip, for both architectures', async () => {
    const r = await cli(['--region', 'eu-west-1', '--endpoint', ENDPOINT, '--arch', 'x86_64', '--proxy', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const arns = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(arns)).toEqual(['x86_64', 'proxy']);
    expect(arns.proxy).toMatch(/^arn:aws:lambda:eu-west-1:\d{12}:layer:egress-guard-proxy:1$/);
    const back = await ns.run('python3', ['-c', READ_BACK, arns.proxy as string], {
      env: { ...process.env, ...AWS_ENV },
    });
    expect(back.status, back.stderr).toBe(0);
    const v = JSON.parse(back.stdout)[arns.proxy as string] as { sha256: string; archs: string[]; policy: unknown };
    expect(v.sha256).toBe(prebuiltProxyLayer().sha256);
    expect(v.archs).toEqual(['x86_64', 'arm64']);
    expect(v.policy).toBeNull(); // no sharing asked for
    const lines = await cli(['--region', 'eu-west-1', '--endpoint', ENDPOINT, '--arch', 'arm64', '--proxy']);
    expect(lines.status, lines.stderr).toBe(0);
    expect(lines.stdout).toMatch(
      /^arm64 {3}arn:\S+:layer:egress-guard-arm64:\d+\nproxy {3}arn:\S+:layer:egress-guard-proxy:2\n$/,
    );
  });

  it('refuses an endpoint that is not loopback (flag or the SDK variables) before any request', async () => {
    for (const [args, env, where] of [
      [['--endpoint', 'https://lambda.eu-west-1.amazonaws.com'], {}, '--endpoint'],
      [[], { AWS_ENDPOINT_URL: 'http://10.1.2.3:4566' }, 'AWS_ENDPOINT_URL'],
      [[], { AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1.example.com:5000' }, 'AWS_ENDPOINT_URL_LAMBDA'],
    ] as [string[], Record<string, string>, string][]) {
      const r = await cli(['--region', 'eu-west-1', ...args], env);
      expect(r.status, where).toBe(2);
      expect(r.stderr).toContain(`E_PUBLISH_ENDPOINT_NOT_LOCAL: ${where} is`);
    }
  });

  it('checks its arguments before any request (exit 2)', async () => {
    const both = await cli(['--region', 'eu-west-1', '--endpoint', ENDPOINT, '--public', '--account', '111111111111']);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('at most one of --public, --org, --account');
    const noRegion = await cli(['--endpoint', ENDPOINT]);
    expect(noRegion.stderr).toContain('--region');
  });

  it('the CDK construct takes the published ARNs instead of the shipped zips', () => {
    const stack = new Stack(new App(), 'Published');
    const f = new lambda.Function(stack, 'F', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => 1;'),
    });
    const arn = 'arn:aws:lambda:eu-west-1:111111111111:layer:egress-guard-x86_64:7';
    EgressGuard.guard(f, {
      policy: join(dir, 'policy.yaml'),
      layers: { x86_64: lambda.LayerVersion.fromLayerVersionArn(stack, 'Guard', arn) },
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Lambda::LayerVersion', 1); // the policy layer only
    const layers = Object.values(t.findResources('AWS::Lambda::Function'))[0]?.Properties.Layers;
    expect(layers[0]).toBe(arn);
  });
});
