// The Python wrapper's parser, policy-header reader and state-file writer against the same fixtures and files as the
// Node ones: identical results, byte for byte where it matters.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emfLine } from '../../layer/node/emf.js';
import { readPolicyHeader } from '../../layer/node/policy.js';
import { deltaBytes, interfaceFilter, parseProcNetDev } from '../../layer/node/procnetdev.js';
import { InvokeStateFile } from '../../layer/node/state.js';
import { compilePolicyTextSync } from '../../policy/index.js';
import { needCommand } from '../support/capability.js';
import { PY_WRAPPER_DIR, tempDir } from './harness.js';

const ok = needCommand('python3');
const FX = join(import.meta.dirname, '../fixtures/procnetdev');
const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs Python code with the wrapper module importable (as `g`); returns its stdout parsed as JSON. */
function py(code: string): unknown {
  const r = spawnSync('python3', ['-c', `import json, sys\nimport egress_guard_wrapper as g\n${code}`], {
    env: { ...process.env, PYTHONPATH: PY_WRAPPER_DIR, PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe.skipIf(!ok)('Python twin', () => {
  it('parses every fixture exactly as the Node parser (u64 included)', () => {
    const files = readdirSync(FX).filter((f) => f.endsWith('.txt'));
    const got = py(`
out = {}
for f in ${JSON.stringify(files)}:
    ifaces, bad = g.parse_proc_net_dev(open(${JSON.stringify(FX)} + '/' + f).read())
    out[f] = {'interfaces': [[n, str(a), str(b), str(c), str(d)] for n, a, b, c, d in ifaces], 'malformed': bad}
print(json.dumps(out))`) as Record<string, { interfaces: string[][]; malformed: number[] }>;
    for (const f of files) {
      const ts = parseProcNetDev(readFileSync(join(FX, f), 'utf8'));
      expect(got[f], f).toEqual({
        interfaces: ts.interfaces.map((i) => [
          i.name,
          String(i.rxBytes),
          String(i.rxPackets),
          String(i.txBytes),
          String(i.txPackets),
        ]),
        malformed: ts.malformed,
      });
    }
  });

  it('computes the same deltas (reset, appeared, vanished) and filters', () => {
    const pairs = ['lambda', 'huge', 'reset', 'missing'];
    const got = py(`
out = {}
for p in ${JSON.stringify(pairs)}:
    a = g.parse_proc_net_dev(open(${JSON.stringify(FX)} + '/' + p + '-start.txt').read())[0]
    b = g.parse_proc_net_dev(open(${JSON.stringify(FX)} + '/' + p + '-end.txt').read())[0]
    rx, tx, reset, appeared, vanished = g.delta_bytes(a, b, g.interface_filter(None, None))
    out[p] = [str(rx), str(tx), reset, appeared, vanished]
f = g.interface_filter(['v*', 'eth0'], ['lo', 'vint_runtime'])
out['filter'] = [n for n in ['lo', 'vinternal_1', 'vint_runtime', 'vtarget_1', 'eth0', 'eth1'] if f(n)]
print(json.dumps(out))`) as Record<string, unknown>;
    for (const p of pairs) {
      const read = (s: string) => parseProcNetDev(readFileSync(join(FX, `${p}-${s}.txt`), 'utf8')).interfaces;
      const d = deltaBytes(read('start'), read('end'), interfaceFilter());
      expect(got[p], p).toEqual([String(d.rxBytes), String(d.txBytes), d.reset, d.appeared, d.vanished]);
    }
    const f = interfaceFilter({ include: ['v*', 'eth0'], exclude: ['lo', 'vint_runtime'] });
    expect(got.filter).toEqual(['lo', 'vinternal_1', 'vint_runtime', 'vtarget_1', 'eth0', 'eth1'].filter(f));
  });

  it('reads policy headers as the Node reader does, and rejects the same damage with the same codes', () => {
    const good = compilePolicyTextSync(
      'version: 1\nmode: enforce\nallow:\n  - ip: 10.0.0.1\nbudgets:\n  perInvoke:\n    txBytes: 12345\n    totalBytes: 99999\n',
      'p.yaml',
    ).bytes;
    const files: Record<string, Buffer> = {
      good: Buffer.from(good),
      crc: Buffer.from(good),
      magic: Buffer.from(good),
      size: Buffer.from(good).subarray(0, good.length - 8),
    };
    (files.crc as Buffer).writeBigUInt64LE(1n, 48);
    (files.magic as Buffer)[0] = 0;
    const paths: Record<string, string> = {};
    for (const [k, b] of Object.entries(files)) {
      paths[k] = join(dir, `${k}.egp`);
      writeFileSync(paths[k] as string, b);
    }
    paths.missing = join(dir, 'missing.egp');
    const got = py(`
out = {}
for k, p in ${JSON.stringify(paths)}.items():
    try:
        mode, budgets = g.read_policy_header(p)
        out[k] = {'mode': mode, 'budgets': {n: str(v) for n, v in budgets.items()}}
    except g.PolicyHeaderError as e:
        out[k] = {'code': e.code}
print(json.dumps(out))`) as Record<string, unknown>;
    for (const [k, p] of Object.entries(paths)) {
      let want: unknown;
      try {
        const h = readPolicyHeader(p);
        want = { mode: h.mode, budgets: Object.fromEntries(Object.entries(h.budgets).map(([n, v]) => [n, String(v)])) };
      } catch (e) {
        want = { code: (e as { code: string }).code };
      }
      expect(got[k], k).toEqual(want);
    }
    expect(got.good).toEqual({ mode: 'enforce', budgets: { txBytes: '12345', totalBytes: '99999' } });
  });

  it('writes the state file byte for byte as the Node writer does', () => {
    const pyPath = join(dir, 'py-state');
    const nodePath = join(dir, 'node-state');
    py(`
s = g.InvokeStateFile(${JSON.stringify(pyPath)})
s.begin('req-one-0123456789', False)
s.set_flags(g.FLAG_BUDGET_TRIPPED)
s.end(False)
s.begin('r2', True)
print('{}')`);
    const s = InvokeStateFile.open(nodePath);
    s.begin('req-one-0123456789', false);
    s.setFlags(2);
    s.end(false);
    s.begin('r2', true);
    expect(readFileSync(pyPath).equals(readFileSync(nodePath))).toBe(true);
  });

  it('writes the same EMF objects (metric sets per mode, escaping of odd names)', () => {
    const got = py(`
print(json.dumps([json.loads(g.emf_line('NS "q"', 'fn\u00e9', 'req-1', 123, 456, True, 2, c)) for c in (False, True)]))`) as Record<
      string,
      Record<string, unknown>
    >[];
    const want = [false, true].map(
      (c) =>
        JSON.parse(
          emfLine({
            namespace: 'NS "q"',
            functionName: 'fn\u00e9',
            requestId: 'req-1',
            rxBytes: 123,
            txBytes: 456,
            budgetExceeded: true,
            blocked: 2,
            concurrent: c,
            timestamp: 0,
          }),
        ) as Record<string, Record<string, unknown>>,
    );
    for (const [i, w] of want.entries()) {
      const p = got[i] as Record<string, Record<string, unknown>>;
      expect(typeof p._aws?.Timestamp).toBe('number');
      (p._aws as Record<string, unknown>).Timestamp = 0;
      expect(p).toEqual(w);
    }
  });
});
