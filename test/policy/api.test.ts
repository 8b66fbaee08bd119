/** The public API of policy/index.ts as other parts use it: names, sync forms, atomic output, error shapes. */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compilePolicyFile,
  compilePolicyFileSync,
  compilePolicyTextSync,
  formatDiagnostic,
  loadCompiled,
  normalizeName,
  PolicyError,
} from '../../policy/index.js';
import { tempDir } from './helpers.js';

describe('normalizeName', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com..', 'example.com.'],
    ['Bücher.Example.', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['0x7f.1', '0x7f.1'],
    ['', ''],
    ['.', ''],
    ['UPPER_case-1.test', 'upper_case-1.test'],
  ])('%j → %j', (a, b) => {
    expect(normalizeName(a)).toBe(b);
  });
});

describe('compile API', () => {
  const dir = tempDir('egp-api-');
  writeFileSync(join(dir, 'ok.yaml'), 'version: 1\nallow: [a.test]\n');
  writeFileSync(join(dir, 'bad.yaml'), 'version: 1\nallow:\n  - host: "a.*.test"\n');

  it('sync and async forms give the same bytes; the file name is not in them', async () => {
    const a = compilePolicyFileSync('ok.yaml', undefined, { cwd: dir });
    const b = await compilePolicyFile(join(dir, 'ok.yaml'));
    const c = compilePolicyTextSync('version: 1\nallow: [a.test]\n', 'elsewhere.yml');
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(true);
    expect(loadCompiled(a.bytes).rules.map((r) => [r.name, r.kind, r.action, r.line])).toEqual([
      ['allow[0]', 'host', 'allow', 2],
    ]);
  });

  it('with an output path it writes atomically, and nothing at all on error', async () => {
    await compilePolicyFile('ok.yaml', 'out/../ok.egp', { cwd: dir });
    expect(existsSync(join(dir, 'ok.egp'))).toBe(true);
    const err = await compilePolicyFile('bad.yaml', 'bad.egp', { cwd: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyError);
    expect(existsSync(join(dir, 'bad.egp'))).toBe(false);
    expect(readdirSync(dir).some((f) => f.includes('.tmp'))).toBe(false);
  });

  it('PolicyError carries diagnostics with file, position, severity and a pretty form', () => {
    try {
      compilePolicyFileSync('bad.yaml', undefined, { cwd: dir });
      expect.unreachable();
    } catch (e) {
      const err = e as PolicyError;
      expect(err.diagnostics).toEqual([
        expect.objectContaining({ code: 'WILDCARD_FORM', file: 'bad.yaml', line: 3, col: 11, severity: 'error' }),
      ]);
      expect(err.format()).toBe(formatDiagnostic(err.diagnostics[0]!));
      expect(err.format()).toContain('\n 3 |   - host: "a.*.test"\n   |           ^^^^^^^^^^');
      expect(err.message).toContain('bad.yaml:3:11');
    }
  });
});
