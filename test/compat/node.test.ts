/**
 * Runtime compatibility: Node.js (the `node` running this suite). Clients: `fetch`, `http.get`, `net.connect`,
 * `dns.lookup`, `dns.resolve4` (c-ares: raw DNS to the namespace's nameserver) and `dgram` (UDP).
 * Scenario and verdicts: ./support/scenario.ts, ./support/verdict.ts; the table: docs/COMPATIBILITY.md.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needNetns } from '../support/capability.js';
import { compilePolicy, needLibrary } from '../support/guard.js';
import { CLIENTS } from './support/build.js';
import { assertRun, BLOCKED_IP, BLOCKED_NAME, type ClientExpectation, WORKS } from './support/expect.js';
import { type ClientRun, type ClientSpec, CompatLab, describeRun, runAll, stepOf, toRow } from './support/harness.js';
import { type ResultFact, writeResults } from './support/results.js';
import { DENIED_NAME, MODES, NAMESERVER_IP, POLICY_NAMESERVER_DENIED } from './support/scenario.js';

const ok = needNetns() && needLibrary();
const node = process.execPath;
const version = process.versions.node.split('.').slice(0, 2).join('.');
const client = (file: string) => join(CLIENTS, 'node', file);
const HTTP_STEPS = ['allowed', 'denied-name', 'denied-ip'] as const;
const VIA_LOOKUP = '`dns.lookup` → getaddrinfo on the libuv pool; libuv `connect`';

const SPECS: ClientSpec[] = [
  { client: 'fetch', api: '`fetch` (undici)', steps: [...HTTP_STEPS], how: VIA_LOOKUP },
  { client: 'http.get', api: '`http.get`', steps: [...HTTP_STEPS], how: VIA_LOOKUP },
  { client: 'net.connect', api: '`net.connect`', steps: [...HTTP_STEPS], how: VIA_LOOKUP },
  {
    client: 'dns.lookup',
    api: '`dns.lookup`',
    steps: ['allowed', 'denied-name'],
    reach: 'answer',
    how: 'getaddrinfo on the libuv pool',
  },
  { client: 'dgram', api: '`dgram` `send`', steps: ['udp'], how: 'libuv UDP send (sendmsg)' },
].map((s) => ({
  runtime: 'Node.js',
  version,
  cmd: node,
  args: [client(`${s.client.replace('.', '-')}.mjs`)],
  ...s,
})) as ClientSpec[];

const RESOLVE4: ClientSpec = {
  runtime: 'Node.js',
  version,
  client: 'dns.resolve4',
  api: '`dns.resolve4` (c-ares)',
  steps: ['allowed', 'denied-name'],
  reach: 'dns',
  cmd: node,
  args: [client('dns-resolve4.mjs')],
  how: 'c-ares: raw DNS over UDP to the resolv.conf nameserver; the guard parses the query name (`send(dns)`)',
};

const EXPECT: Record<string, ClientExpectation> = {
  fetch: {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'TypeError(cause: ENOTFOUND)' },
      'denied-ip': { ...BLOCKED_IP, sees: 'TypeError(cause: EACCES)' },
    },
  },
  'http.get': {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'ENOTFOUND' },
      'denied-ip': { ...BLOCKED_IP, sees: 'EACCES' },
    },
  },
  'net.connect': {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { ...BLOCKED_NAME, sees: 'ENOTFOUND' },
      'denied-ip': { ...BLOCKED_IP, sees: 'EACCES' },
    },
  },
  'dns.lookup': {
    allowLogged: true,
    steps: { allowed: WORKS, 'denied-name': { ...BLOCKED_NAME, sees: 'ENOTFOUND' } },
  },
  dgram: { allowLogged: false, steps: { udp: { ...BLOCKED_IP, sees: 'EACCES' } } },
  // c-ares sends its own DNS packets (send() on a UDP socket connected to the nameserver): the guard parses the query
  // name out of each datagram to port 53 and decides it like a getaddrinfo name (event `dns`, call `send(dns)`).
  'dns.resolve4': {
    allowLogged: true,
    steps: {
      allowed: WORKS,
      'denied-name': { audit: 'logged', enforce: 'blocked', errno: 'EACCES', sees: 'ECONNREFUSED' },
    },
  },
};

describe.skipIf(!ok)('compat: Node.js', () => {
  let lab: CompatLab;
  let runs: Map<string, ClientRun>;
  const facts: ResultFact[] = [];

  beforeAll(async () => {
    lab = await CompatLab.open('egcnode');
    runs = await runAll(lab, SPECS, 4);
    // Raw DNS runs one at a time: the DNS server's records are attributed to the run in progress.
    for (const mode of MODES) runs.set(`${RESOLVE4.client}/${mode}`, await lab.run(RESOLVE4, mode));
  }, 240_000);

  afterAll(() => {
    lab?.destroy();
    if (runs?.size) {
      writeResults(
        'node',
        [...SPECS, RESOLVE4].map((s) => toRow(s, runs)),
        facts.sort((a, b) => a.id.localeCompare(b.id)),
      );
    }
  });

  for (const spec of [...SPECS, RESOLVE4]) {
    for (const mode of MODES) {
      it(`${spec.client} [${mode}]`, () => {
        assertRun(runs.get(`${spec.client}/${mode}`), EXPECT[spec.client] as ClientExpectation, mode);
      });
    }
  }

  it('dns.resolve4: the query name inside the raw DNS packet is decided before it leaves', () => {
    const enforce = runs.get('dns.resolve4/enforce');
    const audit = runs.get('dns.resolve4/audit');
    const ctx = describeRun(enforce);
    const denied = stepOf(enforce, 'denied-name');
    // The DNS server's records (attributed to the run in progress) are the ground truth of what left the process.
    expect(denied.reached, ctx).toBe(false);
    expect(stepOf(audit, 'denied-name').reached, describeRun(audit)).toBe(true);
    const nameLines = denied.logs.filter((l) => l.host === DENIED_NAME && l.event === 'dns' && l.blocked === true);
    expect(nameLines.length > 0, ctx).toBe(true);
    expect(nameLines[0]?.call, ctx).toBe('send(dns)');
    // The nameserver is allowed by the policy, so its sends are not denied by destination.
    expect(
      enforce?.nameserverLogs.filter((l) => l.decision === 'deny'),
      ctx,
    ).toEqual([]);
    facts.push({
      id: 'node-resolve4-allowed-nameserver',
      runtime: 'Node.js',
      title: '`dns.resolve4` (c-ares) asking an allowed nameserver for a denied name, enforce mode',
      outcome:
        `the query never left the process (the DNS server did not receive \`${DENIED_NAME}\`): the guard parsed the ` +
        `name out of the packet and blocked \`${nameLines[0]?.call}\` (\`errno\` ${nameLines[0]?.errno}); the program ` +
        `saw \`${denied.program?.what}\``,
    });
  });

  it('dns.resolve4 then connect to the answer: the address is not bound to the allowed name', async () => {
    const spec: ClientSpec = {
      ...RESOLVE4,
      client: 'dns.resolve4-connect',
      steps: ['allowed'],
      reach: 'server',
      args: [client('dns-resolve4-connect.mjs')],
    };
    const enforce = await lab.run(spec, 'enforce');
    const ctx = describeRun(enforce);
    const step = stepOf(enforce, 'allowed');
    const line = step.logs.find((l) => l.event === 'connect');
    // The measured truth: c-ares' answer never reaches the guard's bindings, so the connect is decided by address
    // alone and the policy allows no address: blocked, although the name is allowed.
    expect(step.program?.ok, ctx).toBe(false);
    expect(step.program?.what, ctx).toBe('EACCES');
    expect(step.reached, ctx).toBe(false);
    expect(line?.decision, ctx).toBe('deny');
    expect(line?.rule, ctx).toBe('default');
    expect(line?.host, ctx).toBeUndefined();
    facts.push({
      id: 'node-resolve4-connect',
      runtime: 'Node.js',
      title: '`dns.resolve4` (c-ares) for an allowed name, then `http.get` to the returned address, enforce mode',
      outcome:
        'blocked (`EACCES`, rule `default`): only getaddrinfo-family lookups bind an address to its name, so traffic ' +
        'to an allowed name found through raw DNS is denied unless the policy also allows the address',
    });
  });

  it('dns.resolve4: a nameserver the policy does not allow is denied by destination', async () => {
    const policy = await compilePolicy(POLICY_NAMESERVER_DENIED);
    const before = lab.server.of('dns').length;
    const spec = { ...RESOLVE4, client: 'dns.resolve4-nsdenied' };
    const enforce = await lab.run(spec, 'enforce', { policy });
    const ctx = describeRun(enforce);
    const nsDenied = enforce.nameserverLogs.filter((l) => l.decision === 'deny' && l.blocked === true);
    expect(nsDenied.length > 0, ctx).toBe(true);
    expect(nsDenied[0]?.port, ctx).toBe(53);
    expect(nsDenied[0]?.proto, ctx).toBe('udp');
    expect(lab.server.of('dns').length, ctx).toBe(before);
    const allowed = stepOf(enforce, 'allowed');
    expect(allowed.program?.ok, ctx).toBe(false);
    const audit = await lab.run(spec, 'audit', { policy });
    const actx = describeRun(audit);
    expect(stepOf(audit, 'allowed').program?.ok, actx).toBe(true);
    expect(
      audit.nameserverLogs.some((l) => l.decision === 'deny' && l.blocked === false),
      actx,
    ).toBe(true);
    facts.push({
      id: 'node-resolve4-denied-nameserver',
      runtime: 'Node.js',
      title: '`dns.resolve4` (c-ares) when the policy does not allow the nameserver',
      outcome:
        `enforce: every query is blocked at \`${nsDenied[0]?.call}\` to ${NAMESERVER_IP}:53/udp ` +
        `(\`errno\` ${nsDenied[0]?.errno}); the program saw \`${allowed.program?.what}\`; audit: logged, answered`,
    });
  });
});
