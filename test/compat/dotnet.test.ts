/**
 * Runtime compatibility: .NET — CoreCLR, the runtime Lambda's .NET functions run on (the version PyPI serves as
 * Microsoft's `dotnetcore2` wheel, unpacked by .ci/run; its C# clients compiled by ./support/build.ts with Mono's
 * compiler against the runtime's own assemblies). Clients: `HttpClient`, `Dns.GetHostAddresses`, `UdpClient.Send`.
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { needNetns } from '../support/capability.js';
import { needLibrary } from '../support/guard.js';
import { buildDotnet, CLIENTS, DOTNET_VERSION, findDotnet, needDotnet } from './support/build.js';
import { assertRun, BLOCKED_IP, BLOCKED_NAME, type ClientExpectation, WORKS } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, runAll, toRow } from './support/harness.js';
import { writeResults } from './support/results.js';
import { MODES } from './support/scenario.js';

const ok = needNetns() && needLibrary() && needDotnet();

const HTTP_STEPS = ['allowed', 'denied-name', 'denied-ip'] as const;

function specs(dll: string): ClientSpec[] {
  return [
    {
      client: 'HttpClient',
      api: '`System.Net.Http.HttpClient`',
      steps: [...HTTP_STEPS],
      how: 'Dns → System.Native → getaddrinfo; `connect` from System.Native',
    },
    {
      client: 'Dns',
      api: '`Dns.GetHostAddresses`',
      steps: ['allowed' as const, 'denied-name' as const],
      reach: 'answer' as const,
      how: 'getaddrinfo (System.Native)',
    },
    { client: 'UdpClient', api: '`UdpClient.Send`', steps: ['udp' as const], how: 'UDP `sendmsg` from System.Native' },
  ].map((s) => ({
    runtime: '.NET',
    version: DOTNET_VERSION.split('.').slice(0, 2).join('.'),
    cmd: findDotnet() as string,
    args: [dll, s.client.toLowerCase()],
    ...s,
  }));
}

const EXPECT: Record<string, ClientExpectation> = {
  HttpClient: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'HttpRequestException > SocketException[Name or service not known]' },
      'denied-ip': { ...BLOCKED_IP, sees: 'HttpRequestException > SocketException[Permission denied]' },
    },
  },
  Dns: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'ExtendedSocketException[Name or service not known]' },
    },
  },
  UdpClient: {
    allowLogged: false,
    steps: { udp: { ...BLOCKED_IP, sees: 'SocketException[Permission denied]' } },
  },
};

describe.skipIf(!ok)('compat: .NET', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;
  let SPECS: ClientSpec[] = [];

  beforeAll(async () => {
    SPECS = specs(buildDotnet('Compat', `${CLIENTS}/dotnet/Compat.cs`));
    lab = await CompatLab.open('egcdn');
    runs = await runAll(lab, SPECS, 3);
  }, 300_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size)
      writeResults(
        'dotnet',
        SPECS.map((s) => toRow(s, runs)),
        [],
      );
  });

  for (const client of Object.keys(EXPECT)) {
    for (const mode of MODES) {
      it(`${client} [${mode}]`, () => {
        assertRun(runs.get(`${client}/${mode}`), EXPECT[client] as ClientExpectation, mode);
      });
    }
  }
});
