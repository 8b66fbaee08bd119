/**
 * Runtime compatibility: Rust (the client of test/runtimes/functions/rust/src/bin/compat.rs, built with the runtime
 * matrix's function by test/runtimes/support/build.ts): reqwest on tokio (hyper; names through getaddrinfo on tokio's
 * blocking pool, `connect` through libc) and std's `UdpSocket::send_to`. Dynamically linked against glibc, so the
 * interposer is inside it: a `provided.al2023` function guarded by `LD_PRELOAD` set as function environment.
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRust, findCargo } from '../runtimes/support/build.js';
import { need, needNetns } from '../support/capability.js';
import { needBin, needLibrary } from '../support/guard.js';
import { isStaticElf } from './support/build.js';
import { assertRun, type ClientExpectation } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, runAll, toRow } from './support/harness.js';
import { writeResults } from './support/results.js';
import { MODES, STEPS } from './support/scenario.js';

const cargo = findCargo();
const ok = needNetns() && needLibrary() && needBin() && need('cargo', cargo !== undefined, 'no cargo');
const version = cargo
  ? (/rustc (\d+\.\d+)/.exec(spawnSync('rustc', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?')
  : '?';

const EXPECT: Record<string, ClientExpectation> = {
  reqwest: {
    allowLogged: true,
    steps: {
      allowed: { audit: 'works', enforce: 'works' },
      'denied-name': {
        audit: 'logged',
        enforce: 'blocked',
        errno: 'EAI_NONAME',
        sees: 'reqwest::Error(connect) > io::Error[failed to lookup address information: Name or service not known]',
      },
      'denied-ip': {
        audit: 'logged',
        enforce: 'blocked',
        errno: 'EACCES',
        sees: 'reqwest::Error(connect) > io::Error[EACCES]',
      },
      udp: { audit: 'logged', enforce: 'blocked', errno: 'EACCES', sees: 'io::Error[EACCES]' },
    },
  },
};

describe.skipIf(!ok)('compat: Rust', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;
  let bin = '';
  let SPECS: ClientSpec[] = [];

  beforeAll(async () => {
    bin = (await buildRust()).compat;
    SPECS = [
      {
        runtime: 'Rust',
        version,
        client: 'reqwest',
        api: '`reqwest` (hyper, tokio), `std::net::UdpSocket`',
        steps: [...STEPS],
        cmd: bin,
        args: [],
        how: 'names: getaddrinfo on tokio’s blocking pool; `connect` and UDP `sendto` through libc (glibc build)',
      },
    ];
    lab = await CompatLab.open('egcrs');
    runs = await runAll(lab, SPECS, 2);
  }, 1_500_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size)
      writeResults(
        'rust',
        SPECS.map((s) => toRow(s, runs)),
        [],
      );
  });

  it('the client is dynamically linked (the guard can load into it)', () => {
    expect(isStaticElf(bin)).toBe(false);
  });

  for (const mode of MODES) {
    it(`reqwest [${mode}]`, () => {
      assertRun(runs.get(`reqwest/${mode}`), EXPECT.reqwest as ClientExpectation, mode);
    });
  }
});
