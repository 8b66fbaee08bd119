/**
 * The layer zips built by layer/build/build-layer.ts from the list in layer/build/contents.ts: contents, file modes,
 * sizes, architectures, checksums, and reproducibility (two from-scratch release builds give the same bytes).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuiltLayer,
  buildLayers,
  buildReleaseAsync,
  MAX_LAYER_ZIP_BYTES,
  prebuild,
  sha256,
} from '../../layer/build/build-layer.js';
import { LAYER_FILES, PROXY_LAYER_FILES } from '../../layer/build/contents.js';
import { parseChecksums } from '../../layer/build/prebuilt.js';
import { need, runs } from '../support/capability.js';

const ok = need('unzip', runs('unzip', ['-v']), 'unzip is not installed');

interface Entry {
  mode: string;
  name: string;
  date: string;
}

/** `zipinfo` listing: permission string, date and name of every entry. */
function entries(zip: string): Entry[] {
  const r = spawnSync('unzip', ['-Z', '-T', zip], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => /^[-d]/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { mode: f[0] as string, date: f[f.length - 2] as string, name: f[f.length - 1] as string };
    });
}

/** The ELF machine of a file inside the zip (e_machine at offset 18: 0x3e x86-64, 0xb7 aarch64). */
function elfMachine(zip: string, name: string): number {
  const r = spawnSync('unzip', ['-p', zip, name], { maxBuffer: 64 << 20 });
  const b = r.stdout as Buffer;
  expect(b.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return b.readUInt16LE(18);
}

describe.skipIf(!ok)('layer zips', () => {
  let out = '';
  let layers: BuiltLayer[] = [];
  beforeAll(async () => {
    await prebuild();
    out = mkdtempSync(join(tmpdir(), 'eg-layer-'));
    layers = buildLayers(undefined, out);
  }, 300_000);
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('builds one zip per architecture, named for it, each at most 1 MB, that unzip tests clean', () => {
    expect(layers.map((l) => l.zip.split('/').pop())).toEqual([
      'egress-guard-layer-x86_64.zip',
      'egress-guard-layer-arm64.zip',
    ]);
    for (const l of layers) {
      expect(l.bytes).toBeLessThanOrEqual(MAX_LAYER_ZIP_BYTES);
      expect(l.bytes).toBeGreaterThan(10_000);
      const t = spawnSync('unzip', ['-t', l.zip], { encoding: 'utf8' });
      expect(t.status, t.stdout).toBe(0);
    }
  });

  it('holds exactly the files of the list, in its order, with its modes and the zip-epoch timestamp', () => {
    for (const l of layers) {
      const list = entries(l.zip);
      expect(list.map((e) => e.name)).toEqual(LAYER_FILES.map((f) => f.path));
      // layer layout v2: the agent, and no per-language code
      expect(list.map((e) => e.name)).toContain('egress-guard/bin/egress-guard-agent');
      expect(list.filter((e) => /^egress-guard\/(node|python)\//.test(e.name))).toEqual([]);
      for (const f of LAYER_FILES) {
        const e = list.find((x) => x.name === f.path);
        expect(e?.mode, f.path).toBe(f.mode === 0o755 ? '-rwxr-xr-x' : '-rw-r--r--');
        expect(e?.date, f.path).toBe('19800101.000000');
      }
      for (const e of list) {
        expect(e.name.startsWith('egress-guard/')).toBe(true);
        expect(e.name).not.toMatch(/^(nodejs|python|lib|bin|java|ruby|extensions)\//);
        expect(e.name).not.toMatch(/node_modules|site-packages/);
      }
    }
  });

  it('writes the proxy-mode layer: the extension launcher only, executable', () => {
    const list = entries(join(out, 'egress-guard-proxy-layer.zip'));
    expect(list.map((e) => [e.name, e.mode])).toEqual(
      PROXY_LAYER_FILES.map((f) => [f.path, f.mode === 0o755 ? '-rwxr-xr-x' : '-rw-r--r--']),
    );
    expect(list[0]?.name).toBe('extensions/egress-guard-proxy');
  });

  it('carries the library of its own architecture', () => {
    const [x86, arm] = layers;
    expect(elfMachine(x86?.zip as string, 'egress-guard/lib/libegressguard.so')).toBe(0x3e);
    expect(elfMachine(arm?.zip as string, 'egress-guard/lib/libegressguard.so')).toBe(0xb7);
    expect(elfMachine(x86?.zip as string, 'egress-guard/bin/egress-guard-agent')).toBe(0x3e);
    expect(elfMachine(arm?.zip as string, 'egress-guard/bin/egress-guard-agent')).toBe(0xb7);
  });

  it('records the SHA-256 of each zip in SHA256SUMS', () => {
    const sums = parseChecksums(readFileSync(join(out, 'SHA256SUMS'), 'utf8'));
    expect([...sums.keys()].sort()).toEqual([
      'egress-guard-layer-arm64.zip',
      'egress-guard-layer-x86_64.zip',
      'egress-guard-proxy-layer.zip',
    ]);
    for (const l of layers) expect(sums.get(`egress-guard-layer-${l.arch}.zip`)).toBe(sha256(readFileSync(l.zip)));
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('is reproducible: two release builds from scratch give byte-identical zips', async () => {
    const a = mkdtempSync(join(tmpdir(), 'eg-release-a-'));
    const b = mkdtempSync(join(tmpdir(), 'eg-release-b-'));
    try {
      const first = await buildReleaseAsync(a);
      const second = await buildReleaseAsync(b);
      expect(first.map((l) => l.arch)).toEqual(['x86_64', 'arm64']);
      expect(second.map((l) => l.arch)).toEqual(['x86_64', 'arm64']);
      for (const [i, l] of first.entries()) {
        expect(readFileSync(second[i]?.zip as string).equals(readFileSync(l.zip)), l.arch).toBe(true);
      }
      expect(readFileSync(join(a, 'SHA256SUMS'), 'utf8')).toBe(readFileSync(join(b, 'SHA256SUMS'), 'utf8'));
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  }, 300_000);
});
