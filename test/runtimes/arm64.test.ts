/**
 * Runtime matrix: arm64 (Graviton) — the aarch64 layer (the cross-built interposer and metering agent, staged from
 * the same layer file list as the zip) guarding a plain-sockets `provided.al2023` runtime loop
 * (./functions/sockets/bootstrap.c, cross-built with aarch64-linux-gnu-gcc), every aarch64 program run under
 * qemu-aarch64 with Debian's aarch64 glibc, under the real Lambda Runtime Interface Emulator. The sequence and checks:
 * ./support/matrix.ts, the same as every other runtime's.
 *
 * qemu-user runs one foreign program; without binfmt_misc (not available in this machine's kind of container) the
 * kernel cannot exec an aarch64 program itself, so the two aarch64 programs are started through qemu explicitly: the
 * runtime by the bootstrap command, the agent through EGRESS_GUARD_AGENT (an absolute path the interposer spawns,
 * docs/METERING.md "How the agent starts") naming a two-line script that runs the layer's aarch64 agent under qemu
 * with the listening socket and arguments the interposer gave it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need, needCommand, needNetns } from '../support/capability.js';
import { ROOT, scratchDir } from '../support/guard.js';
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

const SYSROOT = '/usr/aarch64-linux-gnu';
/** by absolute path: the emulator looks its bootstrap up in the function's PATH, not the test's */
const QEMU = ['/usr/bin/qemu-aarch64-static', '/usr/local/bin/qemu-aarch64-static'].find(
  (q) => spawnSync(q, ['--version']).status === 0,
);

const ok =
  needNetns() &&
  needRie() &&
  needCommand('aarch64-linux-gnu-gcc') &&
  need('qemu-aarch64-static', QEMU !== undefined, 'qemu-user-static is not installed');

describe.skipIf(!ok)('runtime matrix: arm64 layer, plain-sockets runtime loop under qemu-aarch64, emulator', () => {
  let lab: MatrixLab;
  let seq: Sequence;
  beforeAll(async () => {
    const out = join(mkdtempSync(join(scratchDir(), 'arm64-')), 'bootstrap');
    const src = join(ROOT, 'test/runtimes/functions/sockets/bootstrap.c');
    const cc = spawnSync('aarch64-linux-gnu-gcc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, src], {
      encoding: 'utf8',
    });
    expect(cc.status, cc.stderr).toBe(0);
    expect(spawnSync('file', ['-b', out], { encoding: 'utf8' }).stdout).toMatch(/ARM aarch64/);
    lab = await openMatrix('rta', {
      arch: 'arm64',
      bootstrap: [QEMU as string, '-L', SYSROOT, '$TASK/bootstrap'],
      task: {
        bootstrap: { from: out },
        'agent-aarch64': {
          text: `#!/bin/sh\nexec ${QEMU} -L ${SYSROOT} /opt/egress-guard/bin/egress-guard-agent "$@"\n`,
          mode: 0o755,
        },
      },
      // qemu-user is static, so LD_PRELOAD (the aarch64 library) reaches the aarch64 program's own loader only
      env: { LD_PRELOAD: LIB, EGRESS_GUARD_AGENT: '$TASK/agent-aarch64' },
    });
    seq = await runSequence(lab);
  }, 300_000);
  afterAll(() => {
    if (lab && seq) {
      writeMatrixResult({
        file: 'arm64',
        runtime: 'arm64 (Graviton): the aarch64 layer',
        client: 'a plain-sockets Runtime API loop under qemu-aarch64, `LD_PRELOAD` as function env',
        checks: summarize(lab, seq),
      });
    }
    lab?.destroy();
  });

  it('the aarch64 interposer and agent meter every invoke, fail the one over budget, and the next one is clean', () => {
    checkSequence(lab, seq, 'arm64 plain-sockets runtime');
  });
});
