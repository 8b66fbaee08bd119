/**
 * The network of the budget tests: namespace `peer` (the witness HTTP server, test/budgets/peer/witness.py, and an S3
 * emulator, moto server) and namespace `fn` (where the guarded function runs), joined by a veth pair. The peer is the
 * witness: it reports what arrived (uploads) and what the function's kernel acknowledged (downloads); the function
 * namespace's /proc/net/dev says what crossed its interface. IPv6 is off in both (no discovery chatter).
 *
 * API
 * - `createWorld(prefix, { s3 })` → `World` (call `destroy()` in afterAll).
 * - `world.runGuarded(cmd, args, { mode, budgets, state })` runs a client under LD_PRELOAD in `fn` with a state file
 *   armed as the agent would (budgets relative to its counters; `budgets: undefined` = not armed), and returns what the
 *   client printed (its last JSON line), the guard's log lines, the bytes /proc/net/dev of `fn` saw during the run, and
 *   the state file afterwards.
 * - `world.nextWitness(kind)` → the next `upload`/`download` event of the witness.
 * - `world.s3Objects()` → keys stored in the emulator's bucket `budget`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { compilePolicyTextSync } from '../../policy/index.js';
import { buildDotnet, findDotnet } from '../compat/support/build.js';
import { Netns, runChild } from '../support/netns.js';
import { arm, type Budgets, createState, disarm, readState, type StateView } from './state.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const INTERPOSER = join(ROOT, 'native/build/libegressguard.so');
export const CLIENTS = join(ROOT, 'test/budgets/clients');
export const PEER_IP = '10.203.0.1';
export const FN_IP = '10.203.0.2';
export const KiB = 1024;
export const MiB = 1024 * KiB;

const WITNESS = join(ROOT, 'test/budgets/peer/witness.py');

export interface WitnessEvent {
  kind: 'upload' | 'download';
  received?: number;
  complete?: boolean;
  requested?: number;
  written?: number;
  acked?: number;
  error?: string | null;
}

export interface ClientResult {
  ok: boolean;
  bytes: number;
  sent?: number;
  connected?: number;
  error?: { code?: string; message?: string };
}

// biome-ignore lint/suspicious/noExplicitAny: guard log lines are free-form JSON; tests assert on the fields they need.
export type LogLine = Record<string, any>;

export interface GuardedRun {
  status: number | null;
  result: ClientResult | undefined;
  logs: LogLine[];
  stderr: string;
  stdout: string;
  /** Bytes the function namespace's interfaces (all but lo) carried during the run. */
  wire: { rx: number; tx: number };
  state: StateView;
}

export interface RunOptions {
  mode?: 'enforce' | 'audit';
  /** Arms the state file with these budgets; undefined leaves it disarmed (between invokes). */
  budgets?: Budgets;
  /** State file to use (shared across runs to model one execution environment); default: a fresh one. */
  state?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** A guarded process driven one JSON command at a time (test/budgets/clients/scenario.py). */
export interface Session {
  state: string;
  // biome-ignore lint/suspicious/noExplicitAny: scenario answers are free-form JSON
  ask(cmd: Record<string, unknown>): Promise<any>;
  logs(): LogLine[];
  close(): Promise<void>;
}

export interface World {
  peer: Netns;
  fn: Netns;
  /** `http://PEER_IP:PORT` of the witness. */
  witness: string;
  /** `http://PEER_IP:PORT` of the S3 emulator, when started. */
  s3?: string;
  dir: string;
  policy: string;
  runGuarded(cmd: string, args: string[], opts?: RunOptions): Promise<GuardedRun>;
  /** Starts scenario.py under the guard with a fresh (disarmed) state file unless `state` is given. */
  startScenario(opts?: { mode?: 'enforce' | 'audit'; state?: string; env?: Record<string, string> }): Session;
  nextWitness(kind: WitnessEvent['kind'], timeoutMs?: number): Promise<WitnessEvent>;
  s3Objects(): string[];
  newState(): string;
  destroy(): void;
}

const POLICY = `version: 1
mode: enforce
allow:
  - name: peer
    ip: ${PEER_IP}
`;

function readLog(path: string): LogLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Sum of rx/tx bytes over every interface but lo, from /proc/net/dev inside `ns`. */
function netdev(ns: Netns): { rx: number; tx: number } {
  const r = ns.exec('cat', ['/proc/net/dev']);
  let rx = 0;
  let tx = 0;
  for (const line of r.stdout.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (rest === undefined || name?.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

function waitForPort(ns: Netns, host: string, port: number): void {
  const probe = `import socket,time
for i in range(300):
    try:
        socket.create_connection(("${host}", ${port}), 1).close(); break
    except OSError: time.sleep(0.1)
else: raise SystemExit(1)`;
  const r = ns.exec('python3', ['-c', probe], { timeout: 60_000 });
  if (r.status !== 0) throw new Error(`nothing listens on ${host}:${port} in ${ns.name}: ${r.stderr}`);
}

/** The X-Ray daemon's address on Lambda (docs/LAMBDA.md): link-local, reached over the veth here. */
export const XRAY = { host: '169.254.79.129', port: 2000 };

export async function createWorld(prefix: string, opts: { s3?: boolean } = {}): Promise<World> {
  const peer = Netns.create({ prefix: `${prefix}-p` });
  const fn = Netns.create({ prefix: `${prefix}-f` });
  const dir = mkdtempSync(join(tmpdir(), 'eg-budgets-'));
  try {
    for (const ns of [peer, fn]) {
      for (const k of ['all', 'default']) ns.exec('sysctl', ['-q', '-w', `net.ipv6.conf.${k}.disable_ipv6=1`]);
    }
    Netns.link(peer, fn, { a: `${PEER_IP}/24`, b: `${FN_IP}/24` });
    fn.exec('ip', ['route', 'add', `${XRAY.host}/32`, 'via', PEER_IP]);
    const policy = join(dir, 'policy.egp');
    writeFileSync(policy, compilePolicyTextSync(POLICY, 'budgets-policy.yaml').bytes);

    const events: WitnessEvent[] = [];
    const waiters: (() => void)[] = [];
    const w = peer.spawn('python3', [WITNESS, PEER_IP, '0']);
    const port = await new Promise<number>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('witness did not start')), 20_000);
      w.on('exit', (c) => rej(new Error(`witness exited ${c}`)));
      createInterface({ input: w.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const ev = JSON.parse(line) as WitnessEvent & { port?: number };
        if ((ev as { kind: string }).kind === 'ready') {
          clearTimeout(timer);
          res(ev.port as number);
          return;
        }
        events.push(ev);
        for (const f of waiters.splice(0)) f();
      });
    });

    let s3: string | undefined;
    if (opts.s3) {
      peer.spawn('python3', ['-m', 'moto.server', '-H', PEER_IP, '-p', '5005'], { stdio: 'ignore' });
      waitForPort(peer, PEER_IP, 5005);
      s3 = `http://${PEER_IP}:5005`;
      const mk = peer.exec('python3', [
        '-c',
        `import urllib.request as u; u.urlopen(u.Request("${s3}/budget", method="PUT")).read()`,
      ]);
      if (mk.status !== 0) throw new Error(`cannot create the S3 bucket: ${mk.stderr}`);
    }

    let runs = 0;
    // set right before the command (env(1)), so `ip netns exec` itself runs unguarded
    const guardEnv = (
      extra: Record<string, string> | undefined,
      mode: string | undefined,
      state: string,
      log: string,
    ) =>
      Object.entries({
        ...extra,
        LD_PRELOAD: INTERPOSER,
        EGRESS_GUARD_POLICY: policy,
        EGRESS_GUARD_MODE: mode ?? 'enforce',
        EGRESS_GUARD_STATE: state,
        EGRESS_GUARD_LOG: log,
        AWS_XRAY_DAEMON_ADDRESS: `${XRAY.host}:${XRAY.port}`,
      }).map(([k, v]) => `${k}=${v}`);
    const world: World = {
      peer,
      fn,
      witness: `http://${PEER_IP}:${port}`,
      s3,
      dir,
      policy,
      newState() {
        const p = join(dir, `state-${++runs}`);
        createState(p);
        return p;
      },
      startScenario(o = {}) {
        const state = o.state ?? world.newState();
        const log = join(dir, `guard-${++runs}.log`);
        writeFileSync(log, '');
        const assigns = guardEnv(o.env, o.mode, state, log);
        const child = fn.spawn('env', [...assigns, 'python3', join(CLIENTS, 'scenario.py')], {
          cwd: ROOT,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        const answers: string[] = [];
        const waiting: ((l: string) => void)[] = [];
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
          const f = waiting.shift();
          if (f) f(l);
          else answers.push(l);
        });
        return {
          state,
          ask(cmd) {
            child.stdin?.write(`${JSON.stringify(cmd)}\n`);
            return new Promise((res, rej) => {
              const timer = setTimeout(() => rej(new Error(`no answer to ${JSON.stringify(cmd)}: ${stderr}`)), 60_000);
              const take = (l: string) => {
                clearTimeout(timer);
                res(JSON.parse(l));
              };
              const ready = answers.shift();
              if (ready !== undefined) take(ready);
              else waiting.push(take);
            });
          },
          logs: () => readLog(log),
          close() {
            return new Promise((res) => {
              child.on('close', () => res());
              child.stdin?.end();
            });
          },
        };
      },
      async runGuarded(cmd, args, o = {}) {
        const state = o.state ?? world.newState();
        if (o.budgets) arm(state, o.budgets);
        else disarm(state);
        const log = join(dir, `guard-${++runs}.log`);
        writeFileSync(log, '');
        const assigns = guardEnv(o.env, o.mode, state, log);
        const before = netdev(fn);
        const child = fn.spawn('env', [...assigns, cmd, ...args], { cwd: ROOT });
        const r = await runChild(child, '', o.timeoutMs ?? 120_000);
        const after = netdev(fn);
        const lines = r.stdout.trim().split('\n');
        let result: ClientResult | undefined;
        try {
          result = JSON.parse(lines[lines.length - 1] ?? '') as ClientResult;
        } catch {
          result = undefined;
        }
        const logs = readLog(log);
        return {
          status: r.status,
          result,
          logs,
          stderr: r.stderr,
          stdout: r.stdout,
          wire: { rx: after.rx - before.rx, tx: after.tx - before.tx },
          state: readState(state),
        };
      },
      nextWitness(kind, timeoutMs = 30_000) {
        return new Promise((res, rej) => {
          const timer = setTimeout(() => rej(new Error(`no ${kind} event from the witness`)), timeoutMs);
          const look = () => {
            const i = events.findIndex((e) => e.kind === kind);
            if (i >= 0) {
              clearTimeout(timer);
              res(events.splice(i, 1)[0] as WitnessEvent);
              return;
            }
            waiters.push(look);
          };
          look();
        });
      },
      s3Objects() {
        if (!s3) return [];
        const r = peer.exec('python3', [
          '-c',
          `import urllib.request as u,re; x=u.urlopen("${s3}/budget").read().decode(); print("\\n".join(re.findall("<Key>([^<]*)</Key>", x)))`,
        ]);
        if (r.status !== 0) throw new Error(`cannot list the S3 bucket: ${r.stderr}`);
        return r.stdout.split('\n').filter((k) => k !== '');
      },
      destroy() {
        peer.destroy();
        fn.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return world;
  } catch (e) {
    peer.destroy();
    fn.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The runtimes the tests drive, with the command that runs a client case. */
export type Lang = 'node' | 'python' | 'java' | 'ruby' | 'dotnet';
export function clientCommand(lang: Lang, kase: string, url: string, bytes?: number): [string, string[]] {
  const extra = bytes === undefined ? [] : [String(bytes)];
  switch (lang) {
    case 'node':
      return [process.execPath, [join(CLIENTS, 'transfer.mjs'), kase, url, ...extra]];
    case 'python':
      return ['python3', [join(CLIENTS, 'transfer.py'), kase, url, ...extra]];
    case 'java':
      return ['java', [join(CLIENTS, 'Transfer.java'), kase, url, ...extra]];
    case 'ruby':
      return ['ruby', [join(CLIENTS, 'transfer.rb'), kase, url, ...extra]];
    case 'dotnet':
      return [findDotnet() ?? 'dotnet', [buildDotnet('Transfer', join(CLIENTS, 'Transfer.cs')), kase, url, ...extra]];
  }
}

/** True when python3 can import `mod`. */
export function hasPythonModule(mod: string): boolean {
  return spawnSync('python3', ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
}
