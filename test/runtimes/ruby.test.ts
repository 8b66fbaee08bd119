/**
 * Runtime matrix: Ruby (Debian's ruby) with a minimal Runtime API loop (./functions/ruby/runtime.rb; no runtime
 * interface client gem: RubyGems is not reachable from this project's machines), started through the exec wrapper
 * like a managed runtime. The sequence and checks: ./support/matrix.ts.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary, ROOT } from '../support/guard.js';
import { checkSequence, type MatrixLab, openMatrix, runSequence, type Sequence, summarize } from './support/matrix.js';
import { writeMatrixResult } from './support/results.js';
import { needRie } from './support/rie.js';

const ok = needNetns() && needLibrary() && needRie() && needCommand('ruby');

describe.skipIf(!ok)('runtime matrix: Ruby (a minimal runtime loop) under the emulator, exec wrapper', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    lab = await openMatrix('rtrb', {
      bootstrap: ['/opt/egress-guard/wrapper', 'ruby', '$TASK/runtime.rb'],
      task: { 'runtime.rb': { from: join(ROOT, 'test/runtimes/functions/ruby/runtime.rb') } },
    });
    seq = await runSequence(lab);
  }, 300_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'ruby',
        runtime: 'Ruby',
        client: 'a minimal Runtime API loop, exec wrapper',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('meters every invoke, fails the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, 'ruby runtime loop');
  });
});
