/**
 * The CLI, called as the function the `egress-guard` binary runs (`cli(argv, io)`), on real files in a temp dir.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCompiled } from '../../policy/index.js';
import { need } from '../support/capability.js';
import { runCli, tempDir } from './helpers.js';

const GOLDEN = join(import.meta.dirname, '../fixtures/golden');

describe('egress-guard CLI', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'tiny.yaml'), readFileSync(join(GOLDEN, 'tiny.yaml')));
  writeFileSync(join(dir, 'bad.yml'), 'version: 1\nallow:\n  - cidr: 10.0.0.0/33\n  - host: "a.*.com"\n');

  it('compile writes <name>.egp next to the policy by default, identical to the golden bytes', async () => {
    const r = await runCli(['compile', 'tiny.yaml'], dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^wrote tiny\.egp \(1600 bytes, 12 rules, mode enforce\) in/);
    // the default format version is 3 (docs/FORMAT.md "Versions"): the golden tiny.v3.egp
    expect(readFileSync(join(dir, 'tiny.egp')).equals(readFileSync(join(GOLDEN, 'tiny.v3.egp')))).toBe(true);
  });

  it('compile --format-version 1|2|3 writes the golden bytes of that version; another value is a usage error', async () => {
    for (const [v, golden] of [
      ['1', 'tiny.egp'],
      ['2', 'tiny.v2.egp'],
      ['3', 'tiny.v3.egp'],
    ] as const) {
      const r = await runCli(['compile', 'tiny.yaml', '-o', `v${v}.egp`, '--format-version', v], dir);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(dir, `v${v}.egp`)).equals(readFileSync(join(GOLDEN, golden)))).toBe(true);
    }
    const bad = await runCli(['compile', 'tiny.yaml', '-o', 'v4.egp', '--format-version', '4'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--format-version must be 1, 2 or 3/);
    expect(existsSync(join(dir, 'v4.egp'))).toBe(false);
  });

  it('compile -o writes where asked; -q prints nothing', async () => {
    const r = await runCli(['compile', 'tiny.yaml', '-o', 'out/../x.bin', '-q'], dir);
    expect(r).toMatchObject({ status: 0, stdout: '' });
    expect(loadCompiled(new Uint8Array(readFileSync(join(dir, 'x.bin')))).mode).toBe('enforce');
  });

  it('compile of an invalid policy exits 1, prints every error with file:line:col, writes nothing', async () => {
    const r = await runCli(['compile', 'bad.yml'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('bad.yml:3:11: error CIDR_BAD_PREFIX');
    expect(r.stderr).toContain('bad.yml:4:11: error WILDCARD_FORM');
    expect(r.stderr).toContain('   |           ^');
    expect(existsSync(join(dir, 'bad.egp'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('compile leaves an existing output untouched when the policy is invalid', async () => {
    writeFileSync(join(dir, 'keep.egp'), 'old');
    const r = await runCli(['compile', 'bad.yml', '-o', 'keep.egp'], dir);
    expect(r.status).toBe(1);
    expect(readFileSync(join(dir, 'keep.egp'), 'utf8')).toBe('old');
  });

  it('compile: usage errors and a missing file exit 2 with a code', async () => {
    expect((await runCli(['compile'], dir)).status).toBe(2);
    const r = await runCli(['compile', 'a.yaml', 'b.yaml'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_USAGE');
    const bad = await runCli(['compile', 'tiny.yaml', '--bogus'], dir);
    expect(bad.status).toBe(2);
    const missing = await runCli(['compile', 'nope.yaml'], dir);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('POLICY_UNREADABLE');
  });

  it('validate: 0 for a valid policy, 1 with diagnostics, --json for machines', async () => {
    const ok = await runCli(['validate', 'tiny.yaml'], dir);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('tiny.yaml: valid (12 rules, mode enforce');
    const bad = await runCli(['validate', 'bad.yml', '--json'], dir);
    expect(bad.status).toBe(1);
    const j = JSON.parse(bad.stdout) as {
      ok: boolean;
      diagnostics: Array<{ code: string; line: number; col: number }>;
    };
    expect(j.ok).toBe(false);
    expect(j.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([
      ['CIDR_BAD_PREFIX', 3, 11],
      ['WILDCARD_FORM', 4, 11],
    ]);
    expect(existsSync(join(dir, 'bad.egp'))).toBe(false);
  });

  it.each([
    // [target, extra args, exit status, rule]
    ['api.example.com', [], 0, 'allow[0]'],
    ['s3.amazonaws.com:443', [], 0, 'aws'],
    ['s3.amazonaws.com:80', [], 1, 'default'],
    ['amazonaws.com', [], 1, 'default'],
    ['evil.s3.amazonaws.com:443', [], 1, 'deny[3]'],
    ['x.ngrok.io', [], 1, 'deny[0]'],
    // names are read as the resolver reads them: every spelling of a denied name is denied
    ['X.NGROK.io.', [], 1, 'deny[0]'],
    ['x.ngrok.i\\111', [], 1, 'deny[0]'],
    ['evil.s3.amazon\\097ws.com:443', [], 1, 'deny[3]'],
    ['a\\.b.ngrok.io', [], 1, 'dns-malformed'],
    ['10.2.3.4:5432', [], 0, 'allow[2]'],
    ['10.1.3.4:5432', [], 1, 'deny[2]'],
    ['10.1.3.4:5432', ['--udp'], 0, 'allow[2]'],
    ['[2001:db8::1]:443', [], 0, 'allow[3]'],
    ['2001:db8::1', [], 0, 'allow[3]'],
    ['[::ffff:198.51.100.9]:80', [], 0, 'mapped'],
    ['192.0.2.10:53', ['--udp'], 0, 'allow[4]'],
    ['192.0.2.10:53', [], 1, 'default'],
    ['169.254.169.254:80', [], 1, 'metadata'],
    ['203.0.113.9:443', ['--name', 'x.s3.amazonaws.com'], 0, 'aws'],
    ['127.0.0.1:9001', [], 0, 'builtin:loopback'],
  ] as const)('explain %s %j → exit %i, rule %s (yaml and egp agree)', async (target, extra, status, rule) => {
    for (const policy of ['tiny.yaml', join(GOLDEN, 'tiny.egp')]) {
      const r = await runCli(['explain', policy, target, ...extra, '--json'], dir);
      expect(r.status, r.stderr).toBe(status);
      const j = JSON.parse(r.stdout) as { decision: string; rule: string };
      expect(j.rule).toBe(rule);
      expect(j.decision).toBe(status === 0 ? 'allow' : 'deny');
      const human = await runCli(['explain', policy, target, ...extra], dir);
      expect(human.status).toBe(status);
      expect(human.stdout).toContain(`rule  ${rule}`);
    }
  });

  it('explain: bad targets, a corrupt .egp and an invalid policy exit 2', async () => {
    expect((await runCli(['explain', 'tiny.yaml', 'x.com:99999'], dir)).status).toBe(2);
    expect((await runCli(['explain', 'tiny.yaml', '[::1'], dir)).status).toBe(2);
    expect((await runCli(['explain', 'tiny.yaml'], dir)).status).toBe(2);
    expect((await runCli(['explain', 'tiny.yaml', 'a.com', '--name', 'b.com'], dir)).status).toBe(2);
    const corrupt = new Uint8Array(readFileSync(join(GOLDEN, 'tiny.egp')));
    corrupt[600] = (corrupt[600]! + 1) & 0xff;
    writeFileSync(join(dir, 'corrupt.egp'), corrupt);
    const r = await runCli(['explain', 'corrupt.egp', 'a.com'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_POLICY_BODY_CRC');
    const inv = await runCli(['explain', 'bad.yml', 'a.com'], dir);
    expect(inv.status).toBe(2);
    expect(inv.stderr).toContain('CIDR_BAD_PREFIX');
  });

  it('--help works on every command and at the top; unknown commands exit 2', async () => {
    for (const c of ['compile', 'validate', 'explain']) {
      const r = await runCli([c, '--help'], dir);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`usage: egress-guard ${c}`);
    }
    const top = await runCli(['--help'], dir);
    expect(top.status).toBe(0);
    expect(top.stdout).toContain('compile');
    expect((await runCli([], dir)).status).toBe(2);
    const unknown = await runCli(['frobnicate'], dir);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('E_USAGE');
  });
});

const BIN = join(import.meta.dirname, '../../dist/policy/bin.js');
const built = need('the built CLI (dist/)', existsSync(BIN), 'run `npm run build:ts` first (npm test builds it)');

describe.skipIf(!built)('the egress-guard executable', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'p.yaml'), readFileSync(join(GOLDEN, 'tiny.yaml')));

  it('maps cli() results to exit codes: compile 0, explain deny 1, usage 2', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
    const c = run('compile', 'p.yaml');
    expect(c.status, c.stderr).toBe(0);
    expect(readFileSync(join(dir, 'p.egp')).equals(readFileSync(join(GOLDEN, 'tiny.v3.egp')))).toBe(true);
    expect(run('explain', 'p.egp', 'api.example.com').status).toBe(0);
    expect(run('explain', 'p.egp', 'x.ngrok.io:443').status).toBe(1);
    expect(run('explain', 'p.egp').status).toBe(2);
  });
});
