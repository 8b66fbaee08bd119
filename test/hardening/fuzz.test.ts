/**
 * The libFuzzer harnesses (native/fuzz/, `make -C native fuzz-ci`): committed seeds are what the generators in
 * ./seeds.ts produce; every committed seed and crash reproducer replays cleanly under ASan+UBSan; and a short bounded
 * fuzz run (FUZZ_CI_SECONDS, default 20 s per harness) finds nothing. Longer runs: `npm run fuzz` (FUZZ_SECONDS).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCompiled } from '../../policy/index.js';
import { needCommand } from '../support/capability.js';
import { ROOT } from '../support/guard.js';
import { egpSeeds, jsonSeeds } from './seeds.js';

const CORPUS = join(ROOT, 'native/fuzz/corpus');
const UPDATE = process.env.UPDATE_SEEDS === '1';
const ok = needCommand('clang');

function checkSeeds(dir: string, seeds: Map<string, Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of seeds) {
    const p = join(dir, name);
    if (UPDATE) writeFileSync(p, bytes);
    expect(existsSync(p), `${p} missing: run with UPDATE_SEEDS=1`).toBe(true);
    expect(Buffer.compare(readFileSync(p), Buffer.from(bytes)), `${p} differs from its generator`).toBe(0);
  }
}

describe('fuzz seed corpus', () => {
  it('egp seeds are the compiler output and load in the reference reader', () => {
    const seeds = egpSeeds();
    checkSeeds(join(CORPUS, 'egp'), seeds);
    for (const [name, bytes] of seeds) expect(() => loadCompiled(bytes), name).not.toThrow();
  });
  it('json seeds are the committed hostile strings', () => {
    checkSeeds(join(CORPUS, 'json'), jsonSeeds());
  });
});

describe.skipIf(!ok)('libFuzzer harnesses (ASan+UBSan)', () => {
  it('replay every seed and crash reproducer, then fuzz briefly without a finding', () => {
    const seconds = process.env.FUZZ_CI_SECONDS ?? '20';
    const r = spawnSync('make', ['-s', '-C', join(ROOT, 'native'), 'fuzz-ci', `FUZZ_CI_SECONDS=${seconds}`], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out).toBe(0);
    for (const f of ['egp', 'json']) {
      expect(out, out).toMatch(new RegExp(`fuzz-regress ${f}: \\d+ inputs ok`));
      expect(out, out).toMatch(new RegExp(`fuzz ${f}: corpus \\d+ files, exit 0`));
    }
    // the crash reproducers directory exists (possibly empty) so new ones have a home
    for (const f of ['egp', 'json']) expect(readdirSync(join(ROOT, 'native/fuzz/crashes', f))).toBeDefined();
  }, 900_000);
});
