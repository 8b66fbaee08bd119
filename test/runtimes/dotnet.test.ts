/**
 * Runtime matrix: .NET (CoreCLR, the runtime Lambda's .NET functions run on; see test/compat/dotnet.test.ts for where
 * it comes from) with a minimal Runtime API loop in C# (./functions/dotnet/Runtime.cs; no runtime interface client:
 * NuGet is not reachable from this project's machines), started through the exec wrapper like a managed runtime. The
 * sequence and checks: ./support/matrix.ts.
 */
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { buildDotnet, findDotnet, needDotnet } from '../compat/support/build.js';
import { needNetns } from '../support/capability.js';
import { needLibrary, ROOT } from '../support/guard.js';
import { checkSequence, type MatrixLab, openMatrix, runSequence, type Sequence, summarize } from './support/matrix.js';
import { writeMatrixResult } from './support/results.js';
import { needRie } from './support/rie.js';

const ok = needNetns() && needLibrary() && needRie() && needDotnet();

describe.skipIf(!ok)('runtime matrix: .NET (a minimal C# runtime loop) under the emulator, exec wrapper', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    const dll = buildDotnet('Runtime', join(ROOT, 'test/runtimes/functions/dotnet/Runtime.cs'));
    lab = await openMatrix('rtdn', {
      bootstrap: ['/opt/egress-guard/wrapper', findDotnet() as string, '$TASK/Runtime.dll'],
      task: {
        'Runtime.dll': { from: dll },
        'Runtime.runtimeconfig.json': { from: join(dirname(dll), 'Runtime.runtimeconfig.json') },
      },
    });
    seq = await runSequence(lab);
  }, 300_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'dotnet',
        runtime: '.NET',
        client: 'a minimal C# Runtime API loop (`HttpClient`), exec wrapper',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('meters every invoke, fails the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, '.NET runtime loop');
  });
});
