/**
 * Network namespaces for tests: real traffic between real processes that never leaves the machine.
 *
 * Needs root (`needNetns()` from ./capability.ts gates it). Every namespace is named `<prefix>-<pid>-<counter>` so
 * parallel test files never collide, and is deleted by `destroy()` (call it in `afterAll`) or, as a safety net, when
 * the test process exits.
 *
 * API
 * - `Netns.create({ prefix?, addresses?, hosts?, resolvConf? })` → a namespace with `lo` up, every CIDR in `addresses`
 *   added to `lo` (e.g. `10.77.0.1/32`, `fd00::77/128`; this kernel has no dummy interfaces), a private hosts file
 *   (`/etc/netns/NAME/hosts`, which `ip netns exec` bind-mounts over `/etc/hosts`) holding `localhost` plus `hosts`,
 *   and a private resolv.conf (default: `nameserver 127.0.0.1`, one attempt, 1 s timeout — so a name missing from the
 *   hosts file goes to a DNS server *inside* the namespace, or fails at once when none runs: nothing leaves).
 * - `ns.name`, `ns.addresses` (the CIDRs), `ns.ips` (the bare addresses).
 * - `ns.setHosts(map)`, `ns.setResolvConf(text)`, `ns.setEtc(file, text)` (any other private file, e.g.
 *   `nsswitch.conf`), `ns.addAddress(cidr, dev = 'lo')`.
 * - `ns.wrap(cmd, args)` → `['ip', ['netns', 'exec', NAME, cmd, …args]]` for your own spawn.
 * - `ns.exec(cmd, args, opts?)` → `spawnSync` result (utf8) of the command run inside the namespace.
 * - `await ns.run(cmd, args, opts?)` → `{ status, signal, stdout, stderr }`, asynchronously (the event loop keeps running,
 *   so a server's events arrive while the command runs; prefer it to `exec` when a server is involved).
 * - `ns.spawn(cmd, args, opts?)` → a `ChildProcess` inside the namespace; killed (SIGKILL) by `destroy()`.
 * - `ns.startServer(spec)` → starts `netns-server.mjs` inside the namespace (HTTP, TCP echo, UDP sink, DNS) and
 *   resolves once every listener is up; see `NetnsServer` below for what it records.
 * - `Netns.link(a, b, { a: '10.200.0.1/24', b: '10.200.0.2/24' })` → a veth pair between two namespaces, both ends
 *   up, addressed as given; returns the interface names. Traffic over it crosses a non-`lo` interface (it shows in
 *   `/proc/net/dev` of each namespace), which the metering tests need.
 * - `ns.destroy()` → kills processes started through `spawn`/`startServer`, deletes the namespace (veth ends go with
 *   it) and `/etc/netns/NAME`. Idempotent; never throws.
 *
 * Note: `ip netns exec` execs the command in place (no extra fork), so the child's pid is the command's pid.
 */
import {
  type ChildProcess,
  type SpawnOptions,
  type SpawnSyncOptions,
  type SpawnSyncReturns,
  spawn,
  spawnSync,
} from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const NETNS_SERVER_SCRIPT = join(here, 'netns-server.mjs');

let counter = 0;
const live = new Set<Netns>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const ns of [...live]) ns.destroy();
  });
}

/** Runs `ip …` synchronously; throws with the command and its stderr on failure. */
function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) {
    throw new Error(`netns: \`ip ${args.join(' ')}\` failed (${r.status ?? r.signal}): ${r.stderr || r.error}`);
  }
  return r.stdout;
}

function bareIp(cidr: string): string {
  return cidr.split('/')[0] ?? cidr;
}

export interface NetnsOptions {
  /** Prefix of the namespace name (default `eg`); the name is `<prefix>-<pid>-<counter>`. */
  prefix?: string;
  /** CIDRs added to `lo`, e.g. `['10.77.0.1/32', 'fd00::77/128']`. */
  addresses?: string[];
  /** Private hosts file entries: name → address(es). `localhost` (127.0.0.1, ::1) is always present. */
  hosts?: Record<string, string | string[]>;
  /** Contents of the private resolv.conf. Default: `nameserver 127.0.0.1` with one 1-second attempt. */
  resolvConf?: string;
}

export interface LinkEnds {
  /** CIDR for the end inside namespace `a`, e.g. `10.200.0.1/24`. */
  a: string;
  /** CIDR for the end inside namespace `b`. */
  b: string;
}

export const DEFAULT_RESOLV_CONF = 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n';

export class Netns {
  readonly name: string;
  readonly addresses: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates the namespace (see the file header). Deletes whatever it created if any step fails. */
  static create(opts: NetnsOptions = {}): Netns {
    const name = `${opts.prefix ?? 'eg'}-${process.pid}-${++counter}`;
    ip(['netns', 'add', name]);
    const ns = new Netns(name);
    live.add(ns);
    installExitHook();
    try {
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
      for (const cidr of opts.addresses ?? []) ns.addAddress(cidr);
      ns.setHosts(opts.hosts ?? {});
      ns.setResolvConf(opts.resolvConf ?? DEFAULT_RESOLV_CONF);
    } catch (e) {
      ns.destroy();
      throw e;
    }
    return ns;
  }

  /** A veth pair between two namespaces, both ends up and addressed; returns the interface names. */
  static link(a: Netns, b: Netns, ends: LinkEnds): { devA: string; devB: string } {
    const n = ++counter;
    // IFNAMSIZ is 16: keep names short (the pair is created directly inside the two namespaces).
    const devA = `e${process.pid % 1_000_000}x${n}a`;
    const devB = `e${process.pid % 1_000_000}x${n}b`;
    ip(['link', 'add', devA, 'netns', a.name, 'type', 'veth', 'peer', 'name', devB, 'netns', b.name]);
    a.addAddress(ends.a, devA);
    b.addAddress(ends.b, devB);
    ip(['-n', a.name, 'link', 'set', devA, 'up']);
    ip(['-n', b.name, 'link', 'set', devB, 'up']);
    return { devA, devB };
  }

  /** Bare addresses of `addresses` (no prefix length). */
  get ips(): string[] {
    return this.addresses.map(bareIp);
  }

  get etcDir(): string {
    return `/etc/netns/${this.name}`;
  }

  addAddress(cidr: string, dev = 'lo'): void {
    // `nodad`: an IPv6 address is usable at once (no duplicate-address detection delay).
    const extra = cidr.includes(':') ? ['nodad'] : [];
    ip(['-n', this.name, 'addr', 'add', cidr, 'dev', dev, ...extra]);
    this.addresses.push(cidr);
  }

  /** Rewrites the private hosts file (bind-mounted over /etc/hosts for commands started after this call). */
  setHosts(hosts: Record<string, string | string[]>): void {
    const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost'];
    for (const [host, addrs] of Object.entries(hosts)) {
      for (const a of Array.isArray(addrs) ? addrs : [addrs]) lines.push(`${a} ${host}`);
    }
    mkdirSync(this.etcDir, { recursive: true });
    writeFileSync(join(this.etcDir, 'hosts'), `${lines.join('\n')}\n`);
  }

  setResolvConf(text: string): void {
    this.setEtc('resolv.conf', text);
  }

  /** A private `/etc/<file>` for commands started after this call (`ip netns exec` bind-mounts it). */
  setEtc(file: string, text: string): void {
    mkdirSync(this.etcDir, { recursive: true });
    writeFileSync(join(this.etcDir, file), text);
  }

  wrap(cmd: string, args: string[] = []): [string, string[]] {
    return ['ip', ['netns', 'exec', this.name, cmd, ...args]];
  }

  exec(cmd: string, args: string[] = [], opts: Omit<SpawnSyncOptions, 'encoding'> = {}): SpawnSyncReturns<string> {
    const [c, a] = this.wrap(cmd, args);
    return spawnSync(c, a, { timeout: 60_000, ...opts, encoding: 'utf8' });
  }

  spawn(cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    const [c, a] = this.wrap(cmd, args);
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs a command inside the namespace to completion without blocking the event loop. */
  run(cmd: string, args: string[] = [], opts: SpawnOptions & { input?: string; timeoutMs?: number } = {}) {
    return runChild(this.spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] }), opts.input, opts.timeoutMs);
  }

  /** Starts netns-server.mjs inside the namespace; resolves when every listener is bound. */
  async startServer(spec: ServerSpec): Promise<NetnsServer> {
    const child = this.spawn(process.execPath, [NETNS_SERVER_SCRIPT, JSON.stringify(spec)]);
    return NetnsServer.attach(child);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const c of this.children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore', timeout: 20_000 });
    rmSync(this.etcDir, { recursive: true, force: true });
  }
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output until it exits; SIGKILLs it after `timeoutMs` (default 60 s). */
export function runChild(child: ChildProcess, input?: string, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** What netns-server.mjs listens on. Port 0 = any free port (the chosen one is reported in `ports`). */
export interface ServerSpec {
  /** HTTP: every request gets 200 and `body` (default `hello from <host>:<port>\n`), or `/bytes/N` → N bytes. */
  http?: { host: string; port: number; body?: string }[];
  /** TCP: echoes what it receives. */
  echo?: { host: string; port: number }[];
  /** UDP: records each datagram and replies `ack:<payload>`. */
  udp?: { host: string; port: number }[];
  /**
   * DNS over UDP: answers A/AAAA from `records` (name → addresses) and PTR from `ptr` (e.g. `9.0.77.10.in-addr.arpa`
   * → a name), NXDOMAIN otherwise; records each query.
   */
  dns?: { host: string; port: number; records?: Record<string, string[]>; ptr?: Record<string, string> }[];
}

/** One line the server printed (JSON). `kind` is `ready`, `http`, `echo`, `udp` or `dns`. */
export interface ServerEvent {
  kind: string;
  listener?: string;
  remote?: string;
  path?: string;
  bytes?: number;
  name?: string;
  /** DNS: the exact label bytes of the question (latin1), so a label holding a dot shows. */
  labels?: string[];
  qtype?: number;
  payload?: string;
  ports?: Record<string, number>;
}

export class NetnsServer {
  readonly events: ServerEvent[] = [];
  /** `<kind>@<host>:<requestedPort>` → bound port (useful with port 0). */
  ports: Record<string, number> = {};
  private waiters: (() => void)[] = [];
  stderr = '';

  private constructor(readonly child: ChildProcess) {}

  static attach(child: ChildProcess): Promise<NetnsServer> {
    const s = new NetnsServer(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`netns-server did not start: ${s.stderr}`)), 20_000);
      child.stderr?.on('data', (d: Buffer) => {
        s.stderr += d.toString();
      });
      child.on('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`netns-server exited (${code ?? sig}) before it was ready: ${s.stderr}`));
      });
      if (!child.stdout) throw new Error('netns-server: no stdout pipe');
      createInterface({ input: child.stdout }).on('line', (line) => {
        let ev: ServerEvent;
        try {
          ev = JSON.parse(line) as ServerEvent;
        } catch {
          return;
        }
        if (ev.kind === 'ready') {
          s.ports = ev.ports ?? {};
          clearTimeout(timer);
          resolve(s);
          return;
        }
        s.events.push(ev);
        for (const w of s.waiters.splice(0)) w();
      });
    });
  }

  /** Bound port of a listener: `port('http', '10.77.0.1')` (the first listener of that kind on that host). */
  port(kind: string, host: string): number {
    const key = Object.keys(this.ports).find((k) => k.startsWith(`${kind}@${host}:`));
    if (key === undefined) throw new Error(`netns-server has no ${kind} listener on ${host}`);
    return this.ports[key] as number;
  }

  /** Events of one kind (e.g. every DNS query the server received). */
  of(kind: string): ServerEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }

  /** Waits until `pred` holds for the recorded events, or `ms` passes (then resolves false). */
  async waitFor(pred: (events: ServerEvent[]) => boolean, ms = 5_000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred(this.events)) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}
