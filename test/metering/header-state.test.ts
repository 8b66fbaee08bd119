// The wrapper's two file contracts: budgets/mode read from a compiled policy's header (docs/FORMAT.md; checked against
// the compiler's own reader, loadCompiled) and the invoke-state file (docs/STATE.md), byte by byte.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPolicyHeader, resolveMode } from '../../layer/node/policy.js';
import {
  FLAG_BUDGET_TRIPPED,
  FLAG_CONCURRENT,
  FLAG_IN_INVOKE,
  InvokeStateFile,
  STATE_MAGIC,
} from '../../layer/node/state.js';
import { compilePolicyTextSync, loadCompiled } from '../../policy/index.js';

const dir = mkdtempSync(join(tmpdir(), 'eg-meter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const POLICY = (budgets: string, mode = 'enforce') => `version: 1
mode: ${mode}
allow:
  - host: api.example.com
    ports: [443]
${budgets}`;

function compiled(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, compilePolicyTextSync(text, `${name}.yaml`).bytes);
  return p;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('readPolicyHeader', () => {
  it('reads the budgets and mode the compiler wrote, as the compiler reads them', () => {
    const p = compiled('b.egp', POLICY('budgets:\n  perInvoke:\n    rxBytes: 1048576\n    totalBytes: 5368709120\n'));
    const h = readPolicyHeader(p);
    expect(h).toEqual({ mode: 'enforce', budgets: { rxBytes: 1048576n, totalBytes: 5368709120n } });
    // a plain Uint8Array: loadCompiled mutates a Buffer argument (Buffer#slice is a view, not a copy)
    const ref = loadCompiled(new Uint8Array(readFileSync(p)));
    expect(ref.mode).toBe(h.mode);
    expect(ref.budgets.rxBytes).toBe(Number(h.budgets.rxBytes));
    expect(ref.budgets.txBytes).toBeNull();
    expect(h.budgets.txBytes).toBeUndefined();
  });

  it('reads audit mode and no budgets', () => {
    expect(readPolicyHeader(compiled('a.egp', POLICY('', 'audit')))).toEqual({ mode: 'audit', budgets: {} });
  });

  it('rejects missing, foreign, truncated and tampered files with codes', () => {
    const good = readFileSync(compiled('t.egp', POLICY('budgets:\n  perInvoke:\n    txBytes: 10\n')));
    expect(codeOf(() => readPolicyHeader(join(dir, 'nope.egp')))).toBe('E_POLICY_MISSING');
    const bad = (name: string, mutate: (b: Buffer) => Buffer) => {
      const p = join(dir, name);
      writeFileSync(p, mutate(Buffer.from(good)));
      return codeOf(() => readPolicyHeader(p));
    };
    expect(bad('magic.egp', (b) => b.fill(0x41, 0, 4))).toBe('E_POLICY_MAGIC');
    expect(
      bad('version.egp', (b) => {
        b.writeUInt16LE(2, 8);
        return b;
      }),
    ).toBe('E_POLICY_VERSION');
    expect(bad('short.egp', (b) => b.subarray(0, b.length - 8))).toBe('E_POLICY_SIZE');
    expect(bad('tiny.egp', (b) => b.subarray(0, 40))).toBe('E_POLICY_HEADER');
    // A raised budget without a matching checksum is exactly what meta_crc32 is for.
    expect(
      bad('budget.egp', (b) => {
        b.writeBigUInt64LE(1n << 40n, 48);
        return b;
      }),
    ).toBe('E_POLICY_CRC');
  });

  it('lets EGRESS_GUARD_MODE override the file, and flags nonsense', () => {
    expect(resolveMode('audit', 'ENFORCE ')).toEqual({ mode: 'enforce' });
    expect(resolveMode('enforce', 'off')).toEqual({ mode: 'off' });
    expect(resolveMode('enforce', undefined)).toEqual({ mode: 'enforce' });
    expect(resolveMode('audit', 'block')).toEqual({ mode: 'audit', invalid: 'block' });
  });
});

describe('InvokeStateFile', () => {
  const read = (p: string) => readFileSync(p);

  it('creates the file with magic, version and size, mode 0600', async () => {
    const p = join(dir, 'sub', 'state');
    InvokeStateFile.open(p);
    const b = read(p);
    expect(b.length).toBe(256);
    expect(b.subarray(0, 8).equals(STATE_MAGIC)).toBe(true);
    expect(b.readUInt32LE(8)).toBe(1);
    expect(b.readUInt32LE(12)).toBe(256);
    const { statSync } = await import('node:fs');
    expect(statSync(p).mode & 0o777).toBe(0o600);
  });

  it('publishes invoke start, trip and end with an even seq, keeping the interposer counters', () => {
    const p = join(dir, 'state2');
    const s = InvokeStateFile.open(p);
    // the interposer's counters (it adds to them through its mapping)
    const fd = Buffer.from(read(p));
    fd.writeBigUInt64LE(5n, 128);
    fd.writeBigUInt64LE(2n, 136);
    fd.writeBigUInt64LE(1n, 144);
    writeFileSync(p, fd);

    const b1 = s.begin('8f7e6d5c-aaaa-bbbb-cccc-000000000001', false);
    expect(b1.invokeSeq).toBe(1n);
    expect(b1.before.counters).toEqual({ allowed: 5n, denied: 2n, blocked: 1n, uncovered: 0n });
    let b = read(p);
    expect(b.readBigUInt64LE(16) % 2n).toBe(0n);
    expect(b.readBigUInt64LE(24)).toBe(1n);
    expect(b.readUInt32LE(32)).toBe(FLAG_IN_INVOKE);
    expect(b.readUInt32LE(36)).toBe(36);
    expect(b.subarray(40, 76).toString()).toBe('8f7e6d5c-aaaa-bbbb-cccc-000000000001');
    expect(b.subarray(76, 128).every((x) => x === 0)).toBe(true);
    expect(b.readBigUInt64LE(128)).toBe(5n);

    s.setFlags(FLAG_BUDGET_TRIPPED);
    b = read(p);
    expect(b.readUInt32LE(32)).toBe(FLAG_IN_INVOKE | FLAG_BUDGET_TRIPPED);
    expect(b.readBigUInt64LE(16) % 2n).toBe(0n);

    const end = s.end(false);
    expect(end.invokeSeq).toBe(1n);
    b = read(p);
    expect(b.readUInt32LE(32)).toBe(FLAG_BUDGET_TRIPPED);
    expect(b.subarray(40, 76).toString()).toBe('8f7e6d5c-aaaa-bbbb-cccc-000000000001');

    // the next invoke starts clean; a shorter id leaves no bytes of the longer one behind
    s.begin('r2', true);
    b = read(p);
    expect(b.readBigUInt64LE(24)).toBe(2n);
    expect(b.readUInt32LE(32)).toBe(FLAG_IN_INVOKE | FLAG_CONCURRENT);
    expect(b.readUInt32LE(36)).toBe(2);
    expect(b.subarray(40, 42).toString()).toBe('r2');
    expect(b.subarray(42, 104).every((x) => x === 0)).toBe(true);
    expect(b.readBigUInt64LE(16)).toBe(8n);
  });

  it('drops a request id longer than 64 bytes rather than truncating it', () => {
    const p = join(dir, 'state3');
    InvokeStateFile.open(p).begin('x'.repeat(65), false);
    expect(read(p).readUInt32LE(36)).toBe(0);
  });

  it('refuses a 256-byte file that is not an invoke-state file', () => {
    const p = join(dir, 'foreign');
    writeFileSync(p, Buffer.alloc(256, 7));
    expect(codeOf(() => InvokeStateFile.open(p))).toBe('E_STATE_INVALID');
  });
});
