/**
 * The compatibility lab: one network namespace per test file with the scenario's addresses, hosts file, resolv.conf
 * and servers (test/support/netns.ts), the compiled policies (test/support/guard.ts → the real compiler), and
 * `run(client, mode)`, which runs a client program under the real guard (LD_PRELOAD) inside the namespace and
 * returns every step's observation and verdict (./verdict.ts).
 */
import { compilePolicy, type GuardLog, type GuardResult, runGuarded } from '../../support/guard.js';
import { Netns, type NetnsServer } from '../../support/netns.js';
import type { ResultRow, StepResult } from './results.js';
import {
  ADDRESSES,
  HOSTS,
  MODES,
  type Mode,
  NAMESERVER_IP,
  POLICY,
  RESOLV_CONF,
  SERVER_SPEC,
  STEP_DEST,
  type StepId,
  stepUrl,
  token,
} from './scenario.js';
import {
  attribute,
  callsOf,
  type Judgement,
  judge,
  type ProgramStep,
  parseClientOutput,
  type StepObservation,
} from './verdict.js';

export interface ClientSpec {
  runtime: string;
  /** runtime version, major.minor, for the table */
  version: string;
  /** short id, unique within the runtime (used in tokens) */
  client: string;
  /** what the table shows in the client column */
  api: string;
  /** the steps this client performs (a resolver cannot fetch; UDP is done by the runtime's UDP client) */
  steps: StepId[];
  cmd: string;
  /** arguments before the `step=url` pairs */
  args: string[];
  /**
   * How a step's traffic is recognised at the destination: `server` (default: the HTTP/UDP server saw the token),
   * `answer` (resolver clients: the program got an address), `dns` (raw DNS clients: the DNS server saw the query).
   */
  reach?: 'server' | 'answer' | 'dns';
  env?: Record<string, string>;
  /** builds the arguments after `args` from the steps (default: the client protocol's `step=url` pairs) */
  stepArgs?: (steps: [StepId, string][]) => string[];
  /** reads the program's answers from stdout (default: the client protocol's COMPAT lines) */
  parse?: (stdout: string) => Map<string, ProgramStep>;
  /** the client's exit status carries per-step results (curl: the last transfer's code), so it is not checked */
  exitAny?: boolean;
  /** how the client reaches the network and why the guard sees it or not (shown in the table) */
  how: string;
}

export interface StepOutcome extends StepObservation, Judgement {}

export interface ClientRun {
  spec: ClientSpec;
  mode: Mode;
  guard: GuardResult;
  steps: Map<StepId, StepOutcome>;
  /** log lines about the nameserver (raw DNS clients) */
  nameserverLogs: GuardLog[];
  uncovered: GuardLog[];
}

export class CompatLab {
  private constructor(
    readonly ns: Netns,
    readonly server: NetnsServer,
    readonly policy: string,
  ) {}

  /** Creates the namespace, starts the servers, compiles the policy. `destroy()` in afterAll. */
  static async open(prefix: string): Promise<CompatLab> {
    const ns = Netns.create({ prefix, addresses: ADDRESSES, hosts: HOSTS, resolvConf: RESOLV_CONF });
    try {
      const server = await ns.startServer(SERVER_SPEC);
      return new CompatLab(ns, server, await compilePolicy(POLICY));
    } catch (e) {
      ns.destroy();
      throw e;
    }
  }

  destroy(): void {
    this.ns.destroy();
  }

  /** Runs a client with arbitrary `step=url` arguments (for one-off measurements outside the table). */
  runArgs(spec: ClientSpec, mode: Mode, stepArgs: string[], policy?: string): Promise<GuardResult> {
    return runGuarded({
      cmd: spec.cmd,
      args: [...spec.args, ...stepArgs],
      policy: policy ?? this.policy,
      mode,
      ns: this.ns,
      env: spec.env,
      timeoutMs: 90_000,
    });
  }

  /** Runs one client in one mode under the guard; `policy` overrides the scenario's compiled policy. */
  async run(spec: ClientSpec, mode: Mode, opts: { policy?: string; via?: 'env' | 'cli' } = {}): Promise<ClientRun> {
    const before = this.server.events.length;
    const guard = await runGuarded({
      cmd: spec.cmd,
      args: [...spec.args, ...stepArgsOf(spec, mode)],
      policy: opts.policy ?? this.policy,
      mode,
      ns: this.ns,
      via: opts.via ?? 'env',
      env: spec.env,
      timeoutMs: 90_000,
    });
    const program = (spec.parse ?? parseClientOutput)(guard.stdout);
    // Server records arrive asynchronously (a pipe from the namespace). Wait for the record of every step the program
    // says succeeded (up to 10 s: CI is loaded), then a short grace for records of steps it says failed.
    const seen = (step: StepId): boolean => {
      const t = token(spec.client, mode, step);
      const events = this.server.events.slice(before);
      switch (spec.reach ?? 'server') {
        case 'answer':
          return program.get(step)?.ok === true;
        case 'dns':
          return events.some((e) => e.kind === 'dns' && e.name === STEP_DEST[step].host);
        default:
          return events.some(
            (e) => (e.kind === 'http' && e.path === `/${t}`) || (e.kind === 'udp' && (e.payload ?? '').includes(t)),
          );
      }
    };
    const claimed = spec.steps.filter((s) => program.get(s)?.ok === true);
    await this.server.waitFor(() => claimed.every(seen), 10_000);
    await this.server.waitFor(() => false, 100);
    const steps = new Map<StepId, StepOutcome>();
    for (const step of spec.steps) {
      const p = program.get(step);
      const reached = seen(step);
      // Raw DNS clients reach every name through the nameserver: its lines belong to each of their steps.
      const logs = attribute(guard.logs, STEP_DEST[step]);
      if (spec.reach === 'dns') logs.push(...guard.logs.filter((l) => l.ip === NAMESERVER_IP && !logs.includes(l)));
      const obs: StepObservation = { step, mode, program: p, logs, reached };
      steps.set(step, { ...obs, ...judge(obs) });
    }
    return {
      spec,
      mode,
      guard,
      steps,
      nameserverLogs: guard.logs.filter((l) => l.ip === NAMESERVER_IP),
      uncovered: guard.logs.filter((l) => l.event === 'uncovered'),
    };
  }
}

function stepArgsOf(spec: ClientSpec, mode: Mode): string[] {
  const pairs = spec.steps.map((s) => [s, stepUrl(spec.client, mode, s)] as [StepId, string]);
  return spec.stepArgs ? spec.stepArgs(pairs) : pairs.map(([s, u]) => `${s}=${u}`);
}

/** Runs `tasks` with at most `limit` at a time (clients are I/O-bound; this machine has 2 cores). */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

/** Runs every client in both modes (at most `limit` processes at once); keyed `client/mode`. */
export async function runAll(lab: CompatLab, specs: ClientSpec[], limit: number): Promise<Map<string, ClientRun>> {
  const jobs = specs.flatMap((s) => MODES.map((m) => [s, m] as const));
  const runs = await pool(
    limit,
    jobs.map(
      ([s, m]) =>
        () =>
          lab.run(s, m),
    ),
  );
  return new Map(runs.map((r) => [`${r.spec.client}/${r.mode}`, r]));
}

/** A run's step outcome; throws (failing the test) when the step is missing. */
export function stepOf(run: ClientRun | undefined, step: StepId): StepOutcome {
  const s = run?.steps.get(step);
  if (s === undefined) throw new Error(`no ${step} step in run ${run?.spec.client}/${run?.mode}`);
  return s;
}

/** A readable dump of a run for assertion messages. */
export function describeRun(run: ClientRun | undefined): string {
  if (run === undefined) return '(no run)';
  const lines = [
    `${run.spec.runtime} ${run.spec.client} [${run.mode}] exit=${run.guard.status} signal=${run.guard.signal}`,
    `stdout: ${run.guard.stdout.trim()}`,
    `stderr: ${run.guard.stderr.trim().slice(0, 2000)}`,
    ...run.guard.logs.map((l) => `log: ${JSON.stringify(l)}`),
  ];
  for (const s of run.steps.values()) {
    lines.push(`step ${s.step}: ${s.verdict} ${s.reason} reached=${s.reached} program=${JSON.stringify(s.program)}`);
  }
  return lines.join('\n');
}

/** The results row of one client from its audit and enforce runs. */
export function toRow(spec: ClientSpec, runs: Map<string, ClientRun>): ResultRow {
  const steps: ResultRow['steps'] = {};
  const uncovered = new Set<string>();
  for (const step of spec.steps) {
    const per = {} as Record<Mode, StepResult>;
    for (const mode of MODES) {
      const run = runs.get(`${spec.client}/${mode}`);
      const s = run?.steps.get(step);
      per[mode] = {
        verdict: s?.verdict ?? 'inconsistent',
        sees: s?.program?.what ?? '(no answer)',
        calls: callsOf(s?.logs ?? []),
      };
      for (const u of run?.uncovered ?? []) uncovered.add(String(u.path ?? '').replace(/^.*\//, ''));
    }
    steps[step] = per;
  }
  return {
    runtime: spec.runtime,
    version: spec.version,
    client: spec.client,
    api: spec.api,
    steps,
    uncovered: [...uncovered].sort(),
    how: spec.how,
  };
}
