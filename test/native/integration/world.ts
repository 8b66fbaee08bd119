/**
 * The world of the interposer integration tests: one network namespace per test file with servers on the addresses
 * that test/fixtures/integration/policy.yaml talks about, and probes (node/python) that run inside it under the guard.
 *
 * Addresses (all on the namespace's `lo`, except 10.98.0.1 on a veth whose peer namespace drops everything):
 *   10.77.0.1   good.test (allowed name)       http :8080, echo :7000, udp :9999
 *   10.77.0.2   evil.test (denied name), other.test (no rule), unknown.test/evil-dns.test via DNS   http, echo, udp
 *   10.77.0.3   allowed as an IP literal (rule `literal`, tcp/udp 8080, 9999)                  http, udp
 *   10.77.0.4   web.apps.test (wildcard allowed), bad.apps.test (explicitly denied)            http
 *   10.77.0.5   dns-only.test, only resolvable through the DNS server                          http
 *   169.254.77.9  the fake Lambda Runtime API (AWS_LAMBDA_RUNTIME_API=169.254.77.9:9001: the guard accepts it only on
 *               a loopback or link-local address, where Lambda puts it)                      http :9001
 *   169.254.77.2  a fake X-Ray daemon (link-local, as in Lambda)                                udp :9999
 *   10.77.0.53  DNS server (the namespace's resolv.conf nameserver)                           dns :53
 *   10.77.0.66  trap.test (allowed name, but inside the denied CIDR 10.77.0.64/26)            http
 *   fd00::77    good6.test                                                                 http :8080
 *   10.98.0.77  BLACKHOLE: routed over the veth; nothing answers, so an unguarded connect hangs
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  type GuardLog,
  type GuardResult,
  type GuardRunOptions,
  logsWhere,
  ROOT,
  runGuarded,
} from '../../support/guard.js';
import { Netns, type NetnsServer } from '../../support/netns.js';

export const POLICY = join(ROOT, 'test/fixtures/integration/policy.yaml');
export const NODE_PROBE = join(ROOT, 'test/fixtures/integration/probe.mjs');
export const PY_PROBE = join(ROOT, 'test/fixtures/integration/probe.py');
/** The real python executable (not a version-manager shim script, which would run bash under the guard first). */
export const PYTHON =
  spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim() || 'python3';
export const RUNTIME_API = '169.254.77.9:9001';
export const XRAY = '169.254.77.2:9999';
export const BLACKHOLE = '10.98.0.77';

export const HOSTS: Record<string, string | string[]> = {
  'good.test': '10.77.0.1',
  'evil.test': '10.77.0.2',
  'other.test': '10.77.0.2',
  'web.apps.test': '10.77.0.4',
  'bad.apps.test': '10.77.0.4',
  'trap.test': '10.77.0.66',
  'good6.test': 'fd00::77',
};

export const DNS_RECORDS: Record<string, string[]> = {
  'dns-only.test': ['10.77.0.5'],
  'unknown.test': ['10.77.0.2'],
  'evil-dns.test': ['10.77.0.2'],
};

export interface World {
  ns: Netns;
  sink: Netns;
  server: NetnsServer;
  destroy(): void;
}

const V4 = ['10.77.0.1', '10.77.0.2', '10.77.0.3', '10.77.0.4', '10.77.0.5', '10.77.0.53', '10.77.0.66'];
const LINK_LOCAL = ['169.254.77.9', '169.254.77.2'];

export async function createWorld(prefix: string): Promise<World> {
  const ns = Netns.create({
    prefix,
    addresses: [...V4.map((a) => `${a}/32`), ...LINK_LOCAL.map((a) => `${a}/32`), 'fd00::77/128'],
    hosts: HOSTS,
    resolvConf: 'nameserver 10.77.0.53\noptions timeout:1 attempts:1\n',
  });
  const sink = Netns.create({ prefix: `${prefix}sink` });
  try {
    // The peer namespace has no address on its end: packets to 10.98.0.0/24 leave over the veth and vanish
    // (ARP for them is never answered), so a connect there hangs — the guard must answer at once instead.
    Netns.link(ns, sink, { a: '10.98.0.1/24', b: '169.254.98.1/32' });
    const http = [...V4.filter((a) => a !== '10.77.0.53'), 'fd00::77'].map((host) => ({
      host,
      port: 8080,
    }));
    const server = await ns.startServer({
      http: [...http, { host: '169.254.77.9', port: 9001, body: 'runtime-api' }],
      echo: [
        { host: '10.77.0.1', port: 7000 },
        { host: '10.77.0.2', port: 7000 },
      ],
      udp: ['10.77.0.1', '10.77.0.2', '10.77.0.3', '169.254.77.2'].map((host) => ({ host, port: 9999 })),
      dns: [{ host: '10.77.0.53', port: 53, records: DNS_RECORDS }],
    });
    return {
      ns,
      sink,
      server,
      destroy() {
        ns.destroy();
        sink.destroy();
      },
    };
  } catch (e) {
    ns.destroy();
    sink.destroy();
    throw e;
  }
}

/** One probe operation's result line. */
export interface ProbeResult {
  op: string;
  ok: boolean;
  code?: string;
  errno?: number;
  status?: number;
  body?: string;
  echo?: string;
  reply?: string;
  addresses?: string[];
  ms: number;
}

export interface ProbeRun extends GuardResult {
  results: ProbeResult[];
}

type ProbeOpts = Omit<GuardRunOptions, 'cmd' | 'args'>;

function parseResults(r: GuardResult): ProbeRun {
  const results = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ProbeResult);
  return { ...r, results };
}

/** Runs the node probe with `ops` under the guard (policy.yaml unless `opts.policy` says otherwise). */
export async function nodeProbe(world: World, ops: object[], opts: ProbeOpts = {}): Promise<ProbeRun> {
  const r = await runGuarded({
    policy: POLICY,
    ns: world.ns,
    ...opts,
    cmd: process.execPath,
    args: [NODE_PROBE, JSON.stringify(ops)],
  });
  return parseResults(r);
}

export async function pyProbe(world: World, ops: object[], opts: ProbeOpts = {}): Promise<ProbeRun> {
  const r = await runGuarded({
    policy: POLICY,
    ns: world.ns,
    ...opts,
    cmd: PYTHON,
    args: [PY_PROBE, JSON.stringify(ops)],
  });
  return parseResults(r);
}

/** A clear failure message when a probe did not report one line per operation. */
export function explain(r: GuardResult): string {
  return `status=${r.status} signal=${r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nguard log:\n${r.logs
    .map((l) => JSON.stringify(l))
    .join('\n')}`;
}

/** The first log line with all of `fields`; fails the test, printing every line, when there is none. */
export function expectLog(logs: GuardLog[], fields: Partial<GuardLog>): GuardLog {
  const hit = logsWhere(logs, fields);
  expect(
    hit,
    `no guard log line with ${JSON.stringify(fields)} in:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`,
  ).not.toHaveLength(0);
  return hit[0] as GuardLog;
}
