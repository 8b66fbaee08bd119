/**
 * Runtime matrix: Node.js with the real runtime interface client `aws-lambda-ric` (npm; installed by `.ci/run` into
 * the tools cache with its prebuilt native addon — it declares Node ≥ 22 but runs on this machine's Node 20),
 * started the container-image way (`aws-lambda-ric app.handler`) through the exec wrapper, under the real Lambda
 * Runtime Interface Emulator. The sequence and checks: ./support/matrix.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { need, needNetns } from '../support/capability.js';
import { needLibrary, ROOT } from '../support/guard.js';
import { TOOLS } from './support/build.js';
import { checkSequence, type MatrixLab, openMatrix, runSequence, type Sequence, summarize } from './support/matrix.js';
import { writeMatrixResult } from './support/results.js';
import { needRie } from './support/rie.js';

const RIC = join(TOOLS, 'node-ric/node_modules/aws-lambda-ric/index.mjs');
const ok =
  needNetns() &&
  needLibrary() &&
  needRie() &&
  need('aws-lambda-ric (npm)', existsSync(RIC), `${RIC} is missing: .ci/run installs it`);

describe.skipIf(!ok)('runtime matrix: Node.js aws-lambda-ric under the emulator, exec wrapper', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    lab = await openMatrix('rtnd', {
      bootstrap: ['/opt/egress-guard/wrapper', process.execPath, RIC, 'app.handler'],
      task: { 'app.mjs': { from: join(ROOT, 'test/runtimes/functions/node/app.mjs') } },
      env: { _HANDLER: 'app.handler' },
    });
    seq = await runSequence(lab);
  }, 300_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'node',
        runtime: 'Node.js',
        client: '`aws-lambda-ric` (handler on argv), exec wrapper',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('meters every invoke, fails the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, 'node aws-lambda-ric');
  });
});
