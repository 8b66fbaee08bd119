/**
 * The deployment commands of the CLI (`init`, `env`, `layer`), called as the `egress-guard` binary runs them, on real
 * files: the starter policy compiles; `env` prints exactly what the CDK construct sets (one function computes both);
 * `layer` writes the shipped zips (checked) and a policy layer whose one file is the path `env` names.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLayers, prebuild, sha256 } from '../../layer/build/build-layer.js';
import { prebuiltLayer, prebuiltProxyLayer } from '../../layer/build/prebuilt.js';
import { guardEnvironment, LIBRARY_PATH, WRAPPER_PATH } from '../../layer/environment.js';
import { loadPolicyFile, policyLayerPath } from '../../layer/policy-layer.js';
import { compilePolicyFileSync } from '../../policy/compile/compile.js';
import { runCli, tempDir } from '../policy/helpers.js';

beforeAll(async () => {
  await prebuild();
  buildLayers(); // dist/layers, as the package ships it
}, 300_000);

describe('egress-guard init', () => {
  it('writes a commented starter policy in audit mode that compiles with no error and no warning', async () => {
    const dir = tempDir();
    const r = await runCli(['init', '--region', 'eu-west-1'], dir);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    expect(text).toMatch(/^mode: audit$/m);
    expect(text).toContain('dynamodb.eu-west-1.amazonaws.com');
    const compiled = compilePolicyFileSync(join(dir, 'policy.yaml'));
    expect(compiled.ast.mode).toBe('audit');
    expect(compiled.warnings).toEqual([]);
    // Every commented-out rule also compiles once uncommented (the examples are real syntax).
    const uncommented = text
      .replace(/^\s*# - name: threat-feed\n.*hosts_file.*\n/m, '') // needs a file of names beside it
      .replace(/^(\s*)# ((?:- |\s{2,}|budgets:).*)$/gm, '$1$2');
    writeFileSync(join(dir, 'all.yaml'), uncommented);
    const all = compilePolicyFileSync(join(dir, 'all.yaml'));
    expect(all.ast.rules.length).toBe(6); // five allow examples and the metadata deny
    expect(all.ast.budgets).toEqual({ rxBytes: 50 * 1024 ** 2, txBytes: 5 * 1024 ** 2, totalBytes: null });
  });

  it('never overwrites an existing file without --force, and refuses a region that is not one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'policy.yaml'), 'mine\n');
    const r = await runCli(['init'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_EXISTS: policy.yaml exists');
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe('mine\n');
    expect((await runCli(['init', '--force'], dir)).status).toBe(0);
    expect((await runCli(['init', '-o', 'x.yaml', '--region', 'moon'], dir)).stderr).toMatch(/not an AWS region/);
  });
});

describe('egress-guard env', () => {
  it('prints the managed-runtime environment, the same guardEnvironment() the CDK construct uses', async () => {
    const dir = tempDir();
    await runCli(['init'], dir);
    const hash = loadPolicyFile(join(dir, 'policy.yaml')).hash;
    const r = await runCli(['env', '--policy', 'policy.yaml', '--mode', 'enforce', '--format', 'json'], dir);
    expect(r.status, r.stderr).toBe(0);
    const env = JSON.parse(r.stdout) as Record<string, string>;
    expect(env).toEqual({
      AWS_LAMBDA_EXEC_WRAPPER: WRAPPER_PATH,
      EGRESS_GUARD_POLICY: policyLayerPath(hash),
      EGRESS_GUARD_MODE: 'enforce',
    });
    expect(env).toEqual(
      guardEnvironment({ runtime: 'nodejs22.x', policyPath: policyLayerPath(hash), mode: 'enforce' }),
    );
    const dotenv = await runCli(['env', '--policy', 'policy.yaml', '--log-level', 'deny'], dir);
    expect(dotenv.stdout).toBe(
      `AWS_LAMBDA_EXEC_WRAPPER=${WRAPPER_PATH}\nEGRESS_GUARD_POLICY=${policyLayerPath(hash)}\nEGRESS_GUARD_LOG_LEVEL=deny\n`,
    );
    const sam = await runCli(['env', '--policy', 'policy.yaml', '--mode', 'audit', '--format', 'sam-overrides'], dir);
    expect(sam.stdout).toBe(`EgressGuardPolicy=${policyLayerPath(hash)} EgressGuardMode=audit\n`);
  });

  it('on provided.* prints LD_PRELOAD and says on stderr exactly what is covered for Go', async () => {
    const dir = tempDir();
    await runCli(['init'], dir);
    const r = await runCli(['env', '--policy', 'policy.yaml', '--runtime', 'provided.al2023'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^LD_PRELOAD=${LIBRARY_PATH}\nEGRESS_GUARD_POLICY=/opt/egress-guard/policies/[0-9a-f]{16}\\.egp\n$`),
    );
    expect(r.stderr).toMatch(/Rust .* C and C\+\+\. Go: a cgo build has its name lookups decided .* static Go binary/);
  });

  it('with --proxy adds the proxy variables (guardEnvironment with proxy) and says the proxy is cooperative', async () => {
    const dir = tempDir();
    await runCli(['init'], dir);
    const r = await runCli(
      ['env', '--policy', 'policy.yaml', '--runtime', 'provided.al2023', '--proxy', '--format', 'json'],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    const env = JSON.parse(r.stdout);
    expect(env).toEqual(
      guardEnvironment({ runtime: 'provided.al2023', policyPath: env.EGRESS_GUARD_POLICY, proxy: true }),
    );
    expect(env.HTTPS_PROXY).toBe('http://127.0.0.1:9128');
    expect(r.stderr).toMatch(/proxy mode: .* cooperative/);
  });

  it('refuses a bad mode and a policy with errors (file:line:col)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nmode: enforce\nallow:\n  - host: "a.*.example"\n');
    const bad = await runCli(['env', '--policy', 'bad.yaml'], dir);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad\.yaml:4:\d+: error/);
    await runCli(['init'], dir);
    const mode = await runCli(['env', '--policy', 'policy.yaml', '--mode', 'block'], dir);
    expect(mode.status).toBe(2);
    expect(mode.stderr).toContain("mode must be audit, enforce or off, got 'block'");
  });
});

describe('egress-guard layer', () => {
  it('writes the shipped zips and, with --policy, policy.egp and a policy layer holding the path env names', async () => {
    const dir = tempDir();
    await runCli(['init'], dir);
    const r = await runCli(['layer', '--arch', 'all', '-o', 'out', '--policy', 'policy.yaml'], dir);
    expect(r.status, r.stderr).toBe(0);
    for (const arch of ['x86_64', 'arm64'] as const) {
      expect(sha256(readFileSync(join(dir, 'out', `egress-guard-layer-${arch}.zip`)))).toBe(prebuiltLayer(arch).sha256);
    }
    const policy = loadPolicyFile(join(dir, 'policy.yaml'));
    expect(readFileSync(join(dir, 'out', 'policy.egp')).equals(policy.bytes)).toBe(true);
    const listed = spawnSync('unzip', ['-Z1', join(dir, 'out', 'egress-guard-policy.zip')], { encoding: 'utf8' });
    expect(`/opt/${listed.stdout.trim()}`).toBe(policyLayerPath(policy.hash));
    const env = await runCli(['env', '--policy', 'policy.yaml', '--format', 'json'], dir);
    expect(JSON.parse(env.stdout).EGRESS_GUARD_POLICY).toBe(policyLayerPath(policy.hash));
  });

  it('with --proxy also writes the proxy-mode layer, the shipped one', async () => {
    const dir = tempDir();
    const r = await runCli(['layer', '--arch', 'x86_64', '-o', 'p', '--proxy'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(sha256(readFileSync(join(dir, 'p', 'egress-guard-proxy-layer.zip')))).toBe(prebuiltProxyLayer().sha256);
  });

  it('writes one architecture on request, and nothing at all when the policy is bad', async () => {
    const dir = tempDir();
    const one = await runCli(['layer', '--arch', 'arm64', '-o', 'one'], dir);
    expect(one.status, one.stderr).toBe(0);
    expect(spawnSync('ls', [join(dir, 'one')], { encoding: 'utf8' }).stdout).toBe('egress-guard-layer-arm64.zip\n');
    writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nmodes: audit\n');
    const bad = await runCli(['layer', '-o', 'none', '--policy', 'bad.yaml'], dir);
    expect(bad.status).toBe(1);
    expect(spawnSync('ls', [join(dir, 'none')]).status).not.toBe(0);
    expect((await runCli(['layer', '--arch', 'sparc', '-o', 'x'], dir)).stderr).toContain('--arch must be');
  });
});
