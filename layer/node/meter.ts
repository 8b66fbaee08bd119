/**
 * The invoke lifecycle: byte snapshots, shared-state updates, budget sampling, the per-invoke log and metric lines.
 *
 * Contract
 * - `new Guard(options)` resolves its configuration once (config.ts), reads budgets and mode from the policy header
 *   (policy.ts; a bad policy is logged once as a `policy` event and means "no budgets"), and opens the process-wide
 *   resources it shares with every other Guard of the process: the /proc/net/dev reader, the state file, the logger.
 *   The first Guard of a process takes the "load" snapshot.
 * - `guard.begin(context)` starts an invocation (`Invocation`): snapshot, state `begin` (request id published,
 *   BUDGET_TRIPPED of the previous invoke cleared), the `init` line on the first invoke of the process, a budget sampler
 *   (`setInterval`, unref'd: it never keeps the event loop alive, so it never delays a callback-style response) when
 *   budgets apply, and a deadline timer (unref'd) `timeoutMarginMs` before `context.getRemainingTimeInMillis()` runs out.
 * - `inv.finish(outcome)` is idempotent: the final snapshot, the state `end`, the final budget check, one `invoke` line
 *   (pino) and one EMF line. It returns the error the invocation must fail with in enforce mode, if any.
 * - When a budget is exceeded: one `budget` line; in enforce mode (and not concurrent) BUDGET_TRIPPED is set at once
 *   and `inv.onTrip(error)` is called so the wrapper fails the invocation without waiting for the handler.
 * - Overlapping invokes (another invoke of this process in flight, `AWS_LAMBDA_MAX_CONCURRENCY` > 1, or another
 *   process's invoke published during ours) make the figures environment-wide: the invoke is reported `concurrent`,
 *   CONCURRENT is set, and budgets are reported but never enforced (the tripped flag is environment-wide: it would
 *   block invocations that did nothing wrong). See docs/METERING.md.
 * A failure of the meter itself (no /proc/net/dev, unwritable /tmp) is logged once and never fails an invocation.
 */
import { type GuardOptions, type ResolvedConfig, resolveConfig } from './config.js';
import { NetDevReader } from './counter.js';
import { emfLine } from './emf.js';
import { EgressBudgetExceededError } from './errors.js';
import { createGuardLogger, type GuardLogger } from './log.js';
import {
  type BudgetName,
  type Budgets,
  type Mode,
  PolicyHeaderError,
  readPolicyHeader,
  resolveMode,
} from './policy.js';
import {
  deltaBytes,
  type IfaceCounters,
  interfaceFilter,
  type ParsedProcNetDev,
  toNumber,
  totalBytes,
} from './procnetdev.js';
import { type EventCounters, FLAG_BUDGET_TRIPPED, FLAG_CONCURRENT, InvokeStateFile, StateFileError } from './state.js';

/** The parts of the Lambda context object the guard uses. */
export interface LambdaContextLike {
  awsRequestId?: string;
  functionName?: string;
  getRemainingTimeInMillis?: () => number;
}

export type Outcome = 'ok' | 'error' | 'timeout';

// ---- process-wide resources (one environment = one process for the Node runtime) ----
const readers = new Map<string, NetDevReader>();
const states = new Map<string, InvokeStateFile | null>();
let sharedLogger: GuardLogger | undefined;
let loadSnapshot: IfaceCounters[] | undefined;
let initReported = false;
const inFlight = new Set<Invocation>();
const loggedOnce = new Set<string>();

function logger(): GuardLogger {
  sharedLogger ??= createGuardLogger();
  return sharedLogger;
}

function once(key: string, f: () => void): void {
  if (loggedOnce.has(key)) return;
  loggedOnce.add(key);
  f();
}

function budgetsJson(b: Budgets): Record<string, number> {
  const o: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) o[k] = toNumber(v as bigint);
  return o;
}

function toBig(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(Math.max(0, Math.floor(v)));
}

export class Guard {
  readonly config: ResolvedConfig;
  readonly mode: Mode;
  readonly budgets: Budgets;
  readonly hasBudgets: boolean;
  readonly counts: (name: string) => boolean;
  readonly log: GuardLogger;
  private readonly reader: NetDevReader;
  private readonly state: InvokeStateFile | null;

  constructor(options: GuardOptions = {}) {
    const c = resolveConfig(options);
    this.config = c;
    this.log = logger();
    for (const w of c.warnings)
      once(`${w.code}:${w.msg}`, () => this.log.warn({ event: 'init', error: w.code }, w.msg));

    let fileMode: 'audit' | 'enforce' = 'audit';
    let budgets: Budgets = {};
    if (c.policyPath !== undefined) {
      try {
        const h = readPolicyHeader(c.policyPath);
        fileMode = h.mode;
        budgets = h.budgets;
      } catch (e) {
        if (!(e instanceof PolicyHeaderError)) throw e;
        once(`policy:${c.policyPath}`, () =>
          this.log.error({ event: 'policy', error: e.code, path: e.path, failClosed: false }, e.message),
        );
      }
    }
    const m = resolveMode(fileMode, c.modeOverride);
    if (m.invalid !== undefined) {
      const bad = m.invalid;
      once(`mode:${bad}`, () =>
        this.log.error(
          { event: 'policy', error: 'E_MODE_INVALID', value: bad },
          `EGRESS_GUARD_MODE must be audit, enforce or off, got "${bad}"; using the policy's mode (${fileMode})`,
        ),
      );
    }
    this.mode = m.mode;
    const o = c.budgetOverrides ?? {};
    for (const k of ['rxBytes', 'txBytes', 'totalBytes'] as const) {
      const v = o[k];
      if (v !== undefined) budgets[k] = toBig(v);
    }
    this.budgets = budgets;
    this.hasBudgets = Object.keys(budgets).length > 0;
    this.counts = interfaceFilter(c.interfaces);

    let reader = readers.get(c.procNetDevPath);
    if (reader === undefined) {
      reader = new NetDevReader(c.procNetDevPath);
      readers.set(c.procNetDevPath, reader);
    }
    this.reader = reader;
    this.state = c.statePath === undefined ? null : openState(c.statePath, this.log);
    if (loadSnapshot === undefined) {
      try {
        loadSnapshot = reader.read().interfaces;
      } catch {
        loadSnapshot = [];
      }
    }
  }

  /** Reads /proc/net/dev (throws ProcNetDevError). */
  snapshot(): ParsedProcNetDev {
    return this.reader.read();
  }

  /** Starts an invocation; returns undefined (and logs once) when the meter cannot run here. */
  begin(context: LambdaContextLike | undefined): Invocation | undefined {
    try {
      return new Invocation(this, this.state, context);
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'E_METER';
      once(`begin:${code}`, () =>
        this.log.error(
          { event: 'invoke', error: code },
          `byte metering disabled for this invoke: ${(e as Error).message}`,
        ),
      );
      return undefined;
    }
  }

  reportInit(first: ParsedProcNetDev, requestId: string): void {
    if (initReported) return;
    initReported = true;
    const all = totalBytes(first.interfaces, this.counts);
    const since = deltaBytes(loadSnapshot ?? [], first.interfaces, this.counts);
    const names = first.interfaces.map((i) => i.name);
    this.log.info(
      {
        event: 'init',
        requestId,
        function: this.config.functionName,
        rxBytes: toNumber(all.rxBytes),
        txBytes: toNumber(all.txBytes),
        sinceLoad: { rxBytes: toNumber(since.rxBytes), txBytes: toNumber(since.txBytes) },
        interfaces: names,
        counted: names.filter((n) => this.counts(n)),
        mode: this.mode,
        budget: budgetsJson(this.budgets),
        ...(first.malformed.length > 0 ? { malformedLines: first.malformed } : {}),
      },
      `init: rx ${all.rxBytes} B, tx ${all.txBytes} B before the first invoke; interfaces ${names.join(', ')}`,
    );
  }
}

function openState(path: string, log: GuardLogger): InvokeStateFile | null {
  if (states.has(path)) return states.get(path) ?? null;
  let s: InvokeStateFile | null = null;
  try {
    s = InvokeStateFile.open(path);
  } catch (e) {
    const code = e instanceof StateFileError ? e.code : 'E_STATE_OPEN';
    log.error({ event: 'init', error: code, path }, (e as Error).message);
  }
  states.set(path, s);
  return s;
}

export class Invocation {
  readonly requestId: string;
  readonly functionName: string;
  readonly startNs = process.hrtime.bigint();
  private readonly startDev: IfaceCounters[];
  private readonly startCounters: EventCounters | undefined;
  private readonly invokeSeq: bigint;
  concurrent: boolean;
  tripped: { budget: BudgetName; limit: bigint; observed: bigint } | undefined;
  tripError: EgressBudgetExceededError | undefined;
  /** Set by the wrapper: called once, at once, when an enforced budget trips. */
  onTrip: ((e: EgressBudgetExceededError) => void) | undefined;
  private finished = false;
  private sampler: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly guard: Guard,
    private readonly state: InvokeStateFile | null,
    context: LambdaContextLike | undefined,
  ) {
    this.requestId = context?.awsRequestId ?? '';
    this.functionName = guard.config.functionName || context?.functionName || '';
    this.concurrent = guard.config.multiConcurrency || inFlight.size > 0;
    if (inFlight.size > 0) {
      for (const other of inFlight) other.markConcurrent();
    }
    const dev = guard.snapshot();
    this.startDev = dev.interfaces;
    if (this.state !== null) {
      const b = this.state.begin(this.requestId, this.concurrent);
      this.startCounters = b.before.counters;
      this.invokeSeq = b.invokeSeq;
    } else {
      this.startCounters = undefined;
      this.invokeSeq = 0n;
    }
    inFlight.add(this);
    guard.reportInit(dev, this.requestId);

    if (guard.hasBudgets && guard.mode !== 'off') {
      this.sampler = setInterval(() => this.sample(), guard.config.sampleIntervalMs);
      this.sampler.unref();
    }
    const remaining = context?.getRemainingTimeInMillis?.();
    if (typeof remaining === 'number' && Number.isFinite(remaining)) {
      const ms = remaining - guard.config.timeoutMarginMs;
      if (ms > 0) {
        this.deadline = setTimeout(() => this.finish('timeout'), ms);
        this.deadline.unref();
      }
    }
  }

  private markConcurrent(): void {
    if (this.concurrent) return;
    this.concurrent = true;
    try {
      this.state?.setFlags(FLAG_CONCURRENT);
    } catch {
      // the summary still says concurrent
    }
  }

  /** One budget sample: read the counters, compare with the budgets. */
  sample(): void {
    if (this.finished || this.tripped !== undefined) return;
    try {
      const d = deltaBytes(this.startDev, this.guard.snapshot().interfaces, this.guard.counts);
      this.check(d.rxBytes, d.txBytes);
    } catch {
      // a failed sample is not fatal: the final snapshot decides
    }
  }

  private check(rx: bigint, tx: bigint): void {
    if (this.tripped !== undefined) return;
    const b = this.guard.budgets;
    let hit: { budget: BudgetName; limit: bigint; observed: bigint } | undefined;
    if (b.rxBytes !== undefined && rx > b.rxBytes) hit = { budget: 'rxBytes', limit: b.rxBytes, observed: rx };
    else if (b.txBytes !== undefined && tx > b.txBytes) hit = { budget: 'txBytes', limit: b.txBytes, observed: tx };
    else if (b.totalBytes !== undefined && rx + tx > b.totalBytes) {
      hit = { budget: 'totalBytes', limit: b.totalBytes, observed: rx + tx };
    }
    if (hit === undefined) return;
    this.tripped = hit;
    this.stopSampler();
    const enforced = this.guard.mode === 'enforce' && !this.concurrent;
    if (enforced) {
      try {
        this.state?.setFlags(FLAG_BUDGET_TRIPPED);
      } catch {
        // the invocation still fails below
      }
      this.tripError = new EgressBudgetExceededError(
        hit.budget,
        toNumber(hit.limit),
        toNumber(hit.observed),
        this.requestId,
      );
    }
    this.guard.log[enforced ? 'error' : 'warn'](
      {
        event: 'budget',
        requestId: this.requestId,
        function: this.functionName,
        code: 'E_BUDGET_EXCEEDED',
        exceeded: hit.budget,
        limit: toNumber(hit.limit),
        observed: toNumber(hit.observed),
        rxBytes: toNumber(rx),
        txBytes: toNumber(tx),
        budget: budgetsJson(this.guard.budgets),
        mode: this.guard.mode,
        enforced,
        ...(this.concurrent ? { concurrent: true } : {}),
      },
      `budget ${hit.budget} exceeded: ${hit.observed} > ${hit.limit} bytes (${
        enforced
          ? 'further egress blocked, invocation failed'
          : this.concurrent
            ? 'concurrent invokes: not enforced'
            : 'audit: nothing blocked'
      })`,
    );
    if (this.tripError !== undefined) this.onTrip?.(this.tripError);
  }

  private stopSampler(): void {
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.sampler = undefined;
  }

  /** Ends the invocation (idempotent); returns the budget error the invocation must fail with, if any. */
  finish(outcome: Outcome): EgressBudgetExceededError | undefined {
    if (this.finished) return this.tripError;
    this.finished = true;
    this.stopSampler();
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    const g = this.guard;
    inFlight.delete(this);
    let end: ParsedProcNetDev | undefined;
    try {
      end = g.snapshot();
    } catch {
      end = undefined;
    }
    let counters: EventCounters | undefined;
    try {
      if (this.state !== null) {
        const at = this.state.end(inFlight.size > 0);
        counters = at.counters;
        if (at.invokeSeq !== this.invokeSeq) this.concurrent = true;
      }
    } catch {
      counters = undefined;
    }
    const d = end === undefined ? undefined : deltaBytes(this.startDev, end.interfaces, g.counts);
    if (d !== undefined && g.hasBudgets && g.mode !== 'off') this.check(d.rxBytes, d.txBytes);
    const durationMs = Number(process.hrtime.bigint() - this.startNs) / 1e6;
    const rx = d === undefined ? 0 : toNumber(d.rxBytes);
    const tx = d === undefined ? 0 : toNumber(d.txBytes);
    const c0 = this.startCounters;
    const events =
      counters !== undefined && c0 !== undefined
        ? {
            allowed: toNumber(counters.allowed - c0.allowed),
            denied: toNumber(counters.denied - c0.denied),
            blocked: toNumber(counters.blocked - c0.blocked),
          }
        : undefined;
    const exceeded = this.tripped !== undefined;
    g.log[this.tripError ? 'error' : exceeded || outcome === 'timeout' ? 'warn' : 'info'](
      {
        event: 'invoke',
        requestId: this.requestId,
        function: this.functionName,
        rxBytes: rx,
        txBytes: tx,
        durationMs: Math.round(durationMs * 1000) / 1000,
        budget: budgetsJson(g.budgets),
        budgetExceeded: exceeded,
        ...(events ?? {}),
        mode: g.mode,
        outcome,
        ...(outcome === 'timeout' ? { timedOut: true } : {}),
        ...(this.concurrent ? { concurrent: true } : {}),
        ...(d === undefined ? { error: 'E_PROCNETDEV_READ' } : {}),
        ...(d !== undefined && d.reset.length > 0 ? { counterReset: d.reset } : {}),
        ...(d !== undefined && d.appeared.length > 0 ? { interfacesAppeared: d.appeared } : {}),
        ...(d !== undefined && d.vanished.length > 0 ? { interfacesVanished: d.vanished } : {}),
      },
      `invoke ${this.requestId}: rx ${rx} B, tx ${tx} B in ${durationMs.toFixed(1)} ms${
        exceeded ? `, budget ${this.tripped?.budget} exceeded` : ''
      }${this.concurrent ? ' (concurrent invokes: environment-wide figures)' : ''}`,
    );
    if (g.config.metrics) {
      process.stdout.write(
        emfLine({
          namespace: g.config.metricsNamespace,
          functionName: this.functionName,
          requestId: this.requestId,
          rxBytes: rx,
          txBytes: tx,
          budgetExceeded: exceeded,
          blocked: events?.blocked ?? 0,
          concurrent: this.concurrent,
          timestamp: Date.now(),
        }),
      );
    }
    return this.tripError;
  }
}

export { type GuardOptions, resolveConfig };
