/**
 * The demo CDK app synthesises with the real CLI (`npx cdk synth`, as docs/DEPLOY.md says), offline: inside a
 * network namespace with no network at all when root is available. Needs `npm run build` first (npm test does it).
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLayers, prebuild, repoRoot } from '../../layer/build/build-layer.js';
import { isRoot, runs } from '../support/capability.js';

const root = repoRoot();
const out = mkdtempSync(join(tmpdir(), 'eg-cdk-demo-'));
beforeAll(async () => {
  await prebuild(); // the demo app deploys the prebuilt zips: build them as `npm run build:layer` does
  buildLayers();
}, 300_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/**
 * spawn, awaited: a long child must not block the test worker's event loop (vitest's worker RPC times out after a
 * minute of a blocked loop, which spawnSync would cause).
 */
function run(cmd: string, args: string[], opts: SpawnOptions & { timeout: number }) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeout);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

interface CfnResource {
  Type: string;
  Properties: Record<string, unknown> & { Environment?: { Variables?: Record<string, unknown> }; Layers?: unknown[] };
}

function resources(stack: string, type: string): CfnResource[] {
  const t = JSON.parse(readFileSync(join(out, `${stack}.template.json`), 'utf8')) as {
    Resources: Record<string, CfnResource>;
  };
  return Object.values(t.Resources).filter((r) => r.Type === type);
}

describe('demo CDK app', () => {
  it('synthesises offline with `npx cdk synth` in enforce mode', async () => {
    expect(existsSync(join(root, 'dist', 'cdk', 'demo', 'app.js')), 'run `npm run build` first').toBe(true);
    // Offline for real: a fresh network namespace has only a down loopback.
    const offline = isRoot() && runs('unshare', ['-n', 'true']) ? ['unshare', '-n'] : [];
    const cmd = [...offline, 'npx', 'cdk', 'synth', '--no-notices', '-q', '-o', out, '-c', 'mode=enforce'];
    const r = await run(cmd[0] as string, cmd.slice(1), {
      cwd: join(root, 'cdk', 'demo'),
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_VALIDATION: 'false' },
      timeout: 240_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);

    const guarded = resources('EgressGuardDemo', 'AWS::Lambda::Function');
    expect(guarded).toHaveLength(2);
    for (const f of guarded) {
      expect(f.Properties.Environment?.Variables).toMatchObject({
        AWS_LAMBDA_EXEC_WRAPPER: '/opt/egress-guard/wrapper',
        EGRESS_GUARD_MODE: 'enforce',
      });
      expect(f.Properties.Layers).toHaveLength(2);
    }
    expect(guarded.map((f) => f.Properties.Handler).sort()).toEqual(['app.handler', 'index.handler']);
    const meter = resources('EgressGuardMeteringDemo', 'AWS::Lambda::Function');
    expect(meter).toHaveLength(1);
    expect(meter[0]?.Properties.Architectures).toEqual(['arm64']);
    expect(meter[0]?.Properties.Environment?.Variables?.EGRESS_GUARD_MODE).toBe('audit');
    const layers = resources('EgressGuardMeteringDemo', 'AWS::Lambda::LayerVersion');
    expect(layers.some((l) => JSON.stringify(l.Properties.CompatibleArchitectures) === '["arm64"]')).toBe(true);
  }, 300_000);
});
