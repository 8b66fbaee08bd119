/**
 * Runtime matrix: Go in proxy mode — a static Go program (aws-lambda-go, net/http; `CGO_ENABLED=0`: LD_PRELOAD can never
 * load into it) deployed as docs/PROXY.md says: the proxy-mode layer's extension, HTTPS_PROXY/HTTP_PROXY, and a
 * one-line `bootstrap` script that execs the program with `LD_PRELOAD` set (the guarded shell starts the agent and
 * hands the program the agent's Runtime API address, so invokes are metered and budgets can fail them). The
 * program's egress goes through the proxy, which decides it and counts it. The sequence and checks:
 * ./support/matrix.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoClient } from '../proxy/support/build.js';
import { PROXY_ENV } from '../proxy/support/lab.js';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import {
  checkSequence,
  guardLines,
  LIB,
  type MatrixLab,
  openMatrix,
  runSequence,
  type Sequence,
  summarize,
} from './support/matrix.js';
import { writeMatrixResult } from './support/results.js';
import { needRie } from './support/rie.js';

const ok = needNetns() && needLibrary() && needRie() && needCommand('go', 'version');

describe.skipIf(!ok)('runtime matrix: static Go (aws-lambda-go) in proxy mode under the emulator', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    lab = await openMatrix('rtgo', {
      bootstrap: ['$TASK/bootstrap'],
      task: {
        app: { from: await buildGoClient() },
        bootstrap: { text: '#!/bin/sh\nexec "$LAMBDA_TASK_ROOT/app" "$@"\n', mode: 0o755 },
      },
      env: { ...PROXY_ENV, LD_PRELOAD: LIB },
      proxyExtension: true,
    });
    seq = await runSequence(lab);
  }, 600_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'go',
        runtime: 'Go',
        client: '`aws-lambda-go`, static, proxy mode (bootstrap script + `LD_PRELOAD`)',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('meters every invoke, fails the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, 'go proxy mode');
  });

  it('its egress went through the proxy: the probes were refused there, and the start line says what is covered', () => {
    const lines = guardLines(lab);
    const probes = lines.filter((l) => l.blocked === true && l.ip === '10.201.0.9');
    expect(probes.map((l) => l.call)).toEqual(['proxy-http', 'proxy-http']);
    expect(lines.filter((l) => l.event === 'proxy')).toEqual([
      expect.objectContaining({ bootstrapKind: 'script', covers: 'proxy+libc' }),
    ]);
    // the guarded shell reports the static program it execs
    expect(lines.filter((l) => l.event === 'uncovered')).toEqual([expect.objectContaining({ reason: 'static' })]);
  });
});
