/**
 * The attacker's seat for test/adversarial/socket*.test.ts: plain Python programs (the standard library's socket and
 * ctypes modules — what a compromised pure-Python dependency has), run under the guard in ENFORCE mode as an
 * UNPRIVILEGED user (nobody, via setpriv) inside a network namespace of the test's own, where a server records every
 * datagram, connection and DNS question that arrives. That server is the witness: "the server saw nothing".
 *
 * API
 * - `needSocketArena()`: capability gate (root for namespaces and setpriv, the built library, /usr/bin/python3).
 * - `await SocketArena.create(prefix)` → namespace + witness + a world-readable copy of the library, the policy and
 *   ./programs (the checkout may live under a private home). `arena.destroy()` in afterAll.
 * - Addresses on the namespace's lo (constants below): ALLOWED / ALLOWED6 (any port), QUIET (allowed, nothing
 *   listens), DENIED / DENIED6 (denied),
 *   NAMESERVER / NAMESERVER6 (port 53 only; a DNS server there answers `allowed.test`). Listeners on each: UDP sink SINK, TCP echo
 *   ECHO; DNS on NAMESERVER:53. The policy allows the name `allowed.test`; every other name is denied.
 * - `await arena.run(args, { privileged?, env?, timeoutMs? })` runs `programs/<args…>` with python3 (`.py`), node
 *   (`.mjs`) or as built (a `.c` program runs by its name without `.c`), as nobody unless
 *   `privileged`: root inside the namespace, for attempts that need CAP_NET_RAW) with the guard preloaded; returns
 *   `{ status, stdout, stderr, logs, results }` (`results`: the JSON lines the program printed).
 * - `await arena.settled(tag)`: programs end every run by sending the datagram `sentinel:<tag>` to ALLOWED:SINK; this
 *   waits for it, so nothing an attempt sent can still be on its way when the test looks at the witness.
 * - `arena.udpAt(host)`, `arena.echoAt(host)`, `arena.dnsNames()`: what the witness saw.
 * - `await arena.packetWitness()` → a `PacketWitness` (programs/sniff.py, root in the namespace): every IP packet sent
 *   on the namespace's loopback with its real destination — for attacks that redirect packets no listener would see.
 *   `witness.to(host)` lists them; `await witness.settled(tag)` waits until the sentinel datagram went by.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compilePolicyTextSync } from '../../policy/index.js';
import { isRoot, need, needNetns, runs } from '../support/capability.js';
import { type GuardLog, LIBRARY, needLibrary } from '../support/guard.js';
import { Netns, type NetnsServer, runChild } from '../support/netns.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PROGRAMS = join(HERE, 'programs');
export const PY = '/usr/bin/python3';
/** The node running the tests (readable by nobody: it is checked in needSocketArena). */
export const NODE = process.execPath;
export const ALLOWED = '10.89.0.1';
/** Allowed, with no listener: traffic there does not crowd the witness. */
export const QUIET = '10.89.0.3';
export const DENIED = '10.89.0.2';
export const NAMESERVER = '10.89.0.53';
export const ALLOWED6 = 'fd89::1';
export const DENIED6 = 'fd89::2';
export const NAMESERVER6 = 'fd89::53';
export const SINK = 9000;
export const ECHO = 9001;

const POLICY = `version: 1
mode: enforce
loopback: deny
allow:
  - name: allowed-v4
    cidr: ${ALLOWED}/32
  - name: quiet-v4
    cidr: ${QUIET}/32
  - name: allowed-v6
    cidr: "${ALLOWED6}/128"
  - name: nameserver
    cidr: ${NAMESERVER}/32
    ports: [53]
  - name: nameserver6
    cidr: "${NAMESERVER6}/128"
    ports: [53]
  - name: allowed-name
    host: allowed.test
`;

export function needSocketArena(): boolean {
  return (
    needNetns() &&
    needLibrary() &&
    need('setpriv', isRoot() && runs('setpriv', ['--version']), 'needs root and setpriv (util-linux)') &&
    need('/usr/bin/python3', runs(PY, ['-c', 'pass']), `${PY} does not run`) &&
    need(
      'node readable by nobody',
      runs('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, '-e', '0']),
      `${NODE} cannot be run by an unprivileged user`,
    )
  );
}

export interface ArenaRun {
  status: number | null;
  stdout: string;
  stderr: string;
  logs: GuardLog[];
  results: Record<string, unknown>[];
}

function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not one of ours
    }
  }
  return out;
}

export class SocketArena {
  private runs = 0;
  private constructor(
    readonly ns: Netns,
    readonly server: NetnsServer,
    readonly dir: string,
  ) {}

  static async create(prefix: string): Promise<SocketArena> {
    const dir = mkdtempSync(join(tmpdir(), 'eg-sockets-'));
    chmodSync(dir, 0o755);
    const ns = Netns.create({
      prefix,
      addresses: [
        `${ALLOWED}/32`,
        `${QUIET}/32`,
        `${DENIED}/32`,
        `${NAMESERVER}/32`,
        `${ALLOWED6}/128`,
        `${DENIED6}/128`,
        `${NAMESERVER6}/128`,
      ],
    });
    try {
      const hosts = [ALLOWED, DENIED, ALLOWED6, DENIED6];
      const server = await ns.startServer({
        udp: hosts.map((host) => ({ host, port: SINK })),
        echo: hosts.map((host) => ({ host, port: ECHO })),
        dns: [NAMESERVER, NAMESERVER6].map((host) => ({ host, port: 53, records: { 'allowed.test': [ALLOWED] } })),
      });
      const arena = new SocketArena(ns, server, dir);
      arena.prepare();
      return arena;
    } catch (e) {
      ns.destroy();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get library(): string {
    return join(this.dir, 'libegressguard.so');
  }
  get policy(): string {
    return join(this.dir, 'policy.egp');
  }

  private prepare(): void {
    mkdirSync(join(this.dir, 'programs'), { mode: 0o755 });
    mkdirSync(join(this.dir, 'logs'), { mode: 0o777 });
    chmodSync(join(this.dir, 'logs'), 0o777);
    copyFileSync(LIBRARY, this.library);
    writeFileSync(this.policy, compilePolicyTextSync(POLICY, 'sockets.yaml').bytes);
    for (const f of readdirSync(PROGRAMS)) {
      if (f.endsWith('.c')) {
        const out = join(this.dir, 'programs', f.slice(0, -2));
        const b = spawnSync('gcc', ['-O1', '-Wall', '-Werror', '-o', out, join(PROGRAMS, f), '-lpthread'], {
          encoding: 'utf8',
        });
        if (b.status !== 0) throw new Error(`building ${f} failed: ${b.stderr}`);
        chmodSync(out, 0o755);
      } else {
        copyFileSync(join(PROGRAMS, f), join(this.dir, 'programs', f));
        chmodSync(join(this.dir, 'programs', f), 0o644);
      }
    }
    for (const f of [this.library, this.policy]) chmodSync(f, 0o644);
  }

  program(name: string): string {
    return join(this.dir, 'programs', name);
  }

  /** Runs `programs/<args[0]> args…` under the guard (python3 for `.py`, node for `.mjs`, else a built C program). */
  async run(
    args: string[],
    o: { privileged?: boolean; env?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<ArenaRun> {
    const logFile = join(this.dir, 'logs', `run-${++this.runs}.log`);
    writeFileSync(logFile, '');
    chmodSync(logFile, 0o666);
    const guard = {
      LD_PRELOAD: this.library,
      EGRESS_GUARD_POLICY: this.policy,
      EGRESS_GUARD_MODE: 'enforce',
      EGRESS_GUARD_LOG: logFile,
      ...(o.env ?? {}),
    };
    const [first = '', ...rest] = args;
    const interpreter = first.endsWith('.py') ? [PY] : first.endsWith('.mjs') ? [NODE] : [];
    const cmd = [...interpreter, this.program(first), ...rest];
    const who = o.privileged ? [] : ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
    const envArgs = ['env', '-i', 'PATH=/usr/bin:/bin', ...Object.entries(guard).map(([k, v]) => `${k}=${v}`)];
    const argv = [...who, ...envArgs, ...cmd];
    const [c, a] = this.ns.wrap(argv[0] as string, argv.slice(1));
    const child = spawn(c, a, { stdio: ['pipe', 'pipe', 'pipe'], cwd: this.dir });
    const r = await runChild(child, undefined, o.timeoutMs ?? 60_000);
    const logs = jsonLines(readFileSync(logFile, 'utf8')) as GuardLog[];
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, logs, results: jsonLines(r.stdout) };
  }

  async settled(tag: string): Promise<void> {
    const ok = await this.server.waitFor(
      (evs) => evs.some((e) => e.kind === 'udp' && e.payload === `sentinel:${tag}`),
      10_000,
    );
    if (!ok) throw new Error(`the sentinel datagram of ${tag} never arrived`);
  }

  udpAt(host: string): string[] {
    return this.server
      .of('udp')
      .filter((e) => e.listener === hostPort(host, SINK))
      .map((e) => e.payload ?? '');
  }

  echoAt(host: string): number {
    return this.server.of('echo').filter((e) => e.listener === hostPort(host, ECHO)).length;
  }

  async packetWitness(): Promise<PacketWitness> {
    const child = this.ns.spawn(PY, [join(PROGRAMS, 'sniff.py')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const w = new PacketWitness();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the packet witness did not start')), 20_000);
      if (!child.stdout) throw new Error('sniff.py: no stdout');
      createInterface({ input: child.stdout }).on('line', (line) => {
        const p = JSON.parse(line) as Packet & { ready?: boolean };
        if (p.ready) {
          clearTimeout(timer);
          resolve();
        } else {
          w.packets.push(p);
        }
      });
    });
    return w;
  }

  dnsNames(): string[] {
    return this.server.of('dns').map((e) => e.name ?? '');
  }

  destroy(): void {
    this.ns.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** One IP packet as sent on the namespace's loopback (programs/sniff.py). */
export interface Packet {
  dst: string;
  src: string;
  proto: number;
  udp?: string;
}

export class PacketWitness {
  readonly packets: Packet[] = [];

  to(host: string): Packet[] {
    return this.packets.filter((p) => p.dst === host);
  }

  async settled(tag: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (this.packets.some((p) => p.udp === `sentinel:${tag}`)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the packet witness never saw the sentinel of ${tag}`);
  }
}
