/**
 * `npm run demo` end to end (shortened with --short: three invokes per function and mode): the real layer zip, the
 * real exec wrapper, the real interposer and metering wrappers, the example functions, servers in network
 * namespaces. Asserts what a person reads in the output, not just the exit status.
 */
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLayers, prebuild, repoRoot } from '../../layer/build/build-layer.js';
import { needCommand, needNetns } from '../support/capability.js';

const ok = needNetns();
const python = needCommand('python3');
const root = repoRoot();

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

/** The real runtime interface client drives the Python example when it is installed (.ci/run installs it). */
const ric = python && spawnSync('python3', ['-c', 'import awslambdaric'], { stdio: 'ignore' }).status === 0;

/** The lines of one function run: from its header to the next header or the summary. */
function section(output: string, fn: string, mode: string): string {
  const start = output.indexOf(`${fn} function (${mode})`);
  expect(start, `no ${fn}/${mode} section`).toBeGreaterThan(0);
  const rest = output.slice(start + 1);
  const end = rest.search(/\n(node|python) function \(|\n── /);
  return rest.slice(0, end < 0 ? undefined : end);
}

describe.skipIf(!ok)('npm run demo (short)', () => {
  let out = '';
  let status: number | null = null;
  beforeAll(async () => {
    await prebuild([process.arch === 'arm64' ? 'arm64' : 'x86_64']);
    buildLayers([process.arch === 'arm64' ? 'arm64' : 'x86_64']);
    const r = await run(process.execPath, [join(root, 'demo', 'start.mjs'), '--short'], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 240_000,
    });
    out = `${r.stdout}${r.stderr}`;
    status = r.status;
  }, 300_000);

  it('runs to the end and reports every expectation met', () => {
    expect(status, out).toBe(0);
    expect(out).toContain('1. compiled examples/policy.yaml');
    expect(out).toMatch(/2\. unpacked dist\/layers\/egress-guard-layer-(x86_64|arm64)\.zip/);
    expect(out).toContain('demo: OK');
  });

  const fns = python ? ['node', 'python'] : ['node'];
  for (const fn of fns) {
    it(`${fn}, audit: allows the partner API, logs the denied call as would-block and lets it through, flags the budget`, () => {
      const s = section(out, fn, 'audit');
      expect(s).toContain('started as: wrapper ');
      if (fn === 'python' && ric) expect(s).toContain('python3 python_ric_bootstrap.py');
      expect(s).toMatch(
        new RegExp(
          `\\[${fn}·audit\\] req [0-9a-f]{8} ALLOW +connect api\\.partner\\.example \\(10\\.201\\.1\\.10:80/tcp\\)  rule=partner-api`,
        ),
      );
      expect(s).toMatch(/WOULD-BLOCK dns +upload\.attacker\.example\S* +rule=default/);
      expect(s).toMatch(/WOULD-BLOCK connect upload\.attacker\.example \(10\.201\.1\.20:80\/tcp\) +rule=default/);
      expect(s).toMatch(/→ denied: HTTP 200/); // audit lets it through
      expect(s).toMatch(/BUDGET +budget rxBytes exceeded: \d+ > 52428800 bytes \(audit: nothing blocked\)/);
      expect(s).toMatch(/INVOKE +rx 6\d\.\d MiB .* OVER BUDGET/);
      expect(s).toMatch(/→ big: HTTP 200, 64\.0 MiB received/);
      expect(s).not.toContain('BLOCKED');
      // Each invoke has its own request id on its own lines.
      const ids = new Set([...s.matchAll(/invoke \d req ([0-9a-f]{8})/g)].map((m) => m[1]));
      expect(ids.size).toBe(3);
      for (const id of ids) expect(s).toMatch(new RegExp(`req ${id} INVOKE +rx`));
    });

    it(`${fn}, enforce: blocks the denied name before any lookup and fails the over-budget invoke`, () => {
      const s = section(out, fn, 'enforce');
      expect(s).toMatch(/BLOCKED +dns +upload\.attacker\.example\S* +rule=default errno=EAI_NONAME/);
      expect(s).toMatch(/→ denied: failed with ENOTFOUND/);
      expect(s).toMatch(/→ allowed: HTTP 200/);
      expect(s).toMatch(
        /BUDGET +budget rxBytes exceeded: \d+ > 52428800 bytes \(egress of this invoke cut, invocation failed with EgressBudgetExceeded\)/,
      );
      expect(s).toMatch(/→ invocation failed EgressBudgetExceeded: egress budget exceeded: rxBytes/);
      expect(s).not.toContain('WOULD-BLOCK');
    });
  }

  it('prints a summary row per function and mode', () => {
    const summary = out.slice(out.indexOf('── SUMMARY'));
    for (const fn of fns) {
      // allowed, would-block, blocked, over-budget, failed
      expect(summary).toMatch(new RegExp(`${fn}·audit +\\d+ +2 +0 +1 +0/3 +6\\d\\.\\d MiB`));
      expect(summary).toMatch(new RegExp(`${fn}·enforce +\\d+ +0 +1 +1 +1/3 +\\d+\\.\\d MiB`));
    }
  });
});
