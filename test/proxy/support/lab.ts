/**
 * The proxy-mode lab: one network namespace with the peers of test/fixtures/proxy/policy.yaml, a DNS server that
 * records every query (the witness that a denied name is never resolved), the real `egress-guard-proxy` listening on
 * the namespace's loopback, and clients run inside the namespace with HTTPS_PROXY/HTTP_PROXY pointing at it.
 *
 * API
 * - `await ProxyLab.create()` / `lab.destroy()`.
 * - `await lab.startProxy({ mode, env })` → a running proxy (its log is a private file; `proxy.logs()` parses it).
 * - `await lab.go(steps, env?)` → the Go client's PROXY lines by step (static Go: net/http and the AWS SDK v2).
 * - `await lab.raw(head)` → the status line the proxy answers to a hand-written request head (the attacker's tool).
 * - `lab.peer` (requests that arrived, with body byte counts), `lab.dns` (queries that arrived).
 * - `writeState(path, fields)` / `readState(path)`: the invoke state file v2 (docs/STATE.md), as the agent writes it
 *   at invoke start (thresholds, ARMED) and as the proxy leaves it (counters, trips); `patchState(path, fields)`
 *   changes fields in place, as the agent and the other guarded processes do on the live mapping.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  STATE_FIELD,
  STATE_FLAG_ARMED,
  STATE_FLAG_BUDGET_TRIPPED,
  STATE_FLAG_CONCURRENT,
  STATE_FLAG_IN_INVOKE,
  STATE_MAGIC,
  STATE_NO_LIMIT,
  STATE_SIZE,
  STATE_VERSION,
} from '../../../policy/gen/state.js';
import { compilePolicy, type GuardLog, ROOT, scratchDir } from '../../support/guard.js';
import { Netns, NetnsServer, runChild } from '../../support/netns.js';
import { buildGoClient } from './build.js';

export const PROXY_BIN = join(ROOT, 'native/build/egress-guard-proxy');
export const LISTEN = '127.0.0.1:9128';
export const PROXY_ENV = {
  HTTPS_PROXY: `http://${LISTEN}`,
  HTTP_PROXY: `http://${LISTEN}`,
  NO_PROXY: 'localhost,127.0.0.1,::1,169.254.79.129',
};
const PEER = join(ROOT, 'test/proxy/support/peer.mjs');
const RAW = join(ROOT, 'test/proxy/clients/raw.mjs');

export const ADDR = { allowed: '10.78.0.2', denied: '10.78.0.3', dns: '10.78.0.53' } as const;

export interface ClientLine {
  ok: boolean;
  what: string;
  detail: string;
}

export class ProxyProcess {
  constructor(
    readonly child: ReturnType<Netns['spawn']>,
    readonly logFile: string,
  ) {}

  logs(): GuardLog[] {
    if (!existsSync(this.logFile)) return [];
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as GuardLog);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

let logCounter = 0;

export class ProxyLab {
  private constructor(
    readonly ns: Netns,
    readonly peer: NetnsServer,
    readonly dns: NetnsServer,
    readonly policy: string,
    readonly goClient: string,
    readonly certFile: string,
  ) {}

  static async create(): Promise<ProxyLab> {
    const dir = scratchDir();
    const key = join(dir, 'peer.key');
    const cert = join(dir, 'peer.crt');
    const gen = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=allowed.proxy.test',
        '-addext',
        'subjectAltName=DNS:allowed.proxy.test,DNS:denied.proxy.test',
      ],
      { encoding: 'utf8' },
    );
    if (gen.status !== 0) throw new Error(`openssl: ${gen.stderr}`);
    const ns = Netns.create({
      prefix: 'egpx',
      addresses: [`${ADDR.allowed}/32`, `${ADDR.denied}/32`, `${ADDR.dns}/32`],
      hosts: {
        'allowed.proxy.test': ADDR.allowed,
        's3.proxy.test': ADDR.allowed,
        'denied.proxy.test': ADDR.denied,
        'rebind.proxy.test': ADDR.denied,
      },
      // a search domain: the proxy must never query a decided name with it appended
      resolvConf: `nameserver ${ADDR.dns}\nsearch corp.example\noptions timeout:1 attempts:1\n`,
    });
    try {
      const spec = {
        http: [
          { host: ADDR.allowed, port: 8080 },
          { host: ADDR.denied, port: 8080 },
        ],
        https: [
          { host: ADDR.allowed, port: 8443, key, cert },
          { host: ADDR.denied, port: 8443, key, cert },
        ],
      };
      const peer = await NetnsServer.attach(ns.spawn(process.execPath, [PEER, JSON.stringify(spec)]));
      const dns = await ns.startServer({
        dns: [{ host: ADDR.dns, port: 53, records: { 'secret.proxy.test': [ADDR.allowed] } }],
      });
      const policy = await compilePolicy('test/fixtures/proxy/policy.yaml');
      return new ProxyLab(ns, peer, dns, policy, await buildGoClient(), cert);
    } catch (e) {
      ns.destroy();
      throw e;
    }
  }

  /** Starts the proxy inside the namespace and waits for its `proxy` ready line. */
  async startProxy(o: { mode?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<ProxyProcess> {
    const logFile = join(scratchDir(), `proxy-${++logCounter}.log`);
    const env: Record<string, string> = {
      EGRESS_GUARD_POLICY: this.policy,
      EGRESS_GUARD_LOG: logFile,
      ...(o.mode ? { EGRESS_GUARD_MODE: o.mode } : {}),
      ...(o.env ?? {}),
    };
    const assigns = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const child = this.ns.spawn('env', ['-i', `PATH=${process.env.PATH}`, ...assigns, PROXY_BIN, ...(o.args ?? [])]);
    const proxy = new ProxyProcess(child, logFile);
    for (let i = 0; i < 200; i++) {
      if (proxy.logs().some((l) => l.event === 'proxy')) return proxy;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`egress-guard-proxy did not start: ${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
  }

  /** Runs the Go client inside the namespace with the proxy variables set; returns its lines by step. */
  async go(steps: Record<string, string>, env: Record<string, string> = {}): Promise<Map<string, ClientLine>> {
    const args = Object.entries(steps).map(([k, v]) => `${k}=${v}`);
    const assigns = Object.entries({ ...PROXY_ENV, SSL_CERT_FILE: this.certFile, ...env }).map(([k, v]) => `${k}=${v}`);
    const [cmd, argv] = this.ns.wrap('env', ['-i', ...assigns, this.goClient, ...args]);
    const r = await runChild(spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }), undefined, 120_000);
    const out = new Map<string, ClientLine>();
    for (const line of r.stdout.split('\n')) {
      const [tag, step, status, what, detail] = line.split('\t');
      if (tag === 'PROXY' && step !== undefined) {
        out.set(step, { ok: status === 'ok', what: what ?? '', detail: detail ?? '' });
      }
    }
    if (out.size !== Object.keys(steps).length) throw new Error(`go client: ${r.stdout}\n${r.stderr}`);
    return out;
  }

  /** Sends a hand-written request head to the proxy (one TCP connection); returns what came back. */
  async raw(head: string, pauseMs = 0): Promise<string> {
    const r = await this.ns.run(process.execPath, [RAW, LISTEN, Buffer.from(head).toString('base64'), String(pauseMs)]);
    return r.stdout;
  }

  /** Guard lines of a log file (e.g. the one a proxy started by the emulator writes). */
  logsOf(file: string): GuardLog[] {
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as GuardLog);
  }

  /** Requests that reached the peer whose path contains `token`. */
  arrived(token: string): { listener: string; method: string; path: string; bytes: number; complete: boolean }[] {
    return this.peer.events
      .filter((e) => e.kind === 'request' && String(e.path).includes(token))
      .map((e) => e as unknown as { listener: string; method: string; path: string; bytes: number; complete: boolean });
  }

  /** DNS queries the namespace's server received for names starting with `prefix`. */
  queried(prefix: string): string[] {
    return this.dns
      .of('dns')
      .map((e) => String(e.name))
      .filter((n) => n.startsWith(prefix));
  }

  destroy(): void {
    this.ns.destroy();
  }
}

/** The invoke state file v2 (docs/STATE.md; offsets from the generated contract, policy/gen/state.ts). */
const U64 = [
  'invoke_seq',
  'agent_pid',
  'io_rx',
  'io_tx',
  'rx_trip_at',
  'tx_trip_at',
  'total_trip_at',
  'n_allowed',
  'n_denied',
  'n_blocked',
  'n_cut',
] as const;
const U32 = ['flags', 'trip_gen', 'trip_budget'] as const;
export const FLAG = {
  IN_INVOKE: STATE_FLAG_IN_INVOKE,
  BUDGET_TRIPPED: STATE_FLAG_BUDGET_TRIPPED,
  CONCURRENT: STATE_FLAG_CONCURRENT,
  ARMED: STATE_FLAG_ARMED,
} as const;
export type StateFields = Partial<Record<(typeof U64)[number], bigint> & Record<(typeof U32)[number], number>> & {
  requestId?: string;
};

/** Each given field of `f` as [offset, bytes]: the one encoding of writeState and patchState. */
function encodeFields(f: StateFields): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (const k of [...U64, ...U32]) {
    const v = f[k];
    if (v === undefined) continue;
    const wide = typeof v === 'bigint';
    const b = Buffer.alloc(wide ? 8 : 4);
    if (wide) b.writeBigUInt64LE(v);
    else b.writeUInt32LE(v);
    out.push([STATE_FIELD[k].offset, b]);
  }
  return out;
}

/** Writes a fresh file as the agent does at invoke start (thresholds default to "not armed"). */
export function writeState(path: string, f: StateFields): void {
  const b = Buffer.alloc(STATE_SIZE);
  b.set(STATE_MAGIC, STATE_FIELD.magic.offset);
  b.writeUInt32LE(STATE_VERSION, STATE_FIELD.version.offset);
  b.writeUInt32LE(STATE_SIZE, STATE_FIELD.size.offset);
  for (const k of ['rx_trip_at', 'tx_trip_at', 'total_trip_at'] as const) {
    b.writeBigUInt64LE(STATE_NO_LIMIT, STATE_FIELD[k].offset);
  }
  for (const [off, bytes] of encodeFields(f)) b.set(bytes, off);
  if (f.requestId !== undefined) {
    b.writeUInt32LE(f.requestId.length, STATE_FIELD.request_id_len.offset);
    b.write(f.requestId, STATE_FIELD.request_id.offset, 'latin1');
  }
  writeFileSync(path, b, { mode: 0o600 });
}

/** Overwrites the given fields in place, as the agent does on its live mapping (same file, no truncation). */
export function patchState(path: string, f: StateFields): void {
  const fd = openSync(path, 'r+');
  try {
    for (const [off, bytes] of encodeFields(f)) writeSync(fd, bytes, 0, bytes.length, off);
  } finally {
    closeSync(fd);
  }
}

export function readState(path: string): Record<(typeof U64)[number] | (typeof U32)[number], bigint> {
  const b = readFileSync(path);
  const out = {} as Record<string, bigint>;
  for (const k of U64) out[k] = b.readBigUInt64LE(STATE_FIELD[k].offset);
  for (const k of U32) out[k] = BigInt(b.readUInt32LE(STATE_FIELD[k].offset));
  return out as Record<(typeof U64)[number] | (typeof U32)[number], bigint>;
}
