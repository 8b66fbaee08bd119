/**
 * The attacker's seat for test/adversarial/{children,logs}*: plain Python and Node programs, run as an UNPRIVILEGED
 * user (nobody, via setpriv) under the guard in ENFORCE mode, inside a network namespace of the test's own where a
 * server records every HTTP request that arrives. That is the witness: "the server saw nothing".
 *
 * API
 * - `needAttacker()`: capability gate (root for namespaces and setpriv, the built library, gcc, /usr/bin/python3).
 * - `await Arena.create()` → namespace + servers + a world-readable copy of everything the attacker needs
 *   (`arena.dir`): the library, the compiled policies, the programs of ./programs, a decoy `libegressguard.so`.
 *   The checkout itself may live under a private home, so nobody could not read it. `arena.destroy()` in afterAll.
 * - Addresses (on the namespace's lo): 10.88.0.1 ALLOWED (http :8080), 10.88.0.2 DENIED (http :8080),
 *   169.254.88.9 DENIED link-local (http :8080, an attacker's "metadata service").
 * - `arena.policy` (enforce, allows 10.88.0.1:8080 only), `arena.permissive` (allows everything: the policy an attacker
 *   brought along), `arena.decoy`, `arena.library`, `arena.program(name)`. C programs in ./programs are built there
 *   (`static_*` statically); `setuid_connect` is installed set-user-ID root.
 * - `await arena.run({ cmd, args, env, log })` runs `cmd` as nobody with the guard preloaded (LD_PRELOAD and
 *   EGRESS_GUARD_* set by env(1) right before it: the operator's environment of the FIRST process). `log: 'file'`
 *   (default) gives the guard a fresh log file, `'stderr'` leaves it on the program's stderr. Returns
 *   `{ status, stdout, stderr, logs, results }`: `logs` are the guard's lines, `results` every JSON line the programs
 *   printed on stdout.
 * - `await arena.sawRequest(path)`: whether the server received `GET <path>`; call it after the attacker's own
 *   sentinel request (`/sentinel-<tag>`, which programs send after each attempt) has arrived:
 *   `await arena.settled(tag)` waits for it, so a request the attempt made cannot arrive after the check.
 */
import { spawnSync } from 'node:child_process';
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
import { fileURLToPath } from 'node:url';
import { compilePolicyTextSync } from '../../policy/index.js';
import { isRoot, need, needCommand, needNetns, runs } from '../support/capability.js';
import { type GuardLog, LIBRARY, needLibrary } from '../support/guard.js';
import { Netns, type NetnsServer, runChild } from '../support/netns.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PROGRAMS = join(HERE, 'programs');
/** The system's python (the version-manager one may live under root's private home). */
export const PY = '/usr/bin/python3';
export const ALLOWED = '10.88.0.1';
export const DENIED = '10.88.0.2';
export const LINK_LOCAL = '169.254.88.9';
export const PORT = 8080;

const POLICY = `version: 1
mode: enforce
allow:
  - name: allowed-server
    cidr: ${ALLOWED}/32
    ports: [${PORT}]
`;
const PERMISSIVE = `version: 1
mode: audit
allow:
  - name: everything
    cidr: 0.0.0.0/0
`;

export function needAttacker(): boolean {
  return (
    needNetns() &&
    needLibrary() &&
    needCommand('gcc') &&
    need('setpriv', isRoot() && runs('setpriv', ['--version']), 'needs root and setpriv (util-linux)') &&
    need('/usr/bin/python3', runs(PY, ['-c', 'pass']), `${PY} does not run`)
  );
}

export interface AttackRun {
  status: number | null;
  stdout: string;
  stderr: string;
  logs: GuardLog[];
  results: Record<string, unknown>[];
}

export interface AttackOptions {
  cmd: string;
  args?: string[];
  /** The operator's environment of the first process (added to the guard's own settings, may override them). */
  env?: Record<string, string>;
  log?: 'file' | 'stderr';
  timeoutMs?: number;
}

/** A shared library that loads anywhere and does nothing harmful: copied as the decoy `libegressguard.so`. */
function harmlessLibrary(): string {
  const r = spawnSync('sh', ['-c', 'ldconfig -p | grep -m1 "libm.so.6 (libc6,x86-64)" | sed "s/.*=> //"'], {
    encoding: 'utf8',
  });
  const p = r.stdout.trim();
  if (p === '') throw new Error('no libm.so.6 found for the decoy library');
  return p;
}

function parseJsonLines(text: string): Record<string, unknown>[] {
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

export class Arena {
  private runs = 0;
  private constructor(
    readonly ns: Netns,
    readonly server: NetnsServer,
    readonly dir: string,
  ) {}

  static async create(prefix = 'egadv'): Promise<Arena> {
    const dir = mkdtempSync(join(tmpdir(), 'eg-attacker-'));
    chmodSync(dir, 0o755);
    const ns = Netns.create({ prefix, addresses: [`${ALLOWED}/32`, `${DENIED}/32`, `${LINK_LOCAL}/32`] });
    try {
      const server = await ns.startServer({
        http: [ALLOWED, DENIED, LINK_LOCAL].map((host) => ({ host, port: PORT })),
      });
      const arena = new Arena(ns, server, dir);
      arena.prepare();
      return arena;
    } catch (e) {
      ns.destroy();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get library(): string {
    return join(this.dir, 'lib/libegressguard.so');
  }
  get policy(): string {
    return join(this.dir, 'policy.egp');
  }
  get permissive(): string {
    return join(this.dir, 'permissive.egp');
  }
  get decoy(): string {
    return join(this.dir, 'decoy/libegressguard.so');
  }
  program(name: string): string {
    return join(this.dir, 'programs', name);
  }

  private prepare(): void {
    for (const d of ['lib', 'decoy', 'programs', 'logs']) mkdirSync(join(this.dir, d), { mode: 0o755 });
    chmodSync(join(this.dir, 'logs'), 0o777);
    copyFileSync(LIBRARY, this.library);
    copyFileSync(harmlessLibrary(), this.decoy);
    writeFileSync(this.policy, compilePolicyTextSync(POLICY, 'adversarial.yaml').bytes);
    writeFileSync(this.permissive, compilePolicyTextSync(PERMISSIVE, 'permissive.yaml').bytes);
    for (const f of readdirSync(PROGRAMS)) {
      if (f.endsWith('.c')) {
        const out = join(this.dir, 'programs', f.slice(0, -2));
        const flags = f.startsWith('static_') ? ['-static'] : [];
        const b = spawnSync('gcc', ['-O1', ...flags, '-o', out, join(PROGRAMS, f)], { encoding: 'utf8' });
        if (b.status !== 0) throw new Error(`building ${f} failed: ${b.stderr}`);
      } else {
        copyFileSync(join(PROGRAMS, f), join(this.dir, 'programs', f));
      }
    }
    for (const f of readdirSync(join(this.dir, 'programs'))) chmodSync(join(this.dir, 'programs', f), 0o755);
    chmodSync(this.program('setuid_connect'), 0o4755); /* owned by root (the test): set-user-ID root for nobody */
    for (const f of [this.library, this.decoy, this.policy, this.permissive]) chmodSync(f, 0o644);
  }

  async run(o: AttackOptions): Promise<AttackRun> {
    const logFile = join(this.dir, 'logs', `run-${++this.runs}.log`);
    const useFile = (o.log ?? 'file') === 'file';
    if (useFile) {
      writeFileSync(logFile, '');
      chmodSync(logFile, 0o666);
    }
    const guard: Record<string, string> = {
      LD_PRELOAD: this.library,
      EGRESS_GUARD_POLICY: this.policy,
      EGRESS_GUARD_LOG: useFile ? logFile : 'stderr',
      ...(o.env ?? {}),
    };
    const assigns = Object.entries(guard).map(([k, v]) => `${k}=${v}`);
    const argv = [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--',
      'env',
      '-i',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      'HOME=/tmp',
      `ARENA=${this.dir}`,
      ...assigns,
      o.cmd,
      ...(o.args ?? []),
    ];
    const child = this.ns.spawn('setpriv', argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH },
    });
    const r = await runChild(child, undefined, o.timeoutMs ?? 60_000);
    const logText = useFile ? readFileSync(logFile, 'utf8') : r.stderr;
    const logs = parseJsonLines(logText).filter((l) => l.name === 'egress-guard') as GuardLog[];
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, logs, results: parseJsonLines(r.stdout) };
  }

  /** Waits until the attacker's sentinel request for `tag` has reached the server (false after 10 s). */
  settled(tag: string): Promise<boolean> {
    return this.server.waitFor((ev) => ev.some((e) => e.kind === 'http' && e.path === `/sentinel-${tag}`), 10_000);
  }

  /** Whether the server received a request for `path` (on any address). */
  sawRequest(path: string): boolean {
    return this.server.of('http').some((e) => e.path === path);
  }

  destroy(): void {
    this.ns.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A readable failure message: the run's output and every guard line. */
export function explainRun(r: AttackRun): string {
  return `status=${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nguard log:\n${r.logs
    .map((l) => JSON.stringify(l))
    .join('\n')}`;
}
