/**
 * Runtime compatibility: Ruby (Debian's `ruby`, installed by .ci/run). Clients: `Net::HTTP` and `UDPSocket#send`.
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import { CLIENTS } from './support/build.js';
import { assertRun, type ClientExpectation } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, runAll, toRow } from './support/harness.js';
import { writeResults } from './support/results.js';
import { MODES } from './support/scenario.js';

const ok = needNetns() && needLibrary() && needCommand('ruby');
const version = ok
  ? spawnSync('ruby', ['-e', 'print RUBY_VERSION.split(".")[0, 2].join(".")'], { encoding: 'utf8' }).stdout
  : '?';

const SPECS: ClientSpec[] = [
  {
    client: 'Net::HTTP',
    file: 'net_http.rb',
    api: '`Net::HTTP`',
    steps: ['allowed' as const, 'denied-name' as const, 'denied-ip' as const],
    how: 'TCPSocket → libc getaddrinfo; `connect`',
  },
  { client: 'UDPSocket', file: 'udp_socket.rb', api: '`UDPSocket#send`', steps: ['udp' as const], how: 'UDP `sendto`' },
].map(({ file, ...s }) => ({ runtime: 'Ruby', version, cmd: 'ruby', args: [join(CLIENTS, 'ruby', file)], ...s }));

const EXPECT: Record<string, ClientExpectation> = {
  'Net::HTTP': {
    allowLogged: true,
    steps: {
      allowed: { audit: 'works', enforce: 'works' },
      'denied-name': { audit: 'logged', enforce: 'blocked', errno: 'EAI_NONAME', sees: 'SocketError' },
      'denied-ip': { audit: 'logged', enforce: 'blocked', errno: 'EACCES', sees: 'Errno::EACCES' },
    },
  },
  UDPSocket: {
    allowLogged: false,
    steps: { udp: { audit: 'logged', enforce: 'blocked', errno: 'EACCES', sees: 'Errno::EACCES' } },
  },
};

describe.skipIf(!ok)('compat: Ruby', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;

  beforeAll(async () => {
    lab = await CompatLab.open('egcrb');
    runs = await runAll(lab, SPECS, 4);
  }, 240_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size)
      writeResults(
        'ruby',
        SPECS.map((s) => toRow(s, runs)),
        [],
      );
  });

  for (const spec of SPECS) {
    for (const mode of MODES) {
      it(`${spec.client} [${mode}]`, () => {
        assertRun(runs.get(`${spec.client}/${mode}`), EXPECT[spec.client] as ClientExpectation, mode);
      });
    }
  }
});
