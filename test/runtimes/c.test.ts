/**
 * Runtime matrix: C — a `provided.al2023` custom runtime over libcurl (./functions/c/bootstrap.c, compiled with the
 * machine's cc against Debian's libcurl), guarded by `LD_PRELOAD` set as function environment, under the real Lambda
 * Runtime Interface Emulator. The sequence and checks: ./support/matrix.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needNetns } from '../support/capability.js';
import { needLibrary, ROOT, scratchDir } from '../support/guard.js';
import {
  checkSequence,
  LIB,
  type MatrixLab,
  openMatrix,
  runSequence,
  type Sequence,
  summarize,
} from './support/matrix.js';
import { writeMatrixResult } from './support/results.js';
import { needRie } from './support/rie.js';

const ok =
  needNetns() &&
  needLibrary() &&
  needRie() &&
  need(
    'libcurl headers (libcurl4-openssl-dev)',
    spawnSync('curl-config', ['--version']).status === 0,
    'no curl-config',
  );

describe.skipIf(!ok)('runtime matrix: C (libcurl runtime loop, provided.al2023) under the emulator, LD_PRELOAD', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    const out = join(mkdtempSync(join(scratchDir(), 'c-')), 'bootstrap');
    const src = join(ROOT, 'test/runtimes/functions/c/bootstrap.c');
    const cc = spawnSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, src, '-lcurl'], {
      encoding: 'utf8',
    });
    expect(cc.status, cc.stderr).toBe(0);
    lab = await openMatrix('rtc', {
      bootstrap: ['$TASK/bootstrap'],
      task: { bootstrap: { from: out } },
      env: { LD_PRELOAD: LIB },
    });
    seq = await runSequence(lab);
  }, 300_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'c',
        runtime: 'C',
        client: 'a libcurl Runtime API loop, `LD_PRELOAD` as function env',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('meters every invoke, fails the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, 'c libcurl runtime');
  });
});
