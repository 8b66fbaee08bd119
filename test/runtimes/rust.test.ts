/**
 * Runtime matrix: Rust with the real runtime interface client `lambda_runtime` (crates.io) on tokio, fetching with
 * reqwest/hyper, dynamically linked against glibc: a `provided.al2023` function, guarded the way such functions are
 * deployed — `LD_PRELOAD` and the policy set as function environment (the exec wrapper does not exist for OS-only
 * runtimes): the interposer loads into the bootstrap and starts the agent. The sequence and checks:
 * ./support/matrix.ts.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { need, needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import { buildRust, findCargo } from './support/build.js';
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

const ok = needNetns() && needLibrary() && needRie() && need('cargo', findCargo() !== undefined, 'no cargo');

describe.skipIf(!ok)('runtime matrix: Rust lambda_runtime (provided.al2023) under the emulator, LD_PRELOAD', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    lab = await openMatrix('rtrs', {
      bootstrap: ['$TASK/bootstrap'],
      task: { bootstrap: { from: (await buildRust()).bootstrap } },
      env: { LD_PRELOAD: LIB },
    });
    seq = await runSequence(lab);
  }, 1_500_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'rust',
        runtime: 'Rust',
        client: '`lambda_runtime` (tokio, reqwest), `LD_PRELOAD` as function env',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('meters every invoke, fails the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, 'rust lambda_runtime');
  });
});
