/**
 * Runtime matrix: Python with the real runtime interface client `awslambdaric` (PyPI), started the container-image
 * way (`python3 -m awslambdaric app.handler`, the handler on argv) through the exec wrapper, under the real Lambda
 * Runtime Interface Emulator. The sequence and its checks: ./support/matrix.ts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { need, needNetns } from '../support/capability.js';
import { needLibrary, ROOT } from '../support/guard.js';
import { checkSequence, type MatrixLab, openMatrix, runSequence, type Sequence, summarize } from './support/matrix.js';
import { writeMatrixResult } from './support/results.js';
import { needRie } from './support/rie.js';

const python = spawnSync('python3', ['-c', 'import awslambdaric, sys; print(sys.executable)'], { encoding: 'utf8' });
const ok =
  needNetns() &&
  needLibrary() &&
  needRie() &&
  need('awslambdaric (PyPI)', python.status === 0, 'python3 -c "import awslambdaric" failed: .ci/run installs it');

describe.skipIf(!ok)('runtime matrix: Python awslambdaric under the emulator, exec wrapper', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    lab = await openMatrix('rtpy', {
      bootstrap: ['/opt/egress-guard/wrapper', python.stdout.trim(), '-m', 'awslambdaric', 'app.handler'],
      task: { 'app.py': { from: join(ROOT, 'test/runtimes/functions/python/app.py') } },
    });
    seq = await runSequence(lab);
  }, 300_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'python',
        runtime: 'Python',
        client: '`awslambdaric` (handler on argv), exec wrapper',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('meters every invoke, fails the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, 'python awslambdaric');
  });
});
