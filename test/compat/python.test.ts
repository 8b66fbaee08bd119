/**
 * Runtime compatibility: Python 3 (the `python3` on PATH). Clients: `urllib.request`, `http.client`, `socket`
 * (TCP and UDP `sendto`) and `requests` (PyPI; installed by .ci/run).
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { need, needCommand, needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import { CLIENTS } from './support/build.js';
import { assertRun, BLOCKED_IP, BLOCKED_NAME, type ClientExpectation, WORKS } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, runAll, toRow } from './support/harness.js';
import { writeResults } from './support/results.js';
import { MODES } from './support/scenario.js';

/** The real interpreter behind `python3` (a pyenv shim is a bash script: run the interpreter itself). */
function python(): { exe: string; version: string; requests: boolean } | undefined {
  const r = spawnSync(
    'python3',
    [
      '-c',
      'import sys,importlib.util as u;print(sys.executable);print("%d.%d"%sys.version_info[:2]);print(bool(u.find_spec("requests")))',
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (r.status !== 0) return undefined;
  const [exe, version, requests] = r.stdout.trim().split('\n');
  return { exe: exe as string, version: version as string, requests: requests === 'True' };
}

const py = needCommand('python3') ? python() : undefined;
const ok =
  needNetns() &&
  needLibrary() &&
  py !== undefined &&
  need('python requests', py.requests, '`import requests` failed (.ci/run installs it with pip)');
const HTTP_STEPS = ['allowed', 'denied-name', 'denied-ip'] as const;
const VIA_LIBC = '`socket.getaddrinfo` → libc getaddrinfo; `connect`';

const SPECS: ClientSpec[] = [
  {
    client: 'urllib',
    file: 'urllib_client.py',
    api: '`urllib.request.urlopen`',
    steps: [...HTTP_STEPS],
    how: VIA_LIBC,
  },
  { client: 'http.client', file: 'http_client.py', api: '`http.client`', steps: [...HTTP_STEPS], how: VIA_LIBC },
  {
    client: 'socket',
    file: 'socket_client.py',
    api: '`socket` (`create_connection`, `sendto`)',
    steps: [...HTTP_STEPS, 'udp' as const],
    how: `${VIA_LIBC}; UDP \`sendto\``,
  },
  {
    client: 'requests',
    file: 'requests_client.py',
    api: '`requests` (urllib3)',
    steps: [...HTTP_STEPS],
    how: VIA_LIBC,
  },
].map(({ file, ...s }) => ({
  runtime: 'Python',
  version: py?.version ?? '?',
  cmd: py?.exe ?? 'python3',
  args: [join(CLIENTS, 'python', file)],
  env: { PYTHONDONTWRITEBYTECODE: '1' },
  ...s,
}));

const EXPECT: Record<string, ClientExpectation> = {
  urllib: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'URLError > gaierror[EAI_NONAME]' },
      'denied-ip': { ...BLOCKED_IP, sees: 'URLError > PermissionError[EACCES]' },
    },
  },
  'http.client': {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'gaierror[EAI_NONAME]' },
      'denied-ip': { ...BLOCKED_IP, sees: 'PermissionError[EACCES]' },
    },
  },
  socket: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'gaierror[EAI_NONAME]' },
      'denied-ip': { ...BLOCKED_IP, sees: 'PermissionError[EACCES]' },
      udp: { ...BLOCKED_IP, sees: 'PermissionError[EACCES]' },
    },
  },
  requests: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': {
        ...BLOCKED_NAME,
        sees: 'ConnectionError > MaxRetryError > NameResolutionError > gaierror[EAI_NONAME]',
      },
      'denied-ip': {
        ...BLOCKED_IP,
        sees: 'ConnectionError > MaxRetryError > NewConnectionError > PermissionError[EACCES]',
      },
    },
  },
};

describe.skipIf(!ok)('compat: Python', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;

  beforeAll(async () => {
    lab = await CompatLab.open('egcpy');
    runs = await runAll(lab, SPECS, 4);
  }, 240_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size)
      writeResults(
        'python',
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
