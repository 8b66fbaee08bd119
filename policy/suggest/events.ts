/**
 * Turns one guard object (docs/LOGGING.md) into a checked, normalised event, or says why it cannot be used.
 *
 * - Network events (`dns`, `connect`, `sendto`): a rate-limit summary line (`suppressed`: a positive integer) stands
 *   for that many occurrences, any other line for one (docs/LOGGING.md "Rate limit"). Names are normalised as the compiler does (lower case, no trailing
 *   dot, punycode); addresses are canonical text, IPv4-mapped IPv6 shown as IPv4; ports 1–65535 (absent or 0 =
 *   unknown); `proto` `tcp`/`udp` or unknown. `connect`/`sendto` need an `ip`; `dns` needs a `host`.
 * - `invoke` summaries: `rxBytes`/`txBytes` must be non-negative numbers.
 * - Other guard events (`policy`, `uncovered`, `budget`, `init`, and kinds added later) are returned as `other`.
 * Returns `null` when the object is ours but unusable (the caller counts it as `E_SUGGEST_BAD_FIELDS`).
 */
import { nameProblem, normalizeName } from '../names/normalize.js';
import { formatAddr, parseAddr, toQueryAddress } from '../net/ip.js';

export type Proto = 'tcp' | 'udp';

export interface NetEvent {
  kind: 'net';
  event: 'dns' | 'connect' | 'sendto';
  host?: string;
  ip?: string;
  port?: number;
  proto?: Proto;
  decision: 'allow' | 'deny';
  blocked: boolean;
  rule: string;
  /** occurrences this line stands for: its `suppressed` on a rate-limit summary line, else 1 (docs/LOGGING.md) */
  count: number;
  requestId?: string;
  time?: number;
  /** set when the destination never needs a policy rule */
  omit?: 'loopback' | 'builtin' | 'numeric-lookup';
}

export interface InvokeEvent {
  kind: 'invoke';
  requestId?: string;
  function?: string;
  rxBytes: number;
  txBytes: number;
  concurrent: boolean;
  time?: number;
}

export interface OtherEvent {
  kind: 'other';
  event: string;
  function?: string;
  requestId?: string;
  time?: number;
  /** `uncovered`: the binary the guard could not see into; `policy`: the error code */
  detail?: string;
}

export type GuardEvent = NetEvent | InvokeEvent | OtherEvent;

const NET = new Set(['dns', 'connect', 'sendto']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Small memo for the per-line normalisations: logs repeat the same few names and addresses millions of times.
 * Bounded: cleared when full.
 */
class Memo<V> {
  private readonly m = new Map<string, V>();
  constructor(private readonly f: (k: string) => V) {}
  get(k: string): V {
    let v = this.m.get(k);
    if (v === undefined && !this.m.has(k)) {
      v = this.f(k);
      if (this.m.size >= 10_000) this.m.clear();
      this.m.set(k, v);
    }
    return v as V;
  }
}

const LOOKS_LIKE_IP = /^[0-9.]+$|:/;

const ipMemo = new Memo<string | null>((s) => {
  if (!LOOKS_LIKE_IP.test(s)) return null;
  const a = parseAddr(s);
  return a ? formatAddr(toQueryAddress(a)) : null;
});

/** Normalised name, or null when it is not a valid DNS name. */
const nameMemo = new Memo<string | null>((raw) => {
  const h = normalizeName(raw);
  return nameProblem(h, raw) === null ? h : null;
});

/** Canonical address text, IPv4-mapped → IPv4; null when not an address. */
export function canonicalIp(s: string): string | null {
  return ipMemo.get(s);
}

export function isLoopbackIp(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

export function isLoopbackName(host: string): boolean {
  return host === 'localhost';
}

export function toEvent(o: Record<string, unknown>): GuardEvent | null {
  const event = str(o.event);
  if (event === undefined) return null;
  const time = num(o.time);
  const requestId = str(o.requestId);
  if (NET.has(event)) return netEvent(o, event as NetEvent['event'], requestId, time);
  if (event === 'invoke') {
    const rx = num(o.rxBytes);
    const tx = num(o.txBytes);
    if (rx === undefined || tx === undefined || rx < 0 || tx < 0) return null;
    const e: InvokeEvent = { kind: 'invoke', rxBytes: rx, txBytes: tx, concurrent: o.concurrent === true };
    if (requestId !== undefined) e.requestId = requestId;
    const fn = str(o.function);
    if (fn !== undefined) e.function = fn;
    if (time !== undefined) e.time = time;
    return e;
  }
  const e: OtherEvent = { kind: 'other', event };
  const fn = str(o.function);
  if (fn !== undefined) e.function = fn;
  if (requestId !== undefined) e.requestId = requestId;
  if (time !== undefined) e.time = time;
  const detail = event === 'uncovered' ? str(o.path) : event === 'policy' ? str(o.error) : undefined;
  if (detail !== undefined) e.detail = detail;
  return e;
}

function netEvent(
  o: Record<string, unknown>,
  event: NetEvent['event'],
  requestId: string | undefined,
  time: number | undefined,
): NetEvent | null {
  const decision = o.decision;
  if (decision !== 'allow' && decision !== 'deny') return null;
  const rule = str(o.rule) ?? (decision === 'allow' ? 'unknown' : 'default');
  let count = 1;
  if (o.suppressed !== undefined) {
    const n = o.suppressed;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) return null;
    count = n;
  }
  const e: NetEvent = { kind: 'net', event, decision, blocked: o.blocked === true, rule, count };
  if (requestId !== undefined) e.requestId = requestId;
  if (time !== undefined) e.time = time;
  if (o.port !== undefined) {
    const p = o.port;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535) return null;
    if (p !== 0) e.port = p;
  }
  if (o.proto !== undefined) {
    if (o.proto !== 'tcp' && o.proto !== 'udp') return null;
    e.proto = o.proto;
  }
  const rawHost = str(o.host);
  if (rawHost !== undefined) {
    const asIp = canonicalIp(rawHost);
    if (asIp !== null) {
      // getaddrinfo("10.0.0.5"): nothing to allow by name; the connect that follows is what counts.
      if (event === 'dns') {
        e.ip = asIp;
        e.omit = 'numeric-lookup';
        return e;
      }
    } else {
      const h = nameMemo.get(rawHost);
      if (h === null) return null;
      e.host = h;
    }
  }
  if (event === 'dns') {
    if (e.host === undefined) return null;
  } else {
    const rawIp = str(o.ip);
    const ip = rawIp === undefined ? null : canonicalIp(rawIp);
    if (ip === null || e.port === undefined) return null;
    e.ip = ip;
  }
  if (rule === 'builtin:loopback') e.omit = 'loopback';
  else if (rule.startsWith('builtin:')) e.omit = 'builtin';
  else if ((e.host !== undefined && isLoopbackName(e.host)) || (e.ip !== undefined && isLoopbackIp(e.ip))) {
    e.omit = 'loopback';
  }
  return e;
}
