/**
 * Runtime matrix: Java with the real runtime interface client `aws-lambda-java-runtime-interface-client` (Maven
 * Central; .ci/run copies it and its dependencies into the tools cache from ./functions/java/pom.xml), started the
 * container-image way (`java -cp … com.amazonaws.services.lambda.runtime.api.client.AWSLambda Handler::handleRequest`)
 * through the exec wrapper, under the real Lambda Runtime Interface Emulator. The handler (./functions/java) is
 * compiled with the machine's javac. The sequence and checks: ./support/matrix.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand, needNetns } from '../support/capability.js';
import { needLibrary, ROOT, scratchDir } from '../support/guard.js';
import { TOOLS } from './support/build.js';
import { checkSequence, type MatrixLab, openMatrix, runSequence, type Sequence, summarize } from './support/matrix.js';
import { writeMatrixResult } from './support/results.js';
import { needRie } from './support/rie.js';

const LIB = join(TOOLS, 'java-ric/lib');
const ok =
  needNetns() &&
  needLibrary() &&
  needRie() &&
  needCommand('javac', '-version') &&
  need(
    'aws-lambda-java-runtime-interface-client (Maven Central)',
    existsSync(LIB) && readdirSync(LIB).some((f) => f.startsWith('aws-lambda-java-runtime-interface-client-')),
    `${LIB} is missing: .ci/run copies it`,
  );

describe.skipIf(!ok)('runtime matrix: Java runtime interface client under the emulator, exec wrapper', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    const classes = mkdtempSync(join(scratchDir(), 'java-'));
    const cp = `${LIB}/*`;
    const javac = spawnSync(
      'javac',
      ['-cp', cp, '-d', classes, join(ROOT, 'test/runtimes/functions/java/Handler.java')],
      { encoding: 'utf8' },
    );
    expect(javac.status, javac.stderr).toBe(0);
    lab = await openMatrix('rtjv', {
      bootstrap: [
        '/opt/egress-guard/wrapper',
        'java',
        '-cp',
        `${cp}:${classes}`,
        'com.amazonaws.services.lambda.runtime.api.client.AWSLambda',
        'Handler::handleRequest',
      ],
    });
    seq = await runSequence(lab);
  }, 300_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'java',
        runtime: 'Java',
        client: '`aws-lambda-java-runtime-interface-client` (handler on argv), exec wrapper',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('meters every invoke, fails the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, 'java runtime interface client');
  });
});
