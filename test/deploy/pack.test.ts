/**
 * The package as a user gets it from the registry: `npm pack`, installed into a fresh CDK app in a temp dir with
 * `npm ci --offline` (no registry: the tarball's dependencies come from the npm cache, at the versions of this
 * repository's lock), then `cdk synth` with a PATH that has no cc, gcc or make, for x86_64 and arm64 functions on
 * Node.js, Python, Java and provided.al2023 — inside a network namespace with no network when root is available. The
 * layer assets synthesised must be the zips the package ships, byte for byte (their SHA-256 in the package's
 * SHA256SUMS). Needs `npm run build` first (npm test does it); the layer zips are rebuilt here by the release build.
 * The prebuilt launcher of `egress-guard run` (dist/launcher/<arch>/) is shipped too and starts a command from the
 * installed package's launch record without Node.js and without a compiler.
 */
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReleaseAsync, repoRoot, sha256 } from '../../layer/build/build-layer.js';
import { launcherPath } from '../../layer/build/contents.js';
import { parseChecksums } from '../../layer/build/prebuilt.js';
import { isRoot, runs } from '../support/capability.js';
import { appLock } from './app-lock.js';

const root = repoRoot();
const work = mkdtempSync(join(tmpdir(), 'eg-pack-'));
const app = join(work, 'app');
/** `unshare -n` (a network namespace with no network) when it works here, by absolute path (PATH is cut below). */
const unshare = spawnSync('/bin/sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).stdout.trim();
const isolated = isRoot() && unshare !== '' && runs(unshare, ['-n', 'true']);
const offline = (cmd: string, args: string[]): [string, string[]] =>
  isolated ? [unshare, ['-n', cmd, ...args]] : [cmd, args];
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** spawn, awaited (a long child must not block the worker's event loop). */
function run(cmd: string, args: string[], opts: SpawnOptions) {
  return new Promise<{ status: number | null; out: string }>((done) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', (err) => done({ status: null, out: String(err) }));
    child.on('close', (status) => done({ status, out }));
  });
}

const APP = `import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { EgressGuard } from 'lambda-egress-guard/cdk';

const app = new App();
const stack = new Stack(app, 'Fresh');
const inline = lambda.Code.fromInline('def handler(e, c):\\n  return 1\\n');
const asset = lambda.Code.fromAsset('fn');
const runtimes = [
  ['Node', lambda.Runtime.NODEJS_22_X, 'index.handler', lambda.Code.fromInline('exports.handler = async () => 1;')],
  ['Python', lambda.Runtime.PYTHON_3_12, 'index.handler', inline],
  ['Java', lambda.Runtime.JAVA_21, 'example.Handler::handleRequest', asset],
  ['Provided', lambda.Runtime.PROVIDED_AL2023, 'bootstrap', asset],
];
for (const [name, runtime, handler, code] of runtimes) {
  for (const architecture of [lambda.Architecture.X86_64, lambda.Architecture.ARM_64]) {
    new lambda.Function(stack, name + architecture.name, { runtime, handler, code, architecture });
  }
}
EgressGuard.applyTo(stack, { policy: 'policy.yaml' });
app.synth();
`;

interface CfnResource {
  Type: string;
  Properties: Record<string, unknown> & {
    Runtime?: string;
    Architectures?: string[];
    CompatibleArchitectures?: string[];
    Layers?: { Ref: string }[];
    Environment?: { Variables?: Record<string, string> };
  };
}

describe('the npm package, installed from its tarball into a fresh CDK app', () => {
  let tarball = '';
  let listing: string[] = [];
  beforeAll(async () => {
    expect(readdirSync(join(root, 'dist', 'cdk')), 'run `npm run build` first').toContain('index.js');
    await buildReleaseAsync(); // dist/layers from scratch, as `npm pack`'s prepack does (written atomically: same bytes)
    // --ignore-scripts: the build above is prepack's work; its `npm run build` would rewrite dist/ under other tests.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: root });
    expect(packed.status, packed.out).toBe(0);
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) as string);
    listing = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' }).stdout.trim().split('\n');
  }, 300_000);

  it('holds the compiled JS, types, docs and the prebuilt zips, and no tests, sources of the C, corpora or CI', () => {
    for (const f of [
      'package/dist/cdk/index.js',
      'package/dist/cdk/index.d.ts',
      'package/dist/policy/bin.js',
      'package/dist/layers/egress-guard-layer-x86_64.zip',
      'package/dist/layers/egress-guard-layer-arm64.zip',
      'package/dist/layers/SHA256SUMS',
      'package/dist/launcher/x86_64/egress-guard-run',
      'package/dist/launcher/arm64/egress-guard-run',
      'package/bin/egress-guard-run',
      'package/docs/DEPLOY.md',
      'package/README.md',
    ]) {
      expect(listing).toContain(f);
    }
    for (const f of listing) {
      expect(f).not.toMatch(/^package\/(test|native|bench|\.ci|demo|cdk|layer|policy)\//);
      expect(f).not.toMatch(/\.map$|\.test\.|corpus|\/cdk\/demo\/|dist\/bench\//);
    }
    const pkg = JSON.parse(spawnSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout);
    for (const s of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts?.[s], s).toBeUndefined();
  });

  it('installs offline and synthesises with no compiler on PATH; the layer assets are the shipped zips', async () => {
    // Prepare: the app, its lock (the tarball + its runtime dependencies), the user's own CDK (aws-cdk-lib,
    // constructs: peer dependencies), a PATH with node and nothing else.
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    mkdirSync(join(app, 'fn'), { recursive: true });
    writeFileSync(join(app, 'fn', 'bootstrap'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(join(app, 'app.mjs'), APP);
    writeFileSync(join(app, 'cdk.json'), JSON.stringify({ app: 'node app.mjs' }));
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'fresh-app',
        version: '1.0.0',
        private: true,
        type: 'module',
        dependencies: { [pkg.name]: `file:${tarball}` },
      }),
    );
    writeFileSync(
      join(app, 'package-lock.json'),
      JSON.stringify(appLock(join(root, 'package-lock.json'), tarball, pkg.name, pkg.dependencies)),
    );
    const ci = await run(...offline('npm', ['ci', '--offline', '--no-audit', '--no-fund']), { cwd: app });
    expect(ci.status, ci.out).toBe(0);
    for (const peer of ['aws-cdk-lib', 'constructs'])
      symlinkSync(join(root, 'node_modules', peer), join(app, 'node_modules', peer));
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    // and the two coreutils every real PATH has, with which the `egress-guard-run` bin finds this machine's launcher
    for (const tool of ['readlink', 'uname']) {
      const at = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(at, join(bin, tool));
    }
    const env = { PATH: bin, HOME: work, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_VALIDATION: 'false' };
    for (const tool of ['cc', 'gcc', 'make', 'aarch64-linux-gnu-gcc', 'zip']) {
      expect(spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env }).status, tool).not.toBe(0);
    }
    // The installed package's own CLI writes the policy.
    const init = await run(...offline('node', ['node_modules/.bin/egress-guard', 'init']), { cwd: app, env });
    expect(init.status, init.out).toBe(0);

    // `egress-guard run` from the installed package: no sources, so the library comes from the shipped zip.
    const guarded = await run(
      ...offline('node', [
        'node_modules/.bin/egress-guard',
        'run',
        '--policy',
        'policy.yaml',
        '--',
        '/bin/sh',
        '-c',
        'exit 7',
      ]),
      { cwd: app, env },
    );
    expect(guarded.status, guarded.out).toBe(7);
    // the library extracted once, the compiled policy and the run's launch record, under HOME
    const cached = readdirSync(join(work, '.cache', 'egress-guard')).sort();
    expect(cached).toHaveLength(3);
    expect(cached.slice(1)).toEqual(['launch', 'policies']);
    expect(
      readdirSync(join(work, '.cache', 'egress-guard', 'policies')).filter((n) => n.endsWith('.egp')),
    ).toHaveLength(1);

    // The package's `egress-guard-run` bin, with the same arguments: it execs the shipped launcher of this machine's
    // architecture, and the record the run above wrote (or the one its first run writes) starts the command without
    // Node.js — it runs as the bin's own process.
    const shipped = join(app, 'node_modules', pkg.name, launcherPath(process.arch === 'arm64' ? 'arm64' : 'x86_64'));
    expect(existsSync(shipped), shipped).toBe(true);
    const launcher = join(app, 'node_modules', '.bin', 'egress-guard-run');
    const launched = [] as { status: number | null; out: string; pid: number | undefined }[];
    for (let i = 0; i < 2; i++) {
      const [cmd, args] = offline(launcher, ['--policy', 'policy.yaml', '--', '/bin/sh', '-c', 'echo $$; exit 7']);
      const child = spawn(cmd, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const status = await new Promise<number | null>((done) => child.on('close', done));
      launched.push({ status, out, pid: child.pid });
    }
    for (const l of launched) expect(l.status, l.out).toBe(7);
    expect(Number(launched[1]?.out.trim()), launched[1]?.out).toBe(launched[1]?.pid);

    // Act
    const cdk = join(root, 'node_modules', 'aws-cdk', 'bin', 'cdk');
    const synth = await run(...offline('node', [cdk, 'synth', '--no-notices', '-q', '-o', 'cdk.out']), {
      cwd: app,
      env,
    });

    // Assess
    expect(synth.status, synth.out).toBe(0);
    const shippedDir = join(app, 'node_modules', pkg.name, 'dist', 'layers');
    const sums = parseChecksums(readFileSync(join(shippedDir, 'SHA256SUMS'), 'utf8'));
    for (const [file, digest] of sums) expect(sha256(readFileSync(join(shippedDir, file))), file).toBe(digest);
    const template = JSON.parse(readFileSync(join(app, 'cdk.out', 'Fresh.template.json'), 'utf8')) as {
      Resources: Record<string, CfnResource>;
    };
    const manifest = JSON.parse(readFileSync(join(app, 'cdk.out', 'Fresh.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string } }>;
    };
    const assetOf = (logicalId: string) => {
      const meta = (template.Resources[logicalId] as unknown as { Metadata?: Record<string, string> }).Metadata ?? {};
      return join(app, 'cdk.out', meta['aws:asset:path'] as string);
    };
    const guardLayers = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::LayerVersion' && r.Properties.CompatibleArchitectures,
    );
    expect(guardLayers).toHaveLength(2);
    for (const [id, r] of guardLayers) {
      const arch = r.Properties.CompatibleArchitectures?.[0] as string;
      expect(sha256(readFileSync(assetOf(id))), arch).toBe(sums.get(`egress-guard-layer-${arch}.zip`));
    }
    expect(Object.keys(manifest.files).length).toBeGreaterThanOrEqual(3);
    const fns = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fns).toHaveLength(8);
    for (const f of fns) {
      const arch = f.Properties.Architectures?.[0] ?? 'x86_64';
      const layerId = f.Properties.Layers?.[0]?.Ref as string;
      expect(template.Resources[layerId]?.Properties.CompatibleArchitectures, f.Properties.Runtime).toEqual([arch]);
      const vars = f.Properties.Environment?.Variables ?? {};
      if (f.Properties.Runtime === 'provided.al2023') {
        expect(vars.LD_PRELOAD).toBe('/opt/egress-guard/lib/libegressguard.so');
      } else {
        expect(vars.AWS_LAMBDA_EXEC_WRAPPER, f.Properties.Runtime).toBe('/opt/egress-guard/wrapper');
      }
      expect(vars.EGRESS_GUARD_POLICY).toMatch(/^\/opt\/egress-guard\/policies\/[0-9a-f]{16}\.egp$/);
    }
    expect(dirname(assetOf(guardLayers[0]?.[0] as string))).toBe(join(app, 'cdk.out'));
  }, 300_000);
});
