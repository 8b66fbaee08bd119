/**
 * CDK constructs: Template.fromStack assertions over real synthesis (the guard layer is bundled locally from this
 * repository, the policy compiled by the real compiler).
 */
process.env.CDK_VALIDATION = 'false'; // aws-cdk-lib ≥ 2.262 validates every synth slowly (docs/LAMBDA.md "CDK")

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { experimental } from 'aws-cdk-lib/aws-cloudfront';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compilePolicyForSynth, EgressGuard, EgressGuardPolicyError, WRAPPER_PATH } from '../../cdk/index.js';
import { buildLayers, prebuild, sha256 } from '../../layer/build/build-layer.js';
import { LAYER_FILES } from '../../layer/build/contents.js';
import { prebuiltLayer, prebuiltProxyLayer } from '../../layer/build/prebuilt.js';
import { guardEnvironment, LIBRARY_PATH } from '../../layer/environment.js';
import { policyLayerZip } from '../../layer/policy-layer.js';

const here = dirname(fileURLToPath(import.meta.url));
const POLICY = join(here, 'fixtures', 'policy.yaml');
const BAD_POLICY = join(here, 'fixtures', 'bad-policy.yaml');
const code = lambda.Code.fromInline('exports.handler = async () => 1;');

function fn(scope: Construct, id: string, extra: Partial<lambda.FunctionProps> = {}): lambda.Function {
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code,
    ...extra,
  });
}

/** Logical id of the one resource of `type` whose logical id starts with `prefix`. */
function logicalId(t: Template, type: string, prefix: string): string {
  const ids = Object.keys(t.findResources(type)).filter((k) => k.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

describe('EgressGuard on one stack', () => {
  let app: App;
  let t: Template;
  let guard: EgressGuard;
  let x86: lambda.Function;
  let arm: lambda.Function;
  beforeAll(async () => {
    await prebuild(); // the layer inputs, built without blocking the worker
    buildLayers(); // the zips the constructs deploy by default (dist/layers, as the package ships them)
    // Prepare
    app = new App();
    const stack = new Stack(app, 'Guarded');
    x86 = fn(stack, 'X86', { environment: { KEEP: 'me' } });
    arm = fn(stack, 'Arm', {
      architecture: lambda.Architecture.ARM_64,
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: 'app.handler',
    });
    fn(stack, 'Chained', { environment: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/otel-instrument' } });
    // Act
    guard = EgressGuard.applyTo(stack, {
      policy: POLICY,
      mode: 'enforce',
      environment: { EGRESS_GUARD_LOG_LEVEL: 'all' },
    });
    t = Template.fromStack(stack);
  }, 300_000); // the first synthesis builds the interposer for both architectures

  it('adds one guard layer per architecture, with that architecture only', () => {
    // Assess
    t.resourceCountIs('AWS::Lambda::LayerVersion', 3); // x86_64, arm64, the policy
    t.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['x86_64'], LicenseInfo: 'MIT-0' });
    t.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['arm64'], LicenseInfo: 'MIT-0' });
    const x86Layer = logicalId(t, 'AWS::Lambda::LayerVersion', 'EgressGuardLayerx8664');
    const armLayer = logicalId(t, 'AWS::Lambda::LayerVersion', 'EgressGuardLayerarm64');
    const policyLayer = logicalId(t, 'AWS::Lambda::LayerVersion', 'EgressGuardPolicy');
    const fns = t.findResources('AWS::Lambda::Function');
    const layersOf = (prefix: string) =>
      fns[Object.keys(fns).find((k) => k.startsWith(prefix)) as string]?.Properties.Layers;
    expect(layersOf('X86')).toEqual([{ Ref: x86Layer }, { Ref: policyLayer }]);
    expect(layersOf('Arm')).toEqual([{ Ref: armLayer }, { Ref: policyLayer }]);
    expect(guard.guarded.map((f) => f.node.id)).toEqual(['X86', 'Arm', 'Chained']);
    expect(x86.architecture.name).toBe('x86_64');
    expect(arm.architecture.name).toBe('arm64');
  });

  it('sets the wrapper, policy path, mode and overrides, keeping the function environment and handler', () => {
    const hash = compilePolicyForSynth(POLICY).hash;
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler', // the wrapper redirects _HANDLER at run time; the deployed handler stays the user's
      Environment: {
        Variables: {
          KEEP: 'me',
          AWS_LAMBDA_EXEC_WRAPPER: WRAPPER_PATH,
          EGRESS_GUARD_POLICY: `/opt/egress-guard/policies/${hash}.egp`,
          EGRESS_GUARD_MODE: 'enforce',
          EGRESS_GUARD_LOG_LEVEL: 'all',
        },
      },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'app.handler',
      Environment: { Variables: Match.objectLike({ AWS_LAMBDA_EXEC_WRAPPER: WRAPPER_PATH }) },
    });
  });

  it('chains to a wrapper that was already configured', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          AWS_LAMBDA_EXEC_WRAPPER: WRAPPER_PATH,
          EGRESS_GUARD_NEXT_WRAPPER: '/opt/otel-instrument',
        }),
      },
    });
  });

  it('ships the compiled policy as a zip asset holding the file EGRESS_GUARD_POLICY names', () => {
    const compiled = compilePolicyForSynth(POLICY);
    const outdir = app.synth().directory;
    const zips = readdirSync(outdir).filter((d) => d.startsWith('asset.') && d.endsWith('.zip'));
    const policyZips = zips.filter((z) => readFileSync(join(outdir, z)).equals(policyLayerZip(compiled)));
    expect(policyZips).toHaveLength(1);
    const listed = spawnSync('unzip', ['-Z1', join(outdir, policyZips[0] as string)], { encoding: 'utf8' });
    expect(listed.stdout.trim()).toBe(`egress-guard/policies/${compiled.hash}.egp`);
    const inside = spawnSync('unzip', ['-p', join(outdir, policyZips[0] as string)]).stdout as Buffer;
    expect(inside.equals(compiled.bytes)).toBe(true);
    expect(`/opt/${listed.stdout.trim()}`).toBe(
      Object.values(t.findResources('AWS::Lambda::Function'))[0]?.Properties.Environment.Variables.EGRESS_GUARD_POLICY,
    );
  });

  it('deploys the prebuilt zips the package ships, byte for byte (one per architecture)', () => {
    const outdir = app.synth().directory;
    const policyZip = policyLayerZip(compilePolicyForSynth(POLICY));
    const zips = readdirSync(outdir)
      .filter((d) => d.startsWith('asset.') && d.endsWith('.zip'))
      .map((d) => readFileSync(join(outdir, d)))
      .filter((b) => !b.equals(policyZip))
      .map((b) => sha256(b));
    const shipped = (['x86_64', 'arm64'] as const).map((a) => prebuiltLayer(a).sha256);
    expect(zips.sort()).toEqual(shipped.sort());
  });

  it('with fromSource, bundles the layer layout from the sources with executable modes', () => {
    const srcApp = new App();
    const stack = new Stack(srcApp, 'FromSource');
    fn(stack, 'X86');
    fn(stack, 'Arm', { architecture: lambda.Architecture.ARM_64 });
    EgressGuard.applyTo(stack, { policy: POLICY, fromSource: true });
    const outdir = srcApp.synth().directory;
    const layers = readdirSync(outdir)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => join(outdir, d, 'egress-guard'))
      .filter((p) => existsSync(join(p, 'wrapper')));
    expect(layers).toHaveLength(2);
    for (const l of layers) {
      for (const f of LAYER_FILES) {
        const p = join(dirname(l), f.path);
        expect(existsSync(p), f.path).toBe(true);
        expect(statSync(p).mode & 0o777, f.path).toBe(f.mode);
      }
    }
    // One x86-64 and one aarch64 library and exec wrapper (ELF e_machine 0x3e / 0xb7), not the same bundle twice.
    for (const f of ['lib/libegressguard.so', 'wrapper']) {
      const machines = layers.map((l) => readFileSync(join(l, f)).readUInt16LE(18)).sort((x, y) => x - y);
      expect(machines, f).toEqual([0x3e, 0xb7]);
    }
  });
});

describe('EgressGuard as an aspect over a whole app', () => {
  it('guards every function of every stack, once, and annotates what it skips', () => {
    // Prepare
    const app = new App();
    const a = new Stack(app, 'A');
    const b = new Stack(app, 'B', { env: { region: 'us-east-1', account: '111111111111' } });
    fn(new Construct(a, 'Deep'), 'Nested');
    fn(b, 'Plain');
    const java = fn(b, 'Java', {
      runtime: lambda.Runtime.JAVA_21,
      handler: 'x.Handler',
      code: lambda.Code.fromAsset(join(here, 'fixtures')),
    });
    new lambda.DockerImageFunction(b, 'Image', {
      code: lambda.DockerImageCode.fromEcr(ecr.Repository.fromRepositoryName(b, 'Repo', 'r')),
    });
    fn(b, 'Provided', {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(join(here, 'fixtures')),
    });
    new experimental.EdgeFunction(b, 'Edge', { runtime: lambda.Runtime.NODEJS_20_X, handler: 'index.handler', code });
    const withFour = fn(b, 'FourLayers');
    for (let i = 0; i < 4; i++)
      withFour.addLayers(
        lambda.LayerVersion.fromLayerVersionArn(b, `L${i}`, `arn:aws:lambda:us-east-1:111111111111:layer:l${i}:1`),
      );
    // Act
    const guard = EgressGuard.applyTo(app, { policy: POLICY });
    Aspects.of(b).add(guard); // the same guard twice: changes nothing
    const ta = Template.fromStack(a);
    const tb = Template.fromStack(b);
    // Assess
    const nested = Object.values(ta.findResources('AWS::Lambda::Function'))[0]?.Properties.Environment.Variables;
    expect(nested.AWS_LAMBDA_EXEC_WRAPPER).toBe(WRAPPER_PATH);
    expect(nested.EGRESS_GUARD_AGENT).toBeUndefined();
    expect(nested.EGRESS_GUARD_MODE).toBeUndefined();
    ta.resourceCountIs('AWS::Lambda::LayerVersion', 2);
    const fns = tb.findResources('AWS::Lambda::Function');
    const envOf = (prefix: string) =>
      fns[Object.keys(fns).find((k) => k.startsWith(prefix)) as string]?.Properties.Environment?.Variables ?? {};
    const layersOf = (prefix: string) =>
      fns[Object.keys(fns).find((k) => k.startsWith(prefix)) as string]?.Properties.Layers ?? [];
    expect(envOf('Plain').AWS_LAMBDA_EXEC_WRAPPER).toBe(WRAPPER_PATH);
    expect(layersOf('Plain')).toHaveLength(2);
    expect(envOf('Java').AWS_LAMBDA_EXEC_WRAPPER).toBe(WRAPPER_PATH);
    expect(envOf('Provided')).toEqual({
      LD_PRELOAD: LIBRARY_PATH,
      EGRESS_GUARD_POLICY: envOf('Plain').EGRESS_GUARD_POLICY,
    });
    expect(layersOf('Provided')).toHaveLength(2);
    for (const skipped of ['Image', 'Edge', 'FourLayers']) {
      expect(envOf(skipped).AWS_LAMBDA_EXEC_WRAPPER, skipped).toBeUndefined();
    }
    expect(layersOf('FourLayers')).toHaveLength(4);
    const ann = Annotations.fromStack(b);
    ann.hasWarning('/B/Image', Match.stringLikeRegexp('not guarded: container image'));
    ann.hasInfo(
      '/B/Provided',
      Match.stringLikeRegexp(
        'provided.al2023: guarded through LD_PRELOAD .* Rust .* C and C\\+\\+\\. Go: a cgo build has its name lookups decided .* static Go binary',
      ),
    );
    expect(ann.findError('*', Match.anyValue())).toEqual([expect.objectContaining({ id: '/B/FourLayers' })]);
    ann.hasWarning('/B/Edge/Fn', Match.stringLikeRegexp('not guarded: Lambda@Edge'));
    ann.hasError('/B/FourLayers', Match.stringLikeRegexp('already has 4 layers'));
    // every runtime is metered by the agent: no "metering not available" note on Java
    ann.hasNoInfo('/B/Java', Match.stringLikeRegexp('metering'));
    expect(java.runtime.name).toBe('java21');
  }, 120_000);

  it('guards a single function with EgressGuard.guard and leaves its neighbours alone', () => {
    const stack = new Stack(new App(), 'One');
    const guarded = fn(stack, 'Guarded');
    fn(stack, 'Other');
    EgressGuard.guard(guarded, { policy: POLICY, metering: false });
    const t = Template.fromStack(stack);
    const fns = Object.values(t.findResources('AWS::Lambda::Function'));
    const wrapped = fns.filter((f) => f.Properties.Environment?.Variables?.AWS_LAMBDA_EXEC_WRAPPER === WRAPPER_PATH);
    expect(wrapped).toHaveLength(1);
    expect(wrapped[0]?.Properties.Environment.Variables.EGRESS_GUARD_MODE).toBeUndefined(); // the file's mode
    expect(wrapped[0]?.Properties.Environment.Variables.EGRESS_GUARD_AGENT).toBe('off');
  });
});

describe('EgressGuard on OS-only runtimes (provided.*)', () => {
  it('sets LD_PRELOAD on the function (kept in front of an existing value, once) and no exec wrapper', () => {
    const stack = new Stack(new App(), 'Os');
    const rust = fn(stack, 'Rust', {
      runtime: lambda.Runtime.PROVIDED_AL2,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(join(here, 'fixtures')),
      architecture: lambda.Architecture.ARM_64,
      environment: { LD_PRELOAD: '/opt/other/libtrace.so' },
    });
    EgressGuard.guard(rust, { policy: POLICY, mode: 'enforce', logLevel: 'deny' });
    const vars = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0]?.Properties
      .Environment.Variables;
    expect(vars.LD_PRELOAD).toBe(`${LIBRARY_PATH}:/opt/other/libtrace.so`);
    expect(vars.AWS_LAMBDA_EXEC_WRAPPER).toBeUndefined();
    expect(vars).toMatchObject({ EGRESS_GUARD_MODE: 'enforce', EGRESS_GUARD_LOG_LEVEL: 'deny' });
    // The same variables `egress-guard env` prints: one function computes both.
    expect(vars).toEqual(
      guardEnvironment({
        runtime: 'provided.al2',
        policyPath: vars.EGRESS_GUARD_POLICY,
        mode: 'enforce',
        logLevel: 'deny',
        current: { LD_PRELOAD: '/opt/other/libtrace.so' },
      }),
    );
  });
});

describe('EgressGuard proxy mode (static Go on provided.*)', () => {
  it('adds the proxy-mode layer and the proxy variables, and says the proxy is cooperative', () => {
    const stack = new Stack(new App(), 'Proxied');
    const go = fn(stack, 'Go', {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(join(here, 'fixtures')),
    });
    EgressGuard.guard(go, { policy: POLICY, mode: 'enforce', proxy: true });
    const t = Template.fromStack(stack);
    const f = Object.values(t.findResources('AWS::Lambda::Function'))[0]?.Properties;
    expect(f.Layers).toHaveLength(3);
    const proxyLayer = logicalId(t, 'AWS::Lambda::LayerVersion', 'EgressGuardProxyLayer');
    expect(f.Layers[2]).toEqual({ Ref: proxyLayer });
    expect(f.Environment.Variables).toEqual(
      guardEnvironment({
        runtime: 'provided.al2023',
        policyPath: f.Environment.Variables.EGRESS_GUARD_POLICY,
        mode: 'enforce',
        proxy: true,
      }),
    );
    expect(f.Environment.Variables).toMatchObject({
      LD_PRELOAD: LIBRARY_PATH,
      HTTPS_PROXY: 'http://127.0.0.1:9128',
      NO_PROXY: 'localhost,127.0.0.1,::1,169.254.79.129',
    });
    Annotations.fromStack(stack).hasInfo('/Proxied/Go', Match.stringLikeRegexp('proxy mode: .* cooperative'));
    const outdir = (stack.node.root as App).synth().directory;
    const zips = readdirSync(outdir).filter((d) => d.startsWith('asset.') && d.endsWith('.zip'));
    const proxyZip = zips.find((z) => sha256(readFileSync(join(outdir, z))) === prebuiltProxyLayer().sha256);
    expect(proxyZip, 'the shipped proxy-mode zip is the asset').toBeDefined();
    const listed = spawnSync('unzip', ['-Z', join(outdir, proxyZip as string)], { encoding: 'utf8' }).stdout;
    expect(listed).toMatch(/^-rwxr-xr-x .* extensions\/egress-guard-proxy$/m);
  });
});

describe('EgressGuard refusals', () => {
  it('a second EgressGuard on a guarded function is an error annotation, and the first one stays in force', () => {
    const stack = new Stack(new App(), 'Twice');
    const f = fn(stack, 'F');
    EgressGuard.guard(f, { policy: POLICY, mode: 'audit' });
    EgressGuard.applyTo(stack, { policy: POLICY, mode: 'enforce' });
    const vars = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0]?.Properties
      .Environment.Variables;
    expect(vars.EGRESS_GUARD_MODE).toBe('audit');
    Annotations.fromStack(stack).hasError('/Twice/F', Match.stringLikeRegexp('already guarded by another EgressGuard'));
  });

  it('a function imported by reference is an error annotation saying why and what to do', () => {
    const stack = new Stack(new App(), 'Imported', { env: { account: '111111111111', region: 'eu-west-1' } });
    const imported = lambda.Function.fromFunctionArn(
      stack,
      'Ext',
      'arn:aws:lambda:eu-west-1:111111111111:function:made-elsewhere',
    );
    const guard = EgressGuard.guard(imported, { policy: POLICY });
    expect(guard.guarded).toEqual([]);
    Annotations.fromStack(stack).hasError(
      '/Imported/Ext',
      Match.stringLikeRegexp('imported by reference: its layers and environment belong to .*`egress-guard env`'),
    );
  });

  it('a precompiled .egp is fully validated at synth: a flipped body byte or a truncated file fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-egp-'));
    const good = compilePolicyForSynth(POLICY).bytes;
    writeFileSync(join(dir, 'good.egp'), good);
    expect(compilePolicyForSynth(join(dir, 'good.egp')).bytes.equals(good)).toBe(true);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 0x01;
    writeFileSync(join(dir, 'flipped.egp'), flipped);
    expect(() => new EgressGuard({ policy: join(dir, 'flipped.egp') })).toThrow(
      /flipped\.egp is not a valid compiled policy: E_POLICY_BODY_CRC/,
    );
    writeFileSync(join(dir, 'short.egp'), good.subarray(0, good.length - 8));
    expect(() => new EgressGuard({ policy: join(dir, 'short.egp') })).toThrow(/E_POLICY_SIZE_MISMATCH/);
  });
});

describe('EgressGuard errors', () => {
  it('fails synthesis on a bad policy with file:line:col and the compiler code', () => {
    const app = new App();
    let err: unknown;
    try {
      EgressGuard.applyTo(app, { policy: BAD_POLICY });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EgressGuardPolicyError);
    expect((err as EgressGuardPolicyError).code).toBe('E_CDK_POLICY');
    expect((err as Error).message).toContain(`${BAD_POLICY}:5:11: error WILDCARD_FORM`);
  });

  it('reports every invalid prop at once, and a missing policy file by name', () => {
    expect(
      () =>
        new EgressGuard({
          policy: POLICY,
          mode: 'block' as 'audit',
          logLevel: 'loud' as 'all',
          environment: { AWS_REGION: 'x' },
        }),
    ).toThrow(
      /mode must be audit, enforce or off, got 'block'[\s\S]*logLevel must be[\s\S]*reserved variable 'AWS_REGION'/,
    );
    expect(() => new EgressGuard({ policy: 'nope.yaml' })).toThrow(/policy file 'nope.yaml' does not exist/);
  });
});
