/**
 * Runtime compatibility: Java (the JDK's `java`/`javac` on PATH; compiled once per run by ./support/build.ts).
 * Clients: `java.net.http.HttpClient`, `HttpURLConnection`, `InetAddress` and `DatagramSocket` (UDP).
 * The JVM caches lookups (30 s positive, 10 s negative by default): a repeated lookup is answered by the JVM without
 * calling getaddrinfo, so the guard logs it once — measured below.
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needCommand, needNetns } from '../support/capability.js';
import { logsWhere, needLibrary, ROOT } from '../support/guard.js';
import { buildJava } from './support/build.js';
import { assertRun, BLOCKED_IP, BLOCKED_NAME, type ClientExpectation, WORKS } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, runAll, toRow } from './support/harness.js';
import { type ResultFact, writeResults } from './support/results.js';
import { DENIED_NAME, HTTP_PORT, MODES } from './support/scenario.js';
import { parseClientOutput } from './support/verdict.js';

const ok = needNetns() && needLibrary() && needCommand('java', '-version') && needCommand('javac', '-version');

function javaVersion(): string {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 20_000 });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr);
  return m ? `${m[1]}.${m[2] ?? '0'}` : '?';
}

// Fast JVM start for short-lived clients; nothing here changes networking.
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];
const HTTP_STEPS = ['allowed', 'denied-name', 'denied-ip'] as const;
const VIA = "InetAddress → getaddrinfo (cached by the JVM); `connect` from the JDK's native code";

function specs(classDir: string, version: string): ClientSpec[] {
  return [
    { client: 'HttpClient', api: '`java.net.http.HttpClient`', steps: [...HTTP_STEPS], how: VIA },
    { client: 'URLConnection', api: '`HttpURLConnection`', steps: [...HTTP_STEPS], how: VIA },
    {
      client: 'InetAddress',
      api: '`InetAddress.getAllByName`',
      steps: ['allowed' as const, 'denied-name' as const],
      reach: 'answer' as const,
      how: 'getaddrinfo (the JVM caches answers: 30 s, failures 10 s)',
    },
    {
      client: 'DatagramSocket',
      api: '`DatagramSocket.send`',
      steps: ['udp' as const],
      how: 'UDP `sendto` from the JDK',
    },
  ].map((s) => ({
    runtime: 'Java',
    version,
    cmd: 'java',
    args: [...JVM_FLAGS, '-cp', classDir, 'Compat', s.client.toLowerCase()],
    ...s,
  }));
}

const EXPECT: Record<string, ClientExpectation> = {
  HttpClient: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'ConnectException > ConnectException > UnresolvedAddressException' },
      // The JDK maps a connect() EACCES to BindException (java.base Net.c handleSocketError).
      'denied-ip': { ...BLOCKED_IP, sees: 'ConnectException > ConnectException > BindException[Permission denied]' },
    },
  },
  URLConnection: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'UnknownHostException[denied.compat.test]' },
      'denied-ip': { ...BLOCKED_IP, sees: 'BindException[Permission denied]' },
    },
  },
  InetAddress: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'UnknownHostException[denied.compat.test: Name or service not known]' },
    },
  },
  DatagramSocket: {
    allowLogged: false,
    steps: { udp: { ...BLOCKED_IP, sees: 'BindException[Permission denied]' } },
  },
};

describe.skipIf(!ok)('compat: Java', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;
  let SPECS: ClientSpec[] = [];
  const facts: ResultFact[] = [];

  beforeAll(async () => {
    SPECS = specs(buildJava(), javaVersion());
    lab = await CompatLab.open('egcjava');
    // JVMs are heavy for 2 cores: at most 3 at a time.
    runs = await runAll(lab, SPECS, 3);
  }, 300_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size)
      writeResults(
        'java',
        SPECS.map((s) => toRow(s, runs)),
        facts,
      );
  });

  for (const client of Object.keys(EXPECT)) {
    for (const mode of MODES) {
      it(`${client} [${mode}]`, () => {
        assertRun(runs.get(`${client}/${mode}`), EXPECT[client] as ClientExpectation, mode);
      });
    }
  }

  it('InetAddress: a repeated lookup of a denied name is answered from the JVM cache (one guard line, both fail)', async () => {
    const spec = SPECS.find((s) => s.client === 'InetAddress') as ClientSpec;
    const url = `http://${DENIED_NAME}:${HTTP_PORT}/`;
    const cached = await lab.runArgs(spec, 'enforce', [`first=${url}`, `second=${url}`]);
    const noCache = `-Djava.security.properties=${join(ROOT, 'test/fixtures/compat/java-no-negative-cache.security')}`;
    const uncachedSpec = { ...spec, args: [noCache, ...spec.args] };
    const uncached = await lab.runArgs(uncachedSpec, 'enforce', [`first=${url}`, `second=${url}`]);
    const ctx = JSON.stringify({ cached, uncached }, null, 1);
    for (const r of [cached, uncached]) {
      const out = parseClientOutput(r.stdout);
      expect(out.get('first')?.ok, ctx).toBe(false);
      expect(out.get('second')?.ok, ctx).toBe(false);
    }
    const lines = (r: typeof cached) => logsWhere(r.logs, { event: 'dns', host: DENIED_NAME, blocked: true }).length;
    expect(lines(cached), ctx).toBe(1);
    expect(lines(uncached), ctx).toBe(2);
    facts.push({
      id: 'java-inetaddress-cache',
      runtime: 'Java',
      title: "the JVM's lookup cache and the guard",
      outcome:
        "a denied name looked up twice fails twice, but the second failure comes from the JVM's negative cache " +
        '(10 s) without a getaddrinfo call, so enforce mode logs one blocked line, not two ' +
        '(with `networkaddress.cache.negative.ttl=0` in a `java.security` override it logs two)',
    });
  });
});
