/**
 * Aggregates guard records by destination, never by line, so memory grows with the number of distinct
 * destinations and functions, not with the size of the logs.
 *
 * A destination is a distinct (kind, host or ip, port, proto): `name` for lookups (`dns`), `addr` for `connect` and
 * `sendto`. A connect/send bound to a name is keyed by the name; the addresses it went to are kept as a sample of
 * at most `MAX_IPS_PER_NAME` (CDN addresses rotate: memory must not grow with them).
 *
 * Which function a network event belongs to: network lines carry only a `requestId`; the wrapper's `invoke` summary
 * (written when the invoke ends, so usually *after* its network lines) carries `function`. Resolution order:
 * 1. a recent invoke summary with the same request id (last `RECENT_REQUESTS` kept);
 * 2. the CloudWatch log stream, once any record in that stream named its function (a stream is one execution
 *    environment of one function);
 * 3. otherwise the event is parked under its request id (at most `MAX_PENDING` request ids, oldest given up first)
 *    until the invoke summary arrives;
 * 4. at the end, or when given up: the `--function` default if set, else `(unknown)`.
 */
import type { GuardEvent, NetEvent, Proto } from './events.js';
import { toEvent } from './events.js';
import { ByteHistogram } from './histogram.js';
import type { BadCode, RecordContext, RecordSink } from './records.js';

export const UNKNOWN_FUNCTION = '(unknown)';
const RECENT_REQUESTS = 100_000;
export const MAX_PENDING = 100_000;
const MAX_PENDING_PER_REQUEST = 256;
const MAX_FUNCTIONS_PER_DEST = 64;
const MAX_STREAMS = 100_000;
const MAX_BAD_LOCATIONS = 5;
const MAX_RULE_NAMES = 16;
export const MAX_IPS_PER_NAME = 8;

export interface Destination {
  kind: 'name' | 'addr';
  host?: string;
  /** the address of an address-only destination */
  ip?: string;
  /** `addr` with a host: the first distinct addresses it was seen at (≤ MAX_IPS_PER_NAME) */
  ips?: string[];
  port?: number;
  proto?: Proto;
  count: number;
  byEvent: { dns: number; connect: number; sendto: number };
  /** function → events; capped, overflow counted under `(other)` */
  functions: Map<string, number>;
  logged: { allow: number; deny: number; blocked: number };
  /** rule names the guard logged for this destination, with counts (capped) */
  rules: Map<string, number>;
  omit?: NetEvent['omit'];
}

export interface FunctionBytes {
  invokes: number;
  concurrent: number;
  rx: ByteHistogram;
  tx: ByteHistogram;
  total: ByteHistogram;
}

export interface BadSummary {
  count: number;
  where: string[];
}

export interface Stats {
  lines: number;
  foreign: number;
  guardRecords: number;
  netEvents: number;
  invokes: number;
  otherGuard: number;
  omitted: Map<string, number>;
  bad: Map<BadCode, BadSummary>;
  firstTime?: number;
  lastTime?: number;
  /** `uncovered` binary paths and `policy` error codes seen (capped) */
  uncovered: Set<string>;
  policyErrors: Set<string>;
  /** network events whose function could not be determined */
  unattributed: number;
}

export class Aggregator implements RecordSink {
  readonly destinations = new Map<string, Destination>();
  readonly functionBytes = new Map<string, FunctionBytes>();
  readonly stats: Stats = {
    lines: 0,
    foreign: 0,
    guardRecords: 0,
    netEvents: 0,
    invokes: 0,
    otherGuard: 0,
    omitted: new Map(),
    bad: new Map(),
    uncovered: new Set(),
    policyErrors: new Set(),
    unattributed: 0,
  };
  private readonly fnByRequest = new Map<string, string>();
  private readonly fnByStream = new Map<string, string>();
  /** request id → the destinations of its parked events, each with the occurrences it stands for */
  private readonly pending = new Map<string, [Destination, number][]>();
  /** insertion order of the two request-id maps, as rings: O(1) eviction of the oldest (a Map cannot pop its head) */
  private readonly recentRing = new Ring(RECENT_REQUESTS);
  private readonly pendingRing = new Ring(MAX_PENDING);

  constructor(private readonly defaultFunction?: string) {}

  /** request ids whose network events wait for their invoke summary (≤ MAX_PENDING) */
  get pendingRequests(): number {
    return this.pending.size;
  }

  foreign(): void {
    this.stats.foreign++;
  }

  bad(code: BadCode, ctx: RecordContext): void {
    let b = this.stats.bad.get(code);
    if (!b) {
      b = { count: 0, where: [] };
      this.stats.bad.set(code, b);
    }
    b.count++;
    if (b.where.length < MAX_BAD_LOCATIONS) b.where.push(`${ctx.source}:${ctx.line}`);
  }

  record(obj: Record<string, unknown>, ctx: RecordContext): void {
    const e = toEvent(obj);
    if (e === null) {
      this.bad('E_SUGGEST_BAD_FIELDS', ctx);
      return;
    }
    this.stats.guardRecords++;
    if (e.time !== undefined) {
      if (this.stats.firstTime === undefined || e.time < this.stats.firstTime) this.stats.firstTime = e.time;
      if (this.stats.lastTime === undefined || e.time > this.stats.lastTime) this.stats.lastTime = e.time;
    }
    const requestId = eventRequestId(e, ctx);
    if (e.kind === 'net') this.net(e, ctx, requestId);
    else this.learnFunction(e, ctx, requestId);
  }

  /** Resolves what is still parked. Call once, after the last input. */
  finish(): void {
    for (const [, dests] of this.pending) for (const [d, n] of dests) this.credit(d, this.defaultFunction, n);
    this.pending.clear();
  }

  private net(e: NetEvent, ctx: RecordContext, requestId: string | undefined): void {
    const n = e.count; // a rate-limit summary line stands for `suppressed` occurrences
    this.stats.netEvents += n;
    if (e.omit !== undefined) this.stats.omitted.set(e.omit, (this.stats.omitted.get(e.omit) ?? 0) + n);
    const key =
      e.event === 'dns'
        ? `n|${e.host ?? ''}|${e.ip ?? ''}|${e.port ?? ''}|${e.proto ?? ''}`
        : e.host !== undefined
          ? `h|${e.host}|${e.port}|${e.proto ?? ''}`
          : `a|${e.ip}|${e.port}|${e.proto ?? ''}`;
    let d = this.destinations.get(key);
    if (!d) {
      d = {
        kind: e.event === 'dns' ? 'name' : 'addr',
        count: 0,
        byEvent: { dns: 0, connect: 0, sendto: 0 },
        functions: new Map(),
        logged: { allow: 0, deny: 0, blocked: 0 },
        rules: new Map(),
      };
      if (e.host !== undefined) d.host = e.host;
      if (e.ip !== undefined && (e.event === 'dns' || e.host === undefined)) d.ip = e.ip;
      if (e.event !== 'dns' && e.host !== undefined) d.ips = [];
      if (e.port !== undefined) d.port = e.port;
      if (e.proto !== undefined) d.proto = e.proto;
      if (e.omit !== undefined) d.omit = e.omit;
      this.destinations.set(key, d);
    }
    if (d.ips && d.ips.length < MAX_IPS_PER_NAME && !d.ips.includes(e.ip!)) d.ips.push(e.ip!);
    d.count += n;
    d.byEvent[e.event] += n;
    d.logged[e.decision] += n;
    if (e.blocked) d.logged.blocked += n;
    if (d.rules.has(e.rule) || d.rules.size < MAX_RULE_NAMES) d.rules.set(e.rule, (d.rules.get(e.rule) ?? 0) + n);
    const fn = this.resolve(requestId, ctx.stream);
    if (fn !== undefined) {
      this.credit(d, fn, n);
      return;
    }
    if (requestId === undefined) {
      this.credit(d, this.defaultFunction, n);
      return;
    }
    this.park(requestId, d, n);
  }

  private resolve(requestId: string | undefined, stream: string | undefined): string | undefined {
    if (requestId !== undefined) {
      const f = this.fnByRequest.get(requestId);
      if (f !== undefined) return f;
    }
    return stream === undefined ? undefined : this.fnByStream.get(stream);
  }

  private park(requestId: string, d: Destination, n: number): void {
    let list = this.pending.get(requestId);
    if (!list) {
      const oldest = this.pendingRing.push(requestId);
      const given = oldest === undefined ? undefined : this.pending.get(oldest);
      if (given) {
        for (const [x, k] of given) this.credit(x, this.defaultFunction, k);
        this.pending.delete(oldest!);
      }
      list = [];
      this.pending.set(requestId, list);
    }
    if (list.length >= MAX_PENDING_PER_REQUEST) this.credit(d, this.defaultFunction, n);
    else list.push([d, n]);
  }

  private credit(d: Destination, fn: string | undefined, n: number): void {
    let name = fn;
    if (name === undefined) {
      name = UNKNOWN_FUNCTION;
      this.stats.unattributed += n;
    }
    if (!d.functions.has(name) && d.functions.size >= MAX_FUNCTIONS_PER_DEST) name = '(other)';
    d.functions.set(name, (d.functions.get(name) ?? 0) + n);
  }

  private learnFunction(e: Exclude<GuardEvent, NetEvent>, ctx: RecordContext, requestId: string | undefined): void {
    if (e.kind === 'other') {
      this.stats.otherGuard++;
      if (e.event === 'uncovered' && e.detail !== undefined && this.stats.uncovered.size < 20) {
        this.stats.uncovered.add(e.detail);
      }
      if (e.event === 'policy' && e.detail !== undefined && this.stats.policyErrors.size < 20) {
        this.stats.policyErrors.add(e.detail);
      }
    }
    const fn = e.function;
    if (e.kind === 'invoke') {
      this.stats.invokes++;
      this.addBytes(fn ?? this.defaultFunction ?? UNKNOWN_FUNCTION, e.rxBytes, e.txBytes, e.concurrent);
    }
    if (fn === undefined) return;
    if (ctx.stream !== undefined && !this.fnByStream.has(ctx.stream) && this.fnByStream.size < MAX_STREAMS) {
      this.fnByStream.set(ctx.stream, fn);
    }
    if (requestId === undefined) return;
    if (!this.fnByRequest.has(requestId)) {
      const oldest = this.recentRing.push(requestId);
      if (oldest !== undefined) this.fnByRequest.delete(oldest);
    }
    this.fnByRequest.set(requestId, fn);
    const parked = this.pending.get(requestId);
    if (parked) {
      for (const [d, n] of parked) this.credit(d, fn, n);
      this.pending.delete(requestId);
    }
  }

  private addBytes(fn: string, rx: number, tx: number, concurrent: boolean): void {
    let b = this.functionBytes.get(fn);
    if (!b) {
      b = { invokes: 0, concurrent: 0, rx: new ByteHistogram(), tx: new ByteHistogram(), total: new ByteHistogram() };
      this.functionBytes.set(fn, b);
    }
    if (concurrent) {
      // Overlapping invokes (Lambda Managed Instances): the figures are not per-invoke (docs/LOGGING.md).
      b.concurrent++;
      return;
    }
    b.invokes++;
    b.rx.add(rx);
    b.tx.add(tx);
    b.total.add(rx + tx);
  }
}

/** A fixed-size ring of keys: `push` returns the key it overwrote (the oldest), once full. */
class Ring {
  private readonly keys: Array<string | undefined>;
  private next = 0;
  constructor(size: number) {
    this.keys = new Array<string | undefined>(size);
  }
  push(key: string): string | undefined {
    const old = this.keys[this.next];
    this.keys[this.next] = key;
    this.next = (this.next + 1) % this.keys.length;
    return old;
  }
}

function eventRequestId(e: GuardEvent, ctx: RecordContext): string | undefined {
  return e.requestId ?? ctx.requestId;
}
