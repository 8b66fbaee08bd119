/**
 * `/proc/net/dev` parsing and byte arithmetic — pure functions, no I/O.
 *
 * Contract
 * - `parseProcNetDev(text)` returns every interface line of the file, in file order, with its received/transmitted
 *   byte and packet counters as `bigint` (the kernel prints u64; a JS number loses precision above 2^53). The two
 *   header lines are recognised by their `|` separators; a line that is not `name: 16 unsigned integers` is skipped and
 *   its 1-based line number reported in `malformed` (tolerate, report; never guess). A text with no header at all is
 *   not `/proc/net/dev`: `ProcNetDevError` with code `E_PROCNETDEV_FORMAT`.
 *   Kernel format (`net/core/net-procfs.c`): `"%6s:%8llu %7llu …"`, so a long name or a wide counter leaves no blank
 *   after the colon (`verylongname0:123…`). Interface names never contain `:` or blanks (`dev_valid_name`), so the
 *   first colon ends the name. Only the four counters used are validated; a line whose other fields are damaged but
 *   whose byte and packet counters are digits still counts.
 * - `interfaceFilter({include, exclude})` builds the predicate that says which interfaces count. Patterns are exact
 *   names or globs with `*`. Default: every interface except `lo` (Lambda's names change over time — `vint_runtime`,
 *   `vinternal_1`, `telemetry1_sb` … — so nothing is hard-coded; docs/LAMBDA.md "/proc/net/dev inside
 *   Lambda"). `include`, when given, is an allowlist; `exclude` always wins.
 * - `deltaBytes(prev, cur, counts)` sums, over the counted interfaces, the bytes between two snapshots:
 *   an interface whose counter went backwards was reset (interface re-created, driver reset): its current value is
 *   what it carried since the reset, the best lower bound, and its name is reported in `reset`; an interface that
 *   appeared counts from 0 (`appeared`); one that vanished contributes nothing and is reported (`vanished`).
 */

export interface IfaceCounters {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  txBytes: bigint;
  txPackets: bigint;
}

export interface ParsedProcNetDev {
  interfaces: IfaceCounters[];
  /** 1-based line numbers of lines that were not a valid interface line. */
  malformed: number[];
}

export class ProcNetDevError extends Error {
  readonly code: 'E_PROCNETDEV_FORMAT' | 'E_PROCNETDEV_READ';
  constructor(code: 'E_PROCNETDEV_FORMAT' | 'E_PROCNETDEV_READ', message: string) {
    super(message);
    this.name = 'ProcNetDevError';
    this.code = code;
  }
}

const DIGITS = /^[0-9]+$/;
const BLANKS = /\s+/;

export function parseProcNetDev(text: string): ParsedProcNetDev {
  const lines = text.split('\n');
  let headers = 0;
  const interfaces: IfaceCounters[] = [];
  const malformed: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) {
      if (line.includes('|')) headers++;
      else malformed.push(i + 1);
      continue;
    }
    const name = line.slice(0, colon).trim();
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(BLANKS);
    // Only the four counters used are checked and converted (this runs twice per invoke and on every budget sample).
    const rb = fields[0] as string;
    const rp = fields[1] as string;
    const tb = fields[8] as string;
    const tp = fields[9] as string;
    if (
      name === '' ||
      BLANKS.test(name) ||
      fields.length < 16 ||
      !DIGITS.test(rb) ||
      !DIGITS.test(rp) ||
      !DIGITS.test(tb) ||
      !DIGITS.test(tp)
    ) {
      malformed.push(i + 1);
      continue;
    }
    interfaces.push({ name, rxBytes: BigInt(rb), rxPackets: BigInt(rp), txBytes: BigInt(tb), txPackets: BigInt(tp) });
  }
  if (headers === 0) {
    throw new ProcNetDevError(
      'E_PROCNETDEV_FORMAT',
      'not /proc/net/dev: no "Inter-| Receive | Transmit" header line; check the path given to the byte meter',
    );
  }
  return { interfaces, malformed };
}

export interface InterfaceSelection {
  /** Only these interfaces count (exact names or `*` globs). Default: all. */
  include?: readonly string[];
  /** These never count. Default: `['lo']`. */
  exclude?: readonly string[];
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** The predicate deciding which interfaces count (see the file header); results are cached per name. */
export function interfaceFilter(sel: InterfaceSelection = {}): (name: string) => boolean {
  const inc = sel.include && sel.include.length > 0 ? sel.include.map(globToRegExp) : undefined;
  const exc = (sel.exclude ?? ['lo']).map(globToRegExp);
  const cache = new Map<string, boolean>();
  return (name) => {
    let v = cache.get(name);
    if (v === undefined) {
      v = (inc === undefined || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name));
      cache.set(name, v);
    }
    return v;
  };
}

export interface ByteDelta {
  rxBytes: bigint;
  txBytes: bigint;
  /** Counted interfaces whose counters went backwards between the snapshots. */
  reset: string[];
  /** Counted interfaces present only in the later snapshot. */
  appeared: string[];
  /** Counted interfaces present only in the earlier snapshot. */
  vanished: string[];
}

export function deltaBytes(
  prev: readonly IfaceCounters[],
  cur: readonly IfaceCounters[],
  counts: (name: string) => boolean,
): ByteDelta {
  const d: ByteDelta = { rxBytes: 0n, txBytes: 0n, reset: [], appeared: [], vanished: [] };
  for (const c of cur) {
    if (!counts(c.name)) continue;
    const p = prev.find((x) => x.name === c.name);
    if (p === undefined) {
      d.appeared.push(c.name);
      d.rxBytes += c.rxBytes;
      d.txBytes += c.txBytes;
    } else if (c.rxBytes < p.rxBytes || c.txBytes < p.txBytes) {
      d.reset.push(c.name);
      d.rxBytes += c.rxBytes < p.rxBytes ? c.rxBytes : c.rxBytes - p.rxBytes;
      d.txBytes += c.txBytes < p.txBytes ? c.txBytes : c.txBytes - p.txBytes;
    } else {
      d.rxBytes += c.rxBytes - p.rxBytes;
      d.txBytes += c.txBytes - p.txBytes;
    }
  }
  for (const p of prev) {
    if (counts(p.name) && !cur.some((x) => x.name === p.name)) d.vanished.push(p.name);
  }
  return d;
}

/** Sum of the counted interfaces' absolute counters (bytes since each interface came up). */
export function totalBytes(
  cur: readonly IfaceCounters[],
  counts: (name: string) => boolean,
): { rxBytes: bigint; txBytes: bigint } {
  let rxBytes = 0n;
  let txBytes = 0n;
  for (const c of cur) {
    if (!counts(c.name)) continue;
    rxBytes += c.rxBytes;
    txBytes += c.txBytes;
  }
  return { rxBytes, txBytes };
}

/** A bigint byte figure as a JSON number (exact up to 2^53 bytes = 8 PiB; beyond that the nearest double). */
export function toNumber(b: bigint): number {
  return Number(b);
}
