/**
 * The layer zips built by layer/build/build-layer.ts: contents, file modes, sizes, architectures, determinism.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltLayer, buildLayers, MAX_LAYER_ZIP_BYTES, prebuild } from '../../layer/build/build-layer.js';
import { need, runs } from '../support/capability.js';

const ok = need('zip and unzip', runs('zip', ['-v']) && runs('unzip', ['-v']), 'zip/unzip are not installed');

interface Entry {
  mode: string;
  name: string;
}

/** `zipinfo` listing: permission string and name of every entry. */
function entries(zip: string): Entry[] {
  const r = spawnSync('unzip', ['-Z', zip], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => /^[-d]/.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { mode: f[0] as string, name: f[f.length - 1] as string };
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

  it('builds one zip per architecture, named for it, each at most 1 MB', () => {
    expect(layers.map((l) => l.zip.split('/').pop())).toEqual([
      'egress-guard-layer-x86_64.zip',
      'egress-guard-layer-arm64.zip',
    ]);
    for (const l of layers) {
      expect(l.bytes).toBeLessThanOrEqual(MAX_LAYER_ZIP_BYTES);
      expect(l.bytes).toBeGreaterThan(10_000);
    }
  });

  it('holds everything under egress-guard/, with 0755 executables and nothing that shadows runtime modules', () => {
    for (const l of layers) {
      const list = entries(l.zip);
      const names = list.map((e) => e.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'egress-guard/wrapper',
          'egress-guard/lib/libegressguard.so',
          'egress-guard/node/handler.mjs',
          'egress-guard/python/egress_guard_wrapper.py',
        ]),
      );
      for (const n of names) {
        expect(n.startsWith('egress-guard/')).toBe(true);
        expect(n).not.toMatch(/^(nodejs|python|lib|bin|java|ruby|extensions)\//);
        expect(n).not.toMatch(/node_modules|site-packages/);
      }
      const mode = (n: string) => list.find((e) => e.name === n)?.mode;
      expect(mode('egress-guard/wrapper')).toBe('-rwxr-xr-x');
      expect(mode('egress-guard/lib/libegressguard.so')).toBe('-rwxr-xr-x');
      expect(mode('egress-guard/node/handler.mjs')).toBe('-rw-r--r--');
      for (const e of list.filter((x) => x.name.startsWith('egress-guard/python/'))) {
        expect(e.mode).toBe('-rw-r--r--');
        expect(e.name).toMatch(/^egress-guard\/python\/egress_guard_[a-z0-9_]*\.py$/);
      }
    }
  });

  it('carries the library of its own architecture', () => {
    const [x86, arm] = layers;
    expect(elfMachine(x86?.zip as string, 'egress-guard/lib/libegressguard.so')).toBe(0x3e);
    expect(elfMachine(arm?.zip as string, 'egress-guard/lib/libegressguard.so')).toBe(0xb7);
  });

  it('is deterministic: the same inputs give the same bytes', () => {
    const again = mkdtempSync(join(tmpdir(), 'eg-layer2-'));
    try {
      const second = buildLayers(['x86_64'], again);
      expect(readFileSync(second[0]?.zip as string).equals(readFileSync(layers[0]?.zip as string))).toBe(true);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });
});
