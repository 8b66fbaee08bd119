/**
 * Runtime compatibility: C (test/compat/clients/c/compat.c) with Debian's libcurl — the stack of most C and C++
 * Lambda functions that speak HTTP (libcurl's threaded resolver calls getaddrinfo, then `connect`) — and a plain
 * `sendto` for UDP. Built with the machine's `cc` against `libcurl4-openssl-dev` (installed by `.ci/run`).
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { need, needNetns } from '../support/capability.js';
import { needBin, needLibrary } from '../support/guard.js';
import { CLIENTS } from './support/build.js';
import { assertRun, type ClientExpectation } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, runAll, toRow } from './support/harness.js';
import { writeResults } from './support/results.js';
import { MODES, STEPS } from './support/scenario.js';

const SRC = join(CLIENTS, 'c/compat.c');
const curlVersion = spawnSync('curl-config', ['--version'], { encoding: 'utf8' });
const ok =
  needNetns() &&
  needLibrary() &&
  needBin() &&
  need('libcurl headers (libcurl4-openssl-dev)', curlVersion.status === 0, '`curl-config --version` did not run');
const version = /libcurl (\d+\.\d+)/.exec(curlVersion.stdout ?? '')?.[1] ?? '?';

/** Compiles the client once per source and compiler, into the build cache the other compat clients use. */
function build(): string {
  const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' }).stdout;
  const hash = createHash('sha256')
    .update(readFileSync(SRC, 'utf8') + cc + curlVersion.stdout)
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), 'egress-guard-compat-build');
  const out = join(dir, `compat-c-libcurl-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('cc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', `${out}.tmp`, SRC, '-lcurl'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`cc compat.c failed: ${r.stderr}`);
  renameSync(`${out}.tmp`, out);
  return out;
}

const EXPECT: ClientExpectation = {
  allowLogged: true,
  steps: {
    allowed: { audit: 'works', enforce: 'works' },
    'denied-name': { audit: 'logged', enforce: 'blocked', errno: 'EAI_NONAME', sees: 'CURLE_COULDNT_RESOLVE_HOST' },
    'denied-ip': { audit: 'logged', enforce: 'blocked', errno: 'EACCES', sees: 'CURLE_COULDNT_CONNECT[EACCES]' },
    udp: { audit: 'logged', enforce: 'blocked', errno: 'EACCES', sees: 'EACCES' },
  },
};

describe.skipIf(!ok)('compat: C (libcurl)', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;
  let SPECS: ClientSpec[] = [];

  beforeAll(async () => {
    SPECS = [
      {
        runtime: 'C',
        version: `libcurl ${version}`,
        client: 'libcurl',
        api: 'libcurl easy interface (`curl_easy_perform`), `sendto`',
        steps: [...STEPS],
        cmd: build(),
        args: [],
        how: "libcurl's threaded resolver → getaddrinfo; `connect`; UDP `sendto`",
      },
    ];
    lab = await CompatLab.open('egcc');
    runs = await runAll(lab, SPECS, 2);
  }, 300_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size)
      writeResults(
        'c',
        SPECS.map((s) => toRow(s, runs)),
        [],
      );
  });

  for (const mode of MODES) {
    it(`libcurl [${mode}]`, () => {
      assertRun(runs.get(`libcurl/${mode}`), EXPECT, mode);
    });
  }
});
